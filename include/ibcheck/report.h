/* report: the table of checked claims in md, csv, tex (booktabs) or json. */
#ifndef IBCHECK_REPORT_H
#define IBCHECK_REPORT_H
#include <stdio.h>
#include "ibcheck/claim.h"

typedef enum { IBC_FMT_MD = 0, IBC_FMT_CSV, IBC_FMT_TEX, IBC_FMT_JSON } ibc_format;

/* Parses "md", "csv", "tex" or "json" into f; on anything else IBC_EINPUT and
 * one line in err naming the value and the allowed set. */
int ibc_format_parse(ibc_format *f, const char *s, char *err);
/* Writes all rows as one table.  Returns 0, or -1 on a write error. */
int ibc_report_rows(FILE *out, const ibc_rows *rows, ibc_format fmt);
/* The name ibc_format_parse accepts for f ("md", "csv", "tex", "json"). */
const char *ibc_format_name(ibc_format f);

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

/* The five-panel figure of MV24 §5.1 (src/report/plot.c) from the summary
 * files in dir (see src/repro/run.c for their columns): figure.png and
 * figure.svg, written atomically.  K draws the 1/sqrt K marker.  Returns
 * IBC_OK, IBC_EIO with err, or IBC_ENOTOOL when gnuplot is not installed
 * (err then says so; nothing is written). */
#define IBC_ENOTOOL 5
int ibc_plot_repro(const char *dir, long K, char *err);

#endif
