/*
 * mailscope export: streams v_deliveries or v_connections, one row
 * stepped and written at a time, as CSV (RFC 4180) or JSON Lines.  Runs
 * in the tool, single-threaded; its own read-only connection and two
 * prepared SELECTs on the views (docs/design-notes.md, "export").
 */
#include "build.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "export.h"
#include "text.h"

#define EXPORT_USAGE	"usage: mailscope [-c FILE] export --format csv|jsonl " \
			"[--what deliveries|connections] [--since DATE] " \
			"[--anonymize] [--out FILE]\n"
#define EXPORT_KEYLEN	32	/* the per-export pseudonym key */
#define EXPORT_PSEUDO	16	/* hex digits of a pseudonym */
#define EXPORT_BUSY_MS	5000	/* the daemon's writer may hold the lock */

enum export_format { EXPORT_CSV, EXPORT_JSONL };

/* What --what names: the view's SELECT, --since bound as ?1. */
struct export_kind {
	const char	*name;
	const char	*sql;
};

/* The views' times are datetime() text, so ?1 compares as text. */
static const struct export_kind export_kinds[] = {
	{ "deliveries", "SELECT * FROM v_deliveries WHERE ?1 IS NULL OR "
	    "received >= ?1 ORDER BY transaction_id, address" },
	{ "connections", "SELECT * FROM v_connections WHERE ?1 IS NULL OR "
	    "started >= ?1 ORDER BY connection_id" },
};
#define EXPORT_NKINDS	(sizeof(export_kinds) / sizeof(export_kinds[0]))

struct export_ctx {
	enum export_format	 format;
	int			 anonymize;
	unsigned char		 key[EXPORT_KEYLEN];
	FILE			*out;
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

static int
export_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
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
	if (len < 10 || export_digits(s, 4, &y) == -1 || s[4] != '-' ||
	    export_digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    export_digits(s + 8, 2, &d) == -1)
		return -1;
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || (len != 16 && len != 19) ||
		    export_digits(s + 11, 2, &h) == -1 || s[13] != ':' ||
		    export_digits(s + 14, 2, &mi) == -1)
			return -1;
		if (len == 19 && (s[16] != ':' ||
		    export_digits(s + 17, 2, &sec) == -1))
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
		fwrite(v, 1, n, out);
		return;
	}
	putc('"', out);
	for (i = 0; i < n; i++) {
		if (v[i] == '"')
			putc('"', out);
		putc(v[i], out);
	}
	putc('"', out);
}

static int
export_row(struct export_ctx *x, sqlite3_stmt *st)
{
	char buf[1024], *owned;
	const char *v, *raw, *name;
	json_t *obj = NULL, *jv;
	char *clean;
	size_t cl;
	int i, n = sqlite3_column_count(st), type, rc = -1;

	if (x->format == EXPORT_JSONL && (obj = json_object()) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		name = sqlite3_column_name(st, i);
		type = sqlite3_column_type(st, i);
		raw = type == SQLITE_NULL ? NULL :
		    (const char *)sqlite3_column_text(st, i);
		if (export_anon(x, name, raw, &v, buf, sizeof(buf), &owned) ==
		    -1)
			goto out;
		/* a rewritten value is text; bytes: with any NUL kept */
		if (v != raw)
			type = SQLITE_TEXT;
		cl = v == raw && v != NULL ?
		    (size_t)sqlite3_column_bytes(st, i) :
		    v != NULL ? strlen(v) : 0;
		if (x->format == EXPORT_CSV) {
			if (i > 0)
				putc(',', x->out);
			if (v != NULL)
				export_csv_field(x->out, v, cl);
			free(owned);
			continue;
		}
		if (v == NULL)
			jv = json_null();
		else if (type == SQLITE_INTEGER)
			jv = json_integer(sqlite3_column_int64(st, i));
		else if (type == SQLITE_FLOAT)
			jv = json_real(sqlite3_column_double(st, i));
		else {
			if ((clean = text_utf8(v, cl, &cl)) == NULL) {
				free(owned);
				goto out;
			}
			jv = json_stringn(clean, cl);
			free(clean);
		}
		free(owned);
		if (jv == NULL || json_object_set_new(obj, name, jv) == -1)
			goto out;
	}
	if (x->format == EXPORT_CSV)
		fputs("\r\n", x->out);	/* RFC 4180 2.1 */
	else if (json_dumpf(obj, x->out, JSON_COMPACT | JSON_PRESERVE_ORDER) ==
	    -1 || putc('\n', x->out) == EOF)
		goto out;
	rc = ferror(x->out) ? -1 : 0;
 out:
	json_decref(obj);
	return rc;
}

static void
export_header(struct export_ctx *x, sqlite3_stmt *st)
{
	const char *name;
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++) {
		name = sqlite3_column_name(st, i);
		if (i > 0)
			putc(',', x->out);
		export_csv_field(x->out, name, strlen(name));
	}
	fputs("\r\n", x->out);
}

static int
export_usage(FILE *err)
{
	fputs(EXPORT_USAGE, err);
	return 2;
}

int
export_main(const char *dbpath, int argc, char *argv[], FILE *err)
{
	struct export_ctx x;
	const struct export_kind *kind = &export_kinds[0];
	const char *format = NULL, *since = NULL, *outpath = NULL;
	char sincebuf[80];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;
	int ch, rc = 1, src;

	memset(&x, 0, sizeof(x));
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
				    "(deliveries or connections)\n", optarg);
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
			outpath = optarg;
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

	/* read-only: never creates or migrates (docs/design-notes.md) */
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK ||
	    sqlite3_busy_timeout(db, EXPORT_BUSY_MS) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, kind->sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC) != SQLITE_OK) {
		fprintf(err, "mailscope: %s: %s\n", dbpath, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (outpath == NULL)
		x.out = stdout;
	else if ((x.out = fopen(outpath, "w")) == NULL) {
		fprintf(err, "mailscope: %s: %s\n", outpath, strerror(errno));
		goto out;
	}
	if (x.format == EXPORT_CSV)
		export_header(&x, st);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (export_row(&x, st) == -1) {
			fprintf(err, "mailscope: export: cannot write%s%s\n",
			    outpath ? " " : "", outpath ? outpath : "");
			goto out;
		}
	if (src != SQLITE_DONE) {
		fprintf(err, "mailscope: %s: %s\n", dbpath, sqlite3_errmsg(db));
		goto out;
	}
	if (fflush(x.out) == EOF || ferror(x.out)) {
		fprintf(err, "mailscope: export: %s: %s\n",
		    outpath ? outpath : "stdout", strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	if (x.out != NULL && x.out != stdout && fclose(x.out) == EOF &&
	    rc == 0) {
		fprintf(err, "mailscope: %s: %s\n", outpath, strerror(errno));
		rc = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
