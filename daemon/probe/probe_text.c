/*
 * A probe result as text for a terminal: the grade on top, the domain's
 * records, one section per MX host and address with its checks, then
 * the findings, most severe first, each with its evidence.  Lines of at
 * most WIDTH code points; every string a server or a zone controls is
 * shown escaped by termout (\xNN).  Colours only when asked.
 * Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "probe.h"
#include "termout.h"

#define WIDTH		100	/* code points a line */
#define LABEL_COLS	13	/* "certificate" */
#define ADDR_INDENT	2
#define FIELD_INDENT	4
#define VALUE_COL	(FIELD_INDENT + LABEL_COLS)
#define EVIDENCE_COL	6
#define LINE_MAX	2048	/* a value built of several fields */

static const struct {
	const char	*symbol;
	const char	*sgr;
} sevs[] = {
	[PF_GOOD] = { "\xe2\x9c\x93", "32" },		/* U+2713, green */
	[PF_INFO] = { "i", "36" },			/* cyan */
	[PF_WARN] = { "!", "33" },			/* yellow */
	[PF_BAD] = { "\xe2\x9c\x97", "31" },		/* U+2717, red */
	[PF_CRITICAL] = { "\xe2\x9c\x97", "1;31" },	/* bold red */
};

static const char *
str(const char *s)
{
	return s != NULL ? s : "-";
}

static const char *
tri(enum probe_tri t)
{
	return probe_tri_name(t);
}

/* The grade's colour: green, yellow, red. */
static const char *
grade_sgr(const char *g)
{
	if (g[0] == 'A')
		return "1;32";
	if (g[0] == 'B' || g[0] == 'C')
		return "1;33";
	return "1;31";
}

/* "LABEL  value", the value escaped and wrapped under itself. */
static void
field(struct termout *o, const char *label, const char *value)
{
	termout_cell(o, NULL, FIELD_INDENT);
	termout_cell(o, label, LABEL_COLS);
	termout_text(o, value, VALUE_COL, 0);
	termout_newline(o, 0);
}

/* A field whose value is formatted first (then escaped as a whole). */
static void
fieldf(struct termout *o, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fieldf(struct termout *o, const char *label, const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	field(o, label, line);
}

static void
extensions(unsigned int ext, char *buf, size_t len)
{
	const char *name;
	unsigned int bit;
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; (name = probe_ext_name(i, &bit)) != NULL; i++) {
		if (!(ext & bit))
			continue;
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    n > 0 ? " " : "", name);
	}
	if (n == 0)
		snprintf(buf, len, "none");
}

static void
header(struct termout *o, const struct probe_result *r)
{
	char when[CLOCK_ISO_MAX], line[256];
	size_t i, n;

	termout_sgr(o, SGR_BOLD);
	termout_raw(o, "mailscope probe ");
	termout_fit(o, str(r->domain), strlen(str(r->domain)), WIDTH);
	termout_sgr(o, SGR_RESET);
	termout_newline(o, 2);
	clock_iso(r->started, when, sizeof(when));
	if (snprintf(line, sizeof(line), "%s, %.1f s, resolver ", when,
	    r->finished > r->started ? r->finished - r->started : 0.0) < 0)
		line[0] = '\0';
	termout_raw(o, line);
	termout_fit(o, str(r->resolver), strlen(str(r->resolver)), WIDTH);
	termout_newline(o, 0);
	termout_newline(o, 0);
	if (r->grade[0] != '\0') {
		termout_sgr(o, grade_sgr(r->grade));
		if (snprintf(line, sizeof(line), "Grade: %s", r->grade) < 0)
			line[0] = '\0';
		termout_raw(o, line);
		termout_sgr(o, SGR_RESET);
		if (snprintf(line, sizeof(line), "  (score %d/100",
		    r->score) < 0)
			line[0] = '\0';
		termout_raw(o, line);
		/* what made it F whatever the score */
		for (i = 0, n = 0; i < r->nfindings; i++) {
			if (r->findings[i].severity != PF_CRITICAL)
				continue;
			termout_raw(o, n++ == 0 ? "; critical: " : ", ");
			termout_text(o, r->findings[i].key, 2, 0);
		}
		termout_raw(o, ")");
	} else {
		termout_sgr(o, SGR_BOLD);
		termout_raw(o, "Grade: none");
		termout_sgr(o, SGR_RESET);
		termout_raw(o, r->null_mx ? "  (null MX: the domain accepts "
		    "no mail)" : "  (the probe could not run)");
	}
	termout_newline(o, 0);
	if (r->error != NULL) {
		termout_raw(o, "  error: ");
		termout_text(o, r->error, 9, 0);
		termout_newline(o, 0);
	}
}

