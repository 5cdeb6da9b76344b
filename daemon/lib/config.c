/*
 * The config file: our lexer reads, bounds and splits its lines, a const
 * key table checks every value.  Run once by the main thread before
 * anything is bound; every error is printed as FILE:LINE, none stops it.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "dnsname.h"
#include "netaddr.h"

#define ESC_MAX		1024	/* an escaped value in a message */
#define CONFIG_LINE_MAX	4096	/* a line, its ending not counted */

/* Defaults; the limits and timeouts follow RFC 5321 4.5.3. */
#define DEF_LOCAL_PART		"measure"
#define DEF_WAIT_MS		(3600 * 1000ULL)
#define DEF_MAX_CONNECTIONS	200
/*
 * A sender delivers one address set to all its MX at once: room for that
 * twice over (a retry, a second test) so that no challenge gets a 421
 * for a reason of ours (issue 12; 10 was below one set).
 */
#define DEF_MAX_PER_IP		(2 * catalog_set_connections())
#define DEF_MAX_CONNECTION_RATE	600	/* a client net's, a minute */
#define DEF_MAX_RECIPIENTS	100	/* RFC 5321 4.5.3.1.8 minimum */
#define DEF_MAX_ERRORS		20
#define DEF_MAX_COMMANDS	1000
#define DEF_MAX_MESSAGE_SIZE	(10 * 1024 * 1024)
#define DEF_MAX_HEADER_SIZE	(64 * 1024)
#define DEF_LINE_MAX		1000	/* RFC 5321 4.5.3.1.6 */
#define DEF_MAX_TRANSACTIONS	100	/* one session */
#define DEF_MAX_CLIENT_TRANSACTIONS 1000	/* one address (/64), an hour */
#define DEF_MAX_TEST_TRANSACTIONS 500	/* one test: ~20 per challenge */
#define DEF_MAX_MESSAGE_MEMORY	(256 * 1024 * 1024)
#define LINE_MAX_MIN		512	/* RFC 5321 4.5.3.1.4 */
#define LINE_MAX_MAX		65536
#define DEF_TIMEOUT_COMMAND_MS	(5 * 60 * 1000ULL)	/* 4.5.3.2.7 */
#define DEF_TIMEOUT_DATA_MS	(10 * 60 * 1000ULL)	/* 4.5.3.2.6 */
#define DEF_TIMEOUT_TLS_MS	(60 * 1000ULL)
#define DEF_TIMEOUT_SESSION_MS	(30 * 60 * 1000ULL)
#define DEF_RESOLVER_TIMEOUT_MS	(5 * 1000ULL)	/* resolv.conf(5)'s */
#define DEF_SHUTDOWN_GRACE_MS	(30 * 1000ULL)
#define SHUTDOWN_LINGER_MS	(30 * 1000ULL)	/* default deadline - grace */
#define DEF_GREYLIST_EXPIRE_MS	(7 * 24 * 3600 * 1000ULL)
#define DEF_GREYLIST_MAX	100000
#define DEF_ANALYSIS_QUEUE	1000
#define DEF_ANALYSIS_WORKERS	2
#define DEF_ANALYSIS_DEADLINE_MS	(30 * 1000ULL)
#define DEF_ATTRIBUTION_WINDOW_MS	(24 * 3600 * 1000ULL)
#define DEF_TESTS_PER_CLIENT	10	/* new tests per period, one client */
#define DEF_TESTS_TOTAL		600	/* and from everyone */
#define DEF_PROBES_PER_CLIENT	10	/* web probes an hour, one client */
#define DEF_PROBES_PER_DOMAIN	6	/* ... of one target domain */
#define DEF_PROBES_TOTAL	60	/* ... from everyone */
#define DEF_PROBE_PORT		25	/* RFC 5321 4.5.4.2 */
#define DEF_DNS_RRL_RATE	200	/* UDP answers/s per /24, /56 (NSD's) */
#define DEF_DNS_RRL_SLIP	2	/* every 2nd limited one TC=1 (NSD's) */
#define DEF_DNS_RRL_TOTAL	10000	/* UDP answers/s from everyone */
#define DEF_DNS_RECORD_RATE	100	/* dns_queries rows/s per /24, /56 */
#define DEF_TESTS_PERIOD_MS	(3600 * 1000ULL)
#define DEF_GREYLIST_DELAY_MS	(5 * 60 * 1000ULL)
#define DEF_ZONES_TTL_MS	(3600 * 1000ULL)
#define DEF_ZONES_VALIDITY_MS	(21 * 86400 * 1000ULL)	/* weekly re-signing */
#define DEF_CIPHERS		"all"
#define LOCAL_PART_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define DNS_LABEL_MAX		63

enum section {
	SECT_NONE,	/* before the first section header */
	SECT_GLOBAL,
	SECT_HOST,
	SECT_WEB,
	SECT_DNS,
	SECT_ZONES,
	SECT_SKIP	/* unknown, duplicate or broken: keys not checked */
};

enum kind {
	KIND_DOMAIN,		/* DNS name, lowercase, no final dot */
	KIND_PATH,		/* any non-empty string */
	KIND_WORD,		/* printable, no white space */
	KIND_RESOLVER,		/* ADDR[:PORT], stored with the port */
	KIND_LOCAL_PART,
	KIND_DURATION,		/* uint64_t ms */
	KIND_DURATION_POS,	/* same, more than 0 */
	KIND_COUNT,		/* unsigned, more than 0 */
	KIND_SIZE,		/* size_t, more than 0 */
	KIND_LINE_MAX,		/* size_t, LINE_MAX_MIN .. LINE_MAX_MAX */
	KIND_LISTEN,		/* listen_addr array; off2: its count */
	KIND_CHALLENGE_LISTEN,	/* "CHALLENGE ADDR:PORT...": appended */
	KIND_NS,		/* "NAME ADDR... NAME ...": ns_conf array */
	KIND_NS6,		/* same, IPv6 addresses only */
	KIND_MAILBOX,		/* LOCAL@DOMAIN, lowercase */
	KIND_STARTTLS,
	KIND_FILES,		/* list of paths, checked when all is read */
	KIND_PROTOCOLS,		/* int min; off2: int max */
	KIND_CIPHERS,
	KIND_DNS_TRUNCATE,	/* enum dns_truncate: off | mx */
	KIND_BOOL,		/* int: on|yes 1, off|no 0 */
	KIND_PORT,		/* unsigned, 1 .. 65535 */
	KIND_DOMAINS		/* char ** of domains; off2: its count;
				   appended when repeated */
};

#define REQUIRED	0x01
#define REPEATABLE	0x02	/* may be given on several lines */

struct keydef {
	enum section	 section;
	const char	*name;
	enum kind	 kind;
	size_t		 off;	/* of the value in its struct */
	size_t		 off2;	/* of a second one (enum kind) */
	int		 flags;
};

#define G(f)	offsetof(struct config, f)
#define H(f)	offsetof(struct host_conf, f)
#define W(f)	offsetof(struct web_conf, f)
#define D(f)	offsetof(struct dns_conf, f)
#define Z(f)	offsetof(struct zones_conf, f)

