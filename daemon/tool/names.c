/*
 * mailscope names: from the config and the catalogue, the names each
 * certificate must carry and the records mailscope zones publishes for
 * each host, then the delegation the registrar holds (NS, glue, DS from
 * the base zone's KSK).  Follows the rules of zones/zones_content.c;
 * tests/integration/test_names.py holds the two to the same names.
 * Runs in the command-line tool.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "catalog.h"
#include "config.h"
#include "dnsname.h"
#include "mtasts.h"
#include "names.h"
#include "netaddr.h"

#define NAME_MAX_TEXT	(DNSNAME_MAX + 1)

/* One run.  Borrows everything. */
struct names_run {
	const struct config	*cfg;
	const char		*base;
	FILE			*out;
	FILE			*errs;
};

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

/* A record line: "  OWNER. TYPE VALUE". */
static void
record(const struct names_run *r, const char *owner, const char *type,
    const char *value)
{
	fprintf(r->out, "  %s.%*s %-5s %s\n", owner,
	    strlen(owner) < 44 ? (int)(44 - strlen(owner)) : 0, "", type,
	    value);
}

/*
 * A and AAAA of OWNER: the addresses of LA (N of them) of family WANT
 * (AF_UNSPEC: both), ports dropped, each once, as zones publishes them.
 * How many.
 */
static int
addrs(const struct names_run *r, const char *owner,
    const struct listen_addr *la, size_t n, int want)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t i, j;
	int fam, count = 0;

	for (i = 0; i < n; i++) {
		fam = la[i].ss.ss_family;
		if ((want != AF_UNSPEC && fam != want) ||
		    netaddr_text((const struct sockaddr *)&la[i].ss, a,
		    sizeof(a), NULL, NULL) == -1)
			continue;
		for (j = 0; j < i; j++)
			if (la[j].ss.ss_family == fam &&
			    netaddr_text((const struct sockaddr *)&la[j].ss,
			    b, sizeof(b), NULL, NULL) == 0 &&
			    strcmp(a, b) == 0)
				break;
		if (j < i)
			continue;
		record(r, owner, fam == AF_INET ? "A" : "AAAA", a);
		count++;
	}
	return count;
}

/* Whether mailscope zones leaves CH out (config_challenge_left_out()). */
static int
skipped(const struct config *cfg, const struct catalog_challenge *ch)
{
	char why[256];

	return config_challenge_left_out(cfg, ch, why, sizeof(why));
}

/*
 * A and AAAA of MX, the IDX-th MX of CH on host H: per family the
 * challenge's own addresses (challenge_listen), else the host's.
 */
static void
mx_addrs(const struct names_run *r, const struct catalog_challenge *ch,
    const struct host_conf *h, const char *mx)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	size_t i, j;

	for (i = 0; i < 2; i++) {
		if ((ch->family == MX_A && fams[i] != AF_INET) ||
		    (ch->family == MX_AAAA && fams[i] != AF_INET6))
			continue;
		if (config_challenge_naddr(h, ch->name, fams[i]) == 0) {
			addrs(r, mx, h->listen, h->nlisten, fams[i]);
			continue;
		}
		for (j = 0; j < h->nchlisten; j++)
			if (strcmp(h->chlisten[j].challenge, ch->name) == 0)
				addrs(r, mx, &h->chlisten[j].addr, 1, fams[i]);
	}
}

/* The certificate names of host H (CERT_VALID), as certs.c issues them. */
static void
host_cert_names(const struct names_run *r, const struct catalog_host *h)
{
	const struct catalog_challenge *chs;
	char mx[NAME_MAX_TEXT];
	size_t i, n;
	int idx;

	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		for (idx = 0; idx < 2; idx++) {
			if (chs[i].hosts[idx] == NULL ||
			    strcmp(chs[i].hosts[idx], h->name) != 0 ||
			    skipped(r->cfg, &chs[i]))
				continue;
			if (chs[i].flags & CH_DELEGATED)
				fprintf(r->out, "  name *.%s.%s\n",
				    chs[i].name, r->base);
			else if (catalog_mx_name(&chs[i], idx, r->base, mx,
			    sizeof(mx)) == 0)
				fprintf(r->out, "  name %s\n", mx);
		}
	fprintf(r->out, "  name %s\n", r->cfg->hostname);
}

