/*
 * Unit tests of testid.c: test ID generation and syntax, the
 * classification of recipient addresses against the catalogue (test,
 * postmaster, unknown user, foreign), and the address a test sends to.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "testid.h"
#include "types.h"

#define BASE	"measure.test"
#define LP	"measure"
#define B32	"abcdefghijklmnopqrstuvwxyz234567"

/* A valid ID (26 symbols of the alphabet) and its upper-case spelling. */
#define ID	"abcdefghijklmnopqrstuvwx2a"
#define ID_UC	"ABCDEFGHIJKLMNOPQRSTUVWX2A"
/* The same length with a symbol outside the alphabet ('0', '1', '8'). */
#define ID_0	"abcdefghijklmnopqrstuvwx0a"
#define ID_1	"1bcdefghijklmnopqrstuvwx2a"
#define ID_8	"abcdefghijklm8opqrstuvwx2a"
#define ID_25	"abcdefghijklmnopqrstuvwx2"
#define ID_27	"abcdefghijklmnopqrstuvwx2aa"

#define SENTINEL_ID	"untouched"

static struct config
test_config(void)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_domain = BASE;
	cfg.local_part = LP;
	return cfg;
}

/* Outputs of one classification. */
struct result {
	enum testid_rcpt			 kind;
	char					 id[TESTID_LEN + 1];
	const struct catalog_challenge		*ch;
};

static struct result
classify_with(const struct config *cfg, const char *addr)
{
	struct result r;

	memset(r.id, 0, sizeof(r.id));
	strcpy(r.id, SENTINEL_ID);
	r.ch = NULL;
	r.kind = testid_classify(cfg, addr, r.id, &r.ch);
	return r;
}

static struct result
classify(const char *addr)
{
	struct config cfg = test_config();

	return classify_with(&cfg, addr);
}

static const struct catalog_challenge *
challenge(const char *name)
{
	const struct catalog_challenge *ch;

	ch = catalog_challenge(name);
	assert_non_null(ch);
	return ch;
}

/* Asserts ADDR is RCPT_TEST of challenge CH with the lowercase ID WANT. */
static void
assert_test(const char *addr, const char *ch, const char *want)
{
	struct result r = classify(addr);

	if (r.kind != RCPT_TEST)
		fail_msg("%s: kind %d, want RCPT_TEST", addr, (int)r.kind);
	assert_string_equal(r.id, want);
	assert_ptr_equal(r.ch, challenge(ch));
}

/* Asserts ADDR is KIND (not a test): the outputs are left alone. */
static void
assert_kind(const char *addr, enum testid_rcpt kind)
{
	struct result r = classify(addr);

	if (r.kind != kind)
		fail_msg("%s: kind %d, want %d", addr, (int)r.kind,
		    (int)kind);
	assert_string_equal(r.id, SENTINEL_ID);
	assert_null(r.ch);
}

static int
is_b32(char c)
{
	return c != '\0' && strchr(B32, c) != NULL;
}

/* ---- testid_new ---- */

static void
testid_new_is_26_base32_chars_and_differs(void **state)
{
	char a[TESTID_LEN + 1], b[TESTID_LEN + 1];
	size_t i;

	(void)state;
	memset(a, 'X', sizeof(a));
	memset(b, 'X', sizeof(b));
	assert_int_equal(testid_new(a), 0);
	assert_int_equal(testid_new(b), 0);
	assert_int_equal(strlen(a), 26);
	assert_int_equal(strlen(b), 26);
	for (i = 0; i < TESTID_LEN; i++) {
		assert_true(is_b32(a[i]));
		assert_true(is_b32(b[i]));
	}
	assert_int_equal(testid_valid(a, strlen(a)), 1);
	assert_int_equal(testid_valid(b, strlen(b)), 1);
	assert_string_not_equal(a, b);
}

