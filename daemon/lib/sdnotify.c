/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET
 * (systemd's "notify" protocol, docs of sd_notify and systemd.service
 * Type=notify).  Main thread of the daemon.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

int
sdnotify_send(const char *state, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	const char *path;
	socklen_t len;
	size_t plen;
	ssize_t n;
	int fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		(void)snprintf(err, errlen, "NOTIFY_SOCKET %s: not an absolute "
		    "path nor an abstract name ('@'), or too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	/* an abstract name: a leading NUL, and no terminating one counted */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		(void)snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return -1;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	if (n == -1)
		(void)snprintf(err, errlen, "NOTIFY_SOCKET %s: %s", path,
		    strerror(errno));
	(void)close(fd);
	return n == -1 ? -1 : 1;
}
