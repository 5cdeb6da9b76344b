/*
 * A probe result as JSON, the shape docs/probe.schema.json fixes
 * ("schema": PROBE_SCHEMA): every fact of the result, the findings and
 * the grade, so that a stored probe (probes.result_json) holds all of
 * it.  Every string passes text_utf8(): invalid bytes a server sent
 * become U+FFFD; the output is ASCII.  Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "probe.h"
#include "text.h"

/* The ESMTP extensions by bit, in PX_* order (RFC 5321 and the others). */
static const struct {
	unsigned int	 bit;
	const char	*name;
} exts[] = {
	{ PX_SIZE, "SIZE" },			/* RFC 1870 */
	{ PX_PIPELINING, "PIPELINING" },	/* RFC 2920 */
	{ PX_8BITMIME, "8BITMIME" },		/* RFC 6152 */
	{ PX_SMTPUTF8, "SMTPUTF8" },		/* RFC 6531 */
	{ PX_CHUNKING, "CHUNKING" },		/* RFC 3030 */
	{ PX_STARTTLS, "STARTTLS" },		/* RFC 3207 */
	{ PX_REQUIRETLS, "REQUIRETLS" },	/* RFC 8689 */
	{ PX_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES" },	/* RFC 2034 */
	{ PX_DSN, "DSN" },			/* RFC 3461 */
	{ PX_AUTH, "AUTH" },			/* RFC 4954 */
};
#define NEXTS	(sizeof(exts) / sizeof(exts[0]))

const char *
probe_ext_name(size_t i, unsigned int *bit)
{
	if (i >= NEXTS)
		return NULL;
	*bit = exts[i].bit;
	return exts[i].name;
}

/* T (Unix seconds) as ISO 8601 UTC; null for 0. */
static json_t *
jtime(double t)
{
	char buf[CLOCK_ISO_MAX];

	clock_iso(t, buf, sizeof(buf));
	return buf[0] != '\0' ? json_string(buf) : json_null();
}

static json_t *
jtri(enum probe_tri t)
{
	return t == PT_UNKNOWN ? json_null() : json_boolean(t == PT_YES);
}

/* A reply code, null when none was received (0). */
static json_t *
jcode(int code)
{
	return code != 0 ? json_integer(code) : json_null();
}

/* Sets KEY of O to V (taking V); a NULL O or V latches *ERR. */
static void
put(json_t *o, const char *key, json_t *v, int *err)
{
	if (v == NULL)
		*err = 1;
	else if (o == NULL) {
		json_decref(v);
		*err = 1;
	} else if (json_object_set_new(o, key, v) == -1)
		*err = 1;	/* (it took V) */
}

static void
append(json_t *a, json_t *v, int *err)
{
	if (v == NULL)
		*err = 1;
	else if (a == NULL) {
		json_decref(v);
		*err = 1;
	} else if (json_array_append_new(a, v) == -1)
		*err = 1;	/* (it took V) */
}

/* A new object or array; NULL with *ERR set when out of memory. */
static json_t *
object(int *err)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		*err = 1;
	return o;
}

static json_t *
array(int *err)
{
	json_t *a;

	if ((a = json_array()) == NULL)
		*err = 1;
	return a;
}

static json_t *
strv(const struct probe_strv *sv, int *err)
{
	json_t *a = array(err);
	size_t i;

	for (i = 0; a != NULL && i < sv->n; i++)
		append(a, text_json(sv->v[i]), err);
	return a;
}

static json_t *
dnsq(const struct probe_dnsq *q, int *err)
{
	json_t *o;

	if (q->name == NULL)
		return json_null();	/* not asked */
	o = object(err);
	put(o, "name", text_json(q->name), err);
	put(o, "type", text_json(q->type), err);
	put(o, "status", text_json(q->status), err);
	put(o, "ad", json_boolean(q->ad), err);
	put(o, "answers", strv(&q->answers, err), err);
	return o;
}

static json_t *
extensions(unsigned int ext, int *err)
{
	json_t *a = array(err);
	size_t i;

	for (i = 0; a != NULL && i < NEXTS; i++)
		if (ext & exts[i].bit)
			append(a, json_string(exts[i].name), err);
	return a;
}

static json_t *
cert(const struct probe_cert *c, int *err)
{
	json_t *o = object(err);

	put(o, "subject", text_json(c->subject), err);
	put(o, "subject_cn", text_json(c->subject_cn), err);
	put(o, "san", strv(&c->san, err), err);
	put(o, "issuer", text_json(c->issuer), err);
	put(o, "sha1", text_json(c->sha1), err);
	put(o, "sha256", text_json(c->sha256), err);
	put(o, "spki_sha256", text_json(c->spki_sha256), err);
	put(o, "key_type", text_json(c->key_type), err);
	put(o, "key_bits", json_integer(c->key_bits), err);
	put(o, "curve", text_json(c->curve), err);
	put(o, "sig_alg", text_json(c->sig_alg), err);
	put(o, "not_before", jtime((double)c->not_before), err);
	put(o, "not_after", jtime((double)c->not_after), err);
	put(o, "self_signed", json_boolean(c->self_signed), err);
	return o;
}