/* 128 = 25 * 5 + 3: the last symbol holds 3 bits, then two zero bits. */
static void
testid_new_last_symbol_carries_three_bits_zero_padded(void **state)
{
	char id[TESTID_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 512; i++) {
		assert_int_equal(testid_new(id), 0);
		if (strchr("aeimquy4", id[TESTID_LEN - 1]) == NULL)
			fail_msg("last symbol of %s is not a multiple of 4",
			    id);
	}
}

/*
 * Over 2000 IDs every symbol appears first and every one of the 8 padded
 * symbols last (a miss has a probability below 1e-13), and no ID repeats.
 */
static void
testid_new_uses_the_whole_alphabet_and_never_repeats(void **state)
{
	enum { N = 2000 };
	char (*ids)[TESTID_LEN + 1];
	int first[32] = { 0 }, last[32] = { 0 };
	size_t i, j;

	(void)state;
	assert_non_null(ids = calloc(N, sizeof(*ids)));
	for (i = 0; i < N; i++) {
		assert_int_equal(testid_new(ids[i]), 0);
		first[strchr(B32, ids[i][0]) - B32]++;
		last[strchr(B32, ids[i][TESTID_LEN - 1]) - B32]++;
	}
	for (i = 0; i < 32; i++) {
		if (first[i] == 0)
			fail_msg("symbol %c never first", B32[i]);
		if (i % 4 == 0 && last[i] == 0)
			fail_msg("symbol %c never last", B32[i]);
		if (i % 4 != 0)
			assert_int_equal(last[i], 0);
	}
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				fail_msg("ID %s drawn twice", ids[i]);
	free(ids);
}

/* ---- testid_valid ---- */

static void
testid_valid_accepts_26_base32_symbols_in_either_case(void **state)
{
	(void)state;
	assert_int_equal(testid_valid(ID, 26), 1);
	assert_int_equal(testid_valid(ID_UC, 26), 1);
	assert_int_equal(testid_valid("aaaaaaaaaaaaaaaaaaaaaaaaaa", 26), 1);
	assert_int_equal(testid_valid("22334455667777777777777777", 26), 1);
	assert_int_equal(testid_valid("zZzZzZzZzZzZzZzZzZzZzZzZzZ", 26), 1);
}

static void
testid_valid_refuses_other_lengths(void **state)
{
	(void)state;
	assert_int_equal(testid_valid(ID_25, 25), 0);
	assert_int_equal(testid_valid(ID_27, 27), 0);
	assert_int_equal(testid_valid("", 0), 0);
	/* Only LEN counts: the first 25 symbols of a valid ID are too few. */
	assert_int_equal(testid_valid(ID, 25), 0);
	/* ... and 26 of a longer string are fine. */
	assert_int_equal(testid_valid(ID_27, 26), 1);
}

static void
testid_valid_refuses_symbols_outside_rfc4648_base32(void **state)
{
	char s[TESTID_LEN + 1];
	const char *bad = "01890=-_.+@ \t\xc3\xff";
	size_t i;

	(void)state;
	assert_int_equal(testid_valid(ID_0, 26), 0);
	assert_int_equal(testid_valid(ID_1, 26), 0);
	assert_int_equal(testid_valid(ID_8, 26), 0);
	for (i = 0; i < strlen(bad); i++) {
		strcpy(s, ID);
		s[13] = bad[i];
		if (testid_valid(s, 26) != 0)
			fail_msg("accepted symbol 0x%02x",
			    (unsigned char)bad[i]);
	}
}

static void
testid_valid_refuses_embedded_nul(void **state)
{
	char s[TESTID_LEN + 1];

	(void)state;
	memcpy(s, ID, sizeof(s));
	s[10] = '\0';
	assert_int_equal(testid_valid(s, 26), 0);
	memcpy(s, ID, sizeof(s));
	s[25] = '\0';
	assert_int_equal(testid_valid(s, 26), 0);
}

/* ---- testid_classify: tests ---- */

