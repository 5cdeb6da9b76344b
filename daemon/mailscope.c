/*
 * mailscope: the operator's and researcher's command.  new-test,
 * check-config, certs, zones, names, plan, demo-config, report, export,
 * purge and backup, dispatched from one const table; single-threaded,
 * synchronous store calls.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backup.h"
#include "catalog.h"
#include "certs.h"
#include "clock.h"
#include "config.h"
#include "dbowner.h"
#include "demo.h"
#include "export.h"
#include "log.h"
#include "names.h"
#include "plan.h"
#include "probe_cmd.h"
#include "purge_cmd.h"
#include "report.h"
#include "store.h"
#include "testid.h"
#include "zones.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/mailscope/mailscope.conf"
#define DEMO_BASE_PORT	2525	/* docs/mailscope.1 */

/* A command line after the verb's options: what a handler reads. */
struct cmd_args {
	int		 argc;
	char		**argv;		/* argv[0]: the verb */
	const char	*out;		/* --out DIR */
	const char	*check;		/* zones --check DIR */
	int		 force;		/* --force */
	long		 base_port;	/* --base-port N */
};

/* How a command reads the config. */
enum cmd_config {
	CMD_NO_CONFIG,		/* none: run() gets NULL */
	CMD_CONFIG,		/* loaded strictly, as mailscoped does */
	CMD_CONFIG_NO_CERTS	/* certificate and key files may be missing:
				   the commands that make them or only read
				   names (CONFIG_CERTS_MAY_BE_MISSING) */
};

/*
 * A command: its verb, its handler, how it reads the config, its
 * options (NULL: run() reads argv itself) and the arguments that
 * usage() shows after the verb.
 */
struct command {
	const char		*verb;
	int			(*run)(const struct config *,
				    const struct cmd_args *);
	enum cmd_config		 needs_config;
	const struct option	*longopts;
	const char		*usage;
};

static int	cmd_new_test(const struct config *, const struct cmd_args *);
static int	cmd_check_config(const struct config *,
		    const struct cmd_args *);
static int	cmd_certs(const struct config *, const struct cmd_args *);
static int	cmd_zones(const struct config *, const struct cmd_args *);
static int	cmd_demo_config(const struct config *,
		    const struct cmd_args *);
static int	cmd_export(const struct config *, const struct cmd_args *);
static int	cmd_report(const struct config *, const struct cmd_args *);
static int	cmd_names(const struct config *, const struct cmd_args *);
static int	cmd_plan(const struct config *, const struct cmd_args *);
static int	cmd_purge(const struct config *, const struct cmd_args *);
static int	cmd_backup(const struct config *, const struct cmd_args *);
static int	cmd_probe(const struct config *, const struct cmd_args *);

/* --out is required wherever it is an option. */
static const struct option certs_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};
/* zones: --out DIR writes, --check DIR reads what an earlier run wrote */
static const struct option zones_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "check", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};
static const struct option demo_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "base-port", required_argument, NULL, 'p' },
	{ NULL, 0, NULL, 0 }
};

static const struct command commands[] = {
	{ "new-test", cmd_new_test, CMD_CONFIG, NULL, "[--json]" },
	{ "check-config", cmd_check_config, CMD_CONFIG, NULL, "" },
	{ "certs", cmd_certs, CMD_CONFIG_NO_CERTS, certs_opts,
	    "--out DIR [--force]" },
	{ "zones", cmd_zones, CMD_CONFIG, zones_opts,
	    "--out DIR | --check DIR" },
	{ "names", cmd_names, CMD_CONFIG_NO_CERTS, NULL, "" },
	{ "plan", cmd_plan, CMD_NO_CONFIG, NULL, "--base DOMAIN "
	    "--ipv4 A[,B...] --ipv6 PREFIX/64 [--out FILE [--force]]" },
	{ "demo-config", cmd_demo_config, CMD_NO_CONFIG, demo_opts,
	    "--out DIR [--base-port N]" },
	{ "report", cmd_report, CMD_CONFIG, NULL, "ID [--format "
	    "text|json|html] [--verbose] [--out FILE]" },
	{ "export", cmd_export, CMD_CONFIG, NULL, "--format csv|jsonl "
	    "[--what deliveries|connections|verdicts|probes|probe-findings] "
	    "[--since DATE] [--anonymize] [--out FILE]" },
	{ "purge", cmd_purge, CMD_CONFIG, NULL, "--older-than DAYS [--dry-run]" },
	{ "backup", cmd_backup, CMD_CONFIG, NULL, "FILE [--force]" },
	{ "probe", cmd_probe, CMD_CONFIG, NULL, "DOMAIN [--format "
	    "text|json|html] [--ipv4-only|--ipv6-only] [--timeout S] "
	    "[--resolver ADDR[:PORT]] [--port N]" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(void)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		fprintf(stderr, "%s mailscope %s%s%s%s\n",
		    i == 0 ? "usage:" : "      ",
		    commands[i].needs_config != CMD_NO_CONFIG ?
		    "[-c FILE] " : "",
		    commands[i].verb, *commands[i].usage != '\0' ? " " : "",
		    commands[i].usage);
	exit(2);
}

static const struct command *
find_command(const char *verb)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(verb, commands[i].verb) == 0)
			return &commands[i];
	return NULL;
}

