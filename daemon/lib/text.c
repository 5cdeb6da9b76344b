/*
 * Owned strings of the records: replacing a field, and the escaped copy
 * of untrusted bytes cut to a column's bound.  Pure; any thread.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

void
text_set(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? strdup(src) : NULL;
}

char *
text_escaped(const char *src, size_t srclen, size_t max, int lower)
{
	size_t len;
	char *d, *p;

	if (srclen > max)
		srclen = max;
	/* "\xNN" is the longest a byte becomes */
	len = 4 * srclen + 1;
	if ((d = malloc(len)) == NULL)
		return NULL;
	log_escape(d, len, src, srclen);
	for (p = d; lower && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}
