/*
 * Unit tests of store.c against a real SQLite file in a temporary
 * directory: migrations, the synchronous calls, and the writer thread
 * reporting back to a libevent loop run by the test's main thread.
 */
#include "build.h"

#include <sys/stat.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "records.h"
#include "types.h"

extern const char *const schema_migrations[];
extern const char schema_views[];

#define DEADLINE_SEC	10
#define BASE		"measure.example"
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Per test: its own directory and database; owns nothing else. */
struct fixture {
	char	 dir[PATH_MAX];
	char	 path[PATH_MAX];
};

/* What the done callbacks saw; lives on the test's stack. */
struct done_state {
	struct event_base	*base;
	pthread_t		 loop_thread;
	int			 want;
	int			 n;
	int			 wrong_thread;
	int			 timed_out;
	int64_t			 conn_id[8];
	int			 ok[8];
};

static int
setup(void **state)
{
	struct fixture	*f;
	const char	*tmp;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	assert_true(snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX",
	    tmp) < (int)sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	assert_true(snprintf(f->path, sizeof(f->path), "%s/ms.db", f->dir) <
	    (int)sizeof(f->path));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	const char	*sfx[] = { "", "-wal", "-shm", "-journal" };
	char		 p[PATH_MAX + 16];
	size_t		 i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static int
migrations_known(void)
{
	int	 n;

	for (n = 0; schema_migrations[n] != NULL; n++)
		;
	return n;
}

/* How many views schema/views.sql creates. */
static int
views_known(void)
{
	const char	*p;
	int		 n = 0;

	for (p = schema_views; (p = strstr(p, "CREATE VIEW")) != NULL; p++)
		n++;
	return n;
}

/* A second, independent connection, as a researcher would open. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3	*db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	return db;
}

static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
assert_col_text(sqlite3_stmt *s, int i, const char *want)
{
	if (want == NULL) {
		assert_int_equal(sqlite3_column_type(s, i), SQLITE_NULL);
		return;
	}
	assert_int_equal(sqlite3_column_type(s, i), SQLITE_TEXT);
	assert_string_equal((const char *)sqlite3_column_text(s, i), want);
}

static struct store *
open_ok(const char *path)
{
	struct store	*st;
	char		 err[256] = "";

	st = store_open(path, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

/* CFG for ST to borrow: the base domain, WINDOW_MS of attribution. */
static void
set_config(struct store *st, struct config *cfg, uint64_t window_ms)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->base_domain = BASE;
	cfg->attribution_window_ms = window_ms;
	store_set_config(st, cfg);
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	assert_non_null(p);
	return p;
}

/* A connection as the session fills it in; strings borrowed (literals). */
static struct conn_rec
conn_full(int64_t id)
{
	struct conn_rec	 c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.host = "tls";
	c.local_addr = "127.0.0.1:2525";
	c.client_addr = "127.0.0.2";
	c.client_port = 40001;
	c.family = 4;
	c.started = 1700000000.25;
	c.ended = 1700000003.5;
	c.helo_verb = "EHLO";
	c.helo = "mx.sender.example";
	c.extensions = "STARTTLS,SIZE,8BITMIME";
	c.starttls = 1;
	c.pipelined_discarded = 17;
	c.improper_pipelining = 2;
	c.bare_cr_commands = 4;
	c.transactions = 1;
	c.test_id = "abcdefghijklmnopqrstuvwxyz";
	c.commands = "ehlo=2 starttls=1 mail=1 rcpt=2 data=1 quit=1";
	c.end_reason = "quit";
	c.tls.attempted = 1;
	c.tls.established = 1;
	c.tls.version = "TLSv1.3";
	c.tls.cipher = "TLS_AES_256_GCM_SHA384";
	c.tls.group = "X25519MLKEM768";
	c.tls.sni = "tls.measure.example";
	c.tls.resumed = 0;
	c.tls.ch_versions = "772,771";
	c.tls.ch_ciphers = "0x1302,0x1301";
	c.tls.ch_groups = "4588,29,23";
	c.tls.ch_sigalgs = "0x0804,0x0403";
	c.tls.ch_alpn = NULL;
	c.tls.alert_sent = NULL;
	c.tls.alert_received = "close_notify";
	c.tls.error = NULL;
	return c;
}

/* Headers carry a NUL so that only a length-bound BLOB keeps them whole. */
static const char test_headers[] = "Subject: hi\r\n\0X-After-Nul: 1\r\n";

/* A transaction as DATA leaves it; owns everything (records_txn_free). */
static struct txn_rec *
txn_new(int64_t conn_id, const char *rcpt1, const char *rcpt2)
{
	struct txn_rec	*t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->conn_id = conn_id;
	t->received = 1700000002.75;
	t->mail_from = xstrdup("sender@sender.example");
	t->mail_params = xstrdup("SIZE=1234 BODY=8BITMIME");
	t->nrcpts = 2;
	t->rcpts = calloc(2, sizeof(*t->rcpts));
	assert_non_null(t->rcpts);
	t->rcpts[0].address = xstrdup(rcpt1);
	t->rcpts[0].challenge = xstrdup("tls");
	t->rcpts[0].test_id = xstrdup("abcdefghijklmnopqrstuvwxyz");
	t->rcpts[1].address = xstrdup(rcpt2);
	t->rcpts[1].challenge = NULL;
	t->rcpts[1].test_id = NULL;
	t->size = 1234;
	t->headers_len = sizeof(test_headers) - 1;
	t->headers = malloc(t->headers_len);
	assert_non_null(t->headers);
	memcpy(t->headers, test_headers, t->headers_len);
	memset(t->body_sha256, 'a', 64);
	t->bare_lf = 3;
	t->bare_cr = 1;
	t->nul_bytes = 6;
	t->long_lines = 5;
	t->tls = 1;
	return t;
}

static void
on_done(int64_t conn_id, int ok, struct txn_rec *txn, void *arg)
{
	struct done_state	*ds = arg;

	/* committed transactions come back with their id */
	if (ok && (txn == NULL || txn->id <= 0))
		ds->wrong_thread++;
	records_txn_free(txn);

	if (!pthread_equal(pthread_self(), ds->loop_thread))
		ds->wrong_thread++;
	if (ds->n < (int)(sizeof(ds->ok) / sizeof(ds->ok[0]))) {
		ds->conn_id[ds->n] = conn_id;
		ds->ok[ds->n] = ok;
	}
	if (++ds->n >= ds->want)
		event_base_loopbreak(ds->base);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct done_state	*ds = arg;

	(void)fd;
	(void)what;
	ds->timed_out = 1;
	event_base_loopbreak(ds->base);
}

