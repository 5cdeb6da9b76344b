/*
 * msbench's client session: one explicit state machine per session slot
 * (connect, greeting, EHLO, STARTTLS, transactions, QUIT), on the event
 * loop.  RFC 5321 (the dialogue), RFC 2920 (MAIL, RCPT and DATA in one
 * write when the server offers PIPELINING), RFC 3207 (STARTTLS).
 */
#include "build.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "msbench.h"

#define REPLY_LINE_MAX	4096	/* a reply line longer than this: error */

enum msb_state {
	ST_CONNECTING,		/* TCP connect (and, implicit TLS, handshake) */
	ST_GREETING,		/* waiting for the 220 */
	ST_EHLO,
	ST_STARTTLS,
	ST_HANDSHAKE,		/* after the 220 to STARTTLS */
	ST_EHLO_TLS,
	ST_PACING,		/* waiting for a --rate slot */
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_DOT,			/* message sent, waiting for its 250 */
	ST_RSET,
	ST_QUIT,
	ST_TICKET,		/* handshake mode: waiting for a TLS 1.3 ticket */
	ST_HELD,		/* idle mode: greeted, holding the line */
	ST_DONE,
};

static const char *const state_names[] = {
	[ST_CONNECTING] = "connecting",
	[ST_GREETING] = "greeting",
	[ST_EHLO] = "ehlo",
	[ST_STARTTLS] = "starttls",
	[ST_HANDSHAKE] = "handshake",
	[ST_EHLO_TLS] = "ehlo-tls",
	[ST_PACING] = "pacing",
	[ST_MAIL] = "mail",
	[ST_RCPT] = "rcpt",
	[ST_DATA] = "data",
	[ST_DOT] = "dot",
	[ST_RSET] = "rset",
	[ST_QUIT] = "quit",
	[ST_TICKET] = "ticket",
	[ST_HELD] = "held",
	[ST_DONE] = "done",
};

/* One session slot: its connections one after the other. */
struct msb_session {
	struct msb_run		*run;		/* borrowed */
	unsigned		 index;
	enum msb_state		 state;
	struct bufferevent	*bev;		/* owned; the TLS filter once up */
	struct event		*pace_ev;	/* owned */
	SSL_SESSION		*tls_sess;	/* owned: to resume with */
	unsigned		 sent;		/* messages begun */
	unsigned		 on_conn;	/* of them on this connection */
	unsigned		 skip;		/* pipelined replies to swallow */
	int			 offers_pipelining;
	int			 offers_starttls;
	int			 pipelined;	/* this transaction */
	int			 tls;
	int			 greeted;	/* counted in run->greeted */
	int			 in_message;	/* begun, no outcome yet */
	double			 t_conn;
	double			 t_eod;
	const struct msb_size	*size;		/* borrowed from the options */
};

static void	session_read(struct bufferevent *, void *);
static void	session_event(struct bufferevent *, short, void *);
static void	session_connect(struct msb_session *);
static void	session_end(struct msb_session *);
static void	next_conn(struct msb_session *);

static int	ssl_index = -1;		/* ex_data: the SSL's session */

static void
set_state(struct msb_session *s, enum msb_state to)
{
	if (s->run->opt->verbose > 1)
		fprintf(stderr, "s%u: %s -> %s\n", s->index,
		    state_names[s->state], state_names[to]);
	s->state = to;
}

static const struct msb_size *
pick_size(const struct msb_options *o)
{
	unsigned	r;
	size_t		i;

	if (o->nsizes == 1)
		return &o->sizes[0];
	r = (unsigned)(random() % o->weight_total);
	for (i = 0; i < o->nsizes; i++) {
		if (r < o->sizes[i].weight)
			return &o->sizes[i];
		r -= o->sizes[i].weight;
	}
	return &o->sizes[o->nsizes - 1];
}

static void
timeouts(struct msb_session *s, int on)
{
	struct timeval	tv;

	tv.tv_sec = s->run->opt->timeout_ms / 1000;
	tv.tv_usec = (s->run->opt->timeout_ms % 1000) * 1000;
	if (on)
		bufferevent_set_timeouts(s->bev, &tv, &tv);
	else
		bufferevent_set_timeouts(s->bev, NULL, NULL);
}

