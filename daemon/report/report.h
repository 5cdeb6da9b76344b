/*
 * The report of one test: what the store holds for it (struct rp_input,
 * filled by report_load.c, or by the unit tests by hand), the verdict
 * rules of CHALLENGES.md over it (report_rules.c), the score
 * (report_score.c) and the three formats (report_text.c, report_json.c,
 * report_html.c).  Single-threaded; runs in the tool.
 *
 * Every string of the input is owned by the input (report_input_free());
 * strings a sender controls are raw bytes as stored and are escaped only
 * by the formats.
 */
#ifndef MAILSCOPE_REPORT_H
#define MAILSCOPE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "types.h"

#define REPORT_SCHEMA		1	/* "schema" of the JSON report */
#define RP_REASON_MAX		320	/* a verdict's explanation */
#define RP_SUMMARY_MAX		200	/* an evidence row's one line */

enum rp_state {
	RP_GOOD,
	RP_NOTE,		/* acceptable; read the explanation */
	RP_IMPROVE,
	RP_BAD,
	RP_WAITING,		/* absence not yet conclusive (wait) */
	RP_NOT_MEASURED		/* its controls did not allow a conclusion */
};
#define RP_NSTATES	6

enum rp_group {
	RPG_DELIVERY,
	RPG_TRANSPORT,
	RPG_DNS,
	RPG_AUTH,
	RPG_MESSAGE,
	RPG_BEYOND
};
#define RP_NGROUPS	6

/* One recipient of the test delivered on its challenge's own address. */
struct rp_delivery {
	int64_t	 recipient_id;
	int64_t	 transaction_id;
	int64_t	 connection_id;
	char	*challenge;
	char	*address;		/* the recipient as given */
	double	 received;
	char	*host;			/* host profile of the connection */
	int	 mx;			/* 1 or 2: which MX of the challenge */
	int	 family;		/* 4 or 6 */
	char	*client_addr;
	char	*mail_from;
	int	 tls;			/* the transaction ran under TLS */
	char	*tls_version;		/* NULL: none */
	char	*tls_cipher;
	char	*tls_group;
	int64_t	 bare_lf;
	int64_t	 bare_cr;
	int64_t	 nul_bytes;
	int	 analysed;		/* its analysis finished */
};

/* One connection attributed to the test (connections.test_id). */
struct rp_conn {
	int64_t	 id;
	double	 started;
	double	 ended;			/* 0: still open */
	char	*host;
	char	*local_addr;
	char	*client_addr;
	int	 family;
	char	*challenge;		/* its address is this challenge's own */
	char	*challenges;		/* a shared address: the candidates */
	char	*reason;		/* attribution: rcpt sni address ... */
	char	*helo;
	char	*extensions;		/* ESMTP extensions the client used */
	int	 starttls;
	int	 tls_established;
	int	 tls_resumed;		/* -1: not known */
	char	*tls_version;
	char	*tls_cipher;
	char	*tls_group;
	char	*tls_sni;
	char	*ch_versions;		/* ClientHello, as stored */
	char	*ch_ciphers;
	char	*ch_groups;		/* decimal codepoints */
	char	*ch_alpn;
	char	*tls_alert_sent;
	char	*tls_alert_received;
	char	*tls_error;
	int	 mail_commands;
	int	 transactions;
	char	*end_reason;
};

/* One greylist_attempts row of the test. */
struct rp_grey {
	int64_t	 id;
	int64_t	 connection_id;
	char	*rcpt;
	char	*mail_from;
	char	*client_addr;
	double	 time;
	int	 accepted;		/* result 'accepted' (else deferred) */
};

/* One MTA-STS policy fetch tied to the test (v_policy_fetches). */
struct rp_fetch {
	int64_t	 id;
	double	 time;
	char	*client_addr;
	char	*challenge;		/* whose policy; NULL: none */
	char	*sni;
	char	*user_agent;
	int	 status;		/* HTTP status; 0: no request */
	char	*error;
};

