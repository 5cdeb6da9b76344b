/*
 * Unit tests of config.c: the value parsers, a complete file with every
 * key, and the exact FILE:LINE messages of broken files.  Each file is
 * written to a temporary directory that the tests run in.
 */
#include "build.h"

#include <sys/stat.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "catalog.h"
#include "config.h"

#define CONF	"t.conf"

/* A valid [global] of four lines: a file built on it starts at line 5. */
#define GLOBAL \
	"[global]\n" \
	"base_domain = measure.example\n" \
	"hostname = mx.measure.example\n" \
	"database = mailscope.db\n"

static void
write_file(const char *name, const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(name, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * Drops the "no [host X]" warnings, which every file without all nine
 * hosts gets: the tests of other messages read better without them.
 */
static void
drop_host_warnings(char *s)
{
	char *in = s, *out = s, *w;
	size_t len;

	while (*in != '\0') {
		len = strcspn(in, "\n");
		if (in[len] == '\n')
			len++;
		w = strstr(in, "warning: no [host ");
		if (w == NULL || w >= in + len) {
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	*out = '\0';
}

/* Loads the file PATH; *OUT gets what was printed (to free). */
static struct config *
load_path(const char *path, char **out, int keep_host_warnings)
{
	struct config *cfg;
	size_t len;
	FILE *f;

	assert_non_null(f = open_memstream(out, &len));
	cfg = config_load(path, f);
	assert_int_equal(fclose(f), 0);
	if (!keep_host_warnings)
		drop_host_warnings(*out);
	return cfg;
}

/* Loads TEXT as t.conf; *OUT gets what was printed (to free). */
static struct config *
load(const char *text, char **out, int keep_host_warnings)
{
	write_file(CONF, text);
	return load_path(CONF, out, keep_host_warnings);
}

/* N bytes C, NUL-terminated, in BUF; returns BUF. */
static char *
fill(char *buf, int c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* TEXT must fail to load with exactly the messages EXPECTED. */
static void
assert_errors(const char *text, const char *expected)
{
	struct config *cfg;
	char *out;

	cfg = load(text, &out, 0);
	assert_string_equal(out, expected);
	assert_null(cfg);
	free(out);
}

/* TEXT must load, printing exactly PRINTED; the config, to free. */
static struct config *
assert_loads(const char *text, const char *printed, int keep_host_warnings)
{
	struct config *cfg;
	char *out;

	cfg = load(text, &out, keep_host_warnings);
	assert_string_equal(out, printed);
	free(out);
	assert_non_null(cfg);
	return cfg;
}

static void
assert_duration(const char *s, uint64_t want)
{
	uint64_t ms;

	assert_int_equal(config_parse_duration(s, &ms), 0);
	assert_int_equal(ms, want);
}

static void
assert_size(const char *s, size_t want)
{
	size_t n;

	assert_int_equal(config_parse_size(s, &n), 0);
	assert_int_equal(n, want);
}

static void
assert_protocols(const char *s, int want_min, int want_max)
{
	int min = 0, max = 0;

	assert_int_equal(config_parse_protocols(s, &min, &max), 0);
	assert_int_equal(min, want_min);
	assert_int_equal(max, want_max);
}

/* The wait, limits and timeouts of [global] that a test expects. */
struct limits {
	uint64_t	 wait_ms;
	unsigned	 max_connections, max_per_ip, max_recipients;
	unsigned	 max_errors, max_commands;
	size_t		 max_message_size, max_header_size, line_max;
	uint64_t	 timeout_command_ms, timeout_data_ms, timeout_tls_ms;
	uint64_t	 shutdown_grace_ms;
};

static void
assert_limits(const struct config *cfg, const struct limits *want)
{
	assert_int_equal(cfg->wait_ms, want->wait_ms);
	assert_int_equal(cfg->max_connections, want->max_connections);
	assert_int_equal(cfg->max_per_ip, want->max_per_ip);
	assert_int_equal(cfg->max_recipients, want->max_recipients);
	assert_int_equal(cfg->max_errors, want->max_errors);
	assert_int_equal(cfg->max_commands, want->max_commands);
	assert_int_equal(cfg->max_message_size, want->max_message_size);
	assert_int_equal(cfg->max_header_size, want->max_header_size);
	assert_int_equal(cfg->line_max, want->line_max);
	assert_int_equal(cfg->timeout_command_ms, want->timeout_command_ms);
	assert_int_equal(cfg->timeout_data_ms, want->timeout_data_ms);
	assert_int_equal(cfg->timeout_tls_ms, want->timeout_tls_ms);
	assert_int_equal(cfg->shutdown_grace_ms, want->shutdown_grace_ms);
}

/* The TLS versions, ciphers and greylisting delay of host H. */
static void
assert_profile(const struct host_conf *h, int min, int max,
    const char *ciphers, uint64_t greylist_delay_ms)
{
	assert_int_equal(h->proto_min, min);
	assert_int_equal(h->proto_max, max);
	assert_string_equal(h->ciphers, ciphers);
	assert_int_equal(h->greylist_delay_ms, greylist_delay_ms);
}

static uint16_t
port_of(const struct listen_addr *la)
{
	if (la->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&la->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&la->ss)->sin6_port);
}

/*
 * GOT must be LIST (paths separated by one space) as config_load() stores
 * it: each relative path joined to DIR, or to the directory the tests run
 * in when DIR is NULL.
 */
static void
assert_paths(const char *got, const char *dir, const char *list)
{
	char cwd[PATH_MAX], want[8192], *copy, *tok, *last;
	size_t o = 0;
	int n;

	if (dir == NULL)
		assert_non_null(dir = getcwd(cwd, sizeof(cwd)));
	assert_non_null(copy = strdup(list));
	want[0] = '\0';
	for (tok = strtok_r(copy, " ", &last); tok != NULL;
	    tok = strtok_r(NULL, " ", &last)) {
		if (tok[0] == '/')
			n = snprintf(want + o, sizeof(want) - o, "%s%s",
			    o > 0 ? " " : "", tok);
		else
			n = snprintf(want + o, sizeof(want) - o, "%s%s/%s",
			    o > 0 ? " " : "", dir, tok);
		assert_true(n > 0 && (size_t)n < sizeof(want) - o);
		o += (size_t)n;
	}
	free(copy);
	assert_string_equal(got, want);
}

static void
duration_accepts_every_unit(void **state)
{
	(void)state;
	assert_duration("250ms", 250);
	assert_duration("30s", 30000);
	assert_duration("5m", 300000);
	assert_duration("1h", 3600000);
	assert_duration("7d", 7 * 86400000ULL);
	assert_duration("0ms", 0);
}

static void
duration_bare_number_is_seconds(void **state)
{
	(void)state;
	assert_duration("45", 45000);
	assert_duration("007", 7000);
}

static void
duration_rejects_garbage_and_overflow(void **state)
{
	static const char *bad[] = {
		"", "s", "ms", "5x", "5 s", " 5s", "5s ", "-5s", "+5s", "1h30m",
		"5S", "5M", "1.5s", "5sec", "0x10",
		"18446744073709551616ms",	/* 2^64 */
		"18446744073709552s",		/* 2^64 ms and a bit */
		"213503982335d",
	};
	uint64_t ms = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_duration(bad[i], &ms) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ms, 42);
	}
	assert_duration("18446744073709551615ms", UINT64_MAX);
}

static void
size_accepts_suffixes_as_powers_of_1024(void **state)
{
	(void)state;
	assert_size("10485760", 10485760);
	assert_size("512k", 512 * 1024);
	assert_size("64K", 64 * 1024);
	assert_size("10M", 10 * 1024 * 1024);
	assert_size("3m", 3 * 1024 * 1024);
	assert_size("1G", 1024 * 1024 * 1024);
	assert_size("0", 0);
}

static void
size_rejects_garbage_and_overflow(void **state)
{
	static const char *bad[] = {
		"", "k", "10MB", "10 M", "-1", "+1", "1.5M", "10KiB", "1T",
		"18446744073709551616", "17179869184G", "1 ",
	};
	size_t i, n = 42;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_size(bad[i], &n) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(n, 42);
	}
}

static void
listen_parses_ipv4_and_ipv6_with_port(void **state)
{
	struct listen_addr la;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&la.ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&la.ss;
	struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

	(void)state;
	assert_int_equal(config_parse_listen("127.0.0.1:2525", &la), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(ntohs(sin->sin_port), 2525);
	assert_int_equal(la.sslen, sizeof(struct sockaddr_in));
	assert_string_equal(la.text, "127.0.0.1:2525");

	assert_int_equal(config_parse_listen("[::1]:65535", &la), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_memory_equal(&sin6->sin6_addr, &lo6, sizeof(lo6));
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_int_equal(la.sslen, sizeof(struct sockaddr_in6));
	assert_string_equal(la.text, "[::1]:65535");

	assert_int_equal(config_parse_listen("[2001:db8::11]:25", &la), 0);
	assert_string_equal(la.text, "[2001:db8::11]:25");
	assert_int_equal(config_parse_listen("0.0.0.0:1", &la), 0);
	assert_int_equal(port_of(&la), 1);
}

static void
listen_rejects_names_missing_ports_and_bad_ports(void **state)
{
	static const char *bad[] = {
		"", "127.0.0.1", "127.0.0.1:", ":25", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:99999999999999999999",
		"127.0.0.1:-1", "127.0.0.1:25x", "127.0.0.1: 25", "::1:25",
		"[::1]", "[::1]25", "[::1]:", "[::1:25", "[]:25",
		"localhost:25", "256.1.1.1:25", "1.2.3:25", "[127.0.0.1]:25",
		"[fe80::1%lo]:25",
		"[1111:2222:3333:4444:5555:6666:7777:8888]:25   and more text",
	};
	struct listen_addr la;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_listen(bad[i], &la) != -1)
			fail_msg("'%s' accepted", bad[i]);
}

static void
protocols_parses_single_version_and_range(void **state)
{
	(void)state;
	assert_protocols("TLSv1-TLSv1.3", TLS1_VERSION, TLS1_3_VERSION);
	assert_protocols("TLSv1.2", TLS1_2_VERSION, TLS1_2_VERSION);
	assert_protocols("TLSv1.1-TLSv1.2", TLS1_1_VERSION, TLS1_2_VERSION);
	assert_protocols("TLSv1.3-TLSv1.3", TLS1_3_VERSION, TLS1_3_VERSION);
}

static void
protocols_rejects_unknown_and_reversed_range(void **state)
{
	static const char *bad[] = {
		"", "SSLv3", "TLSv1.4", "tlsv1.2", "TLSv1.3-TLSv1.2",
		"TLSv1.2-", "-TLSv1.3", "TLSv1.2-TLSv1.3-TLSv1.3",
		"TLSv1.2 - TLSv1.3", "TLSv1.2,TLSv1.3", "TLSv1.2 ",
	};
	int min = 7, max = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_protocols(bad[i], &min, &max) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(min, 7);
		assert_int_equal(max, 7);
	}
}

static const char full_conf[] =
	"; every key, none at its default\n"
	"[global]\n"
	"base_domain = Measure.Example.   ; lowercased, final dot dropped\n"
	"hostname    = MX.measure.example\n"
	"database    = /var/lib/mailscope/mailscope.db\n"
	"user        = mailscope\n"
	"resolver    = 127.0.0.1:5353\n"
	"local_part  = probe-1.x\n"
	"wait        = 2h\n"
	"max_connections = 50\n"
	"max_per_ip = 5\n"
	"max_recipients = 7\n"
	"max_errors = 3\n"
	"max_commands = 99\n"
	"max_message_size = 2M\n"
	"max_header_size = 16k\n"
	"line_max = 2048\n"
	"timeout_command = 250ms\n"
	"timeout_data = 90\n"
	"timeout_tls = 2m\n"
	"shutdown_grace = 1s\n"
	"\n"
	"[host plain]\n"
	"listen = 127.0.0.1:2525 [::1]:2525\n"
	"starttls = off\n"
	"\n"
	"[host open]\n"
	"listen = 127.0.0.1:2526 [::1]:2526\n"
	"starttls = optional\n"
	"certificate = a.pem b.pem\n"
	"key = a.key b.key\n"
	"protocols = TLSv1-TLSv1.3\n"
	"ciphers = HIGH:!aNULL\n"
	"greylist_delay = 10m\n"
	"[host grey]\n"
	"listen = 127.0.0.1:2527\n"
	"starttls = optional\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"greylist_delay = 0\n"
	"[host tls]\n"
	"listen = 127.0.0.1:2528\n"
	"starttls = required\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"[host tls-bad]\n"
	"listen = 127.0.0.1:2529\n"
	"starttls = required\n"
	"certificate = b.pem\n"
	"key = b.key\n"
	"[host tls13]\n"
	"listen = 127.0.0.1:2530\n"
	"starttls = required\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"protocols = TLSv1.3\n"
	"[host tls12]\n"
	"listen = 127.0.0.1:2531\n"
	"starttls = required\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"protocols = TLSv1-TLSv1.2\n"
	"[host strong]\n"
	"listen = 127.0.0.1:2532\n"
	"starttls = required\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"ciphers = strong\n"
	"[host medium]\n"
	"listen = 127.0.0.1:2533\n"
	"starttls = required\n"
	"certificate = a.pem\n"
	"key = a.key\n"
	"protocols = TLSv1.2\n"
	"ciphers = medium\n"
	"\n"
	"[web]\n"
	"listen = 127.0.0.1:8443 [::1]:8443\n"
	"certificate = web.pem\n"
	"key = web.key\n"
	"\n"
	"[dns]\n"
	"listen = 127.0.0.1:5300 [::1]:5300\n";

static void
full_valid_file_loads_with_its_values(void **state)
{
	static const struct limits limits = {
		.wait_ms = 2 * 3600 * 1000, .max_connections = 50,
		.max_per_ip = 5, .max_recipients = 7, .max_errors = 3,
		.max_commands = 99, .max_message_size = 2 * 1024 * 1024,
		.max_header_size = 16 * 1024, .line_max = 2048,
		.timeout_command_ms = 250, .timeout_data_ms = 90000,
		.timeout_tls_ms = 120000, .shutdown_grace_ms = 1000,
	};
	const struct host_conf *h;
	struct config *cfg;

	(void)state;
	cfg = assert_loads(full_conf, "", 1);

	assert_string_equal(cfg->file, CONF);
	assert_string_equal(cfg->base_domain, "measure.example");
	assert_string_equal(cfg->hostname, "mx.measure.example");
	assert_string_equal(cfg->database, "/var/lib/mailscope/mailscope.db");
	assert_string_equal(cfg->user, "mailscope");
	assert_string_equal(cfg->resolver, "127.0.0.1:5353");
	assert_string_equal(cfg->local_part, "probe-1.x");
	assert_limits(cfg, &limits);
	assert_int_equal(cfg->nhosts, 9);

	assert_non_null(h = config_host(cfg, "plain"));
	assert_string_equal(h->name, "plain");
	assert_int_equal(h->line, 23);
	assert_int_equal(h->nlisten, 2);
	assert_string_equal(h->listen[0].text, "127.0.0.1:2525");
	assert_int_equal(h->listen[0].ss.ss_family, AF_INET);
	assert_string_equal(h->listen[1].text, "[::1]:2525");
	assert_int_equal(h->listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(port_of(&h->listen[1]), 2525);
	assert_int_equal(h->starttls, STARTTLS_OFF);
	assert_null(h->certificate);
	assert_null(h->key);
	assert_profile(h, TLS1_2_VERSION, TLS1_3_VERSION, "all",
	    5 * 60 * 1000);

	assert_non_null(h = config_host(cfg, "open"));
	assert_int_equal(h->line, 27);
	assert_int_equal(h->starttls, STARTTLS_OPTIONAL);
	assert_paths(h->certificate, NULL, "a.pem b.pem");
	assert_paths(h->key, NULL, "a.key b.key");
	assert_profile(h, TLS1_VERSION, TLS1_3_VERSION, "HIGH:!aNULL",
	    10 * 60 * 1000);

	assert_non_null(h = config_host(cfg, "grey"));
	assert_int_equal(h->greylist_delay_ms, 0);
	assert_non_null(h = config_host(cfg, "tls"));
	assert_int_equal(h->starttls, STARTTLS_REQUIRED);
	assert_non_null(h = config_host(cfg, "tls13"));
	assert_profile(h, TLS1_3_VERSION, TLS1_3_VERSION, "all",
	    5 * 60 * 1000);
	assert_non_null(h = config_host(cfg, "medium"));
	assert_profile(h, TLS1_2_VERSION, TLS1_2_VERSION, "medium",
	    5 * 60 * 1000);

	assert_true(cfg->web.present);
	assert_int_equal(cfg->web.nlisten, 2);
	assert_string_equal(cfg->web.listen[1].text, "[::1]:8443");
	assert_paths(cfg->web.certificate, NULL, "web.pem");
	assert_paths(cfg->web.key, NULL, "web.key");
	assert_true(cfg->dns.present);
	assert_int_equal(cfg->dns.nlisten, 2);
	assert_int_equal(port_of(&cfg->dns.listen[0]), 5300);
	config_free(cfg);
}

/*
 * One connection to every MX of every challenge, the address set a sender
 * delivers at once, counted here from the catalogue's table itself.
 */
static unsigned
set_connections(void)
{
	const struct catalog_challenge *ch;
	unsigned n = 0;
	size_t i, nch;

	ch = catalog_challenges(&nch);
	for (i = 0; i < nch; i++)
		n += 1 + (ch[i].hosts[1] != NULL);
	return n;
}

/* Issue 12: the old default, 10, refused every run of real senders. */
static void
max_per_ip_default_holds_one_address_set_twice(void **state)
{
	struct config *cfg;
	size_t nch;

	(void)state;
	catalog_challenges(&nch);
	assert_int_equal(catalog_set_connections(), set_connections());
	assert_true(set_connections() > nch);
	cfg = assert_loads(GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n", "", 0);
	assert_int_equal(cfg->max_per_ip, 2 * set_connections());
	assert_true(cfg->max_per_ip <= cfg->max_connections);
	config_free(cfg);
	/* and it stays configurable */
	cfg = assert_loads(GLOBAL
	    "max_per_ip = 3\n"
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n", "", 0);
	assert_int_equal(cfg->max_per_ip, 3);
	config_free(cfg);
}

static void
minimal_file_gets_defaults(void **state)
{
	const struct limits defaults = {
		.wait_ms = 3600 * 1000, .max_connections = 200,
		.max_per_ip = 2 * set_connections(), .max_recipients = 100,
		.max_errors = 20,
		.max_commands = 1000, .max_message_size = 10 * 1024 * 1024,
		.max_header_size = 64 * 1024, .line_max = 1000,
		.timeout_command_ms = 5 * 60 * 1000,
		.timeout_data_ms = 10 * 60 * 1000, .timeout_tls_ms = 60 * 1000,
		.shutdown_grace_ms = 30 * 1000,
	};
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n", "", 0);
	assert_null(cfg->user);
	assert_null(cfg->resolver);
	assert_string_equal(cfg->local_part, "measure");
	assert_int_equal(cfg->attribution_window_ms, 24 * 3600 * 1000ULL);
	assert_limits(cfg, &defaults);
	assert_int_equal(cfg->nhosts, 1);
	assert_false(cfg->web.present);
	assert_int_equal(cfg->web.nlisten, 0);
	assert_false(cfg->dns.present);
	config_free(cfg);
}

static void
attribution_window_is_a_duration(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "attribution_window = 2d\n"
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n", "", 0);
	assert_int_equal(cfg->attribution_window_ms, 2 * 24 * 3600 * 1000ULL);
	config_free(cfg);
}

static void
catalogue_host_without_section_is_a_warning(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads("\n" GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n",
	    "t.conf:2: warning: no [host open]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host grey]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host tls]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host tls-bad]: challenges on it will not "
	    "be served\n"
	    "t.conf:2: warning: no [host tls13]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host tls12]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host strong]: challenges on it will not be "
	    "served\n"
	    "t.conf:2: warning: no [host medium]: challenges on it will not be "
	    "served\n", 1);
	config_free(cfg);
}

static void
config_host_finds_a_section_or_null(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem\n"
	    "key = a.key\n", "", 0);
	assert_non_null(config_host(cfg, "tls"));
	assert_int_equal(config_host(cfg, "tls")->line, 5);
	assert_null(config_host(cfg, "plain"));
	assert_null(config_host(cfg, "nonesuch"));
	assert_null(config_host(NULL, "tls"));
	config_free(cfg);
	config_free(NULL);
}

static void
comments_indentation_and_crlf_are_accepted(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads("# a comment\r\n"
	    "  [global]   ; the main section\r\n"
	    "\tbase_domain = measure.example ; a comment\r\n"
	    "    hostname: mx.measure.example\r\n"
	    "    database = a;b.db\r\n"
	    "    resolver = [::1]\r\n"
	    "  [host plain] # another\r\n"
	    "    listen = 127.0.0.1:2525  [::1]:2525\r\n"
	    "    starttls = off\r\n", "", 0);
	/* an indented line is a key of its own, not a continuation */
	assert_string_equal(cfg->base_domain, "measure.example");
	assert_string_equal(cfg->hostname, "mx.measure.example");
	assert_paths(cfg->database, NULL, "a;b.db");
	assert_string_equal(cfg->resolver, "[::1]:53");
	assert_int_equal(config_host(cfg, "plain")->nlisten, 2);
	config_free(cfg);
}

static void
long_comment_line_is_accepted(void **state)
{
	struct config *cfg;
	char text[1024];

	(void)state;
	memset(text, '#', 500);
	text[500] = '\0';
	strcat(text, "\n" GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n");
	cfg = assert_loads(text, "", 0);
	assert_int_equal(config_host(cfg, "plain")->line, 6);
	config_free(cfg);
}

static void
starttls_off_with_certificate_warns_and_drops_it(void **state)
{
	const struct host_conf *h;
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "certificate = a.pem\n"
	    "key = a.key\n"
	    "starttls = off\n",
	    "t.conf:7: warning: starttls = off: certificate and key are not "
	    "used\n", 0);
	assert_non_null(h = config_host(cfg, "plain"));
	assert_null(h->certificate);
	assert_null(h->key);
	config_free(cfg);
}

static void
missing_file_reports_cannot_open(void **state)
{
	struct config *cfg;
	size_t len;
	char *out;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&out, &len));
	cfg = config_load("no-such.conf", f);
	assert_int_equal(fclose(f), 0);
	assert_null(cfg);
	assert_string_equal(out,
	    "no-such.conf: error: cannot open: No such file or directory\n");
	free(out);
}

static void
unknown_key_reported_with_file_and_line(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "colour = blue\n"
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n"
	    "greylist = 5m\n",
	    "t.conf:5: error: unknown key 'colour' in [global]\n"
	    "t.conf:9: error: unknown key 'greylist' in [host plain]\n");
}

