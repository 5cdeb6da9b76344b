/*
 * The one DNS layer over ldns: stub queries (RD, EDNS0 with the DO bit,
 * RFC 6891 and RFC 3225) to the configured resolver or the system's, each
 * reply checked against its query.  Called on the analysis worker threads,
 * one resolver per thread.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "netaddr.h"
#include "resolver.h"

/* DNS Flag Day 2020: a UDP size that is not fragmented in practice. */
#define EDNS_UDP_SIZE	1232
/* Tries per query: the first and one retry. */
#define TRIES		2

/* Owns the ldns resolver. */
struct resolver {
	ldns_resolver	*ldns;		/* owned */
	uint64_t	 timeout_ms;	/* of one try */
	int		 has_deadline;
	uint64_t	 deadline;	/* now_ms() when every lookup ends */
};

/* RFC 1035 4.1.1, RFC 2136 2.2: the RCODE names, lowercase. */
static const char *const rcode_names[] = {
	"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused",
	"yxdomain", "yxrrset", "nxrrset", "notauth", "notzone",
};
#define NRCODES	(sizeof(rcode_names) / sizeof(rcode_names[0]))

/* A clock for deadlines that the wall clock's steps do not move. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
resolver_disabled(const struct config *cfg)
{
	return cfg->resolver != NULL && strcmp(cfg->resolver, "off") == 0;
}

/* The one nameserver of "ADDR:PORT" or "[ADDR]:PORT" (config.c). */
static int
push_configured(ldns_resolver *r, const char *text, char *err, size_t errlen)
{
	struct listen_addr la;
	char addr[INET6_ADDRSTRLEN];
	ldns_rdf *ns;
	int port, family;

	if (config_parse_listen(text, &la) == -1) {
		(void)snprintf(err, errlen, "resolver %s: not ADDR:PORT", text);
		return -1;
	}
	if (netaddr_text((const struct sockaddr *)&la.ss, addr, sizeof(addr),
	    &port, &family) == -1 ||
	    (ns = ldns_rdf_new_frm_str(family == 6 ? LDNS_RDF_TYPE_AAAA :
	    LDNS_RDF_TYPE_A, addr)) == NULL) {
		(void)snprintf(err, errlen, "resolver %s: bad address", text);
		return -1;
	}
	if (ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		(void)snprintf(err, errlen, "resolver %s: out of memory", text);
		return -1;
	}
	ldns_rdf_deep_free(ns);
	/* ldns has one port for all its nameservers: here there is one */
	ldns_resolver_set_port(r, (uint16_t)port);
	return 0;
}

/* The nameservers of CFG: its resolver, else /etc/resolv.conf's. */
static ldns_resolver *
nameservers(const struct config *cfg, char *err, size_t errlen)
{
	ldns_resolver *r = NULL;
	ldns_status st;

	if (resolver_disabled(cfg)) {
		(void)snprintf(err, errlen, "resolver = off");
		return NULL;
	}
	if (cfg->resolver != NULL) {
		if ((r = ldns_resolver_new()) == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			return NULL;
		}
		if (push_configured(r, cfg->resolver, err, errlen) == -1) {
			ldns_resolver_deep_free(r);
			return NULL;
		}
	} else if ((st = ldns_resolver_new_frm_file(&r, NULL)) !=
	    LDNS_STATUS_OK) {
		(void)snprintf(err, errlen, "/etc/resolv.conf: %s",
		    ldns_get_errorstr_by_id(st));
		return NULL;
	} else if (ldns_resolver_nameserver_count(r) == 0) {
		(void)snprintf(err, errlen, "/etc/resolv.conf: no nameserver");
		ldns_resolver_deep_free(r);
		return NULL;
	}
	return r;
}

/* A nameserver address on loopback: 127.0.0.0/8 or ::1. */
static int
loopback(const ldns_rdf *a)
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (ldns_rdf_get_type(a) == LDNS_RDF_TYPE_A)
		return ldns_rdf_data(a)[0] == 127;
	return ldns_rdf_get_type(a) == LDNS_RDF_TYPE_AAAA &&
	    memcmp(ldns_rdf_data(a), one6, sizeof(one6)) == 0;
}

