/*
 * The SMTP server session: an explicit state machine, a command table, one
 * reply writer, limits and timeouts.  Event loop thread only.
 * RFC 5321 (SMTP), RFC 3207 (STARTTLS), RFC 2920 (PIPELINING), RFC 1870
 * (SIZE), RFC 6152 (8BITMIME), RFC 2034 (ENHANCEDSTATUSCODES), RFC 6531
 * (SMTPUTF8), RFC 3030 (CHUNKING), RFC 3461 (DSN), RFC 8689 (REQUIRETLS).
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "analyze.h"
#include "catalog.h"
#include "clock.h"
#include "connlimit.h"
#include "greylist.h"
#include "log.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "smtp.h"
#include "smtp_error.h"
#include "smtp_parse.h"
#include "store.h"
#include "testcache.h"
#include "testid.h"
#include "text.h"
#include "tls.h"

enum smtp_state {
	S_INIT,		/* greeting sent, no HELO/EHLO yet (again after TLS) */
	S_HELO,		/* HELO/EHLO done, no transaction */
	S_MAIL,		/* MAIL accepted */
	S_RCPT,		/* at least one RCPT accepted */
	S_CHUNKED,	/* BDAT chunks accepted, not the LAST one yet */
	S_DATA,		/* reading the message */
	S_BDAT,		/* reading the octets of a BDAT chunk */
	S_LOOKUP,	/* RCPT's test ID is being looked up (testcache) */
	S_COMMIT,	/* final dot seen, the store is committing */
	S_STARTTLS,	/* 220 to STARTTLS queued, waiting for it to be sent */
	S_TLS,		/* TLS handshake running */
	S_CLOSING,	/* last reply queued, closing once it is sent */
	S_NSTATES
};

static const char *const state_names[S_NSTATES] = {
	"init", "helo", "mail", "rcpt", "chunked", "data", "bdat", "lookup",
	"commit",
	"starttls", "tls", "closing"
};

/* Verbs, also the index of the per-session command counters. */
enum verb {
	V_EHLO, V_HELO, V_STARTTLS, V_MAIL, V_RCPT, V_DATA, V_BDAT, V_RSET,
	V_NOOP, V_QUIT, V_VRFY, V_HELP, V_UNKNOWN, V_COUNT
};

/* ESMTP extensions a client used, for the connection record. */
#define EXT_PIPELINING	0x01
#define EXT_SIZE	0x02
#define EXT_8BITMIME	0x04
#define EXT_SMTPUTF8	0x08
#define EXT_STARTTLS	0x10
#define EXT_DSN		0x20
#define EXT_REQUIRETLS	0x40
#define EXT_CHUNKING	0x80

static const struct {
	unsigned	 bit;
	const char	*name;
} ext_names[] = {
	{ EXT_PIPELINING, "PIPELINING" }, { EXT_SIZE, "SIZE" },
	{ EXT_8BITMIME, "8BITMIME" }, { EXT_SMTPUTF8, "SMTPUTF8" },
	{ EXT_STARTTLS, "STARTTLS" }, { EXT_DSN, "DSN" },
	{ EXT_REQUIRETLS, "REQUIRETLS" }, { EXT_CHUNKING, "CHUNKING" },
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	struct smtp_server	*srv;		/* borrowed */
	const struct smtp_listen *lis;		/* borrowed from the listener */
	evutil_socket_t		 fd;
	struct bufferevent	*bev;		/* owned; TLS one owns the fd */
	int			 tls_active;
	enum smtp_state		 state;
	int			 read_paused;	/* replies over SMTP_OUTPUT_MAX */
	struct event		*lifetime;	/* owned: timeout_session */
	struct event		*step;		/* owned: a whole command line
						   or handshake (set_timeouts) */
	enum smtp_err		 end_after_commit; /* its reply, then this */
	SSL			*ssl;		/* owned from STARTTLS until
						   start_tls() hands it on */
	struct conn_rec		 rec;		/* owned contents */
	const char		*rcpt_challenge;	/* static: of rec.test_id */
	const char		*sni_challenge;	/* static: of rec.sni_test_id */
	unsigned		 ext;		/* EXT_* used */
	enum verb		 cur;		/* command being answered */
	char			*line;		/* owned, line_max + 1; NULL
						   until the first input */
	unsigned		 ok[V_COUNT], total[V_COUNT];
	unsigned		 errors;
	unsigned		 junk;		/* COUNTS_TOWARD_LIMIT commands */
	int			 skip_line;	/* dropping an over-long line */
	int			 dropped_eol;	/* how the dropped line ended */

	/* the transaction in progress */
	struct txn_rec		*txn;		/* owned; NULL outside MAIL */
	enum smtp_err		 latched;	/* DATA errors, worst wins */
	int			 in_headers;
	int			 prev_eol;	/* length of the last line end */
	size_t			 headers_cap;
	size_t			 message_cap;	/* both counted in mem_held */
	EVP_MD_CTX		*md;		/* owned, during DATA */
	enum verb		 commit_verb;	/* DATA or BDAT, for its 250 */

	/* RCPT waiting for its test ID to be looked up (S_LOOKUP) */
	struct testcache_req	*lookup;	/* the cache's; cancelled at free */
	const char		*lookup_arg;	/* RCPT's argument, in line */
	enum smtp_state		 lookup_back;	/* S_MAIL or S_RCPT */
	int			 lookup_unknown;	/* the answer: no such test */

	/* a BDAT chunk being read (RFC 3030) */
	size_t			 bdat_left;	/* octets still to read */
	int			 bdat_last;
	enum smtp_err		 bdat_refused;	/* read, then refuse */
	enum smtp_state		 bdat_back;	/* the state after a refusal */
	struct smtp_scan	 scan;		/* of the chunks so far */
};

TAILQ_HEAD(session_list, session);

struct smtp_server {
	struct event_base	*base;		/* borrowed */
	const struct config	*cfg;		/* borrowed */
	struct store		*store;		/* borrowed */
	struct greylist		*grey;		/* owned */
	struct analyzer		*an;		/* borrowed */
	struct testcache	*tests;		/* owned */
	struct ratelimit	*clients;	/* owned: max_client_transactions */
	struct ratelimit	*conn_rate;	/* owned: max_connection_rate */
	struct ratelimit	*sampled;	/* owned: refused ones with a row */
	unsigned long		 busy;		/* refused: the store's backlog */
	size_t			 mem_held;	/* message bytes of all sessions,
						   until their commit is done */
	int64_t			 last_id;
	struct session_list	 sessions;
	const struct timeval	*tv_command;	/* libevent's common timeouts */
	const struct timeval	*tv_tls;
	struct connlimit	*limit;		/* owned: the sessions */
	int			 shutting_down;
	struct event		*grace;		/* owned */
	void			(*done)(void *);
	void			*done_arg;
};

/*
 * Back-pressure: reading stops while more replies than this wait to be
 * sent, and resumes once they are (as OpenSMTPD's io low water mark); a
 * client that pipelines and never reads cannot grow our output.
 */
#define SMTP_OUTPUT_MAX	(64 * 1024)

/* What a handler tells the input loop. */
enum next {
	NEXT_CONTINUE,	/* read the next line */
	NEXT_WAIT,	/* stop reading: TLS, commit or lookup in progress */
	NEXT_CLOSED	/* closing, the session perhaps freed: touch nothing */
};

/* Command flags, after Postfix's SMTPD_CMD. */
#define CMD_PRE_TLS		0x01	/* allowed before STARTTLS if required */
#define CMD_LAST_IN_GROUP	0x02	/* RFC 2920 3.1: must end a group */
#define CMD_COUNTS_TOWARD_LIMIT	0x04	/* non-mail commands, max_commands */

#define ST(s)	(1u << (s))
#define IDLE	(ST(S_INIT) | ST(S_HELO) | ST(S_MAIL) | ST(S_RCPT) | \
		    ST(S_CHUNKED))

struct smtp_cmd {
	const char	*verb;
	enum verb	 id;
	enum next	(*handler)(struct session *, const char *arg);
	unsigned	 states;
	unsigned	 flags;
};

static enum next cmd_ehlo(struct session *, const char *);
static enum next cmd_helo(struct session *, const char *);
static enum next cmd_starttls(struct session *, const char *);
static enum next cmd_mail(struct session *, const char *);
static enum next cmd_rcpt(struct session *, const char *);
static enum next cmd_data(struct session *, const char *);
static enum next cmd_bdat(struct session *, const char *);
static enum next cmd_rset(struct session *, const char *);
static enum next cmd_noop(struct session *, const char *);
static enum next cmd_quit(struct session *, const char *);
static enum next cmd_vrfy(struct session *, const char *);
static enum next cmd_help(struct session *, const char *);

static const struct smtp_cmd commands[] = {
	{ "EHLO", V_EHLO, cmd_ehlo, IDLE,
	    CMD_PRE_TLS | CMD_LAST_IN_GROUP | CMD_COUNTS_TOWARD_LIMIT },
	{ "HELO", V_HELO, cmd_helo, IDLE,
	    CMD_LAST_IN_GROUP | CMD_COUNTS_TOWARD_LIMIT },
	{ "STARTTLS", V_STARTTLS, cmd_starttls, ST(S_INIT) | ST(S_HELO),
	    CMD_PRE_TLS | CMD_LAST_IN_GROUP | CMD_COUNTS_TOWARD_LIMIT },
	{ "MAIL FROM:", V_MAIL, cmd_mail, ST(S_HELO), 0 },
	{ "RCPT TO:", V_RCPT, cmd_rcpt, ST(S_MAIL) | ST(S_RCPT), 0 },
	{ "DATA", V_DATA, cmd_data, ST(S_RCPT), CMD_LAST_IN_GROUP },
	/* RFC 3030 4.2: BDAT may be pipelined, LAST included */
	{ "BDAT", V_BDAT, cmd_bdat, ST(S_RCPT) | ST(S_CHUNKED), 0 },
	{ "RSET", V_RSET, cmd_rset, IDLE, CMD_COUNTS_TOWARD_LIMIT },
	{ "NOOP", V_NOOP, cmd_noop, IDLE,
	    CMD_PRE_TLS | CMD_LAST_IN_GROUP | CMD_COUNTS_TOWARD_LIMIT },
	{ "QUIT", V_QUIT, cmd_quit, IDLE, CMD_PRE_TLS | CMD_LAST_IN_GROUP },
	{ "VRFY", V_VRFY, cmd_vrfy, IDLE,
	    CMD_LAST_IN_GROUP | CMD_COUNTS_TOWARD_LIMIT },
	{ "HELP", V_HELP, cmd_help, IDLE, CMD_COUNTS_TOWARD_LIMIT },
};

