/*
 * mailscope export: streams v_deliveries, v_connections, v_probes or the
 * probes' findings, one row stepped and written at a time, or the
 * verdicts of every test, one test loaded and judged at a time
 * (report_load(), report_build()), as CSV
 * (RFC 4180) or JSON Lines.  Runs in the tool, single-threaded; its own
 * read-only connection and one prepared SELECT per kind
 * (docs/design-notes.md, "export").
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "clock.h"
#include "export.h"
#include "report.h"
#include "text.h"

#define EXPORT_USAGE	"usage: mailscope [-c FILE] export --format csv|jsonl " \
			"[--what deliveries|connections|verdicts|probes|" \
			"probe-findings] " \
			"[--since DATE] [--anonymize] [--out FILE]\n"
#define EXPORT_KEYLEN	32	/* the per-export pseudonym key */
#define EXPORT_PSEUDO	16	/* hex digits of a pseudonym */
#define EXPORT_BUSY_MS	5000	/* the daemon's writer may hold the lock */
#define EXPORT_ERRLEN	1024
#define EXPORT_NUMLEN	24	/* INT64_MIN in decimal and its NUL */

enum export_format { EXPORT_CSV, EXPORT_JSONL };

struct export_ctx {
	const struct config	*cfg;		/* borrowed */
	enum export_format	 format;
	int			 anonymize;
	unsigned char		 key[EXPORT_KEYLEN];
	double			 now;		/* the verdict rules' "now" */
	FILE			*out;
	const char		*outpath;	/* NULL: standard output */
	FILE			*err;
};

enum export_type { EXPORT_NULL, EXPORT_INTEGER, EXPORT_FLOAT, EXPORT_TEXT };

/*
 * One value of a row, filled from a statement's column or from a
 * verdict.  TEXT (LEN bytes, NULs possible) is the value as text in every
 * type but EXPORT_NULL, and what CSV writes; JSON writes I or R for a
 * number.  NAME and TEXT are borrowed (TEXT may point to NUM).
 */
struct export_value {
	const char		*name;
	enum export_type	 type;
	const char		*text;
	size_t			 len;
	int64_t			 i;
	double			 r;
	char			 num[EXPORT_NUMLEN];
};

/*
 * What --what names: its SELECT, --since bound as ?1, and the function
 * that steps it and writes the rows: 0, or -1 said in x->err.
 */
struct export_kind {
	const char	*name;
	const char	*sql;
	int		(*rows)(struct export_ctx *, sqlite3_stmt *);
};

static int	export_view(struct export_ctx *, sqlite3_stmt *);
static int	export_verdicts(struct export_ctx *, sqlite3_stmt *);

/*
 * The views' times are datetime() text, so ?1 compares as text; the
 * tests' creation is compared the same way (to the second).  A NULL id
 * (an old SQLite quirk of TEXT primary keys) names no test.
 */
static const struct export_kind export_kinds[] = {
	{ "deliveries", "SELECT * FROM v_deliveries WHERE ?1 IS NULL OR "
	    "received >= ?1 ORDER BY transaction_id, address", export_view },
	{ "connections", "SELECT * FROM v_connections WHERE ?1 IS NULL OR "
	    "started >= ?1 ORDER BY connection_id", export_view },
	{ "verdicts", "SELECT id, datetime(created, 'unixepoch') FROM tests "
	    "WHERE id IS NOT NULL AND (?1 IS NULL OR "
	    "datetime(created, 'unixepoch') >= ?1) ORDER BY created, id",
	    export_verdicts },
	/* mailscope probe (schema/021_probes.sql): a row per address */
	{ "probes", "SELECT * FROM v_probes WHERE ?1 IS NULL OR "
	    "started >= ?1 ORDER BY probe_id, host_id", export_view },
	{ "probe-findings", "SELECT f.probe_id, p.domain,"
	    " datetime(p.started, 'unixepoch') AS started, p.grade, p.score,"
	    " f.key, f.severity, f.mx, f.addr, f.summary, f.evidence"
	    " FROM probe_findings f JOIN probes p ON p.id = f.probe_id"
	    " WHERE ?1 IS NULL OR datetime(p.started, 'unixepoch') >= ?1"
	    " ORDER BY f.probe_id, f.id", export_view },
};
#define EXPORT_NKINDS	(sizeof(export_kinds) / sizeof(export_kinds[0]))

