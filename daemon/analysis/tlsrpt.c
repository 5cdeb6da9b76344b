/*
 * TLS-RPT report parsing: RFC 8460 5.3 (the report mail, its
 * application/tlsrpt+gzip or +json part), RFC 2045 6.8 (base64), RFC 1952
 * (gzip), RFC 8460 4.3 and 4.4 (the JSON report), RFC 3339 5.6 (its
 * date-range).  Pure; worker threads.
 * Every input is bounded: MIME depth and parts, gunzipped size, strings
 * kept, policies and failure details kept, session counts.
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "text.h"
#include "tlsrpt.h"

#define STORED_MAX	1024	/* bytes of a string kept, escaped */
#define ARRAY_MAX	4096	/* bytes of a policy-string/mx-host array */
#define MIME_DEPTH	8	/* nested multiparts followed */
#define MIME_PARTS	100	/* parts of one multipart looked at */
#define HEADER_MAX	998	/* RFC 5322 2.1.1: a field value's bound */

/* What parsing found wrong: the message, or out of memory. */
enum verdict {
	V_OK,
	V_BAD,		/* the report is malformed: err says why */
	V_NOMEM
};

/* One MIME entity: its header section and body, within the message. */
struct entity {
	const char	*hdr;
	size_t		 hdrlen;
	const char	*body;
	size_t		 bodylen;
};

static void
entity_split(const char *p, size_t len, struct entity *e)
{
	size_t	 i;

	e->hdr = p;
	e->hdrlen = len;
	e->body = p + len;
	e->bodylen = 0;
	/* no header fields at all: the body starts after the empty line */
	if (len > 0 && p[0] == '\n') {
		e->hdrlen = 0;
		e->body = p + 1;
	} else if (len > 1 && p[0] == '\r' && p[1] == '\n') {
		e->hdrlen = 0;
		e->body = p + 2;
	} else {
		/* the header section ends at the first empty line */
		for (i = 0; i < len; i++) {
			if (p[i] != '\n')
				continue;
			if (i + 1 < len && p[i + 1] == '\n') {
				e->hdrlen = i + 1;
				e->body = p + i + 2;
				break;
			}
			if (i + 2 < len && p[i + 1] == '\r' &&
			    p[i + 2] == '\n') {
				e->hdrlen = i + 1;
				e->body = p + i + 3;
				break;
			}
		}
	}
	e->bodylen = (size_t)(p + len - e->body);
}

/*
 * The unfolded value of the first field NAME of E into BUF (cut to
 * BUFLEN - 1 bytes).  0, or -1 when there is none.
 */
static int
entity_field(const struct entity *e, const char *name, char *buf,
    size_t buflen)
{
	size_t	 i = 0, n = strlen(name), o = 0;
	const char *h = e->hdr;

	while (i < e->hdrlen) {
		if (e->hdrlen - i > n && strncasecmp(h + i, name, n) == 0 &&
		    h[i + n] == ':') {
			i += n + 1;
			for (; i < e->hdrlen; i++) {
				if (h[i] == '\r')
					continue;
				if (h[i] == '\n') {
					/* folded: the next line starts WSP */
					if (i + 1 < e->hdrlen &&
					    (h[i + 1] == ' ' || h[i + 1] == '\t'))
						continue;
					break;
				}
				if (o + 1 < buflen)
					buf[o++] = h[i];
			}
			buf[o] = '\0';
			return 0;
		}
		while (i < e->hdrlen && h[i] != '\n')
			i++;
		i++;
	}
	return -1;
}

/* The media type of a Content-Type VALUE, lowercased, into BUF. */
static void
media_type(const char *value, char *buf, size_t buflen)
{
	size_t	 o = 0;

	while (*value == ' ' || *value == '\t')
		value++;
	for (; *value != '\0' && *value != ';' && *value != ' ' &&
	    *value != '\t' && o + 1 < buflen; value++)
		buf[o++] = (char)tolower((unsigned char)*value);
	buf[o] = '\0';
}

/* The boundary parameter of a Content-Type VALUE into BUF; 0 or -1. */
static int
boundary_param(const char *value, char *buf, size_t buflen)
{
	const char	*p = value;
	size_t		 o = 0;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"' && o + 1 < buflen;
			    p++)
				buf[o++] = *p;
		} else {
			for (; *p != '\0' && *p != ';' && *p != ' ' &&
			    *p != '\t' && o + 1 < buflen; p++)
				buf[o++] = *p;
		}
		buf[o] = '\0';
		/* RFC 2046 5.1.1: 1 to 70 characters */
		return o > 0 && o <= 70 ? 0 : -1;
	}
	return -1;
}

