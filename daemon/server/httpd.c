/*
 * The evhttp set-up both web listeners share (httpd.h): bounds on the
 * request, the idle limit, every method let through, the binding, and
 * the pause when accept(2) runs out of files.  Event loop thread.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "clock.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "netaddr.h"

uint64_t
httpd_timeout_ms(const struct config *cfg)
{
	return cfg->timeout_command_ms < HTTPD_TIMEOUT_MS ?
	    cfg->timeout_command_ms : HTTPD_TIMEOUT_MS;
}

struct evhttp *
httpd_new(struct event_base *base, const struct config *cfg)
{
	struct evhttp *http;
	struct timeval tv;

	if ((http = evhttp_new(base)) == NULL)
		return NULL;
	clock_ms_to_tv(httpd_timeout_ms(cfg), &tv);
	evhttp_set_timeout_tv(http, &tv);
	evhttp_set_max_headers_size(http, HTTPD_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTPD_MAX_BODY);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	return http;
}

/* evhttp_foreach_bound_socket(): one listener of an evhttp off or on */
static void
bound_disable(struct evhttp_bound_socket *bound, void *arg)
{
	(void)arg;
	evconnlistener_disable(evhttp_bound_socket_get_listener(bound));
}

static void
bound_enable(struct evhttp_bound_socket *bound, void *arg)
{
	(void)arg;
	evconnlistener_enable(evhttp_bound_socket_get_listener(bound));
}

/* The pause is over: every listener the evhttp still has accepts. */
static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_foreach_bound_socket(arg, bound_enable, NULL);
}

/*
 * EMFILE and friends: every listener of the evhttp pauses (listener.h).
 * ARG is the evhttp: evhttp_bind_listener() makes it the listener's
 * argument, and it is freed only after the event loop (policy_http_free,
 * web_free).
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct evhttp *http = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN], where[INET6_ADDRSTRLEN + 16];
	int e = EVUTIL_SOCKET_ERROR(), port, family;

	snprintf(where, sizeof(where), "web fd %d",
	    (int)evconnlistener_get_fd(lev));
	memset(&ss, 0, sizeof(ss));
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
	    &len) == 0 && netaddr_text((struct sockaddr *)&ss, addr,
	    sizeof(addr), &port, &family) == 0)
		snprintf(where, sizeof(where), family == 6 ? "web [%s]:%d" :
		    "web %s:%d", addr, port);
	evhttp_foreach_bound_socket(http, bound_disable, NULL);
	listener_pause(evconnlistener_get_base(lev), where, e, accept_resume,
	    http);
}

int
httpd_bind(struct evhttp *http, struct event_base *base,
    const struct listen_addr *la, const char *what,
    struct evhttp_bound_socket **bound, char *err, size_t errlen)
{
	struct evconnlistener *lev;
	char why[256];

	if ((lev = listener_bind(base, la, NULL, NULL, why, sizeof(why))) ==
	    NULL) {
		snprintf(err, errlen, "[web]: %s", why);
		return -1;
	}
	/* evhttp takes the listener (and frees it) and sets its callback */
	if ((*bound = evhttp_bind_listener(http, lev)) == NULL) {
		evconnlistener_free(lev);
		snprintf(err, errlen, "[web]: %s: out of memory", la->text);
		return -1;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	log_info("listening on %s for %s", la->text, what);
	return 0;
}