static void
soa_email_that_is_no_soa_rname_rejected(void **state)
{
	char local[70], text[512], expected[512];

	(void)state;
	assert_errors(GLOBAL
	    "[zones]\n"
	    "soa_email = a@b@measure.example\n",
	    "t.conf:6: error: bad value for soa_email: 'a@b@measure.example' "
	    "(expected LOCAL@DOMAIN with exactly one '@')\n");
	assert_errors(GLOBAL
	    "[zones]\n"
	    "soa_email = measure.example\n",
	    "t.conf:6: error: bad value for soa_email: 'measure.example' "
	    "(expected LOCAL@DOMAIN with exactly one '@')\n");
	/* RFC 1035 3.3.13: the local part is one label, 63 bytes at most */
	fill(local, 'a', 64);
	snprintf(text, sizeof(text), GLOBAL "[zones]\nsoa_email = %s@x.example\n",
	    local);
	snprintf(expected, sizeof(expected), "t.conf:6: error: bad value for "
	    "soa_email: '%s@x.example' (LOCAL longer than 63 bytes or "
	    "LOCAL.DOMAIN longer than 253: not an SOA RNAME)\n", local);
	assert_errors(text, expected);
	assert_errors(GLOBAL
	    "[zones]\n"
	    "soa_email = a@-bad-.example\n",
	    "t.conf:6: error: bad value for soa_email: 'a@-bad-.example' "
	    "(expected LOCAL@DOMAIN with a-z, 0-9, '-' and '.' in LOCAL)\n");
}

