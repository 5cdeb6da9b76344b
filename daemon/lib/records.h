/*
 * The records passed between threads, from the sessions, the listeners and
 * the analyzers to the store.  Each says what it owns; records.c holds
 * their copies and destructors.
 */
#ifndef MAILSCOPE_RECORDS_H
#define MAILSCOPE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * What the TLS layer learnt about one handshake: the ClientHello as
 * offered (numbers, unknown codepoints kept) and what was negotiated, or
 * why it failed.  Owns its strings: records_tls_clear().
 */
struct tls_rec {
	int		 attempted;	/* STARTTLS accepted, handshake begun */
	int		 established;
	char		*version;	/* "TLSv1.3" */
	char		*cipher;	/* OpenSSL name */
	char		*group;		/* key exchange group name or number */
	char		*sni;		/* server name the client sent */
	int		 resumed;
	char		*ch_versions;	/* offered, comma-separated numbers */
	char		*ch_ciphers;	/* offered suites, 0xNNNN list */
	char		*ch_groups;	/* offered groups, decimal codepoints */
	char		*ch_sigalgs;	/* offered signature schemes, 0xNNNN */
	char		*ch_alpn;	/* offered protocols, comma-separated */
	char		*alert_sent;	/* "bad_certificate", ... */
	char		*alert_received;
	char		*error;		/* OpenSSL's reason of a failure */
};

/*
 * The connection row: everything known about one TCP connection, mail or
 * not.  Owns its strings and the tls_rec: records_conn_clear(); copied
 * whole by records_conn_copy().  A caller of store_conn_open() may fill it
 * with borrowed strings: the store keeps its own copy.
 */
struct conn_rec {
	int64_t		 id;
	char		*host;		/* host profile name */
	char		*local_addr;	/* "127.0.0.1:2525" */
	char		*challenge;	/* whose own address local_addr is */
	char		*challenges;	/* the possible ones, "a,b,c" */
	char		*client_addr;	/* numeric, no port */
	int		 client_port;
	int		 family;	/* 4 or 6 */
	double		 started;	/* Unix time, seconds */
	double		 ended;
	char		*helo_verb;	/* "EHLO" or "HELO", last seen */
	char		*helo;		/* the name, as sent */
	char		*extensions;	/* ESMTP extensions the client used */
	int		 starttls;	/* STARTTLS command accepted */
	int		 pipelined_discarded;	/* bytes dropped at STARTTLS */
	int		 improper_pipelining;	/* commands after a group end */
	unsigned	 bare_cr_commands;	/* refused: CR not in CRLF */
	unsigned	 transactions;	/* committed */
	unsigned	 mail_commands;	/* MAIL commands sent, any reply */
	unsigned	 refusals;	/* refused by a limit (refusal_rec) */
	unsigned	 unrecorded;	/* refused at accept before, unrecorded */
	char		*test_id;	/* attributed test, NULL if none */
	char		*sni_test_id;	/* a test the SNI names (testid_from_name) */
	char		*commands;	/* "ehlo=1 mail=1/2 ..." summary */
	char		*end_reason;	/* "quit", "timeout", "tls-failed", ... */
	struct tls_rec	 tls;
};

/*
 * One recipient accepted in a transaction; freed with its txn_rec
 * (records_rcpt_clear() alone).
 */
struct rcpt_rec {
	char		*address;	/* owned, as given (no brackets) */
	char		*challenge;	/* owned; NULL for postmaster */
	char		*test_id;	/* owned; NULL if none */
	char		*params;	/* owned; ESMTP parameters as sent */
	char		*notify;	/* owned; DSN NOTIFY as sent, or NULL */
	char		*orcpt;		/* owned; DSN ORCPT as sent, or NULL */
	int		 wrong_host;	/* challenge not among the address's */
};

