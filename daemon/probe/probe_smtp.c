/*
 * The SMTP side of `mailscope probe`: every MX address in parallel on
 * the tool's event base, the main dialogue (banner, EHLO, STARTTLS, the
 * handshake, EHLO again, the policy checks, RSET, QUIT; never DATA) and
 * then one handshake per TLS version and per weak suite class.  The
 * tool's thread.  RFC 5321 (4.2 replies, 4.5.3 limits), RFC 3207
 * (STARTTLS), RFC 7505/7672 facts are recorded by probe_tls.c.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "clock.h"
#include "log.h"
#include "probe.h"
#include "types.h"

/* Bounds on what one server may send (hostile servers end in bounded
   time and memory). */
#define REPLY_LINE_MAX	4096		/* bytes of one reply line */
#define REPLY_LINES_MAX	100		/* lines of one multi-line reply */
#define CONN_READ_MAX	(256 * 1024)	/* bytes read on one connection */
#define CERT_LIST_MAX	(100 * 1024)	/* the server's certificate chain */

/*
 * The phases of one connection.  The main dialogue walks them all in
 * order (skipping STARTTLS when it is not offered); a handshake try
 * goes CONNECT, BANNER, EHLO, STARTTLS, HANDSHAKE, QUIT.
 */
enum pstate {
	ST_CONNECT,
	ST_BANNER,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_HANDSHAKE,
	ST_EHLO_TLS,
	ST_MAIL,
	ST_RCPT_POSTMASTER,
	ST_RCPT_ABUSE,
	ST_RCPT_RANDOM,
	ST_RSET_1,
	ST_MAIL_RELAY,
	ST_RCPT_RELAY,
	ST_RSET_2,
	ST_MAIL_SPF,
	ST_RCPT_SPF,
	ST_RSET_3,
	ST_QUIT,
	ST_DONE
};

static const char *const state_names[] = {
	[ST_CONNECT] = "connect",
	[ST_BANNER] = "banner",
	[ST_EHLO] = "ehlo",
	[ST_HELO] = "helo",
	[ST_STARTTLS] = "starttls",
	[ST_HANDSHAKE] = "handshake",
	[ST_EHLO_TLS] = "ehlo-tls",
	[ST_MAIL] = "mail",
	[ST_RCPT_POSTMASTER] = "rcpt-postmaster",
	[ST_RCPT_ABUSE] = "rcpt-abuse",
	[ST_RCPT_RANDOM] = "rcpt-random",
	[ST_RSET_1] = "rset",
	[ST_MAIL_RELAY] = "mail-relay",
	[ST_RCPT_RELAY] = "rcpt-relay",
	[ST_RSET_2] = "rset",
	[ST_MAIL_SPF] = "mail-spf",
	[ST_RCPT_SPF] = "rcpt-spf",
	[ST_RSET_3] = "rset",
	[ST_QUIT] = "quit",
	[ST_DONE] = "done",
};

/* What a connection is for. */
enum ckind {
	CK_MAIN,		/* the main dialogue */
	CK_PLAIN,		/* the policy checks again without STARTTLS,
				   after the main handshake failed */
	CK_VERSION,		/* one TLS version alone */
	CK_WEAK			/* one weak suite class alone */
};

static const char *const kind_names[] = {
	[CK_MAIN] = "main",
	[CK_PLAIN] = "plain",
	[CK_VERSION] = "version",
	[CK_WEAK] = "weak",
};

#define NTRIES	(PROBE_NVERSIONS + PROBE_NWEAK)

/* The SSL_CTX of one try, or why this OpenSSL cannot make that hello. */
struct tryctx {
	SSL_CTX		*ctx;		/* owned; NULL: see why */
	char		 why[160];
};

/* What every address of one probe_smtp() call shares. */
struct net {
	struct event_base	*base;		/* borrowed */
	const struct probe_opts	*opts;		/* borrowed */
	struct probe_result	*r;		/* borrowed */
	SSL_CTX			*main_ctx;	/* owned */
	struct tryctx		 tries[NTRIES];	/* versions, then weak */
	OSSL_LIB_CTX		*weak_lib;	/* owned; NULL: the default */
	OSSL_PROVIDER		*weak_prov[2];	/* owned: default, legacy */
	const char		*hostname;	/* EHLO */
	char			 mail_from[300];
	char			 spf_from[300];
	int			 pending;	/* addresses not done */
	int			 oom;
};

struct conn;

/* One address of one MX host. */
struct target {
	struct net		*net;
	const struct probe_mx	*mx;		/* borrowed */
	struct probe_addr	*a;		/* borrowed */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct event		*deadline;	/* owned */
	struct conn		*conns;		/* owned, a list */
	int			 nconns;
	int			 main_done;	/* main (and plain) dialogue */
	int			 tries_ok;	/* STARTTLS offered: try them */
	int			 next_try;	/* index into net->tries */
	int			 stopped;	/* a->stop set by a failure */
	int			 stopped_plain;	/* no (more) plain retry */
	int			 done;
	char			 random_local[40];
};

/* One TCP connection to a target. */
struct conn {
	struct target		*t;		/* borrowed */
	struct conn		*next;
	enum ckind		 kind;
	int			 idx;		/* of the try */
	enum pstate		 state;
	int			 fd;
	SSL			*ssl;		/* owned */
	struct event		*ev_read;	/* owned, persistent */
	struct event		*ev_write;	/* owned */
	struct event		*ev_timer;	/* owned: the step's timeout */
	struct evbuffer		*in;		/* owned */
	struct evbuffer		*out;		/* owned */
	size_t			 nread;
	double			 connect_start;
	/* the reply being read */
	int			 code;
	int			 nlines;
	char			 first[PROBE_TEXT_MAX + 1];
	unsigned int		 ext;
	long long		 size_limit;
};

static void	conn_io(evutil_socket_t, short, void *);
static void	conn_timeout(evutil_socket_t, short, void *);
static void	target_schedule(struct target *);

static int
is2(int code)
{
	return code >= 200 && code < 300;
}

static int
is4(int code)
{
	return code >= 400 && code < 500;
}

static int
is5(int code)
{
	return code >= 500 && code < 600;
}

static int
main_kind(const struct conn *c)
{
	return c->kind == CK_MAIN || c->kind == CK_PLAIN;
}

