/*
 * The only code that touches SQLite: schema migrations, prepared statements
 * and the writer thread.  store_open() and the synchronous calls run on the
 * caller's thread; after store_writer_start() the writer thread owns the
 * database, and the event loop thread only queues jobs and gets results.
 */
#include "build.h"

#include <sys/queue.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "types.h"

/* Generated from schema/ by schema/embed.sh as daemon/schema_sql.c. */
extern const char *const schema_migrations[];	/* migration 1 first */
extern const char schema_views[];

#define STORE_BUSY_TIMEOUT_MS	5000
#define STORE_QUEUE_MAX		100000	/* queued DNS/web records */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_CONN_OPEN,
	ST_CONN_CLOSE,
	ST_TXN,
	ST_RCPT,
	ST_TEST_CREATE,
	ST_TEST_EXISTS,
	ST_LAST_CONN,
	ST_GREY_UPSERT,
	ST_GREY_ATTEMPT,
	ST_GREY_LOAD,
	ST_FETCH,
	ST_DNSQ,
	ST_ANALYSIS_QUEUED,
	ST_ANALYSIS_DONE,
	ST_MESSAGE,
	ST_FINDING,
	ST_SPF,
	ST_CLIENT_DNS,
	ST_DKIM,
	ST_DKIM_SIG,
	ST_DMARC,
	ST_DMARC_DEST,
	ST_SENDER_ZONE,
	ST_COUNT
};

/* Every statement the store runs after start-up; prepared once. */
static const char *const stmt_sql[ST_COUNT] = {
	/*
	 * IMMEDIATE takes the write lock at once, so a busy database shows
	 * here (after the busy timeout) and never halfway through a batch.
	 */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT job",
	[ST_RELEASE] = "RELEASE job",
	[ST_ROLLBACK_TO] = "ROLLBACK TO job",
	[ST_CONN_OPEN] =
	    "INSERT INTO connections (id, host, local_addr, client_addr,"
	    " client_port, family, started)"
	    " VALUES (:id, :host, :local_addr, :client_addr, :client_port,"
	    " :family, :started)",
	[ST_CONN_CLOSE] =
	    "UPDATE connections SET ended = :ended, helo_verb = :helo_verb,"
	    " helo = :helo, extensions = :extensions, starttls = :starttls,"
	    " pipelined_discarded = :pipelined_discarded,"
	    " improper_pipelining = :improper_pipelining,"
	    " transactions = :transactions, mail_commands = :mail_commands,"
	    " test_id = :test_id,"
	    " commands = :commands, end_reason = :end_reason,"
	    " tls_established = :tls_established,"
	    " tls_version = :tls_version, tls_cipher = :tls_cipher,"
	    " tls_group = :tls_group, tls_sni = :tls_sni,"
	    " tls_resumed = :tls_resumed, ch_versions = :ch_versions,"
	    " ch_ciphers = :ch_ciphers, ch_groups = :ch_groups,"
	    " ch_sigalgs = :ch_sigalgs, ch_alpn = :ch_alpn,"
	    " tls_alert_sent = :tls_alert_sent,"
	    " tls_alert_received = :tls_alert_received,"
	    " tls_error = :tls_error"
	    " WHERE id = :id",
	[ST_TXN] =
	    "INSERT INTO transactions (connection_id, received, mail_from,"
	    " mail_params, size, headers, body_sha256, bare_lf, bare_cr,"
	    " long_lines, tls)"
	    " VALUES (:connection_id, :received, :mail_from, :mail_params,"
	    " :size, :headers, :body_sha256, :bare_lf, :bare_cr, :long_lines,"
	    " :tls)",
	[ST_RCPT] =
	    "INSERT INTO recipients (transaction_id, address, challenge,"
	    " test_id)"
	    " VALUES (:transaction_id, :address, :challenge, :test_id)",
	[ST_TEST_CREATE] =
	    "INSERT INTO tests (id, created) VALUES (:id, :created)",
	[ST_TEST_EXISTS] = "SELECT 1 FROM tests WHERE id = :id",
	[ST_LAST_CONN] = "SELECT coalesce(max(id), 0) FROM connections",
	[ST_GREY_UPSERT] =
	    "INSERT INTO greylist (mail_from, rcpt, test_id, first_seen,"
	    " last_seen, attempts, passed)"
	    " VALUES (:mail_from, :rcpt, :test_id, :first_seen, :last_seen,"
	    " :attempts, :passed)"
	    " ON CONFLICT (mail_from, rcpt) DO UPDATE SET"
	    " test_id = excluded.test_id, first_seen = excluded.first_seen,"
	    " last_seen = excluded.last_seen, attempts = excluded.attempts,"
	    " passed = excluded.passed",
	[ST_GREY_ATTEMPT] =
	    "INSERT INTO greylist_attempts (connection_id, mail_from, rcpt,"
	    " test_id, client_addr, time, result)"
	    " VALUES (:connection_id, :mail_from, :rcpt, :test_id,"
	    " :client_addr, :time, :result)",
	[ST_FETCH] =
	    "INSERT INTO policy_fetches (time, local_addr, client_addr,"
	    " client_port, family, tls_version, tls_cipher, sni, host, method,"
	    " path, user_agent, status, bytes, challenge, error)"
	    " VALUES (:time, :local_addr, :client_addr, :client_port, :family,"
	    " :tls_version, :tls_cipher, :sni, :host, :method, :path,"
	    " :user_agent, :status, :bytes, :challenge, :error)",
	[ST_DNSQ] =
	    "INSERT INTO dns_queries (time, local_addr, client_addr,"
	    " client_port, family, transport, qname, qtype, qclass, edns,"
	    " edns_size, do_bit, rcode, truncated, minimised, test_id, error)"
	    " VALUES (:time, :local_addr, :client_addr, :client_port, :family,"
	    " :transport, :qname, :qtype, :qclass, :edns, :edns_size, :do_bit,"
	    " :rcode, :truncated, :minimised, :test_id, :error)",
	[ST_ANALYSIS_QUEUED] =
	    "INSERT INTO analyses (transaction_id, queued)"
	    " VALUES (:transaction_id, :queued)",
	[ST_ANALYSIS_DONE] =
	    "UPDATE analyses SET finished = :finished, error = :error"
	    " WHERE transaction_id = :transaction_id",
	[ST_MESSAGE] =
	    "INSERT INTO messages (transaction_id, header_count, header_from,"
	    " from_domain, envelope_domain, from_matches_envelope, message_id,"
	    " received_count, eight_bit, body_8bitmime)"
	    " VALUES (:transaction_id, :header_count, :header_from,"
	    " :from_domain, :envelope_domain, :from_matches_envelope,"
	    " :message_id, :received_count, :eight_bit, :body_8bitmime)",
	[ST_FINDING] =
	    "INSERT INTO header_findings (transaction_id, field, finding, count)"
	    " VALUES (:transaction_id, :field, :finding, :count)",
	[ST_SPF] =
	    "INSERT INTO spf_results (transaction_id, identity, domain, result,"
	    " explanation, record, dns_lookups, void_lookups, error)"
	    " VALUES (:transaction_id, :identity, :domain, :result,"
	    " :explanation, :record, :dns_lookups, :void_lookups, :error)",
	[ST_CLIENT_DNS] =
	    "INSERT INTO client_dns (transaction_id, ptr, ptr_status, fcrdns,"
	    " helo_resolves, helo_addrs, helo_status)"
	    " VALUES (:transaction_id, :ptr, :ptr_status, :fcrdns,"
	    " :helo_resolves, :helo_addrs, :helo_status)",
	[ST_DKIM] =
	    "INSERT INTO dkim_results (transaction_id, signatures, result,"
	    " error)"
	    " VALUES (:transaction_id, :signatures, :result, :error)",
	[ST_DKIM_SIG] =
	    "INSERT INTO dkim_signatures (transaction_id, position, domain,"
	    " selector, algorithm, key_bits, canon_header, canon_body,"
	    " body_length, result, error, aligned)"
	    " VALUES (:transaction_id, :position, :domain, :selector,"
	    " :algorithm, :key_bits, :canon_header, :canon_body,"
	    " :body_length, :result, :error, :aligned)",
	[ST_DMARC] =
	    "INSERT INTO dmarc_results (transaction_id, from_domain,"
	    " org_domain, policy_domain, record, result, error, p, sp, pct,"
	    " adkim, aspf, fo, rua, ruf, invalid_tags, spf_domain,"
	    " spf_result, spf_aligned, dkim_aligned, policy, disposition)"
	    " VALUES (:transaction_id, :from_domain, :org_domain,"
	    " :policy_domain, :record, :result, :error, :p, :sp, :pct,"
	    " :adkim, :aspf, :fo, :rua, :ruf, :invalid_tags, :spf_domain,"
	    " :spf_result, :spf_aligned, :dkim_aligned, :policy,"
	    " :disposition)",
	[ST_DMARC_DEST] =
	    "INSERT INTO dmarc_destinations (transaction_id, tag, position,"
	    " uri, domain, external, authorized, status)"
	    " VALUES (:transaction_id, :tag, :position, :uri, :domain,"
	    " :external, :authorized, :status)",
	[ST_SENDER_ZONE] =
	    "INSERT INTO sender_zones (transaction_id, role, name, zone,"
	    " dnssec, dnssec_error, ipv6_ns)"
	    " VALUES (:transaction_id, :role, :name, :zone, :dnssec,"
	    " :dnssec_error, :ipv6_ns)",
	[ST_GREY_LOAD] =
	    "SELECT mail_from, rcpt, test_id, first_seen, last_seen, attempts,"
	    " coalesce(passed, 0) FROM greylist",
};