/*
 * One row of the challenges table: a catalogue entry with the addresses
 * of its own the config gives it.  Owns dns, addresses and addresses2;
 * the rest is static (the catalogue's): records_challenge_clear().
 */
struct challenge_rec {
	const char	*name;
	const char	*host;		/* of the (first) MX */
	const char	*host2;		/* of the second MX; NULL: none */
	const char	*mx_family;	/* "A", "AAAA" or "dual" */
	char		*dns;		/* its DNS flags, "signed,tlsa-bad" */
	char		*addresses;	/* its own on host, space-separated */
	char		*addresses2;	/* its own on host2 */
	const char	*description;	/* what a delivery means */
};

/*
 * One mail transaction, handed to the store when DATA ends.  Owns its
 * strings and its recipients; records_txn_free() frees it whole.
 */
struct txn_rec {
	int64_t		 id;		/* set by the store when committed */
	int64_t		 conn_id;
	double		 received;
	char		*mail_from;	/* reverse path, "" for <> */
	char		*mail_params;	/* ESMTP parameters as sent */
	int		 declared_8bit;	/* BODY=8BITMIME or SMTPUTF8 given */
	int		 smtputf8;	/* SMTPUTF8 given (RFC 6531) */
	int		 requiretls;	/* REQUIRETLS given (RFC 8689) */
	char		*ret;		/* DSN RET=, "FULL"/"HDRS"; NULL none */
	char		*envid;		/* DSN ENVID=, xtext as sent; NULL */
	const char	*body_method;	/* static: "DATA" or "BDAT" */
	unsigned	 chunks;	/* BDAT commands of the message */
	struct rcpt_rec	*rcpts;
	size_t		 nrcpts;
	size_t		 size;		/* bytes after dot-unstuffing (BDAT: all) */
	char		*headers;	/* the header section, capped */
	size_t		 headers_len;
	char		 body_sha256[65];	/* hex */
	unsigned	 bare_lf;
	unsigned	 bare_cr;
	unsigned	 nul_bytes;	/* NUL bytes in the message */
	unsigned	 long_lines;
	int		 tls;		/* received over TLS */
	char		*message;	/* the whole message, for analysis */
	size_t		 message_len;
	char		*client_addr;	/* of the connection, for analysis */
	char		*helo;		/* HELO/EHLO name as sent; NULL if none */
	/* a report address among the recipients: the message is kept whole */
	const char	*report_kind;	/* static: "tlsrpt"; NULL: none */
	char		*report_rcpt;	/* the first report recipient, as given */
};

/*
 * A greylisting entry: (MAIL FROM, RCPT), lowercased.  Owns its strings:
 * records_grey_clear(), records_grey_copy().
 */
struct grey_entry {
	char		*mail_from;
	char		*rcpt;
	char		*test_id;	/* NULL if none */
	double		 first_seen;
	double		 last_seen;
	double		 passed;	/* 0: no retry accepted yet */
	unsigned	 attempts;
};

/* One greylisted RCPT attempt, as stored.  Owns client_addr. */
struct grey_attempt {
	int64_t		 conn_id;
	char		*client_addr;
	double		 time;
	int		 accepted;
};

/*
 * A command refused by a limit (schema 019, the refusals table).  Owns
 * reply, address and test_id (records_refusal_clear(),
 * records_refusal_copy()); the rest is static.
 */
struct refusal_rec {
	int64_t		 conn_id;
	double		 time;
	const char	*command;	/* "MAIL", "RCPT", "DATA" or "BDAT" */
	const char	*reason;	/* smtp_error.c's refusal name */
	char		*reply;		/* "550 5.1.1" */
	char		*address;	/* RCPT's path; NULL otherwise */
	char		*test_id;	/* RCPT's well-formed ID; NULL */
};

/*
 * One request (or failed attempt) on the HTTPS listener.  Owns its strings:
 * records_fetch_clear(), records_fetch_copy().  A caller of
 * store_policy_fetch() may fill it with borrowed ones: the store copies.
 */