static void
done_init(struct done_state *ds, struct event_base *base)
{
	memset(ds, 0, sizeof(*ds));
	ds->base = base;
	ds->loop_thread = pthread_self();
}

/* Runs the loop until WANT results arrived, or fails at the deadline. */
static void
loop_until(struct done_state *ds, int want)
{
	struct event	*deadline;
	struct timeval	 tv = { DEADLINE_SEC, 0 };

	ds->want = want;
	deadline = evtimer_new(ds->base, on_deadline, ds);
	assert_non_null(deadline);
	assert_int_equal(evtimer_add(deadline, &tv), 0);
	while (ds->n < want && !ds->timed_out)
		assert_true(event_base_loop(ds->base, EVLOOP_ONCE) >= 0);
	event_free(deadline);
	assert_false(ds->timed_out);
	assert_int_equal(ds->n, want);
	assert_int_equal(ds->wrong_thread, 0);
}

static void
open_creates_schema_version_and_views(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	sqlite3		*db;
	char		 sql[128];
	const char	*views[] = { "v_connections", "v_deliveries",
			    "v_test_summary" };
	size_t		 i;

	assert_true(migrations_known() >= 1);
	st = open_ok(f->path);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM schema_version"),
	    1);
	assert_int_equal(query_int(db, "SELECT version FROM schema_version"),
	    migrations_known());
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "sqlite_master WHERE type = 'view' AND name = '%s'",
		    views[i]);
		assert_int_equal(query_int(db, sql), 1);
	}
	/* WAL is persistent in the file: a new connection sees it. */
	assert_int_equal(query_int(db,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	sqlite3_close(db);
}

static void
reopen_is_idempotent(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	sqlite3		*db;

	st = open_ok(f->path);
	assert_int_equal(store_test_create(st, "abcdefghijklmnopqrstuvwxyz",
	    1700000000.0), 0);
	store_close(st);
	st = open_ok(f->path);
	assert_int_equal(store_test_exists(st, "abcdefghijklmnopqrstuvwxyz"),
	    1);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM schema_version"),
	    1);
	assert_int_equal(query_int(db, "SELECT version FROM schema_version"),
	    migrations_known());
	assert_int_equal(query_int(db, "SELECT count(*) FROM tests"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'view' AND name LIKE 'v\\_%' ESCAPE '\\'"),
	    views_known());
	sqlite3_close(db);
}

static void
newer_schema_version_is_refused(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	sqlite3		*db;
	char		 err[512] = "", want[PATH_MAX + 128];

	store_close(open_ok(f->path));
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version "
	    "= version + 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = store_open(f->path, err, sizeof(err));
	assert_null(st);
	(void)snprintf(want, sizeof(want), "%s: database schema version %d "
	    "is newer than this program (%d)", f->path, migrations_known() + 1,
	    migrations_known());
	assert_string_equal(err, want);
}

static void
open_error_names_the_path(void **state)
{
	struct fixture	*f = *state;
	char		 err[512] = "", path[PATH_MAX + 16];

	(void)snprintf(path, sizeof(path), "%s/missing/ms.db", f->dir);
	assert_null(store_open(path, err, sizeof(err)));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_true(strlen(err) > strlen(path) + 2);
}

static void
test_create_then_exists(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;

	st = open_ok(f->path);
	assert_int_equal(store_test_exists(st, "abcdefghijklmnopqrstuvwxyz"),
	    0);
	assert_int_equal(store_test_create(st, "abcdefghijklmnopqrstuvwxyz",
	    1700000000.0), 0);
	assert_int_equal(store_test_exists(st, "abcdefghijklmnopqrstuvwxyz"),
	    1);
	assert_int_equal(store_test_exists(st, "bbcdefghijklmnopqrstuvwxyz"),
	    0);
	/* The ID is the primary key: a second create is an error. */
	assert_int_equal(store_test_create(st, "abcdefghijklmnopqrstuvwxyz",
	    1700000001.0), -1);
	store_close(st);
}

static void
assert_full_rows(const char *path)
{
	const struct conn_rec	 c = conn_full(1);
	sqlite3			*db;
	sqlite3_stmt		*s;
	char			 sha[65];

	db = raw_open(path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, host, local_addr,"
	    " client_addr, client_port, family, started, ended, helo_verb,"
	    " helo, extensions, starttls, pipelined_discarded,"
	    " improper_pipelining, transactions, test_id, commands,"
	    " end_reason, tls_established, tls_version, tls_cipher, tls_group,"
	    " tls_sni, tls_resumed, ch_versions, ch_ciphers, ch_groups,"
	    " ch_sigalgs, ch_alpn, tls_alert_sent, tls_alert_received,"
	    " tls_error, bare_cr_commands FROM connections", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), 1);
	assert_col_text(s, 1, c.host);
	assert_col_text(s, 2, c.local_addr);
	assert_col_text(s, 3, c.client_addr);
	assert_int_equal(sqlite3_column_int(s, 4), c.client_port);
	assert_int_equal(sqlite3_column_int(s, 5), c.family);
	assert_true(sqlite3_column_double(s, 6) == c.started);
	assert_true(sqlite3_column_double(s, 7) == c.ended);
	assert_col_text(s, 8, c.helo_verb);
	assert_col_text(s, 9, c.helo);
	assert_col_text(s, 10, c.extensions);
	assert_int_equal(sqlite3_column_int(s, 11), c.starttls);
	assert_int_equal(sqlite3_column_int(s, 12), c.pipelined_discarded);
	assert_int_equal(sqlite3_column_int(s, 13), c.improper_pipelining);
	assert_int_equal(sqlite3_column_int(s, 14), c.transactions);
	assert_col_text(s, 15, c.test_id);
	assert_col_text(s, 16, c.commands);
	assert_col_text(s, 17, c.end_reason);
	assert_int_equal(sqlite3_column_int(s, 18), c.tls.established);
	assert_col_text(s, 19, c.tls.version);
	assert_col_text(s, 20, c.tls.cipher);
	assert_col_text(s, 21, c.tls.group);
	assert_col_text(s, 22, c.tls.sni);
	assert_int_equal(sqlite3_column_type(s, 23), SQLITE_INTEGER);
	assert_int_equal(sqlite3_column_int(s, 23), c.tls.resumed);
	assert_col_text(s, 24, c.tls.ch_versions);
	assert_col_text(s, 25, c.tls.ch_ciphers);
	assert_col_text(s, 26, c.tls.ch_groups);
	assert_col_text(s, 27, c.tls.ch_sigalgs);
	assert_col_text(s, 28, c.tls.ch_alpn);
	assert_col_text(s, 29, c.tls.alert_sent);
	assert_col_text(s, 30, c.tls.alert_received);
	assert_col_text(s, 31, c.tls.error);
	assert_int_equal(sqlite3_column_int(s, 32), 4);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT connection_id,"
	    " received, mail_from, mail_params, size, headers, body_sha256,"
	    " bare_lf, bare_cr, long_lines, tls, typeof(headers), nul_bytes"
	    " FROM transactions", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), 1);
	assert_true(sqlite3_column_double(s, 1) == 1700000002.75);
	assert_col_text(s, 2, "sender@sender.example");
	assert_col_text(s, 3, "SIZE=1234 BODY=8BITMIME");
	assert_int_equal(sqlite3_column_int(s, 4), 1234);
	assert_int_equal(sqlite3_column_bytes(s, 5), sizeof(test_headers) - 1);
	assert_memory_equal(sqlite3_column_blob(s, 5), test_headers,
	    sizeof(test_headers) - 1);
	memset(sha, 'a', 64);
	sha[64] = '\0';
	assert_col_text(s, 6, sha);
	assert_int_equal(sqlite3_column_int(s, 7), 3);
	assert_int_equal(sqlite3_column_int(s, 8), 1);
	assert_int_equal(sqlite3_column_int(s, 9), 5);
	assert_int_equal(sqlite3_column_int(s, 10), 1);
	assert_col_text(s, 11, "blob");
	assert_int_equal(sqlite3_column_int(s, 12), 6);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT r.transaction_id ="
	    " t.id, r.address, r.challenge, r.test_id FROM recipients r,"
	    " transactions t ORDER BY r.id", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_col_text(s, 1, "measure+abc@tls.measure.example");
	assert_col_text(s, 2, "tls");
	assert_col_text(s, 3, "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_col_text(s, 1, "postmaster@measure.example");
	assert_col_text(s, 2, NULL);
	assert_col_text(s, 3, NULL);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);

	assert_int_equal(query_int(db, "SELECT count(*) FROM v_deliveries"),
	    2);
	/* not addressed to a report address: no report row */
	assert_int_equal(query_int(db, "SELECT count(*) FROM inbound_reports"),
	    0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM v_deliveries "
	    "WHERE connection_id = 1 AND tls_version = 'TLSv1.3' AND "
	    "family = 4"), 2);
	sqlite3_close(db);
}