/* One query of the test to mailscoped's DNS responder (dns_queries). */
struct rp_dnsq {
	int64_t	 id;
	double	 time;
	char	*client_addr;
	int	 family;
	int	 tcp;
	char	*qname;
	int	 qtype;
	int	 edns;
	int	 do_bit;
	int	 minimised;
};

/* The analysis of one delivered transaction (one row per transaction). */
struct rp_message {
	int64_t	 transaction_id;
	int	 finished;		/* analyses.finished set */
	char	*error;			/* analyses.error */
	int	 have_message;		/* a messages row */
	char	*from_domain;
	char	*envelope_domain;
	int	 from_matches;		/* -1: not known */
	char	*message_id;
	char	*dkim_result;		/* NULL: no dkim_results row */
	int	 dkim_signatures;
	char	*dmarc_result;		/* NULL: no dmarc_results row */
	char	*dmarc_domain;		/* policy_domain */
	char	*dmarc_p;
	char	*dmarc_policy;
	int	 dmarc_pct;		/* -1: not given */
	char	*dmarc_rua;
	int	 dmarc_spf_aligned;	/* -1: not known */
	int	 dmarc_dkim_aligned;
	char	*ptr;			/* NULL: no client_dns row */
	char	*ptr_status;
	int	 fcrdns;		/* -1: not known */
};

struct rp_spf {
	int64_t	 transaction_id;
	char	*identity;		/* mailfrom | helo */
	char	*domain;
	char	*result;
	int	 dns_lookups;
	int	 void_lookups;
	char	*error;
};

struct rp_dkim_sig {
	int64_t	 transaction_id;
	int	 position;
	char	*domain;
	char	*selector;
	char	*algorithm;
	int	 key_bits;		/* -1: not known */
	char	*result;
	char	*error;
	int	 aligned;		/* -1: not known */
};

struct rp_dmarc_dest {
	int64_t	 transaction_id;
	char	*tag;			/* rua | ruf */
	int	 position;
	char	*uri;
	char	*domain;
	int	 external;		/* -1: not known */
	int	 authorized;		/* -1: not known */
	char	*status;
};

struct rp_finding {
	int64_t	 id;
	int64_t	 transaction_id;
	char	*field;
	char	*finding;		/* dup missing missing_recommended ... */
	int	 count;
};

struct rp_zone {
	int64_t	 transaction_id;
	char	*role;			/* mailfrom from dkim reverse */
	char	*name;
	char	*zone;
	char	*dnssec;		/* secure insecure bogus indeterminate */
	char	*dnssec_error;
	int	 ipv6_ns;		/* -1: not known */
};

/* One policy of a TLS-RPT report attributed to the test. */
struct rp_tlsrpt {
	int64_t	 report_id;		/* tlsrpt_reports.id */
	int64_t	 inbound_id;		/* inbound_reports.id */
	double	 received;
	char	*status;		/* ok | malformed */
	char	*organization;
	char	*date_start;
	char	*date_end;
	char	*policy_type;
	char	*policy_domain;
	int64_t	 successful;
	int64_t	 failed;
	char	*attribution;		/* uniq | sender */
};

/* A challenge of the catalogue and this test's address of it. */
struct rp_challenge {
	const char	*name;		/* the catalogue's (static) */
	const char	*host;
	const char	*host2;		/* NULL: one MX */
	const char	*meaning;
	char		*address;	/* owned */
	int		 offered;	/* 0: the deployment leaves it out
					   (config_challenge_left_out()) */
};

