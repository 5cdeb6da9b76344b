/*
 * The report as one HTML5 page with one stylesheet (report_html_style())
 * and no inline script: the static file of `mailscope report` (its own
 * CSP in a <meta>), or the web's page of a test (struct rp_html_opts:
 * the address set, links, live refresh; the server sends the CSP).  The
 * summary, the verdicts by group with their evidence folded under them,
 * then the challenge table.  Every string is escaped by esc(), every URL
 * part by pct().  Single-threaded; the tool or the web's worker.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "text.h"

#define LIVE_REFRESH	"15"	/* seconds between reloads without script */
#define TEXTAREA_ROWS	12	/* the address list's height at most */

/*
 * Light and dark by custom properties; every colour pair here is at
 * least 4.5:1 (WCAG 2.1 1.4.3), states also by symbol and word (1.4.1).
 */
static const char style[] =
	":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;"
	"--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--link:#0550ae;"
	"--focus:#0969da;--on:#fff;--good:#1a7f37;--note:#0969da;"
	"--improve:#9a6700;--bad:#cf222e;--waiting:#8250df;--nm:#59636e}"
	"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;"
	"--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#161b22;"
	"--link:#58a6ff;--focus:#58a6ff;--on:#0d1117;--good:#3fb950;"
	"--note:#58a6ff;--improve:#d29922;--bad:#f85149;--waiting:#bc8cff;"
	"--nm:#9198a1}}"
	"*,::before,::after{box-sizing:border-box}"
	"[hidden]{display:none!important}"
	"body{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,"
	"sans-serif;margin:0 auto;max-width:72em;padding:1em;"
	"color:var(--fg);background:var(--bg);overflow-wrap:anywhere}"
	"a{color:var(--link)}"
	":focus-visible{outline:3px solid var(--focus);outline-offset:2px}"
	"h1{font-size:1.6em;margin:.2em 0}"
	"h2{font-size:1.2em;margin:1.6em 0 .5em;padding-bottom:.2em;"
	"border-bottom:1px solid var(--line)}"
	"code,textarea,td.a{font-family:ui-monospace,SFMono-Regular,Menlo,"
	"Consolas,monospace;font-size:.92em}"
	".meta,.context{color:var(--muted)}"
	".context{font-size:.9em;margin:.15em 0 0}"
	".panel{background:var(--panel);border:1px solid var(--line);"
	"border-radius:.5em;padding:.2em 1em .6em;margin:1em 0}"
	".panel h2{border:0;margin-top:.6em}"
	".score{font-size:1.2em;margin:.3em 0}"
	".score b{font-size:1.6em}"
	"ul.counts,ul.names{list-style:none;padding:0;margin:.3em 0;"
	"display:flex;flex-wrap:wrap;gap:.3em 1em}"
	"dl.arrivals dt{font-weight:600;margin-top:.5em}"
	"dl.arrivals dd{margin:0}"
	".v{margin:.6em 0;padding-left:1.4em;border-left:4px solid var(--nm)}"
	".v p{margin:0}"
	".v summary{cursor:pointer;list-style-position:outside}"
	".badge{display:inline-block;min-width:7.5em;text-align:center;"
	"border-radius:1em;padding:0 .6em;margin-right:.5em;"
	"font-size:.85em;font-weight:600;white-space:nowrap;"
	"color:var(--on);background:var(--nm)}"
	".badge.good{background:var(--good)}.v.good{border-color:var(--good)}"
	".badge.note{background:var(--note)}.v.note{border-color:var(--note)}"
	".badge.improve{background:var(--improve)}"
	".v.improve{border-color:var(--improve)}"
	".badge.bad{background:var(--bad)}.v.bad{border-color:var(--bad)}"
	".badge.waiting{background:var(--waiting)}"
	".v.waiting{border-color:var(--waiting)}"
	".o{font-weight:600;white-space:nowrap}"
	".o.delivered{color:var(--good)}.o.refused{color:var(--bad)}"
	".o.pending{color:var(--waiting)}.o.absent{color:var(--muted)}"
	"ul.ev{margin:.3em 0;padding-left:1.2em;font-size:.9em}"
	".scroll{overflow-x:auto;border:1px solid var(--line);"
	"border-radius:.4em}"
	"table{border-collapse:collapse;width:100%;min-width:60em;"
	"font-size:.9em}"
	"th,td{border-bottom:1px solid var(--line);padding:.35em .5em;"
	"text-align:left;vertical-align:top}"
	"th{background:var(--panel);white-space:nowrap}"
	"td:first-child{white-space:nowrap}"
	"td ul{margin:0;padding-left:1em}"
	"textarea{display:block;width:100%;max-width:52em;padding:.4em;"
	"color:var(--fg);background:var(--bg);border:1px solid var(--muted);"
	"border-radius:.3em;white-space:pre;overflow-wrap:normal;"
	"overflow-x:auto}"
	".actions{display:flex;flex-wrap:wrap;align-items:center;"
	"gap:.6em 1.2em;margin:.6em 0}"
	"button{font:inherit;font-weight:600;padding:.45em 1.2em;"
	"border:1px solid var(--link);border-radius:.4em;cursor:pointer;"
	"color:var(--bg);background:var(--link)}"
	".vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;"
	"overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}"
	"@media (max-width:40em){body{font-size:15px;padding:.6em}"
	".badge{min-width:0}}";

