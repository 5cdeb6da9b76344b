/*
 * libFuzzer target of dns_answer_query(), the DNS responder's packet
 * handler: every input is answered as a UDP and as a TCP query by the zone
 * with "truncate = off" and with "truncate = mx", the second also serving
 * a signed zone read from a zone file ([dns] zones), once as a query to an
 * IPv4 and once to an IPv6 address, and as a UDP query the rate limit
 * slips.  Beyond not crashing, an answer must parse, be a response (QR)
 * with the query's ID, and fit its transport, a slipped one have TC=1
 * and no records; only a SERVFAIL (our failure) and a dropped packet say
 * why.
 * Built and run by tests/fuzz/run (clang -fsanitize=fuzzer,address,
 * undefined).
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "config.h"
#include "dns_answer.h"
#include "log.h"
#include "records.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A zone file as mailscope zones writes a *-bogus one, signatures made up. */
static const char file_zone[] =
    "$ORIGIN v4-bogus.measure.test.\n$TTL 3600\n"
    "@ IN SOA ns.dns.measure.test. hostmaster.measure.test. 1 2 3 4 300\n"
    "@ IN NS ns.dns.measure.test.\n@ IN MX 10 mx\n"
    "@ IN DNSKEY 257 3 13 aGVsbG8gd29ybGQ=\n"
    "@ IN RRSIG MX 13 3 3600 20300101000000 20200101000000 1 "
    "v4-bogus.measure.test. aGVsbG8gd29ybGQ=\n"
    "@ IN NSEC mx NS SOA MX RRSIG NSEC DNSKEY\n"
    "mx IN A 192.0.2.25\nmx IN NSEC @ A RRSIG NSEC\n"
    "mx IN RRSIG NSEC 13 4 3600 20300101000000 20200101000000 1 "
    "v4-bogus.measure.test. aGVsbG8gd29ybGQ=\n";

/* libFuzzer calls us without an argument: the zones live here. */
static struct dns_answer_zone	*zones[2];
static uint8_t		 out[DNS_ANSWER_MSG_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct listen_addr open_listen[2], dns_listen[2];
	static struct host_conf open;
	static struct config cfg;
	char err[256];
	FILE *fp;
	int i;

	(void)argc;
	(void)argv;
	log_init("fuzz_dnsd", 1, LOG_LVL_WARN);
	if (config_parse_listen("127.0.0.1:2501", &open_listen[0]) == -1 ||
	    config_parse_listen("[::1]:2501", &open_listen[1]) == -1 ||
	    config_parse_listen("192.0.2.53:53", &dns_listen[0]) == -1 ||
	    config_parse_listen("[2001:db8::53]:53", &dns_listen[1]) == -1)
		abort();
	open.name = "open";
	open.listen = open_listen;
	open.nlisten = 2;
	cfg.base_domain = "measure.test";
	cfg.local_part = "measure";
	cfg.hosts = &open;
	cfg.nhosts = 1;
	cfg.dns.present = 1;
	cfg.dns.listen = dns_listen;
	cfg.dns.nlisten = 2;
	for (i = 0; i < 2; i++) {
		cfg.dns.truncate = i ? DNS_TRUNCATE_MX : DNS_TRUNCATE_OFF;
		if ((zones[i] = dns_answer_zone_new(&cfg, err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "fuzz_dnsd: %s\n", err);
			abort();
		}
	}
	if ((fp = fmemopen((void *)(uintptr_t)file_zone, sizeof(file_zone) - 1,
	    "r")) == NULL || dns_answer_zone_add(zones[1], fp, "file_zone",
	    "v4-bogus", 1, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_dnsd: %s\n", err);
		abort();
	}
	fclose(fp);
	return 0;
}

static void
check(const struct dns_answer_zone *z, const uint8_t *data, size_t len,
    unsigned flags)
{
	int tcp = (flags & DNS_ANSWER_TCP) != 0;
	struct dnsq_rec rec;
	ldns_pkt *pkt = NULL;
	size_t outlen = sizeof(out);

	memset(&rec, 0, sizeof(rec));
	rec.family = tcp ? 6 : 4;	/* the IPv6-only zone both ways */
	if (dns_answer_query(z, data, len, flags, out, &outlen, &rec) ==
	    DNS_ANSWER_SEND) {
		if (outlen < 12 || outlen > (tcp ? DNS_ANSWER_MSG_MAX : 1232) ||
		    rec.rcode < 0 ||
		    (rec.error != NULL) != (rec.rcode == LDNS_RCODE_SERVFAIL) ||
		    ldns_wire2pkt(&pkt, out, outlen) != LDNS_STATUS_OK ||
		    !ldns_pkt_qr(pkt) || len < 2 ||
		    ldns_pkt_id(pkt) != (data[0] << 8 | data[1]) ||
		    ((flags & DNS_ANSWER_SLIP) && (!ldns_pkt_tc(pkt) ||
		    ldns_pkt_ancount(pkt) != 0 || ldns_pkt_nscount(pkt) != 0)))
			abort();
		ldns_pkt_free(pkt);
	} else if (rec.rcode != -1 || rec.error == NULL || outlen != 0)
		abort();
	records_dnsq_clear(&rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	int i;

	for (i = 0; i < 2; i++) {
		check(zones[i], data, len, 0);
		check(zones[i], data, len, DNS_ANSWER_TCP);
	}
	check(zones[0], data, len, DNS_ANSWER_SLIP);
	return 0;
}
