/*
 * Logging: one line per event, to stderr in the foreground, a file
 * (log_file), else syslog.  Called from every thread; one write(2) or
 * syslog(3) per line keeps lines whole.  fatalx() on a thread other than
 * the daemon's main one ends that thread alone.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The only mutable globals besides signal flags (STYLE.md). */
static int	 log_foreground = 1;
static int	 log_verbosity = LOG_LVL_INFO;
static const char *log_progname;	/* borrowed from log_init's caller */
/*
 * The log file: its descriptor (replaced in place by dup2() on reopen,
 * so that the other threads never see it closed), its path (owned), and
 * whether stderr follows it (log_file_stderr).  -1: no file.
 */
static int	 log_fd = -1;
static char	*log_path;
static int	 log_fd_stderr;
/* Start-up: warnings go to stderr too, whatever the destination. */
static int	 log_echo;
/* Set on the main thread before the others start (log_set_fatal_hook). */
static void	(*fatal_hook)(void *);
static void	*fatal_arg;
static pthread_t fatal_main;

void
log_init(const char *progname, int foreground, int verbosity)
{
	log_foreground = foreground;
	log_verbosity = verbosity;
	log_progname = progname;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* PATH for appending, created 0640; the descriptor or -1 with ERR. */
static int
log_open_path(const char *path, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640)) == -1)
		(void)snprintf(err, errlen, "log file %s: %s", path,
		    strerror(errno));
	return fd;
}

int
log_file(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fd;

	if ((fd = log_open_path(path, err, errlen)) == -1)
		return -1;
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) {
		(void)snprintf(err, errlen, "log file %s: chown: %s", path,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	if ((log_path = strdup(path)) == NULL) {
		(void)snprintf(err, errlen, "log file %s: out of memory", path);
		(void)close(fd);
		return -1;
	}
	if (log_fd != -1)
		(void)close(log_fd);
	log_fd = fd;
	return 0;
}

int
log_file_stderr(void)
{
	if (log_fd == -1)
		return 0;
	if (dup2(log_fd, STDERR_FILENO) == -1)
		return -1;
	log_fd_stderr = 1;
	return 0;
}

void
log_set_echo(int on)
{
	log_echo = on;
}

void
log_settings(int *foreground, int *verbosity)
{
	/* with a log file, stderr follows it (log_file_stderr) */
	*foreground = log_foreground || log_fd != -1;
	*verbosity = log_verbosity;
}

void
log_set_fatal_hook(void (*hook)(void *), void *arg)
{
	fatal_hook = hook;
	fatal_arg = arg;
	fatal_main = pthread_self();
}

int
log_reopen(void)
{
	char err[512];
	int fd;

	if (log_fd != -1) {
		/*
		 * Rotation: the path renamed away, a new file there.  As the
		 * unprivileged user: its directory must be writable by it.
		 */
		if ((fd = log_open_path(log_path, err, sizeof(err))) == -1) {
			log_warn("%s: still writing to the old file", err);
			return -1;
		}
		if (dup2(fd, log_fd) == -1 || (log_fd_stderr &&
		    dup2(fd, STDERR_FILENO) == -1)) {
			log_warn("log file %s: dup2: %s", log_path,
			    strerror(errno));
			(void)close(fd);
			return -1;
		}
		(void)close(fd);
		return 0;
	}
	/* a new connection to syslogd (restarted, or its socket replaced) */
	if (log_foreground)
		return 0;
	closelog();
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
	return 0;
}

void
log_close(void)
{
	if (log_fd != -1)
		(void)close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
}

/*
 * A line of the log file: "2026-12-07T03:23:32.123Z mailscoped[42]:
 * TEXT" (UTC), written whole by one write(2) in append mode.
 */
static void
log_file_write(int fd, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t off;
	int n;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s[%ld]: ",
	    ts.tv_nsec / 1000000, log_progname != NULL ? log_progname : "-",
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line) - off)
		return;
	off += (size_t)n;
	n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - off - 2)
		n = (int)(sizeof(line) - off - 2);
	off += (size_t)n;
	line[off++] = '\n';
	/* nowhere to report a failed write of the log itself */
	if (write(fd, line, off) == -1)
		return;
}

static void
log_vwrite(int level, int prio, const char *fmt, va_list ap)
{
	va_list copy;

	if (level > log_verbosity)
		return;
	if (log_echo && level == LOG_LVL_WARN &&
	    (log_fd != -1 || !log_foreground)) {
		va_copy(copy, ap);
		(void)fprintf(stderr, "%s: ", log_progname);
		(void)vfprintf(stderr, fmt, copy);
		(void)fputc('\n', stderr);
		va_end(copy);
	}
	if (log_fd != -1)
		log_file_write(log_fd, fmt, ap);
	else if (log_foreground) {
		char line[2048];
		int n;

		/* one write per line: lines of several threads never mix */
		n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
		line[n] = '\n';
		(void)fwrite(line, 1, (size_t)n + 1, stderr);
	} else
		vsyslog(prio, fmt, ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, LOG_CRIT, fmt, ap);
	va_end(ap);
	/*
	 * exit() here would run the atexit handlers and free what the other
	 * threads still use (the database, the event base) under them.
	 */
	if (fatal_hook != NULL && !pthread_equal(pthread_self(), fatal_main)) {
		log_warn("fatal error on a thread: it ends, the process "
		    "shuts down");
		fatal_hook(fatal_arg);
		pthread_exit(NULL);
	}
	exit(1);
}

/*
 * SRC as printable ASCII, other bytes and those in MORE as \xNN; a
 * backslash too unless SRC is already escaped (KEEP_BS).
 */
static void
log_escape_some(char *dst, size_t dstlen, const char *src, size_t srclen,
    const char *more, int keep_bs)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && (c != '\\' || keep_bs) &&
		    strchr(more, c) == NULL) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
}

void
log_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	log_escape_some(dst, dstlen, src, srclen, "", 0);
}

/*
 * A value of a key=value field: without '"' and ' ' nothing the peer
 * sends can end the field early and forge the next one.
 */
void
log_field(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	log_escape_some(dst, dstlen, src, srclen, "\" ", 0);
}

void
log_field_escaped(char *dst, size_t dstlen, const char *text)
{
	log_escape_some(dst, dstlen, text, strlen(text), "\" ", 1);
}
