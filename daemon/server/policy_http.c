/*
 * The HTTPS listener of [web] (evhttp, a TLS bufferevent per connection):
 * MTA-STS policies by Host or SNI (RFC 8461 3.3, RFC 9112 3.2, RFC 9110
 * 9.3), every request and every connection without one stored as a
 * policy fetch.  Requests for any other host and path go to the web
 * application (web.c) and are not stored: they are no MTA-STS evidence.
 * Event loop thread only.
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "acme_http.h"
#include "catalog.h"
#include "clock.h"
#include "connlimit.h"
#include "httpd.h"
#include "log.h"
#include "mtasts.h"
#include "netaddr.h"
#include "policy_http.h"
#include "records.h"
#include "store.h"
#include "tls.h"
#include "web.h"

#define WEB_PATH	"/.well-known/mta-sts.txt"	/* RFC 8461 3.3 */
#define WEB_LIFETIMES	3	/* a connection lives 3 idle limits at most */
#define WEB_FIELD_MAX	512	/* escaped Host, path, User-Agent, error */
#define WEB_NAME_MAX	256	/* a host name (RFC 1035 2.3.4) and NUL */
#define WEB_POLICY_MAX	1024
#define POLICY_PREFIX	"mta-sts."	/* RFC 8461 3.3: the policy host */
#define WELL_KNOWN	"/.well-known/"
#define WEB_PROFILE	"web"	/* its name in tls.c's messages */

#define STR_(x)		#x
#define STR(x)		STR_(x)

/* The methods evhttp parses (RFC 9110 9.3); only GET and HEAD serve. */
static const struct {
	enum evhttp_cmd_type	 type;
	const char		*name;
} methods[] = {
	{ EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_HEAD, "HEAD" },
	{ EVHTTP_REQ_POST, "POST" }, { EVHTTP_REQ_PUT, "PUT" },
	{ EVHTTP_REQ_DELETE, "DELETE" }, { EVHTTP_REQ_OPTIONS, "OPTIONS" },
	{ EVHTTP_REQ_TRACE, "TRACE" }, { EVHTTP_REQ_CONNECT, "CONNECT" },
	{ EVHTTP_REQ_PATCH, "PATCH" },
};

/* Our error replies, the index of replies[]. */
enum web_reply {
	WR_BAD_REQUEST,
	WR_NOT_FOUND,
	WR_METHOD,
	WR_COUNT
};

/* Their status, reason phrase (RFC 9110 15), text/plain body. */
static const struct {
	int		 code;
	const char	*reason;
	const char	*body;
} replies[WR_COUNT] = {
	[WR_BAD_REQUEST] = { 400, "Bad Request", "bad request\n" },
	[WR_NOT_FOUND] = { 404, "Not Found", "not found\n" },
	[WR_METHOD] = { 405, "Method Not Allowed", "method not allowed\n" },
};

enum web_state {
	W_ACCEPTED,	/* bufferevent made for evhttp; socket not seen yet */
	W_HANDSHAKE,	/* addresses known; TLS handshake awaited or running */
	W_HTTP,		/* TLS established: reading and answering requests */
	W_CLOSING,	/* we shut the socket down (limit, lifetime) */
	W_ENDED,	/* the SSL is being freed: recorded, then gone */
	W_NSTATES
};

static const char *const state_names[W_NSTATES] = {
	"accepted", "handshake", "http", "closing", "ended"
};

/*
 * One connection.  It lives exactly as long as its SSL, which frees it
 * through the SSL's ex_data free callback: evhttp 2.1 tells nobody when
 * a connection ends before its first request, but its bufferevent always
 * frees the SSL.  Owns its timer and the tls_rec's strings.
 */
