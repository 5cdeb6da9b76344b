/*
 * Unit tests of the TLS-RPT parser (RFC 8460): reports built here, the
 * JSON of RFC 8460's example gzip'd with zlib and wrapped as a 5.3 report
 * mail, and malformed ones: bad base64, bad or truncated gzip, a gzip
 * bomb over the limit, bad JSON, wrong types, out-of-range counts,
 * missing members, more failure details than are kept; the date range
 * (RFC 3339) in seconds; 1000 random and bit-flipped inputs that must
 * not crash nor break the record's bounds.
 */
#include "build.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "records.h"
#include "tlsrpt.h"

/* RFC 8460 4.4's example, with one more policy (no-policy-found). */
static const char example_json[] =
    "{\"organization-name\": \"Company-X\","
    " \"date-range\": {\"start-datetime\": \"2016-04-01T00:00:00Z\","
    "  \"end-datetime\": \"2016-04-01T23:59:59Z\"},"
    " \"contact-info\": \"sts-reporting@company-x.example\","
    " \"report-id\": \"5065427c-23d3-47ca-b6e0-946ea0e8c4be\","
    " \"policies\": [{"
    "  \"policy\": {\"policy-type\": \"sts\","
    "   \"policy-string\": [\"version: STSv1\", \"mode: testing\","
    "    \"mx: *.mail.company-y.example\", \"max_age: 86400\"],"
    "   \"policy-domain\": \"Company-Y.example\","
    "   \"mx-host\": [\"*.mail.company-y.example\"]},"
    "  \"summary\": {\"total-successful-session-count\": 5326,"
    "   \"total-failure-session-count\": 303},"
    "  \"failure-details\": [{"
    "   \"result-type\": \"certificate-expired\","
    "   \"sending-mta-ip\": \"2001:db8:abcd:0012::1\","
    "   \"receiving-mx-hostname\": \"mx1.mail.company-y.example\","
    "   \"failed-session-count\": 100}, {"
    "   \"result-type\": \"starttls-not-supported\","
    "   \"sending-mta-ip\": \"2001:db8:abcd:0013::1\","
    "   \"receiving-mx-hostname\": \"mx2.mail.company-y.example\","
    "   \"receiving-ip\": \"203.0.113.56\","
    "   \"failed-session-count\": 200,"
    "   \"additional-information\": \"https://reports.company-x.example/"
    "report_info?id=5065427c-23d3#StarttlsNotSupported\"}, {"
    "   \"result-type\": \"validation-failure\","
    "   \"sending-mta-ip\": \"198.51.100.62\","
    "   \"receiving-ip\": \"203.0.113.58\","
    "   \"receiving-mx-hostname\": \"mx-backup.mail.company-y.example\","
    "   \"failed-session-count\": 3,"
    "   \"failure-reason-code\": \"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED\""
    "  }]}, {"
    "  \"policy\": {\"policy-type\": \"no-policy-found\","
    "   \"policy-domain\": \"other.example\"},"
    "  \"summary\": {\"total-successful-session-count\": 1,"
    "   \"total-failure-session-count\": 0}}]}";

/* LEN bytes of SRC gzip'd (RFC 1952) with zlib; malloc'd. */
static unsigned char *
gz(const void *src, size_t len, size_t *outlen)
{
	z_stream	 z;
	unsigned char	*out;
	size_t		 cap;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, len);
	assert_non_null(out = malloc(cap));
	z.next_in = (unsigned char *)(uintptr_t)src;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

/* SRC in base64, lines of 76 characters with CRLF (RFC 2045 6.8). */
static char *
b64(const unsigned char *src, size_t len)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	*out, *o;
	size_t	 i, col = 0;

	assert_non_null(out = malloc(len / 3 * 4 + len / 57 * 2 + 16));
	o = out;
	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)src[i + 1] << 8;
		if (i + 2 < len)
			v |= src[i + 2];
		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		*o++ = i + 1 < len ? a[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? a[v & 63] : '=';
		if ((col += 4) == 76) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	*o++ = '\r';
	*o++ = '\n';
	*o = '\0';
	return out;
}

