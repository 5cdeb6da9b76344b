/*
 * Unit tests of the report's three formats (report_text.c, report_json.c,
 * report_html.c) over an input and verdicts built by hand, full of what a
 * sender may send: markup, quotes, ANSI and C1 escapes, invalid UTF-8,
 * 2000-byte names.  Every format must stay inert: text shows no control
 * byte and keeps 100 columns, HTML has no markup of the sender's, JSON
 * parses as strict UTF-8 and round-trips.  The HTML the web serves
 * (struct rp_html_opts) keeps to its CSP: one <style>, no style
 * attribute, no inline script, no event handler.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "report.h"
#include "text.h"

#define SCRIPT		"<script>alert(1)</script>"
#define QUOTES		"\"quotes'"
#define ANSI		"\x1b[31mred\x1b[0m"
#define C1		"\xc2\x9b" "31m"	/* CSI as U+009B */
#define BAD		"\xff\xfe"
#define HOSTILE		SCRIPT " " QUOTES " " ANSI " " C1 " " BAD "\t|"
#define FFFD		"\xef\xbf\xbd"
#define LONG_LEN	2000
#define WIDTH		100
#define CREATED		1796637600.0	/* 2026-12-07T10:00:00Z */
#define ELLIPSIS	"\xe2\x80\xa6"

enum fmt { F_TEXT, F_JSON, F_HTML };

/* One test's input and report; owns the verdicts' evidence only. */
struct fixture {
	struct rp_input		in;
	struct rp_report	r;
	struct rp_challenge	ch[4];
	struct rp_delivery	dl[1];
	struct rp_conn		conn[1];
	struct rp_grey		grey[2];
	char			addr[4][96];
	char			base[64];
	char			mail_from[64];
	char			helo[LONG_LEN + 1];	/* words, markup, é */
	char			word[LONG_LEN + 1];	/* no space in it */
};

static void
fill_long(struct fixture *f)
{
	static const char words[] = "<b>\xc3\xa9t\xc3\xa9 &amp; ";
	size_t i;

	for (i = 0; i + sizeof(words) - 1 < LONG_LEN; i += sizeof(words) - 1)
		memcpy(f->helo + i, words, sizeof(words) - 1);
	f->helo[i] = '\0';
	memset(f->word, 'W', LONG_LEN);
	f->word[LONG_LEN] = '\0';
	f->word[250] = '\x1b';	/* past the cut of a reason's 3 lines */
}

static void
fill_input(struct fixture *f)
{
	static const char *const names[] = {
		"v4", "tls-badcert", "grey-v4", "sts-n"
	};
	static const char *const hosts[] = { "open", "tls-bad", "grey",
	    "tls-bad" };
	struct rp_input *in = &f->in;
	size_t i;

	snprintf(in->test_id, sizeof(in->test_id), "t<b>\x1b[1m" BAD);
	snprintf(f->base, sizeof(f->base), "%s", HOSTILE);
	in->base = f->base;
	in->created = CREATED;
	in->now = CREATED + 7200;	/* the wait is over: absence counts */
	in->wait = 3600;
	for (i = 0; i < 4; i++) {
		snprintf(f->addr[i], sizeof(f->addr[i]),
		    "measure+t%zu@%s.measure.test", i, names[i]);
		f->ch[i].name = names[i];
		f->ch[i].host = hosts[i];
		f->ch[i].meaning = SCRIPT;
		f->ch[i].address = f->addr[i];
		f->ch[i].offered = 1;
	}
	in->challenges = f->ch;
	in->nchallenges = 4;

	snprintf(f->mail_from, sizeof(f->mail_from), "%s", QUOTES "@" ANSI);
	f->dl[0] = (struct rp_delivery){
		.recipient_id = 1, .transaction_id = 1, .connection_id = 2,
		.challenge = "v4", .address = f->addr[0],
		.received = CREATED + 60, .host = "open", .mx = 1,
		.family = 4, .client_addr = SCRIPT, .mail_from = f->mail_from,
		.tls = 1, .tls_version = "TLSv1.3", .tls_cipher = C1 BAD,
		.tls_group = QUOTES, .analysed = 1,
	};
	in->deliveries = f->dl;
	in->ndeliveries = 1;

	/* a refusal: a TLS alert, then gone without MAIL */
	f->conn[0] = (struct rp_conn){
		.id = 7, .started = CREATED + 30, .ended = CREATED + 31,
		.host = "tls-bad", .local_addr = "192.0.2.5:25",
		.client_addr = "192.0.2.1", .family = 4,
		.challenge = "tls-badcert", .reason = QUOTES,
		.helo = f->helo, .extensions = ANSI, .starttls = 1,
		.tls_resumed = -1, .tls_sni = SCRIPT, .ch_alpn = C1,
		.tls_alert_received = SCRIPT ANSI, .end_reason = BAD,
	};
	in->conns = f->conn;
	in->nconns = 1;

	f->grey[0] = (struct rp_grey){
		.id = 1, .connection_id = 8, .rcpt = f->addr[2],
		.mail_from = HOSTILE, .client_addr = "192.0.2.1",
		.time = CREATED + 40,
	};
	f->grey[1] = f->grey[0];
	f->grey[1].id = 2;
	f->grey[1].time = CREATED + 340;
	f->grey[1].accepted = 1;
	in->grey = f->grey;
	in->ngrey = 2;
}

