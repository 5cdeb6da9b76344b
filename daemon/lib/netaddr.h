/*
 * Socket addresses as text: the numeric address, the port and the family
 * (4 or 6) that logs and the database hold.  Pure; any thread.
 */
#ifndef MAILSCOPE_NETADDR_H
#define MAILSCOPE_NETADDR_H

#include <sys/socket.h>

#include <stddef.h>

/*
 * The numeric address of SA into ADDR (ADDRLEN bytes, INET6_ADDRSTRLEN
 * is enough), its port into PORT and its family, 4 or 6, into FAMILY
 * (either may be NULL).  0; -1 when SA is neither IPv4 nor IPv6 or ADDR
 * is too small: ADDR is then "?", PORT and FAMILY 0.
 */
int	netaddr_text(const struct sockaddr *sa, char *addr, size_t addrlen,
	    int *port, int *family);
/*
 * ADDR (numeric text) is a loopback address: 127.0.0.0/8, ::1, or an
 * IPv4-mapped 127.0.0.0/8.  0 for anything else, text that is no address
 * included.
 */
int	netaddr_is_loopback(const char *addr);
/*
 * ADDR (numeric text) is a global unicast address: not in a block of the
 * IANA IPv4 and IPv6 Special-Purpose Address Registries that is not
 * "globally reachable" (loopback, private, shared, link-local,
 * documentation, benchmarking, multicast, reserved, ...); IPv4-mapped
 * and NAT64 (64:ff9b::/96) addresses as their IPv4 address.  0 for
 * anything else, text that is no address included.
 */
int	netaddr_is_global(const char *addr);
/* SA is the IPv4 or IPv6 wildcard address (0.0.0.0, ::). */
int	netaddr_is_unspecified(const struct sockaddr *sa);

/*
 * The network a client address stands for when tests are attributed by
 * address: an IPv4 address itself (also when IPv4-mapped), an IPv6
 * address's /64 as "2001:db8:1:2::/64" (RFC 4291 2.5.4: one link, which
 * one host usually has alone).  0; -1 when ADDR is no address or NET is
 * too small (INET6_ADDRSTRLEN + 3 is enough).
 */
int	netaddr_client_net(const char *addr, char *net, size_t netlen);

#endif /* MAILSCOPE_NETADDR_H */