static void
classify_plus_form_is_test_with_id_and_challenge(void **state)
{
	(void)state;
	assert_test("measure+" ID "@tls." BASE, "tls", ID);
	assert_test("measure+" ID "@v4." BASE, "v4", ID);
	assert_test("measure+" ID "@sts-2mx-plain." BASE, "sts-2mx-plain",
	    ID);
	assert_test("measure+" ID "@tlsa-bad-insecure-pkix-ok." BASE,
	    "tlsa-bad-insecure-pkix-ok", ID);
}

static void
classify_per_test_form_is_test_for_uniq_and_dns(void **state)
{
	(void)state;
	assert_test("measure@" ID ".uniq." BASE, "uniq", ID);
	assert_test("measure@" ID ".dns." BASE, "dns", ID);
}

static void
classify_every_challenge_round_trips_its_own_address(void **state)
{
	const struct catalog_challenge *chs;
	struct config cfg = test_config();
	struct result r;
	char id[TESTID_LEN + 1], addr[512];
	size_t i, n;

	(void)state;
	chs = catalog_challenges(&n);
	assert_true(n >= 30);
	for (i = 0; i < n; i++) {
		assert_int_equal(testid_new(id), 0);
		assert_int_equal(testid_address(&cfg, &chs[i], id, addr,
		    sizeof(addr)), 0);
		r = classify_with(&cfg, addr);
		if (r.kind != RCPT_TEST)
			fail_msg("%s: kind %d", addr, (int)r.kind);
		assert_string_equal(r.id, id);
		assert_ptr_equal(r.ch, &chs[i]);
	}
}

static void
classify_ignores_case_of_domain_and_id_and_stores_id_lowercased(void **state)
{
	(void)state;
	assert_test("measure+" ID_UC "@tls." BASE, "tls", ID);
	assert_test("measure+" ID "@TLS.MEASURE.TEST", "tls", ID);
	assert_test("MEASURE+" ID_UC "@Tls.Measure.Test", "tls", ID);
	assert_test("measure+AbCdEfGhIjKlMnOpQrStUvWx2A@sts-2MX-tls." BASE,
	    "sts-2mx-tls", ID);
	assert_test("measure@" ID_UC ".uniq." BASE, "uniq", ID);
	assert_test("Measure@" ID_UC ".UNIQ.MEASURE.TEST", "uniq", ID);
	assert_test("MEASURE@" ID ".Dns.measure.TEST", "dns", ID);
}

static void
classify_accepts_one_trailing_dot_in_the_domain(void **state)
{
	(void)state;
	assert_test("measure+" ID "@tls." BASE ".", "tls", ID);
	assert_test("measure@" ID ".uniq." BASE ".", "uniq", ID);
	assert_test("measure@" ID_UC ".DNS.MEASURE.TEST.", "dns", ID);
	assert_kind("postmaster@" BASE ".", RCPT_POSTMASTER);
	assert_kind("postmaster@tls." BASE ".", RCPT_POSTMASTER);
	assert_kind("abuse@" BASE ".", RCPT_NO_USER);
	assert_kind("abuse@tls." BASE ".", RCPT_NO_USER);
}

static void
classify_refuses_two_trailing_dots(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@tls." BASE "..", RCPT_FOREIGN);
	assert_kind("measure@" ID ".uniq." BASE "..", RCPT_FOREIGN);
	assert_kind("postmaster@" BASE "..", RCPT_FOREIGN);
}

/* ---- testid_classify: postmaster ---- */

static void
classify_bare_postmaster_in_any_case(void **state)
{
	(void)state;
	assert_kind("postmaster", RCPT_POSTMASTER);
	assert_kind("Postmaster", RCPT_POSTMASTER);
	assert_kind("POSTMASTER", RCPT_POSTMASTER);
}

