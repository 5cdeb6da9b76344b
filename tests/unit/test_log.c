/*
 * Unit tests of the escaping functions of log.c: log_escape (stored
 * values: printable ASCII kept) and log_field (log fields: '"' and ' '
 * escaped too, so that a peer cannot forge a key=value field).
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

#define ESC(fn, buf, s)	fn(buf, sizeof(buf), s, sizeof(s) - 1)

static void
log_escape_keeps_printable_ascii_quotes_and_spaces(void **state)
{
	char buf[64];

	(void)state;
	ESC(log_escape, buf, "mx.example \"x\" a=b");
	assert_string_equal(buf, "mx.example \"x\" a=b");
}

static void
log_escape_hex_escapes_controls_high_bytes_backslash_and_nul(void **state)
{
	char buf[64];

	(void)state;
	ESC(log_escape, buf, "a\r\n\x1b\\\xff\0z");
	assert_string_equal(buf, "a\\x0d\\x0a\\x1b\\x5c\\xff\\x00z");
}

static void
log_field_escapes_quote_and_space(void **state)
{
	char buf[64];

	(void)state;
	ESC(log_field, buf, "x\" status=200");
	assert_string_equal(buf, "x\\x22\\x20status=200");
	ESC(log_field, buf, "a\tb\\c");
	assert_string_equal(buf, "a\\x09b\\x5cc");
}

static void
log_field_output_has_no_quote_space_or_control(void **state)
{
	char src[256], buf[4 * sizeof(src) + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (char)i;
	log_field(buf, sizeof(buf), src, sizeof(src));
	assert_int_equal(strlen(buf), 4 * 256 - 3 * (0x7f - 0x20 - 3));
	for (i = 0; buf[i] != '\0'; i++) {
		assert_true(buf[i] > 0x20 && buf[i] < 0x7f);
		assert_true(buf[i] != '"');
	}
}

static void
escaping_truncates_whole_escapes_and_terminates(void **state)
{
	char buf[6], small[5];

	(void)state;
	ESC(log_escape, buf, "abcdefgh");
	assert_string_equal(buf, "abcde");
	ESC(log_field, small, "a b");
	assert_string_equal(small, "a");	/* no half "\x2" */
	ESC(log_field, small, "  ");
	assert_string_equal(small, "\\x20");
	buf[0] = 'q';
	log_field(buf, 1, "abc", 3);
	assert_string_equal(buf, "");
	buf[0] = 'q';
	log_escape(buf, 0, "abc", 3);		/* nothing written */
	assert_int_equal(buf[0], 'q');
}

static void
log_field_escaped_matches_log_field_of_the_original(void **state)
{
	static const char raw[] = "lab el\"\x01\\.x";
	char stored[64], once[64], twice[64];

	(void)state;
	ESC(log_escape, stored, raw);
	ESC(log_field, once, raw);
	log_field_escaped(twice, sizeof(twice), stored);
	assert_string_equal(twice, once);
	assert_string_equal(once, "lab\\x20el\\x22\\x01\\x5c.x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    log_escape_keeps_printable_ascii_quotes_and_spaces),
		cmocka_unit_test(
		    log_escape_hex_escapes_controls_high_bytes_backslash_and_nul),
		cmocka_unit_test(log_field_escapes_quote_and_space),
		cmocka_unit_test(log_field_output_has_no_quote_space_or_control),
		cmocka_unit_test(escaping_truncates_whole_escapes_and_terminates),
		cmocka_unit_test(
		    log_field_escaped_matches_log_field_of_the_original),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
