/*
 * The wall clock as the logs and the database hold it (seconds since the
 * epoch, a double) and the millisecond timeouts of the config as the
 * struct timeval libevent takes.  Any thread.
 */
#ifndef MAILSCOPE_CLOCK_H
#define MAILSCOPE_CLOCK_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

/* Seconds since the epoch, microseconds in the fraction. */
double	clock_now(void);
/* MS milliseconds as a struct timeval. */
void	clock_ms_to_tv(uint64_t ms, struct timeval *tv);

#define CLOCK_ISO_MAX	32	/* "2026-12-07T06:00:00Z" and more */
/*
 * T (seconds since the epoch) as ISO 8601 UTC to the second into BUF
 * ("2026-12-07T06:00:00Z"); "" when T is 0 (none) or cannot be shown.
 */
void	clock_iso(double t, char *buf, size_t len);

#endif /* MAILSCOPE_CLOCK_H */
