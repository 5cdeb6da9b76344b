/*
 * The SPF evaluator (RFC 7208) over libspf2, with every lookup answered by
 * the one DNS layer (resolver.h) and the lookup limits of RFC 7208 4.6.4
 * counted here.  libspf2 parses the sender's records: the daemon runs it
 * only in its evaluator processes (spfproc.c), never in its own; the
 * workers ask them through spfclient.h.
 */
#ifndef MAILSCOPE_SPF_H
#define MAILSCOPE_SPF_H

#include "resolver.h"
#include "records.h"

/* RFC 7208 4.6.4: DNS-querying terms per check, void lookups per check. */
#define SPF_MAX_TERMS	10
#define SPF_MAX_VOID	2
/* Bytes of a record, an explanation or a message kept (before escaping). */
#define SPF_STORED_MAX	4096

enum spf_identity {
	SPF_MAILFROM,	/* RFC 7208 2.4; the null path: postmaster@HELO */
	SPF_HELO	/* RFC 7208 2.3 */
};

struct spf;

/*
 * Every lookup of a check goes to LOOKUP(ARG, ...).  REC_DOM is our own
 * name (the %{r} macro).  NULL when out of memory.
 */
struct spf	*spf_new(resolver_fn lookup, void *arg, const char *rec_dom);
void		 spf_free(struct spf *);

/*
 * check_host() for IDENTITY of a transaction: the client's numeric
 * address, the HELO name as sent (NULL if none) and the reverse path
 * ("" for <>).  Fills OUT (checked = 1), whose strings the caller frees
 * with the analysis record.  0, or -1 when out of memory.
 */
int		 spf_check(struct spf *, enum spf_identity,
		    const char *client_addr, const char *helo,
		    const char *mail_from, struct spf_rec *out);

/*
 * RFC 7208 2.3, 2.4: the domain checked for IDENTITY, the HELO name
 * (whose sender is postmaster@HELO, as for the null reverse path) or
 * MAIL FROM's domain; a pointer into HELO or MAIL_FROM, or NULL (no HELO).
 */
const char	*spf_identity_domain(enum spf_identity, const char *helo,
		    const char *mail_from);

/*
 * RFC 7208 4.3: a domain that can be checked (multi-label, labels of 1
 * to 63 octets, at most 253 without the final dot).  1 or 0.
 */
int		 spf_domain_valid(const char *domain);

#endif /* MAILSCOPE_SPF_H */
