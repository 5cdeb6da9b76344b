/*
 * Unit tests of fatalx() with the daemon's hook (log.c): on a thread
 * other than the main one it calls the hook, which wakes the event loop
 * as mailscoped's does, and ends that thread alone; without a hook, or
 * on the main thread, it exits 1 as before.
 */
#include "build.h"

#include <sys/wait.h>

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

/* What the failing thread and the loop saw. */
struct seen {
	struct event_base	*base;
	struct event		*ev;
	int			 hook_calls;	/* on the failing thread */
	int			 loop_woken;	/* on the main thread */
	int			 after_fatalx;	/* must stay 0 */
};

static void
hook(void *arg)
{
	struct seen *s = arg;

	s->hook_calls++;
	event_active(s->ev, 0, 0);
}

static void
on_fatal(evutil_socket_t fd, short what, void *arg)
{
	struct seen *s = arg;

	(void)fd;
	(void)what;
	s->loop_woken++;
	event_base_loopexit(s->base, NULL);
}

static void *
failing_thread(void *arg)
{
	struct seen *s = arg;

	fatalx("test: a worker thread fails");
	s->after_fatalx = 1;	/* never reached: fatalx is noreturn */
	return arg;
}

static void
fatalx_on_a_thread_wakes_the_loop_and_ends_it_alone(void **state)
{
	struct seen s = { 0 };
	struct timeval five = { 5, 0 };
	pthread_t t;
	void *ret = &s;

	(void)state;
	assert_int_equal(evthread_use_pthreads(), 0);
	assert_non_null(s.base = event_base_new());
	assert_non_null(s.ev = event_new(s.base, -1, 0, on_fatal, &s));
	log_set_fatal_hook(hook, &s);
	/* the loop's own bound, should the hook never come */
	assert_int_equal(event_base_loopexit(s.base, &five), 0);
	assert_int_equal(pthread_create(&t, NULL, failing_thread, &s), 0);
	assert_int_equal(event_base_dispatch(s.base), 0);
	/* the thread ended with pthread_exit(NULL): joined, not returned */
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_null(ret);
	assert_int_equal(s.hook_calls, 1);
	assert_int_equal(s.loop_woken, 1);
	assert_int_equal(s.after_fatalx, 0);
	log_set_fatal_hook(NULL, NULL);
	event_free(s.ev);
	event_base_free(s.base);
}

/* The exit status of a child that calls fatalx() (on its only thread). */
static int
child_fatalx(int with_hook)
{
	struct seen s = { 0 };
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		if (with_hook)
			log_set_fatal_hook(hook, &s);
		fatalx("test: the main thread fails");
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
fatalx_exits_1_without_a_hook(void **state)
{
	(void)state;
	assert_int_equal(child_fatalx(0), 1);
}

static void
fatalx_on_the_main_thread_exits_1_despite_the_hook(void **state)
{
	(void)state;
	assert_int_equal(child_fatalx(1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    fatalx_on_a_thread_wakes_the_loop_and_ends_it_alone),
		cmocka_unit_test(fatalx_exits_1_without_a_hook),
		cmocka_unit_test(
		    fatalx_on_the_main_thread_exits_1_despite_the_hook),
	};

	log_init("test_fatal", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
