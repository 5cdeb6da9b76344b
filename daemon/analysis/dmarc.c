/*
 * The DMARC analyzer: RFC 7489 policy discovery (6.6.3), record parsing
 * (6.3, 6.4), identifier alignment (3.1) with Organizational Domains from
 * the Public Suffix List (3.2, libpsl), the result, and the verification
 * of external report destinations (7.1).  Analysis worker threads, one
 * struct dmarc each.
 */
#include "build.h"

#include <ctype.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "dnsname.h"
#include "text.h"

#define STORED_MAX	2048	/* bytes of a record or a tag value kept */
#define INVALID_MAX	256	/* bytes of the invalid tags' names kept */

/* Owns the PSL context (unless it is libpsl's built-in list). */
struct dmarc {
	psl_ctx_t	*psl;		/* owned; NULL: psl_builtin() */
	resolver_fn	 lookup;
	void		*arg;		/* borrowed */
};

/* RFC 7489 6.3 p= and sp=. */
static const char *const policies[] = { "none", "quarantine", "reject" };
#define NPOLICIES	(sizeof(policies) / sizeof(policies[0]))

static const psl_ctx_t *
psl_of(const struct dmarc *dm)
{
	return dm->psl != NULL ? dm->psl : psl_builtin();
}

/* S as the database keeps it: text_escaped(), cut at STORED_MAX. */
static char *
escaped(const char *s)
{
	return text_escaped(s, strlen(s), STORED_MAX, 0);
}

/* ---- Organizational Domains and alignment ---- */

int
dmarc_org_domain(const struct dmarc *dm, const char *domain, char *buf,
    size_t buflen)
{
	const char *org;
	size_t n;

	/* RFC 7489 3.2: the public suffix plus one label; none for a
	 * public suffix itself, which then stands for itself */
	if ((org = psl_registrable_domain(psl_of(dm), domain)) == NULL)
		org = domain;
	if ((n = strlen(org)) >= buflen)
		return -1;
	memcpy(buf, org, n + 1);
	return 0;
}

int
dmarc_aligned(const struct dmarc *dm, const char *a, const char *b,
    int strict)
{
	char oa[DNSNAME_MAX + 1], ob[DNSNAME_MAX + 1];

	if (a == NULL || b == NULL)
		return 0;
	/* RFC 7489 3.1.1, 3.1.2: strict is an exact match */
	if (strcasecmp(a, b) == 0)
		return 1;
	if (strict || !dnsname_valid(a) || !dnsname_valid(b) ||
	    dmarc_org_domain(dm, a, oa, sizeof(oa)) == -1 ||
	    dmarc_org_domain(dm, b, ob, sizeof(ob)) == -1)
		return 0;
	return strcasecmp(oa, ob) == 0;
}

/* ---- report URIs ---- */

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static size_t
scheme_len(const char *uri)
{
	size_t i;

	if (!isalpha((unsigned char)uri[0]))
		return 0;
	for (i = 1; isalnum((unsigned char)uri[i]) || uri[i] == '+' ||
	    uri[i] == '-' || uri[i] == '.'; i++)
		;
	return uri[i] == ':' ? i : 0;
}

int
dmarc_uri_host(const char *uri, char *buf, size_t buflen)
{
	const char *p, *end, *at;
	size_t n, i, s;

	if ((s = scheme_len(uri)) == 0)
		return -1;
	p = uri + s + 1;
	/* RFC 7489 6.4 dmarc-uri: a "!" size suffix follows the URI */
	end = p + strcspn(p, "!");
	if (s == 6 && strncasecmp(uri, "mailto", 6) == 0) {
		/* RFC 6068: the address, before any ?hfields */
		end = p + strcspn(p, "?!");
		for (at = NULL; p < end; p++)
			if (*p == '@')
				at = p;
		if (at == NULL)
			return -1;
		p = at + 1;
	} else {
		/* RFC 3986 3.2: //[userinfo@]host[:port] */
		if (end - p < 2 || p[0] != '/' || p[1] != '/')
			return -1;
		p += 2;
		end = p + strcspn(p, "/?#:!");
		for (at = p; at < end; at++)
			if (*at == '@')
				p = at + 1;
	}
	if ((n = (size_t)(end - p)) == 0 || n >= buflen)
		return -1;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)p[i]);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	return buf[0] != '\0' ? 0 : -1;
}

/* The next comma-separated URI of *LIST into BUF, trimmed.  0 at the end. */
static int
next_uri(const char **list, char *buf, size_t buflen)
{
	const char *p = *list, *e;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	e = p + strcspn(p, ",");
	*list = *e == ',' ? e + 1 : e;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - p);
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

