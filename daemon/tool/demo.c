/*
 * demo-config: a complete loopback configuration under one folder
 * (127.0.0.1 and ::1, consecutive ports in catalogue order; addresses of
 * their own for the challenges), with its certificates, for the quick
 * start and the integration tests.  Runs in the command-line tool.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "certs.h"
#include "demo.h"

#define DEMO_BASE		"measure.test"
#define DEMO_HOSTNAME		"mx." DEMO_BASE
#define DEMO_GREYLIST_DELAY	"5s"	/* seconds, so tests can wait */
#define DEMO_PORT_MAX		65535
/* 127.0.1.N: a challenge's own IPv4 address (all of 127/8 is loopback) */
#define DEMO_CHALLENGE_NET	"127.0.1."

static const char *const starttls_names[] = {
	[STARTTLS_OFF] = "off",
	[STARTTLS_OPTIONAL] = "optional",
	[STARTTLS_REQUIRED] = "required",
};

static void	demo_error(FILE *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
demo_error(FILE *errs, const char *fmt, ...)
{
	va_list	ap;

	if (errs == NULL)
		return;
	fputs("demo-config: ", errs);
	va_start(ap, fmt);
	vfprintf(errs, fmt, ap);
	va_end(ap);
	fputc('\n', errs);
}

static void
demo_listen(FILE *fp, int port)
{
	fprintf(fp, "listen      = 127.0.0.1:%d [::1]:%d\n", port, port);
}

/* Whether host NAME serves challenge CH (as its first or second MX). */
static int
demo_serves(const struct catalog_challenge *ch, const char *name)
{
	return strcmp(ch->hosts[0], name) == 0 ||
	    (ch->hosts[1] != NULL && strcmp(ch->hosts[1], name) == 0);
}

/*
 * The challenge_listen lines of host H on PORT: each challenge it serves
 * gets 127.0.1.N:PORT (an MX with A records) and [::1]:*PORT6 (with AAAA
 * records; *PORT6 counts on).  The same address names the challenge on
 * every host of it (sts-2mx-*): the port tells them apart.
 */
static void
demo_challenges(FILE *fp, const struct catalog_host *h, int port, int *port6)
{
	const struct catalog_challenge	*ch;
	size_t				 n, i;

	ch = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (!demo_serves(&ch[i], h->name))
			continue;
		fprintf(fp, "challenge_listen = %s", ch[i].name);
		if (ch[i].family != MX_AAAA)
			fprintf(fp, " " DEMO_CHALLENGE_NET "%zu:%d", i + 1, port);
		if (ch[i].family != MX_A)
			fprintf(fp, " [::1]:%d", (*port6)++);
		fputc('\n', fp);
	}
}

/* The ports of challenge_listen on ::1: one per AAAA MX of a challenge. */
static int
demo_port6_count(void)
{
	const struct catalog_challenge	*ch;
	size_t				 n, i;
	int				 count = 0;

	ch = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		if (ch[i].family != MX_A)
			count += ch[i].hosts[1] != NULL ? 2 : 1;
	return count;
}

int
demo_port_count(void)
{
	size_t	nh;

	catalog_hosts(&nh);
	return (int)nh + 2 + demo_port6_count();
}

/* The RSA and the ECDSA certificate of NAME, in that order. */
static void
demo_certs(FILE *fp, const char *name)
{
	fprintf(fp, "certificate = certs/%s.rsa.pem certs/%s.ecdsa.pem\n",
	    name, name);
	fprintf(fp, "key         = certs/%s.rsa.key certs/%s.ecdsa.key\n",
	    name, name);
}

/*
 * The whole file; the caller checks ferror().  Its paths are relative:
 * config_load() takes them from the file's directory, so the folder may
 * be moved and its lines stay short however deep it is.
 */
