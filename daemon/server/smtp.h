/*
 * The SMTP server: sessions of every host profile (RFC 5321, RFC 3207
 * STARTTLS, RFC 2920 pipelining, RFC 1870 SIZE, RFC 2034), their limits,
 * and the orderly shutdown.  Event loop thread only.
 */
#ifndef MAILSCOPE_SMTP_H
#define MAILSCOPE_SMTP_H

#include <sys/socket.h>

#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "records.h"
#include "types.h"

struct analyzer;
struct event_base;
struct smtp_server;
struct store;

#define SMTP_CANDIDATES_MAX	1024	/* "a,b,c": a host's challenges */

/* What a listener hands to each connection it accepts.  Borrowed. */
struct smtp_listen {
	const struct host_conf	*host;
	SSL_CTX			*tls;		/* NULL when starttls=off */
	char			 local[64];	/* the listen address text */
	const char		*challenge;	/* static: whose own address;
						   NULL: a shared one */
	char			 candidates[SMTP_CANDIDATES_MAX];
						/* the possible challenges */
};

struct smtp_server *smtp_server_new(struct event_base *,
		    const struct config *);
/*
 * The store, opened after the privilege drop; connection ids continue
 * after LAST_ID; the greylist is loaded from it.  Before the event loop
 * runs.  0, or -1.
 */
int		 smtp_server_set_store(struct smtp_server *, struct store *,
		    struct analyzer *, int64_t last_id);
void		 smtp_server_free(struct smtp_server *);

/* A new connection on FD (owned from now on). */
void		 smtp_accept(struct smtp_server *, const struct smtp_listen *,
		    evutil_socket_t fd, const struct sockaddr *, socklen_t);

/* The store's report that a transaction is durable (store_done_cb). */
void		 smtp_store_done(int64_t conn_id, int ok, struct txn_rec *txn,
		    void *arg);

/*
 * Graceful stop: sessions may finish; after the configured grace the
 * rest get 421 4.3.2.  DONE(ARG) runs once no session is left.
 */
void		 smtp_server_shutdown(struct smtp_server *,
		    void (*done)(void *), void *arg);

#endif /* MAILSCOPE_SMTP_H */