/* Everything the rules read for one test. */
struct rp_input {
	char			 test_id[32];
	char			*base;		/* the config's base domain */
	double			 created;
	double			 now;
	double			 wait;		/* seconds (config wait) */
	struct rp_challenge	*challenges;	/* the catalogue's order */
	size_t			 nchallenges;
	struct rp_delivery	*deliveries;
	size_t			 ndeliveries;
	struct rp_conn		*conns;
	size_t			 nconns;
	struct rp_grey		*grey;
	size_t			 ngrey;
	struct rp_fetch		*fetches;
	size_t			 nfetches;
	struct rp_dnsq		*dnsq;
	size_t			 ndnsq;
	struct rp_message	*messages;
	size_t			 nmessages;
	struct rp_spf		*spf;
	size_t			 nspf;
	struct rp_dkim_sig	*dkim;
	size_t			 ndkim;
	struct rp_dmarc_dest	*dests;
	size_t			 ndests;
	struct rp_finding	*findings;
	size_t			 nfindings;
	struct rp_zone		*zones;
	size_t			 nzones;
	struct rp_tlsrpt	*tlsrpt;
	size_t			 ntlsrpt;
};

void	report_input_free(struct rp_input *);

/* One row that a verdict rests on. */
struct rp_evidence {
	const char	*table;		/* connections, recipients, ... */
	int64_t		 id;
	double		 time;		/* 0: none */
	char		 summary[RP_SUMMARY_MAX];	/* raw; formats escape */
};

struct rp_rule;

struct rp_verdict {
	const struct rp_rule	*rule;
	enum rp_state		 state;
	char			 reason[RP_REASON_MAX];	/* raw */
	struct rp_evidence	*evidence;		/* owned */
	size_t			 nevidence;
	size_t			 evcap;
};

/* A rule of the table in report_rules.c. */
struct rp_rule {
	const char	*key;		/* CHALLENGES.md's verdict key */
	enum rp_group	 group;
	const char	*title;
	const char	*inputs;	/* what it reads, for docs and JSON */
	int		 weight;	/* in the score; 0: not scored */
	const char	*context;	/* the published share; NULL: none */
	void		(*fn)(const struct rp_input *, struct rp_verdict *);
};

const struct rp_rule	*report_rules(size_t *n);

/* What happened to one challenge of the test. */
enum rp_outcome {
	RPO_DELIVERED,
	RPO_REFUSED,		/* a connection proved it will not deliver */
	RPO_PENDING,		/* nothing yet, the wait is not over */
	RPO_ABSENT,		/* nothing, and the wait is over */
	RPO_NOT_OFFERED		/* nothing, and the deployment does not
				   publish it (report_row() only) */
};

/*
 * The outcome of challenge NAME in IN; with RPO_DELIVERED and
 * RPO_REFUSED *ROW (if not NULL) is the delivery's index in
 * in->deliveries or the connection's in in->conns.
 */
enum rp_outcome	report_outcome(const struct rp_input *in, const char *name,
		    size_t *row);

/*
 * Whether C, a connection to challenge NAME's own address, proves the
 * sender will not deliver there: it ended without a transaction, after
 * a failed or abandoned handshake, after TLS without trying MAIL, or (on
 * a host without STARTTLS) after EHLO without trying MAIL.
 */
int		report_conn_refuses(const struct rp_conn *c, const char *name);

/* The time after which absence is conclusive: first contact + wait. */
double		report_deadline(const struct rp_input *in);

/* The verdicts of one test, in the order of the rule table. */
struct rp_report {
	const struct rp_input	*in;
	struct rp_verdict	*verdicts;	/* owned */
	size_t			 nverdicts;
	int			 score;		/* 0-10; -1: none yet */
	char			 score_reason[RP_REASON_MAX];
};

/* Applies every rule to IN.  0, or -1 when out of memory. */
int	report_build(const struct rp_input *in, struct rp_report *out);
void	report_free(struct rp_report *);

/* The score of R's verdicts into r->score and r->score_reason. */
void	report_score(struct rp_report *r);

