/*
 * Rate limits: a token bucket per client net and one for everyone; the
 * web's creation of tests (docs/api.md), SMTP's connections a minute and
 * transactions an hour of a client, and the refused connections that
 * are recorded one by one.  Pure: the caller gives the time; event loop
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
/*
 * As ratelimit_new(), and a net keeps its refusals until
 * ratelimit_refused() takes them, even once its bucket is full again (up
 * to 4096 nets so kept).
 */
struct ratelimit	*ratelimit_new_counting(unsigned per_client,
			    unsigned total, double period);
void			 ratelimit_free(struct ratelimit *);

/*
 * Takes one token for client net NET at time NOW (seconds), from both
 * buckets or from neither.  When refused, *RETRY is the number of whole
 * seconds (1 at least) after which the refusing bucket has a token again.
 */
enum ratelimit_result	 ratelimit_take(struct ratelimit *, const char *net,
			    double now, unsigned *retry);

/*
 * The RL_CLIENT answers to NET since the last call, counted from 0 again;
 * 0 for a net not remembered.
 */
unsigned		 ratelimit_refused(struct ratelimit *, const char *net);
/*
 * The RL_CLIENT answers to nets forgotten (their bucket full again; of a
 * counting limit, beyond the nets it keeps) before ratelimit_refused()
 * took them, since the last call.
 */
unsigned long		 ratelimit_forgotten(struct ratelimit *);

/* The client nets remembered (their bucket not full): for the tests. */
unsigned		 ratelimit_nets(const struct ratelimit *);

#endif /* MAILSCOPE_RATELIMIT_H */
