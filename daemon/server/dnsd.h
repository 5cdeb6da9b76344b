/*
 * The authoritative DNS server of dns.<base>, the zone of the per-test
 * "dns" challenge: UDP and TCP on the [dns] addresses, every query stored.
 * Event loop thread; the answers come from dns_answer.h.
 * RFC 1035 4.2, RFC 7766.
 */
#ifndef MAILSCOPE_DNSD_H
#define MAILSCOPE_DNSD_H

#include <stddef.h>

struct config;
struct dnsd;
struct event_base;
struct store;

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
