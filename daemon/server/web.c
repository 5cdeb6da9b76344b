/*
 * The web application (docs/api.md): one table of routes, the security
 * headers of every reply, the limits on creating tests, and the jobs
 * that build reports and create tests on the worker thread.  Requests
 * come from policy_http.c (HTTPS) or from our plain-HTTP listener
 * (http_listen, for a reverse proxy on loopback).  With [web] probe =
 * on, also `mailscope probe` (web_probe.c) on a worker of its own.
 * Event loop thread, but for the jobs' run functions (worker threads).
 * RFC 9110 (methods, status codes, Allow, Retry-After), RFC 9111 (Age),
 * RFC 9112.
 */
#include "build.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "acme_http.h"
#include "clock.h"
#include "dnsname.h"
#include "httpd.h"
#include "log.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "report.h"
#include "store.h"
#include "testid.h"
#include "web.h"
#include "web_api.h"
#include "web_pages.h"
#include "web_probe.h"
#include "worker.h"

#define WEB_QUEUE_MAX	32	/* jobs waiting or running: then 503 */
#define WEB_BUSY_RETRY	"2"	/* Retry-After of a 503, seconds */
#define PROBE_THREADS	4	/* probes at once, a thread each: then 503 */
#define PROBE_BUSY_RETRY "10"	/* a probe takes seconds */
#define WEB_LIFETIMES	3	/* policy_http.c's: idle limits a connection
				   lives */
#define PROBE_MARGIN_MS	5000	/* of a probe's time, for the answer */
#define PROBE_BUDGET_MIN_MS 10000
#define PROBE_DNS_RETRY	"60"	/* the opt-out record was not read */
#define PROBE_SEG_MAX	(DNSNAME_MAX + 8)	/* a domain as requested */
#define SCRIPT_SRC	"/static/mailscope.js"
#define PATH_LOG_MAX	256
#define LINK_MAX	64	/* "/api/tests/<id>" and NUL */
#define CSP_MAX		512
#define SINCE_MAX	((1ULL << 53) - 1)	/* a JSON-safe number */

/* The methods a route takes; a request with another one gets 405. */
#define M_GET		0x01	/* GET and HEAD */
#define M_POST		0x02

enum route_kind {
	RT_HOME,
	RT_SCRIPT,
	RT_CREATE_FORM,		/* POST /tests: 303 to the report page */
	RT_CREATE_API,		/* POST /api/tests: 201 with the addresses */
	RT_PAGE,		/* /t/ID */
	RT_REPORT,		/* /api/tests/ID */
	RT_EVENTS,		/* /api/tests/ID/events */
	RT_PROBE_PAGE,		/* /probe, /probe?domain=DOMAIN */
	RT_PROBE_API		/* /api/probe/DOMAIN */
};

/* What stands between a route's prefix and its suffix. */
enum route_param {
	P_NONE,
	P_ID,			/* a test ID: malformed is 404 */
	P_DOMAIN		/* a domain: malformed is 400 */
};

/*
 * The routes (docs/api.md): PREFIX, then the parameter, then SUFFIX, is
 * the whole path.  API routes answer errors in JSON; PROBE routes exist
 * only with [web] probe = on.
 */
static const struct route {
	enum route_kind	 kind;
	const char	*prefix;
	enum route_param param;
	const char	*suffix;
	int		 methods;
	int		 api;
	int		 probe;
} routes[] = {
	{ RT_HOME, "/", P_NONE, "", M_GET, 0, 0 },
	{ RT_SCRIPT, SCRIPT_SRC, P_NONE, "", M_GET, 0, 0 },
	{ RT_CREATE_FORM, "/tests", P_NONE, "", M_POST, 0, 0 },
	{ RT_CREATE_API, "/api/tests", P_NONE, "", M_POST, 1, 0 },
	{ RT_PAGE, "/t/", P_ID, "", M_GET, 0, 0 },
	{ RT_REPORT, "/api/tests/", P_ID, "", M_GET, 1, 0 },
	{ RT_EVENTS, "/api/tests/", P_ID, "/events", M_GET, 1, 0 },
	{ RT_PROBE_PAGE, "/probe", P_NONE, "", M_GET, 0, 1 },
	{ RT_PROBE_API, "/api/probe/", P_DOMAIN, "", M_GET, 1, 1 },
};

