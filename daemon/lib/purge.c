/*
 * Retention (purge.h): phases of bounded deletes, each batch's row ids
 * chosen by a read beside the daemon's writer (WAL: it blocks nobody),
 * then checked again and deleted under the write lock, so that the lock
 * is held for a few milliseconds whatever the size of the tables.  Runs
 * on the caller's thread with its own connection.
 */
#include "build.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "purge.h"

#define PURGE_BUSY_MS		5000	/* as the daemon's writer waits */
#define PURGE_BATCH_CONN	100	/* connections, with their rows */
#define PURGE_BATCH_ROWS	500	/* rows of the other tables */
#define PURGE_VACUUM_PAGES	"256"	/* pages one transaction gives back */
/*
 * After each write transaction the lock is left free for at least this
 * long, and for PURGE_PAUSE_FACTOR times the time it was held: the
 * daemon's writer, sleeping in its busy handler, finds it free.
 */
#define PURGE_PAUSE_MS		20.0
#define PURGE_PAUSE_FACTOR	4.0
#define PURGE_DELETES_MAX	20

/* A test that was created before the cutoff, or after it. */
#define OLD(col)	"EXISTS (SELECT 1 FROM tests y WHERE y.id = " col \
			" AND y.created < :cutoff)"
#define YOUNG(col)	"EXISTS (SELECT 1 FROM tests y WHERE y.id = " col \
			" AND y.created >= :cutoff)"
#define IDS		"(SELECT id FROM temp.purge_ids)"
/* the transactions of the batch's connections */
#define TXNS		"(SELECT t.id FROM transactions t" \
			" WHERE t.connection_id IN " IDS ")"
/* The next batch of ids of TABLE whose rows meet COND, after :after. */
#define CAND(table, cond) \
	"INSERT INTO temp.purge_ids (id) SELECT x.rowid FROM " table " x" \
	" WHERE x.rowid > :after AND (" cond ") ORDER BY x.rowid LIMIT :n"
/* Under the write lock: the ids whose rows no longer meet COND dropped. */
#define VERIFY(table, cond) \
	"DELETE FROM temp.purge_ids WHERE id NOT IN (SELECT x.rowid FROM " \
	table " x WHERE x.rowid IN " IDS " AND (" cond "))"

/*
 * A connection goes when it has ended, and it belongs to a test created
 * before the cutoff (its recipient's test, or its attribution's), or it
 * started before the cutoff; and nothing of it names a test created
 * after the cutoff (its test, its attribution, a recipient, a greylisted
 * RCPT, a refused RCPT, a TLS-RPT policy it brought), and no analysis of
 * its messages is still running.  An ambiguous attribution names no
 * test; its candidates are tests created before the connection started
 * (the window of a test opens at its creation, schema/014), so a
 * connection that started before the cutoff has no young candidate.
 */
#define CONN_COND(c) \
	c ".ended IS NOT NULL" \
	" AND (" c ".started < :cutoff OR " OLD(c ".test_id") \
	" OR EXISTS (SELECT 1 FROM connection_attribution a" \
	" JOIN tests y ON y.id = a.test_id WHERE a.connection_id = " c ".id" \
	" AND y.created < :cutoff))" \
	" AND NOT " YOUNG(c ".test_id") \
	" AND NOT EXISTS (SELECT 1 FROM connection_attribution a" \
	" JOIN tests y ON y.id = a.test_id WHERE a.connection_id = " c ".id" \
	" AND y.created >= :cutoff)" \
	" AND NOT EXISTS (SELECT 1 FROM transactions t" \
	" JOIN recipients r ON r.transaction_id = t.id" \
	" JOIN tests y ON y.id = r.test_id WHERE t.connection_id = " c ".id" \
	" AND y.created >= :cutoff)" \
	" AND NOT EXISTS (SELECT 1 FROM greylist_attempts g" \
	" JOIN tests y ON y.id = g.test_id WHERE g.connection_id = " c ".id" \
	" AND y.created >= :cutoff)" \
	" AND NOT EXISTS (SELECT 1 FROM refusals f" \
	" JOIN tests y ON y.id = f.test_id WHERE f.connection_id = " c ".id" \
	" AND y.created >= :cutoff)" \
	" AND NOT EXISTS (SELECT 1 FROM transactions t" \
	" JOIN inbound_reports i ON i.transaction_id = t.id" \
	" JOIN tlsrpt_reports r ON r.inbound_report_id = i.id" \
	" JOIN tlsrpt_policies p ON p.tlsrpt_report_id = r.id" \
	" JOIN tests y ON y.id = p.test_id WHERE t.connection_id = " c ".id" \
	" AND y.created >= :cutoff)" \
	" AND NOT EXISTS (SELECT 1 FROM transactions t" \
	" JOIN analyses a ON a.transaction_id = t.id" \
	" WHERE t.connection_id = " c ".id AND a.finished IS NULL)"
