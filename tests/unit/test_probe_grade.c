/*
 * Unit tests of probe_grade.c over hand-filled results: each finding
 * key from the facts that make it, its evidence, the points counted
 * once, the F rules, A+ and the bounds of each grade exactly as
 * docs/probe.md states them.
 */
#include "build.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe.h"
#include "probe_fixture.h"

static struct probe_addr *
addr(struct probe_result *r, size_t m, size_t k)
{
	return &r->mx[m].addrs[k];
}

/* A stopped at STOP: nothing after it was learnt. */
static void
stop_at(struct probe_addr *a, enum probe_stop stop)
{
	size_t i;

	a->stop = stop;
	if (stop == PSTOP_CONNECT) {
		a->connect_ms = -1;
		a->banner_code = 0;
		pfx_set(&a->stop_detail, "connect: Connection refused");
	}
	if (stop == PSTOP_BANNER) {
		a->banner_code = 554;
		pfx_set(&a->banner, "no service here");
		pfx_set(&a->stop_detail, "554 no service here");
	}
	a->ehlo_code = 0;
	a->ext = a->ext_tls = 0;
	a->starttls_code = 0;
	a->tls = 0;
	a->chain_valid = a->name_match = PT_UNKNOWN;
	a->dane = PD_NOT_TESTED;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		a->versions[i].accepted = PT_UNKNOWN;
	for (i = 0; i < PROBE_NWEAK; i++)
		a->weak[i].accepted = PT_UNKNOWN;
	a->mail_code = 0;
	a->open_relay = a->recipient_filtering = a->greylisting =
	    a->spf_checked = PT_UNKNOWN;
}

/* A offers no STARTTLS at all. */
static void
no_starttls(struct probe_addr *a)
{
	a->ext &= ~PX_STARTTLS;
	a->starttls_code = 0;
	a->tls = 0;
	a->chain_valid = a->name_match = PT_UNKNOWN;
	a->versions[PV_TLS12].accepted = PT_UNKNOWN;
	a->versions[PV_TLS13].accepted = PT_UNKNOWN;
}

static int
worst(const struct probe_result *r)
{
	size_t i;
	int w = PF_GOOD;

	for (i = 0; i < r->nfindings; i++)
		if ((int)r->findings[i].severity > w)
			w = (int)r->findings[i].severity;
	return w;
}

/* Whether finding KEY has an evidence line equal to LINE. */
static int
has_evidence(const struct probe_result *r, const char *key, const char *line)
{
	size_t i, f = pfx_has(r, key, NULL);

	if (f == 0)
		return 0;
	for (i = 0; i < r->findings[f - 1].evidence.n; i++)
		if (strcmp(r->findings[f - 1].evidence.v[i], line) == 0)
			return 1;
	return 0;
}

static void
good_domain_without_sts_or_dane_gets_a(void **state)
{
	struct probe_result *r = pfx_good(2, 2);

	(void)state;
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "A");
	assert_int_equal(r->score, 100);
	assert_true(worst(r) <= PF_INFO);
	assert_true(pfx_has(r, "tls13_supported", "192.0.2.10"));
	assert_true(pfx_has(r, "cert_valid", "2001:db8::1:1"));
	assert_true(pfx_has(r, "recipient_filtering", NULL));
	assert_true(pfx_has(r, "spf_checked", NULL));
	assert_true(pfx_has(r, "dmarc_enforced", NULL));
	assert_true(pfx_has(r, "mta_sts_missing", NULL));
	assert_true(pfx_has(r, "dnssec_unsigned", NULL));
	probe_result_free(r);
}

static void
mta_sts_enforce_on_every_mx_gives_a_plus(void **state)
{
	struct probe_result *r = pfx_good(2, 1);

	(void)state;
	pfx_sts(r, "enforce");
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "A+");
	assert_int_equal(r->score, 100);
	assert_true(pfx_has(r, "mta_sts_enforce", NULL));
	assert_false(pfx_has(r, "mta_sts_missing", NULL));
	/* the policy's lines, one evidence line each */
	assert_true(has_evidence(r, "mta_sts_enforce", "policy: mode: enforce"));
	assert_true(has_evidence(r, "mta_sts_enforce",
	    "policy: max_age: 86400"));
	probe_result_free(r);
}