/* Reason phrases (RFC 9110 15) of the statuses we send. */
static const struct {
	int		 code;
	const char	*reason;
	const char	*text;		/* of the error page */
} statuses[] = {
	{ 200, "OK", NULL },
	{ 201, "Created", NULL },
	{ 303, "See Other", NULL },
	{ 400, "Bad Request", "The request is not one this server takes." },
	{ 403, "Forbidden", "This is not done here." },
	{ 404, "Not Found", "There is nothing here. A test's report is at "
	    "the link given when the test was created." },
	{ 405, "Method Not Allowed", "This address does not take that "
	    "method." },
	{ 429, "Too Many Requests", "Too many tests were created from your "
	    "network, or from everyone, in the last hour. Please try again "
	    "later." },
	{ 500, "Internal Server Error", "Something went wrong on our side." },
	{ 503, "Service Unavailable", "The server is busy. Please try again "
	    "in a moment." },
};

/* A request handed to the worker, and its answer.  Owns the body. */
struct job {
	struct worker_job		 wj;		/* first: the worker's view */
	TAILQ_ENTRY(job)	 entry;		/* web->jobs */
	struct web		*w;
	struct evhttp_request	*req;		/* NULL: the client is gone */
	const struct route	*route;
	int			 head;
	char			 id[TESTID_LEN + 1];
	char			 domain[DNSNAME_MAX + 1];	/* probes */
	uint64_t		 since;
	char			 client[INET6_ADDRSTRLEN];	/* for the log */
	/* the answer, filled by the worker */
	int			 status;
	const char		*ctype;		/* static */
	char			*body;		/* owned (malloc) */
	size_t			 len;
	char			 location[LINK_MAX];	/* of a 303 */
	struct web_probe_out	 probe;		/* a probe's answer */
};

TAILQ_HEAD(job_list, job);

/* Owns its listener, worker, store connection and jobs. */
struct web {
	struct event_base	*base;		/* borrowed */
	const struct config	*cfg;		/* borrowed */
	struct evhttp		*http;		/* owned; NULL: no http_listen */
	struct evhttp_bound_socket **bound;	/* owned array; http's */
	size_t			 nbound;
	struct worker	*worker;	/* owned; NULL until web_start */
	struct store		*store;		/* owned: the worker's */
	struct ratelimit	*limit;		/* owned: test creation */
	struct web_probe	*probe;		/* owned; NULL: probe = off */
	struct worker		*probe_workers[PROBE_THREADS];	/* owned;
						   NULL until web_start, or
						   probe off */
	struct job_list		 jobs;		/* submitted, not done */
	char			 csp[CSP_MAX];
	int			 stopping;	/* web_free() runs */
};

static const char *
reason_of(int code)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].code == code)
			return statuses[i].reason;
	return "Error";
}

static const char *
text_of(int code)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].code == code && statuses[i].text != NULL)
			return statuses[i].text;
	return "Error.";
}

/*
 * The Content-Security-Policy of a reply whose one inline style is the
 * LEN bytes of STYLE, into BUF: no inline script, that style by its hash
 * (CSP 3, hash-source), forms and fetches to ourselves only, no framing.
 */
static int
csp_of(const char *style, size_t len, char *buf, size_t buflen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char b64[2 * SHA256_DIGEST_LENGTH];
	int n;

	SHA256((const unsigned char *)style, len, md);
	EVP_EncodeBlock(b64, md, sizeof(md));
	n = snprintf(buf, buflen, "default-src 'none'; "
	    "style-src 'sha256-%s'; script-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
	    "frame-ancestors 'none'", b64);
	return n > 0 && (size_t)n < buflen ? 0 : -1;
}

/* The CSP of every reply: the style of our pages and the report's. */
static int
make_csp(struct web *w)
{
	const char *style = report_html_style();

	return csp_of(style, strlen(style), w->csp, sizeof(w->csp));
}

/*
 * Sends CODE with BODY (LEN bytes, none for HEAD) and the headers every
 * reply carries; ALLOW, RETRY, LOCATION when not NULL; CSP, when not
 * NULL, instead of the pages' own.
 */