static void
key_of_another_section_is_unknown(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "listen = 127.0.0.1:25\n"
	    "[dns]\n"
	    "listen = 127.0.0.1:53\n"
	    "certificate = a.pem\n",
	    "t.conf:5: error: unknown key 'listen' in [global]\n"
	    "t.conf:8: error: unknown key 'certificate' in [dns]\n");
}

static void
dns_truncate_is_off_or_mx(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53\n", "", 0);
	assert_int_equal(cfg->dns.truncate, DNS_TRUNCATE_OFF);
	config_free(cfg);
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53\n"
	    "truncate = mx\n", "", 0);
	assert_int_equal(cfg->dns.truncate, DNS_TRUNCATE_MX);
	config_free(cfg);
	assert_errors(GLOBAL "[dns]\nlisten = 127.0.0.1:53\ntruncate = MX\n",
	    "t.conf:7: error: bad value for truncate: 'MX' (expected off or "
	    "mx)\n");
}

/* Issue 15: the rate limits of the responder, per client /24 or /56. */
static void
dns_rate_limits_have_defaults_and_are_counts(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53\n", "", 0);
	assert_int_equal(cfg->dns.rrl_rate, 200);
	assert_int_equal(cfg->dns.rrl_slip, 2);
	assert_int_equal(cfg->dns.record_rate, 100);
	config_free(cfg);
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53\n"
	    "rrl_rate = 20\nrrl_slip = 1\nrecord_rate = 5\n", "", 0);
	assert_int_equal(cfg->dns.rrl_rate, 20);
	assert_int_equal(cfg->dns.rrl_slip, 1);
	assert_int_equal(cfg->dns.record_rate, 5);
	config_free(cfg);
	assert_errors(GLOBAL "[dns]\nlisten = 127.0.0.1:53\nrrl_rate = 0\n"
	    "rrl_slip = x\nrecord_rate = -1\n",
	    "t.conf:7: error: bad value for rrl_rate: '0' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:8: error: bad value for rrl_slip: 'x' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:9: error: bad value for record_rate: '-1' "
	    "(expected a number from 1 to 4294967295)\n");
}