/* Every key of every section; adding a key is one row. */
static const struct keydef keys[] = {
	{ SECT_GLOBAL, "base_domain", KIND_DOMAIN, G(base_domain), 0,
	    REQUIRED },
	{ SECT_GLOBAL, "hostname", KIND_DOMAIN, G(hostname), 0, REQUIRED },
	{ SECT_GLOBAL, "database", KIND_PATH, G(database), 0, REQUIRED },
	{ SECT_GLOBAL, "user", KIND_WORD, G(user), 0, 0 },
	{ SECT_GLOBAL, "log_file", KIND_PATH, G(log_file), 0, 0 },
	{ SECT_GLOBAL, "retention_days", KIND_COUNT, G(retention_days), 0, 0 },
	{ SECT_GLOBAL, "resolver", KIND_RESOLVER, G(resolver), 0, 0 },
	{ SECT_GLOBAL, "resolver_timeout", KIND_DURATION_POS,
	    G(resolver_timeout_ms), 0, 0 },
	{ SECT_GLOBAL, "trust_anchor", KIND_PATH, G(trust_anchor), 0, 0 },
	{ SECT_GLOBAL, "local_part", KIND_LOCAL_PART, G(local_part), 0, 0 },
	{ SECT_GLOBAL, "wait", KIND_DURATION, G(wait_ms), 0, 0 },
	{ SECT_GLOBAL, "max_connections", KIND_COUNT, G(max_connections),
	    0, 0 },
	{ SECT_GLOBAL, "max_per_ip", KIND_COUNT, G(max_per_ip), 0, 0 },
	{ SECT_GLOBAL, "max_connection_rate", KIND_COUNT,
	    G(max_connection_rate), 0, 0 },
	{ SECT_GLOBAL, "max_recipients", KIND_COUNT, G(max_recipients), 0, 0 },
	{ SECT_GLOBAL, "max_errors", KIND_COUNT, G(max_errors), 0, 0 },
	{ SECT_GLOBAL, "max_commands", KIND_COUNT, G(max_commands), 0, 0 },
	{ SECT_GLOBAL, "max_message_size", KIND_SIZE, G(max_message_size),
	    0, 0 },
	{ SECT_GLOBAL, "max_header_size", KIND_SIZE, G(max_header_size), 0, 0 },
	{ SECT_GLOBAL, "line_max", KIND_LINE_MAX, G(line_max), 0, 0 },
	{ SECT_GLOBAL, "max_transactions", KIND_COUNT, G(max_transactions),
	    0, 0 },
	{ SECT_GLOBAL, "max_client_transactions", KIND_COUNT,
	    G(max_client_transactions), 0, 0 },
	{ SECT_GLOBAL, "max_test_transactions", KIND_COUNT,
	    G(max_test_transactions), 0, 0 },
	{ SECT_GLOBAL, "max_message_memory", KIND_SIZE, G(max_message_memory),
	    0, 0 },
	{ SECT_GLOBAL, "timeout_command", KIND_DURATION_POS,
	    G(timeout_command_ms), 0, 0 },
	{ SECT_GLOBAL, "timeout_data", KIND_DURATION_POS, G(timeout_data_ms),
	    0, 0 },
	{ SECT_GLOBAL, "timeout_tls", KIND_DURATION_POS, G(timeout_tls_ms),
	    0, 0 },
	{ SECT_GLOBAL, "timeout_session", KIND_DURATION_POS,
	    G(timeout_session_ms), 0, 0 },
	{ SECT_GLOBAL, "shutdown_grace", KIND_DURATION_POS,
	    G(shutdown_grace_ms), 0, 0 },
	{ SECT_GLOBAL, "shutdown_deadline", KIND_DURATION_POS,
	    G(shutdown_deadline_ms), 0, 0 },
	{ SECT_GLOBAL, "greylist_expire", KIND_DURATION_POS,
	    G(greylist_expire_ms), 0, 0 },
	{ SECT_GLOBAL, "greylist_max", KIND_COUNT, G(greylist_max), 0, 0 },
	{ SECT_GLOBAL, "analysis_queue", KIND_COUNT, G(analysis_queue), 0, 0 },
	{ SECT_GLOBAL, "analysis_workers", KIND_COUNT, G(analysis_workers), 0,
	    0 },
	{ SECT_GLOBAL, "analysis_deadline", KIND_DURATION_POS,
	    G(analysis_deadline_ms), 0, 0 },
	{ SECT_GLOBAL, "attribution_window", KIND_DURATION_POS,
	    G(attribution_window_ms), 0, 0 },

	/* one of listen and challenge_listen is required: check_host() */
	{ SECT_HOST, "listen", KIND_LISTEN, H(listen), H(nlisten), 0 },
	{ SECT_HOST, "challenge_listen", KIND_CHALLENGE_LISTEN, H(chlisten),
	    H(nchlisten), REPEATABLE },
	{ SECT_HOST, "starttls", KIND_STARTTLS, H(starttls), 0, REQUIRED },
	{ SECT_HOST, "certificate", KIND_FILES, H(certificate), 0, 0 },
	{ SECT_HOST, "key", KIND_FILES, H(key), 0, 0 },
	{ SECT_HOST, "protocols", KIND_PROTOCOLS, H(proto_min), H(proto_max),
	    0 },
	{ SECT_HOST, "ciphers", KIND_CIPHERS, H(ciphers), 0, 0 },
	{ SECT_HOST, "greylist_delay", KIND_DURATION, H(greylist_delay_ms),
	    0, 0 },

	{ SECT_WEB, "listen", KIND_LISTEN, W(listen), W(nlisten), REQUIRED },
	{ SECT_WEB, "certificate", KIND_FILES, W(certificate), 0, REQUIRED },
	{ SECT_WEB, "key", KIND_FILES, W(key), 0, REQUIRED },
	{ SECT_WEB, "http_listen", KIND_LISTEN, W(http_listen),
	    W(nhttp_listen), 0 },
	{ SECT_WEB, "tests_per_client", KIND_COUNT, W(tests_per_client), 0, 0 },
	{ SECT_WEB, "tests_total", KIND_COUNT, W(tests_total), 0, 0 },
	{ SECT_WEB, "tests_period", KIND_DURATION_POS, W(tests_period_ms), 0,
	    0 },
	{ SECT_WEB, "acme_dir", KIND_PATH, W(acme_dir), 0, 0 },
	{ SECT_WEB, "probe", KIND_BOOL, W(probe), 0, 0 },
	{ SECT_WEB, "probe_private", KIND_BOOL, W(probe_private), 0, 0 },
	{ SECT_WEB, "probes_per_client", KIND_COUNT, W(probes_per_client), 0,
	    0 },
	{ SECT_WEB, "probes_per_domain", KIND_COUNT, W(probes_per_domain), 0,
	    0 },
	{ SECT_WEB, "probes_total", KIND_COUNT, W(probes_total), 0, 0 },
	{ SECT_WEB, "probe_port", KIND_PORT, W(probe_port), 0, 0 },
	{ SECT_WEB, "probe_opt_out", KIND_DOMAINS, W(probe_opt_out),
	    W(nprobe_opt_out), REPEATABLE },

	{ SECT_ZONES, "ns", KIND_NS, Z(ns), Z(nns), 0 },
	{ SECT_ZONES, "ns6", KIND_NS6, Z(ns6), Z(nns6), 0 },
	{ SECT_ZONES, "soa_email", KIND_MAILBOX, Z(soa_email), 0, 0 },
	{ SECT_ZONES, "ttl", KIND_DURATION_POS, Z(ttl_ms), 0, 0 },
	{ SECT_ZONES, "signature_validity", KIND_DURATION_POS,
	    Z(validity_ms), 0, 0 },
	{ SECT_ZONES, "keys", KIND_PATH, Z(keys), 0, 0 },

	{ SECT_DNS, "listen", KIND_LISTEN, D(listen), D(nlisten), REQUIRED },
	{ SECT_DNS, "truncate", KIND_DNS_TRUNCATE, D(truncate), 0, 0 },
	{ SECT_DNS, "zones", KIND_PATH, D(zones), 0, 0 },
	{ SECT_DNS, "rrl_rate", KIND_COUNT, D(rrl_rate), 0, 0 },
	{ SECT_DNS, "rrl_slip", KIND_COUNT, D(rrl_slip), 0, 0 },
	{ SECT_DNS, "rrl_total", KIND_COUNT, D(rrl_total), 0, 0 },
	{ SECT_DNS, "record_rate", KIND_COUNT, D(record_rate), 0, 0 },
};
#undef G
#undef H
#undef W
#undef D
#undef Z
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* Names as SSL_get_version() prints them. */
static const struct {
	const char	*name;
	int		 version;
} tls_versions[] = {
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};

/* What was seen of one section: its line and the line of each key. */
struct sect_state {
	int		 line;		/* of the header; 0: absent */
	int		 keyline[NKEYS];	/* 0: key not seen */
	char		 keybad[NKEYS];		/* value rejected */
};

/* A listen address already taken, for the duplicate check. */
struct seen_addr {
	struct listen_addr	 addr;
	int			 line;
};

/* The state of one config_load(); owns everything but cfg and the FILEs. */
struct parser {
	struct config		*cfg;		/* being filled */
	const char		*file;
	char			*dir;		/* of file, absolute; owned */
	int			 dir_errno;	/* why dir is NULL */
	FILE			*fp;
	FILE			*errs;
	int			 line;		/* last read */
	char			 buf[CONFIG_LINE_MAX + 1];	/* that line */
	int			 read_errno;	/* set by a read error */
	int			 nerrors;
	int			 nomem;
	enum section		 section;	/* where keys go now */
	void			*target;	/* its struct */
	struct sect_state	*cur;		/* its state */
	char			 label[64];	/* "[host tls]" */
	struct sect_state	 global, web, dns, zones;
	struct sect_state	*hosts;		/* as cfg->hosts */
	size_t			 maxhosts;	/* of both arrays */
	struct seen_addr	*seen;		/* every listen address */
	size_t			 nseen, maxseen;
	SSL_CTX			*ssl;		/* tries ciphers */
	int			 flags;		/* CONFIG_* of config_load_flags */
};

static void	diag(struct parser *, int, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The first LEN bytes of S in lowercase ASCII, in place. */
static void
lowercase(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/*
 * S (LEN bytes) quoted for a message: printable ASCII as is, the quote
 * and backslash escaped, every other byte as \xNN.  Truncated with "...".
 */
static const char *
esc(const char *s, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (o + 8 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)s[i];
		if (c == '\\' || c == '\'') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Prints "FILE:LINE: error: ..." (no LINE when 0); only errors count. */
static void
diag(struct parser *p, int line, int error, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		fprintf(p->errs, "%s:%d: %s: ", p->file, line,
		    error ? "error" : "warning");
	else
		fprintf(p->errs, "%s: %s: ", p->file,
		    error ? "error" : "warning");
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
	if (error)
		p->nerrors++;
}

static char *
xstrdup(struct parser *p, const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		p->nomem = 1;
	return d;
}

static char *
xstrndup(struct parser *p, const char *s, size_t len)
{
	char *d;

	if ((d = strndup(s, len)) == NULL)
		p->nomem = 1;
	return d;
}

/* The next white-space separated token of *SP, or NULL; sets *LEN. */
static const char *
next_token(const char **sp, size_t *len)
{
	const char *s = *sp, *t;

	while (is_space((unsigned char)*s))
		s++;
	if (*s == '\0')
		return NULL;
	for (t = s; *t != '\0' && !is_space((unsigned char)*t); t++)
		;
	*len = (size_t)(t - s);
	*sp = t;
	return s;
}

static size_t
count_tokens(const char *s)
{
	size_t n = 0, len;

	while (next_token(&s, &len) != NULL)
		n++;
	return n;
}

/* Decimal digits only, no sign, at most MAX. */
static int
parse_number(const char **sp, uint64_t max, uint64_t *out)
{
	const char *s = *sp;
	uint64_t n = 0, d;

	if (!is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*s); s++) {
		d = (uint64_t)(*s - '0');
		if (n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*sp = s;
	*out = n;
	return 0;
}

int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
		{ "h", 3600 * 1000 }, { "d", 86400 * 1000 },
	};
	uint64_t n;
	size_t i;

	if (parse_number(&s, UINT64_MAX, &n) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) != 0)
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return -1;
		*ms = n * units[i].ms;
		return 0;
	}
	return -1;
}

