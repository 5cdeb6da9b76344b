/*
 * Text for a terminal (termout.h): escaped, cut and wrapped to a width
 * of code points.  Moved from report_text.c so that the probe's text
 * shows remote strings the same way.  Pure but for the output.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "termout.h"
#include "text.h"

/* The terminal acts on C0, DEL and C1 (ECMA-48 5): never shown as is. */
static int
printable(unsigned int cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0);
}

/*
 * The next unit of S (N > 0 bytes) as shown: a printable character as
 * it is (1 column), any other byte as \xNN (4).  Its bytes in *LEN.
 */
static size_t
unit(const char *s, size_t n, size_t *len)
{
	unsigned int cp;

	if ((*len = text_utf8_char(s, n, &cp)) != 0 && printable(cp))
		return 1;
	*len = 1;
	return 4;
}

static void
put_unit(struct termout *o, const char *s, size_t len, size_t cols)
{
	if (cols == 1)
		fwrite(s, 1, len, o->fp);
	else
		fprintf(o->fp, "\\x%02x", (unsigned char)*s);
	o->col += cols;
}

/* Our own text (one column a character), not escaped. */
void
termout_raw(struct termout *o, const char *s)
{
	fputs(s, o->fp);
	for (; *s != '\0'; s++)
		o->col += ((unsigned char)*s & 0xc0) != 0x80;
}

void
termout_sgr(struct termout *o, const char *param)
{
	if (o->color)
		fprintf(o->fp, "\033[%sm", param);
}

void
termout_newline(struct termout *o, size_t indent)
{
	putc('\n', o->fp);
	o->col = 0;
	for (; indent > 0; indent--)
		termout_raw(o, " ");
}

/* Columns of the N bytes of S as termout_fit() shows them. */
static size_t
fit_width(const char *s, size_t n)
{
	size_t i = 0, w = 0, len;

	while (i < n) {
		if (s[i] == ' ') {
			while (i < n && s[i] == ' ')
				i++;
			w += i < n;
			continue;
		}
		w += unit(s + i, n - i, &len);
		i += len;
	}
	return w;
}

/*
 * The N bytes of S escaped, runs of spaces as one, up to column RIGHT:
 * what does not fit is cut with an ellipsis.
 */
void
termout_fit(struct termout *o, const char *s, size_t n, size_t right)
{
	size_t i = 0, len, cols, stop = right;

	if (o->col + fit_width(s, n) > right)
		stop = right - 1;	/* room for the ellipsis */
	while (i < n) {
		if (s[i] == ' ') {
			while (i < n && s[i] == ' ')
				i++;
			if (i == n)
				break;
			if (o->col + 1 > stop)
				break;
			termout_raw(o, " ");
			continue;
		}
		cols = unit(s + i, n - i, &len);
		if (o->col + cols > stop)
			break;
		put_unit(o, s + i, len, cols);
		i += len;
	}
	if (i < n && o->col < right)
		termout_raw(o, TERMOUT_ELLIPSIS);
}

/* S (NULL: "") cut to COLS columns and padded to them. */
void
termout_cell(struct termout *o, const char *s, size_t cols)
{
	size_t right = o->col + cols;

	if (s != NULL)
		termout_fit(o, s, strlen(s), right);
	while (o->col < right)
		termout_raw(o, " ");
}

/*
 * S escaped from the current column, lines broken at spaces (a word
 * longer than a line anywhere) so that none passes o->width; continuation
 * lines start at column INDENT.  The MAXLINES-th line (0: no limit)
 * ends with an ellipsis if more remains.
 */
void
termout_text(struct termout *o, const char *s, size_t indent,
    size_t maxlines)
{
	size_t n = strlen(s), i = 0, j, w, len, cols, lines = 1;
	int sep = 0;

	for (;;) {
		for (; i < n && s[i] == ' '; i++)
			sep = 1;
		if (i == n)
			return;
		if (lines == maxlines) {
			if (sep && o->col + 1 < o->width)
				termout_raw(o, " ");
			termout_fit(o, s + i, n - i, o->width);
			return;
		}
		for (j = i, w = 0; j < n && s[j] != ' '; j += len)
			w += unit(s + j, n - j, &len);
		if (o->col + sep + w <= o->width) {
			if (sep)
				termout_raw(o, " ");
			for (; i < j; i += len) {
				cols = unit(s + i, n - i, &len);
				put_unit(o, s + i, len, cols);
			}
		} else if (w > o->width - indent) {
			/* longer than a line: what fits here, then a break */
			if (sep && o->col + 1 < o->width)
				termout_raw(o, " ");
			while (i < j) {
				cols = unit(s + i, n - i, &len);
				if (o->col + cols > o->width)
					break;
				put_unit(o, s + i, len, cols);
				i += len;
			}
			termout_newline(o, indent);
			lines++;
		} else {
			termout_newline(o, indent);
			lines++;
		}
		sep = 0;
	}
}
