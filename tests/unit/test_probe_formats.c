/*
 * Unit tests of the probe's three formats (probe_text.c, probe_json.c,
 * probe_html.c) over hand-filled, graded results, full of what a hostile
 * server or zone may send: markup, quotes, ANSI and C1 escapes, invalid
 * UTF-8, 2000-byte names.  Text shows no control byte and keeps 100
 * columns; HTML has no markup of the server's; JSON parses as strict
 * UTF-8, round-trips, and validates against docs/probe.schema.json
 * (python3-jsonschema, as the report's schema is checked).
 */
#include "build.h"

#include <sys/wait.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "probe.h"
#include "probe_fixture.h"
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

enum fmt { F_TEXT, F_TEXT_COLOR, F_JSON, F_HTML };

static char *
render(const struct probe_result *r, enum fmt fmt, size_t *len)
{
	char *buf = NULL;
	FILE *fp;
	int rc = -1;

	assert_non_null(fp = open_memstream(&buf, len));
	switch (fmt) {
	case F_TEXT:
		rc = probe_text(fp, r, 0);
		break;
	case F_TEXT_COLOR:
		rc = probe_text(fp, r, 1);
		break;
	case F_JSON:
		rc = probe_json(fp, r);
		break;
	case F_HTML:
		rc = probe_html(fp, r);
		break;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* A graded result whose servers and zone sent everything hostile. */
static struct probe_result *
hostile(void)
{
	struct probe_result *r = pfx_good(2, 2);
	struct probe_addr *a = &r->mx[0].addrs[0];
	char word[LONG_LEN + 1], words[LONG_LEN + 1];
	size_t i;

	memset(word, 'w', LONG_LEN);
	word[LONG_LEN] = '\0';
	for (i = 0; i < LONG_LEN; i++)
		words[i] = i % 7 == 6 ? ' ' : "ab<&x"[i % 5];
	words[LONG_LEN - 1] = 'z';
	words[LONG_LEN] = '\0';
	pfx_set(&a->banner, HOSTILE);
	pfx_set(&a->banner_name, HOSTILE);
	pfx_set(&a->stop_detail, words);
	pfx_set(&a->chain[0].subject, HOSTILE);
	pfx_set(&a->chain[0].subject_cn, word);
	pfx_set(&a->chain[0].issuer, words);
	if (probe_strv_add(&a->chain[0].san, HOSTILE) == -1)
		abort();
	pfx_line(a, "S: 250 " HOSTILE);
	pfx_line(a, "C: RCPT TO:<" HOSTILE ">");
	a->greylisting = PT_YES;
	a->name_match = PT_NO;
	pfx_set(&r->dmarc.record, "v=DMARC1; p=" HOSTILE);
	pfx_set(&r->dmarc.policy, HOSTILE);
	pfx_set(&r->spf.record, word);
	pfx_sts(r, "enforce");
	pfx_set(&r->sts.policy, "version: STSv1\n" HOSTILE "\n");
	if (probe_strv_add(&r->sts.mx, HOSTILE) == -1)
		abort();
	pfx_set(&r->resolver, HOSTILE);
	if (probe_grade(r) == -1)
		abort();
	return r;
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
			fail_msg("line longer than %zu at byte %zu: %.60s",
			    width, i, s + i - cols + 1);
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

static size_t
occurrences(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
text_shows_escapes_no_control_and_100_columns(void **state)
{
	struct probe_result *r = hostile();
	size_t len;
	char *out;

	(void)state;
	out = render(r, F_TEXT, &len);
	assert_inert(out, len, WIDTH);
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, "\\x1b[31mred\\x1b[0m"));
	assert_non_null(strstr(out, "\\xc2\\x9b31m"));
	assert_non_null(strstr(out, "\\xff\\xfe\\x09|"));
	assert_non_null(strstr(out, SCRIPT));	/* text: shown as is */
	/* the grade on top, then the sections and the findings */
	assert_non_null(strstr(out, "mailscope probe good.example\n"));
	assert_true(strstr(out, "Grade: ") < strstr(out, "\nDomain\n"));
	assert_non_null(strstr(out, "\nMX 10 mx1.good.example\n"));
	assert_non_null(strstr(out, "\nMX 20 mx2.good.example\n"));
	assert_non_null(strstr(out, "2001:db8::1:1 (IPv6)"));
	assert_non_null(strstr(out, "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519"));
	assert_non_null(strstr(out, "\nFindings\n"));
	assert_non_null(strstr(out, "cert_name_mismatch bad"));
	assert_true(strstr(out, "cert_name_mismatch bad") <
	    strstr(out, "greylisting info"));
	free(out);
	probe_result_free(r);
}

static void
text_with_color_has_only_our_sgr(void **state)
{
	struct probe_result *r = hostile();
	size_t len, plain;
	char *out, *stripped;

	(void)state;
	out = render(r, F_TEXT_COLOR, &len);
	assert_non_null(strstr(out, "\x1b[1;32mGrade: A"));
	stripped = strip_sgr(out, len, &plain);
	assert_inert(stripped, plain, WIDTH);
	free(stripped);
	free(out);
	probe_result_free(r);
}

static void
text_of_a_null_mx_and_of_an_error(void **state)
{
	struct probe_result *r = pfx_good(0, 0);
	size_t len;
	char *out;

	(void)state;
	r->null_mx = 1;
	assert_int_equal(probe_grade(r), 0);
	out = render(r, F_TEXT, &len);
	assert_non_null(strstr(out, "Grade: none  (null MX"));
	assert_non_null(strstr(out, "null_mx info"));
	free(out);
	r->error = pfx_str("no resolver: " ANSI);
	assert_int_equal(probe_grade(r), 0);
	out = render(r, F_TEXT, &len);
	assert_inert(out, len, WIDTH);
	assert_non_null(strstr(out, "error: no resolver: \\x1b[31m"));
	assert_null(strstr(out, "\nDomain\n"));
	free(out);
	probe_result_free(r);
}

/* No attribute on...= (an event handler) in PAGE. */
static void
assert_no_handler(const char *page)
{
	const char *p = page, *q;

	while ((p = strstr(p, " on")) != NULL) {
		for (q = p + 3; *q >= 'a' && *q <= 'z'; q++)
			;
		if (q > p + 3 && *q == '=')
			fail_msg("event handler: %.40s", p);
		p += 3;
	}
}

static void
html_escapes_everything_the_server_sent(void **state)
{
	struct probe_result *r = hostile();
	size_t len;
	char *out;

	(void)state;
	out = render(r, F_HTML, &len);
	assert_inert(out, len, 0);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "\"quotes'"));
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out, "&quot;quotes&#39;"));
	assert_non_null(strstr(out, "\\x1b[31mred"));
	assert_non_null(strstr(out, FFFD FFFD));
	assert_int_equal(occurrences(out, "<style>"), 1);
	assert_null(strstr(out, " style="));
	assert_no_handler(out);
	assert_non_null(strstr(out, "Content-Security-Policy"));
	assert_non_null(strstr(out, "<p class=\"grade good\">Grade A"));
	assert_non_null(strstr(out, "<summary>Transcript</summary>"));
	assert_null(strstr(out, "critical: "));
	free(out);
	probe_result_free(r);
}

