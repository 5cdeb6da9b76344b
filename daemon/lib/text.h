/*
 * Owned strings of the records: a field replaced by a copy, the escaped
 * copy of untrusted bytes, cut to a column's bound, that the database
 * keeps, and UTF-8 checked (RFC 3629) for the outputs that need it.
 * Pure; any thread.
 */
#ifndef MAILSCOPE_TEXT_H
#define MAILSCOPE_TEXT_H

#include <stddef.h>

/* Frees *DST and sets it to a copy of SRC: NULL for NULL, or out of memory. */
void	 text_set(char **dst, const char *src);

/*
 * A copy of the first MAX of the SRCLEN bytes of SRC (not NULL), escaped
 * as by log_escape() and lowercased with LOWER.  NULL when out of memory.
 */
char	*text_escaped(const char *src, size_t srclen, size_t max, int lower);

/*
 * The length of the UTF-8 character that starts S (N > 0 bytes left)
 * and its code point in *CP; 0 when S starts none: RFC 3629 section 3,
 * overlong forms, surrogates and code points above U+10FFFF invalid.
 */
size_t	 text_utf8_char(const char *s, size_t n, unsigned int *cp);

/*
 * The N bytes of S with invalid UTF-8 replaced, byte by byte, by U+FFFD.
 * Malloc'd, NUL-terminated, its length in *OUTLEN; NULL when out of
 * memory.
 */
char	*text_utf8(const char *s, size_t n, size_t *outlen);

struct json_t;			/* jansson's json_t */
/*
 * S (NUL-terminated, any bytes) as a JSON string, invalid UTF-8 replaced
 * as by text_utf8(); JSON null for NULL.  NULL when out of memory.
 */
struct json_t	*text_json(const char *s);

/* The N decimal digits at S into *V: 0, or -1 at anything else (dates). */
int	 text_digits(const char *s, int n, int *v);

#endif /* MAILSCOPE_TEXT_H */
