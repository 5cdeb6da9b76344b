/*
 * Unit tests of the pure parts of DMARC and DKIM: DMARC record parsing
 * (RFC 7489 6.3, 6.4, 6.6.3), Organizational Domains and alignment with
 * the Public Suffix List (3.1, 3.2), report URI hosts (7.1), policy
 * discovery and destination checks against a table of DNS answers, and
 * the naming of DKIM signature outcomes (RFC 8601 2.7.1).
 */
#include "build.h"

#include <opendkim/dkim.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dkim.h"
#include "dmarc.h"
#include "resolver.h"
#include "records.h"
#include "unit_helpers.h"

/* ---- record parsing ---- */

static void
parse(const char *txt, int want, struct dmarc_policy *pol)
{
	assert_int_equal(dmarc_parse(txt, pol), want);
}

static void
record_tags_are_parsed(void **state)
{
	struct dmarc_policy pol;

	(void)state;
	parse("v=DMARC1; p=reject; sp=quarantine; pct=25; adkim=s; aspf=s; "
	    "fo=1:d:s; rua=mailto:a@example.com,mailto:b@example.net!10m; "
	    "ruf=mailto:f@example.com; rf=afrf; ri=3600", DMARC_RECORD, &pol);
	assert_string_equal(pol.p, "reject");
	assert_string_equal(pol.sp, "quarantine");
	assert_int_equal(pol.pct, 25);
	assert_true(pol.adkim_strict);
	assert_true(pol.aspf_strict);
	assert_string_equal(pol.fo, "1:d:s");
	assert_string_equal(pol.rua,
	    "mailto:a@example.com,mailto:b@example.net!10m");
	assert_string_equal(pol.ruf, "mailto:f@example.com");
	assert_null(pol.invalid);
	dmarc_policy_clear(&pol);
}

static void
defaults_white_space_and_case(void **state)
{
	struct dmarc_policy pol;

	(void)state;
	/* RFC 7489 6.3 defaults; ABNF literals are case-insensitive */
	parse(" v = DMARC1 ;P=Quarantine;  ", DMARC_RECORD, &pol);
	assert_string_equal(pol.p, "quarantine");
	assert_null(pol.sp);
	assert_int_equal(pol.pct, 100);
	assert_false(pol.adkim_strict);
	assert_false(pol.aspf_strict);
	assert_string_equal(pol.fo, "0");
	assert_null(pol.rua);
	assert_null(pol.ruf);
	dmarc_policy_clear(&pol);
	parse("v=DMARC1;p=none;pct=0;adkim=R;aspf=S", DMARC_RECORD, &pol);
	assert_int_equal(pol.pct, 0);
	assert_false(pol.adkim_strict);
	assert_true(pol.aspf_strict);
	dmarc_policy_clear(&pol);
}

static void
not_a_dmarc_record(void **state)
{
	struct dmarc_policy pol;

	(void)state;
	/* 6.4: "v=DMARC1" first and exactly; anything else is discarded */
	parse("v=spf1 -all", DMARC_NOT_RECORD, &pol);
	parse("p=reject; v=DMARC1", DMARC_NOT_RECORD, &pol);
	parse("v=dmarc1; p=reject", DMARC_NOT_RECORD, &pol);
	parse("v=DMARC1p=reject", DMARC_NOT_RECORD, &pol);
	parse("v=DMARC2; p=reject", DMARC_NOT_RECORD, &pol);
	parse("", DMARC_NOT_RECORD, &pol);
	parse(";v=DMARC1; p=reject", DMARC_NOT_RECORD, &pol);
	parse("v=DMARC1", DMARC_INVALID, &pol);
	dmarc_policy_clear(&pol);
}

static void
invalid_tags_are_ignored_and_named(void **state)
{
	struct dmarc_policy pol;

	(void)state;
	/* 6.3: invalid values give way to the defaults; unknown tags are
	 * ignored silently; a repeated tag keeps its first value */
	parse("v=DMARC1; p=reject; pct=101; adkim=x; aspf=; fo=2; ri=soon; "
	    "future=1; rua=not a uri; p=none; junk", DMARC_RECORD, &pol);
	assert_string_equal(pol.p, "reject");
	assert_int_equal(pol.pct, 100);
	assert_false(pol.adkim_strict);
	assert_string_equal(pol.fo, "0");
	assert_null(pol.rua);
	assert_string_equal(pol.invalid, "pct adkim aspf fo ri rua p junk");
	dmarc_policy_clear(&pol);
}