static const char *
get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
json_is_strict_utf8_and_round_trips(void **state)
{
	struct probe_result *r = hostile();
	json_t *root, *mx, *a, *f;
	json_error_t e;
	size_t len, i;
	char *out;
	int seen = 0;

	(void)state;
	out = render(r, F_JSON, &len);
	for (i = 0; i < len; i++)
		assert_true((unsigned char)out[i] < 0x80);
	root = json_loadb(out, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL)
		fail_msg("JSON: %s at %d", e.text, e.position);
	assert_int_equal(json_integer_value(json_object_get(root, "schema")),
	    PROBE_SCHEMA);
	assert_string_equal(get_str(root, "domain"), "good.example");
	assert_string_equal(get_str(root, "grade"), r->grade);
	assert_int_equal(json_integer_value(json_object_get(root, "score")),
	    r->score);
	assert_string_equal(get_str(root, "started"), "2026-12-07T10:00:00Z");
	mx = json_array_get(json_object_get(root, "mx"), 0);
	assert_string_equal(get_str(mx, "name"), "mx1.good.example");
	a = json_array_get(json_object_get(mx, "addresses"), 0);
	assert_string_equal(get_str(a, "banner"), SCRIPT " " QUOTES " " ANSI
	    " " C1 " " FFFD FFFD "\t|");
	assert_true(json_is_true(json_object_get(json_object_get(a, "tls"),
	    "established")));
	assert_true(json_is_false(json_object_get(json_object_get(a, "tls"),
	    "name_match")));
	assert_int_equal(json_array_size(json_object_get(root, "findings")),
	    r->nfindings);
	for (i = 0; i < r->nfindings; i++) {
		f = json_array_get(json_object_get(root, "findings"), i);
		assert_string_equal(get_str(f, "key"), r->findings[i].key);
		assert_string_equal(get_str(f, "severity"),
		    probe_sev_name(r->findings[i].severity));
		if (strcmp(r->findings[i].key, "cert_name_mismatch") == 0)
			seen = 1;
	}
	assert_true(seen);
	json_decref(root);
	free(out);
	probe_result_free(r);
}

