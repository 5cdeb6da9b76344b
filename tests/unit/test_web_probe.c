/*
 * Unit tests of the web's probe (daemon/server/web_probe.c) without the
 * network: the domain a request names, the token of the owner's opt-out
 * record, the operator's list, the limits per client net (/24), per
 * domain and in all, the result kept for a domain over its limit, and
 * where the page's style is.  The probe itself runs in
 * tests/integration/test_web_probe.py.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "types.h"
#include "web_probe.h"

static void
domain_is_lowercased_and_trimmed(void **state)
{
	char out[DNSNAME_MAX + 1];
	static const struct {
		const char	*in;
		const char	*want;
	} ok[] = {
		{ "example.org", "example.org" },
		{ "Example.ORG.", "example.org" },
		{ "  mail.example.co.uk\t", "mail.example.co.uk" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "a-b.c-d.test", "a-b.c-d.test" },
		{ "example.c0m", "example.c0m" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(web_probe_domain(ok[i].in, strlen(ok[i].in),
		    out), 0);
		assert_string_equal(out, ok[i].want);
	}
}

static void
what_is_no_domain_is_refused(void **state)
{
	static const char *const bad[] = {
		"", " ", ".", "example", "example.", "192.0.2.1",
		"192.0.2.1.", "example..org", ".example.org",
		"example.org..", "example.org/x", "http://example.org",
		"ex ample.org", "example.org:25", "[2001:db8::1]",
		"2001:db8::1", "exa%6dple.org", "ex\"ample.org",
		"example.org\n", "-", "a.-b.org", "a.b-.org", "-a.org",
		"a.org-", "_dmarc.example.org", "a_b.example",
		"user@example.org", "<b>.org",
	};
	char out[DNSNAME_MAX + 1], longname[DNSNAME_MAX + 3];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(web_probe_domain(bad[i], strlen(bad[i]), out),
		    -1);
	/* a NUL inside what the client sent */
	assert_int_equal(web_probe_domain("a.org\0b.org", 11, out), -1);
	/* 253 octets is a name, 254 is none */
	memset(longname, 'a', sizeof(longname));
	for (i = 63; i < DNSNAME_MAX; i += 64)
		longname[i] = '.';
	longname[DNSNAME_MAX] = '\0';
	assert_int_equal(web_probe_domain(longname, DNSNAME_MAX, out), 0);
	longname[DNSNAME_MAX] = 'a';
	assert_int_equal(web_probe_domain(longname, DNSNAME_MAX + 1, out), -1);
}

static void
opt_out_is_a_token_of_the_record(void **state)
{
	(void)state;
	assert_true(web_probe_txt_opts_out("opt-out"));
	assert_true(web_probe_txt_opts_out("OPT-OUT"));
	assert_true(web_probe_txt_opts_out("v=mailscope1; opt-out"));
	assert_true(web_probe_txt_opts_out("opt-out; contact=x@example.org"));
	assert_true(web_probe_txt_opts_out("  opt-out,"));
	assert_false(web_probe_txt_opts_out(""));
	assert_false(web_probe_txt_opts_out("optout"));
	assert_false(web_probe_txt_opts_out("opt-outs"));
	assert_false(web_probe_txt_opts_out("no-opt-out"));
	assert_false(web_probe_txt_opts_out("opt-in"));
	assert_false(web_probe_txt_opts_out("v=spf1 -all"));
}

