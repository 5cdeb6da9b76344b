/*
 * Unit tests of certs.c and demo.c: the generated CA and leaves verify
 * (or fail) as the catalogue says, keys are kept across runs, and
 * demo-config writes the loopback config with the right ports.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "catalog.h"
#include "certs.h"
#include "config.h"
#include "demo.h"

#define BASE	"measure.test"
#define HOSTNAME	"mx." BASE

/* Shared by all tests: one generated set (key generation is slow). */
struct fixture {
	char	top[PATH_MAX];		/* the mkdtemp directory */
	char	certs[PATH_MAX];	/* top/certs, from certs_generate */
};

static void
path_of(char *buf, size_t len, const char *dir, const char *file)
{
	int	n;

	n = snprintf(buf, len, "%s/%s", dir, file);
	assert_true(n > 0 && (size_t)n < len);
}

/* rm -r DIR: files and directories the tests made, no symlinks. */
static void
rm_tree(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 path[PATH_MAX];

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			path_of(path, sizeof(path), dir, de->d_name);
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				rm_tree(path);
			else
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static int
group_setup(void **state)
{
	struct fixture	*f;
	char		 real[PATH_MAX];

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	path_of(f->top, sizeof(f->top), getenv("TMPDIR") != NULL ?
	    getenv("TMPDIR") : "/tmp", "test_certs.XXXXXX");
	/* config_load() resolves paths in the real directory: compare. */
	if (mkdtemp(f->top) == NULL || realpath(f->top, real) == NULL) {
		free(f);
		return -1;
	}
	memcpy(f->top, real, sizeof(real));
	path_of(f->certs, sizeof(f->certs), f->top, "certs");
	if (certs_generate(BASE, HOSTNAME, f->certs, 0, stderr) != 0) {
		rm_tree(f->top);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture	*f = *state;

	rm_tree(f->top);
	free(f);
	return 0;
}

/* DIR/FILE open for reading; the test fails if it cannot be. */
static FILE *
open_in(const char *dir, const char *file)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	path_of(path, sizeof(path), dir, file);
	assert_non_null(fp = fopen(path, "r"));
	return fp;
}

/* The leaf and the CA of a chain file: exactly two certificates. */
static void
load_chain(const char *dir, const char *file, X509 **leaf, X509 **ca)
{
	FILE	*fp;
	X509	*extra;

	fp = open_in(dir, file);
	assert_non_null(*leaf = PEM_read_X509(fp, NULL, NULL, NULL));
	*ca = PEM_read_X509(fp, NULL, NULL, NULL);
	assert_non_null(*ca);
	extra = PEM_read_X509(fp, NULL, NULL, NULL);
	assert_null(extra);
	ERR_clear_error();
	fclose(fp);
}

static void *
read_cert(FILE *fp)
{
	return PEM_read_X509(fp, NULL, NULL, NULL);
}

static void *
read_key(FILE *fp)
{
	return PEM_read_PrivateKey(fp, NULL, NULL, NULL);
}

/* The first PEM object of DIR/FILE, by READ; the test fails without it. */
static void *
load_pem(const char *dir, const char *file, void *(*read)(FILE *))
{
	FILE	*fp;
	void	*obj;

	fp = open_in(dir, file);
	obj = read(fp);
	fclose(fp);
	assert_non_null(obj);
	return obj;
}

static X509 *
load_cert(const char *dir, const char *file)
{
	return load_pem(dir, file, read_cert);
}

static EVP_PKEY *
load_key(const char *dir, const char *file)
{
	return load_pem(dir, file, read_key);
}

/* The DER SubjectPublicKeyInfo of a key file, for comparisons. */
static int
pubkey_der(const char *dir, const char *file, unsigned char **der)
{
	EVP_PKEY	*k;
	int		 len;

	k = load_key(dir, file);
	*der = NULL;
	len = i2d_PUBKEY(k, der);
	EVP_PKEY_free(k);
	assert_true(len > 0);
	return len;
}

/*
 * X509_verify_cert of LEAF against the trust anchor CA as a TLS server
 * certificate for HOST (a DNS name) or IP; its verify error in *ERR.
 */
static int
verify_as(X509 *leaf, X509 *ca, const char *host, const char *ip, int *err)
{
	X509_STORE		*store;
	X509_STORE_CTX		*ctx;
	X509_VERIFY_PARAM	*vp;
	int			 rc;

	assert_non_null(store = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	vp = X509_STORE_CTX_get0_param(ctx);
	assert_int_equal(X509_VERIFY_PARAM_set_purpose(vp,
	    X509_PURPOSE_SSL_SERVER), 1);
	if (host != NULL)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(vp, host, 0), 1);
	if (ip != NULL)
		assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(vp, ip), 1);
	rc = X509_verify_cert(ctx);
	*err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 len;

	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((len = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)len + 1));
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

