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

/* RFC 5321 4.1.2 atext plus '.', and what quoted strings may hold. */
static int
mailbox_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '<' && c != '>';
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
	/* Source route "@a,@b:" (RFC 5321 4.1.2: MUST accept, SHOULD ignore) */
	if (*p == '@') {
		while (*p != ':' && *p != '>' && *p != '\0')
			p++;
		if (*p != ':')
			return -1;
		p++;
	}
	start = p;
	for (; *p != '\0'; p++) {
		if (*p == '"' && (p == start || p[-1] != '\\'))
			quoted = !quoted;
		else if (*p == '>' && !quoted)
			break;
		else if (quoted && (unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f)
			continue;
		else if (!mailbox_char((unsigned char)*p) &&
		    (unsigned char)*p < 0x80)
			return -1;
		else if (*p == '@' && !quoted)
			at = p;
	}
	if (*p != '>')
		return -1;
	n = (size_t)(p - start);
	if (n + 2 > PATH_MAX_LEN || n >= len)
		return -1;
	if (n > 0 && (at == NULL || at == start || at + 1 == p))
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

int
smtp_parse_data_end(const char *line, size_t len)
{
	return len == 1 && line[0] == '.';
}

size_t
smtp_parse_unstuff(const char *line, size_t len)
{
	return len > 0 && line[0] == '.';
}
