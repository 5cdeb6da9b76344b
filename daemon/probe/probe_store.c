/*
 * A probe result into the store (schema/021_probes.sql): one row in
 * probes with the whole result as probe_json() writes it, one in
 * probe_hosts per MX address, one in probe_findings per finding, in one
 * transaction.  store_open() brings the schema up to date first (as
 * purge does); then a connection of its own, prepared statements with
 * bound parameters only.  Runs in the tool, after the probe.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "probe.h"
#include "store.h"

#define PSTORE_BUSY_MS	5000	/* the daemon's writer may hold it */
#define PSTORE_ERRLEN	1024
#define PSTORE_LIST_MAX	4096	/* SANs, extensions as text */

static const char sql_probe[] =
	"INSERT INTO probes (domain, started, finished, grade, score,"
	" resolver, error, null_mx, implicit_mx, dnssec, spf, spf_lookups,"
	" dmarc, dmarc_policy, mta_sts_mode, tlsrpt, result_json)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	" ?14, ?15, ?16, ?17)";

/* The columns of probe_hosts in the order of the statement's ?N. */
enum hcol {
	H_PROBE = 1, H_MX, H_PREFERENCE, H_STS_MATCH, H_ADDR, H_FAMILY,
	H_REACHABLE, H_STOP, H_STOP_DETAIL, H_CONNECT_MS, H_PTR, H_FCRDNS,
	H_BANNER_CODE, H_BANNER, H_BANNER_NAME, H_EHLO_CODE, H_EXTENSIONS,
	H_SIZE_LIMIT, H_STARTTLS, H_STARTTLS_CODE, H_TLS, H_TLS_VERSION,
	H_TLS_CIPHER, H_TLS_GROUP, H_TLS_ERROR, H_TLS10, H_TLS11, H_TLS12,
	H_TLS13, H_WEAK, H_CERT_SUBJECT, H_CERT_CN, H_CERT_SAN,
	H_CERT_ISSUER, H_CERT_SHA256, H_CERT_KEY_TYPE, H_CERT_KEY_BITS,
	H_CERT_SIG_ALG, H_CERT_NOT_BEFORE, H_CERT_NOT_AFTER,
	H_CERT_SELF_SIGNED, H_CHAIN_VALID, H_CHAIN_ERROR, H_NAME_MATCH,
	H_DANE, H_OPEN_RELAY, H_RCPT_FILTERING, H_GREYLISTING,
	H_SPF_CHECKED
};

static const char sql_host[] =
	"INSERT INTO probe_hosts (probe_id, mx, preference, sts_match, addr,"
	" family, reachable, stop, stop_detail, connect_ms, ptr, fcrdns,"
	" banner_code, banner, banner_name, ehlo_code, extensions,"
	" size_limit, starttls, starttls_code, tls, tls_version, tls_cipher,"
	" tls_group, tls_error, tls10, tls11, tls12, tls13, weak_classes,"
	" cert_subject, cert_cn, cert_san, cert_issuer, cert_sha256,"
	" cert_key_type, cert_key_bits, cert_sig_alg, cert_not_before,"
	" cert_not_after, cert_self_signed, chain_valid, chain_error,"
	" name_match, dane, open_relay, recipient_filtering, greylisting,"
	" spf_checked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	" ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
	" ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37,"
	" ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49)";

static const char sql_finding[] =
	"INSERT INTO probe_findings (probe_id, key, severity, mx, addr,"
	" summary, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

struct pstore {
	sqlite3		*db;
	sqlite3_stmt	*probe;
	sqlite3_stmt	*host;
	sqlite3_stmt	*finding;
	int		 rc;	/* the first bind's failure */
};

static void
b_text(struct pstore *p, sqlite3_stmt *st, int i, const char *s)
{
	int rc = s != NULL ? sqlite3_bind_text(st, i, s, -1,
	    SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);

	if (rc != SQLITE_OK && p->rc == SQLITE_OK)
		p->rc = rc;
}