/* RFC 2045 6.8: the value of base64 character C, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes base64 SRC into *OUT (malloc'd, *OUTLEN bytes).  Line breaks
 * and white space are skipped; any other character outside the alphabet,
 * data after the padding, or a dangling character is an error.
 */
static enum verdict
b64_decode(const char *src, size_t len, unsigned char **out, size_t *outlen,
    const char **err)
{
	unsigned char	*o;
	uint32_t	 acc = 0;
	size_t		 i, n = 0, bits = 0, pad = 0;
	int		 v;

	if ((o = malloc(len / 4 * 3 + 3)) == NULL)
		return V_NOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) == -1) {
			free(o);
			*err = "bad base64";
			return V_BAD;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits >= 6 || pad > 2) {
		free(o);
		*err = "bad base64";
		return V_BAD;
	}
	*out = o;
	*outlen = n;
	return V_OK;
}

/*
 * Gunzips SRC (RFC 1952) into *OUT (malloc'd, NUL-terminated, *OUTLEN
 * bytes); more than TLSRPT_MAX_JSON bytes of output is an error.
 */
static enum verdict
gunzip(const unsigned char *src, size_t len, char **out, size_t *outlen,
    const char **err)
{
	z_stream	 z;
	char		*buf = NULL, *nb;
	size_t		 cap = 0, n = 0;
	int		 rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return V_NOMEM;
	z.next_in = (unsigned char *)(uintptr_t)src;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	for (;;) {
		if (n == cap) {
			if (cap >= TLSRPT_MAX_JSON) {
				*err = "gzip output over the limit";
				rc = Z_DATA_ERROR;
				break;
			}
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > TLSRPT_MAX_JSON)
				cap = TLSRPT_MAX_JSON;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				rc = Z_MEM_ERROR;
				break;
			}
			buf = nb;
		}
		z.next_out = (unsigned char *)buf + n;
		z.avail_out = (uInt)(cap - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR && z.avail_in == 0) {
			*err = "truncated gzip";
			rc = Z_DATA_ERROR;
			break;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			if (rc != Z_MEM_ERROR)
				*err = "bad gzip";
			break;
		}
	}
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return rc == Z_MEM_ERROR ? V_NOMEM : V_BAD;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return V_OK;
}

/*
 * Finds the report part in entity E (depth DEPTH) and decodes it into
 * *JSON.  V_BAD with *ERR NULL: not found here.
 */
static enum verdict
find_report(const char *p, size_t len, int depth, char **json,
    size_t *jsonlen, const char **err)
{
	struct entity	 e;
	char		 ct[HEADER_MAX + 1], type[128], cte[64];
	char		 bnd[80], delim[84];
	unsigned char	*raw = NULL;
	size_t		 rawlen, dl, i, start = 0, nparts = 0;
	enum verdict	 v;
	int		 gz, in_part = 0;

	entity_split(p, len, &e);
	if (entity_field(&e, "Content-Type", ct, sizeof(ct)) == -1)
		return V_BAD;
	media_type(ct, type, sizeof(type));
	if (strncmp(type, "multipart/", 10) == 0) {
		if (depth >= MIME_DEPTH || boundary_param(ct, bnd,
		    sizeof(bnd)) == -1)
			return V_BAD;
		dl = (size_t)snprintf(delim, sizeof(delim), "--%s", bnd);
		/* RFC 2046 5.1.1: delimiter lines; a part ends before CRLF */
		for (i = 0; i + dl <= e.bodylen; ) {
			const char *l = e.body + i;
			size_t end;

			if ((i == 0 || e.body[i - 1] == '\n') &&
			    memcmp(l, delim, dl) == 0) {
				if (in_part) {
					end = i;
					if (end > start && e.body[end - 1] ==
					    '\n')
						end--;
					if (end > start && e.body[end - 1] ==
					    '\r')
						end--;
					v = find_report(e.body + start,
					    end - start, depth + 1, json,
					    jsonlen, err);
					if (v == V_OK || v == V_NOMEM ||
					    *err != NULL)
						return v;
					if (++nparts >= MIME_PARTS)
						return V_BAD;
				}
				if (i + dl + 2 <= e.bodylen &&
				    memcmp(l + dl, "--", 2) == 0)
					return V_BAD;	/* close delimiter */
				while (i < e.bodylen && e.body[i] != '\n')
					i++;
				start = ++i;
				in_part = 1;
				continue;
			}
			while (i < e.bodylen && e.body[i] != '\n')
				i++;
			i++;
		}
		return V_BAD;
	}
	if (strcmp(type, "application/tlsrpt+gzip") == 0)
		gz = 1;
	else if (strcmp(type, "application/tlsrpt+json") == 0)
		gz = 0;
	else
		return V_BAD;
	cte[0] = '\0';
	if (entity_field(&e, "Content-Transfer-Encoding", ct, sizeof(ct)) == 0)
		media_type(ct, cte, sizeof(cte));
	if (strcmp(cte, "base64") == 0) {
		if ((v = b64_decode(e.body, e.bodylen, &raw, &rawlen, err)) !=
		    V_OK)
			return v;
	} else if (cte[0] == '\0' || strcmp(cte, "7bit") == 0 ||
	    strcmp(cte, "8bit") == 0 || strcmp(cte, "binary") == 0) {
		if (gz)
			return gunzip((const unsigned char *)e.body,
			    e.bodylen, json, jsonlen, err);
		if (e.bodylen > TLSRPT_MAX_JSON) {
			*err = "JSON over the limit";
			return V_BAD;
		}
		if ((*json = malloc(e.bodylen + 1)) == NULL)
			return V_NOMEM;
		memcpy(*json, e.body, e.bodylen);
		(*json)[e.bodylen] = '\0';
		*jsonlen = e.bodylen;
		return V_OK;
	} else {
		*err = "unsupported Content-Transfer-Encoding";
		return V_BAD;
	}
	if (gz) {
		v = gunzip(raw, rawlen, json, jsonlen, err);
		free(raw);
		return v;
	}
	*json = (char *)raw;
	*jsonlen = rawlen;
	/* room for a NUL: b64_decode() allocated len / 4 * 3 + 3 */
	(*json)[rawlen] = '\0';
	return V_OK;
}

