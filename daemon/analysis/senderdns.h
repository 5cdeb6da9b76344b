/*
 * The sender's zones: for the MAIL FROM domain, the header From domain,
 * every DKIM d= domain and the reverse name of the client, the DNSSEC
 * status of the zone holding the name, validated here (RFC 4035 5) from
 * the configured trust anchor, and whether the name servers of the zones
 * on the path have IPv6 addresses.  One struct senderdns per analysis
 * worker thread.
 */
#ifndef MAILSCOPE_SENDERDNS_H
#define MAILSCOPE_SENDERDNS_H

#include <stddef.h>

#include "resolver.h"
#include "records.h"

/* Debian's dns-root-data: the root zone's KSK as DNSKEY records. */
#define SENDERDNS_ROOT_KEY	"/usr/share/dns/root.key"

/* Bounds on the work of one message. */
#define SENDERDNS_MAX_NAMES	10	/* rows (names) per message */
#define SENDERDNS_MAX_QUERIES	80	/* DNS queries per message */
#define SENDERDNS_MAX_TIMEOUTS	2	/* then the rest is not asked */
#define SENDERDNS_MAX_DEPTH	12	/* zones from the anchor down */
#define SENDERDNS_MAX_NS	8	/* name servers asked for AAAA per zone */

struct senderdns;

/*
 * A checker asking RES (borrowed; NULL: every lookup fails) and trusting
 * the DS or DNSKEY records of the zone file ANCHOR (NULL: the default).
 * NULL with a message in ERR when the anchor cannot be read.
 */
struct senderdns	*senderdns_new(struct resolver *res, const char *anchor,
			    char *err, size_t errlen);
void			 senderdns_free(struct senderdns *);

/*
 * Fills OUT (checked = 1) for the names of a message: MAILFROM and FROM
 * (domains; NULL: none), the d= of the signatures in DKIM, and the
 * reverse name of CLIENT_ADDR (numeric; NULL: none).  Each name once per
 * role, at most SENDERDNS_MAX_NAMES; each zone asked once.  The caller
 * frees OUT with the analysis record.  0, or -1 when out of memory.
 */
int		 senderdns_check(struct senderdns *, const char *mailfrom,
		    const char *from, const struct dkim_rec *dkim,
		    const char *client_addr, struct senderdns_rec *out);

#endif /* MAILSCOPE_SENDERDNS_H */
