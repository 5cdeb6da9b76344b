/*
 * The wall clock (gettimeofday) for records and logs, and millisecond
 * timeouts as struct timeval for libevent.  Any thread; no state.
 */
#include "build.h"

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"

double
clock_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void
clock_iso(double t, char *buf, size_t len)
{
	struct tm tm;
	time_t s = (time_t)t;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (t == 0 || gmtime_r(&s, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

void
clock_ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}