struct web_conn {
	TAILQ_ENTRY(web_conn)	 entry;
	struct policy_http	*ph;		/* borrowed; NULL: detached */
	struct bufferevent	*bev;		/* borrowed: evhttp frees it */
	struct event		*timer;		/* owned: start, lifetime */
	enum web_state		 state;
	long long		 id;		/* "w7:" in the log */
	int			 started_timer;	/* the start run is done */
	int			 over_limit;	/* beyond max_connections */
	int			 addr_counted;	/* client in ph->limit */
	int			 uncounted;	/* counting it failed: closed */
	int			 handshake_begun;
	int			 replying;	/* our reply is being queued */
	int			 web;		/* a request went to web.c */
	unsigned		 requests;	/* answered and stored by us */
	unsigned		 lib_replies;	/* error replies evhttp made */
	int			 lib_status;	/* the first of them */
	size_t			 in_bytes;	/* plaintext received */
	double			 last_active;	/* for the idle time stored */
	const char		*why;		/* static: why we closed it */
	char			 local[64];	/* "[::1]:443" */
	char			 client[INET6_ADDRSTRLEN];
	int			 client_port;
	int			 family;
	struct tls_rec		 tls;		/* handshake evidence */
};

TAILQ_HEAD(web_conn_list, web_conn);

struct policy_http {
	struct event_base	*base;		/* borrowed */
	const struct config	*cfg;		/* borrowed */
	struct store		*store;		/* borrowed; NULL until set */
	struct web		*web;		/* borrowed; NULL: policies only */
	struct evhttp		*http;		/* owned */
	SSL_CTX			*tls;		/* owned */
	struct evhttp_bound_socket **bound;	/* owned array; each http's */
	size_t			 nbound;
	struct web_conn_list	 conns;
	struct connlimit	*limit;		/* owned: the connections */
	long long		 last_id;
	int			 ex_index;	/* SSL slot: frees a web_conn */
	struct timeval		 lifetime;
};

static void
conn_enter(struct web_conn *c, enum web_state state)
{
	log_debug("w%lld: state %s -> %s", c->id, state_names[c->state],
	    state_names[state]);
	c->state = state;
}

/* Both ends of the socket, once evhttp has given it to the bufferevent. */
static void
conn_learn(struct web_conn *c, evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN];
	socklen_t len;
	int port, family;

	if (c->state != W_ACCEPTED || fd < 0)
		return;
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		netaddr_text((struct sockaddr *)&ss, addr, sizeof(addr), &port,
		    &family);
		snprintf(c->local, sizeof(c->local), family == 6 ?
		    "[%s]:%d" : "%s:%d", addr, port);
	}
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		netaddr_text((struct sockaddr *)&ss, c->client,
		    sizeof(c->client), &c->client_port, &c->family);
	else
		snprintf(c->client, sizeof(c->client), "?");
	if (connlimit_add_addr(c->ph->limit, c->client) == 0)
		c->addr_counted = 1;
	else {
		log_warn("w%lld: counting the address: out of memory", c->id);
		c->uncounted = 1;
	}
	log_debug("w%lld: connect from %s port %d to web (%s)", c->id,
	    c->client, c->client_port, c->local);
	conn_enter(c, W_HANDSHAKE);
}

/* Ends the connection from our side: evhttp sees the end of file. */
static void
conn_close(struct web_conn *c, const char *why)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (c->why == NULL)
		c->why = why;
	log_info("w%lld: closing: %s", c->id, why);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	conn_enter(c, W_CLOSING);
}

/*
 * First run (next loop turn after the accept): learn the addresses and
 * apply max_connections and max_per_ip (after recording, as SMTP does:
 * a refusal is evidence too).  Then once more at the end of the
 * connection's life, so that a client sending a byte now and then is
 * closed too.
 */
static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct web_conn *c = arg;

	(void)fd;
	(void)what;
	conn_learn(c, bufferevent_getfd(c->bev));
	if (c->started_timer) {
		conn_close(c, "connection lifetime exceeded");
		return;
	}
	c->started_timer = 1;
	if (c->over_limit) {
		conn_close(c, "too many connections");
		return;
	}
	/* unchecked against max_per_ip: not served */
	if (c->uncounted) {
		conn_close(c, "out of memory");
		return;
	}
	/* RFC 8461 has no say: as SMTP's */
	if (c->addr_counted && connlimit_addr_reached(c->ph->limit, c->client)) {
		conn_close(c, "too many connections from this address");
		return;
	}
	evtimer_add(c->timer, &c->ph->lifetime);
}

