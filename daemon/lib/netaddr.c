/*
 * Socket addresses as text (inet_ntop, RFC 5952 for IPv6): the one place
 * that turns a struct sockaddr into the address, port and family the
 * listeners log and store.  Pure; any thread.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
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
