/*
 * Unit tests of smtp_parse.c: bounded line framing on an evbuffer (the
 * limit counts the CRLF), verbs, paths with source routes and quoted
 * local parts, ESMTP parameters, and the DATA end and dot-unstuffing;
 * the extensions' parsers: BDAT, DSN values, xtext, UTF-8, chunk scan.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "smtp_parse.h"

#define LIMIT	1000	/* RFC 5321 4.5.3.1.6, the daemon's default */

static int
setup_buffer(void **state)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL)
		return -1;
	*state = b;
	return 0;
}

static int
teardown_buffer(void **state)
{
	evbuffer_free(*state);
	return 0;
}

/* Appends N copies of C to B. */
static void
add_fill(struct evbuffer *b, char c, size_t n)
{
	char *s;

	assert_non_null(s = malloc(n));
	memset(s, c, n);
	assert_int_equal(evbuffer_add(b, s, n), 0);
	free(s);
}

static void
add_str(struct evbuffer *b, const char *s)
{
	assert_int_equal(evbuffer_add(b, s, strlen(s)), 0);
}

/* Asserts a whole line of LEN bytes and EOL_LEN bytes of end of line. */
static void
assert_line(struct evbuffer *b, size_t max, size_t want_len,
    size_t want_eol)
{
	size_t len = 0xdead, eol = 0xbeef;

	assert_int_equal(smtp_parse_line(b, max, &len, &eol), LINE_OK);
	assert_int_equal(len, want_len);
	assert_int_equal(eol, want_eol);
}

static void
assert_status(struct evbuffer *b, size_t max, enum line_status want)
{
	size_t len, eol;

	assert_int_equal(smtp_parse_line(b, max, &len, &eol), want);
}

/* ---- smtp_parse_line ---- */

static void
line_crlf_gives_length_without_eol(void **state)
{
	struct evbuffer *b = *state;
	char line[16];

	add_str(b, "EHLO x\r\n");
	assert_line(b, LIMIT, 6, 2);
	/* The line stays in the buffer. */
	assert_int_equal(evbuffer_get_length(b), 8);
	assert_int_equal(evbuffer_copyout(b, line, 6), 6);
	assert_memory_equal(line, "EHLO x", 6);
}

static void
line_bare_lf_has_eol_len_1(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "EHLO x\n");
	assert_line(b, LIMIT, 6, 1);
	assert_int_equal(evbuffer_get_length(b), 7);
}

static void
line_empty_line_has_length_zero(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "\r\n");
	assert_line(b, LIMIT, 0, 2);
	evbuffer_drain(b, 2);
	add_str(b, "\n");
	assert_line(b, LIMIT, 0, 1);
}

static void
line_bare_cr_is_part_of_the_line(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "a\rb\r\n");
	assert_line(b, LIMIT, 3, 2);
	evbuffer_drain(b, 5);
	add_str(b, "\r\r\n");
	assert_line(b, LIMIT, 1, 2);
	evbuffer_drain(b, 3);
	add_str(b, "a\r\rb\n");
	assert_line(b, LIMIT, 4, 1);
}

static void
line_empty_buffer_is_more(void **state)
{
	assert_status(*state, LIMIT, LINE_MORE);
}

static void
line_without_eol_is_more(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "EHLO x");
	assert_status(b, LIMIT, LINE_MORE);
	/* A CR alone is not yet an end of line. */
	add_str(b, "\r");
	assert_status(b, LIMIT, LINE_MORE);
	add_str(b, "\n");
	assert_line(b, LIMIT, 6, 2);
}

static void
line_at_limit_with_crlf_is_ok(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 2);
	add_str(b, "\r\n");
	assert_line(b, LIMIT, LIMIT - 2, 2);
}

static void
line_one_over_limit_is_too_long(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 1);
	add_str(b, "\r\n");
	assert_status(b, LIMIT, LINE_TOO_LONG);
}

static void
line_with_bare_lf_at_limit_is_ok(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 1);
	add_str(b, "\n");
	assert_line(b, LIMIT, LIMIT - 1, 1);
}

static void
line_with_bare_lf_one_over_limit_is_too_long(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT);
	add_str(b, "\n");
	assert_status(b, LIMIT, LINE_TOO_LONG);
}

/* Below the limit an unterminated line may still end within it. */
static void
line_unterminated_below_limit_is_more(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 1);
	assert_status(b, LIMIT, LINE_MORE);
	/* ... with a bare LF it does. */
	add_str(b, "\n");
	assert_line(b, LIMIT, LIMIT - 1, 1);
}

static void
line_crlf_split_at_the_limit_completes(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 2);
	add_str(b, "\r");
	assert_status(b, LIMIT, LINE_MORE);
	add_str(b, "\n");
	assert_line(b, LIMIT, LIMIT - 2, 2);
}

/* LIMIT bytes without an end of line can never become a line. */
static void
line_unterminated_at_limit_is_too_long(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT);
	assert_status(b, LIMIT, LINE_TOO_LONG);
	add_fill(b, 'x', 5000);
	assert_status(b, LIMIT, LINE_TOO_LONG);
}

static void
line_unterminated_ending_in_cr_at_limit_is_too_long(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT - 1);
	add_str(b, "\r");
	assert_status(b, LIMIT, LINE_TOO_LONG);
}