/* One row of policy_fetches.  Strings as given (the caller escaped). */
static void
conn_store(struct web_conn *c, char *method, char *path, char *host,
    char *ua, int status, long long bytes, char *challenge, char *error)
{
	struct fetch_rec f;

	if (c->ph->store == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.time = clock_now();
	f.local_addr = c->local;
	f.client_addr = c->client;
	f.client_port = c->client_port;
	f.family = c->family;
	f.tls_version = c->tls.version;
	f.tls_cipher = c->tls.cipher;
	f.sni = c->tls.sni;
	f.host = host;
	f.method = method;
	f.path = path;
	f.user_agent = ua;
	f.status = status;
	f.bytes = bytes;
	f.challenge = challenge;
	f.error = error;
	store_policy_fetch(c->ph->store, &f);
}

/* Why a connection ended without a request of ours, into BUF. */
static void
conn_end_reason(const struct web_conn *c, char *buf, size_t len)
{
	const char *sep = c->why != NULL ? ": " : "";
	const char *why = c->why != NULL ? c->why : "";
	double idle = clock_now() - c->last_active;
	size_t o;
	int n;

	if (c->lib_replies > 0)
		n = snprintf(buf, len, "%s%srequest refused by evhttp (%u %s): "
		    "%s", why, sep, c->lib_replies,
		    c->lib_replies == 1 ? "reply" : "replies",
		    c->lib_status == 501 ? "unknown method" :
		    c->lib_status == 413 ? "body over " STR(HTTPD_MAX_BODY)
		    " bytes" : "malformed, or header section over "
		    STR(HTTPD_MAX_HEADERS) " bytes");
	else if (c->state == W_HTTP || (c->state == W_CLOSING &&
	    c->tls.established))
		n = snprintf(buf, len, "%s%sno request (%zu bytes received), "
		    "idle %.1f s", why, sep, c->in_bytes, idle);
	else if (c->tls.error != NULL)
		/* a failed handshake is evidence: OpenSSL's reason */
		n = snprintf(buf, len, "%s%stls handshake failed: %s", why, sep,
		    c->tls.error);
	else if (c->handshake_begun)
		n = snprintf(buf, len, "%s%stls handshake not completed, "
		    "idle %.1f s", why, sep, idle);
	else
		n = snprintf(buf, len, "%s%sno tls handshake, idle %.1f s", why,
		    sep, idle);
	if (n < 0 || (size_t)n >= len)
		return;
	o = (size_t)n;
	if (c->tls.alert_sent != NULL && o < len)
		o += (size_t)snprintf(buf + o, len - o, "; alert sent %s",
		    c->tls.alert_sent);
	if (c->tls.alert_received != NULL && o < len)
		snprintf(buf + o, len - o, "; alert received %s",
		    c->tls.alert_received);
}

/* The SNI of C for a log field ("-" if none): tls.c stored it escaped. */
static void
sni_field(const struct web_conn *c, char *buf, size_t len)
{
	if (c->tls.sni == NULL)
		snprintf(buf, len, "-");
	else
		log_field_escaped(buf, len, c->tls.sni);
}

/* Whether NAME (LEN bytes) is a policy host's: "mta-sts." first. */
static int
policy_name(const char *name, size_t len)
{
	return len > strlen(POLICY_PREFIX) && evutil_ascii_strncasecmp(name,
	    POLICY_PREFIX, strlen(POLICY_PREFIX)) == 0;
}

/*
 * Whether C served the web application rather than policies: a request
 * of it went there, or it named another host than a policy host in SNI
 * (a browser's connection that ended without a request, or with one
 * evhttp refused).  Those are not recorded: no MTA-STS evidence.
 */
static int
web_connection(const struct web_conn *c)
{
	if (c->ph == NULL || c->ph->web == NULL)
		return 0;
	return c->web || (c->tls.sni != NULL &&
	    !policy_name(c->tls.sni, strlen(c->tls.sni)));
}

/* The row of a connection that ended without (all) its requests stored. */
static void
conn_store_end(struct web_conn *c)
{
	char error[WEB_FIELD_MAX], sni[WEB_FIELD_MAX];

	if (c->client[0] == '\0')
		return;		/* never saw its socket: nothing to tell */
	if (c->requests > 0 && c->lib_replies == 0)
		return;
	if (web_connection(c)) {
		log_debug("w%lld: from %s port %d: a web connection, not "
		    "recorded", c->id, c->client, c->client_port);
		return;
	}
	conn_end_reason(c, error, sizeof(error));
	sni_field(c, sni, sizeof(sni));
	if (c->lib_replies == 0 && !c->tls.established)
		log_debug("w%lld: from %s port %d sni=%s: %s", c->id, c->client,
		    c->client_port, sni, error);
	else
		log_info("w%lld: from %s port %d sni=%s status=%d: %s", c->id,
		    c->client, c->client_port, sni, c->lib_status, error);
	conn_store(c, NULL, NULL, NULL, NULL, c->lib_status, 0, NULL, error);
}

/* C leaves the list and the count of PH. */
static void
conn_unlist(struct policy_http *ph, struct web_conn *c)
{
	TAILQ_REMOVE(&ph->conns, c, entry);
	connlimit_remove(ph->limit, c->addr_counted ? c->client : NULL);
}

/* The SSL is being freed: the connection is over. */
static void
conn_end(struct web_conn *c)
{
	struct policy_http *ph = c->ph;

	if (ph != NULL) {
		conn_store_end(c);
		conn_enter(c, W_ENDED);
		conn_unlist(ph, c);
	}
	if (c->timer != NULL)
		event_free(c->timer);
	records_tls_clear(&c->tls);
	free(c);
}

/* CRYPTO_EX_free of our SSL slot; PTR is NULL on the SMTP sessions' SSLs. */
static void
conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr != NULL)
		conn_end(ptr);
}