/* ---- the JSON report (RFC 8460 4.3, 4.4) ---- */

/* Why the report is malformed: a static text and the member it names. */
struct jerr {
	const char	*what;
	const char	*key;
};

static enum verdict
bad(struct jerr *je, const char *what, const char *key)
{
	je->what = what;
	je->key = key;
	return V_BAD;
}

/* The string member KEY of O, escaped into *OUT; absent: NULL if !REQ. */
static enum verdict
jstring(const json_t *o, const char *key, int req, int lower, char **out,
    struct jerr *je)
{
	const json_t	*v = json_object_get(o, key);

	if (v == NULL)
		return req ? bad(je, "missing", key) : V_OK;
	if (!json_is_string(v))
		return bad(je, "not a string", key);
	if ((*out = text_escaped(json_string_value(v), json_string_length(v),
	    STORED_MAX, lower)) == NULL)
		return V_NOMEM;
	return V_OK;
}

/* The session count KEY of O into *OUT; absent and not REQ: -1. */
static enum verdict
jcount(const json_t *o, const char *key, int req, long long *out,
    struct jerr *je)
{
	const json_t	*v = json_object_get(o, key);

	*out = -1;
	if (v == NULL)
		return req ? bad(je, "missing", key) : V_OK;
	if (!json_is_integer(v))
		return bad(je, "not an integer", key);
	if (json_integer_value(v) < 0 ||
	    json_integer_value(v) > TLSRPT_MAX_COUNT)
		return bad(je, "count out of range", key);
	*out = (long long)json_integer_value(v);
	return V_OK;
}