static void
set_str(struct net *n, char **dst, const char *s)
{
	size_t len;

	free(*dst);
	*dst = NULL;
	if (s == NULL)
		return;
	len = strnlen(s, PROBE_TEXT_MAX);
	if ((*dst = malloc(len + 1)) == NULL) {
		n->oom = 1;
		return;
	}
	memcpy(*dst, s, len);
	(*dst)[len] = '\0';
}

/* A transcript line of the main dialogue, the last one saying it is cut. */
static void
note(struct conn *c, const char *fmt, ...)
{
	struct probe_strv *tx = &c->t->a->transcript;
	char line[PROBE_TEXT_MAX + 1];
	va_list ap;

	if (!main_kind(c) || tx->n >= PROBE_TRANSCRIPT_MAX)
		return;
	if (tx->n == PROBE_TRANSCRIPT_MAX - 1)
		snprintf(line, sizeof(line), "-- transcript cut at %d lines",
		    PROBE_TRANSCRIPT_MAX);
	else {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
	}
	if (probe_strv_add(tx, line) == -1)
		c->t->net->oom = 1;
}

static void
set_state(struct conn *c, enum pstate st)
{
	const struct probe_opts *o = c->t->net->opts;

	c->state = st;
	log_debug("probe %s: %s%s%s -> %s", c->t->a->addr, kind_names[c->kind],
	    c->kind == CK_VERSION ? " " : c->kind == CK_WEAK ? " " : "",
	    c->kind == CK_VERSION ? probe_tlsv_name((enum probe_tlsv)c->idx) :
	    c->kind == CK_WEAK ? probe_weak_name((enum probe_weak)c->idx) : "",
	    state_names[st]);
	if (main_kind(c) && o->progress != NULL)
		o->progress(o->progress_arg, c->t->mx, c->t->a,
		    state_names[st]);
}

/* (Re)arms the step's timeout: every step gets the whole of it. */
static void
arm(struct conn *c)
{
	struct timeval tv;

	clock_ms_to_tv(c->t->net->opts->timeout_ms, &tv);
	evtimer_add(c->ev_timer, &tv);
}

/*
 * The main dialogue stopped: the first failure is the one kept (the
 * plain-text retry after a failed handshake does not hide it).
 */
static void
main_stop(struct conn *c, enum probe_stop stop, const char *fmt, ...)
{
	struct probe_addr *a = c->t->a;
	char why[PROBE_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	note(c, "-- stopped (%s): %s", state_names[c->state], why);
	if (c->t->stopped)
		return;
	c->t->stopped = 1;
	a->stop = stop;
	set_str(c->t->net, &a->stop_detail, why);
}

static void
try_result(struct conn *c, enum probe_tri accepted, const char *fmt, ...)
{
	struct probe_try *p;
	char why[PROBE_TEXT_MAX + 1];
	va_list ap;

	p = c->kind == CK_VERSION ? &c->t->a->versions[c->idx] :
	    &c->t->a->weak[c->idx];
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p->accepted = accepted;
	set_str(c->t->net, &p->detail, why);
}

/* The whole error queue of OpenSSL as one line into BUF. */
static void
ssl_why(char *buf, size_t len, int sslerr, int ret)
{
	unsigned long e;
	size_t used = 0;
	char one[256];
	int n, saved = errno;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		/* "error:0A00010B:SSL routines::wrong version number" */
		n = snprintf(buf + used, len - used, "%s%s",
		    used > 0 ? "; " : "", ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : one);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	ERR_clear_error();	/* what did not fit */
	if (buf[0] != '\0')
		return;
	if (sslerr == SSL_ERROR_ZERO_RETURN || (sslerr == SSL_ERROR_SYSCALL &&
	    ret == 0))
		snprintf(buf, len, "connection closed by the server");
	else if (sslerr == SSL_ERROR_SYSCALL && saved != 0)
		snprintf(buf, len, "%s", strerror(saved));
	else
		snprintf(buf, len, "TLS error %d", sslerr);
}

static void
conn_free(struct conn *c)
{
	struct target *t = c->t;
	struct conn **pp;

	for (pp = &t->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	t->nconns--;
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c);
}

/* Ends C; its target may go on with the next connection or finish. */
static void
conn_end(struct conn *c)
{
	struct target *t = c->t;

	const struct probe_opts *o = t->net->opts;

	if (main_kind(c)) {
		t->main_done = 1;
		c->state = ST_DONE;
		/* the display's step while the handshake tries go on */
		if (o->progress != NULL && !t->done && (t->nconns > 1 ||
		    (t->tries_ok && t->next_try < NTRIES)))
			o->progress(o->progress_arg, t->mx, t->a,
			    "handshakes");
	}
	conn_free(c);
	target_schedule(t);
}

static int conn_start(struct target *, enum ckind, int idx);

/* Queues LINE (without CRLF) and sends what can be sent. */
static int	conn_flush(struct conn *);

static int
send_cmd(struct conn *c, enum pstate next, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		main_stop(c, PSTOP_PROTOCOL, "command too long");
		conn_end(c);
		return -1;
	}
	note(c, "C: %s", line);
	set_state(c, next);
	c->code = 0;
	c->nlines = 0;
	c->ext = 0;
	if (evbuffer_add_printf(c->out, "%s\r\n", line) < 0) {
		c->t->net->oom = 1;
		conn_end(c);
		return -1;
	}
	arm(c);
	return conn_flush(c);
}

static int
quit(struct conn *c)
{
	return send_cmd(c, ST_QUIT, "QUIT");
}

/* An I/O failure or the server's close in C's current state. */
static int
conn_lost(struct conn *c, const char *why)
{
	if (c->state == ST_QUIT || c->state == ST_DONE) {
		conn_end(c);
		return -1;
	}
	if (main_kind(c))
		main_stop(c, c->state == ST_HANDSHAKE ? PSTOP_TLS :
		    c->state == ST_CONNECT ? PSTOP_CONNECT :
		    c->state == ST_BANNER ? PSTOP_BANNER : PSTOP_PROTOCOL,
		    "%s during %s", why, state_names[c->state]);
	else if (c->state == ST_HANDSHAKE)
		try_result(c, PT_NO, "%s", why);
	else
		try_result(c, PT_UNKNOWN, "not tried: %s during %s", why,
		    state_names[c->state]);
	conn_end(c);
	return -1;
}

