/*
 * The DNS facts of a probed domain, asked synchronously of one resolver
 * before the SMTP step: MX (RFC 5321 5.1, RFC 7505), A and AAAA, PTR and
 * forward confirmation, TLSA (RFC 6698, RFC 7672), the SPF record and
 * its DNS-lookup count (RFC 7208 4.5, 4.6.4, 5, 6), DMARC (RFC 7489 6.3),
 * TLS-RPT (RFC 8460 3) and the MTA-STS record (RFC 8461 3.1).  Every
 * record is the zone's: bounded, parsed, never trusted.  The tool's thread.
 */
#include "build.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmarc.h"
#include "dnsname.h"
#include "probe.h"
#include "resolver.h"
#include "text.h"

#define TYPE_TLSA	52	/* RFC 6698 7.1 */
#define TLSA_DATA_MAX	4096	/* bytes: a full certificate (mtype 0) */
#define ANSWERS_MAX	32	/* records kept of one answer */
#define PTR_NAMES_MAX	4	/* PTR names tried for forward confirmation */
/* SPF: how far includes and redirects are followed */
#define SPF_DEPTH_MAX	10
#define SPF_RECORDS_MAX	40	/* records fetched for one count */
#define SPF_TERMS_MAX	256	/* terms parsed of one record */
#define SPF_LOOKUP_LIMIT 10	/* RFC 7208 4.6.4 */

/* ---- small helpers ---- */

/* A record kept: cut to PROBE_TEXT_MAX once it has been parsed whole. */
static void
cut_text(char *s)
{
	if (s != NULL && strlen(s) > PROBE_TEXT_MAX)
		s[PROBE_TEXT_MAX] = '\0';
}

static int
set_str(char **dst, const char *s)
{
	text_set(dst, s);
	return s != NULL && *dst == NULL ? -1 : 0;
}

/* S cut to PROBE_TEXT_MAX into *DST; -1: out of memory. */
static int
set_bounded(char **dst, const char *s, size_t n)
{
	if (n > PROBE_TEXT_MAX)
		n = PROBE_TEXT_MAX;
	free(*dst);
	return (*dst = strndup(s, n)) == NULL ? -1 : 0;
}

/* Appends "; MSG" (or MSG) to *ERR, bounded; -1: out of memory. */
static int
add_error(char **err, const char *msg)
{
	char buf[PROBE_TEXT_MAX + 1];

	if (*err == NULL)
		return set_str(err, msg);
	if (strlen(*err) >= PROBE_TEXT_MAX)
		return 0;
	/* cut to the bound: the first errors say the most */
	if (snprintf(buf, sizeof(buf), "%s; %s", *err, msg) < 0)
		return 0;
	return set_str(err, buf);
}

/*
 * One more record of Q's answer, or past ANSWERS_MAX one line that says
 * how many more there were.  -1: out of memory.
 */
static int
answer_add(struct probe_dnsq *q, const char *text, size_t total)
{
	if (q->answers.n < ANSWERS_MAX)
		return probe_strv_add(&q->answers, text);
	if (q->answers.n > ANSWERS_MAX)
		return 0;
	return probe_strv_addf(&q->answers, "(%zu more records not kept)",
	    total - ANSWERS_MAX);
}

/* The question's facts (not its answers) into Q. */
static int
dnsq_set(struct probe_dnsq *q, const char *name, const char *type,
    const struct resolver_answer *a)
{
	if (set_str(&q->name, name) == -1 || set_str(&q->type, type) == -1 ||
	    set_str(&q->status, resolver_status_name(a)) == -1)
		return -1;
	q->ad = a->status == RESOLVER_ANSWER && a->ad;
	return 0;
}

/* resolver_lookup() with its question and answers kept in Q (Q may be NULL). */
static int
lookup(struct resolver *res, const char *name, uint16_t type,
    const char *tname, struct resolver_answer *a, struct probe_dnsq *q)
{
	size_t i;

	if (resolver_lookup(res, name, type, a) == -1)
		return -1;
	if (q == NULL)
		return 0;
	if (dnsq_set(q, name, tname, a) == -1)
		return -1;
	for (i = 0; i < a->n; i++)
		if (answer_add(q, a->data[i], a->n) == -1)
			return -1;
	return 0;
}

/* A case-insensitive prefix P of S, ended by the end, a space or ";". */
static int
has_tag(const char *s, const char *p, const char *ends)
{
	size_t n = strlen(p);

	return strncasecmp(s, p, n) == 0 &&
	    (s[n] == '\0' || strchr(ends, s[n]) != NULL);
}

/* ---- MX, addresses, PTR, TLSA ---- */

static void
addr_init(struct probe_addr *a)
{
	size_t i;

	/* stop stays PSTOP_DONE (0): PSTOP_NOT_TRIED tells probe_smtp() to skip */
	memset(a, 0, sizeof(*a));
	a->fcrdns = PT_UNKNOWN;
	a->connect_ms = -1;
	a->size_limit = -1;
	a->chain_valid = PT_UNKNOWN;
	a->name_match = PT_UNKNOWN;
	a->dane = PD_NOT_TESTED;
	a->dane_matched = -1;
	a->open_relay = PT_UNKNOWN;
	a->recipient_filtering = PT_UNKNOWN;
	a->greylisting = PT_UNKNOWN;
	a->spf_checked = PT_UNKNOWN;
	for (i = 0; i < PROBE_NVERSIONS; i++)
		a->versions[i].accepted = PT_UNKNOWN;
	for (i = 0; i < PROBE_NWEAK; i++)
		a->weak[i].accepted = PT_UNKNOWN;
}

