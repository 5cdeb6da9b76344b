/*
 * Listeners: one evconnlistener per bind address of every host, each tied
 * to its host profile and TLS context.  Event loop thread.
 */
#ifndef MAILSCOPE_LISTENER_H
#define MAILSCOPE_LISTENER_H

#include <stddef.h>

#include "types.h"

struct event_base;
struct listeners;
struct smtp_server;

/* Binds every listen address of CFG's hosts.  NULL with ERR on failure. */
struct listeners *listener_open(struct event_base *, const struct config *,
		    struct smtp_server *, char *err, size_t errlen);
/* Stops accepting (SIGTERM), keeping the TLS contexts for sessions. */
void		 listener_stop(struct listeners *);
void		 listener_free(struct listeners *);

#endif /* MAILSCOPE_LISTENER_H */