static void
valid_cert_verifies_for_its_mx_names_and_loopback(void **state)
{
	struct fixture	*f = *state;
	const char	*files[] = { "tls.rsa.pem", "tls.ecdsa.pem" };
	X509		*leaf, *chain_ca, *ca;
	size_t		 i;
	int		 err;

	ca = load_cert(f->certs, "ca.pem");
	for (i = 0; i < 2; i++) {
		load_chain(f->certs, files[i], &leaf, &chain_ca);
		assert_int_equal(X509_cmp(chain_ca, ca), 0);
		assert_int_equal(verify_as(leaf, ca, "mx.tls." BASE, NULL,
		    &err), 1);
		assert_int_equal(err, X509_V_OK);
		/* sts-2mx-tls has tls as its second MX. */
		assert_int_equal(verify_as(leaf, ca, "mx2.sts-2mx-tls." BASE,
		    NULL, &err), 1);
		/* issue 12: the hostname of the greeting and TLS-RPT */
		assert_int_equal(verify_as(leaf, ca, HOSTNAME, NULL, &err), 1);
		assert_int_equal(verify_as(leaf, ca, "localhost", NULL, &err),
		    1);
		assert_int_equal(verify_as(leaf, ca, NULL, "127.0.0.1", &err),
		    1);
		assert_int_equal(verify_as(leaf, ca, NULL, "::1", &err), 1);
		X509_free(leaf);
		X509_free(chain_ca);
	}
	X509_free(ca);
}

