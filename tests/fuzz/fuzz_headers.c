/*
 * libFuzzer target of the header analyzer (daemon/analysis/headers.c)
 * over a message as the server stores it: bit 0 of an input's first byte
 * says whether 8BITMIME or SMTPUTF8 was declared, bit 1 that there was
 * no MAIL FROM, the second byte how many of the following bytes are the
 * MAIL FROM path, the rest is the message,
 * whose header section the chunk scan finds as for BDAT.  Beyond not
 * crashing: the counts fit the header section, domains are lowercase
 * and without white space or a delimiter, the escaped From and
 * Message-ID hold no control byte, whether the From domain matches the
 * envelope's is what the two domains say, and the 8-bit and long-line
 * findings are what a byte-by-byte count finds (RFC 5322 2.1.1: 998
 * characters; RFC 6152).  Built and run by tests/fuzz/run.
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "log.h"
#include "records.h"
#include "smtp_parse.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define LINE_MAX_CHARS	998	/* RFC 5322 2.1.1 */
#define DOMAIN_BUF	256	/* headers.c's buffer for a domain */

/* WHAT is broken: a finding, the input kept as a crash. */
static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_headers: %s\n", what);
	abort();
}

/*
 * A domain found: lowercase, without white space or a delimiter.  It may
 * be empty: a NUL byte in the field ends the copy (headers.c, strdup).
 */
static void
check_domain(const char *d, const char *what)
{
	size_t n;

	if (d == NULL)
		return;
	n = strlen(d);
	/* a domain is never empty: a NUL in it makes none (test_headers) */
	if (n == 0 || n >= DOMAIN_BUF ||
	    strpbrk(d, " \t\r\n(;>ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
		broken(what);
}

/* Escaped text (log_escape): printable ASCII only. */
static void
check_escaped(const char *s, const char *what)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			broken(what);
}

/* A finding named WHAT, or NULL. */
static const struct header_finding *
finding(const struct analysis_rec *a, const char *what)
{
	size_t i;

	for (i = 0; i < a->nfindings; i++)
		if (strcmp(a->findings[i].finding, what) == 0)
			return &a->findings[i];
	return NULL;
}

static void
check(const struct txn_rec *txn, const struct analysis_rec *a)
{
	const struct header_finding *f;
	size_t i, len = 0, lines = 1;
	unsigned long_lines = 0;
	int eight = 0;

	for (i = 0; i < txn->headers_len; i++)
		if (txn->headers[i] == '\n')
			lines++;
	if (a->header_count > lines || a->received_count > a->header_count)
		broken("more fields than lines");
	check_domain(a->from_domain, "From domain");
	check_domain(a->envelope_domain, "envelope domain");
	if (txn->mail_from == NULL && a->envelope_domain != NULL)
		broken("envelope domain without MAIL FROM");
	if (a->from_matches_envelope != (a->from_domain == NULL ||
	    a->envelope_domain == NULL ? -1 :
	    strcmp(a->from_domain, a->envelope_domain) == 0))
		broken("from_matches_envelope");
	check_escaped(a->header_from, "From not escaped");
	check_escaped(a->message_id, "Message-ID not escaped");

	/* lines ended by LF, the CR before it not counted */
	for (i = 0; i < txn->message_len; i++) {
		if ((unsigned char)txn->message[i] >= 0x80)
			eight = 1;
		if (txn->message[i] != '\n') {
			len++;
			continue;
		}
		if (len - (i > 0 && txn->message[i - 1] == '\r') >
		    LINE_MAX_CHARS)
			long_lines++;
		len = 0;
	}
	if (a->eight_bit != eight || a->body_8bitmime != txn->declared_8bit)
		broken("8-bit");
	f = finding(a, "8bit_undeclared");
	if ((f != NULL) != (eight && !txn->declared_8bit))
		broken("8bit_undeclared");
	f = finding(a, "long_line");
	if ((f != NULL ? f->count : 0) != long_lines)
		broken("long_line count");
	for (i = 0; i < a->nfindings; i++) {
		f = &a->findings[i];
		if (f->field != NULL && strpbrk(f->field,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ :") != NULL)
			broken("finding's field name");
		if (strcmp(f->finding, "dup") == 0 && f->count < 2)
			broken("dup of fewer than two");
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_headers", 1, LOG_LVL_WARN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_scan sc;
	struct txn_rec txn;
	struct analysis_rec *a;
	size_t flen;
	int trim, flags;

	if (size < 2)
		return 0;
	memset(&txn, 0, sizeof(txn));
	flags = data[0];
	txn.declared_8bit = flags & 1;
	flen = data[1] <= size - 2 ? data[1] : size - 2;
	data += 2;
	size -= 2;
	/* without MAIL FROM (a bounce's is "", <>) when bit 1 is set */
	if ((flags & 2) == 0 &&
	    (txn.mail_from = strndup((const char *)data, flen)) == NULL)
		return 0;
	data += flen;
	size -= flen;
	/* the message as smtp.c keeps it: NUL-terminated */
	if ((txn.message = malloc(size + 1)) == NULL)
		goto out;
	memcpy(txn.message, data, size);
	txn.message[size] = '\0';
	txn.message_len = size;
	memset(&sc, 0, sizeof(sc));
	txn.headers = txn.message;
	txn.headers_len = smtp_parse_scan(&sc, txn.message, size, 1000, &trim);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto out;
	if (headers_analyze(&txn, a) == 0)
		check(&txn, a);
	records_analysis_free(a);
 out:
	free(txn.mail_from);
	free(txn.message);
	return 0;
}
