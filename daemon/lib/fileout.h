/*
 * Files the command-line tool writes (certificates, keys, zone files):
 * atomically, with their mode set before the first byte, and the
 * directories that hold them.  Blocks: never on the daemon's event loop.
 */
#ifndef MAILSCOPE_FILEOUT_H
#define MAILSCOPE_FILEOUT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>

/*
 * Writes PATH with MODE through a temporary file in the same directory
 * and rename(2), so that a reader sees the old file or the new one,
 * never half of one.  WRITER fills the file from ARG: 0, or -1 (with the
 * stream's error set if it failed to write, else "cannot encode").
 * 0, or -1 with "PATH: reason" in ERR.
 */
int	fileout_write(const char *path, mode_t mode,
	    int (*writer)(FILE *, const void *arg), const void *arg,
	    char *err, size_t errlen);
/* fileout_write() of the LEN bytes of DATA. */
int	fileout_write_data(const char *path, mode_t mode, const void *data,
	    size_t len, char *err, size_t errlen);
/* PATH as a directory with MODE if it is missing.  0, or -1 with ERR. */
int	fileout_mkdir(const char *path, mode_t mode, char *err,
	    size_t errlen);

#endif /* MAILSCOPE_FILEOUT_H */
