/*
 * The report as one self-contained HTML5 page: inline CSS, no script,
 * nothing fetched (its Content-Security-Policy forbids all but the
 * inline style).  The verdicts by group with their evidence folded
 * under them, then the challenge table.  Every string is escaped by
 * esc().  Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "text.h"

static const char style[] =
	"body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;"
	"max-width:72em;padding:0 1em;color:#1d1d1f;background:#fff}"
	"h1{font-size:1.5em;margin-bottom:.2em}"
	"h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}"
	"code,td.a{font-family:ui-monospace,monospace;font-size:.92em}"
	".meta,.context{color:#6e6e73}"
	".context{font-size:.9em;margin:.1em 0 0 6.4em}"
	".score{font-size:1.2em}"
	".score b{font-size:1.4em}"
	".v{margin:.5em 0}"
	".v summary{cursor:pointer}"
	".v p{margin:0}"
	".badge{display:inline-block;min-width:5.6em;text-align:center;"
	"border-radius:.8em;padding:0 .5em;margin-right:.6em;"
	"font-size:.85em;font-weight:600;color:#fff}"
	".good{background:#1a7f37}.note{background:#0969da}"
	".improve{background:#9a6700}.bad{background:#cf222e}"
	".waiting{background:#6639ba}.not_measured{background:#6e7781}"
	".delivered{color:#1a7f37}.refused{color:#cf222e}"
	"ul.ev{margin:.3em 0 .3em 6.4em;padding-left:1em;font-size:.9em}"
	"table{border-collapse:collapse;width:100%;font-size:.9em}"
	"th,td{border-bottom:1px solid #e5e5e5;padding:.3em .4em;"
	"text-align:left;vertical-align:top;overflow-wrap:anywhere}"
	"td ul{margin:0;padding-left:1em}";

/* C0 but newline, DEL, C1: shown as \xNN, as the text report does. */
static int
control(unsigned int cp)
{
	return (cp < 0x20 && cp != '\n') || cp == 0x7f ||
	    (cp >= 0x80 && cp < 0xa0);
}

/*
 * S (NULL: nothing) as HTML text or attribute value: the five
 * characters of markup as references, invalid UTF-8 as U+FFFD, control
 * characters as \xNN.
 */
static void
esc(FILE *fp, const char *s)
{
	static const char markup[] = "&<>\"'";
	static const char *const refs[] = {
		"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"
	};
	const char *m;
	size_t n, i = 0, len;
	unsigned int cp;

	if (s == NULL)
		return;
	n = strlen(s);
	while (i < n) {
		if ((len = text_utf8_char(s + i, n - i, &cp)) == 0) {
			fputs("\xef\xbf\xbd", fp);
			i++;
			continue;
		}
		if (control(cp)) {
			for (; len > 0; len--, i++)
				fprintf(fp, "\\x%02x", (unsigned char)s[i]);
			continue;
		}
		/* (control() took NUL, which strchr() would find) */
		if (cp < 0x80 && (m = strchr(markup, (int)cp)) != NULL)
			fputs(refs[m - markup], fp);
		else
			fwrite(s + i, 1, len, fp);
		i += len;
	}
}

/* S escaped in <code>. */
static void
code(FILE *fp, const char *s)
{
	fputs("<code>", fp);
	esc(fp, s);
	fputs("</code>", fp);
}

/* <time> of T (nothing for 0). */
static void
put_time(FILE *fp, double t)
{
	char buf[RP_TIME_MAX];

	report_time(t, buf, sizeof(buf));
	if (buf[0] != '\0')
		fprintf(fp, "<time datetime=\"%s\">%s</time>", buf, buf);
}

