/*
 * Certificates for labs and demos (mailscope certs, demo-config): a test CA
 * and RSA-2048 and ECDSA P-256 leaves for every host (RFC 5280 profile,
 * names in subjectAltName as RFC 6125 wants).  Runs in the command-line
 * tool, never on the daemon's event loop: key generation blocks.
 */
#include "build.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "catalog.h"
#include "certs.h"
#include "fileout.h"

#define CERTS_NAME_MAX	256	/* a DNS name as text, with the NUL */
#define CERTS_CN_MAX	64	/* RFC 5280 ub-common-name */
#define CA_CN		"mailscope test CA"
#define CA_DAYS		3650	/* ten years */
#define LEAF_DAYS	825	/* the longest lifetime clients still accept */
#define BAD_CN		"wrong-name.invalid"	/* RFC 2606: never resolves */
#define BAD_FROM_DAYS	(-400)
#define BAD_UNTIL_DAYS	(-30)
#define WEB_NAME	"web"	/* web.<kind>.pem: the MTA-STS policy host */

enum key_kind {
	KEY_RSA,
	KEY_ECDSA
};

static const struct key_profile {
	const char	*suffix;	/* H.<suffix>.key, H.<suffix>.pem */
	const char	*what;		/* for messages */
	const char	*usage;		/* keyUsage of its leaves */
} key_profiles[] = {
	/* RSA key exchange (TLS 1.2 and older) encrypts to the key. */
	[KEY_RSA] = { "rsa", "an RSA-2048 key",
	    "critical,digitalSignature,keyEncipherment" },
	[KEY_ECDSA] = { "ecdsa", "an ECDSA P-256 key",
	    "critical,digitalSignature" },
};

/* One run of certs_generate, on its stack.  Owns ca and ca_key. */
struct certs_run {
	const char	*base;		/* borrowed */
	const char	*hostname;	/* borrowed; may be NULL */
	const char	*dir;		/* borrowed */
	int		 force;
	FILE		*errs;		/* borrowed; may be NULL */
	time_t		 now;		/* one clock for every validity */
	X509		*ca;		/* owned */
	EVP_PKEY	*ca_key;	/* owned */
};

/* The names of a leaf.  Owns san. */
struct cert_names {
	GENERAL_NAMES	*san;
	char		 cn[CERTS_CN_MAX + 1];	/* first DNS name that fits */
};

/* What certs_issue puts in a certificate.  Borrows everything. */
struct cert_spec {
	const char		*cn;
	int			 from_days;	/* notBefore, days from now */
	int			 until_days;	/* notAfter, days from now */
	int			 is_ca;
	const char		*usage;		/* keyUsage, X509v3 syntax */
	const GENERAL_NAMES	*san;		/* NULL for the CA */
};

/* A certificate file: the leaf, then the CA.  Borrows both. */
struct cert_chain {
	X509	*leaf;
	X509	*ca;
};

