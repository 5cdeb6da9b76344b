/*
 * Greylisting of the grey host: (MAIL FROM, RCPT) entries in memory,
 * loaded from and written back to the store.  Event loop thread.
 */
#ifndef MAILSCOPE_GREYLIST_H
#define MAILSCOPE_GREYLIST_H

#include <stdint.h>

#include "records.h"

struct greylist;

enum grey_verdict {
	GREY_NEW,	/* first attempt: deferred */
	GREY_EARLY,	/* a retry before the delay: deferred */
	GREY_PASS,	/* the first retry after the delay: accepted */
	GREY_KNOWN,	/* passed before: accepted */
	GREY_FULL	/* no room, none passed to forget: deferred, not stored */
};

/* A table of MAX_ENTRIES at most; NULL out of memory or without entropy. */
struct greylist	*greylist_new(uint64_t expire_ms, unsigned max_entries);
void		 greylist_free(struct greylist *);

/* Adds an entry read from the store (copied); expired ones are dropped. */
void		 greylist_load(struct greylist *, const struct grey_entry *,
		    double now);

/*
 * Looks up (FROM, RCPT) at NOW and counts the attempt.  The entry as it
 * is afterwards is in *ENTRY (borrowed until the next call), for the store.
 */
enum grey_verdict greylist_check(struct greylist *, const char *from,
		    const char *rcpt, const char *test_id, double now,
		    uint64_t delay_ms, const struct grey_entry **entry);

#endif /* MAILSCOPE_GREYLIST_H */
