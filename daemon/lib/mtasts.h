/*
 * MTA-STS policies of the catalogue (RFC 8461 3.2): the policy text of a
 * challenge, byte-exact (LF or CRLF line ends as the catalogue says), and
 * the id published in its _mta-sts TXT record.  Pure; any thread.
 */
#ifndef MAILSCOPE_MTASTS_H
#define MAILSCOPE_MTASTS_H

#include <stddef.h>

#include "catalog.h"

#define MTASTS_MAX_AGE	86400	/* seconds, RFC 8461 3.2 max_age */
#define MTASTS_ID_LEN	20	/* 1-32 alphanumerics, RFC 8461 3.1 */

/* 1 if challenge CH publishes an MTA-STS policy. */
int	mtasts_has_policy(const struct catalog_challenge *ch);

/*
 * The policy of CH under BASE into BUF (not NUL-counted in the return).
 * Returns its length, or -1 if BUF is too short or CH has no policy.
 */
int	mtasts_policy(const struct catalog_challenge *ch, const char *base,
	    char *buf, size_t len);

/* The policy id: hex of the policy's SHA-256, MTASTS_ID_LEN chars. */
int	mtasts_policy_id(const struct catalog_challenge *ch, const char *base,
	    char id[MTASTS_ID_LEN + 1]);

/* The challenge whose policy host "mta-sts.<challenge>.<base>" is NAME. */
const struct catalog_challenge *mtasts_challenge_of(const char *name,
	    const char *base);

#endif /* MAILSCOPE_MTASTS_H */
