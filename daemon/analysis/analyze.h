/*
 * The analysis workers: accepted messages are analysed off the event loop
 * and the results handed to the store.  Submitted from the event loop.
 */
#ifndef MAILSCOPE_ANALYZE_H
#define MAILSCOPE_ANALYZE_H

#include "records.h"
#include "types.h"

struct analyzer;
struct store;

struct analyzer	*analyze_new(const struct config *, struct store *,
		    int nthreads);
/* Takes ownership of TXN (committed: its id is set). */
void		 analyze_submit(struct analyzer *, struct txn_rec *txn);
/*
 * Takes ownership of TXN, a stored report never parsed (store.h,
 * store_tlsrpt_unparsed()): only the report is parsed and stored.  When
 * the queue is full it is dropped: the next start finds it again.
 */
void		 analyze_submit_tlsrpt(struct analyzer *, struct txn_rec *txn);
/* Finishes what was submitted, stops the workers. */
void		 analyze_free(struct analyzer *);

#endif /* MAILSCOPE_ANALYZE_H */
