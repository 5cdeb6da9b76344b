/*
 * Domain names in presentation: the length limit (config, zones, DNS
 * answers, analyzers) and the check of the labels (RFC 1035 2.3.4).
 * Pure; any thread.
 */
#ifndef MAILSCOPE_DNSNAME_H
#define MAILSCOPE_DNSNAME_H

#include <stddef.h>

/* RFC 1035 2.3.4: octets of a name in presentation, without the final dot. */
#define DNSNAME_MAX	253

/*
 * The number of labels of the LEN bytes of NAME when it is at most
 * DNSNAME_MAX bytes of labels of 1 to 63 letters, digits, '-' and '_'
 * (no final dot, not an address literal nor text with spaces); else 0.
 */
size_t	dnsname_labels(const char *name, size_t len);
/* The NUL-terminated NAME has labels (dnsname_labels()): 1 or 0. */
int	dnsname_valid(const char *name);

#endif /* MAILSCOPE_DNSNAME_H */
