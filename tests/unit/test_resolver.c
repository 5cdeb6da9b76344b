/*
 * Unit tests of the DNS layer that need no DNS server: configurations,
 * reverse names, and a nameserver that never answers (a timeout, every
 * time: ldns would otherwise give the server up after the first).
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "resolver.h"

static void
reverse_names(void **state)
{
	char buf[80];

	(void)state;
	assert_int_equal(resolver_reverse_name("127.0.0.1", buf, sizeof(buf)),
	    0);
	assert_string_equal(buf, "1.0.0.127.in-addr.arpa");
	assert_int_equal(resolver_reverse_name("2001:db8::1", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(resolver_reverse_name("mta.example", buf,
	    sizeof(buf)), -1);
	assert_int_equal(resolver_reverse_name("2001:db8::1", buf, 20), -1);
}

static void
configured_nameservers_of_both_families(void **state)
{
	struct config cfg;
	struct resolver *r;
	char err[128];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.resolver_timeout_ms = 100;
	cfg.resolver = "127.0.0.1:5353";
	assert_non_null(r = resolver_new(&cfg, err, sizeof(err)));
	resolver_free(r);
	cfg.resolver = "[::1]:53";
	assert_non_null(r = resolver_new(&cfg, err, sizeof(err)));
	resolver_free(r);
	cfg.resolver = "off";
	assert_true(resolver_disabled(&cfg));
	assert_null(resolver_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "resolver = off");
	resolver_free(NULL);
}

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec * 1000 + (double)tv.tv_usec / 1000;
}

static void
a_silent_nameserver_times_out_every_time(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct resolver_answer a;
	struct config cfg;
	struct resolver *r;
	char err[128], addr[32];
	double t0;
	int fd, i;

	(void)state;
	/* bound and never read: the queries wait in its buffer */
	assert_true((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	(void)snprintf(addr, sizeof(addr), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
	memset(&cfg, 0, sizeof(cfg));
	cfg.resolver = addr;
	cfg.resolver_timeout_ms = 100;
	assert_non_null(r = resolver_new(&cfg, err, sizeof(err)));
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		assert_int_equal(resolver_lookup(r, "example.org", RESOLVER_TXT,
		    &a), 0);
		assert_int_equal(a.status, RESOLVER_TIMEOUT);
		assert_string_equal(resolver_status_name(&a), "timeout");
		/* the first try and one retry */
		assert_true(now_ms() - t0 >= 190);
		assert_true(now_ms() - t0 < 1000);
		resolver_answer_clear(&a);
	}
	/* a name that cannot be asked is not sent */
	assert_int_equal(resolver_lookup(r, "a..b", RESOLVER_A, &a), 0);
	assert_int_equal(a.status, RESOLVER_BADNAME);
	resolver_free(r);
	/* no resolver: every lookup is an error */
	assert_int_equal(resolver_lookup(NULL, "example.org", RESOLVER_A, &a),
	    0);
	assert_int_equal(a.status, RESOLVER_ERROR);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reverse_names),
		cmocka_unit_test(configured_nameservers_of_both_families),
		cmocka_unit_test(a_silent_nameserver_times_out_every_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
