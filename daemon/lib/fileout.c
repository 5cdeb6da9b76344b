/*
 * Atomic file output for the command-line tool: a temporary file made
 * with mkstemp() (O_EXCL, 0600: a key is never readable by others, not
 * even for a moment), its mode set, written, fsync()ed, renamed into
 * place.  Blocks; never called on the daemon's event loop.
 */
#include "build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileout.h"

/* What fileout_write_data() hands its writer. */
struct fileout_data {
	const void	*data;		/* borrowed */
	size_t		 len;
};

int
fileout_write(const char *path, mode_t mode,
    int (*writer)(FILE *, const void *), const void *arg, char *err,
    size_t errlen)
{
	char	 tmp[PATH_MAX];
	FILE	*fp;
	int	 fd, n, saved;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(saved));
		return -1;
	}
	if (writer(fp, arg) == -1) {
		saved = errno;
		if (ferror(fp))
			snprintf(err, errlen, "%s: cannot write: %s", path,
			    strerror(saved));
		else
			snprintf(err, errlen, "%s: cannot encode", path);
		fclose(fp);
		unlink(tmp);
		return -1;
	}
	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		saved = errno;
		fclose(fp);
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(saved));
		return -1;
	}
	if (fclose(fp) == EOF) {
		saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(saved));
		return -1;
	}
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "%s: cannot rename %s: %s", path, tmp,
		    strerror(saved));
		return -1;
	}
	return 0;
}

static int
fileout_data_writer(FILE *fp, const void *arg)
{
	const struct fileout_data *d = arg;

	if (d->len > 0 && fwrite(d->data, 1, d->len, fp) != d->len)
		return -1;
	return 0;
}

int
fileout_write_data(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen)
{
	struct fileout_data d = { data, len };

	return fileout_write(path, mode, fileout_data_writer, &d, err,
	    errlen);
}

int
fileout_mkdir(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct stat	st;

	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}