/* Each state's symbol and words: the same symbols as the text report. */
static const struct {
	const char	*symbol;
	const char	*word;
} states[RP_NSTATES] = {
	[RP_GOOD] = { "\xe2\x9c\x93", "good" },			/* ✓ */
	[RP_NOTE] = { "i", "note" },
	[RP_IMPROVE] = { "!", "improve" },
	[RP_BAD] = { "\xe2\x9c\x97", "bad" },			/* ✗ */
	[RP_WAITING] = { "?", "waiting" },
	[RP_NOT_MEASURED] = { "-", "not measured" },
};

/* Each outcome in the table, and as a heading of the summary's lists. */
static const struct {
	const char	*symbol;
	const char	*cell;
	const char	*heading;
} outcomes[] = {
	[RPO_DELIVERED] = { "\xe2\x9c\x93", "yes", "Received" },
	[RPO_REFUSED] = { "\xe2\x9c\x97", "no: refused", "Refused" },
	[RPO_PENDING] = { "\xe2\x80\xa6", "not yet", "Not yet" },	/* … */
	[RPO_ABSENT] = { "-", "no", "Nothing, and the wait is over" },
	[RPO_NOT_OFFERED] = { "\xc2\xb7", "not offered",
	    "Not offered by this deployment" },	/* · */
};
#define NOUTCOMES	(sizeof(outcomes) / sizeof(outcomes[0]))

const char *
report_html_style(void)
{
	return style;
}

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

void
report_html_esc(FILE *fp, const char *s)
{
	esc(fp, s);
}

/*
 * S percent-encoded as a URI part (RFC 3986 2.1): every byte but the
 * unreserved ones (2.3) and those of KEEP.  What it writes needs no HTML
 * escape: KEEP holds none of the five characters of markup.
 */
static void
pct(FILE *fp, const char *s, const char *keep)
{
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL ||
		    strchr(keep, c) != NULL)
			fputc(c, fp);
		else
			fprintf(fp, "%%%02X", c);
	}
}

/* "1 address" or "2 addresses": N and its noun, singular or plural. */
static void
count(FILE *fp, size_t n, const char *one, const char *many)
{
	fprintf(fp, "%zu %s", n, n == 1 ? one : many);
}

/* Whether a verdict of R waits. */
static int
waiting(const struct rp_report *r)
{
	size_t i;

	for (i = 0; i < r->nverdicts; i++)
		if (r->verdicts[i].state == RP_WAITING)
			return 1;
	return 0;
}

/*
 * Whether a live page refreshes: while a verdict waits for what comes
 * within the waiting period, before it ends or while the analysis of a
 * delivery runs.  After it only reports that come once a day (TLS-RPT)
 * are waited for: a refresh every few seconds for days would only load
 * the server.
 */
