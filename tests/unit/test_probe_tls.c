/*
 * Unit tests of probe_tls.c's probe_cert_fill(): the fields of
 * certificates built here with OpenSSL, hostile names included (a NUL
 * inside, too many SANs, an overlong CN).  The handshake side is proven
 * against real servers by tests/integration/test_probe_net.py.
 */
#include "build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "probe.h"

/*
 * A certificate for CN (CNLEN bytes) with NSAN DNS names, each SAN
 * (SANLEN bytes), self-signed by KEY, or by ISSUER_KEY under ISSUER's
 * name when given.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, int cnlen, const char *san,
    int sanlen, int nsan, EVP_PKEY *issuer_key, const char *issuer)
{
	X509 *x;
	X509_NAME *name;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	ASN1_IA5STRING *ia5;
	int i;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 10);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Probe Unit", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, cnlen, -1, 0), 1);
	if (issuer == NULL)
		X509_set_issuer_name(x, name);
	else {
		X509_NAME *in = X509_NAME_new();

		X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC,
		    (const unsigned char *)issuer, -1, -1, 0);
		X509_set_issuer_name(x, in);
		X509_NAME_free(in);
	}
	if (nsan > 0) {
		assert_non_null(gens = sk_GENERAL_NAME_new_null());
		for (i = 0; i < nsan; i++) {
			assert_non_null(ia5 = ASN1_IA5STRING_new());
			assert_int_equal(ASN1_STRING_set(ia5, san, sanlen), 1);
			assert_non_null(g = GENERAL_NAME_new());
			GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
			sk_GENERAL_NAME_push(gens, g);
		}
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name,
		    gens, 0, 0), 1);
		GENERAL_NAMES_free(gens);
	}
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256()) > 0);
	return x;
}

static char *
hex_of(const unsigned char *b, unsigned int n)
{
	char *p = malloc(2 * n + 1);
	unsigned int i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		snprintf(p + 2 * i, 3, "%02x", b[i]);
	return p;
}

static void
ec_certificate_fields(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	struct probe_cert c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	char *h;
	X509 *x;
	time_t now = time(NULL);

	(void)state;
	assert_non_null(key);
	x = make_cert(key, "mx.probe.test", -1, "mx.probe.test", 13, 1,
	    NULL, NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(probe_cert_fill(&c, x), 0);
	assert_string_equal(c.subject, "CN=mx.probe.test,O=Probe Unit");
	assert_string_equal(c.subject_cn, "mx.probe.test");
	assert_string_equal(c.issuer, c.subject);
	assert_int_equal(c.san.n, 1);
	assert_string_equal(c.san.v[0], "mx.probe.test");
	assert_string_equal(c.key_type, "EC");
	assert_int_equal(c.key_bits, 256);
	assert_string_equal(c.curve, "P-256");
	assert_string_equal(c.sig_alg, "ecdsa-with-SHA256");
	assert_int_equal(c.self_signed, 1);
	assert_true(c.not_before >= now - 5 && c.not_before <= now + 5);
	assert_true(c.not_after - c.not_before == 86400L * 10);
	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	h = hex_of(md, n);
	assert_string_equal(c.sha256, h);
	free(h);
	assert_int_equal(X509_digest(x, EVP_sha1(), md, &n), 1);
	h = hex_of(md, n);
	assert_string_equal(c.sha1, h);
	free(h);
	assert_int_equal(strlen(c.spki_sha256), 64);
	assert_string_not_equal(c.spki_sha256, c.sha256);
	probe_cert_clear(&c);
	assert_null(c.subject);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
issued_certificate_is_not_self_signed(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *ca = EVP_EC_gen("P-256");
	struct probe_cert c;
	X509 *x;

	(void)state;
	x = make_cert(key, "mx.probe.test", -1, "mx.probe.test", 13, 1, ca,
	    "Unit CA");
	memset(&c, 0, sizeof(c));
	assert_int_equal(probe_cert_fill(&c, x), 0);
	assert_string_equal(c.key_type, "RSA");
	assert_int_equal(c.key_bits, 2048);
	assert_null(c.curve);
	assert_string_equal(c.issuer, "CN=Unit CA");
	assert_string_equal(c.sig_alg, "ecdsa-with-SHA256");
	assert_int_equal(c.self_signed, 0);
	probe_cert_clear(&c);
	X509_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca);
}

static void
nul_inside_a_name_is_shown_not_cut(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	static const char san[] = "good.example\0.evil.example";
	struct probe_cert c;
	X509 *x;

	(void)state;
	x = make_cert(key, "a\0b", 3, san, (int)sizeof(san) - 1, 1, NULL,
	    NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(probe_cert_fill(&c, x), 0);
	assert_string_equal(c.san.v[0], "good.example?.evil.example");
	assert_string_equal(c.subject_cn, "a?b");
	probe_cert_clear(&c);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
names_and_san_count_are_bounded(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char big[2000];
	struct probe_cert c;
	X509 *x;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* an IA5 DNS name of 2000 bytes, 500 times */
	x = make_cert(key, "mx.probe.test", -1, big, (int)sizeof(big), 500,
	    NULL, NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(probe_cert_fill(&c, x), 0);
	assert_int_equal(c.san.n, 100);
	assert_int_equal(strlen(c.san.v[0]), PROBE_TEXT_MAX);
	probe_cert_clear(&c);
	X509_free(x);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ec_certificate_fields),
		cmocka_unit_test(issued_certificate_is_not_self_signed),
		cmocka_unit_test(nul_inside_a_name_is_shown_not_cut),
		cmocka_unit_test(names_and_san_count_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