static void
domain(struct termout *o, const struct probe_result *r)
{
	const struct probe_sts *s = &r->sts;
	char line[LINE_MAX];
	size_t i, n = 0;

	termout_newline(o, 0);
	termout_sgr(o, SGR_BOLD);
	termout_raw(o, "Domain");
	termout_sgr(o, SGR_RESET);
	termout_newline(o, 0);
	line[0] = '\0';
	if (r->null_mx)
		snprintf(line, sizeof(line), "null MX (RFC 7505)");
	else if (r->implicit_mx)
		snprintf(line, sizeof(line), "none: the domain's own address "
		    "(RFC 5321 5.1)");
	for (i = 0; i < r->nmx && !r->null_mx && !r->implicit_mx; i++)
		if (n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "%s%d %s", i > 0 ? ", " : "", r->mx[i].preference,
			    str(r->mx[i].name));
	if (line[0] == '\0')
		snprintf(line, sizeof(line), "none (%s)", str(r->mx_q.status));
	field(o, "MX", line);
	field(o, "DNSSEC", tri(r->dnssec));
	if (r->spf.record == NULL)
		field(o, "SPF", "none");
	else
		fieldf(o, "SPF", "%s (%d record%s, %d lookups%s%s)",
		    r->spf.record, r->spf.records, r->spf.records == 1 ? "" :
		    "s", r->spf.lookups, r->spf.error != NULL ? "; " : "",
		    r->spf.error != NULL ? r->spf.error : "");
	if (r->dmarc.record == NULL)
		fieldf(o, "DMARC", "none%s%s", r->dmarc.error != NULL ? ": " :
		    "", r->dmarc.error != NULL ? r->dmarc.error : "");
	else
		fieldf(o, "DMARC", "%s%s%s%s", r->dmarc.record,
		    r->dmarc.org_domain != NULL ? " (the record of " : "",
		    r->dmarc.org_domain != NULL ? r->dmarc.org_domain : "",
		    r->dmarc.org_domain != NULL ? ")" : "");
	if (s->txt == NULL)
		fieldf(o, "MTA-STS", "none%s%s", s->txt_error != NULL ? ": " :
		    "", s->txt_error != NULL ? s->txt_error : "");
	else {
		n = 0;
		line[0] = '\0';
		for (i = 0; i < s->mx.n; i++)
			if (n < sizeof(line))
				n += (size_t)snprintf(line + n,
				    sizeof(line) - n, "%s%s", i > 0 ? " " : "",
				    s->mx.v[i]);
		fieldf(o, "MTA-STS", "%s; policy %s, mode %s, max_age %ld, "
		    "mx %s; HTTPS certificate valid %s%s%s", s->txt,
		    s->fetched ? "fetched" : "not fetched", str(s->mode),
		    s->max_age, line[0] != '\0' ? line : "-",
		    tri(s->cert_valid), s->fetch_error != NULL ? "; " : "",
		    s->fetch_error != NULL ? s->fetch_error : "");
	}
	if (r->tlsrpt.record == NULL)
		fieldf(o, "TLS-RPT", "none%s%s", r->tlsrpt.error != NULL ?
		    ": " : "", r->tlsrpt.error != NULL ? r->tlsrpt.error : "");
	else
		field(o, "TLS-RPT", r->tlsrpt.record);
}

