/*
 * Hand-filled probe results for the unit tests (probe_fixture.h).
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_fixture.h"

char *
pfx_str(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		abort();
	return d;
}

void
pfx_set(char **dst, const char *s)
{
	free(*dst);
	*dst = pfx_str(s);
}

void
pfx_line(struct probe_addr *a, const char *line)
{
	if (probe_strv_add(&a->transcript, line) == -1)
		abort();
}

static void
dnsq(struct probe_dnsq *q, const char *name, const char *type,
    const char *answer)
{
	pfx_set(&q->name, name);
	pfx_set(&q->type, type);
	pfx_set(&q->status, "noerror");
	if (answer != NULL && probe_strv_add(&q->answers, answer) == -1)
		abort();
}

static void
good_addr(struct probe_mx *mx, struct probe_addr *a, size_t m, size_t k)
{
	struct probe_cert *c = &a->chain[0];
	char buf[256];
	size_t i;

	if (k % 2 == 1) {
		snprintf(buf, sizeof(buf), "2001:db8::%zu:%zu", m + 1, k);
		a->family = 6;
	} else {
		snprintf(buf, sizeof(buf), "192.0.2.%zu", 10 * (m + 1) + k);
		a->family = 4;
	}
	a->addr = pfx_str(buf);
	a->ptr = pfx_str(mx->name);
	dnsq(&a->ptr_q, buf, "PTR", mx->name);
	a->fcrdns = PT_YES;
	a->stop = PSTOP_DONE;
	a->connect_ms = 3.5;
	a->banner_code = 220;
	snprintf(buf, sizeof(buf), "%s ESMTP Postfix", mx->name);
	a->banner = pfx_str(buf);
	a->banner_name = pfx_str(mx->name);
	a->ehlo_code = 250;
	a->ext = PX_SIZE | PX_PIPELINING | PX_8BITMIME | PX_STARTTLS |
	    PX_ENHANCEDSTATUSCODES | PX_CHUNKING;
	a->ext_tls = a->ext & ~PX_STARTTLS;
	a->size_limit = 10240000;
	a->starttls_code = 220;
	a->tls = 1;
	a->tls_version = pfx_str("TLSv1.3");
	a->tls_cipher = pfx_str("TLS_AES_256_GCM_SHA384");
	a->tls_group = pfx_str("X25519");
	snprintf(buf, sizeof(buf), "CN=%s", mx->name);
	c->subject = pfx_str(buf);
	c->subject_cn = pfx_str(mx->name);
	if (probe_strv_add(&c->san, mx->name) == -1)
		abort();
	c->issuer = pfx_str("CN=Test CA,O=mailscope tests");
	c->sha1 = pfx_str("0123456789abcdef0123456789abcdef01234567");
	c->sha256 = pfx_str("aa00000000000000000000000000000000000000000000"
	    "000000000000000000");
	c->spki_sha256 = pfx_str("bb000000000000000000000000000000000000000"
	    "00000000000000000000000");
	c->key_type = pfx_str("RSA");
	c->key_bits = 2048;
	c->sig_alg = pfx_str("sha256WithRSAEncryption");
	c->not_before = (time_t)PFX_STARTED - 30 * PFX_DAY;
	c->not_after = (time_t)PFX_STARTED + 60 * PFX_DAY;
	a->nchain = 1;
	a->chain_valid = PT_YES;
	a->name_match = PT_YES;
	a->dane = PD_NONE;
	a->dane_matched = -1;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		a->versions[i].accepted = i >= PV_TLS12 ? PT_YES : PT_NO;
	a->versions[PV_TLS13].detail = pfx_str("TLS_AES_256_GCM_SHA384");
	a->versions[PV_TLS10].detail = pfx_str("alert protocol_version");
	for (i = 0; i < PROBE_NWEAK; i++)
		a->weak[i].accepted = PT_NO;
	a->mail_code = 250;
	a->rcpt_postmaster = 250;
	a->rcpt_abuse = 250;
	a->rcpt_random = 550;
	a->rcpt_relay = 554;
	a->spf_mail_code = 550;
	a->spf_rcpt_code = 0;
	a->open_relay = PT_NO;
	a->recipient_filtering = PT_YES;
	a->greylisting = PT_NO;
	a->spf_checked = PT_YES;
	pfx_line(a, "S: 220 mx.good.example ESMTP Postfix");
	pfx_line(a, "C: EHLO probe.mailscope.example");
	pfx_line(a, "S: 250-mx.good.example");
	pfx_line(a, "S: 250 STARTTLS");
	pfx_line(a, "C: STARTTLS");
	pfx_line(a, "S: 220 2.0.0 Ready to start TLS");
	pfx_line(a, "C: MAIL FROM:<probe@mailscope.example>");
	pfx_line(a, "S: 250 2.1.0 Ok");
	pfx_line(a, "C: RCPT TO:<relay-test@example.net>");
	pfx_line(a, "S: 554 5.7.1 Relay access denied");
	pfx_line(a, "C: RSET");
	pfx_line(a, "S: 250 2.0.0 Ok");
	pfx_line(a, "C: QUIT");
	a->started = PFX_STARTED + 0.1;
	a->ended = PFX_STARTED + 1.2;
}

struct probe_result *
pfx_good(size_t nmx, size_t naddrs)
{
	struct probe_result *r;
	struct probe_mx *mx;
	char buf[256];
	size_t m, k;

	if ((r = probe_result_new("good.example")) == NULL)
		abort();
	r->started = PFX_STARTED;
	r->finished = PFX_STARTED + 2.5;
	r->resolver = pfx_str("127.0.0.1:53");
	dnsq(&r->mx_q, "good.example", "MX", NULL);
	r->dnssec = PT_NO;
	r->spf.record = pfx_str("v=spf1 mx -all");
	r->spf.records = 1;
	r->spf.lookups = 1;
	r->spf.all = pfx_str("-all");
	r->dmarc.record = pfx_str("v=DMARC1; p=reject; "
	    "rua=mailto:d@good.example");
	r->dmarc.policy = pfx_str("reject");
	r->dmarc.rua = pfx_str("mailto:d@good.example");
	r->tlsrpt.record = pfx_str("v=TLSRPTv1; rua=mailto:t@good.example");
	r->tlsrpt.rua = pfx_str("mailto:t@good.example");
	if ((r->mx = calloc(nmx > 0 ? nmx : 1, sizeof(*r->mx))) == NULL)
		abort();
	r->nmx = nmx;
	for (m = 0; m < nmx; m++) {
		mx = &r->mx[m];
		snprintf(buf, sizeof(buf), "mx%zu.good.example", m + 1);
		mx->name = pfx_str(buf);
		mx->preference = 10 * ((int)m + 1);
		snprintf(buf, sizeof(buf), "%d %s.", mx->preference, mx->name);
		if (probe_strv_add(&r->mx_q.answers, buf) == -1)
			abort();
		dnsq(&mx->a_q, mx->name, "A", NULL);
		dnsq(&mx->aaaa_q, mx->name, "AAAA", NULL);
		mx->sts_match = PT_UNKNOWN;
		if ((mx->addrs = calloc(naddrs > 0 ? naddrs : 1,
		    sizeof(*mx->addrs))) == NULL)
			abort();
		mx->naddrs = naddrs;
		for (k = 0; k < naddrs; k++)
			good_addr(mx, &mx->addrs[k], m, k);
	}
	return r;
}

void
pfx_sts(struct probe_result *r, const char *mode)
{
	char buf[512];
	size_t m;

	pfx_set(&r->sts.txt, "v=STSv1; id=20261207");
	pfx_set(&r->sts.id, "20261207");
	r->sts.fetched = 1;
	r->sts.http_status = 200;
	r->sts.cert_valid = PT_YES;
	snprintf(buf, sizeof(buf), "version: STSv1\nmode: %s\nmx: "
	    "*.good.example\nmax_age: 86400\n", mode);
	pfx_set(&r->sts.policy, buf);
	pfx_set(&r->sts.mode, mode);
	r->sts.max_age = 86400;
	if (probe_strv_add(&r->sts.mx, "*.good.example") == -1)
		abort();
	for (m = 0; m < r->nmx; m++)
		r->mx[m].sts_match = PT_YES;
}

void
pfx_dane(struct probe_result *r)
{
	struct probe_mx *mx;
	char buf[512];
	size_t m, k;

	r->dnssec = PT_YES;
	r->mx_q.ad = 1;
	for (m = 0; m < r->nmx; m++) {
		mx = &r->mx[m];
		snprintf(buf, sizeof(buf), "_25._tcp.%s", mx->name);
		mx->tlsa_q.name = pfx_str(buf);
		mx->tlsa_q.type = pfx_str("TLSA");
		mx->tlsa_q.status = pfx_str("noerror");
		mx->tlsa_q.ad = 1;
		if (probe_strv_add(&mx->tlsa_q.answers, "3 1 1 bb0000") == -1)
			abort();
		mx->tlsa[0].usage = 3;
		mx->tlsa[0].selector = 1;
		mx->tlsa[0].mtype = 1;
		mx->tlsa[0].data = pfx_str("bb0000");
		mx->ntlsa = 1;
		for (k = 0; k < mx->naddrs; k++) {
			mx->addrs[k].dane = PD_MATCH;
			mx->addrs[k].dane_matched = 0;
		}
	}
}

size_t
pfx_has(const struct probe_result *r, const char *key, const char *addr)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].key, key) == 0 && (addr == NULL ||
		    (r->findings[i].addr != NULL &&
		    strcmp(r->findings[i].addr, addr) == 0)))
			return i + 1;
	return 0;
}
