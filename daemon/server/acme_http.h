/*
 * ACME HTTP-01 (RFC 8555 8.3) on both listeners of [web]: a request for
 * /.well-known/acme-challenge/TOKEN is answered with the file
 * [web] acme_dir/TOKEN, for any Host.  Event loop thread.
 */
#ifndef MAILSCOPE_ACME_HTTP_H
#define MAILSCOPE_ACME_HTTP_H

#include <stddef.h>

#include "types.h"

struct evhttp_request;

#define ACME_HTTP_PREFIX	"/.well-known/acme-challenge/"
#define ACME_HTTP_TOKEN_MAX	128	/* bytes; Let's Encrypt's are 43 */
#define ACME_HTTP_FILE_MAX	1024	/* a key authorization is ~87 */

/*
 * Whether TOKEN (LEN bytes) may name a file of acme_dir: 1 to
 * ACME_HTTP_TOKEN_MAX characters of the base64url alphabet (RFC 8555
 * 8.1, RFC 4648 5), so no '/', '.', '%' and no empty name.
 */
int	acme_http_token_valid(const char *token, size_t len);

/*
 * Answers REQ if CFG serves ACME files and its path starts with
 * ACME_HTTP_PREFIX: 200 with the file, 404 (no such file or a bad
 * token), 405 for methods other than GET and HEAD; one log line naming
 * CLIENT (the peer's address, for the log only).  Returns the status
 * sent, or 0 when REQ is no ACME request (nothing sent).
 */
int	acme_http_request(const struct config *cfg, struct evhttp_request *req,
	    const char *client);

#endif /* MAILSCOPE_ACME_HTTP_H */