/* Issue 12: the zone files mailscoped serves, read at its start. */
static void
dns_zones_is_a_directory_and_needs_an_ipv6_address(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53\n", "", 0);
	assert_null(cfg->dns.zones);
	config_free(cfg);
	cfg = assert_loads(GLOBAL "[dns]\nlisten = 127.0.0.1:53 [::1]:53\n"
	    "zones = out/zones\n", "", 0);
	assert_paths(cfg->dns.zones, NULL, "out/zones");
	assert_int_equal(cfg->dns.zones_line, 7);
	config_free(cfg);
	assert_errors(GLOBAL "[dns]\nlisten = 127.0.0.1:53\nzones = z\n",
	    "t.conf:7: error: zones: the *-dns6 zones are served on IPv6 "
	    "only: [dns] needs an IPv6 listen address\n");
}

static void
unknown_section_reported_and_its_keys_skipped(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[smtp]\n"
	    "listen = 127.0.0.1:25\n"
	    "whatever = 1\n"
	    "[Global]\n"
	    "[global extra]\n"
	    "[web]\n"
	    "listen = 127.0.0.1:443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n",
	    "t.conf:5: error: unknown section [smtp]\n"
	    "t.conf:8: error: unknown section [Global]\n"
	    "t.conf:9: error: unknown section [global extra]\n");
}

static void
key_before_first_section_reported(void **state)
{
	(void)state;
	assert_errors("wait = 1h\n" GLOBAL,
	    "t.conf:1: error: key 'wait' before the first section\n");
}

static void
duplicate_key_reported_with_first_line(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "hostname = other.example\n"
	    "[dns]\n"
	    "listen = 127.0.0.1:53\n"
	    "listen = 127.0.0.1:54\n",
	    "t.conf:5: error: duplicate key 'hostname' in [global], first at "
	    "line 3\n"
	    "t.conf:8: error: duplicate key 'listen' in [dns], first at "
	    "line 7\n");
}

static void
duplicate_sections_reported_and_skipped(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = off\n"
	    "[host plain]\n"
	    "listen = 127.0.0.1:2526\n"
	    "starttls = optional\n"
	    "[global]\n"
	    "base_domain = other.example\n",
	    "t.conf:8: error: duplicate section [host plain], first at line 5\n"
	    "t.conf:11: error: duplicate section [global], first at line 1\n");
}

static void
unknown_host_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host tls14]\n"
	    "listen = 127.0.0.1:2525\n"
	    "[host]\n"
	    "[host plain extra]\n"
	    "[host \x01]\n",
	    "t.conf:5: error: unknown host 'tls14'\n"
	    "t.conf:7: error: missing host name in [host]\n"
	    "t.conf:8: error: unknown host 'plain extra'\n"
	    "t.conf:9: error: unknown host '\\x01'\n");
}

static void
duplicate_listen_address_reported_across_sections(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host plain]\n"
	    "listen = 127.0.0.1:2525 [::1]:2525\n"
	    "starttls = off\n"
	    "[dns]\n"
	    "listen = [0:0::1]:2525 127.0.0.1:53 127.0.0.1:53\n"
	    "[web]\n"
	    "listen = 127.0.0.1:2525\n"
	    "certificate = web.pem\n"
	    "key = web.key\n",
	    "t.conf:9: error: listen address [0:0::1]:2525 already used at "
	    "line 6\n"
	    "t.conf:9: error: listen address 127.0.0.1:53 already used at "
	    "line 9\n"
	    "t.conf:11: error: listen address 127.0.0.1:2525 already used at "
	    "line 6\n");
}

static void
wildcard_listen_overlapping_an_address_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[dns]\n"
	    "listen = 0.0.0.0:53 [::1]:53 127.0.0.1:5353 [::]:53 "
	    "127.0.0.1:53\n",
	    "t.conf:6: error: listen address [::]:53 overlaps [::1]:53 at "
	    "line 6\n"
	    "t.conf:6: error: listen address 127.0.0.1:53 overlaps 0.0.0.0:53 "
	    "at line 6\n");
}

static void
missing_required_key_reported_at_section_line(void **state)
{
	(void)state;
	assert_errors("[global]\n"
	    "base_domain = measure.example\n"
	    "\n"
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "[host open]\n"
	    "starttls = optional\n"
	    "[web]\n"
	    "listen = 127.0.0.1:443\n"
	    "[dns]\n",
	    "t.conf:1: error: missing [global] hostname\n"
	    "t.conf:1: error: missing [global] database\n"
	    "t.conf:4: error: missing [host tls] starttls\n"
	    "t.conf:6: error: missing [host open] listen\n"
	    "t.conf:6: error: missing [host open] certificate (needed with "
	    "starttls = optional)\n"
	    "t.conf:8: error: missing [web] certificate\n"
	    "t.conf:8: error: missing [web] key\n"
	    "t.conf:10: error: missing [dns] listen\n");
}

static void
missing_key_of_certificate_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem\n",
	    "t.conf:5: error: missing [host tls] key\n");
}

static void
missing_global_section_reported_without_line(void **state)
{
	(void)state;
	assert_errors("[dns]\n"
	    "listen = 127.0.0.1:53\n",
	    "t.conf: error: missing [global] base_domain\n"
	    "t.conf: error: missing [global] hostname\n"
	    "t.conf: error: missing [global] database\n");
}

static void
empty_file_reports_missing_global_keys(void **state)
{
	struct config *cfg;
	char *out;

	(void)state;
	cfg = load("", &out, 1);
	assert_null(cfg);
	assert_non_null(strstr(out,
	    "t.conf: error: missing [global] base_domain\n"));
	assert_non_null(strstr(out, "t.conf: warning: no [host plain]: "
	    "challenges on it will not be served\n"));
	free(out);
}

static void
long_line_reported_and_following_lines_still_counted(void **state)
{
	char text[8192], *p;

	(void)state;
	strcpy(text, GLOBAL "user = ");
	p = text + strlen(text);
	fill(p, 'u', 5000 - 7);		/* "user = " is 7 bytes */
	strcat(text, "\n"
	    "bogus = 1\n");
	assert_errors(text,
	    "t.conf:5: error: line too long\n"
	    "t.conf:6: error: unknown key 'bogus' in [global]\n");
}

static void
line_of_4096_bytes_fits_and_4097_is_too_long(void **state)
{
	struct config *cfg;
	char text[8192], *p;

	(void)state;
	strcpy(text, GLOBAL "user = ");
	p = text + strlen(text);
	fill(p, 'u', 4096 - 7);
	strcpy(p + 4096 - 7, "\r\n");
	cfg = assert_loads(text, "", 0);
	assert_int_equal(strlen(cfg->user), 4096 - 7);
	config_free(cfg);

	strcpy(p + 4096 - 7, "u\n");
	assert_errors(text, "t.conf:5: error: line too long\n");
}

/* Lines of about 200 bytes, once the line buffer of inih, lose nothing. */
static void
lines_around_200_bytes_are_read_whole(void **state)
{
	struct config *cfg;
	char text[1024], *p;
	size_t len;

	(void)state;
	for (len = 190; len <= 210; len++) {
		strcpy(text, GLOBAL "user = ");
		p = text + strlen(text);
		fill(p, 'u', len - 7);
		strcat(p, "\n"
		    "wait = 2h\n");
		cfg = assert_loads(text, "", 0);
		assert_int_equal(strlen(cfg->user), len - 7);
		assert_int_equal(cfg->wait_ms, 2 * 3600 * 1000);
		config_free(cfg);
	}
}

#define LONG_FILES	7

/* long/ccc...c.I.EXT: 180 c, so that a few make a long line. */
static void
long_name(char *buf, size_t size, int i, const char *ext)
{
	char c[181];
	int n;

	n = snprintf(buf, size, "long/%s.%d.%s", fill(c, 'c', 180), i, ext);
	assert_true(n > 0 && (size_t)n < size);
}

