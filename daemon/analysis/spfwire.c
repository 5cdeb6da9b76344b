/*
 * The frames between an analysis worker and its SPF evaluator process:
 * a 4-byte length (network order), then the body.  Numbers are in network
 * order; a string is its 4-byte length (UINT32_MAX: NULL), then its bytes.
 * Called on the analysis worker threads and in the evaluator process.
 */
#include "build.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spfwire.h"

#define NULL_STR	UINT32_MAX

/* RFC 7208 2.6: the results as stored; a reply carries the index. */
static const char *const results[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror",
	"permerror",
};
#define NRESULTS	(sizeof(results) / sizeof(results[0]))

/* A frame being built; owns buf. */
struct out {
	uint8_t	*buf;
	size_t	 len;
	size_t	 size;
	int	 failed;	/* out of memory */
};

/* Where a frame is read; borrows the body. */
struct in {
	const uint8_t	*p;
	size_t		 left;
};

static void
put(struct out *o, const void *data, size_t n)
{
	uint8_t *b;
	size_t size;

	if (o->failed)
		return;
	if (o->len + n > o->size) {
		size = o->len + n + 256;
		if (size < o->size * 2)
			size = o->size * 2;
		if ((b = realloc(o->buf, size)) == NULL) {
			o->failed = 1;
			return;
		}
		o->buf = b;
		o->size = size;
	}
	memcpy(o->buf + o->len, data, n);
	o->len += n;
}

static void
put_u32(struct out *o, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(o, b, sizeof(b));
}

static void
put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

/* S cut to MAX bytes; NULL stays NULL. */
static void
put_str(struct out *o, const char *s, size_t max)
{
	size_t n;

	if (s == NULL) {
		put_u32(o, NULL_STR);
		return;
	}
	if ((n = strlen(s)) > max)
		n = max;
	put_u32(o, (uint32_t)n);
	put(o, s, n);
}

static int
get(struct in *in, void *dst, size_t n)
{
	if (in->left < n)
		return -1;
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return 0;
}

static int
get_u32(struct in *in, uint32_t *v)
{
	uint8_t b[4];

	if (get(in, b, sizeof(b)) == -1)
		return -1;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	return 0;
}

static int
get_u8(struct in *in, uint8_t *v)
{
	return get(in, v, 1);
}

/*
 * A string of at most MAX bytes into *S (NULL for NULL), without a NUL;
 * with PRINTABLE, of printable ASCII only.  0, or -1: malformed, or out
 * of memory.
 */
static int
get_str(struct in *in, char **s, size_t max, int printable)
{
	uint32_t n, i;

	*s = NULL;
	if (get_u32(in, &n) == -1)
		return -1;
	if (n == NULL_STR)
		return 0;
	if (n > max || n > in->left)
		return -1;
	for (i = 0; i < n; i++)
		if (in->p[i] == '\0' || (printable &&
		    (in->p[i] < 0x20 || in->p[i] > 0x7e)))
			return -1;
	if ((*s = malloc((size_t)n + 1)) == NULL)
		return -1;
	memcpy(*s, in->p, n);
	(*s)[n] = '\0';
	in->p += n;
	in->left -= n;
	return 0;
}