/* rows of an old test, or of no young test and older than the cutoff */
#define AGED(test, time) \
	OLD(test) " OR (" time " < :cutoff AND NOT " YOUNG(test) ")"
/*
 * Rows of an old test left on a connection that stays, once it ended (a
 * connection that goes takes its own: a dry run counts them once).
 */
#define LEFT_COND \
	OLD("x.test_id") " AND NOT EXISTS (SELECT 1 FROM connections c" \
	" WHERE c.id = x.connection_id AND (c.ended IS NULL OR (" \
	CONN_COND("c") ")))"

struct purge_delete {
	enum purge_table	 table;
	const char		*sql;
};

/*
 * One phase: the rows of one table chosen in batches (CAND, VERIFY) and
 * the deletes each batch runs, children first (foreign keys are on).
 */
struct purge_phase {
	const char		*cand;
	const char		*verify;
	long			 batch;
	struct purge_delete	 del[PURGE_DELETES_MAX];
};

static const struct purge_phase phases[] = {
	{ CAND("connections", CONN_COND("x")),
	    VERIFY("connections", CONN_COND("x")),
	    PURGE_BATCH_CONN, {
		{ PT_TLSRPT_FAILURES, "DELETE FROM tlsrpt_failures"
		    " WHERE tlsrpt_policy_id IN (SELECT p.id"
		    " FROM tlsrpt_policies p"
		    " JOIN tlsrpt_reports r ON r.id = p.tlsrpt_report_id"
		    " JOIN inbound_reports i ON i.id = r.inbound_report_id"
		    " WHERE i.transaction_id IN " TXNS ")" },
		{ PT_TLSRPT_POLICIES, "DELETE FROM tlsrpt_policies"
		    " WHERE tlsrpt_report_id IN (SELECT r.id"
		    " FROM tlsrpt_reports r"
		    " JOIN inbound_reports i ON i.id = r.inbound_report_id"
		    " WHERE i.transaction_id IN " TXNS ")" },
		{ PT_TLSRPT_REPORTS, "DELETE FROM tlsrpt_reports"
		    " WHERE inbound_report_id IN (SELECT i.id"
		    " FROM inbound_reports i WHERE i.transaction_id IN "
		    TXNS ")" },
		{ PT_INBOUND_REPORTS, "DELETE FROM inbound_reports"
		    " WHERE transaction_id IN " TXNS
		    " OR connection_id IN " IDS },
		{ PT_SENDER_ZONES, "DELETE FROM sender_zones"
		    " WHERE transaction_id IN " TXNS },
		{ PT_DMARC_DESTINATIONS, "DELETE FROM dmarc_destinations"
		    " WHERE transaction_id IN " TXNS },
		{ PT_DMARC_RESULTS, "DELETE FROM dmarc_results"
		    " WHERE transaction_id IN " TXNS },
		{ PT_DKIM_SIGNATURES, "DELETE FROM dkim_signatures"
		    " WHERE transaction_id IN " TXNS },
		{ PT_DKIM_RESULTS, "DELETE FROM dkim_results"
		    " WHERE transaction_id IN " TXNS },
		{ PT_CLIENT_DNS, "DELETE FROM client_dns"
		    " WHERE transaction_id IN " TXNS },
		{ PT_SPF_RESULTS, "DELETE FROM spf_results"
		    " WHERE transaction_id IN " TXNS },
		{ PT_HEADER_FINDINGS, "DELETE FROM header_findings"
		    " WHERE transaction_id IN " TXNS },
		{ PT_MESSAGES, "DELETE FROM messages"
		    " WHERE transaction_id IN " TXNS },
		{ PT_ANALYSES, "DELETE FROM analyses"
		    " WHERE transaction_id IN " TXNS },
		{ PT_RECIPIENTS, "DELETE FROM recipients"
		    " WHERE transaction_id IN " TXNS },
		{ PT_TRANSACTIONS, "DELETE FROM transactions"
		    " WHERE connection_id IN " IDS },
		{ PT_REFUSALS, "DELETE FROM refusals"
		    " WHERE connection_id IN " IDS },
		{ PT_GREYLIST_ATTEMPTS, "DELETE FROM greylist_attempts"
		    " WHERE connection_id IN " IDS },
		{ PT_CONNECTION_ATTRIBUTION, "DELETE FROM connection_attribution"
		    " WHERE connection_id IN " IDS },
		{ PT_CONNECTIONS, "DELETE FROM connections WHERE id IN " IDS },
	} },
	{ CAND("dns_queries", AGED("x.test_id", "x.time")),
	    VERIFY("dns_queries", AGED("x.test_id", "x.time")),
	    PURGE_BATCH_ROWS, {
		{ PT_DNS_QUERIES, "DELETE FROM dns_queries WHERE id IN " IDS },
	} },
	/*
	 * A fetch names no test: v_policy_fetches gives it the test of the
	 * nearest connection from its address within an hour, so it goes an
	 * hour after the cutoff's connections.
	 */
	{ CAND("policy_fetches", "x.time < :cutoff - 3600"),
	    VERIFY("policy_fetches", "x.time < :cutoff - 3600"),
	    PURGE_BATCH_ROWS, {
		{ PT_POLICY_FETCHES, "DELETE FROM policy_fetches"
		    " WHERE id IN " IDS },
	} },
	{ CAND("greylist", AGED("x.test_id", "x.last_seen")),
	    VERIFY("greylist", AGED("x.test_id", "x.last_seen")),
	    PURGE_BATCH_ROWS, {
		{ PT_GREYLIST, "DELETE FROM greylist WHERE rowid IN " IDS },
	} },
	{ CAND("greylist_attempts", LEFT_COND),
	    VERIFY("greylist_attempts", LEFT_COND), PURGE_BATCH_ROWS, {
		{ PT_GREYLIST_ATTEMPTS, "DELETE FROM greylist_attempts"
		    " WHERE id IN " IDS },
	} },
	{ CAND("refusals", LEFT_COND), VERIFY("refusals", LEFT_COND),
	    PURGE_BATCH_ROWS, {
		{ PT_REFUSALS, "DELETE FROM refusals WHERE id IN " IDS },
	} },
	{ CAND("attribution_evidence", AGED("x.test_id", "x.last_seen")),
	    VERIFY("attribution_evidence", AGED("x.test_id", "x.last_seen")),
	    PURGE_BATCH_ROWS, {
		{ PT_ATTRIBUTION_EVIDENCE, "DELETE FROM attribution_evidence"
		    " WHERE rowid IN " IDS },
	} },
	/* last: what names a test went first */
	{ CAND("tests", "x.created < :cutoff"),
	    VERIFY("tests", "x.created < :cutoff"), PURGE_BATCH_ROWS, {
		{ PT_TESTS, "DELETE FROM tests WHERE rowid IN " IDS },
	} },
};
#define NPHASES		(sizeof(phases) / sizeof(phases[0]))

