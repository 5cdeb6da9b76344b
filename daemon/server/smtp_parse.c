/*
 * Pure parsers of the SMTP server: bounded line framing, verbs, paths and
 * ESMTP parameters.  RFC 5321 4.1.1, 4.1.2, 4.5.2, 4.5.3.1.  Any thread.
 */
#include "build.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "smtp_parse.h"

enum line_status
smtp_parse_line(struct evbuffer *buf, size_t max, size_t *len,
    size_t *eol_len)
{
	struct evbuffer_ptr p;

	/* EVBUFFER_EOL_CRLF: LF, optionally preceded by CR; eol_len tells. */
	p = evbuffer_search_eol(buf, NULL, eol_len, EVBUFFER_EOL_CRLF);
	if (p.pos == -1) {
		/* RFC 5321 4.5.3.1: the limit counts the CRLF too. */
		if (evbuffer_get_length(buf) >= max)
			return LINE_TOO_LONG;
		return LINE_MORE;
	}
	if ((size_t)p.pos + *eol_len > max)
		return LINE_TOO_LONG;
	*len = (size_t)p.pos;
	return LINE_OK;
}

const char *
smtp_parse_verb(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	if (strncasecmp(line, verb, n) != 0)
		return NULL;
	line += n;
	if (verb[n - 1] != ':' && *line != '\0' && *line != ' ')
		return NULL;
	while (*line == ' ')
		line++;
	return line;
}

/* Visible ASCII but the path's brackets; 8-bit bytes for SMTPUTF8. */
static int
mailbox_char(unsigned char c)
{
	return (c > 0x20 && c < 0x7f && c != '<' && c != '>') || c >= 0x80;
}

/*
 * A source route "@dom,@dom:" (RFC 5321 4.1.2 A-d-l): returns the byte
 * after the colon, or NULL.  Domains are letters, digits, '-' and '.', or
 * an address literal in brackets (which may hold colons).
 */
static const char *
skip_route(const char *p)
{
	const char *d;

	for (;;) {
		if (*p++ != '@')
			return NULL;
		d = p;
		if (*p == '[') {
			while (*p != ']' && *p != '\0' && *p != '>' &&
			    (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
				p++;
			if (*p++ != ']')
				return NULL;
		} else
			while (isalnum((unsigned char)*p) || *p == '-' ||
			    *p == '.')
				p++;
		if (p == d)
			return NULL;
		if (*p == ':')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

int
smtp_parse_path(const char *arg, char *mailbox, size_t len,
    const char **rest)
{
	const char *p = arg, *start, *at = NULL;
	size_t n;
	int quoted = 0;

	if (*p++ != '<')
		return -1;
	/* RFC 5321 4.1.2 and C: a source route MUST be accepted, SHOULD be
	 * ignored. */
	if (*p == '@' && (p = skip_route(p)) == NULL)
		return -1;
	start = p;
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (quoted) {
			/* RFC 5321 4.1.2 quoted-pairSMTP: backslash and any */
			if (c == '\\' && p[1] >= 0x20 && p[1] < 0x7f)
				p++;
			else if (c == '"')
				quoted = 0;
			else if (c < 0x20 || c == 0x7f)
				return -1;
		} else if (c == '"' && p == start)
			quoted = 1;
		else if (c == '>')
			break;
		else if (!mailbox_char(c) || c == '"' ||
		    (c == '@' && at != NULL))
			return -1;
		else if (c == '@')
			at = p;
	}
	if (*p != '>' || quoted)
		return -1;
	n = (size_t)(p - start);
	if (n + 2 > PATH_MAX_LEN || n >= len)
		return -1;
	/* Empty only as <>; a route needs a mailbox after it. */
	if (n == 0 && start != arg + 1)
		return -1;
	/* RFC 5321 4.1.1.3: <Postmaster> without a domain is valid */
	if (n > 0 && at == NULL && !(n == 10 &&
	    strncasecmp(start, "postmaster", 10) == 0))
		return -1;
	if (at != NULL && (at == start || at + 1 == p))
		return -1;
	/* RFC 5321 4.1.2: parameters follow after a space */
	if (p[1] != '\0' && p[1] != ' ')
		return -1;
	memcpy(mailbox, start, n);
	mailbox[n] = '\0';
	*rest = p + 1;
	while (**rest == ' ')
		(*rest)++;
	return 0;
}

int
smtp_parse_param(const char *params, const char *keyword, char *val,
    size_t vallen)
{
	const char *p = params, *k, *v;
	size_t klen, n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != ' ' && *p != '=')
			p++;
		klen = (size_t)(p - k);
		if (klen == 0)
			return -1;
		v = p;
		if (*p == '=') {
			v = ++p;
			while (*p != '\0' && *p != ' ')
				p++;
		}
		if (klen == strlen(keyword) &&
		    strncasecmp(k, keyword, klen) == 0) {
			n = (size_t)(p - v);
			if (n >= vallen)
				return -1;
			memcpy(val, v, n);
			val[n] = '\0';
			return 1;
		}
	}
	return 0;
}

/*
 * RFC 5321 4.1.1.4: the end is CRLF "." CRLF.  A dot after a bare LF, or
 * followed by one, is content: the SMTP smuggling defence.
 */
int
smtp_parse_data_end(const char *line, size_t len, size_t prev_eol,
    size_t eol)
{
	return prev_eol == 2 && eol == 2 && len == 1 && line[0] == '.';
}

/*
 * RFC 5321 4.5.2: a dot is removed only "at the beginning of a line", and
 * a bare LF ends no line (2.3.8): after one, the dot is the sender's.
 */
size_t
smtp_parse_unstuff(const char *line, size_t len, size_t prev_eol)
{
	return prev_eol == 2 && len > 0 && line[0] == '.';
}

int
smtp_parse_bare_cr(const char *line, size_t len)
{
	return memchr(line, '\r', len) != NULL;
}

/* The longest SASL mechanism name (RFC 4422 3.1). */
#define SASL_MECH_MAX	20

size_t
smtp_parse_loggable(const char *line, size_t len, int *cut)
{
	const char *sp;
	size_t verb, arg, n;

	sp = memchr(line, ' ', len);
	verb = sp != NULL ? (size_t)(sp - line) : len;
	if (verb > SMTP_LOG_ARG_MAX)
		n = SMTP_LOG_ARG_MAX;
	else if (sp == NULL)
		n = len;
	else {
		/* RFC 4954 4: "AUTH mechanism [initial-response]" */
		arg = len - verb - 1;
		if (verb == 4 && strncasecmp(line, "AUTH", 4) == 0) {
			sp = memchr(line + 5, ' ', arg);
			arg = sp != NULL ? (size_t)(sp - line) - 5 : arg;
			if (arg > SASL_MECH_MAX)
				arg = SASL_MECH_MAX;
		} else if (arg > SMTP_LOG_ARG_MAX)
			arg = SMTP_LOG_ARG_MAX;
		n = verb + 1 + arg;
	}
	*cut = n < len;
	return n;
}