int
config_parse_size(const char *s, size_t *bytes)
{
	uint64_t n, mult;

	if (parse_number(&s, SIZE_MAX, &n) == -1)
		return -1;
	switch (*s) {
	case '\0':
		mult = 1;
		break;
	case 'k':
	case 'K':
		mult = 1024;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (mult != 1 && s[1] != '\0')
		return -1;
	if (n > SIZE_MAX / mult)
		return -1;
	*bytes = (size_t)(n * mult);
	return 0;
}

/* PORT: 1 to 65535, digits only. */
static int
parse_port(const char *s, in_port_t *port)
{
	uint64_t n;

	if (parse_number(&s, 65535, &n) == -1 || *s != '\0' || n == 0)
		return -1;
	*port = htons((uint16_t)n);
	return 0;
}

/* A numeric IPv4 or IPv6 address without brackets or port. */
static int
parse_addr(const char *s, size_t len, struct listen_addr *la)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;

	memset(la, 0, sizeof(*la));
	if (len >= sizeof(la->text) || len >= INET6_ADDRSTRLEN)
		return -1;
	memcpy(la->text, s, len);
	la->text[len] = '\0';
	if (inet_pton(AF_INET, la->text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		la->sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, la->text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		la->sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
config_parse_listen(const char *s, struct listen_addr *la)
{
	struct listen_addr a;
	const char *host, *end, *port;
	size_t len = strlen(s);
	in_port_t p;

	if (len == 0 || len >= sizeof(la->text))
		return -1;
	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL || end[1] != ':')
			return -1;
		port = end + 2;
	} else {
		host = s;
		if ((end = strchr(s, ':')) == NULL || strchr(end + 1, ':'))
			return -1;	/* an IPv6 address needs brackets */
		port = end + 1;
	}
	if (end == host || parse_port(port, &p) == -1 ||
	    parse_addr(host, (size_t)(end - host), &a) == -1 ||
	    a.ss.ss_family != (s[0] == '[' ? AF_INET6 : AF_INET))
		return -1;
	if (a.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a.ss)->sin_port = p;
	else
		((struct sockaddr_in6 *)&a.ss)->sin6_port = p;
	memcpy(a.text, s, len + 1);
	*la = a;
	return 0;
}

static int
tls_version(const char *s, size_t len, int *version)
{
	size_t i;

	for (i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (strlen(tls_versions[i].name) == len &&
		    strncmp(tls_versions[i].name, s, len) == 0) {
			*version = tls_versions[i].version;
			return 0;
		}
	return -1;
}

int
config_parse_protocols(const char *s, int *min, int *max)
{
	const char *dash;
	int lo, hi;

	if ((dash = strchr(s, '-')) == NULL) {
		if (tls_version(s, strlen(s), &lo) == -1)
			return -1;
		hi = lo;
	} else if (tls_version(s, (size_t)(dash - s), &lo) == -1 ||
	    tls_version(dash + 1, strlen(dash + 1), &hi) == -1 || lo > hi)
		return -1;
	*min = lo;
	*max = hi;
	return 0;
}

/* LDH labels of 1 to 63 bytes, at most 253 in all (RFC 1035 2.3.1, 2.3.4). */
static int
valid_dns_name(const char *s)
{
	size_t i, label = 0, len = strlen(s);
	char c;

	if (len == 0 || len > DNSNAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || is_digit((unsigned char)c) ||
		    c == '-'))
			return 0;
		if ((c == '-' && label == 0) || ++label > DNS_LABEL_MAX)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* A Dot-string of RFC 5321 4.1.2, restricted to [a-z0-9.-]. */
static int
valid_local_part(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > LOCAL_PART_MAX || s[0] == '.' ||
	    s[len - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    is_digit((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '-'))
			return 0;
	return 1;
}

/* Whether S, lowercased and without a final dot in place, is a DNS name. */
static int
canon_dns_name(char *s)
{
	size_t len = strlen(s);

	lowercase(s, len);
	if (len > 0 && s[len - 1] == '.')
		s[len - 1] = '\0';
	return valid_dns_name(s);
}

static int
valid_word(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* How two listen addresses clash when both are bound. */
enum overlap {
	OVERLAP_NONE,
	OVERLAP_SAME,		/* the same address and port */
	OVERLAP_WILDCARD	/* one is its family's wildcard, same port */
};

static enum overlap
addr_overlap(const struct listen_addr *a, const struct listen_addr *b)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;
	int same;

	if (a->ss.ss_family != b->ss.ss_family)
		return OVERLAP_NONE;
	if (a->ss.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		if (a4->sin_port != b4->sin_port)
			return OVERLAP_NONE;
		same = a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	} else {
		a6 = (const struct sockaddr_in6 *)&a->ss;
		b6 = (const struct sockaddr_in6 *)&b->ss;
		if (a6->sin6_port != b6->sin6_port)
			return OVERLAP_NONE;
		same = memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	if (same)
		return OVERLAP_SAME;
	if (netaddr_is_unspecified((const struct sockaddr *)&a->ss) ||
	    netaddr_is_unspecified((const struct sockaddr *)&b->ss))
		return OVERLAP_WILDCARD;
	return OVERLAP_NONE;
}

/* Remembers LA; an error if an earlier listen address conflicts with it. */
static void
claim_addr(struct parser *p, const struct listen_addr *la)
{
	struct seen_addr *n;
	size_t i, max;

	for (i = 0; i < p->nseen; i++) {
		switch (addr_overlap(&p->seen[i].addr, la)) {
		case OVERLAP_NONE:
			continue;
		case OVERLAP_SAME:
			diag(p, p->line, 1, "listen address %s already used "
			    "at line %d", la->text, p->seen[i].line);
			return;
		case OVERLAP_WILDCARD:
			diag(p, p->line, 1, "listen address %s overlaps %s "
			    "at line %d", la->text, p->seen[i].addr.text,
			    p->seen[i].line);
			return;
		}
	}
	if (p->nseen == p->maxseen) {
		max = p->maxseen ? p->maxseen * 2 : 16;
		if ((n = reallocarray(p->seen, max, sizeof(*n))) == NULL) {
			p->nomem = 1;
			return;
		}
		p->seen = n;
		p->maxseen = max;
	}
	p->seen[p->nseen].addr = *la;
	p->seen[p->nseen].line = p->line;
	p->nseen++;
}

static void
bad_value(struct parser *p, const struct keydef *kd, const char *value,
    size_t len, const char *why)
{
	char buf[ESC_MAX];

	diag(p, p->line, 1, "bad value for %s: '%s' (%s)", kd->name,
	    esc(value, len, buf, sizeof(buf)), why);
}

/* Reports the whole VALUE of key KD as bad; -1. */
static int
reject(struct parser *p, const struct keydef *kd, const char *value,
    const char *why)
{
	bad_value(p, kd, value, strlen(value), why);
	return -1;
}

static void
set_string(void *base, const struct keydef *kd, char *value)
{
	char **sp = (char **)((char *)base + kd->off);

	free(*sp);
	*sp = value;
}

static int
set_domain(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	char *s;

	if ((s = xstrdup(p, value)) == NULL)
		return -1;
	if (!canon_dns_name(s)) {
		free(s);
		return reject(p, kd, value, "not a DNS name");
	}
	set_string(base, kd, s);
	return 0;
}

/* off, ADDR, ADDR:PORT, [ADDR] or [ADDR]:PORT; stored with the port (53). */
static int
set_resolver(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	struct listen_addr la;
	char buf[sizeof(la.text) + 8];
	int n;

	/* off: no DNS lookups at all, the analyzers that need them skip */
	if (strcmp(value, "off") == 0) {
		set_string(base, kd, xstrdup(p, value));
		return 0;
	}
	if (value[0] == '[' && value[strlen(value) - 1] == ']')
		n = snprintf(buf, sizeof(buf), "%s:53", value);
	else if (value[0] != '[' && strchr(value, ':') == NULL)
		n = snprintf(buf, sizeof(buf), "%s:53", value);
	else
		n = snprintf(buf, sizeof(buf), "%s", value);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    config_parse_listen(buf, &la) == -1)
		return reject(p, kd, value,
		    "expected ADDR, ADDR:PORT, [ADDR] or [ADDR]:PORT");
	set_string(base, kd, xstrdup(p, buf));
	return 0;
}

static int
set_listen(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	struct listen_addr *la, **lap;
	size_t *np, n, len;
	const char *tok;
	char buf[sizeof(la->text)];
	int rc = 0;

	lap = (struct listen_addr **)((char *)base + kd->off);
	np = (size_t *)((char *)base + kd->off2);
	if ((la = calloc(count_tokens(value), sizeof(*la))) == NULL) {
		p->nomem = 1;
		return -1;
	}
	n = 0;
	while ((tok = next_token(&value, &len)) != NULL) {
		if (len >= sizeof(buf)) {
			bad_value(p, kd, tok, len, "too long");
			rc = -1;
			continue;
		}
		memcpy(buf, tok, len);
		buf[len] = '\0';
		if (config_parse_listen(buf, &la[n]) == -1) {
			bad_value(p, kd, tok, len, "expected ADDR:PORT or "
			    "[ADDR]:PORT with a numeric address and a port "
			    "from 1 to 65535");
			rc = -1;
			continue;
		}
		claim_addr(p, &la[n]);
		n++;
	}
	free(*lap);
	*lap = la;
	*np = n;
	return rc;
}

/* Whether host NAME serves challenge CH, as its first or second MX. */
static int
serves(const struct catalog_challenge *ch, const char *name)
{
	return strcmp(ch->hosts[0], name) == 0 ||
	    (ch->hosts[1] != NULL && strcmp(ch->hosts[1], name) == 0);
}

/* Whether the MX of CH publishes addresses of FAMILY (A, AAAA, both). */
static int
mx_has_family(const struct catalog_challenge *ch, int family)
{
	return ch->family == MX_DUAL ||
	    (ch->family == MX_A && family == AF_INET) ||
	    (ch->family == MX_AAAA && family == AF_INET6);
}

/*
 * The challenge named by TOK (LEN bytes) if host H serves it; else NULL,
 * reported as a bad value of KD.
 */
static const struct catalog_challenge *
own_challenge(struct parser *p, const struct host_conf *h,
    const struct keydef *kd, const char *tok, size_t len)
{
	const struct catalog_challenge *ch = NULL;
	char name[64], why[256];

	if (len < sizeof(name)) {
		memcpy(name, tok, len);
		name[len] = '\0';
		ch = catalog_challenge(name);
	}
	if (ch == NULL) {
		bad_value(p, kd, tok, len, "unknown challenge");
		return NULL;
	}
	if (!serves(ch, h->name)) {
		snprintf(why, sizeof(why), "challenge %s is served by "
		    "[host %s]%s%s%s, not by [host %s]", ch->name, ch->hosts[0],
		    ch->hosts[1] != NULL ? " and [host " : "",
		    ch->hosts[1] != NULL ? ch->hosts[1] : "",
		    ch->hosts[1] != NULL ? "]" : "", h->name);
		bad_value(p, kd, tok, len, why);
		return NULL;
	}
	return ch;
}

/*
 * [host H] challenge_listen: "CHALLENGE ADDR:PORT... CHALLENGE ...", each
 * challenge that H serves followed by addresses of its own, appended to
 * those of earlier lines (one line per challenge reads best).  An
 * address names its challenge: it is never a wildcard, never shared.
 */
static int
set_challenge_listen(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	struct host_conf *h = base;
	const struct catalog_challenge *ch = NULL;
	struct challenge_listen *cl;
	struct listen_addr la;
	const char *tok, *s = value;
	char buf[sizeof(la.text)];
	size_t len, naddr = 0;
	int rc = 0, skip = 0;

	if ((cl = reallocarray(h->chlisten, h->nchlisten + count_tokens(value),
	    sizeof(*cl))) == NULL) {
		p->nomem = 1;
		return -1;
	}
	h->chlisten = cl;
	while ((tok = next_token(&s, &len)) != NULL) {
		/* names start with a letter, addresses with '[' or a digit */
		if (tok[0] != '[' && !is_digit((unsigned char)tok[0])) {
			if (ch != NULL && naddr == 0) {
				diag(p, p->line, 1, "challenge_listen: "
				    "challenge %s without an address",
				    ch->name);
				rc = -1;
			}
			naddr = 0;
			ch = own_challenge(p, h, kd, tok, len);
			skip = ch == NULL;
			if (skip)
				rc = -1;
			continue;
		}
		if (skip)
			continue;
		if (len >= sizeof(buf) ||
		    (memcpy(buf, tok, len), buf[len] = '\0',
		    config_parse_listen(buf, &la) == -1)) {
			bad_value(p, kd, tok, len, "expected ADDR:PORT or "
			    "[ADDR]:PORT with a numeric address and a port "
			    "from 1 to 65535");
			rc = -1;
			continue;
		}
		if (ch == NULL) {
			bad_value(p, kd, tok, len, "an address before the "
			    "first challenge name");
			rc = -1;
			continue;
		}
		naddr++;
		if (netaddr_is_unspecified((const struct sockaddr *)&la.ss)) {
			bad_value(p, kd, tok, len, "a wildcard address is "
			    "shared: it cannot name a challenge");
			rc = -1;
			continue;
		}
		if (!mx_has_family(ch, la.ss.ss_family))
			diag(p, p->line, 0, "challenge %s has an %s-only MX: "
			    "its address %s is never published", ch->name,
			    ch->family == MX_A ? "A" : "AAAA", la.text);
		claim_addr(p, &la);
		cl[h->nchlisten].challenge = ch->name;
		cl[h->nchlisten].addr = la;
		cl[h->nchlisten].line = p->line;
		h->nchlisten++;
	}
	if (ch != NULL && naddr == 0) {
		diag(p, p->line, 1, "challenge_listen: challenge %s without "
		    "an address", ch->name);
		rc = -1;
	}
	return rc;
}

static int
set_ciphers(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	int ok;

	if (strcmp(value, "all") != 0 && strcmp(value, "strong") != 0 &&
	    strcmp(value, "medium") != 0) {
		if (p->ssl == NULL &&
		    (p->ssl = SSL_CTX_new(TLS_method())) == NULL) {
			ERR_clear_error();
			p->nomem = 1;
			return -1;
		}
		ok = SSL_CTX_set_cipher_list(p->ssl, value);
		ERR_clear_error();
		if (!ok)
			return reject(p, kd, value, "neither all, strong, "
			    "medium nor an OpenSSL cipher list");
	}
	set_string(base, kd, xstrdup(p, value));
	return 0;
}

static void
free_ns(struct ns_conf *ns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ns[i].name);
		free(ns[i].addr);
	}
	free(ns);
}

/*
 * [zones] ns and ns6: "NAME ADDR... NAME ADDR...", each name server's
 * name followed by none or more numeric addresses.  KIND_NS6: IPv6
 * addresses only (the servers of the *-dns6 challenges).
 */
static int
set_ns(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	struct ns_conf *ns, *cur = NULL;
	struct listen_addr la, *a;
	const char *tok, *s = value;
	char *name;
	size_t n = 0, len;
	int rc = 0, skip = 0;	/* the addresses of a rejected name */

	if ((ns = calloc(count_tokens(value), sizeof(*ns))) == NULL) {
		p->nomem = 1;
		return -1;
	}
	while ((tok = next_token(&s, &len)) != NULL) {
		if (parse_addr(tok, len, &la) == 0) {
			if (skip)
				continue;
			if (cur == NULL) {
				bad_value(p, kd, tok, len, "an address before "
				    "the first name server name");
				rc = -1;
			} else if (kd->kind == KIND_NS6 &&
			    la.ss.ss_family != AF_INET6) {
				bad_value(p, kd, tok, len, "not an IPv6 "
				    "address: these name servers have only "
				    "IPv6 addresses");
				rc = -1;
			} else if ((a = reallocarray(cur->addr, cur->naddr + 1,
			    sizeof(*a))) == NULL)
				p->nomem = 1;
			else {
				cur->addr = a;
				cur->addr[cur->naddr++] = la;
			}
			continue;
		}
		if ((name = xstrndup(p, tok, len)) == NULL)
			continue;
		if (!canon_dns_name(name)) {
			bad_value(p, kd, tok, len, "neither a DNS name nor a "
			    "numeric address");
			free(name);
			skip = 1;
			rc = -1;
			continue;
		}
		skip = 0;
		cur = &ns[n++];
		cur->name = name;
	}
	free_ns(*(struct ns_conf **)((char *)base + kd->off),
	    *(size_t *)((char *)base + kd->off2));
	*(struct ns_conf **)((char *)base + kd->off) = ns;
	*(size_t *)((char *)base + kd->off2) = n;
	return rc;
}

/*
 * LOCAL@DOMAIN, for the SOA's RNAME (RFC 1035 3.3.13, 8): LOCAL becomes
 * one label (at most 63 bytes, RFC 1035 2.3.4) and LOCAL.DOMAIN a name
 * of at most 253; lowercased.
 */
static int
set_mailbox(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	const char *why = NULL;
	char *s, *at;

	if ((s = xstrdup(p, value)) == NULL)
		return -1;
	lowercase(s, strlen(s));
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		why = "expected LOCAL@DOMAIN with exactly one '@'";
	else if ((size_t)(at - s) > DNS_LABEL_MAX ||
	    strlen(value) > DNSNAME_MAX)
		why = "LOCAL longer than 63 bytes or LOCAL.DOMAIN longer than "
		    "253: not an SOA RNAME";
	else {
		*at = '\0';
		if (!valid_local_part(s) || !valid_dns_name(at + 1))
			why = "expected LOCAL@DOMAIN with a-z, 0-9, '-' and "
			    "'.' in LOCAL";
		*at = '@';
	}
	if (why != NULL) {
		free(s);
		return reject(p, kd, value, why);
	}
	set_string(base, kd, s);
	return 0;
}

/*
 * A list of domain names (probe_opt_out): each token a DNS name,
 * lowercased, without its final dot; appended to what earlier lines of
 * the key gave.
 */
static int
set_domains(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	char ***vp = (char ***)((char *)base + kd->off);
	size_t *np = (size_t *)((char *)base + kd->off2);
	const char *tok, *s = value, *last;
	char *name, **v;
	size_t len;
	int rc = 0;

	while ((tok = next_token(&s, &len)) != NULL) {
		if ((name = xstrndup(p, tok, len)) == NULL)
			return -1;
		/* RFC 3696 2: a top-level label of digits is an address */
		if (canon_dns_name(name)) {
			last = strrchr(name, '.');
			last = last != NULL ? last + 1 : name;
		} else
			last = "";
		if (last[strspn(last, "0123456789")] == '\0') {
			bad_value(p, kd, tok, len, "not a DNS name");
			free(name);
			rc = -1;
			continue;
		}
		if ((v = reallocarray(*vp, *np + 1, sizeof(*v))) == NULL) {
			free(name);
			p->nomem = 1;
			return -1;
		}
		*vp = v;
		v[(*np)++] = name;
	}
	return rc;
}

/* Checks VALUE for key KD and stores it in BASE; 0 or -1 (reported). */
static int
set_value(struct parser *p, void *base, const struct keydef *kd,
    const char *value)
{
	void *field = (char *)base + kd->off;
	uint64_t n;
	size_t size;
	const char *s;
	int lo, hi;

	switch (kd->kind) {
	case KIND_DOMAIN:
		return set_domain(p, base, kd, value);
	case KIND_PATH:
	case KIND_FILES:
		break;
	case KIND_WORD:
		if (!valid_word(value))
			return reject(p, kd, value,
			    "white space or control characters");
		break;
	case KIND_RESOLVER:
		return set_resolver(p, base, kd, value);
	case KIND_LOCAL_PART:
		if (!valid_local_part(value))
			return reject(p, kd, value, "expected a-z, 0-9, '-' "
			    "and '.' between them");
		break;
	case KIND_DURATION:
	case KIND_DURATION_POS:
		if (config_parse_duration(value, &n) == -1)
			return reject(p, kd, value, "expected a duration "
			    "such as 250ms, 30s, 5m, 1h or 7d");
		if (kd->kind == KIND_DURATION_POS && n == 0)
			return reject(p, kd, value, "must be more than 0");
		*(uint64_t *)field = n;
		return 0;
	case KIND_COUNT:
		s = value;
		if (parse_number(&s, UINT_MAX, &n) == -1 || *s != '\0' ||
		    n == 0)
			return reject(p, kd, value,
			    "expected a number from 1 to 4294967295");
		*(unsigned *)field = (unsigned)n;
		return 0;
	case KIND_SIZE:
	case KIND_LINE_MAX:
		if (config_parse_size(value, &size) == -1)
			return reject(p, kd, value, "expected a size such as "
			    "65536, 64k, 10M or 1G");
		if (kd->kind == KIND_SIZE && size == 0)
			return reject(p, kd, value, "must be more than 0");
		if (kd->kind == KIND_LINE_MAX &&
		    (size < LINE_MAX_MIN || size > LINE_MAX_MAX))
			return reject(p, kd, value,
			    "must be from 512 to 65536");
		*(size_t *)field = size;
		return 0;
	case KIND_LISTEN:
		return set_listen(p, base, kd, value);
	case KIND_CHALLENGE_LISTEN:
		return set_challenge_listen(p, base, kd, value);
	case KIND_NS:
	case KIND_NS6:
		return set_ns(p, base, kd, value);
	case KIND_MAILBOX:
		return set_mailbox(p, base, kd, value);
	case KIND_STARTTLS:
		if (strcmp(value, "off") == 0)
			*(enum starttls_policy *)field = STARTTLS_OFF;
		else if (strcmp(value, "optional") == 0)
			*(enum starttls_policy *)field = STARTTLS_OPTIONAL;
		else if (strcmp(value, "required") == 0)
			*(enum starttls_policy *)field = STARTTLS_REQUIRED;
		else
			return reject(p, kd, value,
			    "expected off, optional or required");
		return 0;
	case KIND_PROTOCOLS:
		if (config_parse_protocols(value, &lo, &hi) == -1)
			return reject(p, kd, value, "expected one of TLSv1 "
			    "TLSv1.1 TLSv1.2 TLSv1.3, or MIN-MAX");
		*(int *)field = lo;
		*(int *)(void *)((char *)base + kd->off2) = hi;
		return 0;
	case KIND_CIPHERS:
		return set_ciphers(p, base, kd, value);
	case KIND_DNS_TRUNCATE:
		if (strcmp(value, "off") == 0)
			*(enum dns_truncate *)field = DNS_TRUNCATE_OFF;
		else if (strcmp(value, "mx") == 0)
			*(enum dns_truncate *)field = DNS_TRUNCATE_MX;
		else
			return reject(p, kd, value, "expected off or mx");
		return 0;
	case KIND_BOOL:
		if (strcmp(value, "on") == 0 || strcmp(value, "yes") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "off") == 0 || strcmp(value, "no") == 0)
			*(int *)field = 0;
		else
			return reject(p, kd, value, "expected on, off, yes or "
			    "no");
		return 0;
	case KIND_PORT:
		s = value;
		if (parse_number(&s, 65535, &n) == -1 || *s != '\0' || n == 0)
			return reject(p, kd, value,
			    "expected a port from 1 to 65535");
		*(unsigned *)field = (unsigned)n;
		return 0;
	case KIND_DOMAINS:
		return set_domains(p, base, kd, value);
	}
	/* the string kinds, checked: stored as written */
	set_string(base, kd, xstrdup(p, value));
	return 0;
}