/* A new MX host NAME of R (not yet there); NULL: out of memory. */
static struct probe_mx *
mx_add(struct probe_result *r, const char *name, int pref)
{
	struct probe_mx *v, *m;

	if ((v = reallocarray(r->mx, r->nmx + 1, sizeof(*v))) == NULL)
		return NULL;
	r->mx = v;
	m = &v[r->nmx];
	memset(m, 0, sizeof(*m));
	if ((m->name = strdup(name)) == NULL)
		return NULL;
	m->preference = pref;
	m->sts_match = PT_UNKNOWN;
	r->nmx++;
	return m;
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct probe_mx *x = a, *y = b;

	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The MX records of R->domain: the hosts by preference (RFC 5321 5.1),
 * RFC 7505's null MX, and without any MX the implicit one (the domain
 * itself) when it has an address.
 */
static int
dns_mx(struct resolver *res, struct probe_result *r)
{
	struct resolver_answer a, aa;
	struct { char *name; int pref; } cand[PROBE_MX_MAX * 4];
	ldns_pkt *p = NULL;
	ldns_rr_list *rrs = NULL;
	ldns_rr *rr;
	size_t i, j, n, ncand = 0;
	char *name, text[PROBE_TEXT_MAX];
	int pref, rc = -1, dup;

	if (resolver_query(res, r->domain, RESOLVER_MX, &p, &a) == -1)
		return -1;
	if (dnsq_set(&r->mx_q, r->domain, "MX", &a) == -1)
		goto out;
	if (a.status == RESOLVER_ANSWER && (a.rcode == RESOLVER_NOERROR ||
	    a.rcode == RESOLVER_NXDOMAIN))
		r->dnssec = a.ad ? PT_YES : PT_NO;
	if (p != NULL)
		rrs = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_MX,
		    LDNS_SECTION_ANSWER);
	n = rrs != NULL ? ldns_rr_list_rr_count(rrs) : 0;
	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_rd_count(rr) != 2)
			continue;
		pref = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		if ((name = resolver_name_text(ldns_rr_rdf(rr, 1))) == NULL)
			goto out;
		(void)snprintf(text, sizeof(text), "%d %s", pref, name);
		if (answer_add(&r->mx_q, text, n) == -1) {
			free(name);
			goto out;
		}
		/*
		 * RFC 7505 3: "." says the domain takes no mail; with other
		 * MX beside it (4.3 forbids that) no host is probed either:
		 * the answers show them.
		 */
		if (strcmp(name, ".") == 0) {
			r->null_mx = 1;
			free(name);
			continue;
		}
		for (dup = 0, j = 0; j < ncand; j++)
			if (strcmp(cand[j].name, name) == 0)
				dup = 1;
		if (dup || ncand == sizeof(cand) / sizeof(cand[0])) {
			free(name);
			continue;
		}
		cand[ncand].name = name;
		cand[ncand++].pref = pref;
	}
	if (ncand == 0 && !r->null_mx && a.status == RESOLVER_ANSWER &&
	    a.rcode == RESOLVER_NOERROR) {
		/* RFC 5321 5.1: no MX, an address: the domain is its host */
		memset(&aa, 0, sizeof(aa));
		if (resolver_lookup(res, r->domain, RESOLVER_A, &aa) == -1)
			goto out;
		if (aa.n == 0) {
			resolver_answer_clear(&aa);
			if (resolver_lookup(res, r->domain, RESOLVER_AAAA,
			    &aa) == -1)
				goto out;
		}
		if (aa.n > 0) {
			r->implicit_mx = 1;
			if (mx_add(r, r->domain, 0) == NULL) {
				resolver_answer_clear(&aa);
				goto out;
			}
		}
		resolver_answer_clear(&aa);
	}
	for (i = 0; i < ncand && !r->null_mx; i++) {
		if (mx_add(r, cand[i].name, cand[i].pref) == NULL)
			goto out;
	}
	if (r->nmx > 1)
		qsort(r->mx, r->nmx, sizeof(*r->mx), mx_cmp);
	/* the first PROBE_MX_MAX by preference are probed */
	while (r->nmx > PROBE_MX_MAX) {
		r->nmx--;
		free(r->mx[r->nmx].name);
	}
	rc = 0;
out:
	for (i = 0; i < ncand; i++)
		free(cand[i].name);
	ldns_rr_list_deep_free(rrs);
	ldns_pkt_free(p);
	resolver_answer_clear(&a);
	return rc;
}

