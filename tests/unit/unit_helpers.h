/*
 * What several unit tests share: a fake DNS, a table of records that
 * stands in for the resolver (a resolver_fn), and the log of the lookups
 * made.  Single-threaded, as the tests are.
 */
#ifndef MAILSCOPE_UNIT_HELPERS_H
#define MAILSCOPE_UNIT_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "resolver.h"

#define UNIT_TIMEOUT	-1	/* rcode of a record: no answer at all */
#define UNIT_MAXDATA	12

/* One record set of the fake DNS; a table ends with a NULL name. */
struct unit_rr {
	const char	*name;
	uint16_t	 type;
	int		 rcode;
	const char	*data[UNIT_MAXDATA];
};

/* ZONE (NULL: empty) answers from now on; the lookup log starts afresh. */
void	unit_dns_zone(const struct unit_rr *zone);
/*
 * A resolver_fn over the zone: the record set of NAME and TYPE, else
 * NOERROR without records when NAME has others, else NXDOMAIN.
 */
int	unit_dns_lookup(void *arg, const char *name, uint16_t type,
	    struct resolver_answer *a);
/* Lookups made since unit_dns_zone(), and whether one was TYPE NAME. */
size_t	unit_dns_lookups(void);
int	unit_dns_queried(uint16_t type, const char *name);

#endif /* MAILSCOPE_UNIT_HELPERS_H */