/* The JSON of R in DIR/NAME.json. */
static void
write_json(const struct probe_result *r, const char *dir, const char *name)
{
	char path[PATH_MAX];
	FILE *fp;

	assert_true(snprintf(path, sizeof(path), "%s/%s.json", dir, name) <
	    (int)sizeof(path));
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(probe_json(fp, r), 0);
	assert_int_equal(fclose(fp), 0);
}

static const char validate_py[] =
	"import glob, json, sys\n"
	"import jsonschema\n"
	"schema = json.load(open(sys.argv[1]))\n"
	"jsonschema.Draft202012Validator.check_schema(schema)\n"
	"v = jsonschema.Draft202012Validator(schema)\n"
	"n = 0\n"
	"for p in sorted(glob.glob(sys.argv[2] + '/*.json')):\n"
	"    for e in v.iter_errors(json.load(open(p))):\n"
	"        print(p, list(e.absolute_path), e.message)\n"
	"        n += 1\n"
	"sys.exit(1 if n else 0)\n";

static void
json_validates_against_docs_schema(void **state)
{
	struct probe_result *r;
	char dir[PATH_MAX / 2], schema[PATH_MAX / 2], cmd[3 * PATH_MAX],
	    py[PATH_MAX];
	const char *top = getenv("top_srcdir"), *tmp = getenv("TMPDIR");
	FILE *fp;
	int st;

	(void)state;
	if (top == NULL)
		top = "../..";
	snprintf(schema, sizeof(schema), "%s/docs/probe.schema.json", top);
	if (access(schema, R_OK) == -1)
		fail_msg("%s: not readable", schema);
	snprintf(dir, sizeof(dir), "%s/test_probe_formats.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));

	write_json(r = hostile(), dir, "hostile");
	probe_result_free(r);
	r = pfx_good(1, 1);
	pfx_dane(r);
	assert_int_equal(probe_grade(r), 0);
	write_json(r, dir, "dane");
	probe_result_free(r);
	r = pfx_good(0, 0);
	r->null_mx = 1;
	assert_int_equal(probe_grade(r), 0);
	write_json(r, dir, "null_mx");
	r->error = pfx_str("no resolver");
	assert_int_equal(probe_grade(r), 0);
	write_json(r, dir, "error");
	probe_result_free(r);
	r = probe_result_new("Bare.Example.");
	assert_non_null(r);
	write_json(r, dir, "ungraded");
	probe_result_free(r);

	snprintf(py, sizeof(py), "%s/validate.py", dir);
	assert_non_null(fp = fopen(py, "w"));
	fputs(validate_py, fp);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "python3 '%s' '%s' '%s'", py, schema, dir);
	st = system(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", dir);
	/* python3-jsonschema is contrib/install-deps': missing, it fails */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * The text of a result with one finding of each kind of scope against
 * the checked-in tests/unit/probe_text.ref: a changed layout is a
 * visible diff.  UPDATE_GOLDEN=1 writes the file instead.
 */
static void
text_equals_the_golden_reference(void **state)
{
	struct probe_result *r = pfx_good(2, 2);
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX], *out, *ref;
	size_t len;
	long n;
	FILE *fp;

	(void)state;
	pfx_sts(r, "enforce");
	r->mx[1].addrs[1].versions[PV_TLS10].accepted = PT_YES;
	r->mx[1].addrs[0].open_relay = PT_YES;
	r->mx[1].addrs[0].rcpt_relay = 250;
	assert_int_equal(probe_grade(r), 0);
	out = render(r, F_TEXT, &len);
	snprintf(path, sizeof(path), "%s/tests/unit/probe_text.ref",
	    top != NULL ? top : "../..");
	if (getenv("UPDATE_GOLDEN") != NULL) {
		assert_non_null(fp = fopen(path, "w"));
		assert_int_equal(fwrite(out, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
	}
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(ref = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(ref, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_string_equal(out, ref);
	free(ref);
	free(out);
	probe_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_shows_escapes_no_control_and_100_columns),
		cmocka_unit_test(text_with_color_has_only_our_sgr),
		cmocka_unit_test(text_of_a_null_mx_and_of_an_error),
		cmocka_unit_test(html_escapes_everything_the_server_sent),
		cmocka_unit_test(json_is_strict_utf8_and_round_trips),
		cmocka_unit_test(json_validates_against_docs_schema),
		cmocka_unit_test(text_equals_the_golden_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
