/* robust: the authors' l2 PGD on many points at once.
 *
 * At the paper's size (D = 1000, h = 2000) one PGD iterate is two
 * matrix-vector products of 2e6 multiply-adds; run point by point, the 15
 * radii x 2000 steps of the authors' curve cost hours per hundred points.
 * Here the iterates of every point still running are stacked, so the forward
 * product Z = (X + Delta) U^T and the gradient S U are two GEMMs.  Each point
 * follows exactly the iteration of ibc_robust_attack_pgd with no restarts (start at
 * 0, step along the normalised gradient, project on the ball, stop on a
 * certified flip, a zero gradient or a fixed point); only the summation
 * order of the dot products differs, so the double iterates may differ in
 * the last bits.  A reported flip is certified in ball arithmetic
 * (ibc_robust_rnet_flipped), so that difference never makes a wrong claim. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/gemm.h"

#define BATCH_CERT_PREC 128   /* as the single-point attack */

typedef struct {
    double best_m, cert_below;
    int cert_tried, running;
} pgd_point;

int ibc_robust_attack_pgd_batch(int *flipped, double *delta, const ibc_rnet *f, const double *X, const int *y, long B,
                                double eps, const ibc_pgd_opts *o, char *err)
{
    long D = f->D, h = f->h;
    double *xa = malloc(sizeof(double) * (size_t)(B * D)), *z = malloc(sizeof(double) * (size_t)(B * h));
    double *g = malloc(sizeof(double) * (size_t)(B * D)), *d = calloc((size_t)(B * D), sizeof(double));
    double *a = malloc(sizeof(double) * (size_t)h), *m = malloc(sizeof(double) * (size_t)B);
    long *act = malloc(sizeof(long) * (size_t)B);
    pgd_point *st = calloc((size_t)B, sizeof *st);
    if (!xa || !z || !g || !d || !a || !m || !act || !st) {
        free(xa), free(z), free(g), free(d), free(a), free(m), free(act), free(st);
        snprintf(err, IBC_ERRLEN, "batched PGD: out of memory for %ld points of dimension %ld", B, D);
        return IBC_ENUMERIC;
    }
    if (!(eps > 0) || !isfinite(eps))
        eps = 0;
    for (long j = 0; j < h; j++)
        a[j] = f->v[j] * f->wn[j];
    long na = B;
    for (long b = 0; b < B; b++) {
        act[b] = b;
        flipped[b] = 0;
        st[b].best_m = INFINITY;
        st[b].running = 1;
    }
    memset(delta, 0, sizeof(double) * (size_t)(B * D));
    for (long it = 0; na > 0; it++) {
        for (long q = 0; q < na; q++) {
            const double *x = X + act[q] * D, *dq = d + act[q] * D;
            for (long k = 0; k < D; k++)
                xa[q * D + k] = x[k] + dq[k];
        }
        ibc_prec_gemm_d(0, 1, na, h, D, xa, f->U, z);   /* z_qj = <x_q + d_q, u_j> */
        for (long q = 0; q < na; q++) {
            double out = 0, *zq = z + q * h;
            for (long j = 0; j < h; j++) {
                double t = zq[j];
                if (t <= 0) {
                    zq[j] = 0;   /* inactive, and sigma'(0) := 0 as in ibc_robust_rnet_grad_d */
                    continue;
                }
                double pw = t;
                if (f->pint)
                    for (long k = 1; k < f->pint; k++)
                        pw *= t;
                else
                    pw = pow(t, f->p);
                out += a[j] * pw;
                /* d/dx sigma(z)^p = p sigma(z)^(p-1) u: the coefficient of u_j */
                zq[j] = a[j] * (f->pint == 1 ? 1.0 : f->p * (f->pint ? pw / t : pow(t, f->p - 1)));
            }
            m[q] = y[act[q]] >= 0 ? out : -out;
        }
        ibc_prec_gemm_d(0, 0, na, D, h, z, f->U, g);   /* grad f at each iterate */
        long keep = 0;
        for (long q = 0; q < na; q++) {
            long b = act[q];
            pgd_point *s = st + b;
            double *dq = d + b * D, *gq = g + q * D, mq = m[q];
            int go = 1;
            if (mq < s->best_m) {
                s->best_m = mq;
                memcpy(delta + b * D, dq, sizeof(double) * (size_t)D);
            }
            /* Certify only when y f beats the last failed attempt (as pgd_run). */
            if (mq <= 0 && (!s->cert_tried || mq < s->cert_below)) {
                if (ibc_robust_rnet_flipped(f, X + b * D, dq, y[b], BATCH_CERT_PREC) == 1) {
                    memcpy(delta + b * D, dq, sizeof(double) * (size_t)D);
                    flipped[b] = 1;
                    go = 0;
                } else {
                    s->cert_tried = 1;
                    s->cert_below = mq;
                }
            }
            if (go && it >= o->steps)
                go = 0;
            double gn = 0;
            for (long k = 0; go && k < D; k++)
                gn += gq[k] * gq[k];
            gn = sqrt(gn);
            if (go && gn == 0)
                go = 0;   /* inactive region: PGD is stuck for good (masking) */
            if (go) {
                double sc = -(y[b] >= 0 ? 1.0 : -1.0) * o->step / gn, nn = 0;
                double *t = xa + q * D;   /* the iterate's row is free now */
                for (long k = 0; k < D; k++) {
                    t[k] = dq[k] + sc * gq[k];
                    nn += t[k] * t[k];
                }
                nn = sqrt(nn);
                if (nn > eps) {
                    double r = eps / nn;
                    for (long k = 0; k < D; k++)
                        t[k] *= r;
                }
                int moved = 0;
                for (long k = 0; k < D; k++) {
                    moved |= t[k] != dq[k];
                    dq[k] = t[k];
                }
                go = moved;   /* a fixed point of the step map stays fixed */
            }
            if (go)
                act[keep++] = b;
        }
        na = keep;
    }
    free(xa), free(z), free(g), free(d), free(a), free(m), free(act), free(st);
    return IBC_OK;
}