static void
mta_sts_testing_is_no_a_plus(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	pfx_sts(r, "testing");
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "A");
	assert_true(pfx_has(r, "mta_sts_testing", NULL));
	probe_result_free(r);
}

static void
mta_sts_mx_mismatch_is_bad_and_names_the_patterns(void **state)
{
	struct probe_result *r = pfx_good(2, 1);

	(void)state;
	pfx_sts(r, "enforce");
	r->mx[1].sts_match = PT_NO;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "mta_sts_mismatch", NULL));
	assert_string_equal(r->findings[pfx_has(r, "mta_sts_mismatch",
	    NULL) - 1].mx, "mx2.good.example");
	assert_true(has_evidence(r, "mta_sts_mismatch", "mx: *.good.example"));
	/* no bonus: not every MX matches; 100 - 10 */
	assert_int_equal(r->score, 90);
	assert_string_equal(r->grade, "A");
	probe_result_free(r);
}

static void
mta_sts_invalid_web_certificate_is_bad(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	pfx_sts(r, "enforce");
	r->sts.cert_valid = PT_NO;
	pfx_set(&r->sts.fetch_error, "certificate verify failed");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "mta_sts_cert_invalid", NULL));
	assert_false(pfx_has(r, "mta_sts_enforce", NULL));
	assert_int_equal(r->score, 90);
	probe_result_free(r);
}

static void
dane_on_every_mx_gives_a_plus_and_covers_the_chain(void **state)
{
	struct probe_result *r = pfx_good(2, 2);

	(void)state;
	pfx_dane(r);
	/* RFC 7672 3.1.1: DANE-EE stands without the Web PKI */
	addr(r, 1, 0)->chain_valid = PT_NO;
	pfx_set(&addr(r, 1, 0)->chain_error, "self-signed certificate");
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "A+");
	assert_true(pfx_has(r, "dane_match", "192.0.2.20"));
	assert_false(pfx_has(r, "cert_chain_invalid", NULL));
	assert_false(pfx_has(r, "dnssec_unsigned", NULL));
	assert_true(has_evidence(r, "dane_match", "TLSA 3 1 1 bb0000"));
	probe_result_free(r);
}

static void
dane_nomatch_costs_25_and_shows_the_records(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	pfx_dane(r);
	addr(r, 0, 0)->dane = PD_NOMATCH;
	addr(r, 0, 0)->dane_matched = -1;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "dane_nomatch", "192.0.2.10"));
	assert_true(has_evidence(r, "dane_nomatch", "  3 1 1 bb0000"));
	assert_int_equal(r->score, 75);
	assert_string_equal(r->grade, "B");
	probe_result_free(r);
}

static void
a_warning_keeps_a_plus_away(void **state)
{
	struct probe_result *r = pfx_good(1, 2);

	(void)state;
	pfx_sts(r, "enforce");
	addr(r, 0, 0)->versions[PV_TLS10].accepted = PT_YES;
	addr(r, 0, 1)->versions[PV_TLS10].accepted = PT_YES;
	assert_int_equal(probe_grade(r), 0);
	/* 100 - 5 (once for both addresses) + 5: the score allows A+ */
	assert_int_equal(r->score, 100);
	assert_string_equal(r->grade, "A");
	assert_true(pfx_has(r, "tls10_accepted", "192.0.2.10"));
	assert_true(pfx_has(r, "tls10_accepted", "2001:db8::1:1"));
	probe_result_free(r);
}

static void
open_relay_is_f_with_the_transcript(void **state)
{
	struct probe_result *r = pfx_good(2, 1);
	struct probe_addr *a = addr(r, 1, 0);
	size_t f;

	(void)state;
	pfx_sts(r, "enforce");
	a->open_relay = PT_YES;
	a->rcpt_relay = 250;
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "F");
	assert_true(r->score <= 39);
	assert_true((f = pfx_has(r, "open_relay", "192.0.2.20")) != 0);
	assert_int_equal(r->findings[f - 1].severity, PF_CRITICAL);
	assert_string_equal(r->findings[f - 1].mx, "mx2.good.example");
	assert_true(has_evidence(r, "open_relay", "relay RCPT answered 250"));
	assert_true(has_evidence(r, "open_relay",
	    "C: RCPT TO:<relay-test@example.net>"));
	assert_true(has_evidence(r, "open_relay",
	    "C: MAIL FROM:<probe@mailscope.example>"));
	probe_result_free(r);
}

