/* robust: a radius bracket at one point.  The lower end is a certificate
 * (certify.c), the upper end the smallest certified flip over every attack
 * (attack.c); the plain-PGD estimate is kept beside it, because for p > 1 it
 * is gradient-masked and may lie above the true radius (docs/theory.md §7, Caution). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"

void ibc_robust_bracket_init(ibc_bracket *b, long D)
{
    memset(b, 0, sizeof *b);
    b->hi = b->hi_pgd = b->hi_struct = INFINITY;
    b->delta = calloc((size_t)(D > 0 ? D : 1), sizeof(double));
}

void ibc_robust_bracket_clear(ibc_bracket *b)
{
    free(b->delta);
    b->delta = NULL;
}

int ibc_robust_bracket_compute(ibc_bracket *b, const ibc_rnet *f, const double *x, int y, double tmax,
                               const ibc_pgd_opts *o, char *err)
{
    long D = f->D;
    ibc_cert_result cr;
    int rc = ibc_robust_certify_radius(&cr, f, x, y, tmax, err);
    if (rc != IBC_OK)
        return rc;
    b->lo = cr.lo;
    b->lo_ibp = cr.lo_ibp;
    b->misclassified = cr.misclassified;
    memset(b->delta, 0, (size_t)D * sizeof(double));
    if (cr.misclassified) {
        /* The radius of a misclassified point is 0 by definition (the inf
         * over flips includes delta = 0): an answer, not an error. */
        b->hi = b->hi_pgd = b->hi_struct = 0;
        return IBC_OK;
    }
    double *tmp = malloc((size_t)D * sizeof(double));
    if (!tmp) {
        snprintf(err, IBC_ERRLEN, "bracket: out of memory for D = %ld", D);
        return IBC_ENUMERIC;
    }
    b->hi_struct = f->K > 0 ? ibc_robust_attack_structured(b->delta, f, x, y, tmax) : INFINITY;
    b->hi = b->hi_struct;
    double h = ibc_robust_attack_minnorm(tmp, f, x, y, tmax, o);
    if (h < b->hi) {
        b->hi = h;
        memcpy(b->delta, tmp, (size_t)D * sizeof(double));
    }
    b->hi_pgd = ibc_robust_attack_minnorm_pgd(tmp, f, x, y, tmax, o);
    if (b->hi_pgd < b->hi) {   /* PGD may win where it is not masked (p = 1) */
        b->hi = b->hi_pgd;
        memcpy(b->delta, tmp, (size_t)D * sizeof(double));
    }
    free(tmp);
    return ibc_robust_bracket_check(b, f->name, err);
}

int ibc_robust_bracket_check(const ibc_bracket *b, const char *name, char *err)
{
    /* Both ends are certified, so lo > hi can only be a bug in one of them:
     * a numerical failure, not bad input. */
    if (b->lo > b->hi) {
        snprintf(err, IBC_ERRLEN,
                 "bracket: certified lower bound %.17g exceeds the certified attack %.17g on %s", b->lo,
                 b->hi, name);
        return IBC_ENUMERIC;
    }
    return IBC_OK;
}
