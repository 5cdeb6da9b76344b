/*
 * Unit tests of the greylist table: verdicts over time, the key, expiry,
 * the size bound and entries loaded from the store.
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "greylist.h"

#define DELAY_MS	300000	/* 5 min */
#define EXPIRE_MS	(7 * 24 * 3600 * 1000ULL)

static enum grey_verdict
check(struct greylist *g, const char *from, const char *rcpt, double t,
    const struct grey_entry **e)
{
	return greylist_check(g, from, rcpt, "id", t, DELAY_MS, e);
}

static void
first_try_and_early_retry_are_deferred_then_retry_passes(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 10);
	const struct grey_entry *e;

	(void)state;
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1000, &e),
	    GREY_NEW);
	assert_int_equal(e->attempts, 1);
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1299, &e),
	    GREY_EARLY);
	assert_int_equal(e->attempts, 2);
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1300, &e),
	    GREY_PASS);
	assert_true(e->passed == 1300 && e->first_seen == 1000);
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1400, &e),
	    GREY_KNOWN);
	assert_int_equal(e->attempts, 4);
	assert_true(e->passed == 1300);
	greylist_free(g);
}

static void
key_is_sender_and_recipient_case_insensitive(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 10);
	const struct grey_entry *e;

	(void)state;
	check(g, "A@X.example", "m@y.example", 1000, &e);
	assert_string_equal(e->mail_from, "a@x.example");
	assert_int_equal(check(g, "a@x.EXAMPLE", "M@y.example", 1400, &e),
	    GREY_PASS);
	/* another sender or recipient is another entry */
	assert_int_equal(check(g, "b@x.example", "m@y.example", 1400, &e),
	    GREY_NEW);
	assert_int_equal(check(g, "a@x.example", "n@y.example", 1400, &e),
	    GREY_NEW);
	greylist_free(g);
}

static void
null_sender_is_a_key_too(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 10);
	const struct grey_entry *e;

	(void)state;
	assert_int_equal(check(g, "", "m@y.example", 1000, &e), GREY_NEW);
	assert_int_equal(check(g, "", "m@y.example", 1300, &e), GREY_PASS);
	greylist_free(g);
}

static void
expired_entry_starts_over(void **state)
{
	struct greylist *g = greylist_new(10000, 10);	/* 10 s */
	const struct grey_entry *e;

	(void)state;
	check(g, "a@x.example", "m@y.example", 1000, &e);
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1011, &e),
	    GREY_NEW);
	assert_true(e->first_seen == 1011);
	assert_int_equal(e->attempts, 1);
	greylist_free(g);
}

static void
full_table_without_passed_entries_defers(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 2);
	const struct grey_entry *e;

	(void)state;
	check(g, "a@x.example", "1@y.example", 1000, &e);
	check(g, "a@x.example", "2@y.example", 1000, &e);
	/* nothing to forget: deferred (451), never accepted unlisted */
	assert_int_equal(check(g, "a@x.example", "3@y.example", 1000, &e),
	    GREY_FULL);
	assert_null(e);
	/* known entries still work */
	assert_int_equal(check(g, "a@x.example", "1@y.example", 1300, &e),
	    GREY_PASS);
	greylist_free(g);
}

static void
full_table_forgets_the_passed_entry_unused_longest(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 2);
	const struct grey_entry *e;

	(void)state;
	check(g, "a@x.example", "1@y.example", 1000, &e);
	check(g, "b@x.example", "1@y.example", 1000, &e);
	assert_int_equal(check(g, "a@x.example", "1@y.example", 1300, &e),
	    GREY_PASS);
	assert_int_equal(check(g, "b@x.example", "1@y.example", 1301, &e),
	    GREY_PASS);
	assert_int_equal(check(g, "a@x.example", "1@y.example", 1400, &e),
	    GREY_KNOWN);
	/* full: b passed and was used least recently */
	assert_int_equal(check(g, "c@x.example", "1@y.example", 1500, &e),
	    GREY_NEW);
	assert_int_equal(check(g, "a@x.example", "1@y.example", 1600, &e),
	    GREY_KNOWN);
	/* b starts over; a, the only passed entry left, makes room */
	assert_int_equal(check(g, "b@x.example", "1@y.example", 1700, &e),
	    GREY_NEW);
	assert_int_equal(check(g, "c@x.example", "1@y.example", 1800, &e),
	    GREY_PASS);
	greylist_free(g);
}

static void
full_table_makes_room_from_expired_entries(void **state)
{
	struct greylist *g = greylist_new(10000, 1);
	const struct grey_entry *e;

	(void)state;
	check(g, "a@x.example", "1@y.example", 1000, &e);
	assert_int_equal(check(g, "a@x.example", "2@y.example", 1011, &e),
	    GREY_NEW);
	greylist_free(g);
}

static void
loaded_entry_keeps_its_state(void **state)
{
	struct greylist *g = greylist_new(EXPIRE_MS, 10);
	struct grey_entry in = { "a@x.example", "m@y.example", "id", 1000,
	    1000, 0, 1 };
	struct grey_entry old = { "o@x.example", "m@y.example", "id", 1,
	    1, 0, 1 };
	const struct grey_entry *e;

	(void)state;
	greylist_load(g, &in, 1100);
	greylist_load(g, &old, 1000000000);	/* expired: dropped */
	assert_int_equal(check(g, "a@x.example", "m@y.example", 1300, &e),
	    GREY_PASS);
	assert_int_equal(e->attempts, 2);
	greylist_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    first_try_and_early_retry_are_deferred_then_retry_passes),
		cmocka_unit_test(key_is_sender_and_recipient_case_insensitive),
		cmocka_unit_test(null_sender_is_a_key_too),
		cmocka_unit_test(expired_entry_starts_over),
		cmocka_unit_test(full_table_without_passed_entries_defers),
		cmocka_unit_test(full_table_forgets_the_passed_entry_unused_longest),
		cmocka_unit_test(full_table_makes_room_from_expired_entries),
		cmocka_unit_test(loaded_entry_keeps_its_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
