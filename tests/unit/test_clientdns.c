/*
 * Unit tests of the client analyzer against a table of DNS answers: PTR
 * names, forward confirmation and the HELO name.
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clientdns.h"
#include "records.h"
#include "resolver.h"
#include "unit_helpers.h"

static void
analyze(const struct unit_rr *z, const char *addr, const char *helo,
    struct clientdns_rec *out)
{
	unit_dns_zone(z);
	assert_int_equal(clientdns_analyze(unit_dns_lookup, NULL, addr, helo,
	    out), 0);
}

static const struct unit_rr lab[] = {
	{ "25.2.0.192.in-addr.arpa", RESOLVER_PTR, 0,
	    { "other.example", "mta.sender.example" } },
	{ "mta.sender.example", RESOLVER_A, 0, { "192.0.2.25" } },
	{ "mta.sender.example", RESOLVER_AAAA, 0, { "2001:db8::10" } },
	{ "other.example", RESOLVER_A, 0, { "198.51.100.1" } },
	{ "11.2.0.192.in-addr.arpa", RESOLVER_PTR, 0, { "liar.example" } },
	{ "liar.example", RESOLVER_A, 0, { "198.51.100.2" } },
	{ "12.2.0.192.in-addr.arpa", RESOLVER_PTR, 0, { "slow.example" } },
	{ "slow.example", RESOLVER_A, UNIT_TIMEOUT, { NULL } },
	{ "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6.arpa", RESOLVER_PTR, 0, { "mta.sender.example" } },
	{ NULL, 0, 0, { NULL } },
};

static void
ptr_name_that_resolves_back_is_fcrdns(void **state)
{
	struct clientdns_rec r;

	(void)state;
	analyze(lab, "192.0.2.25", "mta.sender.example", &r);
	assert_int_equal(r.checked, 1);
	assert_string_equal(r.ptr, "other.example mta.sender.example");
	assert_string_equal(r.ptr_status, "noerror");
	assert_int_equal(r.fcrdns, 1);
	assert_int_equal(r.helo_resolves, 1);
	assert_string_equal(r.helo_addrs, "192.0.2.25 2001:db8::10");
	assert_string_equal(r.helo_status, "noerror");
	records_clientdns_clear(&r);
	/* IPv6 (and IPv4-mapped IPv6 is IPv4) */
	analyze(lab, "2001:db8::10", NULL, &r);
	assert_string_equal(r.ptr, "mta.sender.example");
	assert_int_equal(r.fcrdns, 1);
	assert_string_equal(r.helo_status, "none");
	assert_int_equal(r.helo_resolves, -1);
	records_clientdns_clear(&r);
	analyze(lab, "::ffff:192.0.2.25", NULL, &r);
	assert_int_equal(r.fcrdns, 1);
	records_clientdns_clear(&r);
}

static void
ptr_that_does_not_lead_back_or_is_missing(void **state)
{
	struct clientdns_rec r;

	(void)state;
	analyze(lab, "192.0.2.11", "[192.0.2.11]", &r);
	assert_string_equal(r.ptr, "liar.example");
	assert_int_equal(r.fcrdns, 0);
	assert_string_equal(r.helo_status, "literal");
	assert_int_equal(r.helo_resolves, -1);
	assert_null(r.helo_addrs);
	records_clientdns_clear(&r);
	analyze(lab, "192.0.2.99", "nx.sender.example", &r);
	assert_null(r.ptr);
	assert_string_equal(r.ptr_status, "nxdomain");
	assert_int_equal(r.fcrdns, 0);
	assert_int_equal(r.helo_resolves, 0);
	assert_string_equal(r.helo_status, "nxdomain");
	records_clientdns_clear(&r);
}

static void
failed_lookups_leave_it_unknown(void **state)
{
	static const struct unit_rr z[] = {
		{ "25.2.0.192.in-addr.arpa", RESOLVER_PTR, 2, { NULL } },
		{ "mta.sender.example", RESOLVER_A, UNIT_TIMEOUT, { NULL } },
		{ "mta.sender.example", RESOLVER_AAAA, 0, { "2001:db8::1" } },
		{ NULL, 0, 0, { NULL } },
	};
	struct clientdns_rec r;

	(void)state;
	analyze(z, "192.0.2.25", "mta.sender.example", &r);
	assert_string_equal(r.ptr_status, "servfail");
	assert_int_equal(r.fcrdns, -1);
	/* it resolves, though one lookup failed */
	assert_int_equal(r.helo_resolves, 1);
	assert_string_equal(r.helo_addrs, "2001:db8::1");
	assert_string_equal(r.helo_status, "timeout");
	records_clientdns_clear(&r);
	analyze(lab, "192.0.2.12", NULL, &r);
	assert_int_equal(r.fcrdns, -1);
	records_clientdns_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ptr_name_that_resolves_back_is_fcrdns),
		cmocka_unit_test(ptr_that_does_not_lead_back_or_is_missing),
		cmocka_unit_test(failed_lookups_leave_it_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