static void
a_record_without_a_valid_policy(void **state)
{
	struct dmarc_policy pol;

	(void)state;
	/* 6.6.3 step 6: p=none when rua= has a valid URI, else nothing */
	parse("v=DMARC1; p=bogus", DMARC_INVALID, &pol);
	assert_string_equal(pol.invalid, "p");
	dmarc_policy_clear(&pol);
	parse("v=DMARC1; rua=mailto:r@example.com", DMARC_RECORD, &pol);
	assert_string_equal(pol.p, "none");
	dmarc_policy_clear(&pol);
	parse("v=DMARC1; p=reject; sp=bogus; rua=mailto:r@example.com",
	    DMARC_RECORD, &pol);
	assert_string_equal(pol.p, "none");
	assert_null(pol.sp);
	dmarc_policy_clear(&pol);
	parse("v=DMARC1; p=reject; sp=bogus", DMARC_INVALID, &pol);
	dmarc_policy_clear(&pol);
}

static void
report_uri_hosts(void **state)
{
	char host[64];

	(void)state;
	assert_int_equal(dmarc_uri_host("mailto:dmarc@Reports.Example.COM",
	    host, sizeof(host)), 0);
	assert_string_equal(host, "reports.example.com");
	assert_int_equal(dmarc_uri_host("mailto:a@b.example!10m", host,
	    sizeof(host)), 0);
	assert_string_equal(host, "b.example");
	assert_int_equal(dmarc_uri_host("mailto:a@b.example?subject=x", host,
	    sizeof(host)), 0);
	assert_string_equal(host, "b.example");
	assert_int_equal(dmarc_uri_host("https://u@collect.example:8443/r",
	    host, sizeof(host)), 0);
	assert_string_equal(host, "collect.example");
	assert_int_equal(dmarc_uri_host("mailto:nobody", host, sizeof(host)),
	    -1);
	assert_int_equal(dmarc_uri_host("dmarc@example.com", host,
	    sizeof(host)), -1);
	assert_int_equal(dmarc_uri_host("mailto:a@", host, sizeof(host)), -1);
	assert_int_equal(dmarc_uri_host("mailto:a@toolong.example.com", host,
	    8), -1);
}

/* ---- Organizational Domains and alignment ---- */

static void
organizational_domains_from_the_psl(void **state)
{
	struct dmarc *dm;
	char org[256];

	(void)state;
	assert_non_null(dm = dmarc_new(unit_dns_lookup, NULL));
	assert_int_equal(dmarc_org_domain(dm, "a.b.example.co.uk", org,
	    sizeof(org)), 0);
	assert_string_equal(org, "example.co.uk");
	assert_int_equal(dmarc_org_domain(dm, "mail.signer.test", org,
	    sizeof(org)), 0);
	assert_string_equal(org, "signer.test");
	/* a public suffix stands for itself */
	assert_int_equal(dmarc_org_domain(dm, "co.uk", org, sizeof(org)), 0);
	assert_string_equal(org, "co.uk");
	assert_int_equal(dmarc_org_domain(dm, "mail.example.com", org, 8), -1);
	dmarc_free(dm);
}

static void
relaxed_and_strict_alignment(void **state)
{
	struct dmarc *dm;

	(void)state;
	assert_non_null(dm = dmarc_new(unit_dns_lookup, NULL));
	assert_true(dmarc_aligned(dm, "example.com", "Example.COM", 1));
	assert_true(dmarc_aligned(dm, "mail.example.com", "example.com", 0));
	assert_true(dmarc_aligned(dm, "a.example.com", "b.example.com", 0));
	assert_false(dmarc_aligned(dm, "mail.example.com", "example.com", 1));
	assert_false(dmarc_aligned(dm, "example.com", "example.net", 0));
	/* different registrants under one public suffix do not align */
	assert_false(dmarc_aligned(dm, "one.co.uk", "two.co.uk", 0));
	assert_false(dmarc_aligned(dm, "alice.github.io", "bob.github.io", 0));
	assert_false(dmarc_aligned(dm, NULL, "example.com", 0));
	assert_false(dmarc_aligned(dm, "bad$name.com", "x.name.com", 0));
	dmarc_free(dm);
}

/* ---- policy discovery and destinations ---- */

