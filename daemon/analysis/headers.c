/*
 * The header analyzer.  RFC 5322 3.6 (the table of field occurrences),
 * RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8).  Pure functions of the stored
 * transaction; called on the analysis worker threads.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"
#include "text.h"

#define VALUE_MAX	998	/* RFC 5322 2.1.1: a line's limit */

/* RFC 5322 3.6: fields that may appear at most once (Date, From: once). */
static const struct {
	const char	*name;
	int		 required;	/* 1: MUST, 2: SHOULD (Message-ID) */
} single[] = {
	{ "date", 1 }, { "from", 1 }, { "sender", 0 }, { "reply-to", 0 },
	{ "to", 0 }, { "cc", 0 }, { "bcc", 0 }, { "message-id", 2 },
	{ "in-reply-to", 0 }, { "references", 0 }, { "subject", 0 },
};
#define NSINGLE	(sizeof(single) / sizeof(single[0]))

struct field {
	const char	*name;		/* into the header text */
	size_t		 namelen;
	const char	*value;		/* after the colon, folded lines kept */
	size_t		 valuelen;
};

/* The next field of the header section at *P (up to END); 0 at the end. */
static int
next_field(const char **p, const char *end, struct field *f)
{
	const char *s = *p, *colon, *e;

	if (s >= end)
		return 0;
	/* a field runs to the end of the line not followed by WSP (unfolding) */
	for (e = s; e < end; e++)
		if (*e == '\n' && (e + 1 >= end || (e[1] != ' ' && e[1] != '\t')))
			break;
	colon = memchr(s, ':', (size_t)(e - s));
	f->name = s;
	f->namelen = colon != NULL ? (size_t)(colon - s) : 0;
	f->value = colon != NULL ? colon + 1 : s;
	f->valuelen = (size_t)(e - f->value);
	while (f->valuelen > 0 && (f->value[f->valuelen - 1] == '\r' ||
	    f->value[f->valuelen - 1] == '\n'))
		f->valuelen--;
	while (f->valuelen > 0 && (*f->value == ' ' || *f->value == '\t')) {
		f->value++;
		f->valuelen--;
	}
	*p = e < end ? e + 1 : end;
	return 1;
}

static int
name_is(const struct field *f, const char *name)
{
	return f->namelen == strlen(name) &&
	    strncasecmp(f->name, name, f->namelen) == 0;
}

int
headers_address_domain(const char *value, size_t len, char *buf,
    size_t buflen)
{
	const char *lt, *gt, *at, *end = value + len, *p;
	size_t n, i;

	/* name-addr: the angle-addr; else the addr-spec up to a comma */
	lt = memchr(value, '<', len);
	if (lt != NULL && (gt = memchr(lt, '>', (size_t)(end - lt))) != NULL) {
		value = lt + 1;
		end = gt;
	} else if ((p = memchr(value, ',', len)) != NULL)
		end = p;
	at = NULL;
	for (p = value; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return -1;
	for (p = at + 1; p < end && !isspace((unsigned char)*p) && *p != '(' &&
	    *p != ';' && *p != '>'; p++)
		;
	n = (size_t)(p - (at + 1));
	if (n > 0 && at[n] == '.')
		n--;
	if (n == 0 || n >= buflen)
		return -1;
	/* a NUL or control byte: no domain (a copy would stop short) */
	for (i = 0; i < n; i++)
		if ((unsigned char)at[1 + i] < 0x20 || at[1 + i] == 0x7f)
			return -1;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)at[1 + i]);
	buf[n] = '\0';
	return 0;
}

static int
add_finding(struct analysis_rec *out, const char *field, const char *what,
    unsigned count)
{
	struct header_finding *f;

	f = realloc(out->findings, (out->nfindings + 1) * sizeof(*f));
	if (f == NULL)
		return -1;
	out->findings = f;
	f = &f[out->nfindings++];
	f->field = field != NULL ? strdup(field) : NULL;
	f->finding = what;
	f->count = count;
	return 0;
}

int
headers_analyze(const struct txn_rec *txn, struct analysis_rec *out)
{
	const char *p = txn->headers, *end;
	unsigned counts[NSINGLE] = { 0 };
	char dom[256];
	struct field f;
	size_t i, len;
	unsigned long_lines = 0;
	int rc = 0;

	end = p != NULL ? p + txn->headers_len : NULL;
	while (p != NULL && next_field(&p, end, &f)) {
		out->header_count++;
		if (name_is(&f, "received"))
			out->received_count++;
		for (i = 0; i < NSINGLE; i++)
			if (name_is(&f, single[i].name))
				counts[i]++;
		if (name_is(&f, "from") && out->header_from == NULL) {
			out->header_from = text_escaped(f.value, f.valuelen,
			    VALUE_MAX, 0);
			if (headers_address_domain(f.value, f.valuelen, dom,
			    sizeof(dom)) == 0)
				out->from_domain = strdup(dom);
		}
		if (name_is(&f, "message-id") && out->message_id == NULL)
			out->message_id = text_escaped(f.value, f.valuelen,
			    VALUE_MAX, 0);
	}
	for (i = 0; i < NSINGLE; i++) {
		if (counts[i] > 1)
			rc |= add_finding(out, single[i].name, "dup", counts[i]);
		else if (counts[i] == 0 && single[i].required == 1)
			rc |= add_finding(out, single[i].name, "missing", 0);
		else if (counts[i] == 0 && single[i].required == 2)
			rc |= add_finding(out, single[i].name,
			    "missing_recommended", 0);
	}

	if (txn->mail_from != NULL &&
	    headers_address_domain(txn->mail_from, strlen(txn->mail_from), dom,
	    sizeof(dom)) == 0)
		out->envelope_domain = strdup(dom);
	out->from_matches_envelope = out->from_domain == NULL ||
	    out->envelope_domain == NULL ? -1 :
	    strcmp(out->from_domain, out->envelope_domain) == 0;

	/* 8-bit bytes, and lines over RFC 5322 2.1.1's 998 characters
	 * (possible when line_max is raised above the SMTP limit) */
	for (i = 0, len = 0; i < txn->message_len; i++) {
		unsigned char c = (unsigned char)txn->message[i];

		if (c >= 0x80)
			out->eight_bit = 1;
		if (c == '\n') {
			if (len > 0 && txn->message[i - 1] == '\r')
				len--;
			if (len > VALUE_MAX)
				long_lines++;
			len = 0;
		} else
			len++;
	}
	if (long_lines > 0)
		rc |= add_finding(out, NULL, "long_line", long_lines);
	out->body_8bitmime = txn->declared_8bit;
	if (out->eight_bit && !out->body_8bitmime)
		rc |= add_finding(out, NULL, "8bit_undeclared", 0);
	return rc == 0 ? 0 : -1;
}
