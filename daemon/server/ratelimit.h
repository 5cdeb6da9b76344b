/*
 * Rate limits: a token bucket per client net and one for everyone; the
 * web's creation of tests (docs/api.md) and SMTP's transactions a client
 * may start in an hour.  Pure: the caller gives the time; event loop
 * thread.
 */
#ifndef MAILSCOPE_RATELIMIT_H
#define MAILSCOPE_RATELIMIT_H

struct ratelimit;

enum ratelimit_result {
	RL_OK,		/* allowed; a token of both buckets taken */
	RL_CLIENT,	/* the client net's bucket is empty */
	RL_TOTAL,	/* everyone's bucket is empty */
	RL_NOMEM	/* the net could not be remembered: refused */
};

/*
 * PER_CLIENT tokens per PERIOD seconds for each client net, TOTAL for
 * everyone; each bucket starts full and holds at most its rate (the
 * burst).  NULL when out of memory.
 */
struct ratelimit	*ratelimit_new(unsigned per_client, unsigned total,
			    double period);
void			 ratelimit_free(struct ratelimit *);

/*
 * Takes one token for client net NET at time NOW (seconds), from both
 * buckets or from neither.  When refused, *RETRY is the number of whole
 * seconds (1 at least) after which the refusing bucket has a token again.
 */
enum ratelimit_result	 ratelimit_take(struct ratelimit *, const char *net,
			    double now, unsigned *retry);

/* The client nets remembered (their bucket not full): for the tests. */
unsigned		 ratelimit_nets(const struct ratelimit *);

#endif /* MAILSCOPE_RATELIMIT_H */
