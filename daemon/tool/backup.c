/*
 * mailscope backup (backup.h).  The source is read in one read
 * transaction: in WAL mode the daemon's writer goes on committing beside
 * it (a reader never blocks a writer), and the copy is the database as it
 * was when the backup began.  The tool's thread.
 */
#include "build.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"

#define BACKUP_USAGE	"usage: mailscope [-c FILE] backup FILE [--force]\n"
#define BACKUP_BUSY_MS	5000
#define BACKUP_PAGES	1024	/* pages copied by one backup step */

static const struct option backup_opts[] = {
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

/* fsync(2) of PATH's directory, so that the new name survives a crash. */
static int
backup_sync_dir(const char *path)
{
	char	 dir[PATH_MAX];
	char	*slash;
	int	 fd, rc;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		(void)snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	(void)close(fd);
	return rc;
}

/*
 * Copies SRC (the whole database, read in one transaction) into DST, in
 * steps of BACKUP_PAGES pages.  0, or -1 with the message in ERR.
 */
static int
backup_copy(sqlite3 *src, sqlite3 *dst, int *pages, char *err, size_t errlen)
{
	sqlite3_backup	*b;
	int		 rc;

	/* a read transaction: one snapshot, whatever the daemon commits */
	if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master",
	    NULL, NULL, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s", sqlite3_errmsg(src));
		return -1;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		(void)snprintf(err, errlen, "%s", sqlite3_errmsg(dst));
		(void)sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	while ((rc = sqlite3_backup_step(b, BACKUP_PAGES)) == SQLITE_OK ||
	    rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		if (rc != SQLITE_OK)
			(void)sqlite3_sleep(10);
	*pages = sqlite3_backup_pagecount(b);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE) {
		(void)snprintf(err, errlen, "%s", rc != SQLITE_DONE ?
		    sqlite3_errstr(rc) : sqlite3_errmsg(dst));
		(void)sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	(void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	return 0;
}

/* PRAGMA integrity_check of DB: 0 when "ok", else -1 with its first row. */
static int
backup_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt		*s;
	const unsigned char	*v;
	int			 rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s,
	    NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW) {
		v = sqlite3_column_text(s, 0);
		if (v != NULL && strcmp((const char *)v, "ok") == 0)
			rc = 0;
		else
			(void)snprintf(err, errlen, "integrity_check: %s",
			    v != NULL ? (const char *)v : "?");
	} else
		(void)snprintf(err, errlen, "integrity_check: %s",
		    sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc;
}

/*
 * The copy of DATABASE into TMP (an empty file of ours, 0600), checked,
 * in rollback-journal mode so that it is one file.  0 or -1 with ERR.
 */
static int
backup_to(const char *database, const char *tmp, int *pages, char *err,
    size_t errlen)
{
	sqlite3	*src = NULL, *dst = NULL;
	int	 rc = -1;

	/* read-only: never creates, migrates or writes (as export) */
	if (sqlite3_open_v2(database, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_busy_timeout(src, BACKUP_BUSY_MS) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", database, src != NULL ?
		    sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", tmp, dst != NULL ?
		    sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	if (backup_copy(src, dst, pages, err, errlen) == -1)
		goto out;
	/* the copy holds the WAL flag of its source: one file instead */
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", tmp,
		    sqlite3_errmsg(dst));
		goto out;
	}
	rc = backup_check(dst, err, errlen);
out:
	sqlite3_close(src);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == 0) {
		(void)snprintf(err, errlen, "%s: close failed", tmp);
		rc = -1;
	}
	return rc;
}

int
backup_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	char		 tmp[PATH_MAX], msg[PATH_MAX + 512];
	const char	*target;
	struct stat	 sb;
	int		 ch, fd, force = 0, pages = 0;

	/* 0: getopt_long() starts afresh after main()'s "+c:" */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", backup_opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		default:
			fputs(BACKUP_USAGE, err);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(BACKUP_USAGE, err);
		return 2;
	}
	target = argv[optind];
	if (!force && lstat(target, &sb) == 0) {
		fprintf(err, "mailscope: backup: %s exists (--force replaces "
		    "it)\n", target);
		return 1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", target) >=
	    (int)sizeof(tmp)) {
		fprintf(err, "mailscope: backup: %s: name too long\n", target);
		return 1;
	}
	/* mkstemp(3): 0600, ours, in the target's directory */
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(err, "mailscope: backup: %s: %s\n", tmp,
		    strerror(errno));
		return 1;
	}
	(void)close(fd);
	if (backup_to(cfg->database, tmp, &pages, msg, sizeof(msg)) == -1) {
		fprintf(err, "mailscope: backup: %s\n", msg);
		goto fail;
	}
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) == -1 || fsync(fd) == -1 ||
	    fchmod(fd, 0600) == -1) {
		fprintf(err, "mailscope: backup: %s: %s\n", tmp,
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		goto fail;
	}
	(void)close(fd);
	/* without --force, link(2) refuses a target made in the meantime */
	if (force ? rename(tmp, target) == -1 : link(tmp, target) == -1) {
		fprintf(err, "mailscope: backup: %s: %s\n", target,
		    strerror(errno));
		goto fail;
	}
	if (!force)
		(void)unlink(tmp);
	if (backup_sync_dir(target) == -1) {
		fprintf(err, "mailscope: backup: %s: directory not synced: "
		    "%s\n", target, strerror(errno));
		return 1;
	}
	printf("backup: %s: %d pages, integrity_check ok\n", target, pages);
	return 0;

fail:
	(void)unlink(tmp);
	return 1;
}
