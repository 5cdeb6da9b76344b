/*
 * `mailscope probe` from the web (docs/api.md): the domain a request
 * names, the operator's and the owner's opt-out, the limits per client
 * net, per target domain and for everyone, the last hour's results kept
 * for a domain over its limit, and the run of one probe (opt-out TXT,
 * probe_run(), probe_store(), JSON and HTML).  The limits and the kept
 * results belong to the event loop thread; web_probe_run() runs on the
 * probe worker.
 */
#ifndef MAILSCOPE_WEB_PROBE_H
#define MAILSCOPE_WEB_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "dnsname.h"
#include "types.h"

#define WEB_PROBE_PERIOD_S	3600	/* of every limit, and of a result
					   kept for a domain over its own */
#define WEB_PROBE_OPT_OUT	"_mailscope-probe"	/* its TXT's owner */
#define WEB_PROBE_DETAIL_MAX	512

struct web_probe;

/* What a probe request may do (web_probe_admit()). */
enum web_probe_admit {
	WPA_PROBE,		/* run it: the tokens are taken */
	WPA_CACHED,		/* over the domain's (or everyone's) limit:
				   the domain's result of the last hour */
	WPA_OPT_OUT,		/* in probe_opt_out: 403 */
	WPA_CLIENT,		/* the client net's limit: 429 */
	WPA_LIMIT		/* the domain's, everyone's probes or
				   everyone's requests (4 x probes_total),
				   nothing kept: 429 */
};

/* A result kept for its domain; owned by the web_probe. */
struct web_probe_kept {
	char		 domain[DNSNAME_MAX + 1];
	double		 finished;	/* when its probe ended */
	char		*json;		/* owned */
	size_t		 json_len;
	char		*html;		/* owned */
	size_t		 html_len;
};

/*
 * The answer of one probe, filled on the worker.  STATUS 200 with both
 * bodies (owned); else 403 (the owner's TXT opt-out), 500 or 503 (the
 * opt-out could not be read) with DETAIL, printable ASCII without
 * quotes or backslashes (it goes into JSON and pages as is).
 */
struct web_probe_out {
	int		 status;
	char		 detail[WEB_PROBE_DETAIL_MAX];
	char		*json;		/* owned */
	size_t		 json_len;
	char		*html;		/* owned */
	size_t		 html_len;
	char		 grade[3];
	int64_t		 id;		/* in probes; 0: not stored */
	double		 finished;
};

/*
 * The limits of CFG's [web] (CFG borrowed); a probe ends within about
 * BUDGET_MS (the opt-out lookups, the DNS step, the addresses).  NULL
 * when out of memory.
 */
struct web_probe *web_probe_new(const struct config *cfg,
		    uint64_t budget_ms);
void		 web_probe_free(struct web_probe *);

/*
 * The LEN bytes of IN as the domain to probe into OUT (DNSNAME_MAX + 1
 * bytes): spaces around it and one final dot dropped, lowercased, then
 * a DNS name (dnsname_valid()) of two labels at least, each of letters,
 * digits and inner hyphens (RFC 5321 4.1.2), the last not all digits
 * (RFC 3696 2: no address).  0, or -1: a 400.
 */
int		 web_probe_domain(const char *in, size_t len, char *out);

/*
 * Whether the client of net NET (netaddr_client_net(): an IPv4 address
 * is counted by its /24) may probe DOMAIN at NOW (seconds).  Tokens are
 * taken from the client's bucket and everyone's requests', then from
 * the domain's (that of its organizational domain) and everyone's
 * probes' together.  WPA_CLIENT and WPA_LIMIT set *RETRY (seconds); WPA_CACHED
 * sets *KEPT (valid until the next call).  WPA_OPT_OUT with a sentence
 * for the client in DETAIL (WEB_PROBE_DETAIL_MAX bytes).
 */
enum web_probe_admit web_probe_admit(struct web_probe *, const char *net,
		    const char *domain, double now, unsigned *retry,
		    const struct web_probe_kept **kept, char *detail);

/*
 * The worker: DOMAIN's opt-out TXT records (at the domain and at its
 * organizational domain), then, unless one says opt-out, the probe with
 * the web's options (probe_private, probe_port), stored in the
 * database, written as JSON and HTML into OUT (cleared first).
 */
void		 web_probe_run(const struct web_probe *, const char *domain,
		    struct web_probe_out *out);

/*
 * The loop: OUT's bodies, when it has them, kept as DOMAIN's result
 * (they move: OUT's pointers are cleared).  The oldest go when the
 * table is full, by count (64) or by bytes (32 MiB); a result over
 * 4 MiB is not kept.
 */
void		 web_probe_keep(struct web_probe *, const char *domain,
		    struct web_probe_out *out);
void		 web_probe_out_clear(struct web_probe_out *);

/*
 * Where the one <style> element's text is in the page HTML (LEN bytes):
 * its offset and length.  0, or -1 when there is none (the page's CSP
 * hashes it: docs/api.md).
 */
int		 web_probe_style(const char *html, size_t len, size_t *off,
		    size_t *slen);

/*
 * Whether the TXT text S says opt-out: one of its tokens (separated by
 * white space, ';' or ',') is "opt-out", in any case.  For the tests.
 */
int		 web_probe_txt_opts_out(const char *s);

#endif /* MAILSCOPE_WEB_PROBE_H */