static void	certs_error(FILE *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * "certs: MESSAGE: openssl-error: openssl-error" on ERRS.  Drains the
 * OpenSSL error queue even without ERRS, so that no stale error is
 * blamed on a later call.
 */
static void
certs_error(FILE *errs, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 e;
	char		 buf[256];

	if (errs != NULL) {
		fputs("certs: ", errs);
		va_start(ap, fmt);
		vfprintf(errs, fmt, ap);
		va_end(ap);
	}
	while ((e = ERR_get_error()) != 0) {
		if (errs == NULL)
			continue;
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(errs, ": %s", buf);
	}
	if (errs != NULL)
		fputc('\n', errs);
}

static int
certs_path(const struct certs_run *r, char *buf, size_t len,
    const char *stem, const char *ext)
{
	int	n;

	n = snprintf(buf, len, "%s/%s%s", r->dir, stem, ext);
	if (n < 0 || (size_t)n >= len) {
		certs_error(r->errs, "%s/%s%s: path too long", r->dir, stem,
		    ext);
		return -1;
	}
	return 0;
}

static int
certs_mkdir(const struct certs_run *r)
{
	char	err[PATH_MAX + 128];

	if (fileout_mkdir(r->dir, 0700, err, sizeof(err)) == -1) {
		certs_error(r->errs, "%s", err);
		return -1;
	}
	return 0;
}

/* PATH with MODE, atomically (fileout.c); the OpenSSL errors drained. */
static int
certs_write_file(const struct certs_run *r, const char *path, mode_t mode,
    int (*writer)(FILE *, const void *), const void *arg)
{
	char	err[2 * PATH_MAX + 128];

	if (fileout_write(path, mode, writer, arg, err, sizeof(err)) == -1) {
		certs_error(r->errs, "%s", err);
		return -1;
	}
	return 0;
}

static int
certs_write_key(FILE *fp, const void *arg)
{
	/* PKCS#8, unencrypted: the daemon reads it unattended. */
	if (PEM_write_PrivateKey(fp, (EVP_PKEY *)arg, NULL, NULL, 0, NULL,
	    NULL) != 1)
		return -1;
	return 0;
}

static int
certs_write_chain(FILE *fp, const void *arg)
{
	const struct cert_chain	*c = arg;

	if (PEM_write_X509(fp, c->leaf) != 1)
		return -1;
	if (c->ca != NULL && PEM_write_X509(fp, c->ca) != 1)
		return -1;
	return 0;
}

/* Refuses encrypted keys instead of prompting on the terminal. */
static int
certs_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

static int
certs_key_fits(EVP_PKEY *key, enum key_kind kind)
{
	char	group[64];

	if (kind == KEY_RSA)
		return EVP_PKEY_is_a(key, "RSA") &&
		    EVP_PKEY_get_bits(key) == 2048;
	if (!EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) != 1)
		return 0;
	return OBJ_txt2nid(group) == NID_X9_62_prime256v1;
}

