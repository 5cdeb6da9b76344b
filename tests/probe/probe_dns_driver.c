/*
 * The check program of tests/integration/test_probe_dns.py: probe_dns()
 * and probe_sts_fetch() of one domain against a real resolver, the
 * facts printed as "key=value" lines (values as the result holds them,
 * non-printable bytes as \xHH), for the test to compare.
 *
 * probe_dns_driver [-4] [-6] [-p] [-d DEADLINE_MS] [-t TIMEOUT_MS]
 *     RESOLVER_ADDR:PORT DOMAIN
 * (-p: public_only; the resolver's own timeout is 2 s a try)
 */
#include "build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "probe.h"
#include "resolver.h"

static void
put(const char *key, const char *v)
{
	const unsigned char *p;

	printf("%s=", key);
	if (v == NULL) {
		printf("(null)\n");
		return;
	}
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (isprint(*p) && *p != '\\')
			putchar(*p);
		else
			printf("\\x%02x", *p);
	putchar('\n');
}

static void
putf(const char *key, long v)
{
	printf("%s=%ld\n", key, v);
}

static void
put_q(const char *prefix, const struct probe_dnsq *q)
{
	char k[128];
	size_t i;

	(void)snprintf(k, sizeof(k), "%s.status", prefix);
	put(k, q->status);
	(void)snprintf(k, sizeof(k), "%s.ad", prefix);
	putf(k, q->ad);
	for (i = 0; i < q->answers.n; i++) {
		(void)snprintf(k, sizeof(k), "%s.answer", prefix);
		put(k, q->answers.v[i]);
	}
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct probe_opts o;
	struct probe_result *r;
	struct resolver *res;
	char err[256], k[128];
	size_t i, j;
	int c, only4 = 0, only6 = 0, public_only = 0;
	unsigned int timeout = 3000, dl = 0;

	while ((c = getopt(argc, argv, "46pd:t:")) != -1) {
		switch (c) {
		case '4':
			only4 = 1;
			break;
		case '6':
			only6 = 1;
			break;
		case 'p':
			public_only = 1;
			break;
		case 'd':
			dl = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: probe_dns_driver [-4] [-6] [-p] [-d MS] [-t MS] "
		    "ADDR:PORT DOMAIN\n");
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.resolver = argv[optind];
	cfg.resolver_timeout_ms = 2000;
	probe_opts_default(&o, &cfg);
	o.domain = argv[optind + 1];
	o.timeout_ms = timeout;
	o.ipv4 = !only6;
	o.ipv6 = !only4;
	o.public_only = public_only;
	if (dl > 0)
		o.deadline_ms = dl;
	if ((res = resolver_new(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "resolver: %s\n", err);
		return 1;
	}
	if ((r = probe_result_new(o.domain)) == NULL ||
	    (r->resolver = strdup(argv[optind])) == NULL)
		return 1;
	if (probe_dns(res, &o, r) == -1 || probe_sts_fetch(&o, r) == -1) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	resolver_free(res);
	put("domain", r->domain);
	put_q("mx_q", &r->mx_q);
	putf("null_mx", r->null_mx);
	putf("implicit_mx", r->implicit_mx);
	put("dnssec", probe_tri_name(r->dnssec));
	putf("nmx", (long)r->nmx);
	for (i = 0; i < r->nmx; i++) {
		const struct probe_mx *m = &r->mx[i];

		(void)snprintf(k, sizeof(k), "mx%zu", i);
		put(k, m->name);
		(void)snprintf(k, sizeof(k), "mx%zu.preference", i);
		putf(k, m->preference);
		(void)snprintf(k, sizeof(k), "mx%zu.a_q", i);
		put_q(k, &m->a_q);
		(void)snprintf(k, sizeof(k), "mx%zu.aaaa_q", i);
		put_q(k, &m->aaaa_q);
		(void)snprintf(k, sizeof(k), "mx%zu.tlsa_q", i);
		put_q(k, &m->tlsa_q);
		for (j = 0; j < m->ntlsa; j++) {
			(void)snprintf(k, sizeof(k), "mx%zu.tlsa", i);
			printf("%s=%d %d %d %s\n", k, m->tlsa[j].usage,
			    m->tlsa[j].selector, m->tlsa[j].mtype,
			    m->tlsa[j].data);
		}
		(void)snprintf(k, sizeof(k), "mx%zu.sts_match", i);
		put(k, probe_tri_name(m->sts_match));
		(void)snprintf(k, sizeof(k), "mx%zu.naddrs", i);
		putf(k, (long)m->naddrs);
		for (j = 0; j < m->naddrs; j++) {
			const struct probe_addr *a = &m->addrs[j];

			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu", i, j);
			put(k, a->addr);
			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu.family",
			    i, j);
			putf(k, a->family);
			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu.ptr", i, j);
			put(k, a->ptr);
			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu.ptr_q",
			    i, j);
			put_q(k, &a->ptr_q);
			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu.fcrdns",
			    i, j);
			put(k, probe_tri_name(a->fcrdns));
			(void)snprintf(k, sizeof(k), "mx%zu.addr%zu.stop", i, j);
			put(k, probe_stop_name(a->stop));
		}
	}
	put("spf.record", r->spf.record);
	putf("spf.records", r->spf.records);
	putf("spf.lookups", r->spf.lookups);
	put("spf.all", r->spf.all);
	put("spf.error", r->spf.error);
	put("dmarc.record", r->dmarc.record);
	put("dmarc.org_domain", r->dmarc.org_domain);
	put("dmarc.policy", r->dmarc.policy);
	put("dmarc.subdomain_policy", r->dmarc.subdomain_policy);
	putf("dmarc.pct", r->dmarc.pct);
	put("dmarc.rua", r->dmarc.rua);
	put("dmarc.ruf", r->dmarc.ruf);
	put("dmarc.error", r->dmarc.error);
	put("tlsrpt.record", r->tlsrpt.record);
	put("tlsrpt.rua", r->tlsrpt.rua);
	put("tlsrpt.error", r->tlsrpt.error);
	put("sts.txt", r->sts.txt);
	put("sts.id", r->sts.id);
	put("sts.txt_error", r->sts.txt_error);
	putf("sts.fetched", r->sts.fetched);
	putf("sts.http_status", r->sts.http_status);
	put("sts.cert_valid", probe_tri_name(r->sts.cert_valid));
	put("sts.fetch_error", r->sts.fetch_error);
	put("sts.policy", r->sts.policy);
	put("sts.mode", r->sts.mode);
	putf("sts.max_age", r->sts.max_age);
	for (i = 0; i < r->sts.mx.n; i++)
		put("sts.mx", r->sts.mx.v[i]);
	probe_result_free(r);
	return 0;
}