static int
conn_flush(struct conn *c)
{
	char why[300];
	unsigned char *p;
	size_t len;
	ssize_t n;
	int r, e;

	while ((len = evbuffer_get_length(c->out)) > 0) {
		p = evbuffer_pullup(c->out, -1);
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX :
			    (int)len);
			if (r > 0) {
				evbuffer_drain(c->out, (size_t)r);
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE ||
			    e == SSL_ERROR_WANT_READ) {
				if (e == SSL_ERROR_WANT_WRITE)
					event_add(c->ev_write, NULL);
				return 0;
			}
			ssl_why(why, sizeof(why), e, r);
			return conn_lost(c, why);
		}
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			evbuffer_drain(c->out, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			event_add(c->ev_write, NULL);
			return 0;
		}
		return conn_lost(c, strerror(errno));
	}
	return 0;
}

/* ---- the extensions of an EHLO reply (RFC 5321 4.1.1.1) ---- */

static const struct {
	const char	*keyword;
	unsigned int	 flag;
} extensions[] = {
	{ "SIZE", PX_SIZE },			/* RFC 1870 */
	{ "PIPELINING", PX_PIPELINING },	/* RFC 2920 */
	{ "8BITMIME", PX_8BITMIME },		/* RFC 6152 */
	{ "SMTPUTF8", PX_SMTPUTF8 },		/* RFC 6531 */
	{ "CHUNKING", PX_CHUNKING },		/* RFC 3030 */
	{ "STARTTLS", PX_STARTTLS },		/* RFC 3207 */
	{ "REQUIRETLS", PX_REQUIRETLS },	/* RFC 8689 */
	{ "ENHANCEDSTATUSCODES", PX_ENHANCEDSTATUSCODES }, /* RFC 2034 */
	{ "DSN", PX_DSN },			/* RFC 3461 */
	{ "AUTH", PX_AUTH },			/* RFC 4954 */
};

static void
parse_ext(struct conn *c, const char *text)
{
	char kw[32];
	size_t i, n;
	const char *p;
	char *end;
	long long v;

	n = strcspn(text, " =");
	if (n == 0 || n >= sizeof(kw))
		return;
	memcpy(kw, text, n);
	kw[n] = '\0';
	for (i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		if (strcasecmp(kw, extensions[i].keyword) != 0)
			continue;
		c->ext |= extensions[i].flag;
		if (extensions[i].flag != PX_SIZE)
			return;
		/* RFC 1870 4: "SIZE" alone or 0 is no fixed limit */
		p = text + n;
		while (*p == ' ')
			p++;
		c->size_limit = 0;
		if (*p >= '0' && *p <= '9') {
			errno = 0;
			v = strtoll(p, &end, 10);
			if (errno == 0 && v >= 0)
				c->size_limit = v;
		}
		return;
	}
}

/* ---- the policy checks ---- */

static void
compute_spf(struct probe_addr *a)
{
	/* only meaningful when the probe's own MAIL was accepted */
	if (!is2(a->mail_code) || a->spf_mail_code == 0)
		a->spf_checked = PT_UNKNOWN;
	else if (is5(a->spf_mail_code))
		a->spf_checked = PT_YES;
	else if (!is2(a->spf_mail_code))
		a->spf_checked = PT_UNKNOWN;
	else if (is5(a->spf_rcpt_code) && is2(a->rcpt_postmaster))
		a->spf_checked = PT_YES;
	else if (is2(a->spf_rcpt_code))
		a->spf_checked = PT_NO;
	else
		a->spf_checked = PT_UNKNOWN;
}

static int
start_policy(struct conn *c)
{
	return send_cmd(c, ST_MAIL, "MAIL FROM:<%s>", c->t->net->mail_from);
}

static int
start_handshake(struct conn *c);

/* The EHLO (or HELO) went through: STARTTLS, or on to the checks. */
static int
after_hello(struct conn *c)
{
	struct target *t = c->t;

	if ((c->ext & PX_STARTTLS) && c->kind != CK_PLAIN) {
		if (c->kind == CK_MAIN && !t->tries_ok) {
			t->tries_ok = 1;
			target_schedule(t);
		}
		return send_cmd(c, ST_STARTTLS, "STARTTLS");
	}
	if (!main_kind(c)) {
		try_result(c, PT_UNKNOWN,
		    "not tried: STARTTLS not offered on this connection");
		return quit(c);
	}
	return start_policy(c);
}

