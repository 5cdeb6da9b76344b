/*
 * Shared configuration types: the configuration, host profiles and the
 * settings of each section.  Only plain data here; config.c fills and
 * frees them.  The records passed between threads are in records.h.
 */
#ifndef MAILSCOPE_TYPES_H
#define MAILSCOPE_TYPES_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define TESTID_LEN	26	/* 128 bits in lowercase base32, no padding */

enum starttls_policy {
	STARTTLS_OFF,		/* STARTTLS not offered */
	STARTTLS_OPTIONAL,
	STARTTLS_REQUIRED	/* 530 5.7.0 to MAIL before STARTTLS */
};

/* One bind address of a listener, as parsed from "ADDR:PORT" or "[ADDR]:PORT". */
struct listen_addr {
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	char			text[64];	/* as written in the config */
};

/*
 * An address of one challenge of its own on a host (challenge_listen):
 * a connection to it names the challenge, before any command.
 */
struct challenge_listen {
	const char		*challenge;	/* static: the catalogue's name */
	struct listen_addr	 addr;
	int			 line;		/* config line of the key */
};

/* A host (listener profile) of the config.  Owns its strings and arrays. */
struct host_conf {
	char			*name;		/* owned; a host of the catalogue */
	int			 line;		/* config line of the section */
	struct listen_addr	*listen;	/* owned array; shared by the
						   host's challenges */
	size_t			 nlisten;
	struct challenge_listen	*chlisten;	/* owned array */
	size_t			 nchlisten;
	enum starttls_policy	 starttls;
	char			*certificate;	/* owned; NULL when starttls=off */
	char			*key;		/* owned */
	int			 proto_min;	/* TLS1_VERSION .. TLS1_3_VERSION */
	int			 proto_max;
	char			*ciphers;	/* owned: all|strong|medium|OpenSSL */
	uint64_t		 greylist_delay_ms;
};

/* [web]: HTTPS (policies, pages, API), plain HTTP for a proxy, limits. */
struct web_conf {
	int			 present;
	struct listen_addr	*listen;	/* owned array */
	size_t			 nlisten;
	struct listen_addr	*http_listen;	/* owned array; may be empty */
	size_t			 nhttp_listen;
	char			*certificate;	/* owned */
	char			*key;		/* owned */
	unsigned		 tests_per_client; /* new tests per period and
						   client net, default 10 */
	unsigned		 tests_total;	/* from everyone, default 600 */
	uint64_t		 tests_period_ms;	/* default 1 h */
	char			*acme_dir;	/* owned: ACME HTTP-01 files;
						   NULL: none served */
	/* `mailscope probe` from the web (docs/api.md, web_probe.c) */
	int			 probe;		/* on: the routes exist */
	int			 probe_private;	/* yes: non-global addresses
						   are probed (labs, tests) */
	unsigned		 probes_per_client; /* an hour, client /24 or
						   /64, default 10 */
	unsigned		 probes_per_domain; /* an hour, target domain,
						   default 6 */
	unsigned		 probes_total;	/* an hour, everyone, 60 */
	unsigned		 probe_port;	/* 25; others for labs only */
	char			**probe_opt_out; /* owned: domains (and their
						   subdomains) never probed */
	size_t			 nprobe_opt_out;
};

/* [dns] truncate: UDP answers for A/AAAA of mx-<id>.dns.<base> (dnsd.c). */
enum dns_truncate {
	DNS_TRUNCATE_OFF,	/* answer normally */
	DNS_TRUNCATE_MX		/* TC=1, no answer: a retry over TCP? */
};

struct dns_conf {
	int			 present;
	struct listen_addr	*listen;	/* owned array */
	size_t			 nlisten;
	enum dns_truncate	 truncate;
	char			*zones;		/* owned, absolute; NULL: the
						   name servers serve the *-bogus
						   and *-dns6 zones (dnsd.c) */
	int			 zones_line;	/* config line of zones */
	unsigned		 rrl_rate;	/* UDP answers a second per
						   /24 or /56, default 200 */
	unsigned		 rrl_slip;	/* every Nth limited one TC=1,
						   default 2 */
	unsigned		 rrl_total;	/* UDP answers a second from
						   all sources, 10000 */
	unsigned		 record_rate;	/* rows a second per /24 or
						   /56, default 100 */
};