static void
line_small_limits_count_the_eol(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "abc\r\n");
	assert_line(b, 5, 3, 2);
	assert_status(b, 4, LINE_TOO_LONG);
	evbuffer_drain(b, evbuffer_get_length(b));

	add_str(b, "abcd\n");
	assert_line(b, 5, 4, 1);
	assert_status(b, 4, LINE_TOO_LONG);
	evbuffer_drain(b, evbuffer_get_length(b));

	add_str(b, "abcd");
	assert_status(b, 5, LINE_MORE);
	assert_status(b, 4, LINE_TOO_LONG);

	evbuffer_drain(b, evbuffer_get_length(b));
	add_str(b, "\r\n");
	assert_line(b, 2, 0, 2);
	assert_status(b, 1, LINE_TOO_LONG);
}

/* Pipelined commands: the first line only, whatever follows it. */
static void
line_finds_the_first_of_several_lines(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\nDATA\r\n");
	assert_line(b, LIMIT, 15, 2);
	evbuffer_drain(b, 17);
	assert_line(b, LIMIT, 13, 1);
	evbuffer_drain(b, 14);
	assert_line(b, LIMIT, 4, 2);
	evbuffer_drain(b, 6);
	assert_status(b, LIMIT, LINE_MORE);
}

static void
line_limit_applies_to_the_first_line_only(void **state)
{
	struct evbuffer *b = *state;

	add_str(b, "QUIT\r\n");
	add_fill(b, 'x', 3 * LIMIT);
	assert_line(b, LIMIT, 4, 2);
}

static void
line_too_long_even_when_a_later_line_is_short(void **state)
{
	struct evbuffer *b = *state;

	add_fill(b, 'x', LIMIT);
	add_str(b, "\r\nQUIT\r\n");
	assert_status(b, LIMIT, LINE_TOO_LONG);
}

/* Chains added by reference stay separate: CR and LF in different ones. */
static void
line_eol_split_across_buffer_chains(void **state)
{
	static const char part1[] = "NOOP\r", part2[] = "\nQUIT";
	static char big[LIMIT - 2];
	struct evbuffer *b = *state;
	size_t i;

	assert_int_equal(evbuffer_add_reference(b, part1, 5, NULL, NULL), 0);
	assert_status(b, LIMIT, LINE_MORE);
	assert_int_equal(evbuffer_add_reference(b, part2, 5, NULL, NULL), 0);
	assert_line(b, LIMIT, 4, 2);
	evbuffer_drain(b, evbuffer_get_length(b));

	memset(big, 'y', sizeof(big));
	for (i = 0; i < sizeof(big); i += 100)
		assert_int_equal(evbuffer_add_reference(b, big + i,
		    sizeof(big) - i < 100 ? sizeof(big) - i : 100, NULL,
		    NULL), 0);
	assert_status(b, LIMIT, LINE_MORE);
	assert_int_equal(evbuffer_add_reference(b, "\r", 1, NULL, NULL), 0);
	assert_status(b, LIMIT, LINE_MORE);
	assert_int_equal(evbuffer_add_reference(b, "\n", 1, NULL, NULL), 0);
	assert_line(b, LIMIT, LIMIT - 2, 2);
}

static void
line_nul_octets_are_counted_in_the_line(void **state)
{
	struct evbuffer *b = *state;

	assert_int_equal(evbuffer_add(b, "a\0b\r\n", 5), 0);
	assert_line(b, LIMIT, 3, 2);
}

/* ---- smtp_parse_verb ---- */

static void
verb_matches_case_insensitively_and_returns_argument(void **state)
{
	const char *l;

	(void)state;
	l = "EHLO client.example";
	assert_ptr_equal(smtp_parse_verb(l, "EHLO"), l + 5);
	l = "ehlo client.example";
	assert_ptr_equal(smtp_parse_verb(l, "EHLO"), l + 5);
	l = "eHlO client.example";
	assert_ptr_equal(smtp_parse_verb(l, "EHLO"), l + 5);
	assert_string_equal(smtp_parse_verb(l, "EHLO"), "client.example");
}

static void
verb_skips_spaces_before_the_argument(void **state)
{
	const char *l = "HELO    client.example  ";

	(void)state;
	assert_string_equal(smtp_parse_verb(l, "HELO"), "client.example  ");
	assert_ptr_equal(smtp_parse_verb(l, "HELO"), l + 8);
}

static void
verb_alone_returns_empty_argument(void **state)
{
	const char *l;

	(void)state;
	l = "QUIT";
	assert_ptr_equal(smtp_parse_verb(l, "QUIT"), l + 4);
	assert_string_equal(smtp_parse_verb(l, "QUIT"), "");
	l = "data   ";
	assert_ptr_equal(smtp_parse_verb(l, "DATA"), l + 7);
	assert_string_equal(smtp_parse_verb(l, "DATA"), "");
}

static void
verb_needs_a_space_or_the_end_after_it(void **state)
{
	(void)state;
	assert_null(smtp_parse_verb("EHLOX", "EHLO"));
	assert_null(smtp_parse_verb("QUITE", "QUIT"));
	assert_null(smtp_parse_verb("DATA:", "DATA"));
	assert_null(smtp_parse_verb("EHLO\tclient.example", "EHLO"));
}

