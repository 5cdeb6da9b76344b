/*
 * mailscope plan: assigns the operator's IPv4 addresses and one IPv6 /64
 * to the catalogue's hosts and challenges and writes the production
 * config, with a summary of what is measured over which family and what
 * is shared or left out.  The rules are docs/operator-plan.md's.  Runs in
 * the command-line tool; reads no config.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "dnsname.h"
#include "fileout.h"
#include "plan.h"

#define PLAN_V4_MAX		64	/* addresses read from --ipv4 */
#define PLAN_HOSTS_MAX		16	/* of the catalogue */
#define PLAN_CHALLENGES_MAX	64
#define PLAN_ETC		"/etc/mailscope"
#define PLAN_CERTS		PLAN_ETC "/certs"	/* mailscope certs --out */
#define PLAN_VAR		"/var/lib/mailscope"
#define PLAN_USER		"mailscope"

/*
 * The low 64 bits of the IPv6 addresses in the /64: the hosts' shared
 * ones are ::10 + their place in the catalogue, a challenge's own
 * ::1:N on its first MX host and ::2:N on its second (N: its place in
 * the catalogue, from 1), so an address names what it is for.
 */
#define V6_NS		0x2		/* [zones] ns: ns1.<base> (NSD) */
#define V6_WEB		0x5		/* [web] */
#define V6_NS6		0x6		/* [zones] ns6 without [dns] zones */
#define V6_DNS		0x53		/* [dns]; ns6 with [dns] zones */
#define V6_HOST		0x10		/* + the host's index */
#define V6_MX(idx)	((idx) + 1)	/* the group before N */

/*
 * The order in which hosts get an IPv4 address of their own: open and
 * grey first (their A-only challenges exist only over IPv4), then the
 * hosts with the most challenges, then the others.  A host without one
 * is served over IPv6 only.
 */
static const char *const host_order[] = {
	"open", "grey", "tls-bad", "tls", "plain", "tls13", "tls12",
	"strong", "medium"
};

/*
 * The order in which the challenges of a host get IPv4 addresses of
 * their own once every host has one: the hosts whose senders refuse
 * before RCPT (a handshake aborted on tls-bad, DANE, MTA-STS), where only
 * the address tells the challenge, then the others.  The first challenge
 * of each host (catalogue order) keeps the host's address.
 */
static const char *const own_order[] = { "tls-bad", "tls", "plain", "open" };

static const char *const starttls_names[] = {
	[STARTTLS_OFF] = "off",
	[STARTTLS_OPTIONAL] = "optional",
	[STARTTLS_REQUIRED] = "required",
};

/* One run: the input and the assignment.  Owns nothing. */
struct plan {
	const char			*base;		/* borrowed: argv */
	size_t				 nv4;
	char				 v4[PLAN_V4_MAX][INET_ADDRSTRLEN];
	struct in6_addr			 prefix;
	const struct catalog_host	*hosts;		/* the catalogue's */
	size_t				 nhosts;
	const struct catalog_challenge	*chs;
	size_t				 nchs;
	int				 host_v4[PLAN_HOSTS_MAX];  /* -1: none */
	int				 own_v4[PLAN_CHALLENGES_MAX][2];
	size_t				 nused;		/* IPv4 on port 25 */
	int				 dns_v4;	/* -1: [dns] IPv6 only */
};

