/*
 * The copies and destructors of the records of records.h.  Each record's
 * owned strings are listed once, by offset, for its copy and its clear.
 * Any thread: they touch only the record they are given.
 */
#include "build.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define STRS(a)		(a), NELEM(a)

static const size_t tls_strs[] = {
	offsetof(struct tls_rec, version),
	offsetof(struct tls_rec, cipher),
	offsetof(struct tls_rec, group),
	offsetof(struct tls_rec, sni),
	offsetof(struct tls_rec, ch_versions),
	offsetof(struct tls_rec, ch_ciphers),
	offsetof(struct tls_rec, ch_groups),
	offsetof(struct tls_rec, ch_sigalgs),
	offsetof(struct tls_rec, ch_alpn),
	offsetof(struct tls_rec, alert_sent),
	offsetof(struct tls_rec, alert_received),
	offsetof(struct tls_rec, error),
};

/* Without its tls_rec, which has its own list. */
static const size_t conn_strs[] = {
	offsetof(struct conn_rec, host),
	offsetof(struct conn_rec, local_addr),
	offsetof(struct conn_rec, challenge),
	offsetof(struct conn_rec, challenges),
	offsetof(struct conn_rec, client_addr),
	offsetof(struct conn_rec, helo_verb),
	offsetof(struct conn_rec, helo),
	offsetof(struct conn_rec, extensions),
	offsetof(struct conn_rec, test_id),
	offsetof(struct conn_rec, sni_test_id),
	offsetof(struct conn_rec, commands),
	offsetof(struct conn_rec, end_reason),
};

static const size_t rcpt_strs[] = {
	offsetof(struct rcpt_rec, address),
	offsetof(struct rcpt_rec, challenge),
	offsetof(struct rcpt_rec, test_id),
	offsetof(struct rcpt_rec, params),
	offsetof(struct rcpt_rec, notify),
	offsetof(struct rcpt_rec, orcpt),
};

static const size_t challenge_strs[] = {
	offsetof(struct challenge_rec, dns),
	offsetof(struct challenge_rec, addresses),
	offsetof(struct challenge_rec, addresses2),
};

static const size_t txn_strs[] = {
	offsetof(struct txn_rec, mail_from),
	offsetof(struct txn_rec, mail_params),
	offsetof(struct txn_rec, headers),
	offsetof(struct txn_rec, message),
	offsetof(struct txn_rec, client_addr),
	offsetof(struct txn_rec, helo),
	offsetof(struct txn_rec, report_rcpt),
	offsetof(struct txn_rec, ret),
	offsetof(struct txn_rec, envid),
};

static const size_t grey_strs[] = {
	offsetof(struct grey_entry, mail_from),
	offsetof(struct grey_entry, rcpt),
	offsetof(struct grey_entry, test_id),
};

static const size_t grey_attempt_strs[] = {
	offsetof(struct grey_attempt, client_addr),
};

static const size_t refusal_strs[] = {
	offsetof(struct refusal_rec, reply),
	offsetof(struct refusal_rec, address),
	offsetof(struct refusal_rec, test_id),
};

static const size_t fetch_strs[] = {
	offsetof(struct fetch_rec, local_addr),
	offsetof(struct fetch_rec, client_addr),
	offsetof(struct fetch_rec, tls_version),
	offsetof(struct fetch_rec, tls_cipher),
	offsetof(struct fetch_rec, sni),
	offsetof(struct fetch_rec, host),
	offsetof(struct fetch_rec, method),
	offsetof(struct fetch_rec, path),
	offsetof(struct fetch_rec, user_agent),
	offsetof(struct fetch_rec, challenge),
	offsetof(struct fetch_rec, error),
};

/* The addresses are borrowed, transport is static. */
static const size_t dnsq_strs[] = {
	offsetof(struct dnsq_rec, qname),
	offsetof(struct dnsq_rec, test_id),
	offsetof(struct dnsq_rec, challenge),
	offsetof(struct dnsq_rec, error),
};

static const size_t spf_strs[] = {
	offsetof(struct spf_rec, domain),
	offsetof(struct spf_rec, explanation),
	offsetof(struct spf_rec, record),
	offsetof(struct spf_rec, error),
};

static const size_t clientdns_strs[] = {
	offsetof(struct clientdns_rec, ptr),
	offsetof(struct clientdns_rec, helo_addrs),
};

