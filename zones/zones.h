/*
 * mailscope zones: the DNS of the catalogue as zone files (the base zone
 * and the child zones some challenges need), signed with ldns, with the
 * trust anchor, the MTA-STS policy files and NSD and Knot snippets.
 */
#ifndef MAILSCOPE_ZONES_H
#define MAILSCOPE_ZONES_H

#include <stdio.h>

#include "types.h"

/*
 * Writes into DIR (created if missing): <zone>.zone for every zone and
 * <zone>.zone.signed for the signed ones, trust-anchor.ds and
 * trust-anchor.key (the base zone's KSK), policies/mta-sts.<challenge>.
 * <base>/.well-known/mta-sts.txt, nsd.conf and knot.conf.  DNSSEC keys
 * are read from, or generated into, [zones] keys (default DIR/keys, 0700;
 * private keys 0600) and reused on later runs.  Every SOA serial is
 * higher than the one of the zone file it replaces.  One line per zone
 * goes to OUT (may be NULL); errors and warnings go to ERRS.  0 or -1.
 */
int	zones_generate(const struct config *cfg, const char *dir, FILE *out,
	    FILE *errs);

struct catalog_challenge;

/*
 * Whether zones_generate() leaves challenge CH out: a host of it has no
 * section, or its MX has A (AAAA) records only and that host no IPv4
 * (IPv6) address.  1 with the reason in WHY (LEN bytes), else 0.
 */
int	zones_left_out(const struct config *cfg,
	    const struct catalog_challenge *ch, char *why, size_t len);

#endif /* MAILSCOPE_ZONES_H */