static int	say(struct msb_session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A command line; 0 or -1. */
static int
say(struct msb_session *s, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = evbuffer_add_vprintf(bufferevent_get_output(s->bev), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	s->run->c.bytes_out += (uint64_t)n;
	return 0;
}

/* The first connection of the session settled (greeted or failed). */
static void
settled(struct msb_session *s)
{
	if (s->greeted)
		return;
	s->greeted = 1;
	msb_run_progress(s->run);
}

/*
 * TLS 1.3 sends its tickets after the handshake: this is where a client
 * learns them (and TLS 1.2's, at the handshake).  Ownership of SESS
 * passes to us when we return 1.
 */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct msb_session	*s = SSL_get_ex_data(ssl, ssl_index);

	if (s == NULL || !s->run->opt->resume)
		return 0;
	SSL_SESSION_free(s->tls_sess);
	s->tls_sess = sess;
	/* inside SSL_read: the connection is closed from the loop */
	if (s->state == ST_TICKET)
		event_active(s->pace_ev, EV_TIMEOUT, 0);
	return 1;
}

void
msb_session_tls_setup(SSL_CTX *ctx)
{
	if (ssl_index < 0)
		ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
}

static SSL *
new_ssl(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;
	SSL				*ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(s->run->ssl_ctx)) == NULL)
		return NULL;
	SSL_set_ex_data(ssl, ssl_index, s);
	if (o->sni != NULL)
		SSL_set_tlsext_host_name(ssl, o->sni);
	if (o->resume && s->tls_sess != NULL)
		SSL_set_session(ssl, s->tls_sess);
	return ssl;
}

/* A connection ended: drop it, and go on with the next or end. */
static void
conn_close(struct msb_session *s)
{
	SSL	*ssl;

	if (s->bev == NULL)
		return;
	if ((ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL) {
		SSL_set_ex_data(ssl, ssl_index, NULL);
		SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
	}
	bufferevent_free(s->bev);
	s->bev = NULL;
	s->tls = 0;
}

/* The session is over: whatever was not begun is unsent. */
static void
session_end(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;

	if (s->state == ST_DONE)
		return;
	conn_close(s);
	if (s->pace_ev != NULL)
		event_del(s->pace_ev);
	if (o->mode != MSB_MODE_IDLE && s->sent < o->messages)
		s->run->c.unsent += o->messages - s->sent;
	set_state(s, ST_DONE);
	settled(s);
	msb_run_session_ended(s->run);
}

/* The connection failed: the message under way (if any) failed with it. */
static void
conn_failed_code(struct msb_session *s, enum msb_stage stage, int code)
{
	if (s->in_message) {
		s->in_message = 0;
		s->run->c.failed++;
	}
	msb_stats_error(s->run->stats, stage, code);
	session_end(s);
}

static void
conn_failed(struct msb_session *s, enum msb_stage stage)
{
	conn_failed_code(s, stage, 0);
}

/* A reply that is not the expected one ended the message (or session). */
static void
refused(struct msb_session *s, enum msb_stage stage, int code)
{
	msb_stats_error(s->run->stats, stage, code);
	if (s->in_message) {
		s->in_message = 0;
		s->run->c.refused++;
	}
}

static void
send_quit(struct msb_session *s)
{
	set_state(s, ST_QUIT);
	if (say(s, "QUIT\r\n") == -1)
		conn_failed(s, MSB_STAGE_CONNECT);
}

static void
send_mail(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;
	struct evbuffer			*out = bufferevent_get_output(s->bev);
	size_t				 before = evbuffer_get_length(out);
	int				 r;

	s->size = pick_size(o);
	s->sent++;
	s->on_conn++;
	s->in_message = 1;
	s->pipelined = o->pipelining && s->offers_pipelining;
	r = evbuffer_add_printf(out, "MAIL FROM:<%s>\r\n", o->from);
	/* RFC 2920 section 3.1: DATA is the last command of the group */
	if (r != -1 && s->pipelined)
		r = evbuffer_add_printf(out, "RCPT TO:<%s>\r\nDATA\r\n", o->rcpt);
	s->run->c.bytes_out += evbuffer_get_length(out) - before;
	set_state(s, ST_MAIL);
	if (r == -1)
		conn_failed(s, MSB_STAGE_MAIL);
}

/*
 * A connection after its QUIT: its 221 (or end) is read, then freed.  An
 * SSL freed before its shutdown marks its session not resumable (OpenSSL
 * ssl_clear_bad_session()): the shutdown is declared done first.
 */
static void
closer_free(struct bufferevent *bev)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl != NULL)
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	bufferevent_free(bev);
}

