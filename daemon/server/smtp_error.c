/*
 * The error table: every refusal the SMTP server can give, with its code,
 * RFC 3463 enhanced status and text, most severe first.  Any thread.
 * Codes: RFC 5321 4.2.2 and 4.2.3; statuses: RFC 3463 and the IANA
 * "Enumerated Status Codes" registry (2024).
 */
#include "build.h"

#include <assert.h>
#include <stddef.h>

#include "smtp_error.h"

static const struct smtp_error_row rows[SE_COUNT] = {
	[SE_STORE_FAILED] =	{ 451, "4.3.0",
	    "Error: cannot store the message now, try again later", 0, NULL },
	[SE_MEMORY] =		{ 452, "4.3.1",
	    "Error: insufficient system storage, try again later", 0, NULL,
	    "memory" },
	[SE_SHUTDOWN] =		{ 421, "4.3.2", "Service shutting down",
	    1, "shutdown" },
	[SE_TIMEOUT] =		{ 421, "4.4.2", "Error: timeout exceeded",
	    1, "timeout" },
	[SE_TOO_MANY_CONNECTIONS] = { 421, "4.7.0",
	    "Error: too many connections, try again later", 1, "limit" },
	[SE_TOO_MANY_FROM_IP] =	{ 421, "4.7.0",
	    "Error: too many connections from your address", 1, "limit" },
	[SE_CONNECTION_RATE] =	{ 421, "4.7.0",
	    "Error: too many connections from your address, slow down", 1,
	    "limit" },
	/* the store has too much to write: a flood, answered unrecorded */
	[SE_STORE_BUSY] =	{ 421, "4.3.2",
	    "Service busy, try again later", 1, "busy" },
	[SE_TOO_MANY_ERRORS] =	{ 421, "4.7.0", "Error: too many errors",
	    1, "errors" },
	[SE_TOO_MANY_COMMANDS] = { 421, "4.7.0", "Error: too many commands",
	    1, "errors" },
	[SE_QUOTA_SESSION] =	{ 421, "4.7.0",
	    "Error: too many messages in one session, connect again", 1,
	    "quota", "quota_session" },
	[SE_QUOTA_CLIENT] =	{ 421, "4.7.0",
	    "Error: too many messages from your address, try again later", 1,
	    "quota", "quota_client" },
	[SE_MESSAGE_TOO_BIG] =	{ 552, "5.3.4", "Error: message too big", 0,
	    NULL },
	[SE_LINE_TOO_LONG] =	{ 500, "5.5.2", "Error: line too long", 0,
	    NULL },
	[SE_TLS_REQUIRED] =	{ 530, "5.7.0",
	    "Must issue a STARTTLS command first", 0, NULL },
	/*
	 * RFC 8689 4.1: REQUIRETLS only in a TLS session (we offer it only
	 * there); 5.7.10 is its status (RFC 8689 5), 530 RFC 3207's code.
	 */
	[SE_REQUIRETLS_NO_TLS] = { 530, "5.7.10",
	    "REQUIRETLS needs a TLS session", 0, NULL },
	[SE_TLS_UNAVAILABLE] =	{ 454, "4.7.0",
	    "TLS not available due to temporary reason", 0, NULL },
	[SE_RELAY_DENIED] =	{ 550, "5.7.1", "Error: relay access denied",
	    0, NULL },
	[SE_NO_SUCH_USER] =	{ 550, "5.1.1",
	    "Error: no such user here", 0, NULL },
	/* a well-formed ID of no test: nobody writes under invented IDs */
	[SE_UNKNOWN_TEST] =	{ 550, "5.1.1",
	    "Error: no such test here; create a test first", 0, NULL,
	    "unknown_test" },
	[SE_TOO_MANY_RECIPIENTS] = { 452, "4.5.3",
	    "Error: too many recipients", 0, NULL },
	[SE_QUOTA_TEST] =	{ 452, "4.5.3",
	    "Error: this test has had too many messages", 0, NULL,
	    "quota_test" },
	/* never accepted without greylisting: deferred, like the first try */
	[SE_GREYLIST_FULL] =	{ 451, "4.7.1",
	    "Greylisting is busy, please try again later", 0, NULL,
	    "greylist_full" },
	[SE_GREYLISTED] =	{ 451, "4.7.1",
	    "Greylisted: this is a test of retries, please try again later",
	    0, NULL },
	[SE_SIZE_EXCEEDED] =	{ 552, "5.3.4",
	    "Error: message size exceeds the limit", 0, NULL },
	[SE_UNKNOWN_COMMAND] =	{ 500, "5.5.1", "Error: command not recognized",
	    0, NULL },
	/* RFC 5321 4.1.1.11 and 4.2.3; RFC 3461 5: not recognized */
	[SE_UNKNOWN_PARAM] =	{ 555, "5.5.4",
	    "Error: parameter not recognized", 0, NULL },
	[SE_NOT_IMPLEMENTED] =	{ 502, "5.5.1", "Error: command not implemented",
	    0, NULL },
	[SE_SYNTAX] =		{ 501, "5.5.4",
	    "Error: syntax error in parameters", 0, NULL },
	/* RFC 5321 2.3.8: a CR only as part of CRLF, never inside a line */
	[SE_BARE_CR] =		{ 501, "5.5.2",
	    "Error: syntax error: bare CR in command", 0, NULL },
	[SE_BAD_ADDRESS] =	{ 501, "5.5.4", "Error: bad address syntax", 0,
	    NULL },
	/* RFC 6531 3.5: a non-ASCII address without SMTPUTF8 in MAIL */
	[SE_NEED_SMTPUTF8] =	{ 553, "5.6.7",
	    "Error: non-ASCII address needs the SMTPUTF8 parameter", 0,
	    NULL },
	[SE_NULL_RECIPIENT] =	{ 501, "5.1.3",
	    "Error: the null path is no recipient", 0, NULL },
	[SE_NEED_HELO] =	{ 503, "5.5.1", "Error: send HELO/EHLO first", 0,
	    NULL },
	[SE_NESTED_MAIL] =	{ 503, "5.5.1", "Error: nested MAIL command", 0,
	    NULL },
	[SE_NEED_MAIL] =	{ 503, "5.5.1", "Error: need MAIL command", 0,
	    NULL },
	[SE_NEED_RCPT] =	{ 503, "5.5.1", "Error: need RCPT command", 0,
	    NULL },
	/* RFC 3030 2: DATA and BDAT not mixed in one transaction */
	[SE_DATA_AFTER_BDAT] =	{ 503, "5.5.1",
	    "Error: DATA after BDAT in the same transaction", 0, NULL },
	[SE_TLS_ACTIVE] =	{ 503, "5.5.1", "Error: TLS already active", 0,
	    NULL },
	[SE_BAD_SEQUENCE] =	{ 503, "5.5.1", "Error: bad sequence of commands",
	    0, NULL },
};

const struct smtp_error_row *
smtp_error_row(enum smtp_err e)
{
	assert(e > SE_NONE && e < SE_COUNT);
	return &rows[e];
}

enum smtp_err
smtp_error_worst(enum smtp_err a, enum smtp_err b)
{
	if (a == SE_NONE)
		return b;
	if (b == SE_NONE)
		return a;
	return a < b ? a : b;
}
