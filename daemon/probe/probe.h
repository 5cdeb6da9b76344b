/*
 * `mailscope probe DOMAIN`: the inbound direction.  One struct
 * probe_result holds everything learnt about a domain's receiving side:
 * its DNS (probe_dns.c, probe_sts.c), every MX address's SMTP dialogue,
 * TLS and policy behaviour (probe_smtp.c, probe_tls.c), the findings and
 * the grade (probe_grade.c), its three formats (probe_text.c,
 * probe_json.c, probe_html.c) and its rows in the store (probe_store.c).
 * probe.c makes and frees the result and runs the steps in order.
 * Single-threaded: the tool's thread and its own event base.
 *
 * Every string is owned by the result (probe_result_free()).  What a
 * remote server or zone controls (replies, certificate fields, records)
 * is kept as received, cut to a bound, and escaped only by the formats
 * and the store; nothing of it is ever used as a format string.
 */
#ifndef MAILSCOPE_PROBE_H
#define MAILSCOPE_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "types.h"

#define PROBE_SCHEMA		1	/* "schema" of the JSON result */
#define PROBE_TEXT_MAX		512	/* a kept reply line, record, field */
#define PROBE_EVIDENCE_MAX	64	/* evidence lines of one finding */
#define PROBE_TRANSCRIPT_MAX	200	/* lines of one address's transcript */
#define PROBE_MX_MAX		16	/* MX hosts probed, by preference */
#define PROBE_ADDRS_MAX		8	/* addresses probed per MX name */
#define PROBE_TLSA_MAX		16
#define PROBE_CHAIN_MAX		10	/* certificates kept of a chain */
/* an address's deadline in steps: the dialogue, 4 versions, 6 classes */
#define PROBE_DEADLINE_STEPS	12

/* A yes/no answer that may not have been found out. */
enum probe_tri {
	PT_UNKNOWN = -1,	/* not tested, or the test failed: see why */
	PT_NO = 0,
	PT_YES = 1
};

/* A list of owned strings. */
struct probe_strv {
	char	**v;
	size_t	  n;
};

/* How one DNS question went (the resolver's view). */
struct probe_dnsq {
	char	*name;		/* asked */
	char	*type;		/* "MX", "TLSA", ... */
	char	*status;	/* resolver_status_name(): noerror, nxdomain,
				   servfail, timeout, ... */
	int	 ad;		/* the answer was validated (AD bit) */
	struct probe_strv answers;	/* records, presentation format */
};

/* ---- DNS of the domain (probe_dns.c, probe_sts.c) ---- */

struct probe_spf {
	char	*record;	/* the one v=spf1 TXT; NULL: none */
	int	 records;	/* how many v=spf1 TXT there are */
	int	 lookups;	/* DNS-querying terms, includes followed
				   (RFC 7208 4.6.4); -1: not counted */
	char	*all;		/* "-all", "~all", "?all", "+all", NULL */
	char	*error;		/* syntax or lookup error; NULL: none */
};

struct probe_dmarc {
	char	*record;	/* _dmarc.DOMAIN, else _dmarc.ORG; NULL: none */
	char	*org_domain;	/* the record is the Organizational
				   Domain's (RFC 7489 6.6.3); NULL: own */
	char	*policy;	/* p=; from ORG: sp= if there, else p= */
	char	*subdomain_policy;	/* sp= */
	int	 pct;		/* 100 when absent */
	char	*rua;
	char	*ruf;
	char	*error;
};

struct probe_sts {
	char	*txt;		/* _mta-sts.DOMAIN TXT; NULL: none */
	char	*id;
	char	*txt_error;
	/* the policy fetched from https://mta-sts.DOMAIN/.well-known/... */
	int	 fetched;	/* a 200 with a policy body */
	int	 http_status;	/* 0: no HTTP reply */
	enum probe_tri cert_valid;	/* the web server's chain and name */
	char	*fetch_error;	/* TLS, HTTP or policy error; NULL: none */
	char	*policy;	/* the body as received (bounded) */
	char	*mode;		/* enforce, testing, none */
	long	 max_age;	/* -1: missing */
	struct probe_strv mx;	/* the policy's mx patterns */
};