static void
classify_other_local_part_without_domain_is_foreign(void **state)
{
	(void)state;
	assert_kind("", RCPT_FOREIGN);
	assert_kind("measure", RCPT_FOREIGN);
	assert_kind("postmaste", RCPT_FOREIGN);
	assert_kind("postmasters", RCPT_FOREIGN);
	assert_kind("measure+" ID, RCPT_FOREIGN);
}

static void
classify_postmaster_of_base_and_challenge_domains(void **state)
{
	(void)state;
	assert_kind("postmaster@" BASE, RCPT_POSTMASTER);
	assert_kind("PostMaster@MEASURE.TEST", RCPT_POSTMASTER);
	assert_kind("postmaster@tls." BASE, RCPT_POSTMASTER);
	assert_kind("POSTMASTER@Grey-V6." BASE, RCPT_POSTMASTER);
	assert_kind("postmaster@" ID ".uniq." BASE, RCPT_POSTMASTER);
	assert_kind("postmaster@" ID_UC ".dns." BASE, RCPT_POSTMASTER);
}

static void
classify_postmaster_of_foreign_domain_is_foreign(void **state)
{
	(void)state;
	assert_kind("postmaster@example.com", RCPT_FOREIGN);
	assert_kind("postmaster@nope." BASE, RCPT_FOREIGN);
	assert_kind("postmaster@mx.tls." BASE, RCPT_FOREIGN);
	assert_kind("postmaster@" ID ".tls." BASE, RCPT_FOREIGN);
	assert_kind("postmaster@tls." BASE ".evil.example", RCPT_FOREIGN);
	assert_kind("postmaster@evil" BASE, RCPT_FOREIGN);
}

/* ---- testid_classify: catalogue domains, other local parts ---- */

static void
classify_other_local_part_of_base_is_no_user(void **state)
{
	(void)state;
	assert_kind("measure@" BASE, RCPT_NO_USER);
	assert_kind("measure+" ID "@" BASE, RCPT_NO_USER);
	assert_kind("abuse@" BASE, RCPT_NO_USER);
	assert_kind("tlsrpt@" BASE, RCPT_NO_USER);
	assert_kind("@" BASE, RCPT_NO_USER);
	assert_kind("\"post master\"@" BASE, RCPT_NO_USER);
}

