/*
 * The database's owner and mode: whoever runs mailscope first, the file
 * is created 0600 and owned by the config's user, which mailscoped
 * drops to before it opens the store.
 */
#ifndef MAILSCOPE_DBOWNER_H
#define MAILSCOPE_DBOWNER_H

#include <stdio.h>

#include "types.h"

/*
 * Before the store is opened: when the database of CFG does not exist,
 * creates it empty, mode 0600, and (run as root with a user in the
 * config) owned by that user, and its directory when that is missing
 * too.  Warns on ERRS when the user will not be able to write the
 * database or create its -wal and -shm files beside it.  0, or -1
 * (reported: the user does not exist, the file cannot be made).
 */
int	dbowner_prepare(const struct config *cfg, FILE *errs);

/*
 * After the store is closed: a -wal or -shm file left beside the
 * database, when run as root with a user, is given to that user.
 */
void	dbowner_finish(const struct config *cfg, FILE *errs);

#endif /* MAILSCOPE_DBOWNER_H */
