/*
 * retention_days (retention.h): a timer on the event loop submits one
 * purge job at a time to a worker of its own (worker.h); the job opens
 * its own connection (purge_open()), the result is logged on the loop and
 * the timer set again.  Event loop thread, and the worker's.
 */
#include "build.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "purge.h"
#include "retention.h"
#include "types.h"
#include "worker.h"

#define RETENTION_FIRST_MS	5000ULL		/* after the start */
#define RETENTION_EVERY_MS	86400000ULL	/* then daily */
#define RETENTION_DAY_S		86400.0

/* Owns the timer and the worker; borrows the base and the config. */
struct retention {
	const struct config	*cfg;		/* borrowed */
	struct event		*timer;		/* owned */
	struct worker		*worker;	/* owned */
	atomic_int		 stop;		/* read by the running purge */
	int			 stopping;
};

/* One purge: filled on the worker, logged on the loop. */
struct retention_job {
	struct worker_job	 job;		/* first: the worker's */
	struct retention	*r;		/* borrowed */
	double			 cutoff;
	int			 rc;		/* purge_run()'s */
	struct purge_result	 res;
	char			 err[512];
};

static void
retention_arm(struct retention *r, uint64_t ms)
{
	struct timeval tv;

	clock_ms_to_tv(ms, &tv);
	if (evtimer_add(r->timer, &tv) == -1)
		log_warn("retention: cannot set the timer: no more purges");
}

/* On the worker. */
static void
retention_run(struct worker_job *wj)
{
	struct retention_job	*j = (struct retention_job *)wj;
	struct purge		*p;

	if ((p = purge_open(j->r->cfg->database, j->err,
	    sizeof(j->err))) == NULL) {
		j->rc = -1;
		return;
	}
	j->rc = purge_run(p, j->cutoff, 0, &j->r->stop, &j->res, j->err,
	    sizeof(j->err));
	purge_close(p);
}

/* On the loop, or from worker_free() at the end. */
static void
retention_done(struct worker_job *wj, int ran)
{
	struct retention_job	*j = (struct retention_job *)wj;
	struct retention	*r = j->r;
	const struct purge_result *res = &j->res;

	if (ran && j->rc == -1)
		log_warn("retention: purge of tests older than %u days failed: "
		    "%s", r->cfg->retention_days, j->err);
	else if (ran)
		log_info("retention: %s tests older than %u days: tests=%llu "
		    "connections=%llu transactions=%llu dns_queries=%llu "
		    "policy_fetches=%llu greylist=%llu write_transactions=%u "
		    "lock_max_ms=%.3f pages_freed=%lld",
		    j->rc == 1 ? "stopped purging" : "purged",
		    r->cfg->retention_days,
		    (unsigned long long)res->rows[PT_TESTS],
		    (unsigned long long)res->rows[PT_CONNECTIONS],
		    (unsigned long long)res->rows[PT_TRANSACTIONS],
		    (unsigned long long)res->rows[PT_DNS_QUERIES],
		    (unsigned long long)res->rows[PT_POLICY_FETCHES],
		    (unsigned long long)res->rows[PT_GREYLIST],
		    res->transactions, res->lock_max_ms,
		    (long long)(res->pages_before - res->pages_after));
	free(j);
	if (!r->stopping)
		retention_arm(r, RETENTION_EVERY_MS);
}

static void
retention_tick(evutil_socket_t fd, short what, void *arg)
{
	struct retention	*r = arg;
	struct retention_job	*j;

	(void)fd;
	(void)what;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("retention: out of memory: next purge in a day");
		retention_arm(r, RETENTION_EVERY_MS);
		return;
	}
	j->job.run = retention_run;
	j->job.done = retention_done;
	j->r = r;
	j->cutoff = clock_now() -
	    (double)r->cfg->retention_days * RETENTION_DAY_S;
	/* one job at a time: the timer is set again when it is done */
	if (worker_submit(r->worker, &j->job) == -1) {
		free(j);
		retention_arm(r, RETENTION_EVERY_MS);
	}
}

struct retention *
retention_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	struct retention *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		(void)snprintf(err, errlen, "retention: out of memory");
		return NULL;
	}
	r->cfg = cfg;
	atomic_init(&r->stop, 0);
	if (cfg->retention_days == 0)
		return r;
	if ((r->timer = evtimer_new(base, retention_tick, r)) == NULL ||
	    (r->worker = worker_new(base, 1, "ms-retention")) == NULL) {
		(void)snprintf(err, errlen, "retention: cannot start its "
		    "worker");
		retention_free(r);
		return NULL;
	}
	retention_arm(r, RETENTION_FIRST_MS);
	return r;
}

void
retention_free(struct retention *r)
{
	if (r == NULL)
		return;
	r->stopping = 1;
	atomic_store(&r->stop, 1);
	worker_free(r->worker);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r);
}
