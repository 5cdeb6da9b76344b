/*
 * mailscope purge: the tests older than a number of days deleted, with
 * everything attributed to them (purge.h), beside a running daemon; or,
 * with --dry-run, counted.
 */
#ifndef MAILSCOPE_PURGE_CMD_H
#define MAILSCOPE_PURGE_CMD_H

#include <stdio.h>

#include "types.h"

/*
 * Runs `purge` on ARGV (argv[0] the verb) against CFG's database: the
 * counts per table on the standard output, messages to ERR.  The exit
 * status: 0, 1 (database error), 2 (usage).
 */
int	purge_cmd_main(const struct config *cfg, int argc, char *argv[],
	    FILE *err);

#endif /* MAILSCOPE_PURGE_CMD_H */