/* What the zones hold for the challenges whose IDX-th MX is on HOST. */
static void
host_records(const struct names_run *r, const struct catalog_host *ch_host,
    const struct host_conf *h)
{
	const struct catalog_challenge *chs, *ch;
	char dom[NAME_MAX_TEXT], mx[NAME_MAX_TEXT], owner[NAME_MAX_TEXT + 16];
	char value[NAME_MAX_TEXT + 64];
	size_t i, n;
	int idx, j;

	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		ch = &chs[i];
		for (idx = 0; idx < 2; idx++) {
			if (ch->hosts[idx] == NULL ||
			    strcmp(ch->hosts[idx], ch_host->name) != 0)
				continue;
			snprintf(dom, sizeof(dom), "%s.%s", ch->name, r->base);
			if (skipped(r->cfg, ch)) {
				fprintf(r->out, "  ; %s: left out of the zones "
				    "(its MX needs IPv%d, which [host %s] "
				    "lacks)\n", ch->name, ch->family == MX_A ?
				    4 : 6, ch_host->name);
				continue;
			}
			if (ch->flags & CH_DELEGATED) {
				fprintf(r->out, "  ; %s: the MX of <testid>.%s "
				    "is mx-<testid>.%s, answered by mailscoped "
				    "with the addresses of [host %s]\n",
				    ch->name, dom, dom, ch_host->name);
				continue;
			}
			if (idx == 0) {
				for (j = 0; j < 2; j++) {
					if (catalog_mx_name(ch, j, r->base, mx,
					    sizeof(mx)) == -1)
						continue;
					snprintf(value, sizeof(value),
					    "%d %s.", j == 0 ? 10 : 20, mx);
					record(r, dom, "MX", value);
					if (!(ch->flags & CH_PER_TEST))
						continue;
					snprintf(owner, sizeof(owner), "*.%s",
					    dom);
					record(r, owner, "MX", value);
				}
				snprintf(owner, sizeof(owner), "_smtp._tls.%s",
				    dom);
				snprintf(value, sizeof(value), "\"v=TLSRPTv1; "
				    "rua=mailto:" CATALOG_TLSRPT_LOCAL "@%s\"",
				    r->base);
				record(r, owner, "TXT", value);
			}
			if (catalog_mx_name(ch, idx, r->base, mx,
			    sizeof(mx)) == -1)
				continue;
			mx_addrs(r, ch, h, mx);
			if (!(ch->flags & (CH_TLSA_OK | CH_TLSA_BAD)))
				continue;
			snprintf(owner, sizeof(owner), "_25._tcp.%s", mx);
			record(r, owner, "TLSA", (ch->flags & CH_TLSA_OK) ?
			    "3 1 1 <SHA-256 of each certificate's public key>" :
			    "3 1 1 <the same, every bit inverted: no match>");
		}
	}
}

static void
names_hosts(const struct names_run *r)
{
	const struct catalog_host *hosts;
	const struct host_conf *h;
	size_t i, n;

	hosts = catalog_hosts(&n);
	for (i = 0; i < n; i++) {
		fprintf(r->out, "\n[host %s]\n", hosts[i].name);
		if ((h = config_host(r->cfg, hosts[i].name)) == NULL) {
			fputs("  ; not in the config: its challenges are "
			    "left out\n", r->out);
			continue;
		}
		switch (hosts[i].cert) {
		case CERT_NONE:
			fputs("certificate: none (no STARTTLS)\n", r->out);
			break;
		case CERT_BAD:
			fputs("certificate: NOT publicly trusted, on purpose: "
			    "expired and for another name (mailscope certs "
			    "makes it); never ask a public CA for it\n",
			    r->out);
			break;
		case CERT_VALID:
			fputs("certificate: publicly trusted (PKIX), with "
			    "these names:\n", r->out);
			host_cert_names(r, &hosts[i]);
			break;
		}
		fputs("records:\n", r->out);
		host_records(r, &hosts[i], h);
	}
}

/* [web]: the MTA-STS policy hosts. */
static void
names_web(const struct names_run *r)
{
	const struct catalog_challenge *chs;
	char owner[NAME_MAX_TEXT + 16], value[MTASTS_ID_LEN + 32];
	char id[MTASTS_ID_LEN + 1];
	size_t i, n;

	fputs("\n[web]\ncertificate: publicly trusted (PKIX; RFC 8461 "
	    "makes senders check it), with these names:\n", r->out);
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		if (mtasts_has_policy(&chs[i]) && !skipped(r->cfg, &chs[i]))
			fprintf(r->out, "  name mta-sts.%s.%s\n", chs[i].name,
			    r->base);
	fputs("records:\n", r->out);
	for (i = 0; i < n; i++) {
		if (!mtasts_has_policy(&chs[i]) || skipped(r->cfg, &chs[i]))
			continue;
		snprintf(owner, sizeof(owner), "mta-sts.%s.%s", chs[i].name,
		    r->base);
		addrs(r, owner, r->cfg->web.listen, r->cfg->web.nlisten,
		    AF_UNSPEC);
		if (mtasts_policy_id(&chs[i], r->base, id) == -1)
			continue;
		snprintf(owner, sizeof(owner), "_mta-sts.%s.%s", chs[i].name,
		    r->base);
		snprintf(value, sizeof(value), "\"v=STSv1; id=%s\"", id);
		record(r, owner, "TXT", value);
	}
}