/* A loop for the done callbacks into DS, on this thread. */
static struct event_base *
base_new(struct done_state *ds)
{
	struct event_base	*base;

	base = event_base_new();
	assert_non_null(base);
	done_init(ds, base);
	return base;
}

/* Connection 1's transaction, as assert_full_rows() expects it. */
static void
txn_full(struct store *st)
{
	store_txn(st, txn_new(1, "measure+abc@tls.measure.example",
	    "postmaster@measure.example"));
}

/* Closes connection C and the store (then BASE, if any); checks the rows. */
static void
close_and_check(struct store *st, const struct conn_rec *c,
    struct event_base *base, const char *path)
{
	store_conn_close(st, c);
	store_close(st);
	if (base != NULL)
		event_base_free(base);
	assert_full_rows(path);
}

static void
writer_commits_and_reports_on_loop_thread(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct done_state	 ds;
	sqlite3			*db;

	base = base_new(&ds);
	st = open_ok(f->path);
	assert_int_equal(store_writer_start(st, base, on_done, &ds), 0);

	store_conn_open(st, &c);
	txn_full(st);
	loop_until(&ds, 1);
	assert_int_equal(ds.conn_id[0], 1);
	assert_int_equal(ds.ok[0], 1);

	/* Reported means committed: another connection sees it now. */
	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM recipients"), 2);
	sqlite3_close(db);

	close_and_check(st, &c, base, f->path);
}

static void
failing_job_is_rolled_back_alone(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct txn_rec		*bad_rcpt;
	struct done_state	 ds;
	sqlite3			*db;

	base = base_new(&ds);
	st = open_ok(f->path);
	/*
	 * Queued before the writer starts, so all of them are one batch:
	 * connection 99 does not exist (foreign key), the second recipient
	 * of connection 1's first transaction has no address (NOT NULL),
	 * which must take its already inserted transaction row with it.
	 */
	store_conn_open(st, &c);
	store_txn(st, txn_new(99, "a@tls.measure.example",
	    "b@tls.measure.example"));
	bad_rcpt = txn_new(1, "c@tls.measure.example", "d@tls.measure.example");
	free(bad_rcpt->rcpts[1].address);
	bad_rcpt->rcpts[1].address = NULL;
	store_txn(st, bad_rcpt);
	txn_full(st);
	assert_int_equal(store_writer_start(st, base, on_done, &ds), 0);
	loop_until(&ds, 3);
	/* Results come in queue order. */
	assert_int_equal(ds.conn_id[0], 99);
	assert_int_equal(ds.ok[0], 0);
	assert_int_equal(ds.conn_id[1], 1);
	assert_int_equal(ds.ok[1], 0);
	assert_int_equal(ds.conn_id[2], 1);
	assert_int_equal(ds.ok[2], 1);

	close_and_check(st, &c, base, f->path);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM transactions"),
	    1);
	sqlite3_close(db);
}

static void
close_flushes_queued_jobs(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct done_state	 ds;

	base = base_new(&ds);
	st = open_ok(f->path);
	assert_int_equal(store_writer_start(st, base, on_done, &ds), 0);
	store_conn_open(st, &c);
	txn_full(st);
	store_conn_close(st, &c);
	store_close(st);
	/* The loop never ran: the result was dropped, not delivered. */
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	assert_int_equal(ds.n, 0);
	event_base_free(base);
	assert_full_rows(f->path);
}

static void
close_without_writer_flushes_queue(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct conn_rec	 c = conn_full(1);

	st = open_ok(f->path);
	store_conn_open(st, &c);
	txn_full(st);
	close_and_check(st, &c, NULL, f->path);
}

static void
last_connection_id_is_max_or_zero(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct conn_rec	 c = conn_full(7);

	st = open_ok(f->path);
	assert_int_equal(store_last_connection_id(st), 0);
	store_conn_open(st, &c);
	c.id = 5;
	store_conn_open(st, &c);
	store_close(st);

	st = open_ok(f->path);
	assert_int_equal(store_last_connection_id(st), 7);
	store_close(st);
}

