/*
 * mailscope zones: the command's run.  Picks the name servers and plans
 * which challenge gets a zone of its own, then has each zone's keys
 * made, its text written and signed, and the files of the run written;
 * holds the run's messages, names, paths and files.  Command-line tool.
 */
#include "build.h"

#include <sys/socket.h>
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

#include "catalog.h"
#include "config.h"
#include "dnsname.h"
#include "fileout.h"
#include "netaddr.h"
#include "zones.h"
#include "zones_int.h"


/* "zones: LEVEL: message" on the run's error stream. */
static void
zones_vmsg(struct zrun *r, const char *level, const char *fmt, va_list ap)
{
	fprintf(r->errs, "zones: %s: ", level);
	vfprintf(r->errs, fmt, ap);
	fputc('\n', r->errs);
}

void
zones_error(struct zrun *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zones_vmsg(r, "error", fmt, ap);
	va_end(ap);
	r->nerrors++;
}

void
zones_warn(struct zrun *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zones_vmsg(r, "warning", fmt, ap);
	va_end(ap);
}

/* A DNS name into BUF (ZONES_NAME_MAX); -1 if too long (reported). */
int
zones_name(struct zrun *r, char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, ZONES_NAME_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n > DNSNAME_MAX) {
		zones_error(r, "name too long (more than %d bytes) under %s",
		    DNSNAME_MAX, r->base);
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* A path into BUF (PATH_MAX); -1 if too long (reported). */
int
zones_path(struct zrun *r, char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		zones_error(r, "%s: path too long", r->dir);
		return -1;
	}
	return 0;
}

/* NAME is DOMAIN or below it. */
int
zones_in_domain(const char *name, const char *domain)
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
int
zones_file(struct zrun *r, const char *path, mode_t mode, const char *data,
    size_t len)
{
	char err[2 * PATH_MAX + 128];

	if (fileout_write_data(path, mode, data, len, err, sizeof(err)) ==
	    -1) {
		zones_error(r, "%s", err);
		return -1;
	}
	return 0;
}

/* PATH as a directory with MODE if it is missing.  0 or -1 (reported). */
int
zones_mkdir(struct zrun *r, const char *path, mode_t mode)
{
	char err[PATH_MAX + 128];

	if (fileout_mkdir(path, mode, err, sizeof(err)) == -1) {
		zones_error(r, "%s", err);
		return -1;
	}
	return 0;
}

int
zones_addr_unspecified(const struct listen_addr *la)
{
	return netaddr_is_unspecified((const struct sockaddr *)&la->ss);
}

/* The address of LA without its port, as text. */
int
zones_addr_text(const struct listen_addr *la, char buf[INET6_ADDRSTRLEN])
{
	return netaddr_text((const struct sockaddr *)&la->ss, buf,
	    INET6_ADDRSTRLEN, NULL, NULL);
}

/* Whether LA[I] has the address of one of LA[0..I-1] (ports aside). */
int
zones_addr_seen(const struct listen_addr *la, size_t i)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t j;

	if (zones_addr_text(&la[i], a) == -1)
		return 0;
	for (j = 0; j < i; j++)
		if (la[j].ss.ss_family == la[i].ss.ss_family &&
		    zones_addr_text(&la[j], b) == 0 && strcmp(a, b) == 0)
			return 1;
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
		    zones_addr_seen(la, i) || zones_addr_unspecified(&la[i]))
			continue;
		ns->addr[ns->naddr] = la[i];
		if (la[i].ss.ss_family == AF_INET) {
			sin = (struct sockaddr_in *)&ns->addr[ns->naddr].ss;
			sin->sin_port = 0;
		} else {
			sin6 = (struct sockaddr_in6 *)&ns->addr[ns->naddr].ss;
			sin6->sin6_port = 0;
		}
		if (zones_addr_text(&ns->addr[ns->naddr],
		    ns->addr[ns->naddr].text) == 0)
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
			if (zones_addr_text(&a->addr[i], text) == 0 &&
			    zones_addr_text(&b->addr[j], other) == 0 &&
			    strcmp(text, other) == 0)
				return 0;
	return -1;
}

/*
 * The servers of [zones] ns (WANT AF_INET) or ns6 (AF_INET6), else the
 * default ns1.<base> or ns6.<base> at the addresses of that family of
 * LA (N of them).
 */
