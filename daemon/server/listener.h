/*
 * Listeners: one evconnlistener per bind address of every host, each tied
 * to its host profile and TLS context; listener_bind() for [web] and
 * [dns] too.  Event loop thread.
 */
#ifndef MAILSCOPE_LISTENER_H
#define MAILSCOPE_LISTENER_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "types.h"

struct event_base;
struct listeners;
struct smtp_server;

/*
 * A TCP listener on LA calling CB with ARG (NULL: set later, as evhttp
 * does), with the options of every listener of the daemon: close on
 * free and exec, SO_REUSEADDR, IPV6_V6ONLY for IPv6.  NULL with
 * "bind ADDR: reason" in ERR.
 */
struct evconnlistener *listener_bind(struct event_base *,
		    const struct listen_addr *la, evconnlistener_cb cb,
		    void *arg, char *err, size_t errlen);

/*
 * accept(2) failed with ERR on a listener at WHAT: an error libevent does
 * not retry itself (EMFILE, ENFILE, ENOBUFS, ENOMEM).  The caller has
 * disabled every listener of its GROUP (they share the resources);
 * RESUME(-1, EV_TIMEOUT, GROUP) enables them again after a pause, with
 * one warning a pause.  GROUP lives as long as the event loop runs (the
 * timer is the base's: event_base_free() frees one still pending).
 */
void		 listener_pause(struct event_base *, const char *what, int err,
		    event_callback_fn resume, void *group);

/* Binds every listen address of CFG's hosts.  NULL with ERR on failure. */
struct listeners *listener_open(struct event_base *, const struct config *,
		    struct smtp_server *, char *err, size_t errlen);
/*
 * SIGHUP: new TLS contexts from the certificate and key files, for the
 * handshakes to come; a host whose files fail keeps its old context
 * (logged with the reason).
 */
void		 listener_reload(struct listeners *);
/* Stops accepting (SIGTERM), keeping the TLS contexts for sessions. */
void		 listener_stop(struct listeners *);
void		 listener_free(struct listeners *);

#endif /* MAILSCOPE_LISTENER_H */