/* The columns of --what verdicts, fixed (docs/researcher.md). */
enum export_vcol {
	VC_TEST_ID, VC_CREATED, VC_KEY, VC_GROUP, VC_STATE, VC_WEIGHT,
	VC_SCORE, VC_SUMMARY, VC_EVIDENCE
};
#define VC_N	9
static const char *const export_vcols[VC_N] = {
	"test_id", "created", "key", "group", "state", "weight", "score",
	"summary", "evidence"
};

static const struct option export_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "what", required_argument, NULL, 'w' },
	{ "since", required_argument, NULL, 's' },
	{ "anonymize", no_argument, NULL, 'a' },
	{ "out", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 }
};

static int
export_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/*
 * YYYY-MM-DD, optionally followed by T or a space and HH:MM[:SS], and
 * optionally Z: UTC.  Written to OUT as the views' "YYYY-MM-DD HH:MM:SS".
 */
static int
export_parse_since(const char *s, char *out, size_t outlen)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == 'Z')
		len--;
	if (len < 10 || text_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    text_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    text_digits(s + 8, 2, &d) == -1)
		return -1;
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || (len != 16 && len != 19) ||
		    text_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
		    text_digits(s + 14, 2, &mi) == -1)
			return -1;
		if (len == 19 && (s[16] != ':' ||
		    text_digits(s + 17, 2, &sec) == -1))
			return -1;
	} else if (len != 10 || s[len] == 'Z')
		return -1;	/* a bare date takes no Z */
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > export_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi,
	    sec);
	return 0;
}

/* ADDR truncated to /24 (IPv4, IPv4-mapped IPv6) or /48 (IPv6). */
static int
export_truncate_addr(const char *addr, char *out, size_t outlen)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		((unsigned char *)&a4.s_addr)[3] = 0;
		return inet_ntop(AF_INET, &a4, out, outlen) ? 0 : -1;
	}
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		a6.s6_addr[15] = 0;
	else
		memset(a6.s6_addr + 6, 0, 10);
	return inet_ntop(AF_INET6, &a6, out, outlen) ? 0 : -1;
}

/* An address literal in HELO ("[192.0.2.1]", "[IPv6:2001:db8::1]"). */
static int
export_helo(const char *helo, char *out, size_t outlen)
{
	char inner[INET6_ADDRSTRLEN + 8], t[INET6_ADDRSTRLEN];
	size_t len = strlen(helo);
	const char *p = helo + 1;
	int v6 = 0;

	if (len < 3 || helo[0] != '[' || helo[len - 1] != ']')
		return 1;	/* a name: kept */
	if (strncasecmp(p, "IPv6:", 5) == 0) {
		p += 5;
		v6 = 1;
	}
	if ((size_t)(helo + len - 1 - p) >= sizeof(inner))
		return -1;
	memcpy(inner, p, helo + len - 1 - p);
	inner[helo + len - 1 - p] = '\0';
	if (export_truncate_addr(inner, t, sizeof(t)) == -1)
		return -1;
	snprintf(out, outlen, "[%s%s]", v6 ? "IPv6:" : "", t);
	return 0;
}

/* "anon-" and the first hex digits of SHA-256(key || ID). */
static int
export_pseudonym(const struct export_ctx *x, const char *id, char *out,
    size_t outlen)
{
	EVP_MD_CTX *md;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl, i;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, x->key, sizeof(x->key)) == 1 &&
	    EVP_DigestUpdate(md, id, strlen(id)) == 1 &&
	    EVP_DigestFinal_ex(md, h, &hl) == 1;
	EVP_MD_CTX_free(md);
	if (!ok || outlen < 6 + EXPORT_PSEUDO)
		return -1;
	memcpy(out, "anon-", 5);
	for (i = 0; i < EXPORT_PSEUDO / 2; i++)
		snprintf(out + 5 + 2 * i, 3, "%02x", h[i]);
	return 0;
}

/* "@domain" of an address; "" without an @. */
static const char *
export_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at : "";
}

