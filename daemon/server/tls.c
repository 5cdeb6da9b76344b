/*
 * TLS contexts per host profile and the evidence of each handshake: the
 * ClientHello as offered (RFC 8446 4.1.2, 4.2; unknown codepoints kept as
 * numbers), the negotiated parameters, alerts sent and received, and
 * OpenSSL's reason for a failure.  Runs on the event loop thread.
 */
#include "build.h"

#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "catalog.h"
#include "log.h"
#include "text.h"
#include "tls.h"

/*
 * Cipher sets of CHALLENGES.md; docs/tls-profiles.md gives their source.
 * "strong": forward-secret AEAD only (NCSC-NL TLS guidelines 2021, "good").
 * "medium": forward-secret CBC suites, none of the strong ones.
 */
static const struct {
	const char	*name;
	const char	*list;		/* TLS 1.2 and older */
	const char	*suites;	/* TLS 1.3 */
} cipher_sets[] = {
	/* no anonymous suites: every host presents its certificate */
	{ "all", "ALL:COMPLEMENTOFDEFAULT:!eNULL:!aNULL:@SECLEVEL=0",
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
	    "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"
	    "TLS_AES_128_CCM_8_SHA256" },
	{ "strong", "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:"
	    "!aNULL:!PSK:!SRP",
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
	    "TLS_AES_128_GCM_SHA256" },
	{ "medium", "ECDHE+AES:DHE+AES:!AESGCM:!AESCCM:!aNULL:!PSK:!SRP:"
	    "@SECLEVEL=1",
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
	    "TLS_AES_128_GCM_SHA256" },
};

static int	rec_index = -1;	/* ex_data slot; set once, before threads */

/* Appends TEXT to *DST with a comma; allocation failure leaves it as is. */
static void
append(char **dst, const char *text)
{
	size_t old = *dst != NULL ? strlen(*dst) : 0, n = strlen(text);
	char *p;

	if ((p = realloc(*dst, old + n + 2)) == NULL)
		return;
	if (old > 0)
		p[old++] = ',';
	memcpy(p + old, text, n + 1);
	*dst = p;
}

static void
err_drain(char *buf, size_t len, unsigned long first)
{
	unsigned long e;
	const char *r;
	size_t o = 0;
	int n;

	buf[0] = '\0';
	for (e = first != 0 ? first : ERR_get_error(); e != 0;
	    e = ERR_get_error()) {
		r = ERR_reason_error_string(e);
		n = snprintf(buf + o, len - o, "%s%s", o > 0 ? "; " : "",
		    r != NULL ? r : "unknown error");
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	ERR_clear_error();
}

/*
 * A list of 16-bit codepoints, as 0xNNNN (HEX) or decimal; at most
 * CH_LIST_MAX of them, then "...": a ClientHello may offer 32767.
 */
#define CH_LIST_MAX	256

static void
code_list(char **dst, const unsigned char *p, size_t len, int hex)
{
	char num[8];
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		if (i / 2 == CH_LIST_MAX) {
			append(dst, "...");
			break;
		}
		if (hex)
			snprintf(num, sizeof(num), "0x%02x%02x", p[i], p[i + 1]);
		else
			snprintf(num, sizeof(num), "%u",
			    (unsigned)(p[i] << 8 | p[i + 1]));
		append(dst, num);
	}
}

/* A length-prefixed vector: returns its body, or NULL if malformed. */
static const unsigned char *
vec(const unsigned char *p, size_t len, size_t lenbytes, size_t *out)
{
	size_t n;

	if (len < lenbytes)
		return NULL;
	n = lenbytes == 1 ? p[0] : (size_t)(p[0] << 8 | p[1]);
	if (n > len - lenbytes)
		return NULL;
	*out = n;
	return p + lenbytes;
}

