/*
 * The service manager's readiness protocol (sd_notify(3), without
 * libsystemd): a state line as one datagram to $NOTIFY_SOCKET.
 */
#ifndef MAILSCOPE_SDNOTIFY_H
#define MAILSCOPE_SDNOTIFY_H

/*
 * Sends STATE ("READY=1", "STOPPING=1", ...) to the AF_UNIX datagram
 * socket named by $NOTIFY_SOCKET: a path, or an abstract name written
 * with a leading '@'.  1 when sent, 0 when the variable is not set (not
 * started by a service manager), -1 with ERR on failure.
 */
int	sdnotify_send(const char *state, char *err, size_t errlen);

#endif /* MAILSCOPE_SDNOTIFY_H */
