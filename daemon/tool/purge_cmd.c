/*
 * mailscope purge (purge_cmd.h): parses its options, migrates the
 * database as every command does, runs purge_run() and prints what went,
 * table by table, with the longest write lock and the space.  The tool's
 * thread.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "purge.h"
#include "purge_cmd.h"
#include "store.h"

#define PURGE_USAGE	"usage: mailscope [-c FILE] purge --older-than DAYS " \
			"[--dry-run]\n"
#define PURGE_DAYS_MAX	36500L	/* a hundred years */
#define PURGE_DAY_S	86400.0

static const struct option purge_opts[] = {
	{ "older-than", required_argument, NULL, 'o' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};

static void
purge_print(const struct purge_result *r, long days, double cutoff, int dry)
{
	char		 when[CLOCK_ISO_MAX];
	uint64_t	 total = 0;
	int		 i;

	clock_iso(cutoff, when, sizeof(when));
	if (when[0] == '\0')
		(void)snprintf(when, sizeof(when), "%.0f", cutoff);
	printf("purge: tests created before %s (older than %ld days)%s\n",
	    when, days, dry ? ", dry run: nothing deleted" : "");
	printf("%-24s %12s\n", "table", dry ? "would delete" : "deleted");
	/* tests first: the reverse of the order of the deletes */
	for (i = PT_COUNT - 1; i >= 0; i--) {
		printf("%-24s %12" PRIu64 "\n",
		    purge_table_name((enum purge_table)i), r->rows[i]);
		total += r->rows[i];
	}
	printf("%-24s %12" PRIu64 "\n", "total", total);
	printf("write lock: %u transactions, longest %.3f ms, %.1f ms in "
	    "all\n", r->transactions, r->lock_max_ms, r->lock_total_ms);
	if (dry)
		return;
	if (r->auto_vacuum == 2)
		printf("space: %" PRId64 " pages of %" PRId64 " bytes given "
		    "back to the file system (auto_vacuum=incremental); "
		    "%" PRId64 " pages left free\n",
		    r->pages_before - r->pages_after, r->page_size,
		    r->free_after);
	else
		printf("space: %" PRId64 " pages of %" PRId64 " bytes free "
		    "in the database file, reused by SQLite for new rows; the "
		    "file does not shrink (auto_vacuum is off: "
		    "docs/operator-data.md, \"Space\")\n", r->free_after,
		    r->page_size);
}

int
purge_cmd_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	struct purge_result	 res;
	struct purge		*p;
	struct store		*st;
	char			 msg[512], *end;
	double			 cutoff;
	long			 days = -1;
	int			 ch, dry = 0, rc;

	/* 0: getopt_long() starts afresh after main()'s "+c:" */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", purge_opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			errno = 0;
			days = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    days < 0 || days > PURGE_DAYS_MAX) {
				fprintf(err, "mailscope: purge: bad "
				    "--older-than '%s': a number of days from "
				    "0 to %ld\n", optarg, PURGE_DAYS_MAX);
				return 2;
			}
			break;
		case 'n':
			dry = 1;
			break;
		default:
			fputs(PURGE_USAGE, err);
			return 2;
		}
	}
	if (days < 0 || optind != argc) {
		fputs(PURGE_USAGE, err);
		return 2;
	}
	/* as every command: the schema of this program (a no-op if current) */
	if ((st = store_open(cfg->database, msg, sizeof(msg))) == NULL) {
		fprintf(err, "mailscope: %s\n", msg);
		return 1;
	}
	store_close(st);
	if ((p = purge_open(cfg->database, msg, sizeof(msg))) == NULL) {
		fprintf(err, "mailscope: purge: %s\n", msg);
		return 1;
	}
	cutoff = clock_now() - (double)days * PURGE_DAY_S;
	rc = purge_run(p, cutoff, dry, NULL, &res, msg, sizeof(msg));
	purge_close(p);
	purge_print(&res, days, cutoff, dry);
	if (rc == -1) {
		fprintf(err, "mailscope: purge: %s: %s (what is counted above "
		    "was %s)\n", cfg->database, msg, dry ? "counted" :
		    "deleted");
		return 1;
	}
	return 0;
}
