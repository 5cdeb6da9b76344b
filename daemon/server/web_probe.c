/*
 * `mailscope probe` from the web (web_probe.h, docs/api.md): a probe
 * makes this server connect to port 25 of hosts a stranger names, so it
 * is off unless [web] probe = on, limited per client net, per target
 * domain and for everyone, never aimed at a non-global address unless
 * probe_private = yes, and never at a domain whose owner opted out (the
 * operator's probe_opt_out, or a TXT record at _mailscope-probe.DOMAIN
 * or at its organizational domain).  The limits and the kept results:
 * event loop thread; web_probe_run(): the probe worker.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "clock.h"
#include "dmarc.h"
#include "log.h"
#include "probe.h"
#include "ratelimit.h"
#include "resolver.h"
#include "web_probe.h"

#define KEPT_MAX	64	/* domains whose last result is kept */
/*
 * Bytes kept: a domain's servers choose how long a result is (up to
 * 128 addresses of 200 transcript lines), so memory is what bounds it.
 */
#define KEPT_BYTES_ONE	(4 * 1024 * 1024)
#define KEPT_BYTES_ALL	(32 * 1024 * 1024)
#define KEY_HEX		40	/* of a domain's bucket: 160 bits of SHA-256 */
#define NET_TEXT_MAX	(INET6_ADDRSTRLEN + 8)
#define TIMEOUT_MS	5000	/* a network step of a web probe, at most */
/*
 * Requests that take a client's token, from everyone, an hour: probes_total
 * times this.  Without a total, nets that each took one token would fill
 * the client table (IPv6 /64s are plenty) and every take scans it.
 */
#define REQUESTS_PER_PROBE	4
#define OPT_OUT_TOKEN	"opt-out"

/*
 * Owns its limits, its PSL context and the kept results.  The PSL
 * context is only read, by the loop and the probe threads.
 */
struct web_probe {
	const struct config	*cfg;		/* borrowed */
	struct ratelimit	*clients;	/* owned: client nets */
	struct ratelimit	*domains;	/* owned: domains, everyone */
	struct dmarc		*psl;		/* owned: organizational
						   domains only */
	unsigned int		 txt_ms;	/* the opt-out lookups */
	unsigned int		 timeout_ms;	/* probe_opts' */
	unsigned int		 deadline_ms;
	struct web_probe_kept	 kept[KEPT_MAX];
	size_t			 nkept;
	size_t			 kept_bytes;	/* of their bodies */
};

struct web_probe *
web_probe_new(const struct config *cfg, uint64_t budget_ms)
{
	const struct web_conf *wc = &cfg->web;
	struct web_probe *wp;

	if ((wp = calloc(1, sizeof(*wp))) == NULL)
		return NULL;
	wp->cfg = cfg;
	/*
	 * probe_run() takes at most about the DNS step (deadline_ms), the
	 * MTA-STS fetch (timeout_ms) and the addresses, all at once
	 * (deadline_ms each); the opt-out lookups come first.
	 */
	if (budget_ms > 600000)
		budget_ms = 600000;
	wp->txt_ms = (unsigned int)(budget_ms / 10);
	wp->timeout_ms = (unsigned int)(budget_ms / 6) < TIMEOUT_MS ?
	    (unsigned int)(budget_ms / 6) : TIMEOUT_MS;
	wp->deadline_ms = (unsigned int)((budget_ms - wp->txt_ms -
	    wp->timeout_ms) / 2);
	if ((wp->clients = ratelimit_new(wc->probes_per_client,
	    wc->probes_total > UINT32_MAX / REQUESTS_PER_PROBE ? UINT32_MAX :
	    wc->probes_total * REQUESTS_PER_PROBE, WEB_PROBE_PERIOD_S)) ==
	    NULL ||
	    (wp->domains = ratelimit_new(wc->probes_per_domain,
	    wc->probes_total, WEB_PROBE_PERIOD_S)) == NULL ||
	    (wp->psl = dmarc_new(resolver_lookup, NULL)) == NULL) {
		web_probe_free(wp);
		return NULL;
	}
	return wp;
}

static void
kept_clear(struct web_probe *wp, struct web_probe_kept *k)
{
	wp->kept_bytes -= k->json_len + k->html_len;
	free(k->json);
	free(k->html);
	memset(k, 0, sizeof(*k));
}

/* Drops result I, the last one taking its place. */
static void
kept_drop(struct web_probe *wp, size_t i)
{
	kept_clear(wp, &wp->kept[i]);
	wp->kept[i] = wp->kept[--wp->nkept];
	memset(&wp->kept[wp->nkept], 0, sizeof(wp->kept[0]));
}

