/*
 * mailscope zones: the DNS of the challenge catalogue as zone files.
 * The base zone holds most challenges; the *-dns6, *-bogus and *-insecure
 * challenges get child zones of their own, and dns.<base> is delegated to
 * mailscoped's responder.  DNSSEC (RFC 4033-4035) with ldns: KSK and ZSK,
 * ECDSA P-256 (RFC 6605), NSEC.  TLSA 3 1 1 (RFC 7671 5.1), MTA-STS TXT
 * and policies (RFC 8461 3.1, 3.2), TLS-RPT TXT (RFC 8460 3).  Runs in
 * the command-line tool only: key generation and signing block.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "catalog.h"
#include "config.h"
#include "fileout.h"
#include "mtasts.h"
#include "netaddr.h"
#include "zones.h"

#define ZONES_NAME_MAX	256	/* a DNS name as text, with its NUL */
#define DNS_NAME_MAX	253	/* RFC 1035 2.3.4, without the final dot */
#define SOA_REFRESH	3600
#define SOA_RETRY	900
#define SOA_EXPIRE	1209600	/* two weeks */
#define SOA_MINIMUM	300	/* negative answers cached 5 min (RFC 2308) */
#define SIG_BACKDATE	3600	/* inception: room for validators' clocks */
#define KEY_ALGORITHM	LDNS_SIGN_ECDSAP256SHA256
#define KEY_BITS	256
#define KEY_FLAGS_KSK	257	/* RFC 4034 2.1.1: zone key, SEP */
#define KEY_FLAGS_ZSK	256	/* zone key */
#define TLSA_LEN	32	/* SHA-256 */
#define TLSRPT_LOCAL	"tlsrpt"	/* rua=mailto:tlsrpt@<base> */

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

/* One zone of the run.  Owns its keys and records. */
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
	struct ns_conf		 defns;		/* owned: ns when not set */
	struct ns_conf		 defns6;	/* owned: ns6 when not set */
	char			*skip;		/* per challenge: left out */
	struct zone		*zones;		/* [0] is the base zone */
	size_t			 nzones;
	int			 nerrors;
};

