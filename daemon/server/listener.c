/*
 * Listeners: binds every address of every host (IPv6 sockets IPV6_V6ONLY,
 * so that 0.0.0.0 and :: can be bound side by side), builds each host's
 * TLS context, and hands accepted sockets to the SMTP server.  The one
 * way a TCP listener is bound: [web] and [dns] use listener_bind() too.
 * Event loop thread.
 */
#include "build.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "smtp.h"
#include "tls.h"

#define LISTENER_BACKLOG	128	/* listen(2) queue of every listener */

struct bound {
	struct listeners	*ls;		/* borrowed: the owner */
	struct evconnlistener	*lev;		/* owned */
	struct smtp_listen	 lis;		/* lis.tls borrowed from ls->tls */
};

struct listeners {
	struct smtp_server	*srv;		/* borrowed */
	SSL_CTX			**tls;		/* owned, one per host */
	size_t			 nhosts;
	struct bound		*bound;		/* owned */
	size_t			 nbound;
};

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bound *b = arg;

	(void)lev;
	smtp_accept(b->ls->srv, &b->lis, fd, sa, (socklen_t)salen);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct bound *b = arg;

	(void)lev;
	/* EMFILE and friends: logged; libevent keeps the listener going */
	log_warn("accept on %s: %s", b->lis.local, strerror(errno));
}

struct evconnlistener *
listener_bind(struct event_base *base, const struct listen_addr *la,
    evconnlistener_cb cb, void *arg, char *err, size_t errlen)
{
	struct evconnlistener *lev;
	unsigned flags;

	flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC;
	/* so that 0.0.0.0 and :: can be bound side by side */
	if (la->ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	lev = evconnlistener_new_bind(base, cb, arg, flags, LISTENER_BACKLOG,
	    (const struct sockaddr *)&la->ss, (int)la->sslen);
	if (lev == NULL)
		snprintf(err, errlen, "bind %s: %s", la->text,
		    strerror(errno));
	return lev;
}

struct listeners *
listener_open(struct event_base *base, const struct config *cfg,
    struct smtp_server *srv, char *err, size_t errlen)
{
	const struct host_conf *h;
	struct listeners *ls;
	struct bound *b;
	char why[256];
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nhosts; i++)
		n += cfg->hosts[i].nlisten;
	if ((ls = calloc(1, sizeof(*ls))) == NULL ||
	    (ls->tls = calloc(cfg->nhosts + 1, sizeof(*ls->tls))) == NULL ||
	    (ls->bound = calloc(n + 1, sizeof(*ls->bound))) == NULL) {
		snprintf(err, errlen, "out of memory");
		listener_free(ls);
		return NULL;
	}
	ls->srv = srv;
	ls->nhosts = cfg->nhosts;
	for (i = 0; i < cfg->nhosts; i++) {
		h = &cfg->hosts[i];
		if (h->starttls != STARTTLS_OFF &&
		    (ls->tls[i] = tls_ctx_new(h, err, errlen)) == NULL) {
			listener_free(ls);
			return NULL;
		}
		for (j = 0; j < h->nlisten; j++) {
			b = &ls->bound[ls->nbound];
			b->ls = ls;
			b->lis.host = h;
			b->lis.tls = ls->tls[i];
			snprintf(b->lis.local, sizeof(b->lis.local), "%s",
			    h->listen[j].text);
			b->lev = listener_bind(base, &h->listen[j], on_accept,
			    b, why, sizeof(why));
			if (b->lev == NULL) {
				snprintf(err, errlen, "host %s: %s", h->name,
				    why);
				listener_free(ls);
				return NULL;
			}
			evconnlistener_set_error_cb(b->lev, on_accept_error);
			ls->nbound++;
			log_info("listening on %s for host %s",
			    h->listen[j].text, h->name);
		}
	}
	return ls;
}

void
listener_stop(struct listeners *ls)
{
	size_t i;

	for (i = 0; ls != NULL && i < ls->nbound; i++) {
		if (ls->bound[i].lev != NULL)
			evconnlistener_free(ls->bound[i].lev);
		ls->bound[i].lev = NULL;
	}
}

void
listener_free(struct listeners *ls)
{
	size_t i;

	if (ls == NULL)
		return;
	if (ls->bound != NULL)
		listener_stop(ls);
	for (i = 0; ls->tls != NULL && i < ls->nhosts; i++)
		tls_ctx_free(ls->tls[i]);
	free(ls->tls);
	free(ls->bound);
	free(ls);
}
