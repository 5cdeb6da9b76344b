/*
 * Unit tests of the frames between a worker and its SPF evaluator
 * (spfwire.c): a reply goes through whole, and the worker refuses any
 * reply that is not exactly well-formed (the evaluator parses hostile
 * records and is not trusted).
 */
#include "build.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "records.h"
#include "spfwire.h"

/* A reply sent through a socketpair and read back: its body. */
static uint8_t *
roundtrip_reply(int rc, const struct spf_rec *in, size_t *len)
{
	uint8_t *body;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(spfwire_send_reply(sv[0], rc, in), 0);
	assert_int_equal(spfwire_read_frame(sv[1], 1000, &body, len),
	    SPFWIRE_OK);
	close(sv[0]);
	close(sv[1]);
	return body;
}

static void
reply_goes_through_whole(void **state)
{
	struct spf_rec in = { 0 }, out;
	char domain[] = "example.org", record[] = "v=spf1 -all";
	char error[] = "why";
	uint8_t *body;
	size_t len;
	int rc = 7;

	(void)state;
	in.checked = 1;
	in.domain = domain;
	in.result = "fail";
	in.record = record;
	in.error = error;
	in.dns_lookups = 3;
	in.void_lookups = 1;
	body = roundtrip_reply(0, &in, &len);
	assert_int_equal(spfwire_decode_reply(body, len, &rc, &out), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(out.checked, 1);
	assert_string_equal(out.result, "fail");
	assert_string_equal(out.domain, "example.org");
	assert_string_equal(out.record, "v=spf1 -all");
	assert_null(out.explanation);
	assert_string_equal(out.error, "why");
	assert_int_equal(out.dns_lookups, 3);
	assert_int_equal(out.void_lookups, 1);
	records_spf_clear(&out);
	free(body);
}

static void
reply_truncated_or_with_more_is_refused(void **state)
{
	struct spf_rec in = { 0 }, out;
	uint8_t *body, *longer;
	size_t len, i;
	int rc;

	(void)state;
	in.checked = 1;
	in.result = "pass";
	body = roundtrip_reply(0, &in, &len);
	for (i = 0; i < len; i++) {
		assert_int_equal(spfwire_decode_reply(body, i, &rc, &out), -1);
		records_spf_clear(&out);
	}
	assert_non_null(longer = calloc(1, len + 1));
	memcpy(longer, body, len);
	assert_int_equal(spfwire_decode_reply(longer, len + 1, &rc, &out), -1);
	records_spf_clear(&out);
	free(longer);
	free(body);
}

static void
reply_with_control_bytes_or_unknown_result_is_refused(void **state)
{
	struct spf_rec in = { 0 }, out;
	char bad[] = "a\x1b[31mb";
	uint8_t *body;
	size_t len;
	int rc;

	(void)state;
	in.checked = 1;
	in.result = "pass";
	in.error = bad;
	body = roundtrip_reply(0, &in, &len);
	assert_int_equal(spfwire_decode_reply(body, len, &rc, &out), -1);
	records_spf_clear(&out);
	free(body);
	in.error = NULL;
	body = roundtrip_reply(0, &in, &len);
	body[2] = 200;	/* the result's index */
	assert_int_equal(spfwire_decode_reply(body, len, &rc, &out), -1);
	records_spf_clear(&out);
	free(body);
}

static void
frame_over_the_bound_is_malformed(void **state)
{
	uint8_t hdr[4] = { 0x7f, 0xff, 0xff, 0xff }, *body;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(spfwire_read_frame(sv[1], 1000, &body, &len),
	    SPFWIRE_MALFORMED);
	close(sv[0]);
	close(sv[1]);
}

static void
silent_peer_times_out_and_closed_peer_is_eof(void **state)
{
	uint8_t *body;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(spfwire_read_frame(sv[1], 50, &body, &len),
	    SPFWIRE_TIMEOUT);
	close(sv[0]);
	assert_int_equal(spfwire_read_frame(sv[1], 50, &body, &len),
	    SPFWIRE_EOF);
	close(sv[1]);
}

static void
request_goes_through_whole(void **state)
{
	struct spfwire_request req;
	uint8_t *body;
	size_t len;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(spfwire_send_request(sv[0], SPF_HELO, 1234,
	    "192.0.2.1", "mx.example", NULL), 0);
	assert_int_equal(spfwire_read_frame(sv[1], 1000, &body, &len),
	    SPFWIRE_OK);
	assert_int_equal(spfwire_decode_request(body, len, &req), 0);
	assert_int_equal(req.id, SPF_HELO);
	assert_int_equal(req.time_left_ms, 1234);
	assert_string_equal(req.client_addr, "192.0.2.1");
	assert_string_equal(req.helo, "mx.example");
	assert_null(req.mail_from);
	spfwire_request_clear(&req);
	free(body);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reply_goes_through_whole),
		cmocka_unit_test(reply_truncated_or_with_more_is_refused),
		cmocka_unit_test(
		    reply_with_control_bytes_or_unknown_result_is_refused),
		cmocka_unit_test(frame_over_the_bound_is_malformed),
		cmocka_unit_test(silent_peer_times_out_and_closed_peer_is_eof),
		cmocka_unit_test(request_goes_through_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
