/*
 * A worker thread (worker.h): a mutex-protected queue and a
 * condition for the worker, a list of finished jobs and event_active()
 * for the event loop (STYLE.md: work crosses threads through queues).
 */
#include "build.h"

#include <sys/queue.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

TAILQ_HEAD(worker_job_list, worker_job);

/* Owns the thread, the event and the jobs in its lists. */
struct worker {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct event		*done_ev;	/* owned */
	struct worker_job_list	 queue;		/* waiting for the worker */
	struct worker_job_list	 done;		/* waiting for the loop */
	size_t			 pending;	/* queued, running or done */
	size_t			 max;
	int			 stopping;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_job *j;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->stopping && TAILQ_EMPTY(&w->queue))
			pthread_cond_wait(&w->cond, &w->mtx);
		if (w->stopping)
			break;
		j = TAILQ_FIRST(&w->queue);
		TAILQ_REMOVE(&w->queue, j, entry);
		pthread_mutex_unlock(&w->mtx);
		j->run(j);
		pthread_mutex_lock(&w->mtx);
		TAILQ_INSERT_TAIL(&w->done, j, entry);
		/* thread-safe: the daemon enabled evthread before the base */
		event_active(w->done_ev, 0, 0);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the event loop thread: the finished jobs to their DONE. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_job_list list;
	struct worker_job *j;

	(void)fd;
	(void)what;
	TAILQ_INIT(&list);
	pthread_mutex_lock(&w->mtx);
	TAILQ_CONCAT(&list, &w->done, entry);
	pthread_mutex_unlock(&w->mtx);
	while ((j = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, j, entry);
		pthread_mutex_lock(&w->mtx);
		w->pending--;
		pthread_mutex_unlock(&w->mtx);
		j->done(j, 1);
	}
}

struct worker *
worker_new(struct event_base *base, size_t max, const char *name)
{
	struct worker *w;
	sigset_t all, old;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	TAILQ_INIT(&w->queue);
	TAILQ_INIT(&w->done);
	w->max = max;
	if ((w->done_ev = event_new(base, -1, 0, on_done, w)) == NULL) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* signals are for the event loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		(void)pthread_setname_np(w->thread, name);
	if (rc != 0) {
		log_warn("web: worker thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mtx);
		event_free(w->done_ev);
		free(w);
		return NULL;
	}
	return w;
}

int
worker_submit(struct worker *w, struct worker_job *j)
{
	pthread_mutex_lock(&w->mtx);
	if (w->pending >= w->max) {
		pthread_mutex_unlock(&w->mtx);
		return -1;
	}
	w->pending++;
	TAILQ_INSERT_TAIL(&w->queue, j, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	return 0;
}

void
worker_free(struct worker *w)
{
	struct worker_job *j;
	int ran;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	/* the thread is gone: no lock needed */
	while ((j = TAILQ_FIRST(&w->done)) != NULL ||
	    (j = TAILQ_FIRST(&w->queue)) != NULL) {
		ran = j == TAILQ_FIRST(&w->done);
		if (ran)
			TAILQ_REMOVE(&w->done, j, entry);
		else
			TAILQ_REMOVE(&w->queue, j, entry);
		j->done(j, ran);
	}
	event_free(w->done_ev);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mtx);
	free(w);
}
