/*
 * The header analyzer: single-instance fields appearing more than once,
 * missing required and recommended fields (RFC 5322 3.6), envelope vs
 * header From domain, 8-bit data without BODY=8BITMIME (RFC 6152), the
 * number of Received fields.  Pure; worker threads.
 */
#ifndef MAILSCOPE_HEADERS_H
#define MAILSCOPE_HEADERS_H

#include <stddef.h>

#include "records.h"

/* Fills the header part of OUT from TXN.  0, or -1 out of memory. */
int	headers_analyze(const struct txn_rec *txn, struct analysis_rec *out);

/*
 * The domain of the first address in a From field's VALUE, lowercased,
 * into BUF.  0, or -1 when there is none.
 */
int	headers_address_domain(const char *value, size_t len, char *buf,
	    size_t buflen);

#endif /* MAILSCOPE_HEADERS_H */