static void
verb_refuses_other_verbs_and_short_lines(void **state)
{
	(void)state;
	assert_null(smtp_parse_verb("", "EHLO"));
	assert_null(smtp_parse_verb("EHL", "EHLO"));
	assert_null(smtp_parse_verb("HELO x", "EHLO"));
	assert_null(smtp_parse_verb(" EHLO x", "EHLO"));
	assert_null(smtp_parse_verb("RSET", "QUIT"));
}

static void
verb_with_colon_matches_as_prefix(void **state)
{
	const char *l;

	(void)state;
	l = "MAIL FROM:<a@b.example> SIZE=10";
	assert_ptr_equal(smtp_parse_verb(l, "MAIL FROM:"), l + 10);
	l = "mail from:<a@b.example>";
	assert_ptr_equal(smtp_parse_verb(l, "MAIL FROM:"), l + 10);
	l = "RCPT TO:<c@d.example>";
	assert_ptr_equal(smtp_parse_verb(l, "RCPT TO:"), l + 8);
	l = "MAIL FROM:";
	assert_ptr_equal(smtp_parse_verb(l, "MAIL FROM:"), l + 10);
}

/* RFC 5321 4.1.1.2 has no space after the colon; tolerated, skipped. */
static void
verb_with_colon_skips_spaces_after_it(void **state)
{
	const char *l = "MAIL FROM:  <a@b.example>";

	(void)state;
	assert_ptr_equal(smtp_parse_verb(l, "MAIL FROM:"), l + 12);
	assert_string_equal(smtp_parse_verb(l, "MAIL FROM:"),
	    "<a@b.example>");
}

static void
verb_with_colon_refuses_other_spacing(void **state)
{
	(void)state;
	assert_null(smtp_parse_verb("MAIL FROM <a@b>", "MAIL FROM:"));
	assert_null(smtp_parse_verb("MAIL  FROM:<a@b>", "MAIL FROM:"));
	assert_null(smtp_parse_verb("MAIL FROM :<a@b>", "MAIL FROM:"));
	assert_null(smtp_parse_verb("MAIL TO:<a@b>", "MAIL FROM:"));
	assert_null(smtp_parse_verb("MAIL", "MAIL FROM:"));
}

/* ---- smtp_parse_path ---- */

/* Asserts ARG parses to MAILBOX with parameters REST. */
static void
assert_path(const char *arg, const char *mailbox, const char *rest)
{
	char buf[PATH_MAX_LEN + 1];
	const char *r = NULL;

	memset(buf, 'X', sizeof(buf));
	if (smtp_parse_path(arg, buf, sizeof(buf), &r) != 0)
		fail_msg("refused: %s", arg);
	assert_string_equal(buf, mailbox);
	assert_non_null(r);
	assert_string_equal(r, rest);
}

static void
assert_bad_path(const char *arg)
{
	char buf[PATH_MAX_LEN + 1];
	const char *r = NULL;

	memset(buf, 'X', sizeof(buf));
	if (smtp_parse_path(arg, buf, sizeof(buf), &r) != -1)
		fail_msg("accepted: %s (as \"%s\")", arg, buf);
	assert_null(r);
}

static void
path_simple_mailbox(void **state)
{
	(void)state;
	assert_path("<user@example.com>", "user@example.com", "");
	assert_path("<Measure+ABC@Tls.Measure.Test>",
	    "Measure+ABC@Tls.Measure.Test", "");
	assert_path("<a@b>", "a@b", "");
	assert_path("<first.last!#$%&'*+-/=?^_`{|}~@example.com>",
	    "first.last!#$%&'*+-/=?^_`{|}~@example.com", "");
}

static void
path_rest_points_past_bracket_and_spaces(void **state)
{
	const char *arg = "<a@b.example>   SIZE=100 BODY=8BITMIME";
	const char *rest = NULL;
	char buf[PATH_MAX_LEN + 1];

	(void)state;
	assert_int_equal(smtp_parse_path(arg, buf, sizeof(buf), &rest), 0);
	assert_ptr_equal(rest, arg + 16);
	assert_string_equal(rest, "SIZE=100 BODY=8BITMIME");
	assert_path("<a@b.example> SMTPUTF8", "a@b.example", "SMTPUTF8");
	assert_path("<a@b.example>   ", "a@b.example", "");
}

static void
path_null_reverse_path_is_empty(void **state)
{
	(void)state;
	assert_path("<>", "", "");
	assert_path("<> SIZE=5", "", "SIZE=5");
}

static void
path_with_source_route_keeps_mailbox(void **state)
{
	(void)state;
	assert_path("<@relay.example:user@dest.example>",
	    "user@dest.example", "");
	assert_path("<@relay1.example,@relay2.example:user@dest.example> "
	    "BODY=7BIT", "user@dest.example", "BODY=7BIT");
}

static void
path_source_route_without_colon_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@relay.example>");
	assert_bad_path("<@relay.example>user@dest.example>");
	assert_bad_path("<@relay1.example,@relay2.example>");
	assert_bad_path("<@relay.example");
	assert_bad_path("<@");
}

static void
path_source_route_with_bad_mailbox_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@relay.example:user>");
	assert_bad_path("<@relay.example:user@>");
	assert_bad_path("<@relay.example:user@dest example>");
	assert_bad_path("<@relay.example:user@dest.example");
}

