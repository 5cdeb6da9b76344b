/*
 * The open files the configured limits need (RLIMIT_NOFILE): raised at
 * the daemon's start, checked by mailscoped -t.  Main thread.
 */
#ifndef MAILSCOPE_FILELIMIT_H
#define MAILSCOPE_FILELIMIT_H

#include <stddef.h>

#include "types.h"

/*
 * Files besides connections and listeners: the database, its WAL and
 * shared memory, the readers of the web worker and the report, the log,
 * the resolvers' sockets, libevent's and the threads' own.
 */
#define FILELIMIT_RESERVE	64

/*
 * Whether RLIMIT_NOFILE fits CFG: every connection of SMTP, HTTPS and
 * DNS over TCP at max_connections each, the listeners and the reserve.
 * The soft limit (and the hard one as root) is raised: for a check
 * (APPLY 0) too, whose process ends next, as only trying tells.
 * 0: it fits as it is; 1: raised, MSG says to what (worded for the start
 * with APPLY, for a check without); -1: it cannot fit, MSG says why.
 */
int	filelimit_fit(const struct config *cfg, int apply, char *msg,
	    size_t msglen);

#endif /* MAILSCOPE_FILELIMIT_H */
