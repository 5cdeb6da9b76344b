/*
 * mailscope names: every DNS name a deployment needs on its certificates
 * and the records mailscope zones publishes for it, per host, with what
 * the registrar needs (NS, glue, DS).
 */
#ifndef MAILSCOPE_NAMES_H
#define MAILSCOPE_NAMES_H

#include <stdio.h>

#include "types.h"

/*
 * Prints the names and records of CFG to OUT, grouped by host; warnings
 * (no DS yet) to ERRS.  ARGV (argv[0]: "names") takes no option.  Its
 * exit status: 0, 1 on an error, 2 on a usage error.
 */
int	names_main(const struct config *cfg, int argc, char *argv[],
	    FILE *out, FILE *errs);

#endif /* MAILSCOPE_NAMES_H */