/*
 * An RFC 8460 5.3 report mail with BODY as its report part of TYPE
 * ("gzip" or "json") and Content-Transfer-Encoding CTE (NULL: none).
 */
static char *
mail(const char *type, const char *cte, const char *body)
{
	char	*m;
	size_t	 n = strlen(body) + 2048;

	assert_non_null(m = malloc(n));
	snprintf(m, n,
	    "From: TLS reporting <noreply@sender.example>\r\n"
	    "To: tlsrpt@mailscope.example\r\n"
	    "Subject: Report Domain: mailscope.example\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
	    "\tboundary=\"==b1\"\r\n"
	    "\r\n"
	    "preamble\r\n"
	    "--==b1\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\"\r\n"
	    "\r\n"
	    "This is an aggregate TLS report.\r\n"
	    "--==b1\r\n"
	    "Content-Type: application/tlsrpt+%s\r\n"
	    "%s%s%s"
	    "Content-Disposition: attachment;\r\n"
	    " filename=\"sender.example!mailscope.example!1!2.json.gz\"\r\n"
	    "\r\n"
	    "%s"
	    "\r\n--==b1--\r\n",
	    type, cte != NULL ? "Content-Transfer-Encoding: " : "",
	    cte != NULL ? cte : "", cte != NULL ? "\r\n" : "", body);
	return m;
}

/* The gzip'd, base64'd mail of JSON (LEN bytes) parsed into R. */
static void
parse_gz(const char *json, size_t len, struct tlsrpt_rec *r)
{
	unsigned char	*z;
	char		*body, *m;
	size_t		 zlen;

	z = gz(json, len, &zlen);
	body = b64(z, zlen);
	m = mail("gzip", "base64", body);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), r), 0);
	assert_true(r->checked);
	free(m);
	free(body);
	free(z);
}

static void
assert_malformed(struct tlsrpt_rec *r, const char *error)
{
	assert_true(r->checked);
	assert_string_equal(r->status, "malformed");
	assert_non_null(r->error);
	if (strncmp(r->error, error, strlen(error)) != 0)
		fail_msg("error \"%s\", want \"%s...\"", r->error, error);
	assert_int_equal(r->npolicies, 0);
	assert_null(r->policies);
	records_tlsrpt_clear(r);
}

/* A JSON report, the example's with FROM replaced by TO. */
static void
json_malformed(const char *from, const char *to, const char *error)
{
	struct tlsrpt_rec	 r;
	char			 buf[8192];
	const char		*at = strstr(example_json, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - example_json),
	    example_json, to, at + strlen(from));
	assert_int_equal(tlsrpt_parse_json(buf, strlen(buf), &r), 0);
	assert_malformed(&r, error);
}

/* ---- well-formed reports ---- */

