/*
 * The one log module: stderr in the foreground, a file (log_file), or
 * syslog.  The verbosity (and where the lines go) are the only mutable
 * globals besides signal flags, with the daemon's fatal hook, set before
 * its threads.
 */
#ifndef MAILSCOPE_LOG_H
#define MAILSCOPE_LOG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *progname, int foreground, int verbosity);
/*
 * Lines go to PATH from now on (appended; created 0640, given to UID and
 * GID unless UID is (uid_t)-1), in both modes.  0, or -1 with ERR.
 * Before the threads start.
 */
int	log_file(const char *path, uid_t uid, gid_t gid, char *err,
	    size_t errlen);
/*
 * Stderr becomes the log file too, and follows it on reopen: what the
 * daemon's other processes (foreground logging) and libraries write.
 * 0 (nothing to do without a file), or -1.
 */
int	log_file_stderr(void);
/* The log file closed (at exit); lines go where log_init() said. */
void	log_close(void);
/*
 * SIGHUP, loop thread: the log file anew at its path (rotation: the old
 * one renamed away), or syslog's connection anew.  -1 when the file
 * cannot be opened: the old one stays, the reason is logged.
 */
int	log_reopen(void);
/*
 * ON: warnings go to stderr as well, whatever the destination (the
 * start-up, whose errors the caller must see); OFF once it is ready.
 */
void	log_set_echo(int on);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * What log_init() was given, for a process of the daemon to log alike:
 * foreground too with a log file, which stderr follows.
 */
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