static void
send_reply(struct web *w, struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len, int head,
    const char *allow, const char *retry, const char *location,
    const char *csp)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char num[32];

	snprintf(num, sizeof(num), "%zu", len);
	evhttp_add_header(out, "Content-Type", ctype);
	/* RFC 9110 9.3.2: HEAD gets the length GET would have */
	evhttp_add_header(out, "Content-Length", num);
	evhttp_add_header(out, "Content-Security-Policy",
	    csp != NULL ? csp : w->csp);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	/* a report changes while its test runs */
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (allow != NULL)
		evhttp_add_header(out, "Allow", allow);	/* RFC 9110 15.5.6 */
	if (retry != NULL)
		evhttp_add_header(out, "Retry-After", retry);	/* 10.2.3 */
	if (location != NULL)
		evhttp_add_header(out, "Location", location);	/* 10.2.2 */
	if (!head && len > 0)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	evhttp_send_reply(req, code, reason_of(code), NULL);
}

/* What a request is, for the one log line of its answer. */
static void
log_reply(struct evhttp_request *req, const char *client, int code,
    size_t len, int head)
{
	char path[PATH_LOG_MAX];
	const char *uri = evhttp_request_get_uri(req);

	if (uri == NULL)
		uri = "";
	log_field(path, sizeof(path), uri, strlen(uri));
	log_info("web: %s %s status=%d bytes=%zu from %s",
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" :
	    head ? "HEAD" : "GET", path, code, head ? 0 : len, client);
}

/*
 * An error reply: a page (web_page_error()) or, on an API route, JSON.
 * Every 404 of a family is the same bytes, whatever the reason.  DETAIL,
 * when not NULL, says more than the status's own text: our sentence,
 * printable ASCII without quotes or backslashes (web_probe.h).
 */
static void
send_error_detail(struct web *w, struct evhttp_request *req,
    const char *client, int code, int api, int head, const char *allow,
    const char *retry, const char *detail)
{
	char *buf = NULL, json[128 + WEB_PROBE_DETAIL_MAX];
	size_t len = 0;
	FILE *fp;
	int n;

	if (api) {
		if (detail != NULL)
			n = snprintf(json, sizeof(json), "{\"error\": \"%s\", "
			    "\"status\": %d, \"detail\": \"%s\"}\n",
			    reason_of(code), code, detail);
		else
			n = snprintf(json, sizeof(json), "{\"error\": \"%s\", "
			    "\"status\": %d}\n", reason_of(code), code);
		len = n > 0 && (size_t)n < sizeof(json) ? (size_t)n : 0;
		log_reply(req, client, code, len, head);
		send_reply(w, req, code, "application/json", json, len, head,
		    allow, retry, NULL, NULL);
	} else {
		if ((fp = open_memstream(&buf, &len)) != NULL) {
			if (web_page_error(fp, code, reason_of(code),
			    detail != NULL ? detail : text_of(code)) == -1)
				len = 0;
			if (fclose(fp) != 0)
				len = 0;
		}
		log_reply(req, client, code, len, head);
		send_reply(w, req, code, "text/html; charset=utf-8",
		    buf != NULL ? buf : "", buf != NULL ? len : 0, head, allow,
		    retry, NULL, NULL);
		free(buf);
	}
}

static void
send_error(struct web *w, struct evhttp_request *req, const char *client,
    int code, int api, int head, const char *allow, const char *retry)
{
	send_error_detail(w, req, client, code, api, head, allow, retry,
	    NULL);
}

/*
 * The client net the limits count: the peer's, or on the plain-HTTP
 * listener when the peer is a proxy on loopback, the last address the
 * proxy appended to X-Forwarded-For.  From anyone else (the plain
 * listener open on port 80 for ACME) the header is not believed: it
 * would choose its own rate limit.
 */
static void
client_of(struct evhttp_request *req, int tls, char *addr, size_t addrlen,
    char *net, size_t netlen)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *xff, *last;
	char *peer = NULL, cand[INET6_ADDRSTRLEN];
	ev_uint16_t port;
	size_t n;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	snprintf(addr, addrlen, "%s", peer != NULL ? peer : "?");
	xff = tls || peer == NULL || !netaddr_is_loopback(peer) ? NULL :
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Forwarded-For");
	if (xff != NULL) {
		last = strrchr(xff, ',');
		last = last != NULL ? last + 1 : xff;
		last += strspn(last, " \t");
		n = strcspn(last, " \t");
		if (n > 0 && n < sizeof(cand)) {
			memcpy(cand, last, n);
			cand[n] = '\0';
			if (netaddr_client_net(cand, net, netlen) == 0) {
				snprintf(addr, addrlen, "%s", cand);
				return;
			}
		}
	}
	if (netaddr_client_net(addr, net, netlen) == -1)
		snprintf(net, netlen, "%s", addr);
}

