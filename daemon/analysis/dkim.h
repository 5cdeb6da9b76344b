/*
 * The DKIM analyzer (RFC 6376) over libopendkim: every DKIM-Signature
 * field of a message verified, the key records fetched through the one
 * DNS layer (resolver.h), each outcome named as RFC 8601 2.7.1 names it.
 * One struct dkim_verifier per analysis worker thread.
 */
#ifndef MAILSCOPE_DKIM_H
#define MAILSCOPE_DKIM_H

#include <stddef.h>

#include "resolver.h"
#include "records.h"

/*
 * Bounds on the work one message can cause: signatures verified (each
 * may cost a key lookup), signature rows stored, and header fields; a
 * message with more fields has its signatures stored, not verified
 * (libopendkim's header selection costs fields times h= entries).
 */
#define DKIM_MAX_VERIFIED	10
#define DKIM_MAX_STORED		50
#define DKIM_MAX_FIELDS		1000
/* Key lookups that time out before the others of a message are skipped. */
#define DKIM_MAX_TIMEOUTS	2
/* RFC 8301 3.2: RSA keys of fewer bits are not accepted. */
#define DKIM_MIN_KEY_BITS	1024

/* What the key lookup of a signature gave. */
enum dkim_key {
	DKIM_KEY_UNKNOWN,	/* not looked up by us (or from another sig) */
	DKIM_KEY_FOUND,
	DKIM_KEY_NONE,		/* NXDOMAIN, no TXT record, or no name */
	DKIM_KEY_TEMP,		/* timeout, SERVFAIL, ...: try later */
	DKIM_KEY_LONG		/* a record longer than libopendkim takes */
};

struct dkim_verifier;

/* Every key lookup goes to LOOKUP(ARG, ...).  NULL when out of memory. */
struct dkim_verifier	*dkim_verifier_new(resolver_fn lookup, void *arg);
void			 dkim_verifier_free(struct dkim_verifier *);

/*
 * Verifies the DKIM-Signature fields of MSG, the message as received
 * (CRLF line ends), and fills OUT (checked = 1), whose strings the caller
 * frees with the analysis record.  The aligned field of each signature
 * is left -1 (the DMARC analyzer knows the From domain).  0, or -1 when
 * out of memory (OUT then says temperror where it could not finish).
 */
int		 dkim_check(struct dkim_verifier *, const char *msg,
		    size_t len, struct dkim_rec *out);

/*
 * The result of one signature (RFC 8601 2.7.1: pass, fail, policy,
 * neutral, temperror, permerror) from what libopendkim left in it:
 * FLAGS (DKIM_SIGFLAG_*), BH (DKIM_SIGBH_*), ERROR (DKIM_SIGERROR_*),
 * and what our key lookup gave.  *REASON: why, when not pass (static).
 */
const char	*dkim_classify(unsigned flags, int bh, int error,
		    enum dkim_key key, const char **reason);

/*
 * The message's summary: the best of the signatures' results in the
 * order pass, policy, fail, temperror, permerror, neutral; "none" when
 * there is no signature.
 */
const char	*dkim_summary(const struct dkim_rec *);

#endif /* MAILSCOPE_DKIM_H */