static const size_t dkim_sig_strs[] = {
	offsetof(struct dkim_sig_rec, domain),
	offsetof(struct dkim_sig_rec, selector),
	offsetof(struct dkim_sig_rec, algorithm),
	offsetof(struct dkim_sig_rec, canon_header),
	offsetof(struct dkim_sig_rec, canon_body),
	offsetof(struct dkim_sig_rec, error),
};

static const size_t dkim_strs[] = {
	offsetof(struct dkim_rec, error),
};

static const size_t dmarc_dest_strs[] = {
	offsetof(struct dmarc_dest, uri),
	offsetof(struct dmarc_dest, domain),
};

static const size_t dmarc_strs[] = {
	offsetof(struct dmarc_rec, from_domain),
	offsetof(struct dmarc_rec, org_domain),
	offsetof(struct dmarc_rec, policy_domain),
	offsetof(struct dmarc_rec, record),
	offsetof(struct dmarc_rec, error),
	offsetof(struct dmarc_rec, fo),
	offsetof(struct dmarc_rec, rua),
	offsetof(struct dmarc_rec, ruf),
	offsetof(struct dmarc_rec, invalid_tags),
	offsetof(struct dmarc_rec, spf_domain),
};

static const size_t sender_zone_strs[] = {
	offsetof(struct sender_zone, name),
	offsetof(struct sender_zone, zone),
	offsetof(struct sender_zone, dnssec_error),
};

static const size_t analysis_strs[] = {
	offsetof(struct analysis_rec, header_from),
	offsetof(struct analysis_rec, from_domain),
	offsetof(struct analysis_rec, envelope_domain),
	offsetof(struct analysis_rec, message_id),
};

static const size_t tlsrpt_failure_strs[] = {
	offsetof(struct tlsrpt_failure, result_type),
	offsetof(struct tlsrpt_failure, sending_mta_ip),
	offsetof(struct tlsrpt_failure, receiving_mx_hostname),
	offsetof(struct tlsrpt_failure, receiving_ip),
	offsetof(struct tlsrpt_failure, additional_information),
	offsetof(struct tlsrpt_failure, failure_reason_code),
};

static const size_t tlsrpt_policy_strs[] = {
	offsetof(struct tlsrpt_policy, policy_type),
	offsetof(struct tlsrpt_policy, policy_domain),
	offsetof(struct tlsrpt_policy, policy_string),
	offsetof(struct tlsrpt_policy, mx_host),
};

static const size_t tlsrpt_strs[] = {
	offsetof(struct tlsrpt_rec, error),
	offsetof(struct tlsrpt_rec, organization),
	offsetof(struct tlsrpt_rec, report_id),
	offsetof(struct tlsrpt_rec, contact),
	offsetof(struct tlsrpt_rec, date_start),
	offsetof(struct tlsrpt_rec, date_end),
};

static char **
str_at(void *rec, size_t off)
{
	return (char **)(void *)((char *)rec + off);
}

/* Frees the strings of REC at OFFS, then zeroes REC (SIZE bytes). */
static void
rec_clear(void *rec, size_t size, const size_t *offs, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(*str_at(rec, offs[i]));
	memset(rec, 0, size);
}

/* SRC into DST (SIZE bytes), its strings at OFFS copied; 0 or -1. */
static int
rec_copy(void *dst, const void *src, size_t size, const size_t *offs,
    size_t n)
{
	char	*s;
	size_t	 i;

	memcpy(dst, src, size);
	for (i = 0; i < n; i++) {
		if ((s = *str_at(dst, offs[i])) == NULL)
			continue;
		if ((*str_at(dst, offs[i]) = strdup(s)) == NULL) {
			/* the first I are copies, the rest still SRC's */
			rec_clear(dst, size, offs, i);
			return -1;
		}
	}
	return 0;
}

void
records_tls_clear(struct tls_rec *t)
{
	rec_clear(t, sizeof(*t), STRS(tls_strs));
}

void
records_conn_clear(struct conn_rec *c)
{
	records_tls_clear(&c->tls);
	rec_clear(c, sizeof(*c), STRS(conn_strs));
}

int
records_conn_copy(struct conn_rec *dst, const struct conn_rec *src)
{
	if (rec_copy(dst, src, sizeof(*dst), STRS(conn_strs)) == -1)
		return -1;
	if (rec_copy(&dst->tls, &src->tls, sizeof(dst->tls),
	    STRS(tls_strs)) == -1) {
		records_conn_clear(dst);
		return -1;
	}
	return 0;
}

void
records_rcpt_clear(struct rcpt_rec *r)
{
	rec_clear(r, sizeof(*r), STRS(rcpt_strs));
}

void
records_challenge_clear(struct challenge_rec *c)
{
	rec_clear(c, sizeof(*c), STRS(challenge_strs));
}

