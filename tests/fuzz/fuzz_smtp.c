/*
 * libFuzzer target of the SMTP server's input path as far as it is pure
 * (smtp_parse.c): bytes arrive in reads of a size the input chooses, are
 * cut into lines under the line limit as smtp.c does, each command line
 * is matched against the verbs and its path, ESMTP parameters or BDAT
 * size parsed, DATA lines go through the end-of-data and dot-unstuffing
 * tests, BDAT chunks through the chunk scan.  Beyond not crashing: the
 * line framing agrees with a plain search for LF (RFC 5321 4.5.3.1.6: the
 * limit counts the line end), a parsed path fits PATH_MAX_LEN and holds no
 * control byte, parameters are well-formed, nothing of an AUTH response is
 * loggable, and the chunk scan, however the message is cut, counts what a
 * byte-by-byte count finds.  Built and run by tests/fuzz/run.
 */
#include "build.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "smtp_parse.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The verbs of smtp.c's command table, in its order, and some it answers
 * as unknown (matched here all the same: their arguments reach the log).
 */
static const char *const verbs[] = {
	"EHLO", "HELO", "STARTTLS", "MAIL FROM:", "RCPT TO:", "DATA", "BDAT",
	"RSET", "NOOP", "QUIT", "VRFY", "HELP", "AUTH", "EXPN", "ETRN",
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

#define LINE_BUF	1100	/* the largest limit below, and its NUL */
#define KEY_MAX		32	/* smtp.c's buffers for a parameter */
#define VALUE_MAX	501

enum mode { M_COMMAND, M_DATA, M_BDAT };

/* The state smtp.c keeps for its input, as far as the target models it. */
struct feed {
	struct evbuffer	*in;
	size_t		 max;		/* the line limit */
	enum mode	 mode;
	int		 skip;		/* dropping a long line's rest */
	size_t		 prev_eol;	/* DATA: last line end */
	size_t		 bdat_left;	/* BDAT: octets to come */
	struct smtp_scan scan;
};

/* WHAT is broken: a finding, the input kept as a crash. */
static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_smtp: %s\n", what);
	abort();
}

/*
 * smtp_parse_line() against the first LF of the buffer: a line when it
 * ends within the limit (CRLF or a bare LF), too long when it does not or
 * when as many bytes as the limit hold none, else more to come.
 */
static enum line_status
check_line(struct feed *f, size_t *len, size_t *eol)
{
	enum line_status st, want;
	const unsigned char *p;
	const void *lf;
	size_t n, i, wlen = 0, weol = 0;

	st = smtp_parse_line(f->in, f->max, len, eol);
	n = evbuffer_get_length(f->in);
	p = evbuffer_pullup(f->in, -1);
	if (n > 0 && p == NULL)
		broken("pullup failed");
	if ((lf = n > 0 ? memchr(p, '\n', n) : NULL) != NULL) {
		i = (size_t)((const unsigned char *)lf - p);
		weol = i > 0 && p[i - 1] == '\r' ? 2 : 1;
		wlen = i + 1 - weol;
		want = i + 1 > f->max ? LINE_TOO_LONG : LINE_OK;
	} else
		want = n >= f->max ? LINE_TOO_LONG : LINE_MORE;
	if (st != want)
		broken("line status differs from the search for LF");
	if (st == LINE_OK && (*len != wlen || *eol != weol))
		broken("line length or end differs from the search for LF");
	return st;
}

/*
 * As smtp.c's drop_long_line(): through the next line end, or all that is
 * there and the rest later; in DATA the line end dropped is the last.
 */
