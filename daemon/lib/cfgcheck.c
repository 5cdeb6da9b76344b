/*
 * mailscoped -t beyond the syntax: the checks of what the start needs
 * from this machine, each problem FILE:LINE: error: (or warning:) as
 * config.c prints them.  Main thread, before anything starts.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ifaddrs.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "catalog.h"
#include "cfgcheck.h"
#include "filelimit.h"
#include "netaddr.h"

#define NAME_MAX_LEN	256

/* One run: the config, where to print, the errors so far. */
struct check {
	const struct config	*cfg;		/* borrowed */
	FILE			*out;		/* borrowed */
	int			 errors;
};

static void
diag(struct check *c, int line, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
diag(struct check *c, int line, int error, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		fprintf(c->out, "%s:%d: %s: ", c->cfg->file, line,
		    error ? "error" : "warning");
	else
		fprintf(c->out, "%s: %s: ", c->cfg->file,
		    error ? "error" : "warning");
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
	if (error)
		c->errors++;
}

/* "[ host  "tls" ]" -> "host tls" into BUF. */
static void
section_name(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	int space = 0;

	for (s++; *s != '\0' && *s != ']' && o + 1 < len; s++) {
		if (isspace((unsigned char)*s) || *s == '"') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < len)
			buf[o++] = ' ';
		space = 0;
		buf[o++] = *s;
	}
	buf[o] = '\0';
}

/*
 * The line of KEY in SECTION ("global", "host tls", "web") of the config
 * file (its first), or 0: the loaded config keeps no line for most keys.
 */
static int
key_line(const struct check *c, const char *section, const char *key)
{
	char buf[1024], sect[128] = "";
	size_t klen = strlen(key);
	int n = 0, found = 0;
	const char *p;
	FILE *f;

	if ((f = fopen(c->cfg->file, "r")) == NULL)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f) != NULL) {
		n++;
		for (p = buf; isspace((unsigned char)*p); p++)
			;
		if (*p == '[') {
			section_name(p, sect, sizeof(sect));
			continue;
		}
		if (strcmp(sect, section) != 0 || strncmp(p, key, klen) != 0)
			continue;
		for (p += klen; *p == ' ' || *p == '\t'; p++)
			;
		found = *p == '=' || *p == ':';
	}
	(void)fclose(f);
	return found ? n : 0;
}

/* The first certificate of PEM file PATH, or NULL with WHY. */
static X509 *
load_cert(const char *path, char *why, size_t len)
{
	X509 *x;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		(void)snprintf(why, len, "%s", strerror(errno));
		return NULL;
	}
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		(void)snprintf(why, len, "no PEM certificate (%s)",
		    ERR_reason_error_string(ERR_peek_last_error()));
	(void)fclose(f);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *
load_key(const char *path, char *why, size_t len)
{
	EVP_PKEY *k;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		(void)snprintf(why, len, "%s", strerror(errno));
		return NULL;
	}
	if ((k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		(void)snprintf(why, len, "no PEM private key (%s)",
		    ERR_reason_error_string(ERR_peek_last_error()));
	(void)fclose(f);
	ERR_clear_error();
	return k;
}

/* X's names miss NAME: a warning naming the section and file. */
static void
want_name(struct check *c, int line, const char *label, const char *file,
    X509 *x, const char *name)
{
	if (X509_check_host(x, name, 0, 0, NULL) != 1)
		diag(c, line, 0, "%s certificate %s does not cover %s: senders "
		    "that check names see a mismatch", label, file, name);
}

/*
 * The names HOST's certificates must cover (certs.c makes them): the MX
 * of each challenge on it (a per-test one, mx-<id>.dns.<base>, for the
 * delegated challenge), the config's hostname; with HOST NULL, the web's:
 * mta-sts.<challenge>.<base> of each challenge with a policy.
 */
static void
want_names(struct check *c, int line, const char *label, const char *file,
    X509 *x, const char *host)
{
	const struct catalog_challenge *ch;
	const char *base = c->cfg->base_domain;
	char name[NAME_MAX_LEN];
	size_t n, i;
	int idx;

	ch = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (host == NULL) {
			if ((ch[i].flags & (CH_STS_LF | CH_STS_CRLF |
			    CH_STS_MISMATCH)) == 0)
				continue;
			(void)snprintf(name, sizeof(name), "mta-sts.%s.%s",
			    ch[i].name, base);
			want_name(c, line, label, file, x, name);
			continue;
		}
		for (idx = 0; idx < 2; idx++) {
			if (ch[i].hosts[idx] == NULL ||
			    strcmp(ch[i].hosts[idx], host) != 0)
				continue;
			if (ch[i].flags & CH_DELEGATED)
				(void)snprintf(name, sizeof(name),
				    CATALOG_TEST_MX_PREFIX "%s.%s.%s",
				    "aaaaaaaaaaaaaaaaaaaaaaaaaa", ch[i].name,
				    base);
			else if (catalog_mx_name(&ch[i], idx, base, name,
			    sizeof(name)) == -1)
				continue;
			want_name(c, line, label, file, x, name);
		}
	}
	if (host != NULL)
		want_name(c, line, label, file, x, c->cfg->hostname);
}