static void
long_certificate_line_loads_with_its_full_value(void **state)
{
	const struct host_conf *h;
	struct config *cfg;
	char cwd[PATH_MAX], name[256], certs[4096], keys[4096], text[16384];
	size_t co = 0, ko = 0;
	int i, n;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(mkdir("long", 0755), 0);
	for (i = 0; i < LONG_FILES; i++) {
		long_name(name, sizeof(name), i, "pem");
		write_file(name, "not really PEM\n");
		n = snprintf(certs + co, sizeof(certs) - co, "%s%s/%s",
		    i > 0 ? " " : "", cwd, name);
		assert_true(n > 0 && (size_t)n < sizeof(certs) - co);
		co += (size_t)n;
		long_name(name, sizeof(name), i, "key");
		write_file(name, "not really PEM\n");
		n = snprintf(keys + ko, sizeof(keys) - ko, "%s%s",
		    i > 0 ? " " : "", name);
		assert_true(n > 0 && (size_t)n < sizeof(keys) - ko);
		ko += (size_t)n;
	}
	assert_true(co > 1400 && co < 4000);

	/* absolute and relative, indented, a comment, ':' for '=' */
	n = snprintf(text, sizeof(text), GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "\tcertificate =   %s   ; absolute\n"
	    "key:%s\n"
	    "protocols = TLSv1.3\n", certs, keys);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	cfg = assert_loads(text, "", 0);
	assert_non_null(h = config_host(cfg, "tls"));
	assert_string_equal(h->certificate, certs);
	assert_paths(h->key, NULL, keys);
	assert_int_equal(h->proto_min, TLS1_3_VERSION);
	config_free(cfg);
}

static void
errors_after_long_lines_keep_their_line_numbers(void **state)
{
	char text[16384], want[4096], listen[1024];
	char u[1001], x[301], k[251], c[5001], w[5001];
	size_t o = 0;
	int i, n;

	(void)state;
	for (i = 0; i < 30; i++) {
		n = snprintf(listen + o, sizeof(listen) - o, "127.0.0.1:%d ",
		    1001 + i);
		assert_true(n > 0 && (size_t)n < sizeof(listen) - o);
		o += (size_t)n;
	}
	strcat(listen, "127.0.0.1:1001");
	fill(u, 'u', 1000);
	fill(x, 'x', 300);
	fill(k, 'k', 250);
	fill(c, 'c', 5000);
	fill(w, 'w', 5000);
	n = snprintf(text, sizeof(text), GLOBAL
	    "user = %s\n"
	    "user = %.300s\n"
	    "resolver = %s\n"
	    "%s = 1\n"
	    "local_part = \x01" "9\n"	/* a control byte, quoted */
	    "; %s\n"
	    "wait = %s\n"
	    "[dns]   ; %s\n"
	    "listen = %s\n"
	    "bogus = 1\n"
	    "just words %s\n",
	    u, u, x, k, c, w, x, listen, x);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	n = snprintf(want, sizeof(want),
	    "t.conf:6: error: duplicate key 'user' in [global], first at "
	    "line 5\n"
	    "t.conf:7: error: bad value for resolver: '%s' "
	    "(expected ADDR, ADDR:PORT, [ADDR] or [ADDR]:PORT)\n"
	    "t.conf:8: error: unknown key '%s' in [global]\n"
	    "t.conf:9: error: bad value for local_part: '\\x019' "
	    "(expected a-z, 0-9, '-' and '.' between them)\n"
	    "t.conf:11: error: line too long\n"
	    "t.conf:13: error: listen address 127.0.0.1:1001 already used "
	    "at line 13\n"
	    "t.conf:14: error: unknown key 'bogus' in [dns]\n"
	    "t.conf:15: error: syntax error at 'just': expected "
	    "'key = value'\n", x, k);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_errors(text, want);
}

static void
relative_paths_resolve_against_the_config_directory(void **state)
{
	static const char *files[] = {
		"rel/certs/r.pem", "rel/certs/r.key", "rel/certs/w.pem",
		"rel/certs/w.key",
	};
	const struct host_conf *h;
	struct config *cfg;
	char top[PATH_MAX], dir[PATH_MAX], conf[PATH_MAX], text[2048];
	char list[PATH_MAX * 2], *out;
	const char *cwd[2], *path[2];
	size_t i;
	int n;

	(void)state;
	assert_non_null(getcwd(top, sizeof(top)));
	assert_int_equal(mkdir("rel", 0755), 0);
	assert_int_equal(mkdir("rel/certs", 0755), 0);
	assert_int_equal(mkdir("rel/sub", 0755), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		write_file(files[i], "not really PEM\n");
	/* a.pem and a.key are in the directory the tests run in */
	n = snprintf(text, sizeof(text),
	    "[global]\n"
	    "base_domain = measure.example\n"
	    "hostname = mx.measure.example\n"
	    "database = data/m.db\n"
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = certs/r.pem %s/a.pem\n"
	    "key = ./certs/r.key\t%s/a.key\n"
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = certs/w.pem\n"
	    "key = certs/w.key\n", top, top);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_file("rel/m.conf", text);
	n = snprintf(dir, sizeof(dir), "%s/rel", top);
	assert_true(n > 0 && (size_t)n < sizeof(dir));
	n = snprintf(conf, sizeof(conf), "%s/m.conf", dir);
	assert_true(n > 0 && (size_t)n < sizeof(conf));

	/* from a directory below it, and from / with an absolute path */
	cwd[0] = "rel/sub";
	path[0] = "../m.conf";
	cwd[1] = "/";
	path[1] = conf;
	for (i = 0; i < 2; i++) {
		assert_int_equal(chdir(cwd[i]), 0);
		cfg = load_path(path[i], &out, 0);
		assert_int_equal(chdir(top), 0);
		assert_string_equal(out, "");
		free(out);
		assert_non_null(cfg);
		assert_string_equal(cfg->file, path[i]);
		assert_paths(cfg->database, dir, "data/m.db");
		assert_non_null(h = config_host(cfg, "tls"));
		n = snprintf(list, sizeof(list), "certs/r.pem %s/a.pem", top);
		assert_true(n > 0 && (size_t)n < sizeof(list));
		assert_paths(h->certificate, dir, list);
		n = snprintf(list, sizeof(list), "./certs/r.key %s/a.key",
		    top);
		assert_true(n > 0 && (size_t)n < sizeof(list));
		assert_paths(h->key, dir, list);
		assert_paths(cfg->web.certificate, dir, "certs/w.pem");
		assert_paths(cfg->web.key, dir, "certs/w.key");
		config_free(cfg);
	}

	/* a.pem is in the working directory, not in the file's */
	write_file("rel/bad.conf", GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem\n"
	    "key = certs/r.key\n");
	cfg = load_path("rel/bad.conf", &out, 0);
	assert_string_equal(out, "rel/bad.conf:8: error: cannot read "
	    "certificate 'a.pem': No such file or directory\n");
	free(out);
	assert_null(cfg);
}

static void
relative_path_in_a_directory_with_white_space_reported(void **state)
{
	struct config *cfg;
	char text[1024], *out;
	int n;

	(void)state;
	assert_int_equal(mkdir("sp ace", 0755), 0);
	write_file("sp ace/a.pem", "not really PEM\n");
	write_file("sp ace/a.key", "not really PEM\n");
	/* one path may have white space; a list cannot */
	write_file("sp ace/s.conf", GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem\n"
	    "key = a.key\n");
	cfg = load_path("sp ace/s.conf", &out, 0);
	n = snprintf(text, sizeof(text),
	    "sp ace/s.conf:8: error: cannot resolve relative certificate "
	    "'a.pem': white space in the directory of the file\n"
	    "sp ace/s.conf:9: error: cannot resolve relative key 'a.key': "
	    "white space in the directory of the file\n");
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_string_equal(out, text);
	free(out);
	assert_null(cfg);
}

static void
syntax_errors_all_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "just words\n"
	    "[host plain\n"
	    "listen = 127.0.0.1:2525\n"
	    "[dns] trailing\n"
	    "listen = 127.0.0.1:53\n"
	    "= value\n"
	    "[web ; comment]\n"
	    "nul\n",
	    "t.conf:5: error: syntax error at 'just': expected 'key = value'\n"
	    "t.conf:6: error: syntax error at '[host plain': missing ']'\n"
	    "t.conf:8: error: syntax error at 'trailing'\n"
	    "t.conf:10: error: syntax error at '='\n"
	    "t.conf:11: error: syntax error at '[web ; comment]': missing "
	    "']'\n"
	    "t.conf:12: error: syntax error at 'nul': expected "
	    "'key = value'\n");
}