static json_t *
try(const struct probe_try *t, int *err)
{
	json_t *o = object(err);

	put(o, "accepted", jtri(t->accepted), err);
	put(o, "detail", text_json(t->detail), err);
	return o;
}

static json_t *
address(const struct probe_addr *a, int *err)
{
	json_t *o = object(err), *tls = object(err), *ch = array(err),
	    *vs = object(err), *wk = object(err), *pol = object(err);
	size_t i;

	put(o, "addr", text_json(a->addr), err);
	put(o, "family", json_integer(a->family), err);
	put(o, "ptr", text_json(a->ptr), err);
	put(o, "ptr_query", dnsq(&a->ptr_q, err), err);
	put(o, "fcrdns", jtri(a->fcrdns), err);
	put(o, "stop", text_json(probe_stop_name(a->stop)), err);
	put(o, "stop_detail", text_json(a->stop_detail), err);
	put(o, "connect_ms", a->connect_ms >= 0 ? json_real(a->connect_ms) :
	    json_null(), err);
	put(o, "banner_code", jcode(a->banner_code), err);
	put(o, "banner", text_json(a->banner), err);
	put(o, "banner_name", text_json(a->banner_name), err);
	put(o, "ehlo_code", jcode(a->ehlo_code), err);
	put(o, "extensions", extensions(a->ext, err), err);
	put(o, "extensions_tls", extensions(a->ext_tls, err), err);
	put(o, "size_limit", a->size_limit >= 0 ?
	    json_integer(a->size_limit) : json_null(), err);
	put(o, "starttls_code", jcode(a->starttls_code), err);

	put(tls, "established", json_boolean(a->tls), err);
	put(tls, "version", text_json(a->tls_version), err);
	put(tls, "cipher", text_json(a->tls_cipher), err);
	put(tls, "group", text_json(a->tls_group), err);
	put(tls, "error", text_json(a->tls_error), err);
	for (i = 0; i < a->nchain && i < PROBE_CHAIN_MAX; i++)
		append(ch, cert(&a->chain[i], err), err);
	put(tls, "chain", ch, err);
	put(tls, "chain_valid", jtri(a->chain_valid), err);
	put(tls, "chain_error", text_json(a->chain_error), err);
	put(tls, "name_match", jtri(a->name_match), err);
	put(tls, "dane", text_json(probe_dane_name(a->dane)), err);
	put(tls, "dane_matched", a->dane_matched >= 0 ?
	    json_integer(a->dane_matched) : json_null(), err);
	for (i = 0; i < PROBE_NVERSIONS; i++)
		put(vs, probe_tlsv_name((enum probe_tlsv)i),
		    try(&a->versions[i], err), err);
	put(tls, "versions", vs, err);
	for (i = 0; i < PROBE_NWEAK; i++)
		put(wk, probe_weak_name((enum probe_weak)i),
		    try(&a->weak[i], err), err);
	put(tls, "weak", wk, err);
	put(o, "tls", tls, err);

	put(pol, "mail_code", jcode(a->mail_code), err);
	put(pol, "rcpt_postmaster", jcode(a->rcpt_postmaster), err);
	put(pol, "rcpt_abuse", jcode(a->rcpt_abuse), err);
	put(pol, "rcpt_random", jcode(a->rcpt_random), err);
	put(pol, "rcpt_relay", jcode(a->rcpt_relay), err);
	put(pol, "spf_mail_code", jcode(a->spf_mail_code), err);
	put(pol, "spf_rcpt_code", jcode(a->spf_rcpt_code), err);
	put(pol, "open_relay", jtri(a->open_relay), err);
	put(pol, "recipient_filtering", jtri(a->recipient_filtering), err);
	put(pol, "greylisting", jtri(a->greylisting), err);
	put(pol, "spf_checked", jtri(a->spf_checked), err);
	put(o, "policy", pol, err);

	put(o, "transcript", strv(&a->transcript, err), err);
	put(o, "started", jtime(a->started), err);
	put(o, "ended", jtime(a->ended), err);
	return o;
}

static json_t *
mx(const struct probe_mx *m, int *err)
{
	json_t *o = object(err), *tl = array(err), *as = array(err), *t;
	size_t i;

	put(o, "name", text_json(m->name), err);
	put(o, "preference", json_integer(m->preference), err);
	put(o, "a_query", dnsq(&m->a_q, err), err);
	put(o, "aaaa_query", dnsq(&m->aaaa_q, err), err);
	put(o, "tlsa_query", dnsq(&m->tlsa_q, err), err);
	for (i = 0; i < m->ntlsa && i < PROBE_TLSA_MAX; i++) {
		t = object(err);
		put(t, "usage", json_integer(m->tlsa[i].usage), err);
		put(t, "selector", json_integer(m->tlsa[i].selector), err);
		put(t, "mtype", json_integer(m->tlsa[i].mtype), err);
		put(t, "data", text_json(m->tlsa[i].data), err);
		append(tl, t, err);
	}
	put(o, "tlsa", tl, err);
	put(o, "sts_match", jtri(m->sts_match), err);
	for (i = 0; i < m->naddrs; i++)
		append(as, address(&m->addrs[i], err), err);
	put(o, "addresses", as, err);
	return o;
}

