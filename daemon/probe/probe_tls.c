/*
 * What the probe learns from a finished TLS handshake with an MX address:
 * version, suite, group, the presented chain's fields, its validation
 * against the default CA store, the name match and DANE (RFC 7672, RFC
 * 6698, RFC 7671).  The tool's thread, called by probe_smtp.c.
 */
#include "build.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

#define SAN_MAX		100	/* names kept of one certificate */

/*
 * A copy of the N bytes at S, cut to PROBE_TEXT_MAX; NULL: no memory.
 * A NUL inside (a SAN "good.example\0.evil.example") becomes '?', so
 * that the evidence does not show less than the certificate holds.
 */
static char *
dup_cut(const char *s, size_t n)
{
	char *p;
	size_t i;

	if (n > PROBE_TEXT_MAX)
		n = PROBE_TEXT_MAX;
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	for (i = 0; i < n; i++)
		if (p[i] == '\0')
			p[i] = '?';
	p[n] = '\0';
	return p;
}

static char *
hex(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *p;
	size_t i;

	if ((p = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		p[2 * i] = digits[b[i] >> 4];
		p[2 * i + 1] = digits[b[i] & 0xf];
	}
	p[2 * n] = '\0';
	return p;
}

/* NAME on one line (RFC 2253), cut. */
static char *
name_line(const X509_NAME *name)
{
	BIO *bio;
	char *data, *s;
	long n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(bio);
		return dup_cut("", 0);
	}
	n = BIO_get_mem_data(bio, &data);
	s = dup_cut(data, n > 0 ? (size_t)n : 0);
	BIO_free(bio);
	return s;
}

/* The (last) common name of NAME as UTF-8, cut; NULL: none. */
static int
name_cn(const X509_NAME *name, char **out)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8;
	int i, n;

	*out = NULL;
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return 0;
	e = X509_NAME_get_entry(name, i);
	if ((n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(e))) < 0)
		return 0;
	*out = dup_cut((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return *out == NULL ? -1 : 0;
}

static int
fill_san(struct probe_cert *c, X509 *x)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char buf[INET6_ADDRSTRLEN], *s;
	int i, n, rc = 0;
	size_t len;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return 0;
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n && c->san.n < SAN_MAX && rc == 0; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			len = (size_t)ASN1_STRING_length(g->d.dNSName);
			if ((s = dup_cut((const char *)
			    ASN1_STRING_get0_data(g->d.dNSName), len)) == NULL)
				rc = -1;
			else {
				rc = probe_strv_add(&c->san, s);
				free(s);
			}
		} else if (g->type == GEN_IPADD) {
			len = (size_t)ASN1_STRING_length(g->d.iPAddress);
			if ((len == 4 && inet_ntop(AF_INET,
			    ASN1_STRING_get0_data(g->d.iPAddress), buf,
			    sizeof(buf)) != NULL) || (len == 16 &&
			    inet_ntop(AF_INET6,
			    ASN1_STRING_get0_data(g->d.iPAddress), buf,
			    sizeof(buf)) != NULL))
				rc = probe_strv_add(&c->san, buf);
		}
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static int
fill_key(struct probe_cert *c, X509 *x)
{
	EVP_PKEY *k;
	char group[80];
	const char *type, *nist;
	size_t len;
	int nid;

	if ((k = X509_get0_pubkey(x)) == NULL)
		return 0;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:	type = "RSA"; break;
	case EVP_PKEY_RSA_PSS:	type = "RSA-PSS"; break;
	case EVP_PKEY_EC:	type = "EC"; break;
	case EVP_PKEY_ED25519:	type = "ED25519"; break;
	case EVP_PKEY_ED448:	type = "ED448"; break;
	case EVP_PKEY_DSA:	type = "DSA"; break;
	default:		type = EVP_PKEY_get0_type_name(k); break;
	}
	if ((c->key_type = dup_cut(type != NULL ? type : "unknown",
	    strlen(type != NULL ? type : "unknown"))) == NULL)
		return -1;
	c->key_bits = EVP_PKEY_get_bits(k);
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &len) == 1) {
		/* "P-256" where NIST names the curve, else OpenSSL's name */
		nid = OBJ_sn2nid(group);
		nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
		if (nist != NULL)
			snprintf(group, sizeof(group), "%s", nist);
		if ((c->curve = dup_cut(group, strlen(group))) == NULL)
			return -1;
	}
	return 0;
}

void
probe_cert_clear(struct probe_cert *c)
{
	free(c->subject);
	free(c->subject_cn);
	probe_strv_clear(&c->san);
	free(c->issuer);
	free(c->sha1);
	free(c->sha256);
	free(c->spki_sha256);
	free(c->key_type);
	free(c->curve);
	free(c->sig_alg);
	memset(c, 0, sizeof(*c));
}

