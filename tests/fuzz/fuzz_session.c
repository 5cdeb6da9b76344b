/*
 * libFuzzer target of whole SMTP sessions: the daemon's own server
 * (smtp.c with its limits, quotas, greylist and test lookups), its store
 * (SQLite in a directory of /dev/shm, else /tmp; the writer thread,
 * group commit)
 * and an analysis worker (resolver off), fed through one end of an
 * AF_UNIX socketpair: bytes in, replies out, no network.  The first byte
 * of an input picks the host (open, plain, grey) and the client address
 * (one of 64), the second the size of
 * the slices the rest is written in (at most 256 of them); the event loop
 * runs between slices,
 * then the client's end is closed and the loop runs until the session
 * has closed its end.  Beyond not crashing (ASan, UBSan, smtp.c's
 * asserts): every reply line is a code, a separator and text ending in
 * CRLF within RFC 5321's 512 octets, and a session never outlives its
 * client by more than the store's round trip.  One test exists,
 * aaaaaaaaaaaaaaaaaaaaaaaaaa (smtp.dict has its addresses), so that RCPT
 * and DATA get past the test lookup.  Built and run by tests/fuzz/run.
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "analyze.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "smtp.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TEST_ID		"aaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REPLY_MAX	512	/* RFC 5321 4.5.3.1.5, CRLF included */
#define WAIT_MS		5000	/* for the session to close its end */
#define SLICES_MAX	256

static const char *const hosts[] = { "open", "plain", "grey" };
#define NHOSTS	(sizeof(hosts) / sizeof(hosts[0]))

/* What LLVMFuzzerTestOneInput() needs, made once. */
static struct {
	struct event_base	*base;
	struct config		*cfg;
	struct store		*store;
	struct analyzer		*an;
	struct smtp_server	*srv;
	struct smtp_listen	 lis[NHOSTS];
	char			 dir[64];
	char			 db[128];
} f;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_session: %s\n", what);
	abort();
}

static void
write_config(const char *path)
{
	FILE *fp;
	size_t i;

	if ((fp = fopen(path, "w")) == NULL)
		die("cannot write the config");
	fprintf(fp, "[global]\nbase_domain = measure.test\n"
	    "hostname = mx.measure.test\ndatabase = %s\nresolver = off\n"
	    "max_message_size = 64k\nmax_message_memory = 1M\n"
	    "max_errors = 50\nmax_commands = 200\n"
	    /*
	     * one test, a few addresses, hundreds of sessions a second:
	     * their quotas would refuse nearly every input at once
	     */
	    "max_test_transactions = 4000000000\n"
	    "max_client_transactions = 4000000000\n"
	    "max_connection_rate = 4000000000\n", f.db);
	for (i = 0; i < NHOSTS; i++)
		fprintf(fp, "[host %s]\nlisten = 127.0.0.1:%zu\n"
		    "starttls = off\n%s", hosts[i], 2525 + i,
		    strcmp(hosts[i], "grey") == 0 ? "greylist_delay = 0\n" :
		    "");
	if (fclose(fp) != 0)
		die("cannot write the config");
}

/* At exit: the directory and its files go (open ones live until then). */
static void
cleanup(void)
{
	static const char *const files[] = { "mailscope.conf",
	    "mailscope.db", "mailscope.db-wal", "mailscope.db-shm" };
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", f.dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(f.dir);
}

