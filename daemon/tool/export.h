/*
 * mailscope export: the researcher views v_deliveries and v_connections,
 * or the verdicts of every test, streamed as CSV (RFC 4180) or JSON
 * Lines, optionally anonymized.
 */
#ifndef MAILSCOPE_EXPORT_H
#define MAILSCOPE_EXPORT_H

#include <stdio.h>

#include "types.h"

/*
 * Runs `export` on ARGV (argv[0] the verb) against CFG's database;
 * messages to ERR.  The exit status: 0, 1 (database or output error),
 * 2 (usage).
 */
int	export_main(const struct config *cfg, int argc, char *argv[],
	    FILE *err);

#endif /* MAILSCOPE_EXPORT_H */