static void
closer_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/* the 221, or anything: the dialogue is over */
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
	closer_free(bev);
}

static void
closer_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	closer_free(bev);
}

/*
 * A new connection a message (--no-reuse): QUIT, and the next connection
 * at once, as Postfix's client does (smtp_skip_quit_response); the old
 * one reads its 221 on its own.
 */
static void
quit_and_next(struct msb_session *s)
{
	struct bufferevent	*old = s->bev;

	if (say(s, "QUIT\r\n") == -1) {
		conn_failed(s, MSB_STAGE_CONNECT);
		return;
	}
	if (bufferevent_openssl_get_ssl(old) != NULL)
		SSL_set_ex_data(bufferevent_openssl_get_ssl(old), ssl_index,
		    NULL);
	bufferevent_setcb(old, closer_read, NULL, closer_event, NULL);
	s->bev = NULL;
	s->tls = 0;
	session_connect(s);
}

/* This connection is done: the next one, or the end of the session. */
static void
next_conn(struct msb_session *s)
{
	conn_close(s);
	if (s->run->opt->mode != MSB_MODE_IDLE &&
	    s->sent < s->run->opt->messages && !s->run->stopping)
		session_connect(s);
	else
		session_end(s);
}

/* A --rate slot came (or, waiting for a ticket, the ticket did). */
static void
pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msb_session	*s = arg;

	(void)fd;
	(void)what;
	if (s->state == ST_TICKET) {
		next_conn(s);
		return;
	}
	timeouts(s, 1);
	send_mail(s);
}

/* Between transactions: the next message, QUIT, or hold the line. */
static void
ready(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;
	struct msb_run			*run = s->run;
	struct timeval			 tv;
	double				 now, slot;

	if (o->mode == MSB_MODE_IDLE) {
		set_state(s, ST_HELD);
		timeouts(s, 0);
		run->c.held++;
		settled(s);
		return;
	}
	if (!o->reuse && s->on_conn > 0 && s->sent < o->messages &&
	    !run->stopping) {
		quit_and_next(s);
		return;
	}
	if (s->sent >= o->messages || (!o->reuse && s->on_conn > 0) ||
	    run->stopping) {
		send_quit(s);
		return;
	}
	if (o->rate > 0) {
		/*
		 * Slots keep their schedule: one missed (timers have
		 * millisecond precision) is caught up later, within a second
		 */
		now = msb_now();
		if (run->next_slot < now - 1.0)
			run->next_slot = now - 1.0;
		slot = run->next_slot;
		run->next_slot = slot + 1.0 / o->rate;
		if (slot - now > 0.0005) {
			set_state(s, ST_PACING);
			timeouts(s, 0);
			tv.tv_sec = (time_t)(slot - now);
			tv.tv_usec = (suseconds_t)((slot - now - tv.tv_sec) * 1e6);
			evtimer_add(s->pace_ev, &tv);
			return;
		}
	}
	send_mail(s);
}

static void
send_message(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;
	struct evbuffer			*out = bufferevent_get_output(s->bev);
	size_t				 before = evbuffer_get_length(out);
	int				 r;

	/* the header makes every message's data (and its SHA-256) unique */
	r = evbuffer_add_printf(out,
	    "From: <%s>\r\nTo: <%s>\r\nSubject: msbench\r\n"
	    "Message-ID: <%llx.%u.%u@msbench.invalid>\r\n"
	    "X-Msbench: run=%llx session=%u message=%u size=%zu\r\n\r\n",
	    o->from, o->rcpt, (unsigned long long)s->run->run_id, s->index,
	    s->sent, (unsigned long long)s->run->run_id, s->index, s->sent,
	    s->size->size);
	if (r != -1)
		r = evbuffer_add_reference(out, s->size->body,
		    s->size->body_len, NULL, NULL);
	if (r != -1)
		r = evbuffer_add(out, ".\r\n", 3);
	s->run->c.bytes_out += evbuffer_get_length(out) - before;
	if (r == -1) {
		conn_failed(s, MSB_STAGE_DATA);
		return;
	}
	s->t_eod = msb_now();
	set_state(s, ST_DOT);
}

