/* robust: the classifier every attack and certificate reads.  F, F^(p) and a
 * trained network are all pReLU networks (docs/theory.md §2, §4), so one evaluator
 * serves them; the unit is ||w|| sigma(<x, w^>)^p (docs/theory.md §2's stable form). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"
#include "directed.h"
#include "prec/gemm.h"

static ibc_rnet *rnet_alloc(long h, long D, double p, long K, long K1)
{
    ibc_rnet *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->h = h;
    f->D = D;
    f->p = p;
    f->pint = (p == floor(p) && p <= 64) ? (long)p : 0;
    f->K = K;
    f->K1 = K1;
    f->W = calloc((size_t)(h * D), sizeof(double));
    f->U = calloc((size_t)(h * D), sizeof(double));
    f->v = calloc((size_t)h, sizeof(double));
    f->wn = calloc((size_t)h, sizeof(double));
    f->mu = K > 0 ? calloc((size_t)(K * D), sizeof(double)) : NULL;
    if (!f->W || !f->U || !f->v || !f->wn || (K > 0 && !f->mu)) {
        ibc_robust_rnet_free(f);
        return NULL;
    }
    return f;
}

/* Norms and unit directions, rounded: used by the double-speed attacks only;
 * certificates recompute them in balls from the exact W. */
static void rnet_normalize(ibc_rnet *f)
{
    for (long j = 0; j < f->h; j++) {
        const double *w = f->W + j * f->D;
        double s = 0;
        for (long d = 0; d < f->D; d++)
            s += w[d] * w[d];
        f->wn[j] = sqrt(s);
        for (long d = 0; d < f->D; d++)
            f->U[j * f->D + d] = f->wn[j] > 0 ? w[d] / f->wn[j] : 0.0;
    }
}

ibc_rnet *ibc_robust_rnet_from_net(const ibc_net *net, const ibc_vec *theta, const ibc_data *data)
{
    long h = net->h, D = net->D;
    ibc_rnet *f = rnet_alloc(h, D, net->par.p, data ? data->par.K : 0, data ? data->par.K1 : 0);
    if (!f)
        return NULL;
    for (long i = 0; i < h * D; i++)
        f->W[i] = ibc_prec_vec_get_d(theta, i);
    for (long j = 0; j < h; j++)
        f->v[j] = ibc_prec_vec_get_d(theta, h * D + j);
    if (data) {
        ibc_vec mu;
        ibc_model_data_centers(&mu, data, ibc_prec_double());
        memcpy(f->mu, mu.d, (size_t)(f->K * D) * sizeof(double));
        ibc_prec_vec_clear(&mu);
    }
    char pb[24];
    if (theta->pr.mode == IBC_DOUBLE)
        snprintf(f->name, sizeof f->name, "f_%g (trained)", f->p);
    else
        snprintf(f->name, sizeof f->name, "f_%g (%s, rounded)", f->p, ibc_prec_str(theta->pr, pb));
    rnet_normalize(f);
    return f;
}

ibc_rnet *ibc_robust_rnet_ideal(ibc_ideal_kind kind, long D, long K, long K1, double p)
{
    long h = kind == IBC_IDEAL_F ? 2 : K;
    ibc_rnet *f = rnet_alloc(h, D, kind == IBC_IDEAL_F ? 1.0 : p, K, K1);
    if (!f)
        return NULL;
    for (long k = 0; k < K; k++)
        f->mu[k * D + k] = 1.0;
    if (kind == IBC_IDEAL_F) {
        /* sigma(<x, mu+>) - sigma(<x, mu->): w = mu+- unnormalised, so that
         * ||w|| sigma(<x, w^>) = sigma(<x, w>). */
        for (long k = 0; k < K; k++)
            f->W[(k < K1 ? 0 : 1) * D + k] = 1.0;
        f->v[0] = 1.0;
        f->v[1] = -1.0;
        snprintf(f->name, sizeof f->name, "F");
    } else {
        for (long k = 0; k < K; k++) {
            f->W[k * D + k] = 1.0;
            f->v[k] = k < K1 ? 1.0 : -1.0;
        }
        snprintf(f->name, sizeof f->name, "F^(%g)", p);
    }
    rnet_normalize(f);
    return f;
}

