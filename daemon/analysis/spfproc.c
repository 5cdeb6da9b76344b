/*
 * The SPF evaluator process (spfproc.h): single-threaded, its own
 * resolver, bounded by resource limits, serving one request after the
 * other.  What goes wrong here (an abort of libspf2, a fault, a loop)
 * ends this process only; its worker records it and starts another.
 */
#include "build.h"

#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "records.h"
#include "resolver.h"
#include "spf.h"
#include "spfproc.h"
#include "spfwire.h"
#include "types.h"

/* Address space: libspf2, ldns and the daemon's libraries, with room. */
#define AS_BYTES	(512UL * 1024 * 1024)
/* CPU seconds of one check: an evaluation is milliseconds of it. */
#define CPU_SECONDS	5
/* Descriptors: the socket, stderr, the resolver's UDP and TCP ones. */
#define FILES		16

/* What the command line says; the strings are argv's. */
struct args {
	int		 fd;
	char		*resolver;	/* borrowed from argv; NULL: system's */
	uint64_t	 timeout_ms;
	char		*hostname;	/* borrowed from argv */
	int		 foreground;
	int		 verbosity;
};

static int
parse_args(int argc, char *argv[], struct args *a)
{
	char *end;
	unsigned long v;
	int ch;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->verbosity = LOG_LVL_INFO;
	while ((ch = getopt(argc, argv, "S:r:t:n:fv")) != -1) {
		switch (ch) {
		case 'S':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v > INT_MAX)
				return -1;
			a->fd = (int)v;
			break;
		case 'r':
			a->resolver = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0)
				return -1;
			a->timeout_ms = v;
			break;
		case 'n':
			a->hostname = optarg;
			break;
		case 'f':
			a->foreground = 1;
			break;
		case 'v':
			a->verbosity++;
			break;
		default:
			return -1;
		}
	}
	return optind == argc && a->fd >= 0 && a->timeout_ms > 0 &&
	    a->hostname != NULL ? 0 : -1;
}

/*
 * What no check needs: core files (of sender data), many descriptors,
 * much memory.  Not RLIMIT_FSIZE: stderr may be the daemon's log file.
 */
static void
set_limits(void)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("spf evaluator: RLIMIT_CORE: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max = FILES;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("spf evaluator: RLIMIT_NOFILE: %s", strerror(errno));
	/* not with AddressSanitizer: its shadow alone is terabytes of it */
#if !defined(__SANITIZE_ADDRESS__)
	rl.rlim_cur = rl.rlim_max = AS_BYTES;
	if (setrlimit(RLIMIT_AS, &rl) == -1)
		log_warn("spf evaluator: RLIMIT_AS: %s", strerror(errno));
#endif
}

/*
 * CPU_SECONDS more than used so far: the soft limit's SIGXCPU ends an
 * evaluation that loops (the hard one stays: it cannot be raised again).
 */
static void
cpu_budget(void)
{
	struct rusage ru;
	struct rlimit rl;
	rlim_t want;

	if (getrusage(RUSAGE_SELF, &ru) == -1 ||
	    getrlimit(RLIMIT_CPU, &rl) == -1)
		return;
	want = (rlim_t)ru.ru_utime.tv_sec + (rlim_t)ru.ru_stime.tv_sec + 1 +
	    CPU_SECONDS;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max ?
	    rl.rlim_max : want;
	(void)setrlimit(RLIMIT_CPU, &rl);
}

/* One request from FD, one reply.  0, 1 at the end, or -1. */
static int
serve_one(int fd, struct resolver *res, struct spf *spf)
{
	struct spfwire_request req;
	struct spf_rec out;
	uint8_t *body;
	size_t len;
	int rc;

	switch (spfwire_read_frame(fd, -1, &body, &len)) {
	case SPFWIRE_OK:
		break;
	case SPFWIRE_EOF:
		return 1;	/* the worker is done with us */
	case SPFWIRE_TIMEOUT:
	case SPFWIRE_MALFORMED:
		log_warn("spf evaluator: malformed request");
		return -1;
	}
	rc = spfwire_decode_request(body, len, &req);
	free(body);
	if (rc == -1) {
		log_warn("spf evaluator: malformed request");
		return -1;
	}
	if (req.time_left_ms == SPFWIRE_NO_DEADLINE)
		resolver_clear_deadline(res);
	else
		resolver_set_deadline(res, req.time_left_ms);
	cpu_budget();
	rc = spf_check(spf, req.id, req.client_addr, req.helo, req.mail_from,
	    &out);
	spfwire_request_clear(&req);
	if (spfwire_send_reply(fd, rc, &out) == -1) {
		records_spf_clear(&out);
		return 1;	/* the worker gave up on this one */
	}
	records_spf_clear(&out);
	return 0;
}

int
spfproc_main(int argc, char *argv[])
{
	struct config cfg;
	struct args a;
	struct resolver *res;
	struct spf *spf;
	char err[256];
	int rc;

	if (parse_args(argc, argv, &a) == -1) {
		fprintf(stderr, "mailscoped -S: for the daemon's own use\n");
		return 2;
	}
	log_init("mailscoped-spf", a.foreground, a.verbosity);
	/* the daemon's signals are for the daemon; EOF ends this process */
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	/* what resolver_new() reads; the config file is not read again */
	memset(&cfg, 0, sizeof(cfg));
	cfg.resolver = a.resolver;
	cfg.resolver_timeout_ms = a.timeout_ms;
	if ((res = resolver_new(&cfg, err, sizeof(err))) == NULL)
		log_warn("spf evaluator: no resolver (%s): DNS lookups fail",
		    err);
	if ((spf = spf_new(resolver_lookup, res, a.hostname)) == NULL) {
		log_warn("spf evaluator: out of memory");
		resolver_free(res);
		return 1;
	}
	set_limits();
	log_debug("spf evaluator: pid %ld started", (long)getpid());
	while ((rc = serve_one(a.fd, res, spf)) == 0)
		;
	spf_free(spf);
	resolver_free(res);
	(void)close(a.fd);
	return rc == 1 ? 0 : 1;
}