static void
nul_byte_in_line_reported(void **state)
{
	char text[256];
	size_t len;
	struct config *cfg;
	char *out;
	FILE *f;

	(void)state;
	len = strlen(GLOBAL);
	memcpy(text, GLOBAL "user = a", len + 8);
	text[len + 8] = '\0';
	memcpy(text + len + 9, "b\n", 2);
	assert_non_null(f = fopen(CONF, "w"));
	assert_int_equal(fwrite(text, 1, len + 11, f), len + 11);
	assert_int_equal(fclose(f), 0);
	assert_non_null(f = open_memstream(&out, &len));
	cfg = config_load(CONF, f);
	assert_int_equal(fclose(f), 0);
	drop_host_warnings(out);
	assert_string_equal(out, "t.conf:5: error: NUL byte in line\n");
	assert_null(cfg);
	free(out);
}

/* The analysis worker threads: 2 by default, 1 to 16. */
static void
analysis_workers_default_and_bounds(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL, "", 0);
	assert_int_equal(cfg->analysis_workers, 2);
	config_free(cfg);
	cfg = assert_loads(GLOBAL "analysis_workers = 8\n", "", 0);
	assert_int_equal(cfg->analysis_workers, 8);
	config_free(cfg);
	assert_errors(GLOBAL "analysis_workers = 0\n",
	    "t.conf:5: error: bad value for analysis_workers: '0' "
	    "(expected a number from 1 to 4294967295)\n");
	assert_errors(GLOBAL "analysis_workers = 17\n",
	    "t.conf:5: error: analysis_workers: at most 16\n");
}

/* [web]'s plain listener for a proxy and its limits on creating tests. */
static void
web_keys_load_with_their_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n", "", 0);
	assert_int_equal(cfg->web.nhttp_listen, 0);
	assert_int_equal(cfg->web.tests_per_client, 10);
	assert_int_equal(cfg->web.tests_total, 600);
	assert_int_equal(cfg->web.tests_period_ms, 3600 * 1000);
	config_free(cfg);

	cfg = assert_loads(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "http_listen = 127.0.0.1:8080 [::1]:8080\n"
	    "tests_per_client = 3\n"
	    "tests_total = 50\n"
	    "tests_period = 10m\n", "", 0);
	assert_int_equal(cfg->web.nhttp_listen, 2);
	assert_string_equal(cfg->web.http_listen[1].text, "[::1]:8080");
	assert_int_equal(port_of(&cfg->web.http_listen[0]), 8080);
	assert_int_equal(cfg->web.tests_per_client, 3);
	assert_int_equal(cfg->web.tests_total, 50);
	assert_int_equal(cfg->web.tests_period_ms, 10 * 60 * 1000);
	config_free(cfg);

	assert_errors(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "http_listen = localhost:8080\n"
	    "tests_per_client = 0\n"
	    "tests_total = many\n"
	    "tests_period = 0s\n",
	    "t.conf:9: error: bad value for http_listen: 'localhost:8080' "
	    "(expected ADDR:PORT or [ADDR]:PORT with a numeric address and a "
	    "port from 1 to 65535)\n"
	    "t.conf:10: error: bad value for tests_per_client: '0' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:11: error: bad value for tests_total: 'many' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:12: error: bad value for tests_period: '0s' "
	    "(must be more than 0)\n");
}

/* [web]'s probes: off by default, their limits, the opt-out list. */
static void
web_probe_keys_load_with_their_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n", "", 0);
	assert_int_equal(cfg->web.probe, 0);
	assert_int_equal(cfg->web.probe_private, 0);
	assert_int_equal(cfg->web.probes_per_client, 10);
	assert_int_equal(cfg->web.probes_per_domain, 6);
	assert_int_equal(cfg->web.probes_total, 60);
	assert_int_equal(cfg->web.probe_port, 25);
	assert_int_equal(cfg->web.nprobe_opt_out, 0);
	config_free(cfg);

	/* a lab's: private addresses and another port are said */
	cfg = assert_loads(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "probe = on\n"
	    "probe_private = yes\n"
	    "probes_per_client = 3\n"
	    "probes_per_domain = 2\n"
	    "probes_total = 100\n"
	    "probe_port = 2525\n"
	    "probe_opt_out = Example.NET. owner.test\n"
	    "probe_opt_out = third.example\n",
	    "t.conf:10: warning: probe_private = yes: probes from the web "
	    "may connect to loopback and private addresses (labs only)\n"
	    "t.conf:14: warning: probe_port = 2525: probes from the web go "
	    "to that port, not to 25 (labs only)\n", 0);
	assert_int_equal(cfg->web.probe, 1);
	assert_int_equal(cfg->web.probe_private, 1);
	assert_int_equal(cfg->web.probes_per_client, 3);
	assert_int_equal(cfg->web.probes_per_domain, 2);
	assert_int_equal(cfg->web.probes_total, 100);
	assert_int_equal(cfg->web.probe_port, 2525);
	assert_int_equal(cfg->web.nprobe_opt_out, 3);
	assert_string_equal(cfg->web.probe_opt_out[0], "example.net");
	assert_string_equal(cfg->web.probe_opt_out[1], "owner.test");
	assert_string_equal(cfg->web.probe_opt_out[2], "third.example");
	config_free(cfg);

	/* the daemon does no lookups, its probes do */
	cfg = assert_loads(GLOBAL
	    "resolver = off\n"
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "probe = on\n",
	    "t.conf:10: warning: probe = on with resolver = off: the web's "
	    "probes look names up with the system's resolver "
	    "(/etc/resolv.conf)\n", 0);
	config_free(cfg);

	/* off: nothing to say about what is not used */
	cfg = assert_loads(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "probe = off\n"
	    "probe_private = yes\n", "", 0);
	assert_int_equal(cfg->web.probe, 0);
	config_free(cfg);

	assert_errors(GLOBAL
	    "[web]\n"
	    "listen = 127.0.0.1:8443\n"
	    "certificate = web.pem\n"
	    "key = web.key\n"
	    "probe = maybe\n"
	    "probe_private = 1\n"
	    "probes_per_domain = 0\n"
	    "probe_port = 65536\n"
	    "probe_opt_out = ok.example bad..example 192.0.2.1\n",
	    "t.conf:9: error: bad value for probe: 'maybe' (expected on, "
	    "off, yes or no)\n"
	    "t.conf:10: error: bad value for probe_private: '1' (expected "
	    "on, off, yes or no)\n"
	    "t.conf:11: error: bad value for probes_per_domain: '0' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:12: error: bad value for probe_port: '65536' (expected "
	    "a port from 1 to 65535)\n"
	    "t.conf:13: error: bad value for probe_opt_out: 'bad..example' "
	    "(not a DNS name)\n"
	    "t.conf:13: error: bad value for probe_opt_out: '192.0.2.1' "
	    "(not a DNS name)\n");
}

static void
bad_values_name_the_key_and_quote_the_value(void **state)
{
	(void)state;
	assert_errors("[global]\n"
	    "base_domain = measure_example\n"
	    "hostname = -mx.example\n"
	    "database =\n"
	    "user = mail scope\n"
	    "resolver = ::1\n"
	    "local_part = Measure\n"
	    "wait = forever\n"
	    "max_connections = -1\n"
	    "max_per_ip = 4294967296\n"
	    "max_message_size = 10MB\n"
	    "timeout_data = 5\x7f\n"
	    "shutdown_grace = 'it\\s'\n"
	    "[host open]\n"
	    "listen = 127.0.0.1:2525 localhost:25 [::1]:0\n"
	    "starttls = maybe\n"
	    "certificate = a.pem\n"
	    "key = a.key\n"
	    "protocols = TLSv1.3-TLSv1\n"
	    "ciphers = NOSUCHCIPHER\n"
	    "greylist_delay = 1y\n",
	    "t.conf:2: error: bad value for base_domain: 'measure_example' "
	    "(not a DNS name)\n"
	    "t.conf:3: error: bad value for hostname: '-mx.example' "
	    "(not a DNS name)\n"
	    "t.conf:4: error: missing value for database\n"
	    "t.conf:5: error: bad value for user: 'mail scope' "
	    "(white space or control characters)\n"
	    "t.conf:6: error: bad value for resolver: '::1' "
	    "(expected ADDR, ADDR:PORT, [ADDR] or [ADDR]:PORT)\n"
	    "t.conf:7: error: bad value for local_part: 'Measure' "
	    "(expected a-z, 0-9, '-' and '.' between them)\n"
	    "t.conf:8: error: bad value for wait: 'forever' "
	    "(expected a duration such as 250ms, 30s, 5m, 1h or 7d)\n"
	    "t.conf:9: error: bad value for max_connections: '-1' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:10: error: bad value for max_per_ip: '4294967296' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:11: error: bad value for max_message_size: '10MB' "
	    "(expected a size such as 65536, 64k, 10M or 1G)\n"
	    "t.conf:12: error: bad value for timeout_data: '5\\x7f' "
	    "(expected a duration such as 250ms, 30s, 5m, 1h or 7d)\n"
	    "t.conf:13: error: bad value for shutdown_grace: '\\'it\\\\s\\'' "
	    "(expected a duration such as 250ms, 30s, 5m, 1h or 7d)\n"
	    "t.conf:15: error: bad value for listen: 'localhost:25' "
	    "(expected ADDR:PORT or [ADDR]:PORT with a numeric address and a "
	    "port from 1 to 65535)\n"
	    "t.conf:15: error: bad value for listen: '[::1]:0' "
	    "(expected ADDR:PORT or [ADDR]:PORT with a numeric address and a "
	    "port from 1 to 65535)\n"
	    "t.conf:16: error: bad value for starttls: 'maybe' "
	    "(expected off, optional or required)\n"
	    "t.conf:19: error: bad value for protocols: 'TLSv1.3-TLSv1' "
	    "(expected one of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3, or MIN-MAX)\n"
	    "t.conf:20: error: bad value for ciphers: 'NOSUCHCIPHER' "
	    "(neither all, strong, medium nor an OpenSSL cipher list)\n"
	    "t.conf:21: error: bad value for greylist_delay: '1y' "
	    "(expected a duration such as 250ms, 30s, 5m, 1h or 7d)\n");
}