static int
host_index(const struct plan *pl, const char *name)
{
	size_t i;

	for (i = 0; i < pl->nhosts; i++)
		if (strcmp(pl->hosts[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether the IDX-th MX of challenge C is on host H and has A records. */
static int
mx_v4_on(const struct plan *pl, size_t c, int idx, const char *h)
{
	const struct catalog_challenge *ch = &pl->chs[c];

	return ch->hosts[idx] != NULL && strcmp(ch->hosts[idx], h) == 0 &&
	    ch->family != MX_AAAA;
}

/* The same with AAAA records. */
static int
mx_v6_on(const struct plan *pl, size_t c, int idx, const char *h)
{
	const struct catalog_challenge *ch = &pl->chs[c];

	return ch->hosts[idx] != NULL && strcmp(ch->hosts[idx], h) == 0 &&
	    ch->family != MX_A;
}

/*
 * The assignment.  IPv4: the first address carries ns1 (port 53), [web]
 * (443) and the first host of host_order (25); the second [dns] (53)
 * and the second host; then one host per address, then the challenges'
 * own addresses in own_order.  Addresses beyond those are not used.
 */
static void
plan_assign(struct plan *pl)
{
	size_t i, c, next = 0;
	int h, idx, first;

	for (i = 0; i < PLAN_HOSTS_MAX; i++)
		pl->host_v4[i] = -1;
	for (c = 0; c < PLAN_CHALLENGES_MAX; c++)
		pl->own_v4[c][0] = pl->own_v4[c][1] = -1;
	pl->dns_v4 = pl->nv4 >= 2 ? 1 : -1;
	for (i = 0; i < sizeof(host_order) / sizeof(host_order[0]) &&
	    next < pl->nv4; i++)
		if ((h = host_index(pl, host_order[i])) != -1)
			pl->host_v4[h] = (int)next++;
	for (i = 0; i < sizeof(own_order) / sizeof(own_order[0]); i++) {
		first = 1;
		for (c = 0; c < pl->nchs; c++)
			for (idx = 0; idx < 2; idx++) {
				if (!mx_v4_on(pl, c, idx, own_order[i]))
					continue;
				if (first) {
					first = 0;	/* the host's address */
					continue;
				}
				if (next < pl->nv4)
					pl->own_v4[c][idx] = (int)next++;
			}
	}
	pl->nused = next;
}

/* The IPv4 addresses on port 25 that keep every challenge apart. */
static size_t
plan_full_v4(const struct plan *pl)
{
	size_t c, n = 0;
	int idx;

	for (c = 0; c < pl->nchs; c++)
		for (idx = 0; idx < 2; idx++)
			if (pl->chs[c].hosts[idx] != NULL &&
			    pl->chs[c].family != MX_AAAA)
				n++;
	return n;
}

/* PREFIX with the low 64 bits HI:LO (two 16-bit groups) as text. */
static void
v6_text(const struct plan *pl, unsigned hi, unsigned lo,
    char buf[INET6_ADDRSTRLEN])
{
	struct in6_addr a = pl->prefix;

	a.s6_addr[12] = (unsigned char)(hi >> 8);
	a.s6_addr[13] = (unsigned char)hi;
	a.s6_addr[14] = (unsigned char)(lo >> 8);
	a.s6_addr[15] = (unsigned char)lo;
	inet_ntop(AF_INET6, &a, buf, INET6_ADDRSTRLEN);
}

/* --- the config -------------------------------------------------------- */

static void
plan_certs(FILE *fp, const char *name)
{
	fprintf(fp, "certificate = " PLAN_CERTS "/%s.rsa.pem "
	    PLAN_CERTS "/%s.ecdsa.pem\n", name, name);
	fprintf(fp, "key         = " PLAN_CERTS "/%s.rsa.key "
	    PLAN_CERTS "/%s.ecdsa.key\n", name, name);
}

/* The challenge_listen lines of host H (index HI). */
static void
plan_challenge_listen(FILE *fp, const struct plan *pl, size_t hi)
{
	const char *h = pl->hosts[hi].name;
	char v6[INET6_ADDRSTRLEN];
	size_t c;
	int idx, v4;

	for (c = 0; c < pl->nchs; c++)
		for (idx = 0; idx < 2; idx++) {
			v4 = mx_v4_on(pl, c, idx, h) ? pl->own_v4[c][idx] : -1;
			if (v4 == -1 && !mx_v6_on(pl, c, idx, h))
				continue;
			fprintf(fp, "challenge_listen = %s", pl->chs[c].name);
			if (v4 != -1)
				fprintf(fp, " %s:25", pl->v4[v4]);
			if (mx_v6_on(pl, c, idx, h)) {
				v6_text(pl, V6_MX(idx), (unsigned)c + 1, v6);
				fprintf(fp, " [%s]:25", v6);
			}
			fputc('\n', fp);
		}
}

static int
plan_write_conf(FILE *fp, const void *arg)
{
	const struct plan *pl = arg;
	const struct catalog_host *h;
	char v6[INET6_ADDRSTRLEN], ns6[INET6_ADDRSTRLEN];
	size_t i;

	fprintf(fp, "; mailscope for %s, written by mailscope plan\n"
	    "; IPv4:", pl->base);
	for (i = 0; i < pl->nv4; i++)
		fprintf(fp, " %s", pl->v4[i]);
	v6_text(pl, 0, 0, v6);
	fprintf(fp, "; IPv6: %s/64\n", v6);
	fputs("; Next: mailscope certs --out " PLAN_CERTS " (a lab), or "
	    "publicly trusted\n; certificates at these paths; mailscope zones "
	    "--out " PLAN_VAR "/zones;\n; mailscope names lists what to "
	    "publish.  docs/operator-plan.md.\n", fp);
	fprintf(fp, "\n[global]\nbase_domain = %s\nhostname    = mx.%s\n"
	    "database    = " PLAN_VAR "/mailscope.db\n"
	    "user        = " PLAN_USER "\n", pl->base, pl->base);

	for (i = 0; i < pl->nhosts; i++) {
		h = &pl->hosts[i];
		fprintf(fp, "\n[host %s]\nlisten      =", h->name);
		if (pl->host_v4[i] != -1)
			fprintf(fp, " %s:25", pl->v4[pl->host_v4[i]]);
		v6_text(pl, 0, V6_HOST + (unsigned)i, v6);
		fprintf(fp, " [%s]:25\n", v6);
		plan_challenge_listen(fp, pl, i);
		fprintf(fp, "starttls    = %s\n", starttls_names[h->starttls]);
		if (h->starttls != STARTTLS_OFF) {
			plan_certs(fp, h->name);
			fprintf(fp, "protocols   = %s\n", h->protocols);
			fprintf(fp, "ciphers     = %s\n", h->ciphers);
		}
		if (h->greylist)
			fputs("greylist_delay = 5m\n", fp);
	}

	v6_text(pl, 0, V6_WEB, v6);
	fprintf(fp, "\n[web]\nlisten      = %s:443 [%s]:443\n", pl->v4[0], v6);
	plan_certs(fp, "web");

	v6_text(pl, 0, V6_DNS, v6);
	fputs("\n[dns]\nlisten      =", fp);
	if (pl->dns_v4 != -1)
		fprintf(fp, " %s:53", pl->v4[pl->dns_v4]);
	fprintf(fp, " [%s]:53\n", v6);
	/* the *-bogus zones need an IPv4 name server: NSD's without it */
	if (pl->dns_v4 != -1) {
		fputs("zones       = " PLAN_VAR "/zones\n", fp);
		v6_text(pl, 0, V6_DNS, ns6);
	} else
		v6_text(pl, 0, V6_NS6, ns6);

	v6_text(pl, 0, V6_NS, v6);
	fprintf(fp, "\n[zones]\nns          = ns1.%s %s %s\n", pl->base,
	    pl->v4[0], v6);
	fprintf(fp, "ns6         = ns6.%s %s\n", pl->base, ns6);
	fputs("keys        = " PLAN_VAR "/zones/keys\n", fp);
	return ferror(fp) ? -1 : 0;
}

/* --- the summary ------------------------------------------------------- */

/*
 * The other challenges on the IPv4 address of host H that the IDX-th MX
 * of C shares: those with A records on H and no address of their own,
 * comma-separated into BUF; how many.
 */
static size_t
shared_with(const struct plan *pl, size_t c, int idx, char *buf, size_t len)
{
	const char *h = pl->chs[c].hosts[idx];
	size_t o, n = 0;
	int j;

	buf[0] = '\0';
	for (o = 0; o < pl->nchs; o++)
		for (j = 0; j < 2; j++) {
			if ((o == c && j == idx) || !mx_v4_on(pl, o, j, h) ||
			    pl->own_v4[o][j] != -1)
				continue;
			if (n++ > 0)
				strncat(buf, ",", len - strlen(buf) - 1);
			strncat(buf, pl->chs[o].name, len - strlen(buf) - 1);
		}
	return n;
}

/* Counts of the summary's last lines. */
struct plan_counts {
	size_t	own, shared, v6only, disabled;
};

/* The IPv4 column of the IDX-th MX of challenge C. */
static void
summary_v4(FILE *errs, const struct plan *pl, size_t c, int idx,
    struct plan_counts *n)
{
	const struct catalog_challenge *ch = &pl->chs[c];
	char others[1024];
	int hv4;

	hv4 = pl->host_v4[host_index(pl, ch->hosts[idx])];
	if (ch->family == MX_AAAA)
		fprintf(errs, "%-34s", "- (an AAAA-only MX)");
	else if (pl->own_v4[c][idx] != -1) {
		fprintf(errs, "own %-30s", pl->v4[pl->own_v4[c][idx]]);
		n->own++;
	} else if (hv4 != -1 && shared_with(pl, c, idx, others,
	    sizeof(others)) == 0) {
		fprintf(errs, "own %-30s", pl->v4[hv4]);
		n->own++;
	} else if (hv4 != -1) {
		fprintf(errs, "merged %-27s", pl->v4[hv4]);
		n->shared++;
	} else if (ch->family == MX_A) {
		fprintf(errs, "%-34s", "DISABLED: the host has no IPv4");
		n->disabled++;
	} else {
		fprintf(errs, "%-34s", "none: IPv6 only (host has no IPv4)");
		n->v6only++;
	}
}

/* The challenges merged on the IPv4 address of host HI, if any. */
static void
summary_merged(FILE *errs, const struct plan *pl, size_t hi)
{
	const char *h = pl->hosts[hi].name;
	char others[1024];
	size_t c;
	int idx;

	if (pl->host_v4[hi] == -1)
		return;
	for (c = 0; c < pl->nchs; c++)
		for (idx = 0; idx < 2; idx++) {
			if (!mx_v4_on(pl, c, idx, h) ||
			    pl->own_v4[c][idx] != -1 ||
			    shared_with(pl, c, idx, others,
			    sizeof(others)) == 0)
				continue;
			fprintf(errs, "plan: merged on %s ([host %s]): %s,%s\n",
			    pl->v4[pl->host_v4[hi]], h, pl->chs[c].name,
			    others);
			return;
		}
}

static void
plan_summary(FILE *errs, const struct plan *pl)
{
	struct plan_counts n;
	char v6[INET6_ADDRSTRLEN];
	size_t c, i, full;
	int idx;

	memset(&n, 0, sizeof(n));
	full = plan_full_v4(pl);
	fprintf(errs, "plan: %s: %zu IPv4 address%s, an IPv6 /64\n", pl->base,
	    pl->nv4, pl->nv4 == 1 ? "" : "es");
	v6_text(pl, 0, V6_NS, v6);
	fprintf(errs, "plan: %s: [zones] ns ns1.%s (NSD, port 53), [web] "
	    "(443), [host %s] (25)\n", pl->v4[0], pl->base, host_order[0]);
	if (pl->dns_v4 != -1)
		fprintf(errs, "plan: %s: [dns] (mailscoped's responder, port "
		    "53; it serves the *-bogus and *-dns6 zones: [dns] "
		    "zones)\n", pl->v4[pl->dns_v4]);
	else
		fprintf(errs, "plan: [dns] has no IPv4 address (it needs a "
		    "second one): the dns challenge resolves only for "
		    "resolvers that reach IPv6; the *-bogus and *-dns6 zones "
		    "stay on NSD (a second instance, nsd-dns6.conf, on "
		    "ns6.%s)\n", pl->base);
	for (i = 0; i < pl->nhosts; i++)
		if (pl->host_v4[i] == -1)
			fprintf(errs, "plan: [host %s] has no IPv4 address: "
			    "its challenges are served over IPv6 only\n",
			    pl->hosts[i].name);
	fprintf(errs, "\n%-26s %-8s %-34s %s\n", "challenge", "host", "IPv4",
	    "IPv6");
	for (c = 0; c < pl->nchs; c++)
		for (idx = 0; idx < 2; idx++) {
			if (pl->chs[c].hosts[idx] == NULL)
				continue;
			fprintf(errs, "%-26s %-8s ", pl->chs[c].name,
			    pl->chs[c].hosts[idx]);
			summary_v4(errs, pl, c, idx, &n);
			if (pl->chs[c].family == MX_A)
				fputs(" - (an A-only MX)\n", errs);
			else {
				v6_text(pl, V6_MX(idx), (unsigned)c + 1, v6);
				fprintf(errs, " own %s\n", v6);
			}
		}
	for (i = 0; i < pl->nhosts; i++)
		summary_merged(errs, pl, i);
	fprintf(errs, "\nplan: IPv4: %zu MX with an address of their own, %zu "
	    "merged (sharing their host's address: a refusal before RCPT "
	    "names the set of challenges, not one), %zu IPv6 only, %zu "
	    "disabled (an A-only MX without IPv4: left out of the zones)\n",
	    n.own, n.shared, n.v6only, n.disabled);
	fprintf(errs, "plan: IPv6: every challenge has an address of its "
	    "own\n");
	if (pl->nused < full)
		fprintf(errs, "plan: every challenge apart over IPv4 needs %zu "
		    "IPv4 addresses; %zu given\n", full, pl->nv4);
	else if (pl->nv4 > full)
		fprintf(errs, "plan: %zu IPv4 address%s not needed, from %s\n",
		    pl->nv4 - full, pl->nv4 - full == 1 ? "" : "es",
		    pl->v4[full]);
}

/* --- the command line -------------------------------------------------- */

static int
plan_usage(FILE *errs, const char *why, const char *arg)
{
	if (why != NULL)
		fprintf(errs, "mailscope: plan: %s%s%s%s\n", why,
		    arg != NULL ? " '" : "", arg != NULL ? arg : "",
		    arg != NULL ? "'" : "");
	fputs("usage: mailscope plan --base DOMAIN --ipv4 A[,B...] "
	    "--ipv6 PREFIX/64 [--out FILE [--force]]\n", errs);
	return 2;
}

/* --ipv4 A,B,...: addresses, each once.  0, or the exit status. */
static int
parse_v4(struct plan *pl, char *list, FILE *errs)
{
	struct in_addr a;
	char *tok, *save = NULL;
	size_t i;

	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (inet_pton(AF_INET, tok, &a) != 1)
			return plan_usage(errs, "--ipv4: not an IPv4 address",
			    tok);
		if (a.s_addr == htonl(INADDR_ANY) ||
		    a.s_addr == htonl(INADDR_BROADCAST) ||
		    IN_MULTICAST(ntohl(a.s_addr)))
			return plan_usage(errs, "--ipv4: not a unicast "
			    "address", tok);
		if (pl->nv4 == PLAN_V4_MAX)
			return plan_usage(errs, "--ipv4: too many addresses "
			    "(at most 64)", NULL);
		inet_ntop(AF_INET, &a, pl->v4[pl->nv4], INET_ADDRSTRLEN);
		for (i = 0; i < pl->nv4; i++)
			if (strcmp(pl->v4[i], pl->v4[pl->nv4]) == 0)
				return plan_usage(errs, "--ipv4: address "
				    "given twice", tok);
		pl->nv4++;
	}
	if (pl->nv4 == 0)
		return plan_usage(errs, "--ipv4: no address", NULL);
	return 0;
}

/* --ipv6 PREFIX/64: the prefix, its host bits zero.  0, or the status. */
static int
parse_v6(struct plan *pl, const char *arg, FILE *errs)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	size_t i;

	if (strlen(arg) >= sizeof(buf))
		return plan_usage(errs, "--ipv6: not an IPv6 prefix", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	if ((slash = strchr(buf, '/')) == NULL)
		return plan_usage(errs, "--ipv6: not a prefix (PREFIX/64)",
		    arg);
	*slash++ = '\0';
	if (inet_pton(AF_INET6, buf, &pl->prefix) != 1)
		return plan_usage(errs, "--ipv6: not an IPv6 prefix", arg);
	if (strcmp(slash, "64") != 0)
		return plan_usage(errs, "--ipv6: the prefix must be a /64 "
		    "(one address per challenge, fixed interface IDs)", arg);
	for (i = 8; i < 16; i++)
		if (pl->prefix.s6_addr[i] != 0)
			return plan_usage(errs, "--ipv6: bits set after the "
			    "first 64", arg);
	if (IN6_IS_ADDR_MULTICAST(&pl->prefix) ||
	    IN6_IS_ADDR_V4MAPPED(&pl->prefix) ||
	    IN6_IS_ADDR_UNSPECIFIED(&pl->prefix))
		return plan_usage(errs, "--ipv6: not a unicast prefix", arg);
	return 0;
}

/* FILE, unless it exists and not FORCE.  0 or -1 (reported). */
static int
plan_write_file(const struct plan *pl, const char *file, int force,
    FILE *errs)
{
	struct stat st;
	char err[1024];
	int exists;

	exists = lstat(file, &st) == 0;
	if (exists && !force) {
		fprintf(errs, "mailscope: plan: %s exists: not overwritten "
		    "(--force replaces it)\n", file);
		return -1;
	}
	if (fileout_write(file, 0644, plan_write_conf, pl, err,
	    sizeof(err)) == -1) {
		fprintf(errs, "mailscope: plan: %s\n", err);
		return -1;
	}
	fprintf(errs, "plan: %s %s\n", exists ? "replaced" : "wrote", file);
	return 0;
}

int
plan_main(int argc, char *argv[], FILE *out, FILE *errs)
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "ipv4", required_argument, NULL, '4' },
		{ "ipv6", required_argument, NULL, '6' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct plan pl;
	const char *file = NULL, *v6 = NULL;
	char *v4 = NULL;
	int ch, force = 0, rc;

	memset(&pl, 0, sizeof(pl));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			pl.base = optarg;
			break;
		case '4':
			v4 = optarg;
			break;
		case '6':
			v6 = optarg;
			break;
		case 'o':
			file = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			return plan_usage(errs, "unknown option or missing "
			    "value", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return plan_usage(errs, "unexpected argument", argv[optind]);
	if (pl.base == NULL || v4 == NULL || v6 == NULL)
		return plan_usage(errs, "--base, --ipv4 and --ipv6 are "
		    "required", NULL);
	if (!dnsname_valid(pl.base) || strchr(pl.base, '.') == NULL)
		return plan_usage(errs, "--base: not a domain name", pl.base);
	if (force && file == NULL)
		return plan_usage(errs, "--force without --out", NULL);
	if ((rc = parse_v4(&pl, v4, errs)) != 0 ||
	    (rc = parse_v6(&pl, v6, errs)) != 0)
		return rc;

	pl.hosts = catalog_hosts(&pl.nhosts);
	pl.chs = catalog_challenges(&pl.nchs);
	if (pl.nhosts > PLAN_HOSTS_MAX || pl.nchs > PLAN_CHALLENGES_MAX) {
		fprintf(errs, "mailscope: plan: the catalogue outgrew "
		    "PLAN_HOSTS_MAX or PLAN_CHALLENGES_MAX\n");
		return 1;
	}
	plan_assign(&pl);
	if (file != NULL) {
		if (plan_write_file(&pl, file, force, errs) == -1)
			return 1;
	} else if (plan_write_conf(out, &pl) == -1 || fflush(out) == EOF) {
		fprintf(errs, "mailscope: plan: cannot write the config: %s\n",
		    strerror(errno));
		return 1;
	}
	plan_summary(errs, &pl);
	return 0;
}
