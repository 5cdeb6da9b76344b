/*
 * The analysis worker's side of SPF: each check is sent to the worker's
 * own SPF evaluator process (spfproc.h), started at the first check and
 * again after one ended.  A crash or a hang there costs one message its
 * SPF result, recorded as such, never the daemon.  One struct spfclient
 * per analysis worker thread.
 */
#ifndef MAILSCOPE_SPFCLIENT_H
#define MAILSCOPE_SPFCLIENT_H

#include <stdint.h>

#include "records.h"
#include "spf.h"
#include "types.h"

struct spfclient;

/*
 * Evaluators with CFG's resolver, resolver_timeout and hostname (CFG
 * borrowed for the client's life).  NULL when out of memory.
 */
struct spfclient	*spfclient_new(const struct config *cfg);
/* Ends the evaluator (its socket closed, then reaped). */
void			 spfclient_free(struct spfclient *);

/*
 * spf_check() (spf.h) in the evaluator, whose lookups end within
 * TIME_LEFT_MS (UINT64_MAX: analysis_deadline); the reply is awaited
 * that long and a little more.  An evaluator that crashes, hangs or
 * answers nonsense is ended, and OUT says temperror with why.  0, or -1
 * when out of memory.
 */
int			 spfclient_check(struct spfclient *,
			    uint64_t time_left_ms, enum spf_identity,
			    const char *client_addr, const char *helo,
			    const char *mail_from, struct spf_rec *out);

#endif /* MAILSCOPE_SPFCLIENT_H */
