/*
 * mailscope probe (probe_cmd.h): parses its options, runs probe_run()
 * with a progress line on a terminal, stores the result in the config's
 * database and prints it in the format asked for.  The tool's thread.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dnsname.h"
#include "probe.h"
#include "probe_cmd.h"

#define PROBE_USAGE	"usage: mailscope [-c FILE] probe DOMAIN " \
			"[--format text|json|html] [--ipv4-only|--ipv6-only] " \
			"[--timeout S] [--resolver ADDR[:PORT]] [--port N]\n"
#define TIMEOUT_MAX_S	300
#define PROGRESS_COLS	79

enum probe_format {
	PFMT_TEXT,
	PFMT_JSON,
	PFMT_HTML
};

static const struct option probe_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "ipv4-only", no_argument, NULL, '4' },
	{ "ipv6-only", no_argument, NULL, '6' },
	{ "timeout", required_argument, NULL, 't' },
	{ "resolver", required_argument, NULL, 'r' },
	{ "port", required_argument, NULL, 'p' },
	{ NULL, 0, NULL, 0 }
};

/* The terminal's progress line: one step of one address, overwritten. */
static void
progress(void *arg, const struct probe_mx *mx, const struct probe_addr *a,
    const char *step)
{
	FILE *tty = arg;
	char line[PROGRESS_COLS + 1];
	size_t i;

	(void)snprintf(line, sizeof(line), "probe: %s %s: %s",
	    mx != NULL ? mx->name : "", a != NULL ? a->addr : "", step);
	/* a name from the zone is shown, never interpreted */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(tty, "\r%-*s", PROGRESS_COLS, line);
	(void)fflush(tty);
}

/* A decimal in [LO, HI] into *V: 0, or -1 with a message on ERR. */
static int
number(const char *opt, const char *s, long lo, long hi, long *v, FILE *err)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v < lo || *v > hi) {
		fprintf(err, "mailscope probe: bad %s '%s' (%ld-%ld)\n", opt,
		    s, lo, hi);
		return -1;
	}
	return 0;
}

static int
print_result(const struct probe_result *r, enum probe_format fmt)
{
	int color;

	switch (fmt) {
	case PFMT_JSON:
		return probe_json(stdout, r);
	case PFMT_HTML:
		return probe_html(stdout, r);
	case PFMT_TEXT:
		break;
	}
	color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	return probe_text(stdout, r, color);
}

int
probe_cmd_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	struct probe_opts	 o;
	struct probe_result	*r = NULL;
	enum probe_format	 fmt = PFMT_TEXT;
	char			 domain[DNSNAME_MAX + 1];
	size_t			 len;
	int64_t			 id;
	long			 v;
	int			 ch, rv;

	probe_opts_default(&o, cfg);
	optind = 0;	/* glibc: a new scan, operands before options too */
	while ((ch = getopt_long(argc, argv, "", probe_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "text") == 0)
				fmt = PFMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				fmt = PFMT_JSON;
			else if (strcmp(optarg, "html") == 0)
				fmt = PFMT_HTML;
			else {
				fprintf(err, "mailscope probe: bad --format "
				    "'%s' (text, json or html)\n", optarg);
				return 2;
			}
			break;
		case '4':
			o.ipv6 = 0;
			break;
		case '6':
			o.ipv4 = 0;
			break;
		case 't':
			if (number("--timeout", optarg, 1, TIMEOUT_MAX_S, &v,
			    err) == -1)
				return 2;
			o.timeout_ms = (unsigned int)v * 1000;
			o.deadline_ms = o.timeout_ms * PROBE_DEADLINE_STEPS;
			break;
		case 'r':
			o.resolver = optarg;
			break;
		case 'p':
			if (number("--port", optarg, 1, 65535, &v, err) == -1)
				return 2;
			o.port = (unsigned int)v;
			break;
		default:
			fputs(PROBE_USAGE, err);
			return 2;
		}
	}
	if (optind != argc - 1 || (!o.ipv4 && !o.ipv6)) {
		fputs(PROBE_USAGE, err);
		return 2;
	}
	/* the domain, without a final dot */
	len = strlen(argv[optind]);
	if (len > 1 && argv[optind][len - 1] == '.')
		len--;
	(void)snprintf(domain, sizeof(domain), "%.*s", (int)len,
	    argv[optind]);
	if (len > DNSNAME_MAX || dnsname_valid(domain) == 0) {
		fprintf(err, "mailscope probe: '%s' is not a domain name\n",
		    argv[optind]);
		return 2;
	}
	o.domain = domain;
	if (isatty(STDERR_FILENO)) {
		o.progress = progress;
		o.progress_arg = err;
	}
	rv = probe_run(&o, &r);
	if (o.progress != NULL)
		fprintf(err, "\r%-*s\r", PROGRESS_COLS, "");
	if (r == NULL) {
		fprintf(err, "mailscope probe: out of memory\n");
		return 1;
	}
	if (rv == -1) {
		fprintf(err, "mailscope probe: %s: %s\n", r->domain,
		    r->error != NULL ? r->error : "failed");
		probe_result_free(r);
		return 1;
	}
	rv = 0;
	if (probe_store(cfg->database, r, &id) == -1) {
		fprintf(err, "mailscope probe: %s: the result could not be "
		    "stored in %s\n", r->domain, cfg->database);
		rv = 1;
	}
	if (print_result(r, fmt) == -1 || fflush(stdout) != 0) {
		fprintf(err, "mailscope probe: cannot write the result\n");
		rv = 1;
	}
	probe_result_free(r);
	return rv;
}
