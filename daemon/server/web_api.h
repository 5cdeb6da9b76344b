/*
 * The JSON bodies of the web API that are not the report itself
 * (docs/api.md): a created test and the events of a test.  Pure over
 * their input; run on the web's worker thread.
 */
#ifndef MAILSCOPE_WEB_API_H
#define MAILSCOPE_WEB_API_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct rp_input;

#define WEB_API_EVENTS_MAX	500	/* events in one answer */

/*
 * {"id", "addresses": {challenge: address}, "report", "api"} of test ID:
 * what `mailscope new-test --json` prints, and the two links.  A string
 * of *LEN bytes (malloc'd, NUL-terminated), or NULL out of memory.
 */
char	*web_api_created(const struct config *, const char *id, size_t *len);

/*
 * {"events": [...], "next": CURSOR, "reset": bool} of IN after the
 * cursor SINCE (0: from the first event).  NULL out of memory.
 */
char	*web_api_events(const struct rp_input *in, uint64_t since,
	    size_t *len);

#endif /* MAILSCOPE_WEB_API_H */