/* The index of the oldest result; there is one. */
static size_t
kept_oldest(const struct web_probe *wp)
{
	size_t i, o = 0;

	for (i = 1; i < wp->nkept; i++)
		if (wp->kept[i].finished < wp->kept[o].finished)
			o = i;
	return o;
}

void
web_probe_free(struct web_probe *wp)
{
	size_t i;

	if (wp == NULL)
		return;
	for (i = 0; i < wp->nkept; i++)
		kept_clear(wp, &wp->kept[i]);
	ratelimit_free(wp->clients);
	ratelimit_free(wp->domains);
	dmarc_free(wp->psl);
	free(wp);
}

int
web_probe_domain(const char *in, size_t len, char *out)
{
	size_t i, last;

	/* what a form's text field brings along */
	while (len > 0 && (*in == ' ' || *in == '\t')) {
		in++;
		len--;
	}
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSNAME_MAX || memchr(in, '\0', len) != NULL)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ?
		    in[i] - 'A' + 'a' : in[i]);
	out[len] = '\0';
	if (dnsname_labels(out, len) < 2)
		return -1;
	/*
	 * RFC 5321 4.1.2: a mail domain's labels are letters, digits and
	 * hyphens, a letter or digit first and last (no '_')
	 */
	for (i = 0; i < len; i++) {
		if (out[i] == '_' || (out[i] == '-' && (i == 0 ||
		    out[i - 1] == '.' || i + 1 == len || out[i + 1] == '.')))
			return -1;
	}
	/* RFC 3696 2: a top-level label is not all digits (an address) */
	last = len;
	while (last > 0 && out[last - 1] != '.')
		last--;
	if (strspn(out + last, "0123456789") == len - last)
		return -1;
	return 0;
}

/* The operator's list: DOMAIN or a parent of it is in probe_opt_out. */
static const char *
conf_opt_out(const struct web_conf *wc, const char *domain)
{
	size_t i, dl = strlen(domain), el;

	for (i = 0; i < wc->nprobe_opt_out; i++) {
		el = strlen(wc->probe_opt_out[i]);
		if (el == dl && strcmp(domain, wc->probe_opt_out[i]) == 0)
			return wc->probe_opt_out[i];
		if (el < dl && domain[dl - el - 1] == '.' &&
		    strcmp(domain + dl - el, wc->probe_opt_out[i]) == 0)
			return wc->probe_opt_out[i];
	}
	return NULL;
}

/* The bucket of a client net: an IPv4 address counts by its /24. */
static void
client_net(const char *net, char *buf, size_t len)
{
	struct in_addr a;
	char text[INET_ADDRSTRLEN];

	if (strchr(net, ':') == NULL && inet_pton(AF_INET, net, &a) == 1) {
		a.s_addr &= htonl(0xffffff00U);
		if (inet_ntop(AF_INET, &a, text, sizeof(text)) != NULL) {
			(void)snprintf(buf, len, "%s/24", text);
			return;
		}
	}
	(void)snprintf(buf, len, "%s", net);
}

/* The bucket of a domain: a name can be longer than a bucket's key. */
static void
domain_key(const char *domain, char *key)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)domain, strlen(domain), md);
	for (i = 0; i < KEY_HEX / 2; i++) {
		key[2 * i] = hex[md[i] >> 4];
		key[2 * i + 1] = hex[md[i] & 0xf];
	}
	key[KEY_HEX] = '\0';
}

static struct web_probe_kept *
kept_find(struct web_probe *wp, const char *domain)
{
	size_t i;

	for (i = 0; i < wp->nkept; i++)
		if (strcmp(wp->kept[i].domain, domain) == 0)
			return &wp->kept[i];
	return NULL;
}

/* Drops the results older than the period at NOW. */
static void
kept_expire(struct web_probe *wp, double now)
{
	size_t i = 0;

	while (i < wp->nkept) {
		if (now - wp->kept[i].finished >= WEB_PROBE_PERIOD_S ||
		    wp->kept[i].finished > now + WEB_PROBE_PERIOD_S)
			kept_drop(wp, i);
		else
			i++;
	}
}