struct fetch_rec {
	double		 time;
	char		*local_addr;
	char		*client_addr;
	int		 client_port;
	int		 family;
	char		*tls_version;
	char		*tls_cipher;
	char		*sni;		/* escaped */
	char		*host;		/* escaped */
	char		*method;
	char		*path;		/* escaped */
	char		*user_agent;	/* escaped */
	int		 status;	/* 0: no request was read */
	long long	 bytes;
	char		*challenge;	/* NULL if none */
	char		*error;
};

/*
 * One DNS query to the responder.  Owns qname, test_id, challenge and
 * error:
 * records_dnsq_clear().  The addresses are borrowed (the listener's text,
 * the caller's buffer) and transport is static.
 */
struct dnsq_rec {
	double		 time;
	char		*local_addr;	/* borrowed */
	char		*client_addr;	/* borrowed */
	int		 client_port;
	int		 family;
	const char	*transport;	/* static: "udp" or "tcp" */
	char		*qname;		/* as sent; NULL if unparsable */
	int		 qtype;
	int		 qclass;
	int		 edns;
	int		 edns_size;
	int		 do_bit;
	int		 rcode;		/* -1: dropped, no answer */
	int		 truncated;
	int		 minimised;
	char		*test_id;
	char		*challenge;	/* the zone's; NULL: outside them */
	char		*error;
	const char	*rrl;		/* static: NULL, "slip", "summary" */
	unsigned	 unrecorded;	/* of the prefix since its last row */
	unsigned	 rrl_dropped;	/* of those, not answered */
};

/* One finding of the header analyzer.  Owns field; freed with its analysis. */
struct header_finding {
	char		*field;		/* lowercase field name; NULL if none */
	const char	*finding;	/* static: "dup", "missing", ... */
	unsigned	 count;
};

/* One SPF check (RFC 7208) of one identity.  Owns its strings. */
struct spf_rec {
	int		 checked;	/* 0: not checked, no row */
	char		*domain;	/* escaped; NULL: none to check */
	const char	*result;	/* static: "pass", "fail", ... */
	char		*explanation;	/* escaped exp= text, fail only */
	char		*record;	/* escaped SPF record of DOMAIN */
	char		*error;		/* why none/permerror/temperror */
	unsigned	 dns_lookups;	/* DNS-querying terms (4.6.4) */
	unsigned	 void_lookups;
};

/*
 * The client's DNS: PTR, forward confirmation, HELO name.  Owns its
 * strings: records_clientdns_clear().
 */
struct clientdns_rec {
	int		 checked;	/* 0: not checked, no row */
	char		*ptr;		/* PTR names, space-separated */
	const char	*ptr_status;	/* static: resolver_status_name() */
	int		 fcrdns;	/* -1: not known */
	int		 helo_resolves;	/* -1: not a name, or not known */
	char		*helo_addrs;	/* A and AAAA, space-separated */
	const char	*helo_status;	/* static */
};

/* One DKIM-Signature field (RFC 6376 3.5), verified.  Owns its strings. */
struct dkim_sig_rec {
	unsigned	 position;	/* among the fields, 1: the first */
	char		*domain;	/* d=, lowercased, escaped; NULL */
	char		*selector;	/* s=, escaped */
	char		*algorithm;	/* a= as given, lowercased, escaped */
	unsigned	 key_bits;	/* of the key applied; 0: none */
	char		*canon_header;	/* c=: "simple" or "relaxed" */
	char		*canon_body;	/* c= body part */
	long long	 body_length;	/* l=; -1: absent (the whole body) */
	const char	*result;	/* static: dkim_classify() */
	char		*error;		/* escaped: why, when not pass */
	int		 aligned;	/* with the From domain, relaxed; -1 */
};

/*
 * DKIM of one message: its signatures, up to DKIM_MAX_STORED.  Owns the
 * array and every string: records_dkim_clear().
 */
