/*
 * The web's worker thread: one thread, a bounded queue of jobs, each run
 * on the worker (report building, test creation: SQLite) and then handed
 * back to the event loop thread, which sends the reply.  The loop never
 * waits for the worker.
 */
#ifndef MAILSCOPE_WEB_WORKER_H
#define MAILSCOPE_WEB_WORKER_H

#include <sys/queue.h>

#include <stddef.h>

struct event_base;
struct web_worker;

/*
 * A job, embedded first in the caller's own struct.  RUN is called on the
 * worker, DONE on the event loop thread (or from web_worker_free(), RAN
 * saying whether RUN was called); DONE frees the job.
 */
struct web_job {
	TAILQ_ENTRY(web_job)	 entry;		/* the worker's lists */
	void			(*run)(struct web_job *);
	void			(*done)(struct web_job *, int ran);
};

/*
 * At most MAX jobs queued, running or waiting for the loop.  NULL when
 * out of memory or the thread cannot start.  evthread_use_pthreads()
 * must precede the base.
 */
struct web_worker	*web_worker_new(struct event_base *, size_t max);
/*
 * Queues J.  0; -1 when the queue is full (J untouched: the caller
 * answers 503).
 */
int			 web_worker_submit(struct web_worker *,
			    struct web_job *j);
/*
 * Lets the running job finish, stops the thread, then calls DONE of
 * every job left (RAN 0 for those never run).  After the event loop.
 */
void			 web_worker_free(struct web_worker *);

#endif /* MAILSCOPE_WEB_WORKER_H */