enum job_type {
	JOB_CONN_OPEN,
	JOB_CONN_CLOSE,
	JOB_TXN,
	JOB_GREY,
	JOB_FETCH,
	JOB_DNSQ,
	JOB_ANALYSIS
};

/*
 * One unit of work for the writer.  Owns its copy of the connection record
 * and the txn_rec.  A txn job, its txn freed, travels back to the event loop
 * as its own completion, so reporting a result never allocates.
 */
struct job {
	STAILQ_ENTRY(job)	 entry;
	enum job_type		 type;
	int64_t			 conn_id;
	struct conn_rec		 conn;	/* owned copy: conn jobs */
	struct txn_rec		*txn;	/* owned (txn jobs) */
	struct grey_entry	 grey;	/* owned copy: grey jobs */
	struct grey_attempt	 attempt;	/* owned copy: grey jobs */
	struct fetch_rec	 fetch;	/* owned copy: fetch jobs */
	struct dnsq_rec		 dnsq;	/* owned copy: DNS query jobs */
	struct analysis_rec	*analysis;	/* owned: analysis jobs */
	int			 ok;	/* set by the writer */
};
STAILQ_HEAD(jobq, job);

/*
 * Owns the database handle, its statements, both queues and the completion
 * event (which lives on the daemon's base, borrowed).  mtx protects jobs,
 * done and stopping, nothing else; db and stmt belong to the writer thread
 * while it runs.
 */
struct store {
	sqlite3			*db;
	sqlite3_stmt		*stmt[ST_COUNT];

	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;	/* jobs queued, or stopping */
	struct jobq		 jobs;	/* loop -> writer */
	size_t			 njobs;	/* in jobs */
	unsigned long		 dropped;	/* DNS/web records, queue full */
	struct jobq		 done;	/* writer -> loop: results */
	int			 stopping;

	int			 running;	/* writer thread started */
	pthread_t		 writer;
	struct event		*done_ev;	/* owned */
	store_done_cb		 done_cb;
	void			*done_arg;
};

static void
store_seterr(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "PATH: message"; a message cut to ERRLEN is still a message. */
static void
store_seterr(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* Runs constant schema text only: never anything built from input. */
static int
store_exec_const(sqlite3 *db, const char *sql, char *msg, size_t msglen)
{
	char	*emsg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &emsg) == SQLITE_OK)
		return 0;
	(void)snprintf(msg, msglen, "%s",
	    emsg != NULL ? emsg : sqlite3_errmsg(db));
	sqlite3_free(emsg);
	return -1;
}