static int
refreshes(const struct rp_report *r)
{
	const struct rp_input *in = r->in;
	double d = report_deadline(in);
	size_t i;

	if (!waiting(r))
		return 0;
	if (d == 0 || in->now < d)
		return 1;
	for (i = 0; i < in->ndeliveries; i++)
		if (!in->deliveries[i].analysed)
			return 1;
	return 0;
}

/* The badge of state S: symbol and word, the colour only a third sign. */
static void
badge(FILE *fp, enum rp_state s)
{
	fprintf(fp, "<span class=\"badge %s\"><span aria-hidden=\"true\">"
	    "%s </span>%s</span>", report_state_name(s), states[s].symbol,
	    states[s].word);
}

static void
head(FILE *fp, const struct rp_report *r, const struct rp_html_opts *o,
    int live)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n", fp);
	if (o == NULL)
		fputs("<meta http-equiv=\"Content-Security-Policy\" content=\""
		    "default-src 'none'; style-src 'unsafe-inline'\">\n", fp);
	fputs("<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n", fp);
	/* served: an empty icon spares a request for /favicon.ico */
	if (o != NULL)
		fputs("<link rel=\"icon\" href=\"data:,\">\n", fp);
	/* with the script, it fetches the page; a reload would lose state */
	if (live && o->script_src != NULL)
		fputs("<noscript><meta http-equiv=\"refresh\" content=\""
		    LIVE_REFRESH "\"></noscript>\n", fp);
	else if (live)
		fputs("<meta http-equiv=\"refresh\" content=\"" LIVE_REFRESH
		    "\">\n", fp);
	fputs("<title>mailscope report ", fp);
	esc(fp, r->in->test_id);
	fprintf(fp, "</title>\n<style>%s</style>\n", style);
	if (o != NULL && o->script_src != NULL) {
		fputs("<script src=\"", fp);
		esc(fp, o->script_src);
		fputs("\" defer></script>\n", fp);
	}
	fputs("</head>\n<body>\n", fp);
}

/* What does not change while the page is open: the test and its links. */
static void
banner(FILE *fp, const struct rp_report *r, const struct rp_html_opts *o)
{
	const struct rp_input *in = r->in;

	fputs("<header>\n<h1>mailscope report</h1>\n<p class=\"meta\">Test ",
	    fp);
	code(fp, in->test_id);
	fputs(" on ", fp);
	code(fp, in->base);
	fputs(", created ", fp);
	put_time(fp, in->created);
	fputs(".</p>\n", fp);
	if (o != NULL) {
		fputs("<p class=\"actions\"><a href=\"/t/", fp);
		pct(fp, in->test_id, "");
		fputs("\">Permanent link to this report</a>", fp);
		if (o->json_href != NULL) {
			fputs("<a href=\"", fp);
			esc(fp, o->json_href);
			fputs("\" download>Download JSON</a>", fp);
		}
		fputs("</p>\n<p>Anyone who knows this page's address can see "
		    "this report: the test ID in it is the only key. Share it "
		    "only with people who may see how your server sends.</p>\n",
		    fp);
	}
	fputs("</header>\n", fp);
}

/*
 * The address set: to select and copy (the button works with the
 * script only, hidden without it), and as one mailto: URI (RFC 6068 2:
 * the addresses percent-encoded, separated by commas).
 */
static void
addresses(FILE *fp, const struct rp_input *in)
{
	size_t i, rows = in->nchallenges;

	if (rows > TEXTAREA_ROWS)
		rows = TEXTAREA_ROWS;
	fputs("<section id=\"addresses\" class=\"panel\" "
	    "aria-labelledby=\"addresses-h\">\n"
	    "<h2 id=\"addresses-h\">Your test addresses</h2>\n"
	    "<p>Send one message from the mail server you want to test to all ",
	    fp);
	count(fp, in->nchallenges, "address", "addresses");
	fputs(" below, in one message or several. This page shows what "
	    "arrives.</p>\n<label for=\"address-list\">The addresses, one a "
	    "line</label>\n", fp);
	fprintf(fp, "<textarea id=\"address-list\" readonly rows=\"%zu\" "
	    "cols=\"60\" spellcheck=\"false\">", rows == 0 ? 1 : rows);
	for (i = 0; i < in->nchallenges; i++) {
		esc(fp, in->challenges[i].address);
		if (i + 1 < in->nchallenges)
			fputc('\n', fp);
	}
	fputs("</textarea>\n<p class=\"actions\"><button type=\"button\" "
	    "id=\"copy-all\" hidden>Copy all</button>\n<a href=\"mailto:",
	    fp);
	for (i = 0; i < in->nchallenges; i++) {
		if (i > 0)
			fputc(',', fp);
		pct(fp, in->challenges[i].address, "@+");
	}
	fputs("?subject=", fp);
	pct(fp, "mailscope test ", "");
	pct(fp, in->test_id, "");
	fputs("\">Write to all of them in your mail program</a></p>\n"
	    "</section>\n", fp);
}

