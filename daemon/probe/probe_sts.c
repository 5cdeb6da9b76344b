/*
 * The MTA-STS policy of a probed domain (RFC 8461 3.2, 3.3): fetched
 * from https://mta-sts.DOMAIN/.well-known/mta-sts.txt over a blocking
 * socket with poll() deadlines, the server's chain checked against
 * OpenSSL's default verify paths and its name with X509_check_host(), no
 * redirect followed, the body bounded and parsed; then each MX matched
 * against the policy's mx patterns (4.1).  The tool's thread, after
 * probe_dns() and before the SMTP step.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "probe.h"
#include "resolver.h"
#include "text.h"

#define STS_PORT	443
#define STS_PATH	"/.well-known/mta-sts.txt"
#define STS_BODY_MAX	(64 * 1024)	/* a policy is a few lines */
#define STS_HEAD_MAX	(16 * 1024)	/* status line and headers */
#define STS_ADDRS_MAX	8		/* addresses of mta-sts.DOMAIN tried */
#define STS_MX_MAX	64		/* mx patterns kept */
#define STS_MAX_AGE	31557600L	/* RFC 8461 3.2: a year */

/* One fetch: the connection and what came back.  Owns all. */
struct fetch {
	int		 fd;
	SSL		*ssl;
	unsigned int	 timeout_ms;
	char		*buf;		/* the whole reply, NUL-ended */
	size_t		 len;
	int		 overflow;	/* more than the bound came */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for EVENTS on FD until END: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, uint64_t end)
{
	struct pollfd pfd;
	uint64_t now;
	int n;

	for (;;) {
		if ((now = now_ms()) >= end)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)(end - now > 60000 ? 60000 : end - now));
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
sts_error(struct probe_sts *st, const char *msg)
{
	char buf[PROBE_TEXT_MAX + 1];

	if (st->fetch_error == NULL) {
		text_set(&st->fetch_error, msg);
		return st->fetch_error == NULL ? -1 : 0;
	}
	if (strlen(st->fetch_error) >= PROBE_TEXT_MAX)
		return 0;
	/* cut to the bound: the first errors say the most */
	if (snprintf(buf, sizeof(buf), "%s; %s", st->fetch_error, msg) < 0)
		return 0;
	text_set(&st->fetch_error, buf);
	return st->fetch_error == NULL ? -1 : 0;
}

/* OpenSSL's first queued reason, or WHAT; the queue emptied. */
static void
ssl_reason(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		(void)snprintf(buf, len, "%s: %s", what,
		    ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "error");
	else
		(void)snprintf(buf, len, "%s", what);
	ERR_clear_error();
}