void
records_txn_free(struct txn_rec *txn)
{
	size_t	 i;

	if (txn == NULL)
		return;
	for (i = 0; i < txn->nrcpts; i++)
		records_rcpt_clear(&txn->rcpts[i]);
	free(txn->rcpts);
	rec_clear(txn, sizeof(*txn), STRS(txn_strs));
	free(txn);
}

void
records_grey_clear(struct grey_entry *e)
{
	rec_clear(e, sizeof(*e), STRS(grey_strs));
}

int
records_grey_copy(struct grey_entry *dst, const struct grey_entry *src)
{
	return rec_copy(dst, src, sizeof(*dst), STRS(grey_strs));
}

void
records_grey_attempt_clear(struct grey_attempt *a)
{
	rec_clear(a, sizeof(*a), STRS(grey_attempt_strs));
}

int
records_grey_attempt_copy(struct grey_attempt *dst,
    const struct grey_attempt *src)
{
	return rec_copy(dst, src, sizeof(*dst), STRS(grey_attempt_strs));
}

void
records_refusal_clear(struct refusal_rec *r)
{
	rec_clear(r, sizeof(*r), STRS(refusal_strs));
}

int
records_refusal_copy(struct refusal_rec *dst, const struct refusal_rec *src)
{
	return rec_copy(dst, src, sizeof(*dst), STRS(refusal_strs));
}

void
records_fetch_clear(struct fetch_rec *f)
{
	rec_clear(f, sizeof(*f), STRS(fetch_strs));
}

int
records_fetch_copy(struct fetch_rec *dst, const struct fetch_rec *src)
{
	return rec_copy(dst, src, sizeof(*dst), STRS(fetch_strs));
}

void
records_dnsq_clear(struct dnsq_rec *q)
{
	rec_clear(q, sizeof(*q), STRS(dnsq_strs));
}

int
records_dnsq_copy(struct dnsq_rec *dst, const struct dnsq_rec *src)
{
	return rec_copy(dst, src, sizeof(*dst), STRS(dnsq_strs));
}

void
records_spf_clear(struct spf_rec *r)
{
	rec_clear(r, sizeof(*r), STRS(spf_strs));
}

void
records_clientdns_clear(struct clientdns_rec *r)
{
	rec_clear(r, sizeof(*r), STRS(clientdns_strs));
}

void
records_dkim_clear(struct dkim_rec *d)
{
	size_t	 i;

	for (i = 0; i < d->nsigs; i++)
		rec_clear(&d->sigs[i], sizeof(d->sigs[i]), STRS(dkim_sig_strs));
	free(d->sigs);
	rec_clear(d, sizeof(*d), STRS(dkim_strs));
}

void
records_dmarc_clear(struct dmarc_rec *m)
{
	size_t	 i;

	for (i = 0; i < m->ndests; i++)
		rec_clear(&m->dests[i], sizeof(m->dests[i]),
		    STRS(dmarc_dest_strs));
	free(m->dests);
	rec_clear(m, sizeof(*m), STRS(dmarc_strs));
}

void
records_senderdns_clear(struct senderdns_rec *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		rec_clear(&r->zones[i], sizeof(r->zones[i]),
		    STRS(sender_zone_strs));
	free(r->zones);
	memset(r, 0, sizeof(*r));
}

void
records_tlsrpt_clear(struct tlsrpt_rec *r)
{
	struct tlsrpt_policy	*p;
	size_t			 i, k;

	for (i = 0; i < r->npolicies; i++) {
		p = &r->policies[i];
		for (k = 0; k < p->nfailures; k++)
			rec_clear(&p->failures[k], sizeof(p->failures[k]),
			    STRS(tlsrpt_failure_strs));
		free(p->failures);
		rec_clear(p, sizeof(*p), STRS(tlsrpt_policy_strs));
	}
	free(r->policies);
	rec_clear(r, sizeof(*r), STRS(tlsrpt_strs));
}

void
records_analysis_free(struct analysis_rec *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nfindings; i++)
		free(a->findings[i].field);
	free(a->findings);
	records_spf_clear(&a->spf_mailfrom);
	records_spf_clear(&a->spf_helo);
	records_clientdns_clear(&a->client);
	records_dkim_clear(&a->dkim);
	records_dmarc_clear(&a->dmarc);
	records_senderdns_clear(&a->sender_zones);
	records_tlsrpt_clear(&a->tlsrpt);
	rec_clear(a, sizeof(*a), STRS(analysis_strs));
	free(a);
}