static const char *const verb_names[V_COUNT] = {
	"ehlo", "helo", "starttls", "mail", "rcpt", "data", "bdat", "rset",
	"noop", "quit", "vrfy", "help", "unknown"
};

static void	session_process(struct session *);
static void	session_flush(struct session *);
static void	output_write(struct session *);
static void	start_tls(struct session *);
static enum next bdat_refuse(struct session *, const char *, enum smtp_err);
static void	session_free(struct session *, const char *reason);
static void	on_read(struct bufferevent *, void *);
static void	on_write(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);

/* The step timer from now: TV for the line or handshake that follows. */
static void
step_arm(struct session *s, const struct timeval *tv)
{
	evtimer_add(s->step, tv);
}

/*
 * The timeouts of the state.  A command line must arrive whole within
 * timeout_command (RFC 5321 4.5.3.2.7) and a handshake end within
 * timeout_tls: timers of their own, which a byte a second does not
 * restart as it would libevent's read timeout.  Message data has that
 * read timeout (4.5.3.2.6: a data block's, restarted by each one).
 */
static void
set_timeouts(struct session *s)
{
	const struct config *cfg = s->srv->cfg;
	struct timeval rd, wr;
	int data = 0;

	switch (s->state) {
	case S_DATA:
	case S_BDAT:
		data = 1;
		evtimer_del(s->step);
		break;
	case S_TLS:
		step_arm(s, s->srv->tv_tls);
		break;
	case S_LOOKUP:
	case S_COMMIT:
	case S_STARTTLS:
	case S_CLOSING:
		evtimer_del(s->step);	/* ours to answer, or to write */
		break;
	default:
		step_arm(s, s->srv->tv_command);
		break;
	}
	clock_ms_to_tv(cfg->timeout_data_ms, &rd);
	clock_ms_to_tv(cfg->timeout_command_ms, &wr);
	bufferevent_set_timeouts(s->bev, data ? &rd : NULL, &wr);
}

/* The one place that changes a session's state. */
static void
smtp_enter(struct session *s, enum smtp_state next)
{
	if (s->state != next)
		log_debug("c%lld: state %s -> %s", (long long)s->rec.id,
		    state_names[s->state], state_names[next]);
	s->state = next;
	set_timeouts(s);
}

/*
 * The one reply writer.  TEXT may hold several lines separated by '\n'
 * (a multi-line reply, RFC 5321 4.2.1).  STATUS NULL: no enhanced status
 * (greeting, EHLO/HELO and 354, RFC 2034 3).  Refusals are logged here,
 * with the escaped command that caused them.
 */
static void
smtp_reply(struct session *s, int code, const char *status, const char *fmt,
    ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	char text[1024], esc[256];
	const char *line, *p, *nl;
	va_list ap;
	size_t n;
	int len, cut;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert(len >= 0 && (size_t)len < sizeof(text));
	assert(code >= 200 && code <= 599);
	assert(status == NULL || status[0] == '0' + code / 100);

	for (p = text; ; p = nl + 1) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		/* RFC 5321 4.5.3.1.5: 512 octets incl. code and CRLF */
		assert(n + (status != NULL ? strlen(status) + 1 : 0) <= 506);
		evbuffer_add_printf(out, "%d%c%s%s%.*s\r\n", code,
		    nl != NULL ? '-' : ' ', status != NULL ? status : "",
		    status != NULL ? " " : "", (int)n, p);
		if (nl == NULL)
			break;
	}
	/* 3yz is intermediate (RFC 5321 4.2.1): the final reply counts */
	if (s->cur != V_COUNT && code < 300)
		s->ok[s->cur]++;
	if (code >= 400) {
		/*
		 * A field: the command cannot forge one after it.  Of an
		 * unknown command (AUTH among them: we offer none) only the
		 * verb and the start: its argument may be a credential.
		 */
		line = s->line != NULL ? s->line : "";
		n = strlen(line);
		cut = 0;
		if (s->cur == V_UNKNOWN)
			n = smtp_parse_loggable(line, n, &cut);
		log_field(esc, sizeof(esc), line, n);
		log_info("c%lld: reject: %d %s %s; %s%s%sfrom=%s "
		    "cmd=\"%s%s\"", (long long)s->rec.id, code,
		    status != NULL ? status : "", text,
		    s->rec.test_id != NULL ? "test=" : "",
		    s->rec.test_id != NULL ? s->rec.test_id : "",
		    s->rec.test_id != NULL ? " " : "",
		    s->rec.client_addr, esc, cut ? "..." : "");
	}
}

static void close_after_reply(struct session *, const char *reason);
static enum next smtp_reply_err(struct session *, enum smtp_err);

#define REFUSALS_MAX	32	/* refusals rows of one connection */

/*
 * A refusal by a limit (its row names one) goes to the refusals table,
 * with the recipient ADDR and its test ID where RCPT has them (borrowed).
 */
static void
refusal_record(struct session *s, const struct smtp_error_row *row,
    char *addr, char *id)
{
	struct refusal_rec r;
	char reply[16];

	if (row->refusal == NULL || ++s->rec.refusals > REFUSALS_MAX)
		return;
	(void)snprintf(reply, sizeof(reply), "%d %s", row->code, row->status);
	memset(&r, 0, sizeof(r));
	r.conn_id = s->rec.id;
	r.time = clock_now();
	r.command = s->cur < V_COUNT ? verb_names[s->cur] : "-";
	r.reason = row->refusal;
	r.reply = reply;
	r.address = addr;
	r.test_id = id;
	store_refusal(s->srv->store, &r);
}

/*
 * Replies with the row of E, recorded if it is a refusal by a limit (of
 * recipient ADDR of test ID, or NULL); the rows that end the session end
 * it.
 */
static enum next
reply_refusal(struct session *s, enum smtp_err e, char *addr, char *id)
{
	const struct smtp_error_row *row = smtp_error_row(e);
	const struct config *cfg = s->srv->cfg;

	refusal_record(s, row, addr, id);
	smtp_reply(s, row->code, row->status, "%s", row->text);
	if (row->closes) {
		close_after_reply(s, row->reason);
		return NEXT_CLOSED;
	}
	/*
	 * Postfix's smtpd_hard_error_limit: a bound on what a client can try.
	 * Every refusal counts but our own failure to store or hold.
	 */
	if (e != SE_STORE_FAILED && e != SE_MEMORY &&
	    ++s->errors >= cfg->max_errors)
		return smtp_reply_err(s, SE_TOO_MANY_ERRORS);
	return NEXT_CONTINUE;
}

static enum next
smtp_reply_err(struct session *s, enum smtp_err e)
{
	return reply_refusal(s, e, NULL, NULL);
}

static void
close_after_reply(struct session *s, const char *reason)
{
	free(s->rec.end_reason);
	s->rec.end_reason = strdup(reason);
	smtp_enter(s, S_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	if (!s->tls_active)
		output_write(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		session_free(s, reason);
		return;
	}
	/*
	 * on_write() ends the session once the reply is sent, on_event()
	 * when it cannot be within the write timeout.  A write timeout
	 * disabled writing (the 421 of a client that does not read): enable
	 * it again, else neither callback would ever come.
	 */
	bufferevent_enable(s->bev, EV_WRITE);
}

/* A reply of our own that answers no command: timeout, shutdown. */
static void
reply_unprompted(struct session *s, enum smtp_err e)
{
	if (s->line != NULL)
		s->line[0] = '\0';
	s->cur = V_COUNT;
	(void)smtp_reply_err(s, e);
}

/*
 * max_message_memory: N more bytes for the message buffers of S, counted;
 * -1 (nothing counted) when all sessions together would hold too much.
 */
static int
mem_take(struct session *s, size_t n)
{
	struct smtp_server *srv = s->srv;

	if (srv->mem_held + n > srv->cfg->max_message_memory)
		return -1;
	srv->mem_held += n;
	return 0;
}

/* What a transaction holds once committed: its text and its header. */
static size_t
txn_bytes(const struct txn_rec *txn)
{
	return txn->message_len + txn->headers_len;
}

static void
txn_reset(struct session *s)
{
	s->srv->mem_held -= s->message_cap + s->headers_cap;
	s->message_cap = 0;
	s->headers_cap = 0;
	records_txn_free(s->txn);
	s->txn = NULL;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	s->latched = SE_NONE;
}

/* ---- commands ---- */

/* What EHLO and HELO share, once the name was found non-empty. */
static void
helo_common(struct session *s, const char *verb, const char *arg)
{
	text_set(&s->rec.helo_verb, verb);
	text_set(&s->rec.helo, arg);
	txn_reset(s);	/* RFC 5321 4.1.4: EHLO also resets a transaction */
	smtp_enter(s, S_HELO);
}

static enum next
cmd_ehlo(struct session *s, const char *arg)
{
	const struct config *cfg = s->srv->cfg;
	int tls = s->lis->tls != NULL && !s->tls_active &&
	    s->lis->host->starttls != STARTTLS_OFF;

	if (*arg == '\0')
		return smtp_reply_err(s, SE_SYNTAX);
	helo_common(s, "EHLO", arg);
	/*
	 * Everything a sender might use, so that "not used" is the sender's
	 * choice.  RFC 8689 4.1: REQUIRETLS only once TLS is up.
	 */
	smtp_reply(s, 250, NULL,
	    "%s\nPIPELINING\nSIZE %zu\n8BITMIME\nSMTPUTF8\nCHUNKING\nDSN\n"
	    "%s%sENHANCEDSTATUSCODES", cfg->hostname, cfg->max_message_size,
	    tls ? "STARTTLS\n" : "", s->tls_active ? "REQUIRETLS\n" : "");
	return NEXT_CONTINUE;
}

static enum next
cmd_helo(struct session *s, const char *arg)
{
	if (*arg == '\0')
		return smtp_reply_err(s, SE_SYNTAX);
	helo_common(s, "HELO", arg);
	smtp_reply(s, 250, NULL, "%s", s->srv->cfg->hostname);
	return NEXT_CONTINUE;
}

static enum next
cmd_starttls(struct session *s, const char *arg)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n;

	if (s->lis->tls == NULL || s->lis->host->starttls == STARTTLS_OFF)
		return smtp_reply_err(s, SE_NOT_IMPLEMENTED);
	if (s->tls_active)
		return smtp_reply_err(s, SE_TLS_ACTIVE);
	if (*arg != '\0')
		return smtp_reply_err(s, SE_SYNTAX);
	/* no 220 that the handshake could not follow */
	if ((s->ssl = tls_ssl_new(s->lis->tls, &s->rec.tls)) == NULL)
		return smtp_reply_err(s, SE_TLS_UNAVAILABLE);
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	s->rec.starttls = 1;
	s->ext |= EXT_STARTTLS;
	/*
	 * RFC 3207 section 5 (and CVE-2011-0411): discard anything pipelined
	 * after STARTTLS before the handshake, so that no plaintext command
	 * is taken as if it came under TLS.
	 */
	n = evbuffer_get_length(in);
	if (n > 0) {
		s->rec.pipelined_discarded += (int)n;
		evbuffer_drain(in, n);
	}
	bufferevent_disable(s->bev, EV_READ);
	smtp_enter(s, S_STARTTLS);
	/* on_write() starts the handshake once the 220 is on the wire */
	return NEXT_WAIT;
}