static int
bind_text(sqlite3_stmt *s, const char *name, const char *v)
{
	int	 i;

	if ((i = sqlite3_bind_parameter_index(s, name)) == 0)
		return SQLITE_RANGE;
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	/* The job outlives the step: no copy needed. */
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int
bind_int64(sqlite3_stmt *s, const char *name, int64_t v)
{
	int	 i;

	if ((i = sqlite3_bind_parameter_index(s, name)) == 0)
		return SQLITE_RANGE;
	return sqlite3_bind_int64(s, i, v);
}

static int
bind_double(sqlite3_stmt *s, const char *name, double v)
{
	int	 i;

	if ((i = sqlite3_bind_parameter_index(s, name)) == 0)
		return SQLITE_RANGE;
	return sqlite3_bind_double(s, i, v);
}

static int
bind_blob(sqlite3_stmt *s, const char *name, const void *v, size_t len)
{
	int	 i;

	if ((i = sqlite3_bind_parameter_index(s, name)) == 0)
		return SQLITE_RANGE;
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_blob64(s, i, v, len, SQLITE_STATIC);
}

/* Steps a statement that returns no rows; leaves it reset and unbound. */
static int
stmt_done(sqlite3_stmt *s)
{
	int	 rc;

	rc = sqlite3_step(s);
	/* The error message stays on the handle until the next call. */
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
store_step(struct store *st, enum stmt_id id)
{
	return stmt_done(st->stmt[id]);
}

/* Version 0 is a database without migrations. */
static int
schema_version_get(sqlite3 *db, int *version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
schema_version_set(sqlite3 *db, int version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_exec(db, "DELETE FROM schema_version", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db,
	    "INSERT INTO schema_version (version) VALUES (?1)", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_bind_int(s, 1, version);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Applies every migration the database lacks, each in its own transaction.
 * The version is read again under the write lock, so two programs opening
 * the same new database cannot both apply a migration.
 */
static int
store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char	 msg[512];
	int	 known, version;

	for (known = 0; schema_migrations[known] != NULL; known++)
		;
	if (store_exec_const(db, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version INTEGER NOT NULL)", msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "%s", msg);
		return -1;
	}
	for (;;) {
		if (store_exec_const(db, "BEGIN IMMEDIATE", msg,
		    sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "%s", msg);
			return -1;
		}
		if (schema_version_get(db, &version) == -1) {
			store_seterr(err, errlen, path, "schema version: %s",
			    sqlite3_errmsg(db));
			goto rollback;
		}
		if (version > known) {
			store_seterr(err, errlen, path, "database schema "
			    "version %d is newer than this program (%d)",
			    version, known);
			goto rollback;
		}
		if (version == known)
			break;
		if (store_exec_const(db, schema_migrations[version], msg,
		    sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "migration %d: %s",
			    version + 1, msg);
			goto rollback;
		}
		if (schema_version_set(db, version + 1) == -1) {
			store_seterr(err, errlen, path, "schema version: %s",
			    sqlite3_errmsg(db));
			goto rollback;
		}
		if (store_exec_const(db, "COMMIT", msg, sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "migration %d: %s",
			    version + 1, msg);
			goto rollback;
		}
		log_info("store: %s: schema migrated to version %d", path,
		    version + 1);
	}
	/* Views are recreated at every start, in the same transaction. */
	if (store_exec_const(db, schema_views, msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "views: %s", msg);
		goto rollback;
	}
	if (store_exec_const(db, "COMMIT", msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "views: %s", msg);
		goto rollback;
	}
	return 0;

rollback:
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Runs a PRAGMA that answers one row and returns its text in BUF. */
static int
store_pragma(sqlite3 *db, const char *sql, char *buf, size_t buflen)
{
	sqlite3_stmt		*s;
	const unsigned char	*v;
	int			 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = sqlite3_column_text(s, 0);
		(void)snprintf(buf, buflen, "%s", v != NULL ? (const char *)v :
		    "");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
store_configure(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char	 msg[512], val[32];

	if (sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		store_seterr(err, errlen, path, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (store_pragma(db, "PRAGMA journal_mode=WAL", val,
	    sizeof(val)) == -1) {
		store_seterr(err, errlen, path, "journal_mode: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(val, "wal") != 0)
		log_warn("store: %s: journal_mode=%s, not wal", path, val);
	/*
	 * Acknowledged means durable: the commit that precedes a 250 must
	 * survive a power loss, so every commit syncs the WAL.
	 */
	if (store_exec_const(db, "PRAGMA synchronous=FULL", msg,
	    sizeof(msg)) == -1 ||
	    store_exec_const(db, "PRAGMA foreign_keys=ON", msg,
	    sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "%s", msg);
		return -1;
	}
	if (store_pragma(db, "PRAGMA foreign_keys", val, sizeof(val)) == -1 ||
	    strcmp(val, "1") != 0) {
		store_seterr(err, errlen, path,
		    "SQLite without foreign key support");
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*st;
	int		 i, rc;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		store_seterr(err, errlen, path, "%s", strerror(errno));
		return NULL;
	}
	STAILQ_INIT(&st->jobs);
	STAILQ_INIT(&st->done);
	if ((rc = pthread_mutex_init(&st->mtx, NULL)) != 0) {
		store_seterr(err, errlen, path, "%s", strerror(rc));
		free(st);
		return NULL;
	}
	if ((rc = pthread_cond_init(&st->cond, NULL)) != 0) {
		store_seterr(err, errlen, path, "%s", strerror(rc));
		pthread_mutex_destroy(&st->mtx);
		free(st);
		return NULL;
	}

	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(err, errlen, path, "%s", st->db != NULL ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (store_configure(st->db, path, err, errlen) == -1 ||
	    store_migrate(st->db, path, err, errlen) == -1)
		goto fail;
	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			store_seterr(err, errlen, path, "%s: %s",
			    stmt_sql[i], sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;

fail:
	store_close(st);
	return NULL;
}

/* A deep copy of SRC into DST; 0, or -1 with DST empty. */
static int
conn_rec_copy(struct conn_rec *dst, const struct conn_rec *src)
{
	struct {
		char		**dst;
		const char	*src;
	} strs[] = {
		{ &dst->host, src->host },
		{ &dst->local_addr, src->local_addr },
		{ &dst->client_addr, src->client_addr },
		{ &dst->helo_verb, src->helo_verb },
		{ &dst->helo, src->helo },
		{ &dst->extensions, src->extensions },
		{ &dst->test_id, src->test_id },
		{ &dst->commands, src->commands },
		{ &dst->end_reason, src->end_reason },
		{ &dst->tls.version, src->tls.version },
		{ &dst->tls.cipher, src->tls.cipher },
		{ &dst->tls.group, src->tls.group },
		{ &dst->tls.sni, src->tls.sni },
		{ &dst->tls.ch_versions, src->tls.ch_versions },
		{ &dst->tls.ch_ciphers, src->tls.ch_ciphers },
		{ &dst->tls.ch_groups, src->tls.ch_groups },
		{ &dst->tls.ch_sigalgs, src->tls.ch_sigalgs },
		{ &dst->tls.ch_alpn, src->tls.ch_alpn },
		{ &dst->tls.alert_sent, src->tls.alert_sent },
		{ &dst->tls.alert_received, src->tls.alert_received },
		{ &dst->tls.error, src->tls.error },
	};
	size_t	 i, j;

	*dst = *src;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		*strs[i].dst = NULL;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].src == NULL)
			continue;
		if ((*strs[i].dst = strdup(strs[i].src)) == NULL) {
			for (j = 0; j < i; j++)
				free(*strs[j].dst);
			memset(dst, 0, sizeof(*dst));
			return -1;
		}
	}
	return 0;
}

void
store_conn_clear(struct conn_rec *c)
{
	free(c->host);
	free(c->local_addr);
	free(c->client_addr);
	free(c->helo_verb);
	free(c->helo);
	free(c->extensions);
	free(c->test_id);
	free(c->commands);
	free(c->end_reason);
	free(c->tls.version);
	free(c->tls.cipher);
	free(c->tls.group);
	free(c->tls.sni);
	free(c->tls.ch_versions);
	free(c->tls.ch_ciphers);
	free(c->tls.ch_groups);
	free(c->tls.ch_sigalgs);
	free(c->tls.ch_alpn);
	free(c->tls.alert_sent);
	free(c->tls.alert_received);
	free(c->tls.error);
	memset(c, 0, sizeof(*c));
}

void
store_txn_free(struct txn_rec *txn)
{
	size_t	 i;

	if (txn == NULL)
		return;
	for (i = 0; i < txn->nrcpts; i++) {
		free(txn->rcpts[i].address);
		free(txn->rcpts[i].challenge);
		free(txn->rcpts[i].test_id);
	}
	free(txn->rcpts);
	free(txn->mail_from);
	free(txn->mail_params);
	free(txn->headers);
	free(txn->message);
	free(txn->client_addr);
	free(txn->helo);
	free(txn);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	store_conn_clear(&j->conn);
	store_txn_free(j->txn);
	free(j->grey.mail_from);
	free(j->grey.rcpt);
	free(j->grey.test_id);
	free(j->attempt.client_addr);
	free(j->fetch.local_addr);
	free(j->fetch.client_addr);
	free(j->fetch.tls_version);
	free(j->fetch.tls_cipher);
	free(j->fetch.sni);
	free(j->fetch.host);
	free(j->fetch.method);
	free(j->fetch.path);
	free(j->fetch.user_agent);
	free(j->fetch.challenge);
	free(j->fetch.error);
	free(j->dnsq.local_addr);
	free(j->dnsq.client_addr);
	free(j->dnsq.qname);
	free(j->dnsq.test_id);
	free(j->dnsq.error);
	store_analysis_free(j->analysis);
	free(j);
}

static void
jobq_free(struct jobq *q)
{
	struct job	*j;

	while ((j = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, entry);
		job_free(j);
	}
}

/* Logs a failed statement of a job; the message is read before reset. */
static void
job_warn(struct store *st, const struct job *j, const char *what)
{
	log_warn("c%" PRId64 ": store: %s failed: %s", j->conn_id, what,
	    sqlite3_errmsg(st->db));
}

static int
job_conn_open(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_CONN_OPEN];
	const struct conn_rec	*c = &j->conn;
	int			 rc;

	if ((rc = bind_int64(s, ":id", c->id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":host", c->host)) != SQLITE_OK ||
	    (rc = bind_text(s, ":local_addr", c->local_addr)) != SQLITE_OK ||
	    (rc = bind_text(s, ":client_addr", c->client_addr)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":client_port", c->client_port)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":family", c->family)) != SQLITE_OK ||
	    (rc = bind_double(s, ":started", c->started)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		goto fail;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return 0;

fail:
	job_warn(st, j, "connection insert");
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return -1;
}

static int
job_conn_close(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_CONN_CLOSE];
	const struct conn_rec	*c = &j->conn;
	const struct tls_rec	*t = &c->tls;
	int			 rc;

	if ((rc = bind_int64(s, ":id", c->id)) != SQLITE_OK ||
	    (rc = bind_double(s, ":ended", c->ended)) != SQLITE_OK ||
	    (rc = bind_text(s, ":helo_verb", c->helo_verb)) != SQLITE_OK ||
	    (rc = bind_text(s, ":helo", c->helo)) != SQLITE_OK ||
	    (rc = bind_text(s, ":extensions", c->extensions)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":starttls", c->starttls)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":pipelined_discarded",
	    c->pipelined_discarded)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":improper_pipelining",
	    c->improper_pipelining)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":transactions", c->transactions)) !=
	    SQLITE_OK ||
	    (rc = bind_int64(s, ":mail_commands", c->mail_commands)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":test_id", c->test_id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":commands", c->commands)) != SQLITE_OK ||
	    (rc = bind_text(s, ":end_reason", c->end_reason)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":tls_established", t->established)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":tls_version", t->version)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_cipher", t->cipher)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_group", t->group)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_sni", t->sni)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":tls_resumed", t->resumed)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ch_versions", t->ch_versions)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ch_ciphers", t->ch_ciphers)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ch_groups", t->ch_groups)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ch_sigalgs", t->ch_sigalgs)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ch_alpn", t->ch_alpn)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_alert_sent", t->alert_sent)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":tls_alert_received", t->alert_received)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":tls_error", t->error)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		goto fail;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	/* Its open failed or never came: the rest of the record is lost. */
	if (sqlite3_changes(st->db) == 0) {
		log_warn("c%" PRId64 ": store: connection update failed: "
		    "no such connection", j->conn_id);
		return -1;
	}
	return 0;