/* The array of strings KEY of O as compact JSON text; absent: NULL. */
static enum verdict
jstrings(const json_t *o, const char *key, char **out, struct jerr *je)
{
	const json_t	*v = json_object_get(o, key), *s;
	char		*txt;
	size_t		 i;

	if (v == NULL)
		return V_OK;
	if (!json_is_array(v))
		return bad(je, "not an array", key);
	json_array_foreach(v, i, s)
		if (!json_is_string(s))
			return bad(je, "not an array of strings", key);
	if ((txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return V_NOMEM;
	*out = text_escaped(txt, strlen(txt), ARRAY_MAX, 0);
	free(txt);
	return *out == NULL ? V_NOMEM : V_OK;
}

static enum verdict
failure_parse(const json_t *o, struct tlsrpt_failure *f, struct jerr *je)
{
	enum verdict	 v;

	if (!json_is_object(o))
		return bad(je, "not an object", "failure-details");
	if ((v = jstring(o, "result-type", 1, 0, &f->result_type, je)) !=
	    V_OK ||
	    (v = jstring(o, "sending-mta-ip", 0, 0, &f->sending_mta_ip,
	    je)) != V_OK ||
	    (v = jstring(o, "receiving-mx-hostname", 0, 1,
	    &f->receiving_mx_hostname, je)) != V_OK ||
	    (v = jstring(o, "receiving-ip", 0, 0, &f->receiving_ip, je)) !=
	    V_OK ||
	    (v = jcount(o, "failed-session-count", 1, &f->failed_sessions,
	    je)) != V_OK ||
	    (v = jstring(o, "additional-information", 0, 0,
	    &f->additional_information, je)) != V_OK ||
	    (v = jstring(o, "failure-reason-code", 0, 0,
	    &f->failure_reason_code, je)) != V_OK)
		return v;
	return V_OK;
}

/* One policies[] entry; *BUDGET failure details may still be kept. */
static enum verdict
policy_parse(const json_t *o, struct tlsrpt_policy *p, size_t *budget,
    size_t *dropped, struct jerr *je)
{
	const json_t	*pol, *sum, *fd, *f;
	enum verdict	 v;
	size_t		 i, n;

	if (!json_is_object(o))
		return bad(je, "not an object", "policies");
	if ((pol = json_object_get(o, "policy")) == NULL)
		return bad(je, "missing", "policy");
	if (!json_is_object(pol))
		return bad(je, "not an object", "policy");
	if ((v = jstring(pol, "policy-type", 1, 0, &p->policy_type, je)) !=
	    V_OK ||
	    (v = jstring(pol, "policy-domain", 1, 1, &p->policy_domain,
	    je)) != V_OK ||
	    (v = jstrings(pol, "policy-string", &p->policy_string, je)) !=
	    V_OK ||
	    (v = jstrings(pol, "mx-host", &p->mx_host, je)) != V_OK)
		return v;
	if ((sum = json_object_get(o, "summary")) == NULL)
		return bad(je, "missing", "summary");
	if (!json_is_object(sum))
		return bad(je, "not an object", "summary");
	if ((v = jcount(sum, "total-successful-session-count", 1,
	    &p->successful, je)) != V_OK ||
	    (v = jcount(sum, "total-failure-session-count", 1, &p->failed,
	    je)) != V_OK)
		return v;
	if ((fd = json_object_get(o, "failure-details")) == NULL)
		return V_OK;
	if (!json_is_array(fd))
		return bad(je, "not an array", "failure-details");
	/* every entry is checked; the first *BUDGET of the report kept */
	n = json_array_size(fd);
	if (n > 0 && *budget > 0 && (p->failures = calloc(n < *budget ? n :
	    *budget, sizeof(*p->failures))) == NULL)
		return V_NOMEM;
	json_array_foreach(fd, i, f) {
		if (*budget == 0) {
			struct tlsrpt_failure scratch;

			memset(&scratch, 0, sizeof(scratch));
			v = failure_parse(f, &scratch, je);
			free(scratch.result_type);
			free(scratch.sending_mta_ip);
			free(scratch.receiving_mx_hostname);
			free(scratch.receiving_ip);
			free(scratch.additional_information);
			free(scratch.failure_reason_code);
			if (v != V_OK)
				return v;
			(*dropped)++;
			continue;
		}
		/* counted before parsing: the clear frees a partial entry */
		p->nfailures++;
		(*budget)--;
		if ((v = failure_parse(f, &p->failures[p->nfailures - 1],
		    je)) != V_OK)
			return v;
	}
	return V_OK;
}

/* The N decimal digits at S into *V; 0, or -1 at anything else. */
/*
 * RFC 3339 5.6 date-time S in seconds since the epoch (the store matches
 * the date-range with its evidence), or 0 when S is not one or lies
 * before 1970.  "T" and "Z" in either case (5.6 NOTE), or a space for
 * "T" as some reporters write; a leap second counts as the next one.
 * Each character is read only after the one before it matched.
 */
static double
datetime_seconds(const char *s)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	struct tm	 tm;
	const char	*p;
	double		 frac = 0, scale = 0.1, t;
	int		 y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;

	if (text_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    text_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    text_digits(s + 8, 2, &d) == -1 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    text_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
	    text_digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    text_digits(s + 17, 2, &sec) == -1)
		return 0;
	p = s + 19;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (text_digits(p + 1, 2, &oh) == -1 || p[3] != ':' ||
		    text_digits(p + 4, 2, &om) == -1)
			return 0;
		p += 6;
	} else
		return 0;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 != 0 ||
	    (y % 100 == 0 && y % 400 != 0))) ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (double)timegm(&tm) - sign * (oh * 3600 + om * 60) + frac;
	return t > 0 ? t : 0;
}

