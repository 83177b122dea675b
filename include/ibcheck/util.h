/* util: the ground floor's file output, used by every layer that writes a
 * file (netio, the trained-network cache, report, repro, the CLI): a file is
 * never left half-written and what a path points to is never destroyed. */
#ifndef IBCHECK_UTIL_H
#define IBCHECK_UTIL_H
#include <stdio.h>
#include "ibcheck/prec.h"   /* IBC_OK, IBC_EIO, IBC_ERRLEN */

/* Writer callback for ibc_util_write_atomic: returns 0, or nonzero to abort. */
typedef int (*ibc_util_write_fn)(FILE *out, void *ctx);
/* Writes path without ever destroying what is there.  "-" is standard
 * output (flushed, not closed).  A symlink is followed to its final target
 * (which need not exist yet), and that target is written as path would be.
 * A regular file, or none: fn writes a temporary "PATH.tmp.<pid>.XXXXXX"
 * beside it, which is flushed, fsync'ed and renamed over it; on failure the
 * temporary is removed and the file untouched.  A FIFO, device or socket is
 * written in place (no temporary, no rename).  A directory is refused.
 * Returns IBC_OK, or IBC_EIO + one line in err. */
int ibc_util_write_atomic(const char *path, ibc_util_write_fn fn, void *ctx, char *err);
/* Removes the temporaries of path (after its symlinks) that killed runs left:
 * "PATH.tmp.<pid>[.*]" whose pid is no live process.  Returns how many. */
long ibc_util_stale_clean(const char *path);
/* The same for every file of one directory that a tool of ours owns (a
 * results directory): "NAME.tmp.<pid>[.*]" with a dead pid, any NAME. */
long ibc_util_stale_clean_dir(const char *dir);

#endif
