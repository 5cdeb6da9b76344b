/*
 * The HTTPS listener of [web]: MTA-STS policies (RFC 8461 3.3) served by
 * Host at /.well-known/mta-sts.txt, every request and every failed
 * connection recorded as evidence; other requests handed to the web
 * application (web.h), not recorded.  Event loop thread only.
 */
#ifndef MAILSCOPE_POLICY_HTTP_H
#define MAILSCOPE_POLICY_HTTP_H

#include <stddef.h>

#include "types.h"

struct event_base;
struct policy_http;
struct store;
struct web;

/*
 * Binds every [web] listen address of CFG (before the privilege drop)
 * and builds the TLS context.  STORE may be NULL and set later with
 * policy_http_set_store(), before the event loop runs.  NULL with ERR.
 */
struct policy_http *policy_http_new(struct event_base *,
		    const struct config *, struct store *, char *err,
		    size_t errlen);
void		 policy_http_set_store(struct policy_http *, struct store *);
/* The web application for requests that are no policy fetch. */
void		 policy_http_set_web(struct policy_http *, struct web *);
/*
 * SIGHUP: the certificates and keys again, for the connections to come;
 * when the files fail, the old ones stay (logged with the reason).
 */
void		 policy_http_reload(struct policy_http *);
/* Stops accepting (SIGTERM); connections already open may finish. */
void		 policy_http_stop(struct policy_http *);
/*
 * Records the connections still open as ended by the shutdown, then
 * frees everything.  Before store_close() and event_base_free().
 */
void		 policy_http_free(struct policy_http *);

#endif /* MAILSCOPE_POLICY_HTTP_H */
