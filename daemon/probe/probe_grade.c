/*
 * The findings and the grade of a probe result: every finding computed
 * from the facts the other steps filled, each with its evidence copied
 * from them, then the score and the grade.  docs/probe.md states the
 * rule and lists every key; keep the three (table, code, document) in
 * step.  Pure; runs in the tool after the network steps.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "clock.h"
#include "probe.h"

/*
 * Every key, its severity and the points it takes from the score (once
 * per probe, whatever the number of addresses it holds for).  GOOD keys
 * that are bonuses are in grade_bonus(), not here.  Most severe first
 * within each group; docs/probe.md has the same table.
 */
static const struct grade_rule {
	const char	*key;
	enum probe_sev	 severity;
	int		 points;
} rules[] = {
	/* the domain's MX */
	{ "null_mx", PF_INFO, 0 },
	{ "no_mx", PF_CRITICAL, 0 },
	{ "implicit_mx", PF_WARN, 5 },
	/* reaching the addresses */
	{ "no_reachable_mx", PF_CRITICAL, 0 },
	{ "mx_unreachable", PF_BAD, 15 },
	{ "banner_refused", PF_BAD, 10 },
	{ "ehlo_refused", PF_BAD, 10 },
	{ "smtp_protocol_error", PF_BAD, 10 },
	{ "smtp_timeout", PF_WARN, 5 },
	/* STARTTLS and the handshake */
	{ "no_starttls", PF_CRITICAL, 0 },
	{ "no_tls", PF_CRITICAL, 0 },
	{ "starttls_missing", PF_BAD, 30 },
	{ "starttls_refused", PF_BAD, 30 },
	{ "tls_handshake_failed", PF_BAD, 30 },
	{ "tls_version_old", PF_BAD, 20 },
	{ "tls10_accepted", PF_WARN, 5 },
	{ "tls11_accepted", PF_WARN, 5 },
	{ "tls_cbc_negotiated", PF_WARN, 5 },
	{ "tls13_supported", PF_GOOD, 0 },
	{ "weak_null", PF_BAD, 20 },
	{ "weak_export", PF_BAD, 20 },
	{ "weak_rc4", PF_BAD, 10 },
	{ "weak_3des", PF_WARN, 5 },
	{ "weak_no_pfs", PF_WARN, 3 },
	{ "weak_cbc_only", PF_INFO, 0 },
	/* the certificate of the main handshake */
	{ "cert_expired", PF_BAD, 20 },
	{ "cert_not_yet_valid", PF_BAD, 20 },
	{ "cert_self_signed", PF_BAD, 15 },
	{ "cert_chain_invalid", PF_BAD, 15 },
	{ "cert_name_mismatch", PF_BAD, 15 },
	{ "cert_weak_key", PF_BAD, 10 },
	{ "cert_sha1", PF_WARN, 5 },
	{ "cert_expires_soon", PF_WARN, 2 },
	{ "cert_valid", PF_GOOD, 0 },
	/* reverse DNS */
	{ "ptr_missing", PF_WARN, 5 },
	{ "fcrdns_failed", PF_WARN, 5 },
	{ "banner_name_mismatch", PF_INFO, 1 },
	/* MTA-STS (RFC 8461) */
	{ "mta_sts_cert_invalid", PF_BAD, 10 },
	{ "mta_sts_mismatch", PF_BAD, 10 },
	{ "mta_sts_fetch_failed", PF_BAD, 10 },
	{ "mta_sts_invalid", PF_WARN, 3 },
	{ "mta_sts_missing", PF_INFO, 0 },
	{ "mta_sts_none", PF_INFO, 0 },
	{ "mta_sts_testing", PF_GOOD, 0 },
	{ "mta_sts_enforce", PF_GOOD, 0 },
	/* DANE (RFC 7672) */
	{ "dane_nomatch", PF_BAD, 25 },
	{ "dane_unvalidated", PF_WARN, 3 },
	{ "dane_match", PF_GOOD, 0 },
	{ "dnssec_unsigned", PF_INFO, 0 },
	/* policy behaviour */
	{ "open_relay", PF_CRITICAL, 0 },
	{ "no_recipient_filtering", PF_WARN, 5 },
	{ "postmaster_rejected", PF_WARN, 2 },
	{ "abuse_rejected", PF_INFO, 0 },
	{ "greylisting", PF_INFO, 0 },
	{ "spf_not_checked", PF_INFO, 0 },
	{ "recipient_filtering", PF_GOOD, 0 },
	{ "spf_checked", PF_GOOD, 0 },
	/* the domain's records */
	{ "spf_missing", PF_WARN, 3 },
	{ "spf_multiple", PF_WARN, 3 },
	{ "spf_invalid", PF_WARN, 3 },
	{ "spf_too_many_lookups", PF_WARN, 3 },
	{ "spf_pass_all", PF_WARN, 3 },
	{ "dmarc_missing", PF_WARN, 3 },
	{ "dmarc_invalid", PF_WARN, 3 },
	{ "dmarc_none", PF_INFO, 1 },
	{ "dmarc_enforced", PF_GOOD, 0 },
	{ "tlsrpt_invalid", PF_INFO, 1 },
	{ "tlsrpt_missing", PF_INFO, 1 },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

/* Bonuses, added before the score is cut to 100 (docs/probe.md). */
#define BONUS_STS_ENFORCE	5
#define BONUS_STS_TESTING	2
#define BONUS_DANE		5

/* The grades' lower bounds; below the last, F. */
static const struct {
	const char	*grade;
	int		 min;
} grades[] = {
	{ "A+", 95 },	/* and MTA-STS enforce or DANE, and no WARN */
	{ "A", 85 },
	{ "B", 70 },
	{ "C", 55 },
	{ "D", 40 },
};
#define NGRADES		(sizeof(grades) / sizeof(grades[0]))
#define CRITICAL_MAX	39	/* the most a probe with a critical scores */

#define MIN_RSA_BITS	2048
#define MIN_EC_BITS	256
#define SOON_SECONDS	(14 * 86400)	/* cert_expires_soon */
#define SPF_LOOKUPS_MAX	10		/* RFC 7208 4.6.4 */

static const struct grade_rule *
rule(const char *key)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rules[i].key, key) == 0)
			return &rules[i];
	return NULL;
}

