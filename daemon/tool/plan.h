/*
 * mailscope plan: a production configuration for the addresses at hand
 * (docs/operator-plan.md has the rules and the table of addresses).
 */
#ifndef MAILSCOPE_PLAN_H
#define MAILSCOPE_PLAN_H

#include <stdio.h>

/*
 * Runs "plan --base DOMAIN --ipv4 A[,B...] --ipv6 PREFIX/64 [--out FILE]
 * [--force]" on ARGV (argv[0]: "plan").  The config goes to FILE (never
 * replacing one without --force) or OUT; the summary of which challenge
 * got which address, and what is shared or left out and why, to ERRS.
 * Its exit status: 0, 1 on an error, 2 on a usage error (bad input).
 */
int	plan_main(int argc, char *argv[], FILE *out, FILE *errs);

#endif /* MAILSCOPE_PLAN_H */
