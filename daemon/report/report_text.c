/*
 * The report as text for a terminal: the score, the verdicts grouped as
 * CHALLENGES.md groups them, one entry each, then the challenge table;
 * lines of at most WIDTH code points.  Every string is shown escaped:
 * what a terminal would act on (C0, DEL, C1, invalid UTF-8) as \xNN.
 * Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "text.h"

#define WIDTH		100	/* code points a line */
#define TITLE_COLS	36	/* a verdict's title, then its reason */
#define REASON_COL	(2 + 2 + TITLE_COLS + 2)
#define REASON_LINES	3	/* without --verbose */
#define DETAIL_COL	6	/* context, evidence, a challenge's details */
/* The challenge table: name, outcome, through, first delivery, TLS. */
#define NAME_COLS	25	/* "tlsa-bad-insecure-pkix-ok" */
#define OUTCOME_COLS	9
#define VIA_COLS	16	/* "tls-bad IPv6 MX2" */
#define TIME_COLS	20	/* "2026-12-07T10:00:00Z" */
#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026 */

/* Select Graphic Rendition (ECMA-48 8.3.117) parameters. */
#define SGR_BOLD	"1"
#define SGR_DIM		"2"

struct out {
	FILE	*fp;
	int	 color;
	size_t	 col;		/* code points on the current line */
};

static const struct {
	const char	*symbol;
	const char	*sgr;
} states[RP_NSTATES] = {
	{ "\xe2\x9c\x93", "32" },	/* good: U+2713, green */
	{ "i", "36" },			/* note: cyan */
	{ "!", "33" },			/* improve: yellow */
	{ "\xe2\x9c\x97", "31" },	/* bad: U+2717, red */
	{ "?", "34" },			/* waiting: blue */
	{ "-", SGR_DIM },		/* not measured */
};

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
put_unit(struct out *o, const char *s, size_t len, size_t cols)
{
	if (cols == 1)
		fwrite(s, 1, len, o->fp);
	else
		fprintf(o->fp, "\\x%02x", (unsigned char)*s);
	o->col += cols;
}

/* Our own text (one column a character), not escaped. */
static void
put_raw(struct out *o, const char *s)
{
	fputs(s, o->fp);
	for (; *s != '\0'; s++)
		o->col += ((unsigned char)*s & 0xc0) != 0x80;
}

static void
sgr(struct out *o, const char *param)
{
	if (o->color)
		fprintf(o->fp, "\033[%sm", param);
}

static void
newline(struct out *o, size_t indent)
{
	putc('\n', o->fp);
	o->col = 0;
	for (; indent > 0; indent--)
		put_raw(o, " ");
}

/* Columns of the N bytes of S as put_fit() shows them: spaces as one. */
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
static void
put_fit(struct out *o, const char *s, size_t n, size_t right)
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
			put_raw(o, " ");
			continue;
		}
		cols = unit(s + i, n - i, &len);
		if (o->col + cols > stop)
			break;
		put_unit(o, s + i, len, cols);
		i += len;
	}
	if (i < n && o->col < right)
		put_raw(o, ELLIPSIS);
}

/* S (NULL: "") cut to COLS columns and padded to them. */
static void
put_cell(struct out *o, const char *s, size_t cols)
{
	size_t right = o->col + cols;

	if (s != NULL)
		put_fit(o, s, strlen(s), right);
	while (o->col < right)
		put_raw(o, " ");
}

/*
 * S escaped from the current column, lines broken at spaces (a word
 * longer than a line anywhere) so that none passes WIDTH; continuation
 * lines start at column INDENT.  The MAXLINES-th line (0: no limit)
 * ends with an ellipsis if more remains.
 */
static void
put_text(struct out *o, const char *s, size_t indent, size_t maxlines)
{
	size_t n = strlen(s), i = 0, j, w, len, cols, lines = 1;
	int sep = 0;

	for (;;) {
		for (; i < n && s[i] == ' '; i++)
			sep = 1;
		if (i == n)
			return;
		if (lines == maxlines) {
			if (sep && o->col + 1 < WIDTH)
				put_raw(o, " ");
			put_fit(o, s + i, n - i, WIDTH);
			return;
		}
		for (j = i, w = 0; j < n && s[j] != ' '; j += len)
			w += unit(s + j, n - j, &len);
		if (o->col + sep + w <= WIDTH) {
			if (sep)
				put_raw(o, " ");
			for (; i < j; i += len) {
				cols = unit(s + i, n - i, &len);
				put_unit(o, s + i, len, cols);
			}
		} else if (w > WIDTH - indent) {
			/* longer than a line: what fits here, then a break */
			if (sep && o->col + 1 < WIDTH)
				put_raw(o, " ");
			while (i < j) {
				cols = unit(s + i, n - i, &len);
				if (o->col + cols > WIDTH)
					break;
				put_unit(o, s + i, len, cols);
				i += len;
			}
			newline(o, indent);
			lines++;
		} else {
			newline(o, indent);
			lines++;
		}
		sep = 0;
	}
}