struct dkim_rec {
	int		 checked;	/* 0: not checked, no rows */
	unsigned	 fields;	/* DKIM-Signature fields in it */
	const char	*result;	/* static: dkim_summary() */
	char		*error;		/* why none was verified */
	struct dkim_sig_rec *sigs;	/* owned array */
	size_t		 nsigs;
};

/* A report URI of a DMARC record (RFC 7489 6.3, 7.1).  Owns its strings. */
struct dmarc_dest {
	const char	*tag;		/* static: "rua" or "ruf" */
	unsigned	 position;	/* within the tag, 1 first */
	char		*uri;		/* escaped, as published */
	char		*domain;	/* its host, lowercased; NULL */
	int		 external;	/* other Organizational Domain; -1 */
	int		 authorized;	/* 7.1 record found; -1: not asked */
	const char	*status;	/* static: the 7.1 lookup's; NULL */
};

/* DMARC of one message (RFC 7489).  Owns its strings and dests. */
struct dmarc_rec {
	int		 checked;	/* 0: not checked, no rows */
	char		*from_domain;	/* escaped; NULL: none */
	char		*org_domain;	/* its Organizational Domain (3.2) */
	char		*policy_domain;	/* where the record is; NULL: none */
	char		*record;	/* escaped */
	const char	*result;	/* static: pass, fail, none, ... */
	char		*error;		/* why none, temperror, permerror */
	const char	*p;		/* static; NULL: no policy */
	const char	*sp;		/* static; NULL: as p */
	int		 pct;		/* -1: no policy */
	const char	*adkim;		/* static: "r" or "s"; NULL */
	const char	*aspf;
	char		*fo;		/* escaped */
	char		*rua;		/* escaped, as published */
	char		*ruf;
	char		*invalid_tags;	/* escaped, space-separated */
	char		*spf_domain;	/* the SPF-authenticated domain */
	const char	*spf_result;	/* static, as in spf_rec */
	int		 spf_aligned;	/* -1: not known */
	int		 dkim_aligned;
	const char	*policy;	/* static: p, or sp for a subdomain */
	const char	*disposition;	/* static: what it asks for here */
	struct dmarc_dest *dests;	/* owned array */
	size_t		 ndests;
};

/*
 * The zone of one sender name (senderdns.c): its DNSSEC status, validated
 * by us, and whether its name servers, and those of every zone between
 * it and the trust anchor's, can be reached over IPv6.  Owns its strings;
 * freed with its senderdns_rec.
 */
struct sender_zone {
	const char	*role;		/* static: mailfrom, from, dkim, reverse */
	char		*name;
	char		*zone;		/* NULL: not found */
	const char	*dnssec;	/* static: secure, insecure, bogus, ... */
	char		*dnssec_error;	/* why not secure; NULL */
	int		 ipv6_ns;	/* -1: not known */
};

/* Every sender name of a message.  Owns the array. */
struct senderdns_rec {
	int		 checked;	/* 0: not checked, no rows */
	struct sender_zone *zones;	/* owned */
	size_t		 n;
};

/* One failure-details entry of a TLS-RPT policy (RFC 8460 4.4). */
struct tlsrpt_failure {
	char		*result_type;		/* escaped, as all strings */
	char		*sending_mta_ip;
	char		*receiving_mx_hostname;
	char		*receiving_ip;
	long long	 failed_sessions;	/* -1: absent */
	char		*additional_information;
	char		*failure_reason_code;
};

/* One policy of a TLS-RPT report (RFC 8460 4.3, 4.4).  Owns failures. */
struct tlsrpt_policy {
	char		*policy_type;
	char		*policy_domain;		/* lowercased */
	char		*policy_string;		/* JSON array text; NULL */
	char		*mx_host;		/* JSON array text; NULL */
	long long	 successful;
	long long	 failed;
	struct tlsrpt_failure *failures;	/* owned array */
	size_t		 nfailures;
};