/* The reply of C's current step is complete: what next. */
static int
on_reply(struct conn *c, int code)
{
	struct target *t = c->t;
	struct probe_addr *a = t->a;
	const char *text = c->first;

	if (!main_kind(c)) {
		switch (c->state) {
		case ST_BANNER:
			if (code != 220)
				goto try_refused;
			return send_cmd(c, ST_EHLO, "EHLO %s",
			    t->net->hostname);
		case ST_EHLO:
			if (code != 250)
				goto try_refused;
			return after_hello(c);
		case ST_STARTTLS:
			if (code != 220)
				goto try_refused;
			return start_handshake(c);
		case ST_QUIT:
		default:
			conn_end(c);
			return -1;
		}
try_refused:
		try_result(c, PT_UNKNOWN, "not tried: %s refused: %s",
		    state_names[c->state], text);
		return quit(c);
	}

	/* RFC 5321 3.8: 421 closes the session whatever the step */
	if (code == 421 && c->state != ST_BANNER && c->state != ST_QUIT &&
	    c->state != ST_EHLO && c->state != ST_HELO) {
		main_stop(c, PSTOP_PROTOCOL, "the server closed at %s: %s",
		    state_names[c->state], text);
		conn_end(c);
		return -1;
	}
	switch (c->state) {
	case ST_BANNER:
		if (c->kind == CK_MAIN) {
			const char *sp;
			char word[PROBE_TEXT_MAX + 1];
			size_t n;

			a->banner_code = code;
			set_str(t->net, &a->banner, text);
			sp = text;
			n = strcspn(sp, " ");
			memcpy(word, sp, n);
			word[n] = '\0';
			set_str(t->net, &a->banner_name, n > 0 ? word : NULL);
		}
		if (code != 220) {
			main_stop(c, PSTOP_BANNER, "banner %d %s", code, text);
			return quit(c);
		}
		return send_cmd(c, ST_EHLO, "EHLO %s", t->net->hostname);
	case ST_EHLO:
		if (c->kind == CK_MAIN)
			a->ehlo_code = code;
		if (code != 250)	/* RFC 5321 3.2: fall back to HELO */
			return send_cmd(c, ST_HELO, "HELO %s",
			    t->net->hostname);
		if (c->kind == CK_MAIN) {
			a->ext = c->ext;
			a->size_limit = (c->ext & PX_SIZE) ? c->size_limit : -1;
		}
		return after_hello(c);
	case ST_HELO:
		if (code != 250) {
			main_stop(c, PSTOP_EHLO, "EHLO and HELO refused: %d %s",
			    code, text);
			return quit(c);
		}
		c->ext = 0;
		return start_policy(c);
	case ST_STARTTLS:
		a->starttls_code = code;
		if (code != 220) {
			/* go on in plain text, as an opportunistic sender */
			if (a->tls_error == NULL) {
				char why[PROBE_TEXT_MAX + 32];

				snprintf(why, sizeof(why),
				    "STARTTLS refused: %d %.*s", code,
				    PROBE_TEXT_MAX, text);
				set_str(t->net, &a->tls_error, why);
			}
			return start_policy(c);
		}
		return start_handshake(c);
	case ST_EHLO_TLS:
		if (code != 250) {
			main_stop(c, PSTOP_EHLO, "EHLO after STARTTLS refused: "
			    "%d %s", code, text);
			return quit(c);
		}
		a->ext_tls = c->ext;
		if (c->ext & PX_SIZE)
			a->size_limit = c->size_limit;
		return start_policy(c);
	case ST_MAIL:
		a->mail_code = code;
		if (!is2(code))
			return send_cmd(c, ST_RSET_3, "RSET");
		return send_cmd(c, ST_RCPT_POSTMASTER, "RCPT TO:<postmaster@%s>",
		    t->net->r->domain);
	case ST_RCPT_POSTMASTER:
		a->rcpt_postmaster = code;
		/* greylisting shows as a 4xx on the first RCPT */
		a->greylisting = is4(code) ? PT_YES : PT_NO;
		return send_cmd(c, ST_RCPT_ABUSE, "RCPT TO:<abuse@%s>",
		    t->net->r->domain);
	case ST_RCPT_ABUSE:
		a->rcpt_abuse = code;
		return send_cmd(c, ST_RCPT_RANDOM, "RCPT TO:<%s@%s>",
		    t->random_local, t->net->r->domain);
	case ST_RCPT_RANDOM:
		a->rcpt_random = code;
		if (is2(code))
			a->recipient_filtering = PT_NO;
		else if (is5(code) && is2(a->rcpt_postmaster))
			a->recipient_filtering = PT_YES;
		return send_cmd(c, ST_RSET_1, "RSET");
	case ST_RSET_1:
		return send_cmd(c, ST_MAIL_RELAY, "MAIL FROM:<%s>",
		    t->net->mail_from);
	case ST_MAIL_RELAY:
		if (!is2(code))
			return send_cmd(c, ST_RSET_2, "RSET");
		/* RFC 2606: example.net is nobody's */
		return send_cmd(c, ST_RCPT_RELAY, "RCPT TO:<x@example.net>");
	case ST_RCPT_RELAY:
		a->rcpt_relay = code;
		/* anything but a refusal relays; a 4xx is no relay either */
		a->open_relay = is4(code) || is5(code) ? PT_NO : PT_YES;
		return send_cmd(c, ST_RSET_2, "RSET");
	case ST_RSET_2:
		return send_cmd(c, ST_MAIL_SPF, "MAIL FROM:<%s>",
		    t->net->spf_from);
	case ST_MAIL_SPF:
		a->spf_mail_code = code;
		if (!is2(code)) {
			compute_spf(a);
			return send_cmd(c, ST_RSET_3, "RSET");
		}
		return send_cmd(c, ST_RCPT_SPF, "RCPT TO:<postmaster@%s>",
		    t->net->r->domain);
	case ST_RCPT_SPF:
		a->spf_rcpt_code = code;
		compute_spf(a);
		return send_cmd(c, ST_RSET_3, "RSET");
	case ST_RSET_3:
		return quit(c);
	case ST_QUIT:
	default:
		conn_end(c);
		return -1;
	}
}

/*
 * One line of a reply (RFC 5321 4.2): three digits, then "-" on all but
 * the last line, then text.
 */
static int
on_line(struct conn *c, char *line, size_t len)
{
	size_t i;
	int code, last;

	for (i = 0; i < len; i++)	/* kept as received, but a C string */
		if (line[i] == '\0')
			line[i] = '?';
	line[len] = '\0';
	note(c, "S: %s", line);
	if (c->state == ST_DONE || c->state == ST_CONNECT ||
	    c->state == ST_HANDSHAKE)
		return 0;
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		if (main_kind(c)) {
			main_stop(c, PSTOP_PROTOCOL, "not an SMTP reply: %.80s",
			    line);
			conn_end(c);
		} else {
			try_result(c, PT_UNKNOWN, "not tried: not an SMTP "
			    "reply during %s", state_names[c->state]);
			conn_end(c);
		}
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	last = len == 3 || line[3] == ' ';
	if (c->nlines == 0) {
		c->code = code;
		size_t n = len > 4 ? len - 4 : 0;

		if (n > PROBE_TEXT_MAX)
			n = PROBE_TEXT_MAX;
		memcpy(c->first, line + 4, n);
		c->first[n] = '\0';
	} else if ((c->state == ST_EHLO || c->state == ST_EHLO_TLS) &&
	    len > 4)
		parse_ext(c, line + 4);
	if (++c->nlines > REPLY_LINES_MAX) {
		if (main_kind(c))
			main_stop(c, PSTOP_PROTOCOL, "more than %d lines in "
			    "one reply", REPLY_LINES_MAX);
		else
			try_result(c, PT_UNKNOWN, "not tried: more than %d "
			    "lines in one reply", REPLY_LINES_MAX);
		conn_end(c);
		return -1;
	}
	if (!last)
		return 0;
	evtimer_del(c->ev_timer);
	return on_reply(c, c->code);
}