/* A transaction ended with a refusal: RSET (after the pipelined rest). */
static void
after_refusal(struct msb_session *s, int code)
{
	if (code == 421) {
		/* RFC 5321 3.8: the server closes; so do we */
		session_end(s);
		return;
	}
	if (s->skip > 0)
		return;
	set_state(s, ST_RSET);
	if (say(s, "RSET\r\n") == -1)
		conn_failed(s, MSB_STAGE_MAIL);
}

static void
start_tls(struct msb_session *s)
{
	struct bufferevent	*tlsbev;
	SSL			*ssl;

	if ((ssl = new_ssl(s)) == NULL) {
		conn_failed(s, MSB_STAGE_TLS);
		return;
	}
	tlsbev = bufferevent_openssl_filter_new(s->run->base, s->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tlsbev == NULL) {
		SSL_free(ssl);
		conn_failed(s, MSB_STAGE_TLS);
		return;
	}
	s->bev = tlsbev;
	bufferevent_setcb(s->bev, session_read, NULL, session_event, s);
	timeouts(s, 1);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	set_state(s, ST_HANDSHAKE);
}

static void
ehlo_keyword(struct msb_session *s, const char *kw)
{
	if (strncasecmp(kw, "PIPELINING", 10) == 0 &&
	    (kw[10] == '\0' || kw[10] == ' '))
		s->offers_pipelining = 1;
	else if (strncasecmp(kw, "STARTTLS", 8) == 0 &&
	    (kw[8] == '\0' || kw[8] == ' '))
		s->offers_starttls = 1;
}

static void
send_ehlo(struct msb_session *s, enum msb_state next)
{
	s->offers_pipelining = s->offers_starttls = 0;
	set_state(s, next);
	if (say(s, "EHLO %s\r\n", s->run->opt->ehlo) == -1)
		conn_failed(s, MSB_STAGE_EHLO);
}

/* The final line of a reply: what the state makes of its code. */
static void
reply(struct msb_session *s, int code)
{
	const struct msb_options	*o = s->run->opt;
	struct msb_run			*run = s->run;

	switch (s->state) {
	case ST_GREETING:
		if (code != 220) {
			msb_stats_error(run->stats, MSB_STAGE_GREETING, code);
			session_end(s);
			return;
		}
		if (o->mode == MSB_MODE_IDLE && !o->idle_ehlo) {
			ready(s);
			return;
		}
		send_ehlo(s, ST_EHLO);
		return;
	case ST_EHLO:
	case ST_EHLO_TLS:
		if (code != 250) {
			msb_stats_error(run->stats, MSB_STAGE_EHLO, code);
			session_end(s);
			return;
		}
		if (o->starttls && s->state == ST_EHLO) {
			if (!s->offers_starttls) {
				msb_stats_error(run->stats,
				    MSB_STAGE_STARTTLS, 0);
				session_end(s);
				return;
			}
			set_state(s, ST_STARTTLS);
			if (say(s, "STARTTLS\r\n") == -1)
				conn_failed(s, MSB_STAGE_STARTTLS);
			return;
		}
		settled(s);
		ready(s);
		return;
	case ST_STARTTLS:
		if (code != 220) {
			msb_stats_error(run->stats, MSB_STAGE_STARTTLS, code);
			session_end(s);
			return;
		}
		start_tls(s);
		return;
	case ST_MAIL:
		if (code != 250) {
			refused(s, MSB_STAGE_MAIL, code);
			s->skip = s->pipelined ? 2 : 0;
			after_refusal(s, code);
			return;
		}
		set_state(s, ST_RCPT);
		if (!s->pipelined &&
		    say(s, "RCPT TO:<%s>\r\n", o->rcpt) == -1)
			conn_failed(s, MSB_STAGE_RCPT);
		return;
	case ST_RCPT:
		if (code != 250 && code != 251) {
			refused(s, MSB_STAGE_RCPT, code);
			s->skip = s->pipelined ? 1 : 0;
			after_refusal(s, code);
			return;
		}
		set_state(s, ST_DATA);
		if (!s->pipelined && say(s, "DATA\r\n") == -1)
			conn_failed(s, MSB_STAGE_DATA);
		return;
	case ST_DATA:
		if (code != 354) {
			refused(s, MSB_STAGE_DATA, code);
			after_refusal(s, code);
			return;
		}
		send_message(s);
		return;
	case ST_DOT:
		if (code != 250) {
			refused(s, MSB_STAGE_DOT, code);
			after_refusal(s, code);
			return;
		}
		s->in_message = 0;
		run->c.ok++;
		if (msb_stats_latency(run->stats, msb_now() - s->t_eod) == -1) {
			fprintf(stderr, "msbench: out of memory\n");
			exit(1);
		}
		ready(s);
		return;
	case ST_RSET:
		ready(s);
		return;
	case ST_QUIT:
		next_conn(s);
		return;
	default:
		/* a reply nobody asked for (or one to a 421 we are leaving) */
		msb_stats_error(run->stats, MSB_STAGE_CONNECT, code);
		session_end(s);
		return;
	}
}