static const char *const table_names[PT_COUNT] = {
	[PT_TLSRPT_FAILURES] = "tlsrpt_failures",
	[PT_TLSRPT_POLICIES] = "tlsrpt_policies",
	[PT_TLSRPT_REPORTS] = "tlsrpt_reports",
	[PT_INBOUND_REPORTS] = "inbound_reports",
	[PT_SENDER_ZONES] = "sender_zones",
	[PT_DMARC_DESTINATIONS] = "dmarc_destinations",
	[PT_DMARC_RESULTS] = "dmarc_results",
	[PT_DKIM_SIGNATURES] = "dkim_signatures",
	[PT_DKIM_RESULTS] = "dkim_results",
	[PT_CLIENT_DNS] = "client_dns",
	[PT_SPF_RESULTS] = "spf_results",
	[PT_HEADER_FINDINGS] = "header_findings",
	[PT_MESSAGES] = "messages",
	[PT_ANALYSES] = "analyses",
	[PT_RECIPIENTS] = "recipients",
	[PT_TRANSACTIONS] = "transactions",
	[PT_REFUSALS] = "refusals",
	[PT_GREYLIST_ATTEMPTS] = "greylist_attempts",
	[PT_CONNECTION_ATTRIBUTION] = "connection_attribution",
	[PT_CONNECTIONS] = "connections",
	[PT_DNS_QUERIES] = "dns_queries",
	[PT_POLICY_FETCHES] = "policy_fetches",
	[PT_GREYLIST] = "greylist",
	[PT_ATTRIBUTION_EVIDENCE] = "attribution_evidence",
	[PT_TESTS] = "tests",
};