/* 1 when LIST has a URI we can tell a host of (6.6.3 step 6: valid). */
static int
has_valid_uri(const char *list)
{
	char uri[STORED_MAX + 1], host[DNSNAME_MAX + 2];

	while (next_uri(&list, uri, sizeof(uri)))
		if (dmarc_uri_host(uri, host, sizeof(host)) == 0)
			return 1;
	return 0;
}

/* ---- the record ---- */

void
dmarc_policy_clear(struct dmarc_policy *pol)
{
	free(pol->fo);
	free(pol->rua);
	free(pol->ruf);
	free(pol->invalid);
	memset(pol, 0, sizeof(*pol));
}

static const char *
policy_of(const char *v)
{
	size_t i;

	for (i = 0; i < NPOLICIES; i++)
		if (strcasecmp(v, policies[i]) == 0)
			return policies[i];
	return NULL;
}

/* RFC 7489 6.3 fo: a colon-separated list of 0, 1, d, s. */
static int
fo_valid(const char *v)
{
	const char *p = v;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strchr("01dDsS", *p) == NULL || *p == '\0')
			return 0;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 1;
		if (*p++ != ':')
			return 0;
	}
}

/* Adds NAME (N bytes) to the invalid tags.  0, or -1 out of memory. */
static int
add_invalid(struct dmarc_policy *pol, const char *name, size_t n)
{
	size_t used = pol->invalid != NULL ? strlen(pol->invalid) : 0;
	char *s;

	if (n > 32)
		n = 32;
	if (used + n + 2 > INVALID_MAX)
		return 0;
	if ((s = realloc(pol->invalid, used + n + 2)) == NULL)
		return -1;
	if (used > 0)
		s[used++] = ' ';
	memcpy(s + used, name, n);
	s[used + n] = '\0';
	pol->invalid = s;
	return 0;
}

/* RFC 6376 3.2: tag-name = ALPHA *ALNUMPUNC. */
static int
name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* Trims spaces and tabs around [*S, *E). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* One tag=value of a record (not v=).  0, or -1 out of memory. */
static int
parse_tag(struct dmarc_policy *pol, const char *name, size_t nlen,
    const char *value, unsigned *seen, int *sp_bad)
{
	static const char *const known[] = {
		"p", "sp", "pct", "adkim", "aspf", "fo", "rua", "ruf", "rf",
		"ri",
	};
	char *copy;
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == nlen &&
		    strncasecmp(name, known[i], nlen) == 0)
			break;
	/* RFC 7489 6.3: unknown tags MUST be ignored */
	if (i == sizeof(known) / sizeof(known[0]))
		return 0;
	/* RFC 6376 3.2: a tag appears once; the first one counts */
	if ((*seen & (1u << i)) != 0)
		return add_invalid(pol, name, nlen);
	*seen |= 1u << i;
	switch (i) {
	case 0:
		ok = (pol->p = policy_of(value)) != NULL;
		break;
	case 1:
		ok = (pol->sp = policy_of(value)) != NULL;
		*sp_bad = !ok;
		break;
	case 2:
		/* 1*3DIGIT, 0 to 100 */
		ok = *value != '\0' && strlen(value) <= 3 &&
		    strspn(value, "0123456789") == strlen(value) &&
		    atoi(value) <= 100;
		if (ok)
			pol->pct = atoi(value);
		break;
	case 3:
	case 4:
		ok = strcasecmp(value, "r") == 0 || strcasecmp(value, "s") == 0;
		if (ok && i == 3)
			pol->adkim_strict = tolower((unsigned char)*value) ==
			    's';
		else if (ok)
			pol->aspf_strict = tolower((unsigned char)*value) ==
			    's';
		break;
	case 5:
		if ((ok = fo_valid(value))) {
			if ((copy = strdup(value)) == NULL)
				return -1;
			free(pol->fo);
			pol->fo = copy;
		}
		break;
	case 6:
	case 7:
		if ((ok = has_valid_uri(value))) {
			if ((copy = strdup(value)) == NULL)
				return -1;
			if (i == 6)
				pol->rua = copy;
			else
				pol->ruf = copy;
		}
		break;
	case 9:
		/* ri: 1*32DIGIT */
		ok = *value != '\0' && strlen(value) <= 32 &&
		    strspn(value, "0123456789") == strlen(value);
		break;
	default:
		break;
	}
	return ok ? 0 : add_invalid(pol, name, nlen);
}

