/*
 * The one DNS layer: stub queries over ldns to the configured resolver
 * ([global] resolver, else /etc/resolv.conf), EDNS with the DO bit so that
 * the RCODE and the AD bit of every answer are kept.  An ldns resolver is
 * not thread-safe: each analysis worker makes its own.
 */
#ifndef MAILSCOPE_RESOLVER_H
#define MAILSCOPE_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* Query types, as on the wire (RFC 1035 3.2.2, RFC 3596). */
#define RESOLVER_A	1
#define RESOLVER_PTR	12
#define RESOLVER_MX	15
#define RESOLVER_TXT	16
#define RESOLVER_AAAA	28
#define RESOLVER_NS	2
#define RESOLVER_SOA	6
#define RESOLVER_DS	43
#define RESOLVER_DNSKEY	48

/* RCODEs the analyzers tell apart (RFC 1035 4.1.1). */
#define RESOLVER_NOERROR	0
#define RESOLVER_NXDOMAIN	3

struct resolver;

enum resolver_status {
	RESOLVER_ANSWER,	/* a reply to the query: see rcode */
	RESOLVER_TIMEOUT,	/* no reply, the retry included */
	RESOLVER_ERROR,		/* no usable reply, or no resolver */
	RESOLVER_BADNAME	/* not a name that can be asked */
};

/*
 * One reply, reduced to what the analyzers use.  Owns DATA and its
 * strings: resolver_answer_clear().  DATA holds the records of the type
 * asked for (a CNAME chain followed by the resolver), as text: A and AAAA
 * as addresses, PTR and MX as the target name (lowercase, no final dot;
 * the MX preference is dropped), TXT as its strings concatenated (RFC 7208
 * 3.3), other types in presentation format.
 */
struct resolver_answer {
	enum resolver_status	 status;
	int			 rcode;	/* with RESOLVER_ANSWER */
	int			 ad;	/* AD bit: validated */
	char			**data;	/* owned */
	size_t			 n;
};

/*
 * A lookup as the analyzers see it: resolver_lookup() in the daemon, a
 * table in the unit tests.  0, or -1 when out of memory.
 */
typedef int	(*resolver_fn)(void *arg, const char *name, uint16_t type,
		    struct resolver_answer *out);

/* 1 when the config says resolver = off: no lookups at all. */
int		 resolver_disabled(const struct config *cfg);

/*
 * A resolver for the calling thread: CFG's resolver with its timeout
 * (one retry), else the nameservers of /etc/resolv.conf.  NULL with a
 * message in ERR when there is none, or when it is disabled.
 */
struct resolver	*resolver_new(const struct config *cfg, char *err,
		    size_t errlen);
void		 resolver_free(struct resolver *);

/*
 * analysis_deadline: every lookup from now on ends within MS
 * milliseconds (its tries shortened to fit), and one asked after that
 * fails at once with RESOLVER_TIMEOUT, until resolver_clear_deadline().
 * RES may be NULL.
 */
void		 resolver_set_deadline(struct resolver *, uint64_t ms);
void		 resolver_clear_deadline(struct resolver *);
/* Milliseconds to the deadline, 0 when past; UINT64_MAX: none. */
uint64_t	 resolver_time_left(const struct resolver *);
/*
 * How many of the nameservers resolver_new() would use are off loopback,
 * those listed in LIST (space-separated); 0 when none or disabled.
 */
int		 resolver_away(const struct config *cfg, char *list,
		    size_t len);

/* A resolver_fn: ARG is a struct resolver, or NULL (RESOLVER_ERROR). */
int		 resolver_lookup(void *arg, const char *name, uint16_t type,
		    struct resolver_answer *out);
void		 resolver_answer_clear(struct resolver_answer *);

struct ldns_struct_pkt;		/* ldns_pkt */
struct ldns_struct_rdf;		/* ldns_rdf */

/*
 * The whole reply to NAME and TYPE, asked with the CD bit (RFC 4035
 * 3.2.2) and DO, for those who validate themselves: *P (the caller's:
 * ldns_pkt_free) with A->status RESOLVER_ANSWER, A->rcode and A->ad set
 * and A->data empty; else *P is NULL and A->status says why.  0, or -1
 * when out of memory.
 */
int		 resolver_query_cd(struct resolver *, const char *name,
		    uint16_t type, struct ldns_struct_pkt **p,
		    struct resolver_answer *a);

/*
 * As resolver_query_cd(), without the CD bit: the validating resolver's
 * own verdict, its AD bit, with every record of the reply (the MX
 * preference and the TLSA fields that resolver_lookup() drops).
 */
int		 resolver_query(struct resolver *, const char *name,
		    uint16_t type, struct ldns_struct_pkt **p,
		    struct resolver_answer *a);

/*
 * The text of the name RDF (the caller's: free): lowercase, without the
 * final dot, the root as ".".  NULL when out of memory.
 */
char		*resolver_name_text(const struct ldns_struct_rdf *rdf);

/* NXDOMAIN, or NOERROR without a record (RFC 7208 4.6.4 "void"). */
int		 resolver_answer_void(const struct resolver_answer *);
/* "noerror", "nxdomain", "servfail", ..., "timeout", "error", "badname". */
const char	*resolver_status_name(const struct resolver_answer *);

/*
 * The PTR name of a numeric address (RFC 1035 3.5, RFC 3596 2.5), no
 * final dot, into BUF.  0, or -1 when ADDR is no address.
 */
int		 resolver_reverse_name(const char *addr, char *buf,
		    size_t buflen);

#endif /* MAILSCOPE_RESOLVER_H */
