/*
 * Unit tests of the web's own pages (daemon/server/web_pages.c): the
 * start page posts to /tests without script, the probe's form is a GET
 * of /probe (on the start page only when probes are on), the error page
 * escapes what
 * it is given, every page keeps to the CSP (one <style> that is
 * report_html_style(), no inline script, no style attribute, no event
 * handler), and the script builds no markup from strings.
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

#include "report.h"
#include "web_pages.h"

#define SCRIPT_SRC	"/static/mailscope.js"
#define HOSTILE		"<script>alert(1)</script> \"q'\x1b[31m\xff"

static char *
page(int home, const char *script_src, size_t *len)
{
	char *buf = NULL;
	FILE *fp;

	assert_non_null(fp = open_memstream(&buf, len));
	if (home)
		assert_int_equal(web_page_home(fp, script_src, 1), 0);
	else
		assert_int_equal(web_page_error(fp, 429, HOSTILE, HOSTILE), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static size_t
occurrences(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/* A document in English, for phones too, with the one stylesheet. */
static void
assert_page(const char *out)
{
	size_t n = strlen(report_html_style());
	const char *style, *p;

	assert_memory_equal(out, "<!DOCTYPE html>\n<html lang=\"en\">\n", 33);
	assert_non_null(strstr(out, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(out, "<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">"));
	assert_int_equal(occurrences(out, "<style"), 1);
	assert_non_null(style = strstr(out, "<style>"));
	assert_memory_equal(style + 7, report_html_style(), n);
	assert_memory_equal(style + 7 + n, "</style>", 8);
	for (p = out; *p != '\0'; p++) {
		assert_int_not_equal(strncasecmp(p, " style=", 7), 0);
		if (strncasecmp(p, " on", 3) == 0)	/* an event handler */
			assert_int_not_equal(p[3 + strspn(p + 3,
			    "abcdefghijklmnopqrstuvwxyz")], '=');
	}
	assert_non_null(strstr(out, "</html>\n"));
}

static void
home_posts_to_tests_without_script(void **state)
{
	size_t len;
	char *out;

	(void)state;
	out = page(1, NULL, &len);
	assert_page(out);
	assert_non_null(strstr(out, "<form method=\"post\" action=\"/tests\""));
	assert_non_null(strstr(out, "<button type=\"submit\">Start a test"
	    "</button>\n</form>"));
	assert_null(strstr(out, "<script"));
	assert_non_null(strstr(out, "API"));
	assert_non_null(strstr(out, "Anyone who knows"));
	free(out);

	out = page(1, SCRIPT_SRC, &len);
	assert_page(out);
	assert_int_equal(occurrences(out, "<script"), 1);
	assert_non_null(strstr(out, "<script src=\"" SCRIPT_SRC
	    "\" defer></script>\n</head>"));
	free(out);
}

static void
probe_form_gets_probe_only_when_on(void **state)
{
	static const char form[] = "<form method=\"get\" action=\"/probe\"";
	char *buf = NULL;
	size_t len;
	FILE *fp;

	(void)state;
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(web_page_home(fp, SCRIPT_SRC, 0), 0);
	assert_int_equal(fclose(fp), 0);
	assert_null(strstr(buf, "/probe"));
	free(buf);

	buf = page(1, SCRIPT_SRC, &len);
	assert_page(buf);
	assert_int_equal(occurrences(buf, form), 1);
	assert_non_null(strstr(buf, "name=\"domain\""));
	free(buf);

	buf = NULL;
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(web_page_probe(fp), 0);
	assert_int_equal(fclose(fp), 0);
	assert_page(buf);
	assert_null(strstr(buf, "<script"));
	assert_int_equal(occurrences(buf, form), 1);
	assert_non_null(strstr(buf, "<label for=\"probe-domain\">"));
	assert_non_null(strstr(buf, "<input id=\"probe-domain\" "
	    "name=\"domain\""));
	/* what it does not do, and how an owner says no */
	assert_non_null(strstr(buf, "never sends a message"));
	assert_non_null(strstr(buf, "_mailscope-probe."));
	assert_non_null(strstr(buf, "GET /api/probe/DOMAIN"));
	free(buf);
}

static void
error_page_escapes_its_text(void **state)
{
	static const char want[] = "&lt;script&gt;alert(1)&lt;/script&gt; "
	    "&quot;q&#39;\\x1b[31m\xef\xbf\xbd";
	size_t len;
	char *out;

	(void)state;
	out = page(0, NULL, &len);
	assert_page(out);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "\x1b"));
	assert_int_equal(occurrences(out, want), 3);	/* title, h1, p */
	assert_non_null(strstr(out, "HTTP status 429"));
	assert_non_null(strstr(out, "<a href=\"/\">"));
	free(out);
}

static void
script_copies_and_swaps_parsed_nodes_only(void **state)
{
	const char *js = web_script();
	const char *p;
	int depth[3] = { 0, 0, 0 };

	(void)state;
	assert_true(strlen(js) > 0);
	assert_non_null(strstr(js, "navigator.clipboard.writeText"));
	assert_non_null(strstr(js, ".select()"));
	assert_non_null(strstr(js, "main[data-live=\"1\"]"));
	assert_non_null(strstr(js, "fetch(location.pathname"));
	assert_non_null(strstr(js, "new DOMParser()"));
	/*
	 * The server escaped every sender's string of the page it fetches;
	 * markup built from strings (innerHTML and the like) would undo
	 * that, so the script only moves the parsed document's nodes.
	 */
	assert_null(strstr(js, "innerHTML"));
	assert_null(strstr(js, "outerHTML"));
	assert_null(strstr(js, "insertAdjacentHTML"));
	assert_null(strstr(js, "document.write"));
	assert_null(strstr(js, "eval("));
	assert_null(strstr(js, "</script"));
	/* nothing from elsewhere, nothing stored */
	assert_null(strstr(js, "http:"));
	assert_null(strstr(js, "https:"));
	assert_null(strstr(js, "localStorage"));
	/* brackets balance: a cheap guard against a broken edit */
	for (p = js; *p != '\0'; p++) {
		depth[0] += (*p == '(') - (*p == ')');
		depth[1] += (*p == '{') - (*p == '}');
		depth[2] += (*p == '[') - (*p == ']');
		assert_true(depth[0] >= 0 && depth[1] >= 0 && depth[2] >= 0);
	}
	assert_int_equal(depth[0] + depth[1] + depth[2], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(home_posts_to_tests_without_script),
		cmocka_unit_test(probe_form_gets_probe_only_when_on),
		cmocka_unit_test(error_page_escapes_its_text),
		cmocka_unit_test(script_copies_and_swaps_parsed_nodes_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
