/*
 * libFuzzer target of the config parser (config_load): an input is the
 * text of mailscope.conf, written to a memory file read through its
 * /proc/self/fd name.  Beyond not crashing: every line the parser prints
 * is "FILE:LINE: error: ..." or "FILE:LINE: warning: ..." with LINE one
 * of the input's lines (a whole-file message, "FILE: ...", only for a
 * warning or a missing [global] key), a config is returned exactly when
 * no error was printed, and a returned config keeps the bounds its keys
 * promise (required keys present, the base domain lowercase without a
 * final dot, line_max 512 to 65536, limits above 0, every host section a
 * catalogue host, once, with an address).  Built and run by
 * tests/fuzz/run.
 */
#include "build.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fd = -1;	/* the memory file */
static char	 path[64];	/* its name */

/* WHAT is broken: a finding, the input kept as a crash. */
static void
broken(const char *what, const char *line)
{
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, line != NULL ? ": " :
	    "", line != NULL ? line : "");
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_config", 1, LOG_LVL_WARN);
	if ((fd = memfd_create("fuzz.conf", 0)) == -1)
		broken("memfd_create", NULL);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

/* The lines read_line() sees: ended by LF, the last one maybe not. */
static long
count_lines(const uint8_t *data, size_t size)
{
	long n = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return n + (size > 0 && data[size - 1] != '\n');
}

/*
 * One printed line: "PATH:N: error: " (1 <= N <= LINES) or warning;
 * without N a warning or the error of a missing [global] key.  Returns
 * 1 for an error.
 */
static int
check_message(const char *msg, long lines)
{
	const char *p;
	char *end;
	size_t plen = strlen(path);
	long n;

	if (strncmp(msg, path, plen) != 0 || msg[plen] != ':')
		broken("message without FILE", msg);
	p = msg + plen + 1;
	if (*p == ' ') {
		if (strncmp(p, " warning: ", 10) == 0)
			return 0;
		if (strncmp(p, " error: missing [global] ", 25) == 0)
			return 1;
		broken("error without LINE", msg);
	}
	n = strtol(p, &end, 10);
	if (end == p || *end != ':' || n < 1 || n > lines)
		broken("LINE not a line of the input", msg);
	if (strncmp(end, ": error: ", 9) == 0)
		return 1;
	if (strncmp(end, ": warning: ", 11) != 0)
		broken("neither error nor warning", msg);
	return 0;
}

/* What config.h and types.h promise of a config that loaded. */
static void
check_config(const struct config *cfg)
{
	size_t i, j, n, blen;

	if (cfg->base_domain == NULL || cfg->hostname == NULL ||
	    cfg->database == NULL || cfg->local_part == NULL)
		broken("required key missing", NULL);
	blen = strlen(cfg->base_domain);
	if (blen == 0 || cfg->base_domain[blen - 1] == '.' ||
	    strpbrk(cfg->base_domain, "ABCDEFGHIJKLMNOPQRSTUVWXYZ \t") != NULL)
		broken("base_domain not a lowercase name", cfg->base_domain);
	if (cfg->database[0] != '/')
		broken("database not absolute", cfg->database);
	if (cfg->line_max < 512 || cfg->line_max > 65536)
		broken("line_max out of bounds", NULL);
	if (cfg->max_connections == 0 || cfg->max_per_ip == 0 ||
	    cfg->max_recipients == 0 || cfg->max_errors == 0 ||
	    cfg->max_commands == 0 || cfg->max_message_size == 0 ||
	    cfg->max_header_size == 0 || cfg->timeout_command_ms == 0 ||
	    cfg->timeout_data_ms == 0 || cfg->timeout_tls_ms == 0)
		broken("a limit of 0", NULL);
	(void)catalog_hosts(&n);
	if (cfg->nhosts > n)
		broken("more hosts than the catalogue", NULL);
	for (i = 0; i < cfg->nhosts; i++) {
		if (catalog_host(cfg->hosts[i].name) == NULL)
			broken("host not in the catalogue", cfg->hosts[i].name);
		for (j = 0; j < i; j++)
			if (strcmp(cfg->hosts[i].name, cfg->hosts[j].name) ==
			    0)
				broken("host twice", cfg->hosts[i].name);
		if (cfg->hosts[i].nlisten + cfg->hosts[i].nchlisten == 0)
			broken("host without an address", cfg->hosts[i].name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char *out = NULL, *line, *nl;
	size_t outlen = 0;
	FILE *errs;
	long lines;
	int nerrors = 0;

	if (ftruncate(fd, 0) == -1 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		broken("writing the memory file", NULL);
	if ((errs = open_memstream(&out, &outlen)) == NULL)
		broken("open_memstream", NULL);
	cfg = config_load(path, errs);
	if (fclose(errs) != 0)
		broken("open_memstream", NULL);
	lines = count_lines(data, size);
	if (outlen > 0 && out[outlen - 1] != '\n')
		broken("message not ended by a newline", out);
	for (line = out; line < out + outlen; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		nerrors += check_message(line, lines);
	}
	if ((cfg == NULL) != (nerrors > 0))
		broken(cfg == NULL ? "no config without an error" :
		    "a config despite errors", NULL);
	if (cfg != NULL)
		check_config(cfg);
	config_free(cfg);
	free(out);
	return 0;
}