int
resolver_away(const struct config *cfg, char *list, size_t len)
{
	ldns_resolver *r;
	ldns_rdf **ns;
	char err[128], *a;
	size_t i, used = 0;
	int away = 0, n;

	list[0] = '\0';
	if ((r = nameservers(cfg, err, sizeof(err))) == NULL)
		return 0;
	ns = ldns_resolver_nameservers(r);
	for (i = 0; i < ldns_resolver_nameserver_count(r); i++) {
		if (loopback(ns[i]))
			continue;
		away++;
		if ((a = ldns_rdf2str(ns[i])) == NULL)
			continue;
		n = snprintf(list + used, len - used, "%s%s",
		    used > 0 ? " " : "", a);
		free(a);
		if (n > 0 && (size_t)n < len - used)
			used += (size_t)n;
	}
	ldns_resolver_deep_free(r);
	return away;
}

struct resolver *
resolver_new(const struct config *cfg, char *err, size_t errlen)
{
	struct resolver *res;
	ldns_resolver *r;
	struct timeval tv;

	if ((r = nameservers(cfg, err, errlen)) == NULL)
		return NULL;
	if ((res = calloc(1, sizeof(*res))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		ldns_resolver_deep_free(r);
		return NULL;
	}
	res->ldns = r;
	res->timeout_ms = cfg->resolver_timeout_ms;
	clock_ms_to_tv(res->timeout_ms, &tv);
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, TRIES);
	/* ldns sleeps this many seconds after a silent nameserver */
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_dnssec(r, true);	/* DO: keep AD and RRSIGs */
	ldns_resolver_set_dnssec_cd(r, false);
	ldns_resolver_set_edns_udp_size(r, EDNS_UDP_SIZE);
	ldns_resolver_set_fallback(r, true);	/* TC=1: again over TCP */
	ldns_resolver_set_igntc(r, false);
	ldns_resolver_set_defnames(r, false);	/* names are absolute */
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_fail(r, false);
	return res;
}

void
resolver_set_deadline(struct resolver *res, uint64_t ms)
{
	if (res == NULL)
		return;
	res->has_deadline = 1;
	res->deadline = now_ms() + ms;
}

void
resolver_clear_deadline(struct resolver *res)
{
	if (res != NULL)
		res->has_deadline = 0;
}

uint64_t
resolver_time_left(const struct resolver *res)
{
	uint64_t now;

	if (res == NULL || !res->has_deadline)
		return UINT64_MAX;
	now = now_ms();
	return now >= res->deadline ? 0 : res->deadline - now;
}

/*
 * The timeout of one try of the next query: the configured one, or less
 * so that all of its tries (TRIES to each nameserver, as ldns sends
 * them) end by the deadline.  0: the deadline has passed.
 */
static uint64_t
try_timeout(const struct resolver *res)
{
	uint64_t left = resolver_time_left(res), tries;

	tries = TRIES * (uint64_t)ldns_resolver_nameserver_count(res->ldns);
	if (tries == 0)
		tries = 1;
	if (left == UINT64_MAX || left / tries >= res->timeout_ms)
		return res->timeout_ms;
	return left / tries;
}

void
resolver_free(struct resolver *res)
{
	if (res == NULL)
		return;
	ldns_resolver_deep_free(res->ldns);
	free(res);
}

void
resolver_answer_clear(struct resolver_answer *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->data[i]);
	free(a->data);
	memset(a, 0, sizeof(*a));
}

int
resolver_answer_void(const struct resolver_answer *a)
{
	return a->status == RESOLVER_ANSWER &&
	    (a->rcode == RESOLVER_NXDOMAIN ||
	    (a->rcode == RESOLVER_NOERROR && a->n == 0));
}

const char *
resolver_status_name(const struct resolver_answer *a)
{
	switch (a->status) {
	case RESOLVER_ANSWER:
		if (a->rcode >= 0 && (size_t)a->rcode < NRCODES)
			return rcode_names[a->rcode];
		return "rcode";
	case RESOLVER_TIMEOUT:
		return "timeout";
	case RESOLVER_ERROR:
		return "error";
	case RESOLVER_BADNAME:
		return "badname";
	}
	return "error";
}