/* The sentence on the waiting period: when absence becomes conclusive. */
static void
deadline(FILE *fp, const struct rp_input *in)
{
	double d = report_deadline(in);
	long w = (long)in->wait;

	if (d == 0) {
		fputs("Nothing has arrived yet. The waiting period of ", fp);
		if (w % 3600 == 0)
			fprintf(fp, "%ld h", w / 3600);
		else if (w % 60 == 0)
			fprintf(fp, "%ld min", w / 60);
		else
			fprintf(fp, "%ld s", w);
		fputs(" starts with the first connection.", fp);
	} else if (in->now < d) {
		fputs("The waiting period ends at ", fp);
		put_time(fp, d);
		fputs(": until then an address that got nothing may still "
		    "get mail.", fp);
	} else {
		fputs("The waiting period ended at ", fp);
		put_time(fp, d);
		fputs(": an address that got nothing by then counts as not "
		    "delivered.", fp);
	}
}

/*
 * The summary at the top: the score, the verdicts counted by state,
 * which addresses got mail so far, greylisting retries still pending
 * (deferred, no retry accepted), the waiting period.
 */
static void
summary(FILE *fp, const struct rp_report *r, const struct rp_html_opts *o,
    int live)
{
	const struct rp_input *in = r->in;
	size_t nstate[RP_NSTATES] = { 0 }, nout[NOUTCOMES] = { 0 };
	size_t i, k, grey = 0;
	struct rp_row row;

	for (i = 0; i < r->nverdicts; i++)
		nstate[r->verdicts[i].state]++;
	for (i = 0; i < in->nchallenges; i++) {
		report_row(in, i, &row);
		nout[row.outcome]++;
		grey += row.ngrey > 0 && row.grey_accepted == 0 &&
		    row.outcome != RPO_DELIVERED;
	}
	fputs("<section id=\"summary\" class=\"panel\" "
	    "aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n"
	    "<p class=\"score\">Score: ", fp);
	if (r->score >= 0)
		fprintf(fp, "<b>%d</b>/10", r->score);
	else
		fputs("<b>none yet</b>", fp);
	if (r->score_reason[0] != '\0') {
		fputs(" &mdash; ", fp);
		esc(fp, r->score_reason);
	}
	fputs("</p>\n<ul class=\"counts\" aria-label=\"Verdicts by state\">\n",
	    fp);
	for (i = 0; i < RP_NSTATES; i++) {
		if (nstate[i] == 0)
			continue;
		fputs("<li>", fp);
		badge(fp, (enum rp_state)i);
		fprintf(fp, "%zu</li>\n", nstate[i]);
	}
	fputs("</ul>\n<p id=\"progress\">Mail arrived at ", fp);
	fprintf(fp, "%zu of ", nout[RPO_DELIVERED]);
	count(fp, in->nchallenges, "address", "addresses");
	fprintf(fp, "; %zu refused it; %zu not yet.", nout[RPO_REFUSED],
	    nout[RPO_PENDING]);
	if (grey > 0) {
		fputs(" Greylisting: ", fp);
		count(fp, grey, "address", "addresses");
		fputs(in->now < report_deadline(in) ?
		    " deferred, waiting for a retry." :
		    " deferred and never retried.", fp);
	}
	fputs(" ", fp);
	deadline(fp, in);
	fputs("</p>\n<p class=\"meta\">Generated ", fp);
	put_time(fp, in->now);
	fputs(".", fp);
	if (live)
		fputs(" Some verdicts wait for mail: this page updates itself "
		    "every few seconds.", fp);
	else if (o != NULL && o->live && waiting(r))
		fputs(" The verdicts still waiting need reports that come once "
		    "a day: reload this page later.", fp);
	else if (o != NULL && o->live)
		fputs(" Every verdict is in: this page no longer updates.", fp);
	fputs("</p>\n<dl class=\"arrivals\">\n", fp);
	for (k = 0; k < NOUTCOMES; k++) {
		if (nout[k] == 0)
			continue;
		fprintf(fp, "<dt><span aria-hidden=\"true\">%s </span>%s "
		    "(%zu)</dt>\n<dd><ul class=\"names\">", outcomes[k].symbol,
		    outcomes[k].heading, nout[k]);
		for (i = 0; i < in->nchallenges; i++) {
			if (report_outcome(in, in->challenges[i].name, NULL) !=
			    (enum rp_outcome)k)
				continue;
			fputs("<li>", fp);
			code(fp, in->challenges[i].name);
			fputs("</li>", fp);
		}
		fputs("</ul></dd>\n", fp);
	}
	fputs("</dl>\n</section>\n", fp);
}

