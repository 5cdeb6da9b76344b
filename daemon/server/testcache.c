/*
 * Known tests (testcache.h): a hash table of the tests RCPT named that
 * exist, least recently used evicted beyond TC_MAX, each looked up again
 * after TC_TTL (a purge may have deleted it), and lookups of the rest on
 * a worker thread with its own connection to the database.  Only
 * tests that exist are cached: an invented ID costs one indexed lookup
 * and takes no memory here.
 */
#include "build.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "testcache.h"
#include "types.h"
#include "worker.h"

#define TC_MAX		65536	/* tests cached */
#define TC_BUCKETS	16384	/* a power of two */
#define TC_QUEUE	256	/* lookups queued or running */
#define TC_TTL		3600	/* seconds: then looked up again (purge) */

struct tc_entry {
	LIST_ENTRY(tc_entry)	 chain;		/* its bucket */
	TAILQ_ENTRY(tc_entry)	 lru;		/* most recent first */
	char			 id[TESTID_LEN + 1];
	unsigned		 transactions;
	double			 looked_up;	/* clock_now() */
};

LIST_HEAD(tc_bucket, tc_entry);
TAILQ_HEAD(tc_lru, tc_entry);

/* Owns the entries, the worker and its store connection. */
struct testcache {
	struct tc_bucket	 buckets[TC_BUCKETS];
	struct tc_lru		 lru;
	size_t			 n;
	struct worker		*worker;	/* owned */
	struct store		*store;		/* owned; the worker's only */
};

/* A lookup; owned by the worker until its done callback frees it. */
struct testcache_req {
	struct worker_job	 job;		/* first: the worker's */
	struct testcache	*tc;		/* borrowed */
	char			 id[TESTID_LEN + 1];
	testcache_cb		 done;		/* NULL: cancelled */
	void			*arg;
	int			 rc;		/* store_test_transactions() */
	unsigned		 transactions;
};

/* FNV-1a: the IDs are random already, the table needs no secret. */
static struct tc_bucket *
bucket(struct testcache *tc, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return &tc->buckets[h & (TC_BUCKETS - 1)];
}

static struct tc_entry *
find(struct testcache *tc, const char *id)
{
	struct tc_entry *e;

	LIST_FOREACH(e, bucket(tc, id), chain)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void
drop(struct testcache *tc, struct tc_entry *e)
{
	LIST_REMOVE(e, chain);
	TAILQ_REMOVE(&tc->lru, e, lru);
	tc->n--;
	free(e);
}

static void
insert(struct testcache *tc, const char *id, unsigned transactions)
{
	struct tc_entry *e;

	if ((e = find(tc, id)) != NULL) {
		e->transactions = transactions;
		e->looked_up = clock_now();
		return;
	}
	if (tc->n >= TC_MAX)
		drop(tc, TAILQ_LAST(&tc->lru, tc_lru));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;		/* looked up again next time */
	(void)snprintf(e->id, sizeof(e->id), "%s", id);
	e->transactions = transactions;
	e->looked_up = clock_now();
	LIST_INSERT_HEAD(bucket(tc, id), e, chain);
	TAILQ_INSERT_HEAD(&tc->lru, e, lru);
	tc->n++;
}

struct testcache *
testcache_new(struct event_base *base, const char *database, char *err,
    size_t errlen)
{
	struct testcache *tc;
	size_t i;

	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < TC_BUCKETS; i++)
		LIST_INIT(&tc->buckets[i]);
	TAILQ_INIT(&tc->lru);
	if ((tc->store = store_open(database, err, errlen)) == NULL) {
		free(tc);
		return NULL;
	}
	if ((tc->worker = worker_new(base, TC_QUEUE, "ms-testcache")) == NULL) {
		(void)snprintf(err, errlen, "cannot start the test lookup "
		    "thread");
		testcache_free(tc);
		return NULL;
	}
	return tc;
}

void
testcache_free(struct testcache *tc)
{
	if (tc == NULL)
		return;
	worker_free(tc->worker);	/* first: it uses the store */
	store_close(tc->store);
	while (!TAILQ_EMPTY(&tc->lru))
		drop(tc, TAILQ_FIRST(&tc->lru));
	free(tc);
}

long
testcache_transactions(struct testcache *tc, const char *id)
{
	struct tc_entry *e;

	if ((e = find(tc, id)) == NULL)
		return -1;
	/* a test purged meanwhile (mailscope purge, retention_days) */
	if (clock_now() - e->looked_up > TC_TTL) {
		drop(tc, e);
		return -1;
	}
	TAILQ_REMOVE(&tc->lru, e, lru);
	TAILQ_INSERT_HEAD(&tc->lru, e, lru);
	return (long)e->transactions;
}

void
testcache_count(struct testcache *tc, const char *id)
{
	struct tc_entry *e;

	if ((e = find(tc, id)) != NULL)
		e->transactions++;
}

/* On the worker thread. */
static void
lookup_run(struct worker_job *j)
{
	struct testcache_req *r = (struct testcache_req *)j;

	r->rc = store_test_transactions(r->tc->store, r->id,
	    &r->transactions);
}

/* On the loop thread: the answer cached, then to the session. */
static void
lookup_done(struct worker_job *j, int ran)
{
	struct testcache_req *r = (struct testcache_req *)j;
	enum testcache_answer a = TC_FAILED;

	if (ran && r->rc == 1) {
		insert(r->tc, r->id, r->transactions);
		a = TC_EXISTS;
	} else if (ran && r->rc == 0)
		a = TC_UNKNOWN;
	if (r->done != NULL)
		r->done(a, r->arg);
	free(r);
}

struct testcache_req *
testcache_lookup(struct testcache *tc, const char *id, testcache_cb done,
    void *arg)
{
	struct testcache_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->job.run = lookup_run;
	r->job.done = lookup_done;
	r->tc = tc;
	(void)snprintf(r->id, sizeof(r->id), "%s", id);
	r->done = done;
	r->arg = arg;
	if (worker_submit(tc->worker, &r->job) == -1) {
		log_warn("test lookup: %d lookups waiting, refused", TC_QUEUE);
		free(r);
		return NULL;
	}
	return r;
}

void
testcache_cancel(struct testcache_req *r)
{
	r->done = NULL;
}