static void
path_quoted_local_part_is_kept_with_quotes(void **state)
{
	(void)state;
	assert_path("<\"john doe\"@example.com>", "\"john doe\"@example.com",
	    "");
	assert_path("<\"a>b\"@example.com> SIZE=1", "\"a>b\"@example.com",
	    "SIZE=1");
	assert_path("<\"a<b\"@example.com>", "\"a<b\"@example.com", "");
	assert_path("<\"a@b\"@example.com>", "\"a@b\"@example.com", "");
	assert_path("<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com", "");
	assert_path("<\"\"@example.com>", "\"\"@example.com", "");
}

static void
path_quoted_local_part_without_domain_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<\"a@b\">");
	assert_bad_path("<\"a@b\"@>");
	assert_bad_path("<\"\">");
}

static void
path_unterminated_quote_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<\"abc@example.com>");
	assert_bad_path("<\"abc\\\"@example.com>");
	assert_bad_path("<abc\"@example.com>");
}

static void
path_controls_in_quotes_are_refused(void **state)
{
	(void)state;
	assert_bad_path("<\"a\tb\"@example.com>");
	assert_bad_path("<\"a\rb\"@example.com>");
	assert_bad_path("<\"a\x01\"@example.com>");
	assert_bad_path("<\"a\x7f\"@example.com>");
}

static void
path_with_spaces_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<a b@example.com>");
	assert_bad_path("<a@example .com>");
	assert_bad_path("< a@example.com>");
	assert_bad_path("<a@example.com >");
	assert_bad_path("< >");
}

static void
path_with_controls_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<a\x01@example.com>");
	assert_bad_path("<a@example.com\x7f>");
	assert_bad_path("<a@exa\tmple.com>");
	assert_bad_path("<a@example.com\r>");
	assert_bad_path("<a@example.com\n>");
	assert_bad_path("<a\x1b@example.com>");
}

static void
path_without_brackets_is_refused(void **state)
{
	(void)state;
	assert_bad_path("a@example.com");
	assert_bad_path("<a@example.com");
	assert_bad_path("a@example.com>");
	assert_bad_path(" <a@example.com>");
	assert_bad_path("");
	assert_bad_path("<");
	assert_bad_path(">");
}

static void
path_with_nested_brackets_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<<a@example.com>>");
	assert_bad_path("<a<b@example.com>");
	assert_bad_path("<a@exa<mple.com>");
}

static void
path_without_at_or_with_empty_part_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<user>");
	assert_bad_path("<user@>");
	assert_bad_path("<@example.com>");
	assert_bad_path("<@>");
}

static void
path_address_literal_domain(void **state)
{
	(void)state;
	assert_path("<a@[192.0.2.1]>", "a@[192.0.2.1]", "");
	assert_path("<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", "");
}

/* SMTPUTF8 (RFC 6531): octets above 0x7f pass through. */
static void
path_keeps_utf8_octets(void **state)
{
	(void)state;
	assert_path("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>",
	    "j\xc3\xb6rg@b\xc3\xbc" "cher.example", "");
}

/* Builds "<" + local "@" domain ">" with a mailbox of N octets. */
static char *
path_of(size_t n)
{
	char *s;

	assert_true(n >= 3);
	assert_non_null(s = malloc(n + 3));
	s[0] = '<';
	memset(s + 1, 'a', n - 2);
	s[n - 1] = '@';
	s[n] = 'b';
	s[n + 1] = '>';
	s[n + 2] = '\0';
	return s;
}

/* 254 octets of mailbox plus the brackets: 256, RFC 5321 4.5.3.1.3. */
static void
path_of_256_octets_is_accepted(void **state)
{
	char *arg = path_of(PATH_MAX_LEN - 2), buf[PATH_MAX_LEN + 1];
	const char *rest;

	(void)state;
	assert_int_equal(strlen(arg), 256);
	assert_int_equal(smtp_parse_path(arg, buf, sizeof(buf), &rest), 0);
	assert_int_equal(strlen(buf), 254);
	assert_memory_equal(buf, arg + 1, 254);
	assert_string_equal(rest, "");
	free(arg);
}

static void
path_over_256_octets_is_refused(void **state)
{
	char *arg = path_of(PATH_MAX_LEN - 1), buf[1024];
	const char *rest = NULL;

	(void)state;
	assert_int_equal(strlen(arg), 257);
	/* Even with room in the buffer. */
	assert_int_equal(smtp_parse_path(arg, buf, sizeof(buf), &rest), -1);
	assert_null(rest);
	free(arg);
	arg = path_of(4000);
	assert_int_equal(smtp_parse_path(arg, buf, sizeof(buf), &rest), -1);
	free(arg);
}

static void
path_mailbox_buffer_must_hold_mailbox_and_nul(void **state)
{
	char buf[16];
	const char *rest = NULL;

	(void)state;
	memset(buf, 'X', sizeof(buf));
	/* "user@example" is 12 octets: 13 with its NUL. */
	assert_int_equal(smtp_parse_path("<user@example>", buf, 13, &rest),
	    0);
	assert_string_equal(buf, "user@example");
	memset(buf, 'X', sizeof(buf));
	rest = NULL;
	assert_int_equal(smtp_parse_path("<user@example>", buf, 12, &rest),
	    -1);
	assert_null(rest);
	assert_int_equal(buf[0], 'X');
	/* "<>" needs just the NUL. */
	assert_int_equal(smtp_parse_path("<>", buf, 1, &rest), 0);
	assert_string_equal(buf, "");
}