/* SRC cut to the SIZE bytes of DST, as a rule's vsnprintf() cuts it. */
static void
cut(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * A verdict for every rule, states in turn, reasons hostile; evidence
 * under every third one.
 */
static void
fill_report(struct fixture *f)
{
	const struct rp_rule *rules;
	struct rp_verdict *v;
	size_t n, i;

	rules = report_rules(&n);
	f->r.in = &f->in;
	assert_non_null(f->r.verdicts = calloc(n, sizeof(*f->r.verdicts)));
	f->r.nverdicts = n;
	f->r.score = -1;
	snprintf(f->r.score_reason, sizeof(f->r.score_reason), "%s", HOSTILE);
	for (i = 0; i < n; i++) {
		v = &f->r.verdicts[i];
		v->rule = &rules[i];
		v->state = (enum rp_state)(i % RP_NSTATES);
		cut(v->reason, sizeof(v->reason),
		    i % 3 == 0 ? HOSTILE : i % 3 == 1 ? f->word : f->helo);
		if (i % 3 != 0)
			continue;
		report_evidence(v, "connections", 7, CREATED + 30, "%s",
		    HOSTILE);
		report_evidence(v, "recipients", 1, 0, "%s", f->word);
		report_evidence(v, "transactions", 1, CREATED, "%s", f->helo);
	}
}

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	fill_long(f);
	fill_input(f);
	fill_report(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	report_free(&f->r);
	free(f);
	return 0;
}

/* The report in format FMT; malloc'd, its length in *LEN. */
static char *
render(const struct rp_report *r, enum fmt fmt, int color, int verbose,
    size_t *len)
{
	struct rp_format_opts o = { color, verbose };
	char *buf = NULL;
	FILE *fp;
	int rc;

	assert_non_null(fp = open_memstream(&buf, len));
	if (fmt == F_TEXT)
		rc = report_text(r, &o, fp);
	else if (fmt == F_JSON)
		rc = report_json(r, fp);
	else
		rc = report_html(r, NULL, fp);
	assert_int_equal(rc, 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/*
 * S is valid UTF-8 without a control character (C0 but newline, DEL,
 * C1), and no line of it has more than WIDTH code points (0: any).
 */
static void
assert_inert(const char *s, size_t n, size_t width)
{
	size_t i = 0, len, cols = 0;
	unsigned int cp;

	while (i < n) {
		len = text_utf8_char(s + i, n - i, &cp);
		if (len == 0)
			fail_msg("invalid UTF-8 at byte %zu: %.40s", i, s + i);
		if ((cp < 0x20 && cp != '\n') || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0))
			fail_msg("control U+%04X at byte %zu: %.40s", cp, i,
			    s + i);
		cols = cp == '\n' ? 0 : cols + 1;
		if (width != 0 && cols > width)
			fail_msg("line longer than %zu at byte %zu", width, i);
		i += len;
	}
}

/* S without our SGR sequences (ESC [ digits ; m); any other ESC fails. */
static char *
strip_sgr(const char *s, size_t n, size_t *outlen)
{
	char *o;
	size_t i, j = 0, k;

	assert_non_null(o = malloc(n + 1));
	for (i = 0; i < n; i++) {
		if (s[i] != '\x1b') {
			o[j++] = s[i];
			continue;
		}
		assert_true(i + 1 < n && s[i + 1] == '[');
		for (k = i + 2; k < n && strchr("0123456789;", s[k]); k++)
			;
		assert_true(k < n && s[k] == 'm');
		i = k;
	}
	o[j] = '\0';
	*outlen = j;
	return o;
}

static void
text_without_color_shows_escapes_and_no_control(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *out;
	int verbose;

	for (verbose = 0; verbose <= 1; verbose++) {
		out = render(&f->r, F_TEXT, 0, verbose, &len);
		assert_inert(out, len, WIDTH);
		assert_non_null(strstr(out, "\\x1b[31mred\\x1b[0m"));
		assert_non_null(strstr(out, "\\xc2\\x9b31m"));
		assert_non_null(strstr(out, "\\xff\\xfe\\x09|"));
		assert_non_null(strstr(out, SCRIPT));	/* text: shown as is */
		assert_non_null(strstr(out, "Score: none yet"));
		assert_non_null(strstr(out, "Transport security"));
		assert_non_null(strstr(out, "44.3 %"));	/* a context */
		assert_true((strstr(out, "recipients #1") != NULL) == verbose);
		free(out);
	}
}

static void
text_with_color_has_only_our_sgr(void **state)
{
	struct fixture *f = *state;
	size_t len, plainlen;
	char *out, *plain;

	out = render(&f->r, F_TEXT, 1, 1, &len);
	assert_non_null(strstr(out, "\x1b[2m"));	/* the dim context */
	plain = strip_sgr(out, len, &plainlen);
	assert_inert(plain, plainlen, WIDTH);
	assert_non_null(strstr(plain, "\\x1b[31mred"));
	free(plain);
	free(out);
}

static void
text_cuts_long_reasons_without_verbose(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *out, *p;

	out = render(&f->r, F_TEXT, 0, 0, &len);
	/* the verdict whose reason is the 2000-byte word: three lines */
	assert_non_null(p = strstr(out, "WWWW"));
	assert_non_null(p = strstr(p, ELLIPSIS "\n"));
	free(out);
	out = render(&f->r, F_TEXT, 0, 1, &len);
	assert_non_null(strstr(out, "W\\x1bW"));	/* verbose: all of it */
	free(out);
}

static void
text_shows_the_score_and_times_in_utc(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *out;

	f->r.score = 7;
	out = render(&f->r, F_TEXT, 0, 1, &len);
	assert_non_null(strstr(out, "Score: 7/10"));
	assert_non_null(strstr(out, "created 2026-12-07T10:00:00Z"));
	/* first contact 10:00:30 plus the hour's wait */
	assert_non_null(strstr(out, "conclusive from 2026-12-07T11:00:30Z"));
	assert_non_null(strstr(out, "2026-12-07T10:01:00Z"));
	free(out);
}

static void
html_escapes_everything_the_sender_sent(void **state)
{
	struct fixture *f = *state;
	size_t len, i, details = 0;
	char *out, *p;

	out = render(&f->r, F_HTML, 0, 0, &len);
	assert_inert(out, len, 0);
	assert_memory_equal(out, "<!DOCTYPE html>\n", 16);
	assert_non_null(strstr(out, "<meta charset=\"utf-8\">"));
	for (p = out; *p != '\0'; p++) {
		assert_int_not_equal(strncasecmp(p, "<script", 7), 0);
		assert_int_not_equal(strncasecmp(p, "src=", 4), 0);
		assert_int_not_equal(strncasecmp(p, "href=", 5), 0);
		assert_int_not_equal(strncasecmp(p, "url(", 4), 0);
		assert_int_not_equal(strncasecmp(p, "@import", 7), 0);
	}
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out, "&quot;quotes&#39;"));
	assert_null(strstr(out, QUOTES));
	assert_non_null(strstr(out, "\\x1b[31mred"));
	assert_non_null(strstr(out, "\\xc2\\x9b31m"));
	assert_non_null(strstr(out, FFFD FFFD "\\x09|"));
	assert_non_null(strstr(out, "&lt;b&gt;\xc3\xa9t\xc3\xa9 &amp;amp;"));
	for (p = out; (p = strstr(p, "<details>")) != NULL; p++)
		details++;
	for (i = 0; i < f->r.nverdicts; i++)
		details -= f->r.verdicts[i].nevidence > 0;
	assert_int_equal(details, 0);
	assert_non_null(strstr(out, "no: refused"));
	assert_non_null(strstr(out, "2 attempts, accepted 300 s after"));
	assert_non_null(strstr(out, "</html>\n"));
	free(out);
}

