/*
 * The database file's owner and mode (the operator issue): mailscoped
 * opens the store only after dropping to the config's user, so a
 * database that root's first `mailscope new-test` created would be
 * unreadable or read-only for it.  The command-line tool creates the
 * file itself, 0600 and owned by that user, before SQLite opens it;
 * SQLite, run as root, gives its -wal and -shm files the database's
 * owner (os_unix.c, robustFchown), and dbowner_finish() checks.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbowner.h"

#define DB_MODE		0600
#define DB_DIR_MODE	0750

/* The uid and gid of CFG's user when run as root with one: 1, 0 or -1. */
static int
db_user(const struct config *cfg, uid_t *uid, gid_t *gid, FILE *errs)
{
	struct passwd *pw;

	if (geteuid() != 0 || cfg->user == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		fprintf(errs, "mailscope: user %s: %s\n", cfg->user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 1;
}

/* Whether UID (group GID) may create files in the directory ST. */
static int
dir_writable(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return (st->st_mode & S_IWUSR) && (st->st_mode & S_IXUSR);
	if (st->st_gid == gid)
		return (st->st_mode & S_IWGRP) && (st->st_mode & S_IXGRP);
	return (st->st_mode & S_IWOTH) && (st->st_mode & S_IXOTH);
}

/*
 * The directory of PATH into DIR: made when it is missing (one level,
 * DB_DIR_MODE, given to the user AS), and checked that the user can
 * create the database's -wal and -shm files there.
 */
static int
db_dir(const char *path, int as, uid_t uid, gid_t gid, FILE *errs)
{
	char dir[PATH_MAX];
	const char *slash;
	struct stat st;

	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		fprintf(errs, "mailscope: %s: path too long\n", path);
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, DB_DIR_MODE) == -1 ||
		    (as && chown(dir, uid, gid) == -1) ||
		    stat(dir, &st) == -1) {
			fprintf(errs, "mailscope: %s: cannot create the "
			    "database's directory: %s\n", dir,
			    strerror(errno));
			return -1;
		}
	}
	if (as && !dir_writable(&st, uid, gid))
		fprintf(errs, "mailscope: warning: %s: the user of the config "
		    "cannot create files here: mailscoped (as that user) "
		    "cannot make %s-wal and will fail; give the directory "
		    "to the user\n", dir, path);
	return 0;
}

int
dbowner_prepare(const struct config *cfg, FILE *errs)
{
	struct passwd *pw;
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	int as, fd;

	if ((as = db_user(cfg, &uid, &gid, errs)) == -1)
		return -1;
	if (lstat(cfg->database, &st) == 0) {
		if (as && st.st_uid != uid)
			fprintf(errs, "mailscope: warning: %s is owned by uid "
			    "%ld, not by user %s: mailscoped (as %s) may "
			    "not write it; chown it to %s\n", cfg->database,
			    (long)st.st_uid, cfg->user, cfg->user, cfg->user);
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(errs, "mailscope: %s: %s\n", cfg->database,
		    strerror(errno));
		return -1;
	}
	if (db_dir(cfg->database, as, uid, gid, errs) == -1)
		return -1;
	fd = open(cfg->database, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, DB_MODE);
	if (fd == -1 || fchmod(fd, DB_MODE) == -1 ||
	    (as && fchown(fd, uid, gid) == -1)) {
		fprintf(errs, "mailscope: %s: cannot create the database: "
		    "%s\n", cfg->database, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(cfg->database);
		}
		return -1;
	}
	close(fd);
	if (!as && cfg->user != NULL && ((pw = getpwnam(cfg->user)) == NULL ||
	    pw->pw_uid != geteuid()))
		fprintf(errs, "mailscope: warning: %s was created by uid %ld, "
		    "not by user %s: mailscoped (as %s) cannot write it; run "
		    "mailscope as root or as %s, or chown it\n", cfg->database,
		    (long)geteuid(), cfg->user, cfg->user, cfg->user);
	return 0;
}

void
dbowner_finish(const struct config *cfg, FILE *errs)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char path[PATH_MAX];
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	size_t i;
	int n;

	if (db_user(cfg, &uid, &gid, errs) != 1)
		return;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		n = snprintf(path, sizeof(path), "%s%s", cfg->database,
		    suffixes[i]);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_uid == uid)
			continue;
		if (lchown(path, uid, gid) == -1)
			fprintf(errs, "mailscope: warning: %s: cannot give it "
			    "to user %s: %s\n", path, cfg->user,
			    strerror(errno));
	}
}
