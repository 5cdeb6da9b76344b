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
#include "netaddr.h"
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

static const struct catalog_challenge *
challenge(const char *name)
{
	const struct catalog_challenge *ch;

	ch = catalog_challenge(name);
	assert_non_null(ch);
	return ch;
}

/*
 * One classification: ADDR is KIND; a test (RCPT_TEST) of challenge CH
 * with the lowercase ID, anything else leaves the outputs alone.  A
 * table of them ends with a NULL ADDR.
 */
struct want {
	const char		*addr;
	enum testid_rcpt	 kind;
	const char		*ch;
};

/* Asserts each row of W under CFG. */
static void
assert_rows(const struct config *cfg, const struct want *w)
{
	struct result r;

	for (; w->addr != NULL; w++) {
		r = classify_with(cfg, w->addr);
		if (r.kind != w->kind)
			fail_msg("%s: kind %d, want %d", w->addr, (int)r.kind,
			    (int)w->kind);
		if (w->kind == RCPT_TEST) {
			assert_string_equal(r.id, ID);
			assert_ptr_equal(r.ch, challenge(w->ch));
		} else {
			assert_string_equal(r.id, SENTINEL_ID);
			assert_null(r.ch);
		}
	}
}

/* A test of a table of the default configuration: *STATE is the table. */
static void
classify_rows(void **state)
{
	struct config cfg = test_config();

	assert_rows(&cfg, *state);
}