/*
 * A TLS-RPT report (RFC 8460) parsed from a stored report message: with
 * status "malformed", error says why and policies is empty.  Owns all.
 */
struct tlsrpt_rec {
	int		 checked;	/* 0: not a report, no row */
	const char	*status;	/* static: "ok" or "malformed" */
	char		*error;		/* why malformed, or what was capped */
	char		*organization;
	char		*report_id;
	char		*contact;
	char		*date_start;
	char		*date_end;
	double		 start;		/* date_start in Unix seconds; 0: not */
	double		 end;		/* RFC 3339 (5.6), or before 1970 */
	struct tlsrpt_policy *policies;	/* owned array */
	size_t		 npolicies;
};

/*
 * What the analyzers found about one message.  Owns everything it points
 * to; records_analysis_free() frees it whole.
 */
struct analysis_rec {
	int64_t		 txn_id;
	double		 finished;
	const char	*skipped;	/* static: why there are no results */
	unsigned	 header_count;
	char		*header_from;	/* escaped */
	char		*from_domain;
	char		*envelope_domain;
	int		 from_matches_envelope;	/* -1: a domain is missing */
	char		*message_id;	/* escaped */
	unsigned	 received_count;
	int		 eight_bit;
	int		 body_8bitmime;
	struct header_finding *findings;
	size_t		 nfindings;
	struct spf_rec	 spf_mailfrom;
	struct spf_rec	 spf_helo;
	struct clientdns_rec client;
	struct dkim_rec	 dkim;
	struct dmarc_rec dmarc;
	struct senderdns_rec sender_zones;
	struct tlsrpt_rec tlsrpt;	/* a report message's (report_kind) */
	int		 tlsrpt_only;	/* a report parsed again: tlsrpt only */
};

/*
 * Destructors: x_clear() frees what the record owns (not the record) and
 * zeroes it; x_free() frees the record too, x_free(NULL) is a no-op.
 * Copies: a deep copy of SRC into DST; 0, or -1 (errno set), DST zeroed.
 */
void		 records_tls_clear(struct tls_rec *);
void		 records_conn_clear(struct conn_rec *);
int		 records_conn_copy(struct conn_rec *dst, const struct conn_rec *src);
void		 records_rcpt_clear(struct rcpt_rec *);
void		 records_txn_free(struct txn_rec *);
void		 records_challenge_clear(struct challenge_rec *);
void		 records_grey_clear(struct grey_entry *);
int		 records_grey_copy(struct grey_entry *dst,
		    const struct grey_entry *src);
void		 records_grey_attempt_clear(struct grey_attempt *);
int		 records_grey_attempt_copy(struct grey_attempt *dst,
		    const struct grey_attempt *src);
void		 records_refusal_clear(struct refusal_rec *);
int		 records_refusal_copy(struct refusal_rec *dst,
		    const struct refusal_rec *src);
void		 records_fetch_clear(struct fetch_rec *);
int		 records_fetch_copy(struct fetch_rec *dst,
		    const struct fetch_rec *src);
void		 records_dnsq_clear(struct dnsq_rec *);
/*
 * The copy shares the borrowed addresses of SRC: a caller that keeps it
 * beyond SRC's buffers copies those itself (the store's job does).
 */
int		 records_dnsq_copy(struct dnsq_rec *dst,
		    const struct dnsq_rec *src);
void		 records_spf_clear(struct spf_rec *);
void		 records_clientdns_clear(struct clientdns_rec *);
void		 records_dkim_clear(struct dkim_rec *);
void		 records_dmarc_clear(struct dmarc_rec *);
void		 records_senderdns_clear(struct senderdns_rec *);
void		 records_tlsrpt_clear(struct tlsrpt_rec *);
void		 records_analysis_free(struct analysis_rec *);

#endif /* MAILSCOPE_RECORDS_H */