/*
 * Each certificate of the list CERTS with its key of KEYS (config.c
 * checked that both lists have as many readable files): they match, the
 * key is no one else's to read (tls.c refuses it), the certificate is
 * not expired and covers its names -- unless the catalogue made the host
 * expired and mismatched on purpose (CERT_BAD).
 */
static void
check_pairs(struct check *c, const char *section, const char *label,
    const char *certs, const char *keys, const char *host)
{
	const struct catalog_host *ch = host != NULL ? catalog_host(host) :
	    NULL;
	char *cl, *kl, *cs, *ks, *cf, *kf, why[256];
	int cline = key_line(c, section, "certificate");
	int kline = key_line(c, section, "key");
	int bad = ch != NULL && ch->cert == CERT_BAD;
	struct stat st;
	EVP_PKEY *k;
	X509 *x;

	if ((cl = strdup(certs)) == NULL || (kl = strdup(keys)) == NULL) {
		free(cl);
		diag(c, 0, 1, "out of memory");
		return;
	}
	for (cf = strtok_r(cl, " \t", &cs), kf = strtok_r(kl, " \t", &ks);
	    cf != NULL && kf != NULL;
	    cf = strtok_r(NULL, " \t", &cs), kf = strtok_r(NULL, " \t", &ks)) {
		if ((x = load_cert(cf, why, sizeof(why))) == NULL) {
			diag(c, cline, 1, "%s certificate %s: %s", label, cf,
			    why);
			continue;
		}
		if ((k = load_key(kf, why, sizeof(why))) == NULL)
			diag(c, kline, 1, "%s key %s: %s", label, kf, why);
		else if (X509_check_private_key(x, k) != 1)
			diag(c, kline, 1, "%s key %s does not match certificate "
			    "%s", label, kf, cf);
		ERR_clear_error();
		if (stat(kf, &st) == 0 && (st.st_mode & S_IROTH))
			diag(c, kline, 1, "%s key %s: anyone may read it "
			    "(mode %04o): chmod o-r it", label, kf,
			    (unsigned)(st.st_mode & 07777));
		if (!bad && X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
			diag(c, cline, 0, "%s certificate %s has expired",
			    label, cf);
		if (!bad)
			want_names(c, cline, label, cf, x, host);
		EVP_PKEY_free(k);
		X509_free(x);
	}
	free(cl);
	free(kl);
}

static void
check_tls(struct check *c)
{
	const struct config *cfg = c->cfg;
	char section[80], label[80];
	size_t i;

	for (i = 0; i < cfg->nhosts; i++) {
		const struct host_conf *h = &cfg->hosts[i];

		if (h->certificate == NULL || h->key == NULL)
			continue;
		(void)snprintf(section, sizeof(section), "host %s", h->name);
		(void)snprintf(label, sizeof(label), "[host %s]", h->name);
		check_pairs(c, section, label, h->certificate, h->key,
		    h->name);
	}
	if (cfg->web.present && cfg->web.certificate != NULL &&
	    cfg->web.key != NULL)
		check_pairs(c, "web", "[web]", cfg->web.certificate,
		    cfg->web.key, NULL);
}

/*
 * Whether the daemon can do MODE (access(2)) on PATH: as the configured
 * user when root will drop to it (a child process takes its ids), else
 * as we are.  1 yes, 0 no (errno's text in WHY), -1 the check failed.
 */
static int
can_access(const struct passwd *pw, const char *path, int mode, char *why,
    size_t len)
{
	int status, rc;
	pid_t pid;

	if (pw == NULL) {
		rc = access(path, mode) == 0;
		if (!rc)
			(void)snprintf(why, len, "%s", strerror(errno));
		return rc;
	}
	if ((pid = fork()) == -1) {
		(void)snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (setgroups(1, &pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			_exit(2);
		_exit(access(path, mode) == 0 ? 0 : errno == EACCES ||
		    errno == EPERM || errno == EROFS ? 1 : 3);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 2) {
		(void)snprintf(why, len, "cannot take the user's ids");
		return -1;
	}
	if (WEXITSTATUS(status) == 0)
		return 1;
	(void)snprintf(why, len, "%s", WEXITSTATUS(status) == 1 ?
	    "permission denied" : "no such file or directory");
	return 0;
}

/* The directory of PATH into BUF ("/" for "/x"). */
static void
dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 0 : (size_t)(slash - path);

	if (n == 0)
		n = slash == NULL ? 0 : 1;
	if (n >= len)
		n = len - 1;
	memcpy(buf, slash == NULL ? "." : path, slash == NULL ? 1 : n);
	buf[slash == NULL ? 1 : n] = '\0';
}

/*
 * The user exists; the database's directory (for its journal and WAL)
 * and the database, its WAL and shared memory, where they exist, can be
 * written by it; the log file can be reopened by it after a rotation.
 */
static void
check_user_files(struct check *c)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	const struct config *cfg = c->cfg;
	const struct passwd *pw = NULL;
	char dir[4096], path[4200], why[256], who[80];
	struct stat st;
	size_t i;
	int line;

	if (cfg->user != NULL) {
		line = key_line(c, "global", "user");
		if ((pw = getpwnam(cfg->user)) == NULL) {
			diag(c, line, 1, "user %s: no such user", cfg->user);
			return;
		}
		/* the unit runs it as the user already: nothing to say */
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			diag(c, line, 0, "not root: the daemon keeps uid %d "
			    "and ignores user %s; checking as uid %d",
			    (int)getuid(), cfg->user, (int)getuid());
			pw = NULL;
		} else if (geteuid() != 0)
			pw = NULL;
	}
	if (pw == NULL)
		(void)snprintf(who, sizeof(who), "uid %d", (int)getuid());
	else
		(void)snprintf(who, sizeof(who), "user %s", pw->pw_name);
	line = key_line(c, "global", "database");
	dir_of(cfg->database, dir, sizeof(dir));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		diag(c, line, 1, "database directory %s: %s", dir,
		    stat(dir, &st) == -1 ? strerror(errno) :
		    "not a directory");
	else if (can_access(pw, dir, W_OK | X_OK, why, sizeof(why)) != 1)
		diag(c, line, 1, "database directory %s: not writable by %s "
		    "(%s): SQLite creates its journal and WAL there", dir, who,
		    why);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s%s", cfg->database,
		    suffix[i]);
		if (stat(path, &st) == -1)
			continue;
		if (can_access(pw, path, R_OK | W_OK, why, sizeof(why)) != 1)
			diag(c, line, 1, "database %s: not readable and "
			    "writable by %s (%s; owner uid %d, mode %04o): "
			    "chown it to the user", path, who, why,
			    (int)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	if (cfg->log_file == NULL)
		return;
	line = key_line(c, "global", "log_file");
	dir_of(cfg->log_file, dir, sizeof(dir));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		diag(c, line, 1, "log_file directory %s: %s", dir,
		    stat(dir, &st) == -1 ? strerror(errno) :
		    "not a directory");
	else if (can_access(pw, dir, W_OK | X_OK, why, sizeof(why)) != 1)
		diag(c, line, 0, "log_file directory %s: not writable by %s "
		    "(%s): the log cannot be reopened after a rotation", dir,
		    who, why);
}