static void
valid_cert_fails_for_a_name_it_does_not_cover(void **state)
{
	struct fixture	*f = *state;
	X509		*leaf, *chain_ca;
	int		 err;

	load_chain(f->certs, "tls.rsa.pem", &leaf, &chain_ca);
	assert_int_equal(verify_as(leaf, chain_ca, "mx.tls13." BASE, NULL,
	    &err), 0);
	assert_int_equal(err, X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(verify_as(leaf, chain_ca, "mx.tls.example.org",
	    NULL, &err), 0);
	assert_int_equal(err, X509_V_ERR_HOSTNAME_MISMATCH);
	X509_free(leaf);
	X509_free(chain_ca);
}

/*
 * Issue 12: the dns challenge's MX is mx-<id>.dns.<base>, one label below
 * dns.<base>; *.dns.<base> on the open host's certificates covers it (a
 * wildcard covers one label only: mx.<id>.dns.<base> was on none).
 */
static void
open_cert_covers_the_dns_challenges_per_test_mx(void **state)
{
	struct fixture	*f = *state;
	const char	*files[] = { "open.rsa.pem", "open.ecdsa.pem" };
	const char	*mx = CATALOG_TEST_MX_PREFIX
			    "abcdefghijklmnopqrstuvwxyz.dns." BASE;
	X509		*leaf, *chain_ca, *ca;
	size_t		 i;
	int		 err;

	ca = load_cert(f->certs, "ca.pem");
	for (i = 0; i < 2; i++) {
		load_chain(f->certs, files[i], &leaf, &chain_ca);
		assert_int_equal(X509_check_host(leaf, mx, 0, 0, NULL), 1);
		assert_int_equal(X509_check_host(leaf,
		    "MX-ABCDEFGHIJKLMNOPQRSTUVWXYZ.DNS.Measure.Test", 0, 0,
		    NULL), 1);
		assert_int_equal(verify_as(leaf, ca, mx, NULL, &err), 1);
		assert_int_equal(err, X509_V_OK);
		/* the host's other MX names are still there */
		assert_int_equal(X509_check_host(leaf, "mx.v4." BASE, 0, 0,
		    NULL), 1);
		/* one label only: the old name and the zone itself are not */
		assert_int_not_equal(X509_check_host(leaf,
		    "mx.abcdefghijklmnopqrstuvwxyz.dns." BASE, 0, 0, NULL), 1);
		assert_int_not_equal(X509_check_host(leaf, "dns." BASE, 0, 0,
		    NULL), 1);
		X509_free(leaf);
		X509_free(chain_ca);
	}
	/* a host that does not serve dns does not cover it */
	load_chain(f->certs, "tls.rsa.pem", &leaf, &chain_ca);
	assert_int_not_equal(X509_check_host(leaf, mx, 0, 0, NULL), 1);
	X509_free(leaf);
	X509_free(chain_ca);
	X509_free(ca);
}

static void
bad_cert_is_expired_and_for_an_unrelated_name(void **state)
{
	struct fixture	*f = *state;
	const char	*files[] = { "tls-bad.rsa.pem", "tls-bad.ecdsa.pem" };
	X509		*leaf, *chain_ca;
	size_t		 i;
	int		 err;

	for (i = 0; i < 2; i++) {
		load_chain(f->certs, files[i], &leaf, &chain_ca);
		assert_int_equal(verify_as(leaf, chain_ca, NULL, NULL, &err),
		    0);
		assert_int_equal(err, X509_V_ERR_CERT_HAS_EXPIRED);
		assert_int_not_equal(X509_check_host(leaf,
		    "mx.tls-badcert." BASE, 0, 0, NULL), 1);
		assert_int_not_equal(X509_check_host(leaf, "localhost", 0, 0,
		    NULL), 1);
		assert_int_not_equal(X509_check_host(leaf, HOSTNAME, 0, 0,
		    NULL), 1);
		assert_int_equal(X509_check_host(leaf, "wrong-name.invalid", 0,
		    0, NULL), 1);
		/* Signed by the test CA all the same. */
		assert_int_equal(X509_check_issued(chain_ca, leaf), X509_V_OK);
		X509_free(leaf);
		X509_free(chain_ca);
	}
}

static void
web_cert_covers_every_mta_sts_name(void **state)
{
	struct fixture			*f = *state;
	const struct catalog_challenge	*ch;
	X509				*leaf, *chain_ca;
	char				 name[256];
	size_t				 n, i;
	int				 err, len;

	ch = catalog_challenges(&n);
	load_chain(f->certs, "web.ecdsa.pem", &leaf, &chain_ca);
	for (i = 0; i < n; i++) {
		len = snprintf(name, sizeof(name), "mta-sts.%s." BASE,
		    ch[i].name);
		assert_true(len > 0 && (size_t)len < sizeof(name));
		assert_int_equal(verify_as(leaf, chain_ca, name, NULL, &err),
		    1);
	}
	assert_int_equal(verify_as(leaf, chain_ca, "mx.tls." BASE, NULL,
	    &err), 0);
	X509_free(leaf);
	X509_free(chain_ca);
}

static void
ca_is_a_critical_ca_with_keycertsign(void **state)
{
	struct fixture		*f = *state;
	X509			*ca;
	BASIC_CONSTRAINTS	*bc;
	int			 crit;

	ca = load_cert(f->certs, "ca.pem");
	bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	assert_int_equal(X509_check_ca(ca), 1);
	X509_free(ca);
}

static void
key_files_are_mode_0600(void **state)
{
	struct fixture			*f = *state;
	const struct catalog_host	*h;
	const char			*kinds[] = { "rsa", "ecdsa" };
	char				 file[128], path[PATH_MAX];
	struct stat			 st;
	size_t				 n, i, k;
	int				 len;

	path_of(path, sizeof(path), f->certs, "ca.key");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->certs, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	h = catalog_hosts(&n);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			len = snprintf(file, sizeof(file), "%s.%s.key",
			    h[i].name, kinds[k]);
			assert_true(len > 0 && (size_t)len < sizeof(file));
			path_of(path, sizeof(path), f->certs, file);
			if (h[i].cert == CERT_NONE) {
				assert_int_equal(stat(path, &st), -1);
				continue;
			}
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(st.st_mode & 07777, 0600);
		}
	}
}

static void
rsa_key_is_2048_bits_and_ecdsa_key_is_p256(void **state)
{
	struct fixture	*f = *state;
	EVP_PKEY	*k;
	char		 group[64];

	k = load_key(f->certs, "tls.rsa.key");
	assert_true(EVP_PKEY_is_a(k, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);

	k = load_key(f->certs, "tls.ecdsa.key");
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k, "group", group,
	    sizeof(group), NULL), 1);
	assert_int_equal(OBJ_txt2nid(group), NID_X9_62_prime256v1);
	EVP_PKEY_free(k);
}