static void
dns_records_beyond_the_queue_bound_are_dropped_mail_is_not(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct dnsq_rec	 q;
	struct conn_rec	 c = conn_full(1);
	sqlite3		*db;
	int		 i;

	memset(&q, 0, sizeof(q));
	q.local_addr = "127.0.0.1:53";
	q.client_addr = "127.0.0.1";
	q.transport = "udp";
	q.rcode = 0;
	st = open_ok(f->path);
	/* queued before the writer runs: nothing drains the queue meanwhile */
	for (i = 0; i < 100000 + 5; i++)
		store_dns_query(st, &q);
	store_conn_open(st, &c);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM dns_queries"),
	    100000);
	assert_int_equal(query_int(db, "SELECT count(*) FROM connections"), 1);
	sqlite3_close(db);
}

/* A TLS-RPT report: binary (a NUL, 8-bit bytes), ending in CRLF. */
static const char test_report[] = "From: r@reporter.example\r\n"
    "Content-Type: multipart/report; report-type=tlsrpt\r\n\r\n"
    "\x1f\x8b\0\xff.\r\n";

/* Transaction 1 to a test and tlsrpt@, with MESSAGE (LEN bytes, or NULL). */
static struct txn_rec *
txn_report(const char *message, size_t len)
{
	struct txn_rec	*t;

	t = txn_new(1, "measure+abc@tls.measure.example",
	    "TLSRPT@measure.example.");
	t->report_kind = "tlsrpt";
	t->report_rcpt = xstrdup("TLSRPT@measure.example.");
	t->size = len;
	if (message != NULL) {
		t->message = malloc(len);
		assert_non_null(t->message);
		memcpy(t->message, message, len);
		t->message_len = len;
	}
	memset(t->body_sha256, 'b', 64);
	return t;
}

static void
report_is_stored_whole_with_its_transaction(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct conn_rec	 c = conn_full(1);
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 sha[65];

	st = open_ok(f->path);
	store_conn_open(st, &c);
	store_txn(st, txn_report(test_report, sizeof(test_report) - 1));
	store_conn_close(st, &c);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT i.transaction_id ="
	    " t.id, i.connection_id, i.received, kind, rcpt, i.mail_from,"
	    " i.size, sha256, message, typeof(message)"
	    " FROM inbound_reports i JOIN transactions t"
	    " ON t.id = i.transaction_id", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_int_equal(sqlite3_column_int64(s, 1), 1);
	assert_true(sqlite3_column_double(s, 2) == 1700000002.75);
	assert_col_text(s, 3, "tlsrpt");
	assert_col_text(s, 4, "TLSRPT@measure.example.");
	assert_col_text(s, 5, "sender@sender.example");
	assert_int_equal(sqlite3_column_int(s, 6), sizeof(test_report) - 1);
	memset(sha, 'b', 64);
	sha[64] = '\0';
	assert_col_text(s, 7, sha);
	assert_int_equal(sqlite3_column_bytes(s, 8), sizeof(test_report) - 1);
	assert_memory_equal(sqlite3_column_blob(s, 8), test_report,
	    sizeof(test_report) - 1);
	assert_col_text(s, 9, "blob");
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);

	/* the transaction is stored as any other, for both recipients */
	assert_int_equal(query_int(db, "SELECT count(*) FROM transactions"),
	    1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM recipients WHERE"
	    " address = 'measure+abc@tls.measure.example' AND"
	    " test_id = 'abcdefghijklmnopqrstuvwxyz'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM recipients WHERE"
	    " address = 'TLSRPT@measure.example.' AND challenge IS NULL"),
	    1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM v_inbound_reports"
	    " WHERE kind = 'tlsrpt' AND host = 'tls' AND size = 87 AND"
	    " client_addr = '127.0.0.2' AND tls_version = 'TLSv1.3'"), 1);
	sqlite3_close(db);
}

static void
empty_report_is_stored_as_empty_blob(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct conn_rec	 c = conn_full(1);
	sqlite3		*db;

	st = open_ok(f->path);
	store_conn_open(st, &c);
	store_txn(st, txn_report(NULL, 0));
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM inbound_reports"
	    " WHERE size = 0 AND typeof(message) = 'blob' AND"
	    " length(message) = 0"), 1);
	sqlite3_close(db);
}

/* A parsed TLS-RPT report lands in its three tables, keyed as it should. */
static void
tlsrpt_report_rows_as_written(void **state)
{
	struct fixture		*f = *state;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct analysis_rec	*a;
	struct tlsrpt_rec	*r;
	struct tlsrpt_policy	*p;
	struct config		 cfg;
	sqlite3			*db;

	assert_non_null(a = calloc(1, sizeof(*a)));
	a->txn_id = 1;
	a->finished = 1700000003.5;
	r = &a->tlsrpt;
	r->checked = 1;
	r->status = "ok";
	r->organization = xstrdup("Company-X");
	r->report_id = xstrdup("rid");
	r->contact = xstrdup("c@x.example");
	r->date_start = xstrdup("2016-04-01T00:00:00Z");
	r->date_end = xstrdup("2016-04-01T23:59:59Z");
	assert_non_null(r->policies = calloc(1, sizeof(*r->policies)));
	r->npolicies = 1;
	p = r->policies;
	p->policy_type = xstrdup("sts");
	p->policy_domain = xstrdup("company-y.example");
	p->mx_host = xstrdup("[\"*.mail.company-y.example\"]");
	p->successful = 5326;
	p->failed = 303;
	assert_non_null(p->failures = calloc(2, sizeof(*p->failures)));
	p->nfailures = 2;
	p->failures[0].result_type = xstrdup("certificate-expired");
	p->failures[0].failed_sessions = 100;
	p->failures[1].result_type = xstrdup("validation-failure");
	p->failures[1].receiving_ip = xstrdup("203.0.113.58");
	p->failures[1].failed_sessions = 3;

	st = open_ok(f->path);
	set_config(st, &cfg, 3600 * 1000);
	store_conn_open(st, &c);
	store_txn(st, txn_report(test_report, sizeof(test_report) - 1));
	store_analysis(st, a);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tlsrpt_reports r"
	    " JOIN inbound_reports i ON i.id = r.inbound_report_id"
	    " WHERE i.transaction_id = 1 AND r.parsed_at = 1700000003.5 AND"
	    " r.status = 'ok' AND r.error IS NULL AND"
	    " r.organization = 'Company-X' AND r.report_id = 'rid' AND"
	    " r.contact = 'c@x.example' AND"
	    " r.date_start = '2016-04-01T00:00:00Z' AND"
	    " r.date_end = '2016-04-01T23:59:59Z'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM v_tlsrpt WHERE"
	    " policy_type = 'sts' AND policy_domain = 'company-y.example' AND"
	    " policy_string IS NULL AND"
	    " mx_host = '[\"*.mail.company-y.example\"]' AND"
	    " successful = 5326 AND failed = 303 AND failure_rows = 2 AND"
	    " organization = 'Company-X' AND transaction_id = 1 AND"
	    " attribution = 'none' AND test_id IS NULL AND"
	    " candidates IS NULL"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tlsrpt_failures f"
	    " JOIN tlsrpt_policies p ON p.id = f.tlsrpt_policy_id WHERE"
	    " (f.result_type = 'certificate-expired' AND f.receiving_ip IS NULL"
	    " AND f.failed_sessions = 100) OR"
	    " (f.result_type = 'validation-failure' AND"
	    " f.receiving_ip = '203.0.113.58' AND f.failed_sessions = 3)"),
	    2);
	sqlite3_close(db);
}