/* The longest parameter value: ORCPT (RFC 3461 4.2: 500 characters). */
#define PARAM_VALUE_MAX	500
#define ENVID_MAX	100	/* RFC 3461 4.4 */

/* The MAIL parameters we offer (EHLO), each allowed once. */
enum mail_param { MP_SIZE, MP_BODY, MP_SMTPUTF8, MP_REQUIRETLS, MP_RET,
	MP_ENVID, MP_COUNT };

static const char *const mail_param_names[MP_COUNT] = {
	"SIZE", "BODY", "SMTPUTF8", "REQUIRETLS", "RET", "ENVID"
};

/*
 * Checks the ESMTP parameters of MAIL and records them in TXN: an error,
 * or SE_NONE.  A keyword we do not offer is 555 (RFC 5321 4.1.1.11), a bad
 * value of one we offer 501.
 */
static enum smtp_err
mail_params(struct session *s, const char *params, struct txn_rec *txn)
{
	const struct config *cfg = s->srv->cfg;
	char key[32], val[PARAM_VALUE_MAX + 1], *end;
	unsigned long long size;
	const char *p = params;
	unsigned seen = 0;
	int r, i;

	while ((r = smtp_parse_param_next(&p, key, sizeof(key), val,
	    sizeof(val))) == 1) {
		for (i = 0; i < MP_COUNT; i++)
			if (strcasecmp(key, mail_param_names[i]) == 0)
				break;
		if (i == MP_COUNT)
			return SE_UNKNOWN_PARAM;
		if (seen & (1u << i))
			return SE_SYNTAX;
		seen |= 1u << i;
		switch ((enum mail_param)i) {
		case MP_SIZE:
			s->ext |= EXT_SIZE;
			errno = 0;
			size = strtoull(val, &end, 10);
			if (!isdigit((unsigned char)val[0]) || *end != '\0' ||
			    errno != 0)
				return SE_SYNTAX;
			/* RFC 1870 6.1: refuse at once what will not fit */
			if (size > cfg->max_message_size)
				return SE_SIZE_EXCEEDED;
			break;
		case MP_BODY:
			/* RFC 6152 2: 7BIT or 8BITMIME (no BINARYMIME here) */
			if (strcasecmp(val, "8BITMIME") == 0) {
				s->ext |= EXT_8BITMIME;
				txn->declared_8bit = 1;
			} else if (strcasecmp(val, "7BIT") != 0)
				return SE_SYNTAX;
			break;
		case MP_SMTPUTF8:
			/* RFC 6531 3.4: no value; the message may be 8-bit */
			s->ext |= EXT_SMTPUTF8;
			if (val[0] != '\0')
				return SE_SYNTAX;
			txn->smtputf8 = 1;
			txn->declared_8bit = 1;
			break;
		case MP_REQUIRETLS:
			s->ext |= EXT_REQUIRETLS;
			if (val[0] != '\0')
				return SE_SYNTAX;
			if (!s->tls_active)
				return SE_REQUIRETLS_NO_TLS;
			txn->requiretls = 1;
			break;
		case MP_RET:
			/* RFC 3461 4.3: RET=FULL or RET=HDRS */
			s->ext |= EXT_DSN;
			if (strcasecmp(val, "FULL") != 0 &&
			    strcasecmp(val, "HDRS") != 0)
				return SE_SYNTAX;
			if ((txn->ret = strdup(val)) == NULL)
				return SE_STORE_FAILED;
			break;
		case MP_ENVID:
			s->ext |= EXT_DSN;
			if (strlen(val) > ENVID_MAX || smtp_parse_xtext(val) == -1)
				return SE_SYNTAX;
			if ((txn->envid = strdup(val)) == NULL)
				return SE_STORE_FAILED;
			break;
		case MP_COUNT:
			break;
		}
	}
	return r == -1 ? SE_SYNTAX : SE_NONE;
}

/*
 * RFC 6531 3.5 (and 3.3): a non-ASCII address only with SMTPUTF8 in MAIL,
 * and then well-formed UTF-8.
 */
static enum smtp_err
path_utf8(const char *path, int smtputf8)
{
	if (!smtp_parse_8bit(path))
		return SE_NONE;
	if (!smtputf8)
		return SE_NEED_SMTPUTF8;
	return smtp_parse_utf8(path) == 0 ? SE_NONE : SE_BAD_ADDRESS;
}

/*
 * max_client_transactions: a token of the client's address (an IPv6
 * one's /64) for one more transaction this hour, or the error.
 */
static enum smtp_err
client_quota(struct session *s)
{
	char net[INET6_ADDRSTRLEN + 4];
	unsigned retry;

	if (netaddr_client_net(s->rec.client_addr, net, sizeof(net)) == -1)
		(void)snprintf(net, sizeof(net), "%s", s->rec.client_addr);
	switch (ratelimit_take(s->srv->clients, net, clock_now(), &retry)) {
	case RL_OK:
	case RL_TOTAL:		/* no total: ratelimit_new() in set_store */
		return SE_NONE;
	case RL_CLIENT:
		return SE_QUOTA_CLIENT;
	case RL_NOMEM:
		break;
	}
	return SE_STORE_FAILED;
}

static enum next
cmd_mail(struct session *s, const char *arg)
{
	char path[PATH_MAX_LEN + 1];
	const char *params;
	struct txn_rec *txn;
	enum smtp_err e;

	if (s->ok[V_MAIL] >= s->srv->cfg->max_transactions)
		return smtp_reply_err(s, SE_QUOTA_SESSION);
	if (smtp_parse_path(arg, path, sizeof(path), &params) == -1)
		return smtp_reply_err(s, SE_BAD_ADDRESS);
	if ((txn = calloc(1, sizeof(*txn))) == NULL)
		return smtp_reply_err(s, SE_STORE_FAILED);
	if ((e = mail_params(s, params, txn)) == SE_NONE)
		e = path_utf8(path, txn->smtputf8);
	if (e == SE_NONE && ((txn->mail_from = strdup(path)) == NULL ||
	    (txn->mail_params = strdup(params)) == NULL))
		e = SE_STORE_FAILED;
	if (e == SE_NONE)
		e = client_quota(s);
	if (e != SE_NONE) {
		records_txn_free(txn);
		return smtp_reply_err(s, e);
	}
	s->txn = txn;
	smtp_enter(s, S_MAIL);
	smtp_reply(s, 250, "2.1.0", "Ok");
	return NEXT_CONTINUE;
}

/*
 * Checks the ESMTP parameters of RCPT (RFC 3461 4.1, 4.2): NOTIFY and
 * ORCPT, each once; anything else is 555.  Records them in R unless NULL.
 */
static enum smtp_err
rcpt_params(struct session *s, const char *params, struct rcpt_rec *r)
{
	char key[32], val[PARAM_VALUE_MAX + 1];
	const char *p = params;
	unsigned seen = 0, bit;
	char **dst;
	int rc;

	while ((rc = smtp_parse_param_next(&p, key, sizeof(key), val,
	    sizeof(val))) == 1) {
		if (strcasecmp(key, "NOTIFY") == 0) {
			s->ext |= EXT_DSN;
			if (smtp_parse_notify(val) == -1)
				return SE_SYNTAX;
			bit = 1;
			dst = r != NULL ? &r->notify : NULL;
		} else if (strcasecmp(key, "ORCPT") == 0) {
			s->ext |= EXT_DSN;
			if (smtp_parse_orcpt(val, s->txn->smtputf8) == -1)
				return SE_SYNTAX;
			bit = 2;
			dst = r != NULL ? &r->orcpt : NULL;
		} else
			return SE_UNKNOWN_PARAM;
		if (seen & bit)
			return SE_SYNTAX;
		seen |= bit;
		if (dst != NULL && (*dst = strdup(val)) == NULL)
			return SE_STORE_FAILED;
	}
	if (rc == -1)
		return SE_SYNTAX;
	if (r != NULL && (r->params = strdup(params)) == NULL)
		return SE_STORE_FAILED;
	return SE_NONE;
}

