/*
 * The evhttp set-up both web listeners share (httpd.h): bounds on the
 * request, the idle limit, every method let through, and the binding.
 * Event loop thread.
 */
#include "build.h"

#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "clock.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"

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

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg;
	/* EMFILE and friends: logged; libevent keeps the listener going */
	log_warn("web: accept on fd %d: %s", (int)evconnlistener_get_fd(lev),
	    strerror(errno));
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
