/*
 * The challenge catalogue of CHALLENGES.md as const tables.  Adding a
 * challenge is one row here (plus its verdict rule in the report).
 * Read by every thread; nothing here changes at run time.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "records.h"

static const struct catalog_host hosts[] = {
	{ "plain",   STARTTLS_OFF,      NULL,              NULL,     CERT_NONE,  0 },
	{ "open",    STARTTLS_OPTIONAL, "TLSv1-TLSv1.3",   "all",    CERT_VALID, 0 },
	{ "grey",    STARTTLS_OPTIONAL, "TLSv1-TLSv1.3",   "all",    CERT_VALID, 1 },
	{ "tls",     STARTTLS_REQUIRED, "TLSv1-TLSv1.3",   "all",    CERT_VALID, 0 },
	{ "tls-bad", STARTTLS_REQUIRED, "TLSv1-TLSv1.3",   "all",    CERT_BAD,   0 },
	{ "tls13",   STARTTLS_REQUIRED, "TLSv1.3",         "all",    CERT_VALID, 0 },
	{ "tls12",   STARTTLS_REQUIRED, "TLSv1-TLSv1.2",   "all",    CERT_VALID, 0 },
	{ "strong",  STARTTLS_REQUIRED, "TLSv1.2-TLSv1.3", "strong", CERT_VALID, 0 },
	{ "medium",  STARTTLS_REQUIRED, "TLSv1.2",         "medium", CERT_VALID, 0 },
};

#define S	CH_SIGNED
static const struct catalog_challenge challenges[] = {
	{ "plaintext", { "plain" }, MX_DUAL, S,
	    "delivers in cleartext when no STARTTLS is offered" },
	{ "v4", { "open" }, MX_A, S, "delivers over IPv4" },
	{ "v6", { "open" }, MX_AAAA, S, "delivers over IPv6" },
	{ "v4-dns6", { "open" }, MX_A, S | CH_DNS6,
	    "its resolver resolves over IPv6 (compare with v4)" },
	{ "v6-dns6", { "open" }, MX_AAAA, S | CH_DNS6,
	    "its resolver resolves over IPv6 (compare with v6)" },
	{ "v4-bogus", { "open" }, MX_A, CH_BOGUS,
	    "its resolver does not validate DNSSEC (compare with v4)" },
	{ "v6-bogus", { "open" }, MX_AAAA, CH_BOGUS,
	    "its resolver does not validate DNSSEC (compare with v6)" },
	{ "grey-v4", { "grey" }, MX_A, S,
	    "it queues and retries after a temporary failure" },
	{ "grey-v6", { "grey" }, MX_AAAA, S,
	    "it queues and retries after a temporary failure, over IPv6" },
	{ "tls", { "tls" }, MX_DUAL, S, "it can do STARTTLS" },
	{ "tls-badcert", { "tls-bad" }, MX_DUAL, S,
	    "it does not validate certificates (compare with tls)" },
	{ "tlsa-bad", { "tls-bad" }, MX_DUAL, S | CH_TLSA_BAD,
	    "it does not validate DANE (compare with tls-badcert)" },
	{ "tls13", { "tls13" }, MX_DUAL, S, "it supports TLS 1.3" },
	{ "tls12", { "tls12" }, MX_DUAL, S, "it accepts TLS 1.2 or older" },
	{ "strong", { "strong" }, MX_DUAL, S, "it supports strong suites" },
	{ "medium", { "medium" }, MX_DUAL, S, "it accepts medium suites" },
	{ "uniq", { "open" }, MX_DUAL, S | CH_PER_TEST | CH_TLSRPT_TEST,
	    "ties TLS-RPT reports to the test" },
	{ "dns", { "open" }, MX_DUAL, CH_PER_TEST | CH_DELEGATED,
	    "ties the sender's resolver to the test" },
	{ "sts-n", { "tls-bad" }, MX_DUAL, S | CH_STS_LF,
	    "MTA-STS (LF policy) not enforced" },
	{ "sts-rn", { "tls-bad" }, MX_DUAL, S | CH_STS_CRLF,
	    "MTA-STS (CRLF policy) not enforced" },
	{ "sts-plain", { "plain" }, MX_DUAL, S | CH_STS_CRLF,
	    "no MTA-STS at all: cleartext to an enforce domain" },
	{ "sts-2mx-tls", { "tls-bad", "tls" }, MX_DUAL, S | CH_STS_CRLF,
	    "must arrive through tls; through tls-bad MTA-STS is broken" },
	{ "sts-2mx-plain", { "tls-bad", "plain" }, MX_DUAL, S | CH_STS_CRLF,
	    "must not arrive in cleartext" },
	{ "tlsa-bad-pkix-ok", { "tls" }, MX_DUAL, S | CH_TLSA_BAD,
	    "delivered by a DANE sender: it prefers PKIX over DANE" },
	{ "tlsa-ok-pkix-bad", { "tls-bad" }, MX_DUAL, S | CH_TLSA_OK,
	    "a DANE sender must deliver" },
	{ "sts-ok-tlsa-bad", { "tls" }, MX_DUAL,
	    S | CH_TLSA_BAD | CH_STS_CRLF,
	    "must not be delivered where DANE takes precedence over MTA-STS" },
	{ "sts-bad-tlsa-ok-pkix-bad", { "tls-bad" }, MX_DUAL,
	    S | CH_TLSA_OK | CH_STS_CRLF | CH_STS_MISMATCH,
	    "must be delivered where DANE takes precedence" },
	{ "sts-bad-tlsa-ok", { "tls" }, MX_DUAL,
	    S | CH_TLSA_OK | CH_STS_CRLF | CH_STS_MISMATCH,
	    "must be delivered where DANE takes precedence" },
	{ "tlsa-bad-insecure", { "tls-bad" }, MX_DUAL,
	    CH_UNSIGNED | CH_TLSA_BAD,
	    "must be delivered: TLSA without DNSSEC is ignored" },
	{ "tlsa-bad-insecure-pkix-ok", { "tls" }, MX_DUAL,
	    CH_UNSIGNED | CH_TLSA_BAD,
	    "must be delivered; not delivered: it trusts unsigned TLSA" },
};
#undef S

const struct catalog_host *
catalog_hosts(size_t *n)
{
	*n = sizeof(hosts) / sizeof(hosts[0]);
	return hosts;
}

const struct catalog_host *
catalog_host(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strcmp(hosts[i].name, name) == 0)
			return &hosts[i];
	return NULL;
}

const struct catalog_challenge *
catalog_challenges(size_t *n)
{
	*n = sizeof(challenges) / sizeof(challenges[0]);
	return challenges;
}

const struct catalog_challenge *
catalog_challenge(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(challenges) / sizeof(challenges[0]); i++)
		if (strcmp(challenges[i].name, name) == 0)
			return &challenges[i];
	return NULL;
}

int
catalog_mx_name(const struct catalog_challenge *ch, int idx,
    const char *base, char *buf, size_t len)
{
	int n;

	if (idx < 0 || idx > 1 || ch->hosts[idx] == NULL)
		return -1;
	n = snprintf(buf, len, "%s.%s.%s", idx == 0 ? "mx" : "mx2", ch->name,
	    base);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

unsigned
catalog_set_connections(void)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < sizeof(challenges) / sizeof(challenges[0]); i++)
		n += challenges[i].hosts[1] != NULL ? 2 : 1;
	return n;
}

/* The CH_ flags as the challenges table names them. */
static const struct {
	unsigned	 flag;
	const char	*name;
} flag_names[] = {
	{ CH_PER_TEST, "per-test" },
	{ CH_SIGNED, "signed" },
	{ CH_UNSIGNED, "unsigned" },
	{ CH_BOGUS, "bogus" },
	{ CH_DNS6, "dns6" },
	{ CH_DELEGATED, "delegated" },
	{ CH_TLSA_OK, "tlsa-ok" },
	{ CH_TLSA_BAD, "tlsa-bad" },
	{ CH_STS_LF, "sts-lf" },
	{ CH_STS_CRLF, "sts-crlf" },
	{ CH_STS_MISMATCH, "sts-mismatch" },
	{ CH_TLSRPT_TEST, "tlsrpt-test" },
};

