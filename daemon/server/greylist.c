/*
 * Greylisting: a chained hash table of (MAIL FROM, RCPT) entries.  The
 * client address is deliberately not part of the key (CHALLENGES.md: large
 * senders retry from other addresses).  The buckets are chosen by SipHash
 * with a key drawn at start, so a sender cannot aim at one chain; a full
 * table makes room from expired entries, then from the passed entry used
 * least recently, and otherwise defers (never accepts unlisted).  Event
 * loop thread only.
 */
#include "build.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "greylist.h"
#include "log.h"

#define GREY_BUCKETS	4096
#define GREY_KEYLEN	16	/* SipHash's key */
#define GREY_KEY_MAX	1024	/* the bytes of a key hashed: bounded paths */

struct grey_node {
	struct grey_node	*next;
	TAILQ_ENTRY(grey_node)	 lru;		/* passed ones, oldest first */
	int			 in_lru;
	struct grey_entry	 e;		/* owned strings */
};

TAILQ_HEAD(grey_lru, grey_node);

struct greylist {
	struct grey_node	*bucket[GREY_BUCKETS];	/* owned chains */
	struct grey_lru		 passed;	/* borrowed: nodes of the chains */
	EVP_MAC_CTX		*mac;		/* owned; keyed at start */
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

/*
 * SipHash-2-4 (OpenSSL's) of both keys lowercased, under the table's
 * random key.  A key longer than GREY_KEY_MAX hashes its first bytes.
 */
static unsigned
hash(struct greylist *g, const char *from, const char *rcpt)
{
	unsigned char buf[GREY_KEY_MAX], out[8];
	size_t n = 0, outlen;
	const char *p;
	uint64_t h = 0;
	int i;

	for (p = from; *p != '\0' && n < sizeof(buf) - 1; p++)
		buf[n++] = (unsigned char)tolower((unsigned char)*p);
	buf[n++] = '\0';	/* no "ab"+"c" = "a"+"bc" */
	for (p = rcpt; *p != '\0' && n < sizeof(buf); p++)
		buf[n++] = (unsigned char)tolower((unsigned char)*p);
	if (EVP_MAC_init(g->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(g->mac, buf, n) != 1 ||
	    EVP_MAC_final(g->mac, out, &outlen, sizeof(out)) != 1)
		fatalx("greylist: SipHash failed");
	for (i = 0; i < 8; i++)
		h = h << 8 | out[i];
	return (unsigned)(h % GREY_BUCKETS);
}

static void
lru_remove(struct greylist *g, struct grey_node *n)
{
	if (n->in_lru) {
		TAILQ_REMOVE(&g->passed, n, lru);
		n->in_lru = 0;
	}
}

/* N has passed, or was used again: it goes last. */
static void
lru_touch(struct greylist *g, struct grey_node *n)
{
	lru_remove(g, n);
	TAILQ_INSERT_TAIL(&g->passed, n, lru);
	n->in_lru = 1;
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
	unsigned char key[GREY_KEYLEN];
	OSSL_PARAM params[2];
	struct greylist *g;
	EVP_MAC *mac;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	TAILQ_INIT(&g->passed);
	g->max = max_entries;
	g->expire = (double)expire_ms / 1000.0;
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE,
	    &(size_t){ 8 });
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	if (mac == NULL || (g->mac = EVP_MAC_CTX_new(mac)) == NULL ||
	    RAND_bytes(key, sizeof(key)) != 1 ||
	    EVP_MAC_init(g->mac, key, sizeof(key), params) != 1) {
		EVP_MAC_free(mac);
		greylist_free(g);
		return NULL;
	}
	EVP_MAC_free(mac);	/* the context keeps its own reference */
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
	EVP_MAC_CTX_free(g->mac);
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
				lru_remove(g, n);
				node_free(n);
				g->count--;
			} else
				pp = &n->next;
		}
}

/* Drops N, a node of the chains. */
static void
drop(struct greylist *g, struct grey_node *n)
{
	struct grey_node **pp;

	for (pp = &g->bucket[hash(g, n->e.mail_from, n->e.rcpt)]; *pp != n;
	    pp = &(*pp)->next)
		;
	*pp = n->next;
	lru_remove(g, n);
	node_free(n);
	g->count--;
}

static struct grey_node *
insert(struct greylist *g, const char *from, const char *rcpt,
    const char *test_id, double now)
{
	struct grey_node *n;
	unsigned h;

	if (g->count >= g->max)
		sweep(g, now);
	if (g->count >= g->max && !TAILQ_EMPTY(&g->passed)) {
		n = TAILQ_FIRST(&g->passed);
		log_info("greylist: full (%u entries), forgetting the passed "
		    "entry unused longest (%s, %s)", g->count, n->e.mail_from,
		    n->e.rcpt);
		drop(g, n);
	}
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
	h = hash(g, from, rcpt);
	n->next = g->bucket[h];
	g->bucket[h] = n;
	g->count++;
	return n;
}

static struct grey_node *
find(struct greylist *g, const char *from, const char *rcpt)
{
	struct grey_node *n;

	for (n = g->bucket[hash(g, from, rcpt)]; n != NULL; n = n->next)
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
	if (n->e.passed > 0)
		lru_touch(g, n);
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
		lru_remove(g, n);
	}
	if (n == NULL) {
		if ((n = insert(g, from, rcpt, test_id, now)) == NULL) {
			log_warn("greylist: full (%u entries), none passed: "
			    "deferring", g->count);
			return GREY_FULL;
		}
		n->e.first_seen = now;
		v = GREY_NEW;
	} else if (n->e.attempts == 0)
		v = GREY_NEW;
	else if (n->e.passed > 0) {
		v = GREY_KNOWN;
		lru_touch(g, n);
	} else if ((now - n->e.first_seen) * 1000.0 >= (double)delay_ms) {
		n->e.passed = now;
		v = GREY_PASS;
		lru_touch(g, n);
	} else
		v = GREY_EARLY;
	n->e.attempts++;
	n->e.last_seen = now;
	*entry = &n->e;
	return v;
}
