/*
 * The challenge catalogue of CHALLENGES.md: hosts (listener profiles) and
 * challenges (recipient domains).  The one source of truth for accepted
 * domains, address sets, demo configs and, later, zones and verdicts.
 */
#ifndef MAILSCOPE_CATALOG_H
#define MAILSCOPE_CATALOG_H

#include <stddef.h>

#include "types.h"

enum mx_family {
	MX_A,		/* the MX name has only an A record */
	MX_AAAA,	/* only AAAA */
	MX_DUAL		/* both */
};

enum cert_kind {
	CERT_NONE,	/* no STARTTLS */
	CERT_VALID,
	CERT_BAD	/* expired and for an unrelated name */
};

/* A host of the catalogue and the profile demo-config gives it. */
struct catalog_host {
	const char		*name;
	enum starttls_policy	 starttls;
	const char		*protocols;	/* config syntax, NULL if off */
	const char		*ciphers;	/* config syntax, NULL if off */
	enum cert_kind		 cert;
	int			 greylist;	/* greylists first attempts */
};

/* Flags of a challenge's DNS (used by the zone generator). */
#define CH_PER_TEST		0x0001	/* address measure@<id>.C.<base> */
#define CH_SIGNED		0x0002
#define CH_UNSIGNED		0x0004
#define CH_BOGUS		0x0008	/* DNSSEC deliberately broken */
#define CH_DNS6			0x0010	/* name servers with IPv6 only */
#define CH_DELEGATED		0x0020	/* to mailscoped's DNS responder */
#define CH_TLSA_OK		0x0040	/* TLSA 3 1 1 matching */
#define CH_TLSA_BAD		0x0080	/* TLSA not matching */
#define CH_STS_LF		0x0100	/* MTA-STS enforce, LF line ends */
#define CH_STS_CRLF		0x0200	/* MTA-STS enforce, CRLF line ends */
#define CH_STS_MISMATCH		0x0400	/* MTA-STS whose mx list does not match */
#define CH_TLSRPT_TEST		0x0800	/* per-test TLS-RPT record */
/* Zones that mailscoped serves itself with [dns] zones (dnsd.c, zones.c). */
#define CH_ON_RESPONDER		(CH_BOGUS | CH_DNS6)

/*
 * The local part of the TLS-RPT address (RFC 8460 3) every zone publishes,
 * rua=mailto:tlsrpt@<base>; testid_classify() accepts it on every host.
 */
#define CATALOG_TLSRPT_LOCAL	"tlsrpt"
/*
 * `mailscope probe` asks whether a server checks SPF with a sender at
 * <this>.<base>, whose SPF record (the base zone's) lets no address send.
 */
#define CATALOG_PROBE_SPF_DENY	"spf-deny"

/*
 * The MX of a delegated challenge (CH_DELEGATED: dns) for test ID is
 * mx-<id>.<C>.<base>, answered by the DNS responder (dns_answer.c): one
 * label below <C>.<base>, so that *.<C>.<base> on its host's
 * certificate covers it (RFC 6125 6.4.3: a wildcard is one label).
 */
#define CATALOG_TEST_MX_PREFIX	"mx-"

/* A challenge: the recipient domain <name>.<base>. */
struct catalog_challenge {
	const char		*name;
	const char		*hosts[2];	/* MX hosts by preference; [1] may be NULL */
	enum mx_family		 family;
	unsigned		 flags;
	const char		*meaning;	/* what delivery means */
};

const struct catalog_host	*catalog_hosts(size_t *);
const struct catalog_host	*catalog_host(const char *);
const struct catalog_challenge	*catalog_challenges(size_t *);
const struct catalog_challenge	*catalog_challenge(const char *);

/*
 * The MX host name of challenge CH for its IDX-th host (0 or 1):
 * mx.<challenge>.<base> and mx2.<challenge>.<base>.  0, or -1 if BUF is
 * too short or there is no such host.
 */
int	catalog_mx_name(const struct catalog_challenge *ch, int idx,
	    const char *base, char *buf, size_t len);

/*
 * The connections one address set can open at once from one sender: one
 * to every MX of every challenge.  The default of max_per_ip is sized
 * from it (issue 12: a limit below it refused real senders).
 */
unsigned	catalog_set_connections(void);

struct challenge_rec;

/*
 * The rows of the challenges table: every challenge of the catalogue,
 * its DNS flags as text and the addresses of its own CFG gives it.  An
 * array of *N to free with catalog_challenge_rows_free(), or NULL.
 */
struct challenge_rec	*catalog_challenge_rows(const struct config *cfg,
			    size_t *n);
void		 catalog_challenge_rows_free(struct challenge_rec *, size_t n);

#endif /* MAILSCOPE_CATALOG_H */
