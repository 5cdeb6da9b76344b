/*
 * The zone dns.<base> (built once from the config), the zones read from
 * zone files ([dns] zones: the *-bogus and *-dns6 children, pre-signed),
 * and the answer to one query: pure, any thread, no sockets and no store
 * (dnsd.c serves it and opens the files).
 * RFC 1034, RFC 1035 4.1, RFC 2181 9 (TC), RFC 2308 (negative answers),
 * RFC 3225 (DO), RFC 4035 3.1 (signed answers, NSEC proofs), RFC 6891
 * (EDNS), RFC 9156 (QNAME minimisation, observed).
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "catalog.h"
#include "config.h"
#include "dns_answer.h"
#include "dnsname.h"
#include "log.h"
#include "netaddr.h"
#include "records.h"
#include "testid.h"

#define DNS_HEADER		12	/* RFC 1035 4.1.1 */
#define DNS_UDP_MIN		512	/* RFC 1035 4.2.1, RFC 6891 6.2.5 */
#define DNS_EDNS_MAX		1232	/* ours: DNS flag day 2020 */
#define DNS_TTL			300
#define DNS_NEG_TTL		60	/* SOA TTL and minimum: RFC 2308 5 */
#define DNS_RCODE_BADVERS	16	/* RFC 6891 6.1.3 (extended RCODE) */
#define DNS_LABELS_MAX		128	/* a 255-byte wire name has fewer */
#define DNS_FILE_RRS_MAX	10000	/* records of one zone file */
#define DNS_FILE_ZONES_MAX	16	/* zone files */
#define DNS_WIRE_NAME_MAX	255	/* RFC 1035 3.1 */
#define DNS_POINTERS_MAX	16	/* compression hops in one name */
#define DNS_RR_FIXED		10	/* type, class, TTL, RDLENGTH */
#define DNS_COMPRESS_BELOW	4	/* labels below the apex compressed */

/*
 * A zone read from a zone file, served as it is (signatures included).
 * Owns everything.  Exact matches only: no wildcards, no delegations
 * (dns_answer_zone_add() refuses both), so a linear search of at most
 * DNS_FILE_RRS_MAX records answers every name.
 */
struct file_zone {
	char			 challenge[64];	/* the catalogue's name */
	ldns_rdf		*apex;		/* owned */
	int			 ipv6_only;	/* answered on IPv6 only */
	ldns_rr			*soa;		/* borrowed from rrs */
	ldns_rr_list		*rrs;		/* owned: every record */
	size_t			 max_labels;	/* of the deepest owner */
};

/*
 * The zone dns.<base>.  Immutable once built; owns everything.  The
 * owners of the template records are replaced by the name as it was asked
 * for in each answer (0x20 resolvers compare case).
 */
struct dns_answer_zone {
	char			 apex[DNSNAME_MAX + 1];	/* lowercase */
	ldns_rdf		*apex_rdf;	/* owned */
	size_t			 apex_labels;
	ldns_rr			*soa;		/* owned */
	ldns_rr			*ns;		/* owned */
	ldns_rr			*tlsrpt;	/* owned: _smtp._tls TXT */
	ldns_rr_list		*ns_addrs;	/* owned: ns.<apex> A, AAAA */
	ldns_rr_list		*mx_addrs;	/* owned: the MX's A, AAAA */
	enum dns_truncate	 truncate;
	struct file_zone	 files[DNS_FILE_ZONES_MAX];	/* owned */
	size_t			 nfiles;
};

/* The names of the zone (docs/design-notes.md); NODE_NONE is NXDOMAIN. */
enum node {
	NODE_OUTSIDE,	/* not in dns.<base>: REFUSED */
	NODE_APEX,	/* dns.<base>: SOA, NS */
	NODE_NS,	/* ns.dns.<base>: A, AAAA of [dns] */
	NODE_TEST,	/* <id>.dns.<base>: MX 10 mx-<id>.dns.<base> */
	NODE_TEST_MX,	/* mx-<id>.dns.<base>: A, AAAA of the dns MX host */
	NODE_TEST_TLS,	/* _tls.<id>.dns.<base>: empty non-terminal */
	NODE_TEST_TLSRPT, /* _smtp._tls.<id>.dns.<base>: TXT TLS-RPT */
	NODE_NONE,
	NODE_FILE	/* in a zone read from a file: q->file */
};

/* One query being answered (NSD's struct query).  Owns qrr. */
struct query {
	const struct dns_answer_zone *zone;
	const struct file_zone	*file;		/* NODE_FILE: its zone */
	const uint8_t		*wire;
	size_t			 len;
	int			 tcp;
	int			 slip;		/* DNS_ANSWER_SLIP */
	size_t			 cap;		/* room in out */
	size_t			 limit;		/* bytes the answer may take */
	uint16_t		 id;
	uint8_t			 opcode;
	int			 rd, cd;
	ldns_rr			*qrr;		/* owned: the question */
	int			 edns;
	int			 do_bit;
	unsigned		 edns_version;
	enum node		 node;
	size_t			 rel;		/* labels below the apex */
	char			 test_id[TESTID_LEN + 1];	/* "" if none */
	uint8_t			*out;
	size_t			*outlen;
	struct dnsq_rec		*rec;
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ---- the zone ---------------------------------------------------- */

/* An A or AAAA record OWNER -> the address of LA; unspecified skipped. */
static int
zone_add_addr(ldns_rr_list *list, const char *owner,
    const struct listen_addr *la, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&la->ss;
	char addr[INET6_ADDRSTRLEN], text[DNSNAME_MAX + 128];
	ldns_rr *rr = NULL;
	int n;

	if (netaddr_is_unspecified(sa))
		return 0;
	if (netaddr_text(sa, addr, sizeof(addr), NULL, NULL) == -1) {
		snprintf(err, errlen, "dns: %s: not an IP address", la->text);
		return -1;
	}
	n = snprintf(text, sizeof(text), "%s. %d IN %s %s", owner, DNS_TTL,
	    la->ss.ss_family == AF_INET ? "A" : "AAAA", addr);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "dns: cannot make the record '%s'", text);
		return -1;
	}
	/* the same address on several ports is one record */
	if (ldns_rr_list_contains_rr(list, rr)) {
		ldns_rr_free(rr);
		return 0;
	}
	if (!ldns_rr_list_push_rr(list, rr)) {
		ldns_rr_free(rr);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
zone_rr(ldns_rr **rr, const char *text, char *err, size_t errlen)
{
	if (ldns_rr_new_frm_str(rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "dns: cannot make the record '%s'", text);
		return -1;
	}
	return 0;
}

/*
 * The A and AAAA records of the dns challenge's MX (OWNER) into LIST, as
 * mailscope zones publishes a challenge's MX (zones_content.c): per
 * family, the challenge's own addresses on its host (challenge_listen
 * = dns ...), else the host's shared ones, so that the address a sender
 * connects to names the challenge when the config gives it one.
 */
static int
zone_add_mx_addrs(ldns_rr_list *list, const struct config *cfg,
    const char *owner, char *err, size_t errlen)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	const struct catalog_challenge *ch;
	const struct host_conf *h;
	size_t i, k;
	int own;

	if ((ch = catalog_challenge("dns")) == NULL ||
	    (h = config_host(cfg, ch->hosts[0])) == NULL)
		return 0;
	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		if ((ch->family == MX_A && fams[k] != AF_INET) ||
		    (ch->family == MX_AAAA && fams[k] != AF_INET6))
			continue;
		own = config_challenge_naddr(h, ch->name, fams[k]) > 0;
		for (i = 0; own && i < h->nchlisten; i++)
			if (strcmp(h->chlisten[i].challenge, ch->name) == 0 &&
			    h->chlisten[i].addr.ss.ss_family == fams[k] &&
			    zone_add_addr(list, owner, &h->chlisten[i].addr,
			    err, errlen) == -1)
				return -1;
		for (i = 0; !own && i < h->nlisten; i++)
			if (h->listen[i].ss.ss_family == fams[k] &&
			    zone_add_addr(list, owner, &h->listen[i], err,
			    errlen) == -1)
				return -1;
	}
	return 0;
}