fail:
	job_warn(st, j, "connection update");
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return -1;
}

/* Steps statement S (bound by the caller); resets it either way. */
static int
job_step(struct store *st, struct job *j, sqlite3_stmt *s, int rc,
    const char *what)
{
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE)
		rc = 0;
	else {
		job_warn(st, j, what);
		rc = -1;
	}
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return rc;
}

static int
job_txn(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_TXN];
	const struct txn_rec	*t = j->txn;
	const struct rcpt_rec	*r;
	const char		*what = "transaction insert";
	int64_t			 txn_id;
	size_t			 i;
	int			 rc;

	if ((rc = bind_int64(s, ":connection_id", t->conn_id)) != SQLITE_OK ||
	    (rc = bind_double(s, ":received", t->received)) != SQLITE_OK ||
	    (rc = bind_text(s, ":mail_from", t->mail_from)) != SQLITE_OK ||
	    (rc = bind_text(s, ":mail_params", t->mail_params)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":size", (int64_t)t->size)) != SQLITE_OK ||
	    (rc = bind_blob(s, ":headers", t->headers, t->headers_len)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":body_sha256", t->body_sha256)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":bare_lf", t->bare_lf)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":bare_cr", t->bare_cr)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":long_lines", t->long_lines)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":tls", t->tls)) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		goto fail;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	txn_id = sqlite3_last_insert_rowid(st->db);
	j->txn->id = txn_id;

	what = "recipient insert";
	s = st->stmt[ST_RCPT];
	for (i = 0; i < t->nrcpts; i++) {
		r = &t->rcpts[i];
		if ((rc = bind_int64(s, ":transaction_id", txn_id)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":address", r->address)) != SQLITE_OK ||
		    (rc = bind_text(s, ":challenge", r->challenge)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":test_id", r->test_id)) != SQLITE_OK)
			goto fail;
		if ((rc = sqlite3_step(s)) != SQLITE_DONE)
			goto fail;
		(void)sqlite3_reset(s);
		(void)sqlite3_clear_bindings(s);
	}
	/* analysed later: "pending" until the analysis job finishes it */
	s = st->stmt[ST_ANALYSIS_QUEUED];
	if ((rc = bind_int64(s, ":transaction_id", txn_id)) != SQLITE_OK ||
	    (rc = bind_double(s, ":queued", t->received)) != SQLITE_OK)
		return job_step(st, j, s, rc, "analysis insert");
	return job_step(st, j, s, SQLITE_OK, "analysis insert");

fail:
	job_warn(st, j, what);
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return -1;
}

static int
job_grey(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_GREY_UPSERT];
	const struct grey_entry	*g = &j->grey;
	const struct grey_attempt *a = &j->attempt;
	const char		*what = "greylist update";
	int			 rc;

	if ((rc = bind_text(s, ":mail_from", g->mail_from)) != SQLITE_OK ||
	    (rc = bind_text(s, ":rcpt", g->rcpt)) != SQLITE_OK ||
	    (rc = bind_text(s, ":test_id", g->test_id)) != SQLITE_OK ||
	    (rc = bind_double(s, ":first_seen", g->first_seen)) != SQLITE_OK ||
	    (rc = bind_double(s, ":last_seen", g->last_seen)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":attempts", g->attempts)) != SQLITE_OK ||
	    (rc = g->passed > 0 ? bind_double(s, ":passed", g->passed) :
	    bind_text(s, ":passed", NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(s)) != SQLITE_DONE)
		goto fail;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);

	what = "greylist attempt insert";
	s = st->stmt[ST_GREY_ATTEMPT];
	if ((rc = bind_int64(s, ":connection_id", a->conn_id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":mail_from", g->mail_from)) != SQLITE_OK ||
	    (rc = bind_text(s, ":rcpt", g->rcpt)) != SQLITE_OK ||
	    (rc = bind_text(s, ":test_id", g->test_id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":client_addr", a->client_addr)) != SQLITE_OK ||
	    (rc = bind_double(s, ":time", a->time)) != SQLITE_OK ||
	    (rc = bind_text(s, ":result", a->accepted ? "accepted" :
	    "deferred")) != SQLITE_OK ||
	    (rc = sqlite3_step(s)) != SQLITE_DONE)
		goto fail;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return 0;

fail:
	job_warn(st, j, what);
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	return -1;
}

static int
job_fetch(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_FETCH];
	const struct fetch_rec	*f = &j->fetch;
	int			 rc;

	if ((rc = bind_double(s, ":time", f->time)) != SQLITE_OK ||
	    (rc = bind_text(s, ":local_addr", f->local_addr)) != SQLITE_OK ||
	    (rc = bind_text(s, ":client_addr", f->client_addr)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":client_port", f->client_port)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":family", f->family)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_version", f->tls_version)) != SQLITE_OK ||
	    (rc = bind_text(s, ":tls_cipher", f->tls_cipher)) != SQLITE_OK ||
	    (rc = bind_text(s, ":sni", f->sni)) != SQLITE_OK ||
	    (rc = bind_text(s, ":host", f->host)) != SQLITE_OK ||
	    (rc = bind_text(s, ":method", f->method)) != SQLITE_OK ||
	    (rc = bind_text(s, ":path", f->path)) != SQLITE_OK ||
	    (rc = bind_text(s, ":user_agent", f->user_agent)) != SQLITE_OK ||
	    (rc = f->status > 0 ? bind_int64(s, ":status", f->status) :
	    bind_text(s, ":status", NULL)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":bytes", f->bytes)) != SQLITE_OK ||
	    (rc = bind_text(s, ":challenge", f->challenge)) != SQLITE_OK ||
	    (rc = bind_text(s, ":error", f->error)) != SQLITE_OK)
		return job_step(st, j, s, rc, "policy fetch insert");
	return job_step(st, j, s, SQLITE_OK, "policy fetch insert");
}