static void
rfc_example_gzip_base64(void **state)
{
	struct tlsrpt_rec		 r;
	const struct tlsrpt_policy	*p;
	const struct tlsrpt_failure	*f;

	(void)state;
	parse_gz(example_json, strlen(example_json), &r);
	assert_string_equal(r.status, "ok");
	assert_null(r.error);
	assert_string_equal(r.organization, "Company-X");
	assert_string_equal(r.report_id,
	    "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
	assert_string_equal(r.contact, "sts-reporting@company-x.example");
	assert_string_equal(r.date_start, "2016-04-01T00:00:00Z");
	assert_string_equal(r.date_end, "2016-04-01T23:59:59Z");
	assert_true(r.start == 1459468800.0);
	assert_true(r.end == 1459468800.0 + 86399);
	assert_int_equal(r.npolicies, 2);
	p = &r.policies[0];
	assert_string_equal(p->policy_type, "sts");
	assert_string_equal(p->policy_domain, "company-y.example");
	assert_string_equal(p->policy_string, "[\"version: STSv1\","
	    "\"mode: testing\",\"mx: *.mail.company-y.example\","
	    "\"max_age: 86400\"]");
	assert_string_equal(p->mx_host, "[\"*.mail.company-y.example\"]");
	assert_int_equal(p->successful, 5326);
	assert_int_equal(p->failed, 303);
	assert_int_equal(p->nfailures, 3);
	f = &p->failures[0];
	assert_string_equal(f->result_type, "certificate-expired");
	assert_string_equal(f->sending_mta_ip, "2001:db8:abcd:0012::1");
	assert_string_equal(f->receiving_mx_hostname,
	    "mx1.mail.company-y.example");
	assert_null(f->receiving_ip);
	assert_int_equal(f->failed_sessions, 100);
	assert_null(f->additional_information);
	assert_null(f->failure_reason_code);
	f = &p->failures[1];
	assert_string_equal(f->receiving_ip, "203.0.113.56");
	assert_int_equal(f->failed_sessions, 200);
	assert_non_null(strstr(f->additional_information,
	    "#StarttlsNotSupported"));
	f = &p->failures[2];
	assert_string_equal(f->failure_reason_code,
	    "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
	p = &r.policies[1];
	assert_string_equal(p->policy_type, "no-policy-found");
	assert_string_equal(p->policy_domain, "other.example");
	assert_null(p->policy_string);
	assert_null(p->mx_host);
	assert_int_equal(p->successful, 1);
	assert_int_equal(p->failed, 0);
	assert_int_equal(p->nfailures, 0);
	records_tlsrpt_clear(&r);
	assert_int_equal(r.checked, 0);
}

static void
json_part_and_bare_gzip(void **state)
{
	struct tlsrpt_rec	 r;
	unsigned char		*z;
	char			*m, *body;
	size_t			 zlen;

	(void)state;
	/* application/tlsrpt+json, 7bit */
	m = mail("json", NULL, example_json);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_string_equal(r.status, "ok");
	assert_int_equal(r.npolicies, 2);
	records_tlsrpt_clear(&r);
	free(m);
	/* +json in base64 */
	body = b64((const unsigned char *)example_json, strlen(example_json));
	m = mail("json", "base64", body);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_string_equal(r.status, "ok");
	assert_string_equal(r.organization, "Company-X");
	records_tlsrpt_clear(&r);
	free(m);
	free(body);
	/* the report part as the whole message, LF line ends */
	z = gz(example_json, strlen(example_json), &zlen);
	body = b64(z, zlen);
	assert_non_null(m = malloc(strlen(body) + 200));
	sprintf(m, "Content-Type: Application/TLSRPT+gzip\n"
	    "Content-Transfer-Encoding: BASE64\n\n%s", body);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_string_equal(r.status, "ok");
	assert_int_equal(r.policies[0].nfailures, 3);
	records_tlsrpt_clear(&r);
	free(m);
	free(body);
	free(z);
}

/* ---- malformed messages ---- */

static void
no_report_part(void **state)
{
	struct tlsrpt_rec	 r;
	const char		*m = "Subject: hi\r\nContent-Type: text/plain"
	    "\r\n\r\nno report\r\n";

	(void)state;
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "no application/tlsrpt");
	assert_int_equal(tlsrpt_parse_message(NULL, 0, &r), 0);
	assert_malformed(&r, "no application/tlsrpt");
	m = "Subject: hi\r\n";
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "no application/tlsrpt");
	/* a multipart without its boundary, or without parts */
	m = "Content-Type: multipart/report\r\n\r\n--x\r\n\r\n--x--\r\n";
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "no application/tlsrpt");
	m = "Content-Type: multipart/report; boundary=x\r\n\r\nnone\r\n";
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "no application/tlsrpt");
}

static void
bad_base64_and_encoding(void **state)
{
	struct tlsrpt_rec	 r;
	char			*m;

	(void)state;
	m = mail("gzip", "base64", "H4sIAAAA!AAAA\r\n");
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "bad base64");
	free(m);
	m = mail("gzip", "base64", "H4sI=AAA\r\n");
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "bad base64");
	m = (free(m), mail("gzip", "base64", "H4sIA\r\n"));
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "bad base64");
	m = (free(m), mail("json", "quoted-printable", "{}"));
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "unsupported Content-Transfer-Encoding");
	free(m);
}