enum purge_stmt {
	PS_BEGIN,
	PS_COMMIT,
	PS_ROLLBACK,
	PS_CLEAR,
	PS_LAST,
	PS_VACUUM,
	PS_CHECKPOINT,
	PS_COUNT
};

static const char *const purge_sql[PS_COUNT] = {
	[PS_BEGIN] = "BEGIN IMMEDIATE",
	[PS_COMMIT] = "COMMIT",
	[PS_ROLLBACK] = "ROLLBACK",
	[PS_CLEAR] = "DELETE FROM temp.purge_ids",
	[PS_LAST] = "SELECT max(id) FROM temp.purge_ids",
	[PS_VACUUM] = "PRAGMA incremental_vacuum(" PURGE_VACUUM_PAGES ")",
	/* lets the file shrink now; never waits for the daemon */
	[PS_CHECKPOINT] = "PRAGMA wal_checkpoint(PASSIVE)",
};

/* Owns its database connection and statements. */
struct purge {
	sqlite3		*db;
	sqlite3_stmt	*stmt[PS_COUNT];
	sqlite3_stmt	*cand[NPHASES];
	sqlite3_stmt	*verify[NPHASES];
	sqlite3_stmt	*del[NPHASES][PURGE_DELETES_MAX];
};

const char *
purge_table_name(enum purge_table t)
{
	return t < PT_COUNT ? table_names[t] : "?";
}

static void
purge_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
purge_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
purge_prepare(struct purge *p, const char *sql, sqlite3_stmt **s, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s,
	    NULL) == SQLITE_OK)
		return 0;
	purge_seterr(err, errlen, "%s", sqlite3_errmsg(p->db));
	return -1;
}

