/*
 * mailscope probe DOMAIN: the inbound direction (docs/probe.md).
 */
#ifndef MAILSCOPE_PROBE_CMD_H
#define MAILSCOPE_PROBE_CMD_H

#include <stdio.h>

#include "types.h"

/*
 * Runs `probe` on ARGV (argv[0] the verb) with CFG (EHLO name, base
 * domain, database): the result on the standard output, stored in the
 * database; progress and messages to ERR.  The exit status: 0 (the probe
 * ran, whatever it found), 1 (it could not run, or its result was not
 * stored or written), 2 (usage).
 */
int	probe_cmd_main(const struct config *cfg, int argc, char *argv[],
	    FILE *err);

#endif /* MAILSCOPE_PROBE_CMD_H */