/*
 * The SSL's info callback.  tls.c records alerts through the context's
 * callback, which a per-SSL one replaces: it is called first.
 */
static void
conn_info(const SSL *ssl, int where, int ret)
{
	struct web_conn *c = SSL_get_app_data(ssl);
	void (*ctx_cb)(const SSL *, int, int);
	char sni[WEB_FIELD_MAX];
	const char *r;
	unsigned long e;

	ctx_cb = SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl));
	if (ctx_cb != NULL)
		ctx_cb(ssl, where, ret);
	if (c == NULL || c->ph == NULL)
		return;
	if (where & SSL_CB_HANDSHAKE_START) {
		conn_learn(c, SSL_get_fd(ssl));
		c->handshake_begun = 1;
	}
	/*
	 * A failed handshake: the reason is queued now; libevent, which
	 * cleared the queue before SSL_do_handshake(), drains it after.
	 * Peeked, not taken, so that libevent still sees the error.
	 */
	if ((where & SSL_CB_EXIT) && ret <= 0 && c->tls.error == NULL &&
	    (e = ERR_peek_error()) != 0) {
		r = ERR_reason_error_string(e);
		c->tls.error = strdup(r != NULL ? r : "unknown error");
	}
	if ((where & SSL_CB_HANDSHAKE_DONE) && !c->tls.established) {
		/* OpenSSL's getters of the group take a non-const SSL */
		tls_record_established((SSL *)(uintptr_t)ssl, &c->tls);
		c->last_active = clock_now();
		sni_field(c, sni, sizeof(sni));
		log_debug("w%lld: tls version=%s cipher=%s group=%s sni=%s",
		    c->id, c->tls.version, c->tls.cipher,
		    c->tls.group != NULL ? c->tls.group : "-", sni);
		if (c->state == W_HANDSHAKE)
			conn_enter(c, W_HTTP);
	}
}