static void
no_starttls_anywhere_is_f(void **state)
{
	struct probe_result *r = pfx_good(1, 2);

	(void)state;
	no_starttls(addr(r, 0, 0));
	no_starttls(addr(r, 0, 1));
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "F");
	assert_true(pfx_has(r, "no_starttls", NULL));
	assert_true(pfx_has(r, "starttls_missing", "192.0.2.10"));
	assert_true(has_evidence(r, "starttls_missing",
	    "C: EHLO probe.mailscope.example"));
	probe_result_free(r);
}

static void
starttls_missing_on_one_address_is_b(void **state)
{
	struct probe_result *r = pfx_good(1, 2);

	(void)state;
	no_starttls(addr(r, 0, 1));
	assert_int_equal(probe_grade(r), 0);
	assert_false(pfx_has(r, "no_starttls", NULL));
	assert_true(pfx_has(r, "starttls_missing", "2001:db8::1:1"));
	assert_int_equal(r->score, 70);
	assert_string_equal(r->grade, "B");
	probe_result_free(r);
}

static void
no_handshake_anywhere_is_f(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_addr *a = addr(r, 0, 0);

	(void)state;
	a->tls = 0;
	probe_cert_clear(&a->chain[0]);
	a->nchain = 0;
	pfx_set(&a->tls_error, "sslv3 alert handshake failure");
	a->stop = PSTOP_TLS;
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "F");
	assert_true(pfx_has(r, "no_tls", NULL));
	assert_true(has_evidence(r, "tls_handshake_failed",
	    "sslv3 alert handshake failure"));
	assert_true(has_evidence(r, "tls_handshake_failed", "C: STARTTLS"));
	probe_result_free(r);
}

static void
nothing_reachable_is_f_one_unreachable_costs_15(void **state)
{
	struct probe_result *r = pfx_good(1, 2);

	(void)state;
	stop_at(addr(r, 0, 0), PSTOP_CONNECT);
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "mx_unreachable", "192.0.2.10"));
	assert_true(has_evidence(r, "mx_unreachable",
	    "connect: Connection refused"));
	assert_int_equal(r->score, 85);
	assert_string_equal(r->grade, "A");
	stop_at(addr(r, 0, 1), PSTOP_CONNECT);
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "no_reachable_mx", NULL));
	assert_false(pfx_has(r, "no_starttls", NULL));
	assert_string_equal(r->grade, "F");
	probe_result_free(r);
}

static void
null_mx_gets_no_grade(void **state)
{
	struct probe_result *r = pfx_good(0, 0);

	(void)state;
	r->null_mx = 1;
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "");
	assert_int_equal(r->nfindings, 1);
	assert_string_equal(r->findings[0].key, "null_mx");
	assert_int_equal(r->findings[0].severity, PF_INFO);
	probe_result_free(r);
}

static void
a_probe_that_could_not_run_gets_no_grade(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	r->error = pfx_str("no resolver");
	assert_int_equal(probe_grade(r), 0);
	assert_string_equal(r->grade, "");
	assert_int_equal(r->nfindings, 0);
	probe_result_free(r);
}

static void
no_mx_and_no_address_is_f(void **state)
{
	struct probe_result *r = pfx_good(0, 0);

	(void)state;
	pfx_set(&r->mx_q.status, "nxdomain");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "no_mx", NULL));
	assert_true(has_evidence(r, "no_mx", "DNS good.example MX: nxdomain"));
	assert_string_equal(r->grade, "F");
	probe_result_free(r);
}