/* Every complete line in C's input; -1 when C is gone. */
static int
conn_lines(struct conn *c)
{
	struct evbuffer_ptr p;
	char line[REPLY_LINE_MAX + 1];
	size_t eol;

	while (c->state != ST_HANDSHAKE) {
		p = evbuffer_search_eol(c->in, NULL, &eol, EVBUFFER_EOL_CRLF);
		if (p.pos < 0) {
			/* RFC 5321 4.5.3.1.5 is 512; hostile lines end here */
			if (evbuffer_get_length(c->in) <= REPLY_LINE_MAX)
				return 0;
			goto toolong;
		}
		if ((size_t)p.pos > REPLY_LINE_MAX)
			goto toolong;
		evbuffer_remove(c->in, line, (size_t)p.pos);
		evbuffer_drain(c->in, eol);
		if (on_line(c, line, (size_t)p.pos) == -1)
			return -1;
	}
	return 0;
toolong:
	if (main_kind(c))
		main_stop(c, PSTOP_PROTOCOL, "a reply line longer than %d "
		    "bytes", REPLY_LINE_MAX);
	else
		try_result(c, PT_UNKNOWN, "not tried: a reply line longer "
		    "than %d bytes", REPLY_LINE_MAX);
	conn_end(c);
	return -1;
}

/* Reads what is there; -1 when C is gone. */
static int
conn_read(struct conn *c)
{
	char buf[4096], why[300];
	ssize_t n;
	int r, e;

	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_read(c->ssl, buf, sizeof(buf));
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					return 0;
				if (e == SSL_ERROR_WANT_WRITE) {
					event_add(c->ev_write, NULL);
					return 0;
				}
				ssl_why(why, sizeof(why), e, r);
				return conn_lost(c, why);
			}
			n = r;
		} else {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR))
				return 0;
			if (n < 0)
				return conn_lost(c, strerror(errno));
			if (n == 0)
				return conn_lost(c,
				    "connection closed by the server");
		}
		c->nread += (size_t)n;
		if (c->nread > CONN_READ_MAX) {
			if (main_kind(c))
				main_stop(c, PSTOP_PROTOCOL, "more than %d "
				    "bytes from the server", CONN_READ_MAX);
			else
				try_result(c, PT_UNKNOWN, "not tried: more "
				    "than %d bytes from the server",
				    CONN_READ_MAX);
			conn_end(c);
			return -1;
		}
		if (evbuffer_add(c->in, buf, (size_t)n) == -1) {
			c->t->net->oom = 1;
			conn_end(c);
			return -1;
		}
		if (conn_lines(c) == -1)
			return -1;
		if (c->state == ST_HANDSHAKE)
			return 0;
	}
}

/* ---- the TLS handshake ---- */

/* The version as probe_tlsv_name() spells it ("TLSv1.0", not "TLSv1"). */
static const char *
version_name(const SSL *ssl)
{
	switch (SSL_version(ssl)) {
	case TLS1_VERSION:	return "TLSv1.0";
	case TLS1_1_VERSION:	return "TLSv1.1";
	case TLS1_2_VERSION:	return "TLSv1.2";
	case TLS1_3_VERSION:	return "TLSv1.3";
	default:		return SSL_get_version(ssl);
	}
}

static int
handshake_done(struct conn *c)
{
	struct target *t = c->t;
	const SSL_CIPHER *cipher;
	const char *suite;

	cipher = SSL_get_current_cipher(c->ssl);
	suite = cipher == NULL ? "?" : SSL_CIPHER_standard_name(cipher) !=
	    NULL ? SSL_CIPHER_standard_name(cipher) :
	    SSL_CIPHER_get_name(cipher);
	if (!main_kind(c)) {
		try_result(c, PT_YES, "%s %s", version_name(c->ssl), suite);
		return quit(c);
	}
	note(c, "-- TLS: %s %s", version_name(c->ssl), suite);
	if (probe_tls_record(c->ssl, t->mx, t->a) == -1)
		t->net->oom = 1;
	return send_cmd(c, ST_EHLO_TLS, "EHLO %s", t->net->hostname);
}

static int
conn_handshake(struct conn *c)
{
	char why[300];
	unsigned long err;
	int r, e, ours;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(c->ssl);
	if (r == 1) {
		evtimer_del(c->ev_timer);
		return handshake_done(c);
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(c->ev_write, NULL);
		return 0;
	}
	/* our own bound on the server's certificates: it says nothing of
	   what the server accepts */
	err = ERR_peek_error();
	ours = ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_EXCESSIVE_MESSAGE_SIZE;
	ssl_why(why, sizeof(why), e, r);
	/* a refused handshake is evidence, not a warning */
	log_debug("probe %s: %s handshake failed: %s", c->t->a->addr,
	    kind_names[c->kind], why);
	if (!main_kind(c)) {
		if (ours)
			try_result(c, PT_UNKNOWN, "not judged: the server's "
			    "certificates exceed the probe's %d bytes (%s)",
			    CERT_LIST_MAX, why);
		else
			try_result(c, PT_NO, "%s", why);
		conn_end(c);
		return -1;
	}
	set_str(c->t->net, &c->t->a->tls_error, why);
	main_stop(c, PSTOP_TLS, "TLS handshake failed: %s", why);
	conn_end(c);
	return -1;
}

static int
start_handshake(struct conn *c)
{
	struct net *n = c->t->net;
	SSL_CTX *ctx;
	size_t left;

	/*
	 * RFC 3207 4.2 / 5: nothing the server sent before the handshake
	 * may be taken for part of the TLS session; throw it away.
	 */
	if ((left = evbuffer_get_length(c->in)) > 0) {
		note(c, "-- %zu bytes sent before the handshake discarded",
		    left);
		evbuffer_drain(c->in, left);
	}
	ctx = c->kind == CK_MAIN ? n->main_ctx : n->tries[c->kind ==
	    CK_VERSION ? c->idx : PROBE_NVERSIONS + c->idx].ctx;
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		n->oom = 1;
		conn_end(c);
		return -1;
	}
	/* SNI: the MX name (RFC 7672 8.1) */
	if (c->t->mx->name != NULL && c->t->mx->name[0] != '\0')
		SSL_set_tlsext_host_name(c->ssl, c->t->mx->name);
	SSL_set_connect_state(c->ssl);
	set_state(c, ST_HANDSHAKE);
	arm(c);
	return conn_handshake(c);
}

/* ---- connections ---- */

static void
conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_lost(c, strerror(err));
		return;
	}
	if (main_kind(c) && c->kind == CK_MAIN)
		c->t->a->connect_ms = (clock_now() - c->connect_start) * 1000.0;
	set_state(c, ST_BANNER);
	arm(c);
	event_add(c->ev_read, NULL);
}