/* Plaintext received: counted, for the record of a request never made. */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct web_conn *c = arg;

	(void)buf;
	if (info->n_added > 0) {
		c->in_bytes += info->n_added;
		c->last_active = clock_now();
	}
}

/*
 * A reply that starts while we are not replying is one evhttp made
 * itself (400 for a malformed or oversized request, 413, 501): its
 * status line (RFC 9112 4) is the first thing it writes.
 */
static void
conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct web_conn *c = arg;
	char line[32], *sp;
	ev_ssize_t n;
	int code;

	if (info->n_added == 0 || info->orig_size != 0 || c->replying ||
	    c->web)
		return;
	if ((n = evbuffer_copyout(buf, line, sizeof(line) - 1)) <= 0)
		return;
	line[n] = '\0';
	if (strncmp(line, "HTTP/", 5) != 0 || (sp = strchr(line, ' ')) == NULL)
		return;
	code = atoi(sp + 1);
	if (code >= 100 && code < 200)
		return;		/* 100 Continue: the request goes on */
	if (c->lib_replies++ == 0)
		c->lib_status = code;
}

/*
 * evhttp's bufferevent callback: a TLS bufferevent per connection (the
 * socket comes later, by bufferevent_setfd).  NULL would make evhttp use
 * a plaintext one, which on_request refuses to answer.
 */
static struct bufferevent *
on_connection(struct event_base *base, void *arg)
{
	static const struct timeval zero = { 0, 0 };
	struct policy_http *ph = arg;
	struct bufferevent *bev;
	struct web_conn *c;
	SSL *ssl;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->timer = evtimer_new(base, conn_timer, c)) == NULL ||
	    (ssl = tls_ssl_new(ph->tls, &c->tls)) == NULL) {
		log_warn("web: new connection: out of memory");
		if (c != NULL && c->timer != NULL)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	if (SSL_set_app_data(ssl, c) != 1 ||
	    SSL_set_ex_data(ssl, ph->ex_index, c) != 1) {
		log_warn("web: new connection: out of memory");
		SSL_free(ssl);
		event_free(c->timer);
		free(c);
		return NULL;
	}
	/* From here on the SSL owns C: freeing it ends the connection. */
	c->ph = ph;
	c->id = ++ph->last_id;
	c->state = W_ACCEPTED;
	c->last_active = clock_now();
	TAILQ_INSERT_TAIL(&ph->conns, c, entry);
	/* no address yet (conn_learn): counting cannot fail */
	(void)connlimit_add(ph->limit, NULL);
	c->over_limit = connlimit_total_reached(ph->limit);
	SSL_set_info_callback(ssl, conn_info);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_warn("web: new connection: out of memory");
		return NULL;	/* the SSL, and with it C, is freed */
	}
	c->bev = bev;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if (evbuffer_add_cb(bufferevent_get_input(bev), conn_input, c) ==
	    NULL ||
	    evbuffer_add_cb(bufferevent_get_output(bev), conn_output, c) ==
	    NULL)
		log_warn("w%lld: cannot watch the buffers", c->id);
	evtimer_add(c->timer, &zero);
	return bev;
}

/*
 * RFC 9110 7.2: Host is uri-host [ ":" port ].  The name alone into
 * NAME; -1 for an IP literal or a name too long to be a policy host.
 */
static int
host_name(const char *host, char *name, size_t len)
{
	size_t n = strcspn(host, ":");

	if (host[0] == '[' || n == 0 || n >= len)
		return -1;
	memcpy(name, host, n);
	name[n] = '\0';
	return 0;
}