static void
tls(struct termout *o, const struct probe_mx *mx, const struct probe_addr *a)
{
	const struct probe_cert *c = &a->chain[0];
	char nb[CLOCK_ISO_MAX], na[CLOCK_ISO_MAX], line[LINE_MAX];
	size_t i, n;

	if (!a->tls) {
		if (a->starttls_code != 0 || a->tls_error != NULL)
			fieldf(o, "TLS", "failed: %s", str(a->tls_error));
		return;
	}
	fieldf(o, "TLS", "%s %s %s", str(a->tls_version), str(a->tls_cipher),
	    str(a->tls_group));
	for (i = 0, n = 0; i < PROBE_NVERSIONS && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %s",
		    i > 0 ? ", " : "", probe_tlsv_name((enum probe_tlsv)i),
		    tri(a->versions[i].accepted));
	field(o, "versions", line);
	line[0] = '\0';
	for (i = 0, n = 0; i < PROBE_NWEAK && n < sizeof(line); i++)
		if (a->weak[i].accepted == PT_YES)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "%s%s", n > 0 ? " " : "",
			    probe_weak_name((enum probe_weak)i));
	fieldf(o, "weak suites", "%s accepted", line[0] != '\0' ? line :
	    "none");
	if (a->nchain > 0) {
		clock_iso((double)c->not_before, nb, sizeof(nb));
		clock_iso((double)c->not_after, na, sizeof(na));
		fieldf(o, "certificate", "CN %s, %s %d bits%s%s, %s, %s to %s",
		    str(c->subject_cn), str(c->key_type), c->key_bits,
		    c->curve != NULL ? " " : "", c->curve != NULL ? c->curve :
		    "", str(c->sig_alg), nb, na);
		for (i = 0, n = 0; i < c->san.n && n < sizeof(line); i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "%s%s", i > 0 ? " " : "", c->san.v[i]);
		if (c->san.n > 0)
			fieldf(o, "", "SAN %s", line);
		fieldf(o, "", "issuer %s", str(c->issuer));
		fieldf(o, "", "SHA-256 %s", str(c->sha256));
	}
	fieldf(o, "validation", "chain %s%s%s%s, name %s %s, %zu in chain",
	    tri(a->chain_valid), a->chain_error != NULL ? " (" : "",
	    a->chain_error != NULL ? a->chain_error : "",
	    a->chain_error != NULL ? ")" : "", tri(a->name_match),
	    str(mx->name), a->nchain);
	fieldf(o, "DANE", "%s", probe_dane_name(a->dane));
}

static void
address(struct termout *o, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	char line[LINE_MAX];

	termout_cell(o, NULL, ADDR_INDENT);
	termout_sgr(o, SGR_BOLD);
	termout_fit(o, str(a->addr), strlen(str(a->addr)), WIDTH);
	termout_sgr(o, SGR_RESET);
	termout_raw(o, a->family == 6 ? " (IPv6)" : " (IPv4)");
	termout_newline(o, 0);
	if (a->stop == PSTOP_NOT_TRIED) {
		field(o, "not probed", str(a->stop_detail));
		return;
	}
	fieldf(o, "PTR", "%s (FCrDNS %s)", a->ptr != NULL ? a->ptr : "none",
	    tri(a->fcrdns));
	if (a->connect_ms >= 0)
		fieldf(o, "connect", "%.1f ms; stopped at %s%s%s",
		    a->connect_ms, probe_stop_name(a->stop),
		    a->stop_detail != NULL ? ": " : "",
		    a->stop_detail != NULL ? a->stop_detail : "");
	else
		fieldf(o, "connect", "failed: %s", str(a->stop_detail));
	if (a->banner_code != 0)
		fieldf(o, "banner", "%d %s", a->banner_code, str(a->banner));
	if (a->ehlo_code != 0) {
		extensions(a->ext, line, sizeof(line));
		fieldf(o, "EHLO", "%d: %s", a->ehlo_code, line);
		if (a->size_limit >= 0)
			fieldf(o, "", "SIZE %lld", a->size_limit);
	}
	if (a->starttls_code != 0)
		fieldf(o, "STARTTLS", "%d", a->starttls_code);
	else if (a->ehlo_code != 0)
		field(o, "STARTTLS", (a->ext & PX_STARTTLS) ? "not sent" :
		    "not offered");
	tls(o, mx, a);
	if (a->tls && a->ext_tls != 0) {
		extensions(a->ext_tls, line, sizeof(line));
		fieldf(o, "EHLO (TLS)", "%s", line);
	}
	if (a->mail_code != 0) {
		fieldf(o, "policy", "MAIL %d, RCPT postmaster %d, abuse %d, "
		    "random %d, relay %d; SPF -all sender: MAIL %d, RCPT %d",
		    a->mail_code, a->rcpt_postmaster, a->rcpt_abuse,
		    a->rcpt_random, a->rcpt_relay, a->spf_mail_code,
		    a->spf_rcpt_code);
		fieldf(o, "", "open relay %s, recipient filtering %s, "
		    "greylisting %s, SPF checked %s", tri(a->open_relay),
		    tri(a->recipient_filtering), tri(a->greylisting),
		    tri(a->spf_checked));
	}
}

