/*
 * mailscope: the operator's and researcher's command.  new-test,
 * check-config, certs, zones and demo-config; single-threaded,
 * synchronous store calls.
 */
#include "build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "certs.h"
#include "clock.h"
#include "config.h"
#include "demo.h"
#include "log.h"
#include "store.h"
#include "testid.h"
#include "zones.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/mailscope/mailscope.conf"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mailscope [-c FILE] new-test [--json]\n"
	    "       mailscope [-c FILE] check-config\n"
	    "       mailscope [-c FILE] certs --out DIR [--force]\n"
	    "       mailscope [-c FILE] zones --out DIR\n"
	    "       mailscope demo-config --out DIR [--base-port N]\n");
	exit(2);
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
	const struct catalog_challenge *chs;
	json_t *root, *addrs;
	char addr[512], *out;
	size_t i, n;
	int rc = -1;

	root = json_object();
	addrs = json_object();
	if (root == NULL || addrs == NULL ||
	    json_object_set_new(root, "id", json_string(id)) == -1 ||
	    json_object_set(root, "addresses", addrs) == -1)
		goto out;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		if (testid_address(cfg, &chs[i], id, addr, sizeof(addr)) == -1 ||
		    json_object_set_new(addrs, chs[i].name,
		    json_string(addr)) == -1)
			goto out;
	if ((out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2))) ==
	    NULL)
		goto out;
	printf("%s\n", out);
	free(out);
	rc = 0;
 out:
	json_decref(addrs);
	json_decref(root);
	return rc;
}

static int
cmd_new_test(const struct config *cfg, int argc, char *argv[])
{
	char id[TESTID_LEN + 1], err[512];
	struct store *st;
	int json = 0, rc;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = 1;
	else if (argc != 1)
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailscope: %s\n", err);
		return 1;
	}
	if (testid_new(id) == -1 ||
	    store_test_create(st, id, clock_now()) == -1) {
		fprintf(stderr, "mailscope: cannot create a test in %s\n",
		    cfg->database);
		store_close(st);
		return 1;
	}
	store_close(st);
	rc = json ? print_json(cfg, id) : print_text(cfg, id);
	return rc == 0 ? 0 : 1;
}

static int
cmd_certs(const struct config *cfg, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	int ch, force = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			usage();
		}
	}
	if (out == NULL || optind != argc)
		usage();
	return certs_generate(cfg->base_domain, out, force, stderr) == 0 ?
	    0 : 1;
}

static int
cmd_zones(const struct config *cfg, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (out == NULL || optind != argc)
		usage();
	return zones_generate(cfg, out, stdout, stderr) == 0 ? 0 : 1;
}

static int
cmd_demo_config(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "base-port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	char *end;
	long port = 2525;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    port < 1 || port > 65535) {
				fprintf(stderr, "mailscope: bad --base-port "
				    "'%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (out == NULL || optind != argc)
		usage();
	if (demo_config_write(out, (int)port, stderr) == -1)
		return 1;
	printf("%s/mailscope.conf\n", out);
	return 0;
}

int
main(int argc, char *argv[])
{
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
	if (strcmp(argv[0], "demo-config") == 0)
		return cmd_demo_config(argc, argv);

	if ((cfg = config_load(file, stderr)) == NULL)
		return 1;
	if (strcmp(argv[0], "check-config") == 0 && argc == 1)
		rc = 0;
	else if (strcmp(argv[0], "new-test") == 0)
		rc = cmd_new_test(cfg, argc, argv);
	else if (strcmp(argv[0], "certs") == 0)
		rc = cmd_certs(cfg, argc, argv);
	else if (strcmp(argv[0], "zones") == 0)
		rc = cmd_zones(cfg, argc, argv);
	else {
		fprintf(stderr, "mailscope: unknown command '%s'\n", argv[0]);
		rc = 2;
	}
	config_free(cfg);
	return rc;
}