static void
bad_and_truncated_gzip(void **state)
{
	struct tlsrpt_rec	 r;
	unsigned char		*z;
	char			*body, *m;
	size_t			 zlen;

	(void)state;
	/* "not gzip at all" */
	m = mail("gzip", "base64", "bm90IGd6aXAgYXQgYWxs\r\n");
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "bad gzip");
	free(m);
	z = gz(example_json, strlen(example_json), &zlen);
	body = b64(z, zlen / 2);
	m = mail("gzip", "base64", body);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_malformed(&r, "truncated gzip");
	free(m);
	free(body);
	/* a corrupted deflate stream */
	z[zlen / 2] ^= 0xff;
	z[zlen / 2 + 1] ^= 0xff;
	body = b64(z, zlen);
	m = mail("gzip", "base64", body);
	assert_int_equal(tlsrpt_parse_message(m, strlen(m), &r), 0);
	assert_true(r.checked);
	/* the flip may also hit the CRC check: malformed either way */
	assert_string_equal(r.status, "malformed");
	records_tlsrpt_clear(&r);
	free(m);
	free(body);
	free(z);
}

static void
gzip_bomb_over_the_limit(void **state)
{
	struct tlsrpt_rec	 r;
	char			*json;
	size_t			 n = TLSRPT_MAX_JSON + 1;

	(void)state;
	/* valid JSON of one byte too many: refused before parsing */
	assert_non_null(json = malloc(n));
	memset(json, ' ', n);
	json[0] = '{';
	json[n - 1] = '}';
	parse_gz(json, n, &r);
	assert_malformed(&r, "gzip output over the limit");
	/* exactly the limit is gunzipped, then parsed */
	json[n - 2] = '}';
	parse_gz(json, n - 1, &r);
	assert_malformed(&r, "organization-name: missing");
	free(json);
}

/* ---- malformed JSON ---- */

static void
bad_json(void **state)
{
	struct tlsrpt_rec	 r;

	(void)state;
	parse_gz("{\"organization-name\": ", 22, &r);
	assert_malformed(&r, "bad JSON: line 1");
	assert_int_equal(tlsrpt_parse_json("[1, 2]", 6, &r), 0);
	assert_malformed(&r, "report: not an object");
	assert_int_equal(tlsrpt_parse_json("\"x\"", 3, &r), 0);
	assert_malformed(&r, "bad JSON");
	assert_int_equal(tlsrpt_parse_json("{\"a\":1,\"a\":2}", 13, &r), 0);
	assert_malformed(&r, "bad JSON");
	assert_int_equal(tlsrpt_parse_json("{\"a\":\"\\u0000\"}", 14, &r), 0);
	assert_malformed(&r, "bad JSON");
}

static void
wrong_types(void **state)
{
	(void)state;
	json_malformed("\"Company-X\"", "42", "organization-name: not a string");
	json_malformed("{\"start-datetime\"", "[{\"start-datetime\"",
	    "bad JSON");
	json_malformed("\"date-range\": {", "\"date-range\": [], \"x\": {",
	    "date-range: not an object");
	json_malformed("\"policies\": [", "\"policies\": {\"a\": [",
	    "bad JSON");
	json_malformed("\"policies\": [{", "\"policies\": [7, {",
	    "policies: not an object");
	json_malformed("\"policy\": {\"policy-type\": \"sts\"",
	    "\"policy\": \"sts\", \"x\": {\"policy-type\": \"sts\"",
	    "policy: not an object");
	json_malformed("\"mx-host\": [\"*.mail.company-y.example\"]",
	    "\"mx-host\": [\"a\", 2]", "mx-host: not an array of strings");
	json_malformed("\"mx-host\": [\"*.mail.company-y.example\"]",
	    "\"mx-host\": \"a\"", "mx-host: not an array");
	json_malformed("\"failure-details\": [", "\"failure-details\": {\"a\":"
	    " [", "bad JSON");
	json_malformed("\"failure-details\": [{", "\"failure-details\": [3, {",
	    "failure-details: not an object");
	json_malformed("5326", "5326.5",
	    "total-successful-session-count: not an integer");
	json_malformed("5326", "\"5326\"",
	    "total-successful-session-count: not an integer");
	json_malformed("\"failed-session-count\": 100",
	    "\"failed-session-count\": true",
	    "failed-session-count: not an integer");
	json_malformed("\"receiving-ip\": \"203.0.113.56\"",
	    "\"receiving-ip\": null", "receiving-ip: not a string");
}

