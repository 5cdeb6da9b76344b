/*
 * Certificates for labs and demos: a test CA, for every host a valid
 * certificate covering the names it serves (RSA-2048 and ECDSA P-256),
 * the tls-bad certificate (expired, for an unrelated name), and the web
 * certificate for every mta-sts.<challenge>.<base> name.
 */
#ifndef MAILSCOPE_CERTS_H
#define MAILSCOPE_CERTS_H

#include <stdio.h>

/*
 * HOSTNAME (the config's hostname, the name of the greeting; NULL for
 * none) is on every valid host certificate as well.
 * Writes into DIR (created 0700 if missing): ca.pem ca.key, and for each
 * catalogue host H with TLS: H.rsa.pem H.rsa.key H.ecdsa.pem H.ecdsa.key,
 * and web.rsa.pem/.key, web.ecdsa.pem/.key.  Certificate files hold the
 * leaf then the CA (0644).  Keys are 0600.  Existing keys are reused
 * unless FORCE.  Errors go to ERRS; returns 0 or -1.
 */
int	certs_generate(const char *base_domain, const char *hostname,
	    const char *dir, int force, FILE *errs);

#endif /* MAILSCOPE_CERTS_H */