static void	zerror(struct zrun *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	zwarn(struct zrun *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	zname(struct zrun *, char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	zpath(struct zrun *, char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	rr(FILE *, const char *, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static void
zerror(struct zrun *r, const char *fmt, ...)
{
	va_list ap;

	fputs("zones: error: ", r->errs);
	va_start(ap, fmt);
	vfprintf(r->errs, fmt, ap);
	va_end(ap);
	fputc('\n', r->errs);
	r->nerrors++;
}

static void
zwarn(struct zrun *r, const char *fmt, ...)
{
	va_list ap;

	fputs("zones: warning: ", r->errs);
	va_start(ap, fmt);
	vfprintf(r->errs, fmt, ap);
	va_end(ap);
	fputc('\n', r->errs);
}

/* A DNS name into BUF (ZONES_NAME_MAX); -1 if too long (reported). */
static int
zname(struct zrun *r, char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, ZONES_NAME_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n > DNS_NAME_MAX) {
		zerror(r, "name too long (more than %d bytes) under %s",
		    DNS_NAME_MAX, r->base);
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* A path into BUF (PATH_MAX); -1 if too long (reported). */
static int
zpath(struct zrun *r, char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		zerror(r, "%s: path too long", r->dir);
		return -1;
	}
	return 0;
}

/* One record, names absolute: "OWNER. IN TYPE RDATA". */
static void
rr(FILE *fp, const char *owner, const char *type, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = fprintf(fp, "%s.", owner);
	fprintf(fp, "%*s IN %-5s ", n < 40 ? 40 - n : 0, "", type);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
}

/* NAME is DOMAIN or below it. */
static int
in_domain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strcasecmp(name + n - d, domain) == 0;
}

/*
 * DATA (LEN bytes) as PATH with MODE, atomically (fileout.c): a name
 * server never reads half a zone.  0 or -1 (reported).
 */
static int
write_file(struct zrun *r, const char *path, mode_t mode, const char *data,
    size_t len)
{
	char err[2 * PATH_MAX + 128];

	if (fileout_write_data(path, mode, data, len, err, sizeof(err)) ==
	    -1) {
		zerror(r, "%s", err);
		return -1;
	}
	return 0;
}

/* PATH as a directory with MODE if it is missing.  0 or -1 (reported). */
static int
make_dir(struct zrun *r, const char *path, mode_t mode)
{
	char err[PATH_MAX + 128];

	if (fileout_mkdir(path, mode, err, sizeof(err)) == -1) {
		zerror(r, "%s", err);
		return -1;
	}
	return 0;
}

static int
is_unspecified(const struct listen_addr *la)
{
	return netaddr_is_unspecified((const struct sockaddr *)&la->ss);
}

/* The address of LA without its port, as text. */
static int
addr_text(const struct listen_addr *la, char buf[INET6_ADDRSTRLEN])
{
	return netaddr_text((const struct sockaddr *)&la->ss, buf,
	    INET6_ADDRSTRLEN, NULL, NULL);
}

/* Whether LA[I] has the address of one of LA[0..I-1] (ports aside). */
static int
seen_before(const struct listen_addr *la, size_t i)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t j;

	if (addr_text(&la[i], a) == -1)
		return 0;
	for (j = 0; j < i; j++)
		if (la[j].ss.ss_family == la[i].ss.ss_family &&
		    addr_text(&la[j], b) == 0 && strcmp(a, b) == 0)
			return 1;
	return 0;
}

/*
 * The A and AAAA records of OWNER: the addresses of LA (N of them), each
 * once, ports dropped, of family WANT (AF_INET, AF_INET6 or AF_UNSPEC
 * for both); WHAT names their source in messages.  Counts what was
 * written per family in N4 and N6.  -1 on a wildcard address (reported).
 */
static int
emit_addrs(struct zrun *r, FILE *fp, const char *owner,
    const struct listen_addr *la, size_t n, int want, const char *what,
    int *n4, int *n6)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;
	int fam;

	for (i = 0; i < n; i++) {
		fam = la[i].ss.ss_family;
		if (want != AF_UNSPEC && fam != want)
			continue;
		if (is_unspecified(&la[i])) {
			zerror(r, "%s: listen address %s is a wildcard and "
			    "cannot be published for %s: list the numeric "
			    "addresses", what, la[i].text, owner);
			return -1;
		}
		if (seen_before(la, i) || addr_text(&la[i], text) == -1)
			continue;
		rr(fp, owner, fam == AF_INET ? "A" : "AAAA", "%s", text);
		if (fam == AF_INET)
			(*n4)++;
		else
			(*n6)++;
	}
	return 0;
}

/* --- name servers ------------------------------------------------------ */

/*
 * NS as a default server NAME with the addresses of LA (N of them) of
 * family WANT (AF_UNSPEC: both), ports dropped, each once.  -1: no memory.
 */
static int
ns_default(struct ns_conf *ns, const char *name, const struct listen_addr *la,
    size_t n, int want)
{
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t i;

	if ((ns->name = strdup(name)) == NULL ||
	    (n > 0 && (ns->addr = calloc(n, sizeof(*ns->addr))) == NULL))
		return -1;
	for (i = 0; i < n; i++) {
		if ((want != AF_UNSPEC && la[i].ss.ss_family != want) ||
		    seen_before(la, i) || is_unspecified(&la[i]))
			continue;
		ns->addr[ns->naddr] = la[i];
		if (la[i].ss.ss_family == AF_INET) {
			sin = (struct sockaddr_in *)&ns->addr[ns->naddr].ss;
			sin->sin_port = 0;
		} else {
			sin6 = (struct sockaddr_in6 *)&ns->addr[ns->naddr].ss;
			sin6->sin6_port = 0;
		}
		if (addr_text(&ns->addr[ns->naddr], ns->addr[ns->naddr].text)
		    == 0)
			ns->naddr++;
	}
	return 0;
}

/* Whether one of LA (N of them) is on port 53. */
static int
on_port_53(const struct listen_addr *la, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((la[i].ss.ss_family == AF_INET &&
		    ((const struct sockaddr_in *)&la[i].ss)->sin_port ==
		    htons(53)) || (la[i].ss.ss_family == AF_INET6 &&
		    ((const struct sockaddr_in6 *)&la[i].ss)->sin6_port ==
		    htons(53)))
			return 1;
	return 0;
}

/* An address of both A and B into TEXT: 0, else -1. */
static int
shared_addr(const struct ns_conf *a, const struct ns_conf *b,
    char text[INET6_ADDRSTRLEN])
{
	char other[INET6_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < a->naddr; i++)
		for (j = 0; j < b->naddr; j++)
			if (addr_text(&a->addr[i], text) == 0 &&
			    addr_text(&b->addr[j], other) == 0 &&
			    strcmp(text, other) == 0)
				return 0;
	return -1;
}

/*
 * The name servers: [zones] ns, else ns1.<base> at the IPv4 addresses of
 * [dns] (or of the open host); [zones] ns6, else ns6.<base> at their
 * IPv6 addresses: the loopback demo has one NSD on 127.0.0.1 and one on
 * ::1.  No address may be in both sets: a server that answered for the
 * *-dns6 zones on an address of the base zone's servers would let an
 * IPv4-only resolver through.  Names must stay out of the child zones
 * (no glue is written for them) and, in the base zone, have addresses.
 */
static int
zones_ns(struct zrun *r)
{
	const struct config *cfg = r->cfg;
	const struct host_conf *open = config_host(cfg, "open");
	const struct listen_addr *la = NULL;
	const struct ns_set *sets[2] = { &r->ns, &r->ns6 };
	const struct ns_conf *a, *b;
	char name[ZONES_NAME_MAX], text[INET6_ADDRSTRLEN];
	size_t i, j, k, n = 0;

	if (cfg->dns.present) {
		la = cfg->dns.listen;
		n = cfg->dns.nlisten;
		if ((cfg->zones.nns == 0 || cfg->zones.nns6 == 0) &&
		    on_port_53(la, n))
			zwarn(r, "the default name servers are at the [dns] "
			    "addresses, where mailscoped answers on port 53: "
			    "set [zones] ns and ns6");
	} else if (open != NULL) {
		la = open->listen;
		n = open->nlisten;
	}
	if (cfg->zones.nns > 0) {
		r->ns.ns = cfg->zones.ns;
		r->ns.n = cfg->zones.nns;
	} else {
		if (zname(r, name, "ns1.%s", r->base) == -1)
			return -1;
		if (ns_default(&r->defns, name, la, n, AF_INET) == -1) {
			zerror(r, "out of memory");
			return -1;
		}
		if (r->defns.naddr == 0) {
			zerror(r, "no IPv4 address for the name server %s: "
			    "set [zones] ns", name);
			return -1;
		}
		r->ns.ns = &r->defns;
		r->ns.n = 1;
	}
	if (cfg->zones.nns6 > 0) {
		r->ns6.ns = cfg->zones.ns6;
		r->ns6.n = cfg->zones.nns6;
	} else {
		if (zname(r, name, "ns6.%s", r->base) == -1)
			return -1;
		if (ns_default(&r->defns6, name, la, n, AF_INET6) == -1) {
			zerror(r, "out of memory");
			return -1;
		}
		if (r->defns6.naddr == 0) {
			zerror(r, "no IPv6 address for the name server %s of "
			    "the *-dns6 challenges: set [zones] ns6", name);
			return -1;
		}
		r->ns6.ns = &r->defns6;
		r->ns6.n = 1;
	}

	for (k = 0; k < 2; k++)
		for (i = 0; i < sets[k]->n; i++) {
			a = &sets[k]->ns[i];
			if (in_domain(a->name, r->base) && a->naddr == 0)
				zerror(r, "name server %s is in %s but has no "
				    "address: list its addresses in [zones] "
				    "%s", a->name, r->base,
				    k == 0 ? "ns" : "ns6");
			if (k == 0)
				continue;
			for (j = 0; j < r->ns.n; j++) {
				b = &r->ns.ns[j];
				if (strcasecmp(a->name, b->name) == 0)
					zerror(r, "name server %s is in both "
					    "ns and ns6: an IPv6-only server "
					    "needs a name of its own", a->name);
				if (shared_addr(a, b, text) == 0)
					zerror(r, "address %s is in both ns "
					    "(%s) and ns6 (%s): the *-dns6 "
					    "zones need addresses of their "
					    "own", text, b->name, a->name);
			}
		}
	return r->nerrors > 0 ? -1 : 0;
}

/* --- the plan: which challenge goes where ------------------------------ */

/*
 * Where challenge CH lives.  The zone cuts follow what each challenge
 * measures: a resolver meets the IPv6-only name servers, a broken chain
 * of trust or a missing DS only at a delegation, so those challenges are
 * child zones.  Everything else shares the signed base zone.
 */
static int
child_kind(const struct catalog_challenge *ch, enum zone_kind *kind)
{
	if (ch->flags & CH_DELEGATED)
		return 0;	/* to mailscoped: no zone file of ours */
	if (ch->flags & CH_BOGUS)
		*kind = ZONE_BOGUS;
	else if (ch->flags & CH_UNSIGNED)
		*kind = ZONE_UNSIGNED;
	else if (ch->flags & CH_DNS6)
		*kind = (ch->flags & CH_SIGNED) ? ZONE_SIGNED : ZONE_UNSIGNED;
	else
		return 0;
	return 1;
}

/* The child zone of CH, or NULL. */
static const struct zone *
zone_of(const struct zrun *r, const struct catalog_challenge *ch)
{
	size_t i;

	for (i = 1; i < r->nzones; i++)
		if (r->zones[i].ch == ch)
			return &r->zones[i];
	return NULL;
}

static int
zones_plan(struct zrun *r)
{
	const struct catalog_challenge *chs;
	const struct ns_set *sets[2] = { &r->ns, &r->ns6 };
	enum zone_kind kind;
	struct zone *z;
	char dom[ZONES_NAME_MAX];
	size_t i, j, k, n;

	chs = catalog_challenges(&n);
	if ((r->skip = calloc(n, 1)) == NULL ||
	    (r->zones = calloc(n + 1, sizeof(*r->zones))) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	z = &r->zones[r->nzones++];
	snprintf(z->name, sizeof(z->name), "%s", r->base);
	z->kind = ZONE_BASE;
	z->ns = &r->ns;
	for (i = 0; i < n; i++) {
		for (j = 0; j < 2; j++)
			if (chs[i].hosts[j] != NULL &&
			    config_host(r->cfg, chs[i].hosts[j]) == NULL) {
				zwarn(r, "no [host %s]: challenge %s is left "
				    "out of the zones", chs[i].hosts[j],
				    chs[i].name);
				r->skip[i] = 1;
			}
		if (r->skip[i] || !child_kind(&chs[i], &kind))
			continue;
		z = &r->zones[r->nzones++];
		if (zname(r, z->name, "%s.%s", chs[i].name, r->base) == -1)
			return -1;
		z->ch = &chs[i];
		z->kind = kind;
		z->ns = (chs[i].flags & CH_DNS6) ? &r->ns6 : &r->ns;
	}
	/* a name server inside a delegated zone would need glue there */
	for (j = 0; j < n; j++) {
		if (!(chs[j].flags & CH_DELEGATED) &&
		    !child_kind(&chs[j], &kind))
			continue;
		if (zname(r, dom, "%s.%s", chs[j].name, r->base) == -1)
			return -1;
		for (k = 0; k < 2; k++)
			for (i = 0; i < sets[k]->n; i++)
				if (in_domain(sets[k]->ns[i].name, dom))
					zerror(r, "name server %s is inside "
					    "the delegated zone %s: choose a "
					    "name outside it",
					    sets[k]->ns[i].name, dom);
	}
	return r->nerrors > 0 ? -1 : 0;
}

/* --- keys, serials, DS ------------------------------------------------- */

/*
 * The serial after the one of the zone file at PATH: YYYYMMDD00 of today
 * (UTC), or one more than the old serial if that is not lower (RFC 1982
 * sequence space; a zone re-signed every day a hundred times still goes
 * up).
 */
static uint32_t
next_serial(struct zrun *r, const char *path, const char *zone)
{
	ldns_zone *z = NULL;
	ldns_rdf *origin;
	ldns_status st;
	struct tm tm;
	uint64_t today;
	uint32_t prev = 0;
	FILE *fp;
	int line = 0;

	gmtime_r(&r->now, &tm);
	today = ((uint64_t)(tm.tm_year + 1900) * 10000 +
	    (uint64_t)(tm.tm_mon + 1) * 100 + (uint64_t)tm.tm_mday) * 100;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			zwarn(r, "%s: %s: the serial starts again from today's",
			    path, strerror(errno));
		return (uint32_t)today;
	}
	if ((origin = ldns_dname_new_frm_str(zone)) == NULL) {
		fclose(fp);
		return (uint32_t)today;
	}
	st = ldns_zone_new_frm_fp_l(&z, fp, origin, r->ttl, LDNS_RR_CLASS_IN,
	    &line);
	fclose(fp);
	ldns_rdf_deep_free(origin);
	if (st == LDNS_STATUS_OK && ldns_zone_soa(z) != NULL &&
	    ldns_rr_rd_count(ldns_zone_soa(z)) > 2)
		prev = ldns_rdf2native_int32(ldns_rr_rdf(ldns_zone_soa(z), 2));
	else
		zwarn(r, "%s:%d: cannot read its serial (%s): the serial "
		    "starts again from today's", path, line,
		    ldns_get_errorstr_by_id(st));
	if (z != NULL)
		ldns_zone_deep_free(z);
	if (prev >= today && prev < UINT32_MAX)
		return prev + 1;
	return (uint32_t)today;
}

/*
 * The key ROLE ("ksk" or "zsk") of zone Z: KEYS/<zone>.<role>.private,
 * read if it is there, else generated and written (0600), so that DS and
 * DNSKEY stay the same from run to run.  The DNSKEY goes to <role>.key.
 */
static int
zone_key(struct zrun *r, struct zone *z, const char *role, uint16_t flags,
    ldns_key **kp, ldns_rr **rrp)
{
	char priv[PATH_MAX], pub[PATH_MAX], *text;
	ldns_key *k = NULL;
	ldns_rdf *owner;
	ldns_status st;
	ldns_rr *key_rr;
	FILE *fp;
	int line = 0, rc;

	if (zpath(r, priv, "%s/%s.%s.private", r->keys, z->name, role) ==
	    -1 || zpath(r, pub, "%s/%s.%s.key", r->keys, z->name, role) == -1)
		return -1;
	if ((fp = fopen(priv, "r")) != NULL) {
		st = ldns_key_new_frm_fp_l(&k, fp, &line);
		fclose(fp);
		if (st != LDNS_STATUS_OK) {
			zerror(r, "%s:%d: cannot read the key: %s", priv, line,
			    ldns_get_errorstr_by_id(st));
			return -1;
		}
	} else if (errno != ENOENT) {
		zerror(r, "%s: cannot read: %s", priv, strerror(errno));
		return -1;
	} else {
		if ((k = ldns_key_new_frm_algorithm(KEY_ALGORITHM, KEY_BITS))
		    == NULL) {
			zerror(r, "%s: cannot generate an ECDSA P-256 key",
			    z->name);
			return -1;
		}
		if ((text = ldns_key2str(k)) == NULL) {
			zerror(r, "%s: cannot convert the new key", z->name);
			ldns_key_deep_free(k);
			return -1;
		}
		rc = write_file(r, priv, 0600, text, strlen(text));
		free(text);
		if (rc == -1) {
			ldns_key_deep_free(k);
			return -1;
		}
	}
	ldns_key_set_flags(k, flags);
	if ((owner = ldns_dname_new_frm_str(z->name)) == NULL) {
		ldns_key_deep_free(k);
		zerror(r, "out of memory");
		return -1;
	}
	if (ldns_key_pubkey_owner(k) != NULL)
		ldns_rdf_deep_free(ldns_key_pubkey_owner(k));
	ldns_key_set_pubkey_owner(k, owner);
	if ((key_rr = ldns_key2rr(k)) == NULL) {
		ldns_key_deep_free(k);
		zerror(r, "%s: cannot make the DNSKEY record", priv);
		return -1;
	}
	ldns_rr_set_ttl(key_rr, r->ttl);
	/* the key tag of the RRSIGs it makes (RFC 4034 appendix B) */
	ldns_key_set_keytag(k, ldns_calc_keytag(key_rr));
	ldns_key_set_inception(k, (uint32_t)(r->now - SIG_BACKDATE));
	ldns_key_set_expiration(k, (uint32_t)r->now + r->validity);
	*kp = k;
	*rrp = key_rr;
	if ((text = ldns_rr2str(key_rr)) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	rc = write_file(r, pub, 0644, text, strlen(text));
	free(text);
	return rc;
}

/*
 * Keys and DS of a signed zone.  The DS of a bogus child has every bit of
 * its digest flipped: the key tag and algorithm still point at its KSK,
 * the digest matches nothing, so a validator finds no DNSKEY that the DS
 * authenticates and the whole child is bogus (RFC 4035 5.2).
 */
static int
zone_keys(struct zrun *r, struct zone *z)
{
	ldns_rdf *digest;
	uint8_t *d;
	size_t i;

	if (z->kind == ZONE_UNSIGNED)
		return 0;
	if (zone_key(r, z, "ksk", KEY_FLAGS_KSK, &z->ksk, &z->ksk_rr) == -1 ||
	    zone_key(r, z, "zsk", KEY_FLAGS_ZSK, &z->zsk, &z->zsk_rr) == -1)
		return -1;
	if ((z->ds = ldns_key_rr2ds(z->ksk_rr, LDNS_SHA256)) == NULL) {
		zerror(r, "%s: cannot compute the DS", z->name);
		return -1;
	}
	ldns_rr_set_ttl(z->ds, r->ttl);
	if (z->kind == ZONE_BOGUS) {
		digest = ldns_rr_rdf(z->ds, 3);
		d = ldns_rdf_data(digest);
		for (i = 0; i < ldns_rdf_size(digest); i++)
			d[i] = (uint8_t)~d[i];
	}
	return 0;
}

/* --- records ----------------------------------------------------------- */

/*
 * Drains the OpenSSL error queue into BUF as ": reason: reason" (as
 * certs.c does), so that the message says why and no stale error is
 * blamed on a later call.  BUF is "" when the queue was empty.
 */
static void
ssl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (o + 3 >= len)
			continue;	/* drained all the same */
		buf[o++] = ':';
		buf[o++] = ' ';
		ERR_error_string_n(e, buf + o, len - o);
		o += strlen(buf + o);
	}
}

/*
 * SHA-256 of the SubjectPublicKeyInfo of the first certificate in PATH:
 * TLSA selector 1, matching type 1 (RFC 6698 2.1.2, 2.1.3).
 */
static int
spki_sha256(struct zrun *r, const char *path, unsigned char md[TLSA_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	char why[512];
	X509 *x;
	FILE *fp;
	int len, ok;

	if ((fp = fopen(path, "r")) == NULL) {
		zerror(r, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	ERR_clear_error();
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		ssl_errors(why, sizeof(why));
		zerror(r, "%s: no PEM certificate%s", path, why);
		return -1;
	}
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == TLSA_LEN;
	OPENSSL_free(der);
	X509_free(x);
	if (!ok) {
		ssl_errors(why, sizeof(why));
		zerror(r, "%s: cannot hash its public key%s", path, why);
		return -1;
	}
	return 0;
}

/*
 * TLSA 3 1 1 at OWNER for every certificate of host H (DANE-EE, SPKI,
 * SHA-256: RFC 7671 5.1, the form RFC 7672 3.1.1 recommends for SMTP).
 * BAD: every bit of each digest flipped, so that none matches the key
 * the host presents, and stays the same from run to run.
 */
static int
emit_tlsa(struct zrun *r, FILE *fp, const char *owner,
    const struct host_conf *h, int bad)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[TLSA_LEN];
	char path[PATH_MAX], text[2 * TLSA_LEN + 1];
	const char *s, *t;
	size_t i, len;

	if (h->certificate == NULL) {
		zerror(r, "host %s has no certificate: no TLSA record for %s",
		    h->name, owner);
		return -1;
	}
	for (s = h->certificate; *s != '\0'; s = t) {
		while (*s == ' ' || *s == '\t')
			s++;
		for (t = s; *t != '\0' && *t != ' ' && *t != '\t'; t++)
			;
		if ((len = (size_t)(t - s)) == 0)
			continue;
		if (len >= sizeof(path)) {
			zerror(r, "host %s: certificate path too long",
			    h->name);
			return -1;
		}
		memcpy(path, s, len);
		path[len] = '\0';
		if (spki_sha256(r, path, md) == -1)
			return -1;
		for (i = 0; i < TLSA_LEN; i++) {
			if (bad)
				md[i] = (unsigned char)~md[i];
			text[2 * i] = hex[md[i] >> 4];
			text[2 * i + 1] = hex[md[i] & 0xf];
		}
		text[2 * TLSA_LEN] = '\0';
		fprintf(fp, "; SHA-256 of the public key of %s%s\n", path,
		    bad ? ", inverted:\n; it matches no key" : "");
		rr(fp, owner, "TLSA", "3 1 1 %s", text);
	}
	return 0;
}

/*
 * A and AAAA of MX name MX (the IDX-th host of CH) by the challenge's MX
 * family, from the host's listen addresses.
 */
static int
emit_mx_addrs(struct zrun *r, FILE *fp, const struct catalog_challenge *ch,
    const struct host_conf *h, const char *mx)
{
	char what[128];
	int n4 = 0, n6 = 0, want;

	want = ch->family == MX_A ? AF_INET : ch->family == MX_AAAA ?
	    AF_INET6 : AF_UNSPEC;
	snprintf(what, sizeof(what), "[host %s]", h->name);
	if (emit_addrs(r, fp, mx, h->listen, h->nlisten, want, what, &n4,
	    &n6) == -1)
		return -1;
	if (ch->family == MX_A && n4 == 0)
		zerror(r, "challenge %s: [host %s] has no IPv4 listen address "
		    "for %s (an A-only MX)", ch->name, h->name, mx);
	else if (ch->family == MX_AAAA && n6 == 0)
		zerror(r, "challenge %s: [host %s] has no IPv6 listen address "
		    "for %s (an AAAA-only MX)", ch->name, h->name, mx);
	else if (ch->family == MX_DUAL && n4 + n6 == 0)
		zerror(r, "challenge %s: [host %s] has no listen address for "
		    "%s", ch->name, h->name, mx);
	else if (ch->family == MX_DUAL && (n4 == 0 || n6 == 0))
		zwarn(r, "challenge %s: [host %s] has no IPv%d listen address: "
		    "%s gets no %s record", ch->name, h->name, n4 == 0 ? 4 : 6,
		    mx, n4 == 0 ? "A" : "AAAA");
	return 0;
}

/*
 * Everything of challenge CH below its domain C.<base>: MX (wildcard too
 * for the per-test ones), the MX hosts' addresses, TLSA, MTA-STS, TLS-RPT.
 */
static int
emit_challenge(struct zrun *r, FILE *fp, const struct catalog_challenge *ch)
{
	static const char *const families[] = {
		[MX_A] = "A only", [MX_AAAA] = "AAAA only", [MX_DUAL] = "dual"
	};
	const struct host_conf *h;
	char dom[ZONES_NAME_MAX], wild[ZONES_NAME_MAX], mx[ZONES_NAME_MAX];
	char owner[ZONES_NAME_MAX], id[MTASTS_ID_LEN + 1];
	int i, n4 = 0, n6 = 0;

	if (zname(r, dom, "%s.%s", ch->name, r->base) == -1 ||
	    zname(r, wild, "*.%s", dom) == -1)
		return -1;
	fprintf(fp, "\n; %s: %s\n; MX %s on [host %s]%s%s, MX family %s\n",
	    ch->name, ch->meaning, ch->hosts[1] != NULL ? "hosts" : "host",
	    ch->hosts[0], ch->hosts[1] != NULL ? ", then " : "",
	    ch->hosts[1] != NULL ? ch->hosts[1] : "", families[ch->family]);
	for (i = 0; i < 2; i++) {
		if (catalog_mx_name(ch, i, r->base, mx, sizeof(mx)) == -1)
			continue;
		rr(fp, dom, "MX", "%d %s.", i == 0 ? 10 : 20, mx);
		/* per test: <testid>.C.<base> (RFC 4592 wildcard) */
		if (ch->flags & CH_PER_TEST)
			rr(fp, wild, "MX", "%d %s.", i == 0 ? 10 : 20, mx);
	}
	/* RFC 8460 3; for <testid>.C the wildcard answers _smtp._tls too */
	if (zname(r, owner, "_smtp._tls.%s", dom) == -1)
		return -1;
	rr(fp, owner, "TXT", "\"v=TLSRPTv1; rua=mailto:" TLSRPT_LOCAL "@%s\"",
	    r->base);
	if (ch->flags & CH_PER_TEST)
		rr(fp, wild, "TXT", "\"v=TLSRPTv1; rua=mailto:" TLSRPT_LOCAL
		    "@%s\"", r->base);
	if (mtasts_has_policy(ch)) {
		if (mtasts_policy_id(ch, r->base, id) == -1) {
			zerror(r, "challenge %s: no MTA-STS policy id",
			    ch->name);
			return -1;
		}
		if (zname(r, owner, "_mta-sts.%s", dom) == -1)
			return -1;
		rr(fp, owner, "TXT", "\"v=STSv1; id=%s\"", id);
		if (zname(r, owner, "mta-sts.%s", dom) == -1)
			return -1;
		if (!r->cfg->web.present) {
			zerror(r, "challenge %s publishes an MTA-STS policy: "
			    "[web] is needed to serve it", ch->name);
			return -1;
		}
		if (emit_addrs(r, fp, owner, r->cfg->web.listen,
		    r->cfg->web.nlisten, AF_UNSPEC, "[web]", &n4, &n6) == -1)
			return -1;
	}
	for (i = 0; i < 2; i++) {
		if (catalog_mx_name(ch, i, r->base, mx, sizeof(mx)) == -1)
			continue;
		if ((h = config_host(r->cfg, ch->hosts[i])) == NULL)
			continue;	/* the challenge is skipped */
		if (emit_mx_addrs(r, fp, ch, h, mx) == -1)
			return -1;
		if (!(ch->flags & (CH_TLSA_OK | CH_TLSA_BAD)))
			continue;
		/* RFC 7672 2.2.3: the TLSA base domain is the MX host */
		if (zname(r, owner, "_25._tcp.%s", mx) == -1 ||
		    emit_tlsa(r, fp, owner, h, (ch->flags & CH_TLSA_BAD) != 0)
		    == -1)
			return -1;
	}
	return 0;
}

/*
 * The SOA's RNAME (RFC 1035 3.3.13, 8): LOCAL@DOMAIN as LOCAL.DOMAIN.,
 * dots in LOCAL escaped, into BUF.  config.c checked the mailbox; still
 * -1 without an '@' or when it does not fit.
 */
static int
rname_text(const char *mailbox, char *buf, size_t len)
{
	const char *at = strchr(mailbox, '@'), *s;
	size_t o = 0;
	int n;

	if (at == NULL || at == mailbox || at[1] == '\0' || len == 0)
		return -1;
	for (s = mailbox; s < at; s++) {
		if (o + 2 >= len)
			return -1;
		if (*s == '.')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	n = snprintf(buf + o, len - o, ".%s.", at + 1);
	if (n < 0 || (size_t)n >= len - o)
		return -1;
	return 0;
}

/* Header, SOA and NS of zone Z.  0, or -1 (reported). */
static int
emit_apex(struct zrun *r, FILE *fp, const struct zone *z)
{
	static const char *const what[] = {
		[ZONE_BASE] = "the base zone, signed; every challenge without "
		    "a zone of its own",
		[ZONE_SIGNED] = "a child zone, signed, with its DS in the base "
		    "zone",
		[ZONE_BOGUS] = "a child zone, signed, but its DS in the base "
		    "zone matches none\n; of its keys: DNSSEC validation fails "
		    "(bogus)",
		[ZONE_UNSIGNED] = "a child zone, unsigned, without DS in the "
		    "base zone: insecure",
	};
	char mailbox[ZONES_NAME_MAX + 16], rname[2 * ZONES_NAME_MAX];
	size_t i;
	int n;

	fprintf(fp, "; %s:\n; %s.\n", z->name, what[z->kind]);
	if (z->ns == &r->ns6)
		fputs("; Its name servers have IPv6 addresses only.\n", fp);
	fputs("; Written by mailscope zones; edits are lost when it runs "
	    "again.\n", fp);
	fprintf(fp, "$ORIGIN %s.\n$TTL %u\n\n", z->name, r->ttl);
	if (r->cfg->zones.soa_email != NULL)
		n = snprintf(mailbox, sizeof(mailbox), "%s",
		    r->cfg->zones.soa_email);
	else
		n = snprintf(mailbox, sizeof(mailbox), "hostmaster@%s",
		    r->base);
	if (n < 0 || (size_t)n >= sizeof(mailbox) ||
	    rname_text(mailbox, rname, sizeof(rname)) == -1) {
		zerror(r, "soa_email %s: not a mailbox that fits an SOA RNAME",
		    mailbox);
		return -1;
	}
	fprintf(fp, "%s. IN SOA %s. %s", z->name, z->ns->ns[0].name, rname);
	fprintf(fp, " (\n\t%u\t; serial\n\t%d\t; refresh\n\t%d\t; retry\n"
	    "\t%d\t; expire\n\t%d )\t; negative answers\n", z->serial,
	    SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM);
	for (i = 0; i < z->ns->n; i++)
		rr(fp, z->name, "NS", "%s.", z->ns->ns[i].name);
	return 0;
}

/* The addresses of the name servers whose names are in the base zone. */
static int
emit_ns_addrs(struct zrun *r, FILE *fp)
{
	const struct ns_set *sets[2] = { &r->ns, &r->ns6 };
	const struct ns_conf *ns;
	size_t i, k;
	int n4 = 0, n6 = 0;

	for (k = 0; k < 2; k++)
		for (i = 0; i < sets[k]->n; i++) {
			ns = &sets[k]->ns[i];
			if (!in_domain(ns->name, r->base))
				continue;
			if (k == 1)
				fprintf(fp, "; IPv6 only: the name server of "
				    "the *-dns6 challenges\n");
			if (emit_addrs(r, fp, ns->name, ns->addr, ns->naddr,
			    AF_UNSPEC, k == 0 ? "[zones] ns" : "[zones] ns6",
			    &n4, &n6) == -1)
				return -1;
		}
	return 0;
}

/* Whether NAME gets addresses elsewhere in the base zone. */
static int
has_addrs(const struct zrun *r, const char *name)
{
	const struct catalog_challenge *chs;
	const struct ns_set *sets[2] = { &r->ns, &r->ns6 };
	char mx[ZONES_NAME_MAX];
	size_t i, k, n;
	int j;

	for (k = 0; k < 2; k++)
		for (i = 0; i < sets[k]->n; i++)
			if (strcasecmp(sets[k]->ns[i].name, name) == 0)
				return 1;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		for (j = 0; j < 2; j++)
			if (!r->skip[i] &&
			    catalog_mx_name(&chs[i], j, r->base, mx,
			    sizeof(mx)) == 0 && strcasecmp(mx, name) == 0)
				return 1;
	return 0;
}

/*
 * The base zone's own mail: TLS-RPT reports go to tlsrpt@<base>, so the
 * base domain's MX is the greeting name, which (when it is in the base
 * zone) has the addresses of the open host: it accepts every sender.
 */
static int
emit_base_mail(struct zrun *r, FILE *fp)
{
	const struct host_conf *open = config_host(r->cfg, "open");
	const char *hn = r->cfg->hostname;
	size_t i;
	int n4 = 0, n6 = 0;

	fprintf(fp, "\n; TLS-RPT reports to " TLSRPT_LOCAL "@%s arrive at the "
	    "greeting name\n", r->base);
	rr(fp, r->base, "MX", "10 %s.", hn);
	if (!in_domain(hn, r->base) || has_addrs(r, hn))
		return 0;
	for (i = 1; i < r->nzones; i++)
		if (in_domain(hn, r->zones[i].name))
			return 0;	/* that zone's business */
	if (open == NULL) {
		zwarn(r, "no [host open]: %s gets no address", hn);
		return 0;
	}
	return emit_addrs(r, fp, hn, open->listen, open->nlisten, AF_UNSPEC,
	    "[host open]", &n4, &n6);
}

/* The DS of child Z as a record of the base zone. */
static void
emit_ds(FILE *fp, const struct zone *z)
{
	static const char hex[] = "0123456789abcdef";
	const ldns_rdf *digest = ldns_rr_rdf(z->ds, 3);
	const uint8_t *d = ldns_rdf_data(digest);
	size_t i;
	int n;

	n = fprintf(fp, "%s.", z->name);
	fprintf(fp, "%*s IN %-5s %u %u %u ", n < 40 ? 40 - n : 0, "", "DS",
	    (unsigned)ldns_rdf2native_int16(ldns_rr_rdf(z->ds, 0)),
	    (unsigned)ldns_rdf2native_int8(ldns_rr_rdf(z->ds, 1)),
	    (unsigned)ldns_rdf2native_int8(ldns_rr_rdf(z->ds, 2)));
	for (i = 0; i < ldns_rdf_size(digest); i++) {
		fputc(hex[d[i] >> 4], fp);
		fputc(hex[d[i] & 0xf], fp);
	}
	fputc('\n', fp);
}

/* The delegation of child zone Z: NS, and DS unless it is insecure. */
static void
emit_delegation(FILE *fp, const struct zone *z)
{
	static const char *const what[] = {
		[ZONE_SIGNED] = "signed child",
		[ZONE_BOGUS] = "signed child; its DS is deliberately wrong "
		    "(digest inverted): bogus",
		[ZONE_UNSIGNED] = "unsigned child, no DS: insecure",
	};
	size_t i;

	fprintf(fp, "\n; %s: %s\n", z->ch->name, what[z->kind]);
	for (i = 0; i < z->ns->n; i++)
		rr(fp, z->name, "NS", "%s.", z->ns->ns[i].name);
	if (z->ds != NULL)
		emit_ds(fp, z);
}

/*
 * dns.<base> (CH_DELEGATED): to mailscoped's own responder at the [dns]
 * listen addresses, as glue.  Unsigned (the responder does not sign),
 * so no DS: the NSEC of the delegation proves it insecure.
 */
static int
emit_dnsd(struct zrun *r, FILE *fp, const struct catalog_challenge *ch)
{
	char dom[ZONES_NAME_MAX], ns[ZONES_NAME_MAX];
	int n4 = 0, n6 = 0;

	if (!r->cfg->dns.present) {
		zwarn(r, "no [dns]: %s.%s is not delegated", ch->name,
		    r->base);
		return 0;
	}
	if (zname(r, dom, "%s.%s", ch->name, r->base) == -1 ||
	    zname(r, ns, "ns.%s", dom) == -1)
		return -1;
	fprintf(fp, "\n; %s: %s\n; per test <testid>.%s: mailscoped's DNS "
	    "responder, unsigned, no DS\n", ch->name, ch->meaning, dom);
	rr(fp, dom, "NS", "%s.", ns);
	return emit_addrs(r, fp, ns, r->cfg->dns.listen, r->cfg->dns.nlisten,
	    AF_UNSPEC, "[dns]", &n4, &n6);
}

/* The unsigned text of zone Z into *TEXT (malloc'd). */
static int
zone_text(struct zrun *r, const struct zone *z, char **text, size_t *len)
{
	const struct catalog_challenge *chs;
	const struct zone *child;
	FILE *fp;
	size_t i, n;
	int rc = 0;

	*text = NULL;
	if ((fp = open_memstream(text, len)) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	if (emit_apex(r, fp, z) == -1)
		rc = -1;
	else if (z->kind != ZONE_BASE)
		rc = emit_challenge(r, fp, z->ch);
	else {
		if (emit_ns_addrs(r, fp) == -1 || emit_base_mail(r, fp) == -1)
			rc = -1;
		chs = catalog_challenges(&n);
		for (i = 0; i < n && rc == 0; i++) {
			if (r->skip[i])
				continue;
			if (chs[i].flags & CH_DELEGATED)
				rc = emit_dnsd(r, fp, &chs[i]);
			else if ((child = zone_of(r, &chs[i])) != NULL)
				emit_delegation(fp, child);
			else
				rc = emit_challenge(r, fp, &chs[i]);
		}
	}
	if (fclose(fp) == EOF) {
		zerror(r, "out of memory");
		rc = -1;
	}
	if (rc == -1) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* --- signing ----------------------------------------------------------- */

/*
 * Zone Z signed: TEXT read back by ldns as a name server would read it,
 * the DNSKEYs added, NSEC and RRSIGs made (the KSK signs the DNSKEY set,
 * the ZSK the rest; glue below the delegations stays unsigned).  The
 * result into *OUT (malloc'd).
 */
static int
zone_sign(struct zrun *r, const struct zone *z, const char *text, size_t len,
    char **out, size_t *outlen)
{
	ldns_dnssec_zone *dz = NULL;
	ldns_rr_list *added = NULL;
	ldns_key_list *keys = NULL;
	ldns_zone *orig = NULL;
	ldns_rdf *origin = NULL;
	ldns_rr *k1 = NULL, *k2 = NULL;
	ldns_status st;
	struct tm tm;
	time_t until;
	FILE *in, *fp;
	size_t i;
	int line = 0, rc = -1;
	char when[32];

	*out = NULL;
	if ((in = fmemopen((void *)(uintptr_t)text, len, "r")) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	if ((origin = ldns_dname_new_frm_str(z->name)) == NULL)
		goto nomem;
	st = ldns_zone_new_frm_fp_l(&orig, in, origin, r->ttl,
	    LDNS_RR_CLASS_IN, &line);
	if (st != LDNS_STATUS_OK) {
		zerror(r, "%s: line %d of the generated zone: %s", z->name,
		    line, ldns_get_errorstr_by_id(st));
		goto out;
	}
	if ((dz = ldns_dnssec_zone_new()) == NULL ||
	    (k1 = ldns_rr_clone(z->ksk_rr)) == NULL ||
	    (k2 = ldns_rr_clone(z->zsk_rr)) == NULL ||
	    (added = ldns_rr_list_new()) == NULL ||
	    (keys = ldns_key_list_new()) == NULL)
		goto nomem;
	/* dz borrows every record: orig, k1, k2 and added own them */
	st = ldns_dnssec_zone_add_rr(dz, ldns_zone_soa(orig));
	for (i = 0; st == LDNS_STATUS_OK &&
	    i < ldns_rr_list_rr_count(ldns_zone_rrs(orig)); i++)
		st = ldns_dnssec_zone_add_rr(dz,
		    ldns_rr_list_rr(ldns_zone_rrs(orig), i));
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_add_rr(dz, k1);
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_add_rr(dz, k2);
	if (st == LDNS_STATUS_OK &&
	    (!ldns_key_list_push_key(keys, z->ksk) ||
	    !ldns_key_list_push_key(keys, z->zsk)))
		st = LDNS_STATUS_MEM_ERR;
	if (st == LDNS_STATUS_OK)
		st = ldns_dnssec_zone_sign_flg(dz, added, keys,
		    ldns_dnssec_default_replace_signatures, NULL, 0);
	if (st != LDNS_STATUS_OK) {
		zerror(r, "%s: cannot sign: %s", z->name,
		    ldns_get_errorstr_by_id(st));
		goto out;
	}
	if ((fp = open_memstream(out, outlen)) == NULL)
		goto nomem;
	until = r->now + (time_t)r->validity;
	gmtime_r(&until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(fp, "; %s, signed by mailscope zones: NSEC, KSK %u, ZSK %u, "
	    "signatures valid until %s.\n; Sign again before then "
	    "(mailscope zones).\n", z->name, ldns_key_keytag(z->ksk),
	    ldns_key_keytag(z->zsk), when);
	ldns_dnssec_zone_print(fp, dz);
	if (fclose(fp) == EOF) {
		free(*out);
		*out = NULL;
		goto nomem;
	}
	rc = 0;
	goto out;
 nomem:
	zerror(r, "out of memory");
 out:
	fclose(in);
	if (keys != NULL) {
		ldns_key_list_set_key_count(keys, 0);	/* z owns them */
		ldns_key_list_free(keys);
	}
	ldns_dnssec_zone_free(dz);
	if (orig != NULL)
		ldns_zone_deep_free(orig);
	ldns_rr_list_deep_free(added);
	ldns_rr_free(k1);
	ldns_rr_free(k2);
	ldns_rdf_deep_free(origin);
	return rc;
}

/* --- output ------------------------------------------------------------ */

/* DIR/<zone>.zone, and .zone.signed for the signed ones. */
static int
write_zone(struct zrun *r, const struct zone *z)
{
	char path[PATH_MAX], spath[PATH_MAX], *text = NULL, *signd = NULL;
	size_t len = 0, slen = 0;
	int rc = -1;

	if (zpath(r, path, "%s/%s.zone", r->dir, z->name) == -1 ||
	    zpath(r, spath, "%s/%s.zone.signed", r->dir, z->name) == -1 ||
	    zone_text(r, z, &text, &len) == -1)
		return -1;
	if (z->ksk != NULL &&
	    zone_sign(r, z, text, len, &signd, &slen) == -1)
		goto out;
	if (write_file(r, path, 0644, text, len) == -1)
		goto out;
	if (signd != NULL) {
		if (write_file(r, spath, 0644, signd, slen) == -1)
			goto out;
	} else if (unlink(spath) == -1 && errno != ENOENT) {
		zerror(r, "%s: cannot remove: %s", spath, strerror(errno));
		goto out;
	}
	if (r->out != NULL)
		fprintf(r->out, "%s/%s.zone%s: %s, serial %u\n", r->dir,
		    z->name, signd != NULL ? ".signed" : "",
		    z->kind == ZONE_UNSIGNED ? "unsigned" :
		    z->kind == ZONE_BOGUS ? "signed, bogus by its DS" :
		    "signed", z->serial);
	rc = 0;
 out:
	free(text);
	free(signd);
	return rc;
}

/*
 * The base zone's trust anchor for validators (Unbound's
 * trust-anchor-file takes either): trust-anchor.ds, also what goes to
 * the parent zone's operator, and trust-anchor.key.
 */
static int
write_anchor(struct zrun *r, const struct zone *z)
{
	static const char *const names[] = { "trust-anchor.ds",
	    "trust-anchor.key" };
	const ldns_rr *rrs[2] = { z->ds, z->ksk_rr };
	char path[PATH_MAX], *text, *body;
	size_t i, len;
	FILE *fp;
	int rc;

	for (i = 0; i < 2; i++) {
		if (zpath(r, path, "%s/%s", r->dir, names[i]) == -1)
			return -1;
		if ((body = ldns_rr2str(rrs[i])) == NULL ||
		    (fp = open_memstream(&text, &len)) == NULL) {
			free(body);
			zerror(r, "out of memory");
			return -1;
		}
		fprintf(fp, "; the trust anchor of %s (its KSK, tag %u): %s\n"
		    "%s", z->name, ldns_key_keytag(z->ksk), i == 0 ?
		    "the DS record for the parent zone" : "the DNSKEY", body);
		free(body);
		if (fclose(fp) == EOF) {
			zerror(r, "out of memory");
			return -1;
		}
		rc = write_file(r, path, 0644, text, len);
		free(text);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* policies/mta-sts.<challenge>.<base>/.well-known/mta-sts.txt, exact. */
static int
write_policies(struct zrun *r)
{
	const struct catalog_challenge *chs;
	char path[PATH_MAX], buf[1024];
	size_t i, n;
	int len;

	if (zpath(r, path, "%s/policies", r->dir) == -1 ||
	    make_dir(r, path, 0755) == -1)
		return -1;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (r->skip[i] || !mtasts_has_policy(&chs[i]))
			continue;
		if ((len = mtasts_policy(&chs[i], r->base, buf, sizeof(buf)))
		    == -1) {
			zerror(r, "challenge %s: policy too long",
			    chs[i].name);
			return -1;
		}
		if (zpath(r, path, "%s/policies/mta-sts.%s.%s", r->dir,
		    chs[i].name, r->base) == -1 ||
		    make_dir(r, path, 0755) == -1 ||
		    zpath(r, path, "%s/policies/mta-sts.%s.%s/.well-known",
		    r->dir, chs[i].name, r->base) == -1 ||
		    make_dir(r, path, 0755) == -1 ||
		    zpath(r, path, "%s/policies/mta-sts.%s.%s/.well-known/"
		    "mta-sts.txt", r->dir, chs[i].name, r->base) == -1 ||
		    write_file(r, path, 0644, buf, (size_t)len) == -1)
			return -1;
	}
	return 0;
}

/* The addresses of the servers SET, each once, to CB (FIRST: the first). */
static int
each_ns_addr(struct zrun *r, const struct ns_set *set, FILE *fp,
    void (*cb)(FILE *, const char *, int))
{
	char (*seen)[INET6_ADDRSTRLEN];
	size_t i, j, l, n = 0;

	for (i = 0; i < set->n; i++)
		n += set->ns[i].naddr;
	if ((seen = calloc(n + 1, sizeof(*seen))) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	n = 0;
	for (i = 0; i < set->n; i++)
		for (j = 0; j < set->ns[i].naddr; j++) {
			if (addr_text(&set->ns[i].addr[j], seen[n]) == -1)
				continue;
			for (l = 0; l < n; l++)
				if (strcmp(seen[l], seen[n]) == 0)
					break;
			if (l == n) {
				cb(fp, seen[n], n == 0);
				n++;
			}
		}
	free(seen);
	return 0;
}

static void
nsd_addr(FILE *fp, const char *addr, int first)
{
	(void)first;
	fprintf(fp, "\tip-address: %s\n", addr);
}

static void
knot_addr(FILE *fp, const char *addr, int first)
{
	fprintf(fp, "%s %s@53", first ? "" : ",", addr);
}

/*
 * One of the name server snippets (see contrib/nsd-zones.conf.example
 * and contrib/knot-zones.conf.example): KNOT or NSD syntax, for the base
 * zone's servers (SET r->ns) or for the IPv6-only ones (r->ns6).  Each
 * set is a server instance of its own that answers only on its
 * addresses: an instance that also answered for the *-dns6 zones on an
 * IPv4 address would let every resolver through.
 */
static int
write_conf(struct zrun *r, int knot, const struct ns_set *set)
{
	const char *file = knot ? (set == &r->ns ? "knot.conf" :
	    "knot-dns6.conf") : (set == &r->ns ? "nsd.conf" :
	    "nsd-dns6.conf");
	const char *who = set == &r->ns ? "the base zone's name servers" :
	    "the IPv6-only name servers of the *-dns6 challenges";
	char path[PATH_MAX], zfile[PATH_MAX], *text = NULL;
	const struct zone *z;
	size_t i, len = 0;
	FILE *fp;
	int rc;

	if (zpath(r, path, "%s/%s", r->dir, file) == -1)
		return -1;
	if ((fp = open_memstream(&text, &len)) == NULL) {
		zerror(r, "out of memory");
		return -1;
	}
	fprintf(fp, "# %s for %s:\n# the zones of %s they serve, written "
	    "by mailscope zones.\n# Include it in the configuration of a "
	    "server instance of its own:\n#   include: \"%s\"\n",
	    knot ? "Knot DNS" : "NSD", who, r->base, path);
	if (knot)
		fputs("# In its server section, listen on these addresses "
		    "only:\n#   listen: [", fp);
	else
		fputs("# It answers on these addresses only:\nserver:\n", fp);
	rc = each_ns_addr(r, set, fp, knot ? knot_addr : nsd_addr);
	if (knot)
		fputs(" ]\n# The files are signed already: Knot serves them "
		    "as they are.\nzone:\n", fp);
	for (i = 0; rc == 0 && i < r->nzones; i++) {
		z = &r->zones[i];
		if (z->ns != set)
			continue;
		if ((rc = zpath(r, zfile, "%s/%s.zone%s", r->dir, z->name,
		    z->kind == ZONE_UNSIGNED ? "" : ".signed")) == -1)
			break;
		if (knot)
			fprintf(fp, "  - domain: %s\n    file: \"%s\"\n"
			    "    zonefile-sync: -1\n    zonefile-load: whole\n"
			    "    journal-content: none\n", z->name, zfile);
		else
			fprintf(fp, "\nzone:\n\tname: \"%s\"\n"
			    "\tzonefile: \"%s\"\n", z->name, zfile);
	}
	if (fclose(fp) == EOF) {
		zerror(r, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		rc = write_file(r, path, 0644, text, len);
	free(text);
	return rc;
}

/* --- the run ----------------------------------------------------------- */

static int
zones_dirs(struct zrun *r, const char *dir)
{
	char *abs;
	int n;

	if (dir == NULL || *dir == '\0') {
		zerror(r, "no output directory");
		return -1;
	}
	if (make_dir(r, dir, 0755) == -1)
		return -1;
	if ((abs = realpath(dir, NULL)) == NULL) {
		zerror(r, "%s: %s", dir, strerror(errno));
		return -1;
	}
	n = snprintf(r->dir, sizeof(r->dir), "%s", abs);
	free(abs);
	if (n < 0 || (size_t)n >= sizeof(r->dir)) {
		zerror(r, "%s: path too long", dir);
		return -1;
	}
	if (r->cfg->zones.keys != NULL)
		n = snprintf(r->keys, sizeof(r->keys), "%s",
		    r->cfg->zones.keys);
	else
		n = snprintf(r->keys, sizeof(r->keys), "%s/keys", r->dir);
	if (n < 0 || (size_t)n >= sizeof(r->keys)) {
		zerror(r, "%s: path too long", dir);
		return -1;
	}
	return make_dir(r, r->keys, 0700);
}

static void
zones_free(struct zrun *r)
{
	struct zone *z;
	size_t i;

	for (i = 0; i < r->nzones; i++) {
		z = &r->zones[i];
		if (z->ksk != NULL)
			ldns_key_deep_free(z->ksk);
		if (z->zsk != NULL)
			ldns_key_deep_free(z->zsk);
		ldns_rr_free(z->ksk_rr);
		ldns_rr_free(z->zsk_rr);
		ldns_rr_free(z->ds);
	}
	free(r->zones);
	free(r->skip);
	free(r->defns.name);
	free(r->defns.addr);
	free(r->defns6.name);
	free(r->defns6.addr);
}

int
zones_generate(const struct config *cfg, const char *dir, FILE *out,
    FILE *errs)
{
	struct zrun r;
	char path[PATH_MAX];
	size_t i;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.base = cfg->base_domain;
	r.out = out;
	r.errs = errs != NULL ? errs : stderr;
	r.now = time(NULL);
	r.ttl = cfg->zones.ttl_ms / 1000 > INT32_MAX ? INT32_MAX :
	    cfg->zones.ttl_ms / 1000 == 0 ? 1 :
	    (uint32_t)(cfg->zones.ttl_ms / 1000);
	r.validity = cfg->zones.validity_ms / 1000 > INT32_MAX ?
	    INT32_MAX : (uint32_t)(cfg->zones.validity_ms / 1000);
	if (r.validity <= SIG_BACKDATE)
		r.validity = SIG_BACKDATE + 1;

	if (zones_dirs(&r, dir) == -1 || zones_ns(&r) == -1 ||
	    zones_plan(&r) == -1)
		goto out;
	for (i = 0; i < r.nzones; i++) {
		if (zpath(&r, path, "%s/%s.zone", r.dir, r.zones[i].name) ==
		    -1)
			goto out;
		r.zones[i].serial = next_serial(&r, path, r.zones[i].name);
		if (zone_keys(&r, &r.zones[i]) == -1)
			goto out;
	}
	/* children first: the base zone points at them */
	for (i = r.nzones; i-- > 0; )
		if (write_zone(&r, &r.zones[i]) == -1)
			goto out;
	if (write_anchor(&r, &r.zones[0]) == -1 || write_policies(&r) == -1)
		goto out;
	for (i = 0; i < 4; i++)
		if (write_conf(&r, i / 2, i % 2 ? &r.ns6 : &r.ns) == -1)
			goto out;
 out:
	zones_free(&r);
	return r.nerrors > 0 ? -1 : 0;
}
