/*
 * Greylisting: a chained hash table of (MAIL FROM, RCPT) entries.  The
 * client address is deliberately not part of the key (CHALLENGES.md: large
 * senders retry from other addresses).  Event loop thread only.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "greylist.h"
#include "log.h"

#define GREY_BUCKETS	4096

struct grey_node {
	struct grey_node	*next;
	struct grey_entry	 e;		/* owned strings */
};

struct greylist {
	struct grey_node	*bucket[GREY_BUCKETS];	/* owned chains */
	unsigned		 count;
	unsigned		 max;
	double			 expire;	/* seconds */
};

static char *
lower_dup(const char *s)
{
	char *d;
	size_t i;

	if ((d = strdup(s)) == NULL)
		return NULL;
	for (i = 0; d[i] != '\0'; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* FNV-1a over both keys, case-insensitive. */
static unsigned
hash(const char *from, const char *rcpt)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = from; *p != '\0'; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (p = rcpt; *p != '\0'; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 16777619u;
	return h % GREY_BUCKETS;
}

static void
node_free(struct grey_node *n)
{
	records_grey_clear(&n->e);
	free(n);
}

struct greylist *
greylist_new(uint64_t expire_ms, unsigned max_entries)
{
	struct greylist *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->max = max_entries;
	g->expire = (double)expire_ms / 1000.0;
	return g;
}

void
greylist_free(struct greylist *g)
{
	struct grey_node *n, *next;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < GREY_BUCKETS; i++)
		for (n = g->bucket[i]; n != NULL; n = next) {
			next = n->next;
			node_free(n);
		}
	free(g);
}

/* Drops every entry unused for longer than the expiry. */
static void
sweep(struct greylist *g, double now)
{
	struct grey_node **pp, *n;
	size_t i;

	for (i = 0; i < GREY_BUCKETS; i++)
		for (pp = &g->bucket[i]; (n = *pp) != NULL; ) {
			if (now - n->e.last_seen > g->expire) {
				*pp = n->next;
				node_free(n);
				g->count--;
			} else
				pp = &n->next;
		}
}

static struct grey_node *
insert(struct greylist *g, const char *from, const char *rcpt,
    const char *test_id, double now)
{
	struct grey_node *n;
	unsigned h;

	if (g->count >= g->max)
		sweep(g, now);
	if (g->count >= g->max)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->e.mail_from = lower_dup(from)) == NULL ||
	    (n->e.rcpt = lower_dup(rcpt)) == NULL ||
	    (test_id != NULL && (n->e.test_id = strdup(test_id)) == NULL)) {
		if (n != NULL)
			node_free(n);
		return NULL;
	}
	h = hash(from, rcpt);
	n->next = g->bucket[h];
	g->bucket[h] = n;
	g->count++;
	return n;
}

static struct grey_node *
find(struct greylist *g, const char *from, const char *rcpt)
{
	struct grey_node *n;

	for (n = g->bucket[hash(from, rcpt)]; n != NULL; n = n->next)
		if (strcasecmp(n->e.mail_from, from) == 0 &&
		    strcasecmp(n->e.rcpt, rcpt) == 0)
			return n;
	return NULL;
}

void
greylist_load(struct greylist *g, const struct grey_entry *e, double now)
{
	struct grey_node *n;

	if (now - e->last_seen > g->expire || find(g, e->mail_from,
	    e->rcpt) != NULL)
		return;
	if ((n = insert(g, e->mail_from, e->rcpt, e->test_id, now)) == NULL)
		return;
	n->e.first_seen = e->first_seen;
	n->e.last_seen = e->last_seen;
	n->e.passed = e->passed;
	n->e.attempts = e->attempts;
}

enum grey_verdict
greylist_check(struct greylist *g, const char *from, const char *rcpt,
    const char *test_id, double now, uint64_t delay_ms,
    const struct grey_entry **entry)
{
	struct grey_node *n;
	enum grey_verdict v;

	*entry = NULL;
	n = find(g, from, rcpt);
	if (n != NULL && now - n->e.last_seen > g->expire) {
		/* expired: start over, as if never seen */
		n->e.first_seen = now;
		n->e.passed = 0;
		n->e.attempts = 0;
	}
	if (n == NULL) {
		if ((n = insert(g, from, rcpt, test_id, now)) == NULL) {
			log_warn("greylist: full (%u entries), not greylisting",
			    g->count);
			return GREY_FULL;
		}
		n->e.first_seen = now;
		v = GREY_NEW;
	} else if (n->e.attempts == 0)
		v = GREY_NEW;
	else if (n->e.passed > 0)
		v = GREY_KNOWN;
	else if ((now - n->e.first_seen) * 1000.0 >= (double)delay_ms) {
		n->e.passed = now;
		v = GREY_PASS;
	} else
		v = GREY_EARLY;
	n->e.attempts++;
	n->e.last_seen = now;
	*entry = &n->e;
	return v;
}