/* ORCPT ("type;addr"): the local part dropped. */
static void
export_orcpt(const char *v, char *out, size_t outlen)
{
	const char *semi = strchr(v, ';');

	snprintf(out, outlen, "%.*s%s", semi ? (int)(semi - v + 1) : 0, v,
	    export_domain(semi ? semi + 1 : v));
}

/* ESMTP parameters: ORCPT's local part dropped, ENVID's value emptied. */
static char *
export_params(const char *v)
{
	char *o, *p, tok[1024], orc[sizeof(tok)];
	size_t n;

	if ((o = malloc(strlen(v) + 1)) == NULL)
		return NULL;
	p = o;
	while (*v != '\0') {
		n = strcspn(v, " ");
		if (n >= sizeof(tok))
			n = sizeof(tok) - 1;
		memcpy(tok, v, n);
		tok[n] = '\0';
		v += strcspn(v, " ");
		if (strncasecmp(tok, "ENVID=", 6) == 0)
			tok[6] = '\0';
		else if (strncasecmp(tok, "ORCPT=", 6) == 0) {
			export_orcpt(tok + 6, orc, sizeof(orc));
			memcpy(tok + 6, orc, strlen(orc) + 1);	/* shorter */
		}
		p += sprintf(p, "%s", tok);
		while (*v == ' ')
			*p++ = *v++;
	}
	*p = '\0';
	return o;
}

/*
 * The value of column NAME as exported: *OUT points to it (NULL: SQL
 * NULL), into BUF or *OWNED (to free).  -1 when out of memory.
 */
static int
export_anon(const struct export_ctx *x, const char *name, const char *v,
    const char **out, char *buf, size_t buflen, char **owned)
{
	*out = v;
	*owned = NULL;
	if (!x->anonymize || v == NULL)
		return 0;
	if (strcmp(name, "client_addr") == 0) {
		*out = export_truncate_addr(v, buf, buflen) == 0 ? buf : NULL;
	} else if (strcmp(name, "helo") == 0) {
		switch (export_helo(v, buf, buflen)) {
		case 0:
			*out = buf;
			break;
		case -1:
			*out = NULL;	/* a literal that is no address */
			break;
		}
	} else if (strcmp(name, "test_id") == 0) {
		if (export_pseudonym(x, v, buf, buflen) == -1)
			return -1;
		*out = buf;
	} else if (strcmp(name, "mail_from") == 0 ||
	    strcmp(name, "address") == 0) {
		*out = export_domain(v);
	} else if (strcmp(name, "orcpt") == 0) {
		export_orcpt(v, buf, buflen);
		*out = buf;
	} else if (strcmp(name, "envid") == 0) {
		*out = "";
	} else if (strcmp(name, "summary") == 0) {
		*out = NULL;	/* a verdict's reason names addresses */
	} else if (strcmp(name, "mail_params") == 0 ||
	    strcmp(name, "rcpt_params") == 0) {
		if ((*owned = export_params(v)) == NULL)
			return -1;
		*out = *owned;
	}
	return 0;
}

/* RFC 4180 2.6, 2.7: quoted when it holds a comma, quote, CR or LF. */
static void
export_csv_field(FILE *out, const char *v, size_t n)
{
	size_t i;

	if (n > 0 && strcspn(v, ",\"\r\n") == n && memchr(v, '\0', n) == NULL) {
		fwrite_unlocked(v, 1, n, out);
		return;
	}
	putc_unlocked('"', out);
	for (i = 0; i < n; i++) {
		if (v[i] == '"')
			putc_unlocked('"', out);
		putc_unlocked(v[i], out);
	}
	putc_unlocked('"', out);
}

/*
 * N bytes of V as a JSON string (RFC 8259 7): invalid UTF-8 replaced, a
 * byte at a time, by U+FFFD (as text_utf8() does), '"', '\\' and the
 * controls escaped, the rest as it is.  Written straight to OUT: a row
 * builds no tree.  The tool has one thread: stdio without its locks.
 */