static void
header(struct out *o, const struct rp_report *r)
{
	const struct rp_input *in = r->in;
	char created[RP_TIME_MAX], now[RP_TIME_MAX], dl[RP_TIME_MAX];
	char line[256];
	double deadline = report_deadline(in);

	report_time(in->created, created, sizeof(created));
	report_time(in->now, now, sizeof(now));
	report_time(deadline, dl, sizeof(dl));
	sgr(o, SGR_BOLD);
	put_raw(o, "mailscope report, test ");
	put_fit(o, in->test_id, strlen(in->test_id), WIDTH);
	sgr(o, "0");
	newline(o, 0);
	put_raw(o, "  base ");
	put_fit(o, in->base != NULL ? in->base : "?", in->base != NULL ?
	    strlen(in->base) : 1, WIDTH);
	newline(o, 2);
	if (snprintf(line, sizeof(line), "created %s, generated %s", created,
	    now) < 0)
		line[0] = '\0';
	put_raw(o, line);
	newline(o, 2);
	if (deadline == 0)
		put_raw(o, "nothing received yet: absence is not conclusive");
	else {
		put_raw(o, "absence is conclusive from ");
		put_raw(o, dl);
	}
	newline(o, 0);
	newline(o, 0);
	sgr(o, SGR_BOLD);
	if (r->score >= 0) {
		if (snprintf(line, sizeof(line), "Score: %d/10", r->score) < 0)
			line[0] = '\0';
		put_raw(o, line);
	} else
		put_raw(o, "Score: none yet");
	sgr(o, "0");
	if (r->score_reason[0] != '\0') {
		put_raw(o, "  ");
		put_text(o, r->score_reason, 2, 0);
	}
	newline(o, 0);
}

static void
legend(struct out *o)
{
	static const char *const words[RP_NSTATES] = {
		" good  ", " note  ", " improve  ", " bad  ", " waiting  ",
		" not measured"
	};
	size_t s;

	for (s = 0; s < RP_NSTATES; s++) {
		sgr(o, states[s].sgr);
		put_raw(o, states[s].symbol);
		sgr(o, "0");
		put_raw(o, words[s]);
	}
	newline(o, 0);
}

static void
verdict(struct out *o, const struct rp_verdict *v, int verbose)
{
	char when[RP_TIME_MAX], line[RP_SUMMARY_MAX + 128];
	const struct rp_evidence *e;
	size_t i;

	put_raw(o, "  ");
	sgr(o, states[v->state].sgr);
	put_raw(o, states[v->state].symbol);
	sgr(o, "0");
	put_raw(o, " ");
	put_cell(o, v->rule->title, TITLE_COLS);
	put_raw(o, "  ");
	put_text(o, v->reason, REASON_COL, verbose ? 0 : REASON_LINES);
	newline(o, 0);
	if (v->rule->context != NULL) {
		put_cell(o, NULL, DETAIL_COL);
		sgr(o, SGR_DIM);
		put_text(o, v->rule->context, DETAIL_COL, 1);
		sgr(o, "0");
		newline(o, 0);
	}
	for (i = 0; verbose && i < v->nevidence; i++) {
		e = &v->evidence[i];
		report_time(e->time, when, sizeof(when));
		if (snprintf(line, sizeof(line), "%s #%lld %s %s",
		    e->table != NULL ? e->table : "?", (long long)e->id, when,
		    e->summary) < 0)
			line[0] = '\0';
		put_cell(o, NULL, DETAIL_COL);
		put_raw(o, "- ");
		put_text(o, line, DETAIL_COL + 2, 0);
		newline(o, 0);
	}
}

/* One line of a challenge's details under --verbose. */
static void
detail(struct out *o, const char *s)
{
	put_cell(o, NULL, DETAIL_COL);
	put_text(o, s, DETAIL_COL + 2, 0);
	newline(o, 0);
}