enum web_probe_admit
web_probe_admit(struct web_probe *wp, const char *net, const char *domain,
    double now, unsigned *retry, const struct web_probe_kept **kept,
    char *detail)
{
	struct web_probe_kept *k;
	char cnet[NET_TEXT_MAX], key[KEY_HEX + 1], org[DNSNAME_MAX + 1];
	const char *entry;

	*kept = NULL;
	*retry = 0;
	if ((entry = conf_opt_out(&wp->cfg->web, domain)) != NULL) {
		(void)snprintf(detail, WEB_PROBE_DETAIL_MAX, "The owner of %s "
		    "asked the operator of this server not to probe it: it is "
		    "not probed from here.", entry);
		return WPA_OPT_OUT;
	}
	client_net(net, cnet, sizeof(cnet));
	switch (ratelimit_take(wp->clients, cnet, now, retry)) {
	case RL_OK:
		break;
	case RL_TOTAL:
		goto over;	/* everyone's requests: a kept result or 429 */
	case RL_CLIENT:
	case RL_NOMEM:
		return WPA_CLIENT;
	}
	/*
	 * A domain counts by its organizational domain: a.example.org and
	 * b.example.org (a wildcard MX) are one owner's, mostly one MX
	 */
	if (dmarc_org_domain(wp->psl, domain, org, sizeof(org)) == -1)
		(void)snprintf(org, sizeof(org), "%s", domain);
	domain_key(org, key);
	if (ratelimit_take(wp->domains, key, now, retry) == RL_OK)
		return WPA_PROBE;
 over:
	kept_expire(wp, now);
	if ((k = kept_find(wp, domain)) != NULL) {
		*kept = k;
		return WPA_CACHED;
	}
	return WPA_LIMIT;
}

void
web_probe_out_clear(struct web_probe_out *out)
{
	free(out->json);
	free(out->html);
	memset(out, 0, sizeof(*out));
}

void
web_probe_keep(struct web_probe *wp, const char *domain,
    struct web_probe_out *out)
{
	struct web_probe_kept *k;
	size_t len = out->json_len + out->html_len;

	if (out->status != 200 || out->json == NULL || out->html == NULL ||
	    len > KEPT_BYTES_ONE)
		return;
	kept_expire(wp, clock_now());
	if ((k = kept_find(wp, domain)) != NULL)
		kept_drop(wp, (size_t)(k - wp->kept));
	/* full, by count or by bytes: the oldest go */
	while (wp->nkept > 0 && (wp->nkept == KEPT_MAX ||
	    wp->kept_bytes + len > KEPT_BYTES_ALL))
		kept_drop(wp, kept_oldest(wp));
	k = &wp->kept[wp->nkept++];
	(void)snprintf(k->domain, sizeof(k->domain), "%s", domain);
	k->finished = out->finished;
	k->json = out->json;
	k->json_len = out->json_len;
	k->html = out->html;
	k->html_len = out->html_len;
	wp->kept_bytes += len;
	out->json = out->html = NULL;
	out->json_len = out->html_len = 0;
}

int
web_probe_style(const char *html, size_t len, size_t *off, size_t *slen)
{
	const char *s, *e;

	if ((s = memmem(html, len, "<style>", 7)) == NULL)
		return -1;
	s += 7;
	if ((e = memmem(s, len - (size_t)(s - html), "</style>", 8)) == NULL)
		return -1;
	*off = (size_t)(s - html);
	*slen = (size_t)(e - s);
	return 0;
}

int
web_probe_txt_opts_out(const char *s)
{
	size_t n, tl = strlen(OPT_OUT_TOKEN);
	static const char sep[] = " \t;,";

	while (*s != '\0') {
		s += strspn(s, sep);
		n = strcspn(s, sep);
		if (n == tl && strncasecmp(s, OPT_OUT_TOKEN, tl) == 0)
			return 1;
		s += n;
	}
	return 0;
}

