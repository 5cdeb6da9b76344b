/*
 * mailscope zones: the DNS of the catalogue as zone files (the base zone
 * and the child zones some challenges need), signed with ldns, with the
 * trust anchor, the MTA-STS policy files and NSD and Knot snippets.
 */
#ifndef MAILSCOPE_ZONES_H
#define MAILSCOPE_ZONES_H

#include <stdio.h>
#include <time.h>

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

/* zones --check warns when a signature expires in this many days or less. */
#define ZONES_CHECK_DAYS	7

/*
 * zones --check: the *.zone.signed files of DIR (the --out of an earlier
 * run), each one's earliest RRSIG expiration against NOW.  One line per
 * zone: valid until when to OUT (may be NULL); expiring within
 * ZONES_CHECK_DAYS (warning) or expired, unreadable, unsigned (error)
 * to ERRS, naming the date.  0 when every zone is fine, else 1.
 */
int	zones_check(const char *dir, time_t now, FILE *out, FILE *errs);

#endif /* MAILSCOPE_ZONES_H */