static int
addr_add(struct probe_mx *m, const char *text, int family)
{
	struct probe_addr *v;
	size_t i;

	if (m->naddrs >= PROBE_ADDRS_MAX)
		return 0;
	for (i = 0; i < m->naddrs; i++)
		if (strcmp(m->addrs[i].addr, text) == 0)
			return 0;
	if ((v = reallocarray(m->addrs, m->naddrs + 1, sizeof(*v))) == NULL)
		return -1;
	m->addrs = v;
	addr_init(&v[m->naddrs]);
	if ((v[m->naddrs].addr = strdup(text)) == NULL)
		return -1;
	v[m->naddrs++].family = family;
	return 0;
}

/*
 * A and AAAA of M: both asked always (their status is a fact of the
 * zone), the addresses kept only of the families OPTS probes.
 */
static int
dns_addrs(struct resolver *res, const struct probe_opts *o,
    struct probe_mx *m)
{
	struct resolver_answer a;
	size_t i;
	int rc = 0;

	if (lookup(res, m->name, RESOLVER_A, "A", &a, &m->a_q) == -1)
		rc = -1;
	for (i = 0; rc == 0 && o->ipv4 && i < a.n; i++)
		rc = addr_add(m, a.data[i], 4);
	resolver_answer_clear(&a);
	if (rc == -1)
		return -1;
	if (lookup(res, m->name, RESOLVER_AAAA, "AAAA", &a, &m->aaaa_q) == -1)
		rc = -1;
	for (i = 0; rc == 0 && o->ipv6 && i < a.n; i++)
		rc = addr_add(m, a.data[i], 6);
	resolver_answer_clear(&a);
	return rc;
}

