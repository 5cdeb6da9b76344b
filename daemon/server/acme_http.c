/*
 * ACME HTTP-01 (RFC 8555 8.3): the files an ACME client (certbot
 * --webroot) writes into [web] acme_dir, served by both web listeners
 * for any Host.  Event loop thread: each answer reads one small local
 * file (at most ACME_HTTP_FILE_MAX bytes), as a static file server does.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acme_http.h"
#include "log.h"

#define PATH_LOG_MAX	256

/*
 * The key authorization of TOKEN into BUF (LEN bytes): 0 and *N, or -1
 * when it is not there (missing, not a regular file, too big, unreadable:
 * logged but for a missing file).
 */
static int
read_token(const char *dir, const char *token, char *buf, size_t len,
    size_t *n)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t r = 0;
	size_t got = 0;
	int fd, rc = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, token) >=
	    (int)sizeof(path))
		return -1;
	/* O_NONBLOCK: a FIFO put there must not stop the event loop */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		if (errno != ENOENT)
			log_warn("acme: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)len) {
		log_warn("acme: %s: not a regular file of at most %zu bytes",
		    path, len);
		close(fd);
		return -1;
	}
	/* the file may grow meanwhile: never more than LEN */
	while (got < len && (r = read(fd, buf + got, len - got)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("acme: %s: %s", path, strerror(errno));
			break;
		}
		got += (size_t)r;
	}
	if (got == len || r == 0) {
		*n = got;
		rc = 0;
	}
	close(fd);
	return rc;
}

int
acme_http_token_valid(const char *token, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > ACME_HTTP_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = token[i];
		/* RFC 4648 5: the URL and file name safe alphabet */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
acme_http_request(const struct config *cfg, struct evhttp_request *req,
    const char *client)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type type = evhttp_request_get_command(req);
	const char *path, *token, *reason = "OK", *ctype;
	const char *raw = evhttp_request_get_uri(req);
	char body[ACME_HTTP_FILE_MAX], num[32], lpath[PATH_LOG_MAX];
	size_t len = 0;
	int status = 200, head = type == EVHTTP_REQ_HEAD;

	if (cfg->web.acme_dir == NULL || uri == NULL ||
	    (path = evhttp_uri_get_path(uri)) == NULL ||
	    strncmp(path, ACME_HTTP_PREFIX, strlen(ACME_HTTP_PREFIX)) != 0)
		return 0;
	token = path + strlen(ACME_HTTP_PREFIX);
	ctype = "application/octet-stream";
	if (type != EVHTTP_REQ_GET && type != EVHTTP_REQ_HEAD) {
		status = 405;
		reason = "Method Not Allowed";
		/* RFC 9110 15.5.6: a 405 names the methods that are allowed */
		evhttp_add_header(out, "Allow", "GET, HEAD");
	} else if (evhttp_uri_get_query(uri) != NULL ||
	    evhttp_uri_get_fragment(uri) != NULL ||
	    !acme_http_token_valid(token, strlen(token)) ||
	    read_token(cfg->web.acme_dir, token, body, sizeof(body), &len) ==
	    -1)
		status = 404;	/* a token with '/', '.' or '%': never a file */
	if (status != 200) {
		if (status == 404)
			reason = "Not Found";
		len = (size_t)snprintf(body, sizeof(body), "%s\n", reason);
		ctype = "text/plain";
	}
	snprintf(num, sizeof(num), "%zu", len);
	evhttp_add_header(out, "Content-Type", ctype);
	/* RFC 9110 9.3.2: HEAD gets the length GET would have */
	evhttp_add_header(out, "Content-Length", num);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (!head)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	log_field(lpath, sizeof(lpath), raw != NULL ? raw : "",
	    raw != NULL ? strlen(raw) : 0);
	log_info("acme: %s %s status=%d bytes=%zu from %s",
	    head ? "HEAD" : type == EVHTTP_REQ_GET ? "GET" : "other", lpath,
	    status, head ? 0 : len, client);
	evhttp_send_reply(req, status, reason, NULL);
	return status;
}
