/*
 * Logging: one line per event, to stderr in the foreground, else syslog.
 * Called from every thread; vfprintf/syslog keep lines whole.  fatalx()
 * on a thread other than the daemon's main one ends that thread alone.
 */
#include "build.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

/* The only mutable globals besides signal flags (STYLE.md). */
static int	 log_foreground = 1;
static int	 log_verbosity = LOG_LVL_INFO;
static const char *log_progname;	/* borrowed from log_init's caller */
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

void
log_settings(int *foreground, int *verbosity)
{
	*foreground = log_foreground;
	*verbosity = log_verbosity;
}

void
log_set_fatal_hook(void (*hook)(void *), void *arg)
{
	fatal_hook = hook;
	fatal_arg = arg;
	fatal_main = pthread_self();
}

void
log_reopen(void)
{
	/* a new connection to syslogd (restarted, or its socket replaced) */
	if (log_foreground)
		return;
	closelog();
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void
log_vwrite(int level, int prio, const char *fmt, va_list ap)
{
	if (level > log_verbosity)
		return;
	if (log_foreground) {
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
