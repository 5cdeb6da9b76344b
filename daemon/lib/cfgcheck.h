/*
 * mailscoped -t: what the start would fail on beyond the config's syntax
 * (config_load), checked on this machine: certificates and keys, the
 * user, the database and log directories, listen addresses, open files.
 */
#ifndef MAILSCOPE_CFGCHECK_H
#define MAILSCOPE_CFGCHECK_H

#include <stdio.h>

#include "types.h"

/*
 * Every problem of CFG as "FILE:LINE: error: ..." (or "warning:"; FILE
 * alone where no line of the file is concerned) on OUT.  The number of
 * errors (warnings do not count).  Raises RLIMIT_NOFILE as the start
 * would; forks to check access as the configured user.
 */
int	cfgcheck_run(const struct config *cfg, FILE *out);

#endif /* MAILSCOPE_CFGCHECK_H */