#define SCRIPT_SRC	"/static/mailscope.js"
#define JSON_HREF	"/t/x.json?a=1&b=2"
#define ADDR_HOSTILE	"a\"b<c>,d?e %f&@x.test"
#define ADDR_PCT	"a%22b%3Cc%3E%2Cd%3Fe%20%25f%26@x.test"
#define ID_PCT		"t%3Cb%3E%1B%5B1m%FF%FE"
#define REFRESH		"<meta http-equiv=\"refresh\" content=\"15\">"

/* The report as the web serves it, with O; malloc'd, length in *LEN. */
static char *
render_web(const struct rp_report *r, const struct rp_html_opts *o,
    size_t *len)
{
	char *buf = NULL;
	FILE *fp;

	assert_non_null(fp = open_memstream(&buf, len));
	assert_int_equal(report_html(r, o, fp), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* The occurrences of NEEDLE in S. */
static size_t
occurrences(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/*
 * PAGE has one <style> whose text is report_html_style(), and no tag of
 * it has a style attribute or an event handler (on...).  Every '<' is
 * ours (the sender's are escaped), every value quoted.
 */
static void
assert_one_style_no_handler(const char *page)
{
	const char *p, *q, *name, *style;
	size_t n;

	assert_int_equal(occurrences(page, "<style"), 1);
	assert_non_null(style = strstr(page, "<style>"));
	style += strlen("<style>");
	n = strlen(report_html_style());
	assert_memory_equal(style, report_html_style(), n);
	assert_memory_equal(style + n, "</style>", 8);
	for (p = page; (p = strchr(p, '<')) != NULL; p++) {
		if (p[1] == '/' || p[1] == '!')
			continue;
		for (q = p + 1; *q != '\0' && *q != '>' && *q != ' '; q++)
			;
		while (*q == ' ') {
			name = ++q;
			while (*q != '\0' && strchr("= >", *q) == NULL)
				q++;
			n = (size_t)(q - name);
			if (n >= 2 && strncasecmp(name, "on", 2) == 0)
				fail_msg("event handler: %.40s", name);
			if (n == 5 && strncasecmp(name, "style", 5) == 0)
				fail_msg("style attribute: %.40s", p);
			if (*q != '=')
				continue;
			assert_int_equal(q[1], '"');
			assert_non_null(q = strchr(q + 2, '"'));
			q++;
		}
		if (*q != '>')
			fail_msg("tag not closed: %.40s", p);
	}
}

static void
html_for_the_web_has_one_style_and_no_inline_script(void **state)
{
	struct fixture *f = *state;
	struct rp_html_opts o = { 1, JSON_HREF, SCRIPT_SRC, 1 };
	size_t len;
	char *out;

	f->in.now = CREATED + 600;		/* live: the page refreshes */
	out = render_web(&f->r, &o, &len);
	assert_inert(out, len, 0);
	assert_memory_equal(out, "<!DOCTYPE html>\n<html lang=\"en\">", 32);
	assert_non_null(strstr(out, "<meta name=\"viewport\""));
	assert_one_style_no_handler(out);
	/* the script only from the server, never inline */
	assert_int_equal(occurrences(out, "<script"), 1);
	assert_non_null(strstr(out, "<script src=\"" SCRIPT_SRC
	    "\" defer></script>\n</head>"));
	/* the server's CSP header: a <meta> one would forbid the script */
	assert_null(strstr(out, "Content-Security-Policy"));
	assert_null(strstr(out, SCRIPT));
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out, "&quot;quotes&#39;"));
	assert_non_null(strstr(out, FFFD FFFD "\\x09|"));
	free(out);

	out = render_web(&f->r, NULL, &len);
	assert_one_style_no_handler(out);
	assert_non_null(strstr(out, "<meta http-equiv=\"Content-Security-"
	    "Policy\""));
	free(out);
}

static void
html_for_the_web_gives_the_addresses_and_the_links(void **state)
{
	struct fixture *f = *state;
	struct rp_html_opts o = { 0, JSON_HREF, SCRIPT_SRC, 1 };
	size_t len;
	char *out;

	snprintf(f->addr[3], sizeof(f->addr[3]), "%s", ADDR_HOSTILE);
	out = render_web(&f->r, &o, &len);
	assert_inert(out, len, 0);
	assert_one_style_no_handler(out);
	/* one a line, to select and copy; the button needs the script */
	assert_non_null(strstr(out, ">measure+t0@v4.measure.test\n"
	    "measure+t1@tls-badcert.measure.test\n"
	    "measure+t2@grey-v4.measure.test\n"
	    "a&quot;b&lt;c&gt;,d?e %f&amp;@x.test</textarea>"));
	assert_non_null(strstr(out, "<button type=\"button\" id=\"copy-all\" "
	    "hidden>Copy all</button>"));
	/* RFC 6068 2: comma-separated, everything else percent-encoded */
	assert_non_null(strstr(out, "href=\"mailto:measure+t0@v4.measure.test,"
	    "measure+t1@tls-badcert.measure.test,"
	    "measure+t2@grey-v4.measure.test," ADDR_PCT
	    "?subject=mailscope%20test%20" ID_PCT "\""));
	assert_non_null(strstr(out, "<a href=\"/t/" ID_PCT "\">"));
	assert_non_null(strstr(out, "<a href=\"/t/x.json?a=1&amp;b=2\" "
	    "download>Download JSON</a>"));
	assert_non_null(strstr(out, "Anyone who knows this page's address "
	    "can see this report"));
	free(out);

	/* without the address set: still the links and the warning */
	o.addresses = 0;
	o.json_href = NULL;
	out = render_web(&f->r, &o, &len);
	assert_null(strstr(out, "<textarea"));
	assert_null(strstr(out, "mailto:"));
	assert_null(strstr(out, "Download JSON"));
	assert_non_null(strstr(out, "<a href=\"/t/" ID_PCT "\">"));
	assert_non_null(strstr(out, "Anyone who knows"));
	free(out);
}

static void
html_refreshes_only_while_verdicts_wait(void **state)
{
	struct fixture *f = *state;
	struct rp_html_opts o = { 1, NULL, SCRIPT_SRC, 0 };
	size_t len, i;
	char *out;

	/* within the waiting period, a verdict waiting */
	f->in.now = CREATED + 600;
	out = render_web(&f->r, &o, &len);
	assert_non_null(strstr(out, "<noscript>" REFRESH "</noscript>\n"));
	assert_non_null(strstr(out, "<main id=\"report\" data-live=\"1\">"));
	assert_non_null(strstr(out, "<div id=\"announce\" class=\"vh\" "
	    "role=\"status\" aria-live=\"polite\"></div>"));
	free(out);
	/* without the script, the browser reloads */
	o.script_src = NULL;
	out = render_web(&f->r, &o, &len);
	assert_non_null(strstr(out, "<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n"
	    REFRESH "\n"));
	assert_null(strstr(out, "<noscript>"));
	assert_null(strstr(out, "<script"));
	free(out);
	/* not asked to be live, or the static file: never */
	o.live = 0;
	out = render_web(&f->r, &o, &len);
	assert_null(strstr(out, "refresh"));
	assert_null(strstr(out, "data-live"));
	free(out);
	out = render_web(&f->r, NULL, &len);
	assert_null(strstr(out, "refresh"));
	free(out);

	/* the wait is over: only daily reports are waited for */
	o.live = 1;
	f->in.now = CREATED + 7200;
	out = render_web(&f->r, &o, &len);
	assert_null(strstr(out, "refresh"));
	assert_null(strstr(out, "data-live"));
	assert_non_null(strstr(out, "reload this page later"));
	free(out);
	/* ... unless a delivery's analysis still runs */
	f->dl[0].analysed = 0;
	out = render_web(&f->r, &o, &len);
	assert_non_null(strstr(out, REFRESH));
	assert_non_null(strstr(out, "data-live=\"1\""));
	free(out);

	/* nothing waits */
	for (i = 0; i < f->r.nverdicts; i++)
		if (f->r.verdicts[i].state == RP_WAITING)
			f->r.verdicts[i].state = RP_GOOD;
	f->in.now = CREATED + 600;
	out = render_web(&f->r, &o, &len);
	assert_null(strstr(out, "refresh"));
	assert_null(strstr(out, "data-live"));
	assert_non_null(strstr(out, "Every verdict is in"));
	free(out);
}

static void
html_summary_shows_arrivals_and_pending_greylisting(void **state)
{
	struct fixture *f = *state;
	struct rp_html_opts o = { 1, NULL, NULL, 1 };
	size_t len;
	char *out, *summary, *table;

	f->in.now = CREATED + 600;
	f->in.ngrey = 1;			/* deferred, no retry yet */
	f->r.score = 6;
	out = render_web(&f->r, &o, &len);
	assert_non_null(summary = strstr(out, "<section id=\"summary\""));
	assert_non_null(table = strstr(out, "<section id=\"challenges\""));
	assert_true(summary < strstr(out, "<section id=\"delivery\""));
	assert_non_null(strstr(summary, "Score: <b>6</b>/10"));
	/* every state by symbol and word, and counted */
	assert_non_null(strstr(summary, "<span class=\"badge bad\">"
	    "<span aria-hidden=\"true\">\xe2\x9c\x97 </span>bad</span>"));
	assert_non_null(strstr(summary, "<p id=\"progress\">Mail arrived at 1 "
	    "of 4 addresses; 1 refused it; 2 not yet. Greylisting: 1 address "
	    "deferred, waiting for a retry. The waiting period ends at "
	    "<time datetime=\"2026-12-07T11:00:30Z\">"));
	assert_non_null(strstr(summary, "Received (1)</dt>\n<dd><ul "
	    "class=\"names\"><li><code>v4</code></li></ul></dd>"));
	assert_non_null(strstr(summary, "Not yet (2)</dt>\n<dd><ul "
	    "class=\"names\"><li><code>grey-v4</code></li><li><code>sts-n"
	    "</code></li></ul></dd>"));
	assert_non_null(strstr(table, "<td class=\"o delivered\"><span "
	    "aria-hidden=\"true\">\xe2\x9c\x93 </span>yes</td>"));
	assert_non_null(strstr(table, "1 deferred, no retry accepted"));
	/* the state of each verdict, for a reader and for a program */
	assert_non_null(strstr(out, "<div class=\"v bad\" data-state=\"bad\" "
	    "id=\"v-"));
	/* the table scrolls sideways on a phone: a region the keyboard reaches */
	assert_non_null(strstr(table, "<div class=\"scroll\" "
	    "id=\"challenge-table\" tabindex=\"0\" role=\"region\""));
	free(out);

	/* the wait is over: never retried */
	f->in.now = CREATED + 7200;
	out = render_web(&f->r, &o, &len);
	assert_non_null(strstr(out, "Greylisting: 1 address deferred and "
	    "never retried. The waiting period ended at"));
	free(out);

	/* before any contact */
	f->in.ndeliveries = f->in.nconns = f->in.ngrey = 0;
	out = render_web(&f->r, &o, &len);
	assert_non_null(strstr(out, "Mail arrived at 0 of 4 addresses; 0 "
	    "refused it; 4 not yet. Nothing has arrived yet. The waiting "
	    "period of 1 h starts with the first connection."));
	free(out);
}

static const char *
get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_t *
find_challenge(json_t *root, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(root, "challenges"), i, c)
		if (strcmp(get_str(c, "name"), name) == 0)
			return c;
	fail_msg("no challenge %s", name);
	return NULL;
}