static void
counts_out_of_range(void **state)
{
	(void)state;
	json_malformed("5326", "-1",
	    "total-successful-session-count: count out of range");
	json_malformed("303", "1000000000001",
	    "total-failure-session-count: count out of range");
	json_malformed("\"failed-session-count\": 100",
	    "\"failed-session-count\": -100",
	    "failed-session-count: count out of range");
	/* over what jansson holds: its parser refuses it */
	json_malformed("5326", "100000000000000000000000", "bad JSON");
}

static void
missing_members(void **state)
{
	(void)state;
	json_malformed("\"organization-name\"", "\"organisation-name\"",
	    "organization-name: missing");
	json_malformed("\"report-id\"", "\"report_id\"", "report-id: missing");
	json_malformed("\"end-datetime\"", "\"end\"", "end-datetime: missing");
	json_malformed("\"policies\"", "\"policy-list\"", "policies: missing");
	json_malformed("\"policy-domain\": \"Company-Y.example\"",
	    "\"domain\": \"Company-Y.example\"", "policy-domain: missing");
	json_malformed("\"summary\"", "\"summa\"", "summary: missing");
	json_malformed("\"total-failure-session-count\": 303",
	    "\"failures\": 303", "total-failure-session-count: missing");
	json_malformed("\"result-type\": \"validation-failure\"",
	    "\"result\": \"validation-failure\"", "result-type: missing");
	json_malformed("\"failed-session-count\": 3",
	    "\"sessions\": 3", "failed-session-count: missing");
}

/* More failure details than are kept; long strings cut. */
static void
capped(void **state)
{
	struct tlsrpt_rec	 r;
	json_t			*root, *fd, *f;
	char			*txt, *big;
	size_t			 i;

	(void)state;
	assert_non_null(root = json_loads(example_json, 0, NULL));
	fd = json_object_get(json_array_get(json_object_get(root,
	    "policies"), 0), "failure-details");
	for (i = 0; i < TLSRPT_MAX_FAILURES + 5; i++) {
		f = json_pack("{s:s, s:s, s:I}", "result-type",
		    "validation-failure", "sending-mta-ip", "192.0.2.1",
		    "failed-session-count", (json_int_t)i);
		assert_int_equal(json_array_append_new(fd, f), 0);
	}
	assert_non_null(big = malloc(100001));
	memset(big, 'a', 100000);
	big[100000] = '\0';
	assert_int_equal(json_object_set_new(root, "organization-name",
	    json_string(big)), 0);
	assert_non_null(txt = json_dumps(root, JSON_COMPACT));
	parse_gz(txt, strlen(txt), &r);
	assert_string_equal(r.status, "ok");
	assert_string_equal(r.error,
	    "capped: 0 policies and 8 failure-details not stored");
	assert_int_equal(r.npolicies, 2);
	assert_int_equal(r.policies[0].nfailures, TLSRPT_MAX_FAILURES);
	assert_int_equal(strlen(r.organization), 1024);
	records_tlsrpt_clear(&r);
	free(txt);
	/* a bad entry among those not kept still makes it malformed */
	assert_int_equal(json_array_append_new(fd, json_integer(1)), 0);
	assert_non_null(txt = json_dumps(root, JSON_COMPACT));
	assert_int_equal(tlsrpt_parse_json(txt, strlen(txt), &r), 0);
	assert_malformed(&r, "failure-details: not an object");
	free(txt);
	free(big);
	json_decref(root);
}