static void
export_json_string(FILE *out, const char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int cp;
	size_t i = 0, len, run;

	putc_unlocked('"', out);
	while (i < n) {
		/* the longest run that needs nothing */
		for (run = 0; i + run < n; run++) {
			cp = (unsigned char)v[i + run];
			if (cp < 0x20 || cp == '"' || cp == '\\' || cp >= 0x80)
				break;
		}
		fwrite_unlocked(v + i, 1, run, out);
		if ((i += run) == n)
			break;
		cp = (unsigned char)v[i];
		if (cp >= 0x80) {
			if ((len = text_utf8_char(v + i, n - i, &cp)) == 0) {
				fputs_unlocked("\xef\xbf\xbd", out);
				i++;
			} else {
				fwrite_unlocked(v + i, 1, len, out);
				i += len;
			}
			continue;
		}
		putc_unlocked('\\', out);
		switch (cp) {
		case '"':
		case '\\':
			putc_unlocked((int)cp, out);
			break;
		case '\b':
			putc_unlocked('b', out);
			break;
		case '\f':
			putc_unlocked('f', out);
			break;
		case '\n':
			putc_unlocked('n', out);
			break;
		case '\r':
			putc_unlocked('r', out);
			break;
		case '\t':
			putc_unlocked('t', out);
			break;
		default:
			fputs_unlocked("u00", out);
			putc_unlocked(hex[cp >> 4], out);
			putc_unlocked(hex[cp & 0xf], out);
		}
		i++;
	}
	putc_unlocked('"', out);
}

/* R as a JSON number: 17 significant digits, always with '.' or 'e'. */
static void
export_json_real(FILE *out, double r)
{
	char buf[40];

	if (!isfinite(r)) {
		fputs_unlocked("null", out);	/* JSON has no NaN nor infinity */
		return;
	}
	(void)snprintf(buf, sizeof(buf), "%.17g", r);
	fputs_unlocked(buf, out);
	if (strpbrk(buf, ".eE") == NULL)
		fputs_unlocked(".0", out);
}

/* V as text S; NULL: SQL NULL. */
static void
export_set_text(struct export_value *v, const char *s)
{
	v->type = s != NULL ? EXPORT_TEXT : EXPORT_NULL;
	v->text = s;
	v->len = s != NULL ? strlen(s) : 0;
}

/* V as the integer N, its text in v->num. */
static void
export_set_int(struct export_value *v, int64_t n)
{
	int len = snprintf(v->num, sizeof(v->num), "%" PRId64, n);

	v->type = EXPORT_INTEGER;
	v->i = n;
	v->text = v->num;
	v->len = (size_t)len;
}

/* The N values of VALS as one row, anonymized as x->anonymize says. */
static int
export_row(struct export_ctx *x, const struct export_value *vals, size_t n)
{
	char buf[1024], *owned;
	const char *v;
	size_t i, cl;
	enum export_type type;

	if (x->format == EXPORT_JSONL)
		putc_unlocked('{', x->out);
	for (i = 0; i < n; i++) {
		if (export_anon(x, vals[i].name, vals[i].text, &v, buf,
		    sizeof(buf), &owned) == -1)
			return -1;
		/* a rewritten value is text; bytes: with any NUL kept */
		type = v == vals[i].text ? vals[i].type : EXPORT_TEXT;
		cl = v == vals[i].text ? vals[i].len : v != NULL ? strlen(v) : 0;
		if (x->format == EXPORT_CSV) {
			if (i > 0)
				putc_unlocked(',', x->out);
			if (v != NULL)
				export_csv_field(x->out, v, cl);
			free(owned);
			continue;
		}
		if (i > 0)
			putc_unlocked(',', x->out);
		export_json_string(x->out, vals[i].name, strlen(vals[i].name));
		putc_unlocked(':', x->out);
		if (v == NULL)
			fputs_unlocked("null", x->out);
		else if (type == EXPORT_INTEGER)
			fprintf(x->out, "%" PRId64, vals[i].i);
		else if (type == EXPORT_FLOAT)
			export_json_real(x->out, vals[i].r);
		else
			export_json_string(x->out, v, cl);
		free(owned);
	}
	/* RFC 4180 2.1; one JSON object a line */
	fputs_unlocked(x->format == EXPORT_CSV ? "\r\n" : "}\n", x->out);
	return ferror(x->out) ? -1 : 0;
}

