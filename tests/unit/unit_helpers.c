/*
 * The fake DNS of the unit tests: a table of records answers every
 * lookup, and each lookup is logged for the tests to check.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "unit_helpers.h"

#define MAXLOG	128

static const struct unit_rr	*zone;
static char			 queried[MAXLOG][300];
static size_t			 nqueried;

void
unit_dns_zone(const struct unit_rr *z)
{
	zone = z;
	nqueried = 0;
}

static int
name_exists(const char *name)
{
	const struct unit_rr *r;

	for (r = zone; r != NULL && r->name != NULL; r++)
		if (strcasecmp(r->name, name) == 0)
			return 1;
	return 0;
}

int
unit_dns_lookup(void *arg, const char *name, uint16_t type,
    struct resolver_answer *a)
{
	const struct unit_rr *r;
	size_t n;

	(void)arg;
	memset(a, 0, sizeof(*a));
	if (nqueried < MAXLOG)
		(void)snprintf(queried[nqueried], sizeof(queried[0]), "%u %s",
		    type, name);
	nqueried++;
	a->status = RESOLVER_ANSWER;
	for (r = zone; r != NULL && r->name != NULL; r++) {
		if (strcasecmp(r->name, name) != 0 || r->type != type)
			continue;
		if (r->rcode == UNIT_TIMEOUT) {
			a->status = RESOLVER_TIMEOUT;
			return 0;
		}
		a->rcode = r->rcode;
		for (n = 0; n < UNIT_MAXDATA && r->data[n] != NULL; n++)
			;
		if ((a->data = calloc(n + 1, sizeof(*a->data))) == NULL)
			return -1;
		for (a->n = 0; a->n < n; a->n++)
			a->data[a->n] = strdup(r->data[a->n]);
		return 0;
	}
	a->rcode = name_exists(name) ? RESOLVER_NOERROR : RESOLVER_NXDOMAIN;
	return 0;
}

size_t
unit_dns_lookups(void)
{
	return nqueried;
}

int
unit_dns_queried(uint16_t type, const char *name)
{
	char want[300];
	size_t i;

	(void)snprintf(want, sizeof(want), "%u %s", type, name);
	for (i = 0; i < nqueried && i < MAXLOG; i++)
		if (strcasecmp(queried[i], want) == 0)
			return 1;
	return 0;
}