#define T1	"abcdefghijklmnopqrstuvwxyz"
#define T2	"bbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Connection ID from ADDR at START, naming TEST by RCPT or by SNI. */
static void
attr_conn(struct store *st, int64_t id, const char *addr, double start,
    const char *rcpt_test, const char *sni_test)
{
	struct conn_rec	 c = conn_full(id);

	c.client_addr = (char *)addr;
	c.family = strchr(addr, ':') != NULL ? 6 : 4;
	c.started = start;
	c.ended = start + 1;
	c.test_id = (char *)rcpt_test;
	c.sni_test_id = (char *)sni_test;
	store_conn_open(st, &c);
	store_conn_close(st, &c);
}

/* A DNS query from ADDR at TIME naming TEST: evidence of its network. */
static void
attr_dnsq(struct store *st, const char *addr, double time, const char *test)
{
	struct dnsq_rec	 q;

	memset(&q, 0, sizeof(q));
	q.time = time;
	q.local_addr = "127.0.0.1:53";
	q.client_addr = (char *)addr;
	q.transport = "udp";
	q.test_id = (char *)test;
	store_dns_query(st, &q);
}

/* The attribution of connection ID as "reason test candidates". */
static void
assert_attr(sqlite3 *db, int64_t id, const char *want)
{
	sqlite3_stmt	*s;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT reason || ' ' ||"
	    " coalesce(test_id, '-') || ' ' || coalesce(candidates, '-')"
	    " FROM connection_attribution WHERE connection_id = ?1", -1, &s,
	    NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, id);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
	sqlite3_finalize(s);
}

static void
attribution_by_rcpt_sni_address_and_ambiguous(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct config	 cfg;
	sqlite3		*db;
	const double	 t0 = 1700000000;

	st = open_ok(f->path);
	assert_int_equal(store_test_create(st, T1, t0), 0);
	assert_int_equal(store_test_create(st, T2, t0), 0);
	set_config(st, &cfg, 3600 * 1000);
	/* queued, run in one batch by store_close(), in this order */
	attr_conn(st, 1, "127.0.0.2", t0 + 100, T1, NULL);
	attr_conn(st, 2, "127.0.0.2", t0 + 200, NULL, NULL);
	attr_conn(st, 3, "127.0.0.3", t0 + 100, NULL, T2);
	attr_conn(st, 4, "127.0.0.2", t0 + 100 + 3600 + 10, NULL, NULL);
	/* a refusal first; the network's DNS query for T2 comes after */
	attr_conn(st, 5, "127.0.0.4", t0 + 50, NULL, NULL);
	attr_dnsq(st, "127.0.0.4", t0 + 300, T2);
	/* one /64, two tests: the bare connection becomes ambiguous */
	attr_conn(st, 6, "2001:db8:1:2::5", t0 + 100, T1, NULL);
	attr_conn(st, 7, "2001:db8:1:2::6", t0 + 110, NULL, NULL);
	attr_conn(st, 8, "2001:db8:1:3::6", t0 + 110, NULL, NULL);
	attr_conn(st, 9, "2001:db8:1:2:ffff::7", t0 + 120, T2, NULL);
	/* before the test existed: not the test's */
	attr_conn(st, 10, "127.0.0.3", t0 - 10, NULL, NULL);
	store_close(st);

	db = raw_open(f->path);
	assert_attr(db, 1, "rcpt " T1 " -");
	assert_attr(db, 2, "address " T1 " " T1);
	assert_attr(db, 3, "sni " T2 " -");
	assert_attr(db, 4, "none - -");
	assert_attr(db, 5, "address " T2 " " T2);
	assert_attr(db, 6, "rcpt " T1 " -");
	assert_attr(db, 7, "ambiguous - " T1 " " T2);
	assert_attr(db, 8, "none - -");
	assert_attr(db, 10, "none - -");
	assert_int_equal(query_int(db, "SELECT count(*) FROM"
	    " connection_attribution WHERE client_net = '2001:db8:1:2::/64'"),
	    3);
	/* the view: every connection of T1, the ambiguous one included */
	assert_int_equal(query_int(db, "SELECT count(*) FROM"
	    " v_test_connections WHERE test_id = '" T1 "'"), 4);
	assert_int_equal(query_int(db, "SELECT count(*) FROM"
	    " v_test_connections WHERE test_id = '" T2 "'"), 4);
	sqlite3_close(db);
}

/*
 * Evidence that comes again only looks at the connections its window's
 * new end takes in (ST_ATTR_SCOPE): those after the old end become the
 * test's, those before keep their decision, on both borders.
 */
static void
attribution_evidence_again_widens_the_window(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct config	 cfg;
	sqlite3		*db;
	const double	 t0 = 1700000000;

	st = open_ok(f->path);
	assert_int_equal(store_test_create(st, T1, t0), 0);
	assert_int_equal(store_test_create(st, T2, t0 + 5000), 0);
	set_config(st, &cfg, 3600 * 1000);
	/* evidence until t0 + 101: the window ends at t0 + 3701 */
	attr_conn(st, 1, "127.0.0.2", t0 + 100, T1, NULL);
	attr_conn(st, 2, "127.0.0.2", t0 + 200, NULL, NULL);
	attr_conn(st, 3, "127.0.0.2", t0 + 3701, NULL, NULL);
	attr_conn(st, 4, "127.0.0.2", t0 + 3702, NULL, NULL);
	attr_conn(st, 5, "127.0.0.2", t0 + 6000, NULL, NULL);
	attr_conn(st, 6, "127.0.0.2", t0 + 8000, NULL, NULL);
	/* again, until t0 + 2401: the window ends at t0 + 6001 */
	attr_conn(st, 7, "127.0.0.2", t0 + 2400, T1, NULL);
	/* T2's first evidence: from its creation on */
	attr_dnsq(st, "127.0.0.2", t0 + 5100, T2);
	store_close(st);

	db = raw_open(f->path);
	assert_attr(db, 1, "rcpt " T1 " -");
	assert_attr(db, 2, "address " T1 " " T1);
	assert_attr(db, 3, "address " T1 " " T1);
	assert_attr(db, 4, "address " T1 " " T1);
	assert_attr(db, 5, "ambiguous - " T1 " " T2);
	assert_attr(db, 6, "address " T2 " " T2);
	assert_attr(db, 7, "rcpt " T1 " -");
	sqlite3_close(db);
}

