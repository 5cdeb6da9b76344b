/*
 * The sender's zones, on the analysis workers: the zone of each sender
 * name found by its SOA, the chain of trust walked down from the trust
 * anchor with ldns's verifier (RFC 4035 5: DS to DNSKEY, RRSIGs, NSEC and
 * NSEC3 denial of the DS, RFC 5155 8), every query with the CD bit so
 * that data failing validation still reaches us, and the AAAA of each
 * zone's name servers.
 */
#include "build.h"

#include <ctype.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"
#include "log.h"
#include "resolver.h"
#include "senderdns.h"

/* Zones of one message, each asked once. */
#define MAX_CACHE	(SENDERDNS_MAX_NAMES * 4)

/* What one message learnt of one zone.  Owns name, error and keys. */
struct zone_state {
	char		*name;		/* lowercase, no final dot; "." */
	const char	*dnssec;	/* NULL: not yet known */
	char		*error;
	ldns_rr_list	*keys;		/* the validated DNSKEY set; NULL */
	int		 ipv6;		/* 1, 0, -1: not known, -2: not asked */
};

/* Owns the anchor and the per-message cache; borrows the resolver. */
struct senderdns {
	struct resolver		*res;		/* borrowed */
	ldns_rr_list		*anchor;	/* owned: DS or DNSKEY */
	char			*anchor_zone;	/* owned */
	struct zone_state	 cache[MAX_CACHE];
	size_t			 ncache;
	unsigned		 queries;
	unsigned		 timeouts;
};

static const char *const SECURE = "secure";
static const char *const INSECURE = "insecure";
static const char *const BOGUS = "bogus";
static const char *const INDETERMINATE = "indeterminate";

/* NAME is ZONE or below it. */
static int
is_under(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (strcmp(zone, ".") == 0 || strcmp(name, zone) == 0)
		return 1;
	return n > z && name[n - z - 1] == '.' &&
	    strcmp(name + n - z, zone) == 0;
}

/* The parent of NAME (not the root): the text after its first label. */
static const char *
parent_of(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot != NULL ? dot + 1 : ".";
}

static char *errorf(const char *, ...)
    __attribute__((__format__(__printf__, 1, 2)));

/* A message for the dnssec_error column, or NULL when out of memory. */
static char *
errorf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	return strdup(buf);	/* a longer one is cut */
}

/* The DS and DNSKEY records of the zone file PATH, all of one owner. */
static int
read_anchor(struct senderdns *sd, const char *path, char *err, size_t errlen)
{
	FILE *f;
	ldns_rr *rr;
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	ldns_status st;
	int line = 0, rc = 0;
	char *owner;

	if ((f = fopen(path, "r")) == NULL) {
		(void)snprintf(err, errlen, "trust anchor %s: cannot open", path);
		return -1;
	}
	if ((sd->anchor = ldns_rr_list_new()) == NULL) {
		(void)fclose(f);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (rc == 0 && !feof(f)) {
		st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st != LDNS_STATUS_OK) {
			if (feof(f))
				break;
			(void)snprintf(err, errlen, "%s:%d: error: %s", path,
			    line, ldns_get_errorstr_by_id(st));
			rc = -1;
			break;
		}
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS &&
		    ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) {
			ldns_rr_free(rr);
			continue;
		}
		if ((owner = resolver_name_text(ldns_rr_owner(rr))) == NULL) {
			ldns_rr_free(rr);
			rc = -1;
			break;
		}
		if (sd->anchor_zone != NULL &&
		    strcmp(owner, sd->anchor_zone) != 0) {
			(void)snprintf(err, errlen, "%s:%d: error: a second "
			    "owner name in the trust anchor", path, line);
			free(owner);
			ldns_rr_free(rr);
			rc = -1;
			break;
		}
		if (sd->anchor_zone == NULL)
			sd->anchor_zone = owner;
		else
			free(owner);
		if (!ldns_rr_list_push_rr(sd->anchor, rr)) {
			ldns_rr_free(rr);
			rc = -1;
		}
	}
	(void)fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (rc == 0 && sd->anchor_zone == NULL) {
		(void)snprintf(err, errlen, "trust anchor %s: no DS or DNSKEY "
		    "record", path);
		rc = -1;
	}
	if (rc == -1 && err[0] == '\0')
		(void)snprintf(err, errlen, "out of memory");
	return rc;
}