static void
rerun_keeps_keys_and_reissues_certificates(void **state)
{
	struct fixture	*f = *state;
	unsigned char	*before, *after, *ca_before, *ca_after;
	int		 len_before, len_after, ca_len_before, ca_len_after;
	X509		*old, *new, *ca;
	EVP_PKEY	*k;

	len_before = pubkey_der(f->certs, "tls.rsa.key", &before);
	ca_len_before = pubkey_der(f->certs, "ca.key", &ca_before);
	old = load_cert(f->certs, "tls.rsa.pem");

	assert_int_equal(certs_generate(BASE, HOSTNAME, f->certs, 0, stderr),
	    0);

	len_after = pubkey_der(f->certs, "tls.rsa.key", &after);
	ca_len_after = pubkey_der(f->certs, "ca.key", &ca_after);
	assert_int_equal(len_before, len_after);
	assert_memory_equal(before, after, (size_t)len_before);
	assert_int_equal(ca_len_before, ca_len_after);
	assert_memory_equal(ca_before, ca_after, (size_t)ca_len_before);

	/* A new certificate, for the same key, still under the CA. */
	new = load_cert(f->certs, "tls.rsa.pem");
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(old),
	    X509_get0_serialNumber(new)), 0);
	k = load_key(f->certs, "tls.rsa.key");
	assert_int_equal(X509_check_private_key(new, k), 1);
	ca = load_cert(f->certs, "ca.pem");
	assert_int_equal(X509_check_issued(ca, new), X509_V_OK);

	EVP_PKEY_free(k);
	X509_free(ca);
	X509_free(old);
	X509_free(new);
	OPENSSL_free(before);
	OPENSSL_free(after);
	OPENSSL_free(ca_before);
	OPENSSL_free(ca_after);
}

static void
force_replaces_keys(void **state)
{
	struct fixture	*f = *state;
	char		 dir[PATH_MAX];
	unsigned char	*before, *after, *ca_before, *ca_after;
	int		 len_before, len_after, ca_len_before, ca_len_after;
	X509		*leaf, *chain_ca;
	int		 err;

	path_of(dir, sizeof(dir), f->top, "forced");
	assert_int_equal(certs_generate(BASE, HOSTNAME, dir, 0, stderr), 0);
	len_before = pubkey_der(dir, "tls.ecdsa.key", &before);
	ca_len_before = pubkey_der(dir, "ca.key", &ca_before);

	assert_int_equal(certs_generate(BASE, HOSTNAME, dir, 1, stderr), 0);
	len_after = pubkey_der(dir, "tls.ecdsa.key", &after);
	ca_len_after = pubkey_der(dir, "ca.key", &ca_after);
	assert_true(len_before != len_after ||
	    memcmp(before, after, (size_t)len_before) != 0);
	assert_true(ca_len_before != ca_len_after ||
	    memcmp(ca_before, ca_after, (size_t)ca_len_before) != 0);

	/* The new leaves chain to the new CA. */
	load_chain(dir, "tls.ecdsa.pem", &leaf, &chain_ca);
	assert_int_equal(verify_as(leaf, chain_ca, "mx.tls." BASE, NULL,
	    &err), 1);

	X509_free(leaf);
	X509_free(chain_ca);
	OPENSSL_free(before);
	OPENSSL_free(after);
	OPENSSL_free(ca_before);
	OPENSSL_free(ca_after);
	rm_tree(dir);
}

