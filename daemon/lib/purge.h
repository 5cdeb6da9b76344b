/*
 * Retention: deletes the tests created before a cutoff and every row
 * attributed to them (docs/operator-data.md says which, table by table),
 * in short write transactions beside a running daemon, then lets SQLite
 * reuse the space.  Blocks: the tool, or the daemon's retention worker,
 * each with a database connection of its own; never the event loop.
 */
#ifndef MAILSCOPE_PURGE_H
#define MAILSCOPE_PURGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct purge;

/* The tables purge deletes from, children before the rows they name. */
enum purge_table {
	PT_TLSRPT_FAILURES,
	PT_TLSRPT_POLICIES,
	PT_TLSRPT_REPORTS,
	PT_INBOUND_REPORTS,
	PT_SENDER_ZONES,
	PT_DMARC_DESTINATIONS,
	PT_DMARC_RESULTS,
	PT_DKIM_SIGNATURES,
	PT_DKIM_RESULTS,
	PT_CLIENT_DNS,
	PT_SPF_RESULTS,
	PT_HEADER_FINDINGS,
	PT_MESSAGES,
	PT_ANALYSES,
	PT_RECIPIENTS,
	PT_TRANSACTIONS,
	PT_REFUSALS,
	PT_GREYLIST_ATTEMPTS,
	PT_CONNECTION_ATTRIBUTION,
	PT_CONNECTIONS,
	PT_DNS_QUERIES,
	PT_POLICY_FETCHES,
	PT_GREYLIST,
	PT_ATTRIBUTION_EVIDENCE,
	PT_TESTS,
	PT_COUNT
};

/* What one purge_run() did (or, dry, would have done). */
struct purge_result {
	uint64_t	 rows[PT_COUNT];	/* deleted, by table */
	unsigned	 transactions;		/* write transactions */
	double		 lock_max_ms;		/* the longest, BEGIN to COMMIT */
	double		 lock_total_ms;
	int		 auto_vacuum;		/* 0 none, 1 full, 2 incremental */
	int64_t		 page_size;
	int64_t		 pages_before;		/* page_count before the run */
	int64_t		 pages_after;
	int64_t		 free_after;		/* freelist_count after it */
};

/* The table's name in SQL. */
const char	*purge_table_name(enum purge_table);

/*
 * A connection of its own to the database at PATH, which must exist with
 * the schema of this program (store_open() migrates it).  NULL + ERR.
 */
struct purge	*purge_open(const char *path, char *err, size_t errlen);
void		 purge_close(struct purge *);

/*
 * Deletes the tests created before CUTOFF (Unix seconds) and what is
 * attributed to them, and what is attributed to no test and older than
 * CUTOFF; then, unless DRY, an incremental vacuum when the database has
 * auto_vacuum=INCREMENTAL.  DRY: each write transaction is rolled back,
 * RES counts what would go.  STOP (may be NULL) is read between
 * transactions.  0 done, 1 stopped, -1 with ERR; RES holds what was done
 * in every case.
 */
int		 purge_run(struct purge *, double cutoff, int dry,
		    const atomic_int *stop, struct purge_result *res,
		    char *err, size_t errlen);

#endif /* MAILSCOPE_PURGE_H */
