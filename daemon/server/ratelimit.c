/*
 * Token buckets for the creation of tests: one per client net (IPv4
 * address or IPv6 /64, netaddr_client_net()) and one for everyone.  A
 * net whose bucket has filled up again is forgotten, so the table holds
 * at most the nets that created a test within one period, which the
 * total bucket bounds.  Pure; event loop thread.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define NET_MAX		64	/* "2001:db8:1:2::/64" with room */

/* A bucket: TOKENS at time LAST, refilled at the limit's rate. */
struct bucket {
	double	tokens;
	double	last;
};

struct net_bucket {
	char		net[NET_MAX];
	struct bucket	b;
	unsigned	refused;	/* RL_CLIENT since ratelimit_refused() */
};

/* Owns its array of nets. */
struct ratelimit {
	double			 per_client;	/* bucket size = tokens/period */
	double			 total;
	double			 period;	/* seconds */
	struct bucket		 all;
	struct net_bucket	*nets;		/* owned */
	size_t			 nnets, cap;
	unsigned long		 forgotten;	/* refused of forgotten nets */
	int			 counting;	/* ratelimit_new_counting() */
};

/*
 * A counting limit keeps a net with refusals not yet taken when its
 * bucket is full again, up to this many nets; beyond, they are forgotten
 * (ratelimit_forgotten()).
 */
#define KEEP_MAX	4096

struct ratelimit *
ratelimit_new(unsigned per_client, unsigned total, double period)
{
	struct ratelimit *rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->per_client = per_client;
	rl->total = total;
	rl->period = period > 0 ? period : 1;
	rl->all.tokens = total;
	rl->all.last = -1;	/* set by the first take */
	return rl;
}

struct ratelimit *
ratelimit_new_counting(unsigned per_client, unsigned total, double period)
{
	struct ratelimit *rl;

	if ((rl = ratelimit_new(per_client, total, period)) != NULL)
		rl->counting = 1;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->nets);
	free(rl);
}

/* B of size SIZE refilled up to NOW (a clock going back adds nothing). */
static void
refill(struct bucket *b, double size, double period, double now)
{
	if (b->last >= 0 && now > b->last)
		b->tokens += (now - b->last) * size / period;
	if (b->tokens > size)
		b->tokens = size;
	if (b->last < 0 || now > b->last)
		b->last = now;
}

/* Whole seconds until B (of SIZE) holds one token; 1 at least. */
static unsigned
wait_for_token(const struct bucket *b, double size, double period)
{
	double s = (1 - b->tokens) * period / size;
	unsigned n;

	if (s > 1e9)
		return 1000000000U;
	n = (unsigned)s;
	/* rounded up (asking again then succeeds), not for float noise */
	if (s - (double)n > 1e-6)
		n++;
	return n < 1 ? 1 : n;
}

/* Forgets the nets whose bucket is full at NOW: they hold no state. */
static void
forget_full(struct ratelimit *rl, double now)
{
	size_t i = 0;

	while (i < rl->nnets) {
		refill(&rl->nets[i].b, rl->per_client, rl->period, now);
		if (rl->nets[i].b.tokens >= rl->per_client &&
		    (!rl->counting || rl->nets[i].refused == 0 ||
		    rl->nnets > KEEP_MAX)) {
			rl->forgotten += rl->nets[i].refused;
			rl->nets[i] = rl->nets[--rl->nnets];
		}
		else
			i++;
	}
}

static struct net_bucket *
net_find(struct ratelimit *rl, const char *net)
{
	size_t i;

	for (i = 0; i < rl->nnets; i++)
		if (strcmp(rl->nets[i].net, net) == 0)
			return &rl->nets[i];
	return NULL;
}

/* The bucket of NET, a full one added if it has none; NULL: no memory. */
static struct net_bucket *
net_bucket(struct ratelimit *rl, const char *net, double now)
{
	struct net_bucket *nb;
	size_t cap;

	if ((nb = net_find(rl, net)) != NULL)
		return nb;
	if (rl->nnets == rl->cap) {
		cap = rl->cap == 0 ? 16 : rl->cap * 2;
		if ((nb = reallocarray(rl->nets, cap, sizeof(*nb))) == NULL)
			return NULL;
		rl->nets = nb;
		rl->cap = cap;
	}
	nb = &rl->nets[rl->nnets++];
	memset(nb, 0, sizeof(*nb));
	/* a longer text is no net of netaddr_client_net(): cut, still a key */
	(void)snprintf(nb->net, sizeof(nb->net), "%s", net);
	nb->b.tokens = rl->per_client;
	nb->b.last = now;
	return nb;
}

enum ratelimit_result
ratelimit_take(struct ratelimit *rl, const char *net, double now,
    unsigned *retry)
{
	struct net_bucket *nb;
	struct bucket *b;

	forget_full(rl, now);
	refill(&rl->all, rl->total, rl->period, now);
	if ((nb = net_bucket(rl, net, now)) == NULL) {
		*retry = 1;
		return RL_NOMEM;
	}
	b = &nb->b;
	if (b->tokens < 1) {
		nb->refused++;
		*retry = wait_for_token(b, rl->per_client, rl->period);
		return RL_CLIENT;
	}
	if (rl->all.tokens < 1) {
		*retry = wait_for_token(&rl->all, rl->total, rl->period);
		return RL_TOTAL;
	}
	b->tokens -= 1;
	rl->all.tokens -= 1;
	return RL_OK;
}

unsigned
ratelimit_refused(struct ratelimit *rl, const char *net)
{
	struct net_bucket *nb;
	unsigned n;

	if ((nb = net_find(rl, net)) == NULL)
		return 0;
	n = nb->refused;
	nb->refused = 0;
	return n;
}

unsigned long
ratelimit_forgotten(struct ratelimit *rl)
{
	unsigned long n = rl->forgotten;

	rl->forgotten = 0;
	return n;
}

unsigned
ratelimit_nets(const struct ratelimit *rl)
{
	return (unsigned)rl->nnets;
}
