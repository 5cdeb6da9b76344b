/*
 * A probe result as one self-contained HTML page: the report's style
 * (report_html_style()) and no script, a CSP in a <meta> that allows
 * nothing else; the grade, the domain's records, one section per MX
 * host and address, the findings with their evidence, and each
 * address's transcript.  Every string passes report_html_esc() (markup
 * as references, invalid UTF-8 as U+FFFD, controls as \xNN).
 * Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "report.h"

/* What the probe page adds to the report's style. */
static const char probe_style[] =
	".grade{font-size:2.4em;font-weight:700;margin:.1em 0}"
	".grade.good{color:var(--good)}.grade.improve{color:var(--improve)}"
	".grade.bad{color:var(--bad)}"
	"dl.f{display:grid;grid-template-columns:max-content 1fr;"
	"gap:.15em 1em;margin:.4em 0}"
	"dl.f dt{font-weight:600}dl.f dd{margin:0}"
	"pre{font-size:.85em;overflow-x:auto;background:var(--panel);"
	"padding:.5em;border-radius:.3em}";

/* Each severity: its badge class (the report's states) and word. */
static const struct {
	const char	*cls;
	const char	*symbol;
} sevs[] = {
	[PF_GOOD] = { "good", "\xe2\x9c\x93" },
	[PF_INFO] = { "note", "i" },
	[PF_WARN] = { "improve", "!" },
	[PF_BAD] = { "bad", "\xe2\x9c\x97" },
	[PF_CRITICAL] = { "bad", "\xe2\x9c\x97\xe2\x9c\x97" },
};

static void
esc(FILE *fp, const char *s)
{
	report_html_esc(fp, s != NULL ? s : "-");
}

static void
code(FILE *fp, const char *s)
{
	fputs("<code>", fp);
	esc(fp, s);
	fputs("</code>", fp);
}

static const char *
tri(enum probe_tri t)
{
	return probe_tri_name(t);
}

