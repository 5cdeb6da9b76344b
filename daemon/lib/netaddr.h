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
/* SA is the IPv4 or IPv6 wildcard address (0.0.0.0, ::). */
int	netaddr_is_unspecified(const struct sockaddr *sa);

#endif /* MAILSCOPE_NETADDR_H */