int
dmarc_parse(const char *txt, struct dmarc_policy *pol)
{
	const char *p = txt, *s, *e, *eq, *ns, *ne;
	char value[STORED_MAX + 1];
	unsigned seen = 0;
	int first = 1, sp_bad = 0;
	size_t n;

	memset(pol, 0, sizeof(*pol));
	pol->pct = 100;
	while (*p != '\0') {
		s = p;
		e = s + strcspn(s, ";");
		p = *e == ';' ? e + 1 : e;
		trim(&s, &e);
		if (s == e) {
			if (first)
				return DMARC_NOT_RECORD;
			continue;
		}
		eq = memchr(s, '=', (size_t)(e - s));
		ns = s;
		ne = eq != NULL ? eq : e;
		trim(&ns, &ne);
		if (first) {
			/* RFC 7489 6.4: "v" *WSP "=" *WSP "DMARC1", first */
			first = 0;
			if (eq == NULL || ne - ns != 1 || (*ns != 'v' &&
			    *ns != 'V'))
				return DMARC_NOT_RECORD;
			ns = eq + 1;
			trim(&ns, &e);
			if (e - ns != 6 || strncmp(ns, "DMARC1", 6) != 0)
				return DMARC_NOT_RECORD;
			continue;
		}
		if (eq == NULL || !name_valid(ns, (size_t)(ne - ns))) {
			if (add_invalid(pol, s, (size_t)(e - s)) == -1)
				goto oom;
			continue;
		}
		s = eq + 1;
		trim(&s, &e);
		n = (size_t)(e - s) < STORED_MAX ? (size_t)(e - s) : STORED_MAX;
		memcpy(value, s, n);
		value[n] = '\0';
		if (parse_tag(pol, ns, (size_t)(ne - ns), value, &seen,
		    &sp_bad) == -1)
			goto oom;
	}
	if (first)
		return DMARC_NOT_RECORD;
	if (pol->fo == NULL && (pol->fo = strdup("0")) == NULL)
		goto oom;
	/* RFC 7489 6.6.3 step 6 */
	if (pol->p == NULL || sp_bad) {
		if (pol->rua == NULL)
			return DMARC_INVALID;
		pol->p = "none";
		pol->sp = NULL;
	}
	return DMARC_RECORD;

oom:
	dmarc_policy_clear(pol);
	return -1;
}

/* ---- the analyzer ---- */

struct dmarc *
dmarc_new(resolver_fn lookup, void *arg)
{
	struct dmarc *dm;

	if ((dm = calloc(1, sizeof(*dm))) == NULL)
		return NULL;
	dm->lookup = lookup;
	dm->arg = arg;
	/* the newer of the distribution's list and the built-in one */
	dm->psl = psl_latest(NULL);
	return dm;
}

void
dmarc_free(struct dmarc *dm)
{
	if (dm == NULL)
		return;
	psl_free(dm->psl);
	free(dm);
}

/*
 * The DMARC record at _dmarc.DOMAIN (RFC 7489 6.1) into *TXT (owned):
 * 1 found, 0 none (ERR says why), -1 temporary failure or several
 * records (*RESULT says which), -2 out of memory.
 */
static int
fetch_record(struct dmarc *dm, const char *domain, char **txt,
    const char **result, char *err, size_t errlen)
{
	struct dmarc_policy pol;
	struct resolver_answer a;
	char name[DNSNAME_MAX + 16];
	size_t i, found = 0, idx = 0;
	int r;

	*txt = NULL;
	(void)snprintf(name, sizeof(name), "_dmarc.%s", domain);
	if (dm->lookup(dm->arg, name, RESOLVER_TXT, &a) == -1)
		return -2;
	if (a.status != RESOLVER_BADNAME && !resolver_answer_void(&a) &&
	    !(a.status == RESOLVER_ANSWER && a.rcode == RESOLVER_NOERROR)) {
		(void)snprintf(err, errlen, "TXT %s: %s", name,
		    resolver_status_name(&a));
		resolver_answer_clear(&a);
		*result = "temperror";
		return -1;
	}
	/* 6.6.3 steps 2 and 4: records that are not DMARC are discarded */
	for (i = 0; i < a.n; i++) {
		if ((r = dmarc_parse(a.data[i], &pol)) == -1) {
			resolver_answer_clear(&a);
			return -2;
		}
		dmarc_policy_clear(&pol);
		if (r != DMARC_NOT_RECORD) {
			found++;
			idx = i;
		}
	}
	if (found == 1 && (*txt = strdup(a.data[idx])) == NULL) {
		resolver_answer_clear(&a);
		return -2;
	}
	if (found == 0)
		(void)snprintf(err, errlen, "no DMARC record at %s: %s", name,
		    resolver_status_name(&a));
	else if (found > 1) {
		/* 6.6.3 step 5: several records, no DMARC processing */
		(void)snprintf(err, errlen, "%zu DMARC records at %s "
		    "(RFC 7489 6.6.3)", found, name);
		*result = "permerror";
	}
	resolver_answer_clear(&a);
	return found == 1 ? 1 : found == 0 ? 0 : -1;
}

