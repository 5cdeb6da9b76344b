/*
 * The one log module: stderr in the foreground, syslog otherwise.  The
 * verbosity (and where the lines go) are the only mutable globals besides
 * signal flags.
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
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

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