/* ---- smtp_parse_data_end and smtp_parse_unstuff ---- */

static void
data_end_is_only_the_lone_dot(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_data_end(".", 1, 2, 2), 1);
	assert_int_equal(smtp_parse_data_end("..", 2, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end(". ", 2, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end(".\r", 2, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end("x", 1, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end("", 0, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end(" .", 2, 2, 2), 0);
}

static void
data_end_uses_the_length_not_the_nul(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_data_end(".x", 1, 2, 2), 1);
	assert_int_equal(smtp_parse_data_end(".", 0, 2, 2), 0);
	assert_int_equal(smtp_parse_data_end(".\0", 2, 2, 2), 0);
}

static void
unstuff_drops_one_leading_dot(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_unstuff("..", 2, 2), 1);
	assert_int_equal(smtp_parse_unstuff("...", 3, 2), 1);
	assert_int_equal(smtp_parse_unstuff(".x", 2, 2), 1);
	assert_int_equal(smtp_parse_unstuff(".", 1, 2), 1);
}

static void
unstuff_keeps_lines_without_leading_dot(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_unstuff("x.", 2, 2), 0);
	assert_int_equal(smtp_parse_unstuff(" .", 2, 2), 0);
	assert_int_equal(smtp_parse_unstuff("", 0, 2), 0);
	assert_int_equal(smtp_parse_unstuff(".", 0, 2), 0);
}

static void
data_end_only_between_crlfs(void **state)
{
	(void)state;
	/* RFC 5321 4.1.1.4: CRLF "." CRLF; a bare LF either side is content */
	assert_int_equal(smtp_parse_data_end(".", 1, 2, 2), 1);
	assert_int_equal(smtp_parse_data_end(".", 1, 1, 2), 0);
	assert_int_equal(smtp_parse_data_end(".", 1, 2, 1), 0);
	assert_int_equal(smtp_parse_data_end(".", 1, 1, 1), 0);
}

static void
unstuff_only_after_crlf(void **state)
{
	(void)state;
	/* RFC 5321 2.3.8: a bare LF starts no line, its dot is content */
	assert_int_equal(smtp_parse_unstuff(".", 1, 1), 0);
	assert_int_equal(smtp_parse_unstuff("..", 2, 1), 0);
	assert_int_equal(smtp_parse_unstuff(".x", 2, 1), 0);
	assert_int_equal(smtp_parse_unstuff(".x", 2, 2), 1);
}

/* ---- smtp_parse_bare_cr ---- */

static void
bare_cr_found_anywhere_in_the_line(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_bare_cr("HELO a\rNOOP", 12), 1);
	assert_int_equal(smtp_parse_bare_cr("NOOP\r", 5), 1);
	assert_int_equal(smtp_parse_bare_cr("\r", 1), 1);
	assert_int_equal(smtp_parse_bare_cr("HELO a", 6), 0);
	assert_int_equal(smtp_parse_bare_cr("", 0), 0);
	/* the length bounds the search */
	assert_int_equal(smtp_parse_bare_cr("HELO\r", 4), 0);
}

/* ---- smtp_parse_loggable ---- */

static size_t
loggable(const char *line, int *cut)
{
	return smtp_parse_loggable(line, strlen(line), cut);
}

static void
loggable_auth_keeps_only_the_mechanism(void **state)
{
	int cut;

	(void)state;
	assert_int_equal(loggable("AUTH PLAIN AGFsaWNlAHNlY3JldA==", &cut),
	    10);
	assert_int_equal(cut, 1);
	assert_int_equal(loggable("auth login dXNlcg==", &cut), 10);
	assert_int_equal(cut, 1);
	assert_int_equal(loggable("AUTH LOGIN", &cut), 10);
	assert_int_equal(cut, 0);
	assert_int_equal(loggable("AUTH", &cut), 4);
	assert_int_equal(cut, 0);
	/* a mechanism is at most 20 characters (RFC 4422 3.1) */
	assert_int_equal(loggable("AUTH AGFsaWNlAHNlY3JldA0123456789", &cut),
	    25);
	assert_int_equal(cut, 1);
}

static void
loggable_unknown_keeps_the_verb_and_16_bytes(void **state)
{
	int cut;

	(void)state;
	assert_int_equal(loggable("XYZZY", &cut), 5);
	assert_int_equal(cut, 0);
	assert_int_equal(loggable("XYZZY 0123456789abcdef", &cut), 22);
	assert_int_equal(cut, 0);
	assert_int_equal(loggable("XYZZY 0123456789abcdefg", &cut), 22);
	assert_int_equal(cut, 1);
	/* a verb without end is cut as well: it may be anything */
	assert_int_equal(loggable("0123456789abcdefghij", &cut), 16);
	assert_int_equal(cut, 1);
	assert_int_equal(loggable("", &cut), 0);
	assert_int_equal(cut, 0);
}


static void
path_bare_postmaster_is_accepted(void **state)
{
	(void)state;
	assert_path("<Postmaster>", "Postmaster", "");
	assert_path("<postmaster> NOTIFY=NEVER", "postmaster", "NOTIFY=NEVER");
}