static void
rerun_refuses_a_key_of_the_wrong_type(void **state)
{
	struct fixture	*f = *state;
	char		 dir[PATH_MAX], path[PATH_MAX], *msg = NULL;
	size_t		 msglen = 0;
	EVP_PKEY	*ec;
	FILE		*fp, *errs;

	path_of(dir, sizeof(dir), f->top, "wrongtype");
	assert_int_equal(mkdir(dir, 0700), 0);
	path_of(path, sizeof(path), dir, "tls.rsa.key");
	assert_non_null(ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	EVP_PKEY_free(ec);

	assert_non_null(errs = open_memstream(&msg, &msglen));
	assert_int_equal(certs_generate(BASE, HOSTNAME, dir, 0, errs), -1);
	fclose(errs);
	assert_non_null(strstr(msg, "certs: "));
	assert_non_null(strstr(msg, "tls.rsa.key: not an RSA-2048 key"));
	free(msg);
	rm_tree(dir);
}

static void
unwritable_directory_is_an_error_with_a_message(void **state)
{
	char	*msg = NULL;
	size_t	 msglen = 0;
	FILE	*errs;

	(void)state;
	assert_non_null(errs = open_memstream(&msg, &msglen));
	assert_int_equal(certs_generate(BASE, HOSTNAME, "/dev/null/certs", 0,
	    errs), -1);
	fclose(errs);
	assert_non_null(strstr(msg, "certs: /dev/null/certs: cannot create"));
	free(msg);
}

/* The [host NAME] section of CONF, up to the next section. */
static char *
section(const char *conf, const char *header)
{
	const char	*start, *end;
	char		*s;

	start = strstr(conf, header);
	assert_non_null(start);
	end = strstr(start + 1, "\n[");
	if (end == NULL)
		end = start + strlen(start);
	assert_non_null(s = strndup(start, (size_t)(end - start)));
	return s;
}

static void
demo_config_gives_each_host_its_port_in_catalogue_order(void **state)
{
	struct fixture	*f = *state;
	char		 path[PATH_MAX];
	char		*conf, *s;
	struct stat	 st;

	assert_int_equal(demo_config_write(f->top, 40000, stderr), 0);
	path_of(path, sizeof(path), f->top, "mailscope.conf");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	conf = slurp(path);

	/* plain open grey tls tls-bad tls13 tls12 strong medium web dns */
	s = section(conf, "[host medium]");
	assert_non_null(strstr(s,
	    "listen      = 127.0.0.1:40008 [::1]:40008\n"));
	assert_non_null(strstr(s, "starttls    = required\n"));
	assert_non_null(strstr(s, "protocols   = TLSv1.2\n"));
	assert_non_null(strstr(s, "ciphers     = medium\n"));
	/* relative: config_load() takes them from the file's directory */
	assert_non_null(strstr(s, "certificate = "
	    "certs/medium.rsa.pem certs/medium.ecdsa.pem\n"));
	assert_null(strstr(s, "greylist_delay"));
	free(s);

	s = section(conf, "[host plain]");
	assert_non_null(strstr(s, "127.0.0.1:40000 [::1]:40000\n"));
	assert_non_null(strstr(s, "starttls    = off\n"));
	assert_null(strstr(s, "certificate"));
	assert_null(strstr(s, "protocols"));
	free(s);

	s = section(conf, "[host grey]");
	assert_non_null(strstr(s, "127.0.0.1:40002 [::1]:40002\n"));
	assert_non_null(strstr(s, "greylist_delay = 5s\n"));
	free(s);

	s = section(conf, "[web]");
	assert_non_null(strstr(s, "127.0.0.1:40009 [::1]:40009\n"));
	assert_non_null(strstr(s,
	    "key         = certs/web.rsa.key certs/web.ecdsa.key\n"));
	free(s);
	s = section(conf, "[dns]");
	assert_non_null(strstr(s, "127.0.0.1:40010 [::1]:40010\n"));
	free(s);

	assert_non_null(strstr(conf, "database    = mailscope.db\n"));
	assert_non_null(strstr(conf, "base_domain = measure.test\n"));
	free(conf);
}

static void
demo_config_refuses_ports_past_65535(void **state)
{
	struct fixture	*f = *state;
	char		 dir[PATH_MAX], *msg = NULL;
	size_t		 msglen = 0, nh;
	struct stat	 st;
	FILE		*errs;

	path_of(dir, sizeof(dir), f->top, "refused");
	assert_non_null(errs = open_memstream(&msg, &msglen));
	assert_int_equal(demo_config_write(dir, 65530, errs), -1);
	assert_int_equal(demo_config_write(dir, 0, errs), -1);
	assert_int_equal(demo_config_write(dir, -1, errs), -1);
	fclose(errs);
	assert_non_null(strstr(msg, "demo-config: base port 65530 out of "
	    "range"));
	assert_non_null(strstr(msg, "demo-config: base port 0 out of range"));
	/* Nothing written. */
	assert_int_equal(stat(dir, &st), -1);
	free(msg);

	/* The last port of the demo may be 65535 itself. */
	catalog_hosts(&nh);
	assert_true((size_t)demo_port_count() > nh + 2);
	assert_int_equal(demo_config_write(f->top, 65536 - demo_port_count(),
	    stderr), 0);
	assert_int_equal(demo_config_write(f->top, 65537 - demo_port_count(),
	    NULL), -1);
}

/* Copies every key of DIR to TO, mode 0600: new ones are slow to make. */
static void
copy_keys(const char *dir, const char *to)
{
	DIR		*d;
	struct dirent	*de;
	char		 src[PATH_MAX], dst[PATH_MAX], *buf;
	size_t		 len;
	FILE		*fp;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		path_of(src, sizeof(src), dir, de->d_name);
		path_of(dst, sizeof(dst), to, de->d_name);
		buf = slurp(src);
		assert_non_null(fp = fopen(dst, "w"));
		assert_int_equal(fchmod(fileno(fp), 0600), 0);
		assert_int_equal(fputs(buf, fp) >= 0, 1);
		assert_int_equal(fclose(fp), 0);
		free(buf);
	}
	closedir(d);
}

