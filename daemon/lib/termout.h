/*
 * Text for a terminal: lines of at most a width of code points, every
 * string shown escaped (what a terminal would act on: C0, DEL, C1 and
 * invalid UTF-8, as \xNN), optional ANSI colours.  Shared by the report
 * (report_text.c) and the probe (probe_text.c).  Single-threaded per
 * struct termout; pure but for the output.
 */
#ifndef MAILSCOPE_TERMOUT_H
#define MAILSCOPE_TERMOUT_H

#include <stddef.h>
#include <stdio.h>

#define TERMOUT_ELLIPSIS	"\xe2\x80\xa6"	/* U+2026 */

/* Select Graphic Rendition (ECMA-48 8.3.117) parameters. */
#define SGR_BOLD	"1"
#define SGR_DIM		"2"
#define SGR_RESET	"0"

struct termout {
	FILE	*fp;		/* borrowed */
	int	 color;		/* write SGR sequences */
	size_t	 col;		/* code points on the current line */
	size_t	 width;		/* code points a line */
};

/* Our own text (one column a character), not escaped. */
void	termout_raw(struct termout *, const char *s);
/* An SGR sequence with PARAM, when O->color. */
void	termout_sgr(struct termout *, const char *param);
/* A line break, then INDENT spaces. */
void	termout_newline(struct termout *, size_t indent);
/*
 * The N bytes of S escaped, runs of spaces as one, up to column RIGHT:
 * what does not fit is cut with an ellipsis.
 */
void	termout_fit(struct termout *, const char *s, size_t n,
	    size_t right);
/* S (NULL: "") escaped, cut to COLS columns and padded to them. */
void	termout_cell(struct termout *, const char *s, size_t cols);
/*
 * S escaped from the current column, lines broken at spaces (a word
 * longer than a line anywhere) so that none passes the width;
 * continuation lines start at column INDENT.  The MAXLINES-th line (0:
 * no limit) ends with an ellipsis if more remains.
 */
void	termout_text(struct termout *, const char *s, size_t indent,
	    size_t maxlines);

#endif /* MAILSCOPE_TERMOUT_H */
