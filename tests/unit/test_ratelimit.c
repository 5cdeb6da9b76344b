/*
 * Unit tests of the rate limits: the burst of one client net, its refill
 * over the period, other nets unaffected, everyone's limit, Retry-After
 * rounded up, full buckets forgotten, refusals counted until taken.
 */
#include "build.h"

#include <stdio.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

#define A	"192.0.2.1"
#define B	"2001:db8:1:2::/64"
#define HOUR	3600.0

static void
take_ok(struct ratelimit *rl, const char *net, double now)
{
	unsigned retry = 0;

	assert_int_equal(ratelimit_take(rl, net, now, &retry), RL_OK);
}

static void
client_burst_then_refused_with_retry_after(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 100, HOUR);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 1000);
	take_ok(rl, A, 1000);
	take_ok(rl, A, 1000);
	assert_int_equal(ratelimit_take(rl, A, 1000, &retry), RL_CLIENT);
	/* one token per 1200 s */
	assert_int_equal(retry, 1200);
	assert_int_equal(ratelimit_take(rl, A, 1500, &retry), RL_CLIENT);
	assert_int_equal(retry, 700);
	ratelimit_free(rl);
}

static void
client_bucket_refills_over_the_period(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 100, HOUR);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 0);
	take_ok(rl, A, 0);
	take_ok(rl, A, 0);
	take_ok(rl, A, 1200);
	assert_int_equal(ratelimit_take(rl, A, 1200, &retry), RL_CLIENT);
	/* never more than the burst, however long the pause */
	take_ok(rl, A, 100 * HOUR);
	take_ok(rl, A, 100 * HOUR);
	take_ok(rl, A, 100 * HOUR);
	assert_int_equal(ratelimit_take(rl, A, 100 * HOUR, &retry),
	    RL_CLIENT);
	ratelimit_free(rl);
}

static void
other_net_is_not_limited_by_one(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 100, HOUR);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 0);
	assert_int_equal(ratelimit_take(rl, A, 0, &retry), RL_CLIENT);
	take_ok(rl, B, 0);
	ratelimit_free(rl);
}

static void
total_limit_refuses_every_net(void **state)
{
	struct ratelimit *rl = ratelimit_new(10, 2, 60);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 0);
	take_ok(rl, B, 0);
	assert_int_equal(ratelimit_take(rl, "192.0.2.7", 0, &retry),
	    RL_TOTAL);
	assert_int_equal(retry, 30);
	/* a refusal takes no token of the client's bucket */
	assert_int_equal(ratelimit_take(rl, A, 10, &retry), RL_TOTAL);
	assert_int_equal(retry, 20);
	take_ok(rl, A, 30);
	ratelimit_free(rl);
}

static void
retry_after_rounds_up_to_a_whole_second(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 100, 10);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 0);
	assert_int_equal(ratelimit_take(rl, A, 9.5, &retry), RL_CLIENT);
	assert_int_equal(retry, 1);
	take_ok(rl, B, 0);
	assert_int_equal(ratelimit_take(rl, B, 0.2, &retry), RL_CLIENT);
	assert_int_equal(retry, 10);
	ratelimit_free(rl);
}

static void
full_buckets_are_forgotten(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 1000, 100);
	char net[32];
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(net, sizeof(net), "198.51.100.%d", i);
		take_ok(rl, net, 0);
	}
	assert_int_equal(ratelimit_nets(rl), 200);
	/* after the period every bucket is full again: nothing kept */
	take_ok(rl, A, 100);
	assert_int_equal(ratelimit_nets(rl), 1);
	ratelimit_free(rl);
}

static void
clock_going_back_adds_no_token(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 100, HOUR);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 5000);
	assert_int_equal(ratelimit_take(rl, A, 10, &retry), RL_CLIENT);
	assert_int_equal(ratelimit_take(rl, A, 5000, &retry), RL_CLIENT);
	ratelimit_free(rl);
}

/*
 * The refusals of a net are counted until taken: a counting limit keeps
 * the net for them, another forgets it with its count.
 */
static void
refusals_are_counted_until_taken(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 100, 10);
	struct ratelimit *kept = ratelimit_new_counting(1, 100, 10);
	unsigned retry = 0;

	(void)state;
	take_ok(rl, A, 0);
	assert_int_equal(ratelimit_take(rl, A, 0, &retry), RL_CLIENT);
	assert_int_equal(ratelimit_take(rl, A, 1, &retry), RL_CLIENT);
	assert_int_equal(ratelimit_refused(rl, A), 2);
	assert_int_equal(ratelimit_refused(rl, A), 0);
	assert_int_equal(ratelimit_refused(rl, B), 0);
	assert_int_equal(ratelimit_take(rl, A, 2, &retry), RL_CLIENT);
	assert_int_equal(ratelimit_forgotten(rl), 0);
	/* full again after 10 s: forgotten with its count at the next take */
	take_ok(rl, B, 20);
	assert_int_equal(ratelimit_refused(rl, A), 0);
	assert_int_equal(ratelimit_forgotten(rl), 1);
	assert_int_equal(ratelimit_forgotten(rl), 0);
	ratelimit_free(rl);

	take_ok(kept, A, 0);
	assert_int_equal(ratelimit_take(kept, A, 0, &retry), RL_CLIENT);
	take_ok(kept, B, 20);
	assert_int_equal(ratelimit_forgotten(kept), 0);
	assert_int_equal(ratelimit_refused(kept, A), 1);
	ratelimit_free(kept);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_burst_then_refused_with_retry_after),
		cmocka_unit_test(client_bucket_refills_over_the_period),
		cmocka_unit_test(other_net_is_not_limited_by_one),
		cmocka_unit_test(total_limit_refuses_every_net),
		cmocka_unit_test(retry_after_rounds_up_to_a_whole_second),
		cmocka_unit_test(full_buckets_are_forgotten),
		cmocka_unit_test(clock_going_back_adds_no_token),
		cmocka_unit_test(refusals_are_counted_until_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