/* The number of header lines named KEY (case-insensitive). */
static unsigned
header_count(const struct evkeyvalq *headers, const char *key)
{
	const struct evkeyval *h;
	unsigned n = 0;

	TAILQ_FOREACH(h, headers, next)
		if (evutil_ascii_strcasecmp(h->key, key) == 0)
			n++;
	return n;
}

/*
 * SRC escaped by ESC ("" for NULL): log_escape for the database,
 * log_field for a field of a log line.
 */
static void
escape(void (*esc)(char *, size_t, const char *, size_t), char *dst,
    size_t len, const char *src)
{
	if (src == NULL)
		src = "";
	esc(dst, len, src, strlen(src));
}

/* Sends CODE with BODY (not for HEAD) as text/plain; returns body bytes. */
static size_t
send_reply(struct web_conn *c, struct evhttp_request *req, int code,
    const char *reason, const char *body, size_t len, int head)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char num[32];

	snprintf(num, sizeof(num), "%zu", len);
	/* RFC 8461 3.3: the policy is text/plain */
	evhttp_add_header(out, "Content-Type", "text/plain");
	/* RFC 9110 9.3.2: HEAD gets the length GET would have */
	evhttp_add_header(out, "Content-Length", num);
	/* RFC 9110 15.5.6: a 405 names the methods that are allowed */
	if (code == 405)
		evhttp_add_header(out, "Allow", "GET, HEAD");
	if (!head)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	c->replying = 1;
	evhttp_send_reply(req, code, reason, NULL);
	c->replying = 0;
	c->last_active = clock_now();
	return head ? 0 : len;
}