/* Lowercase hex of N bytes; NULL: out of memory. */
static char *
hex(const uint8_t *d, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char *s;
	size_t i;

	if ((s = malloc(n * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = hexd[d[i] >> 4];
		s[2 * i + 1] = hexd[d[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

/* TLSA at _25._tcp.NAME (RFC 7672 2.2), with its AD bit. */
static int
dns_tlsa(struct resolver *res, struct probe_mx *m)
{
	char qname[300], text[PROBE_TEXT_MAX];
	struct resolver_answer a;
	ldns_pkt *p = NULL;
	ldns_rr_list *rrs = NULL;
	ldns_rr *rr;
	struct probe_tlsa *t;
	size_t i, n;
	int rc = -1;

	(void)snprintf(qname, sizeof(qname), "_25._tcp.%s", m->name);
	if (resolver_query(res, qname, TYPE_TLSA, &p, &a) == -1)
		return -1;
	if (dnsq_set(&m->tlsa_q, qname, "TLSA", &a) == -1)
		goto out;
	if (p != NULL)
		rrs = ldns_pkt_rr_list_by_type(p, (ldns_rr_type)TYPE_TLSA,
		    LDNS_SECTION_ANSWER);
	n = rrs != NULL ? ldns_rr_list_rr_count(rrs) : 0;
	for (i = 0; i < n && m->ntlsa < PROBE_TLSA_MAX; i++) {
		rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_rd_count(rr) != 4 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 1 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 1)) != 1 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 1)
			continue;	/* malformed: no record */
		if (ldns_rdf_size(ldns_rr_rdf(rr, 3)) > TLSA_DATA_MAX) {
			(void)snprintf(text, sizeof(text),
			    "%u %u %u (%zu bytes: not kept)",
			    ldns_rdf_data(ldns_rr_rdf(rr, 0))[0],
			    ldns_rdf_data(ldns_rr_rdf(rr, 1))[0],
			    ldns_rdf_data(ldns_rr_rdf(rr, 2))[0],
			    ldns_rdf_size(ldns_rr_rdf(rr, 3)));
			if (answer_add(&m->tlsa_q, text, n) == -1)
				goto out;
			continue;
		}
		t = &m->tlsa[m->ntlsa];
		t->usage = ldns_rdf_data(ldns_rr_rdf(rr, 0))[0];
		t->selector = ldns_rdf_data(ldns_rr_rdf(rr, 1))[0];
		t->mtype = ldns_rdf_data(ldns_rr_rdf(rr, 2))[0];
		if ((t->data = hex(ldns_rdf_data(ldns_rr_rdf(rr, 3)),
		    ldns_rdf_size(ldns_rr_rdf(rr, 3)))) == NULL)
			goto out;
		m->ntlsa++;
		(void)snprintf(text, sizeof(text), "%d %d %d %s", t->usage,
		    t->selector, t->mtype, t->data);
		if (answer_add(&m->tlsa_q, text, n) == -1)
			goto out;
	}
	rc = 0;
out:
	ldns_rr_list_deep_free(rrs);
	ldns_pkt_free(p);
	resolver_answer_clear(&a);
	return rc;
}

/* The same address, whatever its text: 1, else 0. */
static int
same_addr(const char *x, const char *y, int family)
{
	unsigned char bx[16], by[16];
	int af = family == 6 ? AF_INET6 : AF_INET;

	return inet_pton(af, x, bx) == 1 && inet_pton(af, y, by) == 1 &&
	    memcmp(bx, by, family == 6 ? 16 : 4) == 0;
}

/*
 * PTR of A and forward confirmation: a PTR name whose A (or AAAA)
 * records hold the address.  Unknown when a lookup failed and none
 * confirmed.
 */
static int
dns_ptr(struct resolver *res, struct probe_addr *ad)
{
	char rev[128];
	struct resolver_answer a, f;
	size_t i, j;
	int failed = 0;

	if (resolver_reverse_name(ad->addr, rev, sizeof(rev)) == -1)
		return 0;
	if (lookup(res, rev, RESOLVER_PTR, "PTR", &a, &ad->ptr_q) == -1)
		return -1;
	if (a.n > 0 && set_bounded(&ad->ptr, a.data[0],
	    strlen(a.data[0])) == -1) {
		resolver_answer_clear(&a);
		return -1;
	}
	if (a.status != RESOLVER_ANSWER || (a.rcode != RESOLVER_NOERROR &&
	    a.rcode != RESOLVER_NXDOMAIN)) {
		resolver_answer_clear(&a);
		return 0;	/* unknown */
	}
	ad->fcrdns = PT_NO;
	for (i = 0; i < a.n && i < PTR_NAMES_MAX && ad->fcrdns != PT_YES;
	    i++) {
		if (resolver_lookup(res, a.data[i], ad->family == 6 ?
		    RESOLVER_AAAA : RESOLVER_A, &f) == -1) {
			resolver_answer_clear(&a);
			return -1;
		}
		if (f.status != RESOLVER_ANSWER ||
		    (f.rcode != RESOLVER_NOERROR &&
		    f.rcode != RESOLVER_NXDOMAIN))
			failed = 1;
		for (j = 0; j < f.n; j++)
			if (same_addr(f.data[j], ad->addr, ad->family))
				ad->fcrdns = PT_YES;
		resolver_answer_clear(&f);
	}
	if (ad->fcrdns == PT_NO && failed)
		ad->fcrdns = PT_UNKNOWN;
	resolver_answer_clear(&a);
	return 0;
}

/* ---- SPF (RFC 7208): the record, its all, syntax, lookup count ---- */

struct spf_walk {
	struct resolver	*res;
	int		 lookups;
	int		 fetched;	/* records fetched */
	char		*error;		/* the first ones, joined */
	const char	*stack[SPF_DEPTH_MAX + 1];	/* names expanded */
	int		 depth;
};

/* The error BEFORE ARG AFTER, ARG (the zone's) printable and cut short. */
static int
spf_error(struct spf_walk *w, const char *before, const char *arg,
    const char *after)
{
	char buf[PROBE_TEXT_MAX + 1], a[128], *p;

	(void)snprintf(a, sizeof(a), "%s", arg);
	for (p = a; *p != '\0'; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	(void)snprintf(buf, sizeof(buf), "%s%s%s", before, a, after);
	return add_error(&w->error, buf);
}

/* "v=spf1" alone or followed by a space (RFC 7208 4.5). */
static int
is_spf(const char *s)
{
	return has_tag(s, "v=spf1", " ");
}

/*
 * The v=spf1 records among the TXT of NAME: *COUNT, and the first in
 * *REC (the caller's), NULL when none.  The answer's status in *A.
 */
static int
spf_fetch(struct resolver *res, const char *name, char **rec, int *count,
    struct resolver_answer *a)
{
	size_t i;

	*rec = NULL;
	*count = 0;
	if (resolver_lookup(res, name, RESOLVER_TXT, a) == -1)
		return -1;
	for (i = 0; i < a->n; i++) {
		if (!is_spf(a->data[i]))
			continue;
		if ((*count)++ == 0 && (*rec = strdup(a->data[i])) == NULL)
			return -1;
	}
	return 0;
}

/*
 * A domain-spec (RFC 7208 7.1, 4.8): macro-string and domain-end.  Only
 * its shape is checked: printable, no space, a "%" only as a macro,
 * "%%", "%_" or "%-", and without macros a last label that is not all
 * digits.
 */
static int
domain_spec_ok(const char *s, size_t n)
{
	size_t i, last = 0;
	int macro = 0, alpha = 0;

	if (n == 0 || n > 253 + 64)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
		if (s[i] != '%')
			continue;
		macro = 1;
		if (i + 1 >= n)
			return 0;
		if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			i++;
			continue;
		}
		if (s[i + 1] != '{' || i + 3 >= n ||
		    strchr("slodiphcrtvSLODIPHCRTV", s[i + 2]) == NULL)
			return 0;
		for (i += 3; i < n && s[i] != '}'; i++)
			;
		if (i == n)
			return 0;
	}
	if (macro)
		return 1;
	if (s[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		if (s[i] == '.')
			last = i + 1;
	if (last >= n)
		return 0;
	for (i = last; i < n; i++)
		if (isalpha((unsigned char)s[i]) || s[i] == '-')
			alpha = 1;
	return alpha;
}

/* "/N" with 0 <= N <= MAX at S (N bytes): 1, else 0. */
static int
cidr_ok(const char *s, size_t n, int max)
{
	size_t i;
	int v = 0;

	if (n < 2 || n > 4 || s[0] != '/' || (s[1] == '0' && n > 2))
		return 0;
	for (i = 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max;
}

/* [":" domain-spec] [ip4-cidr-length] ["/" ip6-cidr-length] (a, mx). */
static int
dual_ok(const char *s, size_t n)
{
	const char *slash;
	size_t dn;

	slash = memchr(s, '/', n);
	dn = slash != NULL ? (size_t)(slash - s) : n;
	if (dn > 0 && (s[0] != ':' || !domain_spec_ok(s + 1, dn - 1)))
		return 0;
	if (slash == NULL)
		return 1;
	s += dn;
	n -= dn;
	/* "/4" "//6" "/4//6" */
	if (n >= 2 && s[1] == '/')
		return cidr_ok(s + 1, n - 1, 128);
	slash = memchr(s + 1, '/', n - 1);
	if (slash == NULL)
		return cidr_ok(s, n, 32);
	if ((size_t)(slash - s) + 1 >= n || slash[1] != '/')
		return 0;
	return cidr_ok(s, (size_t)(slash - s), 32) &&
	    cidr_ok(slash + 1, n - (size_t)(slash - s) - 1, 128);
}

static int
ip_ok(const char *s, size_t n, int family)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char b[16];
	const char *slash = memchr(s, '/', n);
	size_t an = slash != NULL ? (size_t)(slash - s) : n;

	if (an == 0 || an >= sizeof(buf))
		return 0;
	memcpy(buf, s, an);
	buf[an] = '\0';
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, buf, b) != 1)
		return 0;
	return slash == NULL || cidr_ok(slash, n - an, family == 6 ? 128 : 32);
}

static int spf_walk_name(struct spf_walk *, const char *name,
    const char *why, char **all);

/* "NAME:..." with a domain-spec: the name to follow, or NULL (macros). */
static int
follow(struct spf_walk *w, const char *spec, size_t n, const char *why)
{
	char name[320];

	if (memchr(spec, '%', n) != NULL || n >= sizeof(name))
		return 0;	/* a macro needs the message: not followed */
	memcpy(name, spec, n);
	name[n] = '\0';
	return spf_walk_name(w, name, why, NULL);
}

/*
 * The terms of REC (RFC 7208 4.6.1, 12): syntax, DNS-querying terms
 * counted (4.6.4), includes followed, then the redirect when no "all"
 * (6.1).  The "all" term's qualifier into *ALL when ALL is not NULL.
 */
static int
spf_walk_record(struct spf_walk *w, const char *rec, char **all)
{
	const char *s = rec + strlen("v=spf1"), *t, *e;
	char redirect[320], term[64];
	size_t n, len;
	int nterms = 0, saw_all = 0, nredirect = 0, nexp = 0, qual;
	char q;

	redirect[0] = '\0';
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != ' '; e++)
			;
		n = (size_t)(e - s);
		t = s;
		s = e;
		if (++nterms > SPF_TERMS_MAX) {
			if (spf_error(w, "more than ", "256", " terms") == -1)
				return -1;
			break;
		}
		len = n < sizeof(term) - 1 ? n : sizeof(term) - 1;
		memcpy(term, t, len);
		term[len] = '\0';
		q = '+';
		qual = 0;
		if (strchr("+-~?", *t) != NULL) {
			q = *t++;
			n--;
			qual = 1;
		}
#define MECH(m)	(n >= sizeof(m) - 1 && strncasecmp(t, m, sizeof(m) - 1) == 0)
		if (n == 3 && strncasecmp(t, "all", 3) == 0) {
			saw_all = 1;
			if (all != NULL && *all == NULL) {
				char qa[5] = { q, 'a', 'l', 'l', '\0' };

				if (set_str(all, qa) == -1)
					return -1;
			}
		} else if (MECH("include:")) {
			w->lookups++;
			if (!domain_spec_ok(t + 8, n - 8)) {
				if (spf_error(w, "bad term '", term, "'") == -1)
					return -1;
			} else if (follow(w, t + 8, n - 8, "include") == -1)
				return -1;
		} else if ((MECH("a") && (n == 1 || t[1] == ':' ||
		    t[1] == '/')) || (MECH("mx") && (n == 2 || t[2] == ':' ||
		    t[2] == '/'))) {
			w->lookups++;
			len = tolower((unsigned char)t[0]) == 'a' ? 1 : 2;
			if (!dual_ok(t + len, n - len) &&
			    spf_error(w, "bad term '", term, "'") == -1)
				return -1;
		} else if (MECH("ptr") && (n == 3 || t[3] == ':')) {
			w->lookups++;
			if (n > 3 && !domain_spec_ok(t + 4, n - 4) &&
			    spf_error(w, "bad term '", term, "'") == -1)
				return -1;
		} else if (MECH("exists:")) {
			w->lookups++;
			if (!domain_spec_ok(t + 7, n - 7) &&
			    spf_error(w, "bad term '", term, "'") == -1)
				return -1;
		} else if (MECH("ip4:") || MECH("ip6:")) {
			if (!ip_ok(t + 4, n - 4, t[2] == '6' ? 6 : 4) &&
			    spf_error(w, "bad term '", term, "'") == -1)
				return -1;
		} else if (!qual && MECH("redirect=")) {
			if (++nredirect > 1 || !domain_spec_ok(t + 9, n - 9) ||
			    n - 9 >= sizeof(redirect)) {
				if (spf_error(w, nredirect > 1 ?
				    "two redirect= ('" : "bad term '", term,
				    "'") == -1)
					return -1;
			} else {
				memcpy(redirect, t + 9, n - 9);
				redirect[n - 9] = '\0';
			}
		} else if (!qual && MECH("exp=")) {
			if ((++nexp > 1 || !domain_spec_ok(t + 4, n - 4)) &&
			    spf_error(w, nexp > 1 ? "two exp= ('" :
			    "bad term '", term, "'") == -1)
				return -1;
		} else {
			/* RFC 7208 12: unknown-modifier = name "=" macro-string */
			size_t i;
			int ok = !qual && n > 0 && isalpha((unsigned char)t[0]);

			for (i = 0; ok && i < n && t[i] != '='; i++)
				ok = isalnum((unsigned char)t[i]) ||
				    t[i] == '-' || t[i] == '_' || t[i] == '.';
			if ((!ok || i == n) &&
			    spf_error(w, "bad term '", term, "'") == -1)
				return -1;
		}
#undef MECH
	}
	/* RFC 7208 6.1: redirect is ignored when the record has an all */
	if (redirect[0] != '\0' && !saw_all) {
		w->lookups++;
		if (memchr(redirect, '%', strlen(redirect)) == NULL &&
		    spf_walk_name(w, redirect, "redirect", all) == -1)
			return -1;
	}
	return 0;
}