/*
 * The route of PATH into *RT, with its test ID (lowercased) into ID or
 * its domain segment as requested into SEG (PROBE_SEG_MAX bytes: a
 * longer one is cut, and no domain).  The probe routes only with PROBE.
 * 0, or -1: no route, or an ID that is none (the same 404 as unknown).
 */
static int
route_of(const char *path, int probe, const struct route **rt, char *id,
    char *seg)
{
	size_t i, j, plen, slen, rest, k;
	const char *p;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].probe && !probe)
			continue;
		plen = strlen(routes[i].prefix);
		slen = strlen(routes[i].suffix);
		if (strncmp(path, routes[i].prefix, plen) != 0)
			continue;
		p = path + plen;
		rest = strlen(p);
		if (routes[i].param == P_NONE) {
			if (rest != 0)
				continue;
			*rt = &routes[i];
			return 0;
		}
		/* the parameter is one segment, then exactly the suffix */
		if (rest < slen || strcmp(p + rest - slen, routes[i].suffix) !=
		    0)
			continue;
		k = rest - slen;
		if (k == 0 || memchr(p, '/', k) != NULL)
			continue;
		if (routes[i].param == P_DOMAIN) {
			/* too long: no domain, a 400 */
			snprintf(seg, PROBE_SEG_MAX, "%.*s",
			    k < PROBE_SEG_MAX ? (int)k : 0, p);
			*rt = &routes[i];
			return 0;
		}
		if (!testid_valid(p, k))
			return -1;
		for (j = 0; j < TESTID_LEN; j++)
			id[j] = (char)(p[j] >= 'A' && p[j] <= 'Z' ?
			    p[j] - 'A' + 'a' : p[j]);
		id[TESTID_LEN] = '\0';
		*rt = &routes[i];
		return 0;
	}
	return -1;
}

/* Whether any verdict of R still waits: then its page updates itself. */
static int
report_waits(const struct rp_report *r)
{
	size_t i;

	for (i = 0; i < r->nverdicts; i++)
		if (r->verdicts[i].state == RP_WAITING)
			return 1;
	return 0;
}

/* The worker: the report of J's test as a page, JSON or its events. */
static void
run_report(struct job *j)
{
	struct rp_input in;
	struct rp_report rep;
	struct rp_html_opts opts;
	char err[256], href[LINK_MAX];
	FILE *fp;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&rep, 0, sizeof(rep));
	j->status = 500;
	/* its own read-only connection: the writer is never waited for */
	if ((rc = report_load(j->w->cfg, j->id, clock_now(), &in, err,
	    sizeof(err))) != 0) {
		if (rc == 1)
			j->status = 404;
		else
			log_warn("web: report of a test: %s", err);
		report_input_free(&in);
		return;
	}
	if (j->route->kind == RT_EVENTS) {
		if ((j->body = web_api_events(&in, j->since, &j->len)) != NULL) {
			j->status = 200;
			j->ctype = "application/json";
		}
		report_input_free(&in);
		return;
	}
	if (report_build(&in, &rep) == -1) {
		report_input_free(&in);
		return;
	}
	if ((fp = open_memstream(&j->body, &j->len)) != NULL) {
		if (j->route->kind == RT_PAGE) {
			snprintf(href, sizeof(href), "/api/tests/%s", j->id);
			memset(&opts, 0, sizeof(opts));
			opts.live = report_waits(&rep);
			opts.json_href = href;
			opts.script_src = SCRIPT_SRC;
			opts.addresses = 1;
			rc = report_html(&rep, &opts, fp);
			j->ctype = "text/html; charset=utf-8";
		} else {
			rc = report_json(&rep, fp);
			j->ctype = "application/json";
		}
		if (fclose(fp) == 0 && rc == 0)
			j->status = 200;
	}
	report_free(&rep);
	report_input_free(&in);
}

/* The worker: a new test on the worker's own store connection. */
static void
run_create(struct job *j)
{
	j->status = 500;
	if (testid_new(j->id) == -1 ||
	    store_test_create(j->w->store, j->id, clock_now()) == -1)
		return;
	log_info("web: test %s created for %s", j->id, j->client);
	if (j->route->kind == RT_CREATE_FORM) {
		snprintf(j->location, sizeof(j->location), "/t/%s", j->id);
		j->status = 303;	/* RFC 9110 15.4.4: GET the new page */
		j->ctype = "text/plain";
		return;
	}
	/* RFC 9110 15.3.2: Location names the resource created */
	snprintf(j->location, sizeof(j->location), "/api/tests/%s", j->id);
	if ((j->body = web_api_created(j->w->cfg, j->id, &j->len)) != NULL) {
		j->status = 201;
		j->ctype = "application/json";
	}
}

