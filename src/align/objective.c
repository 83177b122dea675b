/* align: the population objective G_p on the sphere and its derivatives, in
 * K coordinates (docs/theory.md §6). */
#include <math.h>
#include <stdio.h>
#include "align_internal.h"

void ibc_align_problem_set(ibc_align_problem *pb, const ibc_model_params *par, long p)
{
    pb->K = par->K;
    pb->K1 = par->K1;
    pb->p = p;
    pb->alpha = par->alpha;
    pb->D = par->D;
}

int ibc_align_problem_check(const ibc_align_problem *pb, char *err)
{
    if (pb->K1 < 1 || pb->K1 >= pb->K || pb->D < pb->K) {
        snprintf(err, IBC_ERRLEN, "align: need 1 <= K1 < K <= D, got K1 = %ld, K = %ld, D = %ld",
                 pb->K1, pb->K, pb->D);
        return IBC_EINPUT;
    }
    if (pb->p < 1 || pb->p > 64) {
        snprintf(err, IBC_ERRLEN, "align: exponent p = %ld is out of range: need integer 1 <= p <= 64",
                 pb->p);
        return IBC_EINPUT;
    }
    if (!(pb->alpha >= 0) || !isfinite(pb->alpha)) {
        snprintf(err, IBC_ERRLEN, "align: alpha = %g is out of range: need finite alpha >= 0", pb->alpha);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

int ibc_align_problem_init(ibc_align_problem *pb, const ibc_model_params *par, long p, char *err)
{
    ibc_align_problem_set(pb, par, p);
    return ibc_align_problem_check(pb, err);
}

void ibc_align_s_arb(arb_t s, const ibc_align_problem *pb, slong prec)
{
    arb_t d;
    arb_init(d);
    arb_set_d(s, pb->alpha);        /* alpha is exactly this double */
    arb_set_si(d, pb->D);
    arb_rsqrt(d, d, prec);
    arb_mul(s, s, d, prec);
    arb_clear(d);
}

int ibc_align_label(const ibc_align_problem *pb, long k) { return k < pb->K1 ? 1 : -1; }

/* out_k = (1/K) y_k d^j/dm^j M_p(c_k, s): G (j = 0, summed by the caller),
 * the gradient (j = 1) and the Hessian diagonal (j = 2) share this. */
static int per_center(arb_ptr out, const ibc_align_problem *pb, long j, arb_srcptr c, slong prec)
{
    arb_t s;
    arb_init(s);
    ibc_align_s_arb(s, pb, prec + 16);
    int rc = IBC_OK;
    for (long k = 0; k < pb->K && rc == IBC_OK; k++) {
        rc = ibc_align_moment_dm_arb(out + k, pb->p, j, c + k, s, prec + 8);
        arb_div_si(out + k, out + k, pb->K * ibc_align_label(pb, k), prec + 8);
    }
    arb_clear(s);
    return rc;
}

int ibc_align_G_arb(arb_t G, const ibc_align_problem *pb, arb_srcptr c, slong prec)
{
    arb_ptr t = _arb_vec_init(pb->K);
    int rc = per_center(t, pb, 0, c, prec);
    arb_zero(G);
    for (long k = 0; k < pb->K; k++) arb_add(G, G, t + k, prec);
    _arb_vec_clear(t, pb->K);
    return rc;
}

int ibc_align_grad_arb(arb_ptr g, const ibc_align_problem *pb, arb_srcptr c, slong prec)
{
    return per_center(g, pb, 1, c, prec);
}

int ibc_align_hess_diag_arb(arb_ptr h, const ibc_align_problem *pb, arb_srcptr c, slong prec)
{
    return per_center(h, pb, 2, c, prec);
}

int ibc_align_rgrad_arb(arb_ptr rg, arb_t lambda, const ibc_align_problem *pb, arb_srcptr c,
                        slong prec)
{
    arb_ptr g = _arb_vec_init(pb->K);
    arb_t lam;
    arb_init(lam);
    int rc = ibc_align_grad_arb(g, pb, c, prec);
    arb_dot(lam, NULL, 0, g, 1, c, 1, pb->K, prec);
    for (long k = 0; k < pb->K; k++) {
        arb_mul(rg + k, lam, c + k, prec);
        arb_sub(rg + k, g + k, rg + k, prec);
    }
    if (lambda) arb_set(lambda, lam);
    arb_clear(lam);
    _arb_vec_clear(g, pb->K);
    return rc;
}

int ibc_align_rhess_arb(arb_mat_t H, const ibc_align_problem *pb, arb_srcptr c, slong prec)
{
    const long K = pb->K;
    arb_ptr g = _arb_vec_init(K), h = _arb_vec_init(K), Pc = _arb_vec_init(K);
    arb_t lam, t;
    arb_init(lam);
    arb_init(t);
    int rc = ibc_align_grad_arb(g, pb, c, prec);
    if (rc == IBC_OK) rc = ibc_align_hess_diag_arb(h, pb, c, prec);
    arb_dot(lam, NULL, 0, g, 1, c, 1, K, prec);
    /* A = diag(h) - lambda I;  P A P = A - c (A c)^T - (A c) c^T + (c^T A c) c c^T */
    arb_ptr Ac = Pc;
    for (long k = 0; k < K; k++) {
        arb_sub(t, h + k, lam, prec);
        arb_mul(Ac + k, t, c + k, prec);
    }
    arb_t cAc;
    arb_init(cAc);
    arb_dot(cAc, NULL, 0, c, 1, Ac, 1, K, prec);
    for (long i = 0; i < K; i++)
        for (long j = 0; j < K; j++) {
            arb_ptr e = arb_mat_entry(H, i, j);
            if (i == j) arb_sub(e, h + i, lam, prec);
            else arb_zero(e);
            arb_submul(e, c + i, Ac + j, prec);
            arb_submul(e, Ac + i, c + j, prec);
            arb_mul(t, c + i, c + j, prec);
            arb_addmul(e, cAc, t, prec);
        }
    arb_clear(cAc);
    arb_clear(lam);
    arb_clear(t);
    _arb_vec_clear(g, K);
    _arb_vec_clear(h, K);
    _arb_vec_clear(Pc, K);
    return rc;
}

int ibc_align_grad_d(double *G, double *g, const ibc_align_problem *pb, const double *c)
{
    const double s = pb->alpha / sqrt((double)pb->D);
    int rc = IBC_OK;
    double sum = 0;
    for (long k = 0; k < pb->K; k++) {
        double w = (double)ibc_align_label(pb, k) / (double)pb->K, v;
        if (G) {
            ibc_align_moment_d(&v, pb->p, c[k], s);
            if (!isfinite(v)) rc = IBC_ENUMERIC;
            sum += w * v;
        }
        if (g) {
            ibc_align_moment_d(&v, pb->p - 1, c[k], s);
            if (!isfinite(v)) rc = IBC_ENUMERIC;
            g[k] = w * (double)pb->p * v;
        }
    }
    if (G) *G = sum;
    return rc;
}