static int
unknown_command(const char *verb)
{
	fprintf(stderr, "mailscope: unknown command '%s'\n", verb);
	return 2;
}

/*
 * Reads the options of CMD, if it has a table of them, and runs it on
 * ARGV (argv[0] its verb).  Its exit status; 2 after a bad --base-port;
 * any other misuse, a missing --out (zones: exactly one of --out and
 * --check) or an operand goes to usage().
 */
static int
run_command(const struct command *cmd, const struct config *cfg, int argc,
    char *argv[])
{
	struct cmd_args a;
	char *end;
	int ch;

	memset(&a, 0, sizeof(a));
	a.argc = argc;
	a.argv = argv;
	a.base_port = DEMO_BASE_PORT;
	if (cmd->longopts == NULL)
		return cmd->run(cfg, &a);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", cmd->longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			a.out = optarg;
			break;
		case 'k':
			a.check = optarg;
			break;
		case 'f':
			a.force = 1;
			break;
		case 'p':
			errno = 0;
			a.base_port = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    a.base_port < 1 || a.base_port > 65535) {
				fprintf(stderr, "mailscope: bad --base-port "
				    "'%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if ((a.out == NULL) == (a.check == NULL) || optind != argc)
		usage();
	return cmd->run(cfg, &a);
}

static int
print_text(const struct config *cfg, const char *id)
{
	const struct catalog_challenge *chs;
	char addr[512];
	size_t i, n;

	chs = catalog_challenges(&n);
	printf("test %s\n\nSend one message to each address:\n\n", id);
	for (i = 0; i < n; i++) {
		if (testid_address(cfg, &chs[i], id, addr, sizeof(addr)) == -1)
			return -1;
		printf("  %-26s %s\n", chs[i].name, addr);
	}
	return 0;
}

static int
print_json(const struct config *cfg, const char *id)
{
	json_t *root;
	char *out;

	if ((root = testid_json(cfg, id)) == NULL ||
	    (out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2))) ==
	    NULL) {
		json_decref(root);
		return -1;
	}
	printf("%s\n", out);
	free(out);
	json_decref(root);
	return 0;
}

static int
cmd_new_test(const struct config *cfg, const struct cmd_args *a)
{
	char id[TESTID_LEN + 1], err[512];
	struct store *st;
	int json = 0, rc;

	if (a->argc == 2 && strcmp(a->argv[1], "--json") == 0)
		json = 1;
	else if (a->argc != 1)
		usage();
	/* the database is the user's, whoever creates it (dbowner.c) */
	if (dbowner_prepare(cfg, stderr) == -1)
		return 1;
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailscope: %s\n", err);
		dbowner_finish(cfg, stderr);
		return 1;
	}
	if (testid_new(id) == -1 ||
	    store_test_create(st, id, clock_now()) == -1) {
		fprintf(stderr, "mailscope: cannot create a test in %s\n",
		    cfg->database);
		store_close(st);
		dbowner_finish(cfg, stderr);
		return 1;
	}
	store_close(st);
	dbowner_finish(cfg, stderr);
	rc = json ? print_json(cfg, id) : print_text(cfg, id);
	return rc == 0 ? 0 : 1;
}