/*
 * On a greylisting host: counts the attempt, stores it, and says whether
 * to defer it (CHALLENGES.md: keyed by MAIL FROM and RCPT, not address):
 * SE_NONE, SE_GREYLISTED or, with the table full, SE_GREYLIST_FULL.
 */
static enum smtp_err
greylisted(struct session *s, const char *rcpt, const char *id)
{
	const struct catalog_host *ch = catalog_host(s->lis->host->name);
	const struct grey_entry *e;
	struct grey_attempt a;
	enum grey_verdict v;

	if (ch == NULL || !ch->greylist)
		return SE_NONE;
	a.time = clock_now();
	v = greylist_check(s->srv->grey, s->txn->mail_from, rcpt, id, a.time,
	    s->lis->host->greylist_delay_ms, &e);
	if (e == NULL)		/* GREY_FULL: deferred, never waved through */
		return SE_GREYLIST_FULL;
	a.conn_id = s->rec.id;
	a.client_addr = s->rec.client_addr;
	a.accepted = v == GREY_PASS || v == GREY_KNOWN;
	store_greylist(s->srv->store, e, &a);
	if (v == GREY_PASS)
		log_info("c%lld: greylist passed after %.1f s, %u attempts",
		    (long long)s->rec.id, e->passed - e->first_seen,
		    e->attempts);
	return a.accepted ? SE_NONE : SE_GREYLISTED;
}

/* Whether NAME is an element of LIST, "a,b,c". */
static int
in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)) != NULL; p += len)
		if ((p == list || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ','))
			return 1;
	return 0;
}

static void	test_looked_up(enum testcache_answer, void *);

/*
 * RCPT of test ID: SE_NONE when the test exists and may have one more
 * message, else the refusal; SE_NONE with *WAIT set when the test must be
 * looked up first (S_LOOKUP; test_looked_up() runs the RCPT again).
 */
static enum smtp_err
rcpt_test(struct session *s, const char *arg, const char *id, int *wait)
{
	struct smtp_server *srv = s->srv;
	long n;

	*wait = 0;
	if ((n = testcache_transactions(srv->tests, id)) >= 0)
		return (unsigned long)n >= srv->cfg->max_test_transactions ?
		    SE_QUOTA_TEST : SE_NONE;
	if (s->lookup_unknown)
		return SE_UNKNOWN_TEST;
	s->lookup = testcache_lookup(srv->tests, id, test_looked_up, s);
	if (s->lookup == NULL)
		return SE_STORE_FAILED;
	s->lookup_arg = arg;
	s->lookup_back = s->state;
	bufferevent_disable(s->bev, EV_READ);
	smtp_enter(s, S_LOOKUP);
	*wait = 1;
	return SE_NONE;
}

static enum next
cmd_rcpt(struct session *s, const char *arg)
{
	const struct catalog_challenge *ch = NULL;
	char path[PATH_MAX_LEN + 1], id[TESTID_LEN + 1];
	struct rcpt_rec *r;
	const char *params;
	enum testid_rcpt kind;
	enum smtp_err e;
	int wait;

	if (smtp_parse_path(arg, path, sizeof(path), &params) == -1)
		return smtp_reply_err(s, SE_BAD_ADDRESS);
	if (path[0] == '\0')
		return smtp_reply_err(s, SE_NULL_RECIPIENT);
	if ((e = path_utf8(path, s->txn->smtputf8)) != SE_NONE)
		return smtp_reply_err(s, e);
	if (s->txn->nrcpts >= s->srv->cfg->max_recipients)
		return smtp_reply_err(s, SE_TOO_MANY_RECIPIENTS);
	if ((e = rcpt_params(s, params, NULL)) != SE_NONE)
		return smtp_reply_err(s, e);

	/* Never a relay: only the catalogue's domains are ours. */
	kind = testid_classify(s->srv->cfg, path, id, &ch);
	if (kind == RCPT_FOREIGN)
		return smtp_reply_err(s, SE_RELAY_DENIED);
	if (kind == RCPT_NO_USER)
		return smtp_reply_err(s, SE_NO_SUCH_USER);

	/* Only tests that exist, each up to its quota */
	if (kind == RCPT_TEST) {
		if ((e = rcpt_test(s, arg, id, &wait)) != SE_NONE)
			return reply_refusal(s, e, path, id);
		if (wait)
			return NEXT_WAIT;
	}
	/* Attribution (DESIGN.md data flow 3): the first test RCPT */
	if (kind == RCPT_TEST && s->rec.test_id == NULL) {
		s->rec.test_id = strdup(id);
		s->rcpt_challenge = ch->name;
	}
	if (kind == RCPT_TEST && (e = greylisted(s, path, id)) != SE_NONE)
		return reply_refusal(s, e, path, id);
	/* RFC 8460 3: a TLS-RPT report, never greylisted, kept whole */
	if (kind == RCPT_REPORT && s->txn->report_kind == NULL) {
		if ((s->txn->report_rcpt = strdup(path)) == NULL)
			return smtp_reply_err(s, SE_STORE_FAILED);
		s->txn->report_kind = "tlsrpt";
	}

	r = realloc(s->txn->rcpts, (s->txn->nrcpts + 1) * sizeof(*r));
	if (r == NULL)
		return smtp_reply_err(s, SE_STORE_FAILED);
	s->txn->rcpts = r;
	r = &r[s->txn->nrcpts];
	memset(r, 0, sizeof(*r));
	r->address = strdup(path);
	if (kind == RCPT_TEST) {
		r->challenge = strdup(ch->name);
		r->test_id = strdup(id);
		r->wrong_host = !in_list(s->lis->candidates, ch->name);
		if (r->wrong_host)
			log_info("c%lld: wrong_host: rcpt for challenge %s on "
			    "an address of %s", (long long)s->rec.id,
			    ch->name, s->lis->candidates);
	}
	s->txn->nrcpts++;
	/* checked above: only memory can fail now */
	if (rcpt_params(s, params, r) != SE_NONE) {
		s->txn->nrcpts--;
		records_rcpt_clear(r);
		return smtp_reply_err(s, SE_STORE_FAILED);
	}
	smtp_enter(s, S_RCPT);
	smtp_reply(s, 250, "2.1.5", "Ok");
	return NEXT_CONTINUE;
}

/*
 * The answer of testcache_lookup(): the RCPT again, now answered from the
 * cache or refused, then the input that waited behind it.
 */
static void
test_looked_up(enum testcache_answer a, void *arg)
{
	struct session *s = arg;
	enum next r;

	s->lookup = NULL;
	if (s->state != S_LOOKUP)	/* ended meanwhile: reply queued */
		return;
	smtp_enter(s, s->lookup_back);
	if (a == TC_FAILED)
		r = smtp_reply_err(s, SE_STORE_FAILED);
	else {
		s->lookup_unknown = a == TC_UNKNOWN;
		r = cmd_rcpt(s, s->lookup_arg);
		if (r == NEXT_CLOSED)
			return;		/* S perhaps freed: its refusal ended it */
		s->lookup_unknown = 0;
	}
	if (r != NEXT_CONTINUE)
		return;		/* closing, or looked up again: no reply */
	bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

/*
 * The first buffers of a message: a DATA or BDAT is begun only while all
 * sessions leave room for them (max_message_memory).
 */
#define HEADERS_CAP_FIRST	4096
#define MESSAGE_CAP_FIRST	16384

/* Whether the sessions hold so much that no message may begin. */
static int
mem_full(const struct smtp_server *srv)
{
	return srv->mem_held + HEADERS_CAP_FIRST + MESSAGE_CAP_FIRST >
	    srv->cfg->max_message_memory;
}

/*
 * A buffer of capacity CAP grown for NEED bytes: doubled, but never past
 * MAX (+1 for the NUL) when NEED fits in it.
 */
static size_t
cap_grow(size_t cap, size_t first, size_t need, size_t max)
{
	size_t c = cap > 0 ? cap * 2 : first;

	while (c < need)
		c *= 2;
	if (c > max + 1 && need <= max + 1)
		c = max + 1;
	return c;
}

/* What DATA and the first BDAT chunk start: the hash, the buffers. */
static int
message_begin(struct session *s)
{
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		return -1;
	s->latched = SE_NONE;
	s->in_headers = 1;
	memset(&s->scan, 0, sizeof(s->scan));
	return 0;
}

static enum next
cmd_data(struct session *s, const char *arg)
{
	if (*arg != '\0')
		return smtp_reply_err(s, SE_SYNTAX);
	if (mem_full(s->srv))
		return smtp_reply_err(s, SE_MEMORY);
	if (message_begin(s) == -1)
		return smtp_reply_err(s, SE_STORE_FAILED);
	s->prev_eol = 2;	/* the CRLF that ended "DATA" */
	s->txn->body_method = "DATA";
	smtp_enter(s, S_DATA);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	return NEXT_CONTINUE;
}

static enum next
cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	txn_reset(s);
	if (s->state != S_INIT)
		smtp_enter(s, S_HELO);
	smtp_reply(s, 250, "2.0.0", "Ok");
	return NEXT_CONTINUE;
}

static enum next
cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, 250, "2.0.0", "Ok");
	return NEXT_CONTINUE;
}

static enum next
cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, 221, "2.0.0", "Bye");
	close_after_reply(s, "quit");
	return NEXT_CLOSED;
}

static enum next
cmd_vrfy(struct session *s, const char *arg)
{
	if (*arg == '\0')
		return smtp_reply_err(s, SE_SYNTAX);
	/* RFC 5321 3.5.3: 252 when we will not say */
	smtp_reply(s, 252, "2.5.0",
	    "Cannot VRFY user, but will accept message and attempt delivery");
	return NEXT_CONTINUE;
}

static enum next
cmd_help(struct session *s, const char *arg)
{
	(void)arg;
	smtp_reply(s, 214, "2.0.0",
	    "mailscope measures mail senders; send to your test's addresses");
	return NEXT_CONTINUE;
}

