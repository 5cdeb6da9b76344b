/*
 * TLS-RPT reports (RFC 8460) mailed to tlsrpt@<base>: the report part of
 * the stored message found (5.3), base64-decoded, gunzipped with a bound,
 * and its JSON (4.3, 4.4) checked field by field.  Pure; worker threads.
 */
#ifndef MAILSCOPE_TLSRPT_H
#define MAILSCOPE_TLSRPT_H

#include <stddef.h>

#include "records.h"

#define TLSRPT_MAX_JSON		(16UL * 1024 * 1024)	/* gunzipped bytes */
#define TLSRPT_MAX_POLICIES	1000	/* kept of a report; more: capped */
#define TLSRPT_MAX_FAILURES	10000	/* kept of a report, all policies */
#define TLSRPT_MAX_COUNT	1000000000000LL	/* a session count above: bad */

/*
 * Parses the report message MSG (LEN bytes, NULL when LEN is 0) into OUT,
 * which it zeroes first: checked, status "ok" or "malformed" with error.
 * 0, or -1 out of memory (OUT cleared).
 */
int	tlsrpt_parse_message(const char *msg, size_t len,
	    struct tlsrpt_rec *out);

/* As tlsrpt_parse_message(), from the report's JSON text itself. */
int	tlsrpt_parse_json(const char *json, size_t len, struct tlsrpt_rec *out);

#endif /* MAILSCOPE_TLSRPT_H */