struct dns_answer_zone *
dns_answer_zone_new(const struct config *cfg, char *err, size_t errlen)
{
	struct dns_answer_zone *z;
	char text[3 * (DNSNAME_MAX + 1) + 128], owner[DNSNAME_MAX + 8];
	size_t i;
	int n;

	if ((z = calloc(1, sizeof(*z))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->truncate = cfg->dns.truncate;
	/* the longest name of the zone is _smtp._tls.<id>.dns.<base> */
	n = snprintf(z->apex, sizeof(z->apex), "dns.%s", cfg->base_domain);
	if (n < 0 || (size_t)n + 12 + TESTID_LEN > DNSNAME_MAX) {
		snprintf(err, errlen, "dns: base_domain too long for "
		    "_smtp._tls.<id>.dns.%s", cfg->base_domain);
		dns_answer_zone_free(z);
		return NULL;
	}
	for (i = 0; z->apex[i] != '\0'; i++)
		z->apex[i] = (char)lower((unsigned char)z->apex[i]);
	if ((z->apex_rdf = ldns_dname_new_frm_str(z->apex)) == NULL ||
	    (z->ns_addrs = ldns_rr_list_new()) == NULL ||
	    (z->mx_addrs = ldns_rr_list_new()) == NULL) {
		snprintf(err, errlen, "dns: cannot make the zone %s", z->apex);
		dns_answer_zone_free(z);
		return NULL;
	}
	z->apex_labels = ldns_dname_label_count(z->apex_rdf);

	/* No secondaries and no transfers: a constant serial. */
	snprintf(text, sizeof(text), "%s. %d IN SOA ns.%s. hostmaster.%s. "
	    "1 3600 600 86400 %d", z->apex, DNS_NEG_TTL, z->apex,
	    cfg->base_domain, DNS_NEG_TTL);
	if (zone_rr(&z->soa, text, err, errlen) == -1) {
		dns_answer_zone_free(z);
		return NULL;
	}
	snprintf(text, sizeof(text), "%s. %d IN NS ns.%s.", z->apex, DNS_TTL,
	    z->apex);
	if (zone_rr(&z->ns, text, err, errlen) == -1) {
		dns_answer_zone_free(z);
		return NULL;
	}
	/*
	 * RFC 8460 3: every challenge domain publishes TLS-RPT, the static
	 * zones as zones_content.c writes it; the owner is replaced.
	 */
	snprintf(text, sizeof(text), "%s. %d IN TXT \"v=TLSRPTv1; "
	    "rua=mailto:" CATALOG_TLSRPT_LOCAL "@%s\"", z->apex, DNS_TTL,
	    cfg->base_domain);
	if (zone_rr(&z->tlsrpt, text, err, errlen) == -1) {
		dns_answer_zone_free(z);
		return NULL;
	}
	snprintf(owner, sizeof(owner), "ns.%s", z->apex);
	for (i = 0; i < cfg->dns.nlisten; i++)
		if (zone_add_addr(z->ns_addrs, owner, &cfg->dns.listen[i], err,
		    errlen) == -1) {
			dns_answer_zone_free(z);
			return NULL;
		}
	/* the owner is replaced by mx-<id>.<apex> as asked */
	snprintf(owner, sizeof(owner), CATALOG_TEST_MX_PREFIX "%s", z->apex);
	if (zone_add_mx_addrs(z->mx_addrs, cfg, owner, err, errlen) == -1) {
		dns_answer_zone_free(z);
		return NULL;
	}
	return z;
}

void
dns_answer_zone_free(struct dns_answer_zone *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->nfiles; i++) {
		ldns_rdf_deep_free(z->files[i].apex);
		ldns_rr_list_deep_free(z->files[i].rrs);
	}
	ldns_rdf_deep_free(z->apex_rdf);
	ldns_rr_free(z->soa);
	ldns_rr_free(z->ns);
	ldns_rr_free(z->tlsrpt);
	ldns_rr_list_deep_free(z->ns_addrs);
	ldns_rr_list_deep_free(z->mx_addrs);
	free(z);
}

const char *
dns_answer_zone_apex(const struct dns_answer_zone *z)
{
	return z->apex;
}

/* A file_zone check failed: "FILE: error: WHAT OWNER" into ERR; -1. */
static int
file_error(const char *file, const char *what, const ldns_rdf *owner,
    char *err, size_t errlen)
{
	char *s = owner != NULL ? ldns_rdf2str(owner) : NULL;

	snprintf(err, errlen, "%s: error: %s%s%s", file, what,
	    s != NULL ? " " : "", s != NULL ? s : "");
	free(s);
	return -1;
}

/*
 * The records of the zone file FP (apex ORIGIN) into RRS, $ORIGIN and
 * $TTL followed, as ldns_zone_new_frm_fp_l() reads them (which leaks the
 * SOA on a syntax error after it, ldns 1.8).  0, or -1 with ERR.
 */
static int
file_read(FILE *fp, const ldns_rdf *origin, const char *file,
    ldns_rr_list *rrs, char *err, size_t errlen)
{
	ldns_rdf *orig, *prev = NULL;
	ldns_rr *rr = NULL;
	ldns_status st = LDNS_STATUS_OK;
	uint32_t ttl = DNS_TTL;
	int line = 0;		/* ldns counts the lines it has ended */

	if ((orig = ldns_rdf_clone(origin)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (st == LDNS_STATUS_OK && !feof(fp)) {
		st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &orig, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			st = LDNS_STATUS_OK;
			continue;
		}
		if (st != LDNS_STATUS_OK)
			break;
		if (ldns_rr_list_rr_count(rrs) >= DNS_FILE_RRS_MAX) {
			ldns_rr_free(rr);
			st = LDNS_STATUS_ERR;
			snprintf(err, errlen, "%s:%d: error: more than %d records",
			    file, line, DNS_FILE_RRS_MAX);
			break;
		}
		if (!ldns_rr_list_push_rr(rrs, rr)) {
			ldns_rr_free(rr);
			st = LDNS_STATUS_MEM_ERR;
		}
	}
	ldns_rdf_deep_free(orig);
	ldns_rdf_deep_free(prev);
	if (st == LDNS_STATUS_ERR)
		return -1;
	if (st != LDNS_STATUS_OK) {
		/* $INCLUDE too: a file that names others is not ours */
		snprintf(err, errlen, "%s:%d: error: %s", file, line,
		    ldns_get_errorstr_by_id(st));
		return -1;
	}
	return 0;
}

/*
 * Every record of RRS (apex ORIGIN) may be served, and one is its SOA
 * (into *SOA): 0, or -1 with ERR.
 */
static int
file_check(const ldns_rr_list *rrs, const ldns_rdf *origin, const char *file,
    ldns_rr **soa, char *err, size_t errlen)
{
	ldns_rr *rr;
	const ldns_rdf *owner;
	size_t i;

	*soa = NULL;
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    ldns_dname_compare(ldns_rr_owner(rr), origin) == 0 &&
		    *soa == NULL)
			*soa = rr;
	}
	if (*soa == NULL)
		return file_error(file, "no SOA record at the apex", origin,
		    err, errlen);
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		rr = ldns_rr_list_rr(rrs, i);
		owner = ldns_rr_owner(rr);
		if (ldns_dname_compare(owner, origin) != 0 &&
		    !ldns_dname_is_subdomain(owner, origin))
			return file_error(file, "outside the zone:", owner, err,
			    errlen);
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			return file_error(file, "not class IN:", owner, err,
			    errlen);
		/* exact matches only: NSD serves zones that need these */
		if (ldns_dname_is_wildcard(owner))
			return file_error(file, "wildcards are not served:",
			    owner, err, errlen);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(owner, origin) != 0)
			return file_error(file, "delegations are not served:",
			    owner, err, errlen);
	}
	return 0;
}

