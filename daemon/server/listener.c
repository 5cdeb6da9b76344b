/*
 * Listeners: binds every address of every host, the shared ones and
 * those of its challenges (IPv6 sockets IPV6_V6ONLY, so that 0.0.0.0 and
 * :: can be bound side by side), builds each host's TLS context, and
 * hands accepted sockets, with the challenges their address names, to
 * the SMTP server.  The one way a TCP listener is bound: [web] and [dns]
 * use listener_bind() too, and listener_pause() when the process is out
 * of files.  SIGHUP reloads the certificates.  Event loop thread.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "smtp.h"
#include "tls.h"

/*
 * listen(2) queue of every listener: a burst of connects waits for
 * accept() rather than being dropped (and retried by the client a second
 * or more later); the kernel caps it at net.core.somaxconn.
 */
#define LISTENER_BACKLOG	1024
/*
 * accept(2) failing (EMFILE, ENFILE, ENOBUFS): the connection stays in
 * the queue and the socket readable, so trying again at once would spin.
 * Stop accepting for this long instead, logging once (OpenSMTPD pauses
 * the same way).
 */
#define ACCEPT_PAUSE_MS		1000

struct bound {
	struct listeners	*ls;		/* borrowed: the owner */
	struct evconnlistener	*lev;		/* owned */
	struct smtp_listen	 lis;		/* lis.tls borrowed from ls->tls */
};

struct listeners {
	const struct config	*cfg;		/* borrowed */
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

/* Every listener accepts again after a pause. */
static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listeners *ls = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < ls->nbound; i++)
		if (ls->bound[i].lev != NULL)
			evconnlistener_enable(ls->bound[i].lev);
}

/*
 * libevent calls this for the errors it does not retry itself (it does
 * EINTR, EAGAIN, ECONNABORTED): those of resources, which every listener
 * shares, so all of them pause.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct bound *b = arg;
	struct listeners *ls = b->ls;
	int e = EVUTIL_SOCKET_ERROR();
	size_t i;

	for (i = 0; i < ls->nbound; i++)
		if (ls->bound[i].lev != NULL)
			evconnlistener_disable(ls->bound[i].lev);
	listener_pause(evconnlistener_get_base(lev), b->lis.local, e,
	    accept_resume, ls);
}

void
listener_pause(struct event_base *base, const char *what, int err,
    event_callback_fn resume, void *group)
{
	struct timeval tv;

	clock_ms_to_tv(ACCEPT_PAUSE_MS, &tv);
	/* a base's timer: no owner to free it, none left behind */
	if (event_base_once(base, -1, EV_TIMEOUT, resume, group, &tv) == -1) {
		/* no pause: accepting again at once, as libevent would */
		log_warn("accept on %s: %s; cannot pause: out of memory", what,
		    strerror(err));
		resume(-1, EV_TIMEOUT, group);
		return;
	}
	log_warn("accept on %s: %s; not accepting for %d ms", what,
	    strerror(err), ACCEPT_PAUSE_MS);
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

/*
 * The J-th address of host I of the config: its shared listen addresses
 * first, then those of its challenges (challenge_listen).  0, or -1 with
 * ERR.
 */
static int
bind_one(struct event_base *base, struct listeners *ls, size_t i, size_t j,
    char *err, size_t errlen)
{
	const struct host_conf *h = ls->cfg->hosts + i;
	const struct listen_addr *la;
	struct bound *b = &ls->bound[ls->nbound];
	char why[256];

	b->ls = ls;
	b->lis.host = h;
	b->lis.tls = ls->tls[i];
	if (j < h->nlisten) {
		la = &h->listen[j];
		b->lis.challenge = NULL;
		if (config_shared_challenges(h, la->ss.ss_family,
		    b->lis.candidates, sizeof(b->lis.candidates)) == -1) {
			snprintf(err, errlen, "host %s: too many challenges",
			    h->name);
			return -1;
		}
	} else {
		la = &h->chlisten[j - h->nlisten].addr;
		b->lis.challenge = h->chlisten[j - h->nlisten].challenge;
		snprintf(b->lis.candidates, sizeof(b->lis.candidates), "%s",
		    b->lis.challenge);
	}
	snprintf(b->lis.local, sizeof(b->lis.local), "%s", la->text);
	if ((b->lev = listener_bind(base, la, on_accept, b, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "host %s: %s", h->name, why);
		return -1;
	}
	evconnlistener_set_error_cb(b->lev, on_accept_error);
	ls->nbound++;
	if (b->lis.challenge != NULL)
		log_info("listening on %s for host %s challenge %s", la->text,
		    h->name, b->lis.challenge);
	else
		log_info("listening on %s for host %s challenges %s",
		    la->text, h->name, b->lis.candidates);
	return 0;
}

struct listeners *
listener_open(struct event_base *base, const struct config *cfg,
    struct smtp_server *srv, char *err, size_t errlen)
{
	const struct host_conf *h;
	struct listeners *ls;
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nhosts; i++)
		n += cfg->hosts[i].nlisten + cfg->hosts[i].nchlisten;
	if ((ls = calloc(1, sizeof(*ls))) == NULL ||
	    (ls->tls = calloc(cfg->nhosts + 1, sizeof(*ls->tls))) == NULL ||
	    (ls->bound = calloc(n + 1, sizeof(*ls->bound))) == NULL) {
		snprintf(err, errlen, "out of memory");
		listener_free(ls);
		return NULL;
	}
	ls->cfg = cfg;
	ls->srv = srv;
	ls->nhosts = cfg->nhosts;
	for (i = 0; i < cfg->nhosts; i++) {
		h = &cfg->hosts[i];
		if (h->starttls != STARTTLS_OFF &&
		    (ls->tls[i] = tls_ctx_new(h, err, errlen)) == NULL) {
			listener_free(ls);
			return NULL;
		}
		for (j = 0; j < h->nlisten + h->nchlisten; j++)
			if (bind_one(base, ls, i, j, err, errlen) == -1) {
				listener_free(ls);
				return NULL;
			}
	}
	return ls;
}

void
listener_reload(struct listeners *ls)
{
	const struct host_conf *h;
	size_t i, j;

	for (i = 0; i < ls->nhosts; i++) {
		h = &ls->cfg->hosts[i];
		if (ls->tls[i] == NULL ||
		    tls_ctx_reload(&ls->tls[i], h) == -1)
			continue;
		/* sessions hold a reference to the context they use */
		for (j = 0; j < ls->nbound; j++)
			if (ls->bound[j].lis.host == h)
				ls->bound[j].lis.tls = ls->tls[i];
	}
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
