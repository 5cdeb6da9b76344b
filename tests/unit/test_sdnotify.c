/*
 * Unit tests of sdnotify.c: the state arrives as one datagram on the
 * socket $NOTIFY_SOCKET names, as a path and as an abstract name.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sdnotify.h"

/* A datagram socket bound to NAME (a path, or '@' + abstract name). */
static int
bind_dgram(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(name) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[128];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)strlen(want));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
sdnotify_sends_to_a_path(void **state)
{
	char dir[] = "/tmp/sdnotify-XXXXXX", path[64], err[256];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(sdnotify_send("READY=1", err, sizeof(err)), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_send("STOPPING=1", err, sizeof(err)), 1);
	expect_datagram(fd, "STOPPING=1");
	(void)close(fd);
	(void)unlink(path);
	(void)rmdir(dir);
}

static void
sdnotify_sends_to_an_abstract_name(void **state)
{
	char name[64], err[256];
	int fd;

	(void)state;
	(void)snprintf(name, sizeof(name), "@mailscope-sdnotify-%ld",
	    (long)getpid());
	fd = bind_dgram(name);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	assert_int_equal(sdnotify_send("READY=1", err, sizeof(err)), 1);
	expect_datagram(fd, "READY=1");
	(void)close(fd);
}

static void
sdnotify_without_socket_does_nothing(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	assert_int_equal(sdnotify_send("READY=1", err, sizeof(err)), 0);
}

static void
sdnotify_refuses_a_relative_or_absent_socket(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(setenv("NOTIFY_SOCKET", "run/notify", 1), 0);
	assert_int_equal(sdnotify_send("READY=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "run/notify"));
	assert_int_equal(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1),
	    0);
	assert_int_equal(sdnotify_send("READY=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/notify"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sdnotify_sends_to_a_path),
		cmocka_unit_test(sdnotify_sends_to_an_abstract_name),
		cmocka_unit_test(sdnotify_without_socket_does_nothing),
		cmocka_unit_test(sdnotify_refuses_a_relative_or_absent_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