static const struct keydef *
find_key(enum section section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].section == section &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* One key of the current section, at line p->line. */
static void
config_key(struct parser *p, const char *name, const char *value)
{
	const struct keydef *kd;
	char buf[ESC_MAX];
	size_t k;

	if (p->section == SECT_SKIP)
		return;
	if (*name == '\0') {
		diag(p, p->line, 1, "syntax error at '='");
		return;
	}
	if (p->section == SECT_NONE) {
		diag(p, p->line, 1, "key '%s' before the first section",
		    esc(name, strlen(name), buf, sizeof(buf)));
		return;
	}
	if ((kd = find_key(p->section, name)) == NULL) {
		diag(p, p->line, 1, "unknown key '%s' in %s",
		    esc(name, strlen(name), buf, sizeof(buf)), p->label);
		return;
	}
	k = (size_t)(kd - keys);
	if (p->cur->keyline[k] != 0 && !(kd->flags & REPEATABLE)) {
		diag(p, p->line, 1, "duplicate key '%s' in %s, first at "
		    "line %d", kd->name, p->label, p->cur->keyline[k]);
		return;
	}
	if (p->cur->keyline[k] == 0)
		p->cur->keyline[k] = p->line;
	if (*value == '\0') {
		diag(p, p->line, 1, "missing value for %s", kd->name);
		p->cur->keybad[k] = 1;
	} else if (set_value(p, p->target, kd, value) == -1)
		p->cur->keybad[k] = 1;
}

