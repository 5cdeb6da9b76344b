/*
 * The result of a probe (made, filled by the steps, freed) and the run
 * of its steps in order: DNS and the MTA-STS policy, then every MX
 * address at once on an event base of its own, then the grade.  The
 * tool's thread.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "netaddr.h"
#include "probe.h"
#include "resolver.h"
#include "text.h"

#define DEFAULT_TIMEOUT_MS	10000	/* each network step */
#define DEFAULT_PER_HOST	2	/* connections at once to one address */

struct probe_result *
probe_result_new(const char *domain)
{
	struct probe_result *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->domain = strdup(domain)) == NULL) {
		free(r);
		return NULL;
	}
	/* the domain as asked: lowercase, without the final dot */
	for (i = 0; r->domain[i] != '\0'; i++)
		if (r->domain[i] >= 'A' && r->domain[i] <= 'Z')
			r->domain[i] += 'a' - 'A';
	if (i > 1 && r->domain[i - 1] == '.')
		r->domain[i - 1] = '\0';
	r->port = 25;		/* probe_run() sets the one probed */
	r->dnssec = PT_UNKNOWN;
	r->spf.lookups = -1;
	r->dmarc.pct = 100;
	r->sts.cert_valid = PT_UNKNOWN;
	r->sts.max_age = -1;
	return r;
}

int
probe_strv_add(struct probe_strv *sv, const char *s)
{
	char **v;
	size_t len;

	if ((v = reallocarray(sv->v, sv->n + 1, sizeof(*v))) == NULL)
		return -1;
	sv->v = v;
	len = strnlen(s, PROBE_TEXT_MAX);
	if ((v[sv->n] = strndup(s, len)) == NULL)
		return -1;
	sv->n++;
	return 0;
}