static void
addresses_all_left_out_are_no_mx(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	stop_at(addr(r, 0, 0), PSTOP_NOT_TRIED);
	pfx_set(&addr(r, 0, 0)->stop_detail, "not a global address");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "no_mx", NULL));
	assert_true(has_evidence(r, "no_mx",
	    "192.0.2.10: not tried: not a global address"));
	assert_false(pfx_has(r, "no_reachable_mx", NULL));
	assert_false(pfx_has(r, "ptr_missing", NULL));
	assert_string_equal(r->grade, "F");
	probe_result_free(r);
}

static void
implicit_mx_is_a_warning(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	r->implicit_mx = 1;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "implicit_mx", NULL));
	assert_int_equal(r->score, 95);
	assert_string_equal(r->grade, "A");
	probe_result_free(r);
}

static void
expired_certificate_for_another_name_is_c(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_addr *a = addr(r, 0, 0);

	(void)state;
	a->chain[0].not_after = (time_t)PFX_STARTED - PFX_DAY;
	a->name_match = PT_NO;
	pfx_set(&a->chain[0].subject_cn, "other.example");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "cert_expired", "192.0.2.10"));
	assert_true(has_evidence(r, "cert_expired",
	    "valid: 2026-11-07T10:00:00Z to 2026-12-06T10:00:00Z"));
	assert_true(has_evidence(r, "cert_name_mismatch",
	    "subject CN: other.example"));
	assert_false(pfx_has(r, "cert_valid", NULL));
	assert_int_equal(r->score, 65);
	assert_string_equal(r->grade, "C");
	probe_result_free(r);
}

static void
self_signed_weak_sha1_certificate(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_cert *c = &addr(r, 0, 0)->chain[0];

	(void)state;
	c->self_signed = 1;
	addr(r, 0, 0)->chain_valid = PT_NO;
	c->key_bits = 1024;
	pfx_set(&c->sig_alg, "sha1WithRSAEncryption");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "cert_self_signed", NULL));
	assert_false(pfx_has(r, "cert_chain_invalid", NULL));
	assert_true(pfx_has(r, "cert_weak_key", NULL));
	/* a self-signed certificate's own signature is no weakness */
	assert_false(pfx_has(r, "cert_sha1", NULL));
	assert_int_equal(r->score, 75);
	c->self_signed = 0;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "cert_chain_invalid", NULL));
	assert_true(pfx_has(r, "cert_sha1", NULL));
	assert_int_equal(r->score, 70);
	probe_result_free(r);
}

static void
weak_classes_and_old_versions(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_addr *a = addr(r, 0, 0);

	(void)state;
	a->weak[PW_RC4].accepted = PT_YES;
	a->weak[PW_RC4].detail = pfx_str("RC4-SHA");
	a->weak[PW_CBC_ONLY].accepted = PT_YES;
	a->versions[PV_TLS11].accepted = PT_YES;
	pfx_set(&a->tls_version, "TLSv1.1");
	assert_int_equal(probe_grade(r), 0);
	assert_true(has_evidence(r, "weak_rc4", "RC4-SHA"));
	assert_true(pfx_has(r, "weak_cbc_only", NULL));
	assert_true(pfx_has(r, "tls11_accepted", NULL));
	assert_true(pfx_has(r, "tls_version_old", NULL));
	/* 100 - 10 - 0 - 5 - 20 */
	assert_int_equal(r->score, 65);
	assert_string_equal(r->grade, "C");
	probe_result_free(r);
}

static void
reverse_dns_and_banner_name(void **state)
{
	struct probe_result *r = pfx_good(1, 2);

	(void)state;
	free(addr(r, 0, 0)->ptr);
	addr(r, 0, 0)->ptr = NULL;
	addr(r, 0, 1)->fcrdns = PT_NO;
	pfx_set(&addr(r, 0, 1)->banner_name, "other.example");
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "ptr_missing", "192.0.2.10"));
	assert_true(has_evidence(r, "ptr_missing", "DNS 192.0.2.10 PTR: "
	    "noerror"));
	assert_true(pfx_has(r, "fcrdns_failed", "2001:db8::1:1"));
	assert_true(pfx_has(r, "banner_name_mismatch", "2001:db8::1:1"));
	assert_true(has_evidence(r, "banner_name_mismatch",
	    "S: 220 mx.good.example ESMTP Postfix"));
	assert_int_equal(r->score, 100 - 5 - 5 - 1);
	probe_result_free(r);
}

