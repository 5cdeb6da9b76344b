/*
 * Unit tests of the SPF analyzer against a table of DNS answers: results,
 * the RFC 7208 4.6.4 accounting (terms across includes, MX targets, void
 * lookups, exp=), macros, the identities, and which lookups were made.
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "records.h"
#include "resolver.h"
#include "spf.h"
#include "unit_helpers.h"

/* check_host() for IDENTITY against ZONE; the result in *OUT. */
static void
check(const struct unit_rr *z, enum spf_identity id, const char *client,
    const char *helo, const char *mail_from, struct spf_rec *out)
{
	struct spf *spf;

	unit_dns_zone(z);
	assert_non_null(spf = spf_new(unit_dns_lookup, NULL,
	    "mx.measure.test"));
	assert_int_equal(spf_check(spf, id, client, helo, mail_from, out), 0);
	spf_free(spf);
}

static void
mailfrom(const struct unit_rr *z, const char *from, struct spf_rec *out)
{
	check(z, SPF_MAILFROM, "192.0.2.10", "mta.sender.example", from, out);
}

/*
 * The MAIL FROM check of FROM against Z is RESULT, with LOOKUPS terms and
 * VOIDS void lookups (-1: not checked).  The record into *OUT, or freed
 * here (OUT NULL).
 */
static void
expect(const struct unit_rr *z, const char *from, const char *result,
    int lookups, int voids, struct spf_rec *out)
{
	struct spf_rec r;

	mailfrom(z, from, &r);
	assert_string_equal(r.result, result);
	if (lookups >= 0)
		assert_int_equal(r.dns_lookups, lookups);
	if (voids >= 0)
		assert_int_equal(r.void_lookups, voids);
	if (out != NULL)
		*out = r;
	else
		records_spf_clear(&r);
}

static void
pass_for_a_listed_network_without_lookups(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0,
		    { "some other text", "v=spf1 ip4:192.0.2.0/24 -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	mailfrom(z, "alice@Sender.Example", &r);
	assert_int_equal(r.checked, 1);
	assert_string_equal(r.result, "pass");
	assert_string_equal(r.domain, "sender.example");
	assert_string_equal(r.record, "v=spf1 ip4:192.0.2.0/24 -all");
	assert_int_equal(r.dns_lookups, 0);
	assert_int_equal(r.void_lookups, 0);
	assert_null(r.error);
	assert_null(r.explanation);
	/* RFC 7208 3.1: never the SPF RR type (99) */
	assert_false(unit_dns_queried(99, "sender.example"));
	records_spf_clear(&r);
}

static void
fail_softfail_neutral_and_the_default(void **state)
{
	static const struct unit_rr z[] = {
		{ "fail.example", RESOLVER_TXT, 0, { "v=spf1 -all" } },
		{ "soft.example", RESOLVER_TXT, 0, { "v=spf1 ~all" } },
		{ "neutral.example", RESOLVER_TXT, 0, { "v=spf1 ?all" } },
		{ "end.example", RESOLVER_TXT, 0, { "v=spf1 ip4:198.51.100.1" } },
		{ NULL, 0, 0, { NULL } },
	};
	static const char *const want[][2] = {
		{ "a@fail.example", "fail" }, { "a@soft.example", "softfail" },
		{ "a@neutral.example", "neutral" },
		{ "a@end.example", "neutral" },	/* RFC 7208 4.7 */
	};
	struct spf_rec r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		mailfrom(z, want[i][0], &r);
		assert_string_equal(r.result, want[i][1]);
		assert_null(r.explanation);	/* no exp=: none of ours */
		records_spf_clear(&r);
	}
}

static void
fail_keeps_the_expanded_explanation_not_counted(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0,
		    { "v=spf1 -all exp=why.sender.example" } },
		{ "why.sender.example", RESOLVER_TXT, 0,
		    { "%{i} may not send for %{d}" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "alice@sender.example", "fail", -1, -1, &r);
	assert_string_equal(r.explanation,
	    "192.0.2.10 may not send for sender.example");
	assert_int_equal(r.dns_lookups, 0);
	records_spf_clear(&r);
}

/* "v=spf1 a:h1.example ... a:hN.example <rest>" */
static void
terms(char *buf, size_t len, int n, const char *rest)
{
	size_t o;
	int i;

	o = (size_t)snprintf(buf, len, "v=spf1");
	for (i = 1; i <= n; i++)
		o += (size_t)snprintf(buf + o, len - o, " a:h%d.example", i);
	(void)snprintf(buf + o, len - o, " %s", rest);
}

