/*
 * The client analyzer: PTR of the connecting address (RFC 1035 3.5,
 * RFC 3596 2.5), forward confirmation of its names (FCrDNS, as RFC 8601
 * 3 "iprev" defines it), and the A and AAAA records of the HELO/EHLO
 * name (RFC 5321 4.1.4).  Analysis worker threads.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "clientdns.h"
#include "log.h"

/* Appends the escaped S to the space-separated list *LIST.  0 or -1. */
static int
append(char **list, const char *s)
{
	size_t old = *list != NULL ? strlen(*list) : 0, n = strlen(s);
	char *l;

	if ((l = realloc(*list, old + 1 + 4 * n + 1)) == NULL)
		return -1;
	if (old > 0)
		l[old++] = ' ';
	log_escape(l + old, 4 * n + 1, s, n);
	*list = l;
	return 0;
}

/* An answer that says what is there, or that nothing is. */
static int
definite(const struct resolver_answer *a)
{
	return a->status == RESOLVER_ANSWER &&
	    (a->rcode == RESOLVER_NOERROR || a->rcode == RESOLVER_NXDOMAIN);
}

/* The address ADDR: family and bytes; IPv4-mapped IPv6 is IPv4. */
static int
parse_addr(const char *addr, int *family, unsigned char bin[16])
{
	if (inet_pton(AF_INET, addr, bin) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return -1;
	*family = AF_INET6;
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)bin)) {
		memmove(bin, bin + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

static int
same_addr(const char *text, int family, const unsigned char *bin)
{
	unsigned char b[16];

	return inet_pton(family, text, b) == 1 &&
	    memcmp(b, bin, family == AF_INET ? 4 : 16) == 0;
}

/* PTR names, then the addresses of each: does one lead back? */
static int
reverse(resolver_fn lookup, void *arg, int family,
    const unsigned char *bin, struct clientdns_rec *out)
{
	struct resolver_answer ptr, fwd;
	char text[INET6_ADDRSTRLEN], rev[80];
	size_t i, j;
	int unknown = 0;

	if (inet_ntop(family, bin, text, sizeof(text)) == NULL ||
	    resolver_reverse_name(text, rev, sizeof(rev)) == -1)
		return 0;
	if (lookup(arg, rev, RESOLVER_PTR, &ptr) == -1)
		return -1;
	out->ptr_status = resolver_status_name(&ptr);
	if (!definite(&ptr)) {
		resolver_answer_clear(&ptr);
		return 0;	/* fcrdns stays unknown */
	}
	out->fcrdns = 0;
	for (i = 0; i < ptr.n && i < CLIENTDNS_MAX_PTR; i++) {
		if (append(&out->ptr, ptr.data[i]) == -1 ||
		    lookup(arg, ptr.data[i], family == AF_INET ? RESOLVER_A :
		    RESOLVER_AAAA, &fwd) == -1) {
			resolver_answer_clear(&ptr);
			return -1;
		}
		if (!definite(&fwd))
			unknown = 1;
		for (j = 0; j < fwd.n; j++)
			if (same_addr(fwd.data[j], family, bin))
				out->fcrdns = 1;
		resolver_answer_clear(&fwd);
	}
	/* no match, but a lookup failed: it might have matched */
	if (out->fcrdns == 0 && unknown)
		out->fcrdns = -1;
	resolver_answer_clear(&ptr);
	return 0;
}

/* The HELO name's A and AAAA records. */
static int
forward(resolver_fn lookup, void *arg, const char *helo,
    struct clientdns_rec *out)
{
	static const uint16_t types[] = { RESOLVER_A, RESOLVER_AAAA };
	struct resolver_answer a;
	const char *failed = NULL;
	size_t i, j, n = 0;

	if (helo == NULL) {
		out->helo_status = "none";
		return 0;
	}
	/* RFC 5321 4.1.3: an address literal names no host */
	if (helo[0] == '[') {
		out->helo_status = "literal";
		return 0;
	}
	out->helo_status = "noerror";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (lookup(arg, helo, types[i], &a) == -1)
			return -1;
		if (a.status == RESOLVER_BADNAME) {
			out->helo_status = "badname";
			resolver_answer_clear(&a);
			return 0;
		}
		if (!definite(&a) && failed == NULL)
			failed = resolver_status_name(&a);
		else if (i == 0 && a.rcode == RESOLVER_NXDOMAIN)
			out->helo_status = "nxdomain";
		for (j = 0; j < a.n; j++, n++)
			if (append(&out->helo_addrs, a.data[j]) == -1) {
				resolver_answer_clear(&a);
				return -1;
			}
		resolver_answer_clear(&a);
	}
	if (failed != NULL)
		out->helo_status = failed;
	out->helo_resolves = n > 0 ? 1 : failed != NULL ? -1 : 0;
	return 0;
}

int
clientdns_analyze(resolver_fn lookup, void *arg, const char *client_addr,
    const char *helo, struct clientdns_rec *out)
{
	unsigned char bin[16];
	int family;

	memset(out, 0, sizeof(*out));
	if (client_addr == NULL || parse_addr(client_addr, &family, bin) == -1)
		return 0;	/* no address: no row */
	out->checked = 1;
	out->fcrdns = -1;
	out->helo_resolves = -1;
	out->ptr_status = "error";
	if (reverse(lookup, arg, family, bin, out) == -1 ||
	    forward(lookup, arg, helo, out) == -1)
		return -1;
	return 0;
}
