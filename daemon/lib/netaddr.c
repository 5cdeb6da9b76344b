/*
 * Socket addresses as text (inet_ntop, RFC 5952 for IPv6): the one place
 * that turns a struct sockaddr into the address, port and family the
 * listeners log and store.  Pure; any thread.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

int
netaddr_text(const struct sockaddr *sa, char *addr, size_t addrlen,
    int *port, int *family)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	const char *ok = NULL;
	int p = 0, f = 0;

	if (sa->sa_family == AF_INET) {
		ok = inet_ntop(AF_INET, &sin->sin_addr, addr,
		    (socklen_t)addrlen);
		p = ntohs(sin->sin_port);
		f = 4;
	} else if (sa->sa_family == AF_INET6) {
		ok = inet_ntop(AF_INET6, &sin6->sin6_addr, addr,
		    (socklen_t)addrlen);
		p = ntohs(sin6->sin6_port);
		f = 6;
	}
	if (ok == NULL) {
		if (addrlen > 0)
			snprintf(addr, addrlen, "?");
		p = f = 0;
	}
	if (port != NULL)
		*port = p;
	if (family != NULL)
		*family = f;
	return ok != NULL ? 0 : -1;
}

int
netaddr_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/*
 * The blocks that are not globally reachable: IANA IPv4 Special-Purpose
 * Address Registry (RFC 6890, as of 2024), multicast and the reserved
 * 240.0.0.0/4 beside it.  The few globally reachable entries of the
 * registry inside 192.0.0.0/24 (192.0.0.9, 192.0.0.10) are left out with
 * the rest of that block: no mail server is there.
 */
static const struct {
	uint32_t	net;
	int		bits;
} v4_special[] = {
	{ 0x00000000, 8 },	/* 0.0.0.0/8 "this network" */
	{ 0x0a000000, 8 },	/* 10.0.0.0/8 private (RFC 1918) */
	{ 0x64400000, 10 },	/* 100.64.0.0/10 shared (RFC 6598) */
	{ 0x7f000000, 8 },	/* 127.0.0.0/8 loopback */
	{ 0xa9fe0000, 16 },	/* 169.254.0.0/16 link-local */
	{ 0xac100000, 12 },	/* 172.16.0.0/12 private */
	{ 0xc0000000, 24 },	/* 192.0.0.0/24 IETF protocol assignments */
	{ 0xc0000200, 24 },	/* 192.0.2.0/24 TEST-NET-1 */
	{ 0xc0586300, 24 },	/* 192.88.99.0/24 6to4 relay (deprecated) */
	{ 0xc0a80000, 16 },	/* 192.168.0.0/16 private */
	{ 0xc6120000, 15 },	/* 198.18.0.0/15 benchmarking */
	{ 0xc6336400, 24 },	/* 198.51.100.0/24 TEST-NET-2 */
	{ 0xcb007100, 24 },	/* 203.0.113.0/24 TEST-NET-3 */
	{ 0xe0000000, 4 },	/* 224.0.0.0/4 multicast */
	{ 0xf0000000, 4 },	/* 240.0.0.0/4 reserved, broadcast */
};

static int
v4_global(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(v4_special) / sizeof(v4_special[0]); i++)
		if ((a & (0xffffffffu << (32 - v4_special[i].bits))) ==
		    v4_special[i].net)
			return 0;
	return 1;
}

int
netaddr_is_global(const char *addr)
{
	/* 64:ff9b::/96, RFC 6052 2.1: the well-known NAT64 prefix */
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const unsigned char doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct in_addr a4;
	struct in6_addr a6;
	const unsigned char *b = a6.s6_addr;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return v4_global(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6) || memcmp(b, nat64, sizeof(nat64)) == 0)
		return v4_global((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15]);
	/* IANA IPv6 Special-Purpose Address Registry, RFC 4291 2.4 */
	if ((b[0] & 0xe0) != 0x20)	/* only 2000::/3 is global unicast */
		return 0;
	if (memcmp(b, doc, sizeof(doc)) == 0)	/* 2001:db8::/32 (RFC 3849) */
		return 0;
	/* 2001::/23 IETF protocol assignments (Teredo, ORCHID, ...) */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)
		return 0;
	/* 2002::/16 6to4: the IPv4 address it embeds decides */
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_global((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
		    (uint32_t)b[4] << 8 | b[5]);
	/* 3fff::/20 documentation (RFC 9637) */
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
		return 0;
	return 1;
}

int
netaddr_is_unspecified(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 0;
}

int
netaddr_client_net(const char *addr, char *net, size_t netlen)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return inet_ntop(AF_INET, &a4, net, (socklen_t)netlen) ==
		    NULL ? -1 : 0;
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return -1;
	if (memcmp(a6.s6_addr, mapped, sizeof(mapped)) == 0) {
		memcpy(&a4, a6.s6_addr + 12, sizeof(a4));
		return inet_ntop(AF_INET, &a4, net, (socklen_t)netlen) ==
		    NULL ? -1 : 0;
	}
	memset(a6.s6_addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, &a6, net, (socklen_t)netlen) == NULL)
		return -1;
	n = strlen(net);
	if (n + 4 > netlen)
		return -1;
	memcpy(net + n, "/64", 4);
	return 0;
}