int
dns_answer_zone_add(struct dns_answer_zone *z, FILE *fp, const char *file,
    const char *challenge, int ipv6_only, char *err, size_t errlen)
{
	struct file_zone *fz;
	ldns_rr_list *rrs;
	ldns_rdf *origin;
	ldns_rr *soa;
	char name[DNSNAME_MAX + 8];
	size_t i;
	int n;

	if (z->nfiles == DNS_FILE_ZONES_MAX) {
		snprintf(err, errlen, "%s: error: more than %d zone files",
		    file, DNS_FILE_ZONES_MAX);
		return -1;
	}
	fz = &z->files[z->nfiles];
	/* z->apex is "dns.<base>" */
	n = snprintf(name, sizeof(name), "%s.%s", challenge, z->apex + 4);
	if (n < 0 || n > DNSNAME_MAX ||
	    strlen(challenge) >= sizeof(fz->challenge) ||
	    (origin = ldns_dname_new_frm_str(name)) == NULL) {
		snprintf(err, errlen, "%s: error: cannot make the zone name "
		    "%s", file, name);
		return -1;
	}
	for (i = 0; i < z->nfiles; i++)
		if (ldns_dname_compare(z->files[i].apex, origin) == 0) {
			ldns_rdf_deep_free(origin);
			return file_error(file, "zone already read:",
			    z->files[i].apex, err, errlen);
		}
	if ((rrs = ldns_rr_list_new()) == NULL) {
		ldns_rdf_deep_free(origin);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (file_read(fp, origin, file, rrs, err, errlen) == -1 ||
	    file_check(rrs, origin, file, &soa, err, errlen) == -1) {
		ldns_rr_list_deep_free(rrs);
		ldns_rdf_deep_free(origin);
		return -1;
	}
	fz->rrs = rrs;
	fz->soa = soa;
	fz->apex = origin;
	fz->max_labels = 0;
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++)
		if (ldns_dname_label_count(ldns_rr_owner(ldns_rr_list_rr(rrs,
		    i))) > fz->max_labels)
			fz->max_labels = ldns_dname_label_count(ldns_rr_owner(
			    ldns_rr_list_rr(rrs, i)));
	fz->ipv6_only = ipv6_only != 0;
	snprintf(fz->challenge, sizeof(fz->challenge), "%s", challenge);
	z->nfiles++;
	return 0;
}

/* ---- one query ---------------------------------------------------- */

static void
rec_error(struct dnsq_rec *rec, const char *why)
{
	if (why == rec->error)
		return;
	free(rec->error);
	rec->error = strdup(why);
}

/*
 * The offsets of the labels of the wire-format name NAME (SIZE bytes), the
 * root excluded.  ldns hands us well-formed names; still bounded.
 */
static size_t
name_labels(const uint8_t *name, size_t size, size_t off[DNS_LABELS_MAX])
{
	size_t pos = 0, n = 0;

	while (pos < size && name[pos] != 0 && n < DNS_LABELS_MAX &&
	    pos + 1 + name[pos] < size) {
		off[n++] = pos;
		pos += 1 + (size_t)name[pos];
	}
	return n;
}

/*
 * The wire-format names A and B are equal in any case.  Ours, not
 * ldns_dname_compare(): that one counts and copies labels for every
 * comparison, and a question has up to 127 (length bytes are below 'A').
 */
static int
name_equal(const ldns_rdf *a, const ldns_rdf *b)
{
	const uint8_t *x = ldns_rdf_data(a), *y = ldns_rdf_data(b);
	size_t i, size = ldns_rdf_size(a);

	if (size != ldns_rdf_size(b))
		return 0;
	for (i = 0; i < size; i++)
		if (lower(x[i]) != lower(y[i]))
			return 0;
	return 1;
}

/* NAME is below PARENT, not equal (ldns_dname_is_subdomain() in O(n)). */
static int
name_below(const ldns_rdf *name, const ldns_rdf *parent)
{
	const uint8_t *n = ldns_rdf_data(name), *p = ldns_rdf_data(parent);
	size_t size = ldns_rdf_size(name), psize = ldns_rdf_size(parent);
	size_t off[DNS_LABELS_MAX], k, i, j;

	k = name_labels(n, size, off);
	if (psize == 1)			/* the root */
		return k > 0;
	for (i = 1; i < k; i++) {
		if (size - off[i] != psize)
			continue;
		for (j = 0; j < psize; j++)
			if (lower(n[off[i] + j]) != lower(p[j]))
				return 0;
		return 1;
	}
	return 0;
}

/* The label at OFF of NAME is the lowercase string S, in any case. */
static int
label_is(const uint8_t *name, size_t off, const char *s)
{
	size_t i, len = name[off];

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower(name[off + 1 + i]) != s[i])
			return 0;
	return 1;
}

