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
#include <strings.h>
#include <cmocka.h>

#include "clientdns.h"
#include "resolver.h"

#define TIMEOUT	-1

struct rr {
	const char	*name;
	uint16_t	 type;
	int		 rcode;
	const char	*data[4];
};

static const struct rr *zone;
static unsigned nlookups;

static int
fake_lookup(void *arg, const char *name, uint16_t type,
    struct resolver_answer *a)
{
	const struct rr *r;
	int exists = 0;

	(void)arg;
	nlookups++;
	memset(a, 0, sizeof(*a));
	a->status = RESOLVER_ANSWER;
	for (r = zone; r->name != NULL; r++) {
		if (strcasecmp(r->name, name) != 0)
			continue;
		exists = 1;
		if (r->type != type)
			continue;
		if (r->rcode == TIMEOUT) {
			a->status = RESOLVER_TIMEOUT;
			return 0;
		}
		a->rcode = r->rcode;
		a->data = calloc(4, sizeof(*a->data));
		while (a->n < 4 && r->data[a->n] != NULL) {
			a->data[a->n] = strdup(r->data[a->n]);
			a->n++;
		}
		return 0;
	}
	a->rcode = exists ? RESOLVER_NOERROR : RESOLVER_NXDOMAIN;
	return 0;
}

static void
analyze(const struct rr *z, const char *addr, const char *helo,
    struct clientdns_rec *out)
{
	zone = z;
	nlookups = 0;
	assert_int_equal(clientdns_analyze(fake_lookup, NULL, addr, helo, out),
	    0);
}

static void
rec_clear(struct clientdns_rec *r)
{
	free(r->ptr);
	free(r->helo_addrs);
	memset(r, 0, sizeof(*r));
}

static const struct rr lab[] = {
	{ "25.2.0.192.in-addr.arpa", RESOLVER_PTR, 0,
	    { "other.example", "mta.sender.example" } },
	{ "mta.sender.example", RESOLVER_A, 0, { "192.0.2.25" } },
	{ "mta.sender.example", RESOLVER_AAAA, 0, { "2001:db8::10" } },
	{ "other.example", RESOLVER_A, 0, { "198.51.100.1" } },
	{ "11.2.0.192.in-addr.arpa", RESOLVER_PTR, 0, { "liar.example" } },
	{ "liar.example", RESOLVER_A, 0, { "198.51.100.2" } },
	{ "12.2.0.192.in-addr.arpa", RESOLVER_PTR, 0, { "slow.example" } },
	{ "slow.example", RESOLVER_A, TIMEOUT, { NULL } },
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
	rec_clear(&r);
	/* IPv6 (and IPv4-mapped IPv6 is IPv4) */
	analyze(lab, "2001:db8::10", NULL, &r);
	assert_string_equal(r.ptr, "mta.sender.example");
	assert_int_equal(r.fcrdns, 1);
	assert_string_equal(r.helo_status, "none");
	assert_int_equal(r.helo_resolves, -1);
	rec_clear(&r);
	analyze(lab, "::ffff:192.0.2.25", NULL, &r);
	assert_int_equal(r.fcrdns, 1);
	rec_clear(&r);
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
	rec_clear(&r);
	analyze(lab, "192.0.2.99", "nx.sender.example", &r);
	assert_null(r.ptr);
	assert_string_equal(r.ptr_status, "nxdomain");
	assert_int_equal(r.fcrdns, 0);
	assert_int_equal(r.helo_resolves, 0);
	assert_string_equal(r.helo_status, "nxdomain");
	rec_clear(&r);
}

static void
failed_lookups_leave_it_unknown(void **state)
{
	static const struct rr z[] = {
		{ "25.2.0.192.in-addr.arpa", RESOLVER_PTR, 2, { NULL } },
		{ "mta.sender.example", RESOLVER_A, TIMEOUT, { NULL } },
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
	rec_clear(&r);
	analyze(lab, "192.0.2.12", NULL, &r);
	assert_int_equal(r.fcrdns, -1);
	rec_clear(&r);
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