static void
record_client_hello(SSL *ssl, struct tls_rec *rec)
{
	const unsigned char *p, *b;
	size_t len, n, i;
	char name[256];

	/* A second ClientHello (after HelloRetryRequest) replaces the first. */
	text_set(&rec->ch_versions, NULL);
	text_set(&rec->ch_ciphers, NULL);
	text_set(&rec->ch_groups, NULL);
	text_set(&rec->ch_sigalgs, NULL);
	text_set(&rec->ch_alpn, NULL);

	len = SSL_client_hello_get0_ciphers(ssl, &p);
	code_list(&rec->ch_ciphers, p, len, 1);

	/* RFC 8446 4.2.1; without the extension, the legacy version. */
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p,
	    &len) == 1 && (b = vec(p, len, 1, &n)) != NULL)
		code_list(&rec->ch_versions, b, n, 1);
	else {
		unsigned v = SSL_client_hello_get0_legacy_version(ssl);

		snprintf(name, sizeof(name), "0x%04x", v);
		text_set(&rec->ch_versions, name);
	}
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_groups, &p,
	    &len) == 1 && (b = vec(p, len, 2, &n)) != NULL)
		/* RFC 8446 4.2.7: decimal, so unknown PQ groups show */
		code_list(&rec->ch_groups, b, n, 0);
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_signature_algorithms,
	    &p, &len) == 1 && (b = vec(p, len, 2, &n)) != NULL)
		code_list(&rec->ch_sigalgs, b, n, 1);
	/* RFC 7301 3.1: a list of 1-byte-length protocol names */
	if (SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) == 1 &&
	    (b = vec(p, len, 2, &n)) != NULL) {
		for (i = 0; i < n; i += 1 + b[i]) {
			if (b[i] > n - i - 1)
				break;
			log_escape(name, sizeof(name), (const char *)b + i + 1, b[i]);
			append(&rec->ch_alpn, name);
		}
	}
	/* RFC 6066 3: server_name_list, host_name entries (type 0) */
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
	    &len) == 1 && (b = vec(p, len, 2, &n)) != NULL && n >= 3 &&
	    b[0] == TLSEXT_NAMETYPE_host_name &&
	    (p = vec(b + 1, n - 1, 2, &len)) != NULL) {
		/* untrusted: escaped like a log line */
		log_escape(name, sizeof(name), (const char *)p, len);
		text_set(&rec->sni, name);
	}
}

static int
client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_rec *rec = SSL_get_ex_data(ssl, rec_index);

	(void)alert;
	(void)arg;
	if (rec != NULL)
		record_client_hello(ssl, rec);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* "bad certificate" -> "bad_certificate", "unknown CA" -> "unknown_ca" */
static void
alert_name(char *dst, size_t len, int value)
{
	const char *s = SSL_alert_desc_string_long(value);
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		dst[i] = s[i] == ' ' ? '_' : (char)tolower((unsigned char)s[i]);
	dst[i] = '\0';
}

static void
info_cb(const SSL *ssl, int where, int value)
{
	struct tls_rec *rec = SSL_get_ex_data(ssl, rec_index);
	char name[64];

	if (rec == NULL || !(where & SSL_CB_ALERT))
		return;
	if ((value & 0xff) == SSL_AD_CLOSE_NOTIFY)
		return;
	alert_name(name, sizeof(name), value);
	/* The first alert is the evidence; later ones follow from it. */
	if ((where & SSL_CB_READ) && rec->alert_received == NULL)
		text_set(&rec->alert_received, name);
	else if ((where & SSL_CB_WRITE) && rec->alert_sent == NULL)
		text_set(&rec->alert_sent, name);
}

static const char *
cipher_set(const char *name, const char **suites)
{
	size_t i;

	for (i = 0; i < sizeof(cipher_sets) / sizeof(cipher_sets[0]); i++)
		if (strcmp(cipher_sets[i].name, name) == 0) {
			*suites = cipher_sets[i].suites;
			return cipher_sets[i].list;
		}
	*suites = NULL;
	return name;
}

/* The settings every context of a host shares.  NULL + ERR. */
static SSL_CTX *
ctx_base(const struct host_conf *h, char *err, size_t errlen)
{
	const char *list, *suites;
	char why[256];
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	list = cipher_set(h->ciphers != NULL ? h->ciphers : "all", &suites);
	if (SSL_CTX_set_min_proto_version(ctx, h->proto_min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, h->proto_max) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, list) != 1 ||
	    (suites != NULL && SSL_CTX_set_ciphersuites(ctx, suites) != 1))
		goto fail;
	/* DHE suites need parameters; OpenSSL picks them by key size. */
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)h->name,
	    (unsigned int)strlen(h->name));
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	/* Also on the SNI contexts: OpenSSL asks the current context. */
	SSL_CTX_set_info_callback(ctx, info_cb);
	return ctx;
 fail:
	err_drain(why, sizeof(why), 0);
	snprintf(err, errlen, "host %s: TLS settings: %s", h->name, why);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The names a certificate file's leaf covers, sorted and joined: pairs
 * with the same names (an RSA and an ECDSA certificate) share a context.
 */
