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
#include "termout.h"

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

static void
header(struct termout *o, const struct rp_report *r)
{
	const struct rp_input *in = r->in;
	char created[RP_TIME_MAX], now[RP_TIME_MAX], dl[RP_TIME_MAX];
	char line[256];
	double deadline = report_deadline(in);

	report_time(in->created, created, sizeof(created));
	report_time(in->now, now, sizeof(now));
	report_time(deadline, dl, sizeof(dl));
	termout_sgr(o, SGR_BOLD);
	termout_raw(o, "mailscope report, test ");
	termout_fit(o, in->test_id, strlen(in->test_id), WIDTH);
	termout_sgr(o, "0");
	termout_newline(o, 0);
	termout_raw(o, "  base ");
	termout_fit(o, in->base != NULL ? in->base : "?", in->base != NULL ?
	    strlen(in->base) : 1, WIDTH);
	termout_newline(o, 2);
	if (snprintf(line, sizeof(line), "created %s, generated %s", created,
	    now) < 0)
		line[0] = '\0';
	termout_raw(o, line);
	termout_newline(o, 2);
	if (deadline == 0)
		termout_raw(o, "nothing received yet: absence is not conclusive");
	else {
		termout_raw(o, "absence is conclusive from ");
		termout_raw(o, dl);
	}
	termout_newline(o, 0);
	termout_newline(o, 0);
	termout_sgr(o, SGR_BOLD);
	if (r->score >= 0) {
		if (snprintf(line, sizeof(line), "Score: %d/10", r->score) < 0)
			line[0] = '\0';
		termout_raw(o, line);
	} else
		termout_raw(o, "Score: none yet");
	termout_sgr(o, "0");
	if (r->score_reason[0] != '\0') {
		termout_raw(o, "  ");
		termout_text(o, r->score_reason, 2, 0);
	}
	termout_newline(o, 0);
}

static void
legend(struct termout *o)
{
	static const char *const words[RP_NSTATES] = {
		" good  ", " note  ", " improve  ", " bad  ", " waiting  ",
		" not measured"
	};
	size_t s;

	for (s = 0; s < RP_NSTATES; s++) {
		termout_sgr(o, states[s].sgr);
		termout_raw(o, states[s].symbol);
		termout_sgr(o, "0");
		termout_raw(o, words[s]);
	}
	termout_newline(o, 0);
}

static void
verdict(struct termout *o, const struct rp_verdict *v, int verbose)
{
	char when[RP_TIME_MAX], line[RP_SUMMARY_MAX + 128];
	const struct rp_evidence *e;
	size_t i;

	termout_raw(o, "  ");
	termout_sgr(o, states[v->state].sgr);
	termout_raw(o, states[v->state].symbol);
	termout_sgr(o, "0");
	termout_raw(o, " ");
	termout_cell(o, v->rule->title, TITLE_COLS);
	termout_raw(o, "  ");
	termout_text(o, v->reason, REASON_COL, verbose ? 0 : REASON_LINES);
	termout_newline(o, 0);
	if (v->rule->context != NULL) {
		termout_cell(o, NULL, DETAIL_COL);
		termout_sgr(o, SGR_DIM);
		termout_text(o, v->rule->context, DETAIL_COL, 1);
		termout_sgr(o, "0");
		termout_newline(o, 0);
	}
	for (i = 0; verbose && i < v->nevidence; i++) {
		e = &v->evidence[i];
		report_time(e->time, when, sizeof(when));
		if (snprintf(line, sizeof(line), "%s #%lld %s %s",
		    e->table != NULL ? e->table : "?", (long long)e->id, when,
		    e->summary) < 0)
			line[0] = '\0';
		termout_cell(o, NULL, DETAIL_COL);
		termout_raw(o, "- ");
		termout_text(o, line, DETAIL_COL + 2, 0);
		termout_newline(o, 0);
	}
}

/* One line of a challenge's details under --verbose. */
static void
detail(struct termout *o, const char *s)
{
	termout_cell(o, NULL, DETAIL_COL);
	termout_text(o, s, DETAIL_COL + 2, 0);
	termout_newline(o, 0);
}

static void
challenge(struct termout *o, const struct rp_input *in, size_t i, int verbose)
{
	char via[64], when[RP_TIME_MAX], what[RP_REASON_MAX], line[1024];
	const struct rp_delivery *d;
	const struct rp_conn *c;
	const char *tls;
	struct rp_row row;
	size_t k;

	report_row(in, i, &row);
	termout_raw(o, "  ");
	termout_cell(o, row.ch->name, NAME_COLS);
	termout_raw(o, " ");
	if ((d = row.first) != NULL) {
		termout_cell(o, report_outcome_name(row.outcome), OUTCOME_COLS);
		termout_raw(o, " ");
		report_via_text(d, via, sizeof(via));
		termout_cell(o, via, VIA_COLS);
		termout_raw(o, " ");
		report_time(d->received, when, sizeof(when));
		termout_cell(o, when, TIME_COLS);
		termout_raw(o, " ");
		tls = d->tls_version != NULL ? d->tls_version : "no TLS";
		termout_fit(o, tls, strlen(tls), WIDTH);
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
			termout_raw(o, report_outcome_name(row.outcome));
		else {
			termout_cell(o, report_outcome_name(row.outcome),
			    OUTCOME_COLS);
			termout_raw(o, " ");
			termout_fit(o, what, strlen(what), WIDTH);
		}
	}
	termout_newline(o, 0);
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
	struct termout o = { fp, opts->color, 0, WIDTH };
	size_t g, i;

	header(&o, r);
	legend(&o);
	for (g = 0; g < RP_NGROUPS; g++) {
		if (!report_group_used(r, g))
			continue;
		termout_newline(&o, 0);
		termout_sgr(&o, SGR_BOLD);
		termout_text(&o, report_group_title(g), 0, 1);
		termout_sgr(&o, "0");
		termout_newline(&o, 0);
		for (i = 0; i < r->nverdicts; i++)
			if (r->verdicts[i].rule->group == g)
				verdict(&o, &r->verdicts[i], opts->verbose);
	}
	termout_newline(&o, 0);
	termout_sgr(&o, SGR_BOLD);
	termout_raw(&o, "Challenges");
	termout_sgr(&o, "0");
	termout_newline(&o, 0);
	termout_sgr(&o, SGR_DIM);
	termout_raw(&o, "  ");
	termout_cell(&o, "challenge", NAME_COLS);
	termout_raw(&o, " ");
	termout_cell(&o, "received", OUTCOME_COLS);
	termout_raw(&o, " ");
	termout_cell(&o, "through", VIA_COLS);
	termout_raw(&o, " ");
	termout_cell(&o, "first", TIME_COLS);
	termout_raw(&o, " TLS");
	termout_sgr(&o, "0");
	termout_newline(&o, 0);
	for (i = 0; i < r->in->nchallenges; i++)
		challenge(&o, r->in, i, opts->verbose);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