static void
path_quoted_pair_backslash_before_closing_quote_is_accepted(void **state)
{
	(void)state;
	assert_path("<\"a\\\\\"@example.com>", "\"a\\\\\"@example.com", "");
}

static void
path_source_route_without_mailbox_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@relay.example:>");
}

static void
path_source_route_with_spaces_or_controls_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@relay example:user@dest.example>");
}

static void
path_source_route_with_controls_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@relay\x01:user@dest.example>");
}

static void
path_source_route_with_empty_domain_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<@:user@dest.example>");
	assert_bad_path("<@a,,@b:user@dest.example>");
}

static void
path_source_route_address_literal_does_not_leak_into_mailbox(void **state)
{
	(void)state;
	assert_path("<@[IPv6:2001:db8::1]:user@dest.example>",
	    "user@dest.example", "");
}

static void
path_parameters_need_a_space(void **state)
{
	(void)state;
	assert_bad_path("<a@b.example>SIZE=1");
	assert_path("<a@b.example> SIZE=1", "a@b.example", "SIZE=1");
}

static void
path_with_two_unquoted_at_signs_is_refused(void **state)
{
	(void)state;
	assert_bad_path("<a@b@c.example>");
}

#define BUFTEST(f)	cmocka_unit_test_setup_teardown(f, setup_buffer, \
			    teardown_buffer)

/* ---- the extensions: parameters, BDAT, DSN values, UTF-8, chunk scan ---- */

static void
param_next_walks_keywords_and_values(void **state)
{
	const char *p = "SIZE=10  SMTPUTF8 ENVID=a+2Bb";
	char k[16], v[16];

	(void)state;
	assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "SIZE");
	assert_string_equal(v, "10");
	assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "SMTPUTF8");
	assert_string_equal(v, "");
	assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "ENVID");
	assert_string_equal(v, "a+2Bb");
	assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v, sizeof(v)),
	    0);
}

static void
param_next_refuses_malformed_parameters(void **state)
{
	static const char *const bad[] = {
		"=x", "SIZE=", "-SIZE=1", "SIZE=a=b", "AUTH=<>x=", "K\x01=1",
		"SIZE=1\t", "ABCDEFGHIJKLMNOPQ=1", "K=12345678901234567",
	};
	char k[16], v[16];
	const char *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = bad[i];
		assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v,
		    sizeof(v)), -1);
	}
	p = "AUTH=<>";		/* a value we do not offer, but well-formed */
	assert_int_equal(smtp_parse_param_next(&p, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(v, "<>");
}

static void
bdat_size_and_last(void **state)
{
	size_t size = 99;
	int last = 7;

	(void)state;
	assert_int_equal(smtp_parse_bdat("0 LAST", &size, &last), 0);
	assert_int_equal(size, 0);
	assert_int_equal(last, 1);
	assert_int_equal(smtp_parse_bdat("1234", &size, &last), 0);
	assert_int_equal(size, 1234);
	assert_int_equal(last, 0);
	assert_int_equal(smtp_parse_bdat("007 last", &size, &last), 0);
	assert_int_equal(size, 7);
	assert_int_equal(last, 1);
	assert_int_equal(smtp_parse_bdat("999999999999999", &size, &last), 0);
}

static void
bdat_bad_arguments_are_refused(void **state)
{
	static const char *const bad[] = {
		"", "LAST", "-1", "+1", "1 ", "1  LAST", "1 LASTX", "1 FIRST",
		"1x", "0x10", "1 LAST extra", "1000000000000000",
	};
	size_t size, i;
	int last;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(smtp_parse_bdat(bad[i], &size, &last), -1);
}

static void
xtext_allows_printable_and_hexchars(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_xtext(""), 0);
	assert_int_equal(smtp_parse_xtext("QQ314159"), 0);
	assert_int_equal(smtp_parse_xtext("a+2Bb+3D+20!~"), 0);
	assert_int_equal(smtp_parse_xtext("a+2b"), -1);	/* upper case */
	assert_int_equal(smtp_parse_xtext("a+2"), -1);
	assert_int_equal(smtp_parse_xtext("a+"), -1);
	assert_int_equal(smtp_parse_xtext("a=b"), -1);
	assert_int_equal(smtp_parse_xtext("a b"), -1);
	assert_int_equal(smtp_parse_xtext("caf\xc3\xa9"), -1);
}

static void
notify_never_or_a_list_once_each(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_notify("NEVER"), 0);
	assert_int_equal(smtp_parse_notify("never"), 0);
	assert_int_equal(smtp_parse_notify("SUCCESS"), 0);
	assert_int_equal(smtp_parse_notify("SUCCESS,FAILURE,DELAY"), 0);
	assert_int_equal(smtp_parse_notify("delay,Failure"), 0);
	assert_int_equal(smtp_parse_notify(""), -1);
	assert_int_equal(smtp_parse_notify("NEVER,SUCCESS"), -1);
	assert_int_equal(smtp_parse_notify("SUCCESS,SUCCESS"), -1);
	assert_int_equal(smtp_parse_notify("SUCCESS,"), -1);
	assert_int_equal(smtp_parse_notify(",SUCCESS"), -1);
	assert_int_equal(smtp_parse_notify("SUCCESS FAILURE"), -1);
	assert_int_equal(smtp_parse_notify("SUCCES"), -1);
}