struct probe_tlsrpt {
	char	*record;	/* _smtp._tls.DOMAIN; NULL: none */
	char	*rua;
	char	*error;
};

/* One TLSA record at _25._tcp.MX and what it matched. */
struct probe_tlsa {
	int	 usage;		/* RFC 6698 2.1: 0-3 */
	int	 selector;	/* 0 full certificate, 1 SPKI */
	int	 mtype;		/* 0 full, 1 SHA-256, 2 SHA-512 */
	char	*data;		/* hex, lowercase */
};

/* ---- one certificate of a presented chain (probe_tls.c) ---- */

struct probe_cert {
	char	*subject;	/* one line, RFC 2253 */
	char	*subject_cn;
	struct probe_strv san;	/* DNS names (and IP addresses as text) */
	char	*issuer;
	char	*sha1;		/* of the DER certificate, hex lowercase */
	char	*sha256;
	char	*spki_sha256;	/* of the DER SubjectPublicKeyInfo */
	char	*key_type;	/* "RSA", "EC", "ED25519", ... */
	int	 key_bits;
	char	*curve;		/* EC: the curve's name; NULL otherwise */
	char	*sig_alg;	/* "sha256WithRSAEncryption", ... */
	time_t	 not_before;
	time_t	 not_after;
	int	 self_signed;	/* issuer equals subject and the key verifies */
};

/* ---- one address of an MX host (probe_smtp.c, probe_tls.c) ---- */

/* Where the dialogue with an address stopped; PS_DONE when it ran. */
enum probe_stop {
	PSTOP_DONE,
	PSTOP_NOT_TRIED,	/* --ipv4-only and the like */
	PSTOP_CONNECT,		/* refused, unreachable, or timed out */
	PSTOP_BANNER,		/* no 220, or a bad banner */
	PSTOP_EHLO,		/* EHLO and HELO refused */
	PSTOP_TIMEOUT,		/* a step passed --timeout */
	PSTOP_PROTOCOL,		/* a reply that is not SMTP, too long, ... */
	PSTOP_TLS		/* the STARTTLS handshake failed */
};

/* ESMTP extensions advertised after EHLO (RFC 5321 and the others). */
#define PX_SIZE		0x0001
#define PX_PIPELINING	0x0002
#define PX_8BITMIME	0x0004
#define PX_SMTPUTF8	0x0008
#define PX_CHUNKING	0x0010
#define PX_STARTTLS	0x0020
#define PX_REQUIRETLS	0x0040
#define PX_ENHANCEDSTATUSCODES 0x0080
#define PX_DSN		0x0100
#define PX_AUTH		0x0200

/* The TLS protocol versions tried one by one. */
enum probe_tlsv {
	PV_TLS10,
	PV_TLS11,
	PV_TLS12,
	PV_TLS13
};
#define PROBE_NVERSIONS	4

/* Weak cipher-suite classes offered alone in a TLS 1.2 (or lower) hello. */
enum probe_weak {
	PW_NULL,		/* no encryption */
	PW_EXPORT,		/* export-grade */
	PW_RC4,
	PW_3DES,
	PW_CBC_ONLY,		/* accepted a hello that offered only CBC */
	PW_NO_PFS		/* static RSA key exchange accepted */
};
#define PROBE_NWEAK	6

/* One handshake attempt that is not the main one. */
struct probe_try {
	enum probe_tri	 accepted;	/* PT_UNKNOWN: could not be tried */
	char		*detail;	/* suite negotiated, or why not tried,
					   or the alert/error */
};

