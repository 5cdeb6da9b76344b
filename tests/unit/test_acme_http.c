/*
 * Unit tests of the ACME HTTP-01 token check (daemon/server/acme_http.c):
 * only base64url names of acme_dir are served, so no path leaves it.
 */
#include "build.h"

#include <string.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "acme_http.h"

static int
valid(const char *token)
{
	return acme_http_token_valid(token, strlen(token));
}

/* Tokens of Let's Encrypt and pebble: 43 characters of base64url. */
static void
base64url_tokens_are_served(void **state)
{
	(void)state;
	assert_true(valid("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
	assert_true(valid("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
	assert_true(valid("a_b-C9"));
	assert_true(valid("x"));
}

static void
traversal_and_other_characters_are_refused(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "../etc/passwd", "..%2fetc", "%2e%2e", "a/b",
		"a.b", "tok en", "tok\ten", "token=", "tok+en", "tok\\en",
		"~root", "tok%00", "\xc3\xa9t\xc3\xa9", "a?b", "a#b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid(bad[i]));
}

/* The length counts, not the NUL: a NUL inside is refused. */
static void
embedded_nul_is_refused(void **state)
{
	(void)state;
	assert_false(acme_http_token_valid("abc\0def", 7));
	assert_true(acme_http_token_valid("abc\0def", 3));
}

static void
length_is_bounded(void **state)
{
	char tok[ACME_HTTP_TOKEN_MAX + 2];

	(void)state;
	memset(tok, 'A', sizeof(tok));
	assert_true(acme_http_token_valid(tok, ACME_HTTP_TOKEN_MAX));
	assert_false(acme_http_token_valid(tok, ACME_HTTP_TOKEN_MAX + 1));
	assert_false(acme_http_token_valid(tok, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64url_tokens_are_served),
		cmocka_unit_test(traversal_and_other_characters_are_refused),
		cmocka_unit_test(embedded_nul_is_refused),
		cmocka_unit_test(length_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
