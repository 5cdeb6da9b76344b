/*
 * The SPF evaluator process: libspf2 parses the records senders publish,
 * so it runs apart from the daemon (docs/design-notes.md).  Each analysis
 * worker starts one (spfclient.c) as
 *
 *	mailscoped -S FD -r RESOLVER -t TIMEOUT_MS -n HOSTNAME [-f] [-v...]
 *
 * (RESOLVER "-": the system's), which answers the requests of spfwire.h
 * on the socket FD until it is closed.
 */
#ifndef MAILSCOPE_SPFPROC_H
#define MAILSCOPE_SPFPROC_H

/* The socket's descriptor in the evaluator. */
#define SPFPROC_FD	3

/* main() of the evaluator: argv[1] is "-S".  The exit status. */
int	spfproc_main(int argc, char *argv[]);

#endif /* MAILSCOPE_SPFPROC_H */