int
probe_cert_fill(struct probe_cert *c, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen;
	const char *sig;
	int derlen;

	probe_cert_clear(c);
	if ((c->subject = name_line(X509_get_subject_name(x))) == NULL ||
	    (c->issuer = name_line(X509_get_issuer_name(x))) == NULL ||
	    name_cn(X509_get_subject_name(x), &c->subject_cn) == -1 ||
	    fill_san(c, x) == -1 || fill_key(c, x) == -1)
		goto fail;
	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1 ||
	    (c->sha1 = hex(md, mdlen)) == NULL ||
	    X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    (c->sha256 = hex(md, mdlen)) == NULL)
		goto fail;
	/* of the whole DER SubjectPublicKeyInfo (RFC 6698 selector 1) */
	if ((derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0 ||
	    EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || (c->spki_sha256 = hex(md, mdlen)) == NULL) {
		OPENSSL_free(der);
		goto fail;
	}
	OPENSSL_free(der);
	sig = OBJ_nid2ln(X509_get_signature_nid(x));
	if (sig == NULL)
		sig = "unknown";
	if ((c->sig_alg = dup_cut(sig, strlen(sig))) == NULL)
		goto fail;
	c->not_before = asn1_time(X509_get0_notBefore(x));
	c->not_after = asn1_time(X509_get0_notAfter(x));
	/* issuer equals subject and its own key verifies the signature */
	c->self_signed = X509_self_signed(x, 1) == 1;
	return 0;
fail:
	probe_cert_clear(c);
	return -1;
}

/*
 * Whether certificate X matches the association data of T: selector 0
 * the DER certificate, 1 its SubjectPublicKeyInfo; matching type 0 the
 * full data, 1 SHA-256, 2 SHA-512 (RFC 6698 2.1.2, 2.1.3).
 */
static int
tlsa_matches(const struct probe_tlsa *t, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen;
	const unsigned char *data;
	char *h = NULL;
	size_t datalen;
	int derlen, ok = 0;

	if (t->data == NULL)
		return 0;
	if (t->selector == 0)
		derlen = i2d_X509(x, &der);
	else if (t->selector == 1)
		derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	else
		return 0;
	if (derlen <= 0)
		return 0;
	data = der;
	datalen = (size_t)derlen;
	if (t->mtype == 1 || t->mtype == 2) {
		if (EVP_Digest(der, datalen, md, &mdlen,
		    t->mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL) != 1)
			goto out;
		data = md;
		datalen = mdlen;
	} else if (t->mtype != 0)
		goto out;
	if ((h = hex(data, datalen)) != NULL)
		ok = strcasecmp(h, t->data) == 0;
out:
	free(h);
	OPENSSL_free(der);
	return ok;
}

/*
 * DANE-TA (RFC 7672 3.1.2, RFC 7671 5.2.2): the presented chain leads
 * from LEAF to TA (a certificate of it above the leaf), and the leaf
 * names the MX host (RFC 7672 3.2.2: the MX name is the reference
 * identifier; expiry is checked as for any chain to a trust anchor).
 */
static int
dane_ta_valid(X509 *leaf, STACK_OF(X509) *chain, X509 *ta,
    const char *mxname)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	int ok = 0;

	if (X509_check_host(leaf, mxname, 0, 0, NULL) != 1)
		return 0;
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, ta) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, chain) != 1)
		goto out;
	/* the TA need not be self-signed: a partial chain is the point */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

static void
dane_check(const struct probe_mx *mx, struct probe_addr *a, X509 *leaf,
    STACK_OF(X509) *chain)
{
	const struct probe_tlsa *t;
	X509 *x;
	size_t i;
	int d, n;

	a->dane_matched = -1;
	if (mx->ntlsa == 0) {
		a->dane = PD_NONE;
		return;
	}
	/* RFC 7672 2.2: records not validated by DNSSEC are unusable */
	if (!mx->tlsa_q.ad) {
		a->dane = PD_UNVALIDATED;
		return;
	}
	a->dane = PD_NOMATCH;
	n = chain != NULL ? sk_X509_num(chain) : 0;
	for (i = 0; i < mx->ntlsa && i < PROBE_TLSA_MAX; i++) {
		t = &mx->tlsa[i];
		/*
		 * RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable
		 * for SMTP; they are kept but match nothing.
		 */
		if (t->usage == 3) {
			/* DANE-EE: the leaf's key; no name, no expiry
			   (RFC 7672 3.1.1) */
			if (leaf != NULL && tlsa_matches(t, leaf))
				goto matched;
		} else if (t->usage == 2) {
			for (d = 1; d < n; d++) {
				x = sk_X509_value(chain, d);
				if (tlsa_matches(t, x) && leaf != NULL &&
				    dane_ta_valid(leaf, chain, x, mx->name))
					goto matched;
			}
		}
		continue;
matched:
		a->dane = PD_MATCH;
		a->dane_matched = (int)i;
		return;
	}
}

