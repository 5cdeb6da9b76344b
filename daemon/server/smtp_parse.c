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
#include "text.h"

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

/* RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static int
keyword_char(unsigned char c, int first)
{
	return isalnum(c) || (!first && c == '-');
}

/*
 * esmtp-value: %d33-60 / %d62-126, any octet above 0x7f too (RFC 6531
 * 3.3, UTF-8 in values); whether it is well-formed is for the parameter.
 */
static int
value_char(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

int
smtp_parse_param_next(const char **pp, char *key, size_t keylen, char *val,
    size_t vallen)
{
	const char *p = *pp, *k, *v;
	size_t kn, vn;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	for (k = p; keyword_char((unsigned char)*p, p == k); p++)
		;
	kn = (size_t)(p - k);
	if (kn == 0 || kn >= keylen)
		return -1;
	v = p;
	vn = 0;
	if (*p == '=') {
		for (v = ++p; value_char((unsigned char)*p); p++)
			;
		vn = (size_t)(p - v);
		if (vn == 0)
			return -1;
	}
	if ((*p != ' ' && *p != '\0') || vn >= vallen)
		return -1;
	memcpy(key, k, kn);
	key[kn] = '\0';
	memcpy(val, v, vn);
	val[vn] = '\0';
	*pp = p;
	return 1;
}

/* Digits enough for any message we accept; more is a syntax error. */
#define BDAT_DIGITS_MAX	15

int
smtp_parse_bdat(const char *arg, size_t *size, int *last)
{
	const char *p = arg;
	size_t n = 0, digits = 0;

	for (; isdigit((unsigned char)*p); p++) {
		if (++digits > BDAT_DIGITS_MAX)
			return -1;
		n = n * 10 + (size_t)(*p - '0');
	}
	if (digits == 0)
		return -1;
	*last = 0;
	if (*p == ' ') {
		/* RFC 3030 2: end-marker = "LAST" (commands case-insensitive) */
		if (strcasecmp(p + 1, "LAST") != 0)
			return -1;
		*last = 1;
	} else if (*p != '\0')
		return -1;
	*size = n;
	return 0;
}

/* RFC 3461 4: "+" followed by two upper case hexadecimal digits. */
static int
hexchar(const char *p)
{
	return p[0] == '+' && isxdigit((unsigned char)p[1]) &&
	    !islower((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
	    !islower((unsigned char)p[2]);
}

/* xtext, and with UTF8 also UTF-8 octets (RFC 6533 3, unitext). */
static int
xtext(const char *s, int utf8)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		if (*p == '+') {
			if (!hexchar((const char *)p))
				return -1;
			p += 3;
		} else if ((*p >= 33 && *p <= 126 && *p != '=') ||
		    (utf8 && *p >= 0x80))
			p++;
		else
			return -1;
	}
	return 0;
}

int
smtp_parse_xtext(const char *s)
{
	return xtext(s, 0);
}

int
smtp_parse_notify(const char *s)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0, i;
	const char *p = s, *e;
	size_t n;

	if (strcasecmp(s, "NEVER") == 0)
		return 0;
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		for (i = 0; i < 3; i++)
			if (strlen(words[i]) == n &&
			    strncasecmp(p, words[i], n) == 0)
				break;
		/* each at most once; NEVER only alone */
		if (i == 3 || (seen & (1u << i)))
			return -1;
		seen |= 1u << i;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

/* RFC 3461 4.2: addr-type is an atom (RFC 5322 3.2.3 atext). */
static int
atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c)
	    != NULL);
}

int
smtp_parse_orcpt(const char *s, int utf8)
{
	const char *p = s;

	while (atext((unsigned char)*p))
		p++;
	if (p == s || *p != ';' || p[1] == '\0')
		return -1;
	utf8 = utf8 && (size_t)(p - s) == 5 && strncasecmp(s, "utf-8", 5) == 0;
	return xtext(p + 1, utf8);
}

int
smtp_parse_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

int
smtp_parse_utf8(const char *s)
{
	size_t n = strlen(s), i, k;
	unsigned int cp;

	/* RFC 3629 3 as text_utf8_char() reads it (overlong forms too) */
	for (i = 0; i < n; i += k)
		if ((k = text_utf8_char(s + i, n - i, &cp)) == 0)
			return -1;
	return 0;
}

size_t
smtp_parse_scan(struct smtp_scan *sc, const char *p, size_t n, size_t max,
    int *trim)
{
	size_t i, head = sc->body ? 0 : n;
	unsigned char c;

	*trim = 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		/* RFC 5321 2.3.8: a CR not followed by LF is bare */
		if (sc->cr && c != '\n')
			sc->bare_cr++;
		sc->linelen++;
		if (!sc->counted && (c == '\n' ? sc->linelen > max :
		    sc->linelen >= max)) {
			/* as DATA: no end of line within MAX bytes */
			sc->long_lines++;
			sc->counted = 1;
		}
		if (c == '\n') {
			if (!sc->cr)
				sc->bare_lf++;
			/* the empty line ends the header section */
			if (!sc->body && sc->linelen == (sc->cr ? 2u : 1u)) {
				sc->body = 1;
				if (sc->cr && i == 0)
					*trim = 1;
				head = sc->cr && i > 0 ? i - 1 : i;
			}
			sc->linelen = 0;
			sc->counted = 0;
		} else if (c == '\0')
			sc->nul_bytes++;
		sc->cr = c == '\r';
	}
	return head;
}

void
smtp_parse_scan_end(struct smtp_scan *sc)
{
	if (sc->cr)
		sc->bare_cr++;
	sc->cr = 0;
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