/* The state of one grading: R's, and an out-of-memory latch. */
struct grade {
	struct probe_result	*r;
	int			 err;
};

/* A finding of KEY (which must be in rules[]); NULL when out of memory. */
static struct probe_finding *
add(struct grade *g, const char *key, const char *mx, const char *addr,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static struct probe_finding *
add(struct grade *g, const char *key, const char *mx, const char *addr,
    const char *fmt, ...)
{
	const struct grade_rule *ru = rule(key);
	struct probe_finding *f;
	char summary[PROBE_TEXT_MAX];
	va_list ap;

	if (ru == NULL)
		abort();	/* our own table lacks the key */
	va_start(ap, fmt);
	if (vsnprintf(summary, sizeof(summary), fmt, ap) < 0)
		summary[0] = '\0';
	va_end(ap);
	if ((f = probe_finding_add(g->r, key, ru->severity, mx, addr, "%s",
	    summary)) == NULL)
		g->err = 1;
	return f;
}

/* One evidence line of F (NULL: the finding failed); bounded. */
static void
ev(struct grade *g, struct probe_finding *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ev(struct grade *g, struct probe_finding *f, const char *fmt, ...)
{
	char line[PROBE_TEXT_MAX];
	va_list ap;

	if (f == NULL || f->evidence.n >= PROBE_EVIDENCE_MAX)
		return;
	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	if (probe_strv_add(&f->evidence, line) == -1)
		g->err = 1;
}

static const char *
str(const char *s)
{
	return s != NULL ? s : "(none)";
}

/* TEXT line by line as evidence, each line after PREFIX. */
static void
ev_lines(struct grade *g, struct probe_finding *f, const char *prefix,
    const char *text)
{
	const char *p = text, *nl;
	size_t n;

	if (text == NULL) {
		ev(g, f, "%s(none)", prefix);
		return;
	}
	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		/* RFC 8461 3.2: lines end in CRLF or LF */
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > PROBE_TEXT_MAX)
			n = PROBE_TEXT_MAX;
		ev(g, f, "%s%.*s", prefix, (int)n, p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* A DNS question and its answers as evidence. */
static void
ev_dnsq(struct grade *g, struct probe_finding *f, const struct probe_dnsq *q)
{
	size_t i;

	if (q->name == NULL)
		return;
	ev(g, f, "DNS %s %s: %s%s", q->name, str(q->type), str(q->status),
	    q->ad ? " (AD)" : "");
	for (i = 0; i < q->answers.n; i++)
		ev(g, f, "  %s", q->answers.v[i]);
}

/*
 * Transcript lines of A as evidence: each client line that holds NEEDLE
 * (case-insensitive) and the server lines after it; with NEEDLE NULL,
 * the server lines before the first client line (the banner).
 */
static void
ev_transcript(struct grade *g, struct probe_finding *f,
    const struct probe_addr *a, const char *needle)
{
	size_t i;
	int on = needle == NULL;
	const char *l;

	for (i = 0; i < a->transcript.n; i++) {
		l = a->transcript.v[i];
		if (strncmp(l, "C:", 2) == 0)
			on = needle != NULL && strcasestr(l, needle) != NULL;
		if (on)
			ev(g, f, "%s", l);
		if (needle == NULL && strncmp(l, "C:", 2) == 0)
			break;
	}
}

/*
 * The dialogue of A from the client line holding NEEDLE to the next RSET
 * or QUIT, as evidence.
 */
static void
ev_dialogue(struct grade *g, struct probe_finding *f,
    const struct probe_addr *a, const char *needle)
{
	size_t i;
	int on = 0;
	const char *l;

	for (i = 0; i < a->transcript.n; i++) {
		l = a->transcript.v[i];
		if (!on && strncmp(l, "C:", 2) == 0 && strstr(l, needle) != NULL)
			on = 1;
		else if (on && (strncasecmp(l, "C: RSET", 7) == 0 ||
		    strncasecmp(l, "C: QUIT", 7) == 0))
			return;
		if (on)
			ev(g, f, "%s", l);
	}
}

/* The leaf certificate's fields as evidence. */
static void
ev_cert(struct grade *g, struct probe_finding *f, const struct probe_cert *c)
{
	char nb[CLOCK_ISO_MAX], na[CLOCK_ISO_MAX];
	size_t i;

	clock_iso((double)c->not_before, nb, sizeof(nb));
	clock_iso((double)c->not_after, na, sizeof(na));
	ev(g, f, "subject: %s", str(c->subject));
	for (i = 0; i < c->san.n; i++)
		ev(g, f, "SAN: %s", c->san.v[i]);
	ev(g, f, "issuer: %s", str(c->issuer));
	ev(g, f, "key: %s %d bits%s%s", str(c->key_type), c->key_bits,
	    c->curve != NULL ? " " : "", c->curve != NULL ? c->curve : "");
	ev(g, f, "signature: %s", str(c->sig_alg));
	ev(g, f, "valid: %s to %s", nb, na);
	ev(g, f, "SHA-256: %s", str(c->sha256));
}

/* A connection was made to A (whatever came of it). */
static int
reachable(const struct probe_addr *a)
{
	return a->stop != PSTOP_NOT_TRIED && a->stop != PSTOP_CONNECT;
}

/* A took part in the probe. */
static int
tried(const struct probe_addr *a)
{
	return a->stop != PSTOP_NOT_TRIED;
}

static int
is5xx(int code)
{
	return code >= 500 && code < 600;
}

/* ---- the domain's DNS ---- */

static void
grade_records(struct grade *g)
{
	const struct probe_result *r = g->r;
	struct probe_finding *f;

	if (r->spf.records == 0) {
		f = add(g, "spf_missing", NULL, NULL, "no SPF record (v=spf1) "
		    "at %s", r->domain);
	} else if (r->spf.records > 1) {
		f = add(g, "spf_multiple", NULL, NULL, "%d SPF records: a "
		    "permanent error for every check (RFC 7208 4.5)",
		    r->spf.records);
		ev(g, f, "%s", str(r->spf.record));
	} else {
		if (r->spf.error != NULL) {
			f = add(g, "spf_invalid", NULL, NULL, "the SPF record "
			    "has an error");
			ev(g, f, "%s", str(r->spf.record));
			ev(g, f, "error: %s", r->spf.error);
		}
		if (r->spf.lookups > SPF_LOOKUPS_MAX) {
			f = add(g, "spf_too_many_lookups", NULL, NULL,
			    "the SPF record needs %d DNS lookups, more than %d "
			    "(RFC 7208 4.6.4)", r->spf.lookups,
			    SPF_LOOKUPS_MAX);
			ev(g, f, "%s", str(r->spf.record));
		}
		if (r->spf.all != NULL && strcmp(r->spf.all, "+all") == 0) {
			f = add(g, "spf_pass_all", NULL, NULL, "the SPF record "
			    "ends in +all: every host may send as %s",
			    r->domain);
			ev(g, f, "%s", str(r->spf.record));
		}
	}
	if (r->dmarc.record == NULL && r->dmarc.error == NULL) {
		add(g, "dmarc_missing", NULL, NULL, "no DMARC record at "
		    "_dmarc.%s nor at its Organizational Domain", r->domain);
	} else if (r->dmarc.error != NULL) {
		f = add(g, "dmarc_invalid", NULL, NULL, "the DMARC record "
		    "has an error");
		ev(g, f, "%s", str(r->dmarc.record));
		ev(g, f, "error: %s", r->dmarc.error);
	} else if (r->dmarc.policy != NULL &&
	    strcasecmp(r->dmarc.policy, "none") == 0) {
		f = add(g, "dmarc_none", NULL, NULL, "DMARC policy p=none: "
		    "monitoring only");
		ev(g, f, "%s", r->dmarc.record);
	} else if (r->dmarc.policy != NULL &&
	    (strcasecmp(r->dmarc.policy, "quarantine") == 0 ||
	    strcasecmp(r->dmarc.policy, "reject") == 0)) {
		f = add(g, "dmarc_enforced", NULL, NULL, "DMARC policy p=%s",
		    r->dmarc.policy);
		ev(g, f, "%s", r->dmarc.record);
	} else {
		/* RFC 7489 6.3: p= is required, one of three values */
		f = add(g, "dmarc_invalid", NULL, NULL, "the DMARC record has "
		    "no valid p=");
		ev(g, f, "%s", r->dmarc.record);
	}
	if (r->tlsrpt.error != NULL) {
		f = add(g, "tlsrpt_invalid", NULL, NULL, "the TLS-RPT record "
		    "has an error");
		ev(g, f, "%s", str(r->tlsrpt.record));
		ev(g, f, "error: %s", r->tlsrpt.error);
	} else if (r->tlsrpt.record == NULL)
		add(g, "tlsrpt_missing", NULL, NULL, "no TLS-RPT record at "
		    "_smtp._tls.%s (RFC 8460)", r->domain);
	if (r->dnssec == PT_NO) {
		f = add(g, "dnssec_unsigned", NULL, NULL, "the MX answer was "
		    "not DNSSEC-validated: DANE cannot apply");
		ev_dnsq(g, f, &r->mx_q);
	}
}

/* ---- MTA-STS: *BONUS gets the points, *STRONG enforce on every MX ---- */

static void
grade_sts(struct grade *g, int *bonus, int *strong)
{
	const struct probe_result *r = g->r;
	const struct probe_sts *s = &r->sts;
	struct probe_finding *f;
	size_t i;
	int all = r->nmx > 0;

	if (s->txt == NULL && s->txt_error == NULL) {
		add(g, "mta_sts_missing", NULL, NULL, "no MTA-STS record at "
		    "_mta-sts.%s", r->domain);
		return;
	}
	if (s->txt_error != NULL) {
		f = add(g, "mta_sts_invalid", NULL, NULL, "the MTA-STS record "
		    "is invalid");
		ev(g, f, "%s", str(s->txt));
		ev(g, f, "error: %s", s->txt_error);
		return;
	}
	if (s->cert_valid == PT_NO) {
		f = add(g, "mta_sts_cert_invalid", NULL, NULL, "the "
		    "certificate of mta-sts.%s is not valid: senders ignore "
		    "the policy (RFC 8461 3.3)", r->domain);
		ev(g, f, "%s", str(s->fetch_error));
		return;
	}
	if (!s->fetched) {
		f = add(g, "mta_sts_fetch_failed", NULL, NULL, "the MTA-STS "
		    "policy could not be fetched");
		ev(g, f, "TXT: %s", s->txt);
		if (s->http_status != 0)
			ev(g, f, "HTTP status %d", s->http_status);
		ev(g, f, "error: %s", str(s->fetch_error));
		return;
	}
	if (s->mode == NULL || s->fetch_error != NULL) {
		f = add(g, "mta_sts_invalid", NULL, NULL, "the MTA-STS policy "
		    "is invalid");
		ev(g, f, "error: %s", str(s->fetch_error));
		ev_lines(g, f, "policy: ", s->policy);
		return;
	}
	for (i = 0; i < r->nmx; i++) {
		if (r->mx[i].sts_match == PT_YES)
			continue;
		all = 0;
		if (strcmp(s->mode, "none") == 0)
			continue;
		f = add(g, "mta_sts_mismatch", r->mx[i].name, NULL, "MX %s "
		    "matches no mx pattern of the MTA-STS policy: senders "
		    "refuse it in enforce mode", r->mx[i].name);
		for (size_t k = 0; k < s->mx.n; k++)
			ev(g, f, "mx: %s", s->mx.v[k]);
	}
	if (strcmp(s->mode, "none") == 0) {
		add(g, "mta_sts_none", NULL, NULL, "MTA-STS policy mode none: "
		    "withdrawn");
	} else if (strcmp(s->mode, "testing") == 0) {
		f = add(g, "mta_sts_testing", NULL, NULL, "MTA-STS policy in "
		    "testing mode%s", all ? ", every MX matching" : "");
		ev_lines(g, f, "policy: ", s->policy);
		if (all)
			*bonus += BONUS_STS_TESTING;
	} else if (strcmp(s->mode, "enforce") == 0) {
		f = add(g, "mta_sts_enforce", NULL, NULL, "MTA-STS policy in "
		    "enforce mode%s", all ? ", every MX matching" : "");
		ev_lines(g, f, "policy: ", s->policy);
		if (all) {
			*bonus += BONUS_STS_ENFORCE;
			*strong = 1;
		}
	} else {
		f = add(g, "mta_sts_invalid", NULL, NULL, "MTA-STS policy mode "
		    "%s is unknown", s->mode);
		ev_lines(g, f, "policy: ", s->policy);
	}
}

/* ---- one address ---- */

static void
grade_reach(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	struct probe_finding *f;

	switch (a->stop) {
	case PSTOP_CONNECT:
		f = add(g, "mx_unreachable", mx->name, a->addr, "no SMTP "
		    "connection to %s (%s) on port %u", a->addr, mx->name,
		    g->r->port);
		ev(g, f, "%s", str(a->stop_detail));
		return;
	case PSTOP_BANNER:
		f = add(g, "banner_refused", mx->name, a->addr, "%s did not "
		    "greet with 220", a->addr);
		ev(g, f, "%s", str(a->stop_detail));
		ev_transcript(g, f, a, NULL);
		return;
	case PSTOP_EHLO:
		f = add(g, "ehlo_refused", mx->name, a->addr, "%s refused "
		    "EHLO and HELO", a->addr);
		ev(g, f, "%s", str(a->stop_detail));
		ev_transcript(g, f, a, "HELO");
		return;
	case PSTOP_PROTOCOL:
		f = add(g, "smtp_protocol_error", mx->name, a->addr, "%s "
		    "broke the SMTP protocol", a->addr);
		ev(g, f, "%s", str(a->stop_detail));
		return;
	case PSTOP_TIMEOUT:
		f = add(g, "smtp_timeout", mx->name, a->addr, "%s did not "
		    "answer in time", a->addr);
		ev(g, f, "%s", str(a->stop_detail));
		return;
	default:
		return;
	}
}

/* Whether A offered STARTTLS; *HANDSHAKE whether it completed. */
static void
grade_starttls(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	struct probe_finding *f;

	if (!(a->ext & PX_STARTTLS)) {
		if (a->ehlo_code == 0)
			return;		/* EHLO never answered: no say */
		f = add(g, "starttls_missing", mx->name, a->addr, "%s does "
		    "not offer STARTTLS: mail to it travels in clear",
		    a->addr);
		ev_transcript(g, f, a, "EHLO");
		return;
	}
	if (a->starttls_code != 0 && a->starttls_code != 220) {
		f = add(g, "starttls_refused", mx->name, a->addr, "%s offers "
		    "STARTTLS but answered it %d", a->addr, a->starttls_code);
		ev_transcript(g, f, a, "STARTTLS");
		return;
	}
	if (!a->tls) {
		f = add(g, "tls_handshake_failed", mx->name, a->addr, "the "
		    "TLS handshake with %s failed", a->addr);
		ev(g, f, "%s", str(a->tls_error));
		ev_transcript(g, f, a, "STARTTLS");
	}
}

static void
grade_versions(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	static const char *const keys[PROBE_NWEAK] = {
		"weak_null", "weak_export", "weak_rc4", "weak_3des",
		"weak_cbc_only", "weak_no_pfs"
	};
	static const char *const what[PROBE_NWEAK] = {
		"NULL (unencrypted)", "EXPORT", "RC4", "3DES",
		"CBC-only", "static RSA (no forward secrecy)"
	};
	struct probe_finding *f;
	size_t i;

	if (a->tls_version != NULL && (strcmp(a->tls_version, "TLSv1") == 0 ||
	    strcmp(a->tls_version, "TLSv1.0") == 0 ||
	    strcmp(a->tls_version, "TLSv1.1") == 0 ||
	    strncmp(a->tls_version, "SSL", 3) == 0)) {
		f = add(g, "tls_version_old", mx->name, a->addr, "%s "
		    "negotiated %s: neither TLS 1.2 nor 1.3", a->addr,
		    a->tls_version);
		ev(g, f, "negotiated %s %s", a->tls_version,
		    str(a->tls_cipher));
	}
	if (a->versions[PV_TLS10].accepted == PT_YES) {
		f = add(g, "tls10_accepted", mx->name, a->addr, "%s accepts "
		    "TLS 1.0 (deprecated, RFC 8996)", a->addr);
		ev(g, f, "TLSv1.0: %s", str(a->versions[PV_TLS10].detail));
	}
	if (a->versions[PV_TLS11].accepted == PT_YES) {
		f = add(g, "tls11_accepted", mx->name, a->addr, "%s accepts "
		    "TLS 1.1 (deprecated, RFC 8996)", a->addr);
		ev(g, f, "TLSv1.1: %s", str(a->versions[PV_TLS11].detail));
	}
	/* RFC 9325 4.2: AEAD suites; the main hello offers them first */
	if (a->tls_cipher != NULL && strstr(a->tls_cipher, "_CBC_") != NULL) {
		f = add(g, "tls_cbc_negotiated", mx->name, a->addr, "%s "
		    "negotiated a CBC suite although AEAD suites were offered",
		    a->addr);
		ev(g, f, "negotiated %s %s", str(a->tls_version),
		    a->tls_cipher);
	}
	if (a->versions[PV_TLS13].accepted == PT_YES) {
		f = add(g, "tls13_supported", mx->name, a->addr, "%s supports "
		    "TLS 1.3", a->addr);
		ev(g, f, "TLSv1.3: %s", str(a->versions[PV_TLS13].detail));
	}
	for (i = 0; i < PROBE_NWEAK; i++) {
		if (a->weak[i].accepted != PT_YES)
			continue;
		f = add(g, keys[i], mx->name, a->addr, "%s accepts %s cipher "
		    "suites", a->addr, what[i]);
		ev(g, f, "%s", str(a->weak[i].detail));
	}
}

static void
grade_cert(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	const struct probe_cert *c = &a->chain[0];
	struct probe_finding *f;
	time_t now = (time_t)g->r->started;
	int weak = 0, bad = 0;

	if (!a->tls || a->nchain == 0)
		return;
	if (c->not_after < now) {
		f = add(g, "cert_expired", mx->name, a->addr, "the "
		    "certificate of %s has expired", a->addr);
		ev_cert(g, f, c);
		bad = 1;
	} else if (c->not_before > now) {
		f = add(g, "cert_not_yet_valid", mx->name, a->addr, "the "
		    "certificate of %s is not valid yet", a->addr);
		ev_cert(g, f, c);
		bad = 1;
	} else if (c->not_after - now < SOON_SECONDS) {
		f = add(g, "cert_expires_soon", mx->name, a->addr, "the "
		    "certificate of %s expires within 14 days", a->addr);
		ev_cert(g, f, c);
	}
	/* RFC 7672 3.1.1: a DANE-EE match stands without the Web PKI */
	if (a->dane != PD_MATCH) {
		if (c->self_signed && a->chain_valid != PT_YES) {
			f = add(g, "cert_self_signed", mx->name, a->addr, "%s "
			    "presents a self-signed certificate", a->addr);
			ev_cert(g, f, c);
			ev(g, f, "verification: %s", str(a->chain_error));
			bad = 1;
		} else if (a->chain_valid == PT_NO) {
			f = add(g, "cert_chain_invalid", mx->name, a->addr,
			    "the certificate chain of %s does not validate",
			    a->addr);
			ev(g, f, "verification: %s", str(a->chain_error));
			ev_cert(g, f, c);
			bad = 1;
		}
		if (a->name_match == PT_NO) {
			f = add(g, "cert_name_mismatch", mx->name, a->addr,
			    "the certificate of %s does not name %s", a->addr,
			    mx->name);
			ev(g, f, "subject CN: %s", str(c->subject_cn));
			for (size_t i = 0; i < c->san.n; i++)
				ev(g, f, "SAN: %s", c->san.v[i]);
			bad = 1;
		}
	}
	if (c->key_type != NULL && ((strcmp(c->key_type, "RSA") == 0 &&
	    c->key_bits < MIN_RSA_BITS) || (strcmp(c->key_type, "EC") == 0 &&
	    c->key_bits < MIN_EC_BITS)))
		weak = 1;
	if (weak) {
		f = add(g, "cert_weak_key", mx->name, a->addr, "the "
		    "certificate key of %s is %s %d bits", a->addr,
		    c->key_type, c->key_bits);
		ev(g, f, "key: %s %d bits", c->key_type, c->key_bits);
		bad = 1;
	}
	if (c->sig_alg != NULL && !c->self_signed &&
	    strcasestr(c->sig_alg, "sha1") != NULL) {
		f = add(g, "cert_sha1", mx->name, a->addr, "the certificate "
		    "of %s is signed with SHA-1", a->addr);
		ev(g, f, "signature: %s", c->sig_alg);
	}
	if (!bad && a->chain_valid == PT_YES && a->name_match == PT_YES) {
		f = add(g, "cert_valid", mx->name, a->addr, "the certificate "
		    "of %s is valid for %s", a->addr, mx->name);
		ev(g, f, "issuer: %s", str(c->issuer));
		ev(g, f, "subject: %s", str(c->subject));
	}
}

static void
grade_dane(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	struct probe_finding *f;
	const struct probe_tlsa *t;
	size_t i;

	switch (a->dane) {
	case PD_MATCH:
		f = add(g, "dane_match", mx->name, a->addr, "a TLSA record of "
		    "%s matches the chain %s presents", mx->name, a->addr);
		if (a->dane_matched >= 0 && (size_t)a->dane_matched <
		    mx->ntlsa) {
			t = &mx->tlsa[a->dane_matched];
			ev(g, f, "TLSA %d %d %d %s", t->usage, t->selector,
			    t->mtype, str(t->data));
		}
		ev(g, f, "Web PKI: chain %s, name %s",
		    probe_tri_name(a->chain_valid),
		    probe_tri_name(a->name_match));
		break;
	case PD_NOMATCH:
		f = add(g, "dane_nomatch", mx->name, a->addr, "no TLSA record "
		    "of %s matches the chain %s presents: DANE senders will "
		    "not deliver", mx->name, a->addr);
		ev_dnsq(g, f, &mx->tlsa_q);
		for (i = 0; i < a->nchain && i < 2; i++) {
			ev(g, f, "chain[%zu] SHA-256: %s", i,
			    str(a->chain[i].sha256));
			ev(g, f, "chain[%zu] SPKI SHA-256: %s", i,
			    str(a->chain[i].spki_sha256));
		}
		break;
	case PD_UNVALIDATED:
		f = add(g, "dane_unvalidated", mx->name, a->addr, "%s has TLSA "
		    "records that are not DNSSEC-validated: unusable (RFC "
		    "7672 2.2)", mx->name);
		ev_dnsq(g, f, &mx->tlsa_q);
		break;
	default:
		break;
	}
}

static void
grade_dns(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	struct probe_finding *f;
	size_t n;

	if (a->ptr == NULL) {
		f = add(g, "ptr_missing", mx->name, a->addr, "%s has no PTR "
		    "record", a->addr);
		ev_dnsq(g, f, &a->ptr_q);
		return;
	}
	if (a->fcrdns == PT_NO) {
		f = add(g, "fcrdns_failed", mx->name, a->addr, "the PTR name "
		    "%s of %s does not resolve back to it", a->ptr, a->addr);
		ev_dnsq(g, f, &a->ptr_q);
	}
	if (a->banner_name != NULL && strcasecmp(a->banner_name, a->ptr) != 0) {
		n = strlen(a->banner_name);
		/* a final dot is the same name */
		if (n > 0 && a->banner_name[n - 1] == '.' &&
		    strlen(a->ptr) == n - 1 &&
		    strncasecmp(a->banner_name, a->ptr, n - 1) == 0)
			return;
		f = add(g, "banner_name_mismatch", mx->name, a->addr, "the "
		    "banner of %s names %s, its PTR %s", a->addr,
		    a->banner_name, a->ptr);
		ev_transcript(g, f, a, NULL);
		ev(g, f, "PTR: %s", a->ptr);
	}
}

static void
grade_policy(struct grade *g, const struct probe_mx *mx,
    const struct probe_addr *a)
{
	struct probe_finding *f;

	if (a->open_relay == PT_YES) {
		f = add(g, "open_relay", mx->name, a->addr, "%s accepted a "
		    "recipient of another domain from an outside sender: an "
		    "open relay", a->addr);
		ev(g, f, "relay RCPT answered %d", a->rcpt_relay);
		ev_transcript(g, f, a, "MAIL FROM");
		ev_transcript(g, f, a, "example.net");
	}
	if (a->recipient_filtering == PT_NO) {
		f = add(g, "no_recipient_filtering", mx->name, a->addr, "%s "
		    "accepts a random local part at RCPT: it will bounce "
		    "later (backscatter)", a->addr);
		ev(g, f, "random RCPT answered %d", a->rcpt_random);
	} else if (a->recipient_filtering == PT_YES) {
		f = add(g, "recipient_filtering", mx->name, a->addr, "%s "
		    "rejects unknown recipients at RCPT", a->addr);
		ev(g, f, "random RCPT answered %d", a->rcpt_random);
	}
	if (is5xx(a->rcpt_postmaster)) {
		f = add(g, "postmaster_rejected", mx->name, a->addr, "%s "
		    "rejects postmaster@ (RFC 5321 4.5.1)", a->addr);
		ev_transcript(g, f, a, "<postmaster@");
	}
	if (is5xx(a->rcpt_abuse)) {
		f = add(g, "abuse_rejected", mx->name, a->addr, "%s rejects "
		    "abuse@ (RFC 2142)", a->addr);
		ev_transcript(g, f, a, "<abuse@");
	}
	if (a->greylisting == PT_YES) {
		f = add(g, "greylisting", mx->name, a->addr, "%s answered the "
		    "first RCPT with a temporary failure: greylisting",
		    a->addr);
		ev_transcript(g, f, a, "RCPT");
	}
	if (a->spf_checked == PT_YES) {
		f = add(g, "spf_checked", mx->name, a->addr, "%s refused a "
		    "sender whose SPF forbids the probe", a->addr);
		ev(g, f, "MAIL %d, RCPT %d", a->spf_mail_code,
		    a->spf_rcpt_code);
		ev_dialogue(g, f, a, "@" CATALOG_PROBE_SPF_DENY ".");
	} else if (a->spf_checked == PT_NO) {
		f = add(g, "spf_not_checked", mx->name, a->addr, "%s accepted "
		    "a sender whose SPF forbids the probe", a->addr);
		ev(g, f, "MAIL %d, RCPT %d", a->spf_mail_code,
		    a->spf_rcpt_code);
		ev_dialogue(g, f, a, "@" CATALOG_PROBE_SPF_DENY ".");
	}
}

/* ---- the whole ---- */

static void
findings_clear(struct probe_result *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++) {
		free(r->findings[i].key);
		free(r->findings[i].mx);
		free(r->findings[i].addr);
		free(r->findings[i].summary);
		probe_strv_clear(&r->findings[i].evidence);
	}
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}

/* The score and grade from R's findings and BONUS (docs/probe.md). */
static void
grade_score(struct probe_result *r, int bonus, int strong)
{
	const struct grade_rule *ru;
	int used[NRULES], score = 100, worst = PF_GOOD;
	size_t i, k;

	memset(used, 0, sizeof(used));
	for (i = 0; i < r->nfindings; i++) {
		if ((int)r->findings[i].severity > worst)
			worst = (int)r->findings[i].severity;
		if ((ru = rule(r->findings[i].key)) == NULL)
			continue;	/* another step's key: no points */
		k = (size_t)(ru - rules);
		if (!used[k])
			score -= ru->points;
		used[k] = 1;
	}
	score += bonus;
	if (score > 100)
		score = 100;
	if (score < 0)
		score = 0;
	if (worst == PF_CRITICAL && score > CRITICAL_MAX)
		score = CRITICAL_MAX;
	r->score = score;
	snprintf(r->grade, sizeof(r->grade), "F");
	for (i = 0; i < NGRADES; i++) {
		if (score < grades[i].min)
			continue;
		if (i == 0 && (!strong || worst >= PF_WARN))
			continue;	/* A+ needs more */
		snprintf(r->grade, sizeof(r->grade), "%s", grades[i].grade);
		break;
	}
}

int
probe_grade(struct probe_result *r)
{
	struct grade g = { r, 0 };
	const struct probe_mx *mx;
	const struct probe_addr *a;
	struct probe_finding *f;
	size_t i, k;
	int bonus = 0, ntried = 0, nreach = 0, nstarttls = 0, ntls = 0;
	int dane_all = 0, strong = 0;

	findings_clear(r);
	r->grade[0] = '\0';
	r->score = 0;
	if (r->error != NULL)
		return 0;	/* nothing was measured: no grade */
	if (r->null_mx) {
		f = add(&g, "null_mx", NULL, NULL, "%s accepts no mail: null "
		    "MX (RFC 7505)", r->domain);
		ev_dnsq(&g, f, &r->mx_q);
		/* no grade for a domain that takes no mail */
		return g.err ? -1 : 0;
	}
	if (r->implicit_mx) {
		f = add(&g, "implicit_mx", NULL, NULL, "%s has no MX record: "
		    "mail goes to its own address (RFC 5321 5.1)", r->domain);
		ev_dnsq(&g, f, &r->mx_q);
	}
	for (i = 0; i < r->nmx; i++)
		for (k = 0; k < r->mx[i].naddrs; k++)
			ntried += tried(&r->mx[i].addrs[k]);
	if (r->nmx == 0 || ntried == 0) {
		f = add(&g, "no_mx", NULL, NULL, "no address to deliver mail "
		    "for %s to", r->domain);
		ev_dnsq(&g, f, &r->mx_q);
		for (i = 0; i < r->nmx; i++) {
			ev_dnsq(&g, f, &r->mx[i].a_q);
			ev_dnsq(&g, f, &r->mx[i].aaaa_q);
			/* addresses left out: another family, not public */
			for (k = 0; k < r->mx[i].naddrs; k++)
				ev(&g, f, "%s: not tried: %s",
				    str(r->mx[i].addrs[k].addr),
				    str(r->mx[i].addrs[k].stop_detail));
		}
	}
	grade_records(&g);
	grade_sts(&g, &bonus, &strong);
	dane_all = ntried > 0 && r->dnssec == PT_YES;
	for (i = 0; i < r->nmx; i++) {
		mx = &r->mx[i];
		for (k = 0; k < mx->naddrs; k++) {
			a = &mx->addrs[k];
			if (!tried(a))
				continue;
			grade_reach(&g, mx, a);
			if (!reachable(a)) {
				dane_all = 0;
				continue;
			}
			nreach++;
			nstarttls += (a->ext & PX_STARTTLS) != 0;
			ntls += a->tls != 0;
			grade_starttls(&g, mx, a);
			grade_versions(&g, mx, a);
			grade_cert(&g, mx, a);
			grade_dane(&g, mx, a);
			grade_dns(&g, mx, a);
			grade_policy(&g, mx, a);
			if (a->dane != PD_MATCH || !mx->tlsa_q.ad)
				dane_all = 0;
		}
	}
	if (ntried > 0 && nreach == 0)
		add(&g, "no_reachable_mx", NULL, NULL, "no MX address of %s "
		    "could be reached", r->domain);
	else if (nreach > 0 && nstarttls == 0)
		add(&g, "no_starttls", NULL, NULL, "no MX address of %s offers "
		    "STARTTLS", r->domain);
	else if (nstarttls > 0 && ntls == 0)
		add(&g, "no_tls", NULL, NULL, "no TLS handshake with an MX "
		    "address of %s succeeded", r->domain);
	if (dane_all)
		bonus += BONUS_DANE;
	strong |= dane_all;
	if (g.err)
		return -1;
	grade_score(r, bonus, strong);
	return 0;
}