static void
mx_host(struct termout *o, const struct probe_mx *mx)
{
	char line[LINE_MAX];
	size_t i;

	termout_newline(o, 0);
	termout_sgr(o, SGR_BOLD);
	if (snprintf(line, sizeof(line), "MX %d ", mx->preference) < 0)
		line[0] = '\0';
	termout_raw(o, line);
	termout_fit(o, str(mx->name), strlen(str(mx->name)), WIDTH);
	termout_sgr(o, SGR_RESET);
	termout_newline(o, 0);
	fieldf(o, "TLSA", "%zu record%s%s, MTA-STS match %s", mx->ntlsa,
	    mx->ntlsa == 1 ? "" : "s", mx->ntlsa > 0 ? (mx->tlsa_q.ad ?
	    " (DNSSEC-validated)" : " (not validated)") : "",
	    tri(mx->sts_match));
	for (i = 0; i < mx->ntlsa; i++)
		fieldf(o, "", "%d %d %d %s", mx->tlsa[i].usage,
		    mx->tlsa[i].selector, mx->tlsa[i].mtype,
		    str(mx->tlsa[i].data));
	if (mx->naddrs == 0)
		fieldf(o, "addresses", "none (A %s, AAAA %s)",
		    str(mx->a_q.status), str(mx->aaaa_q.status));
	for (i = 0; i < mx->naddrs; i++)
		address(o, mx, &mx->addrs[i]);
}

static void
finding(struct termout *o, const struct probe_finding *f)
{
	char where[LINE_MAX];
	size_t i;

	termout_cell(o, NULL, 2);
	termout_sgr(o, sevs[f->severity].sgr);
	termout_raw(o, sevs[f->severity].symbol);
	termout_sgr(o, SGR_RESET);
	termout_raw(o, " ");
	termout_fit(o, f->key, strlen(f->key), WIDTH);
	termout_raw(o, " ");
	termout_raw(o, probe_sev_name(f->severity));
	if (f->mx != NULL || f->addr != NULL) {
		if (snprintf(where, sizeof(where), " [%s%s%s]", str(f->mx),
		    f->addr != NULL ? " " : "", f->addr != NULL ? f->addr :
		    "") < 0)
			where[0] = '\0';
		termout_text(o, where, EVIDENCE_COL, 0);
	}
	termout_newline(o, EVIDENCE_COL - 2);
	termout_text(o, str(f->summary), EVIDENCE_COL - 2, 0);
	termout_newline(o, 0);
	/* what is done right needs no proof here (JSON and HTML have it) */
	for (i = 0; f->severity != PF_GOOD && i < f->evidence.n; i++) {
		termout_cell(o, NULL, EVIDENCE_COL);
		termout_raw(o, "| ");
		termout_text(o, f->evidence.v[i], EVIDENCE_COL + 2, 0);
		termout_newline(o, 0);
	}
}

int
probe_text(FILE *fp, const struct probe_result *r, int color)
{
	struct termout o = { fp, color, 0, WIDTH };
	size_t i;
	int s;

	header(&o, r);
	if (r->error == NULL) {
		domain(&o, r);
		for (i = 0; i < r->nmx; i++)
			mx_host(&o, &r->mx[i]);
	}
	termout_newline(&o, 0);
	termout_sgr(&o, SGR_BOLD);
	termout_raw(&o, "Findings");
	termout_sgr(&o, SGR_RESET);
	termout_newline(&o, 0);
	if (r->nfindings == 0) {
		termout_raw(&o, "  none");
		termout_newline(&o, 0);
	}
	/* most severe first, in the order found within a severity */
	for (s = PF_CRITICAL; s >= PF_GOOD; s--)
		for (i = 0; i < r->nfindings; i++)
			if ((int)r->findings[i].severity == s)
				finding(&o, &r->findings[i]);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
