/*
 * demo-config: a complete loopback configuration under one folder, for the
 * quick start and the tests.
 */
#ifndef MAILSCOPE_DEMO_H
#define MAILSCOPE_DEMO_H

#include <stdio.h>

/*
 * Writes DIR/mailscope.conf, DIR/certs/ (certs_generate) and points the
 * database at DIR/mailscope.db.  Every catalogue host gets 127.0.0.1:PORT
 * and [::1]:PORT with consecutive ports from BASE_PORT in catalogue order,
 * then [web], then [dns].  Returns 0 or -1 with a message on ERRS.
 */
int	demo_config_write(const char *dir, int base_port, FILE *errs);

#endif /* MAILSCOPE_DEMO_H */