/* ---- input ---- */

/*
 * Drops an over-long line: to its end if buffered, else all and later.
 * A CR that ends the input stays: the LF of its CRLF may come in the next
 * read, and without the CR it would look like a bare LF (and the CRLF "."
 * CRLF after it like content).
 */
static void
drop_long_line(struct session *s, struct evbuffer *in)
{
	struct evbuffer_ptr p;
	size_t eol, n;
	char last;

	p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos != -1) {
		evbuffer_drain(in, (size_t)p.pos + eol);
		s->skip_line = 0;
		s->dropped_eol = (int)eol;
		return;
	}
	n = evbuffer_get_length(in);
	if (n > 0 && evbuffer_ptr_set(in, &p, n - 1, EVBUFFER_PTR_SET) == 0 &&
	    evbuffer_copyout_from(in, &p, &last, 1) == 1 && last == '\r')
		n--;
	evbuffer_drain(in, n);
	s->skip_line = 1;
}

enum got { GOT_LINE, GOT_MORE, GOT_TOO_LONG, GOT_SKIPPED };

/*
 * Takes the next line into s->line, NUL-terminated.  A command line's NULs
 * become '?' (commands are parsed and logged as strings); a data line is
 * kept as sent, for the hash and the store, and used by its length.
 */
static enum got
next_line(struct session *s, struct evbuffer *in, size_t *len, size_t *eol)
{
	size_t i;

	if (s->skip_line) {
		drop_long_line(s, in);
		return s->skip_line ? GOT_MORE : GOT_SKIPPED;
	}
	switch (smtp_parse_line(in, s->srv->cfg->line_max, len, eol)) {
	case LINE_MORE:
		return GOT_MORE;
	case LINE_TOO_LONG:
		drop_long_line(s, in);
		return GOT_TOO_LONG;
	case LINE_OK:
		break;
	}
	evbuffer_remove(in, s->line, *len);
	evbuffer_drain(in, *eol);
	for (i = 0; i < *len && s->state != S_DATA; i++)
		if (s->line[i] == '\0')
			s->line[i] = '?';
	s->line[*len] = '\0';
	return GOT_LINE;
}

static enum smtp_err
wrong_state(const struct smtp_cmd *c, enum smtp_state st)
{
	int body = c->id == V_DATA || c->id == V_BDAT;

	if (st == S_INIT && (c->id == V_MAIL || c->id == V_RCPT || body))
		return SE_NEED_HELO;
	if (c->id == V_MAIL)
		return SE_NESTED_MAIL;
	if (c->id == V_DATA && st == S_CHUNKED)
		return SE_DATA_AFTER_BDAT;
	if (body && st == S_MAIL)
		return SE_NEED_RCPT;
	if ((c->id == V_RCPT && st != S_CHUNKED) || body)
		return SE_NEED_MAIL;
	return SE_BAD_SEQUENCE;
}

static enum next
dispatch(struct session *s, struct evbuffer *in)
{
	const struct config *cfg = s->srv->cfg;
	const struct smtp_cmd *c = NULL;
	const char *arg = NULL;
	enum smtp_err e = SE_NONE;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if ((arg = smtp_parse_verb(s->line, commands[i].verb)) != NULL) {
			c = &commands[i];
			break;
		}
	s->cur = c != NULL ? c->id : V_UNKNOWN;
	s->total[s->cur]++;
	if (c == NULL || (c->flags & CMD_COUNTS_TOWARD_LIMIT)) {
		if (++s->junk > cfg->max_commands)
			return smtp_reply_err(s, SE_TOO_MANY_COMMANDS);
	}
	/* RFC 5321 2.3.8: a CR belongs in CRLF; inside, it is no argument */
	if (smtp_parse_bare_cr(s->line, strlen(s->line))) {
		s->rec.bare_cr_commands++;
		return smtp_reply_err(s, SE_BARE_CR);
	}
	if (c == NULL)
		return smtp_reply_err(s, SE_UNKNOWN_COMMAND);

	/* RFC 2920 3.1: these end a group; more input now is improper. */
	if (c->id != V_BDAT && evbuffer_get_length(in) > 0) {
		if (c->flags & CMD_LAST_IN_GROUP)
			s->rec.improper_pipelining++;
		else
			s->ext |= EXT_PIPELINING;
	}
	/* RFC 3207 4: 530 to all but NOOP, EHLO, STARTTLS and QUIT */
	if (s->lis->host->starttls == STARTTLS_REQUIRED && !s->tls_active &&
	    !(c->flags & CMD_PRE_TLS))
		e = SE_TLS_REQUIRED;
	else if (!(c->states & ST(s->state)))
		e = wrong_state(c, s->state);
	if (e != SE_NONE)
		return c->id == V_BDAT ? bdat_refuse(s, arg, e) :
		    smtp_reply_err(s, e);
	return c->handler(s, arg);
}

static enum next
command_line(struct session *s, struct evbuffer *in)
{
	size_t len, eol;
	enum got got;

	if ((got = next_line(s, in, &len, &eol)) != GOT_MORE)
		step_arm(s, s->srv->tv_command);	/* for the next line */
	switch (got) {
	case GOT_MORE:
		return NEXT_WAIT;
	case GOT_SKIPPED:
		return NEXT_CONTINUE;
	case GOT_TOO_LONG:
		s->line[0] = '\0';
		s->cur = V_UNKNOWN;
		s->total[V_UNKNOWN]++;
		return smtp_reply_err(s, SE_LINE_TOO_LONG);
	case GOT_LINE:
		break;
	}
	return dispatch(s, in);
}

static void
hex(char *dst, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 0xf];
	}
	dst[2 * n] = '\0';
}

/* The end of the message: hands it to the store, which answers. */
static enum next
txn_commit(struct session *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct txn_rec *txn = s->txn;

	s->commit_verb = s->cur;
	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1) {
		txn_reset(s);
		smtp_enter(s, S_HELO);
		return smtp_reply_err(s, SE_STORE_FAILED);
	}
	hex(txn->body_sha256, md, mdlen);
	txn->conn_id = s->rec.id;
	txn->received = clock_now();
	txn->tls = s->tls_active;
	/* for the analyzers; out of memory, they skip what needs them */
	txn->client_addr = s->rec.client_addr != NULL ?
	    strdup(s->rec.client_addr) : NULL;
	txn->helo = s->rec.helo != NULL ? strdup(s->rec.helo) : NULL;
	/* held until the store is done with it: smtp_store_done() */
	s->srv->mem_held += txn_bytes(txn);
	s->txn = NULL;
	txn_reset(s);
	/* Acknowledged means durable: 250 only in smtp_store_done(). */
	bufferevent_disable(s->bev, EV_READ);
	smtp_enter(s, S_COMMIT);
	store_txn(s->srv->store, txn);
	return NEXT_WAIT;
}

/* The final dot: refuse what was latched, else commit, then reply. */
static enum next
data_end(struct session *s)
{
	enum smtp_err e = s->latched;

	s->cur = V_DATA;
	if (e != SE_NONE) {
		txn_reset(s);
		smtp_enter(s, S_HELO);
		return smtp_reply_err(s, e);
	}
	return txn_commit(s);
}

/*
 * The message cannot grow within max_message_memory: it will be refused
 * (452 4.3.1 after its end), so what it holds is given back at once, for
 * the sessions that may still finish theirs.
 */
static void
mem_refuse(struct session *s)
{
	struct txn_rec *txn = s->txn;

	s->latched = smtp_error_worst(s->latched, SE_MEMORY);
	s->srv->mem_held -= s->message_cap + s->headers_cap;
	free(txn->message);
	free(txn->headers);
	txn->message = txn->headers = NULL;
	txn->message_len = txn->headers_len = 0;
	s->message_cap = s->headers_cap = 0;
}

static void
header_add(struct session *s, const char *p, size_t n)
{
	struct txn_rec *txn = s->txn;
	size_t max = s->srv->cfg->max_header_size;
	char *h;

	if (s->latched != SE_NONE)	/* refused at the end: not kept */
		return;
	if (txn->headers_len + n > max)
		n = max - txn->headers_len;
	if (n == 0)
		return;
	if (txn->headers_len + n + 1 > s->headers_cap) {
		size_t cap = cap_grow(s->headers_cap, HEADERS_CAP_FIRST,
		    txn->headers_len + n + 1, max);

		if (mem_take(s, cap - s->headers_cap) == -1) {
			mem_refuse(s);
			return;
		}
		if ((h = realloc(txn->headers, cap)) == NULL) {
			s->srv->mem_held -= cap - s->headers_cap;
			return;
		}
		txn->headers = h;
		s->headers_cap = cap;
	}
	memcpy(txn->headers + txn->headers_len, p, n);
	txn->headers_len += n;
	txn->headers[txn->headers_len] = '\0';
}

/* The message as received, for the analyzers; bounded by the size limit. */
static void
message_add(struct session *s, const char *p, size_t n)
{
	struct txn_rec *txn = s->txn;
	char *m;

	if (s->latched != SE_NONE)	/* refused at the end: not kept */
		return;
	if (txn->message_len + n + 1 > s->message_cap) {
		size_t cap = cap_grow(s->message_cap, MESSAGE_CAP_FIRST,
		    txn->message_len + n + 1, s->srv->cfg->max_message_size);

		if (mem_take(s, cap - s->message_cap) == -1) {
			mem_refuse(s);
			return;
		}
		if ((m = realloc(txn->message, cap)) == NULL) {
			s->srv->mem_held -= cap - s->message_cap;
			s->latched = smtp_error_worst(s->latched,
			    SE_STORE_FAILED);
			return;
		}
		txn->message = m;
		s->message_cap = cap;
	}
	memcpy(txn->message + txn->message_len, p, n);
	txn->message_len += n;
	txn->message[txn->message_len] = '\0';
}