static int
cert_names(const char *file, char *out, size_t len)
{
	GENERAL_NAMES *gens;
	X509 *x;
	FILE *f;
	char *names[64];
	int i, n = 0, j;
	size_t o = 0;

	out[0] = '\0';
	if ((f = fopen(file, "r")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return -1;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && n < 64;
	    i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			names[n++] = (char *)ASN1_STRING_get0_data(g->d.dNSName);
	}
	/* insertion sort: a handful of names */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		int w = snprintf(out + o, len - o, "%s,", names[i]);

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return 0;
}

/* The other contexts of a host, chosen by SNI; hung on the default. */
struct tls_sni {
	SSL_CTX		**ctx;		/* owned, not the default */
	size_t		 n;
};

static int	sni_index = -1;	/* ex_data slot; set once, before threads */

static void
sni_free(struct tls_sni *sni)
{
	size_t i;

	if (sni == NULL)
		return;
	for (i = 0; i < sni->n; i++)
		SSL_CTX_free(sni->ctx[i]);
	free(sni->ctx);
	free(sni);
}

/*
 * The SNI contexts go with the last reference to the default one: after
 * a reload (SIGHUP) a handshake that began before it still uses them.
 */
static void
sni_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	sni_free(ptr);
}

/* RFC 6066 3: the certificate for the name the client asked for. */
static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_sni *sni = arg;
	const char *name;
	size_t i;

	(void)alert;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	if (X509_check_host(SSL_get_certificate(ssl), name, 0, 0, NULL) == 1)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < sni->n; i++)
		if (X509_check_host(SSL_CTX_get0_certificate(sni->ctx[i]), name,
		    0, 0, NULL) == 1) {
			SSL_set_SSL_CTX(ssl, sni->ctx[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* Loads CERT and KEY into CTX.  0, or -1 with ERR. */
static int
load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err,
    size_t len)
{
	struct stat st;
	char why[256];

	/* a key anyone may read is no longer only ours: refuse it */
	if (stat(key, &st) == 0 && (st.st_mode & S_IROTH)) {
		snprintf(err, len, "%s: readable by everyone (mode %04o); "
		    "chmod o-r it", key, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
	    SSL_CTX_check_private_key(ctx) == 1)
		return 0;
	err_drain(why, sizeof(why), 0);
	snprintf(err, len, "%s / %s: %s", cert, key, why);
	return -1;
}

#define MAX_PAIRS	32

SSL_CTX *
tls_ctx_new(const struct host_conf *h, char *err, size_t errlen)
{
	const struct catalog_host *ch = catalog_host(h->name);
	char *certs = NULL, *keys = NULL, *cs, *ks, *c[MAX_PAIRS], *k[MAX_PAIRS];
	char names[MAX_PAIRS][1024];
	SSL_CTX *ctx[MAX_PAIRS], *def = NULL;
	struct tls_sni *sni = NULL;
	size_t n = 0, ngroups = 0, i, g;
	int group[MAX_PAIRS];

	if (rec_index == -1) {
		rec_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    sni_ex_free);
	}
	if ((certs = strdup(h->certificate)) == NULL ||
	    (keys = strdup(h->key)) == NULL)
		goto nomem;
	for (c[n] = strtok_r(certs, " \t", &cs), k[n] = strtok_r(keys, " \t",
	    &ks); c[n] != NULL && k[n] != NULL && n + 1 < MAX_PAIRS;
	    n++, c[n] = strtok_r(NULL, " \t", &cs),
	    k[n] = strtok_r(NULL, " \t", &ks)) {
		if (cert_names(c[n], names[n], sizeof(names[n])) == -1) {
			snprintf(err, errlen, "host %s: %s: cannot read the "
			    "certificate", h->name, c[n]);
			goto fail;
		}
		for (g = 0; g < n; g++)
			if (strcmp(names[g], names[n]) == 0)
				break;
		group[n] = g < n ? group[g] : (int)ngroups++;
	}
	for (g = 0; g < ngroups; g++) {
		if ((ctx[g] = ctx_base(h, err, errlen)) == NULL) {
			ngroups = g;
			goto fail;
		}
		for (i = 0; i < n; i++)
			if (group[i] == (int)g &&
			    load_pair(ctx[g], c[i], k[i], err, errlen) == -1) {
				ngroups = g + 1;
				goto fail;
			}
	}
	if (ngroups == 0) {
		snprintf(err, errlen, "host %s: no certificate", h->name);
		goto fail;
	}
	def = ctx[0];
	/* the tls-bad host always presents its bad certificate */
	if (ngroups > 1 && ch != NULL && ch->cert == CERT_BAD) {
		log_warn("host %s: no SNI selection here, only the first "
		    "certificate's names are served", h->name);
		for (g = 1; g < ngroups; g++)
			SSL_CTX_free(ctx[g]);
		ngroups = 1;
	}
	if (ngroups > 1) {
		if ((sni = calloc(1, sizeof(*sni))) == NULL ||
		    (sni->ctx = calloc(ngroups - 1, sizeof(*sni->ctx))) == NULL)
			goto nomem;
		for (g = 1; g < ngroups; g++)
			sni->ctx[sni->n++] = ctx[g];
		ngroups = 1;
		SSL_CTX_set_ex_data(def, sni_index, sni);
		SSL_CTX_set_tlsext_servername_callback(def, servername_cb);
		SSL_CTX_set_tlsext_servername_arg(def, sni);
	}
	free(certs);
	free(keys);
	return def;
 nomem:
	snprintf(err, errlen, "out of memory");
 fail:
	if (sni != NULL && sni->n > 0)
		ngroups = 1;	/* the others belong to SNI now */
	sni_free(sni);
	for (g = 0; g < ngroups; g++)
		SSL_CTX_free(ctx[g]);
	free(certs);
	free(keys);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	/* its SNI contexts with its last reference: sni_ex_free() */
	SSL_CTX_free(ctx);
}

int
tls_ctx_reload(SSL_CTX **ctx, const struct host_conf *h)
{
	char err[512];
	SSL_CTX *fresh;

	if ((fresh = tls_ctx_new(h, err, sizeof(err))) == NULL) {
		log_warn("reload: %s; keeping the old certificates and keys of "
		    "host %s", err, h->name);
		return -1;
	}
	tls_ctx_free(*ctx);
	*ctx = fresh;
	log_info("reload: host %s: certificates and keys reloaded", h->name);
	return 0;
}

SSL *
tls_ssl_new(SSL_CTX *ctx, struct tls_rec *rec)
{
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_ex_data(ssl, rec_index, rec);
	return ssl;
}

void
tls_ssl_detach(SSL *ssl)
{
	SSL_set_ex_data(ssl, rec_index, NULL);
}

void
tls_record_established(SSL *ssl, struct tls_rec *rec)
{
	const char *g;
	char num[16];
	int nid;

	rec->established = 1;
	text_set(&rec->version, SSL_get_version(ssl));
	text_set(&rec->cipher,
	    SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	nid = SSL_get_negotiated_group(ssl);
	if (nid != 0 && nid != NID_undef) {
		if ((nid & TLSEXT_nid_unknown) ||
		    (g = SSL_group_to_name(ssl, nid)) == NULL) {
			snprintf(num, sizeof(num), "%d", nid & 0xffff);
			g = num;
		}
		text_set(&rec->group, g);
	}
	rec->resumed = SSL_session_reused(ssl);
}

void
tls_record_failure(struct tls_rec *rec, unsigned long errcode,
    const char *fallback)
{
	char why[256];

	err_drain(why, sizeof(why), errcode);
	if (errcode == 0 && why[0] == '\0' && fallback != NULL)
		snprintf(why, sizeof(why), "%s", fallback);
	if (why[0] != '\0' && rec->error == NULL)
		text_set(&rec->error, why);
}