static void
session_read(struct bufferevent *bev, void *arg)
{
	struct msb_session	*s = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;
	int			 code;

	while (s->bev == bev &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (len > 3 && line[3] != ' ' &&
		    line[3] != '-')) {
			free(line);
			conn_failed(s, MSB_STAGE_CONNECT);
			return;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (s->state == ST_EHLO || s->state == ST_EHLO_TLS)
			ehlo_keyword(s, line + (len > 3 ? 4 : 3));
		if (len > 3 && line[3] == '-') {
			free(line);
			continue;
		}
		free(line);
		if (s->skip > 0) {
			/* RFC 2920 3.1: every pipelined command gets a reply */
			s->skip--;
			after_refusal(s, code);
			continue;
		}
		reply(s, code);
	}
	if (s->bev == bev && evbuffer_get_length(in) > REPLY_LINE_MAX)
		conn_failed(s, MSB_STAGE_CONNECT);
}

static enum msb_stage
stage_of(enum msb_state st)
{
	switch (st) {
	case ST_CONNECTING:
		return MSB_STAGE_CONNECT;
	case ST_GREETING:
	case ST_HELD:
		return MSB_STAGE_GREETING;
	case ST_EHLO:
	case ST_EHLO_TLS:
		return MSB_STAGE_EHLO;
	case ST_STARTTLS:
		return MSB_STAGE_STARTTLS;
	case ST_HANDSHAKE:
	case ST_TICKET:
		return MSB_STAGE_TLS;
	case ST_MAIL:
		return MSB_STAGE_MAIL;
	case ST_RCPT:
		return MSB_STAGE_RCPT;
	case ST_DATA:
		return MSB_STAGE_DATA;
	default:
		return MSB_STAGE_DOT;
	}
}

static void
handshake_done(struct msb_session *s)
{
	SSL	*ssl = bufferevent_openssl_get_ssl(s->bev);

	s->run->c.handshakes++;
	if (ssl != NULL && SSL_session_reused(ssl))
		s->run->c.resumed++;
	s->tls = 1;
}