static int
ns_pick(struct zrun *r, const struct listen_addr *la, size_t n, int want)
{
	const struct zones_conf *zc = &r->cfg->zones;
	const int six = want == AF_INET6;
	struct ns_set *set = six ? &r->ns6 : &r->ns;
	struct ns_conf *def = six ? &r->defns6 : &r->defns;
	char name[ZONES_NAME_MAX];

	set->ns = six ? zc->ns6 : zc->ns;
	set->n = six ? zc->nns6 : zc->nns;
	if (set->n > 0)
		return 0;
	if (zones_name(r, name, "%s.%s", six ? "ns6" : "ns1", r->base) == -1)
		return -1;
	if (ns_default(def, name, la, n, want) == -1) {
		zones_error(r, "out of memory");
		return -1;
	}
	if (def->naddr == 0) {
		zones_error(r, "no IPv%d address for the name server %s%s: set "
		    "[zones] %s", six ? 6 : 4, name,
		    six ? " of the *-dns6 challenges" : "", six ? "ns6" : "ns");
		return -1;
	}
	set->ns = def;
	set->n = 1;
	return 0;
}

/*
 * [dns] zones: mailscoped serves the *-bogus zones as ns.dns.<base> (the
 * glue of dns.<base>: every [dns] address) and the *-dns6 zones on the
 * IPv6 [dns] addresses, so every address of [zones] ns6 must be one.
 */
