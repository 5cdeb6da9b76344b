/*
 * Unit tests of the address domain the header analyzer takes from From
 * and MAIL FROM: name-addr and addr-spec, a final dot, and bytes that
 * make no domain (a NUL the fuzz target found cutting the copy short).
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "headers.h"

static int
domain(const char *value, size_t len, char *buf)
{
	return headers_address_domain(value, len, buf, 256);
}

static void
domain_of_name_addr_and_addr_spec(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(domain("Ann <ann@Example.ORG>", 21, buf), 0);
	assert_string_equal(buf, "example.org");
	assert_int_equal(domain("ann@example.org., bob@x", 23, buf), 0);
	assert_string_equal(buf, "example.org");
	assert_int_equal(domain("no address here", 15, buf), -1);
}

static void
nul_or_control_byte_makes_no_domain(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(domain("a@ex\0ample.org", 14, buf), -1);
	assert_int_equal(domain("a@\0x", 4, buf), -1);
	assert_int_equal(domain("a@ex\x01" "ample.org", 14, buf), -1);
	assert_int_equal(domain("a@ex\x7f" "ample.org", 14, buf), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(domain_of_name_addr_and_addr_spec),
		cmocka_unit_test(nul_or_control_byte_makes_no_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