/* Validation of the presented chain against OpenSSL's default paths. */
static int
validate(struct probe_addr *a, X509 *leaf, STACK_OF(X509) *chain)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	const char *why;
	int rc = 0;

	a->chain_valid = PT_UNKNOWN;
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		rc = -1;
		goto out;
	}
	/* SSL_CERT_FILE and SSL_CERT_DIR override the system's paths */
	if (X509_STORE_set_default_paths(store) != 1 ||
	    X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
		why = "cannot load the default CA paths";
		goto fail;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(ctx) == 1) {
		a->chain_valid = PT_YES;
		goto out;
	}
	a->chain_valid = PT_NO;
	why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
fail:
	free(a->chain_error);
	if ((a->chain_error = dup_cut(why, strlen(why))) == NULL)
		rc = -1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

static int
set_text(char **dst, const char *s)
{
	free(*dst);
	*dst = NULL;
	if (s == NULL)
		return 0;
	return (*dst = dup_cut(s, strlen(s))) == NULL ? -1 : 0;
}

/* The version as probe_tlsv_name() spells it ("TLSv1.0", not "TLSv1"). */
static const char *
version_name(const SSL *ssl)
{
	switch (SSL_version(ssl)) {
	case TLS1_VERSION:	return "TLSv1.0";
	case TLS1_1_VERSION:	return "TLSv1.1";
	case TLS1_2_VERSION:	return "TLSv1.2";
	case TLS1_3_VERSION:	return "TLSv1.3";
	default:		return SSL_get_version(ssl);
	}
}

int
probe_tls_record(SSL *ssl, const struct probe_mx *mx, struct probe_addr *a)
{
	STACK_OF(X509) *chain;
	X509 *leaf;
	const SSL_CIPHER *cipher;
	const char *g;
	char num[16];
	size_t i;
	int nid, n;

	a->tls = 1;
	if (set_text(&a->tls_version, version_name(ssl)) == -1)
		return -1;
	cipher = SSL_get_current_cipher(ssl);
	if (cipher != NULL && set_text(&a->tls_cipher,
	    SSL_CIPHER_standard_name(cipher) != NULL ?
	    SSL_CIPHER_standard_name(cipher) :
	    SSL_CIPHER_get_name(cipher)) == -1)
		return -1;
	nid = SSL_get_negotiated_group(ssl);
	if (nid != 0 && nid != NID_undef) {
		if ((nid & TLSEXT_nid_unknown) ||
		    (g = SSL_group_to_name(ssl, nid)) == NULL) {
			snprintf(num, sizeof(num), "0x%04x", nid & 0xffff);
			g = num;
		}
		if (set_text(&a->tls_group, g) == -1)
			return -1;
	}

	for (i = 0; i < a->nchain; i++)
		probe_cert_clear(&a->chain[i]);
	a->nchain = 0;
	/* a client's peer chain includes the leaf first */
	chain = SSL_get_peer_cert_chain(ssl);
	leaf = SSL_get0_peer_certificate(ssl);
	n = chain != NULL ? sk_X509_num(chain) : 0;
	for (i = 0; i < (size_t)n && i < PROBE_CHAIN_MAX; i++) {
		if (probe_cert_fill(&a->chain[i], sk_X509_value(chain,
		    (int)i)) == -1)
			return -1;
		a->nchain++;
	}
	if (leaf == NULL) {
		a->chain_valid = PT_UNKNOWN;
		a->name_match = PT_UNKNOWN;
		if (set_text(&a->chain_error, "no certificate presented") == -1)
			return -1;
		a->dane = mx->ntlsa == 0 ? PD_NONE : !mx->tlsa_q.ad ?
		    PD_UNVALIDATED : PD_NOMATCH;
		a->dane_matched = -1;
		return 0;
	}
	if (validate(a, leaf, chain) == -1)
		return -1;
	/* RFC 6125 rules as OpenSSL implements them; wildcards allowed */
	a->name_match = mx->name == NULL ? PT_UNKNOWN :
	    X509_check_host(leaf, mx->name, 0, 0, NULL) == 1 ? PT_YES : PT_NO;
	dane_check(mx, a, leaf, chain);
	ERR_clear_error();
	return 0;
}