/* evhttp's request callback: every request that was read completely. */
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct policy_http *ph = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const struct catalog_challenge *ch = NULL;
	enum evhttp_cmd_type type = evhttp_request_get_command(req);
	const char *host, *path, *name_from, *reason = "OK";
	char method[16], epath[WEB_FIELD_MAX], ehost[WEB_FIELD_MAX];
	char eua[WEB_FIELD_MAX], chname[64], error[WEB_FIELD_MAX];
	char name[WEB_NAME_MAX], policy[WEB_POLICY_MAX];
	char lpath[WEB_FIELD_MAX], lhost[WEB_FIELD_MAX], lua[WEB_FIELD_MAX];
	char sni[WEB_FIELD_MAX];
	struct web_conn *c = NULL;
	struct bufferevent *bev;
	const char *body = policy;
	enum web_reply rep = WR_COUNT;	/* WR_COUNT: 200, the policy */
	int status = 200, head, len = 0;
	size_t i, bytes;
	SSL *ssl = NULL;

	if ((bev = evhttp_connection_get_bufferevent(evcon)) != NULL &&
	    (ssl = bufferevent_openssl_get_ssl(bev)) != NULL)
		c = SSL_get_app_data(ssl);
	if (c == NULL || c->ph != ph) {
		/* on_connection ran out of memory: never answer in cleartext */
		log_warn("web: request on a connection without TLS, dropped");
		evhttp_connection_free(evcon);
		return;
	}
	if (c->state == W_HANDSHAKE)
		conn_enter(c, W_HTTP);
	c->requests++;

	/* ACME HTTP-01 (acme_http.c): no MTA-STS evidence, not stored */
	c->replying = 1;
	if (acme_http_request(ph->cfg, req, c->client) != 0) {
		c->replying = 0;
		c->last_active = clock_now();
		return;
	}
	c->replying = 0;

	snprintf(method, sizeof(method), "?");
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].type == type)
			snprintf(method, sizeof(method), "%s", methods[i].name);
	head = type == EVHTTP_REQ_HEAD;
	escape(log_escape, epath, sizeof(epath),
	    evhttp_request_get_uri(req));
	escape(log_escape, eua, sizeof(eua),
	    evhttp_find_header(in, "User-Agent"));
	host = evhttp_find_header(in, "Host");
	escape(log_escape, ehost, sizeof(ehost), host);
	error[0] = chname[0] = '\0';

	/*
	 * The name whose policy is asked for: RFC 9112 3.2.2, an absolute
	 * URI's host wins over Host; without Host (HTTP/1.0, or a careless
	 * client: we measure, so we answer) the name the client sent in SNI.
	 */
	name_from = NULL;
	if (uri != NULL && evhttp_uri_get_scheme(uri) != NULL)
		name_from = evhttp_uri_get_host(uri);
	else if (host != NULL)
		name_from = host;
	else
		name_from = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name_from != NULL && host_name(name_from, name, sizeof(name)) == 0)
		ch = mtasts_challenge_of(name, ph->cfg->base_domain);
	if (ch != NULL)
		snprintf(chname, sizeof(chname), "%s", ch->name);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	/*
	 * A policy fetch names a policy host or asks for a well-known path;
	 * anything else is the web application's (not stored).
	 */
	if (ph->web != NULL && path != NULL &&
	    strncmp(path, WELL_KNOWN, strlen(WELL_KNOWN)) != 0 &&
	    (name_from == NULL || !policy_name(name_from, strlen(name_from)))) {
		c->web = 1;
		web_request(ph->web, req, 1);
		c->last_active = clock_now();
		return;
	}

	if (type != EVHTTP_REQ_GET && type != EVHTTP_REQ_HEAD)
		rep = WR_METHOD;
	else if (header_count(in, "Host") > 1) {
		/* RFC 9112 3.2: which of them would we answer for? */
		rep = WR_BAD_REQUEST;
		snprintf(error, sizeof(error), "more than one Host field");
	} else if (ch == NULL || path == NULL || strcmp(path, WEB_PATH) != 0 ||
	    evhttp_uri_get_query(uri) != NULL ||
	    evhttp_uri_get_fragment(uri) != NULL)
		rep = WR_NOT_FOUND;
	else if ((len = mtasts_policy(ch, ph->cfg->base_domain, policy,
	    sizeof(policy))) < 0) {
		/* the catalogue's policies fit; a base this long is ours */
		rep = WR_NOT_FOUND;
		snprintf(error, sizeof(error), "policy does not fit");
	}
	if (rep != WR_COUNT) {
		status = replies[rep].code;
		reason = replies[rep].reason;
		body = replies[rep].body;
		len = (int)strlen(body);
	}

	/* the log's fields escape ' ' and '"' too: no forged key=value */
	escape(log_field, lpath, sizeof(lpath),
	    evhttp_request_get_uri(req));
	escape(log_field, lhost, sizeof(lhost), host != NULL ? host : "-");
	escape(log_field, lua, sizeof(lua),
	    evhttp_find_header(in, "User-Agent"));
	sni_field(c, sni, sizeof(sni));
	log_info("w%lld: %s %s host=%s sni=%s ua=\"%s\" status=%d bytes=%d "
	    "challenge=%s from %s port %d", c->id, method, lpath, lhost, sni,
	    lua, status, head ? 0 : len, ch != NULL ? chname : "-", c->client,
	    c->client_port);
	bytes = send_reply(c, req, status, reason, body, (size_t)len, head);
	conn_store(c, method, epath, host != NULL ? ehost : NULL,
	    evhttp_find_header(in, "User-Agent") != NULL ? eua : NULL, status,
	    (long long)bytes, ch != NULL ? chname : NULL,
	    error[0] != '\0' ? error : NULL);
}

/*
 * The web profile for tls.c into HOST (NAME and CIPHERS its strings):
 * certificates chosen by SNI among the name sets; TLS 1.2 and 1.3 with
 * every suite, so that no sender's policy fetch fails because of us
 * (what it negotiated is stored).
 */
static void
web_profile(const struct config *cfg, struct host_conf *host, char *name,
    char *ciphers)
{
	memset(host, 0, sizeof(*host));
	host->name = name;
	host->starttls = STARTTLS_REQUIRED;
	host->certificate = cfg->web.certificate;
	host->key = cfg->web.key;
	host->proto_min = TLS1_2_VERSION;
	host->proto_max = TLS1_3_VERSION;
	host->ciphers = ciphers;
}

