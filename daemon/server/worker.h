/*
 * A worker thread: one thread, a bounded queue of jobs, each run on the
 * worker (SQLite work: the web's reports and test creation, SMTP's test
 * lookups) and then handed back to the event loop thread, which answers.
 * The loop never waits for the worker.
 */
#ifndef MAILSCOPE_WORKER_H
#define MAILSCOPE_WORKER_H

#include <sys/queue.h>

#include <stddef.h>

struct event_base;
struct worker;

/*
 * A job, embedded first in the caller's own struct.  RUN is called on the
 * worker, DONE on the event loop thread (or from worker_free(), RAN
 * saying whether RUN was called); DONE frees the job.
 */
struct worker_job {
	TAILQ_ENTRY(worker_job)	 entry;		/* the worker's lists */
	void			(*run)(struct worker_job *);
	void			(*done)(struct worker_job *, int ran);
};

/*
 * At most MAX jobs queued, running or waiting for the loop; the thread
 * named NAME (at most 15 bytes: top -H, perf).  NULL when out of memory
 * or the thread cannot start.  evthread_use_pthreads() must precede the
 * base.
 */
struct worker	*worker_new(struct event_base *, size_t max,
		    const char *name);
/*
 * Queues J.  0; -1 when the queue is full (J untouched: the caller
 * answers 503).
 */
int			 worker_submit(struct worker *,
			    struct worker_job *j);
/*
 * Lets the running job finish, stops the thread, then calls DONE of
 * every job left (RAN 0 for those never run).  After the event loop.
 */
void			 worker_free(struct worker *);

#endif /* MAILSCOPE_WORKER_H */