char *
resolver_name_text(const ldns_rdf *rdf)
{
	char *s, *p;
	size_t n;

	if ((s = ldns_rdf2str(rdf)) == NULL)
		return NULL;
	n = strlen(s);
	if (n > 1 && s[n - 1] == '.' && s[n - 2] != '\\')
		s[n - 1] = '\0';
	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* RFC 7208 3.3: the character-strings of one TXT record, joined. */
static char *
txt_text(const ldns_rr *rr)
{
	const uint8_t *d;
	size_t i, len = 0, n;
	char *s;

	for (i = 0; i < ldns_rr_rd_count(rr); i++)
		len += ldns_rdf_size(ldns_rr_rdf(rr, i));
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	len = 0;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		d = ldns_rdf_data(ldns_rr_rdf(rr, i));
		n = ldns_rdf_size(ldns_rr_rdf(rr, i));
		if (n == 0 || d[0] > n - 1)
			continue;	/* ldns checked it already */
		memcpy(s + len, d + 1, d[0]);
		len += d[0];
	}
	s[len] = '\0';
	return s;
}

/* Presentation format of every rdata field, space-separated. */
static char *
generic_text(const ldns_rr *rr)
{
	ldns_buffer *b;
	char *s;
	size_t i;

	if ((b = ldns_buffer_new(256)) == NULL)
		return NULL;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		if (i > 0)
			(void)ldns_buffer_printf(b, " ");
		(void)ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, i));
	}
	s = ldns_buffer_export2str(b);
	ldns_buffer_free(b);
	return s;
}

static char *
rr_text(const ldns_rr *rr, uint16_t type)
{
	switch (type) {
	case RESOLVER_A:
	case RESOLVER_AAAA:
		return ldns_rr_rd_count(rr) == 1 ?
		    ldns_rdf2str(ldns_rr_rdf(rr, 0)) : NULL;
	case RESOLVER_PTR:
		return ldns_rr_rd_count(rr) == 1 ?
		    resolver_name_text(ldns_rr_rdf(rr, 0)) : NULL;
	case RESOLVER_MX:
		return ldns_rr_rd_count(rr) == 2 ?
		    resolver_name_text(ldns_rr_rdf(rr, 1)) : NULL;
	case RESOLVER_TXT:
		return txt_text(rr);
	default:
		return generic_text(rr);
	}
}

/* The reply answers our question: same id, a response, same question. */
static int
reply_matches(const ldns_pkt *q, const ldns_pkt *p)
{
	const ldns_rr *qq, *pq;

	if (ldns_pkt_id(p) != ldns_pkt_id(q) || !ldns_pkt_qr(p) ||
	    ldns_pkt_qdcount(p) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(p)) != 1)
		return 0;
	qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	pq = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	return ldns_rr_get_type(pq) == ldns_rr_get_type(qq) &&
	    ldns_rr_get_class(pq) == ldns_rr_get_class(qq) &&
	    ldns_dname_compare(ldns_rr_owner(pq), ldns_rr_owner(qq)) == 0;
}

/* The records of TYPE in the answer section into A.  0, or -1 (memory). */
static int
collect(const ldns_pkt *p, uint16_t type, struct resolver_answer *a)
{
	ldns_rr_list *rrs;
	size_t i, n;
	char *s;

	rrs = ldns_pkt_rr_list_by_type(p, (ldns_rr_type)type,
	    LDNS_SECTION_ANSWER);
	if (rrs == NULL)
		return 0;	/* none of that type */
	n = ldns_rr_list_rr_count(rrs);
	if ((a->data = calloc(n > 0 ? n : 1, sizeof(*a->data))) == NULL) {
		ldns_rr_list_deep_free(rrs);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((s = rr_text(ldns_rr_list_rr(rrs, i), type)) == NULL)
			continue;	/* a malformed record is no record */
		a->data[a->n++] = s;
	}
	ldns_rr_list_deep_free(rrs);
	return 0;
}