static void
put_time(FILE *fp, double t)
{
	char buf[32];
	struct tm tm;
	time_t s = (time_t)t;

	if (t == 0 || gmtime_r(&s, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		fputs("-", fp);
		return;
	}
	fprintf(fp, "<time datetime=\"%s\">%s</time>", buf, buf);
}

/* <dt>LABEL</dt><dd> ... the caller writes the value and dd_end(). */
static void
dt(FILE *fp, const char *label)
{
	fprintf(fp, "<dt>%s</dt><dd>", label);
}

static void
dd_end(FILE *fp)
{
	fputs("</dd>\n", fp);
}

/* A whole <dt><dd> of one escaped string. */
static void
row(FILE *fp, const char *label, const char *value)
{
	dt(fp, label);
	esc(fp, value);
	dd_end(fp);
}

static void
extensions(FILE *fp, unsigned int ext)
{
	const char *name;
	unsigned int bit;
	size_t i;
	int any = 0;

	for (i = 0; (name = probe_ext_name(i, &bit)) != NULL; i++) {
		if (!(ext & bit))
			continue;
		fprintf(fp, "%s%s", any ? " " : "", name);
		any = 1;
	}
	if (!any)
		fputs("none", fp);
}

static void
head(FILE *fp, const struct probe_result *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>mailscope probe ", fp);
	esc(fp, r->domain);
	fprintf(fp, "</title>\n<style>%s%s</style>\n</head>\n<body>\n",
	    report_html_style(), probe_style);
}

static void
grade(FILE *fp, const struct probe_result *r)
{
	const char *cls = "bad";
	size_t i, n;

	fputs("<header>\n<h1>mailscope probe ", fp);
	code(fp, r->domain);
	fputs("</h1>\n<p class=\"meta\">Started ", fp);
	put_time(fp, r->started);
	fprintf(fp, ", %.1f s, resolver ", r->finished > r->started ?
	    r->finished - r->started : 0.0);
	code(fp, r->resolver);
	fputs(".</p>\n</header>\n<section class=\"panel\">\n", fp);
	if (r->grade[0] == 'A')
		cls = "good";
	else if (r->grade[0] == 'B' || r->grade[0] == 'C')
		cls = "improve";
	if (r->grade[0] != '\0') {
		fprintf(fp, "<p class=\"grade %s\">Grade %s</p>\n<p class="
		    "\"score\">Score <b>%d</b>/100", cls, r->grade, r->score);
		/* what made it F whatever the score */
		for (i = 0, n = 0; i < r->nfindings; i++) {
			if (r->findings[i].severity != PF_CRITICAL)
				continue;
			fputs(n++ == 0 ? "; critical: " : ", ", fp);
			code(fp, r->findings[i].key);
		}
		fputs("</p>\n", fp);
	} else
		fprintf(fp, "<p class=\"grade\">No grade</p>\n<p>%s</p>\n",
		    r->null_mx ? "The domain has a null MX (RFC 7505): it "
		    "accepts no mail." : "The probe could not run.");
	if (r->error != NULL) {
		fputs("<p>Error: ", fp);
		code(fp, r->error);
		fputs("</p>\n", fp);
	}
	fputs("</section>\n", fp);
}

static void
domain(FILE *fp, const struct probe_result *r)
{
	const struct probe_sts *s = &r->sts;
	size_t i;

	fputs("<h2>Domain</h2>\n<dl class=\"f\">\n", fp);
	dt(fp, "MX");
	if (r->null_mx)
		fputs("null MX (RFC 7505)", fp);
	else if (r->implicit_mx)
		fputs("none: the domain's own address (RFC 5321 5.1)", fp);
	else if (r->nmx == 0) {
		fputs("none (", fp);
		esc(fp, r->mx_q.status);
		fputs(")", fp);
	}
	for (i = 0; i < r->nmx && !r->null_mx && !r->implicit_mx; i++) {
		fprintf(fp, "%s%d ", i > 0 ? ", " : "", r->mx[i].preference);
		code(fp, r->mx[i].name);
	}
	dd_end(fp);
	row(fp, "DNSSEC", tri(r->dnssec));
	dt(fp, "SPF");
	code(fp, r->spf.record);
	fprintf(fp, " (%d record%s, %d lookups)", r->spf.records,
	    r->spf.records == 1 ? "" : "s", r->spf.lookups);
	if (r->spf.error != NULL) {
		fputs(" error: ", fp);
		esc(fp, r->spf.error);
	}
	dd_end(fp);
	dt(fp, "DMARC");
	code(fp, r->dmarc.record);
	if (r->dmarc.error != NULL) {
		fputs(" error: ", fp);
		esc(fp, r->dmarc.error);
	}
	dd_end(fp);
	dt(fp, "MTA-STS");
	code(fp, s->txt);
	if (s->txt_error != NULL) {
		fputs(" error: ", fp);
		esc(fp, s->txt_error);
	}
	fprintf(fp, "; policy %s, mode ", s->fetched ? "fetched" :
	    "not fetched");
	esc(fp, s->mode);
	fprintf(fp, ", max_age %ld, HTTPS certificate valid %s", s->max_age,
	    tri(s->cert_valid));
	if (s->http_status != 0)
		fprintf(fp, ", HTTP %d", s->http_status);
	if (s->fetch_error != NULL) {
		fputs("; ", fp);
		esc(fp, s->fetch_error);
	}
	for (i = 0; i < s->mx.n; i++) {
		fputs(i == 0 ? "; mx " : " ", fp);
		code(fp, s->mx.v[i]);
	}
	if (s->policy != NULL) {
		fputs("<pre>", fp);
		esc(fp, s->policy);
		fputs("</pre>", fp);
	}
	dd_end(fp);
	dt(fp, "TLS-RPT");
	code(fp, r->tlsrpt.record);
	if (r->tlsrpt.error != NULL) {
		fputs(" error: ", fp);
		esc(fp, r->tlsrpt.error);
	}
	dd_end(fp);
	fputs("</dl>\n", fp);
}

static void
tls(FILE *fp, const struct probe_mx *mx, const struct probe_addr *a)
{
	const struct probe_cert *c;
	size_t i, k;

	dt(fp, "TLS");
	if (a->tls) {
		esc(fp, a->tls_version);
		fputs(" ", fp);
		esc(fp, a->tls_cipher);
		fputs(" ", fp);
		esc(fp, a->tls_group);
	} else {
		fputs("none", fp);
		if (a->tls_error != NULL) {
			fputs(": ", fp);
			esc(fp, a->tls_error);
		}
	}
	dd_end(fp);
	if (!a->tls)
		return;
	dt(fp, "versions");
	for (i = 0; i < PROBE_NVERSIONS; i++) {
		fprintf(fp, "%s%s %s", i > 0 ? ", " : "",
		    probe_tlsv_name((enum probe_tlsv)i),
		    tri(a->versions[i].accepted));
	}
	dd_end(fp);
	dt(fp, "weak suites");
	for (i = 0; i < PROBE_NWEAK; i++) {
		fprintf(fp, "%s%s %s", i > 0 ? ", " : "",
		    probe_weak_name((enum probe_weak)i),
		    tri(a->weak[i].accepted));
		if (a->weak[i].accepted == PT_YES && a->weak[i].detail) {
			fputs(" (", fp);
			esc(fp, a->weak[i].detail);
			fputs(")", fp);
		}
	}
	dd_end(fp);
	for (i = 0; i < a->nchain && i < PROBE_CHAIN_MAX; i++) {
		c = &a->chain[i];
		fprintf(fp, "<dt>certificate %zu</dt><dd>subject ", i);
		code(fp, c->subject);
		for (k = 0; k < c->san.n; k++) {
			fputs(k == 0 ? "<br>SAN " : " ", fp);
			code(fp, c->san.v[k]);
		}
		fputs("<br>issuer ", fp);
		code(fp, c->issuer);
		fputs("<br>key ", fp);
		esc(fp, c->key_type);
		fprintf(fp, " %d bits", c->key_bits);
		if (c->curve != NULL) {
			fputs(" ", fp);
			esc(fp, c->curve);
		}
		fputs(", signature ", fp);
		esc(fp, c->sig_alg);
		fputs("<br>valid ", fp);
		put_time(fp, (double)c->not_before);
		fputs(" to ", fp);
		put_time(fp, (double)c->not_after);
		fputs(c->self_signed ? ", self-signed" : "", fp);
		fputs("<br>SHA-1 ", fp);
		code(fp, c->sha1);
		fputs("<br>SHA-256 ", fp);
		code(fp, c->sha256);
		fputs("<br>SPKI SHA-256 ", fp);
		code(fp, c->spki_sha256);
		dd_end(fp);
	}
	dt(fp, "validation");
	fprintf(fp, "chain %s", tri(a->chain_valid));
	if (a->chain_error != NULL) {
		fputs(" (", fp);
		esc(fp, a->chain_error);
		fputs(")", fp);
	}
	fprintf(fp, ", name %s ", tri(a->name_match));
	code(fp, mx->name);
	fprintf(fp, ", DANE %s", probe_dane_name(a->dane));
	dd_end(fp);
}

static void
address(FILE *fp, const struct probe_mx *mx, const struct probe_addr *a)
{
	size_t i;

	fputs("<h3>", fp);
	code(fp, a->addr);
	fprintf(fp, " (IPv%d)</h3>\n<dl class=\"f\">\n", a->family);
	if (a->stop == PSTOP_NOT_TRIED) {
		row(fp, "not probed", a->stop_detail);
		fputs("</dl>\n", fp);
		return;
	}
	dt(fp, "PTR");
	code(fp, a->ptr);
	fprintf(fp, " (FCrDNS %s)", tri(a->fcrdns));
	dd_end(fp);
	dt(fp, "connect");
	if (a->connect_ms >= 0)
		fprintf(fp, "%.1f ms; ", a->connect_ms);
	fprintf(fp, "stopped at %s", probe_stop_name(a->stop));
	if (a->stop_detail != NULL) {
		fputs(": ", fp);
		esc(fp, a->stop_detail);
	}
	dd_end(fp);
	if (a->banner_code != 0) {
		dt(fp, "banner");
		fprintf(fp, "%d ", a->banner_code);
		code(fp, a->banner);
		dd_end(fp);
	}
	if (a->ehlo_code != 0) {
		dt(fp, "EHLO");
		fprintf(fp, "%d: ", a->ehlo_code);
		extensions(fp, a->ext);
		if (a->size_limit >= 0)
			fprintf(fp, " (SIZE %lld)", a->size_limit);
		dd_end(fp);
	}
	dt(fp, "STARTTLS");
	if (a->starttls_code != 0)
		fprintf(fp, "%d", a->starttls_code);
	else
		fputs(a->ext & PX_STARTTLS ? "not sent" : "not offered", fp);
	dd_end(fp);
	tls(fp, mx, a);
	if (a->tls) {
		dt(fp, "EHLO after TLS");
		extensions(fp, a->ext_tls);
		dd_end(fp);
	}
	if (a->mail_code != 0) {
		dt(fp, "policy");
		fprintf(fp, "MAIL %d, RCPT postmaster %d, abuse %d, random %d, "
		    "relay %d; SPF -all sender: MAIL %d, RCPT %d<br>open relay "
		    "%s, recipient filtering %s, greylisting %s, SPF checked "
		    "%s", a->mail_code, a->rcpt_postmaster, a->rcpt_abuse,
		    a->rcpt_random, a->rcpt_relay, a->spf_mail_code,
		    a->spf_rcpt_code, tri(a->open_relay),
		    tri(a->recipient_filtering), tri(a->greylisting),
		    tri(a->spf_checked));
		dd_end(fp);
	}
	fputs("</dl>\n", fp);
	if (a->transcript.n > 0) {
		fputs("<details><summary>Transcript</summary><pre>", fp);
		for (i = 0; i < a->transcript.n; i++) {
			esc(fp, a->transcript.v[i]);
			fputs("\n", fp);
		}
		fputs("</pre></details>\n", fp);
	}
}

static void
mx_host(FILE *fp, const struct probe_mx *mx)
{
	size_t i;

	fprintf(fp, "<h2>MX %d ", mx->preference);
	code(fp, mx->name);
	fputs("</h2>\n<dl class=\"f\">\n", fp);
	dt(fp, "TLSA");
	fprintf(fp, "%zu record%s", mx->ntlsa, mx->ntlsa == 1 ? "" : "s");
	if (mx->ntlsa > 0)
		fputs(mx->tlsa_q.ad ? " (DNSSEC-validated)" :
		    " (not validated)", fp);
	for (i = 0; i < mx->ntlsa; i++) {
		fprintf(fp, "<br><code>%d %d %d ", mx->tlsa[i].usage,
		    mx->tlsa[i].selector, mx->tlsa[i].mtype);
		esc(fp, mx->tlsa[i].data);
		fputs("</code>", fp);
	}
	dd_end(fp);
	row(fp, "MTA-STS match", tri(mx->sts_match));
	if (mx->naddrs == 0) {
		dt(fp, "addresses");
		fputs("none (A ", fp);
		esc(fp, mx->a_q.status);
		fputs(", AAAA ", fp);
		esc(fp, mx->aaaa_q.status);
		fputs(")", fp);
		dd_end(fp);
	}
	fputs("</dl>\n", fp);
	for (i = 0; i < mx->naddrs; i++)
		address(fp, mx, &mx->addrs[i]);
}

static void
finding(FILE *fp, const struct probe_finding *f)
{
	size_t i;

	fprintf(fp, "<div class=\"v %s\"><p><span class=\"badge %s\">"
	    "<span aria-hidden=\"true\">%s </span>%s</span>",
	    sevs[f->severity].cls, sevs[f->severity].cls,
	    sevs[f->severity].symbol, probe_sev_name(f->severity));
	code(fp, f->key);
	if (f->mx != NULL || f->addr != NULL) {
		fputs(" on ", fp);
		code(fp, f->mx);
		if (f->addr != NULL) {
			fputs(" ", fp);
			code(fp, f->addr);
		}
	}
	fputs("</p>\n<p>", fp);
	esc(fp, f->summary);
	fputs("</p>\n", fp);
	if (f->evidence.n > 0) {
		fputs("<ul class=\"ev\">", fp);
		for (i = 0; i < f->evidence.n; i++) {
			fputs("<li><code>", fp);
			esc(fp, f->evidence.v[i]);
			fputs("</code></li>", fp);
		}
		fputs("</ul>\n", fp);
	}
	fputs("</div>\n", fp);
}

int
probe_html(FILE *fp, const struct probe_result *r)
{
	size_t i;
	int s;

	head(fp, r);
	grade(fp, r);
	fputs("<main>\n<h2>Findings</h2>\n", fp);
	if (r->nfindings == 0)
		fputs("<p>None.</p>\n", fp);
	/* most severe first, in the order found within a severity */
	for (s = PF_CRITICAL; s >= PF_GOOD; s--)
		for (i = 0; i < r->nfindings; i++)
			if ((int)r->findings[i].severity == s)
				finding(fp, &r->findings[i]);
	if (r->error == NULL) {
		domain(fp, r);
		for (i = 0; i < r->nmx; i++)
			mx_host(fp, &r->mx[i]);
	}
	fputs("</main>\n</body>\n</html>\n", fp);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
