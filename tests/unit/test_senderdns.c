/*
 * Unit tests of the sender's zones that need no DNS server: the names
 * asked about, the trust anchor file, and the rows of a message when no
 * lookup succeeds (no resolver): each name once per role, at most
 * SENDERDNS_MAX_NAMES, all indeterminate.
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsname.h"
#include "records.h"
#include "senderdns.h"

#define DS_LINE	"measure.test. 3600 IN DS 12345 13 2 " \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"

static void
names_asked_about(void **state)
{
	char long_label[70], long_name[300];

	(void)state;
	assert_true(dnsname_valid("example.org"));
	assert_true(dnsname_valid("_dmarc.x-1.example"));
	assert_true(dnsname_valid("1.0.0.127.in-addr.arpa"));
	assert_true(dnsname_valid("localhost"));
	assert_false(dnsname_valid(""));
	assert_false(dnsname_valid("."));
	assert_false(dnsname_valid("a..b"));
	assert_false(dnsname_valid(".a"));
	assert_false(dnsname_valid("a b.example"));
	assert_false(dnsname_valid("a\\046b.example"));
	assert_false(dnsname_valid("caf\xc3\xa9.example"));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(dnsname_valid(long_label));
	long_label[63] = '\0';
	assert_true(dnsname_valid(long_label));
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	for (size_t i = 50; i < 254; i += 50)
		long_name[i] = '.';
	assert_false(dnsname_valid(long_name));
	long_name[253] = '\0';
	assert_true(dnsname_valid(long_name));
}

static char *
anchor_file(const char *text)
{
	char *path = strdup("/tmp/ms-anchor-XXXXXX");
	int fd;

	assert_non_null(path);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
trust_anchor_files(void **state)
{
	struct senderdns *sd;
	char err[256], *p;

	(void)state;
	p = anchor_file("; the lab's anchor\n$TTL 3600\n" DS_LINE);
	assert_non_null(sd = senderdns_new(NULL, p, err, sizeof(err)));
	senderdns_free(sd);
	unlink(p);
	free(p);

	p = anchor_file(DS_LINE "other.test. 3600 IN DS 1 13 2 "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_null(senderdns_new(NULL, p, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: error: a second owner name"));
	unlink(p);
	free(p);

	p = anchor_file("measure.test. 3600 IN A 192.0.2.1\n");
	assert_null(senderdns_new(NULL, p, err, sizeof(err)));
	assert_non_null(strstr(err, "no DS or DNSKEY record"));
	unlink(p);
	free(p);

	assert_null(senderdns_new(NULL, "/nonexistent/root.key", err,
	    sizeof(err)));
	assert_string_equal(err,
	    "trust anchor /nonexistent/root.key: cannot open");
	senderdns_free(NULL);
}

static void
each_name_once_per_role_and_bounded(void **state)
{
	struct senderdns *sd;
	struct senderdns_rec rec;
	struct dkim_sig_rec sigs[14];
	struct dkim_rec dkim;
	char err[256], names[14][32], *p;
	size_t i;

	(void)state;
	p = anchor_file(DS_LINE);
	assert_non_null(sd = senderdns_new(NULL, p, err, sizeof(err)));
	memset(&dkim, 0, sizeof(dkim));
	memset(sigs, 0, sizeof(sigs));
	for (i = 0; i < 14; i++) {
		(void)snprintf(names[i], sizeof(names[i]), "d%zu.example",
		    i < 2 ? 0 : i);
		sigs[i].domain = names[i];
	}
	sigs[13].domain = NULL;
	dkim.sigs = sigs;
	dkim.nsigs = 14;
	assert_int_equal(senderdns_check(sd, "Example.ORG.", "bad name",
	    &dkim, "2001:db8::1", &rec), 0);
	assert_true(rec.checked);
	assert_int_equal(rec.n, SENDERDNS_MAX_NAMES);
	assert_string_equal(rec.zones[0].role, "mailfrom");
	assert_string_equal(rec.zones[0].name, "example.org");
	assert_null(rec.zones[0].zone);
	assert_string_equal(rec.zones[0].dnssec, "indeterminate");
	assert_string_equal(rec.zones[0].dnssec_error,
	    "SOA example.org: error");
	assert_int_equal(rec.zones[0].ipv6_ns, -1);
	/* the From "bad name" is no name; the reverse before the DKIM d= */
	assert_string_equal(rec.zones[1].role, "reverse");
	assert_string_equal(rec.zones[1].name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_string_equal(rec.zones[2].role, "dkim");
	assert_string_equal(rec.zones[2].name, "d0.example");
	assert_string_equal(rec.zones[3].name, "d2.example");
	assert_string_equal(rec.zones[9].name, "d8.example");
	records_senderdns_clear(&rec);
	senderdns_free(sd);
	unlink(p);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_asked_about),
		cmocka_unit_test(trust_anchor_files),
		cmocka_unit_test(each_name_once_per_role_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