static void
drop_line(struct feed *f)
{
	struct evbuffer_ptr p;
	size_t eol;

	p = evbuffer_search_eol(f->in, NULL, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos == -1) {
		evbuffer_drain(f->in, evbuffer_get_length(f->in));
		f->skip = 1;
		return;
	}
	evbuffer_drain(f->in, (size_t)p.pos + eol);
	f->skip = 0;
	if (f->mode == M_DATA)
		f->prev_eol = eol;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* smtp_parse_utf8() against text.c's decoder, character by character. */
static void
check_utf8(const char *s)
{
	size_t n = strlen(s), i = 0, k;
	unsigned int cp;
	int ok = 1, any8 = 0;

	while (i < n) {
		if ((unsigned char)s[i] >= 0x80)
			any8 = 1;
		if ((k = text_utf8_char(s + i, n - i, &cp)) == 0) {
			ok = 0;
			break;
		}
		i += k;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			any8 = 1;
	if ((smtp_parse_utf8(s) == 0) != ok)
		broken("smtp_parse_utf8 differs from text_utf8_char");
	if (smtp_parse_8bit(s) != any8)
		broken("smtp_parse_8bit differs from a byte search");
}

/* The ESMTP parameters at P: each well-formed, the walk making progress. */
static void
check_params(const char *p)
{
	char key[KEY_MAX], val[VALUE_MAX];
	const char *before, *s;
	int r;

	for (;;) {
		before = p;
		r = smtp_parse_param_next(&p, key, sizeof(key), val,
		    sizeof(val));
		if (r != 1)
			break;
		if (p <= before || (*p != ' ' && *p != '\0'))
			broken("parameter walk without progress");
		if (!isalnum((unsigned char)key[0]))
			broken("parameter keyword not starting alphanumeric");
		for (s = key; *s != '\0'; s++)
			if (!isalnum((unsigned char)*s) && *s != '-')
				broken("parameter keyword character");
		for (s = val; *s != '\0'; s++)
			if ((unsigned char)*s <= 0x20 || *s == '=' ||
			    *s == 0x7f)
				broken("parameter value character");
		check_utf8(val);
		(void)smtp_parse_xtext(val);
		(void)smtp_parse_notify(val);
		(void)smtp_parse_orcpt(val, 0);
		(void)smtp_parse_orcpt(val, 1);
	}
	while (r == 0 && *p == ' ')
		p++;
	if (r == 0 && *p != '\0')
		broken("parameters ended before the end");
}

/*
 * The path of MAIL or RCPT at ARG: within PATH_MAX_LEN, as sent, without
 * a control byte, "" only as <>, an address or <Postmaster>; a buffer
 * one byte shorter refuses it.
 */
static void
check_path(const char *arg)
{
	char mb[PATH_MAX_LEN + 1], again[PATH_MAX_LEN + 1];
	const char *rest, *rest2, *at;
	size_t n;

	if (smtp_parse_path(arg, mb, sizeof(mb), &rest) == -1)
		return;
	n = strlen(mb);
	if (n + 2 > PATH_MAX_LEN)
		broken("path longer than PATH_MAX_LEN");
	if (rest < arg || rest > arg + strlen(arg) || *rest == ' ')
		broken("parameters outside the argument");
	if (strstr(arg, mb) == NULL)
		broken("path not as sent");
	if (has_control(mb))
		broken("control byte in a path");
	at = strrchr(mb, '@');
	if (n > 0 && at == NULL && strcasecmp(mb, "postmaster") != 0)
		broken("path without a domain");
	if (at != NULL && (at == mb || at[1] == '\0' ||
	    strpbrk(at + 1, "\"<>") != NULL))
		broken("path with an empty part or a bad domain");
	if (n > 0 && smtp_parse_path(arg, again, n, &rest2) != -1)
		broken("path parsed into a buffer too short");
	if (smtp_parse_path(arg, again, n + 1, &rest2) == -1 ||
	    strcmp(again, mb) != 0 || rest2 != rest)
		broken("path parse not repeatable");
	check_utf8(mb);
	check_params(rest);
}

/* AUTH's initial response must never be among the loggable bytes. */
static void
check_loggable(const char *line, size_t len)
{
	size_t n;
	int cut;

	n = smtp_parse_loggable(line, len, &cut);
	if (n > len || cut != (n < len))
		broken("loggable length");
	if (len > 5 && strncasecmp(line, "AUTH ", 5) == 0 && n > 5 &&
	    memchr(line + 5, ' ', n - 5) != NULL)
		broken("AUTH response loggable");
	if (smtp_parse_bare_cr(line, len) != (memchr(line, '\r', len) != NULL))
		broken("bare CR");
}

static void
command(struct feed *f, char *line, size_t len)
{
	const char *arg;
	size_t i, size;
	int last;

	/* smtp.c: a command line's NULs become '?' */
	for (i = 0; i < len; i++)
		if (line[i] == '\0')
			line[i] = '?';
	line[len] = '\0';
	check_loggable(line, len);
	for (i = 0; i < NVERBS; i++)
		if ((arg = smtp_parse_verb(line, verbs[i])) != NULL)
			break;
	if (i == NVERBS)
		return;
	if (arg < line + strlen(verbs[i]) || arg > line + len || *arg == ' ')
		broken("verb argument");
	if (strcmp(verbs[i], "MAIL FROM:") == 0 ||
	    strcmp(verbs[i], "RCPT TO:") == 0)
		check_path(arg);
	else if (strcmp(verbs[i], "DATA") == 0) {
		f->mode = M_DATA;
		f->prev_eol = 2;	/* the CRLF that ended "DATA" */
	} else if (strcmp(verbs[i], "BDAT") == 0 &&
	    smtp_parse_bdat(arg, &size, &last) == 0) {
		if ((last != 0 && last != 1) || size >= 1000000000000000ULL)
			broken("BDAT size or LAST");
		if (size > 0) {
			f->mode = M_BDAT;
			f->bdat_left = size;
		}
	}
}

static void
data_line(struct feed *f, const char *line, size_t len, size_t eol)
{
	size_t skip;

	if (smtp_parse_data_end(line, len, f->prev_eol, eol)) {
		if (f->prev_eol != 2 || eol != 2 || len != 1 || line[0] != '.')
			broken("end of data not CRLF . CRLF");
		f->mode = M_COMMAND;
		return;
	}
	skip = smtp_parse_unstuff(line, len, f->prev_eol);
	if (skip > 1 || (skip == 1 && (line[0] != '.' || f->prev_eol != 2)))
		broken("dot-unstuffing");
	f->prev_eol = eol;
}

static void
bdat_bytes(struct feed *f)
{
	char buf[4096];
	size_t n, head;
	int trim;

	n = evbuffer_get_length(f->in);
	if (n > f->bdat_left)
		n = f->bdat_left;
	if (n > sizeof(buf))
		n = sizeof(buf);
	if (evbuffer_remove(f->in, buf, n) != (int)n)
		broken("evbuffer_remove");
	head = smtp_parse_scan(&f->scan, buf, n, f->max, &trim);
	if (head > n)
		broken("header bytes beyond the chunk");
	if ((f->bdat_left -= n) == 0)
		f->mode = M_COMMAND;
}

/* Everything the buffer holds now, as smtp.c's read callback would. */
static void
drain(struct feed *f)
{
	char line[LINE_BUF];
	size_t len, eol;

	for (;;) {
		if (f->mode == M_BDAT) {
			if (evbuffer_get_length(f->in) == 0)
				return;
			bdat_bytes(f);
			continue;
		}
		if (f->skip) {
			drop_line(f);
			if (f->skip)
				return;
			continue;
		}
		switch (check_line(f, &len, &eol)) {
		case LINE_MORE:
			return;
		case LINE_TOO_LONG:
			drop_line(f);
			continue;
		case LINE_OK:
			break;
		}
		if (evbuffer_remove(f->in, line, len) != (int)len)
			broken("evbuffer_remove");
		evbuffer_drain(f->in, eol);
		if (f->mode == M_DATA)
			data_line(f, line, len, eol);
		else
			command(f, line, len);
	}
}

/*
 * The chunk scan of the N bytes at P, cut after every STEP bytes, against
 * a count byte by byte: bare LF, bare CR, NUL, lines of at least MAX bytes
 * before their LF, and the header section up to the first empty line.
 */
static void
check_scan(const char *p, size_t n, size_t max, size_t step)
{
	struct smtp_scan sc;
	size_t i, k, head = 0, want_head = n, start = 0;
	unsigned lf = 0, cr = 0, nul = 0, lng = 0;
	int trim;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			lf++;
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			cr++;
		if (p[i] == '\0')
			nul++;
		if (p[i] == '\n' || i + 1 == n) {
			if ((p[i] == '\n' ? i - start : i + 1 - start) >= max)
				lng++;
			/* an empty line: LF or CRLF alone */
			if (want_head == n && (i == start ||
			    (i == start + 1 && p[start] == '\r')) &&
			    p[i] == '\n')
				want_head = start;
			start = i + 1;
		}
	}
	memset(&sc, 0, sizeof(sc));
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		head += smtp_parse_scan(&sc, p + i, k, max, &trim);
		head -= (size_t)trim;
	}
	smtp_parse_scan_end(&sc);
	if (sc.bare_lf != lf || sc.bare_cr != cr || sc.nul_bytes != nul)
		broken("chunk scan: bare LF, bare CR or NUL count");
	if (sc.long_lines != lng)
		broken("chunk scan: long lines");
	if (head != want_head || sc.body != (want_head < n))
		broken("chunk scan: header section");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f;
	size_t off, n, step;

	if (size < 2)
		return 0;
	memset(&f, 0, sizeof(f));
	/* a limit of 8 to 1028 bytes: short inputs reach it too */
	f.max = 8 + (size_t)data[0] * 4;
	step = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	check_scan((const char *)data, size, f.max, step);

	if ((f.in = evbuffer_new()) == NULL)
		broken("evbuffer_new");
	for (off = 0; off < size; off += n) {
		n = size - off < step ? size - off : step;
		if (evbuffer_add(f.in, data + off, n) == -1)
			broken("evbuffer_add");
		drain(&f);
	}
	evbuffer_free(f.in);
	return 0;
}