static int
job_dnsq(struct store *st, struct job *j)
{
	sqlite3_stmt		*s = st->stmt[ST_DNSQ];
	const struct dnsq_rec	*q = &j->dnsq;
	int			 rc;

	if ((rc = bind_double(s, ":time", q->time)) != SQLITE_OK ||
	    (rc = bind_text(s, ":local_addr", q->local_addr)) != SQLITE_OK ||
	    (rc = bind_text(s, ":client_addr", q->client_addr)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":client_port", q->client_port)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":family", q->family)) != SQLITE_OK ||
	    (rc = bind_text(s, ":transport", q->transport)) != SQLITE_OK ||
	    (rc = bind_text(s, ":qname", q->qname)) != SQLITE_OK ||
	    /* no question read: type and class unknown */
	    (rc = q->qname != NULL ? bind_int64(s, ":qtype", q->qtype) :
	    bind_text(s, ":qtype", NULL)) != SQLITE_OK ||
	    (rc = q->qname != NULL ? bind_int64(s, ":qclass", q->qclass) :
	    bind_text(s, ":qclass", NULL)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":edns", q->edns)) != SQLITE_OK ||
	    (rc = q->edns ? bind_int64(s, ":edns_size", q->edns_size) :
	    bind_text(s, ":edns_size", NULL)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":do_bit", q->do_bit)) != SQLITE_OK ||
	    (rc = q->rcode >= 0 ? bind_int64(s, ":rcode", q->rcode) :
	    bind_text(s, ":rcode", NULL)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":truncated", q->truncated)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":minimised", q->minimised)) != SQLITE_OK ||
	    (rc = bind_text(s, ":test_id", q->test_id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":error", q->error)) != SQLITE_OK)
		return job_step(st, j, s, rc, "DNS query insert");
	return job_step(st, j, s, SQLITE_OK, "DNS query insert");
}

/* A -1 of the analyzers ("not known") is NULL. */
static int
bind_known(sqlite3_stmt *s, const char *name, int v)
{
	return v >= 0 ? bind_int64(s, name, v) : bind_text(s, name, NULL);
}

static int
job_spf(struct store *st, struct job *j, const char *identity,
    const struct spf_rec *r)
{
	sqlite3_stmt	*s = st->stmt[ST_SPF];
	int		 rc;

	if (!r->checked)
		return 0;
	if ((rc = bind_int64(s, ":transaction_id", j->analysis->txn_id)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":identity", identity)) != SQLITE_OK ||
	    (rc = bind_text(s, ":domain", r->domain)) != SQLITE_OK ||
	    (rc = bind_text(s, ":result", r->result)) != SQLITE_OK ||
	    (rc = bind_text(s, ":explanation", r->explanation)) != SQLITE_OK ||
	    (rc = bind_text(s, ":record", r->record)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":dns_lookups", r->dns_lookups)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":void_lookups", r->void_lookups)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":error", r->error)) != SQLITE_OK)
		return job_step(st, j, s, rc, "SPF result insert");
	return job_step(st, j, s, SQLITE_OK, "SPF result insert");
}

static int
job_client_dns(struct store *st, struct job *j)
{
	sqlite3_stmt			*s = st->stmt[ST_CLIENT_DNS];
	const struct clientdns_rec	*c = &j->analysis->client;
	int				 rc;

	if (!c->checked)
		return 0;
	if ((rc = bind_int64(s, ":transaction_id", j->analysis->txn_id)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":ptr", c->ptr)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ptr_status", c->ptr_status)) != SQLITE_OK ||
	    (rc = bind_known(s, ":fcrdns", c->fcrdns)) != SQLITE_OK ||
	    (rc = bind_known(s, ":helo_resolves", c->helo_resolves)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":helo_addrs", c->helo_addrs)) != SQLITE_OK ||
	    (rc = bind_text(s, ":helo_status", c->helo_status)) != SQLITE_OK)
		return job_step(st, j, s, rc, "client DNS insert");
	return job_step(st, j, s, SQLITE_OK, "client DNS insert");
}

static int
job_dkim(struct store *st, struct job *j)
{
	sqlite3_stmt			*s = st->stmt[ST_DKIM];
	const struct dkim_rec		*d = &j->analysis->dkim;
	const struct dkim_sig_rec	*g;
	int64_t				 id = j->analysis->txn_id;
	size_t				 i;
	int				 rc;

	if (!d->checked)
		return 0;
	if ((rc = bind_int64(s, ":transaction_id", id)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":signatures", d->fields)) != SQLITE_OK ||
	    (rc = bind_text(s, ":result", d->result)) != SQLITE_OK ||
	    (rc = bind_text(s, ":error", d->error)) != SQLITE_OK)
		return job_step(st, j, s, rc, "DKIM result insert");
	if (job_step(st, j, s, SQLITE_OK, "DKIM result insert") == -1)
		return -1;
	s = st->stmt[ST_DKIM_SIG];
	for (i = 0; i < d->nsigs; i++) {
		g = &d->sigs[i];
		if ((rc = bind_int64(s, ":transaction_id", id)) != SQLITE_OK ||
		    (rc = bind_int64(s, ":position", g->position)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":domain", g->domain)) != SQLITE_OK ||
		    (rc = bind_text(s, ":selector", g->selector)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":algorithm", g->algorithm)) !=
		    SQLITE_OK ||
		    (rc = g->key_bits > 0 ?
		    bind_int64(s, ":key_bits", g->key_bits) :
		    bind_text(s, ":key_bits", NULL)) != SQLITE_OK ||
		    (rc = bind_text(s, ":canon_header", g->canon_header)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":canon_body", g->canon_body)) !=
		    SQLITE_OK ||
		    (rc = g->body_length >= 0 ?
		    bind_int64(s, ":body_length", g->body_length) :
		    bind_text(s, ":body_length", NULL)) != SQLITE_OK ||
		    (rc = bind_text(s, ":result", g->result)) != SQLITE_OK ||
		    (rc = bind_text(s, ":error", g->error)) != SQLITE_OK ||
		    (rc = bind_known(s, ":aligned", g->aligned)) != SQLITE_OK)
			return job_step(st, j, s, rc, "DKIM signature insert");
		if (job_step(st, j, s, SQLITE_OK, "DKIM signature insert") ==
		    -1)
			return -1;
	}
	return 0;
}

static int
job_sender_zones(struct store *st, struct job *j)
{
	sqlite3_stmt			*s = st->stmt[ST_SENDER_ZONE];
	const struct senderdns_rec	*r = &j->analysis->sender_zones;
	const struct sender_zone	*z;
	size_t				 i;
	int				 rc;

	for (i = 0; r->checked && i < r->n; i++) {
		z = &r->zones[i];
		if ((rc = bind_int64(s, ":transaction_id",
		    j->analysis->txn_id)) != SQLITE_OK ||
		    (rc = bind_text(s, ":role", z->role)) != SQLITE_OK ||
		    (rc = bind_text(s, ":name", z->name)) != SQLITE_OK ||
		    (rc = bind_text(s, ":zone", z->zone)) != SQLITE_OK ||
		    (rc = bind_text(s, ":dnssec", z->dnssec)) != SQLITE_OK ||
		    (rc = bind_text(s, ":dnssec_error", z->dnssec_error)) !=
		    SQLITE_OK ||
		    (rc = bind_known(s, ":ipv6_ns", z->ipv6_ns)) != SQLITE_OK)
			return job_step(st, j, s, rc, "sender zone insert");
		if (job_step(st, j, s, SQLITE_OK, "sender zone insert") == -1)
			return -1;
	}
	return 0;
}

