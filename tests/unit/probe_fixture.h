/*
 * Hand-filled probe results for the unit tests of probe_grade.c, the
 * formats and the store: a domain whose one MX address does everything
 * right, and helpers to break it.  Every string is owned by the result
 * (probe_result_free()); the test aborts when out of memory.
 */
#ifndef MAILSCOPE_PROBE_FIXTURE_H
#define MAILSCOPE_PROBE_FIXTURE_H

#include "probe.h"

#define PFX_STARTED	1796637600.0	/* 2026-12-07T10:00:00Z */
#define PFX_DAY		86400

/* A copy of S (NULL for NULL); aborts when out of memory. */
char		*pfx_str(const char *s);
void		 pfx_set(char **dst, const char *s);
/*
 * "good.example": NMX MX hosts mx1.good.example, mx2..., NADDRS
 * addresses each (192.0.2.N, the second of each 2001:db8::N), each
 * reachable with STARTTLS, TLS 1.3, a valid certificate for its MX,
 * PTR and FCrDNS, recipient filtering, SPF checked, no open relay;
 * SPF, DMARC p=reject and TLS-RPT; no MTA-STS, no DNSSEC.
 */
struct probe_result *pfx_good(size_t nmx, size_t naddrs);
/* Adds a transcript line to A. */
void		 pfx_line(struct probe_addr *a, const char *line);
/* An MTA-STS policy in MODE whose mx patterns match every MX of R. */
void		 pfx_sts(struct probe_result *r, const char *mode);
/* DNSSEC and a matching, validated DANE-EE record on every MX of R. */
void		 pfx_dane(struct probe_result *r);
/* Whether R has a finding KEY (on ADDR when not NULL); its index + 1. */
size_t		 pfx_has(const struct probe_result *r, const char *key,
		    const char *addr);

#endif