/* NAME's record, walked (an include's or a redirect's target). */
static int
spf_walk_name(struct spf_walk *w, const char *name, const char *why,
    char **all)
{
	struct resolver_answer a;
	char *rec = NULL, before[32], after[64];
	int i, count, rc;

	for (i = 0; i < w->depth; i++)
		if (strcasecmp(w->stack[i], name) == 0)
			return spf_error(w, "loop: ", name, " includes itself");
	if (w->depth >= SPF_DEPTH_MAX)
		return spf_error(w, "includes nested too deep at ", name, "");
	if (w->fetched >= SPF_RECORDS_MAX)
		return spf_error(w, "too many records to follow at ", name,
		    "");
	w->fetched++;
	(void)snprintf(before, sizeof(before), "%s ", why);
	if (spf_fetch(w->res, name, &rec, &count, &a) == -1) {
		free(rec);
		resolver_answer_clear(&a);
		return -1;
	}
	if (a.status != RESOLVER_ANSWER || (a.rcode != RESOLVER_NOERROR &&
	    a.rcode != RESOLVER_NXDOMAIN)) {
		/* RFC 7208 5.2: a temperror of the included lookup */
		(void)snprintf(after, sizeof(after), ": %s",
		    resolver_status_name(&a));
		rc = spf_error(w, before, name, after);
	} else if (count == 0) {
		/* RFC 7208 5.2, 6.1: no record there is a permerror */
		rc = spf_error(w, before, name, ": no SPF record");
	} else if (count > 1) {
		(void)snprintf(after, sizeof(after), ": %d SPF records", count);
		rc = spf_error(w, before, name, after);
	} else {
		w->stack[w->depth++] = name;
		rc = spf_walk_record(w, rec, all);
		w->depth--;
	}
	free(rec);
	resolver_answer_clear(&a);
	return rc;
}