static int
job_dmarc(struct store *st, struct job *j)
{
	sqlite3_stmt			*s = st->stmt[ST_DMARC];
	const struct dmarc_rec		*m = &j->analysis->dmarc;
	const struct dmarc_dest		*d;
	int64_t				 id = j->analysis->txn_id;
	size_t				 i;
	int				 rc;

	if (!m->checked)
		return 0;
	if ((rc = bind_int64(s, ":transaction_id", id)) != SQLITE_OK ||
	    (rc = bind_text(s, ":from_domain", m->from_domain)) != SQLITE_OK ||
	    (rc = bind_text(s, ":org_domain", m->org_domain)) != SQLITE_OK ||
	    (rc = bind_text(s, ":policy_domain", m->policy_domain)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":record", m->record)) != SQLITE_OK ||
	    (rc = bind_text(s, ":result", m->result)) != SQLITE_OK ||
	    (rc = bind_text(s, ":error", m->error)) != SQLITE_OK ||
	    (rc = bind_text(s, ":p", m->p)) != SQLITE_OK ||
	    (rc = bind_text(s, ":sp", m->sp)) != SQLITE_OK ||
	    (rc = bind_known(s, ":pct", m->pct)) != SQLITE_OK ||
	    (rc = bind_text(s, ":adkim", m->adkim)) != SQLITE_OK ||
	    (rc = bind_text(s, ":aspf", m->aspf)) != SQLITE_OK ||
	    (rc = bind_text(s, ":fo", m->fo)) != SQLITE_OK ||
	    (rc = bind_text(s, ":rua", m->rua)) != SQLITE_OK ||
	    (rc = bind_text(s, ":ruf", m->ruf)) != SQLITE_OK ||
	    (rc = bind_text(s, ":invalid_tags", m->invalid_tags)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":spf_domain", m->spf_domain)) != SQLITE_OK ||
	    (rc = bind_text(s, ":spf_result", m->spf_result)) != SQLITE_OK ||
	    (rc = bind_known(s, ":spf_aligned", m->spf_aligned)) !=
	    SQLITE_OK ||
	    (rc = bind_known(s, ":dkim_aligned", m->dkim_aligned)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":policy", m->policy)) != SQLITE_OK ||
	    (rc = bind_text(s, ":disposition", m->disposition)) != SQLITE_OK)
		return job_step(st, j, s, rc, "DMARC result insert");
	if (job_step(st, j, s, SQLITE_OK, "DMARC result insert") == -1)
		return -1;
	s = st->stmt[ST_DMARC_DEST];
	for (i = 0; i < m->ndests; i++) {
		d = &m->dests[i];
		if ((rc = bind_int64(s, ":transaction_id", id)) != SQLITE_OK ||
		    (rc = bind_text(s, ":tag", d->tag)) != SQLITE_OK ||
		    (rc = bind_int64(s, ":position", d->position)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":uri", d->uri)) != SQLITE_OK ||
		    (rc = bind_text(s, ":domain", d->domain)) != SQLITE_OK ||
		    (rc = bind_known(s, ":external", d->external)) !=
		    SQLITE_OK ||
		    (rc = bind_known(s, ":authorized", d->authorized)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":status", d->status)) != SQLITE_OK)
			return job_step(st, j, s, rc,
			    "DMARC destination insert");
		if (job_step(st, j, s, SQLITE_OK,
		    "DMARC destination insert") == -1)
			return -1;
	}
	return 0;
}

static int
job_analysis(struct store *st, struct job *j)
{
	const struct analysis_rec *a = j->analysis;
	sqlite3_stmt	*s;
	size_t		 i;
	int		 rc;

	if (a->skipped != NULL)
		goto done;
	s = st->stmt[ST_MESSAGE];
	if ((rc = bind_int64(s, ":transaction_id", a->txn_id)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":header_count", a->header_count)) !=
	    SQLITE_OK ||
	    (rc = bind_text(s, ":header_from", a->header_from)) != SQLITE_OK ||
	    (rc = bind_text(s, ":from_domain", a->from_domain)) != SQLITE_OK ||
	    (rc = bind_text(s, ":envelope_domain", a->envelope_domain)) !=
	    SQLITE_OK ||
	    (rc = a->from_matches_envelope >= 0 ?
	    bind_int64(s, ":from_matches_envelope", a->from_matches_envelope) :
	    bind_text(s, ":from_matches_envelope", NULL)) != SQLITE_OK ||
	    (rc = bind_text(s, ":message_id", a->message_id)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":received_count", a->received_count)) !=
	    SQLITE_OK ||
	    (rc = bind_int64(s, ":eight_bit", a->eight_bit)) != SQLITE_OK ||
	    (rc = bind_int64(s, ":body_8bitmime", a->body_8bitmime)) !=
	    SQLITE_OK)
		return job_step(st, j, s, rc, "message insert");
	if (job_step(st, j, s, SQLITE_OK, "message insert") == -1)
		return -1;

	s = st->stmt[ST_FINDING];
	for (i = 0; i < a->nfindings; i++) {
		const struct header_finding *f = &a->findings[i];

		if ((rc = bind_int64(s, ":transaction_id", a->txn_id)) !=
		    SQLITE_OK ||
		    (rc = bind_text(s, ":field", f->field)) != SQLITE_OK ||
		    (rc = bind_text(s, ":finding", f->finding)) != SQLITE_OK ||
		    (rc = bind_int64(s, ":count", f->count)) != SQLITE_OK)
			return job_step(st, j, s, rc, "finding insert");
		if (job_step(st, j, s, SQLITE_OK, "finding insert") == -1)
			return -1;
	}
	if (job_spf(st, j, "mailfrom", &a->spf_mailfrom) == -1 ||
	    job_spf(st, j, "helo", &a->spf_helo) == -1 ||
	    job_client_dns(st, j) == -1 || job_dkim(st, j) == -1 ||
	    job_dmarc(st, j) == -1 || job_sender_zones(st, j) == -1)
		return -1;

done:
	s = st->stmt[ST_ANALYSIS_DONE];
	if ((rc = bind_int64(s, ":transaction_id", a->txn_id)) != SQLITE_OK ||
	    (rc = bind_double(s, ":finished", a->finished)) != SQLITE_OK ||
	    (rc = bind_text(s, ":error", a->skipped)) != SQLITE_OK)
		return job_step(st, j, s, rc, "analysis update");
	return job_step(st, j, s, SQLITE_OK, "analysis update");
}

static int
job_run(struct store *st, struct job *j)
{
	switch (j->type) {
	case JOB_CONN_OPEN:
		return job_conn_open(st, j);
	case JOB_CONN_CLOSE:
		return job_conn_close(st, j);
	case JOB_TXN:
		return job_txn(st, j);
	case JOB_GREY:
		return job_grey(st, j);
	case JOB_FETCH:
		return job_fetch(st, j);
	case JOB_DNSQ:
		return job_dnsq(st, j);
	case JOB_ANALYSIS:
		return job_analysis(st, j);
	}
	fatalx("store: job type %d", (int)j->type);
}

/*
 * Group commit: every job of BATCH in one transaction, so one fsync makes
 * them all durable.  Each job runs inside its own savepoint: a failing job
 * is rolled back alone and the others still commit.  If the transaction
 * itself is lost (BEGIN or COMMIT fails, or SQLite rolls it back on an I/O
 * error), every job of the batch has failed.
 */