static enum verdict
report_parse(const json_t *root, struct tlsrpt_rec *r, size_t *pdropped,
    size_t *fdropped, struct jerr *je)
{
	const json_t	*dr, *pols, *o;
	enum verdict	 v;
	size_t		 i, n, budget = TLSRPT_MAX_FAILURES;

	if (!json_is_object(root))
		return bad(je, "not an object", "report");
	if ((v = jstring(root, "organization-name", 1, 0, &r->organization,
	    je)) != V_OK ||
	    (v = jstring(root, "contact-info", 1, 0, &r->contact, je)) !=
	    V_OK ||
	    (v = jstring(root, "report-id", 1, 0, &r->report_id, je)) !=
	    V_OK)
		return v;
	if ((dr = json_object_get(root, "date-range")) == NULL)
		return bad(je, "missing", "date-range");
	if (!json_is_object(dr))
		return bad(je, "not an object", "date-range");
	if ((v = jstring(dr, "start-datetime", 1, 0, &r->date_start, je)) !=
	    V_OK ||
	    (v = jstring(dr, "end-datetime", 1, 0, &r->date_end, je)) != V_OK)
		return v;
	/* not RFC 3339: kept as sent, and the store says how it matches */
	r->start = datetime_seconds(r->date_start);
	r->end = datetime_seconds(r->date_end);
	if ((pols = json_object_get(root, "policies")) == NULL)
		return bad(je, "missing", "policies");
	if (!json_is_array(pols))
		return bad(je, "not an array", "policies");
	n = json_array_size(pols);
	if (n > TLSRPT_MAX_POLICIES) {
		*pdropped = n - TLSRPT_MAX_POLICIES;
		n = TLSRPT_MAX_POLICIES;
	}
	if (n > 0 && (r->policies = calloc(n, sizeof(*r->policies))) == NULL)
		return V_NOMEM;
	for (i = 0; i < n; i++) {
		o = json_array_get(pols, i);
		r->npolicies++;
		if ((v = policy_parse(o, &r->policies[i], &budget, fdropped,
		    je)) != V_OK)
			return v;
	}
	return V_OK;
}

/* OUT malformed, for WHY (escaped); its policies dropped.  0 or -1. */
static int
set_malformed(struct tlsrpt_rec *out, const char *why)
{
	struct tlsrpt_rec	 pols;

	memset(&pols, 0, sizeof(pols));
	pols.policies = out->policies;
	pols.npolicies = out->npolicies;
	records_tlsrpt_clear(&pols);
	out->policies = NULL;
	out->npolicies = 0;
	free(out->error);
	out->checked = 1;
	out->status = "malformed";
	if ((out->error = text_escaped(why, strlen(why), STORED_MAX, 0)) ==
	    NULL) {
		records_tlsrpt_clear(out);
		return -1;
	}
	return 0;
}

int
tlsrpt_parse_json(const char *json, size_t len, struct tlsrpt_rec *out)
{
	json_t		*root;
	json_error_t	 jerr;
	struct jerr	 je = { NULL, NULL };
	enum verdict	 v;
	size_t		 pdropped = 0, fdropped = 0;
	char		 why[256];

	memset(out, 0, sizeof(*out));
	out->checked = 1;
	out->status = "ok";
	if (len > TLSRPT_MAX_JSON)
		return set_malformed(out, "JSON over the limit");
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		(void)snprintf(why, sizeof(why), "bad JSON: line %d: %s",
		    jerr.line, jerr.text);
		return set_malformed(out, why);
	}
	v = report_parse(root, out, &pdropped, &fdropped, &je);
	json_decref(root);
	if (v == V_NOMEM) {
		records_tlsrpt_clear(out);
		return -1;
	}
	if (v == V_BAD) {
		(void)snprintf(why, sizeof(why), "%s: %s", je.key, je.what);
		return set_malformed(out, why);
	}
	if (pdropped > 0 || fdropped > 0) {
		(void)snprintf(why, sizeof(why), "capped: %zu policies and %zu "
		    "failure-details not stored", pdropped, fdropped);
		if ((out->error = strdup(why)) == NULL) {
			records_tlsrpt_clear(out);
			return -1;
		}
	}
	return 0;
}

int
tlsrpt_parse_message(const char *msg, size_t len, struct tlsrpt_rec *out)
{
	const char	*err = NULL;
	char		*json = NULL;
	size_t		 jsonlen = 0;
	enum verdict	 v;
	int		 rc;

	memset(out, 0, sizeof(*out));
	v = msg == NULL ? V_BAD : find_report(msg, len, 0, &json, &jsonlen,
	    &err);
	if (v == V_NOMEM)
		return -1;
	if (v == V_BAD) {
		out->checked = 1;
		return set_malformed(out, err != NULL ? err :
		    "no application/tlsrpt+gzip or +json part");
	}
	rc = tlsrpt_parse_json(json, jsonlen, out);
	free(json);
	return rc;
}