static void
records_missing_and_policy_behaviour(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_addr *a = addr(r, 0, 0);

	(void)state;
	free(r->spf.record);
	r->spf.record = NULL;
	r->spf.records = 0;
	free(r->dmarc.record);
	r->dmarc.record = NULL;
	free(r->tlsrpt.record);
	r->tlsrpt.record = NULL;
	a->recipient_filtering = PT_NO;
	a->greylisting = PT_YES;
	a->spf_checked = PT_NO;
	a->rcpt_postmaster = 550;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "spf_missing", NULL));
	assert_true(pfx_has(r, "dmarc_missing", NULL));
	assert_true(pfx_has(r, "tlsrpt_missing", NULL));
	assert_true(pfx_has(r, "no_recipient_filtering", NULL));
	assert_true(pfx_has(r, "greylisting", NULL));
	assert_true(pfx_has(r, "spf_not_checked", NULL));
	assert_true(pfx_has(r, "postmaster_rejected", NULL));
	assert_int_equal(r->score, 100 - 3 - 3 - 1 - 5 - 2);
	assert_string_equal(r->grade, "A");
	probe_result_free(r);
}

static void
spf_errors(void **state)
{
	struct probe_result *r = pfx_good(1, 1);

	(void)state;
	r->spf.lookups = 14;
	pfx_set(&r->spf.all, "+all");
	pfx_set(&r->dmarc.policy, "none");
	assert_int_equal(probe_grade(r), 0);
	assert_true(has_evidence(r, "spf_too_many_lookups", "v=spf1 mx -all"));
	assert_true(pfx_has(r, "spf_pass_all", NULL));
	assert_true(pfx_has(r, "dmarc_none", NULL));
	assert_false(pfx_has(r, "dmarc_enforced", NULL));
	r->spf.records = 2;
	assert_int_equal(probe_grade(r), 0);
	assert_true(pfx_has(r, "spf_multiple", NULL));
	assert_false(pfx_has(r, "spf_too_many_lookups", NULL));
	probe_result_free(r);
}

static void
grade_bounds_d_and_f_without_a_critical(void **state)
{
	struct probe_result *r = pfx_good(2, 2);

	(void)state;
	no_starttls(addr(r, 0, 0));			/* 30 */
	stop_at(addr(r, 0, 1), PSTOP_CONNECT);		/* 15 */
	stop_at(addr(r, 1, 0), PSTOP_BANNER);		/* 10 */
	free(addr(r, 1, 1)->ptr);			/* 5 */
	addr(r, 1, 1)->ptr = NULL;
	assert_int_equal(probe_grade(r), 0);
	assert_true(has_evidence(r, "banner_refused",
	    "S: 220 mx.good.example ESMTP Postfix"));
	assert_int_equal(worst(r), PF_BAD);
	assert_int_equal(r->score, 40);
	assert_string_equal(r->grade, "D");
	free(r->dmarc.record);				/* 3 */
	r->dmarc.record = NULL;
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(r->score, 37);
	assert_string_equal(r->grade, "F");
	probe_result_free(r);
}

static void
regrading_replaces_the_findings(void **state)
{
	struct probe_result *r = pfx_good(2, 2);
	size_t n;

	(void)state;
	assert_int_equal(probe_grade(r), 0);
	n = r->nfindings;
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(r->nfindings, n);
	probe_result_free(r);
}

static void
evidence_is_bounded(void **state)
{
	struct probe_result *r = pfx_good(1, 1);
	struct probe_addr *a = addr(r, 0, 0);
	size_t i, f;

	(void)state;
	for (i = 0; i < 300; i++) {
		pfx_line(a, "C: RCPT TO:<someone@good.example>");
		pfx_line(a, "S: 451 4.7.1 try again later");
	}
	a->greylisting = PT_YES;
	assert_int_equal(probe_grade(r), 0);
	assert_true((f = pfx_has(r, "greylisting", NULL)) != 0);
	assert_int_equal(r->findings[f - 1].evidence.n, PROBE_EVIDENCE_MAX);
	probe_result_free(r);
}

