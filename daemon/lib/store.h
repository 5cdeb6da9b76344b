/*
 * The only code that touches SQLite.  Synchronous calls for the command
 * line tool and start-up; in the daemon, one writer thread with group
 * commit that reports durable transactions back to the event loop.
 */
#ifndef MAILSCOPE_STORE_H
#define MAILSCOPE_STORE_H

#include <stdint.h>

#include "records.h"

struct config;
struct event_base;
struct store;

/*
 * Opens (creating) PATH; applies the migrations it lacks, and the views
 * when views.sql changed, under the write lock.  A current database is
 * only read.  NULL + message.
 */
struct store	*store_open(const char *path, char *err, size_t errlen);
/*
 * Stops the writer if running (flushing every queued job), closes.  Call
 * after the event loop ended and before event_base_free(); results not
 * yet delivered are dropped.
 */
void		 store_close(struct store *);

/* Synchronous, before store_writer_start() or in the tool. */
int		 store_test_create(struct store *, const char *id, double now);
int		 store_test_exists(struct store *, const char *id);	/* 1 0 -1 */
/* As store_test_exists(); when 1, *N is the test's transactions. */
int		 store_test_transactions(struct store *, const char *id,
		    unsigned *n);
int64_t		 store_last_connection_id(struct store *);	/* -1: error */
/*
 * CFG (borrowed: it outlives the store) gives the attribution window
 * (attribution by address; default 1 day without a config) and the base
 * domain TLS-RPT policies are attributed by.  Before a TLS-RPT report is
 * stored.
 */
void		 store_set_config(struct store *, const struct config *cfg);
/* The challenges table replaced by ROWS (N of them), in one transaction. */
int		 store_challenges(struct store *,
		    const struct challenge_rec *rows, size_t n);
/*
 * The TLS-RPT reports stored but never parsed (before schema 16, or their
 * analysis skipped), oldest first: each handed to CB as a txn_rec it owns
 * (id, conn_id, report_kind, message), at most MAX of them, those that
 * start within MAX_BYTES of messages; the others wait for the next call.
 * 0, or -1 (logged).
 */
int		 store_tlsrpt_unparsed(struct store *, size_t max,
		    size_t max_bytes, void (*cb)(struct txn_rec *, void *),
		    void *arg);
/* Calls CB for every greylisting entry (borrowed during the call). */
int		 store_greylist_load(struct store *,
		    void (*cb)(const struct grey_entry *, void *), void *arg);

/*
 * Called on the event loop thread with the result of store_txn(); TXN
 * (with its id set when OK) is handed back and owned by the callee.
 */
typedef void	(*store_done_cb)(int64_t conn_id, int ok, struct txn_rec *txn,
		    void *arg);

/*
 * evthread_use_pthreads() must precede the base's creation.  Analyses
 * left pending by an earlier process are finished as 'interrupted'
 * first: only the daemon starts a writer.  0 or -1.
 */
int		 store_writer_start(struct store *, struct event_base *,
		    store_done_cb, void *arg);

/*
 * Asynchronous; the records are copied, the caller keeps its own.  Jobs
 * queued before store_writer_start() run in its first batch.
 */
void		 store_conn_open(struct store *, const struct conn_rec *);
void		 store_conn_close(struct store *, const struct conn_rec *);
/* The entry as it is now, and the attempt that changed it. */
void		 store_greylist(struct store *, const struct grey_entry *,
		    const struct grey_attempt *);
/*
 * The sessions' records waiting for the writer: a flood that outruns the
 * disk makes it grow (the SMTP server refuses connections beyond a bound).
 */
size_t		 store_backlog(struct store *);
/* A command refused by a limit; R is copied. */
void		 store_refusal(struct store *, const struct refusal_rec *r);
/* A request to the HTTPS listener, and a query to the DNS responder. */
void		 store_policy_fetch(struct store *, const struct fetch_rec *);
void		 store_dns_query(struct store *, const struct dnsq_rec *);
/* Takes ownership of the analysis results of one transaction. */
void		 store_analysis(struct store *, struct analysis_rec *);
/*
 * Takes ownership of TXN; store_done_cb reports it committed (ok=1), or
 * not (ok=0: its batch failed; never retried, the session answers 451).
 * The other records of a failed batch are written again, a bounded
 * number of times (store.c, STORE_TRIES).
 */
void		 store_txn(struct store *, struct txn_rec *txn);

#endif /* MAILSCOPE_STORE_H */
