/*
 * The challenge catalogue of CHALLENGES.md as const tables.  Adding a
 * challenge is one row here (plus its verdict rule in the report).
 * Read by every thread; nothing here changes at run time.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "catalog.h"

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