static void
setup(void)
{
	char path[160], err[512];
	int64_t last;
	size_t i;

	log_init("fuzz_session", 1, LOG_LVL_WARN);
	if (evthread_use_pthreads() == -1 || (f.base = event_base_new()) ==
	    NULL)
		die("no event base");
	/* memory if there is /dev/shm (a chroot may lack it), else /tmp */
	(void)snprintf(f.dir, sizeof(f.dir), "%s/fuzz_session.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(f.dir) == NULL)
		die("mkdtemp");
	(void)atexit(cleanup);
	(void)snprintf(f.db, sizeof(f.db), "%s/mailscope.db", f.dir);
	(void)snprintf(path, sizeof(path), "%s/mailscope.conf", f.dir);
	write_config(path);
	if ((f.cfg = config_load(path, stderr)) == NULL)
		die("config");
	if ((f.store = store_open(f.db, err, sizeof(err))) == NULL)
		die(err);
	store_set_config(f.store, f.cfg);
	if (store_test_create(f.store, TEST_ID, clock_now()) == -1 ||
	    (last = store_last_connection_id(f.store)) == -1)
		die("store");
	if ((f.srv = smtp_server_new(f.base, f.cfg)) == NULL ||
	    (f.an = analyze_new(f.cfg, f.store, 1)) == NULL ||
	    smtp_server_set_store(f.srv, f.store, f.an, last) == -1 ||
	    store_writer_start(f.store, f.base, smtp_store_done, f.srv) == -1)
		die("server");
	for (i = 0; i < NHOSTS; i++) {
		f.lis[i].host = &f.cfg->hosts[i];
		(void)snprintf(f.lis[i].local, sizeof(f.lis[i].local),
		    "127.0.0.1:%zu", 2525 + i);
		(void)snprintf(f.lis[i].candidates,
		    sizeof(f.lis[i].candidates), "%s",
		    strcmp(hosts[i], "grey") == 0 ? "grey-v4" : "v4");
	}
}

/* Checks the complete reply lines at the start of BUF; keeps the rest. */
static void
check_replies(char *buf, size_t *len)
{
	char *p = buf, *nl;
	size_t n;

	while ((nl = memchr(p, '\n', *len - (size_t)(p - buf))) != NULL) {
		n = (size_t)(nl - p) + 1;
		if (n > REPLY_MAX || n < 6 || p[n - 2] != '\r' ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
			die("malformed reply line");
		p += n;
	}
	n = *len - (size_t)(p - buf);
	if (n > REPLY_MAX)
		die("reply line without its end");
	memmove(buf, p, n);
	*len = n;
}

/*
 * Reads what the session sent: -1 once it has closed its end.  Replies
 * may come in any slices; each line is checked once it is complete.
 */
static int
drain(int fd, char *buf, size_t *len, size_t cap)
{
	ssize_t r;

	for (;;) {
		r = read(fd, buf + *len, cap - *len);
		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		*len += (size_t)r;
		check_replies(buf, len);
	}
}

/* One loop pass that waits at most MS for an event. */
static void
loop_once(int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	(void)event_base_loopexit(f.base, &tv);
	(void)event_base_loop(f.base, EVLOOP_ONCE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	char out[4 * REPLY_MAX];
	size_t len = 0, slice, off, n;
	int sv[2], waited;

	if (f.base == NULL)
		setup();
	if (size < 2)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		die("socketpair");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	/* 127.0.N.1: 64 client networks, for attribution by address */
	sin.sin_addr.s_addr = htonl(0x7f000001 | (uint32_t)(data[0] >> 2) << 8);
	smtp_accept(f.srv, &f.lis[data[0] % NHOSTS], sv[0],
	    (struct sockaddr *)&sin, sizeof(sin));
	/* at most SLICES_MAX passes of the loop: an input costs its size */
	slice = 1 + data[1] % 128;
	if ((size - 2) / slice > SLICES_MAX)
		slice = (size - 2) / SLICES_MAX + 1;
	for (off = 2; off < size; off += n) {
		n = size - off < slice ? size - off : slice;
		/* a full socket buffer: the session reads in the loop */
		while (send(sv[1], data + off, n, MSG_NOSIGNAL) == -1) {
			if (errno != EAGAIN)
				break;
			loop_once(1);
			if (drain(sv[1], out, &len, sizeof(out)) == -1)
				break;
		}
		loop_once(0);
		if (drain(sv[1], out, &len, sizeof(out)) == -1)
			break;
	}
	(void)shutdown(sv[1], SHUT_WR);
	for (waited = 0; drain(sv[1], out, &len, sizeof(out)) == 0; waited++) {
		if (waited > WAIT_MS)
			die("the session outlived its client by 5 s");
		loop_once(1);
	}
	close(sv[1]);
	return 0;
}