static void
open_section(struct parser *p, enum section section, void *target,
    struct sect_state *st, const char *label)
{
	if (st->line != 0) {
		diag(p, p->line, 1, "duplicate section %s, first at line %d",
		    label, st->line);
		p->section = SECT_SKIP;
		return;
	}
	st->line = p->line;
	p->section = section;
	p->target = target;
	p->cur = st;
	snprintf(p->label, sizeof(p->label), "%s", label);
}

static void
open_host(struct parser *p, const char *name, size_t len)
{
	const struct catalog_host *ch;
	struct host_conf *h;
	char buf[ESC_MAX], label[64];
	size_t i;

	p->section = SECT_SKIP;
	if (len >= sizeof(label) - 8) {
		diag(p, p->line, 1, "unknown host '%s'",
		    esc(name, len, buf, sizeof(buf)));
		return;
	}
	memcpy(buf, name, len);
	buf[len] = '\0';
	if ((ch = catalog_host(buf)) == NULL) {
		diag(p, p->line, 1, "unknown host '%s'",
		    esc(name, len, buf, sizeof(buf)));
		return;
	}
	snprintf(label, sizeof(label), "[host %s]", ch->name);
	for (i = 0; i < p->cfg->nhosts; i++)
		if (strcmp(p->cfg->hosts[i].name, ch->name) == 0) {
			open_section(p, SECT_HOST, NULL, &p->hosts[i], label);
			return;
		}
	if (p->cfg->nhosts == p->maxhosts)	/* one per catalogue host */
		return;
	h = &p->cfg->hosts[p->cfg->nhosts];
	h->name = xstrdup(p, ch->name);
	h->ciphers = xstrdup(p, DEF_CIPHERS);
	if (h->name == NULL || h->ciphers == NULL) {
		free(h->name);
		free(h->ciphers);
		h->name = h->ciphers = NULL;
		return;
	}
	h->line = p->line;
	h->starttls = STARTTLS_OFF;
	h->proto_min = TLS1_2_VERSION;
	h->proto_max = TLS1_3_VERSION;
	h->greylist_delay_ms = DEF_GREYLIST_DELAY_MS;
	open_section(p, SECT_HOST, h, &p->hosts[p->cfg->nhosts], label);
	p->cfg->nhosts++;
}

