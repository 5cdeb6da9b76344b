/*
 * retention_days (mailscope.conf): the daemon purges the tests older
 * than that (purge.h) a few seconds after it starts and then once a day,
 * on a worker thread with its own database connection, never on the
 * event loop.  Event loop thread.
 */
#ifndef MAILSCOPE_RETENTION_H
#define MAILSCOPE_RETENTION_H

#include <stddef.h>

struct config;
struct event_base;
struct retention;

/*
 * After the store's writer started.  Without retention_days it does
 * nothing.  NULL, with ERR, when the worker cannot start.
 */
struct retention	*retention_new(struct event_base *,
			    const struct config *cfg, char *err,
			    size_t errlen);
/*
 * After the event loop: a running purge stops after its current write
 * transaction.
 */
void			 retention_free(struct retention *);

#endif /* MAILSCOPE_RETENTION_H */