/* A name server of [zones]: its name and addresses (port 0). */
struct ns_conf {
	char			*name;		/* owned, lowercase, no final dot */
	struct listen_addr	*addr;		/* owned array; may be empty */
	size_t			 naddr;
};

/* [zones]: the zone generator's settings (mailscope zones).  Owns all. */
struct zones_conf {
	int			 present;
	struct ns_conf		*ns;		/* owned; none: the default */
	size_t			 nns;
	struct ns_conf		*ns6;		/* owned; IPv6-only servers */
	size_t			 nns6;
	char			*soa_email;	/* owned; NULL: hostmaster@<base> */
	uint64_t		 ttl_ms;	/* of every record, default 1 h */
	uint64_t		 validity_ms;	/* of signatures, default 21 d */
	char			*keys;		/* owned, absolute; NULL: <out>/keys */
};

/* The whole configuration.  Owns everything it points to; config_free(). */
struct config {
	char		*file;			/* owned: path it was read from */
	char		*base_domain;		/* owned, lowercase, no final dot */
	char		*hostname;		/* owned: greeting and EHLO name */
	char		*database;		/* owned */
	char		*user;			/* owned; NULL: do not drop */
	char		*log_file;		/* owned; NULL: syslog */
	unsigned	 retention_days;	/* 0: tests are kept */
	char		*resolver;		/* owned; NULL: the system's; "off" */
	uint64_t	 resolver_timeout_ms;	/* of one try, default 5 s */
	char		*trust_anchor;		/* owned; NULL: the default */
	char		*local_part;		/* owned; default "measure" */
	uint64_t	 wait_ms;		/* absence-based verdicts */

	/* limits */
	unsigned	 max_connections;	/* total, default 200 */
	unsigned	 max_per_ip;		/* default from the catalogue */
	unsigned	 max_connection_rate;	/* per client net a minute, 600 */
	unsigned	 max_recipients;	/* per transaction, default 100 */
	unsigned	 max_errors;		/* per session, default 20 */
	unsigned	 max_commands;		/* per session, default 1000 */
	size_t		 max_message_size;	/* bytes, default 10 MiB */
	size_t		 max_header_size;	/* bytes kept, default 64 KiB */
	size_t		 line_max;		/* incl. CRLF, default 1000 */
	unsigned	 max_transactions;	/* per session, default 100 */
	unsigned	 max_client_transactions; /* per client address (IPv6:
						   its /64) an hour, 1000 */
	unsigned	 max_test_transactions;	/* per test ever, default 500 */
	size_t		 max_message_memory;	/* message bytes all sessions
						   hold, default 256 MiB */

	/* timeouts in milliseconds (RFC 5321 4.5.3.2 defaults) */
	uint64_t	 timeout_command_ms;	/* default 5 min */
	uint64_t	 timeout_data_ms;	/* default 10 min */
	uint64_t	 timeout_tls_ms;	/* handshake, default 1 min */
	uint64_t	 timeout_session_ms;	/* a whole session, default 30 min */
	uint64_t	 shutdown_grace_ms;	/* SIGTERM, default 30 s */
	uint64_t	 shutdown_deadline_ms;	/* from SIGTERM to exit at the
						   latest, default grace + 30 s */
	uint64_t	 greylist_expire_ms;	/* unused triplets, default 7 d */
	unsigned	 greylist_max;		/* entries in memory, 100000 */
	unsigned	 analysis_queue;	/* messages waiting, 1000 */
	unsigned	 analysis_workers;	/* worker threads, 2 */
	uint64_t	 analysis_deadline_ms;	/* DNS work of one message, 30 s */
#define ANALYSIS_WORKERS_MAX	16
	uint64_t	 attribution_window_ms;	/* after a test's last evidence, 1 d */

	struct host_conf *hosts;		/* owned array */
	size_t		 nhosts;
	struct web_conf	 web;
	struct dns_conf	 dns;
	struct zones_conf zones;
};

#endif /* MAILSCOPE_TYPES_H */
