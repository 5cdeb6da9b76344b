/*
 * Domain names as the analyzers ask about them: labels of letters,
 * digits, hyphens and underscores (RFC 1035 2.3.4 with the underscore of
 * service names), within the length limits.  Pure; any thread.
 */
#include "build.h"

#include <ctype.h>
#include <string.h>

#include "dnsname.h"

size_t
dnsname_labels(const char *name, size_t len)
{
	size_t label = 0, labels = 0, i;

	if (len == 0 || len > DNSNAME_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return 0;
		label++;
	}
	return labels;
}

int
dnsname_valid(const char *name)
{
	return dnsname_labels(name, strlen(name)) > 0;
}
