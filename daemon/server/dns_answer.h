/*
 * The zone dns.<base> of the per-test "dns" challenge, the zones read from
 * zone files ([dns] zones), and the answer to one query: a packet in, a
 * packet out.  Pure (any thread, no sockets, no store): the server in
 * dnsd.c, the unit tests and the fuzzer call it.
 * RFC 1034, RFC 1035, RFC 2308, RFC 4035, RFC 6891, RFC 9156.
 */
#ifndef MAILSCOPE_DNS_ANSWER_H
#define MAILSCOPE_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct dns_answer_zone;
struct dnsq_rec;

/* RFC 1035 4.2.2: a TCP message has a 16-bit length. */
#define DNS_ANSWER_MSG_MAX	65535
/* The longest rec->qname: every byte of a 255-byte name as \xNN. */
#define DNS_ANSWER_QNAME_MAX	(255 * 4 + 2)

/*
 * The longest query answered (ours): a 255-byte name, its question and an
 * OPT leave 230 bytes for options (RFC 8467 pads queries to 128-byte
 * blocks: 384).  A longer one is FORMERR, its question read, nothing else.
 */
#define DNS_ANSWER_QUERY_MAX	512

/* The FLAGS of dns_answer_query(). */
#define DNS_ANSWER_TCP		0x01	/* came over TCP: no size limit */
#define DNS_ANSWER_SLIP		0x02	/* UDP: rate-limited, TC=1 (dnsd.c) */

/* What dns_answer_query() did with a query. */
enum dns_answer_result {
	DNS_ANSWER_SEND,	/* *OUTLEN bytes in OUT to send */
	DNS_ANSWER_DROP		/* nothing to send; REC->error says why */
};

/*
 * The zone dns.<base> as CFG describes it: its name servers are the [dns]
 * addresses, mx-<id> has the dns challenge's addresses on [host open]
 * (challenge_listen = dns, per family, else the host's listen ones).
 * Ports dropped, unspecified addresses skipped.  NULL with ERR on failure.
 */
struct dns_answer_zone *dns_answer_zone_new(const struct config *cfg,
		    char *err, size_t errlen);
void		 dns_answer_zone_free(struct dns_answer_zone *);
/* "dns.<base>" in lowercase. */
const char	*dns_answer_zone_apex(const struct dns_answer_zone *);
/*
 * Adds the zone CHALLENGE.<base> read from FP (a zone file, FILE in
 * messages; signed or not, served as it is) to the zones answered.
 * IPV6_ONLY: queries that came to an IPv4 address are REFUSED.  No
 * wildcards, no delegations, at most 16 zones of 10000 records.  0, or
 * -1 with ERR ("FILE:LINE: error: ...").
 */
int		 dns_answer_zone_add(struct dns_answer_zone *, FILE *fp,
		    const char *file, const char *challenge, int ipv6_only,
		    char *err, size_t errlen);

/*
 * Answers the query QUERY (LEN bytes, as received; for TCP without the
 * length prefix; FLAGS DNS_ANSWER_*: with SLIP the answer goes as if it
 * were too long, TC=1 with its question and OPT only).  Reads only the
 * header, the question and the OPT, each name in at most 255 bytes and 16
 * compression hops.  OUT has room for *OUTLEN bytes; on DNS_ANSWER_SEND
 * *OUTLEN is the answer's length.  Fills the query fields of REC (qname,
 * qtype, qclass, edns, edns_size, do_bit, rcode, truncated, minimised,
 * test_id, challenge, error), whose strings the caller frees with
 * records_dnsq_clear(); the address and transport fields are left alone,
 * and REC->family (6: the query came to an IPv6 address) is read.
 */
enum dns_answer_result dns_answer_query(const struct dns_answer_zone *,
		    const uint8_t *query, size_t len, unsigned flags,
		    uint8_t *out, size_t *outlen, struct dnsq_rec *rec);
/* RCODE of REC for the log: "NOERROR" ... "BADVERS", "dropped" if < 0. */
const char	*dns_answer_rcode_name(int rcode);

#endif /* MAILSCOPE_DNS_ANSWER_H */
