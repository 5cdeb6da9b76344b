/*
 * Open connections in total and per client address (a hash table of the
 * addresses that have any), and the limits max_connections and max_per_ip
 * on them.  Event loop thread.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connlimit.h"
#include "log.h"

#define CONNLIMIT_BUCKETS	256

/* The connections from one address; freed when the last one goes. */
struct addr_count {
	struct addr_count	*next;
	unsigned		 n;
	char			 addr[];
};

/* Owns its entries. */
struct connlimit {
	unsigned		 max_total;
	unsigned		 max_per_addr;
	unsigned		 total;
	struct addr_count	*bucket[CONNLIMIT_BUCKETS];
};

struct connlimit *
connlimit_new(unsigned max_total, unsigned max_per_addr)
{
	struct connlimit *cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->max_total = max_total;
	cl->max_per_addr = max_per_addr;
	return cl;
}

void
connlimit_free(struct connlimit *cl)
{
	struct addr_count *a, *next;
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < CONNLIMIT_BUCKETS; i++)
		for (a = cl->bucket[i]; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
	free(cl);
}

/* FNV-1a */
static size_t
bucket_of(const char *addr)
{
	uint32_t h = 2166136261u;

	for (; *addr != '\0'; addr++)
		h = (h ^ (unsigned char)*addr) * 16777619u;
	return h % CONNLIMIT_BUCKETS;
}

static struct addr_count *
lookup(const struct connlimit *cl, const char *addr)
{
	struct addr_count *a;

	for (a = cl->bucket[bucket_of(addr)]; a != NULL; a = a->next)
		if (strcmp(a->addr, addr) == 0)
			return a;
	return NULL;
}

int
connlimit_add_addr(struct connlimit *cl, const char *addr)
{
	struct addr_count **head, *a;
	size_t len;

	if ((a = lookup(cl, addr)) != NULL) {
		a->n++;
		return 0;
	}
	len = strlen(addr);
	if ((a = malloc(sizeof(*a) + len + 1)) == NULL)
		return -1;
	memcpy(a->addr, addr, len + 1);
	a->n = 1;
	head = &cl->bucket[bucket_of(addr)];
	a->next = *head;
	*head = a;
	return 0;
}

int
connlimit_add(struct connlimit *cl, const char *addr)
{
	if (addr != NULL && connlimit_add_addr(cl, addr) == -1)
		return -1;
	cl->total++;
	return 0;
}

void
connlimit_remove(struct connlimit *cl, const char *addr)
{
	struct addr_count **pa, *a;

	if (cl->total == 0)
		fatalx("connlimit: no connection to remove");
	cl->total--;
	if (addr == NULL)
		return;
	pa = &cl->bucket[bucket_of(addr)];
	while ((a = *pa) != NULL && strcmp(a->addr, addr) != 0)
		pa = &a->next;
	if (a == NULL)
		fatalx("connlimit: no connection from %s to remove", addr);
	if (--a->n == 0) {
		*pa = a->next;
		free(a);
	}
}

unsigned
connlimit_count(const struct connlimit *cl)
{
	return cl->total;
}

int
connlimit_total_reached(const struct connlimit *cl)
{
	return cl->total > cl->max_total;
}

int
connlimit_addr_reached(const struct connlimit *cl, const char *addr)
{
	const struct addr_count *a = lookup(cl, addr);

	return a != NULL && a->n > cl->max_per_addr;
}
