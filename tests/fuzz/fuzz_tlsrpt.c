/*
 * libFuzzer target of the TLS-RPT parser (RFC 8460): the first byte of an
 * input chooses tlsrpt_parse_message() (even: a report mail, MIME, base64
 * and gzip) or tlsrpt_parse_json() (odd: the JSON report itself), the
 * rest is the input.  Beyond not crashing, the record must keep its own
 * bounds: checked, "ok" or "malformed" (then an error and no policies),
 * at most TLSRPT_MAX_POLICIES policies and TLSRPT_MAX_FAILURES failure
 * details, the members RFC 8460 4.4 requires present, counts in range,
 * strings cut as the store expects.  Built and run by tests/fuzz/run
 * (clang -fsanitize=fuzzer,address,undefined).
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "records.h"
#include "tlsrpt.h"

#define STRING_MAX	1024	/* tlsrpt.c: an escaped string kept */
#define ARRAY_MAX	4096	/* tlsrpt.c: a policy-string/mx-host array */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* WHAT is wrong with the record: a finding, the input kept as a crash. */
static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_tlsrpt: %s\n", what);
	abort();
}

/* S, if present, no longer than MAX; required if REQ. */
static void
check_string(const char *s, size_t max, int req, const char *what)
{
	if (s == NULL) {
		if (req)
			broken(what);
		return;
	}
	if (strlen(s) > max)
		broken(what);
}

static void
check_count(long long v, int absent_ok, const char *what)
{
	if ((v == -1 && absent_ok) || (v >= 0 && v <= TLSRPT_MAX_COUNT))
		return;
	broken(what);
}

static void
check_policy(const struct tlsrpt_policy *p)
{
	const struct tlsrpt_failure	*f;
	size_t				 k;

	check_string(p->policy_type, STRING_MAX, 1, "policy-type");
	check_string(p->policy_domain, STRING_MAX, 1, "policy-domain");
	check_string(p->policy_string, ARRAY_MAX, 0, "policy-string");
	check_string(p->mx_host, ARRAY_MAX, 0, "mx-host");
	check_count(p->successful, 0, "total-successful-session-count");
	check_count(p->failed, 0, "total-failure-session-count");
	if (p->nfailures > 0 && p->failures == NULL)
		broken("failures without their array");
	for (k = 0; k < p->nfailures; k++) {
		f = &p->failures[k];
		check_string(f->result_type, STRING_MAX, 1, "result-type");
		check_string(f->sending_mta_ip, STRING_MAX, 0,
		    "sending-mta-ip");
		check_string(f->receiving_mx_hostname, STRING_MAX, 0,
		    "receiving-mx-hostname");
		check_string(f->receiving_ip, STRING_MAX, 0, "receiving-ip");
		check_string(f->additional_information, STRING_MAX, 0,
		    "additional-information");
		check_string(f->failure_reason_code, STRING_MAX, 0,
		    "failure-reason-code");
		check_count(f->failed_sessions, 0, "failed-session-count");
	}
}

static void
check_record(const struct tlsrpt_rec *r)
{
	size_t	 i, nf = 0;

	if (!r->checked || r->status == NULL)
		broken("not checked");
	if (r->start < 0 || r->end < 0)
		broken("date-range in seconds negative");
	if (strcmp(r->status, "malformed") == 0) {
		if (r->error == NULL || r->npolicies != 0 ||
		    r->policies != NULL)
			broken("malformed with policies or without error");
		return;
	}
	if (strcmp(r->status, "ok") != 0)
		broken("status neither ok nor malformed");
	check_string(r->organization, STRING_MAX, 1, "organization-name");
	check_string(r->report_id, STRING_MAX, 1, "report-id");
	check_string(r->contact, STRING_MAX, 1, "contact-info");
	check_string(r->date_start, STRING_MAX, 1, "start-datetime");
	check_string(r->date_end, STRING_MAX, 1, "end-datetime");
	if (r->npolicies > TLSRPT_MAX_POLICIES)
		broken("more policies than kept");
	if (r->npolicies > 0 && r->policies == NULL)
		broken("policies without their array");
	for (i = 0; i < r->npolicies; i++) {
		check_policy(&r->policies[i]);
		nf += r->policies[i].nfailures;
	}
	if (nf > TLSRPT_MAX_FAILURES)
		broken("more failure details than kept");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_tlsrpt", 1, LOG_LVL_WARN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrpt_rec	 r;
	const char		*in;
	int			 rc;

	if (size == 0)
		return 0;
	in = (const char *)data + 1;
	if (data[0] % 2 == 0)
		rc = tlsrpt_parse_message(in, size - 1, &r);
	else
		rc = tlsrpt_parse_json(in, size - 1, &r);
	/* out of memory clears the record: nothing else to check */
	if (rc == 0)
		check_record(&r);
	records_tlsrpt_clear(&r);
	return 0;
}