static void
store_batch(struct store *st, struct jobq *batch)
{
	struct job	*j;
	size_t		 n = 0, nfailed = 0;
	int		 lost = 0;

	if (store_step(st, ST_BEGIN) == -1) {
		log_warn("store: begin failed: %s", sqlite3_errmsg(st->db));
		lost = 1;
	}
	STAILQ_FOREACH(j, batch, entry) {
		n++;
		j->ok = 0;
		if (lost)
			continue;
		if (store_step(st, ST_SAVEPOINT) == -1) {
			log_warn("store: savepoint failed: %s",
			    sqlite3_errmsg(st->db));
			lost = 1;
			continue;
		}
		if (job_run(st, j) == 0) {
			if (store_step(st, ST_RELEASE) == 0)
				j->ok = 1;
			else
				lost = 1;
			continue;
		}
		if (sqlite3_get_autocommit(st->db) ||
		    store_step(st, ST_ROLLBACK_TO) == -1 ||
		    store_step(st, ST_RELEASE) == -1)
			lost = 1;
	}
	if (!lost && store_step(st, ST_COMMIT) == -1) {
		log_warn("store: commit failed: %s", sqlite3_errmsg(st->db));
		lost = 1;
	}
	if (lost && !sqlite3_get_autocommit(st->db))
		(void)store_step(st, ST_ROLLBACK);

	STAILQ_FOREACH(j, batch, entry) {
		if (lost && j->ok) {
			j->ok = 0;
			if (j->type != JOB_TXN)
				log_warn("c%" PRId64 ": store: connection "
				    "record lost: batch rolled back",
				    j->conn_id);
		}
		if (!j->ok)
			nfailed++;
	}
	log_debug("store: batch jobs=%zu failed=%zu", n, nfailed);
}

/*
 * Frees the jobs of BATCH and hands the txn results to the event loop.
 * Without a writer (store_close() flushing a queue nobody started) there
 * is nobody to tell and the results are dropped.
 */
static void
store_batch_report(struct store *st, struct jobq *batch)
{
	struct jobq	 results = STAILQ_HEAD_INITIALIZER(results);
	struct job	*j;

	while ((j = STAILQ_FIRST(batch)) != NULL) {
		STAILQ_REMOVE_HEAD(batch, entry);
		if (j->type != JOB_TXN || st->done_ev == NULL) {
			job_free(j);
			continue;
		}
		STAILQ_INSERT_TAIL(&results, j, entry);
	}
	if (STAILQ_EMPTY(&results))
		return;
	pthread_mutex_lock(&st->mtx);
	STAILQ_CONCAT(&st->done, &results);
	pthread_mutex_unlock(&st->mtx);
	/* Thread-safe: the daemon enabled evthread before the base existed. */
	event_active(st->done_ev, 0, 0);
}

/* The writer thread: takes every queued job at once, until stopped. */
static void *
store_writer(void *arg)
{
	struct store	*st = arg;
	struct jobq	 batch = STAILQ_HEAD_INITIALIZER(batch);

	pthread_mutex_lock(&st->mtx);
	for (;;) {
		while (STAILQ_EMPTY(&st->jobs) && !st->stopping)
			pthread_cond_wait(&st->cond, &st->mtx);
		/* Stopping still flushes whatever was queued before. */
		if (STAILQ_EMPTY(&st->jobs))
			break;
		STAILQ_CONCAT(&batch, &st->jobs);
		st->njobs = 0;
		pthread_mutex_unlock(&st->mtx);

		store_batch(st, &batch);
		store_batch_report(st, &batch);

		pthread_mutex_lock(&st->mtx);
	}
	pthread_mutex_unlock(&st->mtx);
	return NULL;
}

/* Event loop thread: delivers the results the writer queued. */
static void
store_done_event(evutil_socket_t fd, short what, void *arg)
{
	struct store	*st = arg;
	struct jobq	 results = STAILQ_HEAD_INITIALIZER(results);
	struct job	*j;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&st->mtx);
	STAILQ_CONCAT(&results, &st->done);
	pthread_mutex_unlock(&st->mtx);
	/* Unlocked: a callback may queue the next transaction. */
	while ((j = STAILQ_FIRST(&results)) != NULL) {
		STAILQ_REMOVE_HEAD(&results, entry);
		/* the transaction goes back with the result */
		st->done_cb(j->conn_id, j->ok, j->txn, st->done_arg);
		j->txn = NULL;
		job_free(j);
	}
}

int
store_writer_start(struct store *st, struct event_base *base,
    store_done_cb done_cb, void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	if (st->running)
		fatalx("store_writer_start: writer already running");
	if ((st->done_ev = event_new(base, -1, 0, store_done_event,
	    st)) == NULL) {
		log_warn("store: event_new failed");
		return -1;
	}
	st->done_cb = done_cb;
	st->done_arg = arg;
	/* Signals are for the event loop thread, never for the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->writer, NULL, store_writer, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warn("store: writer thread: %s", strerror(rc));
		event_free(st->done_ev);
		st->done_ev = NULL;
		return -1;
	}
	st->running = 1;
	return 0;
}

static void
store_enqueue(struct store *st, struct job *j)
{
	unsigned long	 dropped = 0;

	pthread_mutex_lock(&st->mtx);
	/*
	 * DNS queries and web requests come from anyone, faster than a disk
	 * may take them: above the bound they are counted, not queued.  Mail
	 * is never dropped (its sessions wait for the store anyway).
	 */
	if ((j->type == JOB_FETCH || j->type == JOB_DNSQ) &&
	    st->njobs >= STORE_QUEUE_MAX) {
		dropped = ++st->dropped;
		pthread_mutex_unlock(&st->mtx);
		if (dropped == 1 || dropped % 10000 == 0)
			log_warn("store: queue full, %lu DNS/web records dropped "
			    "so far", dropped);
		job_free(j);
		return;
	}
	st->njobs++;
	STAILQ_INSERT_TAIL(&st->jobs, j, entry);
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->mtx);
}

static void
store_conn_job(struct store *st, enum job_type type, const struct conn_rec *c)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    conn_rec_copy(&j->conn, c) == -1)
		fatalx("store: connection record: %s", strerror(errno));
	j->type = type;
	j->conn_id = c->id;
	store_enqueue(st, j);
}

void
store_conn_open(struct store *st, const struct conn_rec *c)
{
	store_conn_job(st, JOB_CONN_OPEN, c);
}

void
store_conn_close(struct store *st, const struct conn_rec *c)
{
	store_conn_job(st, JOB_CONN_CLOSE, c);
}

void
store_greylist(struct store *st, const struct grey_entry *g,
    const struct grey_attempt *a)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->grey.mail_from = strdup(g->mail_from)) == NULL ||
	    (j->grey.rcpt = strdup(g->rcpt)) == NULL ||
	    (g->test_id != NULL &&
	    (j->grey.test_id = strdup(g->test_id)) == NULL) ||
	    (j->attempt.client_addr = strdup(a->client_addr)) == NULL)
		fatalx("store: greylist entry: %s", strerror(errno));
	j->type = JOB_GREY;
	j->conn_id = a->conn_id;
	j->grey.first_seen = g->first_seen;
	j->grey.last_seen = g->last_seen;
	j->grey.passed = g->passed;
	j->grey.attempts = g->attempts;
	j->attempt.conn_id = a->conn_id;
	j->attempt.time = a->time;
	j->attempt.accepted = a->accepted;
	store_enqueue(st, j);
}