static void
orcpt_is_addr_type_and_xtext(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_orcpt("rfc822;a@example.org", 0), 0);
	assert_int_equal(smtp_parse_orcpt("RFC822;a+2Bb@example.org", 0), 0);
	assert_int_equal(smtp_parse_orcpt("rfc822", 0), -1);
	assert_int_equal(smtp_parse_orcpt(";a@example.org", 0), -1);
	assert_int_equal(smtp_parse_orcpt("rfc822;", 0), -1);
	assert_int_equal(smtp_parse_orcpt("rfc822;a+b@example.org", 0), -1);
	assert_int_equal(smtp_parse_orcpt("rfc 822;a@example.org", 0), -1);
	/* RFC 6533: UTF-8 only in the utf-8 type, only with SMTPUTF8 */
	assert_int_equal(smtp_parse_orcpt("utf-8;p\xc3\xa9@example.org", 1),
	    0);
	assert_int_equal(smtp_parse_orcpt("utf-8;p\xc3\xa9@example.org", 0),
	    -1);
	assert_int_equal(smtp_parse_orcpt("rfc822;p\xc3\xa9@example.org", 1),
	    -1);
}

static void
utf8_well_formed_only(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_8bit("a@example.org"), 0);
	assert_int_equal(smtp_parse_8bit("p\xc3\xa9@example.org"), 1);
	assert_int_equal(smtp_parse_utf8("p\xc3\xa9l\xe2\x82\xac"
	    "\xf0\x9f\x98\x80"), 0);
	assert_int_equal(smtp_parse_utf8("\xc3"), -1);		/* cut */
	assert_int_equal(smtp_parse_utf8("\xc3("), -1);
	assert_int_equal(smtp_parse_utf8("\xc0\xaf"), -1);	/* overlong */
	assert_int_equal(smtp_parse_utf8("\xed\xa0\x80"), -1);	/* surrogate */
	assert_int_equal(smtp_parse_utf8("\xf4\x90\x80\x80"), -1);
	assert_int_equal(smtp_parse_utf8("\xff"), -1);
	assert_int_equal(smtp_parse_utf8("\x80"), -1);
}

static void
scan_counts_as_data_counts(void **state)
{
	static const char m[] = "A: 1\r\nB: 2\n\r\nbody\rx\r\r\nnul\0end\n";
	struct smtp_scan sc;
	size_t head;
	int trim;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	head = smtp_parse_scan(&sc, m, sizeof(m) - 1, LIMIT, &trim);
	smtp_parse_scan_end(&sc);
	assert_int_equal(head, 11);	/* "A: 1\r\nB: 2\n" */
	assert_int_equal(trim, 0);
	assert_true(sc.body);
	assert_int_equal(sc.bare_lf, 2);
	assert_int_equal(sc.bare_cr, 2);
	assert_int_equal(sc.nul_bytes, 1);
	assert_int_equal(sc.long_lines, 0);
}

static void
scan_byte_by_byte_equals_whole(void **state)
{
	static const char m[] = "Subject: x\r\n\r\n.\r\nQUIT\r\n\r\r";
	struct smtp_scan a, b;
	size_t i, head = 0;
	int trim, trims = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(smtp_parse_scan(&a, m, sizeof(m) - 1, LIMIT, &trim),
	    12);
	for (i = 0; i < sizeof(m) - 1; i++) {
		head += smtp_parse_scan(&b, m + i, 1, LIMIT, &trim);
		trims += trim;
	}
	/* the blank line's CR came in the call before its LF */
	assert_int_equal(head - (size_t)trims, 12);
	smtp_parse_scan_end(&a);
	smtp_parse_scan_end(&b);
	assert_int_equal(a.bare_cr, 2);	/* "\r\r" at the end */
	assert_int_equal(b.bare_cr, 2);
	assert_int_equal(a.bare_lf, b.bare_lf);
}

