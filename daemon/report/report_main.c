/*
 * mailscope report: one test's report as text, JSON or HTML, on the
 * standard output or into a file replaced atomically.  Runs in the tool,
 * single-threaded: report_load(), report_build(), then one format.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fileout.h"
#include "report.h"
#include "testid.h"

#define REPORT_USAGE	"usage: mailscope [-c FILE] report ID " \
			"[--format text|json|html] [--verbose] [--out FILE]\n"
#define REPORT_MODE	0644	/* --out: a report is for reading */
#define REPORT_ERRLEN	1024

enum report_format { FMT_TEXT, FMT_JSON, FMT_HTML };

static const struct {
	const char		*name;
	enum report_format	 format;
} report_formats[] = {
	{ "text", FMT_TEXT },
	{ "json", FMT_JSON },
	{ "html", FMT_HTML },
};
#define NFORMATS	(sizeof(report_formats) / sizeof(report_formats[0]))

static const struct option report_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "out", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

/* What the writer of one report reads (fileout_write()'s argument). */
struct report_out {
	const struct rp_report	*report;	/* borrowed */
	enum report_format	 format;
	struct rp_format_opts	 opts;
};

static int
report_write(FILE *fp, const void *arg)
{
	const struct report_out *o = arg;

	switch (o->format) {
	case FMT_JSON:
		return report_json(o->report, fp);
	case FMT_HTML:
		return report_html(o->report, NULL, fp);
	case FMT_TEXT:
		break;
	}
	return report_text(o->report, &o->opts, fp);
}

/*
 * Colours only for a person at a terminal: text to a TTY, and not when
 * NO_COLOR is present and not empty (https://no-color.org/).
 */
static int
report_color(void)
{
	const char *nc = getenv("NO_COLOR");

	if (nc != NULL && *nc != '\0')
		return 0;
	return isatty(STDOUT_FILENO);
}

static int
report_usage(FILE *err)
{
	fputs(REPORT_USAGE, err);
	return 2;
}

int
report_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	struct rp_input in;
	struct rp_report rep;
	struct report_out o;
	const char *format = "text", *outpath = NULL, *id;
	char msg[REPORT_ERRLEN];
	size_t i;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	/*
	 * 0, not 1: glibc then starts afresh and permutes (ID before or
	 * after the options); main()'s "+c:" left it stopping at the first
	 * operand.
	 */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", report_opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'v':
			o.opts.verbose = 1;
			break;
		default:
			return report_usage(err);
		}
	}
	if (optind + 1 != argc)
		return report_usage(err);
	id = argv[optind];
	for (i = 0; i < NFORMATS; i++)
		if (strcmp(format, report_formats[i].name) == 0)
			break;
	if (i == NFORMATS) {
		fprintf(err, "mailscope: report: bad --format '%s' (text, json "
		    "or html)\n", format);
		return report_usage(err);
	}
	o.format = report_formats[i].format;
	if (!testid_valid(id, strlen(id))) {
		fprintf(err, "mailscope: report: not a test ID: %s\n", id);
		return report_usage(err);
	}
	o.opts.color = o.format == FMT_TEXT && outpath == NULL &&
	    report_color();

	/* no such test (1) and a database error (-1) alike: said in MSG */
	if (report_load(cfg, id, clock_now(), &in, msg, sizeof(msg)) != 0) {
		fprintf(err, "mailscope: report: %s\n", msg);
		return 1;
	}
	if (report_build(&in, &rep) == -1) {
		fprintf(err, "mailscope: report: out of memory\n");
		report_free(&rep);
		report_input_free(&in);
		return 1;
	}
	o.report = &rep;

	rc = 0;
	if (outpath != NULL) {
		if (fileout_write(outpath, REPORT_MODE, report_write, &o, msg,
		    sizeof(msg)) == -1) {
			fprintf(err, "mailscope: report: %s\n", msg);
			rc = 1;
		}
	} else if (report_write(stdout, &o) == -1 || fflush(stdout) == EOF ||
	    ferror(stdout)) {
		fprintf(err, "mailscope: report: standard output: %s\n",
		    ferror(stdout) ? strerror(errno) : "cannot encode");
		rc = 1;
	}
	report_free(&rep);
	report_input_free(&in);
	return rc;
}