struct senderdns *
senderdns_new(struct resolver *res, const char *anchor, char *err,
    size_t errlen)
{
	struct senderdns *sd;

	err[0] = '\0';
	if ((sd = calloc(1, sizeof(*sd))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sd->res = res;
	if (read_anchor(sd, anchor != NULL ? anchor : SENDERDNS_ROOT_KEY, err,
	    errlen) == -1) {
		senderdns_free(sd);
		return NULL;
	}
	return sd;
}

static void
cache_clear(struct senderdns *sd)
{
	size_t i;

	for (i = 0; i < sd->ncache; i++) {
		free(sd->cache[i].name);
		free(sd->cache[i].error);
		ldns_rr_list_deep_free(sd->cache[i].keys);
	}
	sd->ncache = 0;
	sd->queries = sd->timeouts = 0;
}

void
senderdns_free(struct senderdns *sd)
{
	if (sd == NULL)
		return;
	cache_clear(sd);
	ldns_rr_list_deep_free(sd->anchor);
	free(sd->anchor_zone);
	free(sd);
}

/*
 * One query with CD and DO within the message's budget.  *P: a reply
 * with NOERROR or NXDOMAIN; else NULL and *WHY says why (static).  0, or
 * -1 when out of memory.
 */
static int
ask(struct senderdns *sd, const char *name, uint16_t type, ldns_pkt **p,
    const char **why)
{
	struct resolver_answer a;

	*p = NULL;
	if (sd->timeouts >= SENDERDNS_MAX_TIMEOUTS) {
		*why = "not asked after timeouts";
		return 0;
	}
	if (sd->queries >= SENDERDNS_MAX_QUERIES) {
		*why = "query limit reached";
		return 0;
	}
	sd->queries++;
	if (resolver_query_cd(sd->res, name, type, p, &a) == -1)
		return -1;
	if (a.status == RESOLVER_TIMEOUT)
		sd->timeouts++;
	if (*p != NULL && a.rcode != RESOLVER_NOERROR &&
	    a.rcode != RESOLVER_NXDOMAIN) {
		ldns_pkt_free(*p);
		*p = NULL;
	}
	*why = resolver_status_name(&a);
	return 0;
}

/* The records of TYPE in SECTION of P owned by NAME (NULL: any owner). */
static ldns_rr_list *
records(const ldns_pkt *p, const char *name, ldns_rr_type type,
    ldns_pkt_section section)
{
	ldns_rr_list *all, *out;
	ldns_rr *rr;
	size_t i;
	char *owner;

	if ((out = ldns_rr_list_new()) == NULL)
		return NULL;
	if ((all = ldns_pkt_rr_list_by_type(p, type, section)) == NULL)
		return out;
	for (i = 0; i < ldns_rr_list_rr_count(all); i++) {
		rr = ldns_rr_list_rr(all, i);
		if (name != NULL) {
			owner = resolver_name_text(ldns_rr_owner(rr));
			if (owner == NULL)
				continue;
			if (strcmp(owner, name) != 0) {
				free(owner);
				continue;
			}
			free(owner);
		}
		if ((rr = ldns_rr_clone(rr)) != NULL &&
		    !ldns_rr_list_push_rr(out, rr))
			ldns_rr_free(rr);
	}
	ldns_rr_list_deep_free(all);
	return out;
}

/*
 * The apex of the zone holding NAME (RFC 1034 4.3.2: the SOA in the
 * answer, or in the authority section of a negative answer, RFC 2308 3);
 * a name with a CNAME is no apex: its parent's zone.  *ZONE NULL and *WHY
 * when not found.
 */
static int
find_zone(struct senderdns *sd, const char *name, char **zone,
    const char **why)
{
	ldns_rr_list *soa;
	ldns_pkt *p;
	const char *cur = name;
	int i;

	*zone = NULL;
	for (i = 0; i < SENDERDNS_MAX_DEPTH; i++) {
		if (ask(sd, cur, RESOLVER_SOA, &p, why) == -1)
			return -1;
		if (p == NULL)
			return 0;
		/* a CNAME's SOA is its target's: ask the parent instead */
		soa = records(p, cur, LDNS_RR_TYPE_CNAME, LDNS_SECTION_ANSWER);
		if (soa == NULL) {
			ldns_pkt_free(p);
			return -1;
		}
		if (ldns_rr_list_rr_count(soa) == 0) {
			ldns_rr_list_deep_free(soa);
			soa = records(p, NULL, LDNS_RR_TYPE_SOA,
			    LDNS_SECTION_ANSWER);
		} else {
			ldns_rr_list_deep_free(soa);
			soa = ldns_rr_list_new();
		}
		if (soa != NULL && ldns_rr_list_rr_count(soa) == 0 &&
		    !ldns_pkt_ancount(p)) {
			ldns_rr_list_deep_free(soa);
			soa = records(p, NULL, LDNS_RR_TYPE_SOA,
			    LDNS_SECTION_AUTHORITY);
		}
		if (soa != NULL && ldns_rr_list_rr_count(soa) > 0) {
			*zone = resolver_name_text(ldns_rr_owner(
			    ldns_rr_list_rr(soa, 0)));
			ldns_rr_list_deep_free(soa);
			ldns_pkt_free(p);
			if (*zone == NULL)
				return -1;
			if (strcmp(*zone, ".") != 0 &&
			    (!dnsname_valid(*zone) || !is_under(name,
			    *zone))) {
				free(*zone);
				*zone = NULL;
				*why = "SOA of another name";
			}
			return 0;
		}
		ldns_rr_list_deep_free(soa);
		ldns_pkt_free(p);
		if (strcmp(cur, ".") == 0)
			break;
		cur = parent_of(cur);
	}
	*why = "no SOA";
	return 0;
}

static struct zone_state *
cache_get(struct senderdns *sd, const char *zone)
{
	struct zone_state *z;
	size_t i;

	for (i = 0; i < sd->ncache; i++)
		if (strcmp(sd->cache[i].name, zone) == 0)
			return &sd->cache[i];
	if (sd->ncache == MAX_CACHE)
		return NULL;
	z = &sd->cache[sd->ncache];
	memset(z, 0, sizeof(*z));
	if ((z->name = strdup(zone)) == NULL)
		return NULL;
	z->ipv6 = -2;
	sd->ncache++;
	return z;
}

static void
set_status(struct zone_state *z, const char *dnssec, char *error)
{
	z->dnssec = dnssec;
	z->error = error;
}

/*
 * ask() for Z's records of TYPE (TNAME its name); without a usable reply
 * *P is NULL and Z indeterminate.  0, or -1 when out of memory.
 */
static int
ask_zone(struct senderdns *sd, struct zone_state *z, uint16_t type,
    const char *tname, ldns_pkt **p)
{
	const char *why;

	if (ask(sd, z->name, type, p, &why) == -1)
		return -1;
	if (*p == NULL)
		set_status(z, INDETERMINATE, errorf("%s %s: %s", tname,
		    z->name, why));
	return 0;
}

/*
 * RFC 4035 5.2: the DNSKEY set of Z, signed by a key that TRUSTED (the
 * anchor's DNSKEYs, or DS records) names.  Sets Z's status.
 */
static int
validate_keys(struct senderdns *sd, struct zone_state *z,
    const ldns_rr_list *trusted)
{
	ldns_rr_list *keys = NULL, *sigs = NULL, *cand = NULL;
	ldns_rr *t, *k;
	ldns_pkt *p;
	ldns_status st;
	size_t i, j;
	int rc = -1;

	if (ask_zone(sd, z, RESOLVER_DNSKEY, "DNSKEY", &p) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if ((keys = records(p, z->name, LDNS_RR_TYPE_DNSKEY,
	    LDNS_SECTION_ANSWER)) == NULL || (sigs = records(p, z->name,
	    LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ANSWER)) == NULL ||
	    (cand = ldns_rr_list_new()) == NULL)
		goto done;
	for (i = 0; i < ldns_rr_list_rr_count(trusted); i++) {
		t = ldns_rr_list_rr(trusted, i);
		if (ldns_rr_get_type(t) == LDNS_RR_TYPE_DNSKEY) {
			if (!ldns_rr_list_push_rr(cand, t))
				goto done;
			continue;
		}
		for (j = 0; j < ldns_rr_list_rr_count(keys); j++) {
			k = ldns_rr_list_rr(keys, j);
			if (ldns_rr_compare_ds(k, t) &&
			    !ldns_rr_list_push_rr(cand, k))
				goto done;
		}
	}
	rc = 0;
	if (ldns_rr_list_rr_count(keys) == 0)
		set_status(z, BOGUS, errorf("%s: no DNSKEY", z->name));
	else if (ldns_rr_list_rr_count(cand) == 0)
		set_status(z, BOGUS, errorf("%s: no DNSKEY matches the %s",
		    z->name, ldns_rr_get_type(ldns_rr_list_rr(trusted, 0)) ==
		    LDNS_RR_TYPE_DS ? "DS" : "trusted keys"));
	else if ((st = ldns_verify(keys, sigs, cand, NULL)) != LDNS_STATUS_OK)
		set_status(z, BOGUS, errorf("%s: DNSKEY: %s", z->name,
		    ldns_get_errorstr_by_id(st)));
	else {
		set_status(z, SECURE, NULL);
		z->keys = keys;
		keys = NULL;
	}
done:
	ldns_rr_list_free(cand);	/* borrowed records */
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(sigs);
	ldns_pkt_free(p);
	return rc;
}

/*
 * Each NSEC or NSEC3 record of LIST signed by KEYS (RFC 4035 5.4).
 * LDNS_STATUS_OK, or the first failure.
 */
static ldns_status
verify_each(const ldns_rr_list *list, ldns_rr_list *sigs,
    const ldns_rr_list *keys)
{
	ldns_rr_list *one;
	ldns_status st = LDNS_STATUS_OK;
	size_t i;

	for (i = 0; st == LDNS_STATUS_OK && i < ldns_rr_list_rr_count(list);
	    i++) {
		if ((one = ldns_rr_list_new()) == NULL)
			return LDNS_STATUS_MEM_ERR;
		if (!ldns_rr_list_push_rr(one, ldns_rr_list_rr(list, i)))
			st = LDNS_STATUS_MEM_ERR;
		else
			st = ldns_verify(one, sigs, keys, NULL);
		ldns_rr_list_free(one);
	}
	return st;
}

/*
 * The delegation from PARENT (secure, its keys validated) to Z: a signed
 * DS set leads to Z's keys; a signed denial of the DS (RFC 4035 5.2,
 * RFC 5155 8.5 and 8.6) makes Z insecure; anything else is bogus.
 */
static int
validate_delegation(struct senderdns *sd, const struct zone_state *parent,
    struct zone_state *z)
{
	ldns_rr_list *ds = NULL, *sigs = NULL, *nsec = NULL, *nsec3 = NULL;
	ldns_rr *q = NULL;
	ldns_rdf *owner;
	ldns_pkt *p;
	ldns_status st;
	int rc = -1;

	if (ask_zone(sd, z, RESOLVER_DS, "DS", &p) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if ((ds = records(p, z->name, LDNS_RR_TYPE_DS,
	    LDNS_SECTION_ANSWER)) == NULL)
		goto done;
	if (ldns_rr_list_rr_count(ds) > 0) {
		if ((sigs = records(p, z->name, LDNS_RR_TYPE_RRSIG,
		    LDNS_SECTION_ANSWER)) == NULL)
			goto done;
		rc = 0;
		if ((st = ldns_verify(ds, sigs, parent->keys, NULL)) !=
		    LDNS_STATUS_OK)
			set_status(z, BOGUS, errorf("%s: DS: %s", z->name,
			    ldns_get_errorstr_by_id(st)));
		else
			rc = validate_keys(sd, z, ds);
		goto done;
	}
	if ((sigs = records(p, NULL, LDNS_RR_TYPE_RRSIG,
	    LDNS_SECTION_AUTHORITY)) == NULL || (nsec = records(p, NULL,
	    LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY)) == NULL ||
	    (nsec3 = records(p, NULL, LDNS_RR_TYPE_NSEC3,
	    LDNS_SECTION_AUTHORITY)) == NULL || (q = ldns_rr_new()) == NULL ||
	    (owner = ldns_dname_new_frm_str(z->name)) == NULL)
		goto done;
	ldns_rr_set_owner(q, owner);
	ldns_rr_set_type(q, LDNS_RR_TYPE_DS);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	rc = 0;
	if (ldns_rr_list_rr_count(nsec) > 0) {
		if ((st = verify_each(nsec, sigs, parent->keys)) ==
		    LDNS_STATUS_OK)
			st = ldns_dnssec_verify_denial(q, nsec, sigs);
	} else if (ldns_rr_list_rr_count(nsec3) > 0) {
		if ((st = verify_each(nsec3, sigs, parent->keys)) ==
		    LDNS_STATUS_OK)
			st = ldns_dnssec_verify_denial_nsec3(q, nsec3, sigs,
			    ldns_pkt_get_rcode(p), LDNS_RR_TYPE_DS,
			    ldns_pkt_ancount(p) == 0);
	} else
		st = LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
	if (st == LDNS_STATUS_MEM_ERR)
		rc = -1;
	else if (st == LDNS_STATUS_OK)
		set_status(z, INSECURE, errorf("%s: no DS in %s", z->name,
		    parent->name));
	else
		set_status(z, BOGUS, errorf("%s: no DS, not proven: %s",
		    z->name, ldns_get_errorstr_by_id(st)));
done:
	ldns_rr_free(q);
	ldns_rr_list_deep_free(ds);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(nsec);
	ldns_rr_list_deep_free(nsec3);
	ldns_pkt_free(p);
	return rc;
}

/* The status of PATH[N - 1], the zones from the anchor's down. */
static int
validate_path(struct senderdns *sd, struct zone_state **path, size_t n)
{
	struct zone_state *z, *up;
	size_t i;

	for (i = 0; i < n; i++) {
		z = path[i];
		if (z->dnssec != NULL)
			continue;
		if (i == 0) {
			if (validate_keys(sd, z, sd->anchor) == -1)
				return -1;
			continue;
		}
		up = path[i - 1];
		if (up->dnssec == SECURE) {
			if (validate_delegation(sd, up, z) == -1)
				return -1;
			continue;
		}
		/* below an insecure or bogus zone, as that zone */
		z->dnssec = up->dnssec;
		if (up->error != NULL && (z->error = strdup(up->error)) ==
		    NULL)
			return -1;
	}
	return 0;
}

/* Whether a name server of Z has an AAAA record (RFC 3596). */
static int
zone_ipv6(struct senderdns *sd, struct zone_state *z)
{
	ldns_rr_list *ns, *aaaa;
	ldns_pkt *p, *pa;
	const char *why;
	char *host;
	size_t i;
	int unknown = 0;

	if (z->ipv6 != -2)
		return 0;
	z->ipv6 = -1;
	if (ask(sd, z->name, RESOLVER_NS, &p, &why) == -1)
		return -1;
	if (p == NULL)
		return 0;
	if ((ns = records(p, z->name, LDNS_RR_TYPE_NS,
	    LDNS_SECTION_ANSWER)) == NULL) {
		ldns_pkt_free(p);
		return -1;
	}
	ldns_pkt_free(p);
	for (i = 0; i < ldns_rr_list_rr_count(ns) && i < SENDERDNS_MAX_NS;
	    i++) {
		if (ldns_rr_rd_count(ldns_rr_list_rr(ns, i)) != 1 ||
		    (host = resolver_name_text(ldns_rr_rdf(
		    ldns_rr_list_rr(ns, i), 0))) == NULL)
			continue;
		if (ask(sd, host, RESOLVER_AAAA, &pa, &why) == -1) {
			free(host);
			ldns_rr_list_deep_free(ns);
			return -1;
		}
		if (pa == NULL) {
			unknown = 1;
			free(host);
			continue;
		}
		aaaa = records(pa, NULL, LDNS_RR_TYPE_AAAA,
		    LDNS_SECTION_ANSWER);
		ldns_pkt_free(pa);
		free(host);
		if (aaaa != NULL && ldns_rr_list_rr_count(aaaa) > 0) {
			ldns_rr_list_deep_free(aaaa);
			z->ipv6 = 1;
			break;
		}
		ldns_rr_list_deep_free(aaaa);
	}
	if (z->ipv6 == -1 && ldns_rr_list_rr_count(ns) > 0 && !unknown)
		z->ipv6 = 0;
	ldns_rr_list_deep_free(ns);
	return 0;
}

/*
 * One row: the zone of NAME, the zones from the anchor's down to it, the
 * DNSSEC status of its zone, and ipv6_ns: 1 when the name servers of
 * every zone below the anchor's on the path, and of the name's own zone,
 * include one with an AAAA record.
 */
static int
check_name(struct senderdns *sd, const char *role, const char *name,
    struct sender_zone *row)
{
	struct zone_state *path[SENDERDNS_MAX_DEPTH];
	const char *why = "error";
	char *zone = NULL, *up;
	size_t n = 0, i, first;
	int v6;

	row->role = role;
	row->ipv6_ns = -1;
	row->dnssec = INDETERMINATE;
	if ((row->name = strdup(name)) == NULL ||
	    find_zone(sd, name, &zone, &why) == -1)
		return -1;
	if (zone == NULL) {
		row->dnssec_error = errorf("SOA %s: %s", name, why);
		return row->dnssec_error == NULL ? -1 : 0;
	}
	row->zone = zone;
	if (!is_under(zone, sd->anchor_zone)) {
		row->dnssec_error = errorf("%s: not under the trust anchor %s",
		    zone, sd->anchor_zone);
		return row->dnssec_error == NULL ? -1 : 0;
	}
	/* the zones above, each by the SOA of its parent */
	if ((path[SENDERDNS_MAX_DEPTH - 1] = cache_get(sd, zone)) == NULL)
		return -1;
	n = 1;
	while (strcmp(path[SENDERDNS_MAX_DEPTH - n]->name,
	    sd->anchor_zone) != 0) {
		if (n == SENDERDNS_MAX_DEPTH) {
			row->dnssec_error = errorf("%s: more than %d zones "
			    "below the trust anchor", zone,
			    SENDERDNS_MAX_DEPTH);
			return row->dnssec_error == NULL ? -1 : 0;
		}
		if (find_zone(sd, parent_of(path[SENDERDNS_MAX_DEPTH -
		    n]->name), &up, &why) == -1)
			return -1;
		if (up == NULL || !is_under(up, sd->anchor_zone)) {
			row->dnssec_error = up == NULL ? errorf("SOA above "
			    "%s: %s", path[SENDERDNS_MAX_DEPTH - n]->name,
			    why) : errorf("%s: above the trust anchor %s",
			    up, sd->anchor_zone);
			free(up);
			return row->dnssec_error == NULL ? -1 : 0;
		}
		n++;
		path[SENDERDNS_MAX_DEPTH - n] = cache_get(sd, up);
		free(up);
		if (path[SENDERDNS_MAX_DEPTH - n] == NULL)
			return -1;
	}
	if (validate_path(sd, path + SENDERDNS_MAX_DEPTH - n, n) == -1)
		return -1;
	row->dnssec = path[SENDERDNS_MAX_DEPTH - 1]->dnssec;
	if (path[SENDERDNS_MAX_DEPTH - 1]->error != NULL &&
	    (row->dnssec_error = strdup(path[SENDERDNS_MAX_DEPTH -
	    1]->error)) == NULL)
		return -1;
	/* the anchor's zone counts only when it holds the name */
	first = n > 1 ? SENDERDNS_MAX_DEPTH - n + 1 : SENDERDNS_MAX_DEPTH - 1;
	v6 = 1;
	for (i = first; i < SENDERDNS_MAX_DEPTH; i++) {
		if (zone_ipv6(sd, path[i]) == -1)
			return -1;
		if (path[i]->ipv6 == 0)
			v6 = 0;
		else if (path[i]->ipv6 == -1 && v6 == 1)
			v6 = -1;
	}
	row->ipv6_ns = v6;
	return 0;
}

/* Adds ROLE and NAME (lowercased) unless invalid, repeated or too many. */
static int
add_name(struct senderdns *sd, struct senderdns_rec *out, const char *role,
    const char *name)
{
	char buf[DNSNAME_MAX + 1];
	size_t i, len;

	if (name == NULL || out->n >= SENDERDNS_MAX_NAMES)
		return 0;
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len >= sizeof(buf))
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[len] = '\0';
	if (!dnsname_valid(buf))
		return 0;
	for (i = 0; i < out->n; i++)
		if (out->zones[i].role == role &&
		    strcmp(out->zones[i].name, buf) == 0)
			return 0;
	if (check_name(sd, role, buf, &out->zones[out->n]) == -1) {
		out->n++;	/* what was filled is freed with the rest */
		return -1;
	}
	log_debug("sender zone role=%s name=%s zone=%s dnssec=%s ipv6_ns=%d",
	    role, buf, out->zones[out->n].zone != NULL ?
	    out->zones[out->n].zone : "-", out->zones[out->n].dnssec,
	    out->zones[out->n].ipv6_ns);
	out->n++;
	return 0;
}

int
senderdns_check(struct senderdns *sd, const char *mailfrom,
    const char *from, const struct dkim_rec *dkim, const char *client_addr,
    struct senderdns_rec *out)
{
	char rev[128];
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((out->zones = calloc(SENDERDNS_MAX_NAMES,
	    sizeof(*out->zones))) == NULL)
		return -1;
	out->checked = 1;
	cache_clear(sd);
	if (add_name(sd, out, "mailfrom", mailfrom) == -1 ||
	    add_name(sd, out, "from", from) == -1)
		rc = -1;
	/* the reverse name before the signatures, which may be many */
	if (rc == 0 && client_addr != NULL &&
	    resolver_reverse_name(client_addr, rev, sizeof(rev)) == 0 &&
	    add_name(sd, out, "reverse", rev) == -1)
		rc = -1;
	for (i = 0; rc == 0 && dkim != NULL && i < dkim->nsigs; i++)
		if (add_name(sd, out, "dkim", dkim->sigs[i].domain) == -1)
			rc = -1;
	cache_clear(sd);
	return rc;
}
