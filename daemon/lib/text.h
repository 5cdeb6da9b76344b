/*
 * Owned strings of the records: a field replaced by a copy, and the
 * escaped copy of untrusted bytes, cut to a column's bound, that the
 * database keeps.  Pure; any thread.
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

#endif /* MAILSCOPE_TEXT_H */