/* The label at OFF of NAME is a test ID: copied in lowercase to ID. */
static int
label_testid(const uint8_t *name, size_t off, char id[TESTID_LEN + 1])
{
	size_t i, len = name[off];

	/* labels may hold any byte: NUL makes testid_valid() say no */
	if (len != TESTID_LEN || memchr(name + off + 1, '\0', len) != NULL ||
	    !testid_valid((const char *)name + off + 1, len))
		return 0;
	for (i = 0; i < len; i++)
		id[i] = (char)lower(name[off + 1 + i]);
	id[TESTID_LEN] = '\0';
	return 1;
}

/*
 * The label at OFF of NAME is the dns challenge's MX mx-<id>, in any
 * case: the ID copied in lowercase to ID.
 */
static int
label_test_mx(const uint8_t *name, size_t off, char id[TESTID_LEN + 1])
{
	size_t i, plen = strlen(CATALOG_TEST_MX_PREFIX);
	const uint8_t *l = name + off + 1;

	if (name[off] != plen + TESTID_LEN ||
	    memchr(l, '\0', name[off]) != NULL ||
	    !testid_valid((const char *)l + plen, TESTID_LEN))
		return 0;
	for (i = 0; i < plen; i++)
		if (lower(l[i]) != CATALOG_TEST_MX_PREFIX[i])
			return 0;
	for (i = 0; i < TESTID_LEN; i++)
		id[i] = (char)lower(l[plen + i]);
	id[TESTID_LEN] = '\0';
	return 1;
}

/*
 * Where the question's name is in the zone (q->node, q->rel) and the test
 * ID it names: the label right below the apex (case-insensitive), the ID
 * itself or the MX mx-<id>.
 */
static void
classify(struct query *q)
{
	const ldns_rdf *qname = ldns_rr_owner(q->qrr);
	const uint8_t *name = ldns_rdf_data(qname);
	const uint8_t *apex = ldns_rdf_data(q->zone->apex_rdf);
	size_t size = ldns_rdf_size(qname);
	size_t apex_size = ldns_rdf_size(q->zone->apex_rdf);
	size_t off[DNS_LABELS_MAX], n, i, start;
	int mx = 0;

	q->node = NODE_OUTSIDE;
	q->test_id[0] = '\0';
	n = name_labels(name, size, off);
	for (i = 0; i < q->zone->nfiles; i++) {
		q->file = &q->zone->files[i];
		if (!name_equal(qname, q->file->apex) &&
		    !name_below(qname, q->file->apex))
			continue;
		q->node = NODE_FILE;
		q->rel = n - ldns_dname_label_count(q->file->apex);
		if (q->rel > 0)
			(void)label_testid(name, off[q->rel - 1], q->test_id);
		return;
	}
	q->file = NULL;
	if (n < q->zone->apex_labels)
		return;
	q->rel = n - q->zone->apex_labels;
	start = off[q->rel];
	if (size - start != apex_size)
		return;
	for (i = 0; i < apex_size; i++)	/* length bytes are below 'A' */
		if (lower(name[start + i]) != apex[i])
			return;

	if (q->rel > 0 && !label_testid(name, off[q->rel - 1], q->test_id) &&
	    label_test_mx(name, off[q->rel - 1], q->test_id))
		mx = 1;
	if (q->rel == 0)
		q->node = NODE_APEX;
	else if (q->rel == 1 && label_is(name, off[0], "ns"))
		q->node = NODE_NS;
	else if (q->rel == 1 && mx)
		q->node = NODE_TEST_MX;
	else if (q->rel == 1 && q->test_id[0] != '\0')
		q->node = NODE_TEST;
	/* RFC 8020: the name above _smtp._tls exists, NODATA not NXDOMAIN */
	else if (q->rel == 2 && q->test_id[0] != '\0' && !mx &&
	    label_is(name, off[0], "_tls"))
		q->node = NODE_TEST_TLS;
	else if (q->rel == 3 && q->test_id[0] != '\0' && !mx &&
	    label_is(name, off[0], "_smtp") && label_is(name, off[1], "_tls"))
		q->node = NODE_TEST_TLSRPT;
	else	/* mx.<id> too: the MX until issue 12, no release had it */
		q->node = NODE_NONE;
}

/*
 * The name as sent, for the record: labels joined by dots, every byte
 * that is not printable ASCII (and a dot or backslash inside a label) as
 * \xNN (log_escape); the root is ".".
 */
static char *
qname_text(const ldns_rdf *qname)
{
	const uint8_t *name = ldns_rdf_data(qname);
	size_t size = ldns_rdf_size(qname), off[DNS_LABELS_MAX], n, i, j, o;
	char buf[DNS_ANSWER_QNAME_MAX], one[8];

	n = name_labels(name, size, off);
	if (n == 0)
		return strdup(".");
	o = 0;
	for (i = 0; i < n; i++) {
		if (i > 0 && o + 1 < sizeof(buf))
			buf[o++] = '.';
		for (j = 0; j < name[off[i]]; j++) {
			if (name[off[i] + 1 + j] == '.')
				snprintf(one, sizeof(one), "\\x2e");
			else
				log_escape(one, sizeof(one),
				    (const char *)name + off[i] + 1 + j, 1);
			if (o + strlen(one) >= sizeof(buf))
				break;
			memcpy(buf + o, one, strlen(one));
			o += strlen(one);
		}
	}
	buf[o] = '\0';
	return strdup(buf);
}

/* The question is known: what the record says about it. */
static void
note_question(struct query *q)
{
	struct dnsq_rec *rec = q->rec;

	rec->qname = qname_text(ldns_rr_owner(q->qrr));
	rec->qtype = ldns_rr_get_type(q->qrr);
	rec->qclass = ldns_rr_get_class(q->qrr);
	classify(q);
	if (q->test_id[0] != '\0')
		rec->test_id = strdup(q->test_id);
	if (q->node == NODE_FILE)
		rec->challenge = strdup(q->file->challenge);
	else if (q->node != NODE_OUTSIDE)
		rec->challenge = strdup("dns");
	/*
	 * RFC 9156: a resolver that minimises may ask for <id>.dns.<base>
	 * with QTYPE A (NS with RFC 7816) before its MX (Unbound does):
	 * the sender never needs that name's A or NS records itself.
	 */
	rec->minimised = q->node == NODE_TEST &&
	    (rec->qtype == LDNS_RR_TYPE_A || rec->qtype == LDNS_RR_TYPE_NS);
}

static enum dns_answer_result
query_drop(struct query *q, const char *why)
{
	q->rec->rcode = -1;
	rec_error(q->rec, why);
	return DNS_ANSWER_DROP;
}

/*
 * A reply to Q: ID, opcode, RD and CD copied (RFC 1035 4.1.1, RFC 4035
 * 3.1.6), the question as it was sent, and an OPT when the query had one
 * (RFC 6891 6.1.1) with the DO bit copied (RFC 3225 3).
 */