static void
demo_conf(FILE *fp, int port)
{
	const struct catalog_host	*h;
	size_t				 nh, i;
	int				 port6;

	fputs("; mailscope demo configuration (loopback), written by "
	    "mailscope demo-config\n", fp);
	fputs("[global]\n", fp);
	fputs("base_domain = " DEMO_BASE "\n", fp);
	fputs("hostname    = " DEMO_HOSTNAME "\n", fp);
	fputs("database    = mailscope.db\n", fp);
	fputs("local_part  = measure\n", fp);
	fputs("wait        = 1h\n", fp);
	/* the one thing of the demo that may leave loopback: say so */
	fputs("; The analysis (SPF, DKIM, DMARC, the client's names) asks "
	    "the nameservers\n"
	    "; of /etc/resolv.conf, which may not be on loopback "
	    "(mailscoped says so at\n"
	    "; start).  To stay on loopback, without those lookups:\n"
	    ";resolver   = off\n", fp);

	h = catalog_hosts(&nh);
	port6 = port + (int)nh + 2;	/* after [web] and [dns] */
	for (i = 0; i < nh; i++, port++) {
		fprintf(fp, "\n[host %s]\n", h[i].name);
		demo_listen(fp, port);
		demo_challenges(fp, &h[i], port, &port6);
		fprintf(fp, "starttls    = %s\n",
		    starttls_names[h[i].starttls]);
		if (h[i].starttls != STARTTLS_OFF) {
			demo_certs(fp, h[i].name);
			fprintf(fp, "protocols   = %s\n", h[i].protocols);
			fprintf(fp, "ciphers     = %s\n", h[i].ciphers);
		}
		if (h[i].greylist)
			fputs("greylist_delay = " DEMO_GREYLIST_DELAY "\n", fp);
	}

	fputs("\n[web]\n", fp);
	demo_listen(fp, port++);
	demo_certs(fp, "web");

	fputs("\n[dns]\n", fp);
	demo_listen(fp, port);
}

/* DIR/mailscope.conf through a temporary file and rename(2), mode 0644. */
static int
demo_conf_write(const char *dir, int base_port, FILE *errs)
{
	char	 path[PATH_MAX], tmp[PATH_MAX];
	FILE	*fp;
	int	 fd, n, saved;

	n = snprintf(path, sizeof(path), "%s/mailscope.conf", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		demo_error(errs, "%s: path too long", dir);
		return -1;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		demo_error(errs, "%s: path too long", dir);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		demo_error(errs, "%s: cannot write: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlink(tmp);
		demo_error(errs, "%s: cannot write: %s", path, strerror(saved));
		return -1;
	}
	demo_conf(fp, base_port);
	if (ferror(fp) || fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		saved = errno;
		fclose(fp);
		unlink(tmp);
		demo_error(errs, "%s: cannot write: %s", path, strerror(saved));
		return -1;
	}
	if (fclose(fp) == EOF) {
		saved = errno;
		unlink(tmp);
		demo_error(errs, "%s: cannot write: %s", path, strerror(saved));
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		demo_error(errs, "%s: cannot rename %s: %s", path, tmp,
		    strerror(saved));
		return -1;
	}
	return 0;
}

int
demo_config_write(const char *dir, int base_port, FILE *errs)
{
	char		 certs[PATH_MAX];
	char		*abs = NULL;
	struct stat	 st;
	int		 n, last, rc = -1;

	/* One port per host, [web], [dns], then the challenges' on ::1. */
	last = DEMO_PORT_MAX - demo_port_count() + 1;
	if (base_port < 1 || base_port > last) {
		demo_error(errs, "base port %d out of range: it needs %d "
		    "consecutive ports (every host, web, dns, the challenges "
		    "on ::1), so 1 to %d", base_port, demo_port_count(), last);
		return -1;
	}
	if (dir == NULL || *dir == '\0') {
		demo_error(errs, "no directory");
		return -1;
	}

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		demo_error(errs, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		demo_error(errs, "%s: not a directory", dir);
		return -1;
	}
	if ((abs = realpath(dir, NULL)) == NULL) {
		demo_error(errs, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/*
	 * config_load() joins the relative certificate and key paths to this
	 * directory, and those values are lists split at white space.
	 */
	if (strpbrk(abs, " \t\n\r\f\v") != NULL) {
		demo_error(errs, "%s: the config file cannot hold a path with "
		    "white space", abs);
		goto out;
	}

	n = snprintf(certs, sizeof(certs), "%s/certs", abs);
	if (n < 0 || (size_t)n >= sizeof(certs)) {
		demo_error(errs, "%s: path too long", abs);
		goto out;
	}
	if (certs_generate(DEMO_BASE, DEMO_HOSTNAME, certs, 0,
	    errs) == -1)
		goto out;
	if (demo_conf_write(abs, base_port, errs) == -1)
		goto out;
	rc = 0;

 out:
	free(abs);
	return rc;
}