/* DETAIL of OUT from FMT: printable ASCII, no quote, no backslash. */
static void
detail_set(struct web_probe_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
detail_set(struct web_probe_out *out, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	(void)vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	for (p = out->detail; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    *p == '"' || *p == '\\')
			*p = '?';
}

/*
 * The owner's opt-out: a TXT record at _mailscope-probe.NAME that says
 * opt-out, NAME the domain and then its organizational domain.  0: none
 * (no such name, or records without the token), 1: opted out (403), -1:
 * unknown (503): a name that cannot be asked is no record, an answer
 * that is no answer is not taken for "none".
 */
static int
opt_out_txt(const struct web_probe *wp, struct resolver *res,
    const char *domain, struct web_probe_out *out)
{
	struct resolver_answer a;
	char org[DNSNAME_MAX + 1], name[DNSNAME_MAX + 2];
	const char *names[2];
	size_t i, j, n = 0;
	int len, rc = 0;

	names[n++] = domain;
	if (dmarc_org_domain(wp->psl, domain, org, sizeof(org)) == 0 &&
	    strcmp(org, domain) != 0)
		names[n++] = org;
	for (i = 0; i < n && rc == 0; i++) {
		len = snprintf(name, sizeof(name), "%s.%s", WEB_PROBE_OPT_OUT,
		    names[i]);
		if (len < 0 || (size_t)len > DNSNAME_MAX)
			continue;	/* too long a name to hold a record */
		memset(&a, 0, sizeof(a));
		if (resolver_lookup(res, name, RESOLVER_TXT, &a) == -1) {
			detail_set(out, "Out of memory while reading %s: %s "
			    "was not probed.", name, domain);
			return -1;
		}
		if (a.status != RESOLVER_BADNAME && (a.status !=
		    RESOLVER_ANSWER ||
		    (a.rcode != RESOLVER_NOERROR &&
		    a.rcode != RESOLVER_NXDOMAIN))) {
			detail_set(out, "The opt-out record %s could not be "
			    "read (%s): %s was not probed. Please try again "
			    "later.", name, resolver_status_name(&a), domain);
			rc = -1;
		} else
			for (j = 0; j < a.n && rc == 0; j++)
				if (web_probe_txt_opts_out(a.data[j])) {
					detail_set(out, "The owner of %s opted "
					    "out of probes from this server "
					    "(a TXT record at %s says %s): it "
					    "is not probed.", names[i], name,
					    OPT_OUT_TOKEN);
					rc = 1;
				}
		resolver_answer_clear(&a);
	}
	return rc;
}

/* R as JSON and HTML into OUT; -1 when out of memory or on a write error. */
static int
render(const struct probe_result *r, struct web_probe_out *out)
{
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&out->json, &out->json_len)) == NULL)
		return -1;
	rc = probe_json(fp, r);
	if (fclose(fp) != 0 || rc == -1)
		return -1;
	if ((fp = open_memstream(&out->html, &out->html_len)) == NULL)
		return -1;
	rc = probe_html(fp, r);
	if (fclose(fp) != 0 || rc == -1)
		return -1;
	return 0;
}

void
web_probe_run(const struct web_probe *wp, const char *domain,
    struct web_probe_out *out)
{
	const struct config *cfg = wp->cfg;
	struct config rcfg = *cfg;	/* a copy: only .resolver differs */
	struct probe_opts o;
	struct probe_result *r = NULL;
	struct resolver *res;
	char err[256];
	int rc;

	memset(out, 0, sizeof(*out));
	out->status = 500;
	/* the resolver probe_run() takes: the config's, else the system's */
	if (resolver_disabled(&rcfg))
		rcfg.resolver = NULL;
	if ((res = resolver_new(&rcfg, err, sizeof(err))) == NULL) {
		detail_set(out, "No resolver: %s", err);
		log_warn("web: probe of %s: no resolver: %s", domain, err);
		return;
	}
	resolver_set_deadline(res, wp->txt_ms);
	rc = opt_out_txt(wp, res, domain, out);
	resolver_free(res);
	if (rc != 0) {
		out->status = rc == 1 ? 403 : 503;
		log_info("web: probe of %s not run: %s", domain, out->detail);
		return;
	}
	probe_opts_default(&o, cfg);
	o.domain = domain;
	o.port = cfg->web.probe_port;
	o.public_only = !cfg->web.probe_private;
	o.timeout_ms = wp->timeout_ms;
	o.deadline_ms = wp->deadline_ms;
	if (probe_run(&o, &r) == -1 || r == NULL) {
		detail_set(out, "The probe of %s could not run: %s.", domain,
		    r != NULL && r->error != NULL ? r->error : "out of memory");
		log_warn("web: probe of %s: %s", domain, out->detail);
		probe_result_free(r);
		return;
	}
	out->finished = clock_now();
	/* every probe is stored, as the tool's are; the answer goes anyway */
	if (probe_store(cfg->database, r, &out->id) == -1)
		out->id = 0;
	(void)snprintf(out->grade, sizeof(out->grade), "%s", r->grade);
	if (render(r, out) == -1) {
		free(out->json);
		free(out->html);
		out->json = out->html = NULL;
		out->json_len = out->html_len = 0;
		detail_set(out, "The result of %s could not be written.",
		    domain);
		log_warn("web: probe of %s: out of memory", domain);
	} else
		out->status = 200;
	log_info("web: probe of %s: grade %s, %zu MX, %s %lld", domain,
	    r->grade[0] != '\0' ? r->grade : "-", r->nmx,
	    out->id != 0 ? "stored as probe" : "not stored, probe",
	    (long long)out->id);
	probe_result_free(r);
}