/* Writes the frame of O whole; frees it.  0, or -1 (errno). */
static int
send_frame(int fd, struct out *o)
{
	uint8_t hdr[4];
	size_t off = 0, body = o->len - sizeof(hdr);
	ssize_t n;
	int rc = 0;

	if (o->failed) {
		free(o->buf);
		errno = ENOMEM;
		return -1;
	}
	hdr[0] = (uint8_t)(body >> 24);
	hdr[1] = (uint8_t)(body >> 16);
	hdr[2] = (uint8_t)(body >> 8);
	hdr[3] = (uint8_t)body;
	memcpy(o->buf, hdr, sizeof(hdr));
	while (off < o->len) {
		/* the peer gone is an error, never a SIGPIPE */
		n = send(fd, o->buf + off, o->len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	free(o->buf);
	return rc;
}

int
spfwire_send_request(int fd, enum spf_identity id, uint32_t time_left_ms,
    const char *client_addr, const char *helo, const char *mail_from)
{
	struct out o = { NULL, 0, 0, 0 };

	put_u32(&o, 0);		/* the length, by send_frame() */
	put_u8(&o, id == SPF_HELO);
	put_u32(&o, time_left_ms);
	put_str(&o, client_addr, SPFWIRE_ARG_MAX);
	put_str(&o, helo, SPFWIRE_ARG_MAX);
	put_str(&o, mail_from, SPFWIRE_ARG_MAX);
	return send_frame(fd, &o);
}

int
spfwire_send_reply(int fd, int rc, const struct spf_rec *r)
{
	struct out o = { NULL, 0, 0, 0 };
	uint8_t result = 0;
	size_t i;

	for (i = 0; r->result != NULL && i < NRESULTS; i++)
		if (strcmp(r->result, results[i]) == 0)
			result = (uint8_t)i;
	put_u32(&o, 0);
	put_u8(&o, rc == -1);
	put_u8(&o, r->checked != 0);
	put_u8(&o, result);
	put_u32(&o, r->dns_lookups);
	put_u32(&o, r->void_lookups);
	put_str(&o, r->domain, SPFWIRE_TEXT_MAX);
	put_str(&o, r->explanation, SPFWIRE_TEXT_MAX);
	put_str(&o, r->record, SPFWIRE_TEXT_MAX);
	put_str(&o, r->error, SPFWIRE_TEXT_MAX);
	return send_frame(fd, &o);
}

int
spfwire_decode_request(const uint8_t *body, size_t len,
    struct spfwire_request *req)
{
	struct in in = { body, len };
	uint8_t id;

	memset(req, 0, sizeof(*req));
	if (get_u8(&in, &id) == -1 || id > 1 ||
	    get_u32(&in, &req->time_left_ms) == -1 ||
	    get_str(&in, &req->client_addr, SPFWIRE_ARG_MAX, 0) == -1 ||
	    req->client_addr == NULL ||
	    get_str(&in, &req->helo, SPFWIRE_ARG_MAX, 0) == -1 ||
	    get_str(&in, &req->mail_from, SPFWIRE_ARG_MAX, 0) == -1 ||
	    in.left != 0) {
		spfwire_request_clear(req);
		return -1;
	}
	req->id = id ? SPF_HELO : SPF_MAILFROM;
	return 0;
}

void
spfwire_request_clear(struct spfwire_request *req)
{
	free(req->client_addr);
	free(req->helo);
	free(req->mail_from);
	memset(req, 0, sizeof(*req));
}

int
spfwire_decode_reply(const uint8_t *body, size_t len, int *rc,
    struct spf_rec *out)
{
	struct in in = { body, len };
	uint8_t oom, checked, result;

	memset(out, 0, sizeof(*out));
	if (get_u8(&in, &oom) == -1 || oom > 1 ||
	    get_u8(&in, &checked) == -1 || checked > 1 ||
	    get_u8(&in, &result) == -1 || result >= NRESULTS ||
	    get_u32(&in, &out->dns_lookups) == -1 ||
	    get_u32(&in, &out->void_lookups) == -1 ||
	    get_str(&in, &out->domain, SPFWIRE_TEXT_MAX, 1) == -1 ||
	    get_str(&in, &out->explanation, SPFWIRE_TEXT_MAX, 1) == -1 ||
	    get_str(&in, &out->record, SPFWIRE_TEXT_MAX, 1) == -1 ||
	    get_str(&in, &out->error, SPFWIRE_TEXT_MAX, 1) == -1 ||
	    in.left != 0)
		return -1;
	/* RFC 7208 4.6.4: the evaluator stops past these; more is a lie */
	if (out->dns_lookups > SPF_MAX_TERMS + 1 ||
	    out->void_lookups > SPF_MAX_TERMS + 1)
		return -1;
	*rc = oom ? -1 : 0;
	out->checked = checked;
	out->result = results[result];
	return 0;
}

/* Milliseconds of a clock the wall clock's steps do not move. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* N bytes into BUF by END (-1: none). */
static enum spfwire_read
read_full(int fd, int64_t end, uint8_t *buf, size_t n)
{
	struct pollfd pfd;
	int64_t left;
	size_t off = 0;
	ssize_t r;
	int p;

	while (off < n) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		left = end == -1 ? -1 : end - mono_ms();
		if (end != -1 && left <= 0)
			return SPFWIRE_TIMEOUT;
		p = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (p == -1 && errno == EINTR)
			continue;
		if (p == -1)
			return SPFWIRE_EOF;
		if (p == 0)
			continue;	/* the loop's top ends it */
		r = read(fd, buf + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return SPFWIRE_EOF;
		off += (size_t)r;
	}
	return SPFWIRE_OK;
}

enum spfwire_read
spfwire_read_frame(int fd, int wait_ms, uint8_t **body, size_t *len)
{
	int64_t end = wait_ms < 0 ? -1 : mono_ms() + wait_ms;
	enum spfwire_read r;
	uint8_t hdr[4];
	uint32_t n;

	*body = NULL;
	*len = 0;
	if ((r = read_full(fd, end, hdr, sizeof(hdr))) != SPFWIRE_OK)
		return r;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > SPFWIRE_FRAME_MAX)
		return SPFWIRE_MALFORMED;
	if ((*body = malloc(n)) == NULL)
		return SPFWIRE_EOF;
	if ((r = read_full(fd, end, *body, n)) != SPFWIRE_OK) {
		free(*body);
		*body = NULL;
		return r;
	}
	*len = n;
	return SPFWIRE_OK;
}