static void
job_run(struct worker_job *wj)
{
	struct job *j = (struct job *)wj;

	if (j->route->kind == RT_CREATE_FORM || j->route->kind == RT_CREATE_API)
		run_create(j);
	else if (j->route->probe)
		web_probe_run(j->w->probe, j->domain, &j->probe);
	else
		run_report(j);
}

/*
 * A probe's result: JSON on the API; else the page as probe_html()
 * wrote it, its own style hashed into the CSP.  AGE: seconds since the
 * probe ended, for a result kept from before (RFC 9111 5.1); -1: none.
 */
static void
send_probe_result(struct web *w, struct evhttp_request *req,
    const char *client, const struct route *rt, int head, const char *json,
    size_t json_len, const char *html, size_t html_len, long age)
{
	char csp[CSP_MAX], num[32];
	size_t off, slen;
	int own;

	if (age >= 0) {
		snprintf(num, sizeof(num), "%ld", age);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Age",
		    num);
	}
	if (rt->api) {
		log_reply(req, client, 200, json_len, head);
		send_reply(w, req, 200, "application/json", json, json_len,
		    head, NULL, NULL, NULL, NULL);
		return;
	}
	/* without its style the page still reads: the CSP blocks it */
	own = web_probe_style(html, html_len, &off, &slen) == 0 &&
	    csp_of(html + off, slen, csp, sizeof(csp)) == 0;
	log_reply(req, client, 200, html_len, head);
	send_reply(w, req, 200, "text/html; charset=utf-8", html, html_len,
	    head, NULL, NULL, NULL, own ? csp : NULL);
}

/* The loop: a probe's answer to its client (J->req, still there). */
static void
probe_answer(struct web *w, struct job *j)
{
	const struct web_probe_out *o = &j->probe;

	if (o->status == 200)
		send_probe_result(w, j->req, j->client, j->route, j->head,
		    o->json, o->json_len, o->html, o->html_len, -1);
	else
		send_error_detail(w, j->req, j->client, o->status,
		    j->route->api, j->head, NULL, o->status == 503 ?
		    PROBE_DNS_RETRY : NULL, o->detail[0] != '\0' ? o->detail :
		    NULL);
}

/* The loop: J's answer to its client, if it is still there. */
static void
job_done(struct worker_job *wj, int ran)
{
	struct job *j = (struct job *)wj;
	struct web *w = j->w;

	TAILQ_REMOVE(&w->jobs, j, entry);
	if (j->req != NULL && (!ran || w->stopping)) {
		/*
		 * A request whose connection evhttp already freed lives on,
		 * detached, until answered: free it.  An attached one goes
		 * with its connection.
		 */
		if (evhttp_request_get_connection(j->req) == NULL)
			evhttp_request_free(j->req);
	} else if (j->req != NULL && j->route->probe)
		probe_answer(w, j);
	else if (j->req != NULL) {
		if (j->status == 200 || j->status == 201 || j->status == 303) {
			log_reply(j->req, j->client, j->status, j->len, j->head);
			send_reply(w, j->req, j->status, j->ctype, j->body,
			    j->len, j->head, NULL, NULL, j->status == 201 ||
			    j->status == 303 ? j->location : NULL, NULL);
		} else
			send_error(w, j->req, j->client, j->status,
			    j->route->api, j->head, NULL, NULL);
	}
	/* a probe's result stays for its domain, its client gone or not */
	if (j->route->probe && ran && !w->stopping)
		web_probe_keep(w->probe, j->domain, &j->probe);
	web_probe_out_clear(&j->probe);
	free(j->body);
	free(j);
}

/*
 * evhttp frees a connection's requests with it: those still waiting for
 * the worker are marked gone.  A request evhttp detached before (the
 * client closed) has no connection any more and stays ours.
 */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct web *w = arg;
	struct job *j;

	TAILQ_FOREACH(j, &w->jobs, entry)
		if (j->req != NULL &&
		    evhttp_request_get_connection(j->req) == evcon)
			j->req = NULL;
}

