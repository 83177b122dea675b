/* report: the table of checked claims in md, csv, tex (booktabs) or json. */
#ifndef IBCHECK_REPORT_H
#define IBCHECK_REPORT_H
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/util.h"   /* ibc_util_write_atomic: report callers write files */

typedef enum { IBC_FMT_MD = 0, IBC_FMT_CSV, IBC_FMT_TEX, IBC_FMT_JSON } ibc_format;

/* Parses "md", "csv", "tex" or "json" into f; on anything else IBC_EINPUT and
 * one line in err naming the value and the allowed set. */
int ibc_report_format_parse(ibc_format *f, const char *s, char *err);
/* Writes all rows as one table.  Returns 0, or -1 on a write error. */
int ibc_report_rows(FILE *out, const ibc_rows *rows, ibc_format fmt);
/* The name ibc_report_format_parse accepts for f ("md", "csv", "tex", "json"). */
const char *ibc_report_format_name(ibc_format f);

/* The five-panel figure of MV24 §5.1 (src/report/plot.c) from the summary
 * files in dir (see src/repro/run.c for their columns): figure.png and
 * figure.svg, written atomically.  K draws the 1/sqrt K marker.  Returns
 * IBC_OK, IBC_EIO with err, or IBC_ENOTOOL when gnuplot is not installed
 * (err then says so; nothing is written). */
#define IBC_ENOTOOL 5
int ibc_report_plot_repro(const char *dir, long K, char *err);

#endif