static void
conn_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->state == ST_CONNECT) {
		if (what & EV_WRITE)
			conn_connected(c);
		return;
	}
	if (c->state == ST_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (evbuffer_get_length(c->out) > 0 && conn_flush(c) == -1)
		return;
	conn_read(c);
}

static void
conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	unsigned int ms = c->t->net->opts->timeout_ms;

	(void)fd;
	(void)what;
	if (c->state == ST_QUIT) {
		conn_end(c);
		return;
	}
	if (main_kind(c)) {
		if (c->state == ST_CONNECT)
			main_stop(c, PSTOP_CONNECT, "no connection within "
			    "%u ms", ms);
		else if (c->state == ST_HANDSHAKE)
			main_stop(c, PSTOP_TIMEOUT, "the TLS handshake did not "
			    "finish within %u ms", ms);
		else
			main_stop(c, PSTOP_TIMEOUT, "no complete reply to %s "
			    "within %u ms", state_names[c->state], ms);
	} else
		try_result(c, PT_UNKNOWN, "timeout during %s (%u ms)",
		    state_names[c->state], ms);
	conn_end(c);
}

static int
conn_start(struct target *t, enum ckind kind, int idx)
{
	struct net *n = t->net;
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		n->oom = 1;
		return -1;
	}
	c->t = t;
	c->kind = kind;
	c->idx = idx;
	c->fd = -1;
	c->size_limit = -1;
	c->next = t->conns;
	t->conns = c;
	t->nconns++;
	c->state = ST_CONNECT;
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL) {
		n->oom = 1;
		conn_end(c);
		return -1;
	}
	c->fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		conn_lost(c, strerror(errno));
		return -1;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->ev_read = event_new(n->base, c->fd, EV_READ | EV_PERSIST,
	    conn_io, c)) == NULL ||
	    (c->ev_write = event_new(n->base, c->fd, EV_WRITE, conn_io,
	    c)) == NULL ||
	    (c->ev_timer = evtimer_new(n->base, conn_timeout, c)) == NULL) {
		n->oom = 1;
		conn_end(c);
		return -1;
	}
	if (main_kind(c))
		set_state(c, ST_CONNECT);
	c->connect_start = clock_now();
	if (connect(c->fd, (struct sockaddr *)&t->ss, t->sslen) == -1 &&
	    errno != EINPROGRESS) {
		conn_lost(c, strerror(errno));
		return -1;
	}
	if (main_kind(c))
		note(c, "-- connect to %s port %u%s", t->a->addr,
		    n->opts->port, kind == CK_PLAIN ?
		    " again, without STARTTLS" : "");
	event_add(c->ev_write, NULL);
	arm(c);
	return 0;
}

/* ---- the addresses ---- */

static void
target_finish(struct target *t)
{
	struct probe_addr *a = t->a;
	int i;

	t->done = 1;
	if (t->deadline != NULL) {
		event_free(t->deadline);
		t->deadline = NULL;
	}
	for (i = 0; i < NTRIES; i++) {
		struct probe_try *p = i < PROBE_NVERSIONS ? &a->versions[i] :
		    &a->weak[i - PROBE_NVERSIONS];

		if (p->detail == NULL)
			set_str(t->net, &p->detail, t->tries_ok ?
			    "not tried: the address's deadline passed" :
			    "not tried: no STARTTLS");
	}
	if (!a->tls) {
		a->dane = t->mx->ntlsa == 0 ? PD_NONE : !t->mx->tlsa_q.ad ?
		    PD_UNVALIDATED : PD_NOT_TESTED;
	}
	a->ended = clock_now();
	if (t->net->opts->progress != NULL)
		t->net->opts->progress(t->net->opts->progress_arg, t->mx, a,
		    "done");
	t->net->pending--;
}

/*
 * Starts the next connections of T within its per_host bound, or
 * finishes T when nothing is left.
 */
static void
target_schedule(struct target *t)
{
	struct net *n = t->net;
	unsigned int max = n->opts->per_host > 0 ? n->opts->per_host : 1;
	struct probe_try *p;
	int i;

	if (t->done)
		return;
	while (t->tries_ok && t->next_try < NTRIES &&
	    (unsigned int)t->nconns < max) {
		i = t->next_try++;
		p = i < PROBE_NVERSIONS ? &t->a->versions[i] :
		    &t->a->weak[i - PROBE_NVERSIONS];
		if (n->tries[i].ctx == NULL) {
			p->accepted = PT_UNKNOWN;
			set_str(n, &p->detail, n->tries[i].why);
			continue;
		}
		conn_start(t, i < PROBE_NVERSIONS ? CK_VERSION : CK_WEAK,
		    i < PROBE_NVERSIONS ? i : i - PROBE_NVERSIONS);
		if (t->done)
			return;
	}
	/* the main handshake failed: the policy checks in plain text */
	if (t->main_done && t->a->stop == PSTOP_TLS && !t->stopped_plain &&
	    (unsigned int)t->nconns < max) {
		t->stopped_plain = 1;
		conn_start(t, CK_PLAIN, 0);
		if (t->done)
			return;
	}
	if (t->nconns == 0 && t->main_done &&
	    (!t->tries_ok || t->next_try >= NTRIES))
		target_finish(t);
}

static void
target_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;
	unsigned int ms = t->net->opts->deadline_ms;

	(void)fd;
	(void)what;
	/* no new connection from now on */
	t->next_try = NTRIES;
	t->stopped_plain = 1;
	while (t->conns != NULL) {
		struct conn *c = t->conns;

		if (main_kind(c))
			main_stop(c, PSTOP_TIMEOUT, "the address's deadline "
			    "(%u ms) passed during %s", ms,
			    state_names[c->state]);
		else
			try_result(c, PT_UNKNOWN, "not finished: the "
			    "address's deadline (%u ms) passed", ms);
		conn_end(c);
		if (t->done)
			return;
	}
	target_schedule(t);
}

/* ---- the TLS contexts ---- */

static const int tls_versions[PROBE_NVERSIONS] = {
	[PV_TLS10] = TLS1_VERSION,
	[PV_TLS11] = TLS1_1_VERSION,
	[PV_TLS12] = TLS1_2_VERSION,
	[PV_TLS13] = TLS1_3_VERSION,
};