/* DANE (RFC 7672) of the address's presented chain. */
enum probe_dane {
	PD_NONE,		/* no TLSA records */
	PD_UNVALIDATED,		/* TLSA records without the AD bit: unusable */
	PD_MATCH,		/* a usable record matched the chain */
	PD_NOMATCH,		/* usable records, none matched */
	PD_NOT_TESTED		/* no TLS handshake to check against */
};

struct probe_addr {
	char		*addr;		/* numeric */
	int		 family;	/* 4 or 6 */
	/* reverse DNS (probe_dns.c) */
	char		*ptr;		/* first PTR name; NULL: none */
	struct probe_dnsq ptr_q;
	enum probe_tri	 fcrdns;	/* the PTR name resolves back */
	/* the main dialogue (probe_smtp.c) */
	enum probe_stop	 stop;
	char		*stop_detail;	/* the error, or the refusing reply */
	double		 connect_ms;	/* -1: no connection */
	int		 banner_code;	/* 0: none */
	char		*banner;	/* its first line, text after the code */
	char		*banner_name;	/* the first word of it */
	int		 ehlo_code;
	unsigned int	 ext;		/* PX_*, from the EHLO before TLS */
	unsigned int	 ext_tls;	/* PX_*, from the EHLO after TLS */
	long long	 size_limit;	/* SIZE n; -1: none, 0: no limit */
	int		 starttls_code;	/* 0: not sent (not offered) */
	/* the main handshake (probe_tls.c) */
	int		 tls;		/* established */
	char		*tls_version;	/* "TLSv1.3" */
	char		*tls_cipher;	/* IANA name */
	char		*tls_group;	/* "X25519", ... */
	char		*tls_error;
	struct probe_cert chain[PROBE_CHAIN_MAX];
	size_t		 nchain;
	enum probe_tri	 chain_valid;	/* against the system's CA store */
	char		*chain_error;	/* X509_verify_cert_error_string() */
	enum probe_tri	 name_match;	/* the MX name in the leaf */
	enum probe_dane	 dane;
	int		 dane_matched;	/* index into the MX's tlsa; -1 */
	struct probe_try versions[PROBE_NVERSIONS];
	struct probe_try weak[PROBE_NWEAK];
	/* policy behaviour, reply codes (0: not asked; see transcript) */
	int		 mail_code;		/* MAIL FROM the probe */
	int		 rcpt_postmaster;	/* postmaster@DOMAIN */
	int		 rcpt_abuse;		/* abuse@DOMAIN */
	int		 rcpt_random;		/* a random local part */
	int		 rcpt_relay;		/* RCPT to example.net */
	int		 spf_mail_code;		/* MAIL FROM a -all domain */
	int		 spf_rcpt_code;		/* ... and its RCPT */
	enum probe_tri	 open_relay;
	enum probe_tri	 recipient_filtering;
	enum probe_tri	 greylisting;	/* 4xx on the first RCPT */
	enum probe_tri	 spf_checked;	/* the -all sender was refused */
	/* "C: ..." and "S: ..." lines, as sent and received (bounded) */
	struct probe_strv transcript;
	double		 started;
	double		 ended;
};

/* ---- one MX host ---- */

struct probe_mx {
	char		*name;		/* lowercase, no final dot */
	int		 preference;
	struct probe_dnsq a_q;		/* its A question */
	struct probe_dnsq aaaa_q;
	struct probe_dnsq tlsa_q;	/* _25._tcp.NAME */
	struct probe_tlsa tlsa[PROBE_TLSA_MAX];
	size_t		 ntlsa;
	enum probe_tri	 sts_match;	/* a policy mx pattern matches NAME */
	struct probe_addr *addrs;	/* owned */
	size_t		 naddrs;
};

/* ---- findings and grade (probe_grade.c) ---- */

enum probe_sev {
	PF_GOOD,		/* something done right, shown */
	PF_INFO,
	PF_WARN,
	PF_BAD,
	PF_CRITICAL		/* caps the grade at F */
};