struct purge *
purge_open(const char *path, char *err, size_t errlen)
{
	struct purge	*p;
	size_t		 i, j;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		purge_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		purge_seterr(err, errlen, "%s: %s", path, p->db != NULL ?
		    sqlite3_errmsg(p->db) : "out of memory");
		goto fail;
	}
	/* foreign keys on: a delete out of order fails instead of orphaning */
	if (sqlite3_busy_timeout(p->db, PURGE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(p->db, "PRAGMA foreign_keys=ON", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(p->db, "PRAGMA temp_store=MEMORY", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(p->db, "CREATE TEMP TABLE purge_ids"
	    " (id INTEGER PRIMARY KEY)", NULL, NULL, NULL) != SQLITE_OK) {
		purge_seterr(err, errlen, "%s: %s", path,
		    sqlite3_errmsg(p->db));
		goto fail;
	}
	for (i = 0; i < PS_COUNT; i++)
		if (purge_prepare(p, purge_sql[i], &p->stmt[i], err,
		    errlen) == -1)
			goto fail;
	for (i = 0; i < NPHASES; i++) {
		if (purge_prepare(p, phases[i].cand, &p->cand[i], err,
		    errlen) == -1 ||
		    purge_prepare(p, phases[i].verify, &p->verify[i], err,
		    errlen) == -1)
			goto fail;
		for (j = 0; j < PURGE_DELETES_MAX &&
		    phases[i].del[j].sql != NULL; j++)
			if (purge_prepare(p, phases[i].del[j].sql,
			    &p->del[i][j], err, errlen) == -1)
				goto fail;
	}
	return p;

fail:
	purge_close(p);
	return NULL;
}

void
purge_close(struct purge *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < PS_COUNT; i++)
		sqlite3_finalize(p->stmt[i]);
	for (i = 0; i < NPHASES; i++) {
		sqlite3_finalize(p->cand[i]);
		sqlite3_finalize(p->verify[i]);
		for (j = 0; j < PURGE_DELETES_MAX; j++)
			sqlite3_finalize(p->del[i][j]);
	}
	sqlite3_close(p->db);
	free(p);
}

static double
purge_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
purge_sleep_ms(double ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000.0);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Binds the parameters S has of :cutoff, :after and :n. */
static int
purge_bind(sqlite3_stmt *s, double cutoff, int64_t after, long n)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(s, ":cutoff")) != 0 &&
	    sqlite3_bind_double(s, i, cutoff) != SQLITE_OK)
		return -1;
	if ((i = sqlite3_bind_parameter_index(s, ":after")) != 0 &&
	    sqlite3_bind_int64(s, i, after) != SQLITE_OK)
		return -1;
	if ((i = sqlite3_bind_parameter_index(s, ":n")) != 0 &&
	    sqlite3_bind_int64(s, i, n) != SQLITE_OK)
		return -1;
	return 0;
}

/* Steps S to its end (rows are ignored) and resets it: 0 or -1. */
static int
purge_step(sqlite3_stmt *s)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	(void)sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A statement of one integer row: the value (NULL as 0), or -1. */
static int64_t
purge_int(sqlite3_stmt *s)
{
	int64_t v = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	(void)sqlite3_reset(s);
	return v;
}