struct policy_http *
policy_http_new(struct event_base *base, const struct config *cfg,
    struct store *store, char *err, size_t errlen)
{
	const struct web_conf *w = &cfg->web;
	struct policy_http *ph;
	struct host_conf host;
	char name[] = WEB_PROFILE, ciphers[] = "all";
	size_t i;

	if ((ph = calloc(1, sizeof(*ph))) == NULL ||
	    (ph->bound = calloc(w->nlisten + 1, sizeof(*ph->bound))) == NULL ||
	    (ph->limit = connlimit_new(cfg->max_connections,
	    cfg->max_per_ip)) == NULL ||
	    (ph->http = httpd_new(base, cfg)) == NULL) {
		snprintf(err, errlen, "[web]: out of memory");
		policy_http_free(ph);
		return NULL;
	}
	ph->base = base;
	ph->cfg = cfg;
	ph->store = store;
	TAILQ_INIT(&ph->conns);

	web_profile(cfg, &host, name, ciphers);
	if ((ph->tls = tls_ctx_new(&host, err, errlen)) == NULL) {
		policy_http_free(ph);
		return NULL;
	}
	/* Our slot: the SSL's end is the connection's end (struct web_conn). */
	ph->ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
	if (ph->ex_index < 0) {
		snprintf(err, errlen, "[web]: no SSL ex_data slot");
		policy_http_free(ph);
		return NULL;
	}

	clock_ms_to_tv(httpd_timeout_ms(cfg) * WEB_LIFETIMES, &ph->lifetime);
	evhttp_set_bevcb(ph->http, on_connection, ph);
	evhttp_set_gencb(ph->http, on_request, ph);

	for (i = 0; i < w->nlisten; i++) {
		if (httpd_bind(ph->http, base, &w->listen[i], "web",
		    &ph->bound[i], err, errlen) == -1) {
			policy_http_free(ph);
			return NULL;
		}
		ph->nbound++;
	}
	return ph;
}

void
policy_http_set_store(struct policy_http *ph, struct store *store)
{
	if (ph != NULL)
		ph->store = store;
}

void
policy_http_set_web(struct policy_http *ph, struct web *web)
{
	if (ph != NULL)
		ph->web = web;
}

void
policy_http_reload(struct policy_http *ph)
{
	struct host_conf host;
	char name[] = WEB_PROFILE, ciphers[] = "all";

	if (ph == NULL)
		return;
	web_profile(ph->cfg, &host, name, ciphers);
	/* a connection's SSL holds a reference to the context it uses */
	(void)tls_ctx_reload(&ph->tls, &host);
}

void
policy_http_stop(struct policy_http *ph)
{
	size_t i;

	if (ph == NULL)
		return;
	for (i = 0; i < ph->nbound; i++)
		evhttp_del_accept_socket(ph->http, ph->bound[i]);
	if (ph->nbound > 0)
		log_info("web: no longer accepting, %u connections open",
		    connlimit_count(ph->limit));
	ph->nbound = 0;
}

void
policy_http_free(struct policy_http *ph)
{
	struct web_conn *c;

	if (ph == NULL)
		return;
	/*
	 * evhttp_free() frees the connections' bufferevents, whose SSLs
	 * (and so the web_conns) go only when event_base_free() runs the
	 * finalizers, after the store is closed: record and detach now.
	 */
	while ((c = TAILQ_FIRST(&ph->conns)) != NULL) {
		if (c->why == NULL)
			c->why = "shutdown";
		conn_store_end(c);
		conn_unlist(ph, c);
		if (c->timer != NULL)
			event_free(c->timer);
		c->timer = NULL;
		c->ph = NULL;
	}
	if (ph->http != NULL)
		evhttp_free(ph->http);
	tls_ctx_free(ph->tls);
	connlimit_free(ph->limit);
	free(ph->bound);
	free(ph);
}