static void
b_int(struct pstore *p, sqlite3_stmt *st, int i, long long v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	if (rc != SQLITE_OK && p->rc == SQLITE_OK)
		p->rc = rc;
}

/* An integer, or NULL when it is not set (V == NONE). */
static void
b_intn(struct pstore *p, sqlite3_stmt *st, int i, long long v, long long none)
{
	int rc = v != none ? sqlite3_bind_int64(st, i, v) :
	    sqlite3_bind_null(st, i);

	if (rc != SQLITE_OK && p->rc == SQLITE_OK)
		p->rc = rc;
}

static void
b_real(struct pstore *p, sqlite3_stmt *st, int i, double v, int null)
{
	int rc = !null ? sqlite3_bind_double(st, i, v) :
	    sqlite3_bind_null(st, i);

	if (rc != SQLITE_OK && p->rc == SQLITE_OK)
		p->rc = rc;
}

static void
b_tri(struct pstore *p, sqlite3_stmt *st, int i, enum probe_tri t)
{
	b_intn(p, st, i, t, PT_UNKNOWN);
}

/* Appends S to BUF (LEN bytes, used *N) with a separator; cut at LEN. */
static void
join(char *buf, size_t len, size_t *n, const char *sep, const char *s)
{
	int k;

	if (*n >= len)
		return;
	k = snprintf(buf + *n, len - *n, "%s%s", *n > 0 ? sep : "", s);
	if (k < 0)
		return;
	*n += (size_t)k < len - *n ? (size_t)k : len - *n - 1;
}