static enum next
data_line(struct session *s, struct evbuffer *in)
{
	struct txn_rec *txn = s->txn;
	const char *eolstr;
	size_t len, eol, skip, n, i;

	switch (next_line(s, in, &len, &eol)) {
	case GOT_MORE:
		return NEXT_WAIT;
	case GOT_TOO_LONG:
		/* latched: the reply comes after the final dot */
		txn->long_lines++;
		s->latched = smtp_error_worst(s->latched, SE_LINE_TOO_LONG);
		/* FALLTHROUGH */
	case GOT_SKIPPED:
		/* the end of a dropped line counts for the final dot too */
		if (!s->skip_line) {
			s->prev_eol = s->dropped_eol;
			if (s->dropped_eol == 1)
				txn->bare_lf++;
		}
		return NEXT_CONTINUE;
	case GOT_LINE:
		break;
	}
	/* CRLF "." CRLF only (RFC 5321 4.1.1.4): the SMTP smuggling defence */
	if (smtp_parse_data_end(s->line, len, (size_t)s->prev_eol, eol))
		return data_end(s);
	skip = smtp_parse_unstuff(s->line, len, (size_t)s->prev_eol);
	s->prev_eol = (int)eol;
	if (eol == 1)
		txn->bare_lf++;
	for (i = 0; i < len; i++)
		if (s->line[i] == '\r')
			txn->bare_cr++;
		else if (s->line[i] == '\0')
			txn->nul_bytes++;
	n = len - skip;
	eolstr = eol == 2 ? "\r\n" : "\n";
	txn->size += n + eol;
	if (txn->size > s->srv->cfg->max_message_size) {
		s->latched = smtp_error_worst(s->latched, SE_MESSAGE_TOO_BIG);
		return NEXT_CONTINUE;
	}
	if (s->latched != SE_NONE)
		return NEXT_CONTINUE;
	EVP_DigestUpdate(s->md, s->line + skip, n);
	EVP_DigestUpdate(s->md, eolstr, eol);
	message_add(s, s->line + skip, n);
	message_add(s, eolstr, eol);
	if (s->in_headers) {
		if (n == 0)
			s->in_headers = 0;
		else {
			header_add(s, s->line + skip, n);
			header_add(s, eolstr, eol);
		}
	}
	return NEXT_CONTINUE;
}

/*
 * A BDAT chunk (RFC 3030 2): exactly SIZE octets follow the command line,
 * read as they come (a chunk may span reads, commands may follow it in the
 * same one).  They are the message as sent: no dot-unstuffing and no end
 * of data inside (a CRLF "." CRLF there is content), so a chunk cannot
 * smuggle a command.  E: refuse once the octets are read (RFC 3030 2: a
 * BDAT out of sequence is answered 503, its chunk consumed).
 */
static enum next
bdat_begin(struct session *s, size_t size, int last, enum smtp_err e)
{
	s->ext |= EXT_CHUNKING;
	if (e == SE_NONE && s->txn->chunks == 0 && mem_full(s->srv))
		e = SE_MEMORY;
	if (e == SE_NONE && s->txn->chunks == 0 && message_begin(s) == -1)
		e = SE_STORE_FAILED;
	if (e == SE_NONE) {
		s->txn->body_method = "BDAT";
		s->txn->chunks++;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_refused = e;
	s->bdat_back = s->state;
	smtp_enter(s, S_BDAT);
	return NEXT_CONTINUE;
}

static enum next
cmd_bdat(struct session *s, const char *arg)
{
	size_t size;
	int last;

	if (smtp_parse_bdat(arg, &size, &last) == -1)
		return smtp_reply_err(s, SE_SYNTAX);
	return bdat_begin(s, size, last, SE_NONE);
}

/*
 * A BDAT the dispatcher refuses (wrong state, TLS required): its chunk is
 * read all the same, else its octets would be taken as commands.
 */
static enum next
bdat_refuse(struct session *s, const char *arg, enum smtp_err e)
{
	size_t size;
	int last;

	if (smtp_parse_bdat(arg, &size, &last) == -1)
		return smtp_reply_err(s, SE_SYNTAX);
	return bdat_begin(s, size, last, e);
}

/* N octets of a chunk of the transaction: counted, hashed, kept. */
static void
bdat_add(struct session *s, const char *p, size_t n)
{
	struct txn_rec *txn = s->txn;
	size_t head;
	int trim;

	head = smtp_parse_scan(&s->scan, p, n, s->srv->cfg->line_max, &trim);
	txn->size += n;
	if (txn->size > s->srv->cfg->max_message_size)
		s->latched = smtp_error_worst(s->latched, SE_MESSAGE_TOO_BIG);
	if (s->latched != SE_NONE)
		return;
	EVP_DigestUpdate(s->md, p, n);
	message_add(s, p, n);
	if (trim && txn->headers_len > 0)
		txn->headers[--txn->headers_len] = '\0';
	if (s->in_headers)
		header_add(s, p, head);
	if (s->scan.body)
		s->in_headers = 0;
}

/* The end of a chunk: refused, latched, the next one, or the message. */
static enum next
bdat_end(struct session *s)
{
	struct txn_rec *txn = s->txn;
	enum smtp_err e;

	s->cur = V_BDAT;
	/* RFC 2920: the next command sent before this chunk's reply */
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		s->ext |= EXT_PIPELINING;
	if ((e = s->bdat_refused) != SE_NONE) {
		s->bdat_refused = SE_NONE;
		smtp_enter(s, s->bdat_back);
		return smtp_reply_err(s, e);
	}
	/* RFC 3030 2: after an error the transaction is over */
	if ((e = s->latched) != SE_NONE) {
		txn_reset(s);
		smtp_enter(s, S_HELO);
		return smtp_reply_err(s, e);
	}
	if (!s->bdat_last) {
		smtp_enter(s, S_CHUNKED);
		smtp_reply(s, 250, "2.0.0", "Ok: %zu octets", txn->size);
		return NEXT_CONTINUE;
	}
	smtp_parse_scan_end(&s->scan);
	txn->bare_lf = s->scan.bare_lf;
	txn->bare_cr = s->scan.bare_cr;
	txn->nul_bytes = s->scan.nul_bytes;
	txn->long_lines = s->scan.long_lines;
	return txn_commit(s);
}

static enum next
bdat_read(struct session *s, struct evbuffer *in)
{
	char buf[16384];
	size_t n;

	while (s->bdat_left > 0) {
		n = evbuffer_get_length(in);
		if (n == 0)
			return NEXT_WAIT;
		if (n > s->bdat_left)
			n = s->bdat_left;
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (evbuffer_remove(in, buf, n) != (int)n)
			return NEXT_WAIT;
		s->bdat_left -= n;
		if (s->bdat_refused == SE_NONE)
			bdat_add(s, buf, n);
	}
	return bdat_end(s);
}

/*
 * What a plain session's socket takes of its replies, written at once.
 * The bufferevent keeps the start of its output frozen, draining it
 * itself; so does this, as its write callback does.  An error (the peer
 * gone) is left for the bufferevent to report.
 */
static void
output_write(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	(void)evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, s->fd);
	(void)evbuffer_freeze(out, 1);
}

/*
 * What the output leaves once written: the 220 to STARTTLS starts the
 * handshake, a paused session reads again.
 */
static void
output_drained(struct session *s)
{
	if (s->state == S_STARTTLS)
		start_tls(s);
	else if (s->read_paused && s->state < S_LOOKUP) {
		/* the replies are sent: read on, in a reading state */
		log_debug("c%lld: reading resumed", (long long)s->rec.id);
		s->read_paused = 0;
		bufferevent_enable(s->bev, EV_READ);
		session_process(s);
	}
}

/*
 * The replies of a plain session written at once, without a write event
 * (whose arming and disarming for every reply cost two epoll_ctl): what
 * the socket does not take is left to the bufferevent, EV_WRITE enabled
 * with its timeout, and on_write() takes over.  A TLS session's
 * bufferevent writes itself.  May start the handshake or free S.
 */
static void
session_flush(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (s->tls_active || evbuffer_get_length(out) == 0)
		return;
	output_write(s);
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	output_drained(s);
}

/*
 * Reads lines while the state lets it, then writes the replies; may end
 * the session.
 */
static void
session_process(struct session *s)
{
	struct evbuffer *in;
	enum next r;

	for (;;) {
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    SMTP_OUTPUT_MAX) {
			/* on_write() resumes once the replies are sent */
			log_debug("c%lld: reading paused: %zu bytes of replies "
			    "unsent", (long long)s->rec.id,
			    evbuffer_get_length(bufferevent_get_output(s->bev)));
			s->read_paused = 1;
			bufferevent_disable(s->bev, EV_READ);
			break;
		}
		in = bufferevent_get_input(s->bev);
		if (s->state == S_DATA)
			r = data_line(s, in);
		else if (s->state == S_BDAT)
			r = bdat_read(s, in);
		else if (s->state <= S_CHUNKED)
			r = command_line(s, in);
		else
			break;
		if (r == NEXT_CLOSED)
			return;
		if (r == NEXT_WAIT)
			break;
	}
	session_flush(s);
}

/* ---- TLS ---- */

static void
start_tls(struct session *s)
{
	struct event_base *base = s->srv->base;
	struct bufferevent *bev;
	SSL *ssl = s->ssl;

	s->ssl = NULL;
	s->rec.tls.attempted = 1;
	/*
	 * The socket bufferevent is dropped with whatever it had read: the
	 * ClientHello is still in the kernel, read by the TLS bufferevent.
	 */
	bufferevent_free(s->bev);
	s->bev = NULL;
	bev = bufferevent_openssl_socket_new(base, s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		session_free(s, "tls-failed");
		return;
	}
	s->bev = bev;
	s->tls_active = 1;	/* the bufferevent owns the fd from now on */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, on_read, on_write, on_event, s);
	smtp_enter(s, S_TLS);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/*
 * The test the SNI names, if any (testid_from_name): attribution of a
 * connection that ends before RCPT (docs/researcher.md).
 */