static const struct unit_rr zone_example[] = {
	{ "_dmarc.example.com", RESOLVER_TXT, 0, { "v=spf1 -all",
	    "v=DMARC1; p=reject; sp=quarantine; aspf=s; "
	    "rua=mailto:a@example.com,mailto:x@collector.net,"
	    "mailto:y@other.org, https://r.example.com/x" } },
	{ "example.com._report._dmarc.collector.net", RESOLVER_TXT, 0,
	    { "v=DMARC1; rua=mailto:other@collector.net" } },
	{ "example.com._report._dmarc.other.org", RESOLVER_TXT, 0,
	    { "v=spf1" } },
	{ "_dmarc.twice.example", RESOLVER_TXT, 0, { "v=DMARC1; p=none",
	    "v=DMARC1; p=reject" } },
	{ "_dmarc.slow.example", RESOLVER_TXT, UNIT_TIMEOUT, { NULL } },
	{ NULL, 0, 0, { NULL } }
};

static void
check(const char *from, const char *spf_domain, const char *spf_result,
    struct dkim_rec *dkim, struct dmarc_rec *out)
{
	struct spf_rec spf;
	struct dmarc *dm;

	memset(&spf, 0, sizeof(spf));
	spf.checked = spf_domain != NULL;
	spf.domain = (char *)(uintptr_t)spf_domain;
	spf.result = spf_result;
	unit_dns_zone(zone_example);
	assert_non_null(dm = dmarc_new(unit_dns_lookup, NULL));
	assert_int_equal(dmarc_check(dm, from, &spf, dkim, out), 0);
	dmarc_free(dm);
}

static void
subdomain_policy_and_relaxed_dkim(void **state)
{
	struct dkim_sig_rec sigs[2];
	struct dkim_rec dkim;
	struct dmarc_rec m;

	(void)state;
	memset(&dkim, 0, sizeof(dkim));
	memset(sigs, 0, sizeof(sigs));
	sigs[0].domain = (char *)(uintptr_t)"example.net";
	sigs[0].result = "pass";
	sigs[1].domain = (char *)(uintptr_t)"example.com";
	sigs[1].result = "pass";
	dkim.sigs = sigs;
	dkim.nsigs = 2;
	/* SPF passes for bounce.example.com: not aligned under aspf=s */
	check("mail.example.com", "bounce.example.com", "pass", &dkim, &m);
	assert_string_equal(m.result, "pass");
	assert_string_equal(m.org_domain, "example.com");
	assert_string_equal(m.policy_domain, "example.com");
	assert_int_equal(m.spf_aligned, 0);
	assert_int_equal(m.dkim_aligned, 1);
	assert_int_equal(sigs[0].aligned, 0);
	assert_int_equal(sigs[1].aligned, 1);
	/* 6.3 sp=: the Organizational Domain's record for a subdomain */
	assert_string_equal(m.policy, "quarantine");
	assert_string_equal(m.disposition, "none");
	records_dmarc_clear(&m);
}

static void
destinations_and_their_authorisation(void **state)
{
	struct dmarc_rec m;

	(void)state;
	check("example.com", "example.com", "fail", NULL, &m);
	assert_string_equal(m.result, "fail");
	assert_string_equal(m.policy, "reject");
	assert_string_equal(m.disposition, "reject");
	assert_int_equal(m.ndests, 4);
	assert_string_equal(m.dests[0].domain, "example.com");
	assert_int_equal(m.dests[0].external, 0);
	assert_int_equal(m.dests[0].authorized, -1);
	assert_null(m.dests[0].status);
	/* RFC 7489 7.1: v=DMARC1 first authorises; anything else does not */
	assert_string_equal(m.dests[1].domain, "collector.net");
	assert_int_equal(m.dests[1].external, 1);
	assert_int_equal(m.dests[1].authorized, 1);
	assert_string_equal(m.dests[1].status, "noerror");
	assert_int_equal(m.dests[2].authorized, 0);
	assert_string_equal(m.dests[3].uri, "https://r.example.com/x");
	assert_int_equal(m.dests[3].external, 0);
	/* the policy lookup and the two external ones */
	assert_int_equal(unit_dns_lookups(), 3);
	records_dmarc_clear(&m);
}