static int
cmd_check_config(const struct config *cfg, const struct cmd_args *a)
{
	(void)cfg;	/* loaded and checked by main() */
	return a->argc == 1 ? 0 : unknown_command(a->argv[0]);
}

/* Names on stderr each file of the list S (paths) that does not exist. */
static void
files_exist(const char *s)
{
	char path[4096];
	size_t len;

	while (*s != '\0') {
		s += strspn(s, " \t");
		if ((len = strcspn(s, " \t")) == 0)
			break;
		if (len < sizeof(path)) {
			memcpy(path, s, len);
			path[len] = '\0';
			if (access(path, F_OK) == -1) {
				fprintf(stderr, "mailscope: certs: warning: "
				    "the config names %s, which certs did not "
				    "write (it writes NAME.rsa.pem, "
				    "NAME.ecdsa.pem and their keys into "
				    "--out)\n", path);
			}
		}
		s += len;
	}
}

/*
 * The config may name certificates that do not exist yet: certs makes
 * them (plan, then certs, zones, start).  It says which of the config's
 * files are still missing afterwards.
 */
static int
cmd_certs(const struct config *cfg, const struct cmd_args *a)
{
	size_t i;

	if (certs_generate(cfg->base_domain, cfg->hostname, a->out, a->force,
	    stderr) == -1)
		return 1;
	for (i = 0; i < cfg->nhosts; i++)
		if (cfg->hosts[i].certificate != NULL) {
			files_exist(cfg->hosts[i].certificate);
			files_exist(cfg->hosts[i].key);
		}
	if (cfg->web.present) {
		files_exist(cfg->web.certificate);
		files_exist(cfg->web.key);
	}
	return 0;
}

static int
cmd_zones(const struct config *cfg, const struct cmd_args *a)
{
	if (a->check != NULL)
		return zones_check(a->check, time(NULL), stdout, stderr);
	return zones_generate(cfg, a->out, stdout, stderr) == 0 ? 0 : 1;
}

static int
cmd_demo_config(const struct config *cfg, const struct cmd_args *a)
{
	(void)cfg;	/* it writes one */
	if (demo_config_write(a->out, (int)a->base_port, stderr) == -1)
		return 1;
	printf("%s/mailscope.conf\n", a->out);
	return 0;
}

static int
cmd_export(const struct config *cfg, const struct cmd_args *a)
{
	return export_main(cfg, a->argc, a->argv, stderr);
}

static int
cmd_report(const struct config *cfg, const struct cmd_args *a)
{
	return report_main(cfg, a->argc, a->argv, stderr);
}

static int
cmd_names(const struct config *cfg, const struct cmd_args *a)
{
	return names_main(cfg, a->argc, a->argv, stdout, stderr);
}

static int
cmd_plan(const struct config *cfg, const struct cmd_args *a)
{
	(void)cfg;	/* it writes one */
	return plan_main(a->argc, a->argv, stdout, stderr);
}

static int
cmd_purge(const struct config *cfg, const struct cmd_args *a)
{
	return purge_cmd_main(cfg, a->argc, a->argv, stderr);
}

static int
cmd_backup(const struct config *cfg, const struct cmd_args *a)
{
	return backup_main(cfg, a->argc, a->argv, stderr);
}

static int
cmd_probe(const struct config *cfg, const struct cmd_args *a)
{
	return probe_cmd_main(cfg, a->argc, a->argv, stderr);
}

int
main(int argc, char *argv[])
{
	const struct command *cmd;
	const char *file = DEFAULT_CONFIG;
	struct config *cfg;
	int ch, rc;

	log_init("mailscope", 1, LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if ((cmd = find_command(argv[0])) != NULL &&
	    cmd->needs_config == CMD_NO_CONFIG)
		return run_command(cmd, NULL, argc, argv);

	/* an unknown command is named only once the file is found sound */
	if ((cfg = config_load_flags(file, stderr, cmd != NULL &&
	    cmd->needs_config == CMD_CONFIG_NO_CERTS ?
	    CONFIG_CERTS_MAY_BE_MISSING : 0)) == NULL)
		return 1;
	rc = cmd != NULL ? run_command(cmd, cfg, argc, argv) :
	    unknown_command(argv[0]);
	config_free(cfg);
	return rc;
}