static int
ns_responder(struct zrun *r)
{
	const struct dns_conf *dc = &r->cfg->dns;
	char name[ZONES_NAME_MAX], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t i, j, k;

	if (zones_name(r, name, "ns.dns.%s", r->base) == -1)
		return -1;
	if (ns_default(&r->defresp, name, dc->listen, dc->nlisten,
	    AF_UNSPEC) == -1) {
		zones_error(r, "out of memory");
		return -1;
	}
	r->resp.ns = &r->defresp;
	r->resp.n = 1;
	for (i = 0; i < r->ns6.n; i++)
		for (j = 0; j < r->ns6.ns[i].naddr; j++) {
			if (zones_addr_text(&r->ns6.ns[i].addr[j], a) == -1)
				continue;
			for (k = 0; k < dc->nlisten; k++)
				if (zones_addr_text(&dc->listen[k], b) == 0 &&
				    strcmp(a, b) == 0)
					break;
			if (k == dc->nlisten)
				zones_error(r, "name server %s: address %s is "
				    "not a [dns] listen address: with [dns] "
				    "zones mailscoped serves the *-dns6 zones",
				    r->ns6.ns[i].name, a);
		}
	return r->nerrors > 0 ? -1 : 0;
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
	char text[INET6_ADDRSTRLEN];
	size_t i, j, k, n = 0;

	if (cfg->dns.present) {
		la = cfg->dns.listen;
		n = cfg->dns.nlisten;
		if ((cfg->zones.nns == 0 || cfg->zones.nns6 == 0) &&
		    on_port_53(la, n))
			zones_warn(r, "the default name servers are at the "
			    "[dns] addresses, where mailscoped answers on "
			    "port 53: set [zones] ns and ns6");
	} else if (open != NULL) {
		la = open->listen;
		n = open->nlisten;
	}
	if (ns_pick(r, la, n, AF_INET) == -1 ||
	    ns_pick(r, la, n, AF_INET6) == -1 ||
	    (r->on_responder && ns_responder(r) == -1))
		return -1;

	for (k = 0; k < 2; k++)
		for (i = 0; i < sets[k]->n; i++) {
			a = &sets[k]->ns[i];
			if (zones_in_domain(a->name, r->base) && a->naddr == 0)
				zones_error(r, "name server %s is in %s but "
				    "has no address: list its addresses in "
				    "[zones] %s", a->name, r->base,
				    k == 0 ? "ns" : "ns6");
			if (k == 0)
				continue;
			for (j = 0; j < r->ns.n; j++) {
				b = &r->ns.ns[j];
				if (strcasecmp(a->name, b->name) == 0)
					zones_error(r, "name server %s is in "
					    "both ns and ns6: an IPv6-only "
					    "server needs a name of its own",
					    a->name);
				if (shared_addr(a, b, text) == 0)
					zones_error(r, "address %s is in both "
					    "ns (%s) and ns6 (%s): the *-dns6 "
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

static int
zones_plan(struct zrun *r)
{
	const struct catalog_challenge *chs;
	const struct ns_set *sets[2] = { &r->ns, &r->ns6 };
	enum zone_kind kind;
	struct zone *z;
	char dom[ZONES_NAME_MAX], why[256];
	size_t i, j, k, n;

	chs = catalog_challenges(&n);
	if ((r->skip = calloc(n, 1)) == NULL ||
	    (r->zones = calloc(n + 1, sizeof(*r->zones))) == NULL) {
		zones_error(r, "out of memory");
		return -1;
	}
	z = &r->zones[r->nzones++];
	snprintf(z->name, sizeof(z->name), "%s", r->base);
	z->kind = ZONE_BASE;
	z->ns = &r->ns;
	for (i = 0; i < n; i++) {
		if (config_challenge_left_out(r->cfg, &chs[i], why, sizeof(why))) {
			zones_warn(r, "%s", why);
			r->skip[i] = 1;
		}
		if (r->skip[i] || !child_kind(&chs[i], &kind))
			continue;
		z = &r->zones[r->nzones++];
		if (zones_name(r, z->name, "%s.%s", chs[i].name, r->base) == -1)
			return -1;
		z->ch = &chs[i];
		z->kind = kind;
		z->ns = (chs[i].flags & CH_DNS6) ? &r->ns6 : &r->ns;
		/* [dns] zones: the bogus ones to ns.dns.<base> (mailscoped) */
		if (r->on_responder && (chs[i].flags & CH_ON_RESPONDER) &&
		    !(chs[i].flags & CH_DNS6))
			z->ns = &r->resp;
	}
	/* a name server inside a delegated zone would need glue there */
	for (j = 0; j < n; j++) {
		if (!(chs[j].flags & CH_DELEGATED) &&
		    !child_kind(&chs[j], &kind))
			continue;
		if (zones_name(r, dom, "%s.%s", chs[j].name, r->base) == -1)
			return -1;
		for (k = 0; k < 2; k++)
			for (i = 0; i < sets[k]->n; i++)
				if (zones_in_domain(sets[k]->ns[i].name, dom))
					zones_error(r, "name server %s is "
					    "inside the delegated zone %s: "
					    "choose a name outside it",
					    sets[k]->ns[i].name, dom);
	}
	return r->nerrors > 0 ? -1 : 0;
}

/* --- the run ----------------------------------------------------------- */

static int
zones_dirs(struct zrun *r, const char *dir)
{
	char *abs;
	int n;

	if (dir == NULL || *dir == '\0') {
		zones_error(r, "no output directory");
		return -1;
	}
	if (zones_mkdir(r, dir, 0755) == -1)
		return -1;
	if ((abs = realpath(dir, NULL)) == NULL) {
		zones_error(r, "%s: %s", dir, strerror(errno));
		return -1;
	}
	n = snprintf(r->dir, sizeof(r->dir), "%s", abs);
	free(abs);
	if (n < 0 || (size_t)n >= sizeof(r->dir)) {
		zones_error(r, "%s: path too long", dir);
		return -1;
	}
	if (r->cfg->zones.keys != NULL)
		n = snprintf(r->keys, sizeof(r->keys), "%s",
		    r->cfg->zones.keys);
	else
		n = snprintf(r->keys, sizeof(r->keys), "%s/keys", r->dir);
	if (n < 0 || (size_t)n >= sizeof(r->keys)) {
		zones_error(r, "%s: path too long", dir);
		return -1;
	}
	return zones_mkdir(r, r->keys, 0700);
}

static void
zones_free(struct zrun *r)
{
	size_t i;

	for (i = 0; i < r->nzones; i++)
		zones_sign_free(&r->zones[i]);
	free(r->zones);
	free(r->skip);
	free(r->defns.name);
	free(r->defns.addr);
	free(r->defns6.name);
	free(r->defns6.addr);
	free(r->defresp.name);
	free(r->defresp.addr);
}

int
zones_generate(const struct config *cfg, const char *dir, FILE *out,
    FILE *errs)
{
	struct zrun r;
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
	r.on_responder = cfg->dns.present && cfg->dns.zones != NULL;
	r.validity = cfg->zones.validity_ms / 1000 > INT32_MAX ?
	    INT32_MAX : (uint32_t)(cfg->zones.validity_ms / 1000);
	if (r.validity <= ZONES_SIG_BACKDATE)
		r.validity = ZONES_SIG_BACKDATE + 1;

	if (zones_dirs(&r, dir) == -1 || zones_ns(&r) == -1 ||
	    zones_plan(&r) == -1)
		goto out;
	for (i = 0; i < r.nzones; i++)
		if (zones_write_serial(&r, &r.zones[i]) == -1 ||
		    zones_sign_keys(&r, &r.zones[i]) == -1)
			goto out;
	/* children first: the base zone points at them */
	for (i = r.nzones; i-- > 0; )
		if (zones_write_zone(&r, &r.zones[i]) == -1)
			goto out;
	if (zones_sign_anchor(&r, &r.zones[0]) == -1 ||
	    zones_write_policies(&r) == -1)
		goto out;
	for (i = 0; i < 4; i++)
		if (zones_write_conf(&r, i / 2, i % 2 ? &r.ns6 : &r.ns) == -1)
			goto out;
 out:
	zones_free(&r);
	return r.nerrors > 0 ? -1 : 0;
}
