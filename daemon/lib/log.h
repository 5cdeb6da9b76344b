/*
 * The one log module: stderr in the foreground, syslog otherwise.  The
 * verbosity (and where the lines go) are the only mutable globals besides
 * signal flags, with the daemon's fatal hook, set before its threads.
 */
#ifndef MAILSCOPE_LOG_H
#define MAILSCOPE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *progname, int foreground, int verbosity);
/* SIGHUP: syslog's connection anew (stderr needs nothing); loop thread */
void	log_reopen(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* What log_init() was given: for a process of the daemon to log alike. */
void	log_settings(int *foreground, int *verbosity);
/*
 * Logs and exits 1; but on a thread other than the one that registered a
 * hook with log_set_fatal_hook(), logs, calls HOOK(ARG) there and ends
 * that thread alone (pthread_exit): the hook has the main thread shut
 * the process down in order, and exit 1.
 */
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/*
 * HOOK (thread-safe) for fatalx() on the other threads; the calling
 * thread is the main one.  Before those threads start, or after they
 * ended; NULL: fatalx() exits on every thread again.
 */
void	log_set_fatal_hook(void (*hook)(void *), void *arg);

/*
 * Escapes untrusted bytes for a log line: printable ASCII stays, the rest
 * becomes \xNN; truncated to fit DST (always NUL-terminated).
 */
void	log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);
/*
 * As log_escape, and '"' and ' ' too: for a key=value field of a log
 * line, which the peer's text then cannot end early (nor forge a field
 * after it).  Values stored in the database keep log_escape.
 */
void	log_field(char *dst, size_t dstlen, const char *src, size_t srclen);
/*
 * TEXT that log_escape() made (a stored value) as log_field() would
 * have made it from the original bytes: ' ' and '"' as \xNN too.
 */
void	log_field_escaped(char *dst, size_t dstlen, const char *text);

#endif /* MAILSCOPE_LOG_H */
