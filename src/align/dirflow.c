/* align: the population direction flow of docs/theory.md §6 and the classifier of
 * where a direction ends up. */
#include <math.h>
#include <stdlib.h>
#include "align_internal.h"

/* dc = sgn (g - lambda c), dr = -sgn lambda r, lambda = <g, c>.  u = (c, r e)
 * with e a fixed unit vector orthogonal to every center: grad G has no
 * component along e, so e's direction never changes and only r moves. */
static void field_d(const ibc_align_flow_ctx *fc, const ibc_vec *y, ibc_vec *dy)
{
    const ibc_align_problem *pb = fc->pb;
    const long K = pb->K;
    double *g = malloc(sizeof(double) * (size_t)K);
    ibc_align_grad_d(NULL, g, pb, y->d);
    double lam = 0;
    for (long k = 0; k < K; k++) lam += g[k] * y->d[k];
    for (long k = 0; k < K; k++) dy->d[k] = (double)fc->sgn * (g[k] - lam * y->d[k]);
    dy->d[K] = -(double)fc->sgn * lam * y->d[K];
    free(g);
}

/* The same in MPFR at y's precision, with correctly rounded moments. */
static void field_mpfr(const ibc_align_flow_ctx *fc, const ibc_vec *y, ibc_vec *dy)
{
    const ibc_align_problem *pb = fc->pb;
    const long K = pb->K;
    const mpfr_prec_t w = (mpfr_prec_t)y->pr.bits + 16;
    mpfr_ptr g = malloc(sizeof(__mpfr_struct) * (size_t)K);
    mpfr_t s, lam, t;
    mpfr_inits2(w, s, lam, t, (mpfr_ptr)0);
    for (long k = 0; k < K; k++) mpfr_init2(g + k, w);
    /* s = alpha / sqrt(D) */
    mpfr_set_si(s, pb->D, MPFR_RNDN);
    mpfr_rec_sqrt(s, s, MPFR_RNDN);
    mpfr_mul_d(s, s, pb->alpha, MPFR_RNDN);
    mpfr_set_zero(lam, 1);
    for (long k = 0; k < K; k++) {
        ibc_align_moment_mpfr(g + k, pb->p - 1, y->m + k, s, MPFR_RNDN);
        mpfr_mul_si(g + k, g + k, pb->p * ibc_align_label(pb, k), MPFR_RNDN);
        mpfr_div_si(g + k, g + k, pb->K, MPFR_RNDN);
        mpfr_fma(lam, g + k, y->m + k, lam, MPFR_RNDN);
    }
    for (long k = 0; k < K; k++) {
        mpfr_mul(t, lam, y->m + k, MPFR_RNDN);
        mpfr_sub(t, g + k, t, MPFR_RNDN);
        if (fc->sgn < 0) mpfr_neg(t, t, MPFR_RNDN);
        mpfr_set(dy->m + k, t, MPFR_RNDN);
    }
    mpfr_mul(t, lam, y->m + K, MPFR_RNDN);
    if (fc->sgn > 0) mpfr_neg(t, t, MPFR_RNDN);
    mpfr_set(dy->m + K, t, MPFR_RNDN);
    for (long k = 0; k < K; k++) mpfr_clear(g + k);
    free(g);
    mpfr_clears(s, lam, t, (mpfr_ptr)0);
}

void ibc_align_flow_field(void *ctx, double t, const ibc_vec *y, ibc_vec *dy)
{
    (void)t;
    if (y->pr.mode == IBC_DOUBLE) field_d(ctx, y, dy);
    else field_mpfr(ctx, y, dy);
}

/* |y| = 1 again (RK4 keeps it only to the method's order), and the norm of
 * the Riemannian gradient sqrt(|g - lambda c|^2 + lambda^2 r^2) there. */
static double renormalize(const ibc_align_problem *pb, ibc_vec *y)
{
    const long K = pb->K;
    mpfr_t a, nr;
    mpfr_inits2(y->pr.mode == IBC_DOUBLE ? 64 : (mpfr_prec_t)y->pr.bits + 16, a, nr, (mpfr_ptr)0);
    mpfr_set_zero(nr, 1);
    for (long i = 0; i <= K; i++) {
        ibc_prec_vec_get_mpfr(a, y, i);
        mpfr_fma(nr, a, a, nr, MPFR_RNDN);
    }
    mpfr_rec_sqrt(nr, nr, MPFR_RNDN);
    for (long i = 0; i <= K; i++) {
        ibc_prec_vec_get_mpfr(a, y, i);
        mpfr_mul(a, a, nr, MPFR_RNDN);
        ibc_prec_vec_set_mpfr(y, i, a);
    }
    mpfr_clears(a, nr, (mpfr_ptr)0);
    double *c = malloc(sizeof(double) * (size_t)(K + 1)), *g = malloc(sizeof(double) * (size_t)K);
    for (long i = 0; i <= K; i++) c[i] = ibc_prec_vec_get_d(y, i);
    ibc_align_grad_d(NULL, g, pb, c);
    double lam = 0, gn = 0;
    for (long k = 0; k < K; k++) lam += g[k] * c[k];
    for (long k = 0; k < K; k++) gn += (g[k] - lam * c[k]) * (g[k] - lam * c[k]);
    gn += lam * lam * c[K] * c[K];
    free(c);
    free(g);
    return sqrt(gn);
}

void ibc_align_flow_run(const ibc_align_problem *pb, int sgn, ibc_vec *y, double h, double chunk,
                        double t_max, double tol, double *t_used, double *gnorm)
{
    ibc_align_flow_ctx fc = {.pb = pb, .sgn = sgn};
    double t = 0, gn = renormalize(pb, y);
    long nsteps = (long)ceil(chunk / h);
    if (nsteps < 1) nsteps = 1;
    while (t < t_max && !(gn < tol)) {
        ibc_flow_rk4_field(ibc_align_flow_field, &fc, y, t, t + chunk, nsteps);
        t += chunk;
        gn = renormalize(pb, y);
    }
    if (t_used) *t_used = t;
    if (gnorm) *gnorm = gn;
}

ibc_align_class ibc_align_classify(const double *cosk, long K, long K1, double thr)
{
    ibc_align_class r = {.kind = IBC_ALIGN_OTHER, .k = -1, .cos = -INFINITY};
    long best = 0;
    double sp = 0, sm = 0;
    for (long k = 0; k < K; k++) {
        if (cosk[k] > cosk[best]) best = k;
        if (k < K1) sp += cosk[k];
        else sm += cosk[k];
    }
    /* cos(u, mu_+/sqrt(K1)) = sum_{k in K+} cos(u, mu_k)/sqrt(K1) (orthonormal centers) */
    sp /= sqrt((double)K1);
    sm /= sqrt((double)(K - K1));
    r.cos = cosk[best];
    if (cosk[best] > thr) {
        r.kind = IBC_ALIGN_CENTER;
        r.k = best;
    } else if (sp > thr || sm > thr) {
        r.kind = IBC_ALIGN_CLASS_AVG;
        r.k = sp > sm ? 1 : -1;
        r.cos = sp > sm ? sp : sm;
    } else if (cosk[best] <= 0) {
        r.kind = IBC_ALIGN_DEAD;
    }
    return r;
}