/*
 * CI workspaces have long paths: an absolute certificate line under one
 * passes 200 bytes (the line buffer of the INI library we once used).
 */
static void
demo_config_in_a_long_directory_loads(void **state)
{
	struct fixture		*f = *state;
	const struct host_conf	*h;
	struct config		*cfg;
	char			 name[101], sub[PATH_MAX], dir[PATH_MAX];
	char			 certs[PATH_MAX], conf[PATH_MAX];
	char			 want[PATH_MAX * 2], *out = NULL;
	size_t			 len = 0;
	FILE			*errs;
	int			 n;

	/* two components of 100 bytes: far over 150, each a legal name */
	memset(name, 'd', 100);
	name[100] = '\0';
	path_of(sub, sizeof(sub), f->top, name);
	path_of(dir, sizeof(dir), sub, name);
	path_of(certs, sizeof(certs), dir, "certs");
	assert_true(strlen(dir) > 150);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(certs, 0755), 0);
	copy_keys(f->certs, certs);
	assert_int_equal(demo_config_write(dir, 41000, stderr), 0);

	path_of(conf, sizeof(conf), dir, "mailscope.conf");
	assert_non_null(errs = open_memstream(&out, &len));
	cfg = config_load(conf, errs);
	assert_int_equal(fclose(errs), 0);
	assert_string_equal(out, "");
	free(out);
	assert_non_null(cfg);
	path_of(want, sizeof(want), dir, "mailscope.db");
	assert_string_equal(cfg->database, want);
	assert_non_null(h = config_host(cfg, "tls-bad"));
	n = snprintf(want, sizeof(want), "%s/certs/tls-bad.rsa.pem "
	    "%s/certs/tls-bad.ecdsa.pem", dir, dir);
	assert_true(n > 200 && (size_t)n < sizeof(want));
	assert_string_equal(h->certificate, want);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    valid_cert_verifies_for_its_mx_names_and_loopback),
		cmocka_unit_test(valid_cert_fails_for_a_name_it_does_not_cover),
		cmocka_unit_test(
		    open_cert_covers_the_dns_challenges_per_test_mx),
		cmocka_unit_test(bad_cert_is_expired_and_for_an_unrelated_name),
		cmocka_unit_test(web_cert_covers_every_mta_sts_name),
		cmocka_unit_test(ca_is_a_critical_ca_with_keycertsign),
		cmocka_unit_test(key_files_are_mode_0600),
		cmocka_unit_test(rsa_key_is_2048_bits_and_ecdsa_key_is_p256),
		cmocka_unit_test(rerun_keeps_keys_and_reissues_certificates),
		cmocka_unit_test(force_replaces_keys),
		cmocka_unit_test(rerun_refuses_a_key_of_the_wrong_type),
		cmocka_unit_test(
		    unwritable_directory_is_an_error_with_a_message),
		cmocka_unit_test(
		    demo_config_gives_each_host_its_port_in_catalogue_order),
		cmocka_unit_test(demo_config_refuses_ports_past_65535),
		cmocka_unit_test(demo_config_in_a_long_directory_loads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