void ibc_robust_rnet_free(ibc_rnet *f)
{
    if (!f)
        return;
    free(f->W);
    free(f->U);
    free(f->v);
    free(f->wn);
    free(f->mu);
    free(f);
}

/* sigma(z)^p in double; for p = 1 the power is the identity, so the
 * pow(0, 0) trap of docs/theory.md §3 cannot arise here. */
double ibc_robust_rnet_sigma_pow_d(const ibc_rnet *f, double z)
{
    if (z <= 0)
        return 0.0;
    if (f->pint) {
        double r = z;
        for (long k = 1; k < f->pint; k++)
            r *= z;
        return r;
    }
    return pow(z, f->p);
}

double ibc_robust_rnet_eval_d(const ibc_rnet *f, const double *x)
{
    return ibc_robust_rnet_grad_d(f, x, NULL);
}

double ibc_robust_rnet_units_d(const ibc_rnet *f, double *coef)
{
    double out = 0;
    for (long j = 0; j < f->h; j++) {
        double a = f->v[j] * f->wn[j], zj = coef[j];
        if (zj <= 0) {
            coef[j] = 0;   /* inactive: contributes nothing, and sigma'(0) := 0 */
            continue;
        }
        out += a * ibc_robust_rnet_sigma_pow_d(f, zj);
        /* d/dz sigma(z)^p = p sigma(z)^(p-1) */
        coef[j] = a * (f->pint == 1 ? 1.0 : f->p * (f->pint ? ibc_robust_rnet_sigma_pow_d(f, zj) / zj : pow(zj, f->p - 1)));
    }
    return out;
}

double ibc_robust_rnet_forward_d(const ibc_rnet *f, const double *x, double *coef)
{
    ibc_prec_gemv_d(0, f->h, f->D, f->U, x, coef);   /* z_j = <x, u_j> */
    return ibc_robust_rnet_units_d(f, coef);
}

void ibc_robust_rnet_backward_d(const ibc_rnet *f, const double *coef, double *grad)
{
    ibc_prec_gemv_d(1, f->h, f->D, f->U, coef, grad);   /* grad = sum_j coef_j u_j */
}

double ibc_robust_rnet_grad_d(const ibc_rnet *f, const double *x, double *grad)
{
    /* Two matrix-vector products through the BLAS (the attacks call this
     * hundreds of times per point: at the paper's size the scalar loops were
     * most of a bracket). */
    double cs[256], *coef = f->h <= 256 ? cs : malloc(sizeof(double) * (size_t)f->h);
    if (!coef)
        return NAN;
    double out = ibc_robust_rnet_forward_d(f, x, coef);
    if (grad)
        ibc_robust_rnet_backward_d(f, coef, grad);
    if (coef != cs)
        free(coef);
    return out;
}

void ibc_robust_rnet_margin_arb(arb_t res, const ibc_rnet *f, const double *x, const double *delta,
                                int y, slong prec)
{
    long D = f->D;
    arb_t s, n2, t, e, xd;
    arb_init(s);
    arb_init(n2);
    arb_init(t);
    arb_init(e);
    arb_init(xd);
    arb_set_d(e, f->p);
    arb_zero(res);
    for (long j = 0; j < f->h; j++) {
        const double *w = f->W + j * D;
        arb_zero(s);
        arb_zero(n2);
        for (long d = 0; d < D; d++) {
            if (w[d] == 0)
                continue;
            arb_set_d(xd, x[d]);
            if (delta) {
                arb_set_d(t, delta[d]);
                arb_add(xd, xd, t, prec);
            }
            arb_set_d(t, w[d]);
            arb_addmul(s, xd, t, prec);
            arb_addmul(n2, t, t, prec);
        }
        if (arb_is_zero(n2))
            continue;
        arb_sqrt(n2, n2, prec);          /* ||w_j|| */
        arb_div(s, s, n2, prec);         /* <x, w^_j> */
        ibc_ideal_sigma_pow_arb(s, s, e, prec);
        arb_mul(s, s, n2, prec);
        arb_set_d(t, f->v[j]);
        arb_mul(s, s, t, prec);
        arb_add(res, res, s, prec);
    }
    if (y < 0)
        arb_neg(res, res);
    arb_clear(s);
    arb_clear(n2);
    arb_clear(t);
    arb_clear(e);
    arb_clear(xd);
}