static void
discovery_failures(void **state)
{
	struct dmarc_rec m;

	(void)state;
	check("twice.example", NULL, NULL, NULL, &m);
	assert_string_equal(m.result, "permerror");
	assert_string_equal(m.error,
	    "2 DMARC records at _dmarc.twice.example (RFC 7489 6.6.3)");
	records_dmarc_clear(&m);
	check("a.slow.example", NULL, NULL, NULL, &m);
	assert_string_equal(m.result, "temperror");
	assert_string_equal(m.error, "TXT _dmarc.slow.example: timeout");
	assert_string_equal(m.org_domain, "slow.example");
	records_dmarc_clear(&m);
	check("nothing.example", NULL, NULL, NULL, &m);
	assert_string_equal(m.result, "none");
	assert_string_equal(m.error,
	    "no DMARC record at _dmarc.nothing.example: nxdomain");
	assert_int_equal(unit_dns_lookups(), 1);
	records_dmarc_clear(&m);
	check(NULL, NULL, NULL, NULL, &m);
	assert_string_equal(m.result, "none");
	assert_string_equal(m.error, "no From domain");
	records_dmarc_clear(&m);
	check("evil\x1b.example", NULL, NULL, NULL, &m);
	assert_string_equal(m.result, "none");
	assert_string_equal(m.from_domain, "evil\\x1b.example");
	assert_int_equal(unit_dns_lookups(), 0);
	records_dmarc_clear(&m);
}

/* ---- DKIM outcomes ---- */

static void
dkim_outcomes_are_named(void **state)
{
	const char *why;

	(void)state;
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED |
	    DKIM_SIGFLAG_PASSED, DKIM_SIGBH_MATCH, DKIM_SIGERROR_OK,
	    DKIM_KEY_FOUND, &why), "pass");
	assert_null(why);
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED |
	    DKIM_SIGFLAG_PASSED, DKIM_SIGBH_MISMATCH, DKIM_SIGERROR_BADSIG,
	    DKIM_KEY_FOUND, &why), "fail");
	assert_string_equal(why, "body hash did not verify (RFC 6376 6.1.3)");
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_BADSIG, DKIM_KEY_FOUND, &why),
	    "fail");
	assert_string_equal(why, "signature did not verify (RFC 6376 6.1.3)");
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_KEYTOOSMALL, DKIM_KEY_FOUND,
	    &why), "policy");
	assert_string_equal(dkim_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_UNKNOWN, DKIM_KEY_TEMP, &why), "temperror");
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_NOKEY, DKIM_KEY_NONE, &why),
	    "permerror");
	assert_string_equal(why, "no key for signature (RFC 6376 6.1.2)");
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_KEYREVOKED, DKIM_KEY_FOUND,
	    &why), "permerror");
	assert_string_equal(why, "key revoked");
	assert_string_equal(dkim_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_EXPIRED, DKIM_KEY_UNKNOWN, &why), "permerror");
	assert_string_equal(why, "signature expired");
	assert_string_equal(dkim_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_UNKNOWN, DKIM_KEY_LONG, &why), "permerror");
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_IGNORE,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_UNKNOWN, DKIM_KEY_UNKNOWN,
	    &why), "neutral");
	/* passed, but an error after the check (t=s subdomain) */
	assert_string_equal(dkim_classify(DKIM_SIGFLAG_PROCESSED |
	    DKIM_SIGFLAG_PASSED, DKIM_SIGBH_MATCH, DKIM_SIGERROR_SUBDOMAIN,
	    DKIM_KEY_FOUND, &why), "permerror");
}

static void
dkim_summary_is_the_best_result(void **state)
{
	struct dkim_sig_rec sigs[3];
	struct dkim_rec r;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(sigs, 0, sizeof(sigs));
	assert_string_equal(dkim_summary(&r), "none");
	r.sigs = sigs;
	sigs[0].result = "permerror";
	sigs[1].result = "fail";
	sigs[2].result = "temperror";
	r.nsigs = 3;
	assert_string_equal(dkim_summary(&r), "fail");
	sigs[2].result = "pass";
	assert_string_equal(dkim_summary(&r), "pass");
	r.nsigs = 1;
	assert_string_equal(dkim_summary(&r), "permerror");
	sigs[0].result = "neutral";
	assert_string_equal(dkim_summary(&r), "neutral");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_tags_are_parsed),
		cmocka_unit_test(defaults_white_space_and_case),
		cmocka_unit_test(not_a_dmarc_record),
		cmocka_unit_test(invalid_tags_are_ignored_and_named),
		cmocka_unit_test(a_record_without_a_valid_policy),
		cmocka_unit_test(report_uri_hosts),
		cmocka_unit_test(organizational_domains_from_the_psl),
		cmocka_unit_test(relaxed_and_strict_alignment),
		cmocka_unit_test(subdomain_policy_and_relaxed_dkim),
		cmocka_unit_test(destinations_and_their_authorisation),
		cmocka_unit_test(discovery_failures),
		cmocka_unit_test(dkim_outcomes_are_named),
		cmocka_unit_test(dkim_summary_is_the_best_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