static ldns_pkt *
reply_new(struct query *q, int rcode, int aa)
{
	ldns_pkt *r;
	ldns_rr *qrr = NULL;

	if ((r = ldns_pkt_new()) == NULL)
		return NULL;
	ldns_pkt_set_id(r, q->id);
	ldns_pkt_set_qr(r, 1);
	ldns_pkt_set_opcode(r, (ldns_pkt_opcode)q->opcode);
	ldns_pkt_set_aa(r, aa);
	ldns_pkt_set_rd(r, q->rd);
	ldns_pkt_set_cd(r, q->cd);
	ldns_pkt_set_rcode(r, (uint8_t)(rcode & 0x0f));
	q->rec->truncated = 0;
	if (q->qrr != NULL) {
		if ((qrr = ldns_rr_clone(q->qrr)) == NULL ||
		    !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, qrr)) {
			ldns_rr_free(qrr);
			ldns_pkt_free(r);
			return NULL;
		}
	}
	if (q->edns) {
		ldns_pkt_set_edns_udp_size(r, DNS_EDNS_MAX);
		ldns_pkt_set_edns_version(r, 0);
		ldns_pkt_set_edns_extended_rcode(r, (uint8_t)(rcode >> 4));
		ldns_pkt_set_edns_do(r, q->do_bit);
	}
	q->rec->rcode = rcode;
	return r;
}

static enum dns_answer_result query_error(struct query *, int);

/*
 * R in wire format into *WIRE (*SIZE bytes; the caller frees it).  ldns
 * compresses names (RFC 1035 4.1.4) at a cost that grows with the cube of
 * their labels and with their length: a question of 118 labels took
 * 11 ms, one of 4 long labels 30 us.  So names are compressed only when
 * the answer would not fit otherwise (many records of one name), and
 * only when the question is at most DNS_COMPRESS_BELOW labels below
 * dns.<base>: no name we serve is deeper (_smtp._tls.<id> is 3, a zone
 * file's names 2).
 */
static ldns_status
reply_wire(const struct query *q, const ldns_pkt *r, uint8_t **wire,
    size_t *size)
{
	ldns_buffer *b;
	ldns_status st;

	if ((b = ldns_buffer_new(DNS_ANSWER_MSG_MAX)) == NULL)
		return LDNS_STATUS_MEM_ERR;
	if ((st = ldns_pkt2buffer_wire_compress(b, r, NULL)) ==
	    LDNS_STATUS_OK) {
		*size = ldns_buffer_position(b);
		*wire = ldns_buffer_export(b);
	}
	ldns_buffer_free(b);
	if (st != LDNS_STATUS_OK || *size <= q->limit || q->qrr == NULL ||
	    ldns_dname_label_count(ldns_rr_owner(q->qrr)) >
	    q->zone->apex_labels + DNS_COMPRESS_BELOW)
		return st;
	free(*wire);
	*wire = NULL;
	return ldns_pkt2wire(wire, r, size);
}

/*
 * Writes R (freed) to q->out.  An answer over the limit, or any answer
 * the rate limit slips (DNS_ANSWER_SLIP), goes again with TC=1 and only
 * its question and OPT (RFC 1035 4.2.1, RFC 2181 9).
 */
static enum dns_answer_result
reply_send(struct query *q, ldns_pkt *r)
{
	uint8_t *wire = NULL;
	size_t size = 0;
	int rcode = q->rec->rcode, aa = ldns_pkt_aa(r);
	ldns_status st;

	st = reply_wire(q, r, &wire, &size);
	if (st == LDNS_STATUS_OK && (size > q->limit || q->slip) &&
	    !ldns_pkt_tc(r)) {
		free(wire);
		wire = NULL;
		size = 0;
		ldns_pkt_free(r);
		st = LDNS_STATUS_MEM_ERR;
		if ((r = reply_new(q, rcode, aa)) != NULL) {
			ldns_pkt_set_tc(r, 1);
			st = reply_wire(q, r, &wire, &size);
		}
	}
	q->rec->truncated = r != NULL && ldns_pkt_tc(r);
	ldns_pkt_free(r);
	if (st != LDNS_STATUS_OK || size > q->cap) {
		free(wire);
		rec_error(q->rec, st != LDNS_STATUS_OK ?
		    "cannot write the answer" : "no room for the answer");
		if (rcode != LDNS_RCODE_SERVFAIL)
			return query_error(q, LDNS_RCODE_SERVFAIL);
		return query_drop(q, q->rec->error);
	}
	memcpy(q->out, wire, size);
	*q->outlen = size;
	free(wire);
	return DNS_ANSWER_SEND;
}

/*
 * The one error path (NSD's query_error): every reply that is not an
 * answer from the zone -- FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS --
 * is a header, the question if it was read, and the OPT.  A SERVFAIL
 * (our own failure) keeps its reason in the record.
 */
static enum dns_answer_result
query_error(struct query *q, int rcode)
{
	ldns_pkt *r;

	if (rcode == LDNS_RCODE_SERVFAIL && q->rec->error == NULL)
		rec_error(q->rec, "out of memory");
	if ((r = reply_new(q, rcode, 0)) == NULL)
		return query_drop(q, "out of memory");
	return reply_send(q, r);
}