static const struct unit_rr hosts[] = {
	{ "h1.example", RESOLVER_A, 0, { "198.51.100.1" } },
	{ "h2.example", RESOLVER_A, 0, { "198.51.100.2" } },
	{ "h3.example", RESOLVER_A, 0, { "198.51.100.3" } },
	{ "h4.example", RESOLVER_A, 0, { "198.51.100.4" } },
	{ "h5.example", RESOLVER_A, 0, { "198.51.100.5" } },
	{ "h6.example", RESOLVER_A, 0, { "198.51.100.6" } },
	{ "h7.example", RESOLVER_A, 0, { "198.51.100.7" } },
	{ "h8.example", RESOLVER_A, 0, { "198.51.100.8" } },
	{ "h9.example", RESOLVER_A, 0, { "198.51.100.9" } },
	{ "h10.example", RESOLVER_A, 0, { "198.51.100.10" } },
	{ "h11.example", RESOLVER_A, 0, { "192.0.2.10" } },
};
#define NHOSTS	(sizeof(hosts) / sizeof(hosts[0]))

/* The N rows of MORE, then HOSTS: a row of MORE wins over a host's. */
static struct unit_rr *
zone_with(const struct unit_rr *more, size_t n)
{
	struct unit_rr *z;

	assert_non_null(z = calloc(n + NHOSTS + 1, sizeof(*z)));
	memcpy(z, more, n * sizeof(*more));
	memcpy(z + n, hosts, sizeof(hosts));
	return z;
}

static void
ten_terms_are_allowed_eleven_are_permerror(void **state)
{
	char txt[512];
	const struct unit_rr rec = { "sender.example", RESOLVER_TXT, 0,
	    { txt } };
	struct spf_rec r;
	struct unit_rr *z;

	(void)state;
	terms(txt, sizeof(txt), 10, "-all");
	z = zone_with(&rec, 1);
	expect(z, "alice@sender.example", "fail", 10, -1, &r);
	assert_null(r.error);
	records_spf_clear(&r);
	free(z);

	/* the 11th term would match: the limit comes first (4.6.4) */
	terms(txt, sizeof(txt), 11, "-all");
	z = zone_with(&rec, 1);
	expect(z, "alice@sender.example", "permerror", 11, -1, &r);
	assert_non_null(strstr(r.error, "more than 10"));
	assert_true(unit_dns_queried(RESOLVER_A, "h10.example"));
	assert_false(unit_dns_queried(RESOLVER_A, "h11.example"));
	records_spf_clear(&r);
	free(z);
}

static void
terms_of_included_records_count_toward_the_limit(void **state)
{
	static const struct unit_rr more[] = {
		{ "sender.example", RESOLVER_TXT, 0, { "v=spf1 "
		    "include:i1.example include:i2.example -all" } },
		{ "i1.example", RESOLVER_TXT, 0,
		    { "v=spf1 a:h1.example a:h2.example a:h3.example "
		    "a:h4.example ?all" } },
		{ "i2.example", RESOLVER_TXT, 0,
		    { "v=spf1 a:h5.example a:h6.example a:h7.example "
		    "a:h8.example a:h9.example ?all" } },
		{ "h9.example", RESOLVER_A, 0, { "192.0.2.10" } },
	};
	struct spf_rec r;
	struct unit_rr *z;

	(void)state;
	z = zone_with(more, sizeof(more) / sizeof(more[0]));
	/* 2 includes + 4 + 5: libspf2 alone counts each record apart */
	expect(z, "alice@sender.example", "permerror", 11, -1, &r);
	assert_false(unit_dns_queried(RESOLVER_A, "h9.example"));
	records_spf_clear(&r);
	free(z);
}

static void
mx_targets_are_not_terms(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0, { "v=spf1 mx -all" } },
		{ "sender.example", RESOLVER_MX, 0,
		    { "mx1.sender.example", "mx2.sender.example",
		    "mx3.sender.example" } },
		{ "mx1.sender.example", RESOLVER_A, 0, { "198.51.100.1" } },
		{ "mx2.sender.example", RESOLVER_A, 0, { "198.51.100.2" } },
		{ "mx3.sender.example", RESOLVER_A, 0, { "192.0.2.10" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "alice@sender.example", "pass", 1, -1, &r);
	assert_true(unit_dns_queried(RESOLVER_A, "mx3.sender.example"));
	records_spf_clear(&r);
}

