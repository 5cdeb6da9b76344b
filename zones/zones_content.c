/*
 * mailscope zones: the records of each zone from the catalogue.  SOA and
 * NS, MX (wildcard for per-test names), A/AAAA, TLSA 3 1 1 (RFC 7671
 * 5.1), MTA-STS TXT (RFC 8461 3.1), TLS-RPT TXT (RFC 8460 3), and in the
 * base zone the delegations (NS, DS) of the child zones and of dns.<base>.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "catalog.h"
#include "config.h"
#include "dnsname.h"
#include "mtasts.h"
#include "zones_int.h"

#define SOA_REFRESH	3600
#define SOA_RETRY	900
#define SOA_EXPIRE	1209600	/* two weeks */
#define SOA_MINIMUM	300	/* negative answers cached 5 min (RFC 2308) */
#define TLSA_LEN	32	/* SHA-256 */
#define TLSRPT_LOCAL	CATALOG_TLSRPT_LOCAL	/* rua=mailto:tlsrpt@<base> */

static void	rr(FILE *, const char *, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

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
		if (zones_addr_unspecified(&la[i])) {
			zones_error(r, "%s: listen address %s is a wildcard "
			    "and cannot be published for %s: list the "
			    "numeric addresses", what, la[i].text, owner);
			return -1;
		}
		if (zones_addr_seen(la, i) ||
		    zones_addr_text(&la[i], text) == -1)
			continue;
		rr(fp, owner, fam == AF_INET ? "A" : "AAAA", "%s", text);
		if (fam == AF_INET)
			(*n4)++;
		else
			(*n6)++;
	}
	return 0;
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
		zones_error(r, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	ERR_clear_error();
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		ssl_errors(why, sizeof(why));
		zones_error(r, "%s: no PEM certificate%s", path, why);
		return -1;
	}
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == TLSA_LEN;
	OPENSSL_free(der);
	X509_free(x);
	if (!ok) {
		ssl_errors(why, sizeof(why));
		zones_error(r, "%s: cannot hash its public key%s", path, why);
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
		zones_error(r, "host %s has no certificate: no TLSA record "
		    "for %s", h->name, owner);
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
			zones_error(r, "host %s: certificate path too long",
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
 * family: per family, the challenge's own addresses on the host
 * (challenge_listen), else the host's shared ones (listen), so that the
 * address a sender connects to names the challenge (issue 12).
 */
static int
emit_mx_addrs(struct zrun *r, FILE *fp, const struct catalog_challenge *ch,
    const struct host_conf *h, const char *mx)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct listen_addr *own;
	char what[128];
	size_t i, nown = 0;
	int n4 = 0, n6 = 0, want, rc = 0;

	want = ch->family == MX_A ? AF_INET : ch->family == MX_AAAA ?
	    AF_INET6 : AF_UNSPEC;
	if ((own = calloc(h->nchlisten + 1, sizeof(*own))) == NULL) {
		zones_error(r, "out of memory");
		return -1;
	}
	for (i = 0; i < h->nchlisten; i++)
		if (strcmp(h->chlisten[i].challenge, ch->name) == 0)
			own[nown++] = h->chlisten[i].addr;
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]) && rc == 0; i++) {
		if (want != AF_UNSPEC && fams[i] != want)
			continue;
		if (config_challenge_naddr(h, ch->name, fams[i]) > 0) {
			snprintf(what, sizeof(what), "[host %s] "
			    "challenge_listen %s", h->name, ch->name);
			rc = emit_addrs(r, fp, mx, own, nown, fams[i], what,
			    &n4, &n6);
		} else {
			snprintf(what, sizeof(what), "[host %s]", h->name);
			rc = emit_addrs(r, fp, mx, h->listen, h->nlisten,
			    fams[i], what, &n4, &n6);
		}
	}
	free(own);
	if (rc == -1)
		return -1;
	if (ch->family == MX_A && n4 == 0)
		zones_error(r, "challenge %s: [host %s] has no IPv4 listen "
		    "address for %s (an A-only MX)", ch->name, h->name, mx);
	else if (ch->family == MX_AAAA && n6 == 0)
		zones_error(r, "challenge %s: [host %s] has no IPv6 listen "
		    "address for %s (an AAAA-only MX)", ch->name, h->name, mx);
	else if (ch->family == MX_DUAL && n4 + n6 == 0)
		zones_error(r, "challenge %s: [host %s] has no listen address "
		    "for %s", ch->name, h->name, mx);
	else if (ch->family == MX_DUAL && (n4 == 0 || n6 == 0))
		zones_warn(r, "challenge %s: [host %s] has no IPv%d listen "
		    "address: %s gets no %s record", ch->name, h->name,
		    n4 == 0 ? 4 : 6, mx, n4 == 0 ? "A" : "AAAA");
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

	if (zones_name(r, dom, "%s.%s", ch->name, r->base) == -1 ||
	    zones_name(r, wild, "*.%s", dom) == -1)
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
	if (zones_name(r, owner, "_smtp._tls.%s", dom) == -1)
		return -1;
	rr(fp, owner, "TXT", "\"v=TLSRPTv1; rua=mailto:" TLSRPT_LOCAL "@%s\"",
	    r->base);
	if (ch->flags & CH_PER_TEST)
		rr(fp, wild, "TXT", "\"v=TLSRPTv1; rua=mailto:" TLSRPT_LOCAL
		    "@%s\"", r->base);
	if (mtasts_has_policy(ch)) {
		if (mtasts_policy_id(ch, r->base, id) == -1) {
			zones_error(r, "challenge %s: no MTA-STS policy id",
			    ch->name);
			return -1;
		}
		if (zones_name(r, owner, "_mta-sts.%s", dom) == -1)
			return -1;
		rr(fp, owner, "TXT", "\"v=STSv1; id=%s\"", id);
		if (zones_name(r, owner, "mta-sts.%s", dom) == -1)
			return -1;
		if (!r->cfg->web.present) {
			zones_error(r, "challenge %s publishes an MTA-STS "
			    "policy: [web] is needed to serve it", ch->name);
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
		if (zones_name(r, owner, "_25._tcp.%s", mx) == -1 ||
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
		zones_error(r, "soa_email %s: not a mailbox that fits an SOA "
		    "RNAME", mailbox);
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
			if (!zones_in_domain(ns->name, r->base))
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
 * And the probe's sender that SPF forbids everywhere.
 */
static int
emit_base_mail(struct zrun *r, FILE *fp)
{
	const struct host_conf *open = config_host(r->cfg, "open");
	const char *hn = r->cfg->hostname;
	char owner[DNSNAME_MAX + 2];
	size_t i;
	int n4 = 0, n6 = 0;

	fprintf(fp, "\n; mailscope probe's sender whom no address may send "
	    "for: does a server check SPF?\n");
	(void)snprintf(owner, sizeof(owner), CATALOG_PROBE_SPF_DENY ".%s",
	    r->base);
	rr(fp, owner, "TXT", "\"v=spf1 -all\"");
	fprintf(fp, "\n; TLS-RPT reports to " TLSRPT_LOCAL "@%s arrive at the "
	    "greeting name\n", r->base);
	rr(fp, r->base, "MX", "10 %s.", hn);
	if (!zones_in_domain(hn, r->base) || has_addrs(r, hn))
		return 0;
	for (i = 1; i < r->nzones; i++)
		if (zones_in_domain(hn, r->zones[i].name))
			return 0;	/* that zone's business */
	if (open == NULL) {
		zones_warn(r, "no [host open]: %s gets no address", hn);
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
		zones_warn(r, "no [dns]: %s.%s is not delegated", ch->name,
		    r->base);
		return 0;
	}
	if (zones_name(r, dom, "%s.%s", ch->name, r->base) == -1 ||
	    zones_name(r, ns, "ns.%s", dom) == -1)
		return -1;
	fprintf(fp, "\n; %s: %s\n; per test <testid>.%s: mailscoped's DNS "
	    "responder, unsigned, no DS\n", ch->name, ch->meaning, dom);
	rr(fp, dom, "NS", "%s.", ns);
	return emit_addrs(r, fp, ns, r->cfg->dns.listen, r->cfg->dns.nlisten,
	    AF_UNSPEC, "[dns]", &n4, &n6);
}

int
zones_content_text(struct zrun *r, const struct zone *z, char **text,
    size_t *len)
{
	const struct catalog_challenge *chs;
	const struct zone *child;
	FILE *fp;
	size_t i, n;
	int rc = 0;

	*text = NULL;
	if ((fp = open_memstream(text, len)) == NULL) {
		zones_error(r, "out of memory");
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
		zones_error(r, "out of memory");
		rc = -1;
	}
	if (rc == -1) {
		free(*text);
		*text = NULL;
	}
	return rc;
}