/*
 * The first of CHARS in S, or where a comment starts, or the end of S.
 * A ';' after white space starts a comment; one right after another
 * character does not ("database = a;b.db").
 */
static char *
find_or_comment(char *s, const char *chars)
{
	int was_space = 0;

	for (; *s != '\0' && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';'); s++)
		was_space = is_space((unsigned char)*s);
	return s;
}

/*
 * A "[...]" line (S at the bracket): "[global]", "[web]", "[dns]",
 * "[zones]" or "[host NAME]", optionally followed by a comment.
 */
static void
lex_section(struct parser *p, char *s)
{
	const char *a, *b, *end, *rest;
	char buf[ESC_MAX];
	size_t wlen;

	if (*(end = find_or_comment(s + 1, "]")) != ']') {
		diag(p, p->line, 1, "syntax error at '%s': missing ']'",
		    esc(s, strlen(s), buf, sizeof(buf)));
		p->section = SECT_SKIP;
		return;
	}
	for (rest = end + 1; is_space((unsigned char)*rest); rest++)
		;
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		diag(p, p->line, 1, "syntax error at '%s'",
		    esc(rest, strlen(rest), buf, sizeof(buf)));

	for (a = s + 1; a < end && is_space((unsigned char)*a); a++)
		;
	for (b = end; b > a && is_space((unsigned char)b[-1]); b--)
		;
	for (wlen = 0; a + wlen < b && !is_space((unsigned char)a[wlen]);
	    wlen++)
		;
	if (wlen == 4 && strncmp(a, "host", 4) == 0) {
		for (a += wlen; a < b && is_space((unsigned char)*a); a++)
			;
		if (a == b) {
			diag(p, p->line, 1, "missing host name in [host]");
			p->section = SECT_SKIP;
		} else
			open_host(p, a, (size_t)(b - a));
	} else if (a + wlen == b && wlen == 6 && strncmp(a, "global", 6) == 0)
		open_section(p, SECT_GLOBAL, p->cfg, &p->global, "[global]");
	else if (a + wlen == b && wlen == 3 && strncmp(a, "web", 3) == 0) {
		open_section(p, SECT_WEB, &p->cfg->web, &p->web, "[web]");
		p->cfg->web.present = 1;
	} else if (a + wlen == b && wlen == 3 && strncmp(a, "dns", 3) == 0) {
		open_section(p, SECT_DNS, &p->cfg->dns, &p->dns, "[dns]");
		p->cfg->dns.present = 1;
	} else if (a + wlen == b && wlen == 5 && strncmp(a, "zones", 5) == 0) {
		open_section(p, SECT_ZONES, &p->cfg->zones, &p->zones,
		    "[zones]");
		p->cfg->zones.present = 1;
	} else {
		diag(p, p->line, 1, "unknown section [%s]",
		    esc(s + 1, (size_t)(end - s - 1), buf, sizeof(buf)));
		p->section = SECT_SKIP;
	}
}

/*
 * One line (LINE, without its ending): blank, a comment, a section
 * header, or "key = value" (or "key: value") split at the first '=' or
 * ':' with the name and value trimmed and the value ended by a comment.
 * Every syntax error is reported and the next line read.
 */