/*
 * The name servers as mailscope zones picks them: [zones] ns and ns6,
 * else ns1.<base> (ns6.<base>) at the IPv4 (IPv6) addresses of [dns], or
 * of the open host without [dns].  SIX: the IPv6-only ones.
 */
static void
names_ns(const struct names_run *r, int six, int glue)
{
	const struct zones_conf *zc = &r->cfg->zones;
	const struct ns_conf *ns = six ? zc->ns6 : zc->ns;
	const struct host_conf *open = config_host(r->cfg, "open");
	const struct listen_addr *la = NULL;
	char name[NAME_MAX_TEXT], value[NAME_MAX_TEXT + 8];
	size_t i, n = six ? zc->nns6 : zc->nns, nla = 0;

	if (n == 0) {
		snprintf(name, sizeof(name), "%s.%s", six ? "ns6" : "ns1",
		    r->base);
		if (r->cfg->dns.present) {
			la = r->cfg->dns.listen;
			nla = r->cfg->dns.nlisten;
		} else if (open != NULL) {
			la = open->listen;
			nla = open->nlisten;
		}
		if (glue) {
			snprintf(value, sizeof(value), "%s.", name);
			record(r, r->base, "NS", value);
		}
		addrs(r, name, la, nla, six ? AF_INET6 : AF_INET);
		return;
	}
	for (i = 0; i < n; i++) {
		if (glue) {
			snprintf(value, sizeof(value), "%s.", ns[i].name);
			record(r, r->base, "NS", value);
		}
		if (in_domain(ns[i].name, r->base))
			addrs(r, ns[i].name, ns[i].addr, ns[i].naddr,
			    AF_UNSPEC);
	}
}

/*
 * The DS of the base zone from its KSK in [zones] keys (written by
 * mailscope zones), else where to find it.
 */
static void
names_ds(const struct names_run *r)
{
	const char *keys = r->cfg->zones.keys;
	char path[PATH_MAX], *text;
	ldns_rr *key = NULL, *ds;
	ldns_status st;
	FILE *fp;
	int line = 0, n;

	if (keys == NULL) {
		fputs("  ; DS: [zones] keys is not set: run mailscope zones "
		    "--out DIR and publish DIR/trust-anchor.ds\n", r->out);
		return;
	}
	n = snprintf(path, sizeof(path), "%s/%s.ksk.key", keys, r->base);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (fp = fopen(path, "r")) == NULL) {
		fprintf(r->out, "  ; DS: no key yet (%s: %s): run mailscope "
		    "zones first, then mailscope names again\n", path,
		    n < 0 || (size_t)n >= sizeof(path) ? "path too long" :
		    strerror(errno));
		fprintf(r->errs, "mailscope: names: no DS yet: %s does not "
		    "exist; run mailscope zones first\n", path);
		return;
	}
	st = ldns_rr_new_frm_fp_l(&key, fp, NULL, NULL, NULL, &line);
	fclose(fp);
	if (st != LDNS_STATUS_OK || key == NULL ||
	    ldns_rr_get_type(key) != LDNS_RR_TYPE_DNSKEY ||
	    (ds = ldns_key_rr2ds(key, LDNS_SHA256)) == NULL) {
		fprintf(r->errs, "mailscope: names: %s: no DNSKEY: %s\n", path,
		    st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) :
		    "not a DNSKEY record");
		ldns_rr_free(key);
		return;
	}
	/* "3 1 1 digest" as zones prints it: the rdata of the DS */
	if ((text = ldns_rdf2str(ldns_rr_rdf(ds, 0))) != NULL) {
		fprintf(r->out, "  %s.%*s %-5s %s", r->base,
		    strlen(r->base) < 44 ? (int)(44 - strlen(r->base)) : 0,
		    "", "DS", text);
		free(text);
		for (n = 1; n < (int)ldns_rr_rd_count(ds); n++)
			if ((text = ldns_rdf2str(ldns_rr_rdf(ds, (size_t)n)))
			    != NULL) {
				fprintf(r->out, " %s", text);
				free(text);
			}
		fputc('\n', r->out);
	}
	ldns_rr_free(ds);
	ldns_rr_free(key);
}

