/*
 * SPF checks of an analysis worker, evaluated in a process of their own:
 * the daemon binary again (/proc/self/exe), exec'd at once after fork()
 * since the daemon has threads, speaking spfwire.h over a socketpair.
 * The worker waits for each reply until the message's deadline; an
 * evaluator that overstays is killed by its PID.  Analysis worker threads.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spfclient.h"
#include "spfproc.h"
#include "spfwire.h"
#include "text.h"

/*
 * After the deadline, the time an evaluator has to send the temperror
 * its resolver then gives (it asks nothing more) before it is killed.
 */
#define GRACE_MS	500
/* An evaluator that does not exit once its socket is closed: SIGKILL. */
#define REAP_TICK_NS	(5 * 1000000L)
#define REAP_TICKS	40

/* Owns the evaluator: its socket and its process. */
struct spfclient {
	const struct config	*cfg;	/* borrowed */
	int			 fd;	/* -1: no evaluator running */
	pid_t			 pid;
};

struct spfclient *
spfclient_new(const struct config *cfg)
{
	struct spfclient *sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	sc->cfg = cfg;
	sc->fd = -1;
	sc->pid = -1;
	return sc;
}

/*
 * In the child of fork(), of a process with threads: only
 * async-signal-safe calls until execve().  The socket becomes
 * SPFPROC_FD, every other descriptor above stderr is closed, and the
 * signals the worker blocks are unblocked.
 */
static void __attribute__((noreturn))
child_exec(int fd, const char **argv)
{
	sigset_t none;

	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd == SPFPROC_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, SPFPROC_FD) == -1)
		_exit(127);
	(void)close_range(SPFPROC_FD + 1, ~0U, 0);
	(void)execve("/proc/self/exe", (char *const *)argv, environ);
	_exit(127);
}

/* A new evaluator.  0, or -1 with WHY. */
static int
start(struct spfclient *sc, char *why, size_t whylen)
{
	const char *argv[16];
	char fdarg[16], tmo[24];
	int sv[2], fg, verbosity, n = 0;
	pid_t pid;

	log_settings(&fg, &verbosity);
	(void)snprintf(fdarg, sizeof(fdarg), "%d", SPFPROC_FD);
	(void)snprintf(tmo, sizeof(tmo), "%llu",
	    (unsigned long long)sc->cfg->resolver_timeout_ms);
	argv[n++] = "mailscoped";
	argv[n++] = "-S";
	argv[n++] = fdarg;
	argv[n++] = "-r";
	argv[n++] = sc->cfg->resolver != NULL ? sc->cfg->resolver : "-";
	argv[n++] = "-t";
	argv[n++] = tmo;
	argv[n++] = "-n";
	argv[n++] = sc->cfg->hostname;
	if (fg)
		argv[n++] = "-f";
	for (; verbosity > LOG_LVL_INFO && n < 12; verbosity--)
		argv[n++] = "-v";
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		(void)snprintf(why, whylen, "SPF evaluator not started: "
		    "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		(void)snprintf(why, whylen, "SPF evaluator not started: "
		    "fork: %s", strerror(errno));
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(sv[1], argv);
	(void)close(sv[1]);
	sc->fd = sv[0];
	sc->pid = pid;
	log_debug("spf: evaluator pid %ld started", (long)pid);
	return 0;
}

/*
 * Ends the evaluator: its socket closed, SIGKILL at once with KILL_NOW,
 * else after REAP_TICKS if it has not exited by then; reaped.  Its
 * status as waitpid() gave it (0 when it was not ours to reap).
 */
static int
end(struct spfclient *sc, int kill_now)
{
	struct timespec tick = { 0, REAP_TICK_NS };
	int status = 0, ticks = 0;
	pid_t r;

	(void)close(sc->fd);
	if (kill_now)
		(void)kill(sc->pid, SIGKILL);
	for (;;) {
		r = waitpid(sc->pid, &status, ticks < REAP_TICKS ? WNOHANG : 0);
		if (r == sc->pid || (r == -1 && errno != EINTR))
			break;
		if (r == 0 && ++ticks == REAP_TICKS)
			(void)kill(sc->pid, SIGKILL);
		else if (r == 0)
			(void)nanosleep(&tick, NULL);
	}
	sc->fd = -1;
	sc->pid = -1;
	return status;
}

/* OUT: a temperror saying WHY for the domain of the check.  0 or -1. */
static int
failed(struct spf_rec *out, enum spf_identity id, const char *helo,
    const char *mail_from, const char *why)
{
	const char *domain = spf_identity_domain(id, helo, mail_from);

	log_warn("spf: %s; the next check starts another", why);
	records_spf_clear(out);
	out->checked = 1;
	out->result = "temperror";
	if (domain != NULL && (out->domain = text_escaped(domain,
	    strlen(domain), SPF_STORED_MAX, 1)) == NULL)
		return -1;
	return (out->error = strdup(why)) == NULL ? -1 : 0;
}

/* Why the evaluator ended, from its waitpid() STATUS. */
static void
ended(int status, char *why, size_t whylen)
{
	if (WIFSIGNALED(status))
		(void)snprintf(why, whylen, "SPF evaluator crashed (signal %d)",
		    WTERMSIG(status));
	else
		(void)snprintf(why, whylen, "SPF evaluator exited (status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int
spfclient_check(struct spfclient *sc, uint64_t time_left_ms,
    enum spf_identity id, const char *client_addr, const char *helo,
    const char *mail_from, struct spf_rec *out)
{
	char why[128];
	uint8_t *body;
	uint64_t wait;
	uint32_t left;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sc->fd == -1 && start(sc, why, sizeof(why)) == -1)
		return failed(out, id, helo, mail_from, why);
	/* the evaluator's resolver honours the deadline; then the grace */
	if (time_left_ms == UINT64_MAX) {
		left = SPFWIRE_NO_DEADLINE;
		wait = sc->cfg->analysis_deadline_ms + GRACE_MS;
	} else {
		left = time_left_ms >= SPFWIRE_NO_DEADLINE ?
		    SPFWIRE_NO_DEADLINE - 1 : (uint32_t)time_left_ms;
		wait = (uint64_t)left + GRACE_MS;
	}
	if (spfwire_send_request(sc->fd, id, left, client_addr, helo,
	    mail_from) == -1) {
		/* it ended while idle: its socket is closed */
		ended(end(sc, 0), why, sizeof(why));
		return failed(out, id, helo, mail_from, why);
	}
	switch (spfwire_read_frame(sc->fd, wait > INT_MAX ? INT_MAX :
	    (int)wait, &body, &len)) {
	case SPFWIRE_OK:
		if (spfwire_decode_reply(body, len, &rc, out) == 0) {
			free(body);
			return rc;
		}
		free(body);
		(void)end(sc, 1);
		return failed(out, id, helo, mail_from,
		    "SPF evaluator sent a malformed reply");
	case SPFWIRE_TIMEOUT:
		(void)end(sc, 1);
		return failed(out, id, helo, mail_from,
		    "SPF evaluator timed out");
	case SPFWIRE_MALFORMED:
		(void)end(sc, 1);
		return failed(out, id, helo, mail_from,
		    "SPF evaluator sent a malformed reply");
	case SPFWIRE_EOF:
		break;
	}
	ended(end(sc, 0), why, sizeof(why));
	return failed(out, id, helo, mail_from, why);
}

void
spfclient_free(struct spfclient *sc)
{
	if (sc == NULL)
		return;
	/* EOF ends an idle evaluator */
	if (sc->fd != -1)
		(void)end(sc, 0);
	free(sc);
}