static void
zero_limits_and_timeouts_rejected(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "max_recipients = 0\n"
	    "max_header_size = 0k\n"
	    "timeout_command = 0s\n"
	    "timeout_tls = 0ms\n",
	    "t.conf:5: error: bad value for max_recipients: '0' "
	    "(expected a number from 1 to 4294967295)\n"
	    "t.conf:6: error: bad value for max_header_size: '0k' "
	    "(must be more than 0)\n"
	    "t.conf:7: error: bad value for timeout_command: '0s' "
	    "(must be more than 0)\n"
	    "t.conf:8: error: bad value for timeout_tls: '0ms' "
	    "(must be more than 0)\n");
}

static void
line_max_outside_512_to_65536_rejected(void **state)
{
	struct config *cfg;

	(void)state;
	assert_errors(GLOBAL "line_max = 511\n",
	    "t.conf:5: error: bad value for line_max: '511' "
	    "(must be from 512 to 65536)\n");
	assert_errors(GLOBAL "line_max = 65537\n",
	    "t.conf:5: error: bad value for line_max: '65537' "
	    "(must be from 512 to 65536)\n");
	cfg = assert_loads(GLOBAL "line_max = 64k\n", "", 0);
	assert_int_equal(cfg->line_max, 65536);
	config_free(cfg);
}

static void
certificate_and_key_count_mismatch_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem b.pem\n"
	    "key = a.key\n"
	    "[web]\n"
	    "listen = 127.0.0.1:443\n"
	    "key = a.key b.key\n"
	    "certificate = web.pem\n",
	    "t.conf:9: error: key lists 1 file but certificate lists 2\n"
	    "t.conf:12: error: key lists 2 files but certificate lists 1\n");
}

static void
unreadable_certificate_reported(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "certificate = a.pem missing.pem\n"
	    "key = a.key missing.key\n",
	    "t.conf:8: error: cannot read certificate 'missing.pem': No such "
	    "file or directory\n"
	    "t.conf:9: error: cannot read key 'missing.key': No such file or "
	    "directory\n");
}

static void
several_errors_in_one_file_all_reported(void **state)
{
	(void)state;
	assert_errors("[global]\n"
	    "base_domain = measure.example\n"
	    "hostname = mx.measure.example\n"
	    "wait = soon\n"
	    "bogus = 1\n"
	    "[nonsense]\n"
	    "[host tls]\n"
	    "listen = 127.0.0.1:2525 127.0.0.1:2525\n"
	    "starttls = required\n"
	    "starttls = optional\n"
	    "certificate = a.pem\n"
	    "protocols = TLSv9\n"
	    "no equals sign here\n"
	    "[host tls]\n"
	    "[dns]\n",
	    "t.conf:4: error: bad value for wait: 'soon' "
	    "(expected a duration such as 250ms, 30s, 5m, 1h or 7d)\n"
	    "t.conf:5: error: unknown key 'bogus' in [global]\n"
	    "t.conf:6: error: unknown section [nonsense]\n"
	    "t.conf:8: error: listen address 127.0.0.1:2525 already used at "
	    "line 8\n"
	    "t.conf:10: error: duplicate key 'starttls' in [host tls], "
	    "first at line 9\n"
	    "t.conf:12: error: bad value for protocols: 'TLSv9' "
	    "(expected one of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3, or MIN-MAX)\n"
	    "t.conf:13: error: syntax error at 'no': expected 'key = value'\n"
	    "t.conf:14: error: duplicate section [host tls], first at line 7\n"
	    "t.conf:1: error: missing [global] database\n"
	    "t.conf:7: error: missing [host tls] key\n"
	    "t.conf:15: error: missing [dns] listen\n");
}

static int
group_setup(void **state)
{
	static const char *files[] = {
		"a.pem", "a.key", "b.pem", "b.key", "web.pem", "web.key",
	};
	char tmpl[] = "/tmp/test_config.XXXXXX", *dir;
	size_t i;

	if (mkdtemp(tmpl) == NULL || (dir = strdup(tmpl)) == NULL ||
	    chdir(dir) == -1)
		return -1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		write_file(files[i], "not really PEM\n");
	*state = dir;
	return 0;
}

/* rm -r PATH: what the tests made, no symbolic links. */
static void
rm_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[PATH_MAX];
	DIR *d;
	int n;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			n = snprintf(sub, sizeof(sub), "%s/%s", path,
			    de->d_name);
			if (n > 0 && (size_t)n < sizeof(sub))
				rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int
group_teardown(void **state)
{
	char *dir = *state;

	if (chdir("/") == -1)
		return -1;
	rm_tree(dir);
	free(dir);
	return 0;
}

static void
challenge_listen_gives_challenges_addresses_of_their_own(void **state)
{
	const struct host_conf *h;
	struct config *cfg;
	char buf[256];

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host open]\n"
	    "listen = 192.0.2.1:25 [2001:db8::1]:25\n"
	    "challenge_listen = v4 192.0.2.4:25\n"
	    "challenge_listen = v6 [2001:db8::6]:25 uniq [2001:db8::17]:25\n"
	    "challenge_listen = uniq 192.0.2.17:25\n"
	    "challenge_listen = dns 192.0.2.18:25\n"
	    "starttls = optional\n"
	    "certificate = /dev/null\n"
	    "key = /dev/null\n", "", 0);
	assert_non_null(h = config_host(cfg, "open"));
	assert_int_equal(h->nlisten, 2);
	assert_int_equal(h->nchlisten, 5);
	assert_string_equal(h->chlisten[0].challenge, "v4");
	assert_string_equal(h->chlisten[0].addr.text, "192.0.2.4:25");
	assert_int_equal(h->chlisten[0].line, 7);
	assert_string_equal(h->chlisten[1].challenge, "v6");
	assert_int_equal(h->chlisten[1].addr.ss.ss_family, AF_INET6);
	assert_string_equal(h->chlisten[2].challenge, "uniq");
	assert_string_equal(h->chlisten[2].addr.text, "[2001:db8::17]:25");
	assert_int_equal(h->chlisten[2].line, 8);
	assert_string_equal(h->chlisten[3].challenge, "uniq");
	assert_int_equal(h->chlisten[3].line, 9);
	/* the catalogue's own string: compared by value by the listener */
	assert_ptr_equal(h->chlisten[0].challenge,
	    catalog_challenge("v4")->name);

	assert_int_equal(config_challenge_naddr(h, "uniq", AF_UNSPEC), 2);
	assert_int_equal(config_challenge_naddr(h, "uniq", AF_INET), 1);
	assert_int_equal(config_challenge_naddr(h, "v4", AF_INET6), 0);
	assert_int_equal(config_challenge_naddr(h, "dns", AF_UNSPEC), 1);

	/*
	 * The shared addresses: the challenges whose MX publishes them;
	 * dns's per-test MX, which the responder answers, has its own IPv4
	 * address but the shared IPv6 ones (dns_answer.c).
	 */
	assert_int_equal(config_shared_challenges(h, AF_INET, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "v4-dns6,v4-bogus");
	assert_int_equal(config_shared_challenges(h, AF_INET6, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "v6-dns6,v6-bogus,dns");
	assert_int_equal(config_shared_challenges(h, AF_INET, buf, 8), -1);
	config_free(cfg);
}

static void
shared_address_no_mx_publishes_is_for_every_challenge_of_the_host(void **state)
{
	const struct host_conf *h;
	struct config *cfg;
	char buf[256];

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host plain]\n"
	    "listen = 192.0.2.1:25\n"
	    "challenge_listen = plaintext 192.0.2.2:25\n"
	    "challenge_listen = sts-plain 192.0.2.3:25\n"
	    "challenge_listen = sts-2mx-plain 192.0.2.4:25\n"
	    "starttls = off\n", "", 0);
	assert_non_null(h = config_host(cfg, "plain"));
	assert_int_equal(config_shared_challenges(h, AF_INET, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "plaintext,sts-plain,sts-2mx-plain");
	/* no IPv6 of their own: every MX publishes the shared ones */
	assert_int_equal(config_shared_challenges(h, AF_INET6, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "plaintext,sts-plain,sts-2mx-plain");
	config_free(cfg);
}

static void
host_with_challenge_addresses_only_needs_no_listen(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host plain]\n"
	    "challenge_listen = plaintext [2001:db8::2]:25\n"
	    "starttls = off\n", "", 0);
	assert_int_equal(config_host(cfg, "plain")->nlisten, 0);
	assert_int_equal(config_host(cfg, "plain")->nchlisten, 1);
	config_free(cfg);
}

