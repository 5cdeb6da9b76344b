/*
 * The config file (INI): parsing and validation.  Every
 * error is printed as FILE:LINE: error: message; all of them, not the first.
 */
#ifndef MAILSCOPE_CONFIG_H
#define MAILSCOPE_CONFIG_H

#include <stdio.h>

#include "types.h"

/*
 * Reads and validates FILE.  Prints every error and warning to ERRS as
 * "FILE:LINE: error: message" (or "warning:").  Returns the config, or
 * NULL when there was at least one error.  Relative database, certificate
 * and key paths are stored absolute, joined to the directory of FILE.
 */
struct config	*config_load(const char *file, FILE *errs);
/*
 * The same with FLAGS.  CONFIG_CERTS_MAY_BE_MISSING: a certificate or key
 * file that does not exist is no error (one that exists must still be
 * readable), so that the commands that make them (mailscope certs, which
 * then names those still missing) or only read names from the config
 * (mailscope names) run before they exist.  mailscoped and every other
 * command load strictly.
 */
struct config	*config_load_flags(const char *file, FILE *errs, int flags);
#define CONFIG_CERTS_MAY_BE_MISSING	0x01

void		 config_free(struct config *);

/* The host section named NAME, or NULL. */
const struct host_conf *config_host(const struct config *, const char *name);

/*
 * The addresses of challenge NAME of its own on host H (challenge_listen)
 * of FAMILY (AF_INET, AF_INET6, AF_UNSPEC: both): how many.
 */
size_t		 config_challenge_naddr(const struct host_conf *h,
		    const char *name, int family);
/*
 * Whether the deployment leaves challenge CH out (mailscope zones does not
 * publish it, the report says so): a host of it has no section, or its MX
 * has A (AAAA) records only and that host no IPv4 (IPv6) address, as
 * mailscope plan writes with few IPv4 addresses.  1 with the reason in
 * WHY (LEN bytes), else 0.
 */
struct catalog_challenge;
int		 config_challenge_left_out(const struct config *,
		    const struct catalog_challenge *ch, char *why, size_t len);
/*
 * The challenges a connection to a shared (listen) address of host H of
 * FAMILY may be for, comma-separated in catalogue order into BUF: those
 * whose MX on H publishes the shared addresses (an MX of that family and
 * no address of their own of that family, as mailscope zones writes
 * them and the DNS responder answers a delegated challenge's per-test
 * MX); when no MX publishes them, every challenge of H.  0, or -1 if
 * BUF is too short.
 */
int		 config_shared_challenges(const struct host_conf *h,
		    int family, char *buf, size_t len);

/* "30s", "5m", "1h", "7d", "250ms" (bare numbers are seconds) -> ms. */
int		 config_parse_duration(const char *, uint64_t *ms);
/* "10485760", "512k", "10M", "1G" -> bytes. */
int		 config_parse_size(const char *, size_t *bytes);
/* "127.0.0.1:25", "[::1]:25" -> address. */
int		 config_parse_listen(const char *, struct listen_addr *);
/* "TLSv1-TLSv1.3", "TLSv1.3" -> OpenSSL protocol versions. */
int		 config_parse_protocols(const char *, int *min, int *max);

#endif /* MAILSCOPE_CONFIG_H */