static int
dns_spf(struct resolver *res, struct probe_result *r)
{
	struct spf_walk w;
	struct resolver_answer a;
	char *rec = NULL, buf[64];
	int count, rc = -1;

	memset(&w, 0, sizeof(w));
	w.res = res;
	if (spf_fetch(res, r->domain, &rec, &count, &a) == -1)
		goto out;
	r->spf.records = count;
	if (a.status != RESOLVER_ANSWER || (a.rcode != RESOLVER_NOERROR &&
	    a.rcode != RESOLVER_NXDOMAIN)) {
		(void)snprintf(buf, sizeof(buf), "TXT lookup: %s",
		    resolver_status_name(&a));
		rc = set_str(&r->spf.error, buf);
		goto out;
	}
	if (rec == NULL) {
		rc = 0;
		goto out;
	}
	if (set_bounded(&r->spf.record, rec, strlen(rec)) == -1)
		goto out;
	if (count > 1) {
		/* RFC 7208 4.5: more than one record is a permerror */
		(void)snprintf(buf, sizeof(buf), "%d v=spf1 records", count);
		rc = set_str(&r->spf.error, buf);
		goto out;
	}
	w.stack[w.depth++] = r->domain;
	w.fetched = 1;
	if (spf_walk_record(&w, rec, &r->spf.all) == -1)
		goto out;
	r->spf.lookups = w.lookups;
	if (w.lookups > SPF_LOOKUP_LIMIT) {
		(void)snprintf(buf, sizeof(buf),
		    "%d DNS lookups, more than %d", w.lookups,
		    SPF_LOOKUP_LIMIT);
		if (add_error(&w.error, buf) == -1)
			goto out;
	}
	if (w.error != NULL && set_str(&r->spf.error, w.error) == -1)
		goto out;
	rc = 0;
out:
	free(w.error);
	free(rec);
	resolver_answer_clear(&a);
	return rc;
}

/* ---- DMARC, TLS-RPT, MTA-STS records ---- */

/*
 * The records among NAME's TXT that start with VERSION: *REC the first
 * (whole: cut_text() once parsed), and an error into *ERR when there are
 * several, or when the lookup failed.
 */