static void
classify_unknown_local_part_of_challenge_is_no_user(void **state)
{
	(void)state;
	assert_kind("abuse@tls." BASE, RCPT_NO_USER);
	assert_kind("measure@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+@tls." BASE, RCPT_NO_USER);
	assert_kind("@tls." BASE, RCPT_NO_USER);
	assert_kind("measure-" ID "@tls." BASE, RCPT_NO_USER);
	assert_kind("measurex" ID "@tls." BASE, RCPT_NO_USER);
	assert_kind("measura+" ID "@tls." BASE, RCPT_NO_USER);
	assert_kind("xmeasure+" ID "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure++" ID "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID "+x@tls." BASE, RCPT_NO_USER);
	assert_kind("\"measure+" ID "\"@tls." BASE, RCPT_NO_USER);
	assert_kind("\"a@b\"@tls." BASE, RCPT_NO_USER);
}

static void
classify_bad_id_in_plus_form_is_no_user(void **state)
{
	(void)state;
	assert_kind("measure+" ID_25 "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID_27 "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID_0 "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID_1 "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID_8 "@tls." BASE, RCPT_NO_USER);
	assert_kind("measure+abcdefghijklm.opqrstuvwx2a@tls." BASE,
	    RCPT_NO_USER);
}

static void
classify_other_local_part_of_per_test_domain_is_no_user(void **state)
{
	(void)state;
	assert_kind("abuse@" ID ".uniq." BASE, RCPT_NO_USER);
	assert_kind("measure+" ID "@" ID ".uniq." BASE, RCPT_NO_USER);
	assert_kind("measurex@" ID ".dns." BASE, RCPT_NO_USER);
	assert_kind("measur@" ID ".dns." BASE, RCPT_NO_USER);
	assert_kind("@" ID ".dns." BASE, RCPT_NO_USER);
}

/* ---- testid_classify: foreign ---- */

static void
classify_foreign_domain(void **state)
{
	(void)state;
	assert_kind("user@example.com", RCPT_FOREIGN);
	assert_kind("measure+" ID "@example.com", RCPT_FOREIGN);
	assert_kind("measure@" ID ".uniq.example.com", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.example.com", RCPT_FOREIGN);
	assert_kind("measure+" ID "@test", RCPT_FOREIGN);
}

static void
classify_rejects_lookalike_domain(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@tls.measure.test.evil.example",
	    RCPT_FOREIGN);
	assert_kind("measure+" ID "@evilmeasure.test", RCPT_FOREIGN);
	assert_kind("postmaster@evilmeasure.test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.evilmeasure.test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tlsmeasure.test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls-measure.test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.measure.testx", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.measure.tes", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.easure.test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.measure-test", RCPT_FOREIGN);
	assert_kind("measure+" ID "@measure.test.evil.example",
	    RCPT_FOREIGN);
	assert_kind("measure@" ID ".uniq.measure.test.evil.example",
	    RCPT_FOREIGN);
	assert_kind("measure@" ID ".uniqmeasure.test", RCPT_FOREIGN);
}

static void
classify_empty_label_before_base_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@." BASE, RCPT_FOREIGN);
	assert_kind("postmaster@." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@.tls." BASE, RCPT_FOREIGN);
}

static void
classify_empty_domain_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@", RCPT_FOREIGN);
	assert_kind("postmaster@", RCPT_FOREIGN);
	assert_kind("postmaster@.", RCPT_FOREIGN);
	assert_kind("@", RCPT_FOREIGN);
}

static void
classify_unknown_subdomain_of_base_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@nope." BASE, RCPT_FOREIGN);
	assert_kind("abuse@nope." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls.tls." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@x.tls." BASE, RCPT_FOREIGN);
	/* Names of the catalogue's hosts are not challenge domains. */
	assert_kind("measure+" ID "@plain." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@open." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@tls-bad." BASE, RCPT_FOREIGN);
}

static void
classify_mx_and_mta_sts_names_are_foreign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@mx.tls." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@mx2.sts-2mx-tls." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@mta-sts.sts-rn." BASE, RCPT_FOREIGN);
	assert_kind("measure@mx.uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@mx." ID ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("abuse@mx.tls." BASE, RCPT_FOREIGN);
}

static void
classify_per_test_form_on_other_challenge_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure@" ID ".tls." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID ".v4." BASE, RCPT_FOREIGN);
	assert_kind("abuse@" ID ".tls." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@" ID ".tls." BASE, RCPT_FOREIGN);
}

/* A per-test challenge's domains are <id>.C.<base>, not C.<base>. */
static void
classify_plus_form_on_per_test_challenge_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure+" ID "@dns." BASE, RCPT_FOREIGN);
	assert_kind("measure@uniq." BASE, RCPT_FOREIGN);
}

static void
classify_per_test_form_with_bad_id_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure@" ID_25 ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID_27 ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID_0 ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID_1 ".dns." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID_8 ".dns." BASE, RCPT_FOREIGN);
	assert_kind("measure@foo.uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@.uniq." BASE, RCPT_FOREIGN);
	assert_kind("postmaster@" ID_0 ".uniq." BASE, RCPT_FOREIGN);
}

static void
classify_per_test_form_with_extra_labels_is_foreign(void **state)
{
	(void)state;
	assert_kind("measure@" ID ".x.uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@x." ID ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID "." ID ".uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID "..uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID ".uniq.uniq." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID ".nope." BASE, RCPT_FOREIGN);
	assert_kind("measure@" ID "." BASE, RCPT_FOREIGN);
}