#define T3	"cccccccccccccccccccccccccc"

/*
 * The analysis of report transaction TXN: date range START..END (0: not
 * RFC 3339), one policy per DOMAINS entry (N of them), the policy's
 * failure detail sent from SENDING[i] when not NULL.
 */
static struct analysis_rec *
report_analysis(int64_t txn, double start, double end,
    const char *const *domains, const char *const *sending, size_t n)
{
	struct analysis_rec	*a;
	struct tlsrpt_rec	*r;
	struct tlsrpt_policy	*p;
	size_t			 i;

	assert_non_null(a = calloc(1, sizeof(*a)));
	a->txn_id = txn;
	a->finished = 1700000010;
	r = &a->tlsrpt;
	r->checked = 1;
	r->status = "ok";
	r->start = start;
	r->end = end;
	assert_non_null(r->policies = calloc(n, sizeof(*r->policies)));
	r->npolicies = n;
	for (i = 0; i < n; i++) {
		p = &r->policies[i];
		p->policy_type = xstrdup("sts");
		p->policy_domain = xstrdup(domains[i]);
		if (sending[i] == NULL)
			continue;
		assert_non_null(p->failures = calloc(1, sizeof(*p->failures)));
		p->nfailures = 1;
		p->failures[0].result_type = xstrdup("validation-failure");
		p->failures[0].sending_mta_ip = xstrdup(sending[i]);
		p->failures[0].failed_sessions = 1;
	}
	return a;
}

/* The attribution of the policies of TXN as "attribution test candidates". */
static void
assert_tlsrpt_attr(sqlite3 *db, int64_t txn, const char *const *want,
    size_t n)
{
	sqlite3_stmt	*s;
	size_t		 i;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT attribution || ' ' ||"
	    " coalesce(test_id, '-') || ' ' || coalesce(candidates, '-')"
	    " FROM v_tlsrpt WHERE transaction_id = ?1 ORDER BY policy_id", -1,
	    &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, txn);
	for (i = 0; i < n; i++) {
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0),
		    want[i]);
	}
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

static void
tlsrpt_policies_attributed_by_domain_and_sender(void **state)
{
	struct fixture		*f = *state;
	struct store		*st;
	struct conn_rec		 c = conn_full(4);
	struct txn_rec		*t;
	struct config		 cfg;
	sqlite3			*db;
	const double		 t0 = 1700000000;
	static const char *const domains[] = {
		T3 ".uniq." BASE, "TLS." BASE ".", "mx.tls." BASE,
		"company-y.example", "mx-" T3 ".dns." BASE,
		"zzzzzzzzzzzzzzzzzzzzzzzzzz.uniq." BASE,
	};
	static const char *const sending[] = {
		"127.0.0.3", NULL, "127.0.0.3", "127.0.0.2", NULL, NULL,
	};
	static const char *const want1[] = {
		"uniq " T3 " -", "sender " T1 " -",
		"ambiguous - " T1 " " T2, "none - -", "uniq " T3 " -",
		"sender " T1 " -",
	};
	static const char *const domain2[] = { "tls." BASE };
	static const char *const sending2[] = { NULL };
	static const char *const want2[] = { "sender " T1 " -" };
	static const char *const want3[] = { "none - -" };
	int			 i;

	st = open_ok(f->path);
	assert_int_equal(store_test_create(st, T1, t0 - 1000), 0);
	assert_int_equal(store_test_create(st, T2, t0 - 1000), 0);
	assert_int_equal(store_test_create(st, T3, t0 - 1000), 0);
	set_config(st, &cfg, 3600 * 1000);
	/* 127.0.0.2 sent to T1; 127.0.0.3 to T1 and T2 */
	attr_conn(st, 1, "127.0.0.2", t0, T1, NULL);
	attr_conn(st, 2, "127.0.0.3", t0, T1, NULL);
	attr_conn(st, 3, "127.0.0.3", t0, T2, NULL);
	/* the reports come from 127.0.0.2, on a connection still open */
	c.client_addr = "127.0.0.2";
	store_conn_open(st, &c);
	for (i = 0; i < 3; i++) {
		t = txn_report(test_report, sizeof(test_report) - 1);
		t->conn_id = 4;
		store_txn(st, t);
	}
	/* a day's report; dates not RFC 3339 (arrival +- 2 days); a later day */
	store_analysis(st, report_analysis(1, t0 - 3600, t0 + 3600, domains,
	    sending, NELEM(domains)));
	store_analysis(st, report_analysis(2, 0, 0, domain2, sending2, 1));
	store_analysis(st, report_analysis(3, t0 + 3 * 86400,
	    t0 + 4 * 86400, domain2, sending2, 1));
	store_close(st);

	db = raw_open(f->path);
	assert_tlsrpt_attr(db, 1, want1, NELEM(want1));
	assert_tlsrpt_attr(db, 2, want2, NELEM(want2));
	assert_tlsrpt_attr(db, 3, want3, NELEM(want3));
	sqlite3_close(db);
}

/* What store_tlsrpt_unparsed() handed over; the test owns the txns. */
struct unparsed {
	struct txn_rec	*txn[4];
	size_t		 n;
};

static void
on_unparsed(struct txn_rec *t, void *arg)
{
	struct unparsed	*u = arg;

	assert_true(u->n < NELEM(u->txn));
	u->txn[u->n++] = t;
}

static void
unparsed_free(struct unparsed *u)
{
	while (u->n > 0)
		records_txn_free(u->txn[--u->n]);
}

/*
 * Reports without a tlsrpt_reports row are handed back, oldest first and
 * bounded; parsed again, only their TLS-RPT rows are written.
 */
