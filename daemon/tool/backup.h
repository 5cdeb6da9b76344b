/*
 * mailscope backup: an online copy of the database with SQLite's backup
 * API beside a running daemon, written 0600 under a temporary name,
 * checked with PRAGMA integrity_check, then given its name.
 */
#ifndef MAILSCOPE_BACKUP_H
#define MAILSCOPE_BACKUP_H

#include <stdio.h>

#include "types.h"

/*
 * Runs `backup` on ARGV (argv[0] the verb) against CFG's database;
 * messages to ERR.  The exit status: 0, 1 (database, copy or file
 * error, the target exists), 2 (usage).
 */
int	backup_main(const struct config *cfg, int argc, char *argv[],
	    FILE *err);

#endif /* MAILSCOPE_BACKUP_H */