/* The text of TOP/PATH, malloc'd. */
static char *
slurp(const char *top, const char *path)
{
	char name[PATH_MAX], *buf;
	FILE *fp;
	long n;

	snprintf(name, sizeof(name), "%s/%s", top, path);
	if ((fp = fopen(name, "r")) == NULL)
		fail_msg("%s: cannot open", name);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/*
 * docs/probe.md's table of keys is probe_grade.c's rules[]: the same
 * keys, severities and points, in the same order.
 */
static void
docs_table_is_the_rules_table(void **state)
{
	const char *top = getenv("top_srcdir");
	char *code, *doc, *p, *q, key[64], sev[16], dkey[64], dsev[16];
	int points, dpoints, n = 0;

	(void)state;
	if (top == NULL)
		top = "../..";
	code = slurp(top, "daemon/probe/probe_grade.c");
	doc = slurp(top, "docs/probe.md");
	p = strstr(code, "} rules[] = {");
	assert_non_null(p);
	q = strstr(doc, "|-----|");
	assert_non_null(q);
	for (;;) {
		p = strchr(p, '\n') + 1;
		if (strncmp(p, "\t/*", 3) == 0)
			continue;	/* a group's comment */
		if (sscanf(p, " { \"%63[a-z0-9_]\", PF_%15[A-Z], %d },", key,
		    sev, &points) != 3)
			break;
		q = strchr(q, '\n') + 1;
		if (sscanf(q, "| `%63[a-z0-9_]` | %15[a-z] | %d |", dkey, dsev,
		    &dpoints) != 3)
			fail_msg("docs/probe.md: no row for %s: %.60s", key, q);
		assert_string_equal(dkey, key);
		for (char *c = sev; *c != '\0'; c++)
			*c = (char)(*c - 'A' + 'a');
		assert_string_equal(dsev, sev);
		assert_int_equal(dpoints, points);
		n++;
	}
	assert_true(n > 60);
	q = strchr(q, '\n') + 1;
	assert_true(strncmp(q, "| `", 3) != 0);	/* no row too many */
	free(code);
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_domain_without_sts_or_dane_gets_a),
		cmocka_unit_test(mta_sts_enforce_on_every_mx_gives_a_plus),
		cmocka_unit_test(mta_sts_testing_is_no_a_plus),
		cmocka_unit_test(
		    mta_sts_mx_mismatch_is_bad_and_names_the_patterns),
		cmocka_unit_test(mta_sts_invalid_web_certificate_is_bad),
		cmocka_unit_test(
		    dane_on_every_mx_gives_a_plus_and_covers_the_chain),
		cmocka_unit_test(dane_nomatch_costs_25_and_shows_the_records),
		cmocka_unit_test(a_warning_keeps_a_plus_away),
		cmocka_unit_test(open_relay_is_f_with_the_transcript),
		cmocka_unit_test(no_starttls_anywhere_is_f),
		cmocka_unit_test(starttls_missing_on_one_address_is_b),
		cmocka_unit_test(no_handshake_anywhere_is_f),
		cmocka_unit_test(
		    nothing_reachable_is_f_one_unreachable_costs_15),
		cmocka_unit_test(null_mx_gets_no_grade),
		cmocka_unit_test(a_probe_that_could_not_run_gets_no_grade),
		cmocka_unit_test(no_mx_and_no_address_is_f),
		cmocka_unit_test(addresses_all_left_out_are_no_mx),
		cmocka_unit_test(implicit_mx_is_a_warning),
		cmocka_unit_test(expired_certificate_for_another_name_is_c),
		cmocka_unit_test(self_signed_weak_sha1_certificate),
		cmocka_unit_test(weak_classes_and_old_versions),
		cmocka_unit_test(reverse_dns_and_banner_name),
		cmocka_unit_test(records_missing_and_policy_behaviour),
		cmocka_unit_test(spf_errors),
		cmocka_unit_test(grade_bounds_d_and_f_without_a_critical),
		cmocka_unit_test(regrading_replaces_the_findings),
		cmocka_unit_test(evidence_is_bounded),
		cmocka_unit_test(docs_table_is_the_rules_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