/*
 * RFC 7489 7.1: a destination outside the policy domain's Organizational
 * Domain must publish a DMARC record at <policy domain>._report._dmarc.
 * <destination host>.  Fills D's external, authorized and status; 0,
 * or -1 when out of memory.
 */
static int
check_dest(struct dmarc *dm, const char *policy_domain,
    const char *policy_org, const char *host, struct dmarc_dest *d)
{
	struct dmarc_policy pol;
	struct resolver_answer a;
	char org[DNSNAME_MAX + 1], name[2 * DNSNAME_MAX + 32];
	size_t i;
	int r;

	d->external = -1;
	d->authorized = -1;
	if (!dnsname_valid(host) ||
	    dmarc_org_domain(dm, host, org, sizeof(org)) == -1)
		return 0;
	d->external = strcasecmp(org, policy_org) != 0;
	if (!d->external)
		return 0;
	(void)snprintf(name, sizeof(name), "%s._report._dmarc.%s",
	    policy_domain, host);
	if (dm->lookup(dm->arg, name, RESOLVER_TXT, &a) == -1)
		return -1;
	d->status = resolver_status_name(&a);
	if (a.status == RESOLVER_BADNAME || resolver_answer_void(&a))
		d->authorized = 0;
	else if (a.status == RESOLVER_ANSWER && a.rcode == RESOLVER_NOERROR) {
		/* steps 5 to 7: one record with v=DMARC1 first is enough */
		d->authorized = 0;
		for (i = 0; i < a.n && !d->authorized; i++) {
			if ((r = dmarc_parse(a.data[i], &pol)) == -1) {
				resolver_answer_clear(&a);
				return -1;
			}
			dmarc_policy_clear(&pol);
			d->authorized = r != DMARC_NOT_RECORD;
		}
	}
	resolver_answer_clear(&a);
	return 0;
}

/* Every URI of LIST (TAG) into OUT's destinations.  0, or -1. */
static int
add_dests(struct dmarc *dm, struct dmarc_rec *out, const char *tag,
    const char *list, const char *policy_org)
{
	struct dmarc_dest *d;
	char uri[STORED_MAX + 1], host[DNSNAME_MAX + 2];
	unsigned pos = 0;

	while (list != NULL && pos < DMARC_MAX_DESTS &&
	    next_uri(&list, uri, sizeof(uri))) {
		d = realloc(out->dests, (out->ndests + 1) * sizeof(*d));
		if (d == NULL)
			return -1;
		out->dests = d;
		d = &d[out->ndests++];
		memset(d, 0, sizeof(*d));
		d->tag = tag;
		d->position = ++pos;
		d->external = -1;
		d->authorized = -1;
		if ((d->uri = escaped(uri)) == NULL)
			return -1;
		if (dmarc_uri_host(uri, host, sizeof(host)) == -1)
			continue;
		if ((d->domain = escaped(host)) == NULL ||
		    check_dest(dm, out->policy_domain, policy_org, host, d) ==
		    -1)
			return -1;
	}
	return 0;
}

/* The policy's tags into OUT. */
static int
dmarc_policy_fill(struct dmarc_rec *out, const struct dmarc_policy *pol)
{
	out->p = pol->p;
	out->sp = pol->sp;
	out->pct = pol->pct;
	out->adkim = pol->adkim_strict ? "s" : "r";
	out->aspf = pol->aspf_strict ? "s" : "r";
	if ((pol->fo != NULL && (out->fo = escaped(pol->fo)) == NULL) ||
	    (pol->rua != NULL && (out->rua = escaped(pol->rua)) == NULL) ||
	    (pol->ruf != NULL && (out->ruf = escaped(pol->ruf)) == NULL) ||
	    (pol->invalid != NULL &&
	    (out->invalid_tags = escaped(pol->invalid)) == NULL))
		return -1;
	return 0;
}

static int
set_error(struct dmarc_rec *out, const char *result, const char *err)
{
	out->result = result;
	free(out->error);
	return (out->error = escaped(err)) == NULL ? -1 : 0;
}

/* 3.1: the identifiers' alignment under POL, and the signatures'. */
static void
align(struct dmarc *dm, const char *from, const struct spf_rec *spf,
    struct dkim_rec *dkim, const struct dmarc_policy *pol,
    struct dmarc_rec *out)
{
	const struct dkim_sig_rec *g;
	size_t i;