/* FLAGS as "signed,tlsa-bad" (owned), or NULL when out of memory. */
static char *
flags_text(unsigned flags)
{
	char buf[256];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(flags & flag_names[i].flag))
			continue;
		if (buf[0] != '\0')
			strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, flag_names[i].name, sizeof(buf) - strlen(buf) - 1);
	}
	return strdup(buf);
}

/*
 * The addresses of challenge NAME of its own on host HOST of CFG,
 * space-separated into *OUT (owned; NULL: none).  0, or -1.
 */
static int
own_addresses(const struct config *cfg, const char *host, const char *name,
    char **out)
{
	const struct host_conf *h = NULL;
	size_t i, len = 0;
	char *s;

	*out = NULL;
	for (i = 0; host != NULL && i < cfg->nhosts; i++)
		if (strcmp(cfg->hosts[i].name, host) == 0)
			h = &cfg->hosts[i];
	if (h == NULL)
		return 0;
	for (i = 0; i < h->nchlisten; i++)
		if (strcmp(h->chlisten[i].challenge, name) == 0)
			len += strlen(h->chlisten[i].addr.text) + 1;
	if (len == 0)
		return 0;
	if ((s = calloc(1, len)) == NULL)
		return -1;
	for (i = 0; i < h->nchlisten; i++) {
		if (strcmp(h->chlisten[i].challenge, name) != 0)
			continue;
		if (s[0] != '\0')
			strcat(s, " ");
		strcat(s, h->chlisten[i].addr.text);
	}
	*out = s;
	return 0;
}

struct challenge_rec *
catalog_challenge_rows(const struct config *cfg, size_t *n)
{
	static const char *const families[] = {
		[MX_A] = "A", [MX_AAAA] = "AAAA", [MX_DUAL] = "dual"
	};
	const struct catalog_challenge *ch;
	struct challenge_rec *rows, *r;
	size_t i;

	*n = sizeof(challenges) / sizeof(challenges[0]);
	if ((rows = calloc(*n, sizeof(*rows))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++) {
		ch = &challenges[i];
		r = &rows[i];
		r->name = ch->name;
		r->host = ch->hosts[0];
		r->host2 = ch->hosts[1];
		r->mx_family = families[ch->family];
		r->description = ch->meaning;
		if ((r->dns = flags_text(ch->flags)) == NULL ||
		    own_addresses(cfg, ch->hosts[0], ch->name,
		    &r->addresses) == -1 ||
		    own_addresses(cfg, ch->hosts[1], ch->name,
		    &r->addresses2) == -1) {
			catalog_challenge_rows_free(rows, *n);
			return NULL;
		}
	}
	return rows;
}

void
catalog_challenge_rows_free(struct challenge_rec *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++)
		records_challenge_clear(&rows[i]);
	free(rows);
}