static void
unparsed_reports_are_handed_back_and_parsed_alone(void **state)
{
	struct fixture		*f = *state;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct unparsed		 u = { { NULL }, 0 };
	struct analysis_rec	*a;
	struct config		 cfg;
	sqlite3			*db;
	static const char *const domains[] = { "tls." BASE };
	static const char *const sending[] = { NULL };
	int			 i;

	st = open_ok(f->path);
	set_config(st, &cfg, 3600 * 1000);
	store_conn_open(st, &c);
	for (i = 0; i < 3; i++)
		store_txn(st, txn_report(test_report, sizeof(test_report) - 1));
	/* the first is parsed as it arrives; the others are not */
	store_analysis(st, report_analysis(1, 0, 0, domains, sending, 1));
	store_close(st);

	st = open_ok(f->path);
	set_config(st, &cfg, 3600 * 1000);
	/* a bound of bytes: the first that starts within it */
	assert_int_equal(store_tlsrpt_unparsed(st, 10, 1, on_unparsed, &u), 0);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.txn[0]->id, 2);
	unparsed_free(&u);
	/* a bound of reports */
	assert_int_equal(store_tlsrpt_unparsed(st, 1, 1 << 20, on_unparsed,
	    &u), 0);
	assert_int_equal(u.n, 1);
	unparsed_free(&u);
	assert_int_equal(store_tlsrpt_unparsed(st, 10, 1 << 20, on_unparsed,
	    &u), 0);
	assert_int_equal(u.n, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(u.txn[i]->id, 2 + i);
		assert_int_equal(u.txn[i]->conn_id, 1);
		assert_string_equal(u.txn[i]->report_kind, "tlsrpt");
		assert_int_equal(u.txn[i]->message_len,
		    sizeof(test_report) - 1);
		assert_memory_equal(u.txn[i]->message, test_report,
		    sizeof(test_report) - 1);
	}
	unparsed_free(&u);
	a = report_analysis(2, 0, 0, domains, sending, 1);
	a->tlsrpt_only = 1;
	store_analysis(st, a);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM v_tlsrpt WHERE"
	    " transaction_id = 2 AND policy_domain = 'tls." BASE "'"), 1);
	/* its analysis row and results are left as they were */
	assert_int_equal(query_int(db, "SELECT count(*) FROM analyses WHERE"
	    " transaction_id = 2 AND finished IS NULL"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM messages WHERE"
	    " transaction_id = 2"), 0);
	sqlite3_close(db);

	st = open_ok(f->path);
	assert_int_equal(store_tlsrpt_unparsed(st, 10, 1 << 20, on_unparsed,
	    &u), 0);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.txn[0]->id, 3);
	unparsed_free(&u);
	store_close(st);
}

/* SQLite's schema cookie: changes with every CREATE or DROP. */
static int64_t
schema_cookie(const char *path)
{
	sqlite3	*db = raw_open(path);
	int64_t	 v = query_int(db, "PRAGMA schema_version");

	sqlite3_close(db);
	return v;
}

/*
 * A second open (the tool, while the daemon runs) changes nothing and
 * takes no write lock: it succeeds while another connection holds one.
 */
static void
reopen_changes_no_schema_and_takes_no_write_lock(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*holder;
	int64_t		 cookie;

	store_close(open_ok(f->path));
	cookie = schema_cookie(f->path);
	holder = raw_open(f->path);
	assert_int_equal(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	store_close(open_ok(f->path));
	assert_int_equal(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(holder);
	assert_int_equal(schema_cookie(f->path), cookie);
}

/* Views whose text changed (another version's) are created again. */
static void
changed_views_are_recreated_at_open(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db;

	store_close(open_ok(f->path));
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "DROP VIEW v_connections;"
	    " UPDATE schema_views SET sha256 = 'an older views.sql'", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_close(open_ok(f->path));

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'view' AND name = 'v_connections'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM schema_views"
	    " WHERE length(sha256) = 64"), 1);
	sqlite3_close(db);
}

/*
 * An analysis left pending by a process that died (kill -9 while the
 * workers ran) is finished as 'interrupted' when the next writer starts.
 */
static void
pending_analysis_is_interrupted_at_writer_start(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct done_state	 ds;
	sqlite3			*db;

	st = open_ok(f->path);
	store_conn_open(st, &c);
	txn_full(st);
	store_close(st);

	base = base_new(&ds);
	st = open_ok(f->path);
	assert_int_equal(store_writer_start(st, base, on_done, &ds), 0);
	store_close(st);
	event_base_free(base);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM analyses WHERE"
	    " transaction_id = 1 AND finished IS NOT NULL AND"
	    " error = 'interrupted'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM v_deliveries"
	    " WHERE analysis = 'pending'"), 0);
	sqlite3_close(db);
}

/* A DNS query whose insert rolls back the whole batch (RAISE(ROLLBACK)). */
static void
poison_dns_query(struct store *st, const char *path)
{
	struct dnsq_rec	 q;
	sqlite3		*db;

	db = raw_open(path);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER poison BEFORE INSERT"
	    " ON dns_queries WHEN NEW.qname = 'poison.example'"
	    " BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	memset(&q, 0, sizeof(q));
	q.local_addr = "127.0.0.1:53";
	q.client_addr = "127.0.0.9";
	q.transport = "udp";
	q.qname = "poison.example";
	store_dns_query(st, &q);
}

/* A grey entry and attempt of connection 1 (strings borrowed). */
static void
grey_of_conn1(struct store *st)
{
	struct grey_entry	 g;
	struct grey_attempt	 a;

	memset(&g, 0, sizeof(g));
	memset(&a, 0, sizeof(a));
	g.mail_from = "a@sender.example";
	g.rcpt = "measure+abc@grey.measure.example";
	g.first_seen = g.last_seen = 1700000001;
	g.attempts = 1;
	a.conn_id = 1;
	a.client_addr = "127.0.0.2";
	a.time = 1700000001;
	store_greylist(st, &g, &a);
}

/*
 * A batch lost as a whole: its mail is refused (the session answers 451)
 * and its other records are written again in the next one.  Here the
 * cause goes away after the first failure, as a full disk emptied would.
 */
static void
lost_batch_refuses_mail_and_retries_records(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct done_state	 ds;
	sqlite3			*db;

	base = base_new(&ds);
	st = open_ok(f->path);
	store_conn_open(st, &c);
	grey_of_conn1(st);
	poison_dns_query(st, f->path);
	txn_full(st);
	store_conn_close(st, &c);
	assert_int_equal(store_writer_start(st, base, on_done, &ds), 0);
	loop_until(&ds, 1);
	assert_int_equal(ds.ok[0], 0);
	db = raw_open(f->path);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER poison", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	store_close(st);
	event_base_free(base);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM connections"
	    " WHERE id = 1 AND ended IS NOT NULL"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM greylist_attempts"
	    " WHERE connection_id = 1"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM dns_queries"
	    " WHERE qname = 'poison.example'"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM transactions"),
	    0);
	sqlite3_close(db);
}