/* 1 with *OUT set, 0 if PATH does not exist, -1 on errors. */
static int
certs_key_load(const struct certs_run *r, const char *path,
    enum key_kind kind, EVP_PKEY **out)
{
	FILE		*fp;
	EVP_PKEY	*key;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		certs_error(r->errs, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	key = PEM_read_PrivateKey(fp, NULL, certs_no_passphrase, NULL);
	fclose(fp);
	if (key == NULL) {
		certs_error(r->errs, "%s: not an unencrypted PEM private key",
		    path);
		return -1;
	}
	if (!certs_key_fits(key, kind)) {
		EVP_PKEY_free(key);
		/* Replacing it silently would break published TLSA records. */
		certs_error(r->errs, "%s: not %s; remove it or regenerate "
		    "all keys with force", path, key_profiles[kind].what);
		return -1;
	}
	*out = key;
	return 1;
}

/*
 * The key DIR/STEM.key: the existing one unless the run forces new keys
 * (so that TLSA 3 1 1 records stay valid), else a new one, written 0600.
 * *LOADED (if not NULL) tells which.
 */
static EVP_PKEY *
certs_key(const struct certs_run *r, const char *stem, enum key_kind kind,
    int *loaded)
{
	char		 path[PATH_MAX];
	EVP_PKEY	*key = NULL;

	if (loaded != NULL)
		*loaded = 0;
	if (certs_path(r, path, sizeof(path), stem, ".key") == -1)
		return NULL;
	if (!r->force) {
		switch (certs_key_load(r, path, kind, &key)) {
		case -1:
			return NULL;
		case 1:
			if (loaded != NULL)
				*loaded = 1;
			return key;
		default:
			break;
		}
	}
	if (kind == KEY_RSA)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		certs_error(r->errs, "%s: cannot generate %s", path,
		    key_profiles[kind].what);
		return NULL;
	}
	if (certs_write_file(r, path, 0600, certs_write_key, key) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
certs_serial(X509 *x)
{
	unsigned char	 buf[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		return -1;
	/*
	 * RFC 5280 4.1.2.2: positive, at most 20 octets.  The top bit clear
	 * keeps it positive in 16 octets; the next one set keeps it from
	 * being zero or shorter.
	 */
	buf[0] = (buf[0] & 0x7f) | 0x40;
	if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
certs_ext(X509V3_CTX *ctx, X509 *x, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/*
 * A certificate for KEY as SPEC says, signed with SHA-256 by the run's
 * CA, or by KEY itself when SPEC is the CA.  PATH is for messages.
 */
static X509 *
certs_issue(const struct certs_run *r, const char *path, EVP_PKEY *key,
    const struct cert_spec *spec)
{
	X509		*x, *issuer;
	X509_NAME	*name = NULL;
	EVP_PKEY	*issuer_key;
	X509V3_CTX	 ctx;
	time_t		 now = r->now;

	if ((x = X509_new()) == NULL)
		goto fail;
	issuer = spec->is_ca ? x : r->ca;
	issuer_key = spec->is_ca ? key : r->ca_key;
	if (X509_set_version(x, X509_VERSION_3) != 1 || certs_serial(x) == -1)
		goto fail;
	if (X509_time_adj_ex(X509_getm_notBefore(x), spec->from_days, 0,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), spec->until_days, 0,
	    &now) == NULL)
		goto fail;
	if ((name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)spec->cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1)
		goto fail;
	if (X509_set_issuer_name(x, spec->is_ca ? name :
	    X509_get_subject_name(issuer)) != 1)
		goto fail;
	if (X509_set_pubkey(x, key) != 1)
		goto fail;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (certs_ext(&ctx, x, NID_basic_constraints,
	    spec->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") == -1 ||
	    certs_ext(&ctx, x, NID_key_usage, spec->usage) == -1 ||
	    certs_ext(&ctx, x, NID_subject_key_identifier, "hash") == -1)
		goto fail;
	if (!spec->is_ca) {
		/* RFC 5280 4.2.1.1: omitted only in self-signed ones. */
		if (certs_ext(&ctx, x, NID_authority_key_identifier,
		    "keyid:always") == -1 ||
		    certs_ext(&ctx, x, NID_ext_key_usage, "serverAuth") == -1)
			goto fail;
		if (X509_add1_ext_i2d(x, NID_subject_alt_name,
		    (void *)spec->san, 0, X509V3_ADD_DEFAULT) != 1)
			goto fail;
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return x;

 fail:
	certs_error(r->errs, "%s: cannot issue the certificate", path);
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

static int
certs_san_push(struct cert_names *n, int type, ASN1_STRING *value)
{
	GENERAL_NAME	*gen;

	if ((gen = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(value);
		return -1;
	}
	GENERAL_NAME_set0_value(gen, type, value);
	if (sk_GENERAL_NAME_push(n->san, gen) <= 0) {
		GENERAL_NAME_free(gen);
		return -1;
	}
	return 0;
}

static int
certs_san_dns(struct cert_names *n, const char *dns)
{
	ASN1_IA5STRING	*ia5;
	size_t		 len = strlen(dns);

	if ((ia5 = ASN1_IA5STRING_new()) == NULL)
		return -1;
	if (ASN1_STRING_set(ia5, dns, (int)len) != 1) {
		ASN1_IA5STRING_free(ia5);
		return -1;
	}
	/* RFC 6125 6.4.4: clients look at the SAN; the CN is for humans. */
	if (n->cn[0] == '\0' && len <= CERTS_CN_MAX)
		memcpy(n->cn, dns, len + 1);
	return certs_san_push(n, GEN_DNS, ia5);
}

static int
certs_san_ip(struct cert_names *n, const char *addr)
{
	ASN1_OCTET_STRING	*ip;

	if ((ip = a2i_IPADDRESS(addr)) == NULL)
		return -1;
	return certs_san_push(n, GEN_IPADD, ip);
}

/* localhost, 127.0.0.1 and ::1: the loopback demo connects to those. */
static int
certs_san_loopback(struct cert_names *n)
{
	if (certs_san_dns(n, "localhost") == -1 ||
	    certs_san_ip(n, "127.0.0.1") == -1 ||
	    certs_san_ip(n, "::1") == -1)
		return -1;
	return 0;
}

static int
certs_names_init(const struct certs_run *r, struct cert_names *n)
{
	memset(n, 0, sizeof(*n));
	if ((n->san = GENERAL_NAMES_new()) == NULL) {
		certs_error(r->errs, "cannot allocate names");
		return -1;
	}
	return 0;
}

static void
certs_names_free(struct cert_names *n)
{
	GENERAL_NAMES_free(n->san);
	n->san = NULL;
}

/*
 * The IDX-th name of challenge CH on the certificate of HOST into BUF:
 * its IDX-th MX name if that MX is on HOST, for a delegated challenge
 * (dns) *.<challenge>.<base>, which covers its per-test MX
 * mx-<id>.<challenge>.<base> (catalog.h; RFC 6125 6.4.3); with HOST
 * NULL (the web certificate), mta-sts.<challenge>.<base> (RFC 8461
 * 3.3).  1, 0 for none, or -1 when it does not fit.
 */
static int
certs_name_of(const struct certs_run *r, const struct catalog_challenge *ch,
    int idx, const char *host, char *buf, size_t len)
{
	int	n;

	if (host == NULL) {
		if (idx > 0)
			return 0;
		n = snprintf(buf, len, "mta-sts.%s.%s", ch->name, r->base);
		return n < 0 || (size_t)n >= len ? -1 : 1;
	}
	if (ch->hosts[idx] == NULL || strcmp(ch->hosts[idx], host) != 0)
		return 0;
	if (ch->flags & CH_DELEGATED) {
		n = snprintf(buf, len, "*.%s.%s", ch->name, r->base);
		return n < 0 || (size_t)n >= len ? -1 : 1;
	}
	return catalog_mx_name(ch, idx, r->base, buf, len) == -1 ? -1 : 1;
}

/*
 * The names of HOST's certificate (NULL: the web certificate): each name
 * of the catalogue that it serves, in catalogue order, the hostname of
 * the config on a host's, then the loopback names.
 */
static int
certs_names_catalog(const struct certs_run *r, const char *host,
    struct cert_names *n)
{
	const struct catalog_challenge	*ch;
	char				 dns[CERTS_NAME_MAX];
	size_t				 nch, i;
	int				 idx, rc;

	if (certs_names_init(r, n) == -1)
		return -1;
	ch = catalog_challenges(&nch);
	for (i = 0; i < nch; i++) {
		for (idx = 0; idx < 2; idx++) {
			rc = certs_name_of(r, &ch[i], idx, host, dns,
			    sizeof(dns));
			if (rc == 0)
				continue;
			if (rc == -1) {
				certs_error(r->errs, "%s: base domain too long",
				    r->base);
				goto fail;
			}
			if (certs_san_dns(n, dns) == -1)
				goto fail_ssl;
		}
	}
	/*
	 * Issue 12: the greeting and the TLS-RPT reports name the config's
	 * hostname; a sender that checks it must find it on every host.
	 */
	if (host != NULL && r->hostname != NULL && *r->hostname != '\0' &&
	    certs_san_dns(n, r->hostname) == -1)
		goto fail_ssl;
	if (certs_san_loopback(n) == -1)
		goto fail_ssl;
	return 0;

 fail_ssl:
	certs_error(r->errs, "%s: cannot build the names",
	    host != NULL ? host : WEB_NAME);
 fail:
	certs_names_free(n);
	return -1;
}

/* The certificate of tls-bad: for a name no challenge uses. */
static int
certs_names_bad(const struct certs_run *r, struct cert_names *n)
{
	if (certs_names_init(r, n) == -1)
		return -1;
	if (certs_san_dns(n, BAD_CN) == -1) {
		certs_error(r->errs, "%s: cannot build the names", BAD_CN);
		certs_names_free(n);
		return -1;
	}
	return 0;
}

/*
 * The CA: its key reused unless forced.  Its certificate is reused too
 * when it matches the key and outlives any leaf issued now, so that a
 * lab that installed ca.pem as a trust anchor keeps it.
 */
static int
certs_ca(struct certs_run *r)
{
	char			 path[PATH_MAX];
	FILE			*fp;
	X509			*x = NULL;
	struct cert_chain	 chain;
	struct cert_spec	 spec;
	time_t			 until;
	int			 loaded;

	if ((r->ca_key = certs_key(r, "ca", KEY_ECDSA, &loaded)) == NULL)
		return -1;
	if (certs_path(r, path, sizeof(path), "ca", ".pem") == -1)
		return -1;
	if (loaded && (fp = fopen(path, "r")) != NULL) {
		x = PEM_read_X509(fp, NULL, certs_no_passphrase, NULL);
		fclose(fp);
		until = r->now + (time_t)LEAF_DAYS * 86400;
		if (x != NULL && X509_check_private_key(x, r->ca_key) == 1 &&
		    X509_cmp_time(X509_get0_notAfter(x), &until) > 0) {
			r->ca = x;
			return 0;
		}
		/* Unreadable, another key or too old: issue a new one. */
		X509_free(x);
		ERR_clear_error();
	}

	spec.cn = CA_CN;
	spec.from_days = -1;
	spec.until_days = CA_DAYS;
	spec.is_ca = 1;
	spec.usage = "critical,keyCertSign,cRLSign";
	spec.san = NULL;
	if ((r->ca = certs_issue(r, path, r->ca_key, &spec)) == NULL)
		return -1;
	chain.leaf = r->ca;
	chain.ca = NULL;
	return certs_write_file(r, path, 0644, certs_write_chain, &chain);
}

/* DIR/NAME.<kind>.pem and its key for NAMES, valid or expired. */
static int
certs_leaf(const struct certs_run *r, const char *name, enum key_kind kind,
    const struct cert_names *names, int expired)
{
	char			 stem[CERTS_NAME_MAX], path[PATH_MAX];
	EVP_PKEY		*key;
	struct cert_spec	 spec;
	struct cert_chain	 chain;
	int			 n, rc;

	n = snprintf(stem, sizeof(stem), "%s.%s", name,
	    key_profiles[kind].suffix);
	if (n < 0 || (size_t)n >= sizeof(stem)) {
		certs_error(r->errs, "%s: name too long", name);
		return -1;
	}
	if (certs_path(r, path, sizeof(path), stem, ".pem") == -1)
		return -1;
	if ((key = certs_key(r, stem, kind, NULL)) == NULL)
		return -1;

	spec.cn = names->cn;
	spec.from_days = expired ? BAD_FROM_DAYS : -1;
	spec.until_days = expired ? BAD_UNTIL_DAYS : LEAF_DAYS - 1;
	spec.is_ca = 0;
	spec.usage = key_profiles[kind].usage;
	spec.san = names->san;
	chain.leaf = certs_issue(r, path, key, &spec);
	chain.ca = r->ca;
	EVP_PKEY_free(key);
	if (chain.leaf == NULL)
		return -1;
	rc = certs_write_file(r, path, 0644, certs_write_chain, &chain);
	X509_free(chain.leaf);
	return rc;
}

/* Both leaves (RSA and ECDSA) of NAME. */
static int
certs_pair(const struct certs_run *r, const char *name,
    struct cert_names *names, int expired)
{
	int	rc = 0;

	if (names->cn[0] == '\0') {
		certs_error(r->errs, "%s: no name short enough for the CN",
		    name);
		rc = -1;
	} else if (certs_leaf(r, name, KEY_RSA, names, expired) == -1 ||
	    certs_leaf(r, name, KEY_ECDSA, names, expired) == -1)
		rc = -1;
	certs_names_free(names);
	return rc;
}

int
certs_generate(const char *base_domain, const char *hostname,
    const char *dir, int force, FILE *errs)
{
	struct certs_run		 r;
	struct cert_names		 names;
	const struct catalog_host	*h;
	size_t				 nh, i;
	int				 rc = -1;

	memset(&r, 0, sizeof(r));
	r.base = base_domain;
	r.hostname = hostname;
	r.dir = dir;
	r.force = force;
	r.errs = errs;
	r.now = time(NULL);
	ERR_clear_error();

	if (base_domain == NULL || *base_domain == '\0' || dir == NULL ||
	    *dir == '\0') {
		certs_error(errs, "no base domain or directory");
		return -1;
	}
	if (certs_mkdir(&r) == -1 || certs_ca(&r) == -1)
		goto out;

	h = catalog_hosts(&nh);
	for (i = 0; i < nh; i++) {
		switch (h[i].cert) {
		case CERT_NONE:
			continue;
		case CERT_VALID:
			if (certs_names_catalog(&r, h[i].name, &names) == -1)
				goto out;
			break;
		case CERT_BAD:
			if (certs_names_bad(&r, &names) == -1)
				goto out;
			break;
		}
		if (certs_pair(&r, h[i].name, &names,
		    h[i].cert == CERT_BAD) == -1)
			goto out;
	}
	if (certs_names_catalog(&r, NULL, &names) == -1 ||
	    certs_pair(&r, WEB_NAME, &names, 0) == -1)
		goto out;
	rc = 0;

 out:
	X509_free(r.ca);
	EVP_PKEY_free(r.ca_key);
	return rc;
}