/* The test of table NAME, named after it. */
#define ROWS_TEST(name)	\
	{ #name, classify_rows, NULL, NULL, (void *)(uintptr_t)(name) }

/* The address of challenge CH for the test ID under CFG is WANT. */
static void
assert_address(const struct config *cfg, const char *ch, const char *want)
{
	char buf[256];

	assert_int_equal(testid_address(cfg, challenge(ch), ID, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, want);
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

static const struct want classify_plus_form_is_test_with_id_and_challenge[] = {
	{ "measure+" ID "@tls." BASE, RCPT_TEST, "tls" },
	{ "measure+" ID "@v4." BASE, RCPT_TEST, "v4" },
	{ "measure+" ID "@sts-2mx-plain." BASE, RCPT_TEST, "sts-2mx-plain" },
	{ "measure+" ID "@tlsa-bad-insecure-pkix-ok." BASE,
	    RCPT_TEST, "tlsa-bad-insecure-pkix-ok" },
	{ NULL, 0, NULL }
};

static const struct want classify_per_test_form_is_test_for_uniq_and_dns[] = {
	{ "measure@" ID ".uniq." BASE, RCPT_TEST, "uniq" },
	{ "measure@" ID ".dns." BASE, RCPT_TEST, "dns" },
	{ NULL, 0, NULL }
};

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

static const struct want
classify_ignores_case_of_domain_and_id_and_stores_id_lowercased[] = {
	{ "measure+" ID_UC "@tls." BASE, RCPT_TEST, "tls" },
	{ "measure+" ID "@TLS.MEASURE.TEST", RCPT_TEST, "tls" },
	{ "MEASURE+" ID_UC "@Tls.Measure.Test", RCPT_TEST, "tls" },
	{ "measure+AbCdEfGhIjKlMnOpQrStUvWx2A@sts-2MX-tls." BASE,
	    RCPT_TEST, "sts-2mx-tls" },
	{ "measure@" ID_UC ".uniq." BASE, RCPT_TEST, "uniq" },
	{ "Measure@" ID_UC ".UNIQ.MEASURE.TEST", RCPT_TEST, "uniq" },
	{ "MEASURE@" ID ".Dns.measure.TEST", RCPT_TEST, "dns" },
	{ NULL, 0, NULL }
};

static const struct want classify_accepts_one_trailing_dot_in_the_domain[] = {
	{ "measure+" ID "@tls." BASE ".", RCPT_TEST, "tls" },
	{ "measure@" ID ".uniq." BASE ".", RCPT_TEST, "uniq" },
	{ "measure@" ID_UC ".DNS.MEASURE.TEST.", RCPT_TEST, "dns" },
	{ "postmaster@" BASE ".", RCPT_POSTMASTER, NULL },
	{ "postmaster@tls." BASE ".", RCPT_POSTMASTER, NULL },
	{ "abuse@" BASE ".", RCPT_NO_USER, NULL },
	{ "abuse@tls." BASE ".", RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_refuses_two_trailing_dots[] = {
	{ "measure+" ID "@tls." BASE "..", RCPT_FOREIGN, NULL },
	{ "measure@" ID ".uniq." BASE "..", RCPT_FOREIGN, NULL },
	{ "postmaster@" BASE "..", RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

/* ---- testid_classify: postmaster ---- */

static const struct want classify_bare_postmaster_in_any_case[] = {
	{ "postmaster", RCPT_POSTMASTER, NULL },
	{ "Postmaster", RCPT_POSTMASTER, NULL },
	{ "POSTMASTER", RCPT_POSTMASTER, NULL },
	{ NULL, 0, NULL }
};

static const struct want
classify_other_local_part_without_domain_is_foreign[] = {
	{ "", RCPT_FOREIGN, NULL },
	{ "measure", RCPT_FOREIGN, NULL },
	{ "postmaste", RCPT_FOREIGN, NULL },
	{ "postmasters", RCPT_FOREIGN, NULL },
	{ "measure+" ID, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_postmaster_of_base_and_challenge_domains[] = {
	{ "postmaster@" BASE, RCPT_POSTMASTER, NULL },
	{ "PostMaster@MEASURE.TEST", RCPT_POSTMASTER, NULL },
	{ "postmaster@tls." BASE, RCPT_POSTMASTER, NULL },
	{ "POSTMASTER@Grey-V6." BASE, RCPT_POSTMASTER, NULL },
	{ "postmaster@" ID ".uniq." BASE, RCPT_POSTMASTER, NULL },
	{ "postmaster@" ID_UC ".dns." BASE, RCPT_POSTMASTER, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_postmaster_of_foreign_domain_is_foreign[] = {
	{ "postmaster@example.com", RCPT_FOREIGN, NULL },
	{ "postmaster@nope." BASE, RCPT_FOREIGN, NULL },
	{ "postmaster@mx.tls." BASE, RCPT_FOREIGN, NULL },
	{ "postmaster@" ID ".tls." BASE, RCPT_FOREIGN, NULL },
	{ "postmaster@tls." BASE ".evil.example", RCPT_FOREIGN, NULL },
	{ "postmaster@evil" BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

/* ---- testid_classify: the report address ---- */

/* RFC 8460 3: every zone's rua=mailto:tlsrpt@<base>. */
static const struct want classify_tlsrpt_of_base_is_report_in_any_case[] = {
	{ "tlsrpt@" BASE, RCPT_REPORT, NULL },
	{ "TLSRPT@" BASE, RCPT_REPORT, NULL },
	{ "TlsRpt@Measure.Test", RCPT_REPORT, NULL },
	{ "tlsrpt@" BASE ".", RCPT_REPORT, NULL },
	{ "TLSRPT@MEASURE.TEST.", RCPT_REPORT, NULL },
	{ NULL, 0, NULL }
};

/* Only the base's address is published; dmarc@ is not (no rua= of ours). */
static const struct want classify_other_report_addresses_are_refused[] = {
	{ "tlsrpt@tls." BASE, RCPT_NO_USER, NULL },
	{ "TLSRPT@v4." BASE ".", RCPT_NO_USER, NULL },
	{ "tlsrpt@" ID ".uniq." BASE, RCPT_NO_USER, NULL },
	{ "tlsrpt@" ID ".dns." BASE, RCPT_NO_USER, NULL },
	{ "dmarc@" BASE, RCPT_NO_USER, NULL },
	{ "tlsrpt+x@" BASE, RCPT_NO_USER, NULL },
	{ "tlsrp@" BASE, RCPT_NO_USER, NULL },
	{ "tlsrptx@" BASE, RCPT_NO_USER, NULL },
	{ "\"tlsrpt\"@" BASE, RCPT_NO_USER, NULL },
	{ "tlsrpt@" BASE "..", RCPT_FOREIGN, NULL },
	{ "tlsrpt@nope." BASE, RCPT_FOREIGN, NULL },
	{ "tlsrpt@example.com", RCPT_FOREIGN, NULL },
	{ "tlsrpt", RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

/* ---- testid_classify: catalogue domains, other local parts ---- */

static const struct want classify_other_local_part_of_base_is_no_user[] = {
	{ "measure@" BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID "@" BASE, RCPT_NO_USER, NULL },
	{ "abuse@" BASE, RCPT_NO_USER, NULL },
	{ "tlsrpt@" BASE, RCPT_REPORT, NULL },
	{ "@" BASE, RCPT_NO_USER, NULL },
	{ "\"post master\"@" BASE, RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

static const struct want
classify_unknown_local_part_of_challenge_is_no_user[] = {
	{ "abuse@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+@tls." BASE, RCPT_NO_USER, NULL },
	{ "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure-" ID "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measurex" ID "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measura+" ID "@tls." BASE, RCPT_NO_USER, NULL },
	{ "xmeasure+" ID "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure++" ID "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID "+x@tls." BASE, RCPT_NO_USER, NULL },
	{ "\"measure+" ID "\"@tls." BASE, RCPT_NO_USER, NULL },
	{ "\"a@b\"@tls." BASE, RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_bad_id_in_plus_form_is_no_user[] = {
	{ "measure+" ID_25 "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID_27 "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID_0 "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID_1 "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID_8 "@tls." BASE, RCPT_NO_USER, NULL },
	{ "measure+abcdefghijklm.opqrstuvwx2a@tls." BASE, RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

static const struct want
classify_other_local_part_of_per_test_domain_is_no_user[] = {
	{ "abuse@" ID ".uniq." BASE, RCPT_NO_USER, NULL },
	{ "measure+" ID "@" ID ".uniq." BASE, RCPT_NO_USER, NULL },
	{ "measurex@" ID ".dns." BASE, RCPT_NO_USER, NULL },
	{ "measur@" ID ".dns." BASE, RCPT_NO_USER, NULL },
	{ "@" ID ".dns." BASE, RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

/* ---- testid_classify: foreign ---- */

static const struct want classify_foreign_domain[] = {
	{ "user@example.com", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@example.com", RCPT_FOREIGN, NULL },
	{ "measure@" ID ".uniq.example.com", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.example.com", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@test", RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_rejects_lookalike_domain[] = {
	{ "measure+" ID "@tls.measure.test.evil.example", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@evilmeasure.test", RCPT_FOREIGN, NULL },
	{ "postmaster@evilmeasure.test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.evilmeasure.test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tlsmeasure.test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls-measure.test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.measure.testx", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.measure.tes", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.easure.test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.measure-test", RCPT_FOREIGN, NULL },
	{ "measure+" ID "@measure.test.evil.example", RCPT_FOREIGN, NULL },
	{ "measure@" ID ".uniq.measure.test.evil.example", RCPT_FOREIGN, NULL },
	{ "measure@" ID ".uniqmeasure.test", RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_empty_label_before_base_is_foreign[] = {
	{ "measure+" ID "@." BASE, RCPT_FOREIGN, NULL },
	{ "postmaster@." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@.tls." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_empty_domain_is_foreign[] = {
	{ "measure+" ID "@", RCPT_FOREIGN, NULL },
	{ "postmaster@", RCPT_FOREIGN, NULL },
	{ "postmaster@.", RCPT_FOREIGN, NULL },
	{ "@", RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_unknown_subdomain_of_base_is_foreign[] = {
	{ "measure+" ID "@nope." BASE, RCPT_FOREIGN, NULL },
	{ "abuse@nope." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls.tls." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@x.tls." BASE, RCPT_FOREIGN, NULL },
	/* Names of the catalogue's hosts are not challenge domains. */
	{ "measure+" ID "@plain." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@open." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@tls-bad." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_mx_and_mta_sts_names_are_foreign[] = {
	{ "measure+" ID "@mx.tls." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@mx2.sts-2mx-tls." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@mta-sts.sts-rn." BASE, RCPT_FOREIGN, NULL },
	{ "measure@mx.uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@mx." ID ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "abuse@mx.tls." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want
classify_per_test_form_on_other_challenge_is_foreign[] = {
	{ "measure@" ID ".tls." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID ".v4." BASE, RCPT_FOREIGN, NULL },
	{ "abuse@" ID ".tls." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@" ID ".tls." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

/* A per-test challenge's domains are <id>.C.<base>, not C.<base>. */
static const struct want
classify_plus_form_on_per_test_challenge_is_foreign[] = {
	{ "measure+" ID "@uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure+" ID "@dns." BASE, RCPT_FOREIGN, NULL },
	{ "measure@uniq." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_per_test_form_with_bad_id_is_foreign[] = {
	{ "measure@" ID_25 ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID_27 ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID_0 ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID_1 ".dns." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID_8 ".dns." BASE, RCPT_FOREIGN, NULL },
	{ "measure@foo.uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@.uniq." BASE, RCPT_FOREIGN, NULL },
	{ "postmaster@" ID_0 ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want
classify_per_test_form_with_extra_labels_is_foreign[] = {
	{ "measure@" ID ".x.uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@x." ID ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID "." ID ".uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID "..uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID ".uniq.uniq." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID ".nope." BASE, RCPT_FOREIGN, NULL },
	{ "measure@" ID "." BASE, RCPT_FOREIGN, NULL },
	{ NULL, 0, NULL }
};

static const struct want classify_uses_the_last_at_sign[] = {
	{ "measure+" ID "@tls." BASE "@evil.example", RCPT_FOREIGN, NULL },
	{ "x@evil.example@tls." BASE, RCPT_NO_USER, NULL },
	{ "\"postmaster@evil.example\"@" BASE, RCPT_NO_USER, NULL },
	{ NULL, 0, NULL }
};

/* ---- testid_classify: configuration ---- */

static void
classify_honours_configured_local_part_and_base(void **state)
{
	static const struct want w[] = {
		{ "probe+" ID_UC "@tls.MX-lab.example.org", RCPT_TEST, "tls" },
		{ "Probe@" ID ".dns.mx-lab.example.org.", RCPT_TEST, "dns" },
		{ "measure+" ID "@tls.mx-lab.example.org", RCPT_NO_USER, NULL },
		{ "measure@" ID ".uniq.mx-lab.example.org", RCPT_NO_USER,
		    NULL },
		{ "probe+" ID "@tls." BASE, RCPT_FOREIGN, NULL },
		{ "postmaster@mx-lab.example.org", RCPT_POSTMASTER, NULL },
		{ "postmaster@lab.example.org", RCPT_FOREIGN, NULL },
		{ "probe+" ID "@tls.xmx-lab.example.org", RCPT_FOREIGN, NULL },
		{ NULL, 0, NULL }
	};
	struct config cfg = test_config();

	(void)state;
	cfg.local_part = "probe";
	cfg.base_domain = "mx-lab.example.org";
	assert_rows(&cfg, w);
}

/* ---- testid_address ---- */

static void
testid_address_is_plus_form_for_ordinary_challenges(void **state)
{
	struct config cfg = test_config();

	(void)state;
	assert_address(&cfg, "tls", "measure+" ID "@tls.measure.test");
	assert_address(&cfg, "sts-bad-tlsa-ok-pkix-bad",
	    "measure+" ID "@sts-bad-tlsa-ok-pkix-bad.measure.test");
}

static void
testid_address_is_per_test_form_for_uniq_and_dns(void **state)
{
	struct config cfg = test_config();

	(void)state;
	assert_address(&cfg, "uniq", "measure@" ID ".uniq.measure.test");
	assert_address(&cfg, "dns", "measure@" ID ".dns.measure.test");
}

static void
testid_address_uses_configured_local_part_and_base(void **state)
{
	struct config cfg = test_config();

	(void)state;
	cfg.local_part = "probe";
	cfg.base_domain = "lab.example.org";
	assert_address(&cfg, "v6", "probe+" ID "@v6.lab.example.org");
	assert_address(&cfg, "uniq", "probe@" ID ".uniq.lab.example.org");
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

/* ---- testid_from_name (SNI), netaddr_client_net (attribution) ---- */

/* The ID and challenge NAME names, "-" for none. */
static void
assert_name(const struct config *cfg, const char *name, const char *want_id,
    const char *want_ch)
{
	const struct catalog_challenge *ch = NULL;
	char id[TESTID_LEN + 1] = SENTINEL_ID;
	int r;

	r = testid_from_name(cfg, name, id, &ch);
	if (want_id == NULL) {
		assert_int_equal(r, 0);
		assert_string_equal(id, SENTINEL_ID);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(id, want_id);
	assert_string_equal(ch->name, want_ch);
}

static void
testid_from_name_finds_per_test_names_only(void **state)
{
	struct config cfg = test_config();

	(void)state;
	/* issue 12: the dns challenge's MX, mx-<id>.dns.<base> */
	assert_name(&cfg, CATALOG_TEST_MX_PREFIX ID ".dns.measure.test", ID,
	    "dns");
	assert_name(&cfg, "MX-" ID_UC ".DNS.Measure.Test.", ID, "dns");
	assert_name(&cfg, "_25._tcp.mx-" ID ".dns.measure.test", ID, "dns");
	/* a name under <id>.dns.<base> (the MX before issue 12) */
	assert_name(&cfg, "mx." ID ".dns.measure.test", ID, "dns");
	assert_name(&cfg, "MX." ID_UC ".DNS.Measure.Test.", ID, "dns");
	assert_name(&cfg, ID ".uniq.measure.test", ID, "uniq");
	assert_name(&cfg, "a.b." ID ".uniq.measure.test", ID, "uniq");
	/* not per test, not ours, no valid ID, nothing before the ID */
	assert_name(&cfg, "mx." ID ".tls.measure.test", NULL, NULL);
	assert_name(&cfg, "mx." ID ".dns.measure.example", NULL, NULL);
	assert_name(&cfg, "mx." ID_0 ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx." ID_27 ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx.dns.measure.test", NULL, NULL);
	/* mx-<id> names the test of the delegated challenge only */
	assert_name(&cfg, "mx-" ID ".uniq.measure.test", NULL, NULL);
	assert_name(&cfg, "mx-" ID ".tls.measure.test", NULL, NULL);
	assert_name(&cfg, "mx-" ID_0 ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx-" ID_27 ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx-.dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx_" ID ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "xmx-" ID ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "mx-" ID ".measure.test", NULL, NULL);
	assert_name(&cfg, ".dns.measure.test", NULL, NULL);
	assert_name(&cfg, "dns.measure.test", NULL, NULL);
	assert_name(&cfg, "measure.test", NULL, NULL);
	assert_name(&cfg, "", NULL, NULL);
	assert_name(&cfg, ID "dns.measure.test", NULL, NULL);
}

/* The challenge NAME is the domain of or is under, "-" for none. */
static void
assert_domain(const struct config *cfg, const char *name, const char *want)
{
	const struct catalog_challenge *ch;

	ch = testid_challenge_of_name(cfg, name);
	assert_string_equal(ch != NULL ? ch->name : "-", want);
}

static void
testid_challenge_of_name_is_the_last_label_before_the_base(void **state)
{
	struct config cfg = test_config();

	(void)state;
	assert_domain(&cfg, "tls.measure.test", "tls");
	assert_domain(&cfg, "TLS.Measure.Test.", "tls");
	assert_domain(&cfg, "mx.sts-2mx-tls.measure.test", "sts-2mx-tls");
	assert_domain(&cfg, "mx2.sts-2mx-tls.measure.test", "sts-2mx-tls");
	assert_domain(&cfg, ID ".uniq.measure.test", "uniq");
	assert_domain(&cfg, "mx-" ID ".dns.measure.test", "dns");
	/* not a challenge, not under the base, the base itself */
	assert_domain(&cfg, "tls.example.test", "-");
	assert_domain(&cfg, "nosuch.measure.test", "-");
	assert_domain(&cfg, "tls.nosuch.measure.test", "-");
	assert_domain(&cfg, "tlsmeasure.test", "-");
	assert_domain(&cfg, "measure.test", "-");
	assert_domain(&cfg, ".measure.test", "-");
	assert_domain(&cfg, "", "-");
}

static void
client_net_is_the_ipv4_address_or_the_ipv6_slash_64(void **state)
{
	char net[64];

	(void)state;
	assert_int_equal(netaddr_client_net("192.0.2.7", net, sizeof(net)), 0);
	assert_string_equal(net, "192.0.2.7");
	assert_int_equal(netaddr_client_net("::ffff:192.0.2.7", net,
	    sizeof(net)), 0);
	assert_string_equal(net, "192.0.2.7");
	assert_int_equal(netaddr_client_net("2001:db8:1:2:3:4:5:6", net,
	    sizeof(net)), 0);
	assert_string_equal(net, "2001:db8:1:2::/64");
	assert_int_equal(netaddr_client_net("2001:db8::1", net, sizeof(net)),
	    0);
	assert_string_equal(net, "2001:db8::/64");
	assert_int_equal(netaddr_client_net("::1", net, sizeof(net)), 0);
	assert_string_equal(net, "::/64");
	assert_int_equal(netaddr_client_net("x", net, sizeof(net)), -1);
	assert_int_equal(netaddr_client_net("2001:db8::1", net, 10), -1);
}

/* The addresses a probe the web starts may connect to. */
static void
global_addresses_are_outside_the_special_purpose_blocks(void **state)
{
	static const char *const global[] = { "8.8.8.8", "1.1.1.1",
	    "192.0.1.255", "192.0.3.1", "100.63.255.255", "100.128.0.1",
	    "172.32.0.1", "198.20.0.1", "223.255.255.255",
	    "2a00:1450:4001:82b::1b", "2001:200::1", "2600::1",
	    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1" };
	static const char *const special[] = { "0.1.2.3", "10.1.2.3",
	    "100.64.0.1", "127.0.0.1", "169.254.1.1", "172.16.0.1",
	    "172.31.255.255", "192.0.0.9", "192.0.2.1", "192.88.99.1",
	    "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.1",
	    "203.0.113.9", "224.0.0.1", "239.1.1.1", "240.0.0.1",
	    "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "fd12::1",
	    "ff02::1", "2001:db8::1", "2001::1", "2001:10::1", "3fff::1",
	    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1",
	    "2002:a00:1::1", "4000::1", "x", "", "1.2.3" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(global) / sizeof(global[0]); i++)
		if (!netaddr_is_global(global[i]))
			fail_msg("%s is global", global[i]);
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (netaddr_is_global(special[i]))
			fail_msg("%s is not global", special[i]);
}

/* The peers whose X-Forwarded-For the plain web listener believes. */
static void
loopback_addresses_are_127_8_and_1(void **state)
{
	(void)state;
	assert_true(netaddr_is_loopback("127.0.0.1"));
	assert_true(netaddr_is_loopback("127.255.0.9"));
	assert_true(netaddr_is_loopback("::1"));
	assert_true(netaddr_is_loopback("::ffff:127.0.0.1"));
	assert_false(netaddr_is_loopback("128.0.0.1"));
	assert_false(netaddr_is_loopback("192.0.2.7"));
	assert_false(netaddr_is_loopback("::2"));
	assert_false(netaddr_is_loopback("::ffff:192.0.2.7"));
	assert_false(netaddr_is_loopback("2001:db8::1"));
	assert_false(netaddr_is_loopback("localhost"));
	assert_false(netaddr_is_loopback(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(testid_from_name_finds_per_test_names_only),
		cmocka_unit_test(
		    testid_challenge_of_name_is_the_last_label_before_the_base),
		cmocka_unit_test(
		    client_net_is_the_ipv4_address_or_the_ipv6_slash_64),
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
		ROWS_TEST(classify_plus_form_is_test_with_id_and_challenge),
		ROWS_TEST(classify_per_test_form_is_test_for_uniq_and_dns),
		cmocka_unit_test(
		    classify_every_challenge_round_trips_its_own_address),
		ROWS_TEST(
		    classify_ignores_case_of_domain_and_id_and_stores_id_lowercased),
		ROWS_TEST(classify_accepts_one_trailing_dot_in_the_domain),
		ROWS_TEST(classify_refuses_two_trailing_dots),
		ROWS_TEST(classify_bare_postmaster_in_any_case),
		ROWS_TEST(classify_other_local_part_without_domain_is_foreign),
		ROWS_TEST(classify_postmaster_of_base_and_challenge_domains),
		ROWS_TEST(classify_postmaster_of_foreign_domain_is_foreign),
		ROWS_TEST(classify_tlsrpt_of_base_is_report_in_any_case),
		ROWS_TEST(classify_other_report_addresses_are_refused),
		ROWS_TEST(classify_other_local_part_of_base_is_no_user),
		ROWS_TEST(classify_unknown_local_part_of_challenge_is_no_user),
		ROWS_TEST(classify_bad_id_in_plus_form_is_no_user),
		ROWS_TEST(
		    classify_other_local_part_of_per_test_domain_is_no_user),
		ROWS_TEST(classify_foreign_domain),
		ROWS_TEST(classify_rejects_lookalike_domain),
		ROWS_TEST(classify_empty_label_before_base_is_foreign),
		ROWS_TEST(classify_empty_domain_is_foreign),
		ROWS_TEST(classify_unknown_subdomain_of_base_is_foreign),
		ROWS_TEST(classify_mx_and_mta_sts_names_are_foreign),
		ROWS_TEST(classify_per_test_form_on_other_challenge_is_foreign),
		ROWS_TEST(classify_plus_form_on_per_test_challenge_is_foreign),
		ROWS_TEST(classify_per_test_form_with_bad_id_is_foreign),
		ROWS_TEST(classify_per_test_form_with_extra_labels_is_foreign),
		ROWS_TEST(classify_uses_the_last_at_sign),
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
		cmocka_unit_test(loopback_addresses_are_127_8_and_1),
		cmocka_unit_test(
		    global_addresses_are_outside_the_special_purpose_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
