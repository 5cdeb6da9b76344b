/*
 * Unit tests of the connection counter: the total and per-address limits
 * as SMTP, DNS and the web listener apply them (the connection itself
 * counted, the others compared), addresses learnt late, and many
 * addresses in one table.
 */
#include "build.h"

#include <stdio.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "connlimit.h"

#define A	"192.0.2.1"
#define B	"2001:db8::1"

/* Counts a connection from ADDR (NULL: not known yet). */
static void
add(struct connlimit *cl, const char *addr)
{
	assert_int_equal(connlimit_add(cl, addr), 0);
}

/* The address of a connection counted without one. */
static void
learn(struct connlimit *cl, const char *addr)
{
	assert_int_equal(connlimit_add_addr(cl, addr), 0);
}

static void
total_is_reached_when_the_others_fill_it(void **state)
{
	struct connlimit *cl = connlimit_new(2, 10);

	(void)state;
	add(cl, A);
	assert_false(connlimit_total_reached(cl));
	add(cl, B);
	assert_false(connlimit_total_reached(cl));
	add(cl, B);
	assert_true(connlimit_total_reached(cl));
	assert_int_equal(connlimit_count(cl), 3);
	connlimit_remove(cl, A);
	assert_false(connlimit_total_reached(cl));
	assert_int_equal(connlimit_count(cl), 2);
	connlimit_free(cl);
}

static void
per_address_limit_counts_only_that_address(void **state)
{
	struct connlimit *cl = connlimit_new(100, 2);

	(void)state;
	add(cl, A);
	add(cl, A);
	assert_false(connlimit_addr_reached(cl, A));
	add(cl, B);
	assert_false(connlimit_addr_reached(cl, B));
	add(cl, A);
	assert_true(connlimit_addr_reached(cl, A));
	assert_false(connlimit_addr_reached(cl, B));
	assert_false(connlimit_addr_reached(cl, "198.51.100.7"));
	connlimit_remove(cl, A);
	assert_false(connlimit_addr_reached(cl, A));
	connlimit_free(cl);
}

static void
zero_limits_refuse_every_connection(void **state)
{
	struct connlimit *cl = connlimit_new(0, 0);

	(void)state;
	add(cl, A);
	assert_true(connlimit_total_reached(cl));
	assert_true(connlimit_addr_reached(cl, A));
	connlimit_remove(cl, A);
	assert_int_equal(connlimit_count(cl), 0);
	connlimit_free(cl);
}

/* The web listener counts a connection before it knows the address. */
static void
address_learnt_later_counts_from_then_on(void **state)
{
	struct connlimit *cl = connlimit_new(2, 1);

	(void)state;
	add(cl, NULL);
	add(cl, NULL);
	assert_false(connlimit_total_reached(cl));
	assert_false(connlimit_addr_reached(cl, A));
	learn(cl, A);
	assert_false(connlimit_addr_reached(cl, A));
	learn(cl, A);
	assert_true(connlimit_addr_reached(cl, A));
	add(cl, NULL);
	assert_true(connlimit_total_reached(cl));
	connlimit_remove(cl, NULL);
	connlimit_remove(cl, A);
	assert_false(connlimit_addr_reached(cl, A));
	assert_int_equal(connlimit_count(cl), 1);
	connlimit_remove(cl, A);
	assert_int_equal(connlimit_count(cl), 0);
	connlimit_free(cl);
}

/* More addresses than buckets; freed with connections still counted. */
static void
many_addresses_are_counted_apart(void **state)
{
	struct connlimit *cl = connlimit_new(100000, 1);
	char addr[64];
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		add(cl, addr);
	}
	for (i = 0; i < 3000; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		assert_false(connlimit_addr_reached(cl, addr));
	}
	add(cl, "2001:db8::7ff");
	assert_true(connlimit_addr_reached(cl, "2001:db8::7ff"));
	assert_false(connlimit_addr_reached(cl, "2001:db8::7fe"));
	for (i = 0; i < 1500; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		connlimit_remove(cl, addr);
	}
	assert_int_equal(connlimit_count(cl), 1501);
	assert_true(connlimit_addr_reached(cl, "2001:db8::7ff"));
	connlimit_free(cl);
	connlimit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(total_is_reached_when_the_others_fill_it),
		cmocka_unit_test(per_address_limit_counts_only_that_address),
		cmocka_unit_test(zero_limits_refuse_every_connection),
		cmocka_unit_test(address_learnt_later_counts_from_then_on),
		cmocka_unit_test(many_addresses_are_counted_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
