/*
 * Test IDs: 128 random bits in lowercase base32 (RFC 4648 alphabet), and
 * their extraction from recipient addresses of the catalogue.
 */
#ifndef MAILSCOPE_TESTID_H
#define MAILSCOPE_TESTID_H

#include <jansson.h>

#include "catalog.h"
#include "types.h"

/* Writes a new ID and its NUL into ID.  Returns 0, or -1 without entropy. */
int	testid_new(char id[TESTID_LEN + 1]);
int	testid_valid(const char *s, size_t len);

enum testid_rcpt {
	RCPT_TEST,		/* a challenge address with a test ID */
	RCPT_POSTMASTER,	/* postmaster of the base or a challenge domain */
	RCPT_REPORT,		/* tlsrpt@<base>: TLS-RPT reports (RFC 8460) */
	RCPT_NO_USER,		/* catalogue domain, unknown local part */
	RCPT_FOREIGN		/* not our domain: never relayed */
};

/*
 * Classifies the address LOCAL@DOMAIN (no angle brackets) against the
 * catalogue: measure+ID@C.<base> or measure@ID.C.<base> for per-test
 * challenges.  On RCPT_TEST fills ID and *CH.  The report address is
 * that of the base domain only: the zones publish no other.
 */
enum testid_rcpt testid_classify(const struct config *, const char *addr,
	    char id[TESTID_LEN + 1], const struct catalog_challenge **ch);

/*
 * A host name that names a test: <id>.<C>.<base> or a name under it
 * where C is a per-test challenge, and the MX of a delegated one, the
 * dns challenge's mx-<id>.dns.<base> (catalog.h) or a name under it;
 * any case, a final dot allowed.  On 1 fills ID and *CH; 0: no test.
 */
int	testid_from_name(const struct config *, const char *name,
	    char id[TESTID_LEN + 1], const struct catalog_challenge **ch);

/*
 * The challenge C whose domain is NAME, <C>.<base>, or that NAME is under
 * (its MX names, a test's names); any case, a final dot allowed.  NULL:
 * none.
 */
const struct catalog_challenge *testid_challenge_of_name(
	    const struct config *, const char *name);

/* The address of challenge CH for test ID, into BUF.  0, or -1 if short. */
int	testid_address(const struct config *, const struct catalog_challenge *,
	    const char *id, char *buf, size_t len);

/*
 * {"id": ID, "addresses": {challenge: address, ...}} in catalogue order,
 * as new-test --json prints it and POST /api/tests returns it: a new
 * reference, or NULL when out of memory.
 */
json_t	*testid_json(const struct config *, const char *id);

#endif /* MAILSCOPE_TESTID_H */