static int
one_txt(struct resolver *res, const char *name, const char *version,
    char **rec, char **err)
{
	struct resolver_answer a;
	size_t i, found = 0;
	char buf[128];
	int rc = 0;

	if (resolver_lookup(res, name, RESOLVER_TXT, &a) == -1)
		return -1;
	if (a.status != RESOLVER_ANSWER || (a.rcode != RESOLVER_NOERROR &&
	    a.rcode != RESOLVER_NXDOMAIN)) {
		(void)snprintf(buf, sizeof(buf), "TXT lookup: %s",
		    resolver_status_name(&a));
		rc = set_str(err, buf);
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		if (!has_tag(a.data[i], version, " ;"))
			continue;
		if (found++ == 0 && set_str(rec, a.data[i]) == -1) {
			rc = -1;
			goto out;
		}
	}
	if (found > 1) {
		(void)snprintf(buf, sizeof(buf), "%zu %s records: none applies",
		    found, version);
		rc = set_str(err, buf);
	}
out:
	resolver_answer_clear(&a);
	return rc;
}

/*
 * RFC 7489 6.6.3 step 3: without a record at _dmarc.DOMAIN, the one of
 * DOMAIN's Organizational Domain (3.2), when that is another name.
 */
static int
dmarc_of_org(struct resolver *res, struct probe_result *r)
{
	struct probe_dmarc *d = &r->dmarc;
	struct dmarc *dm;
	char org[DNSNAME_MAX + 1], name[DNSNAME_MAX + 8];
	int rc;

	if ((dm = dmarc_new(resolver_lookup, res)) == NULL)
		return -1;
	rc = dmarc_org_domain(dm, r->domain, org, sizeof(org));
	dmarc_free(dm);
	if (rc == -1 || strcmp(org, r->domain) == 0)
		return 0;
	(void)snprintf(name, sizeof(name), "_dmarc.%s", org);
	if (one_txt(res, name, "v=DMARC1", &d->record, &d->error) == -1)
		return -1;
	if (d->record == NULL && d->error == NULL)
		return 0;
	return set_str(&d->org_domain, org);
}

/* RFC 7489 6.3 via dmarc.c's parser; one record only (6.6.3). */
static int
dns_dmarc(struct resolver *res, struct probe_result *r)
{
	struct probe_dmarc *d = &r->dmarc;
	struct dmarc_policy pol;
	char name[300], buf[PROBE_TEXT_MAX];
	int k, rc = -1;

	(void)snprintf(name, sizeof(name), "_dmarc.%s", r->domain);
	if (one_txt(res, name, "v=DMARC1", &d->record, &d->error) == -1)
		return -1;
	if (d->record == NULL && d->error == NULL &&
	    dmarc_of_org(res, r) == -1)
		return -1;
	if (d->record == NULL)
		return 0;
	memset(&pol, 0, sizeof(pol));
	if ((k = dmarc_parse(d->record, &pol)) == -1)
		return -1;
	/* a subdomain takes the Organizational Domain's sp= (6.6.3 step 5) */
	if (set_str(&d->policy, d->org_domain != NULL && pol.sp != NULL ?
	    pol.sp : pol.p) == -1 ||
	    set_str(&d->subdomain_policy, pol.sp) == -1 ||
	    set_str(&d->rua, pol.rua) == -1 || set_str(&d->ruf, pol.ruf) == -1)
		goto out;
	d->pct = pol.pct;
	if (k == DMARC_INVALID && add_error(&d->error,
	    "no valid p= and no valid rua= (RFC 7489 6.6.3)") == -1)
		goto out;
	/* dmarc_parse() took an invalid p= with a valid rua= as p=none */
	if (pol.invalid != NULL) {
		(void)snprintf(buf, sizeof(buf), "invalid tags ignored: %s",
		    pol.invalid);
		if (add_error(&d->error, buf) == -1)
			goto out;
	}
	rc = 0;
out:
	cut_text(d->record);
	dmarc_policy_clear(&pol);
	return rc;
}

