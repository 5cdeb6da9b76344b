/*
 * The tests the SMTP server knows exist, with the transactions each has
 * had: RCPT is accepted only for a test that exists (a well-formed but
 * unknown ID is refused) and up to max_test_transactions.  What is not
 * cached is looked up in the database on a worker thread of its own,
 * never on the event loop.  Event loop thread.
 */
#ifndef MAILSCOPE_TESTCACHE_H
#define MAILSCOPE_TESTCACHE_H

struct event_base;
struct testcache;
struct testcache_req;

enum testcache_answer {
	TC_EXISTS,	/* cached now: testcache_transactions() answers */
	TC_UNKNOWN,	/* no such test */
	TC_FAILED	/* the database did not answer */
};

typedef void	(*testcache_cb)(enum testcache_answer, void *arg);

/*
 * Opens its own connection to DATABASE and starts its worker: after the
 * privilege drop, before the event loop.  NULL, with ERR, on failure.
 */
struct testcache *testcache_new(struct event_base *, const char *database,
		    char *err, size_t errlen);
/* After the event loop: requests still waiting are dropped. */
void		 testcache_free(struct testcache *);

/* The transactions of test ID, or -1 when it is not cached. */
long		 testcache_transactions(struct testcache *, const char *id);
/* A transaction for test ID was stored (a cached one is counted). */
void		 testcache_count(struct testcache *, const char *id);

/*
 * Looks test ID up off the loop; DONE(answer, ARG) follows on the loop
 * thread unless testcache_cancel() came first.  NULL when it cannot be
 * queued now (the queue is full): the caller answers a temporary error.
 */
struct testcache_req *testcache_lookup(struct testcache *, const char *id,
		    testcache_cb done, void *arg);
/* DONE of REQ will not be called (its caller is going away). */
void		 testcache_cancel(struct testcache_req *);

#endif /* MAILSCOPE_TESTCACHE_H */