static void
style_of_a_page_is_found(void **state)
{
	static const char page[] = "<html><head><style>a{b:c}</style>"
	    "</head><body><style>x</style></body></html>";
	size_t off, len;

	(void)state;
	assert_int_equal(web_probe_style(page, strlen(page), &off, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(page + off, "a{b:c}", 6);
	assert_int_equal(web_probe_style("<p>none</p>", 11, &off, &len), -1);
	assert_int_equal(web_probe_style("<style>open", 11, &off, &len), -1);
}

/* A config with only what web_probe_new() reads. */
static struct config *
probe_config(unsigned per_client, unsigned per_domain, unsigned total)
{
	static char *opt_out[] = { "example.net", "owner.test" };
	struct config *cfg;

	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	cfg->web.probe = 1;
	cfg->web.probes_per_client = per_client;
	cfg->web.probes_per_domain = per_domain;
	cfg->web.probes_total = total;
	cfg->web.probe_port = 25;
	cfg->web.probe_opt_out = opt_out;
	cfg->web.nprobe_opt_out = 2;
	return cfg;
}

static enum web_probe_admit
admit(struct web_probe *wp, const char *net, const char *domain, double now,
    unsigned *retry, const struct web_probe_kept **kept)
{
	char detail[WEB_PROBE_DETAIL_MAX];

	detail[0] = '\0';
	return web_probe_admit(wp, net, domain, now, retry, kept, detail);
}

static void
operator_list_covers_subdomains(void **state)
{
	struct config *cfg = probe_config(100, 100, 100);
	const struct web_probe_kept *kept;
	char detail[WEB_PROBE_DETAIL_MAX];
	struct web_probe *wp;
	unsigned retry;

	(void)state;
	assert_non_null(wp = web_probe_new(cfg, 25000));
	assert_int_equal(web_probe_admit(wp, "192.0.2.1", "example.net", 0,
	    &retry, &kept, detail), WPA_OPT_OUT);
	assert_non_null(strstr(detail, "example.net"));
	assert_int_equal(admit(wp, "192.0.2.1", "mx.example.net", 0, &retry,
	    &kept), WPA_OPT_OUT);
	assert_int_equal(admit(wp, "192.0.2.1", "a.b.owner.test", 0, &retry,
	    &kept), WPA_OPT_OUT);
	assert_int_equal(admit(wp, "192.0.2.1", "notexample.net", 0, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "192.0.2.1", "example.net.org", 0, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "192.0.2.1", "net", 0, &retry, &kept),
	    WPA_PROBE);
	web_probe_free(wp);
	free(cfg);
}

static void
client_net_is_its_slash_24(void **state)
{
	struct config *cfg = probe_config(2, 100, 100);
	const struct web_probe_kept *kept;
	struct web_probe *wp;
	unsigned retry;

	(void)state;
	assert_non_null(wp = web_probe_new(cfg, 25000));
	assert_int_equal(admit(wp, "192.0.2.1", "a.example", 10, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "192.0.2.200", "b.example", 10, &retry,
	    &kept), WPA_PROBE);
	/* the same /24: its third in the hour is refused, retry in 30 min */
	assert_int_equal(admit(wp, "192.0.2.9", "c.example", 10, &retry,
	    &kept), WPA_CLIENT);
	assert_int_equal(retry, 1800);
	assert_null(kept);
	/* another /24, and an IPv6 /64 (as netaddr_client_net() gives it) */
	assert_int_equal(admit(wp, "192.0.3.9", "c.example", 10, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "2001:db8:1:2::/64", "d.example", 10,
	    &retry, &kept), WPA_PROBE);
	/* a token back after half an hour */
	assert_int_equal(admit(wp, "192.0.2.9", "c.example", 10 + 1800,
	    &retry, &kept), WPA_PROBE);
	web_probe_free(wp);
	free(cfg);
}

static void
domain_over_its_limit_gets_its_kept_result(void **state)
{
	struct config *cfg = probe_config(100, 1, 100);
	const struct web_probe_kept *kept;
	struct web_probe_out out;
	struct web_probe *wp;
	unsigned retry;
	double now = clock_now();	/* web_probe_keep() expires by it */

	(void)state;
	assert_non_null(wp = web_probe_new(cfg, 25000));
	assert_int_equal(admit(wp, "192.0.2.1", "a.example", now, &retry,
	    &kept), WPA_PROBE);
	/* nothing kept yet: 429 with the wait for the domain's token */
	assert_int_equal(admit(wp, "198.51.100.1", "a.example", now, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(retry, 3600);
	assert_null(kept);
	/* a result that did not run is not kept */
	memset(&out, 0, sizeof(out));
	out.status = 403;
	web_probe_keep(wp, "a.example", &out);
	assert_int_equal(admit(wp, "198.51.100.1", "a.example", now, &retry,
	    &kept), WPA_LIMIT);
	/* its result: kept, served while the domain is over its limit */
	memset(&out, 0, sizeof(out));
	out.status = 200;
	out.finished = now;
	assert_non_null(out.json = strdup("{}"));
	out.json_len = 2;
	assert_non_null(out.html = strdup("<p>"));
	out.html_len = 3;
	web_probe_keep(wp, "a.example", &out);
	assert_null(out.json);
	assert_null(out.html);
	assert_int_equal(admit(wp, "198.51.100.1", "a.example", now + 60,
	    &retry, &kept), WPA_CACHED);
	assert_non_null(kept);
	assert_string_equal(kept->domain, "a.example");
	assert_memory_equal(kept->json, "{}", 2);
	/* another domain has its own limit */
	assert_int_equal(admit(wp, "198.51.100.1", "b.example", now + 60,
	    &retry, &kept), WPA_PROBE);
	/* one below it shares its organizational domain's, kept nothing */
	assert_int_equal(admit(wp, "198.51.100.1", "mx.b.example", now + 60,
	    &retry, &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "198.51.100.1", "mx.a.example", now + 60,
	    &retry, &kept), WPA_LIMIT);
	/* an hour later the result is gone, and the domain's token is back */
	assert_int_equal(admit(wp, "198.51.100.1", "a.example", now + 3600,
	    &retry, &kept), WPA_PROBE);
	web_probe_free(wp);
	free(cfg);
}

/* A result of LEN bytes (JSON and page together) for DOMAIN, kept. */
static void
keep_sized(struct web_probe *wp, const char *domain, double now, size_t len)
{
	struct web_probe_out out;

	memset(&out, 0, sizeof(out));
	out.status = 200;
	out.finished = now;
	assert_non_null(out.json = calloc(1, len / 2));
	out.json_len = len / 2;
	assert_non_null(out.html = calloc(1, len - len / 2));
	out.html_len = len - len / 2;
	web_probe_keep(wp, domain, &out);
	web_probe_out_clear(&out);
}

static void
kept_results_are_bounded_in_bytes(void **state)
{
	struct config *cfg = probe_config(100, 1, 100);
	const struct web_probe_kept *kept;
	struct web_probe *wp;
	char domain[32];
	unsigned retry;
	double now = clock_now();
	int i;

	(void)state;
	assert_non_null(wp = web_probe_new(cfg, 25000));
	/* over 4 MiB: not kept */
	assert_int_equal(admit(wp, "192.0.2.1", "big.example", now, &retry,
	    &kept), WPA_PROBE);
	keep_sized(wp, "big.example", now, 4 * 1024 * 1024 + 1);
	assert_int_equal(admit(wp, "192.0.2.1", "big.example", now, &retry,
	    &kept), WPA_LIMIT);
	/* nine of 3.9 MiB: 32 MiB hold eight, the oldest goes */
	for (i = 1; i <= 9; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(admit(wp, "192.0.2.1", domain, now, &retry,
		    &kept), WPA_PROBE);
		keep_sized(wp, domain, now + i, 39 * 1024 * 1024 / 10);
	}
	assert_int_equal(admit(wp, "192.0.2.1", "d1.example", now + 10,
	    &retry, &kept), WPA_LIMIT);
	for (i = 2; i <= 9; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(admit(wp, "192.0.2.1", domain, now + 10,
		    &retry, &kept), WPA_CACHED);
	}
	/* a new result of a domain replaces its old one */
	keep_sized(wp, "d9.example", now + 11, 100);
	assert_int_equal(admit(wp, "192.0.2.1", "d9.example", now + 12,
	    &retry, &kept), WPA_CACHED);
	assert_int_equal(kept->json_len + kept->html_len, 100);
	web_probe_free(wp);
	free(cfg);
}

static void
everyone_s_limit_counts_every_domain(void **state)
{
	struct config *cfg = probe_config(100, 100, 2);
	const struct web_probe_kept *kept;
	struct web_probe *wp;
	unsigned retry;

	(void)state;
	assert_non_null(wp = web_probe_new(cfg, 25000));
	assert_int_equal(admit(wp, "192.0.2.1", "a.example", 0, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "198.51.100.1", "b.example", 0, &retry,
	    &kept), WPA_PROBE);
	assert_int_equal(admit(wp, "203.0.113.1", "c.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(retry, 1800);
	/*
	 * Requests, kept results among them, from everyone: four times the
	 * probes (eight); three were made.  Many nets cannot fill the table.
	 */
	assert_int_equal(admit(wp, "203.0.113.1", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "203.0.114.1", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "2001:db8:1::/64", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "2001:db8:2::/64", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "2001:db8:3::/64", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(admit(wp, "2001:db8:4::/64", "d.example", 0, &retry,
	    &kept), WPA_LIMIT);
	assert_int_equal(retry, 450);
	web_probe_free(wp);
	free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(domain_is_lowercased_and_trimmed),
		cmocka_unit_test(what_is_no_domain_is_refused),
		cmocka_unit_test(opt_out_is_a_token_of_the_record),
		cmocka_unit_test(style_of_a_page_is_found),
		cmocka_unit_test(operator_list_covers_subdomains),
		cmocka_unit_test(client_net_is_its_slash_24),
		cmocka_unit_test(domain_over_its_limit_gets_its_kept_result),
		cmocka_unit_test(kept_results_are_bounded_in_bytes),
		cmocka_unit_test(everyone_s_limit_counts_every_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