static void
sni_test(struct session *s)
{
	const struct catalog_challenge *ch;
	char id[TESTID_LEN + 1];

	if (s->rec.tls.sni == NULL || s->rec.sni_test_id != NULL ||
	    !testid_from_name(s->srv->cfg, s->rec.tls.sni, id, &ch))
		return;
	if ((s->rec.sni_test_id = strdup(id)) != NULL)
		s->sni_challenge = ch->name;
}

static void
tls_done(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	tls_record_established(ssl, &s->rec.tls);
	sni_test(s);
	log_info("c%lld: tls version=%s cipher=%s group=%s%s%s",
	    (long long)s->rec.id, s->rec.tls.version, s->rec.tls.cipher,
	    s->rec.tls.group != NULL ? s->rec.tls.group : "-",
	    s->rec.sni_test_id != NULL ? " sni_test=" : "",
	    s->rec.sni_test_id != NULL ? s->rec.sni_test_id : "");
	/* RFC 3207 4.2: forget what the client said before; EHLO again */
	txn_reset(s);
	smtp_enter(s, S_INIT);
	session_process(s);
}

static void
tls_failed(struct session *s, short what)
{
	int serr = EVUTIL_SOCKET_ERROR();
	unsigned long e, first = 0;

	if (!(what & BEV_EVENT_ERROR) || serr == EAGAIN || serr == EINTR)
		serr = 0;	/* errno is only the socket's error here */
	/*
	 * libevent queues SSL_ERROR_SYSCALL (library 0) for a socket error:
	 * only real OpenSSL errors count, else the socket's own error.
	 */
	while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
		if (first == 0 && ERR_GET_LIB(e) != 0)
			first = e;
	tls_record_failure(&s->rec.tls, first, serr != 0 ?
	    evutil_socket_error_to_string(serr) : NULL);
	log_debug("c%lld: tls handshake failed: %s alert_sent=%s "
	    "alert_received=%s", (long long)s->rec.id,
	    s->rec.tls.error != NULL ? s->rec.tls.error : "-",
	    s->rec.tls.alert_sent != NULL ? s->rec.tls.alert_sent : "-",
	    s->rec.tls.alert_received != NULL ? s->rec.tls.alert_received :
	    "-");
	session_free(s, "tls-failed");
}

/* ---- callbacks ---- */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	/* an idle connection holds no line buffer: taken at its first input */
	if (s->line == NULL &&
	    (s->line = calloc(1, s->srv->cfg->line_max + 1)) == NULL) {
		log_warn("c%lld: out of memory", (long long)s->rec.id);
		session_free(s, "error");
		return;
	}
	session_process(s);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* a plain session writes at once again (session_flush()) */
	if (!s->tls_active && s->state != S_CLOSING)
		bufferevent_disable(bev, EV_WRITE);
	if (s->state == S_CLOSING)
		session_free(s, s->rec.end_reason);
	else
		output_drained(s);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == S_TLS)
			tls_done(s);
		return;
	}
	if (s->state == S_TLS) {
		if (what & BEV_EVENT_TIMEOUT)
			text_set(&s->rec.tls.error, "handshake timeout");
		tls_failed(s, what);
		return;
	}
	/*
	 * The reason was decided with the last reply (QUIT's 221, a closing
	 * 4xx): a client that closes or resets before reading it, as Postfix
	 * does with smtp_skip_quit_response, does not change it (issue 12).
	 */
	if (s->state == S_CLOSING) {
		session_free(s, s->rec.end_reason);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		reply_unprompted(s, SE_TIMEOUT);
		return;
	}
	session_free(s, (what & BEV_EVENT_ERROR) ? "error" : "disconnect");
}

/* ---- life cycle ---- */

static void
summarize(struct session *s)
{
	char buf[512], *p = buf;
	size_t left = sizeof(buf), i;
	unsigned ok = 0, total = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < V_COUNT; i++) {
		if (s->total[i] == 0)
			continue;
		ok += s->ok[i];
		total += s->total[i];
		if (s->ok[i] == s->total[i])
			n = snprintf(p, left, "%s=%u ", verb_names[i],
			    s->total[i]);
		else
			n = snprintf(p, left, "%s=%u/%u ", verb_names[i],
			    s->ok[i], s->total[i]);
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
	if (ok == total)
		snprintf(p, left, "commands=%u", total);
	else
		snprintf(p, left, "commands=%u/%u", ok, total);
	text_set(&s->rec.commands, buf);

	buf[0] = '\0';
	for (i = 0; i < sizeof(ext_names) / sizeof(ext_names[0]); i++)
		if (s->ext & ext_names[i].bit) {
			if (buf[0] != '\0')
				strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
			strncat(buf, ext_names[i].name,
			    sizeof(buf) - strlen(buf) - 1);
		}
	text_set(&s->rec.extensions, buf[0] != '\0' ? buf : NULL);
}

/*
 * The disconnect line: the test where known (by recipient, else by SNI,
 * with the challenge it was named under), why a handshake failed
 * (OpenSSL's reason, the alerts), then the command summary.
 */
static void
session_log_end(struct session *s, const char *reason)
{
	const struct tls_rec *t = &s->rec.tls;
	char test[TESTID_LEN + 64] = "", why[512] = "", err[256];
	const char *by = NULL, *ch = NULL, *id = NULL;

	if (s->rec.test_id != NULL) {
		id = s->rec.test_id;
		ch = s->rcpt_challenge;
		by = "rcpt";
	} else if (s->rec.sni_test_id != NULL) {
		id = s->rec.sni_test_id;
		ch = s->sni_challenge;
		by = "sni";
	}
	if (id != NULL)
		(void)snprintf(test, sizeof(test), " test=%s/%s by=%s", id,
		    ch != NULL ? ch : "-", by);
	if (t->attempted && !t->established) {
		log_field_escaped(err, sizeof(err),
		    t->error != NULL ? t->error : "-");
		(void)snprintf(why, sizeof(why), " tls_error=\"%s\" "
		    "alert_sent=%s alert_received=%s", err,
		    t->alert_sent != NULL ? t->alert_sent : "-",
		    t->alert_received != NULL ? t->alert_received : "-");
	}
	log_info("c%lld: disconnect from %s host=%s reason=%s%s%s %s",
	    (long long)s->rec.id, s->rec.client_addr, s->lis->host->name,
	    reason, test, why, s->rec.commands);
}

static void
session_free(struct session *s, const char *reason)
{
	struct smtp_server *srv = s->srv;

	if (s->rec.end_reason != reason)
		text_set(&s->rec.end_reason, reason);
	s->rec.ended = clock_now();
	s->rec.mail_commands = s->total[V_MAIL];
	summarize(s);
	sni_test(s);
	session_log_end(s, reason);
	store_conn_close(srv->store, &s->rec);

	if (s->bev != NULL) {
		if (s->tls_active) {
			SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

			tls_ssl_detach(ssl);
			/* RFC 8446 6.1: close_notify, best effort, no wait */
			if (s->rec.tls.established) {
				ERR_clear_error();
				(void)SSL_shutdown(ssl);
				ERR_clear_error();
			}
		}
		bufferevent_free(s->bev);
	}
	if (!s->tls_active)
		close(s->fd);
	if (s->ssl != NULL) {
		tls_ssl_detach(s->ssl);
		SSL_free(s->ssl);
	}
	txn_reset(s);
	if (s->lookup != NULL)
		testcache_cancel(s->lookup);
	event_free(s->lifetime);
	event_free(s->step);
	connlimit_remove(srv->limit, s->rec.client_addr);
	records_conn_clear(&s->rec);
	free(s->line);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	free(s);
	if (srv->shutting_down && connlimit_count(srv->limit) == 0 &&
	    srv->done != NULL) {
		void (*done)(void *) = srv->done;

		srv->done = NULL;
		done(srv->done_arg);
	}
}

/*
 * Ends S now with E (421, a row that closes): after its reply when it is
 * committing a transaction, at once during a handshake, and not again
 * when its last reply is queued (that ends within the write timeout).
 */
static void
session_end(struct session *s, enum smtp_err e)
{
	switch (s->state) {
	case S_COMMIT:		/* smtp_store_done(): 250, then E */
		s->end_after_commit = e;
		break;
	case S_CLOSING:
		break;
	case S_STARTTLS:
	case S_TLS:
		session_free(s, smtp_error_row(e)->reason);
		break;
	default:
		reply_unprompted(s, e);
		break;
	}
}

/* A command line or a handshake took longer than its timeout. */
static void
step_expired(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == S_TLS) {
		text_set(&s->rec.tls.error, "handshake timeout");
		tls_failed(s, BEV_EVENT_TIMEOUT);
		return;
	}
	reply_unprompted(s, SE_TIMEOUT);
}

/* timeout_session: however the peer keeps it alive, a session ends. */
static void
session_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_end(arg, SE_TIMEOUT);
}

/*
 * A flood must not outrun the disk: connections refused at accept have a
 * row each up to REFUSED_RECORD_RATE a second from one client network,
 * and none while the store has STORE_BACKLOG_MAX session records to
 * write (all connections are refused then).
 */
#define REFUSED_RECORD_RATE	10
#define STORE_BACKLOG_MAX	10000

/* The limit a new connection from ADDR (of client network NET) is over. */
static enum smtp_err
accept_limit(struct smtp_server *srv, const char *addr, const char *net,
    double now)
{
	unsigned retry;

	if (store_backlog(srv->store) >= STORE_BACKLOG_MAX)
		return SE_STORE_BUSY;
	if (connlimit_total_reached(srv->limit))
		return SE_TOO_MANY_CONNECTIONS;
	if (connlimit_addr_reached(srv->limit, addr))
		return SE_TOO_MANY_FROM_IP;
	if (ratelimit_take(srv->conn_rate, net, now, &retry) != RL_OK)
		return SE_CONNECTION_RATE;
	return SE_NONE;
}

/*
 * A connection refused without a row: its reply written at once (a new
 * socket has room for it), closed; counted for the next row of its
 * network (connections.unrecorded) or, for the store's backlog, logged.
 */
