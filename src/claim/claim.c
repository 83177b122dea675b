/* claim: result rows, verdicts, the shared configuration and its validation. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/claim.h"

/* Copies src into dst[size], cutting at a UTF-8 character boundary so that a
 * truncated "§" or "μ" never leaves half a character in a table cell. */
static void copy_trunc(char *dst, size_t size, const char *src)
{
    if (!src)
        src = "";
    size_t len = strlen(src);
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

ibc_verdict ibc_claim_alpha0_verdict(const ibc_config *cfg, ibc_verdict v)
{
    return cfg->model.alpha == 0 ? IBC_INFO : v;
}

void ibc_claim_rows_init(ibc_rows *r)
{
    r->row = NULL;
    r->n = 0;
    r->cap = 0;
}

void ibc_claim_rows_clear(ibc_rows *r)
{
    free(r->row);
    ibc_claim_rows_init(r);
}

ibc_row *ibc_claim_rows_add(ibc_rows *r, const char *claim, const char *what,
                            const char *precision, const char *measured, const char *bound,
                            const char *margin, ibc_verdict v, const char *source,
                            const char *params_fmt, ...)
{
    if (r->n == r->cap) {
        long cap = r->cap ? 2 * r->cap : 16;
        ibc_row *p = realloc(r->row, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        r->row = p;
        r->cap = cap;
    }
    ibc_row *row = &r->row[r->n];
    memset(row, 0, sizeof *row);
    copy_trunc(row->claim, sizeof row->claim, claim);
    copy_trunc(row->what, sizeof row->what, what);
    copy_trunc(row->precision, sizeof row->precision, precision);
    copy_trunc(row->measured, sizeof row->measured, measured);
    copy_trunc(row->bound, sizeof row->bound, bound);
    copy_trunc(row->margin, sizeof row->margin, margin);
    copy_trunc(row->source, sizeof row->source, source);
    row->verdict = v;
    /* Format into a roomier buffer first so the cut can respect UTF-8. */
    char buf[1024] = "";
    if (params_fmt) {
        va_list ap;
        va_start(ap, params_fmt);
        vsnprintf(buf, sizeof buf, params_fmt, ap);
        va_end(ap);
    }
    copy_trunc(row->params, sizeof row->params, buf);
    r->n++;
    return row;
}

const char *ibc_claim_verdict_name(ibc_verdict v)
{
    switch (v) {
    case IBC_HOLDS: return "holds";
    case IBC_REFUTED: return "REFUTED";
    case IBC_INFO: return "info";
    case IBC_FINDING: return "finding";
    }
    return "?";
}

int ibc_claim_rows_refuted(const ibc_rows *r)
{
    for (long i = 0; i < r->n; i++)
        if (r->row[i].verdict == IBC_REFUTED)
            return IBC_REFUTED;
    return IBC_HOLDS;
}

double ibc_claim_ls_slope(const double *x, const double *y, int n)
{
    /* One pass: the fits here have few, well-spread abscissae (log t over a
     * decade, log(1/eps) over a few values), so nothing that matters at the
     * claims' tolerances is lost to cancellation. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

double ibc_claim_loglog_slope(const double *x, const double *y, int n)
{
    double *u = malloc(sizeof(double) * (size_t)(2 * (n > 0 ? n : 1)));
    if (!u) abort();
    for (int i = 0; i < n; i++) {
        u[i] = log(x[i]);
        u[n + i] = log(y[i]);
    }
    double s = ibc_claim_ls_slope(u, u + n, n);
    free(u);
    return s;
}