static void
classify_uses_the_last_at_sign(void **state)
{
	(void)state;
	assert_kind("measure+" ID "@tls." BASE "@evil.example", RCPT_FOREIGN);
	assert_kind("x@evil.example@tls." BASE, RCPT_NO_USER);
	assert_kind("\"postmaster@evil.example\"@" BASE, RCPT_NO_USER);
}

/* ---- testid_classify: configuration ---- */

static void
classify_honours_configured_local_part_and_base(void **state)
{
	struct config cfg = test_config();
	struct result r;

	(void)state;
	cfg.local_part = "probe";
	cfg.base_domain = "mx-lab.example.org";

	r = classify_with(&cfg, "probe+" ID_UC "@tls.MX-lab.example.org");
	assert_int_equal(r.kind, RCPT_TEST);
	assert_string_equal(r.id, ID);
	assert_ptr_equal(r.ch, challenge("tls"));

	r = classify_with(&cfg, "Probe@" ID ".dns.mx-lab.example.org.");
	assert_int_equal(r.kind, RCPT_TEST);
	assert_string_equal(r.id, ID);
	assert_ptr_equal(r.ch, challenge("dns"));

	r = classify_with(&cfg, "measure+" ID "@tls.mx-lab.example.org");
	assert_int_equal(r.kind, RCPT_NO_USER);
	assert_null(r.ch);
	r = classify_with(&cfg, "measure@" ID ".uniq.mx-lab.example.org");
	assert_int_equal(r.kind, RCPT_NO_USER);
	r = classify_with(&cfg, "probe+" ID "@tls." BASE);
	assert_int_equal(r.kind, RCPT_FOREIGN);
	r = classify_with(&cfg, "postmaster@mx-lab.example.org");
	assert_int_equal(r.kind, RCPT_POSTMASTER);
	r = classify_with(&cfg, "postmaster@lab.example.org");
	assert_int_equal(r.kind, RCPT_FOREIGN);
	r = classify_with(&cfg, "probe+" ID "@tls.xmx-lab.example.org");
	assert_int_equal(r.kind, RCPT_FOREIGN);
}

/* ---- testid_address ---- */

