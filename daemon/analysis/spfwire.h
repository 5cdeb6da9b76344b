/*
 * The messages between an analysis worker (spfclient.c) and its SPF
 * evaluator process (spfproc.c) over their socketpair: one request, one
 * reply, each a length-prefixed frame whose every field is bounded.  The
 * worker trusts nothing the evaluator sends: a reply that is not exactly
 * well-formed is refused whole.
 */
#ifndef MAILSCOPE_SPFWIRE_H
#define MAILSCOPE_SPFWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "spf.h"

/* A string of a request: a HELO line or a path (RFC 5321 4.5.3.1). */
#define SPFWIRE_ARG_MAX		1024
/* A string of a reply: SPF_STORED_MAX bytes escaped (\xNN each at most). */
#define SPFWIRE_TEXT_MAX	(4 * SPF_STORED_MAX)
/* A frame's body: a reply's four strings and its numbers. */
#define SPFWIRE_FRAME_MAX	(4 * (SPFWIRE_TEXT_MAX + 4) + 64)
/* time_left_ms of a request without a deadline. */
#define SPFWIRE_NO_DEADLINE	UINT32_MAX

/* A request as read; owns its strings: spfwire_request_clear(). */
struct spfwire_request {
	enum spf_identity	 id;
	uint32_t		 time_left_ms;	/* SPFWIRE_NO_DEADLINE */
	char			*client_addr;
	char			*helo;		/* NULL: none */
	char			*mail_from;	/* NULL: none */
};

enum spfwire_read {
	SPFWIRE_OK,
	SPFWIRE_EOF,		/* the peer closed, or a read error */
	SPFWIRE_TIMEOUT,	/* nothing whole before the wait's end */
	SPFWIRE_MALFORMED	/* a length over the bounds */
};

/*
 * One frame from FD into *BODY (the caller's: free) and *LEN, waiting at
 * most WAIT_MS milliseconds in all (-1: no bound).
 */
enum spfwire_read spfwire_read_frame(int fd, int wait_ms, uint8_t **body,
		    size_t *len);

/* Sends a request, or a reply, whole.  0, or -1 (errno). */
int		 spfwire_send_request(int fd, enum spf_identity,
		    uint32_t time_left_ms, const char *client_addr,
		    const char *helo, const char *mail_from);
/* RC: spf_check()'s; OUT its record. */
int		 spfwire_send_reply(int fd, int rc, const struct spf_rec *out);

/* A frame's body as a request, or a reply.  0, or -1 when malformed. */
int		 spfwire_decode_request(const uint8_t *body, size_t len,
		    struct spfwire_request *req);
void		 spfwire_request_clear(struct spfwire_request *);
/*
 * OUT (the caller's: records_spf_clear(), also after -1) and *RC from a
 * reply, whose strings must be printable ASCII as text_escaped() makes
 * them and whose result one of RFC 7208 2.6.
 */
int		 spfwire_decode_reply(const uint8_t *body, size_t len, int *rc,
		    struct spf_rec *out);

#endif /* MAILSCOPE_SPFWIRE_H */
