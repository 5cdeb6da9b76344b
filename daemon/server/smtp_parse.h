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

/*
 * The next ESMTP parameter of a MAIL or RCPT command at *P (RFC 5321
 * 4.1.2 esmtp-param; RFC 6531 3.3: a value may hold UTF-8): its keyword
 * into KEY, its value into VAL ("" without '=').  1 with *P moved past it,
 * 0 at the end, -1 if malformed or longer than the buffers.
 */
int		 smtp_parse_param_next(const char **p, char *key, size_t keylen,
		    char *val, size_t vallen);

/* RFC 3030 2: "BDAT" SP chunk-size [SP "LAST"].  0, or -1 on bad syntax. */
int		 smtp_parse_bdat(const char *arg, size_t *size, int *last);

/* RFC 3461 4: 0 if S is xtext, else -1. */
int		 smtp_parse_xtext(const char *s);
/* RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
int		 smtp_parse_notify(const char *s);
/*
 * RFC 3461 4.2: ORCPT=addr-type ";" xtext; RFC 6533 3: with UTF8 the
 * utf-8 address type may also carry UTF-8 (utf-8-addr-unitext).
 */
int		 smtp_parse_orcpt(const char *s, int utf8);
/* 1 if S holds a byte above 0x7f. */
int		 smtp_parse_8bit(const char *s);
/* 0 if S is well-formed UTF-8 (RFC 3629 4), else -1. */
int		 smtp_parse_utf8(const char *s);

/*
 * What a BDAT chunk holds (RFC 3030: the octets as sent, no end of data
 * inside): bare LF, bare CR, NUL and over-long lines counted as DATA counts
 * them, and where the header section ends.  Zeroed to start a message.
 */
struct smtp_scan {
	int		 cr;		/* the last byte was a CR */
	int		 body;		/* the header section has ended */
	int		 counted;	/* this line was counted as long */
	size_t		 linelen;	/* bytes of this line so far */
	unsigned	 bare_lf, bare_cr, nul_bytes, long_lines;
};

/*
 * Scans the N bytes at P, the next of a message; lines longer than MAX
 * bytes (with their end) count as long.  Returns how many of them belong
 * to the header section; *TRIM is 1 when the header section ended on a
 * CR the previous call had counted (the caller drops it).
 */
size_t		 smtp_parse_scan(struct smtp_scan *, const char *p, size_t n,
		    size_t max, int *trim);
/* The message has ended: a last CR is bare. */
void		 smtp_parse_scan_end(struct smtp_scan *);

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