/* Adds a copy of TEMPLATE, owned by OWNER (copied), to SECTION. */
static int
add_rr(ldns_pkt *r, ldns_pkt_section section, const ldns_rr *template,
    const ldns_rdf *owner)
{
	ldns_rr *rr;
	ldns_rdf *o;

	if ((rr = ldns_rr_clone(template)) == NULL)
		return -1;
	if ((o = ldns_rdf_clone(owner)) == NULL) {
		ldns_rr_free(rr);
		return -1;
	}
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, o);
	if (!ldns_pkt_push_rr(r, section, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* The records of LIST whose type is TYPE (or any, for ANY). */
static int
add_addrs(ldns_pkt *r, const ldns_rr_list *list, ldns_rr_type type,
    const ldns_rdf *owner)
{
	const ldns_rr *rr;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		rr = ldns_rr_list_rr(list, i);
		if (type != LDNS_RR_TYPE_ANY && ldns_rr_get_type(rr) != type)
			continue;
		if (add_rr(r, LDNS_SECTION_ANSWER, rr, owner) == -1)
			return -1;
	}
	return 0;
}

static int
add_mx(const struct query *q, ldns_pkt *r, const ldns_rdf *owner)
{
	char text[2 * (DNSNAME_MAX + 1) + 64];
	ldns_rr *mx = NULL;
	int rc, n;

	n = snprintf(text, sizeof(text),
	    "%s. %d IN MX 10 " CATALOG_TEST_MX_PREFIX "%s.%s.", q->zone->apex,
	    DNS_TTL, q->test_id, q->zone->apex);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    ldns_rr_new_frm_str(&mx, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return -1;
	rc = add_rr(r, LDNS_SECTION_ANSWER, mx, owner);
	ldns_rr_free(mx);
	return rc;
}

/*
 * An answer from the zone: the records of the name, NODATA (NOERROR and
 * the SOA) or NXDOMAIN with the SOA (RFC 2308 2.1, 2.2).  Minimal
 * responses: no authority or additional records with data.
 */
static enum dns_answer_result
answer_zone(struct query *q)
{
	const struct dns_answer_zone *z = q->zone;
	const ldns_rdf *owner = ldns_rr_owner(q->qrr);
	ldns_rr_type t = ldns_rr_get_type(q->qrr);
	ldns_rdf *apex = NULL;
	ldns_pkt *r;
	int any = t == LDNS_RR_TYPE_ANY, rcode = LDNS_RCODE_NOERROR, rc = 0;

	if (q->node == NODE_NONE)
		rcode = LDNS_RCODE_NXDOMAIN;
	/* [dns] truncate = mx: does the resolver retry over TCP (RFC 7766)? */
	if (q->node == NODE_TEST_MX && !q->tcp &&
	    z->truncate == DNS_TRUNCATE_MX &&
	    (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA)) {
		if ((r = reply_new(q, rcode, 1)) == NULL)
			return query_error(q, LDNS_RCODE_SERVFAIL);
		ldns_pkt_set_tc(r, 1);
		return reply_send(q, r);
	}
	if ((r = reply_new(q, rcode, 1)) == NULL)
		return query_error(q, LDNS_RCODE_SERVFAIL);
	switch (q->node) {
	case NODE_APEX:
		if (any || t == LDNS_RR_TYPE_SOA)
			rc |= add_rr(r, LDNS_SECTION_ANSWER, z->soa, owner);
		if (any || t == LDNS_RR_TYPE_NS)
			rc |= add_rr(r, LDNS_SECTION_ANSWER, z->ns, owner);
		break;
	case NODE_NS:
		rc = add_addrs(r, z->ns_addrs, t, owner);
		break;
	case NODE_TEST:
		if (any || t == LDNS_RR_TYPE_MX)
			rc = add_mx(q, r, owner);
		break;
	case NODE_TEST_MX:
		rc = add_addrs(r, z->mx_addrs, t, owner);
		break;
	case NODE_TEST_TLSRPT:
		if (any || t == LDNS_RR_TYPE_TXT)
			rc = add_rr(r, LDNS_SECTION_ANSWER, z->tlsrpt, owner);
		break;
	case NODE_TEST_TLS:
	case NODE_OUTSIDE:
	case NODE_NONE:
	case NODE_FILE:
		break;
	}
	if (rc == 0 && ldns_pkt_ancount(r) == 0) {
		/* the apex as it was written in the question */
		if ((apex = ldns_dname_clone_from(owner, (uint16_t)q->rel)) ==
		    NULL)
			rc = -1;
		else
			rc = add_rr(r, LDNS_SECTION_AUTHORITY, z->soa, apex);
		ldns_rdf_deep_free(apex);
	}
	if (rc != 0) {
		ldns_pkt_free(r);
		return query_error(q, LDNS_RCODE_SERVFAIL);
	}
	return reply_send(q, r);
}

/* ---- a zone read from a file ------------------------------------------ */

/*
 * The records of Q's zone at OWNER of TYPE (every type for ANY) into
 * SECTION, then with DO their signatures (RFC 4035 3.1.1), owned by AS
 * (NULL: as in the zone).  Counted in *N.
 */
static int
add_file_rrs(const struct query *q, ldns_pkt *r, ldns_pkt_section section,
    const ldns_rdf *owner, ldns_rr_type type, const ldns_rdf *as, size_t *n)
{
	const ldns_rr_list *rrs = q->file->rrs;
	const ldns_rr *rr;
	ldns_rr_type rt, covered;
	size_t i, k;

	for (k = 0; k < ldns_rr_list_rr_count(rrs) * 2; k++) {
		/* the records first, their signatures in a second pass */
		i = k % ldns_rr_list_rr_count(rrs);
		rr = ldns_rr_list_rr(rrs, i);
		rt = ldns_rr_get_type(rr);
		if ((k < ldns_rr_list_rr_count(rrs)) ==
		    (rt == LDNS_RR_TYPE_RRSIG && type != LDNS_RR_TYPE_RRSIG))
			continue;
		if (!name_equal(ldns_rr_owner(rr), owner))
			continue;
		if (rt == LDNS_RR_TYPE_RRSIG && type != LDNS_RR_TYPE_RRSIG) {
			if (!q->do_bit)
				continue;
			covered = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
			if (type != LDNS_RR_TYPE_ANY && covered != type)
				continue;
		} else if (type != LDNS_RR_TYPE_ANY && rt != type)
			continue;
		if (add_rr(r, section, rr, as != NULL ? as : ldns_rr_owner(rr))
		    == -1)
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * NAME in FZ: 2 it has records, 1 an empty non-terminal, 0 none.  A name
 * deeper than every owner is none, found without comparing: ldns compares
 * names label by label (a name of 116 labels cost milliseconds).
 */
static int
file_name_state(const struct file_zone *fz, const ldns_rdf *name)
{
	const ldns_rdf *owner;
	size_t i;
	int below = 0;

	if (ldns_dname_label_count(name) > fz->max_labels)
		return 0;
	for (i = 0; i < ldns_rr_list_rr_count(fz->rrs); i++) {
		owner = ldns_rr_owner(ldns_rr_list_rr(fz->rrs, i));
		if (name_equal(owner, name))
			return 2;
		if (name_below(owner, name))
			below = 1;
	}
	return below;
}

/* The NSEC of FZ that covers NAME (RFC 4034 4.1.1), or NULL. */
static const ldns_rr *
file_nsec_covering(const struct file_zone *fz, const ldns_rdf *name)
{
	const ldns_rr *rr;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(fz->rrs); i++) {
		rr = ldns_rr_list_rr(fz->rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC &&
		    !name_equal(ldns_rr_owner(rr), name) &&
		    ldns_nsec_covers_name(rr, name))
			return rr;
	}
	return NULL;
}

/*
 * With DO, the NSEC records that prove a negative answer for QNAME
 * (STATE as file_name_state()): NODATA, the name's own NSEC (RFC 4035
 * 3.1.3.1); an empty non-terminal, the NSEC covering it; NXDOMAIN, the
 * NSEC covering it and the one covering the wildcard at its closest
 * encloser (3.1.3.2).
 */
static int
add_file_denial(const struct query *q, ldns_pkt *r, const ldns_rdf *qname,
    int state, size_t *n)
{
	const ldns_rr *nsec, *wnsec = NULL;
	ldns_rdf *ce = NULL, *star = NULL, *wild = NULL, *cut = NULL;
	size_t i, labels = ldns_dname_label_count(qname);
	int rc = 0;

	if (state == 2)
		return add_file_rrs(q, r, LDNS_SECTION_AUTHORITY, qname,
		    LDNS_RR_TYPE_NSEC, NULL, n);
	/*
	 * No owner is deeper than max_labels: the NSEC covering the name's
	 * ancestor one label deeper covers every name below it too (RFC 4034
	 * 6.1 order), and is found with shorter names to compare.
	 */
	if (labels > q->file->max_labels + 1 && (cut = ldns_dname_clone_from(
	    qname, (uint16_t)(labels - q->file->max_labels - 1))) == NULL)
		return -1;
	nsec = file_nsec_covering(q->file, cut != NULL ? cut : qname);
	ldns_rdf_deep_free(cut);
	if (nsec != NULL)
		rc = add_file_rrs(q, r, LDNS_SECTION_AUTHORITY,
		    ldns_rr_owner(nsec), LDNS_RR_TYPE_NSEC, NULL, n);
	if (rc == -1 || state == 1)
		return rc;
	/*
	 * the apex (i == rel) exists: the loop always finds an encloser; it
	 * starts at the depth of the deepest owner
	 */
	i = labels > q->file->max_labels ? labels - q->file->max_labels : 1;
	for (; i <= q->rel && ce == NULL; i++) {
		if ((ce = ldns_dname_clone_from(qname, (uint16_t)i)) == NULL)
			return -1;
		if (file_name_state(q->file, ce) == 0) {
			ldns_rdf_deep_free(ce);
			ce = NULL;
		}
	}
	if (ce == NULL || (star = ldns_dname_new_frm_str("*")) == NULL ||
	    (wild = ldns_dname_cat_clone(star, ce)) == NULL)
		rc = -1;
	else if ((wnsec = file_nsec_covering(q->file, wild)) != NULL &&
	    wnsec != nsec)
		rc = add_file_rrs(q, r, LDNS_SECTION_AUTHORITY,
		    ldns_rr_owner(wnsec), LDNS_RR_TYPE_NSEC, NULL, n);
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(star);
	ldns_rdf_deep_free(wild);
	return rc;
}

/*
 * An answer from a zone read from a file, as NSD would give it: the
 * records of the name (with DO their RRSIGs), else NODATA or NXDOMAIN
 * with the SOA (RFC 2308 2.1, 2.2) and, with DO, its RRSIG and the NSEC
 * proof.  Minimal responses, AA set, no recursion.  The records are sent
 * as the file has them: a bogus zone stays bogus.
 */
static enum dns_answer_result
answer_file(struct query *q)
{
	const ldns_rdf *qname = ldns_rr_owner(q->qrr);
	ldns_rr_type t = ldns_rr_get_type(q->qrr);
	ldns_pkt *r;
	size_t n = 0;
	int state = file_name_state(q->file, qname), rc = 0;

	if ((r = reply_new(q, state == 0 ? LDNS_RCODE_NXDOMAIN :
	    LDNS_RCODE_NOERROR, 1)) == NULL)
		return query_error(q, LDNS_RCODE_SERVFAIL);
	if (state == 2)
		rc = add_file_rrs(q, r, LDNS_SECTION_ANSWER, qname, t, qname,
		    &n);
	if (rc == 0 && n == 0) {
		rc = add_file_rrs(q, r, LDNS_SECTION_AUTHORITY,
		    ldns_rr_owner(q->file->soa), LDNS_RR_TYPE_SOA, NULL, &n);
		if (rc == 0 && q->do_bit)
			rc = add_file_denial(q, r, qname, state, &n);
	}
	if (rc != 0) {
		ldns_pkt_free(r);
		return query_error(q, LDNS_RCODE_SERVFAIL);
	}
	return reply_send(q, r);
}

/*
 * The name at *POS of the query into NAME (wire format, uncompressed,
 * *NAMELEN bytes), *POS moved past it.  A compression pointer (RFC 1035
 * 4.1.4) must point before the start of the name and before the previous
 * pointer's target, at most DNS_POINTERS_MAX of them: reading a name never
 * goes back to where it was, and costs at most 255 bytes and 16 hops
 * (ldns follows up to 65535 pointers anywhere).  0, or -1 with *WHY.
 */
static int
wire_name(const struct query *q, size_t *pos, uint8_t name[DNS_WIRE_NAME_MAX],
    size_t *namelen, const char **why)
{
	size_t p = *pos, limit = *pos, after = 0, n = 0, hops = 0, l;

	for (;;) {
		if (p >= q->len) {
			*why = "name runs past the end";
			return -1;
		}
		l = q->wire[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= q->len) {
				*why = "name runs past the end";
				return -1;
			}
			if (hops == 0)
				after = p + 2;
			p = (l & 0x3f) << 8 | q->wire[p + 1];
			if (p >= limit || ++hops > DNS_POINTERS_MAX) {
				*why = "compression pointer not backwards, "
				    "or more than 16";
				return -1;
			}
			limit = p;
			continue;
		}
		/* RFC 6891 5: the extended label types are gone */
		if ((l & 0xc0) != 0) {
			*why = "unknown label type";
			return -1;
		}
		if (p + 1 + l > q->len) {
			*why = "name runs past the end";
			return -1;
		}
		if (n + 1 + l > DNS_WIRE_NAME_MAX) {
			*why = "name longer than 255 bytes";
			return -1;
		}
		memcpy(name + n, q->wire + p, 1 + l);
		n += 1 + l;
		p += 1 + l;
		if (l == 0)
			break;
	}
	*pos = hops > 0 ? after : p;
	*namelen = n;
	return 0;
}

static uint16_t
wire16(const struct query *q, size_t pos)
{
	return (uint16_t)(q->wire[pos] << 8 | q->wire[pos + 1]);
}

/*
 * The question at *POS (RFC 1035 4.1.2) into q->qrr, noted for the
 * record; *POS moved past it.  0, or -1 with *WHY.
 */
static int
read_question(struct query *q, size_t *pos, const char **why)
{
	uint8_t name[DNS_WIRE_NAME_MAX];
	size_t namelen;
	ldns_rdf *owner;

	if (wire_name(q, pos, name, &namelen, why) == -1)
		return -1;
	if (*pos + 4 > q->len) {
		*why = "question runs past the end";
		return -1;
	}
	if ((q->qrr = ldns_rr_new()) == NULL ||
	    (owner = ldns_dname_new_frm_data((uint16_t)namelen, name)) ==
	    NULL) {
		*why = "out of memory";
		return -1;
	}
	ldns_rr_set_owner(q->qrr, owner);
	ldns_rr_set_question(q->qrr, 1);
	ldns_rr_set_type(q->qrr, (ldns_rr_type)wire16(q, *pos));
	ldns_rr_set_class(q->qrr, (ldns_rr_class)wire16(q, *pos + 2));
	*pos += 4;
	note_question(q);
	return 0;
}

/*
 * The additional record at *POS, which must be the OPT (RFC 6891 6.1.2:
 * owner the root, its fields in CLASS and TTL): 0, -1 (malformed, *WHY
 * says why) or -2 (another record, or another owner: FORMERR).  Its
 * options are not read.
 */
static int
read_opt(struct query *q, size_t *pos, const char **why)
{
	uint8_t name[DNS_WIRE_NAME_MAX];
	size_t namelen, p;

	if (wire_name(q, pos, name, &namelen, why) == -1)
		return -1;
	p = *pos;
	if (p + DNS_RR_FIXED > q->len ||
	    p + DNS_RR_FIXED + wire16(q, p + 8) > q->len) {
		*why = "additional record runs past the end";
		return -1;
	}
	if (namelen != 1 || wire16(q, p) != LDNS_RR_TYPE_OPT)
		return -2;
	q->edns = 1;
	q->rec->edns_size = wire16(q, p + 2);
	q->edns_version = q->wire[p + 5];
	q->do_bit = (q->wire[p + 6] & 0x80) != 0;	/* RFC 3225 3 */
	*pos = p + DNS_RR_FIXED + wire16(q, p + 8);
	return 0;
}

static enum dns_answer_result
answer(struct query *q)
{
	const char *why = NULL;
	size_t pos = DNS_HEADER;
	unsigned qd, an, ns, ar;
	uint16_t size;
	int rc;

	/* RFC 1035 4.1.1; a response is never answered (no loops) */
	if (q->len < DNS_HEADER)
		return query_drop(q, "truncated header");
	if (LDNS_QR_WIRE(q->wire))
		return query_drop(q, "not a query (QR set)");
	q->id = LDNS_ID_WIRE(q->wire);
	q->opcode = (uint8_t)LDNS_OPCODE_WIRE(q->wire);
	q->rd = LDNS_RD_WIRE(q->wire) != 0;
	q->cd = LDNS_CD_WIRE(q->wire) != 0;
	qd = LDNS_QDCOUNT(q->wire);
	an = LDNS_ANCOUNT(q->wire);
	ns = LDNS_NSCOUNT(q->wire);
	ar = LDNS_ARCOUNT(q->wire);
	/*
	 * Only what is answered is read, from the header counts first: at
	 * most one question, nothing in the answer and authority sections,
	 * at most one additional record, the OPT (RFC 6891 6.1.1), and no
	 * more than DNS_ANSWER_QUERY_MAX bytes, as NSD and Unbound insist
	 * (no TSIG here).  Anything else is refused unread but for its
	 * question, which the record and the error reply keep.
	 */
	if (q->len > DNS_ANSWER_QUERY_MAX || qd > 1 || an != 0 || ns != 0 ||
	    ar > 1) {
		if (qd > 0 && read_question(q, &pos, &why) == -1) {
			ldns_rr_free(q->qrr);
			q->qrr = NULL;
		}
		return query_error(q, q->opcode == LDNS_PACKET_QUERY ?
		    LDNS_RCODE_FORMERR : LDNS_RCODE_NOTIMPL);
	}
	if (qd == 1 && read_question(q, &pos, &why) == -1)
		return query_drop(q, why);
	if (ar == 1 && (rc = read_opt(q, &pos, &why)) < 0) {
		if (rc == -1)
			return query_drop(q, why);
		return query_error(q, LDNS_RCODE_FORMERR);
	}

	/* from here on every reply carries an OPT if the query had one */
	if (q->edns) {
		q->rec->edns = 1;
		q->rec->do_bit = q->do_bit;
		size = (uint16_t)q->rec->edns_size;
		/* RFC 6891 6.2.5: below 512 means 512; 6.2.3: our maximum */
		if (!q->tcp)
			q->limit = size < DNS_UDP_MIN ? DNS_UDP_MIN :
			    size > DNS_EDNS_MAX ? DNS_EDNS_MAX : size;
		if (q->limit > q->cap)
			q->limit = q->cap;
		if (q->edns_version > 0)
			return query_error(q, DNS_RCODE_BADVERS);
	}
	if (q->opcode != LDNS_PACKET_QUERY)
		return query_error(q, LDNS_RCODE_NOTIMPL);
	/* exactly one question (QDCOUNT 0 came this far for its OPT) */
	if (qd != 1)
		return query_error(q, LDNS_RCODE_FORMERR);
	if (q->rec->qclass != LDNS_RR_CLASS_IN)
		return query_error(q, LDNS_RCODE_REFUSED);
	/* no zone transfers; RFC 8906 3.1.2: REFUSED outside our zone */
	if (q->rec->qtype == LDNS_RR_TYPE_AXFR ||
	    q->rec->qtype == LDNS_RR_TYPE_IXFR || q->node == NODE_OUTSIDE)
		return query_error(q, LDNS_RCODE_REFUSED);
	if (q->node == NODE_FILE) {
		/*
		 * The *-dns6 zones on IPv6 only: an IPv4 address that
		 * answered for them would let an IPv4-only resolver through.
		 */
		if (q->file->ipv6_only && q->rec->family != 6)
			return query_error(q, LDNS_RCODE_REFUSED);
		return answer_file(q);
	}
	return answer_zone(q);
}

enum dns_answer_result
dns_answer_query(const struct dns_answer_zone *z, const uint8_t *query,
    size_t len, unsigned flags, uint8_t *out, size_t *outlen,
    struct dnsq_rec *rec)
{
	struct query q;
	enum dns_answer_result res;

	memset(&q, 0, sizeof(q));
	q.zone = z;
	q.wire = query;
	q.len = len;
	q.tcp = (flags & DNS_ANSWER_TCP) != 0;
	q.slip = (flags & DNS_ANSWER_SLIP) != 0 && !q.tcp;
	q.out = out;
	q.outlen = outlen;
	q.rec = rec;
	q.cap = *outlen;
	q.limit = q.tcp ? DNS_ANSWER_MSG_MAX : DNS_UDP_MIN;
	if (q.limit > q.cap)
		q.limit = q.cap;

	rec->qname = rec->test_id = rec->challenge = rec->error = NULL;
	rec->qtype = rec->qclass = 0;
	rec->edns = rec->edns_size = rec->do_bit = 0;
	rec->rcode = -1;
	rec->truncated = rec->minimised = 0;

	if (q.cap < DNS_HEADER)
		res = query_drop(&q, "no room for an answer");
	else if (len > DNS_ANSWER_MSG_MAX)
		res = query_drop(&q, "message longer than 65535 bytes");
	else
		res = answer(&q);
	ldns_rr_free(q.qrr);
	if (res == DNS_ANSWER_DROP)
		*outlen = 0;
	return res;
}

const char *
dns_answer_rcode_name(int rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED"
	};

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	if (rcode == DNS_RCODE_BADVERS)
		return "BADVERS";
	return rcode < 0 ? "dropped" : "other";
}