/*
 * Whether the address A (LEN bytes) is IF's, or, on a loopback
 * interface, in its prefix: Linux makes all of 127.0.0.0/8 local.
 */
static int
addr_match(const unsigned char *a, const unsigned char *ifa,
    const unsigned char *mask, size_t len, int loopback)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char m = loopback && mask != NULL ? mask[i] : 0xff;

		if ((a[i] & m) != (ifa[i] & m))
			return 0;
	}
	return 1;
}

/* Whether SA's address is one of IFS's (or unspecified: any). */
static int
addr_here(const struct ifaddrs *ifs, const struct sockaddr *sa)
{
	const struct ifaddrs *i;
	const unsigned char *a, *ia, *m;
	size_t len;
	int lo;

	if (netaddr_is_unspecified(sa))
		return 1;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family !=
		    sa->sa_family)
			continue;
		lo = (i->ifa_flags & IFF_LOOPBACK) != 0;
		if (sa->sa_family == AF_INET) {
			a = (const unsigned char *)
			    &((const struct sockaddr_in *)sa)->sin_addr;
			ia = (const unsigned char *)
			    &((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
			m = i->ifa_netmask == NULL ? NULL :
			    (const unsigned char *)&((const struct sockaddr_in *)
			    i->ifa_netmask)->sin_addr;
			len = sizeof(struct in_addr);
		} else {
			a = (const unsigned char *)
			    &((const struct sockaddr_in6 *)sa)->sin6_addr;
			ia = (const unsigned char *)&((const struct sockaddr_in6 *)
			    i->ifa_addr)->sin6_addr;
			m = i->ifa_netmask == NULL ? NULL :
			    (const unsigned char *)&((const struct sockaddr_in6 *)
			    i->ifa_netmask)->sin6_addr;
			len = sizeof(struct in6_addr);
		}
		if (addr_match(a, ia, m, len, lo))
			return 1;
	}
	return 0;
}