static void
lex_line(struct parser *p, char *line)
{
	const char *tok;
	char buf[ESC_MAX], *s = line, *sep, *value, *end;
	size_t len;

	if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;		/* a UTF-8 BOM */
	while (is_space((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		lex_section(p, s);
		return;
	}
	if (*(sep = find_or_comment(s, "=:")) != '=' && *sep != ':') {
		tok = s;
		tok = next_token(&tok, &len);
		diag(p, p->line, 1, "syntax error at '%s': expected "
		    "'key = value'", esc(tok, len, buf, sizeof(buf)));
		return;
	}
	end = find_or_comment(sep + 1, "");	/* the value's end */
	*end = '\0';
	for (value = sep + 1; is_space((unsigned char)*value); value++)
		;
	while (end > value && is_space((unsigned char)end[-1]))
		*--end = '\0';
	for (end = sep; end > s && is_space((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	config_key(p, s, value);
}

/*
 * The next line of the file into p->buf, without its ending (LF or CRLF)
 * and its leading white space, which does not count toward the bound.
 * -1 at the end of the file or on a read error (p->read_errno).  A line
 * longer than CONFIG_LINE_MAX bytes or holding a NUL byte is reported
 * and left blank; a long comment is not an error, nothing in it is lost.
 */
static int
read_line(struct parser *p)
{
	size_t len = 0;
	int c, d, toolong = 0, nul = 0;

	if ((c = getc(p->fp)) == EOF) {
		if (ferror(p->fp))
			p->read_errno = errno;
		return -1;
	}
	p->line++;
	for (; c != EOF && c != '\n'; c = getc(p->fp)) {
		if (c == '\r') {
			if ((d = getc(p->fp)) == '\n')
				break;
			if (d != EOF)
				ungetc(d, p->fp);
		}
		if (len == 0 && is_space(c))
			continue;
		if (c == '\0')
			nul = 1;
		if (len < CONFIG_LINE_MAX)
			p->buf[len++] = (char)c;
		else
			toolong = 1;
	}
	if (c == EOF && ferror(p->fp))
		p->read_errno = errno;
	p->buf[len] = '\0';
	if (toolong) {
		if (p->buf[0] != ';' && p->buf[0] != '#')
			diag(p, p->line, 1, "line too long");
		p->buf[0] = '\0';
	} else if (nul) {
		diag(p, p->line, 1, "NUL byte in line");
		p->buf[0] = '\0';
	}
	return 0;
}

/* The line of key NAME in section state ST, and whether it was bad. */
static int
key_line(const struct sect_state *st, enum section section, const char *name,
    int *bad)
{
	size_t k = (size_t)(find_key(section, name) - keys);

	if (bad != NULL)
		*bad = st->keybad[k];
	return st->keyline[k];
}

static void
check_required(struct parser *p, const struct sect_state *st,
    enum section section, const char *label)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].section == section &&
		    (keys[i].flags & REQUIRED) && st->keyline[i] == 0)
			diag(p, st->line, 1, "missing %s %s", label,
			    keys[i].name);
}

/*
 * S, the value of key NAME at LINE, with each relative path joined to the
 * directory of the file: the daemon may chdir(2) or be started from
 * anywhere, the file's own directory is where its author looked.  LIST: S
 * is a list split at white space (certificate, key), else one path
 * (database).  The new value, or NULL (reported).
 */
static char *
resolve_paths(struct parser *p, int line, const char *name, const char *s,
    int list)
{
	const char *tok, *rest = s;
	char buf[ESC_MAX], *out;
	size_t len, dlen, size, o = 0;

	dlen = p->dir != NULL ? strlen(p->dir) : 0;
	size = strlen(s) + (list ? count_tokens(s) : 1) * (dlen + 1) + 1;
	if ((out = malloc(size)) == NULL) {
		p->nomem = 1;
		return NULL;
	}
	for (;;) {
		if (!list) {
			tok = s;
			len = strlen(s);
		} else if ((tok = next_token(&rest, &len)) == NULL)
			break;
		if (tok[0] != '/' && p->dir == NULL) {
			diag(p, line, 1, "cannot resolve relative %s '%s': %s",
			    name, esc(tok, len, buf, sizeof(buf)),
			    strerror(p->dir_errno));
			goto fail;
		}
		/* a list cannot hold a path with white space */
		if (tok[0] != '/' && list &&
		    strpbrk(p->dir, " \t\n\r\f\v") != NULL) {
			diag(p, line, 1, "cannot resolve relative %s '%s': "
			    "white space in the directory of the file",
			    name, esc(tok, len, buf, sizeof(buf)));
			goto fail;
		}
		if (o > 0)
			out[o++] = ' ';
		if (tok[0] != '/') {
			memcpy(out + o, p->dir, dlen);
			o += dlen;
			if (dlen == 0 || p->dir[dlen - 1] != '/')
				out[o++] = '/';
		}
		memcpy(out + o, tok, len);
		o += len;
		if (!list)
			break;
	}
	out[o] = '\0';
	return out;
 fail:
	free(out);
	return NULL;
}

/*
 * Every file of the list S (key NAME at LINE) must be readable; ABS is
 * S resolved, token for token.  Messages quote the paths as written.
 * MAY_BE_MISSING: a file that does not exist yet is not checked (the
 * certificates, for the generator commands: config_load_flags()).
 */
static void
check_readable(struct parser *p, int line, const char *name, const char *s,
    const char *abs, int may_be_missing)
{
	const char *tok, *atok;
	char buf[ESC_MAX], *path;
	size_t len, alen;

	while ((tok = next_token(&s, &len)) != NULL &&
	    (atok = next_token(&abs, &alen)) != NULL) {
		if ((path = xstrndup(p, atok, alen)) == NULL)
			return;
		/* missing is what the caller makes or reads no further */
		if (access(path, R_OK) == -1 &&
		    !(may_be_missing && errno == ENOENT))
			diag(p, line, 1, "cannot read %s '%s': %s", name,
			    esc(tok, len, buf, sizeof(buf)), strerror(errno));
		free(path);
	}
}

/*
 * [dns] zones: the directory of mailscope zones, made absolute.  Its
 * files are read when mailscoped starts (dnsd.c), not here: `mailscope
 * zones` reads this config to write them.  The *-dns6 zones are served on
 * the IPv6 addresses only, so there must be one.
 */
static void
check_dns_zones(struct parser *p)
{
	struct dns_conf *dc = &p->cfg->dns;
	char *abs;
	size_t i;
	int line, bad;

	line = key_line(&p->dns, SECT_DNS, "zones", &bad);
	if (dc->zones == NULL || bad)
		return;
	dc->zones_line = line;
	if ((abs = resolve_paths(p, line, "zones", dc->zones, 0)) != NULL) {
		free(dc->zones);
		dc->zones = abs;
	}
	for (i = 0; i < dc->nlisten; i++)
		if (dc->listen[i].ss.ss_family == AF_INET6)
			return;
	diag(p, line, 1, "zones: the *-dns6 zones are served on IPv6 only: "
	    "[dns] needs an IPv6 listen address");
}

/*
 * The path *SP of key NAME of section SS (TYPE), when set and well-formed,
 * made absolute (relative to the directory of the file).
 */
static void
resolve_key(struct parser *p, struct sect_state *ss, enum section type,
    const char *name, char **sp)
{
	char *abs;
	int line, bad;

	line = key_line(ss, type, name, &bad);
	if (*sp == NULL || bad ||
	    (abs = resolve_paths(p, line, name, *sp, 0)) == NULL)
		return;
	free(*sp);
	*sp = abs;
}

/*
 * The file list *SP of key NAME at LINE: made absolute, then checked.
 * TLS: certificate or key, which may be missing with
 * CONFIG_CERTS_MAY_BE_MISSING.
 */
static void
check_files(struct parser *p, int line, const char *name, char **sp, int tls)
{
	char *abs;

	if ((abs = resolve_paths(p, line, name, *sp, 1)) == NULL)
		return;
	check_readable(p, line, name, *sp, abs,
	    tls && (p->flags & CONFIG_CERTS_MAY_BE_MISSING));
	free(*sp);
	*sp = abs;
}

/* The certificate and key lists of a section: same length, readable. */
static void
check_tls_files(struct parser *p, const struct sect_state *st,
    enum section section, char **cert, char **key)
{
	size_t ncert, nkey;
	int cline, kline, cbad, kbad;

	cline = key_line(st, section, "certificate", &cbad);
	kline = key_line(st, section, "key", &kbad);
	if (*cert == NULL || *key == NULL || cbad || kbad)
		return;
	ncert = count_tokens(*cert);
	nkey = count_tokens(*key);
	if (ncert != nkey)
		diag(p, kline, 1, "key lists %zu file%s but certificate "
		    "lists %zu", nkey, nkey == 1 ? "" : "s", ncert);
	check_files(p, cline, "certificate", cert, 1);
	check_files(p, kline, "key", key, 1);
}

static void
check_host(struct parser *p, struct host_conf *h, struct sect_state *st)
{
	char label[64];
	int sline, cline, kline, bad;

	snprintf(label, sizeof(label), "[host %s]", h->name);
	check_required(p, st, SECT_HOST, label);
	if (key_line(st, SECT_HOST, "listen", NULL) == 0 &&
	    key_line(st, SECT_HOST, "challenge_listen", NULL) == 0)
		diag(p, st->line, 1, "missing %s listen", label);
	sline = key_line(st, SECT_HOST, "starttls", &bad);
	if (sline == 0 || bad)
		return;		/* reported; the rest would be guesses */
	cline = key_line(st, SECT_HOST, "certificate", NULL);
	kline = key_line(st, SECT_HOST, "key", NULL);
	if (h->starttls == STARTTLS_OFF) {
		if (cline != 0 || kline != 0)
			diag(p, cline != 0 ? cline : kline, 0,
			    "starttls = off: certificate and key are not used");
		free(h->certificate);
		free(h->key);
		h->certificate = h->key = NULL;
		return;
	}
	if (cline == 0)
		diag(p, st->line, 1, "missing %s certificate (needed with "
		    "starttls = %s)", label,
		    h->starttls == STARTTLS_REQUIRED ? "required" : "optional");
	if (kline == 0 && cline != 0)
		diag(p, st->line, 1, "missing %s key", label);
	check_tls_files(p, st, SECT_HOST, &h->certificate, &h->key);
}

/* What can only be checked when the whole file is read. */
/*
 * The web's probes: what only a lab should have is said.  A probe port
 * other than 25 or private addresses would let strangers point this
 * server at what is behind it (docs/api.md).
 */
static void
check_web_probe(struct parser *p)
{
	const struct web_conf *wc = &p->cfg->web;
	int line, bad;

	if (!wc->probe)
		return;
	/* probe_run()'s rule: "off" is the daemon's, a probe needs DNS */
	if (p->cfg->resolver != NULL && strcmp(p->cfg->resolver, "off") == 0)
		diag(p, key_line(&p->web, SECT_WEB, "probe", NULL), 0,
		    "probe = on with resolver = off: the web's probes look "
		    "names up with the system's resolver (/etc/resolv.conf)");
	line = key_line(&p->web, SECT_WEB, "probe_private", &bad);
	if (wc->probe_private && !bad)
		diag(p, line, 0, "probe_private = yes: probes from the web "
		    "may connect to loopback and private addresses (labs "
		    "only)");
	line = key_line(&p->web, SECT_WEB, "probe_port", &bad);
	if (wc->probe_port != DEF_PROBE_PORT && !bad)
		diag(p, line, 0, "probe_port = %u: probes from the web go "
		    "to that port, not to 25 (labs only)", wc->probe_port);
}

static void
config_check(struct parser *p)
{
	const struct catalog_host *ch;
	struct config *cfg = p->cfg;
	size_t i, j, n;
	int line, bad;

	check_required(p, &p->global, SECT_GLOBAL, "[global]");
	resolve_key(p, &p->global, SECT_GLOBAL, "database", &cfg->database);
	resolve_key(p, &p->global, SECT_GLOBAL, "log_file", &cfg->log_file);
	for (i = 0; i < cfg->nhosts; i++)
		check_host(p, &cfg->hosts[i], &p->hosts[i]);
	if (cfg->web.present) {
		check_required(p, &p->web, SECT_WEB, "[web]");
		check_tls_files(p, &p->web, SECT_WEB, &cfg->web.certificate,
		    &cfg->web.key);
		resolve_key(p, &p->web, SECT_WEB, "acme_dir",
		    &cfg->web.acme_dir);
		check_web_probe(p);
	}
	if (cfg->dns.present) {
		check_required(p, &p->dns, SECT_DNS, "[dns]");
		check_dns_zones(p);
	}
	resolve_key(p, &p->zones, SECT_ZONES, "keys", &cfg->zones.keys);
	line = key_line(&p->global, SECT_GLOBAL, "trust_anchor", &bad);
	if (cfg->trust_anchor != NULL && !bad)
		check_files(p, line, "trust_anchor", &cfg->trust_anchor,
		    0);
	/* unset: the grace and then SHUTDOWN_LINGER_MS for the last replies */
	line = key_line(&p->global, SECT_GLOBAL, "shutdown_deadline", &bad);
	if (line == 0)
		cfg->shutdown_deadline_ms = cfg->shutdown_grace_ms +
		    SHUTDOWN_LINGER_MS;
	else if (!bad && cfg->shutdown_deadline_ms <= cfg->shutdown_grace_ms)
		diag(p, line, 1, "shutdown_deadline must be longer than "
		    "shutdown_grace");
	line = key_line(&p->global, SECT_GLOBAL, "analysis_workers", &bad);
	if (line != 0 && !bad && cfg->analysis_workers > ANALYSIS_WORKERS_MAX)
		diag(p, line, 1, "analysis_workers: at most %d",
		    ANALYSIS_WORKERS_MAX);
	/* a message of the largest size must fit, with its header kept */
	line = key_line(&p->global, SECT_GLOBAL, "max_message_memory", &bad);
	if (!bad && cfg->max_message_memory < cfg->max_message_size +
	    cfg->max_header_size + 2)
		diag(p, line != 0 ? line : p->global.line, 1,
		    "max_message_memory (%zu) is less than max_message_size "
		    "+ max_header_size (%zu)", cfg->max_message_memory,
		    cfg->max_message_size + cfg->max_header_size + 2);

	ch = catalog_hosts(&n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < cfg->nhosts; j++)
			if (strcmp(cfg->hosts[j].name, ch[i].name) == 0)
				break;
		if (j == cfg->nhosts)
			diag(p, p->global.line, 0, "no [host %s]: challenges "
			    "on it will not be served", ch[i].name);
	}
}

/*
 * The directory of FILE, absolute.  FILE itself is not resolved: through
 * a symbolic link, relative paths start at the link's directory.
 */
static char *
file_dir(const char *file)
{
	const char *slash;
	char *dir, *abs;
	int saved;

	if ((slash = strrchr(file, '/')) == NULL)
		return realpath(".", NULL);
	if (slash == file)
		return realpath("/", NULL);
	if ((dir = strndup(file, (size_t)(slash - file))) == NULL)
		return NULL;
	abs = realpath(dir, NULL);
	saved = errno;
	free(dir);
	errno = saved;
	return abs;
}

static struct config *
config_new(struct parser *p, const char *file)
{
	struct config *cfg;
	size_t n;

	catalog_hosts(&n);
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->hosts = calloc(n, sizeof(*cfg->hosts))) == NULL ||
	    (p->hosts = calloc(n, sizeof(*p->hosts))) == NULL ||
	    (cfg->file = strdup(file)) == NULL ||
	    (cfg->local_part = strdup(DEF_LOCAL_PART)) == NULL) {
		config_free(cfg);
		return NULL;
	}
	p->maxhosts = n;
	cfg->wait_ms = DEF_WAIT_MS;
	cfg->max_connections = DEF_MAX_CONNECTIONS;
	cfg->max_per_ip = DEF_MAX_PER_IP;
	cfg->max_connection_rate = DEF_MAX_CONNECTION_RATE;
	cfg->max_recipients = DEF_MAX_RECIPIENTS;
	cfg->max_errors = DEF_MAX_ERRORS;
	cfg->max_commands = DEF_MAX_COMMANDS;
	cfg->max_message_size = DEF_MAX_MESSAGE_SIZE;
	cfg->max_header_size = DEF_MAX_HEADER_SIZE;
	cfg->line_max = DEF_LINE_MAX;
	cfg->max_transactions = DEF_MAX_TRANSACTIONS;
	cfg->max_client_transactions = DEF_MAX_CLIENT_TRANSACTIONS;
	cfg->max_test_transactions = DEF_MAX_TEST_TRANSACTIONS;
	cfg->max_message_memory = DEF_MAX_MESSAGE_MEMORY;
	cfg->timeout_command_ms = DEF_TIMEOUT_COMMAND_MS;
	cfg->timeout_data_ms = DEF_TIMEOUT_DATA_MS;
	cfg->timeout_tls_ms = DEF_TIMEOUT_TLS_MS;
	cfg->timeout_session_ms = DEF_TIMEOUT_SESSION_MS;
	cfg->resolver_timeout_ms = DEF_RESOLVER_TIMEOUT_MS;
	cfg->shutdown_grace_ms = DEF_SHUTDOWN_GRACE_MS;
	cfg->greylist_expire_ms = DEF_GREYLIST_EXPIRE_MS;
	cfg->greylist_max = DEF_GREYLIST_MAX;
	cfg->analysis_queue = DEF_ANALYSIS_QUEUE;
	cfg->analysis_workers = DEF_ANALYSIS_WORKERS;
	cfg->analysis_deadline_ms = DEF_ANALYSIS_DEADLINE_MS;
	cfg->attribution_window_ms = DEF_ATTRIBUTION_WINDOW_MS;
	cfg->web.tests_per_client = DEF_TESTS_PER_CLIENT;
	cfg->web.tests_total = DEF_TESTS_TOTAL;
	cfg->web.probes_per_client = DEF_PROBES_PER_CLIENT;
	cfg->web.probes_per_domain = DEF_PROBES_PER_DOMAIN;
	cfg->web.probes_total = DEF_PROBES_TOTAL;
	cfg->web.probe_port = DEF_PROBE_PORT;
	cfg->dns.rrl_rate = DEF_DNS_RRL_RATE;
	cfg->dns.rrl_slip = DEF_DNS_RRL_SLIP;
	cfg->dns.rrl_total = DEF_DNS_RRL_TOTAL;
	cfg->dns.record_rate = DEF_DNS_RECORD_RATE;
	cfg->web.tests_period_ms = DEF_TESTS_PERIOD_MS;
	cfg->zones.ttl_ms = DEF_ZONES_TTL_MS;
	cfg->zones.validity_ms = DEF_ZONES_VALIDITY_MS;
	return cfg;
}