static void
json_is_strict_utf8_and_round_trips(void **state)
{
	struct fixture *f = *state;
	json_error_t err;
	json_t *root, *v, *c, *d;
	size_t len, i;
	char *out;

	out = render(&f->r, F_JSON, 0, 0, &len);
	for (i = 0; i < len; i++)
		assert_true((unsigned char)out[i] < 0x80);	/* ASCII */
	root = json_loadb(out, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		fail_msg("%s at %d", err.text, err.position);
	assert_int_equal(json_integer_value(json_object_get(root, "schema")),
	    REPORT_SCHEMA);
	assert_true(json_is_null(json_object_get(root, "score")));
	assert_string_equal(get_str(root, "created"), "2026-12-07T10:00:00Z");
	assert_string_equal(get_str(root, "deadline"), "2026-12-07T11:00:30Z");
	assert_string_equal(get_str(root, "base"),
	    SCRIPT " " QUOTES " " ANSI " " C1 " " FFFD FFFD "\t|");
	assert_int_equal(json_array_size(json_object_get(root, "verdicts")),
	    f->r.nverdicts);
	v = json_array_get(json_object_get(root, "verdicts"), 0);
	assert_string_equal(get_str(v, "key"), f->r.verdicts[0].rule->key);
	assert_string_equal(get_str(v, "state"), "good");
	assert_string_equal(get_str(v, "summary"),
	    SCRIPT " " QUOTES " " ANSI " " C1 " " FFFD FFFD "\t|");
	d = json_array_get(json_object_get(v, "evidence"), 1);
	assert_string_equal(get_str(d, "table"), "recipients");
	assert_true(json_is_null(json_object_get(d, "time")));
	assert_int_equal(strlen(get_str(d, "summary")), RP_SUMMARY_MAX - 1);

	c = find_challenge(root, "v4");
	assert_true(json_is_true(json_object_get(c, "delivered")));
	assert_string_equal(get_str(c, "outcome"), "delivered");
	assert_true(json_is_null(json_object_get(c, "host2")));
	d = json_array_get(json_object_get(c, "deliveries"), 0);
	assert_string_equal(get_str(d, "client_addr"), SCRIPT);
	assert_string_equal(get_str(d, "mail_from"), QUOTES "@" ANSI);
	assert_string_equal(get_str(d, "tls_cipher"), C1 FFFD FFFD);
	assert_string_equal(get_str(d, "time"), "2026-12-07T10:01:00Z");

	c = find_challenge(root, "tls-badcert");
	assert_string_equal(get_str(c, "outcome"), "refused");
	d = json_array_get(json_object_get(c, "refusals"), 0);
	assert_string_equal(get_str(d, "reason"), QUOTES);
	assert_string_equal(get_str(d, "helo"), f->helo);
	assert_int_equal(json_integer_value(json_object_get(d, "connection")),
	    7);

	c = find_challenge(root, "grey-v4");
	assert_int_equal(json_array_size(json_object_get(c, "greylist")), 2);
	assert_string_equal(get_str(find_challenge(root, "sts-n"), "outcome"),
	    "absent");
	json_decref(root);
	free(out);
}

/* The rules of report_rules.c over the same input: still inert. */
static void
formats_stay_inert_over_the_real_rules(void **state)
{
	struct fixture *f = *state;
	struct rp_report r;
	json_error_t err;
	json_t *root;
	size_t len;
	char *out;

	assert_int_equal(report_build(&f->in, &r), 0);
	out = render(&r, F_TEXT, 0, 1, &len);
	assert_inert(out, len, WIDTH);
	free(out);
	out = render(&r, F_HTML, 0, 0, &len);
	assert_inert(out, len, 0);
	assert_null(strstr(out, "<script"));
	free(out);
	out = render(&r, F_JSON, 0, 0, &len);
	assert_non_null(root = json_loadb(out, len, 0, &err));
	json_decref(root);
	free(out);
	report_free(&r);
}

/* Nothing arrived yet: no deadline, every challenge pending. */
static void
formats_of_a_test_without_contact(void **state)
{
	struct fixture *f = *state;
	struct rp_report r;
	json_error_t err;
	json_t *root, *c;
	size_t len, i;
	char *out;

	f->in.ndeliveries = f->in.nconns = f->in.ngrey = 0;
	assert_int_equal(report_build(&f->in, &r), 0);
	out = render(&r, F_TEXT, 0, 0, &len);
	assert_inert(out, len, WIDTH);
	assert_non_null(strstr(out, "nothing received yet"));
	free(out);
	out = render(&r, F_JSON, 0, 0, &len);
	assert_non_null(root = json_loadb(out, len, 0, &err));
	assert_true(json_is_null(json_object_get(root, "deadline")));
	json_array_foreach(json_object_get(root, "challenges"), i, c) {
		assert_string_equal(get_str(c, "outcome"), "pending");
		assert_int_equal(json_array_size(json_object_get(c,
		    "deliveries")), 0);
	}
	json_decref(root);
	free(out);
	out = render(&r, F_HTML, 0, 0, &len);
	assert_inert(out, len, 0);
	assert_non_null(strstr(out, "not yet"));
	free(out);
	report_free(&r);
}

/*
 * A challenge the deployment leaves out (mailscope plan with one IPv4:
 * grey-v4) is "not offered", not absent; one that got mail anyway keeps
 * what it got.
 */
static void
formats_say_which_challenges_are_not_offered(void **state)
{
	struct fixture *f = *state;
	struct rp_report r;
	json_error_t err;
	json_t *root, *c;
	size_t len, i;
	char *out;

	f->ch[0].offered = 0;	/* v4: delivered all the same */
	f->ch[3].offered = 0;	/* sts-n: nothing */
	assert_int_equal(report_build(&f->in, &r), 0);
	out = render(&r, F_JSON, 0, 0, &len);
	assert_non_null(root = json_loadb(out, len, 0, &err));
	json_array_foreach(json_object_get(root, "challenges"), i, c) {
		if (strcmp(get_str(c, "name"), "sts-n") == 0)
			assert_string_equal(get_str(c, "outcome"),
			    "not_offered");
		else if (strcmp(get_str(c, "name"), "v4") == 0)
			assert_string_equal(get_str(c, "outcome"),
			    "delivered");
		else
			assert_string_not_equal(get_str(c, "outcome"),
			    "not_offered");
	}
	json_decref(root);
	free(out);
	out = render(&r, F_TEXT, 0, 0, &len);
	assert_inert(out, len, WIDTH);
	assert_non_null(strstr(out, "not_offered"));
	free(out);
	out = render(&r, F_HTML, 0, 0, &len);
	assert_inert(out, len, 0);
	assert_non_null(strstr(out, "Not offered by this deployment"));
	free(out);
	report_free(&r);
}

static void
report_time_is_utc_and_empty_when_unknown(void **state)
{
	char buf[RP_TIME_MAX];

	(void)state;
	report_time(CREATED + 0.9, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-07T10:00:00Z");
	report_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	report_time(-1, buf, sizeof(buf));
	assert_string_equal(buf, "");
	report_time(1e300, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
text_utf8_replaces_each_invalid_byte(void **state)
{
	/* overlong '/', a surrogate, above U+10FFFF, a cut sequence */
	static const char in[] = "a\xc0\xaf" "b\xed\xa0\x80" "c\xf4\x90\x80\x80"
	    "d\xe2\x82";
	size_t len;
	char *out;

	(void)state;
	assert_non_null(out = text_utf8(in, sizeof(in) - 1, &len));
	assert_string_equal(out, "a" FFFD FFFD "b" FFFD FFFD FFFD "c" FFFD
	    FFFD FFFD FFFD "d" FFFD FFFD);
	assert_int_equal(len, strlen(out));
	free(out);
	assert_non_null(out = text_utf8("\xc3\xa9\xf0\x9f\x93\xa7", 6, &len));
	assert_string_equal(out, "\xc3\xa9\xf0\x9f\x93\xa7");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    text_without_color_shows_escapes_and_no_control, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    text_with_color_has_only_our_sgr, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    text_cuts_long_reasons_without_verbose, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    text_shows_the_score_and_times_in_utc, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    html_escapes_everything_the_sender_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    html_for_the_web_has_one_style_and_no_inline_script, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    html_for_the_web_gives_the_addresses_and_the_links, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    html_refreshes_only_while_verdicts_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    html_summary_shows_arrivals_and_pending_greylisting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    json_is_strict_utf8_and_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    formats_stay_inert_over_the_real_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    formats_of_a_test_without_contact, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    formats_say_which_challenges_are_not_offered, setup,
		    teardown),
		cmocka_unit_test(report_time_is_utc_and_empty_when_unknown),
		cmocka_unit_test(text_utf8_replaces_each_invalid_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