static int64_t
purge_pragma(struct purge *p, const char *sql)
{
	sqlite3_stmt	*s = NULL;
	int64_t		 v;

	if (sqlite3_prepare_v2(p->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	v = purge_int(s);
	sqlite3_finalize(s);
	return v;
}

/* BEGIN IMMEDIATE: the write lock taken, its start in *T0. */
static int
purge_begin(struct purge *p, double *t0)
{
	if (purge_step(p->stmt[PS_BEGIN]) == -1)
		return -1;
	*t0 = purge_now_ms();
	return 0;
}

/*
 * COMMIT (ROLLBACK when DRY or FAILED): the lock released; the time it
 * was held counted in RES; then the pause that leaves it to the daemon.
 */
static int
purge_end(struct purge *p, double t0, int dry, int failed,
    struct purge_result *res)
{
	double	 held;
	int	 rc = 0;

	if (dry || failed)
		(void)purge_step(p->stmt[PS_ROLLBACK]);
	else if (purge_step(p->stmt[PS_COMMIT]) == -1) {
		rc = -1;
		if (!sqlite3_get_autocommit(p->db))
			(void)purge_step(p->stmt[PS_ROLLBACK]);
	}
	held = purge_now_ms() - t0;
	res->transactions++;
	res->lock_total_ms += held;
	if (held > res->lock_max_ms)
		res->lock_max_ms = held;
	purge_sleep_ms(held * PURGE_PAUSE_FACTOR > PURGE_PAUSE_MS ?
	    held * PURGE_PAUSE_FACTOR : PURGE_PAUSE_MS);
	return rc;
}

/*
 * One batch of phase I after *AFTER: 1 when there was none left, 0 done
 * (*AFTER moved on), -1 on an error (in ERR).
 */
static int
purge_batch(struct purge *p, size_t i, double cutoff, int dry,
    int64_t *after, struct purge_result *res, char *err, size_t errlen)
{
	const struct purge_phase	*ph = &phases[i];
	uint64_t			 rows[PT_COUNT];
	double				 t0;
	size_t				 j;
	int				 failed = 0;

	if (purge_step(p->stmt[PS_CLEAR]) == -1 ||
	    purge_bind(p->cand[i], cutoff, *after, ph->batch) == -1 ||
	    purge_step(p->cand[i]) == -1)
		goto sqlerr;
	if (sqlite3_changes(p->db) == 0)
		return 1;
	if ((*after = purge_int(p->stmt[PS_LAST])) == -1)
		goto sqlerr;
	if (purge_begin(p, &t0) == -1)
		goto sqlerr;
	memset(rows, 0, sizeof(rows));
	if (purge_bind(p->verify[i], cutoff, 0, 0) == -1 ||
	    purge_step(p->verify[i]) == -1)
		failed = 1;
	for (j = 0; !failed && j < PURGE_DELETES_MAX && ph->del[j].sql != NULL;
	    j++) {
		if (purge_step(p->del[i][j]) == -1)
			failed = 1;
		else
			rows[ph->del[j].table] += (uint64_t)sqlite3_changes(p->db);
	}
	if (failed) {
		purge_seterr(err, errlen, "%s", sqlite3_errmsg(p->db));
		(void)purge_end(p, t0, dry, 1, res);
		return -1;
	}
	if (purge_end(p, t0, dry, 0, res) == -1)
		goto sqlerr;
	for (j = 0; j < PT_COUNT; j++)
		res->rows[j] += rows[j];
	return 0;

sqlerr:
	purge_seterr(err, errlen, "%s", sqlite3_errmsg(p->db));
	return -1;
}

/*
 * Gives the free pages back to the file, PURGE_VACUUM_PAGES a write
 * transaction, until none is left or a step frees nothing.
 */
static int
purge_vacuum(struct purge *p, const atomic_int *stop,
    struct purge_result *res, char *err, size_t errlen)
{
	int64_t	 before, now;
	double	 t0;

	before = purge_pragma(p, "PRAGMA freelist_count");
	while (before > 0) {
		if (stop != NULL && atomic_load(stop))
			return 1;
		if (purge_begin(p, &t0) == -1)
			goto sqlerr;
		if (purge_step(p->stmt[PS_VACUUM]) == -1) {
			purge_seterr(err, errlen, "incremental_vacuum: %s",
			    sqlite3_errmsg(p->db));
			(void)purge_end(p, t0, 0, 1, res);
			return -1;
		}
		if (purge_end(p, t0, 0, 0, res) == -1)
			goto sqlerr;
		now = purge_pragma(p, "PRAGMA freelist_count");
		if (now < 0 || now >= before)
			break;
		before = now;
	}
	return 0;

sqlerr:
	purge_seterr(err, errlen, "incremental_vacuum: %s",
	    sqlite3_errmsg(p->db));
	return -1;
}

int
purge_run(struct purge *p, double cutoff, int dry, const atomic_int *stop,
    struct purge_result *res, char *err, size_t errlen)
{
	int64_t	 after;
	size_t	 i;
	int	 rc;

	memset(res, 0, sizeof(*res));
	res->auto_vacuum = (int)purge_pragma(p, "PRAGMA auto_vacuum");
	res->page_size = purge_pragma(p, "PRAGMA page_size");
	res->pages_before = purge_pragma(p, "PRAGMA page_count");
	for (i = 0; i < NPHASES; i++) {
		after = 0;
		do {
			if (stop != NULL && atomic_load(stop))
				return 1;
			rc = purge_batch(p, i, cutoff, dry, &after, res, err,
			    errlen);
		} while (rc == 0);
		if (rc == -1)
			return -1;
	}
	if (!dry && res->auto_vacuum == 2 &&
	    (rc = purge_vacuum(p, stop, res, err, errlen)) != 0)
		return rc;
	if (!dry)
		(void)purge_step(p->stmt[PS_CHECKPOINT]);
	res->pages_after = purge_pragma(p, "PRAGMA page_count");
	res->free_after = purge_pragma(p, "PRAGMA freelist_count");
	return 0;
}