struct config *
config_load(const char *file, FILE *errs)
{
	return config_load_flags(file, errs, 0);
}

struct config *
config_load_flags(const char *file, FILE *errs, int flags)
{
	struct parser p;
	struct config *cfg;

	memset(&p, 0, sizeof(p));
	p.file = file;
	p.flags = flags;
	p.errs = errs != NULL ? errs : stderr;
	if ((p.fp = fopen(file, "r")) == NULL) {
		diag(&p, 0, 1, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* reported only if a relative path needs it */
	if ((p.dir = file_dir(file)) == NULL)
		p.dir_errno = errno;
	if ((cfg = config_new(&p, file)) == NULL) {
		diag(&p, 0, 1, "out of memory");
		fclose(p.fp);
		free(p.hosts);
		free(p.dir);
		return NULL;
	}
	p.cfg = cfg;
	p.section = SECT_NONE;

	while (read_line(&p) == 0)
		lex_line(&p, p.buf);
	if (p.read_errno != 0)
		diag(&p, 0, 1, "cannot read: %s", strerror(p.read_errno));
	fclose(p.fp);
	if (p.read_errno == 0)
		config_check(&p);
	if (p.nomem)
		diag(&p, 0, 1, "out of memory");

	free(p.hosts);
	free(p.seen);
	free(p.dir);
	SSL_CTX_free(p.ssl);
	if (p.nerrors > 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	struct host_conf *h;
	size_t i;

	if (cfg == NULL)
		return;
	if (cfg->hosts != NULL) {
		for (i = 0; i < cfg->nhosts; i++) {
			h = &cfg->hosts[i];
			free(h->name);
			free(h->listen);
			free(h->chlisten);
			free(h->certificate);
			free(h->key);
			free(h->ciphers);
		}
		free(cfg->hosts);
	}
	free(cfg->web.listen);
	free(cfg->web.http_listen);
	free(cfg->web.certificate);
	free(cfg->web.key);
	free(cfg->web.acme_dir);
	for (i = 0; i < cfg->web.nprobe_opt_out; i++)
		free(cfg->web.probe_opt_out[i]);
	free(cfg->web.probe_opt_out);
	free(cfg->dns.listen);
	free(cfg->dns.zones);
	free_ns(cfg->zones.ns, cfg->zones.nns);
	free_ns(cfg->zones.ns6, cfg->zones.nns6);
	free(cfg->zones.soa_email);
	free(cfg->zones.keys);
	free(cfg->file);
	free(cfg->base_domain);
	free(cfg->hostname);
	free(cfg->database);
	free(cfg->user);
	free(cfg->log_file);
	free(cfg->resolver);
	free(cfg->trust_anchor);
	free(cfg->local_part);
	free(cfg);
}

const struct host_conf *
config_host(const struct config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nhosts; i++)
		if (strcmp(cfg->hosts[i].name, name) == 0)
			return &cfg->hosts[i];
	return NULL;
}

size_t
config_challenge_naddr(const struct host_conf *h, const char *name,
    int family)
{
	size_t i, n = 0;

	for (i = 0; i < h->nchlisten; i++)
		if (strcmp(h->chlisten[i].challenge, name) == 0 &&
		    (family == AF_UNSPEC ||
		    h->chlisten[i].addr.ss.ss_family == family))
			n++;
	return n;
}

/* Whether host H has an address of FAMILY for CH (own or shared). */
static int
host_has_family(const struct host_conf *h, const struct catalog_challenge *ch,
    int family)
{
	size_t i;

	if (config_challenge_naddr(h, ch->name, family) > 0)
		return 1;
	for (i = 0; i < h->nlisten; i++)
		if (h->listen[i].ss.ss_family == family)
			return 1;
	return 0;
}

int
config_challenge_left_out(const struct config *cfg,
    const struct catalog_challenge *ch, char *why, size_t len)
{
	const struct host_conf *h;
	int j, fam;

	fam = ch->family == MX_A ? AF_INET : ch->family == MX_AAAA ?
	    AF_INET6 : AF_UNSPEC;
	for (j = 0; j < 2; j++) {
		if (ch->hosts[j] == NULL)
			continue;
		if ((h = config_host(cfg, ch->hosts[j])) == NULL) {
			(void)snprintf(why, len, "no [host %s]: challenge %s "
			    "is left out of the zones", ch->hosts[j],
			    ch->name);
			return 1;
		}
		if (fam != AF_UNSPEC && !host_has_family(h, ch, fam)) {
			(void)snprintf(why, len, "[host %s] has no IPv%d "
			    "address: challenge %s (an %s-only MX) is left "
			    "out of the zones", ch->hosts[j],
			    fam == AF_INET ? 4 : 6, ch->name,
			    fam == AF_INET ? "A" : "AAAA");
			return 1;
		}
	}
	return 0;
}

/* Whether the MX of CH on host H publishes H's shared addresses of FAMILY. */
static int
publishes_shared(const struct host_conf *h, const struct catalog_challenge *ch,
    int family)
{
	return serves(ch, h->name) && mx_has_family(ch, family) &&
	    config_challenge_naddr(h, ch->name, family) == 0;
}

int
config_shared_challenges(const struct host_conf *h, int family, char *buf,
    size_t len)
{
	const struct catalog_challenge *ch;
	size_t i, n, o = 0, published = 0;
	int w, in;

	ch = catalog_challenges(&n);
	if (len == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		published += publishes_shared(h, &ch[i], family);
	for (i = 0; i < n; i++) {
		/*
		 * No MX publishes it: shared by all of the host's.  Else
		 * those whose MX does; a delegated challenge's per-test MX
		 * (mx-<id>.dns.<base>) is published by the responder, by
		 * the same rule (dns_answer.c).
		 */
		if (published == 0)
			in = serves(&ch[i], h->name);
		else
			in = publishes_shared(h, &ch[i], family);
		if (!in)
			continue;
		w = snprintf(buf + o, len - o, "%s%s", o > 0 ? "," : "",
		    ch[i].name);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}