/* SINCE of an events request's query; 0, or -1 when malformed. */
static int
parse_since(const struct evhttp_uri *uri, uint64_t *since)
{
	struct evkeyvalq q;
	const char *v, *s;
	uint64_t n = 0;
	int rc = 0;

	*since = 0;
	if (uri == NULL || evhttp_uri_get_query(uri) == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) == -1)
		return -1;
	if ((v = evhttp_find_header(&q, "since")) != NULL) {
		if (*v == '\0')
			rc = -1;
		for (s = v; rc == 0 && *s != '\0'; s++) {
			if (*s < '0' || *s > '9' ||
			    n > (SINCE_MAX - (uint64_t)(*s - '0')) / 10)
				rc = -1;
			else
				n = n * 10 + (uint64_t)(*s - '0');
		}
	}
	evhttp_clear_headers(&q);
	*since = n;
	return rc;
}

/* A page or the script, built on the loop (pure and small). */
static void
send_static(struct web *w, struct evhttp_request *req, const char *client,
    const struct route *rt, int head)
{
	const char *script;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = -1;

	if (rt->kind == RT_SCRIPT) {
		script = web_script();
		log_reply(req, client, 200, strlen(script), head);
		send_reply(w, req, 200, "text/javascript; charset=utf-8", script,
		    strlen(script), head, NULL, NULL, NULL, NULL);
		return;
	}
	if ((fp = open_memstream(&buf, &len)) != NULL) {
		if (rt->kind == RT_PROBE_PAGE)
			rc = web_page_probe(fp);
		else
			rc = web_page_home(fp, SCRIPT_SRC, w->probe != NULL);
		if (fclose(fp) != 0)
			rc = -1;
	}
	if (rc == -1) {
		free(buf);
		send_error(w, req, client, 500, 0, head, NULL, NULL);
		return;
	}
	log_reply(req, client, 200, len, head);
	send_reply(w, req, 200, "text/html; charset=utf-8", buf, len, head,
	    NULL, NULL, NULL, NULL);
	free(buf);
}

/*
 * The domain of /probe?domain=D into BUF (PROBE_SEG_MAX bytes; a longer
 * one is cut to nothing).  1; 0 without a domain parameter (the form);
 * -1 when the query is malformed.
 */
static int
probe_query(const struct evhttp_uri *uri, char *buf)
{
	struct evkeyvalq q;
	const char *v;
	int rc = 0;

	if (uri == NULL || evhttp_uri_get_query(uri) == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) == -1)
		return -1;
	if ((v = evhttp_find_header(&q, "domain")) != NULL) {
		snprintf(buf, PROBE_SEG_MAX, "%s", strlen(v) < PROBE_SEG_MAX ?
		    v : "");
		rc = 1;
	}
	evhttp_clear_headers(&q);
	return rc;
}

/*
 * A probe request (docs/api.md): the form, or the domain checked, its
 * opt-out and the limits, then the probe on its worker, or the result
 * of the last hour for a domain over its limit.
 */
