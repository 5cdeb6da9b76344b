/*
 * The DMARC analyzer (RFC 7489): policy discovery for the header From
 * domain, SPF and DKIM identifier alignment, the result and the policy a
 * receiver would apply, and the report destinations with their external
 * authorisation (7.1).  Organizational domains from libpsl.  One struct
 * dmarc per analysis worker thread.
 */
#ifndef MAILSCOPE_DMARC_H
#define MAILSCOPE_DMARC_H

#include <stddef.h>

#include "resolver.h"
#include "records.h"

/* Report URIs looked at per tag (each external one costs a lookup). */
#define DMARC_MAX_DESTS	10

struct dmarc;

/* Every lookup goes to LOOKUP(ARG, ...).  NULL when out of memory. */
struct dmarc	*dmarc_new(resolver_fn lookup, void *arg);
void		 dmarc_free(struct dmarc *);

/*
 * DMARC for a message whose header From domain is FROM_DOMAIN (NULL if
 * none), with the SPF check of its MAIL FROM identity (RFC 7489 3.1.2)
 * and its DKIM signatures (3.1.1), whose aligned fields (relaxed) are set
 * here.  Fills OUT (checked = 1), whose strings the caller frees with the
 * analysis record.  0, or -1 when out of memory.
 */
int		 dmarc_check(struct dmarc *, const char *from_domain,
		    const struct spf_rec *spf, struct dkim_rec *dkim,
		    struct dmarc_rec *out);

/* A policy record as parsed (RFC 7489 6.3, 6.4).  Owns its strings. */
struct dmarc_policy {
	const char	*p;		/* static: none quarantine reject */
	const char	*sp;		/* static; NULL: as p */
	int		 pct;		/* 0-100, default 100 */
	int		 adkim_strict;	/* adkim=s */
	int		 aspf_strict;	/* aspf=s */
	char		*fo;		/* as given; default "0" */
	char		*rua;		/* as given; NULL if absent */
	char		*ruf;
	char		*invalid;	/* tags ignored as invalid, spaced */
};

enum dmarc_parsed {
	DMARC_NOT_RECORD,	/* not "v=DMARC1" first: ignored (6.6.3) */
	DMARC_RECORD,
	DMARC_INVALID		/* no valid p= or sp=, and no valid rua= */
};

/*
 * Parses TXT into OUT (cleared first).  Invalid tags are ignored (6.3);
 * without a valid p= (or with an invalid sp=) the record counts as p=none
 * when rua= has a valid URI, else it is DMARC_INVALID (6.6.3 step 6).
 * A dmarc_parsed, or -1 when out of memory.
 */
int		 dmarc_parse(const char *txt, struct dmarc_policy *out);
void		 dmarc_policy_clear(struct dmarc_policy *);

/*
 * RFC 7489 3.2: the Organizational Domain of DOMAIN (lowercase, no final
 * dot) into BUF; a public suffix is its own.  0, or -1 when it does not
 * fit.
 */
int		 dmarc_org_domain(const struct dmarc *, const char *domain,
		    char *buf, size_t buflen);

/*
 * RFC 7489 3.1: 1 when A and B align: equal (STRICT), or with the same
 * Organizational Domain (relaxed).  0 otherwise, or when one is NULL.
 */
int		 dmarc_aligned(const struct dmarc *, const char *a,
		    const char *b, int strict);

/*
 * The host of a report URI (RFC 7489 7.1): the domain of a mailto:
 * address, else the host of the authority, lowercased, into BUF; a "!"
 * size suffix ends it.  0, or -1 when it has none.
 */
int		 dmarc_uri_host(const char *uri, char *buf, size_t buflen);

#endif /* MAILSCOPE_DMARC_H */