/* A TCP connection to ADDR:443 within the timeout; -1 with ERR. */
static int
tcp_connect(const char *addr, int family, unsigned int timeout_ms,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl, el = sizeof(int);
	int fd, e = 0, w;

	memset(&ss, 0, sizeof(ss));
	if (family == 6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(STS_PORT);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			goto bad;
		sl = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(STS_PORT);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			goto bad;
		sl = sizeof(*sin);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		(void)snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		e = errno;
		goto fail;
	}
	if ((w = wait_fd(fd, POLLOUT, now_ms() + timeout_ms)) != 1) {
		(void)snprintf(err, errlen, "connect to %s port 443: %s", addr,
		    w == 0 ? "timed out" : strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1)
		e = errno;
	if (e == 0)
		return fd;
fail:
	(void)snprintf(err, errlen, "connect to %s port 443: %s", addr,
	    strerror(e));
	(void)close(fd);
	return -1;
bad:
	(void)snprintf(err, errlen, "%s: not an address", addr);
	return -1;
}

/*
 * One SSL call (CALL: 0 connect, 1 write, 2 read) driven to its end
 * through poll() until END: its result (> 0, or 0 at the peer's end),
 * -1 on error, -2 on timeout.
 */
static int
ssl_step(struct fetch *f, int call, void *buf, int len, uint64_t end)
{
	int n, e, w;

	for (;;) {
		ERR_clear_error();
		n = call == 0 ? SSL_connect(f->ssl) : call == 1 ?
		    SSL_write(f->ssl, buf, len) : SSL_read(f->ssl, buf, len);
		if (n > 0)
			return n;
		e = SSL_get_error(f->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_WANT_READ)
			w = wait_fd(f->fd, POLLIN, end);
		else if (e == SSL_ERROR_WANT_WRITE)
			w = wait_fd(f->fd, POLLOUT, end);
		else if (e == SSL_ERROR_SYSCALL && call == 2 &&
		    ERR_peek_error() == 0)
			return 0;	/* a close without close_notify */
		else
			return -1;
		if (w == 0)
			return -2;
		if (w == -1)
			return -1;
	}
}

/*
 * The handshake with HOST on F and the checks of its certificate into
 * ST->cert_valid.  0 to go on, 1 to stop (the error set), -1 memory.
 */
static int
handshake(struct fetch *f, SSL_CTX *ctx, const char *host,
    struct probe_sts *st)
{
	char err[PROBE_TEXT_MAX];
	X509 *peer;
	long v;
	int n;

	if ((f->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(f->ssl, f->fd) != 1 ||
	    SSL_set_tlsext_host_name(f->ssl, host) != 1) {
		ssl_reason(err, sizeof(err), "TLS setup");
		return sts_error(st, err) == -1 ? -1 : 1;
	}
	if ((n = ssl_step(f, 0, NULL, 0, now_ms() + f->timeout_ms)) != 1) {
		if (n == -2)
			(void)snprintf(err, sizeof(err),
			    "TLS handshake: timed out");
		else
			ssl_reason(err, sizeof(err), "TLS handshake");
		return sts_error(st, err) == -1 ? -1 : 1;
	}
	/* RFC 8461 3.3: a certificate valid for the mta-sts host */
	if ((peer = SSL_get1_peer_certificate(f->ssl)) == NULL) {
		st->cert_valid = PT_NO;
		return sts_error(st, "no server certificate") == -1 ? -1 : 1;
	}
	v = SSL_get_verify_result(f->ssl);
	if (v != X509_V_OK) {
		st->cert_valid = PT_NO;
		(void)snprintf(err, sizeof(err), "certificate: %s",
		    X509_verify_cert_error_string(v));
	} else if (X509_check_host(peer, host, 0, 0, NULL) != 1) {
		st->cert_valid = PT_NO;
		(void)snprintf(err, sizeof(err), "certificate: not valid for %s",
		    host);
	} else
		st->cert_valid = PT_YES;
	X509_free(peer);
	if (st->cert_valid == PT_NO)
		return sts_error(st, err) == -1 ? -1 : 1;
	return 0;
}

/* The request, then the whole reply (bounded) into F->buf. */
static int
exchange(struct fetch *f, const char *host, struct probe_sts *st)
{
	char req[512], err[PROBE_TEXT_MAX];
	uint64_t end = now_ms() + f->timeout_ms;
	int n;

	n = snprintf(req, sizeof(req), "GET " STS_PATH " HTTP/1.1\r\n"
	    "Host: %s\r\nUser-Agent: mailscope-probe\r\nAccept: text/plain\r\n"
	    "Connection: close\r\n\r\n", host);
	if (n < 0 || (size_t)n >= sizeof(req))
		return sts_error(st, "host name too long") == -1 ? -1 : 1;
	if ((n = ssl_step(f, 1, req, n, end)) <= 0) {
		if (n == -2)
			(void)snprintf(err, sizeof(err), "HTTP request: timed out");
		else
			ssl_reason(err, sizeof(err), "HTTP request");
		return sts_error(st, err) == -1 ? -1 : 1;
	}
	if ((f->buf = malloc(STS_HEAD_MAX + STS_BODY_MAX + 1)) == NULL)
		return -1;
	for (;;) {
		if (f->len == STS_HEAD_MAX + STS_BODY_MAX) {
			f->overflow = 1;
			break;
		}
		n = ssl_step(f, 2, f->buf + f->len,
		    (int)(STS_HEAD_MAX + STS_BODY_MAX - f->len), end);
		if (n == 0)
			break;
		if (n < 0) {
			f->buf[f->len] = '\0';
			if (n == -2)
				(void)snprintf(err, sizeof(err),
				    "HTTP reply: timed out");
			else
				ssl_reason(err, sizeof(err), "HTTP reply");
			return sts_error(st, err) == -1 ? -1 : 1;
		}
		f->len += (size_t)n;
	}
	f->buf[f->len] = '\0';
	return 0;
}

/* Header NAME's value in the header block HEAD (HLEN bytes) into V. */
static int
header(const char *head, size_t hlen, const char *name, char *v, size_t vlen)
{
	const char *s = head, *e, *end = head + hlen, *c;
	size_t n = strlen(name), vn;

	while (s < end) {
		if ((e = memchr(s, '\n', (size_t)(end - s))) == NULL)
			e = end;
		if ((size_t)(e - s) > n && strncasecmp(s, name, n) == 0 &&
		    s[n] == ':') {
			for (c = s + n + 1; c < e && (*c == ' ' || *c == '\t');
			    c++)
				;
			vn = (size_t)(e - c);
			while (vn > 0 && (c[vn - 1] == '\r' ||
			    c[vn - 1] == ' ' || c[vn - 1] == '\t'))
				vn--;
			(void)snprintf(v, vlen, "%.*s", (int)vn, c);
			return 1;
		}
		s = e + 1;
	}
	return 0;
}

/* RFC 9112 7.1: the chunked body at B (N bytes) decoded in place. */
static int
dechunk(char *b, size_t n, size_t *outlen)
{
	size_t in = 0, out = 0, size;
	char *e;

	for (;;) {
		if (in >= n || !isxdigit((unsigned char)b[in]))
			return -1;
		errno = 0;
		size = strtoul(b + in, &e, 16);
		if (errno != 0 || size > STS_BODY_MAX)
			return -1;
		if ((e = memchr(e, '\n', n - (size_t)(e - b))) == NULL)
			return -1;
		in = (size_t)(e - b) + 1;
		if (size == 0)
			break;
		if (size > n - in)
			return -1;
		memmove(b + out, b + in, size);
		out += size;
		in += size;
		if (in < n && b[in] == '\r')
			in++;
		if (in < n && b[in] == '\n')
			in++;
	}
	b[out] = '\0';
	*outlen = out;
	return 0;
}

/*
 * The HTTP reply of F: the status into ST, and on a 200 the body into
 * *BODY, *BLEN (in F's buffer).  0 with a body, 1 without, -1 memory.
 */
static int
http_reply(struct fetch *f, struct probe_sts *st, char **body, size_t *blen)
{
	char err[PROBE_TEXT_MAX], v[256], *hend, *e;
	size_t hlen, n;
	long cl;

	if ((hend = strstr(f->buf, "\r\n\r\n")) != NULL)
		*body = hend + 4;
	else if ((hend = strstr(f->buf, "\n\n")) != NULL)
		*body = hend + 2;
	else
		return sts_error(st, f->len == 0 ? "no HTTP reply" :
		    "no end of the HTTP headers") == -1 ? -1 : 1;
	hlen = (size_t)(hend - f->buf);
	if (hlen > STS_HEAD_MAX)
		return sts_error(st, "HTTP headers too long") == -1 ? -1 : 1;
	if (strncmp(f->buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)
	    f->buf[7]) || f->buf[8] != ' ' || !isdigit((unsigned char)
	    f->buf[9]) || !isdigit((unsigned char)f->buf[10]) ||
	    !isdigit((unsigned char)f->buf[11]))
		return sts_error(st, "not an HTTP reply") == -1 ? -1 : 1;
	st->http_status = (f->buf[9] - '0') * 100 + (f->buf[10] - '0') * 10 +
	    (f->buf[11] - '0');
	if (st->http_status != 200) {
		/* RFC 8461 3.3: redirects MUST NOT be followed */
		(void)snprintf(err, sizeof(err), "HTTP %d%s", st->http_status,
		    st->http_status / 100 == 3 ?
		    ": a redirect, not followed (RFC 8461 3.3)" : "");
		return sts_error(st, err) == -1 ? -1 : 1;
	}
	n = f->len - (size_t)(*body - f->buf);
	if (header(f->buf, hlen, "Transfer-Encoding", v, sizeof(v)) &&
	    strcasecmp(v, "chunked") == 0) {
		if (dechunk(*body, n, &n) == -1)
			return sts_error(st, "bad chunked body") == -1 ? -1 : 1;
	} else if (header(f->buf, hlen, "Content-Length", v, sizeof(v))) {
		errno = 0;
		cl = strtol(v, &e, 10);
		if (v[0] < '0' || v[0] > '9' || *e != '\0' || errno != 0)
			return sts_error(st, "bad Content-Length") == -1 ? -1 : 1;
		if ((size_t)cl > n) {
			if (f->overflow)
				return sts_error(st, "policy body over 64 KiB") ==
				    -1 ? -1 : 1;
			return sts_error(st, "body shorter than its "
			    "Content-Length") == -1 ? -1 : 1;
		}
		n = (size_t)cl;
		(*body)[n] = '\0';
	} else if (f->overflow)
		return sts_error(st, "policy body over 64 KiB") == -1 ? -1 : 1;
	if (n > STS_BODY_MAX)
		return sts_error(st, "policy body over 64 KiB") == -1 ? -1 : 1;
	/* RFC 8461 3.3: the policy is text/plain */
	if (!header(f->buf, hlen, "Content-Type", v, sizeof(v)))
		v[0] = '\0';
	if (strncasecmp(v, "text/plain", 10) != 0 || (v[10] != '\0' &&
	    v[10] != ';' && v[10] != ' ')) {
		char vv[64], *p;

		(void)snprintf(vv, sizeof(vv), "%s", v[0] != '\0' ? v :
		    "(none)");
		for (p = vv; *p != '\0'; p++)
			if (!isprint((unsigned char)*p))
				*p = '?';
		(void)snprintf(err, sizeof(err),
		    "Content-Type %s, not text/plain (RFC 8461 3.3)", vv);
		if (sts_error(st, err) == -1)
			return -1;
	}
	*blen = n;
	return 0;
}

/* RFC 8461 3.2: "key: value" lines (CRLF, or LF as senders accept). */
static int
parse_policy(struct probe_sts *st, const char *body, size_t blen)
{
	const char *s = body, *end = body + blen, *e, *colon, *v;
	char key[32], val[PROBE_TEXT_MAX + 1], err[PROBE_TEXT_MAX];
	int version = 0;
	size_t vn, i;

	while (s < end) {
		if ((e = memchr(s, '\n', (size_t)(end - s))) == NULL)
			e = end;
		vn = (size_t)(e - s);
		if (vn > 0 && s[vn - 1] == '\r')
			vn--;
		if (vn == 0) {
			s = e + 1;
			continue;
		}
		if ((colon = memchr(s, ':', vn)) == NULL) {
			if (sts_error(st, "policy: a line without ':'") == -1)
				return -1;
			s = e + 1;
			continue;
		}
		(void)snprintf(key, sizeof(key), "%.*s", (int)(colon - s), s);
		for (v = colon + 1; v < s + vn && (*v == ' ' || *v == '\t');
		    v++)
			;
		i = (size_t)(s + vn - v);
		while (i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
			i--;
		(void)snprintf(val, sizeof(val), "%.*s", (int)i, v);
		s = e + 1;
		if (strcmp(key, "version") == 0) {
			version = 1;
			if (strcmp(val, "STSv1") != 0 &&
			    sts_error(st, "policy: version is not STSv1") == -1)
				return -1;
		} else if (strcmp(key, "mode") == 0) {
			if (st->mode != NULL) {
				if (sts_error(st, "policy: two mode") == -1)
					return -1;
				continue;
			}
			text_set(&st->mode, val);
			if (st->mode == NULL)
				return -1;
			if (strcmp(val, "enforce") != 0 &&
			    strcmp(val, "testing") != 0 &&
			    strcmp(val, "none") != 0 && sts_error(st,
			    "policy: mode is not enforce, testing or none") ==
			    -1)
				return -1;
		} else if (strcmp(key, "max_age") == 0) {
			for (i = 0; val[i] != '\0' && isdigit((unsigned char)
			    val[i]); i++)
				;
			if (i == 0 || val[i] != '\0' || i > 10) {
				if (sts_error(st, "policy: max_age is not 1 to "
				    "10 digits") == -1)
					return -1;
				continue;
			}
			st->max_age = strtol(val, NULL, 10);
			if (st->max_age > STS_MAX_AGE) {
				(void)snprintf(err, sizeof(err), "policy: "
				    "max_age above %ld", STS_MAX_AGE);
				if (sts_error(st, err) == -1)
					return -1;
			}
		} else if (strcmp(key, "mx") == 0) {
			if (st->mx.n < STS_MX_MAX &&
			    probe_strv_add(&st->mx, val) == -1)
				return -1;
		}
		/* other keys: extensions, ignored (3.2) */
	}
	if (!version && sts_error(st, "policy: no version") == -1)
		return -1;
	if (st->mode == NULL && sts_error(st, "policy: no mode") == -1)
		return -1;
	if (st->max_age < 0 && sts_error(st, "policy: no max_age") == -1)
		return -1;
	if (st->mx.n == 0 && (st->mode == NULL ||
	    strcmp(st->mode, "none") != 0) &&
	    sts_error(st, "policy: no mx") == -1)
		return -1;
	return 0;
}

/*
 * RFC 8461 4.1: NAME matches PAT exactly, or PAT is "*.REST" and NAME
 * is one label more than REST (case-insensitive, final dots ignored).
 */
static int
mx_matches(const char *pat, const char *name)
{
	size_t pn = strlen(pat), nn = strlen(name);
	const char *dot;

	if (pn > 0 && pat[pn - 1] == '.')
		pn--;
	if (nn > 0 && name[nn - 1] == '.')
		nn--;
	if (pn > 2 && pat[0] == '*' && pat[1] == '.') {
		if ((dot = memchr(name, '.', nn)) == NULL || dot == name)
			return 0;
		return (size_t)(name + nn - (dot + 1)) == pn - 2 &&
		    strncasecmp(dot + 1, pat + 2, pn - 2) == 0;
	}
	return pn == nn && strncasecmp(pat, name, nn) == 0;
}

/* A resolver as probe_run() made it: R->resolver, else the system's. */
static struct resolver *
sts_resolver(const struct probe_opts *o, const struct probe_result *r,
    char *err, size_t errlen)
{
	struct config cfg = *o->cfg;	/* a copy: only .resolver differs */

	if (r->resolver != NULL && strcmp(r->resolver, "/etc/resolv.conf") !=
	    0)
		cfg.resolver = r->resolver;
	else
		cfg.resolver = NULL;
	return resolver_new(&cfg, err, errlen);
}

/* The addresses of HOST of the families O probes into ADDRS, FAMS. */
static int
sts_addrs(struct resolver *res, const struct probe_opts *o, const char *host,
    char addrs[][INET6_ADDRSTRLEN], int *fams, size_t *n, char *why,
    size_t whylen)
{
	static const uint16_t types[2] = { RESOLVER_A, RESOLVER_AAAA };
	struct resolver_answer a;
	size_t t, i;
	int used;

	*n = 0;
	why[0] = '\0';
	for (t = 0; t < 2; t++) {
		if ((t == 0 && !o->ipv4) || (t == 1 && !o->ipv6))
			continue;
		if (resolver_lookup(res, host, types[t], &a) == -1)
			return -1;
		used = (int)strlen(why);
		(void)snprintf(why + used, whylen - (size_t)used, "%s%s %s",
		    used > 0 ? ", " : "", t == 0 ? "A" : "AAAA",
		    a.n > 0 ? "found" : resolver_status_name(&a));
		for (i = 0; i < a.n && *n < STS_ADDRS_MAX; i++) {
			(void)snprintf(addrs[*n], INET6_ADDRSTRLEN, "%s",
			    a.data[i]);
			fams[(*n)++] = t == 0 ? 4 : 6;
		}
		resolver_answer_clear(&a);
	}
	return 0;
}

/*
 * A write to a connection the server closed raises SIGPIPE, which the
 * tool does not ignore: blocked on this thread while it fetches, and a
 * SIGPIPE raised meanwhile taken off before the mask is restored.
 */
static void
sigpipe_block(sigset_t *old, int *was_pending)
{
	sigset_t pipe, pending;

	(void)sigemptyset(&pipe);
	(void)sigaddset(&pipe, SIGPIPE);
	*was_pending = sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &pipe, old);
}

static void
sigpipe_restore(const sigset_t *old, int was_pending)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe, pending;

	(void)sigemptyset(&pipe);
	(void)sigaddset(&pipe, SIGPIPE);
	if (!was_pending && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&pipe, NULL, &zero);
	(void)pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void
fetch_close(struct fetch *f)
{
	if (f->ssl != NULL) {
		(void)SSL_shutdown(f->ssl);	/* non-blocking: one try */
		SSL_free(f->ssl);
	}
	if (f->fd != -1)
		(void)close(f->fd);
	free(f->buf);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

int
probe_sts_fetch(const struct probe_opts *o, struct probe_result *r)
{
	struct probe_sts *st = &r->sts;
	char host[300], err[PROBE_TEXT_MAX], why[128];
	char addrs[STS_ADDRS_MAX][INET6_ADDRSTRLEN];
	int fams[STS_ADDRS_MAX], rc = -1, k = 1, was_pending = 0;
	sigset_t oldmask;
	struct resolver *res;
	struct fetch f;
	SSL_CTX *ctx = NULL;
	char *body = NULL;
	size_t naddrs, i, blen = 0;

	memset(&f, 0, sizeof(f));
	f.fd = -1;
	f.timeout_ms = o->timeout_ms;
	/* RFC 8461 3.3: a policy is fetched only when the TXT says so */
	if (st->txt == NULL)
		return 0;
	if (snprintf(host, sizeof(host), "mta-sts.%s", r->domain) >=
	    (int)sizeof(host))
		return sts_error(st, "domain too long");
	if ((res = sts_resolver(o, r, err, sizeof(err))) == NULL)
		return sts_error(st, err);
	/* both lookups within one step's time */
	resolver_set_deadline(res, o->timeout_ms);
	if (sts_addrs(res, o, host, addrs, fams, &naddrs, why,
	    sizeof(why)) == -1) {
		resolver_free(res);
		return -1;
	}
	resolver_free(res);
	if (naddrs == 0) {
		(void)snprintf(err, sizeof(err), "%s: no address (%s)", host,
		    why);
		return sts_error(st, err);
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_reason(err, sizeof(err), "TLS setup");
		return sts_error(st, err);
	}
	/* the system's CAs: SSL_CERT_FILE and SSL_CERT_DIR are honoured */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error();
	/* verified below, after the handshake, to say why it failed */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/*
	 * Web servers often close without close_notify: the reply's length
	 * (Content-Length, chunked) tells a cut body, not the TLS layer.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	sigpipe_block(&oldmask, &was_pending);
	for (i = 0; i < naddrs; i++) {
		if (!probe_addr_allowed(o, addrs[i])) {
			(void)snprintf(err, sizeof(err), "%s: not a public "
			    "address, not connected to", addrs[i]);
			if (i + 1 == naddrs && sts_error(st, err) == -1)
				goto out;
			continue;
		}
		if ((f.fd = tcp_connect(addrs[i], fams[i], o->timeout_ms, err,
		    sizeof(err))) == -1) {
			if (i + 1 == naddrs && sts_error(st, err) == -1)
				goto out;
			continue;
		}
		break;
	}
	if (f.fd == -1) {
		rc = 0;
		goto out;
	}
	if ((k = handshake(&f, ctx, host, st)) != 0 ||
	    (k = exchange(&f, host, st)) != 0 ||
	    (k = http_reply(&f, st, &body, &blen)) != 0) {
		rc = k == -1 ? -1 : 0;
		goto out;
	}
	st->fetched = 1;
	/* the body as received: it ends at a NUL if it holds one */
	text_set(&st->policy, body);
	if (st->policy == NULL || parse_policy(st, body, blen) == -1)
		goto out;
	rc = 0;
out:
	if (rc == 0 && st->fetched && st->mode != NULL)
		for (i = 0; i < r->nmx; i++) {
			size_t j;

			r->mx[i].sts_match = PT_NO;
			for (j = 0; j < st->mx.n; j++)
				if (mx_matches(st->mx.v[j], r->mx[i].name))
					r->mx[i].sts_match = PT_YES;
		}
	fetch_close(&f);
	if (ctx != NULL)
		sigpipe_restore(&oldmask, was_pending);
	SSL_CTX_free(ctx);
	return rc;
}
