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
 * then [web], then [dns].  Every challenge gets addresses of its own on
 * each of its hosts (challenge_listen): 127.0.1.N (N: its place in the
 * catalogue, from 1) on the host's port when its MX has A records, and
 * [::1] on a port of its own when it has AAAA records, the ports
 * following [dns] in host order, then catalogue order.  Returns 0 or -1
 * with a message on ERRS.
 */
int	demo_config_write(const char *dir, int base_port, FILE *errs);

/* How many consecutive ports from the base port the demo uses. */
int	demo_port_count(void);

#endif /* MAILSCOPE_DEMO_H */