static void
probe_request(struct web *w, struct evhttp_request *req, const char *client,
    const char *net, const struct route *rt, const struct evhttp_uri *uri,
    char *seg, int head)
{
	const struct web_probe_kept *kept;
	char domain[DNSNAME_MAX + 1], detail[WEB_PROBE_DETAIL_MAX];
	char retry[16];
	double now = clock_now();
	enum web_probe_admit admit;
	unsigned wait;
	struct job *j;
	size_t i;
	int rc;

	if (rt->kind == RT_PROBE_PAGE &&
	    (rc = probe_query(uri, seg)) != 1) {
		if (rc == 0)
			send_static(w, req, client, rt, head);
		else
			send_error(w, req, client, 400, 0, head, NULL, NULL);
		return;
	}
	if (web_probe_domain(seg, strlen(seg), domain) == -1) {
		send_error_detail(w, req, client, 400, rt->api, head, NULL,
		    NULL, "That is not a domain name. Give one such as "
		    "example.org, without a scheme, a path or an address.");
		return;
	}
	switch ((admit = web_probe_admit(w->probe, net, domain, now, &wait,
	    &kept, detail))) {
	case WPA_PROBE:
		break;
	case WPA_OPT_OUT:
		log_info("web: probe of %s refused for %s: probe_opt_out",
		    domain, client);
		send_error_detail(w, req, client, 403, rt->api, head, NULL,
		    NULL, detail);
		return;
	case WPA_CACHED:
		log_info("web: probe of %s for %s: the domain's limit, its "
		    "result of %.0f s ago instead", domain, client,
		    now - kept->finished);
		send_probe_result(w, req, client, rt, head, kept->json,
		    kept->json_len, kept->html, kept->html_len,
		    now > kept->finished ? (long)(now - kept->finished) : 0);
		return;
	case WPA_CLIENT:
	case WPA_LIMIT:
		snprintf(retry, sizeof(retry), "%u", wait > 0 ? wait : 1);
		log_info("web: probe of %s refused for %s (net %s): %s rate "
		    "limit, retry after %s s", domain, client, net,
		    admit == WPA_CLIENT ? "client" : "domain", retry);
		if (admit == WPA_CLIENT)
			snprintf(detail, sizeof(detail), "Too many probes were "
			    "asked for from your network in the last hour. "
			    "Please try again later.");
		else
			snprintf(detail, sizeof(detail), "%s was probed too "
			    "often in the last hour, or this server probed "
			    "too many domains, and there is no recent result "
			    "to show. Please try again later.", domain);
		send_error_detail(w, req, client, 429, rt->api, head, NULL,
		    retry, detail);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_error(w, req, client, 503, rt->api, head, NULL,
		    PROBE_BUSY_RETRY);
		return;
	}
	j->wj.run = job_run;
	j->wj.done = job_done;
	j->w = w;
	j->req = req;
	j->route = rt;
	j->head = head;
	memcpy(j->domain, domain, sizeof(j->domain));
	snprintf(j->client, sizeof(j->client), "%s", client);
	/* the first thread that is free: a client waits for its own only */
	for (i = 0; i < PROBE_THREADS; i++)
		if (w->probe_workers[i] != NULL &&
		    worker_submit(w->probe_workers[i], &j->wj) == 0)
			break;
	if (i == PROBE_THREADS) {
		free(j);
		send_error_detail(w, req, client, 503, rt->api, head, NULL,
		    PROBE_BUSY_RETRY, "Other probes are running. Please try "
		    "again in a moment.");
		return;
	}
	TAILQ_INSERT_TAIL(&w->jobs, j, entry);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    on_conn_close, w);
}

void
web_request(struct web *w, struct evhttp_request *req, int tls)
{
	enum evhttp_cmd_type type = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const struct route *rt = NULL;
	char client[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 4];
	char id[TESTID_LEN + 1], retry[16], seg[PROBE_SEG_MAX];
	const char *path;
	unsigned wait;
	struct job *j;
	int head = type == EVHTTP_REQ_HEAD, method, api;

	seg[0] = '\0';
	client_of(req, tls, client, sizeof(client), net, sizeof(net));
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	api = path != NULL && strncmp(path, "/api/", 5) == 0;
	if (path == NULL ||
	    route_of(path, w->probe != NULL, &rt, id, seg) == -1) {
		send_error(w, req, client, 404, api, head, NULL, NULL);
		return;
	}
	method = type == EVHTTP_REQ_GET || type == EVHTTP_REQ_HEAD ? M_GET :
	    type == EVHTTP_REQ_POST ? M_POST : 0;
	if ((method & rt->methods) == 0) {
		send_error(w, req, client, 405, rt->api, head,
		    rt->methods == M_GET ? "GET, HEAD" : "POST", NULL);
		return;
	}
	if (rt->kind == RT_HOME || rt->kind == RT_SCRIPT) {
		send_static(w, req, client, rt, head);
		return;
	}
	if (rt->probe) {
		probe_request(w, req, client, net, rt, uri, seg, head);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_error(w, req, client, 503, rt->api, head, NULL,
		    WEB_BUSY_RETRY);
		return;
	}
	if (rt->kind == RT_EVENTS && parse_since(uri, &j->since) == -1) {
		free(j);
		send_error(w, req, client, 400, 1, head, NULL, NULL);
		return;
	}
	if (rt->kind == RT_CREATE_FORM || rt->kind == RT_CREATE_API) {
		switch (ratelimit_take(w->limit, net, clock_now(), &wait)) {
		case RL_OK:
			break;
		case RL_CLIENT:
		case RL_TOTAL:
		case RL_NOMEM:
			free(j);
			snprintf(retry, sizeof(retry), "%u", wait);
			log_info("web: test creation refused for %s (net %s): "
			    "rate limit, retry after %s s", client, net, retry);
			send_error(w, req, client, 429, rt->api, head, NULL,
			    retry);
			return;
		}
	}
	j->wj.run = job_run;
	j->wj.done = job_done;
	j->w = w;
	j->req = req;
	j->route = rt;
	j->head = head;
	memcpy(j->id, id, sizeof(j->id));
	snprintf(j->client, sizeof(j->client), "%s", client);
	if (w->worker == NULL || worker_submit(w->worker, &j->wj) == -1) {
		free(j);
		send_error(w, req, client, 503, rt->api, head, NULL,
		    WEB_BUSY_RETRY);
		return;
	}
	TAILQ_INSERT_TAIL(&w->jobs, j, entry);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    on_conn_close, w);
}