/*
 * A record that loses every batch it is in is tried a bounded number of
 * times, then dropped; the records that shared its batches are kept.
 */
static void
record_that_always_fails_is_dropped_others_kept(void **state)
{
	struct fixture	*f = *state;
	struct store	*st;
	struct conn_rec	 c = conn_full(1);
	sqlite3		*db;

	st = open_ok(f->path);
	poison_dns_query(st, f->path);
	store_conn_open(st, &c);
	grey_of_conn1(st);
	store_conn_close(st, &c);
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM connections"
	    " WHERE id = 1 AND ended IS NOT NULL"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM greylist"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM dns_queries"), 0);
	sqlite3_close(db);
}

/* Counts DNS rows committed when the mail's result arrives. */
struct mail_first {
	struct done_state	 ds;
	const char		*path;
	int64_t			 dns_rows;
};

static void
on_done_count_dns(int64_t conn_id, int ok, struct txn_rec *txn, void *arg)
{
	struct mail_first	*m = arg;
	sqlite3			*db = raw_open(m->path);

	m->dns_rows = query_int(db, "SELECT count(*) FROM dns_queries");
	sqlite3_close(db);
	on_done(conn_id, ok, txn, &m->ds);
}

/* Mail queued behind 100000 DNS records is committed before most of them. */
static void
mail_does_not_wait_behind_dns_records(void **state)
{
	struct fixture		*f = *state;
	struct event_base	*base;
	struct store		*st;
	struct conn_rec		 c = conn_full(1);
	struct mail_first	 m;
	struct dnsq_rec		 q;
	int			 i;

	memset(&m, 0, sizeof(m));
	base = base_new(&m.ds);
	m.path = f->path;
	memset(&q, 0, sizeof(q));
	q.local_addr = "127.0.0.1:53";
	q.client_addr = "127.0.0.1";
	q.transport = "udp";
	st = open_ok(f->path);
	for (i = 0; i < 100000; i++)
		store_dns_query(st, &q);
	store_conn_open(st, &c);
	txn_full(st);
	assert_int_equal(store_writer_start(st, base, on_done_count_dns, &m),
	    0);
	loop_until(&m.ds, 1);
	assert_int_equal(m.ds.ok[0], 1);
	assert_true(m.dns_rows < 100000);
	close_and_check(st, &c, base, f->path);
}

static void
close_null_is_noop(void **state)
{
	(void)state;
	store_close(NULL);
	records_txn_free(NULL);
}

/* store_challenges() replaces the whole table: the rows as given. */
static void
challenges_table_is_replaced_by_the_rows_given(void **state)
{
	struct fixture		*f = *state;
	struct challenge_rec	 rows[2];
	struct store		*st;
	sqlite3_stmt		*s;
	sqlite3			*db;

	memset(rows, 0, sizeof(rows));
	rows[0].name = "tls";
	rows[0].host = "tls";
	rows[0].mx_family = "dual";
	rows[0].dns = xstrdup("signed");
	rows[0].addresses = xstrdup("127.0.1.10:2528 [::1]:2545");
	rows[0].description = "it can do STARTTLS";
	rows[1].name = "sts-2mx-tls";
	rows[1].host = "tls-bad";
	rows[1].host2 = "tls";
	rows[1].mx_family = "dual";
	rows[1].dns = xstrdup("signed,sts-crlf");
	rows[1].addresses2 = xstrdup("[::1]:2546");
	rows[1].description = "must arrive through tls";

	st = open_ok(f->path);
	assert_int_equal(store_challenges(st, rows, 2), 0);
	assert_int_equal(store_challenges(st, rows, 2), 0);	/* again */
	store_close(st);

	db = raw_open(f->path);
	assert_int_equal(query_int(db, "SELECT count(*) FROM challenges"), 2);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name, host, host2,"
	    " mx_family, dns, addresses, addresses2, description"
	    " FROM challenges ORDER BY name DESC", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_col_text(s, 0, "tls");
	assert_col_text(s, 2, NULL);
	assert_col_text(s, 4, "signed");
	assert_col_text(s, 5, "127.0.1.10:2528 [::1]:2545");
	assert_col_text(s, 6, NULL);
	assert_col_text(s, 7, "it can do STARTTLS");
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_col_text(s, 0, "sts-2mx-tls");
	assert_col_text(s, 1, "tls-bad");
	assert_col_text(s, 2, "tls");
	assert_col_text(s, 3, "dual");
	assert_col_text(s, 5, NULL);
	assert_col_text(s, 6, "[::1]:2546");
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	records_challenge_clear(&rows[0]);
	records_challenge_clear(&rows[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(open_creates_schema_version_and_views),
		T(reopen_is_idempotent),
		T(newer_schema_version_is_refused),
		T(open_error_names_the_path),
		T(test_create_then_exists),
		T(writer_commits_and_reports_on_loop_thread),
		T(failing_job_is_rolled_back_alone),
		T(close_flushes_queued_jobs),
		T(close_without_writer_flushes_queue),
		T(last_connection_id_is_max_or_zero),
		T(dns_records_beyond_the_queue_bound_are_dropped_mail_is_not),
		T(report_is_stored_whole_with_its_transaction),
		T(empty_report_is_stored_as_empty_blob),
		T(tlsrpt_report_rows_as_written),
		T(attribution_by_rcpt_sni_address_and_ambiguous),
		T(attribution_evidence_again_widens_the_window),
		T(tlsrpt_policies_attributed_by_domain_and_sender),
		T(unparsed_reports_are_handed_back_and_parsed_alone),
		T(challenges_table_is_replaced_by_the_rows_given),
		T(reopen_changes_no_schema_and_takes_no_write_lock),
		T(changed_views_are_recreated_at_open),
		T(pending_analysis_is_interrupted_at_writer_start),
		T(lost_batch_refuses_mail_and_retries_records),
		T(record_that_always_fails_is_dropped_others_kept),
		T(mail_does_not_wait_behind_dns_records),
		cmocka_unit_test(close_null_is_noop),
#undef T
	};
	int	 rc;

	/* As the daemon does: before any event base exists. */
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "evthread_use_pthreads failed\n");
		return 1;
	}
	evthread_enable_lock_debugging();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	libevent_global_shutdown();
	return rc;
}