int
probe_strv_addf(struct probe_strv *sv, const char *fmt, ...)
{
	char buf[PROBE_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return probe_strv_add(sv, buf);
}

void
probe_strv_clear(struct probe_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static void
dnsq_clear(struct probe_dnsq *q)
{
	free(q->name);
	free(q->type);
	free(q->status);
	probe_strv_clear(&q->answers);
	memset(q, 0, sizeof(*q));
}

static void
try_clear(struct probe_try *t)
{
	free(t->detail);
	t->detail = NULL;
}

static void
addr_clear(struct probe_addr *a)
{
	size_t i;

	free(a->addr);
	free(a->ptr);
	dnsq_clear(&a->ptr_q);
	free(a->stop_detail);
	free(a->banner);
	free(a->banner_name);
	free(a->tls_version);
	free(a->tls_cipher);
	free(a->tls_group);
	free(a->tls_error);
	for (i = 0; i < a->nchain; i++)
		probe_cert_clear(&a->chain[i]);
	free(a->chain_error);
	for (i = 0; i < PROBE_NVERSIONS; i++)
		try_clear(&a->versions[i]);
	for (i = 0; i < PROBE_NWEAK; i++)
		try_clear(&a->weak[i]);
	probe_strv_clear(&a->transcript);
}

static void
mx_clear(struct probe_mx *m)
{
	size_t i;

	free(m->name);
	dnsq_clear(&m->a_q);
	dnsq_clear(&m->aaaa_q);
	dnsq_clear(&m->tlsa_q);
	for (i = 0; i < m->ntlsa; i++)
		free(m->tlsa[i].data);
	for (i = 0; i < m->naddrs; i++)
		addr_clear(&m->addrs[i]);
	free(m->addrs);
}

static void
finding_clear(struct probe_finding *f)
{
	free(f->key);
	free(f->mx);
	free(f->addr);
	free(f->summary);
	probe_strv_clear(&f->evidence);
}

void
probe_result_free(struct probe_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->domain);
	free(r->resolver);
	dnsq_clear(&r->mx_q);
	free(r->spf.record);
	free(r->spf.all);
	free(r->spf.error);
	free(r->dmarc.record);
	free(r->dmarc.org_domain);
	free(r->dmarc.policy);
	free(r->dmarc.subdomain_policy);
	free(r->dmarc.rua);
	free(r->dmarc.ruf);
	free(r->dmarc.error);
	free(r->sts.txt);
	free(r->sts.id);
	free(r->sts.txt_error);
	free(r->sts.fetch_error);
	free(r->sts.policy);
	free(r->sts.mode);
	probe_strv_clear(&r->sts.mx);
	free(r->tlsrpt.record);
	free(r->tlsrpt.rua);
	free(r->tlsrpt.error);
	for (i = 0; i < r->nmx; i++)
		mx_clear(&r->mx[i]);
	free(r->mx);
	for (i = 0; i < r->nfindings; i++)
		finding_clear(&r->findings[i]);
	free(r->findings);
	free(r->error);
	free(r);
}

struct probe_finding *
probe_finding_add(struct probe_result *r, const char *key,
    enum probe_sev sev, const char *mx, const char *addr, const char *fmt,
    ...)
{
	char buf[PROBE_TEXT_MAX + 1];
	struct probe_finding *v, *f;
	va_list ap;

	if ((v = reallocarray(r->findings, r->nfindings + 1,
	    sizeof(*v))) == NULL)
		return NULL;
	r->findings = v;
	f = &v[r->nfindings];
	memset(f, 0, sizeof(*f));
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->severity = sev;
	if ((f->key = strdup(key)) == NULL ||
	    (f->summary = strdup(buf)) == NULL ||
	    (mx != NULL && (f->mx = strdup(mx)) == NULL) ||
	    (addr != NULL && (f->addr = strdup(addr)) == NULL)) {
		finding_clear(f);
		return NULL;
	}
	r->nfindings++;
	return f;
}

const char *
probe_tri_name(enum probe_tri t)
{
	return t == PT_YES ? "yes" : t == PT_NO ? "no" : "unknown";
}

const char *
probe_stop_name(enum probe_stop s)
{
	static const char *const names[] = {
		[PSTOP_DONE] = "done",
		[PSTOP_NOT_TRIED] = "not_tried",
		[PSTOP_CONNECT] = "connect",
		[PSTOP_BANNER] = "banner",
		[PSTOP_EHLO] = "ehlo",
		[PSTOP_TIMEOUT] = "timeout",
		[PSTOP_PROTOCOL] = "protocol",
		[PSTOP_TLS] = "tls"
	};

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
probe_tlsv_name(enum probe_tlsv v)
{
	static const char *const names[PROBE_NVERSIONS] = {
		[PV_TLS10] = "TLSv1.0",
		[PV_TLS11] = "TLSv1.1",
		[PV_TLS12] = "TLSv1.2",
		[PV_TLS13] = "TLSv1.3"
	};

	return (size_t)v < PROBE_NVERSIONS ? names[v] : "?";
}

const char *
probe_weak_name(enum probe_weak w)
{
	static const char *const names[PROBE_NWEAK] = {
		[PW_NULL] = "null",
		[PW_EXPORT] = "export",
		[PW_RC4] = "rc4",
		[PW_3DES] = "3des",
		[PW_CBC_ONLY] = "cbc_only",
		[PW_NO_PFS] = "no_pfs"
	};

	return (size_t)w < PROBE_NWEAK ? names[w] : "?";
}

const char *
probe_dane_name(enum probe_dane d)
{
	static const char *const names[] = {
		[PD_NONE] = "none",
		[PD_UNVALIDATED] = "unvalidated",
		[PD_MATCH] = "match",
		[PD_NOMATCH] = "nomatch",
		[PD_NOT_TESTED] = "not_tested"
	};

	return (size_t)d < sizeof(names) / sizeof(names[0]) ? names[d] : "?";
}

const char *
probe_sev_name(enum probe_sev s)
{
	static const char *const names[] = {
		[PF_GOOD] = "good",
		[PF_INFO] = "info",
		[PF_WARN] = "warn",
		[PF_BAD] = "bad",
		[PF_CRITICAL] = "critical"
	};

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void
probe_opts_default(struct probe_opts *o, const struct config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->ipv4 = 1;
	o->ipv6 = 1;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->deadline_ms = DEFAULT_TIMEOUT_MS * PROBE_DEADLINE_STEPS;
	o->port = 25;
	o->per_host = DEFAULT_PER_HOST;
}

/*
 * A resolver for the probe: OPTS' --resolver (ADDR or ADDR:PORT, IPv6
 * in brackets with a port), else the config's, else /etc/resolv.conf.
 * Its text into R->resolver.  NULL with R->error set.
 */
static struct resolver *
probe_resolver(const struct probe_opts *o, struct probe_result *r)
{
	struct config cfg = *o->cfg;	/* a copy: only .resolver differs */
	char err[256], text[128];
	struct resolver *res;

	if (o->resolver != NULL) {
		/* "ADDR" alone: port 53 */
		if (strchr(o->resolver, ']') != NULL ||
		    (strchr(o->resolver, ':') != NULL &&
		    strchr(o->resolver, ':') == strrchr(o->resolver, ':')))
			(void)snprintf(text, sizeof(text), "%s", o->resolver);
		else if (strchr(o->resolver, ':') != NULL)
			(void)snprintf(text, sizeof(text), "[%s]:53",
			    o->resolver);
		else
			(void)snprintf(text, sizeof(text), "%s:53",
			    o->resolver);
		cfg.resolver = text;
	} else if (resolver_disabled(&cfg))
		cfg.resolver = NULL;	/* the daemon's "off": the system's */
	if ((res = resolver_new(&cfg, err, sizeof(err))) == NULL) {
		text_set(&r->error, err);
		return NULL;
	}
	text_set(&r->resolver, cfg.resolver != NULL ? cfg.resolver :
	    "/etc/resolv.conf");
	return res;
}

int
probe_addr_allowed(const struct probe_opts *o, const char *addr)
{
	return !o->public_only || netaddr_is_global(addr);
}

/* The addresses of R that OPTS does not allow are not tried. */
static int
keep_allowed(const struct probe_opts *o, struct probe_result *r)
{
	struct probe_addr *a;
	size_t i, j;

	for (i = 0; i < r->nmx; i++)
		for (j = 0; j < r->mx[i].naddrs; j++) {
			a = &r->mx[i].addrs[j];
			if (a->stop == PSTOP_NOT_TRIED ||
			    probe_addr_allowed(o, a->addr))
				continue;
			a->stop = PSTOP_NOT_TRIED;
			text_set(&a->stop_detail, "not a public address: this "
			    "probe connects to global unicast addresses only");
			if (a->stop_detail == NULL)
				return -1;
		}
	return 0;
}

int
probe_run(const struct probe_opts *o, struct probe_result **out)
{
	struct probe_result *r;
	struct event_base *base;
	struct resolver *res;
	int rv = -1;

	if ((*out = r = probe_result_new(o->domain)) == NULL)
		return -1;
	r->started = clock_now();
	r->port = o->port;
	if ((res = probe_resolver(o, r)) == NULL)
		goto done;
	if (probe_dns(res, o, r) == -1 || keep_allowed(o, r) == -1 ||
	    probe_sts_fetch(o, r) == -1) {
		resolver_free(res);
		goto oom;
	}
	resolver_free(res);
	if ((base = event_base_new()) == NULL)
		goto oom;
	if (probe_smtp(base, o, r) == -1) {
		event_base_free(base);
		goto oom;
	}
	event_base_free(base);
	if (probe_grade(r) == -1)
		goto oom;
	rv = 0;
	goto done;
oom:
	text_set(&r->error, "out of memory");
done:
	r->finished = clock_now();
	return rv;
}