/* ---- the date range in seconds ---- */

/* The example's start-datetime replaced by START, in seconds (0: none). */
static double
start_of(const char *start)
{
	struct tlsrpt_rec	 r;
	const char		*from = "2016-04-01T00:00:00Z";
	const char		*at = strstr(example_json, from);
	char			 buf[8192];
	double			 t;

	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - example_json),
	    example_json, start, at + strlen(from));
	assert_int_equal(tlsrpt_parse_json(buf, strlen(buf), &r), 0);
	assert_string_equal(r.status, "ok");
	t = r.start;
	records_tlsrpt_clear(&r);
	return t;
}

static void
date_range_in_seconds(void **state)
{
	const double	 day = 1459468800.0;	/* 2016-04-01T00:00:00Z */

	(void)state;
	assert_true(start_of("2016-04-01T02:30:00+02:30") == day);
	assert_true(start_of("2016-03-31T22:00:00-02:00") == day);
	assert_true(start_of("2016-04-01t00:00:00z") == day);
	assert_true(start_of("2016-04-01 00:00:00Z") == day);
	assert_true(start_of("2016-04-01T00:00:00.25Z") == day + 0.25);
	assert_true(start_of("2016-04-01T00:00:00.000000Z") == day);
	/* RFC 3339 5.7: a leap second; February 29 of leap years only */
	assert_true(start_of("2016-12-31T23:59:60Z") == 1483228800.0);
	assert_true(start_of("2016-02-29T00:00:00Z") == day - 32 * 86400);
	assert_true(start_of("2000-02-29T00:00:00Z") == 951782400.0);
	/* not RFC 3339 5.6, or before 1970: 0, the report still ok */
	assert_true(start_of("2015-02-29T00:00:00Z") == 0);
	assert_true(start_of("2100-02-29T00:00:00Z") == 0);
	assert_true(start_of("2016-04-31T00:00:00Z") == 0);
	assert_true(start_of("2016-13-01T00:00:00Z") == 0);
	assert_true(start_of("2016-04-01T24:00:00Z") == 0);
	assert_true(start_of("2016-04-01T00:60:00Z") == 0);
	assert_true(start_of("2016-04-01T00:00:61Z") == 0);
	assert_true(start_of("2016-04-01T00:00:00") == 0);
	assert_true(start_of("2016-04-01T00:00:00.Z") == 0);
	assert_true(start_of("2016-04-01T00:00:00+2:00") == 0);
	assert_true(start_of("2016-04-01T00:00:00+02:60") == 0);
	assert_true(start_of("2016-04-01T00:00:00Zjunk") == 0);
	assert_true(start_of("2016-04-01") == 0);
	assert_true(start_of("2016-4-01T00:00:00Z") == 0);
	assert_true(start_of("") == 0);
	assert_true(start_of("1969-12-31T23:59:59Z") == 0);
	assert_true(start_of("1970-01-01T00:00:01+00:02") == 0);
}

/* ---- random and bit-flipped inputs ---- */