/* The next "key=value" of a ";"-separated record into K and V (bounded). */
static int
next_field(const char **sp, char *k, size_t klen, char *v, size_t vlen)
{
	const char *s = *sp, *e, *eq;
	size_t n;

	while (*s == ';' || *s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 0;
	for (e = s; *e != '\0' && *e != ';'; e++)
		;
	*sp = e;
	eq = memchr(s, '=', (size_t)(e - s));
	n = eq != NULL ? (size_t)(eq - s) : (size_t)(e - s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	(void)snprintf(k, klen, "%.*s", (int)n, s);
	v[0] = '\0';
	if (eq != NULL) {
		for (s = eq + 1; *s == ' ' || *s == '\t'; s++)
			;
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		(void)snprintf(v, vlen, "%.*s", (int)n, s);
	}
	return eq != NULL ? 1 : 2;
}

/* RFC 8460 3: v=TLSRPTv1; rua=URI[,URI] with mailto: or https: URIs. */
static int
dns_tlsrpt(struct resolver *res, struct probe_result *r)
{
	struct probe_tlsrpt *t = &r->tlsrpt;
	char name[300], k[64], v[PROBE_TEXT_MAX + 1], *u, *save;
	const char *s;
	int f;

	(void)snprintf(name, sizeof(name), "_smtp._tls.%s", r->domain);
	if (one_txt(res, name, "v=TLSRPTv1", &t->record, &t->error) == -1)
		return -1;
	if (t->record == NULL)
		return 0;
	s = t->record + strlen("v=TLSRPTv1");
	while ((f = next_field(&s, k, sizeof(k), v, sizeof(v))) != 0) {
		if (f == 2) {
			if (add_error(&t->error, "a field without '='") == -1)
				return -1;
			continue;
		}
		if (strcmp(k, "rua") != 0)
			continue;	/* other extensions are allowed */
		if (t->rua != NULL) {
			if (add_error(&t->error, "two rua=") == -1)
				return -1;
			continue;
		}
		if (set_str(&t->rua, v) == -1)
			return -1;
		for (u = strtok_r(v, ",", &save); u != NULL;
		    u = strtok_r(NULL, ",", &save)) {
			while (*u == ' ')
				u++;
			if (strncasecmp(u, "mailto:", 7) != 0 &&
			    strncasecmp(u, "https:", 6) != 0 &&
			    add_error(&t->error,
			    "a rua URI neither mailto: nor https:") == -1)
				return -1;
		}
	}
	if (t->rua == NULL && add_error(&t->error, "no rua=") == -1)
		return -1;
	cut_text(t->record);
	return 0;
}

/* RFC 8461 3.1: v=STSv1; id=1*32(ALPHA / DIGIT). */
static int
dns_sts(struct resolver *res, struct probe_result *r)
{
	struct probe_sts *st = &r->sts;
	char name[300], k[64], v[PROBE_TEXT_MAX + 1];
	const char *s;
	size_t i;
	int f, ok;

	(void)snprintf(name, sizeof(name), "_mta-sts.%s", r->domain);
	if (one_txt(res, name, "v=STSv1", &st->txt, &st->txt_error) == -1)
		return -1;
	if (st->txt == NULL)
		return 0;
	s = st->txt + strlen("v=STSv1");
	while ((f = next_field(&s, k, sizeof(k), v, sizeof(v))) != 0) {
		if (f == 2 || strcmp(k, "id") != 0)
			continue;
		if (st->id != NULL) {
			if (add_error(&st->txt_error, "two id=") == -1)
				return -1;
			continue;
		}
		if (set_str(&st->id, v) == -1)
			return -1;
		ok = v[0] != '\0' && strlen(v) <= 32;
		for (i = 0; v[i] != '\0'; i++)
			if (!isalnum((unsigned char)v[i]))
				ok = 0;
		if (!ok && add_error(&st->txt_error,
		    "id= not 1 to 32 letters and digits") == -1)
			return -1;
	}
	if (st->id == NULL && add_error(&st->txt_error, "no id=") == -1)
		return -1;
	cut_text(st->txt);
	return 0;
}

/* A deadline of RES tightened to MS from now; deadline_pop() undoes it. */
struct deadline {
	uint64_t	left;		/* the one before: UINT64_MAX none */
	struct timespec	start;
};

static void
deadline_push(struct resolver *res, uint64_t ms, struct deadline *d)
{
	(void)clock_gettime(CLOCK_MONOTONIC, &d->start);
	d->left = resolver_time_left(res);
	if (d->left == UINT64_MAX || ms < d->left)
		resolver_set_deadline(res, ms);
}

static void
deadline_pop(struct resolver *res, const struct deadline *d)
{
	struct timespec now;
	uint64_t spent;

	if (d->left == UINT64_MAX) {
		resolver_clear_deadline(res);
		return;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (uint64_t)(now.tv_sec - d->start.tv_sec) * 1000 +
	    (uint64_t)((now.tv_nsec - d->start.tv_nsec) / 1000000);
	resolver_set_deadline(res, d->left > spent ? d->left - spent : 0);
}

/*
 * A zone that answers slowly bounds the whole step by OPTS->deadline_ms
 * (as one address's steps are), and the SPF walk by OPTS->timeout_ms:
 * past them, the lookups left fail at once with status "timeout".
 */
int
probe_dns(struct resolver *res, const struct probe_opts *o,
    struct probe_result *r)
{
	struct deadline all, spf;
	size_t i, j;
	int rc = -1;

	deadline_push(res, o->deadline_ms, &all);
	if (dns_mx(res, r) == -1)
		goto out;
	for (i = 0; i < r->nmx; i++) {
		if (dns_addrs(res, o, &r->mx[i]) == -1 ||
		    dns_tlsa(res, &r->mx[i]) == -1)
			goto out;
		for (j = 0; j < r->mx[i].naddrs; j++)
			if (dns_ptr(res, &r->mx[i].addrs[j]) == -1)
				goto out;
	}
	deadline_push(res, o->timeout_ms, &spf);
	rc = dns_spf(res, r);
	deadline_pop(res, &spf);
	if (rc == -1 || dns_dmarc(res, r) == -1 ||
	    dns_tlsrpt(res, r) == -1 || dns_sts(res, r) == -1) {
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	deadline_pop(res, &all);
	return rc;
}