/* A client context as every hello of the probe shares it. */
static SSL_CTX *
client_ctx(OSSL_LIB_CTX *lib)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new_ex(lib, NULL, TLS_client_method())) == NULL)
		return NULL;
	/* the probe records the chain; it never refuses one */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* a huge chain ends the handshake, not the probe's memory */
	SSL_CTX_set_max_cert_list(ctx, CERT_LIST_MAX);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

/* Whether CTX can make a hello at all (a version, a suite left). */
static int
ctx_offers(SSL_CTX *ctx)
{
	STACK_OF(SSL_CIPHER) *sk;
	SSL *ssl;
	int n = 0;

	if ((ssl = SSL_new(ctx)) == NULL)
		return 0;
	if ((sk = SSL_get1_supported_ciphers(ssl)) != NULL) {
		n = sk_SSL_CIPHER_num(sk);
		sk_SSL_CIPHER_free(sk);
	}
	SSL_free(ssl);
	ERR_clear_error();
	return n > 0;
}

static int
version_ctx(struct tryctx *tc, int v)
{
	SSL_CTX *ctx;

	if ((ctx = client_ctx(NULL)) == NULL)
		return -1;
	/* OpenSSL 3 signs TLS 1.0/1.1 with SHA-1/MD5: security level 0 */
	if (SSL_CTX_set_min_proto_version(ctx, tls_versions[v]) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, tls_versions[v]) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ALL:!aNULL:!eNULL:@SECLEVEL=0")
	    != 1 || !ctx_offers(ctx)) {
		snprintf(tc->why, sizeof(tc->why), "not tried: this OpenSSL "
		    "(%s) cannot offer %s", OPENSSL_VERSION_TEXT,
		    probe_tlsv_name((enum probe_tlsv)v));
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return 0;
	}
	tc->ctx = ctx;
	return 0;
}

/* Whether suite C belongs to weak class W. */
static int
weak_member(const SSL_CIPHER *c, enum probe_weak w)
{
	int enc = SSL_CIPHER_get_cipher_nid(c);
	int kx = SSL_CIPHER_get_kx_nid(c);
	int au = SSL_CIPHER_get_auth_nid(c);
	const char *name = SSL_CIPHER_get_name(c);
	int rc4 = enc == NID_rc4 || enc == NID_rc4_40;
	int des3 = enc == NID_des_ede3_cbc;

	/* TLS 1.3 suites and those needing a PSK or SRP secret: never */
	if (kx == NID_kx_any || kx == NID_kx_psk || kx == NID_kx_ecdhe_psk ||
	    kx == NID_kx_dhe_psk || kx == NID_kx_rsa_psk || kx == NID_kx_srp)
		return 0;
	switch (w) {
	case PW_NULL:
		return enc == NID_undef;
	case PW_EXPORT:		/* none since OpenSSL 1.1.0 */
		return strstr(name, "EXP") != NULL;
	case PW_RC4:
		return rc4;
	case PW_3DES:
		return des3;
	case PW_CBC_ONLY:
		return enc != NID_undef && !rc4 && !des3 &&
		    !SSL_CIPHER_is_aead(c) && au != NID_auth_null;
	case PW_NO_PFS:
		return kx == NID_kx_rsa && enc != NID_undef;
	}
	return 0;
}

static int
weak_ctx(struct net *n, struct tryctx *tc, enum probe_weak w)
{
	STACK_OF(SSL_CIPHER) *all;
	SSL_CTX *ctx, *every;
	char *list = NULL, *p;
	size_t len = 0, nl;
	const char *name;
	int i, rc = -1;

	if ((every = client_ctx(n->weak_lib)) == NULL)
		return -1;
	if (SSL_CTX_set_cipher_list(every, "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
	    != 1) {
		SSL_CTX_free(every);
		return -1;
	}
	all = SSL_CTX_get_ciphers(every);
	for (i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		if (!weak_member(sk_SSL_CIPHER_value(all, i), w))
			continue;
		name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(all, i));
		nl = strlen(name);
		if ((p = realloc(list, len + nl + 2)) == NULL)
			goto out;
		list = p;
		memcpy(list + len, name, nl);
		len += nl;
		list[len++] = ':';
		list[len] = '\0';
	}
	if (list == NULL) {
		snprintf(tc->why, sizeof(tc->why), "not tried: this OpenSSL "
		    "(%s) has no %s suites", OPENSSL_VERSION_TEXT,
		    probe_weak_name(w));
		rc = 0;
		goto out;
	}
	if ((p = realloc(list, len + 16)) == NULL)
		goto out;
	list = p;
	memcpy(list + len, "@SECLEVEL=0", sizeof("@SECLEVEL=0"));
	if ((ctx = client_ctx(n->weak_lib)) == NULL)
		goto out;
	/* a TLS 1.2 (or older) hello with that class only */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1)
		(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, "") != 1 ||
	    SSL_CTX_set_cipher_list(ctx, list) != 1 || !ctx_offers(ctx)) {
		snprintf(tc->why, sizeof(tc->why), "not tried: this OpenSSL "
		    "(%s) cannot offer its %s suites", OPENSSL_VERSION_TEXT,
		    probe_weak_name(w));
		SSL_CTX_free(ctx);
		rc = 0;
		goto out;
	}
	tc->ctx = ctx;
	rc = 0;
out:
	ERR_clear_error();
	free(list);
	SSL_CTX_free(every);
	return rc;
}

static void
net_clear(struct net *n)
{
	int i;

	SSL_CTX_free(n->main_ctx);
	for (i = 0; i < NTRIES; i++)
		SSL_CTX_free(n->tries[i].ctx);
	for (i = 0; i < 2; i++)
		if (n->weak_prov[i] != NULL)
			OSSL_PROVIDER_unload(n->weak_prov[i]);
	OSSL_LIB_CTX_free(n->weak_lib);
}