/* xorshift64*: the same inputs on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* R keeps its own bounds, whatever the input; 1 if it is "ok". */
static int
assert_sane(const struct tlsrpt_rec *r)
{
	const struct tlsrpt_policy	*p;
	size_t				 i, k, nf = 0;

	assert_true(r->checked);
	assert_true(r->start >= 0 && r->end >= 0);
	if (strcmp(r->status, "malformed") == 0) {
		assert_non_null(r->error);
		assert_int_equal(r->npolicies, 0);
		assert_null(r->policies);
		return 0;
	}
	assert_string_equal(r->status, "ok");
	assert_true(r->npolicies <= TLSRPT_MAX_POLICIES);
	assert_true(strlen(r->organization) <= 1024);
	for (i = 0; i < r->npolicies; i++) {
		p = &r->policies[i];
		assert_non_null(p->policy_type);
		assert_non_null(p->policy_domain);
		assert_true(p->successful >= 0 &&
		    p->successful <= TLSRPT_MAX_COUNT);
		assert_true(p->failed >= 0 && p->failed <= TLSRPT_MAX_COUNT);
		nf += p->nfailures;
		for (k = 0; k < p->nfailures; k++) {
			assert_non_null(p->failures[k].result_type);
			assert_true(p->failures[k].failed_sessions >= 0 &&
			    p->failures[k].failed_sessions <=
			    TLSRPT_MAX_COUNT);
		}
	}
	assert_true(nf <= TLSRPT_MAX_FAILURES);
	return 1;
}

/* BUF (LEN bytes) with 1 to 8 bits flipped, or cut short. */
static void
mutate(char *buf, size_t *len, uint64_t *s, unsigned n)
{
	unsigned	 flips, k;

	flips = 1 + (unsigned)(rnd(s) % 8);
	for (k = 0; k < flips; k++)
		buf[rnd(s) % *len] ^= (char)(1u << (rnd(s) % 8));
	if (n % 7 == 0)
		*len = rnd(s) % *len;
}

static void
random_and_bit_flipped_inputs_do_not_crash(void **state)
{
	struct tlsrpt_rec	 r;
	unsigned char		*z;
	char			*seeds[4], *body, buf[16384];
	size_t			 lens[4], len, zlen, i;
	uint64_t		 s = 0x746c737270742121ULL;
	unsigned		 n, ok = 0;

	(void)state;
	/* the JSON, as a +json part, gzip'd in base64, gzip'd in binary */
	seeds[0] = strdup(example_json);
	seeds[1] = mail("json", NULL, example_json);
	z = gz(example_json, strlen(example_json), &zlen);
	body = b64(z, zlen);
	seeds[2] = mail("gzip", "base64", body);
	free(body);
	assert_non_null(seeds[3] = malloc(zlen + 64));
	len = (size_t)sprintf(seeds[3], "Content-Type: application/"
	    "tlsrpt+gzip\r\n\r\n");
	memcpy(seeds[3] + len, z, zlen);
	lens[3] = len + zlen;
	free(z);
	for (i = 0; i < 3; i++)
		lens[i] = strlen(seeds[i]);

	for (n = 0; n < 1000; n++) {
		if (n % 5 == 0) {
			len = rnd(&s) % 2048;
			for (i = 0; i < len; i++)
				buf[i] = (char)rnd(&s);
		} else {
			i = n % 4;
			assert_true(lens[i] <= sizeof(buf));
			len = lens[i];
			memcpy(buf, seeds[i], len);
			mutate(buf, &len, &s, n);
		}
		/* the JSON parser on its own, and the whole message */
		assert_int_equal(tlsrpt_parse_json(buf, len, &r), 0);
		ok += (unsigned)assert_sane(&r);
		records_tlsrpt_clear(&r);
		assert_int_equal(tlsrpt_parse_message(len > 0 ? buf : NULL,
		    len, &r), 0);
		ok += (unsigned)assert_sane(&r);
		records_tlsrpt_clear(&r);
	}
	/* flips inside strings leave some reports well-formed */
	assert_true(ok > 20);
	for (i = 0; i < 4; i++)
		free(seeds[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_example_gzip_base64),
		cmocka_unit_test(json_part_and_bare_gzip),
		cmocka_unit_test(no_report_part),
		cmocka_unit_test(bad_base64_and_encoding),
		cmocka_unit_test(bad_and_truncated_gzip),
		cmocka_unit_test(gzip_bomb_over_the_limit),
		cmocka_unit_test(bad_json),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(counts_out_of_range),
		cmocka_unit_test(missing_members),
		cmocka_unit_test(capped),
		cmocka_unit_test(date_range_in_seconds),
		cmocka_unit_test(random_and_bit_flipped_inputs_do_not_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
