/*
 * The authoritative DNS responder for dns.<base>, the zone of the per-test
 * "dns" challenge: UDP and TCP on the [dns] addresses, every query stored.
 * The server runs on the event loop thread; dnsd_answer() is pure (any
 * thread, no sockets) for the unit tests and the fuzzer.
 * RFC 1034, RFC 1035, RFC 2308, RFC 6891, RFC 7766, RFC 9156.
 */
#ifndef MAILSCOPE_DNSD_H
#define MAILSCOPE_DNSD_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct dnsd;
struct dnsd_zone;
struct event_base;
struct store;

/* RFC 1035 4.2.2: a TCP message has a 16-bit length. */
#define DNSD_MSG_MAX	65535

/* What dnsd_answer() did with a query. */
enum dnsd_result {
	DNSD_ANSWER,	/* *OUTLEN bytes in OUT to send */
	DNSD_DROP	/* nothing to send; REC->error says why */
};

/*
 * The zone dns.<base> as CFG describes it: its name servers are the [dns]
 * addresses, mx.<id> has the addresses of [host open].  Ports dropped,
 * unspecified addresses skipped.  NULL with ERR on failure.
 */
struct dnsd_zone *dnsd_zone_new(const struct config *cfg, char *err,
		    size_t errlen);
void		 dnsd_zone_free(struct dnsd_zone *);

/*
 * Answers the query QUERY (LEN bytes, as received; for TCP without the
 * length prefix).  OUT has room for *OUTLEN bytes; on DNSD_ANSWER *OUTLEN
 * is the answer's length.  Fills the query fields of REC (qname, qtype,
 * qclass, edns, edns_size, do_bit, rcode, truncated, minimised, test_id,
 * error), whose strings the caller frees with dnsd_rec_clear(); the
 * address and transport fields are left alone.
 */
enum dnsd_result dnsd_answer(const struct dnsd_zone *, const uint8_t *query,
		    size_t len, int tcp, uint8_t *out, size_t *outlen,
		    struct dnsq_rec *rec);
/* Frees the strings of REC (not REC) and zeroes them. */
void		 dnsd_rec_clear(struct dnsq_rec *);

/*
 * Binds every [dns] address for UDP and TCP (before the privilege drop)
 * and adds the events to BASE.  NULL with ERR on failure.
 */
struct dnsd	*dnsd_new(struct event_base *base, const struct config *cfg,
		    char *err, size_t errlen);
/* Queries are stored from now on (after the privilege drop). */
void		 dnsd_set_store(struct dnsd *, struct store *);
/* SIGTERM: no more queries; queued TCP answers go while the loop runs. */
void		 dnsd_stop(struct dnsd *);
void		 dnsd_free(struct dnsd *);

#endif /* MAILSCOPE_DNSD_H */
