/*
 * The client analyzer: the PTR names of the connecting address, whether
 * one of them resolves back to it (forward-confirmed reverse DNS), and
 * whether the HELO/EHLO name resolves and to what.  Worker threads.
 */
#ifndef MAILSCOPE_CLIENTDNS_H
#define MAILSCOPE_CLIENTDNS_H

#include "resolver.h"
#include "records.h"

/* PTR names whose addresses are looked up (as RFC 7208 5.5 bounds). */
#define CLIENTDNS_MAX_PTR	10

/*
 * Fills OUT (checked = 1) for the client's numeric address and its HELO
 * name as sent (NULL if none), every lookup through LOOKUP(ARG, ...).
 * 0, or -1 when out of memory.
 */
int	clientdns_analyze(resolver_fn lookup, void *arg,
	    const char *client_addr, const char *helo,
	    struct clientdns_rec *out);

#endif /* MAILSCOPE_CLIENTDNS_H */