static void
scan_long_lines_as_data_limit(void **state)
{
	struct smtp_scan sc;
	char *m;
	int trim;

	(void)state;
	assert_non_null(m = malloc(2 * LIMIT + 8));
	/* LIMIT - 2 octets and CRLF fit; one more does not */
	memset(m, 'x', LIMIT - 2);
	memcpy(m + LIMIT - 2, "\r\n", 2);
	memset(&sc, 0, sizeof(sc));
	(void)smtp_parse_scan(&sc, m, LIMIT, LIMIT, &trim);
	assert_int_equal(sc.long_lines, 0);
	memset(m, 'x', LIMIT - 1);
	memcpy(m + LIMIT - 1, "\r\n", 2);
	(void)smtp_parse_scan(&sc, m, LIMIT + 1, LIMIT, &trim);
	assert_int_equal(sc.long_lines, 1);
	/* a line twice as long counts once */
	memset(m, 'x', 2 * LIMIT);
	memcpy(m + 2 * LIMIT, "\n", 1);
	(void)smtp_parse_scan(&sc, m, 2 * LIMIT + 1, LIMIT, &trim);
	assert_int_equal(sc.long_lines, 2);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_bare_postmaster_is_accepted),
		cmocka_unit_test(path_quoted_pair_backslash_before_closing_quote_is_accepted),
		cmocka_unit_test(path_source_route_without_mailbox_is_refused),
		cmocka_unit_test(path_source_route_with_spaces_or_controls_is_refused),
		cmocka_unit_test(path_source_route_with_controls_is_refused),
		cmocka_unit_test(path_source_route_with_empty_domain_is_refused),
		cmocka_unit_test(path_source_route_address_literal_does_not_leak_into_mailbox),
		cmocka_unit_test(path_with_two_unquoted_at_signs_is_refused),
		cmocka_unit_test(path_parameters_need_a_space),
		BUFTEST(line_crlf_gives_length_without_eol),
		BUFTEST(line_bare_lf_has_eol_len_1),
		BUFTEST(line_empty_line_has_length_zero),
		BUFTEST(line_bare_cr_is_part_of_the_line),
		BUFTEST(line_empty_buffer_is_more),
		BUFTEST(line_without_eol_is_more),
		BUFTEST(line_at_limit_with_crlf_is_ok),
		BUFTEST(line_one_over_limit_is_too_long),
		BUFTEST(line_with_bare_lf_at_limit_is_ok),
		BUFTEST(line_with_bare_lf_one_over_limit_is_too_long),
		BUFTEST(line_unterminated_below_limit_is_more),
		BUFTEST(line_crlf_split_at_the_limit_completes),
		BUFTEST(line_unterminated_at_limit_is_too_long),
		BUFTEST(line_unterminated_ending_in_cr_at_limit_is_too_long),
		BUFTEST(line_small_limits_count_the_eol),
		BUFTEST(line_finds_the_first_of_several_lines),
		BUFTEST(line_limit_applies_to_the_first_line_only),
		BUFTEST(line_too_long_even_when_a_later_line_is_short),
		BUFTEST(line_eol_split_across_buffer_chains),
		BUFTEST(line_nul_octets_are_counted_in_the_line),
		cmocka_unit_test(
		    verb_matches_case_insensitively_and_returns_argument),
		cmocka_unit_test(verb_skips_spaces_before_the_argument),
		cmocka_unit_test(verb_alone_returns_empty_argument),
		cmocka_unit_test(verb_needs_a_space_or_the_end_after_it),
		cmocka_unit_test(verb_refuses_other_verbs_and_short_lines),
		cmocka_unit_test(verb_with_colon_matches_as_prefix),
		cmocka_unit_test(verb_with_colon_skips_spaces_after_it),
		cmocka_unit_test(verb_with_colon_refuses_other_spacing),
		cmocka_unit_test(path_simple_mailbox),
		cmocka_unit_test(path_rest_points_past_bracket_and_spaces),
		cmocka_unit_test(path_null_reverse_path_is_empty),
		cmocka_unit_test(path_with_source_route_keeps_mailbox),
		cmocka_unit_test(path_source_route_without_colon_is_refused),
		cmocka_unit_test(path_source_route_with_bad_mailbox_is_refused),
		cmocka_unit_test(path_quoted_local_part_is_kept_with_quotes),
		cmocka_unit_test(
		    path_quoted_local_part_without_domain_is_refused),
		cmocka_unit_test(path_unterminated_quote_is_refused),
		cmocka_unit_test(path_controls_in_quotes_are_refused),
		cmocka_unit_test(path_with_spaces_is_refused),
		cmocka_unit_test(path_with_controls_is_refused),
		cmocka_unit_test(path_without_brackets_is_refused),
		cmocka_unit_test(path_with_nested_brackets_is_refused),
		cmocka_unit_test(path_without_at_or_with_empty_part_is_refused),
		cmocka_unit_test(path_address_literal_domain),
		cmocka_unit_test(path_keeps_utf8_octets),
		cmocka_unit_test(path_of_256_octets_is_accepted),
		cmocka_unit_test(path_over_256_octets_is_refused),
		cmocka_unit_test(path_mailbox_buffer_must_hold_mailbox_and_nul),
		cmocka_unit_test(data_end_is_only_the_lone_dot),
		cmocka_unit_test(data_end_uses_the_length_not_the_nul),
		cmocka_unit_test(unstuff_drops_one_leading_dot),
		cmocka_unit_test(unstuff_keeps_lines_without_leading_dot),
		cmocka_unit_test(data_end_only_between_crlfs),
		cmocka_unit_test(unstuff_only_after_crlf),
		cmocka_unit_test(bare_cr_found_anywhere_in_the_line),
		cmocka_unit_test(loggable_auth_keeps_only_the_mechanism),
		cmocka_unit_test(loggable_unknown_keeps_the_verb_and_16_bytes),
		cmocka_unit_test(param_next_walks_keywords_and_values),
		cmocka_unit_test(param_next_refuses_malformed_parameters),
		cmocka_unit_test(bdat_size_and_last),
		cmocka_unit_test(bdat_bad_arguments_are_refused),
		cmocka_unit_test(xtext_allows_printable_and_hexchars),
		cmocka_unit_test(notify_never_or_a_list_once_each),
		cmocka_unit_test(orcpt_is_addr_type_and_xtext),
		cmocka_unit_test(utf8_well_formed_only),
		cmocka_unit_test(scan_counts_as_data_counts),
		cmocka_unit_test(scan_byte_by_byte_equals_whole),
		cmocka_unit_test(scan_long_lines_as_data_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
