/*
 * Owned strings of the records: replacing a field, the escaped copy of
 * untrusted bytes cut to a column's bound, and UTF-8 checked (RFC 3629)
 * for the JSON and report outputs.  Pure; any thread.
 */
#include "build.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

size_t
text_utf8_char(const char *s, size_t n, unsigned int *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned int c = u[0], v, min;
	size_t k, need;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; v = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2; v = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; v = c & 0x07; min = 0x10000;
	} else
		return 0;
	for (k = 1; k <= need; k++) {
		if (k >= n || (u[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (u[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need + 1;
}

char *
text_utf8(const char *s, size_t n, size_t *outlen)
{
	char *o;
	size_t i = 0, j = 0, len;
	unsigned int cp;

	/* U+FFFD is 3 bytes, the most one input byte becomes */
	if ((o = malloc(n * 3 + 1)) == NULL)
		return NULL;
	while (i < n) {
		if ((len = text_utf8_char(s + i, n - i, &cp)) == 0) {
			memcpy(o + j, "\xef\xbf\xbd", 3);
			j += 3;
			i++;
			continue;
		}
		memcpy(o + j, s + i, len);
		j += len;
		i += len;
	}
	o[j] = '\0';
	*outlen = j;
	return o;
}

int
text_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

json_t *
text_json(const char *s)
{
	json_t *j;
	size_t len;
	char *clean;

	if (s == NULL)
		return json_null();
	if ((clean = text_utf8(s, strlen(s), &len)) == NULL)
		return NULL;
	j = json_stringn(clean, len);
	free(clean);
	return j;
}
