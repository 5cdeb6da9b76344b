/*
 * What the two HTTP listeners of [web] share (policy_http.c over TLS,
 * web.c in plain HTTP for a proxy): evhttp with the same bounds on input
 * and time, and the binding of its sockets.  Event loop thread.
 */
#ifndef MAILSCOPE_HTTPD_H
#define MAILSCOPE_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct event_base;
struct evhttp;
struct evhttp_bound_socket;

#define HTTPD_MAX_HEADERS	8192	/* request line and header section */
#define HTTPD_MAX_BODY		1024	/* no route reads a body */
#define HTTPD_TIMEOUT_MS	10000	/* idle limit: timeout_command, at most */

/* The idle limit of CFG's web listeners, in milliseconds. */
uint64_t	 httpd_timeout_ms(const struct config *cfg);

/*
 * An evhttp with those limits, letting every method it knows through to
 * the request callback (which answers 405 with Allow, RFC 9110 15.5.6,
 * where evhttp would send 501).  NULL when out of memory.
 */
struct evhttp	*httpd_new(struct event_base *, const struct config *cfg);

/*
 * Binds LA as the SMTP listeners are (listener_bind()) and gives the
 * socket to HTTP; *BOUND is it.  WHAT names the listener in the log and
 * in ERR.  0, or -1 with ERR.
 */
int		 httpd_bind(struct evhttp *http, struct event_base *,
		    const struct listen_addr *la, const char *what,
		    struct evhttp_bound_socket **bound, char *err,
		    size_t errlen);

#endif /* MAILSCOPE_HTTPD_H */