static void
check_addrs(struct check *c, const struct ifaddrs *ifs, const char *section,
    const char *key, int line, const struct listen_addr *a, size_t n)
{
	size_t i;

	if (line == 0)
		line = key_line(c, section, key);
	for (i = 0; i < n; i++)
		if (!addr_here(ifs, (const struct sockaddr *)&a[i].ss))
			diag(c, line, 0, "[%s] %s %s: no such address on this "
			    "machine (binding it fails)", section, key,
			    a[i].text);
}

/* Like Postfix's check: an address no interface has is a warning. */
static void
check_listen(struct check *c)
{
	const struct config *cfg = c->cfg;
	struct ifaddrs *ifs;
	char section[80];
	size_t i, j;

	if (getifaddrs(&ifs) == -1) {
		diag(c, 0, 0, "getifaddrs: %s: listen addresses not checked",
		    strerror(errno));
		return;
	}
	for (i = 0; i < cfg->nhosts; i++) {
		const struct host_conf *h = &cfg->hosts[i];

		(void)snprintf(section, sizeof(section), "host %s", h->name);
		check_addrs(c, ifs, section, "listen", 0, h->listen,
		    h->nlisten);
		for (j = 0; j < h->nchlisten; j++)
			check_addrs(c, ifs, section, "challenge_listen",
			    h->chlisten[j].line, &h->chlisten[j].addr, 1);
	}
	if (cfg->web.present) {
		check_addrs(c, ifs, "web", "listen", 0, cfg->web.listen,
		    cfg->web.nlisten);
		check_addrs(c, ifs, "web", "http_listen", 0,
		    cfg->web.http_listen, cfg->web.nhttp_listen);
	}
	if (cfg->dns.present)
		check_addrs(c, ifs, "dns", "listen", 0, cfg->dns.listen,
		    cfg->dns.nlisten);
	freeifaddrs(ifs);
}

int
cfgcheck_run(const struct config *cfg, FILE *out)
{
	struct check c = { cfg, out, 0 };
	char msg[512];

	check_tls(&c);
	check_user_files(&c);
	check_listen(&c);
	if (filelimit_fit(cfg, 0, msg, sizeof(msg)) == -1)
		diag(&c, key_line(&c, "global", "max_connections"), 1, "%s",
		    msg);
	return c.errors;
}