static void
challenge_listen_errors_reported_with_file_and_line(void **state)
{
	(void)state;
	assert_errors(GLOBAL
	    "[host plain]\n"
	    "listen = 192.0.2.1:25 [2001:db8::1]:25\n"
	    "challenge_listen = nonesuch 192.0.2.9:25 plaintext 192.0.2.2:25\n"
	    "challenge_listen = tls 192.0.2.3:25\n"
	    "challenge_listen = sts-2mx-tls 192.0.2.4:25\n"
	    "challenge_listen = 192.0.2.5:25 sts-plain\n"
	    "challenge_listen = plaintext 192.0.2.1:25\n"
	    "challenge_listen = sts-plain 192.0.2.2:25\n"
	    "challenge_listen = sts-plain 0.0.0.0:25 [::]:25\n"
	    "challenge_listen = sts-plain 192.0.2.6 [2001:db8::6]\n"
	    "starttls = off\n",
	    "t.conf:7: error: bad value for challenge_listen: 'nonesuch' "
	    "(unknown challenge)\n"
	    "t.conf:8: error: bad value for challenge_listen: 'tls' "
	    "(challenge tls is served by [host tls], not by [host plain])\n"
	    "t.conf:9: error: bad value for challenge_listen: 'sts-2mx-tls' "
	    "(challenge sts-2mx-tls is served by [host tls-bad] and "
	    "[host tls], not by [host plain])\n"
	    "t.conf:10: error: bad value for challenge_listen: "
	    "'192.0.2.5:25' (an address before the first challenge name)\n"
	    "t.conf:10: error: challenge_listen: challenge sts-plain without "
	    "an address\n"
	    "t.conf:11: error: listen address 192.0.2.1:25 already used at "
	    "line 6\n"
	    "t.conf:12: error: listen address 192.0.2.2:25 already used at "
	    "line 7\n"
	    "t.conf:13: error: bad value for challenge_listen: '0.0.0.0:25' "
	    "(a wildcard address is shared: it cannot name a challenge)\n"
	    "t.conf:13: error: bad value for challenge_listen: '[::]:25' "
	    "(a wildcard address is shared: it cannot name a challenge)\n"
	    "t.conf:14: error: bad value for challenge_listen: '192.0.2.6' "
	    "(expected ADDR:PORT or [ADDR]:PORT with a numeric address and a "
	    "port from 1 to 65535)\n"
	    "t.conf:14: error: bad value for challenge_listen: "
	    "'[2001:db8::6]' (expected ADDR:PORT or [ADDR]:PORT with a "
	    "numeric address and a port from 1 to 65535)\n"
	    "t.conf:14: error: challenge_listen: challenge sts-plain without "
	    "an address\n");
}

static void
challenge_address_outside_its_mx_family_is_a_warning(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = assert_loads(GLOBAL
	    "[host open]\n"
	    "challenge_listen = v4 192.0.2.4:25 [2001:db8::4]:25\n"
	    "starttls = optional\n"
	    "certificate = /dev/null\n"
	    "key = /dev/null\n",
	    "t.conf:6: warning: challenge v4 has an A-only MX: its address "
	    "[2001:db8::4]:25 is never published\n", 0);
	assert_int_equal(config_host(cfg, "open")->nchlisten, 2);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(duration_accepts_every_unit),
		cmocka_unit_test(duration_bare_number_is_seconds),
		cmocka_unit_test(duration_rejects_garbage_and_overflow),
		cmocka_unit_test(size_accepts_suffixes_as_powers_of_1024),
		cmocka_unit_test(size_rejects_garbage_and_overflow),
		cmocka_unit_test(listen_parses_ipv4_and_ipv6_with_port),
		cmocka_unit_test(
		    listen_rejects_names_missing_ports_and_bad_ports),
		cmocka_unit_test(protocols_parses_single_version_and_range),
		cmocka_unit_test(protocols_rejects_unknown_and_reversed_range),
		cmocka_unit_test(full_valid_file_loads_with_its_values),
		cmocka_unit_test(minimal_file_gets_defaults),
		cmocka_unit_test(attribution_window_is_a_duration),
		cmocka_unit_test(max_per_ip_default_holds_one_address_set_twice),
		cmocka_unit_test(catalogue_host_without_section_is_a_warning),
		cmocka_unit_test(config_host_finds_a_section_or_null),
		cmocka_unit_test(
		    challenge_listen_gives_challenges_addresses_of_their_own),
		cmocka_unit_test(
		    shared_address_no_mx_publishes_is_for_every_challenge_of_the_host),
		cmocka_unit_test(host_with_challenge_addresses_only_needs_no_listen),
		cmocka_unit_test(
		    challenge_listen_errors_reported_with_file_and_line),
		cmocka_unit_test(
		    challenge_address_outside_its_mx_family_is_a_warning),
		cmocka_unit_test(comments_indentation_and_crlf_are_accepted),
		cmocka_unit_test(long_comment_line_is_accepted),
		cmocka_unit_test(
		    starttls_off_with_certificate_warns_and_drops_it),
		cmocka_unit_test(missing_file_reports_cannot_open),
		cmocka_unit_test(unknown_key_reported_with_file_and_line),
		cmocka_unit_test(key_of_another_section_is_unknown),
		cmocka_unit_test(dns_truncate_is_off_or_mx),
		cmocka_unit_test(dns_rate_limits_have_defaults_and_are_counts),
		cmocka_unit_test(dns_zones_is_a_directory_and_needs_an_ipv6_address),
		cmocka_unit_test(unknown_section_reported_and_its_keys_skipped),
		cmocka_unit_test(key_before_first_section_reported),
		cmocka_unit_test(duplicate_key_reported_with_first_line),
		cmocka_unit_test(duplicate_sections_reported_and_skipped),
		cmocka_unit_test(unknown_host_reported),
		cmocka_unit_test(
		    duplicate_listen_address_reported_across_sections),
		cmocka_unit_test(
		    wildcard_listen_overlapping_an_address_reported),
		cmocka_unit_test(missing_required_key_reported_at_section_line),
		cmocka_unit_test(missing_key_of_certificate_reported),
		cmocka_unit_test(missing_global_section_reported_without_line),
		cmocka_unit_test(empty_file_reports_missing_global_keys),
		cmocka_unit_test(
		    long_line_reported_and_following_lines_still_counted),
		cmocka_unit_test(line_of_4096_bytes_fits_and_4097_is_too_long),
		cmocka_unit_test(lines_around_200_bytes_are_read_whole),
		cmocka_unit_test(long_certificate_line_loads_with_its_full_value),
		cmocka_unit_test(
		    errors_after_long_lines_keep_their_line_numbers),
		cmocka_unit_test(
		    relative_paths_resolve_against_the_config_directory),
		cmocka_unit_test(
		    relative_path_in_a_directory_with_white_space_reported),
		cmocka_unit_test(syntax_errors_all_reported),
		cmocka_unit_test(nul_byte_in_line_reported),
		cmocka_unit_test(analysis_workers_default_and_bounds),
		cmocka_unit_test(web_keys_load_with_their_defaults),
		cmocka_unit_test(web_probe_keys_load_with_their_defaults),
		cmocka_unit_test(bad_values_name_the_key_and_quote_the_value),
		cmocka_unit_test(zero_limits_and_timeouts_rejected),
		cmocka_unit_test(line_max_outside_512_to_65536_rejected),
		cmocka_unit_test(certificate_and_key_count_mismatch_reported),
		cmocka_unit_test(unreadable_certificate_reported),
		cmocka_unit_test(several_errors_in_one_file_all_reported),
		cmocka_unit_test(soa_email_that_is_no_soa_rname_rejected),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