/*
 * One finding: a stable KEY (docs/probe.md lists them), where it holds
 * (the domain, an MX name, or an address of one), a one-line summary and
 * its evidence: transcript lines, certificate fields, DNS answers.
 */
struct probe_finding {
	char		*key;
	enum probe_sev	 severity;
	char		*mx;		/* NULL: the domain */
	char		*addr;		/* NULL: the whole MX or domain */
	char		*summary;
	struct probe_strv evidence;
};

/* ---- the result ---- */

struct probe_result {
	char		*domain;	/* lowercase, no final dot */
	double		 started;
	double		 finished;
	char		*resolver;	/* what answered, as given or found */
	unsigned int	 port;		/* the SMTP port probed (25) */
	struct probe_dnsq mx_q;
	int		 null_mx;	/* RFC 7505 "0 ." */
	int		 implicit_mx;	/* no MX: the domain itself (RFC 5321
					   5.1) */
	enum probe_tri	 dnssec;	/* the MX answer had the AD bit */
	struct probe_spf spf;
	struct probe_dmarc dmarc;
	struct probe_sts sts;
	struct probe_tlsrpt tlsrpt;
	struct probe_mx	*mx;		/* owned, by preference */
	size_t		 nmx;
	struct probe_finding *findings;	/* owned */
	size_t		 nfindings;
	char		 grade[3];	/* "A+", "A", ... "F"; "" before */
	int		 score;		/* 0-100 */
	char		*error;		/* the probe could not run: why */
};

/* ---- options ---- */

/* Progress of a probe (a TTY's display): one step of one address. */
typedef void	(*probe_progress_fn)(void *arg, const struct probe_mx *,
		    const struct probe_addr *, const char *step);

struct probe_opts {
	const struct config *cfg;	/* hostname (EHLO), base_domain */
	const char	*domain;
	int		 ipv4;		/* probe IPv4 addresses */
	int		 ipv6;
	unsigned int	 timeout_ms;	/* each network step */
	unsigned int	 deadline_ms;	/* one address, all its steps */
	const char	*resolver;	/* ADDR[:PORT] or NULL: the config's */
	unsigned int	 port;		/* 25; others only for tests */
	unsigned int	 per_host;	/* connections at once per address */
	int		 public_only;	/* the web's probes: no connection to
					   an address that is not global
					   unicast (loopback, private, link-
					   local, documentation, ...) */
	probe_progress_fn progress;
	void		*progress_arg;
};

/* ---- probe.c: the result and the steps ---- */

struct probe_result *probe_result_new(const char *domain);
void		 probe_result_free(struct probe_result *);
void		 probe_opts_default(struct probe_opts *, const struct config *);