/* Steps ST once (an INSERT), resets it; SQLite's code. */
static int
step(struct pstore *p, sqlite3_stmt *st)
{
	int rc;

	if (p->rc != SQLITE_OK)
		return p->rc;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
store_host(struct pstore *p, int64_t id, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	sqlite3_stmt *st = p->host;
	const struct probe_cert *c = a->nchain > 0 ? &a->chain[0] : NULL;
	char ext[PSTORE_LIST_MAX], weak[PSTORE_LIST_MAX], san[PSTORE_LIST_MAX];
	const char *name;
	unsigned int bit;
	size_t i, n;

	for (i = 0, n = 0, ext[0] = '\0';
	    (name = probe_ext_name(i, &bit)) != NULL; i++)
		if (a->ext & bit)
			join(ext, sizeof(ext), &n, " ", name);
	for (i = 0, n = 0, weak[0] = '\0'; i < PROBE_NWEAK; i++)
		if (a->weak[i].accepted == PT_YES)
			join(weak, sizeof(weak), &n, " ",
			    probe_weak_name((enum probe_weak)i));
	san[0] = '\0';
	for (i = 0, n = 0; c != NULL && i < c->san.n; i++)
		join(san, sizeof(san), &n, " ", c->san.v[i]);

	b_int(p, st, H_PROBE, id);
	b_text(p, st, H_MX, mx->name != NULL ? mx->name : "");
	b_int(p, st, H_PREFERENCE, mx->preference);
	b_tri(p, st, H_STS_MATCH, mx->sts_match);
	b_text(p, st, H_ADDR, a->addr != NULL ? a->addr : "");
	b_int(p, st, H_FAMILY, a->family);
	b_int(p, st, H_REACHABLE, a->connect_ms >= 0);
	b_text(p, st, H_STOP, probe_stop_name(a->stop));
	b_text(p, st, H_STOP_DETAIL, a->stop_detail);
	b_real(p, st, H_CONNECT_MS, a->connect_ms, a->connect_ms < 0);
	b_text(p, st, H_PTR, a->ptr);
	b_tri(p, st, H_FCRDNS, a->fcrdns);
	b_intn(p, st, H_BANNER_CODE, a->banner_code, 0);
	b_text(p, st, H_BANNER, a->banner);
	b_text(p, st, H_BANNER_NAME, a->banner_name);
	b_intn(p, st, H_EHLO_CODE, a->ehlo_code, 0);
	b_text(p, st, H_EXTENSIONS, a->ehlo_code != 0 ? ext : NULL);
	b_intn(p, st, H_SIZE_LIMIT, a->size_limit, -1);
	b_int(p, st, H_STARTTLS, (a->ext & PX_STARTTLS) != 0);
	b_intn(p, st, H_STARTTLS_CODE, a->starttls_code, 0);
	b_int(p, st, H_TLS, a->tls != 0);
	b_text(p, st, H_TLS_VERSION, a->tls_version);
	b_text(p, st, H_TLS_CIPHER, a->tls_cipher);
	b_text(p, st, H_TLS_GROUP, a->tls_group);
	b_text(p, st, H_TLS_ERROR, a->tls_error);
	b_tri(p, st, H_TLS10, a->versions[PV_TLS10].accepted);
	b_tri(p, st, H_TLS11, a->versions[PV_TLS11].accepted);
	b_tri(p, st, H_TLS12, a->versions[PV_TLS12].accepted);
	b_tri(p, st, H_TLS13, a->versions[PV_TLS13].accepted);
	b_text(p, st, H_WEAK, a->tls ? weak : NULL);
	b_text(p, st, H_CERT_SUBJECT, c != NULL ? c->subject : NULL);
	b_text(p, st, H_CERT_CN, c != NULL ? c->subject_cn : NULL);
	b_text(p, st, H_CERT_SAN, c != NULL ? san : NULL);
	b_text(p, st, H_CERT_ISSUER, c != NULL ? c->issuer : NULL);
	b_text(p, st, H_CERT_SHA256, c != NULL ? c->sha256 : NULL);
	b_text(p, st, H_CERT_KEY_TYPE, c != NULL ? c->key_type : NULL);
	b_intn(p, st, H_CERT_KEY_BITS, c != NULL ? c->key_bits : -1, -1);
	b_text(p, st, H_CERT_SIG_ALG, c != NULL ? c->sig_alg : NULL);
	b_real(p, st, H_CERT_NOT_BEFORE, c != NULL ? (double)c->not_before :
	    0, c == NULL);
	b_real(p, st, H_CERT_NOT_AFTER, c != NULL ? (double)c->not_after : 0,
	    c == NULL);
	b_intn(p, st, H_CERT_SELF_SIGNED, c != NULL ? c->self_signed : -1,
	    -1);
	b_tri(p, st, H_CHAIN_VALID, a->chain_valid);
	b_text(p, st, H_CHAIN_ERROR, a->chain_error);
	b_tri(p, st, H_NAME_MATCH, a->name_match);
	b_text(p, st, H_DANE, probe_dane_name(a->dane));
	b_tri(p, st, H_OPEN_RELAY, a->open_relay);
	b_tri(p, st, H_RCPT_FILTERING, a->recipient_filtering);
	b_tri(p, st, H_GREYLISTING, a->greylisting);
	b_tri(p, st, H_SPF_CHECKED, a->spf_checked);
	return step(p, st);
}

static int
store_finding(struct pstore *p, int64_t id, const struct probe_finding *f)
{
	sqlite3_stmt *st = p->finding;
	char *ev = NULL;
	size_t i, len = 1, n = 0;
	int rc;

	for (i = 0; i < f->evidence.n; i++)
		len += strlen(f->evidence.v[i]) + 1;
	if ((ev = malloc(len)) == NULL)
		return SQLITE_NOMEM;
	ev[0] = '\0';
	for (i = 0; i < f->evidence.n; i++)
		join(ev, len, &n, "\n", f->evidence.v[i]);
	b_int(p, st, 1, id);
	b_text(p, st, 2, f->key != NULL ? f->key : "");
	b_text(p, st, 3, probe_sev_name(f->severity));
	b_text(p, st, 4, f->mx);
	b_text(p, st, 5, f->addr);
	b_text(p, st, 6, f->summary != NULL ? f->summary : "");
	b_text(p, st, 7, f->evidence.n > 0 ? ev : NULL);
	rc = step(p, st);
	free(ev);
	return rc;
}

/* The rows of R, in the open transaction; *ID the probe's. */
static int
store_rows(struct pstore *p, const struct probe_result *r, const char *json,
    int64_t *id)
{
	sqlite3_stmt *st = p->probe;
	size_t i, k;
	int rc;

	b_text(p, st, 1, r->domain != NULL ? r->domain : "");
	b_real(p, st, 2, r->started, 0);
	b_real(p, st, 3, r->finished, r->finished == 0);
	b_text(p, st, 4, r->grade[0] != '\0' ? r->grade : NULL);
	b_intn(p, st, 5, r->grade[0] != '\0' ? r->score : -1, -1);
	b_text(p, st, 6, r->resolver);
	b_text(p, st, 7, r->error);
	b_int(p, st, 8, r->null_mx != 0);
	b_int(p, st, 9, r->implicit_mx != 0);
	b_tri(p, st, 10, r->dnssec);
	b_text(p, st, 11, r->spf.record);
	b_intn(p, st, 12, r->spf.lookups, -1);
	b_text(p, st, 13, r->dmarc.record);
	b_text(p, st, 14, r->dmarc.policy);
	b_text(p, st, 15, r->sts.mode);
	b_text(p, st, 16, r->tlsrpt.record);
	b_text(p, st, 17, json);
	if ((rc = step(p, st)) != SQLITE_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(p->db);
	for (i = 0; i < r->nmx; i++)
		for (k = 0; k < r->mx[i].naddrs; k++)
			if ((rc = store_host(p, *id, &r->mx[i],
			    &r->mx[i].addrs[k])) != SQLITE_OK)
				return rc;
	for (i = 0; i < r->nfindings; i++)
		if ((rc = store_finding(p, *id, &r->findings[i])) != SQLITE_OK)
			return rc;
	return SQLITE_OK;
}

/* R as probe_json() writes it, malloc'd; NULL when that failed. */
static char *
result_json(const struct probe_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	rc = probe_json(fp, r);
	if (fclose(fp) == EOF || rc == -1) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
probe_store(const char *database, const struct probe_result *r, int64_t *id)
{
	struct pstore p;
	struct store *st;
	char err[PSTORE_ERRLEN], *json;
	int rc = -1, began = 0;

	memset(&p, 0, sizeof(p));
	*id = -1;
	/* the schema brought up to date (021 and the views) */
	if ((st = store_open(database, err, sizeof(err))) == NULL) {
		log_warn("probe: store: %s", err);
		return -1;
	}
	store_close(st);
	if ((json = result_json(r)) == NULL) {
		log_warn("probe: store: the JSON of %s: out of memory",
		    r->domain);
		return -1;
	}
	if (sqlite3_open_v2(database, &p.db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK ||
	    sqlite3_busy_timeout(p.db, PSTORE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(p.db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(p.db, sql_probe, -1, &p.probe, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(p.db, sql_host, -1, &p.host, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(p.db, sql_finding, -1, &p.finding, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* IMMEDIATE: take the write lock now, waiting up to the timeout */
	if (sqlite3_exec(p.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	began = 1;
	if (store_rows(&p, r, json, id) != SQLITE_OK ||
	    sqlite3_exec(p.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	began = 0;
	rc = 0;
	goto out;
 fail:
	log_warn("probe: store: %s: %s", database, p.db != NULL ?
	    sqlite3_errmsg(p.db) : "out of memory");
	*id = -1;
 out:
	if (began)
		(void)sqlite3_exec(p.db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(p.probe);
	sqlite3_finalize(p.host);
	sqlite3_finalize(p.finding);
	sqlite3_close(p.db);
	free(json);
	return rc;
}