static json_t *
records(const struct probe_result *r, int *err)
{
	json_t *o = object(err), *spf = object(err), *dm = object(err),
	    *sts = object(err), *rpt = object(err);

	put(spf, "record", text_json(r->spf.record), err);
	put(spf, "records", json_integer(r->spf.records), err);
	put(spf, "lookups", r->spf.lookups >= 0 ?
	    json_integer(r->spf.lookups) : json_null(), err);
	put(spf, "all", text_json(r->spf.all), err);
	put(spf, "error", text_json(r->spf.error), err);
	put(o, "spf", spf, err);

	put(dm, "record", text_json(r->dmarc.record), err);
	put(dm, "org_domain", text_json(r->dmarc.org_domain), err);
	put(dm, "policy", text_json(r->dmarc.policy), err);
	put(dm, "subdomain_policy", text_json(r->dmarc.subdomain_policy), err);
	put(dm, "pct", json_integer(r->dmarc.pct), err);
	put(dm, "rua", text_json(r->dmarc.rua), err);
	put(dm, "ruf", text_json(r->dmarc.ruf), err);
	put(dm, "error", text_json(r->dmarc.error), err);
	put(o, "dmarc", dm, err);

	put(sts, "txt", text_json(r->sts.txt), err);
	put(sts, "id", text_json(r->sts.id), err);
	put(sts, "txt_error", text_json(r->sts.txt_error), err);
	put(sts, "fetched", json_boolean(r->sts.fetched), err);
	put(sts, "http_status", r->sts.http_status != 0 ?
	    json_integer(r->sts.http_status) : json_null(), err);
	put(sts, "cert_valid", jtri(r->sts.cert_valid), err);
	put(sts, "fetch_error", text_json(r->sts.fetch_error), err);
	put(sts, "policy", text_json(r->sts.policy), err);
	put(sts, "mode", text_json(r->sts.mode), err);
	put(sts, "max_age", r->sts.max_age >= 0 ?
	    json_integer(r->sts.max_age) : json_null(), err);
	put(sts, "mx", strv(&r->sts.mx, err), err);
	put(o, "mta_sts", sts, err);

	put(rpt, "record", text_json(r->tlsrpt.record), err);
	put(rpt, "rua", text_json(r->tlsrpt.rua), err);
	put(rpt, "error", text_json(r->tlsrpt.error), err);
	put(o, "tlsrpt", rpt, err);
	return o;
}

static json_t *
finding(const struct probe_finding *f, int *err)
{
	json_t *o = object(err);

	put(o, "key", text_json(f->key), err);
	put(o, "severity", text_json(probe_sev_name(f->severity)), err);
	put(o, "mx", text_json(f->mx), err);
	put(o, "addr", text_json(f->addr), err);
	put(o, "summary", text_json(f->summary), err);
	put(o, "evidence", strv(&f->evidence, err), err);
	return o;
}

int
probe_json(FILE *fp, const struct probe_result *r)
{
	json_t *root, *ms, *fs;
	size_t i;
	int err = 0;

	root = object(&err);
	ms = array(&err);
	fs = array(&err);
	put(root, "schema", json_integer(PROBE_SCHEMA), &err);
	put(root, "domain", text_json(r->domain), &err);
	put(root, "started", jtime(r->started), &err);
	put(root, "finished", jtime(r->finished), &err);
	put(root, "duration_ms", r->finished >= r->started && r->started > 0 ?
	    json_integer((json_int_t)((r->finished - r->started) * 1000)) :
	    json_null(), &err);
	put(root, "grade", r->grade[0] != '\0' ? json_string(r->grade) :
	    json_null(), &err);
	put(root, "score", r->grade[0] != '\0' ? json_integer(r->score) :
	    json_null(), &err);
	put(root, "error", text_json(r->error), &err);
	put(root, "resolver", text_json(r->resolver), &err);
	put(root, "port", json_integer(r->port), &err);
	put(root, "mx_query", dnsq(&r->mx_q, &err), &err);
	put(root, "null_mx", json_boolean(r->null_mx), &err);
	put(root, "implicit_mx", json_boolean(r->implicit_mx), &err);
	put(root, "dnssec", jtri(r->dnssec), &err);
	put(root, "records", records(r, &err), &err);
	for (i = 0; i < r->nmx; i++)
		append(ms, mx(&r->mx[i], &err), &err);
	put(root, "mx", ms, &err);
	for (i = 0; i < r->nfindings; i++)
		append(fs, finding(&r->findings[i], &err), &err);
	put(root, "findings", fs, &err);
	/* ASCII: a terminal shown the JSON sees no C1 control either */
	if (!err && (json_dumpf(root, fp, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) == -1 ||
	    putc('\n', fp) == EOF))
		err = 1;
	json_decref(root);
	return err || fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