/*
 * One query for NAME and TYPE, checked against its reply: *P the reply,
 * or NULL with A->status saying why.  CD: checking disabled (RFC 4035
 * 3.2.2), so that a validating resolver hands over data that fails.
 * 0, or -1 when out of memory.
 */
static int
send_query(struct resolver *res, const char *name, uint16_t type, int cd,
    ldns_pkt **pp, struct resolver_answer *a)
{
	ldns_pkt *q = NULL, *p = NULL;
	ldns_rdf *dname;
	ldns_status st;
	struct timeval tv;
	uint64_t t0, try_ms;
	size_t i;
	int rc = 0;

	*pp = NULL;
	memset(a, 0, sizeof(*a));
	a->status = RESOLVER_ERROR;
	if (res == NULL)
		return 0;
	if (name[0] == '\0' || (dname = ldns_dname_new_frm_str(name)) ==
	    NULL) {
		a->status = RESOLVER_BADNAME;
		return 0;
	}
	/* analysis_deadline: past it, no query is sent (mailscope.conf(5)) */
	if ((try_ms = try_timeout(res)) == 0) {
		ldns_rdf_deep_free(dname);
		a->status = RESOLVER_TIMEOUT;
		return 0;
	}
	clock_ms_to_tv(try_ms, &tv);
	ldns_resolver_set_timeout(res->ldns, tv);
	/*
	 * ldns marks a nameserver that did not answer as unreachable for
	 * good (its rtt becomes infinite): every query starts afresh.
	 */
	for (i = 0; i < ldns_resolver_nameserver_count(res->ldns); i++)
		ldns_resolver_set_nameserver_rtt(res->ldns, i,
		    LDNS_RESOLV_RTT_MIN);
	st = ldns_resolver_prepare_query_pkt(&q, res->ldns, dname,
	    (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(dname);
	if (st != LDNS_STATUS_OK)
		return st == LDNS_STATUS_MEM_ERR ? -1 : 0;
	ldns_pkt_set_cd(q, cd != 0);
	t0 = now_ms();
	st = ldns_resolver_send_pkt(&p, res->ldns, q);
	if (st != LDNS_STATUS_OK || p == NULL) {
		/* ldns says "network error" for a timeout and a refusal */
		if (now_ms() - t0 >= try_ms)
			a->status = RESOLVER_TIMEOUT;
		rc = st == LDNS_STATUS_MEM_ERR ? -1 : 0;
	} else if (reply_matches(q, p)) {
		a->status = RESOLVER_ANSWER;
		a->rcode = (int)ldns_pkt_get_rcode(p);
		a->ad = ldns_pkt_ad(p);
		*pp = p;
		p = NULL;
	}
	ldns_pkt_free(q);
	ldns_pkt_free(p);
	return rc;
}

int
resolver_lookup(void *arg, const char *name, uint16_t type,
    struct resolver_answer *a)
{
	ldns_pkt *p;
	int rc;

	if ((rc = send_query(arg, name, type, 0, &p, a)) == -1 || p == NULL)
		return rc;
	rc = collect(p, type, a);
	ldns_pkt_free(p);
	if (rc == -1)
		resolver_answer_clear(a);
	return rc;
}

int
resolver_query_cd(struct resolver *res, const char *name, uint16_t type,
    struct ldns_struct_pkt **pp, struct resolver_answer *a)
{
	return send_query(res, name, type, 1, pp, a);
}

int
resolver_query(struct resolver *res, const char *name, uint16_t type,
    struct ldns_struct_pkt **pp, struct resolver_answer *a)
{
	return send_query(res, name, type, 0, pp, a);
}

int
resolver_reverse_name(const char *addr, char *buf, size_t buflen)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char b[16];
	size_t o = 0;
	int i, n;

	if (inet_pton(AF_INET, addr, b) == 1) {
		n = snprintf(buf, buflen, "%u.%u.%u.%u.in-addr.arpa", b[3],
		    b[2], b[1], b[0]);
		return n < 0 || (size_t)n >= buflen ? -1 : 0;
	}
	if (inet_pton(AF_INET6, addr, b) != 1)
		return -1;
	/* 32 nibbles, least significant first, then "ip6.arpa" */
	if (buflen < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		buf[o++] = hexd[b[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hexd[b[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}
