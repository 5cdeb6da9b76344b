/*
 * The web application of [web] (docs/api.md): the start page, the report
 * pages, the JSON API and the page script, on the HTTPS listener (handed
 * over by policy_http.c) and on the optional plain-HTTP listener for a
 * reverse proxy (http_listen).  Event loop thread; reports are built and
 * tests created on one worker thread (worker.c).
 */
#ifndef MAILSCOPE_WEB_H
#define MAILSCOPE_WEB_H

#include <stddef.h>

#include "types.h"

struct event_base;
struct evhttp_request;
struct web;

/*
 * Binds every http_listen address of CFG (before the privilege drop) and
 * computes the Content-Security-Policy.  NULL with ERR.
 */
struct web	*web_new(struct event_base *, const struct config *,
		    char *err, size_t errlen);
/*
 * Opens the worker's own connection to the database (test creation) and
 * starts the worker: after the privilege drop and daemon(3), before the
 * event loop.  0, or -1 with ERR.
 */
int		 web_start(struct web *, char *err, size_t errlen);
/*
 * Answers REQ, a request that is no MTA-STS policy fetch; TLS says
 * whether it came over the HTTPS listener.  Never recorded in the store.
 */
void		 web_request(struct web *, struct evhttp_request *req, int tls);
/* Stops accepting on the plain-HTTP listener (SIGTERM). */
void		 web_stop(struct web *);
/*
 * Frees everything; a request still waiting for the worker is dropped.
 * After policy_http_free() (its connections may hold such requests).
 */
void		 web_free(struct web *);

#endif /* MAILSCOPE_WEB_H */