/* Appends a copy of S (cut to PROBE_TEXT_MAX) to SV; -1: out of memory. */
int		 probe_strv_add(struct probe_strv *, const char *s);
int		 probe_strv_addf(struct probe_strv *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 probe_strv_clear(struct probe_strv *);

/* A new finding of R, evidence empty; NULL: out of memory. */
struct probe_finding *probe_finding_add(struct probe_result *,
		    const char *key, enum probe_sev, const char *mx,
		    const char *addr, const char *fmt, ...)
		    __attribute__((format(printf, 6, 7)));

const char	*probe_tri_name(enum probe_tri);	/* yes no unknown */
const char	*probe_stop_name(enum probe_stop);	/* done connect ... */
const char	*probe_tlsv_name(enum probe_tlsv);	/* TLSv1.0 ... */
const char	*probe_weak_name(enum probe_weak);	/* null export ... */
const char	*probe_dane_name(enum probe_dane);	/* none match ... */
const char	*probe_sev_name(enum probe_sev);	/* good info ... */
/*
 * The I-th ESMTP extension of the PX_* bits, its bit in *BIT: "SIZE",
 * "PIPELINING", ...; NULL past the last (probe_json.c).
 */
const char	*probe_ext_name(size_t i, unsigned int *bit);

/*
 * The whole probe of OPTS->domain into *OUT (the caller's:
 * probe_result_free()): DNS, then every address in parallel, then the
 * grade.  0 when it ran (the result may say the domain has no mail
 * servers), -1 with (*OUT)->error when it could not (no resolver).
 */
int		 probe_run(const struct probe_opts *, struct probe_result **out);

/*
 * ADDR (numeric) may be connected to: always, but with
 * OPTS->public_only only a global unicast address (netaddr_is_global()).
 * probe_sts_fetch() asks it too.
 */
int		 probe_addr_allowed(const struct probe_opts *, const char *addr);

/* ---- probe_dns.c, probe_sts.c: the DNS facts ---- */

struct resolver;

/*
 * Fills R's DNS facts: MX (null MX, implicit MX), A and AAAA of each MX
 * (per OPTS' families), PTR and forward confirmation of each address,
 * TLSA at _25._tcp.MX, SPF with its lookup count, DMARC, TLS-RPT and the
 * MTA-STS record.  0, or -1 when out of memory.
 */
int		 probe_dns(struct resolver *, const struct probe_opts *,
		    struct probe_result *r);
/*
 * The MTA-STS policy (RFC 8461 3.3) over HTTPS with validation; sets
 * R->sts and each MX's sts_match.  0, or -1 when out of memory.
 */
int		 probe_sts_fetch(const struct probe_opts *,
		    struct probe_result *r);

/* ---- probe_smtp.c, probe_tls.c: the addresses ---- */

struct event_base;

/*
 * Probes every address of R's MX hosts on BASE, all at once, at most
 * OPTS->per_host connections per address: the main dialogue (banner,
 * EHLO, STARTTLS, the handshake, EHLO again, the policy checks, RSET,
 * QUIT; never DATA), then a handshake per TLS version and per weak
 * class.  An address whose stop is already PSTOP_NOT_TRIED (probe_run():
 * not allowed) is skipped.  Runs BASE until every address is done.  0,
 * or -1 when out of memory.
 */
int		 probe_smtp(struct event_base *, const struct probe_opts *,
		    struct probe_result *r);

struct x509_st;			/* X509 */
struct stack_st_X509;		/* STACK_OF(X509) */
struct ssl_st;			/* SSL */

/* The certificate fields of X into C (cleared first); -1: out of memory. */
int		 probe_cert_fill(struct probe_cert *c, struct x509_st *x);
void		 probe_cert_clear(struct probe_cert *);
/*
 * After the main handshake of A with MX on SSL: its version, suite and
 * group, the chain's fields, validation against the system's CA store
 * (OpenSSL's default paths: SSL_CERT_FILE and SSL_CERT_DIR are honoured,
 * which is how the tests bring their CA), the name match against
 * MX->name and DANE against MX->tlsa.  0, or -1 when out of memory.
 */
int		 probe_tls_record(struct ssl_st *ssl, const struct probe_mx *mx,
		    struct probe_addr *a);

/* ---- probe_grade.c ---- */

/* The findings and the grade of R (both replaced).  -1: out of memory. */
int		 probe_grade(struct probe_result *r);

/* ---- the formats: probe_text.c, probe_json.c, probe_html.c ---- */

/* COLOR: ANSI colours (a TTY without NO_COLOR). */
int		 probe_text(FILE *, const struct probe_result *, int color);
int		 probe_json(FILE *, const struct probe_result *);
int		 probe_html(FILE *, const struct probe_result *);

/* ---- probe_store.c: probes, probe_hosts, probe_findings ---- */

/* Stores R in its own transaction; its id in *ID.  0, or -1 (logged). */
int		 probe_store(const char *database, const struct probe_result *,
		    int64_t *id);

#endif /* MAILSCOPE_PROBE_H */