/* A copy of S, NULL for NULL; running out of memory is fatal here. */
static char *
job_strdup(const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("store: %s", strerror(errno));
	return d;
}

static struct job *
job_new(enum job_type type)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("store: job: %s", strerror(errno));
	j->type = type;
	return j;
}

void
store_policy_fetch(struct store *st, const struct fetch_rec *f)
{
	struct job	*j = job_new(JOB_FETCH);

	j->fetch = *f;
	j->fetch.local_addr = job_strdup(f->local_addr);
	j->fetch.client_addr = job_strdup(f->client_addr);
	j->fetch.tls_version = job_strdup(f->tls_version);
	j->fetch.tls_cipher = job_strdup(f->tls_cipher);
	j->fetch.sni = job_strdup(f->sni);
	j->fetch.host = job_strdup(f->host);
	j->fetch.method = job_strdup(f->method);
	j->fetch.path = job_strdup(f->path);
	j->fetch.user_agent = job_strdup(f->user_agent);
	j->fetch.challenge = job_strdup(f->challenge);
	j->fetch.error = job_strdup(f->error);
	store_enqueue(st, j);
}

void
store_dns_query(struct store *st, const struct dnsq_rec *q)
{
	struct job	*j = job_new(JOB_DNSQ);

	j->dnsq = *q;
	j->dnsq.local_addr = job_strdup(q->local_addr);
	j->dnsq.client_addr = job_strdup(q->client_addr);
	j->dnsq.qname = job_strdup(q->qname);
	j->dnsq.test_id = job_strdup(q->test_id);
	j->dnsq.error = job_strdup(q->error);
	store_enqueue(st, j);
}

static void
spf_rec_clear(struct spf_rec *r)
{
	free(r->domain);
	free(r->explanation);
	free(r->record);
	free(r->error);
}

static void
dkim_rec_clear(struct dkim_rec *d)
{
	size_t	 i;

	for (i = 0; i < d->nsigs; i++) {
		free(d->sigs[i].domain);
		free(d->sigs[i].selector);
		free(d->sigs[i].algorithm);
		free(d->sigs[i].canon_header);
		free(d->sigs[i].canon_body);
		free(d->sigs[i].error);
	}
	free(d->sigs);
	free(d->error);
}

void
store_dmarc_clear(struct dmarc_rec *m)
{
	size_t	 i;

	free(m->from_domain);
	free(m->org_domain);
	free(m->policy_domain);
	free(m->record);
	free(m->error);
	free(m->fo);
	free(m->rua);
	free(m->ruf);
	free(m->invalid_tags);
	free(m->spf_domain);
	for (i = 0; i < m->ndests; i++) {
		free(m->dests[i].uri);
		free(m->dests[i].domain);
	}
	free(m->dests);
	memset(m, 0, sizeof(*m));
}

static void
sender_zones_clear(struct senderdns_rec *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		free(r->zones[i].name);
		free(r->zones[i].zone);
		free(r->zones[i].dnssec_error);
	}
	free(r->zones);
}

void
store_analysis_free(struct analysis_rec *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	free(a->header_from);
	free(a->from_domain);
	free(a->envelope_domain);
	free(a->message_id);
	for (i = 0; i < a->nfindings; i++)
		free(a->findings[i].field);
	free(a->findings);
	spf_rec_clear(&a->spf_mailfrom);
	spf_rec_clear(&a->spf_helo);
	free(a->client.ptr);
	free(a->client.helo_addrs);
	dkim_rec_clear(&a->dkim);
	store_dmarc_clear(&a->dmarc);
	sender_zones_clear(&a->sender_zones);
	free(a);
}

void
store_analysis(struct store *st, struct analysis_rec *a)
{
	struct job	*j = job_new(JOB_ANALYSIS);

	j->analysis = a;
	store_enqueue(st, j);
}

void
store_txn(struct store *st, struct txn_rec *txn)
{
	struct job	*j;

	/* Out of memory here would leave a session waiting for ever. */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("store: transaction: %s", strerror(errno));
	j->type = JOB_TXN;
	j->conn_id = txn->conn_id;
	j->txn = txn;
	store_enqueue(st, j);
}

static void
store_sync_only(const struct store *st, const char *fn)
{
	if (st->running)
		fatalx("%s: the writer thread owns the database", fn);
}

int
store_test_create(struct store *st, const char *id, double now)
{
	sqlite3_stmt	*s = st->stmt[ST_TEST_CREATE];

	store_sync_only(st, __func__);
	if (bind_text(s, ":id", id) != SQLITE_OK ||
	    bind_double(s, ":created", now) != SQLITE_OK ||
	    stmt_done(s) == -1) {
		log_warn("store: test %s: %s", id, sqlite3_errmsg(st->db));
		(void)sqlite3_reset(s);
		(void)sqlite3_clear_bindings(s);
		return -1;
	}
	return 0;
}

/* 1 if the test exists, 0 if not, -1 on error. */
int
store_test_exists(struct store *st, const char *id)
{
	sqlite3_stmt	*s = st->stmt[ST_TEST_EXISTS];
	int		 rc;

	store_sync_only(st, __func__);
	if (bind_text(s, ":id", id) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warn("store: test %s: %s", id, sqlite3_errmsg(st->db));
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The highest connection id stored, 0 for none, -1 on error. */
int
store_greylist_load(struct store *st,
    void (*cb)(const struct grey_entry *, void *), void *arg)
{
	sqlite3_stmt		*s = st->stmt[ST_GREY_LOAD];
	struct grey_entry	 e;
	int			 rc;

	store_sync_only(st, __func__);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.mail_from = (char *)sqlite3_column_text(s, 0);
		e.rcpt = (char *)sqlite3_column_text(s, 1);
		e.test_id = (char *)sqlite3_column_text(s, 2);
		e.first_seen = sqlite3_column_double(s, 3);
		e.last_seen = sqlite3_column_double(s, 4);
		e.attempts = (unsigned)sqlite3_column_int64(s, 5);
		e.passed = sqlite3_column_double(s, 6);
		if (e.mail_from != NULL && e.rcpt != NULL)
			cb(&e, arg);
	}
	if (rc != SQLITE_DONE)
		log_warn("store: greylist load: %s", sqlite3_errmsg(st->db));
	(void)sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t
store_last_connection_id(struct store *st)
{
	sqlite3_stmt	*s = st->stmt[ST_LAST_CONN];
	int64_t		 id = -1;

	store_sync_only(st, __func__);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else
		log_warn("store: last connection id: %s",
		    sqlite3_errmsg(st->db));
	(void)sqlite3_reset(s);
	return id;
}

/*
 * On the thread that started the writer, after its event loop ended and
 * before the event base is freed.  Results not yet delivered are dropped.
 */
void
store_close(struct store *st)
{
	struct jobq	 batch = STAILQ_HEAD_INITIALIZER(batch);
	int		 i;

	if (st == NULL)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->mtx);
		st->stopping = 1;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->mtx);
		pthread_join(st->writer, NULL);
		st->running = 0;
	} else if (!STAILQ_EMPTY(&st->jobs)) {
		/* Queued, never started: flush here, nobody to report to. */
		STAILQ_CONCAT(&batch, &st->jobs);
		st->njobs = 0;
		store_batch(st, &batch);
		store_batch_report(st, &batch);
	}
	if (st->done_ev != NULL)
		event_free(st->done_ev);
	jobq_free(&st->jobs);
	jobq_free(&st->done);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* Also checkpoints the WAL into the database file. */
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("store: close: %s", sqlite3_errmsg(st->db));
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->mtx);
	free(st);
}