/* ||w|| from q = sum w_i^2 (plain double sum, directed.h's bounds):
 * returns 0 when the lower end is not > 0. */
static int norm_enclose(double q, long D, double *nl, double *nh)
{
    *nh = ibc_robust_up(sqrt(ibc_robust_sumsq_up(q, D)));
    double l2 = ibc_robust_sumsq_dn(q, D);
    *nl = l2 > 0 ? ibc_robust_dn(sqrt(l2)) : 0.0;
    return *nl > 0;
}

/* <x + delta, w> / ||w|| from s = sum xd_i w_i, where xd = x + delta rounded
 * has norm at most xn: the true x + delta differs from xd by at most
 * 2^-52 |xd_i| per entry, so |s - <x + delta, w>| <= (gamma_D + 2^-52)
 * xn ||w|| (+ underflow). */
static void proj_enclose(double s, double xn, long D, double nl, double nh, double *zl, double *zu)
{
    double e = ibc_robust_up(ibc_robust_up(ibc_robust_up(ibc_robust_gamma(D) + 0x1p-52) * ibc_robust_up(xn * nh)) + ibc_robust_underflow(D));
    double sl = ibc_robust_dn(s - e), sh = ibc_robust_up(s + e);
    *zl = sl >= 0 ? ibc_robust_dn(sl / nh) : ibc_robust_dn(sl / nl);
    *zu = sh >= 0 ? ibc_robust_up(sh / nl) : ibc_robust_up(sh / nh);
}

void ibc_robust_rnet_proj_enclose(const ibc_rnet *f, const double *x, const double *nl, const double *nh, double *zl,
                                  double *zu)
{
    long D = f->D, h = f->h;
    ibc_prec_gemv_d(0, h, D, f->W, x, zl);   /* zl_j = <x, w_j> rounded, any order */
    double xn2 = 0, lo, xn;
    for (long d = 0; d < D; d++)
        xn2 += x[d] * x[d];
    norm_enclose(xn2, D, &lo, &xn);
    for (long j = 0; j < h; j++) {
        if (!(nl[j] > 0) || !isfinite(xn)) {
            zl[j] = -INFINITY;
            zu[j] = INFINITY;
            continue;
        }
        proj_enclose(zl[j], xn, D, nl[j], nh[j], zl + j, zu + j);
    }
}

/* One neuron's term of y f: a ||w|| sigma(z)^p from the enclosures [zl, zu]
 * of z = <x + delta, w^> and [nlo, nhi] of ||w|| (a = y v_j), added to the
 * running sum: its midpoint by TwoSum into (S, C), |midpoint| into A, its
 * radius upward into R (margin_sum_close finishes the bound). */
typedef struct {
    double S, C, A, R;
} margin_acc;

static void margin_sum_add(margin_acc *m, const ibc_rnet *f, double a, double zl, double zu, double nlo,
                           double nhi)
{
    /* sigma(z)^p >= 0 */
    double pl = zl > 0 ? ibc_robust_pow_dir(zl, f->pint, -1) : 0.0, ph = zu > 0 ? ibc_robust_pow_dir(zu, f->pint, 1) : 0.0;
    double ml = ibc_robust_dn(nlo * pl), mh = ibc_robust_up(nhi * ph);
    double tl = a > 0 ? ibc_robust_dn(a * ml) : ibc_robust_dn(a * mh), th = a > 0 ? ibc_robust_up(a * mh) : ibc_robust_up(a * ml);
    double mid = 0.5 * (tl + th), t;
    m->R = ibc_robust_up(m->R + fmax(ibc_robust_up(th - mid), ibc_robust_up(mid - tl)));
    m->A = ibc_robust_up(m->A + fabs(mid));
    ibc_robust_two_sum(m->S, mid, &m->S, &t);
    m->C += t;
}

