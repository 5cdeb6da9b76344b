/*
 * What the files of mailscope zones share: one run (struct zrun) and its
 * zones, the run's messages, names, paths and files (zones.c), and the
 * calls between zones.c, zones_content.c, zones_sign.c and zones_write.c.
 */
#ifndef MAILSCOPE_ZONES_INT_H
#define MAILSCOPE_ZONES_INT_H

#include <sys/types.h>

#include <netinet/in.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <ldns/ldns.h>

#include "catalog.h"
#include "types.h"

#define ZONES_NAME_MAX		256	/* a DNS name as text, with its NUL */
#define ZONES_SIG_BACKDATE	3600	/* inception: room for validators'
					   clocks */

enum zone_kind {
	ZONE_BASE,	/* <base>: signed */
	ZONE_SIGNED,	/* a child, signed, its DS in the base zone */
	ZONE_BOGUS,	/* a child, signed; the DS in the base zone matches
			   none of its keys (RFC 4035 5.2: bogus) */
	ZONE_UNSIGNED	/* a child without DS: insecure (RFC 4035 4.3) */
};

/* A set of name servers, borrowed from the config or the run. */
struct ns_set {
	const struct ns_conf	*ns;
	size_t			 n;
};

/* One zone of the run.  Owns its keys and records (zones_sign_free). */
struct zone {
	char				 name[ZONES_NAME_MAX];
	const struct catalog_challenge	*ch;	/* NULL: the base zone */
	enum zone_kind			 kind;
	const struct ns_set		*ns;	/* borrowed from the run */
	uint32_t			 serial;
	ldns_key			*ksk;	/* owned; NULL when unsigned */
	ldns_key			*zsk;	/* owned */
	ldns_rr				*ksk_rr;	/* owned: its DNSKEY */
	ldns_rr				*zsk_rr;	/* owned */
	ldns_rr				*ds;	/* owned: published by the parent */
};

/*
 * One zones_generate() run, on its stack.  Owns zones, skip and the
 * default name servers (defns, defns6); borrows the rest.
 */
struct zrun {
	const struct config	*cfg;
	const char		*base;
	char			 dir[PATH_MAX];		/* absolute */
	char			 keys[PATH_MAX];	/* absolute */
	FILE			*out;
	FILE			*errs;
	time_t			 now;
	uint32_t		 ttl;
	uint32_t		 validity;
	struct ns_set		 ns;		/* the base zone's servers */
	struct ns_set		 ns6;		/* the IPv6-only servers */
	struct ns_set		 resp;		/* ns.dns.<base>: mailscoped */
	struct ns_conf		 defns;		/* owned: ns when not set */
	struct ns_conf		 defns6;	/* owned: ns6 when not set */
	struct ns_conf		 defresp;	/* owned: resp's server */
	int			 on_responder;	/* [dns] zones: mailscoped
						   serves CH_ON_RESPONDER */
	char			*skip;		/* per challenge: left out */
	struct zone		*zones;		/* [0] is the base zone */
	size_t			 nzones;
	int			 nerrors;
};

/* zones.c: "zones: error: ..." (counted) and "zones: warning: ..." */
void	zones_error(struct zrun *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	zones_warn(struct zrun *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A DNS name into BUF (ZONES_NAME_MAX); -1 if too long (reported). */
int	zones_name(struct zrun *, char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* A path into BUF (PATH_MAX); -1 if too long (reported). */
int	zones_path(struct zrun *, char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* DATA (LEN bytes) as PATH with MODE, atomically.  0 or -1 (reported). */
int	zones_file(struct zrun *, const char *, mode_t, const char *, size_t);
/* PATH as a directory with MODE if it is missing.  0 or -1 (reported). */
int	zones_mkdir(struct zrun *, const char *, mode_t);
/* NAME is DOMAIN or below it. */
int	zones_in_domain(const char *, const char *);
/* The address of LA without its port, as text.  0 or -1. */
int	zones_addr_text(const struct listen_addr *, char[INET6_ADDRSTRLEN]);
/* Whether LA[I] has the address of one of LA[0..I-1] (ports aside). */
int	zones_addr_seen(const struct listen_addr *, size_t);
/* Whether LA is a wildcard address (0.0.0.0, ::). */
int	zones_addr_unspecified(const struct listen_addr *);

/* zones_content.c: the unsigned text of zone Z into *TEXT (malloc'd). */
int	zones_content_text(struct zrun *, const struct zone *, char **,
	    size_t *);

/* zones_sign.c: keys and DS, signing, the trust anchor. */
int	zones_sign_keys(struct zrun *, struct zone *);
void	zones_sign_free(struct zone *);
int	zones_sign_zone(struct zrun *, const struct zone *, const char *,
	    size_t, char **, size_t *);
int	zones_sign_anchor(struct zrun *, const struct zone *);

/* zones_write.c: serials, zone files, policies, NSD and Knot snippets. */
int	zones_write_serial(struct zrun *, struct zone *);
int	zones_write_zone(struct zrun *, const struct zone *);
int	zones_write_policies(struct zrun *);
int	zones_write_conf(struct zrun *, int, const struct ns_set *);

#endif /* MAILSCOPE_ZONES_INT_H */
