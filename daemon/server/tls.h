/*
 * TLS for the SMTP server: one SSL_CTX per host profile, the STARTTLS
 * session, and the evidence of every handshake (ClientHello as offered,
 * what was negotiated, alerts and failures) into a tls_rec.
 */
#ifndef MAILSCOPE_TLS_H
#define MAILSCOPE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "records.h"
#include "types.h"

/* The context of HOST (protocols, ciphers, certificates).  NULL + ERR. */
SSL_CTX	*tls_ctx_new(const struct host_conf *host, char *err, size_t errlen);
void	 tls_ctx_free(SSL_CTX *);
/*
 * SIGHUP: a new context of HOST from its files replaces *CTX, for the
 * handshakes to come (an SSL keeps a reference to the context it was
 * made from).  When the files fail, *CTX stays and the reason is
 * logged.  0, or -1: kept.
 */
int	 tls_ctx_reload(SSL_CTX **ctx, const struct host_conf *host);

/* A server SSL that records into REC (borrowed; see tls_ssl_detach). */
SSL	*tls_ssl_new(SSL_CTX *, struct tls_rec *rec);
/* Stops recording into the tls_rec (before the record is freed). */
void	 tls_ssl_detach(SSL *);

/* After a completed handshake: version, cipher, group, SNI, resumption. */
void	 tls_record_established(SSL *, struct tls_rec *);
/*
 * After a failure: OpenSSL's reasons (ERRCODE, then the ERR queue) into
 * REC, else FALLBACK (e.g. the socket error).
 */
void	 tls_record_failure(struct tls_rec *, unsigned long errcode,
	    const char *fallback);

#endif /* MAILSCOPE_TLS_H */
