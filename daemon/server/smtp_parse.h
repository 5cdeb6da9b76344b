/*
 * Pure parsers of the SMTP server: line framing with a bound, command
 * verbs, paths and ESMTP parameters (RFC 5321 4.1, 4.5.3.1).  No I/O
 * beyond reading an evbuffer; any thread.
 */
#ifndef MAILSCOPE_SMTP_PARSE_H
#define MAILSCOPE_SMTP_PARSE_H

#include <stddef.h>

struct evbuffer;

enum line_status {
	LINE_OK,	/* a whole line: *LEN bytes, then *EOL_LEN (1 or 2) */
	LINE_MORE,	/* no end of line yet, still within the limit */
	LINE_TOO_LONG	/* no end of line within MAX bytes (incl. CRLF) */
};

/* Finds the next line in BUF without removing it. */
enum line_status smtp_parse_line(struct evbuffer *buf, size_t max,
		    size_t *len, size_t *eol_len);

/*
 * Matches the verb of LINE against VERB ("EHLO", "MAIL FROM:"), case-
 * insensitively.  A verb ending in ':' matches as a prefix; others need a
 * space or the end after them.  On a match returns the argument (leading
 * spaces skipped), else NULL.
 */
const char	*smtp_parse_verb(const char *line, const char *verb);

#define PATH_MAX_LEN	256	/* RFC 5321 4.5.3.1.3, incl. brackets */

/*
 * Parses "<path>" at ARG: an optional source route (RFC 5321 4.1.2,
 * accepted and ignored), then local@domain, into MAILBOX (NUL-terminated,
 * at most PATH_MAX_LEN).  "<>" yields "" (the caller decides if allowed).
 * *REST points after '>' (parameters).  0, or -1 on a syntax error.
 */
int		 smtp_parse_path(const char *arg, char *mailbox, size_t len,
		    const char **rest);

/*
 * Finds the ESMTP parameter KEYWORD (case-insensitive) in PARAMS
 * ("SIZE=10 BODY=8BITMIME").  1 if present, with its value copied into
 * VAL (may be empty); 0 if absent; -1 on a malformed parameter list.
 */
int		 smtp_parse_param(const char *params, const char *keyword,
		    char *val, size_t vallen);

/*
 * A data line of LEN bytes, ended by EOL (1: bare LF, 2: CRLF), after a
 * line ended by PREV_EOL: 1 if it is the terminating CRLF "." CRLF.
 */
int		 smtp_parse_data_end(const char *line, size_t len,
		    size_t prev_eol, size_t eol);
/*
 * Bytes of LINE to drop for dot-unstuffing (RFC 5321 4.5.2): 0 or 1; 0
 * after a bare LF (PREV_EOL 1), which starts no line.
 */
size_t		 smtp_parse_unstuff(const char *line, size_t len,
		    size_t prev_eol);

/* 1 if the LEN bytes of a command LINE hold a CR (not part of its CRLF). */
int		 smtp_parse_bare_cr(const char *line, size_t len);

#define SMTP_LOG_ARG_MAX	16	/* of a refused unknown command */

/*
 * How many of the LEN bytes of an unknown command LINE may be logged: the
 * verb and at most SMTP_LOG_ARG_MAX bytes of its argument; of AUTH only
 * the mechanism, never a credential.  *CUT: 1 if bytes were left out.
 */
size_t		 smtp_parse_loggable(const char *line, size_t len, int *cut);

#endif /* MAILSCOPE_SMTP_PARSE_H */
