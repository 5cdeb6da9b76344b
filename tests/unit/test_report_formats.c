/* The verdict rules over synthetic rows (being written). */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "report.h"

static void
test_table(void **state)
{
	size_t n;

	(void)state;
	assert_non_null(report_rules(&n));
	assert_true(n > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