/* CSV's header line (RFC 4180 2.3): the N column names of NAMES. */
static void
export_header(struct export_ctx *x, const char *const *names, size_t n)
{
	size_t i;

	if (x->format != EXPORT_CSV)
		return;
	for (i = 0; i < n; i++) {
		if (i > 0)
			putc(',', x->out);
		export_csv_field(x->out, names[i], strlen(names[i]));
	}
	fputs("\r\n", x->out);
}

static int
export_write_error(struct export_ctx *x)
{
	fprintf(x->err, "mailscope: export: cannot write%s%s\n",
	    x->outpath ? " " : "", x->outpath ? x->outpath : "");
	return -1;
}

static int
export_db_error(struct export_ctx *x, sqlite3_stmt *st)
{
	fprintf(x->err, "mailscope: %s: %s\n", x->cfg->database,
	    sqlite3_errmsg(sqlite3_db_handle(st)));
	return -1;
}

/* A view: each row of ST as it is stepped, its columns as they are. */
static int
export_view(struct export_ctx *x, sqlite3_stmt *st)
{
	struct export_value *vals;
	const char **names;
	size_t i, n = (size_t)sqlite3_column_count(st);
	int src, rc = -1;

	vals = calloc(n, sizeof(*vals));
	names = calloc(n, sizeof(*names));
	if (vals == NULL || names == NULL) {
		fprintf(x->err, "mailscope: export: out of memory\n");
		goto out;
	}
	for (i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	export_header(x, names, n);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		/* names again: a step may have re-prepared the statement */
		for (i = 0; i < n; i++) {
			vals[i].name = sqlite3_column_name(st, i);
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				vals[i].type = EXPORT_NULL;
				break;
			case SQLITE_INTEGER:
				vals[i].type = EXPORT_INTEGER;
				vals[i].i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				vals[i].type = EXPORT_FLOAT;
				vals[i].r = sqlite3_column_double(st, i);
				break;
			default:	/* text, and a blob as its bytes */
				vals[i].type = EXPORT_TEXT;
				break;
			}
			/* SQLite's text of a number is what CSV writes */
			vals[i].text = vals[i].type == EXPORT_NULL ? NULL :
			    (const char *)sqlite3_column_text(st, i);
			vals[i].len = (size_t)sqlite3_column_bytes(st, i);
		}
		if (export_row(x, vals, n) == -1) {
			export_write_error(x);
			goto out;
		}
	}
	rc = src == SQLITE_DONE ? 0 : export_db_error(x, st);
 out:
	free(names);
	free(vals);
	return rc;
}

/*
 * The verdicts of IN, one row each, into VALS (named): CREATED is the
 * test's creation as the views write it.
 */
static int
export_test(struct export_ctx *x, const struct rp_input *in,
    const char *created, struct export_value *vals)
{
	struct rp_report rep;
	const struct rp_verdict *v;
	size_t i;
	int rc = 0;

	if (report_build(in, &rep) == -1) {
		fprintf(x->err, "mailscope: export: out of memory\n");
		report_free(&rep);
		return -1;
	}
	export_set_text(&vals[VC_TEST_ID], in->test_id);
	export_set_text(&vals[VC_CREATED], created);
	if (rep.score >= 0)
		export_set_int(&vals[VC_SCORE], rep.score);
	else
		export_set_text(&vals[VC_SCORE], NULL);
	for (i = 0; i < rep.nverdicts && rc == 0; i++) {
		v = &rep.verdicts[i];
		export_set_text(&vals[VC_KEY], v->rule->key);
		export_set_text(&vals[VC_GROUP],
		    report_group_name(v->rule->group));
		export_set_text(&vals[VC_STATE], report_state_name(v->state));
		export_set_int(&vals[VC_WEIGHT], v->rule->weight);
		export_set_text(&vals[VC_SUMMARY], v->reason);
		export_set_int(&vals[VC_EVIDENCE], (int64_t)v->nevidence);
		if (export_row(x, vals, VC_N) == -1)
			rc = export_write_error(x);
	}
	report_free(&rep);
	return rc;
}

/*
 * The tests ST lists, one at a time: loaded, judged, written and freed
 * before the next, so memory holds one test and never the store.
 */