/* Whether NAME is one of the name servers names_ns() prints. */
static int
ns_named(const struct names_run *r, const char *name)
{
	const struct zones_conf *zc = &r->cfg->zones;
	char def[NAME_MAX_TEXT];
	size_t i;
	int six;

	for (six = 0; six < 2; six++) {
		if ((six ? zc->nns6 : zc->nns) == 0) {
			snprintf(def, sizeof(def), "%s.%s", six ? "ns6" :
			    "ns1", r->base);
			if (strcasecmp(def, name) == 0)
				return 1;
		}
		for (i = 0; i < (six ? zc->nns6 : zc->nns); i++)
			if (strcasecmp((six ? zc->ns6 : zc->ns)[i].name,
			    name) == 0)
				return 1;
	}
	return 0;
}

/* [dns], the name servers, the base zone's mail and the registrar. */
static void
names_dns(const struct names_run *r)
{
	const struct host_conf *open = config_host(r->cfg, "open");
	char owner[NAME_MAX_TEXT + 16], value[NAME_MAX_TEXT + 16];
	const char *hn = r->cfg->hostname;
	const struct catalog_challenge *chs;
	size_t i, n;
	int elsewhere = 0;

	if (r->cfg->dns.present) {
		fputs("\n[dns]\n; mailscoped's responder: dns.<base> (per "
		    "test)", r->out);
		if (r->cfg->dns.zones != NULL)
			fputs(", the *-bogus and *-dns6 zones", r->out);
		fputs("\nrecords:\n", r->out);
		snprintf(owner, sizeof(owner), "dns.%s", r->base);
		snprintf(value, sizeof(value), "ns.dns.%s.", r->base);
		record(r, owner, "NS", value);
		snprintf(owner, sizeof(owner), "ns.dns.%s", r->base);
		addrs(r, owner, r->cfg->dns.listen, r->cfg->dns.nlisten,
		    AF_UNSPEC);
	}
	fprintf(r->out, "\n[zones]\n; the name servers (NSD or Knot) of "
	    "%s; IPv6 only: those of the *-dns6 zones\nrecords:\n", r->base);
	names_ns(r, 0, 0);
	names_ns(r, 1, 0);
	fprintf(r->out, "; TLS-RPT reports to " CATALOG_TLSRPT_LOCAL
	    "@%s: the base domain's MX is the hostname\n", r->base);
	snprintf(value, sizeof(value), "10 %s.", hn);
	record(r, r->base, "MX", value);
	/*
	 * Its addresses as zones gives them: the open host's, when it is in
	 * the base zone and no name server, MX or child zone has it.
	 */
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		snprintf(owner, sizeof(owner), "%s.%s", chs[i].name, r->base);
		if (in_domain(hn, owner))
			elsewhere = 1;
	}
	if (!elsewhere && in_domain(hn, r->base) && open != NULL &&
	    !ns_named(r, hn))
		addrs(r, hn, open->listen, open->nlisten, AF_UNSPEC);

	fprintf(r->out, "\n[registrar]\n; the parent of %s: the delegation, "
	    "the glue of name servers inside it, the DS\nrecords:\n", r->base);
	names_ns(r, 0, 1);
	names_ds(r);
}

int
names_main(const struct config *cfg, int argc, char *argv[], FILE *out,
    FILE *errs)
{
	struct names_run r;

	(void)argv;
	if (argc != 1) {
		fputs("usage: mailscope [-c FILE] names\n", errs);
		return 2;
	}
	r.cfg = cfg;
	r.base = cfg->base_domain;
	r.out = out;
	r.errs = errs;
	fprintf(out, "; mailscope names for %s (%s): the names on each "
	    "certificate, and the\n; records mailscope zones publishes for "
	    "each host (every record below is in its\n; zone files); then "
	    "what the registrar needs.\n", r.base, cfg->file);
	names_hosts(&r);
	names_web(&r);
	names_dns(&r);
	if (fflush(out) == EOF || ferror(out)) {
		fprintf(errs, "mailscope: names: cannot write: %s\n",
		    strerror(errno));
		return 1;
	}
	return 0;
}