static void
a_third_void_lookup_is_permerror(void **state)
{
	static const struct unit_rr z[] = {
		{ "two.example", RESOLVER_TXT, 0, { "v=spf1 a:nx1.example "
		    "a:nx2.example ip4:192.0.2.10 -all" } },
		{ "three.example", RESOLVER_TXT, 0, { "v=spf1 a:nx1.example "
		    "a:nx2.example mx:nodata.example ip4:192.0.2.10 -all" } },
		{ "nodata.example", RESOLVER_TXT, 0, { "not spf" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "a@two.example", "pass", -1, 2, NULL);
	/* NXDOMAIN twice, then NOERROR without MX: the third void */
	expect(z, "a@three.example", "permerror", 3, 3, &r);
	assert_non_null(strstr(r.error, "void"));
	records_spf_clear(&r);
}

static void
macros_are_expanded_into_the_query(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0,
		    { "v=spf1 exists:%{i}.%{l}._spf.%{d} -all" } },
		{ "192.0.2.10.alice._spf.sender.example", RESOLVER_A, 0,
		    { "127.0.0.2" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "alice@sender.example", "pass", 1, -1, NULL);
	expect(z, "bob@sender.example", "fail", -1, -1, &r);
	assert_true(unit_dns_queried(RESOLVER_A,
	    "192.0.2.10.bob._spf.sender.example"));
	assert_int_equal(r.void_lookups, 1);
	records_spf_clear(&r);
}

static void
long_expansions_lose_labels_on_the_left(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0,
		    { "v=spf1 exists:%{l}%{l}%{l}%{l}%{l}.%{d} -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	char from[128];
	struct spf_rec r;

	(void)state;
	/* RFC 7208 7.3: 5 x 64 + 15 characters, more than 253 */
	memset(from, 'a', 64);
	(void)snprintf(from + 64, sizeof(from) - 64, "@sender.example");
	expect(z, from, "fail", -1, -1, &r);
	assert_true(unit_dns_queried(RESOLVER_A, "sender.example"));
	assert_int_equal(r.void_lookups, 1);
	records_spf_clear(&r);
}

static void
a_loopback_client_gets_no_free_pass(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0, { "v=spf1 -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	check(z, SPF_MAILFROM, "127.0.0.1", "mta.sender.example",
	    "alice@sender.example", &r);
	assert_string_equal(r.result, "fail");
	records_spf_clear(&r);
	check(z, SPF_MAILFROM, "::1", "mta.sender.example",
	    "alice@sender.example", &r);
	assert_string_equal(r.result, "fail");
	records_spf_clear(&r);
}

static void
null_path_and_helo_check_postmaster_at_helo(void **state)
{
	static const struct unit_rr z[] = {
		{ "mta.sender.example", RESOLVER_TXT, 0,
		    { "v=spf1 exists:%{l}.%{h}.l.example -all" } },
		{ "postmaster.mta.sender.example.l.example", RESOLVER_A, 0,
		    { "127.0.0.2" } },
		{ "sender.example", RESOLVER_TXT, 0, { "v=spf1 -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	/* RFC 7208 2.4: <> is postmaster@HELO */
	mailfrom(z, "", &r);
	assert_string_equal(r.domain, "mta.sender.example");
	assert_string_equal(r.result, "pass");
	records_spf_clear(&r);
	/* RFC 7208 2.3: the HELO identity, whatever MAIL FROM was */
	check(z, SPF_HELO, "192.0.2.10", "mta.sender.example",
	    "alice@sender.example", &r);
	assert_string_equal(r.domain, "mta.sender.example");
	assert_string_equal(r.result, "pass");
	records_spf_clear(&r);
}

static void
no_record_and_malformed_domains_are_none(void **state)
{
	static const struct unit_rr z[] = {
		{ "text.example", RESOLVER_TXT, 0, { "v=spf10 -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "a@text.example", "none", -1, -1, NULL);
	expect(z, "a@nx.example", "none", -1, -1, &r);
	assert_non_null(strstr(r.error, "nxdomain"));
	records_spf_clear(&r);
	/* RFC 7208 4.3: not looked up at all */
	check(z, SPF_HELO, "192.0.2.10", "[192.0.2.10]", "a@x.example", &r);
	assert_string_equal(r.result, "none");
	assert_string_equal(r.domain, "[192.0.2.10]");
	assert_int_equal(unit_dns_lookups(), 0);
	records_spf_clear(&r);
	check(z, SPF_HELO, "192.0.2.10", "localhost", "a@x.example", &r);
	assert_string_equal(r.result, "none");
	assert_int_equal(unit_dns_lookups(), 0);
	records_spf_clear(&r);
	check(z, SPF_MAILFROM, "192.0.2.10", NULL, "", &r);
	assert_string_equal(r.result, "none");
	assert_null(r.domain);
	records_spf_clear(&r);
}

static void
syntax_errors_and_two_records_are_permerror(void **state)
{
	static const struct unit_rr z[] = {
		{ "bad.example", RESOLVER_TXT, 0,
		    { "v=spf1 ip4:192.0.2.300 -all" } },
		{ "two.example", RESOLVER_TXT, 0,
		    { "v=spf1 -all", "v=spf1 +all" } },
		{ "inc.example", RESOLVER_TXT, 0,
		    { "v=spf1 include:nx.example -all" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "a@bad.example", "permerror", -1, -1, &r);
	assert_string_equal(r.record, "v=spf1 ip4:192.0.2.300 -all");
	assert_non_null(r.error);
	records_spf_clear(&r);
	expect(z, "a@two.example", "permerror", -1, -1, &r);
	assert_null(r.record);
	records_spf_clear(&r);
	/* RFC 7208 5.2: an include without a record */
	expect(z, "a@inc.example", "permerror", 1, 1, NULL);
}

static void
timeouts_and_servfail_are_temperror(void **state)
{
	static const struct unit_rr z[] = {
		{ "slow.example", RESOLVER_TXT, UNIT_TIMEOUT, { NULL } },
		{ "sf.example", RESOLVER_TXT, 2, { NULL } },
		{ "late.example", RESOLVER_TXT, 0,
		    { "v=spf1 a:h.slow.example -all" } },
		{ "h.slow.example", RESOLVER_A, UNIT_TIMEOUT, { NULL } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	expect(z, "a@slow.example", "temperror", -1, -1, &r);
	assert_string_equal(r.error, "TXT slow.example: timeout");
	records_spf_clear(&r);
	expect(z, "a@sf.example", "temperror", -1, -1, &r);
	assert_string_equal(r.error, "TXT sf.example: servfail");
	records_spf_clear(&r);
	expect(z, "a@late.example", "temperror", -1, -1, &r);
	assert_string_equal(r.error, "A h.slow.example: timeout");
	assert_int_equal(r.dns_lookups, 1);
	records_spf_clear(&r);
}

static void
hostile_text_is_stored_escaped(void **state)
{
	static const struct unit_rr z[] = {
		{ "sender.example", RESOLVER_TXT, 0,
		    { "v=spf1 -all exp=e.sender.example \x1b[31m" } },
		{ "e.sender.example", RESOLVER_TXT, 0, { "bad\x01text" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct spf_rec r;

	(void)state;
	mailfrom(z, "alice@sender.example", &r);
	assert_non_null(r.record);
	assert_null(strchr(r.record, '\x1b'));
	assert_non_null(strstr(r.record, "\\x1b"));
	records_spf_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pass_for_a_listed_network_without_lookups),
		cmocka_unit_test(fail_softfail_neutral_and_the_default),
		cmocka_unit_test(
		    fail_keeps_the_expanded_explanation_not_counted),
		cmocka_unit_test(ten_terms_are_allowed_eleven_are_permerror),
		cmocka_unit_test(
		    terms_of_included_records_count_toward_the_limit),
		cmocka_unit_test(mx_targets_are_not_terms),
		cmocka_unit_test(a_third_void_lookup_is_permerror),
		cmocka_unit_test(macros_are_expanded_into_the_query),
		cmocka_unit_test(long_expansions_lose_labels_on_the_left),
		cmocka_unit_test(a_loopback_client_gets_no_free_pass),
		cmocka_unit_test(null_path_and_helo_check_postmaster_at_helo),
		cmocka_unit_test(no_record_and_malformed_domains_are_none),
		cmocka_unit_test(syntax_errors_and_two_records_are_permerror),
		cmocka_unit_test(timeouts_and_servfail_are_temperror),
		cmocka_unit_test(hostile_text_is_stored_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