	if (pol != NULL) {
		out->spf_aligned = spf != NULL && spf->checked &&
		    spf->result != NULL && strcmp(spf->result, "pass") == 0 &&
		    dmarc_aligned(dm, spf->domain, from, pol->aspf_strict);
		out->dkim_aligned = 0;
	}
	for (i = 0; dkim != NULL && i < dkim->nsigs; i++) {
		g = &dkim->sigs[i];
		dkim->sigs[i].aligned = g->domain != NULL &&
		    dmarc_aligned(dm, g->domain, from, 0);
		if (pol != NULL && g->result != NULL &&
		    strcmp(g->result, "pass") == 0 &&
		    dmarc_aligned(dm, g->domain, from, pol->adkim_strict))
			out->dkim_aligned = 1;
	}
}

int
dmarc_check(struct dmarc *dm, const char *from_domain,
    const struct spf_rec *spf, struct dkim_rec *dkim, struct dmarc_rec *out)
{
	struct dmarc_policy pol;
	char org[DNSNAME_MAX + 1], porg[DNSNAME_MAX + 1];
	char err[600], err2[sizeof(err)];
	const char *result = "none", *pdom = from_domain;
	char *txt = NULL;
	int r, parsed, rc = -1;

	memset(out, 0, sizeof(*out));
	out->checked = 1;
	out->pct = -1;
	out->spf_aligned = -1;
	out->dkim_aligned = -1;
	out->result = "temperror";	/* until known: out of memory */
	if (spf != NULL && spf->checked) {
		out->spf_result = spf->result;
		if (spf->domain != NULL &&
		    (out->spf_domain = strdup(spf->domain)) == NULL)
			return -1;
	}
	if (from_domain == NULL)
		return set_error(out, "none", "no From domain");
	if ((out->from_domain = escaped(from_domain)) == NULL)
		return -1;
	if (!dnsname_valid(from_domain) ||
	    dmarc_org_domain(dm, from_domain, org, sizeof(org)) == -1)
		return set_error(out, "none",
		    "From domain is not a domain name");
	if ((out->org_domain = strdup(org)) == NULL)
		return -1;
	align(dm, from_domain, spf, dkim, NULL, out);

	/* 6.6.3: the From domain's record, else the Organizational Domain's */
	r = fetch_record(dm, from_domain, &txt, &result, err, sizeof(err));
	if (r == 0 && strcmp(org, from_domain) != 0) {
		pdom = org;
		r = fetch_record(dm, org, &txt, &result, err2, sizeof(err2));
		if (r == 0)
			/* "no DMARC record at _dmarc.A: x; at _dmarc.O: y" */
			(void)snprintf(err + strlen(err), sizeof(err) -
			    strlen(err), "; %s", err2 + strlen("no DMARC "
			    "record "));
		else
			memcpy(err, err2, sizeof(err));
	}
	if (r == -2)
		return -1;
	if (r != 1)
		return set_error(out, result, err);
	if ((out->policy_domain = strdup(pdom)) == NULL ||
	    (out->record = escaped(txt)) == NULL ||
	    (parsed = dmarc_parse(txt, &pol)) == -1)
		goto done;
	if (dmarc_policy_fill(out, &pol) == -1)
		goto policy;
	if (parsed == DMARC_INVALID) {
		/* 6.6.3 step 6: no DMARC processing; the record is broken */
		out->p = out->sp = NULL;
		out->pct = -1;
		out->adkim = out->aspf = NULL;
		rc = set_error(out, "permerror", "no valid p= or sp= tag, "
		    "and no valid rua= URI (RFC 7489 6.6.3)");
		goto policy;
	}
	align(dm, from_domain, spf, dkim, &pol, out);
	/* 3: pass when either identifier is authenticated and aligned */
	out->result = out->spf_aligned || out->dkim_aligned ? "pass" : "fail";
	/* 6.3 sp=: for subdomains, when the policy is the Organizational
	 * Domain's; 6.6.4: a receiver applies the policy to failing mail
	 * (pct= aside: it samples) */
	out->policy = pdom != from_domain && pol.sp != NULL ? pol.sp : pol.p;
	out->disposition = strcmp(out->result, "pass") == 0 ? "none" :
	    out->policy;
	if (dmarc_org_domain(dm, pdom, porg, sizeof(porg)) == -1 ||
	    add_dests(dm, out, "rua", pol.rua, porg) == -1 ||
	    add_dests(dm, out, "ruf", pol.ruf, porg) == -1)
		goto policy;
	rc = 0;
policy:
	dmarc_policy_clear(&pol);
done:
	free(txt);
	return rc;
}
