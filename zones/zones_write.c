/*
 * mailscope zones: the files of a run in the output directory.  Each
 * zone's serial (above the one of the file it replaces), <zone>.zone and
 * <zone>.zone.signed, the MTA-STS policy files (RFC 8461 3.2), and the
 * NSD and Knot snippets for the two sets of name servers.
 */
#include "build.h"

#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "catalog.h"
#include "mtasts.h"
#include "zones_int.h"

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
			zones_warn(r, "%s: %s: the serial starts again from "
			    "today's", path, strerror(errno));
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
		zones_warn(r, "%s:%d: cannot read its serial (%s): the serial "
		    "starts again from today's", path, line,
		    ldns_get_errorstr_by_id(st));
	if (z != NULL)
		ldns_zone_deep_free(z);
	if (prev >= today && prev < UINT32_MAX)
		return prev + 1;
	return (uint32_t)today;
}

/* The serial of Z, after the one of DIR/<zone>.zone.  0 or -1. */
int
zones_write_serial(struct zrun *r, struct zone *z)
{
	char path[PATH_MAX];

	if (zones_path(r, path, "%s/%s.zone", r->dir, z->name) == -1)
		return -1;
	z->serial = next_serial(r, path, z->name);
	return 0;
}

/* DIR/<zone>.zone, and .zone.signed for the signed ones. */
int
zones_write_zone(struct zrun *r, const struct zone *z)
{
	char path[PATH_MAX], spath[PATH_MAX], *text = NULL, *signd = NULL;
	size_t len = 0, slen = 0;
	int rc = -1;

	if (zones_path(r, path, "%s/%s.zone", r->dir, z->name) == -1 ||
	    zones_path(r, spath, "%s/%s.zone.signed", r->dir, z->name) == -1 ||
	    zones_content_text(r, z, &text, &len) == -1)
		return -1;
	if (z->ksk != NULL &&
	    zones_sign_zone(r, z, text, len, &signd, &slen) == -1)
		goto out;
	if (zones_file(r, path, 0644, text, len) == -1)
		goto out;
	if (signd != NULL) {
		if (zones_file(r, spath, 0644, signd, slen) == -1)
			goto out;
	} else if (unlink(spath) == -1 && errno != ENOENT) {
		zones_error(r, "%s: cannot remove: %s", spath, strerror(errno));
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

/* policies/mta-sts.<challenge>.<base>/.well-known/mta-sts.txt, exact. */
int
zones_write_policies(struct zrun *r)
{
	const struct catalog_challenge *chs;
	char path[PATH_MAX], buf[1024];
	size_t i, n;
	int len;

	if (zones_path(r, path, "%s/policies", r->dir) == -1 ||
	    zones_mkdir(r, path, 0755) == -1)
		return -1;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (r->skip[i] || !mtasts_has_policy(&chs[i]))
			continue;
		if ((len = mtasts_policy(&chs[i], r->base, buf, sizeof(buf)))
		    == -1) {
			zones_error(r, "challenge %s: policy too long",
			    chs[i].name);
			return -1;
		}
		if (zones_path(r, path, "%s/policies/mta-sts.%s.%s", r->dir,
		    chs[i].name, r->base) == -1 ||
		    zones_mkdir(r, path, 0755) == -1 ||
		    zones_path(r, path, "%s/policies/mta-sts.%s.%s/.well-known",
		    r->dir, chs[i].name, r->base) == -1 ||
		    zones_mkdir(r, path, 0755) == -1 ||
		    zones_path(r, path, "%s/policies/mta-sts.%s.%s/.well-known/"
		    "mta-sts.txt", r->dir, chs[i].name, r->base) == -1 ||
		    zones_file(r, path, 0644, buf, (size_t)len) == -1)
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
		zones_error(r, "out of memory");
		return -1;
	}
	n = 0;
	for (i = 0; i < set->n; i++)
		for (j = 0; j < set->ns[i].naddr; j++) {
			if (zones_addr_text(&set->ns[i].addr[j], seen[n]) == -1)
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
 * IPv4 address would let every resolver through.  With [dns] zones
 * mailscoped serves the *-bogus and *-dns6 zones: they are in neither
 * snippet, and the second one is not written (an old one is removed).
 */
int
zones_write_conf(struct zrun *r, int knot, const struct ns_set *set)
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

	if (zones_path(r, path, "%s/%s", r->dir, file) == -1)
		return -1;
	if (r->on_responder && set == &r->ns6) {
		if (unlink(path) == -1 && errno != ENOENT) {
			zones_error(r, "%s: cannot remove: %s", path,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((fp = open_memstream(&text, &len)) == NULL) {
		zones_error(r, "out of memory");
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
		if (z->ns != set || (r->on_responder && z->ch != NULL &&
		    (z->ch->flags & CH_ON_RESPONDER)))
			continue;
		if ((rc = zones_path(r, zfile, "%s/%s.zone%s", r->dir, z->name,
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
		zones_error(r, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		rc = zones_file(r, path, 0644, text, len);
	free(text);
	return rc;
}