/* [lo, hi] from the accumulated terms (Sum2: as Dot2 with b = 1). */
static int margin_sum_close(const margin_acc *m, long h, double *lo, double *hi)
{
    double M = m->S + m->C;
    double E = ibc_robust_up(m->R + ibc_robust_dot2_err(M, m->A, h));
    double L = ibc_robust_dn(M - E), H = ibc_robust_up(M + E);
    if (!isfinite(L) || !isfinite(H))
        return 0;
    *lo = L;
    *hi = H;
    return 1;
}

/* The fast enclosure: every projection by one BLAS product, each with the plain
 * error bound (gamma_D + 2^-52) ||x + delta|| ||w|| (proj_enclose), each norm
 * from a BLAS dot product of w with itself (any order: gamma_D).  About 1e-13
 * of the terms wide, so it settles a margin that is not within that of 0,
 * at the cost of one matrix-vector product (the Dot2 one below costs about
 * ten).  Returns 0 (no enclosure, not an error) on any doubt. */
int ibc_robust_rnet_margin_enclose_fast_d(const ibc_rnet *f, const double *x, const double *delta, int y,
                                          double *lo, double *hi)
{
    long D = f->D, h = f->h;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (!f->pint)
        return 0;
    double *xd = malloc(sizeof(double) * (size_t)(D + 4 * h));
    if (!xd)
        return 0;
    double *nl = xd + D, *nh = nl + h, *zl = nh + h, *zu = zl + h;
    for (long d = 0; d < D; d++)
        xd[d] = delta ? x[d] + delta[d] : x[d];
    int ok = 1;
    for (long j = 0; j < h && ok; j++) {
        nl[j] = nh[j] = 0;
        if (f->v[j] == 0)
            continue;
        norm_enclose(ibc_prec_dot_d(D, f->W + j * D, f->W + j * D), D, nl + j, nh + j);
        ok = nl[j] > 0 && isfinite(nh[j]);   /* a zero or tiny row: the Dot2 enclosure decides */
    }
    if (ok)
        ibc_robust_rnet_proj_enclose(f, xd, nl, nh, zl, zu);
    margin_acc m = {0, 0, 0, 0};
    for (long j = 0; j < h && ok; j++) {
        if (f->v[j] == 0)
            continue;
        ok = isfinite(zl[j]) && isfinite(zu[j]);
        margin_sum_add(&m, f, y < 0 ? -f->v[j] : f->v[j], zl[j], zu[j], nl[j], nh[j]);
    }
    free(xd);
    return ok && margin_sum_close(&m, h, lo, hi);
}

/* The tight enclosure: x + delta = xd + xe exactly (TwoSum), <xd, w> and
 * ||w|| by Dot2, <xe, w> (~2^-53 of <xd, w>) by a plain dot product bounded
 * below. */