static void
testid_address_is_plus_form_for_ordinary_challenges(void **state)
{
	struct config cfg = test_config();
	char buf[256];

	(void)state;
	assert_int_equal(testid_address(&cfg, challenge("tls"), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "measure+" ID "@tls.measure.test");
	assert_int_equal(testid_address(&cfg,
	    challenge("sts-bad-tlsa-ok-pkix-bad"), ID, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
	    "measure+" ID "@sts-bad-tlsa-ok-pkix-bad.measure.test");
}

static void
testid_address_is_per_test_form_for_uniq_and_dns(void **state)
{
	struct config cfg = test_config();
	char buf[256];

	(void)state;
	assert_int_equal(testid_address(&cfg, challenge("uniq"), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "measure@" ID ".uniq.measure.test");
	assert_int_equal(testid_address(&cfg, challenge("dns"), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "measure@" ID ".dns.measure.test");
}

static void
testid_address_uses_configured_local_part_and_base(void **state)
{
	struct config cfg = test_config();
	char buf[256];

	(void)state;
	cfg.local_part = "probe";
	cfg.base_domain = "lab.example.org";
	assert_int_equal(testid_address(&cfg, challenge("v6"), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "probe+" ID "@v6.lab.example.org");
	assert_int_equal(testid_address(&cfg, challenge("uniq"), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "probe@" ID ".uniq.lab.example.org");
}

static void
testid_address_fits_exactly_and_fails_one_short(void **state)
{
	static const char want[] = "measure+" ID "@tls.measure.test";
	static const char want_pt[] = "measure@" ID ".uniq.measure.test";
	struct config cfg = test_config();
	char buf[sizeof(want_pt) + 8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(testid_address(&cfg, challenge("tls"), ID, buf,
	    sizeof(want)), 0);
	assert_string_equal(buf, want);

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(testid_address(&cfg, challenge("tls"), ID, buf,
	    sizeof(want) - 1), -1);
	/* Truncated, but always terminated within the buffer. */
	assert_int_equal(buf[sizeof(want) - 2], '\0');

	assert_int_equal(testid_address(&cfg, challenge("uniq"), ID, buf,
	    sizeof(want_pt)), 0);
	assert_string_equal(buf, want_pt);
	assert_int_equal(testid_address(&cfg, challenge("uniq"), ID, buf,
	    sizeof(want_pt) - 1), -1);

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(testid_address(&cfg, challenge("tls"), ID, buf, 0),
	    -1);
	assert_int_equal(buf[0], 'X');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(testid_new_is_26_base32_chars_and_differs),
		cmocka_unit_test(
		    testid_new_last_symbol_carries_three_bits_zero_padded),
		cmocka_unit_test(
		    testid_new_uses_the_whole_alphabet_and_never_repeats),
		cmocka_unit_test(
		    testid_valid_accepts_26_base32_symbols_in_either_case),
		cmocka_unit_test(testid_valid_refuses_other_lengths),
		cmocka_unit_test(
		    testid_valid_refuses_symbols_outside_rfc4648_base32),
		cmocka_unit_test(testid_valid_refuses_embedded_nul),
		cmocka_unit_test(
		    classify_plus_form_is_test_with_id_and_challenge),
		cmocka_unit_test(
		    classify_per_test_form_is_test_for_uniq_and_dns),
		cmocka_unit_test(
		    classify_every_challenge_round_trips_its_own_address),
		cmocka_unit_test(
		    classify_ignores_case_of_domain_and_id_and_stores_id_lowercased),
		cmocka_unit_test(
		    classify_accepts_one_trailing_dot_in_the_domain),
		cmocka_unit_test(classify_refuses_two_trailing_dots),
		cmocka_unit_test(classify_bare_postmaster_in_any_case),
		cmocka_unit_test(
		    classify_other_local_part_without_domain_is_foreign),
		cmocka_unit_test(
		    classify_postmaster_of_base_and_challenge_domains),
		cmocka_unit_test(
		    classify_postmaster_of_foreign_domain_is_foreign),
		cmocka_unit_test(classify_other_local_part_of_base_is_no_user),
		cmocka_unit_test(
		    classify_unknown_local_part_of_challenge_is_no_user),
		cmocka_unit_test(classify_bad_id_in_plus_form_is_no_user),
		cmocka_unit_test(
		    classify_other_local_part_of_per_test_domain_is_no_user),
		cmocka_unit_test(classify_foreign_domain),
		cmocka_unit_test(classify_rejects_lookalike_domain),
		cmocka_unit_test(classify_empty_label_before_base_is_foreign),
		cmocka_unit_test(classify_empty_domain_is_foreign),
		cmocka_unit_test(classify_unknown_subdomain_of_base_is_foreign),
		cmocka_unit_test(classify_mx_and_mta_sts_names_are_foreign),
		cmocka_unit_test(
		    classify_per_test_form_on_other_challenge_is_foreign),
		cmocka_unit_test(
		    classify_plus_form_on_per_test_challenge_is_foreign),
		cmocka_unit_test(classify_per_test_form_with_bad_id_is_foreign),
		cmocka_unit_test(
		    classify_per_test_form_with_extra_labels_is_foreign),
		cmocka_unit_test(classify_uses_the_last_at_sign),
		cmocka_unit_test(
		    classify_honours_configured_local_part_and_base),
		cmocka_unit_test(
		    testid_address_is_plus_form_for_ordinary_challenges),
		cmocka_unit_test(
		    testid_address_is_per_test_form_for_uniq_and_dns),
		cmocka_unit_test(
		    testid_address_uses_configured_local_part_and_base),
		cmocka_unit_test(
		    testid_address_fits_exactly_and_fails_one_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
