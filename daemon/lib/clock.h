/*
 * The wall clock as the logs and the database hold it (seconds since the
 * epoch, a double) and the millisecond timeouts of the config as the
 * struct timeval libevent takes.  Any thread.
 */
#ifndef MAILSCOPE_CLOCK_H
#define MAILSCOPE_CLOCK_H

#include <sys/time.h>

#include <stdint.h>

/* Seconds since the epoch, microseconds in the fraction. */
double	clock_now(void);
/* MS milliseconds as a struct timeval. */
void	clock_ms_to_tv(uint64_t ms, struct timeval *tv);

#endif /* MAILSCOPE_CLOCK_H */