int ibc_robust_rnet_margin_enclose_d(const ibc_rnet *f, const double *x, const double *delta, int y, double *lo,
                                     double *hi)
{
    long D = f->D;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (!f->pint)
        return 0;   /* no correctly bounded double power: Arb decides */
    double *xd = malloc(sizeof(double) * (size_t)(2 * D + 1)), *xe = xd + D;
    if (!xd)
        return 0;
    double xn2 = 0, en2 = 0;
    int ok = 1;
    for (long d = 0; d < D; d++) {
        if (delta)
            ibc_robust_two_sum(x[d], delta[d], xd + d, xe + d);
        else
            xd[d] = x[d], xe[d] = 0;
        ok &= isfinite(xd[d]) && isfinite(xe[d]);
        xn2 += xd[d] * xd[d];
        en2 += xe[d] * xe[d];
    }
    double xn = ibc_robust_up(sqrt(ibc_robust_sumsq_up(xn2, D))), en = ibc_robust_up(sqrt(ibc_robust_sumsq_up(en2, D)));
    margin_acc m = {0, 0, 0, 0};
    for (long j = 0; j < f->h && ok; j++) {
        const double *w = f->W + j * D;
        double a = y < 0 ? -f->v[j] : f->v[j];
        int any = 0;
        for (long d = 0; d < D && !any; d++)
            any = w[d] != 0;
        if (!any || a == 0)
            continue;   /* the unit is exactly 0, as in the Arb margin */
        double nlo, nhi;
        if (!ibc_robust_norm_enclose_dot2(w, D, &nlo, &nhi)) {
            ok = 0;
            break;
        }
        /* <x + delta, w> = s +- es */
        double s = ibc_robust_dot2(xd, w, D), pe = 0;
        for (long d = 0; d < D; d++)
            pe += xe[d] * w[d];
        /* the Dot2 bound, plus (1 + 2 gamma_D) en ||w||, which bounds |pe| and
         * its own rounding together (generous: pe is ~2^-53 of s) */
        double es = ibc_robust_up(ibc_robust_dot2_err(s, ibc_robust_up(xn * nhi), D) +
                                  ibc_robust_up(ibc_robust_up(ibc_robust_up(1 + 2 * ibc_robust_gamma(D)) * ibc_robust_up(en * nhi)) + ibc_robust_underflow(D)));
        s += pe;   /* rounding of this add: one more ulp below */
        es = ibc_robust_up(es + ibc_robust_up(0x1p-52 * fabs(s)));
        double sl = ibc_robust_dn(s - es), sh = ibc_robust_up(s + es);
        double zl = sl >= 0 ? ibc_robust_dn(sl / nhi) : ibc_robust_dn(sl / nlo);
        double zu = sh >= 0 ? ibc_robust_up(sh / nlo) : ibc_robust_up(sh / nhi);
        margin_sum_add(&m, f, a, zl, zu, nlo, nhi);
    }
    free(xd);
    return ok && margin_sum_close(&m, f->h, lo, hi);
}

int ibc_robust_rnet_flipped(const ibc_rnet *f, const double *x, const double *delta, int y, slong prec)
{
    /* Rigorous double enclosures settle nearly every call: the fast one
     * (one BLAS product) unless y f is within ~1e-13 of its terms of 0, as at
     * a flip found by bisection; then the Dot2 one (about ten times the cost,
     * ~1e-16 of the terms wide); only a margin within that of 0 goes on to
     * balls (Arb: ~100x more). */
    int (*const enclose[2])(const ibc_rnet *, const double *, const double *, int, double *, double *) = {
        ibc_robust_rnet_margin_enclose_fast_d, ibc_robust_rnet_margin_enclose_d};
    for (int k = 0; k < 2; k++) {
        double lo, hi;
        if (enclose[k](f, x, delta, y, &lo, &hi)) {
            if (hi <= 0)
                return 1;
            if (lo > 0)
                return 0;
        }
    }
    int out = -1;
    arb_t m;
    arb_init(m);
    for (slong pr = prec; pr <= 4 * prec; pr *= 2) {
        ibc_robust_rnet_margin_arb(m, f, x, delta, y, pr);
        if (arb_is_nonpositive(m)) {
            out = 1;
            break;
        }
        if (arb_is_positive(m)) {
            out = 0;
            break;
        }
    }
    arb_clear(m);
    return out;
}

double ibc_robust_rnet_norm_up(const double *delta, long D)
{
    arb_t s, t;
    arf_t u;
    arb_init(s);
    arb_init(t);
    arf_init(u);
    for (long d = 0; d < D; d++) {
        arb_set_d(t, delta[d]);
        arb_addmul(s, t, t, 128);
    }
    arb_sqrt(s, s, 128);
    arb_get_ubound_arf(u, s, 128);
    double r = arf_get_d(u, ARF_RND_UP);
    arb_clear(s);
    arb_clear(t);
    arf_clear(u);
    return r;
}