static void
challenge(struct out *o, const struct rp_input *in, size_t i, int verbose)
{
	char via[64], when[RP_TIME_MAX], what[RP_REASON_MAX], line[1024];
	const struct rp_delivery *d;
	const struct rp_conn *c;
	const char *tls;
	struct rp_row row;
	size_t k;

	report_row(in, i, &row);
	put_raw(o, "  ");
	put_cell(o, row.ch->name, NAME_COLS);
	put_raw(o, " ");
	if ((d = row.first) != NULL) {
		put_cell(o, report_outcome_name(row.outcome), OUTCOME_COLS);
		put_raw(o, " ");
		report_via_text(d, via, sizeof(via));
		put_cell(o, via, VIA_COLS);
		put_raw(o, " ");
		report_time(d->received, when, sizeof(when));
		put_cell(o, when, TIME_COLS);
		put_raw(o, " ");
		tls = d->tls_version != NULL ? d->tls_version : "no TLS";
		put_fit(o, tls, strlen(tls), WIDTH);
	} else {
		/* no delivery: what else there is, in the rest of the line */
		what[0] = '\0';
		for (k = 0; k < in->nconns && what[0] == '\0'; k++)
			if (report_row_refusal(&row, &in->conns[k]))
				report_refusal_text(&in->conns[k], what,
				    sizeof(what));
		if (what[0] == '\0')
			report_grey_text(&row, what, sizeof(what));
		if (what[0] == '\0')
			put_raw(o, report_outcome_name(row.outcome));
		else {
			put_cell(o, report_outcome_name(row.outcome),
			    OUTCOME_COLS);
			put_raw(o, " ");
			put_fit(o, what, strlen(what), WIDTH);
		}
	}
	newline(o, 0);
	if (!verbose)
		return;
	if (snprintf(line, sizeof(line), "to %s", row.ch->address != NULL ?
	    row.ch->address : "?") >= 0)
		detail(o, line);
	for (k = 0; k < in->ndeliveries; k++) {
		if (!report_row_delivery(&row, d = &in->deliveries[k]))
			continue;
		report_via_text(d, via, sizeof(via));
		report_time(d->received, when, sizeof(when));
		if (snprintf(line, sizeof(line), "delivered %s from %s via %s, "
		    "%s%s%s, MAIL FROM %s", when, d->client_addr != NULL ?
		    d->client_addr : "?", via, d->tls_version != NULL ?
		    d->tls_version : "no TLS", d->tls_cipher != NULL ? " " : "",
		    d->tls_cipher != NULL ? d->tls_cipher : "",
		    d->mail_from != NULL ? d->mail_from : "?") >= 0)
			detail(o, line);
	}
	report_grey_text(&row, what, sizeof(what));
	if (what[0] != '\0' && snprintf(line, sizeof(line), "greylist: %s",
	    what) >= 0)
		detail(o, line);
	for (k = 0; k < in->nconns; k++) {
		if (!report_row_refusal(&row, c = &in->conns[k]))
			continue;
		report_refusal_text(c, what, sizeof(what));
		report_time(c->started, when, sizeof(when));
		if (snprintf(line, sizeof(line), "refused %s from %s, EHLO %s: "
		    "%s", when, c->client_addr != NULL ? c->client_addr : "?",
		    c->helo != NULL ? c->helo : "(none)", what) >= 0)
			detail(o, line);
	}
}

int
report_text(const struct rp_report *r, const struct rp_format_opts *opts,
    FILE *fp)
{
	struct out o = { fp, opts->color, 0 };
	size_t g, i;

	header(&o, r);
	legend(&o);
	for (g = 0; g < RP_NGROUPS; g++) {
		if (!report_group_used(r, g))
			continue;
		newline(&o, 0);
		sgr(&o, SGR_BOLD);
		put_text(&o, report_group_title(g), 0, 1);
		sgr(&o, "0");
		newline(&o, 0);
		for (i = 0; i < r->nverdicts; i++)
			if (r->verdicts[i].rule->group == g)
				verdict(&o, &r->verdicts[i], opts->verbose);
	}
	newline(&o, 0);
	sgr(&o, SGR_BOLD);
	put_raw(&o, "Challenges");
	sgr(&o, "0");
	newline(&o, 0);
	sgr(&o, SGR_DIM);
	put_raw(&o, "  ");
	put_cell(&o, "challenge", NAME_COLS);
	put_raw(&o, " ");
	put_cell(&o, "received", OUTCOME_COLS);
	put_raw(&o, " ");
	put_cell(&o, "through", VIA_COLS);
	put_raw(&o, " ");
	put_cell(&o, "first", TIME_COLS);
	put_raw(&o, " TLS");
	sgr(&o, "0");
	newline(&o, 0);
	for (i = 0; i < r->in->nchallenges; i++)
		challenge(&o, r->in, i, opts->verbose);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