static int
export_verdicts(struct export_ctx *x, sqlite3_stmt *st)
{
	struct export_value vals[VC_N];
	struct rp_input in;
	char msg[EXPORT_ERRLEN];
	const char *id;
	size_t i;
	int src, rc;

	memset(vals, 0, sizeof(vals));
	for (i = 0; i < VC_N; i++)
		vals[i].name = export_vcols[i];
	export_header(x, export_vcols, VC_N);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if ((id = (const char *)sqlite3_column_text(st, 0)) == NULL) {
			fprintf(x->err, "mailscope: export: out of memory\n");
			return -1;
		}
		rc = report_load(x->cfg, id, x->now, &in, msg, sizeof(msg));
		if (rc == 1)
			continue;	/* deleted since it was listed */
		if (rc == -1) {
			fprintf(x->err, "mailscope: export: %s\n", msg);
			return -1;
		}
		rc = export_test(x, &in, (const char *)sqlite3_column_text(st,
		    1), vals);
		report_input_free(&in);
		if (rc == -1)
			return -1;
	}
	return src == SQLITE_DONE ? 0 : export_db_error(x, st);
}

static int
export_usage(FILE *err)
{
	fputs(EXPORT_USAGE, err);
	return 2;
}

/*
 * --out: 0600, whatever the umask, as the rows name senders' addresses
 * (docs/operator-data.md, "Privacy").  NULL with errno.
 */
static FILE *
export_open(const char *path)
{
	FILE	*fp;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return NULL;
	if (fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		return NULL;
	}
	return fp;
}

int
export_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	struct export_ctx x;
	const struct export_kind *kind = &export_kinds[0];
	const char *format = NULL, *since = NULL;
	char sincebuf[80];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;
	int ch, rc = 1;

	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.err = err;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", export_opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'w':
			for (i = 0; i < EXPORT_NKINDS; i++)
				if (strcmp(optarg, export_kinds[i].name) == 0)
					break;
			if (i == EXPORT_NKINDS) {
				fprintf(err, "mailscope: bad --what '%s' "
				    "(deliveries, connections, verdicts, probes "
				    "or probe-findings)\n", optarg);
				return 2;
			}
			kind = &export_kinds[i];
			break;
		case 's':
			if (export_parse_since(optarg, sincebuf, sizeof(sincebuf)) == -1) {
				fprintf(err, "mailscope: bad --since '%s' "
				    "(YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], "
				    "UTC)\n", optarg);
				return 2;
			}
			since = sincebuf;
			break;
		case 'a':
			x.anonymize = 1;
			break;
		case 'o':
			x.outpath = optarg;
			break;
		default:
			return export_usage(err);
		}
	}
	if (optind != argc || format == NULL)
		return export_usage(err);
	if (strcmp(format, "csv") == 0)
		x.format = EXPORT_CSV;
	else if (strcmp(format, "jsonl") == 0)
		x.format = EXPORT_JSONL;
	else {
		fprintf(err, "mailscope: bad --format '%s' (csv or jsonl)\n",
		    format);
		return 2;
	}
	if (x.anonymize && RAND_bytes(x.key, sizeof(x.key)) != 1) {
		fprintf(err, "mailscope: export: no random key\n");
		return 1;
	}
	x.now = clock_now();	/* one "now" for every test of the export */

	/* read-only: never creates or migrates (docs/design-notes.md) */
	if (sqlite3_open_v2(cfg->database, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK ||
	    sqlite3_busy_timeout(db, EXPORT_BUSY_MS) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, kind->sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC) != SQLITE_OK) {
		fprintf(err, "mailscope: %s: %s\n", cfg->database, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (x.outpath == NULL)
		x.out = stdout;
	else if ((x.out = export_open(x.outpath)) == NULL) {
		fprintf(err, "mailscope: %s: %s\n", x.outpath, strerror(errno));
		goto out;
	}
	if (kind->rows(&x, st) == -1)
		goto out;
	if (fflush(x.out) == EOF || ferror(x.out)) {
		fprintf(err, "mailscope: export: %s: %s\n",
		    x.outpath ? x.outpath : "stdout", strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	if (x.out != NULL && x.out != stdout && fclose(x.out) == EOF &&
	    rc == 0) {
		fprintf(err, "mailscope: %s: %s\n", x.outpath, strerror(errno));
		rc = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