/* The line of verdict V that is always shown. */
static void
verdict_line(FILE *fp, const struct rp_verdict *v)
{
	badge(fp, v->state);
	fputs("<strong>", fp);
	esc(fp, v->rule->title);
	fputs("</strong>: ", fp);
	esc(fp, v->reason);
}

static void
verdict(FILE *fp, const struct rp_verdict *v)
{
	const struct rp_evidence *e;
	size_t i;

	fprintf(fp, "<div class=\"v %s\" data-state=\"%s\" id=\"v-",
	    report_state_name(v->state), report_state_name(v->state));
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
	fprintf(fp, "</td><td class=\"o %s\"><span aria-hidden=\"true\">%s "
	    "</span>%s</td><td>", report_outcome_name(row.outcome),
	    outcomes[row.outcome].symbol, outcomes[row.outcome].cell);
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
report_html(const struct rp_report *r, const struct rp_html_opts *o,
    FILE *fp)
{
	int live = o != NULL && o->live && refreshes(r);
	size_t g, i;

	head(fp, r, o, live);
	banner(fp, r, o);
	if (o != NULL && o->addresses)
		addresses(fp, r->in);
	/* what the script announces (web_script()): outside the main it swaps */
	if (o != NULL && o->script_src != NULL)
		fputs("<div id=\"announce\" class=\"vh\" role=\"status\" "
		    "aria-live=\"polite\"></div>\n", fp);
	fputs("<main id=\"report\"", fp);
	if (live)
		fputs(" data-live=\"1\"", fp);
	if (o != NULL && o->json_href != NULL) {
		fputs(" data-json=\"", fp);
		esc(fp, o->json_href);
		fputs("\"", fp);
	}
	fputs(">\n", fp);
	summary(fp, r, o, live);
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
	/* a focusable region: the keyboard scrolls it on a narrow screen */
	fputs("<section id=\"challenges\" aria-labelledby=\"challenges-h\">\n"
	    "<h2 id=\"challenges-h\">Challenge addresses</h2>\n"
	    "<div class=\"scroll\" id=\"challenge-table\" tabindex=\"0\" "
	    "role=\"region\" aria-labelledby=\"challenges-h\">\n"
	    "<table>\n<thead><tr><th scope=\"col\">Challenge</th>"
	    "<th scope=\"col\">Sent to</th><th scope=\"col\">Received</th>"
	    "<th scope=\"col\">Through</th><th scope=\"col\">When</th>"
	    "<th scope=\"col\">TLS</th><th scope=\"col\">Greylisting</th>"
	    "<th scope=\"col\">Refusals seen</th></tr></thead>\n<tbody>\n", fp);
	for (i = 0; i < r->in->nchallenges; i++)
		challenge(fp, r->in, i);
	fputs("</tbody>\n</table>\n</div>\n</section>\n</main>\n</body>\n"
	    "</html>\n", fp);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