/* Adds an evidence row to V; silently drops it when out of memory. */
void	report_evidence(struct rp_verdict *v, const char *table, int64_t id,
	    double time, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

const char	*report_state_name(enum rp_state);	/* "good" ... */
const char	*report_group_name(enum rp_group);	/* "delivery" ... */
const char	*report_group_title(enum rp_group);	/* "Delivery" ... */

/*
 * One row of the challenge table that closes every format
 * (report_table.c): what became of the challenge's address.
 */
struct rp_row {
	const struct rp_challenge *ch;		/* borrowed from the input */
	enum rp_outcome		 outcome;
	const struct rp_delivery *first;	/* earliest delivery; NULL: none */
	size_t			 ngrey;		/* greylist attempts to it */
	double			 grey_first;	/* 0: none */
	double			 grey_accepted;	/* first accepted; 0: none */
	size_t			 nrefusals;
};

/* Row I (< in->nchallenges) of IN's challenge table into ROW. */
void		report_row(const struct rp_input *in, size_t i,
		    struct rp_row *row);
/* Whether a delivery, a greylist attempt, a connection belongs to ROW. */
int		report_row_delivery(const struct rp_row *,
		    const struct rp_delivery *);
int		report_row_grey(const struct rp_row *, const struct rp_grey *);
int		report_row_refusal(const struct rp_row *, const struct rp_conn *);
/* What refusal C showed, and how it was tied to the test: raw text. */
void		report_refusal_text(const struct rp_conn *c, char *buf,
		    size_t len);
/* "open IPv6 MX2": the host, family and MX of D (raw text). */
void		report_via_text(const struct rp_delivery *d, char *buf,
		    size_t len);
/* ROW's greylist attempts and the retry delay in words; "" if none. */
void		report_grey_text(const struct rp_row *row, char *buf,
		    size_t len);
const char	*report_outcome_name(enum rp_outcome);	/* "delivered" ... */
/* Whether R has a verdict in group G: the formats leave out empty groups. */
int		report_group_used(const struct rp_report *r, enum rp_group g);
/* T as ISO 8601 UTC, "2026-12-07T10:00:00Z"; "" for 0. */
void		report_time(double t, char *buf, size_t len);
#define RP_TIME_MAX	32

/* The formats: 0, or -1 on an output error. */
struct rp_format_opts {
	int	color;			/* text: ANSI colours */
	int	verbose;		/* text: evidence under each verdict */
};
int	report_text(const struct rp_report *, const struct rp_format_opts *,
	    FILE *);
int	report_json(const struct rp_report *, FILE *);

/*
 * What the web server adds to the HTML report; report_html() with NULL
 * is the static file of `mailscope report` (its own CSP in a <meta>).
 * With options the page carries no CSP of its own: the server sends
 * one, with style-src 'sha256-' of report_html_style().
 */
struct rp_html_opts {
	int		 live;		/* refresh while a verdict waits */
	const char	*json_href;	/* a "Download JSON" link; NULL: none */
	const char	*script_src;	/* <script src defer>; NULL: none */
	int		 addresses;	/* the address set, mailto:, /t/ID */
};
int	report_html(const struct rp_report *, const struct rp_html_opts *,
	    FILE *);
/*
 * The exact text of the one <style> element of every page (the report
 * and the web's pages): no page has a style attribute or inline script.
 */
const char	*report_html_style(void);
/*
 * S (NULL: nothing) as HTML text or attribute value: markup as
 * references, invalid UTF-8 as U+FFFD, control characters as \xNN.  The
 * one HTML escaper of the report and the web's pages.
 */
void		 report_html_esc(FILE *fp, const char *s);

/*
 * Fills IN with what the store at CFG's database holds for test ID, at
 * time NOW.  0; 1: no such test; -1: a database error, said in ERR.
 */
int	report_load(const struct config *cfg, const char *id, double now,
	    struct rp_input *in, char *err, size_t errlen);

/*
 * `mailscope report` on ARGV (argv[0] the verb) with CFG; messages to
 * ERR.  The exit status: 0, 1 (no such test, database or output error),
 * 2 (usage).
 */
int	report_main(const struct config *cfg, int argc, char *argv[],
	    FILE *err);

#endif /* MAILSCOPE_REPORT_H */
