/*
 * mailscope zones --check: the signed zone files of an earlier run, read
 * back with ldns; the earliest RRSIG expiration of each (RFC 4034 3.1.5)
 * against the clock, so that a timer or cron job notices a re-signing
 * that did not happen before validators do.  Command-line tool.
 */
#include "build.h"

#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "zones.h"

#define SIGNED_SUFFIX	".zone.signed"
#define DAY		86400
#define DATE_MAX	32

/* The earliest signature of a zone file. */
struct earliest {
	time_t		 expires;
	char		*what;		/* owned: "OWNER TYPE" it covers */
	size_t		 nsigs;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The *.zone.signed names of DIR, sorted, into *NAMES (owned, each and
 * the array).  Their number, or -1 (reported).
 */
static ssize_t
signed_files(const char *dir, char ***names, FILE *errs)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t n = 0, len, slen = strlen(SIGNED_SUFFIX);
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		fprintf(errs, "zones: error: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= slen ||
		    strcmp(de->d_name + len - slen, SIGNED_SUFFIX) != 0)
			continue;
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL ||
		    (nv[n] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				v = nv;
			fprintf(errs, "zones: error: out of memory\n");
			while (n > 0)
				free(v[--n]);
			free(v);
			closedir(d);
			return -1;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), name_cmp);
	*names = v;
	return (ssize_t)n;
}

/*
 * RFC 4034 3.1.5: the expiration is a serial number (RFC 1982) of 32
 * bits, the time is that within 2^31 seconds of NOW.
 */
static time_t
sig_time(uint32_t t, time_t now)
{
	return now + (int32_t)(t - (uint32_t)now);
}

/* The earliest RRSIG of the zone file PATH into E.  0, or -1 (reported). */
static int
read_earliest(const char *path, time_t now, struct earliest *e, FILE *errs)
{
	ldns_zone *z = NULL;
	ldns_rr_list *rrs;
	ldns_rr *rr;
	ldns_status st;
	time_t t;
	size_t i;
	char *owner, *type;
	FILE *fp;
	int line = 0;

	memset(e, 0, sizeof(*e));
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(errs, "zones: error: %s: %s\n", path, strerror(errno));
		return -1;
	}
	st = ldns_zone_new_frm_fp_l(&z, fp, NULL, 0, LDNS_RR_CLASS_IN, &line);
	fclose(fp);
	if (st != LDNS_STATUS_OK) {
		fprintf(errs, "zones: error: %s:%d: cannot read the zone: %s\n",
		    path, line, ldns_get_errorstr_by_id(st));
		return -1;
	}
	rrs = ldns_zone_rrs(z);
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    ldns_rr_rrsig_expiration(rr) == NULL)
			continue;
		t = sig_time(ldns_rdf2native_int32(
		    ldns_rr_rrsig_expiration(rr)), now);
		if (e->nsigs++ > 0 && t >= e->expires)
			continue;
		e->expires = t;
		free(e->what);
		owner = ldns_rdf2str(ldns_rr_owner(rr));
		type = ldns_rdf2str(ldns_rr_rrsig_typecovered(rr));
		if (owner == NULL || type == NULL ||
		    asprintf(&e->what, "%s %s", owner, type) == -1)
			e->what = NULL;
		free(owner);
		free(type);
	}
	ldns_zone_deep_free(z);
	return 0;
}

/* T as "2026-12-28 03:45 UTC" into BUF. */
static void
date_text(time_t t, char buf[DATE_MAX])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, DATE_MAX, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, DATE_MAX, "@%lld", (long long)t);
}

int
zones_check(const char *dir, time_t now, FILE *out, FILE *errs)
{
	struct earliest e;
	char path[PATH_MAX], date[DATE_MAX], **names = NULL;
	const char *what;
	ssize_t n, i;
	size_t zlen;
	long long days;
	int bad = 0;

	if ((n = signed_files(dir, &names, errs)) == -1)
		return 1;
	if (n == 0) {
		fprintf(errs, "zones: error: %s: no signed zone file (*%s): "
		    "not the --out of mailscope zones?\n", dir, SIGNED_SUFFIX);
		free(names);
		return 1;
	}
	for (i = 0; i < n; i++) {
		zlen = strlen(names[i]) - strlen(SIGNED_SUFFIX);
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path)) {
			fprintf(errs, "zones: error: %s/%s: path too long\n",
			    dir, names[i]);
			bad = 1;
			continue;
		}
		if (read_earliest(path, now, &e, errs) == -1) {
			bad = 1;
			continue;
		}
		what = e.what != NULL ? e.what : "?";
		date_text(e.expires, date);
		days = (long long)(e.expires - now) / DAY;
		if (e.nsigs == 0) {
			fprintf(errs, "zones: error: %.*s: no signatures in "
			    "%s\n", (int)zlen, names[i], path);
			bad = 1;
		} else if (e.expires <= now) {
			fprintf(errs, "zones: error: %.*s: signatures expired "
			    "on %s (%s): validators find the zone bogus; "
			    "re-sign now (mailscope zones --out %s)\n",
			    (int)zlen, names[i], date, what, dir);
			bad = 1;
		} else if (e.expires - now <= ZONES_CHECK_DAYS * DAY) {
			fprintf(errs, "zones: warning: %.*s: signatures expire "
			    "on %s, in %lld day%s (%s): re-sign (mailscope "
			    "zones --out %s)\n", (int)zlen, names[i], date,
			    days, days == 1 ? "" : "s", what, dir);
			bad = 1;
		} else if (out != NULL)
			fprintf(out, "%.*s: signatures valid until %s (%lld "
			    "days)\n", (int)zlen, names[i], date, days);
		free(e.what);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return bad;
}