/*
 * The plain-HTTP listener's requests: ACME HTTP-01 (port 80, RFC 8555
 * 8.3), then the same pages and API.
 */
static void
on_plain_request(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *peer = NULL;
	ev_uint16_t port;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	if (acme_http_request(w->cfg, req, peer != NULL ? peer : "?") != 0)
		return;
	web_request(w, req, 0);
}

struct web *
web_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct web_conf *wc = &cfg->web;
	struct web *w;
	uint64_t budget;
	size_t i;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->bound = calloc(wc->nhttp_listen + 1, sizeof(*w->bound))) ==
	    NULL ||
	    (w->limit = ratelimit_new(wc->tests_per_client, wc->tests_total,
	    (double)wc->tests_period_ms / 1000)) == NULL) {
		snprintf(err, errlen, "[web]: out of memory");
		web_free(w);
		return NULL;
	}
	w->base = base;
	w->cfg = cfg;
	TAILQ_INIT(&w->jobs);
	/*
	 * A probe's answer must come before the HTTPS connection's lifetime
	 * ends (policy_http.c): that, less a margin, is its budget.
	 */
	budget = httpd_timeout_ms(cfg) * WEB_LIFETIMES;
	budget = budget > PROBE_BUDGET_MIN_MS + PROBE_MARGIN_MS ?
	    budget - PROBE_MARGIN_MS : PROBE_BUDGET_MIN_MS;
	if (wc->probe && (w->probe = web_probe_new(cfg, budget)) == NULL) {
		snprintf(err, errlen, "[web]: out of memory");
		web_free(w);
		return NULL;
	}
	if (make_csp(w) == -1) {
		snprintf(err, errlen, "[web]: the style does not fit the CSP");
		web_free(w);
		return NULL;
	}
	if (wc->nhttp_listen == 0)
		return w;
	if ((w->http = httpd_new(base, cfg)) == NULL) {
		snprintf(err, errlen, "[web]: out of memory");
		web_free(w);
		return NULL;
	}
	evhttp_set_gencb(w->http, on_plain_request, w);
	for (i = 0; i < wc->nhttp_listen; i++) {
		if (httpd_bind(w->http, base, &wc->http_listen[i],
		    "web (plain HTTP, for a proxy)", &w->bound[i], err,
		    errlen) == -1) {
			web_free(w);
			return NULL;
		}
		w->nbound++;
	}
	return w;
}

int
web_start(struct web *w, char *err, size_t errlen)
{
	size_t i;

	if ((w->store = store_open(w->cfg->database, err, errlen)) == NULL)
		return -1;
	if ((w->worker = worker_new(w->base, WEB_QUEUE_MAX, "ms-web")) == NULL) {
		snprintf(err, errlen, "web: cannot start the worker thread");
		return -1;
	}
	/*
	 * Probes take seconds each: threads of their own, one probe each,
	 * so that reports never wait and no probe waits for another.
	 */
	for (i = 0; w->probe != NULL && i < PROBE_THREADS; i++)
		if ((w->probe_workers[i] = worker_new(w->base, 1,
		    "ms-probe")) == NULL) {
			snprintf(err, errlen, "web: cannot start the probe "
			    "threads");
			return -1;
		}
	return 0;
}

void
web_stop(struct web *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nbound; i++)
		evhttp_del_accept_socket(w->http, w->bound[i]);
	w->nbound = 0;
}

void
web_free(struct web *w)
{
	size_t i;

	if (w == NULL)
		return;
	/* its connections' requests waiting for the worker: marked gone */
	if (w->http != NULL)
		evhttp_free(w->http);
	w->stopping = 1;
	worker_free(w->worker);
	/* a probe still running is waited for: its budget bounds it */
	for (i = 0; i < PROBE_THREADS; i++)
		worker_free(w->probe_workers[i]);
	web_probe_free(w->probe);
	store_close(w->store);
	ratelimit_free(w->limit);
	free(w->bound);
	free(w);
}