static int
net_init(struct net *n)
{
	int i;

	if ((n->main_ctx = client_ctx(NULL)) == NULL)
		return -1;
	/* as an opportunistic sender: every version, every usual suite */
	(void)SSL_CTX_set_min_proto_version(n->main_ctx, TLS1_VERSION);
	if (SSL_CTX_set_cipher_list(n->main_ctx, "DEFAULT:@SECLEVEL=0") != 1)
		return -1;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (version_ctx(&n->tries[i], i) == -1)
			return -1;
	/*
	 * The weak classes in their own library context, with the legacy
	 * provider when this system has it (RC4 lives there); without it,
	 * the classes it would have offered are "not tried" with a reason.
	 */
	if ((n->weak_lib = OSSL_LIB_CTX_new()) != NULL &&
	    (n->weak_prov[0] = OSSL_PROVIDER_load(n->weak_lib,
	    "default")) != NULL)
		n->weak_prov[1] = OSSL_PROVIDER_load(n->weak_lib, "legacy");
	else if (n->weak_lib != NULL) {
		OSSL_LIB_CTX_free(n->weak_lib);
		n->weak_lib = NULL;
	}
	ERR_clear_error();
	for (i = 0; i < PROBE_NWEAK; i++)
		if (weak_ctx(n, &n->tries[PROBE_NVERSIONS + i],
		    (enum probe_weak)i) == -1)
			return -1;
	return 0;
}

/* ---- the step ---- */

/* The fields of A that the SMTP step owns, as "not found out". */
static void
addr_init(struct probe_addr *a)
{
	int i;

	a->stop = PSTOP_DONE;
	a->connect_ms = -1;
	a->size_limit = -1;
	a->chain_valid = PT_UNKNOWN;
	a->name_match = PT_UNKNOWN;
	a->dane = PD_NOT_TESTED;
	a->dane_matched = -1;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		a->versions[i].accepted = PT_UNKNOWN;
	for (i = 0; i < PROBE_NWEAK; i++)
		a->weak[i].accepted = PT_UNKNOWN;
	a->open_relay = PT_UNKNOWN;
	a->recipient_filtering = PT_UNKNOWN;
	a->greylisting = PT_UNKNOWN;
	a->spf_checked = PT_UNKNOWN;
}

/* Sets T's socket address; -1 when A->addr is not a numeric address. */
static int
target_addr(struct target *t, unsigned int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;

	memset(&t->ss, 0, sizeof(t->ss));
	if (t->a->addr == NULL)
		return -1;
	if (inet_pton(AF_INET, t->a->addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		t->sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, t->a->addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		t->sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static void
random_hex(char *buf, size_t bytes)
{
	unsigned char r[32];
	size_t i;

	if (bytes > sizeof(r))
		bytes = sizeof(r);
	if (RAND_bytes(r, (int)bytes) != 1)
		for (i = 0; i < bytes; i++)
			r[i] = (unsigned char)(clock_now() * 1e6) + i * 37;
	for (i = 0; i < bytes; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* T is not probed at all (its family is off, no address). */
static void
target_skip(struct target *t)
{
	struct probe_addr *a = t->a;

	t->done = 1;
	a->dane = t->mx->ntlsa == 0 ? PD_NONE : !t->mx->tlsa_q.ad ?
	    PD_UNVALIDATED : PD_NOT_TESTED;
	a->ended = clock_now();
}

int
probe_smtp(struct event_base *base, const struct probe_opts *opts,
    struct probe_result *r)
{
	struct net n;
	struct target *targets = NULL;
	struct timeval tv;
	sigset_t pipe, old, pending;
	size_t i, j, nt = 0, k;
	const char *bd;
	struct timespec zero = { 0, 0 };
	int rc = -1;

	memset(&n, 0, sizeof(n));
	n.base = base;
	n.opts = opts;
	n.r = r;
	n.hostname = opts->cfg != NULL && opts->cfg->hostname != NULL ?
	    opts->cfg->hostname : "localhost";
	bd = opts->cfg != NULL && opts->cfg->base_domain != NULL ?
	    opts->cfg->base_domain : "invalid";
	snprintf(n.mail_from, sizeof(n.mail_from), "probe@%s", bd);
	/* the project's zones publish "v=spf1 -all" at this name */
	snprintf(n.spf_from, sizeof(n.spf_from),
	    "probe@" CATALOG_PROBE_SPF_DENY ".%s", bd);

	for (i = 0; i < r->nmx; i++)
		nt += r->mx[i].naddrs;
	if (nt == 0)
		return 0;
	if ((targets = calloc(nt, sizeof(*targets))) == NULL)
		return -1;
	if (net_init(&n) == -1)
		goto out;

	/*
	 * SSL_write() to a server that has gone raises SIGPIPE; hold it
	 * blocked while the probe runs and take any pending one after.
	 */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);

	k = 0;
	for (i = 0; i < r->nmx; i++)
		for (j = 0; j < r->mx[i].naddrs; j++) {
			struct target *t = &targets[k++];
			struct probe_addr *a = &r->mx[i].addrs[j];

			t->net = &n;
			t->mx = &r->mx[i];
			t->a = a;
			a->started = clock_now();
			memcpy(t->random_local, "nx-", 3);
			random_hex(t->random_local + 3, 8);
			if (a->stop == PSTOP_NOT_TRIED) {
				target_skip(t);
				continue;
			}
			addr_init(a);
			/* probe_run() sorted them out already; kept here too,
			   as the web's probes must never reach inside */
			if (a->addr == NULL || !probe_addr_allowed(opts,
			    a->addr)) {
				a->stop = PSTOP_NOT_TRIED;
				set_str(&n, &a->stop_detail, "not a public "
				    "address: not connected to");
				target_skip(t);
				continue;
			}
			if ((a->family == 4 && !opts->ipv4) ||
			    (a->family == 6 && !opts->ipv6)) {
				a->stop = PSTOP_NOT_TRIED;
				target_skip(t);
				continue;
			}
			if (target_addr(t, opts->port) == -1) {
				a->stop = PSTOP_CONNECT;
				set_str(&n, &a->stop_detail,
				    "not a numeric address");
				target_skip(t);
				continue;
			}
			if ((t->deadline = evtimer_new(base, target_deadline,
			    t)) == NULL) {
				n.oom = 1;
				target_skip(t);
				continue;
			}
			n.pending++;
			clock_ms_to_tv(opts->deadline_ms, &tv);
			evtimer_add(t->deadline, &tv);
			conn_start(t, CK_MAIN, 0);
		}

	/* every address not done has its deadline pending: never idle */
	while (n.pending > 0)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
	rc = n.oom ? -1 : 0;

	sigpending(&pending);
	if (sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&pipe, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	for (k = 0; k < nt; k++) {
		while (targets[k].conns != NULL)
			conn_free(targets[k].conns);
		if (targets[k].deadline != NULL)
			event_free(targets[k].deadline);
	}
	free(targets);
	net_clear(&n);
	return rc;
}