static void
head(FILE *fp, const struct rp_report *r)
{
	const struct rp_input *in = r->in;
	double deadline = report_deadline(in);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>mailscope report ", fp);
	esc(fp, in->test_id);
	fprintf(fp, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
	fputs("<header>\n<h1>mailscope report</h1>\n<p class=\"meta\">Test ",
	    fp);
	code(fp, in->test_id);
	fputs(" on ", fp);
	code(fp, in->base);
	fputs(", created ", fp);
	put_time(fp, in->created);
	fputs(", generated ", fp);
	put_time(fp, in->now);
	fputs(".<br>", fp);
	if (deadline == 0)
		fputs("Nothing received yet: absence is not conclusive.", fp);
	else {
		fputs("Absence is conclusive from ", fp);
		put_time(fp, deadline);
		fputs(".", fp);
	}
	fputs("</p>\n<p class=\"score\">Score: ", fp);
	if (r->score >= 0)
		fprintf(fp, "<b>%d</b>/10", r->score);
	else
		fputs("<b>none yet</b>", fp);
	if (r->score_reason[0] != '\0') {
		fputs(" &mdash; ", fp);
		esc(fp, r->score_reason);
	}
	fputs("</p>\n</header>\n", fp);
}

/* The line of verdict V that is always shown. */
static void
verdict_line(FILE *fp, const struct rp_verdict *v)
{
	const char *state = report_state_name(v->state);

	fputs("<span class=\"badge ", fp);
	esc(fp, state);
	fputs("\">", fp);
	esc(fp, state);
	fputs("</span><strong>", fp);
	esc(fp, v->rule->title);
	fputs("</strong>: ", fp);
	esc(fp, v->reason);
}

static void
verdict(FILE *fp, const struct rp_verdict *v)
{
	const struct rp_evidence *e;
	size_t i;

	fputs("<div class=\"v\" id=\"v-", fp);
	esc(fp, v->rule->key);
	fputs("\">\n", fp);
	if (v->nevidence == 0) {
		fputs("<p>", fp);
		verdict_line(fp, v);
		fputs("</p>\n", fp);
	} else {
		fputs("<details><summary>", fp);
		verdict_line(fp, v);
		fputs("</summary>\n<ul class=\"ev\">\n", fp);
		for (i = 0; i < v->nevidence; i++) {
			e = &v->evidence[i];
			fputs("<li>", fp);
			put_time(fp, e->time);
			fputs(" <code>", fp);
			esc(fp, e->table);
			fprintf(fp, " #%lld</code> ", (long long)e->id);
			esc(fp, e->summary);
			fputs("</li>\n", fp);
		}
		fputs("</ul></details>\n", fp);
	}
	if (v->rule->context != NULL) {
		fputs("<p class=\"context\">", fp);
		esc(fp, v->rule->context);
		fputs("</p>\n", fp);
	}
	fputs("</div>\n", fp);
}

static const char *const received[] = {
	"yes", "no: refused", "not yet", "no"
};

static void
challenge(FILE *fp, const struct rp_input *in, size_t i)
{
	char buf[RP_REASON_MAX];
	const struct rp_delivery *d;
	const struct rp_conn *c;
	struct rp_row row;
	size_t k;

	report_row(in, i, &row);
	fputs("<tr><td>", fp);
	code(fp, row.ch->name);
	fputs("</td><td class=\"a\">", fp);
	esc(fp, row.ch->address);
	fprintf(fp, "</td><td class=\"%s\">%s</td><td>",
	    report_outcome_name(row.outcome), received[row.outcome]);
	if ((d = row.first) != NULL) {
		report_via_text(d, buf, sizeof(buf));
		esc(fp, buf);
		fputs("<br>", fp);
		code(fp, d->client_addr);
		fputs("<br>MAIL FROM ", fp);
		code(fp, d->mail_from);
	}
	fputs("</td><td>", fp);
	if (d != NULL)
		put_time(fp, d->received);
	fputs("</td><td>", fp);
	if (d != NULL && d->tls_version != NULL) {
		esc(fp, d->tls_version);
		fputs("<br>", fp);
		code(fp, d->tls_cipher);
	} else if (d != NULL)
		fputs("none", fp);
	fputs("</td><td>", fp);
	report_grey_text(&row, buf, sizeof(buf));
	esc(fp, buf);
	fputs("</td><td>", fp);
	if (row.nrefusals > 0) {
		fputs("<ul>", fp);
		for (k = 0; k < in->nconns; k++) {
			if (!report_row_refusal(&row, c = &in->conns[k]))
				continue;
			report_refusal_text(c, buf, sizeof(buf));
			fputs("<li>", fp);
			put_time(fp, c->started);
			fputs(" ", fp);
			code(fp, c->client_addr);
			fputs(", EHLO ", fp);
			code(fp, c->helo);
			fputs(": ", fp);
			esc(fp, buf);
			fputs("</li>", fp);
		}
		fputs("</ul>", fp);
	}
	fputs("</td></tr>\n", fp);
}

int
report_html(const struct rp_report *r, FILE *fp)
{
	size_t g, i;

	head(fp, r);
	fputs("<main>\n", fp);
	for (g = 0; g < RP_NGROUPS; g++) {
		if (!report_group_used(r, g))
			continue;
		fputs("<section id=\"", fp);
		esc(fp, report_group_name(g));
		fputs("\">\n<h2>", fp);
		esc(fp, report_group_title(g));
		fputs("</h2>\n", fp);
		for (i = 0; i < r->nverdicts; i++)
			if (r->verdicts[i].rule->group == g)
				verdict(fp, &r->verdicts[i]);
		fputs("</section>\n", fp);
	}
	fputs("<section id=\"challenges\">\n<h2>Challenge addresses</h2>\n"
	    "<table>\n<thead><tr><th>Challenge</th><th>Sent to</th>"
	    "<th>Received</th><th>Through</th><th>When</th><th>TLS</th>"
	    "<th>Greylisting</th><th>Refusals seen</th></tr></thead>\n"
	    "<tbody>\n", fp);
	for (i = 0; i < r->in->nchallenges; i++)
		challenge(fp, r->in, i);
	fputs("</tbody>\n</table>\n</section>\n</main>\n</body>\n</html>\n",
	    fp);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