static void
refuse_unrecorded(struct smtp_server *srv, evutil_socket_t fd,
    enum smtp_err e, const char *addr)
{
	const struct smtp_error_row *row = smtp_error_row(e);
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "%d %s %s\r\n", row->code, row->status,
	    row->text);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	connlimit_remove(srv->limit, addr);
	if (e == SE_STORE_BUSY && (++srv->busy == 1 || srv->busy % 10000 == 0))
		log_warn("smtp: %lu connections refused so far: the store has "
		    "%d session records to write", srv->busy,
		    STORE_BACKLOG_MAX);
}

void
smtp_accept(struct smtp_server *srv, const struct smtp_listen *lis,
    evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen)
{
	const struct config *cfg = srv->cfg;
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 4];
	unsigned long forgotten;
	struct timeval tv;
	struct session *s;
	enum smtp_err over;
	double now = clock_now();
	unsigned retry;
	int port, family, one = 1;

	(void)salen;
	netaddr_text(sa, addr, sizeof(addr), &port, &family);
	if (connlimit_add(srv->limit, addr) == -1) {
		log_warn("accept from %s: out of memory", addr);
		close(fd);
		return;
	}
	if (netaddr_client_net(addr, net, sizeof(net)) == -1)
		(void)snprintf(net, sizeof(net), "%s", addr);
	/*
	 * Replies go out whole (session_flush(), a TLS write each): Nagle
	 * would hold a pipelined group's later replies for the client's
	 * delayed ACK, some 40 ms.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	over = accept_limit(srv, addr, net, now);
	if (over == SE_STORE_BUSY || (over != SE_NONE &&
	    ratelimit_take(srv->sampled, net, now, &retry) != RL_OK)) {
		refuse_unrecorded(srv, fd, over, addr);
		return;
	}

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->rec.host = strdup(lis->host->name)) == NULL ||
	    (s->rec.local_addr = strdup(lis->local)) == NULL ||
	    (lis->challenge != NULL &&
	    (s->rec.challenge = strdup(lis->challenge)) == NULL) ||
	    (s->rec.challenges = strdup(lis->candidates)) == NULL ||
	    (s->rec.client_addr = strdup(addr)) == NULL ||
	    (s->lifetime = evtimer_new(srv->base, session_expired, s)) ==
	    NULL ||
	    (s->step = evtimer_new(srv->base, step_expired, s)) == NULL ||
	    (s->bev = bufferevent_socket_new(srv->base, fd, 0)) == NULL) {
		log_warn("accept from %s: out of memory", addr);
		connlimit_remove(srv->limit, addr);
		if (s != NULL) {
			records_conn_clear(&s->rec);
			if (s->lifetime != NULL)
				event_free(s->lifetime);
			if (s->step != NULL)
				event_free(s->step);
		}
		free(s);
		close(fd);
		return;
	}
	s->srv = srv;
	s->lis = lis;
	s->fd = fd;
	s->cur = V_COUNT;
	s->latched = SE_NONE;
	s->end_after_commit = SE_NONE;
	s->rec.id = ++srv->last_id;
	s->rec.client_port = port;
	s->rec.family = family;
	s->rec.started = now;
	if (over != SE_NONE)
		s->rec.unrecorded = ratelimit_refused(srv->sampled, net);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	store_conn_open(srv->store, &s->rec);
	/* the address names the challenge (issue 12), or a set of them */
	log_info("c%lld: connect from %s port %d to host=%s (%s) %s=%s",
	    (long long)s->rec.id, addr, port, lis->host->name, lis->local,
	    lis->challenge != NULL ? "challenge" : "challenges",
	    lis->candidates);
	if (over != SE_NONE && s->rec.unrecorded > 0)
		log_info("c%lld: %u connections from %s refused before it "
		    "without a row", (long long)s->rec.id, s->rec.unrecorded,
		    net);
	if ((forgotten = ratelimit_forgotten(srv->sampled)) > 0)
		log_info("smtp: %lu connections refused without a row from "
		    "networks not seen since (more than 4096 kept)", forgotten);

	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	smtp_enter(s, S_INIT);
	/*
	 * Writing: at once (session_flush()), EV_WRITE only for the rest;
	 * a new bufferevent has it enabled.
	 */
	bufferevent_disable(s->bev, EV_WRITE);
	bufferevent_enable(s->bev, EV_READ);
	clock_ms_to_tv(cfg->timeout_session_ms, &tv);
	evtimer_add(s->lifetime, &tv);

	/* A refusal is recorded first: evidence too (within the rate). */
	if (over != SE_NONE) {
		smtp_reply_err(s, over);
		return;
	}
	smtp_reply(s, 220, NULL, "%s ESMTP mailscope", cfg->hostname);
	session_flush(s);
}

void
smtp_store_done(int64_t conn_id, int ok, struct txn_rec *txn, void *arg)
{
	struct smtp_server *srv = arg;
	struct session *s;
	size_t i, j;

	srv->mem_held -= txn_bytes(txn);
	/* max_test_transactions: each test of the message once */
	for (i = 0; ok && i < txn->nrcpts; i++) {
		if (txn->rcpts[i].test_id == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (txn->rcpts[j].test_id != NULL &&
			    strcmp(txn->rcpts[j].test_id,
			    txn->rcpts[i].test_id) == 0)
				break;
		if (j == i)
			testcache_count(srv->tests, txn->rcpts[i].test_id);
	}
	/* committed means analysed, whether or not the client is still here */
	if (ok)
		analyze_submit(srv->an, txn);
	else
		records_txn_free(txn);
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->rec.id == conn_id)
			break;
	if (s == NULL || s->state != S_COMMIT) {
		/* The client left before our answer; the mail is stored. */
		log_info("c%lld: transaction %s after the client left",
		    (long long)conn_id, ok ? "committed" : "failed");
		return;
	}
	smtp_enter(s, S_HELO);
	s->cur = s->commit_verb;
	if (ok) {
		s->rec.transactions++;
		smtp_reply(s, 250, "2.0.0", "Ok: stored");
	} else if (smtp_reply_err(s, SE_STORE_FAILED) == NEXT_CLOSED)
		return;
	/* the session's time ended during the commit: no new transaction */
	if (s->end_after_commit != SE_NONE) {
		reply_unprompted(s, s->end_after_commit);
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

struct smtp_server *
smtp_server_new(struct event_base *base, const struct config *cfg)
{
	struct smtp_server *srv;
	struct timeval tv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	if ((srv->limit = connlimit_new(cfg->max_connections,
	    cfg->max_per_ip)) == NULL) {
		free(srv);
		return NULL;
	}
	srv->base = base;
	srv->cfg = cfg;
	TAILQ_INIT(&srv->sessions);
	/* one queue per duration: arming a step timer costs no heap work */
	clock_ms_to_tv(cfg->timeout_command_ms, &tv);
	srv->tv_command = event_base_init_common_timeout(base, &tv);
	clock_ms_to_tv(cfg->timeout_tls_ms, &tv);
	srv->tv_tls = event_base_init_common_timeout(base, &tv);
	if (srv->tv_command == NULL || srv->tv_tls == NULL) {
		smtp_server_free(srv);
		return NULL;
	}
	return srv;
}

static void
grey_load(const struct grey_entry *e, void *arg)
{
	struct smtp_server *srv = arg;

	greylist_load(srv->grey, e, clock_now());
}

int
smtp_server_set_store(struct smtp_server *srv, struct store *store,
    struct analyzer *an, int64_t last_id)
{
	const struct config *cfg = srv->cfg;
	char err[512];

	srv->store = store;
	srv->an = an;
	srv->last_id = last_id;
	if ((srv->tests = testcache_new(srv->base, cfg->database, err,
	    sizeof(err))) == NULL) {
		log_warn("smtp: test lookups: %s", err);
		return -1;
	}
	/* per client net; no total (UINT_MAX a period) */
	if ((srv->clients = ratelimit_new(cfg->max_client_transactions,
	    UINT_MAX, 3600)) == NULL ||
	    (srv->conn_rate = ratelimit_new(cfg->max_connection_rate,
	    UINT_MAX, 60)) == NULL ||
	    (srv->sampled = ratelimit_new_counting(REFUSED_RECORD_RATE,
	    UINT_MAX, 1)) == NULL ||
	    (srv->grey = greylist_new(cfg->greylist_expire_ms,
	    cfg->greylist_max)) == NULL)
		return -1;
	return store_greylist_load(store, grey_load, srv);
}

/* The grace period is over: tell every remaining client, then close. */
static void
grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *srv = arg;
	struct session *s, *next;

	(void)fd;
	(void)what;
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_end(s, SE_SHUTDOWN);
	}
}

void
smtp_server_shutdown(struct smtp_server *srv, void (*done)(void *),
    void *arg)
{
	struct timeval tv;

	srv->shutting_down = 1;
	srv->done = done;
	srv->done_arg = arg;
	if (connlimit_count(srv->limit) == 0) {
		srv->done = NULL;
		done(arg);
		return;
	}
	log_info("shutdown: waiting up to %llu ms for %u sessions",
	    (unsigned long long)srv->cfg->shutdown_grace_ms,
	    connlimit_count(srv->limit));
	clock_ms_to_tv(srv->cfg->shutdown_grace_ms, &tv);
	if ((srv->grace = evtimer_new(srv->base, grace_over, srv)) != NULL)
		evtimer_add(srv->grace, &tv);
}

void
smtp_server_free(struct smtp_server *srv)
{
	struct session *s;

	if (srv == NULL)
		return;
	srv->done = NULL;
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_free(s, "shutdown");
	if (srv->grace != NULL)
		event_free(srv->grace);
	greylist_free(srv->grey);
	testcache_free(srv->tests);
	ratelimit_free(srv->clients);
	ratelimit_free(srv->conn_rate);
	ratelimit_free(srv->sampled);
	connlimit_free(srv->limit);
	free(srv);
}
