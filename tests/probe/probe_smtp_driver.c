/*
 * A test driver of probe_smtp(): one MX host with the addresses given,
 * probed on the port given, every field of each address printed as
 * KEY=VALUE lines ("addr=" starts an address).  The DNS step is not run:
 * the test fills in what it would have found.  Used by
 * tests/integration/test_probe_net.py.
 */
#include "build.h"

#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "types.h"

/* VALUE on one line: newlines and backslashes escaped. */
static void
kv(const char *key, const char *value)
{
	const char *p;

	if (value == NULL)
		return;
	printf("%s=", key);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\r')
			fputs("\\r", stdout);
		else if (*p == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

static void
kvi(const char *key, long long v)
{
	printf("%s=%lld\n", key, v);
}

static void
print_ext(const char *key, unsigned int ext)
{
	static const struct {
		unsigned int	 flag;
		const char	*name;
	} names[] = {
		{ PX_SIZE, "SIZE" }, { PX_PIPELINING, "PIPELINING" },
		{ PX_8BITMIME, "8BITMIME" }, { PX_SMTPUTF8, "SMTPUTF8" },
		{ PX_CHUNKING, "CHUNKING" }, { PX_STARTTLS, "STARTTLS" },
		{ PX_REQUIRETLS, "REQUIRETLS" },
		{ PX_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES" },
		{ PX_DSN, "DSN" }, { PX_AUTH, "AUTH" },
	};
	size_t i;
	int first = 1;

	printf("%s=", key);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ext & names[i].flag) {
			printf("%s%s", first ? "" : ",", names[i].name);
			first = 0;
		}
	putchar('\n');
}

static void
print_addr(const struct probe_addr *a)
{
	char key[64];
	size_t i, j;

	kv("addr", a->addr);
	kv("stop", probe_stop_name(a->stop));
	kv("stop_detail", a->stop_detail);
	printf("connect_ms=%.3f\n", a->connect_ms);
	kvi("banner_code", a->banner_code);
	kv("banner", a->banner);
	kv("banner_name", a->banner_name);
	kvi("ehlo_code", a->ehlo_code);
	print_ext("ext", a->ext);
	print_ext("ext_tls", a->ext_tls);
	kvi("size_limit", a->size_limit);
	kvi("starttls_code", a->starttls_code);
	kvi("tls", a->tls);
	kv("tls_version", a->tls_version);
	kv("tls_cipher", a->tls_cipher);
	kv("tls_group", a->tls_group);
	kv("tls_error", a->tls_error);
	kvi("nchain", (long long)a->nchain);
	for (i = 0; i < a->nchain; i++) {
		const struct probe_cert *c = &a->chain[i];

#define CK(f) (snprintf(key, sizeof(key), "chain.%zu.%s", i, f), key)
		kv(CK("subject"), c->subject);
		kv(CK("subject_cn"), c->subject_cn);
		for (j = 0; j < c->san.n; j++)
			kv(CK("san"), c->san.v[j]);
		kv(CK("issuer"), c->issuer);
		kv(CK("sha1"), c->sha1);
		kv(CK("sha256"), c->sha256);
		kv(CK("spki_sha256"), c->spki_sha256);
		kv(CK("key_type"), c->key_type);
		kvi(CK("key_bits"), c->key_bits);
		kv(CK("curve"), c->curve);
		kv(CK("sig_alg"), c->sig_alg);
		kvi(CK("not_before"), (long long)c->not_before);
		kvi(CK("not_after"), (long long)c->not_after);
		kvi(CK("self_signed"), c->self_signed);
#undef CK
	}
	kv("chain_valid", probe_tri_name(a->chain_valid));
	kv("chain_error", a->chain_error);
	kv("name_match", probe_tri_name(a->name_match));
	kv("dane", probe_dane_name(a->dane));
	kvi("dane_matched", a->dane_matched);
	for (i = 0; i < PROBE_NVERSIONS; i++) {
		snprintf(key, sizeof(key), "version.%s",
		    probe_tlsv_name((enum probe_tlsv)i));
		kv(key, probe_tri_name(a->versions[i].accepted));
		snprintf(key, sizeof(key), "version.%s.detail",
		    probe_tlsv_name((enum probe_tlsv)i));
		kv(key, a->versions[i].detail);
	}
	for (i = 0; i < PROBE_NWEAK; i++) {
		snprintf(key, sizeof(key), "weak.%s",
		    probe_weak_name((enum probe_weak)i));
		kv(key, probe_tri_name(a->weak[i].accepted));
		snprintf(key, sizeof(key), "weak.%s.detail",
		    probe_weak_name((enum probe_weak)i));
		kv(key, a->weak[i].detail);
	}
	kvi("mail_code", a->mail_code);
	kvi("rcpt_postmaster", a->rcpt_postmaster);
	kvi("rcpt_abuse", a->rcpt_abuse);
	kvi("rcpt_random", a->rcpt_random);
	kvi("rcpt_relay", a->rcpt_relay);
	kvi("spf_mail_code", a->spf_mail_code);
	kvi("spf_rcpt_code", a->spf_rcpt_code);
	kv("open_relay", probe_tri_name(a->open_relay));
	kv("recipient_filtering", probe_tri_name(a->recipient_filtering));
	kv("greylisting", probe_tri_name(a->greylisting));
	kv("spf_checked", probe_tri_name(a->spf_checked));
	for (i = 0; i < a->transcript.n; i++)
		kv("tx", a->transcript.v[i]);
	printf("elapsed=%.3f\n", a->ended - a->started);
}

/* Every step the tool's display would show, in order. */
static void
progress(void *arg, const struct probe_mx *mx, const struct probe_addr *a,
    const char *step)
{
	(void)arg;
	(void)mx;
	printf("progress=%s %s\n", a->addr, step);
}

static void
usage(void)
{
	fprintf(stderr, "usage: probe_smtp_driver --port N [--timeout MS] "
	    "[--deadline MS] [--per-host N] [--mx NAME] [--domain D] "
	    "[--hostname H] [--base B] [--tlsa 'U S M HEX'] [--ad] "
	    "[--no-ipv6] [--public-only] ADDR...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "per-host", required_argument, NULL, 'n' },
		{ "mx", required_argument, NULL, 'm' },
		{ "domain", required_argument, NULL, 'D' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "base", required_argument, NULL, 'B' },
		{ "tlsa", required_argument, NULL, 'T' },
		{ "ad", no_argument, NULL, 'a' },
		{ "no-ipv6", no_argument, NULL, '6' },
		{ "public-only", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct config cfg;
	struct probe_opts o;
	struct probe_result *r;
	struct probe_mx *mx;
	struct event_base *base;
	const char *mxname = "mx.probe.test", *domain = "probe.test";
	char hex[2100];
	size_t i;
	int ch, rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = strdup("prober.measure.test");
	cfg.base_domain = strdup("measure.test");
	probe_opts_default(&o, &cfg);
	o.timeout_ms = 2000;
	o.deadline_ms = 20000;
	o.progress = progress;
	if ((r = probe_result_new(domain)) == NULL ||
	    (r->mx = calloc(1, sizeof(*r->mx))) == NULL)
		return 1;
	r->nmx = 1;
	mx = &r->mx[0];
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': o.port = (unsigned)atoi(optarg); break;
		case 't': o.timeout_ms = (unsigned)atoi(optarg); break;
		case 'd': o.deadline_ms = (unsigned)atoi(optarg); break;
		case 'n': o.per_host = (unsigned)atoi(optarg); break;
		case 'm': mxname = optarg; break;
		case 'D':
			free(r->domain);
			r->domain = strdup(optarg);
			break;
		case 'H': free(cfg.hostname); cfg.hostname = strdup(optarg);
			break;
		case 'B': free(cfg.base_domain);
			cfg.base_domain = strdup(optarg);
			break;
		case 'T':
			if (mx->ntlsa == PROBE_TLSA_MAX ||
			    sscanf(optarg, "%d %d %d %2047s",
			    &mx->tlsa[mx->ntlsa].usage,
			    &mx->tlsa[mx->ntlsa].selector,
			    &mx->tlsa[mx->ntlsa].mtype, hex) != 4)
				usage();
			mx->tlsa[mx->ntlsa++].data = strdup(hex);
			break;
		case 'a': mx->tlsa_q.ad = 1; break;
		case '6': o.ipv6 = 0; break;
		case 'P': o.public_only = 1; break;
		default: usage();
		}
	}
	if (optind == argc || o.port == 0)
		usage();
	mx->name = strdup(mxname);
	mx->naddrs = (size_t)(argc - optind);
	if ((mx->addrs = calloc(mx->naddrs, sizeof(*mx->addrs))) == NULL)
		return 1;
	for (i = 0; i < mx->naddrs; i++) {
		mx->addrs[i].addr = strdup(argv[optind + (int)i]);
		mx->addrs[i].family = strchr(argv[optind + (int)i], ':') !=
		    NULL ? 6 : 4;
	}
	if ((base = event_base_new()) == NULL)
		return 1;
	rc = probe_smtp(base, &o, r);
	printf("rc=%d\n", rc);
	for (i = 0; i < mx->naddrs; i++)
		print_addr(&mx->addrs[i]);
	event_base_free(base);
	probe_result_free(r);
	free(cfg.hostname);
	free(cfg.base_domain);
	return rc == 0 ? 0 : 1;
}