static void
session_event(struct bufferevent *bev, short what, void *arg)
{
	struct msb_session		*s = arg;
	const struct msb_options	*o = s->run->opt;

	if (s->bev != bev)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == ST_HANDSHAKE) {
			handshake_done(s);
			send_ehlo(s, ST_EHLO_TLS);
			return;
		}
		s->run->c.connections++;
		if (o->mode != MSB_MODE_HANDSHAKE) {
			set_state(s, ST_GREETING);
			return;
		}
		/* implicit TLS: the handshake is the unit of work */
		handshake_done(s);
		s->in_message = 0;
		s->run->c.ok++;
		(void)msb_stats_latency(s->run->stats, msb_now() - s->t_conn);
		settled(s);
		if (o->resume &&
		    SSL_version(bufferevent_openssl_get_ssl(bev)) ==
		    TLS1_3_VERSION) {
			/*
			 * TLS 1.3: the ticket follows the handshake, and a
			 * ticket is for one use (RFC 8446 C.4): wait for it
			 */
			set_state(s, ST_TICKET);
			return;
		}
		next_conn(s);
		return;
	}
	if (s->state == ST_QUIT) {
		/* the server closed after (or instead of) its 221 */
		reply(s, 221);
		return;
	}
	if (s->state == ST_TICKET) {
		next_conn(s);
		return;
	}
	if (s->state == ST_HELD)
		s->run->c.closed_early++;
	if (s->state == ST_CONNECTING)
		s->run->c.connect_failed++;
	conn_failed_code(s, stage_of(s->state),
	    (what & BEV_EVENT_TIMEOUT) ? -1 : 0);
}

static int
source_bind(struct msb_session *s, evutil_socket_t fd)
{
	const struct msb_options	*o = s->run->opt;
	size_t				 i;

	if (o->nsources == 0)
		return 0;
	i = s->run->next_source++ % o->nsources;
	return bind(fd, (const struct sockaddr *)&o->sources[i],
	    o->source_lens[i]);
}

static void
session_connect(struct msb_session *s)
{
	const struct msb_options	*o = s->run->opt;
	evutil_socket_t			 fd;
	SSL				*ssl = NULL;
	int				 one = 1;

	s->on_conn = 0;
	s->skip = 0;
	s->t_conn = msb_now();
	fd = socket(o->target.ss_family, SOCK_STREAM, 0);
	/*
	 * No Nagle: a TLS Finished and the EHLO after it are two writes,
	 * and the second must not wait for an ACK the server delays
	 */
	if (fd == -1 || evutil_make_socket_nonblocking(fd) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    source_bind(s, fd) == -1) {
		if (fd != -1)
			close(fd);
		s->run->c.connect_failed++;
		conn_failed(s, MSB_STAGE_CONNECT);
		return;
	}
	if (o->mode == MSB_MODE_HANDSHAKE) {
		if ((ssl = new_ssl(s)) == NULL) {
			close(fd);
			conn_failed(s, MSB_STAGE_TLS);
			return;
		}
		s->bev = bufferevent_openssl_socket_new(s->run->base, fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		/* the handshake is the "message" of this mode */
		s->sent++;
		s->in_message = 1;
	} else
		s->bev = bufferevent_socket_new(s->run->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		close(fd);
		conn_failed(s, MSB_STAGE_CONNECT);
		return;
	}
	bufferevent_setcb(s->bev, session_read, NULL, session_event, s);
	timeouts(s, 1);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	set_state(s, ST_CONNECTING);
	if (bufferevent_socket_connect(s->bev,
	    (const struct sockaddr *)&o->target, o->target_len) == -1) {
		s->run->c.connect_failed++;
		conn_failed(s, MSB_STAGE_CONNECT);
	}
}

struct msb_session *
msb_session_new(struct msb_run *run, unsigned index)
{
	struct msb_session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->run = run;
	s->index = index;
	s->pace_ev = evtimer_new(run->base, pace_cb, s);
	if (s->pace_ev == NULL) {
		free(s);
		return NULL;
	}
	set_state(s, ST_CONNECTING);
	return s;
}

void
msb_session_start(struct msb_session *s)
{
	session_connect(s);
}

/* Idle mode is over: close the held line (not an early close). */
void
msb_session_close(struct msb_session *s)
{
	if (s->state == ST_HELD)
		set_state(s, ST_DONE);
	conn_close(s);
	if (s->state != ST_DONE)
		session_end(s);
	else
		msb_run_session_ended(s->run);
}

void
msb_session_free(struct msb_session *s)
{
	if (s == NULL)
		return;
	conn_close(s);
	if (s->pace_ev != NULL)
		event_free(s->pace_ev);
	SSL_SESSION_free(s->tls_sess);
	free(s);
}
