/* The trainers (docs/theory.md §3), written once for every mode; included by
 * flow_double.c, flow_mpfr.c and flow_arb.c after a scalar layer (src/prec/scalar_*.h).
 * Step sizes arrive as doubles, but every sub-step (H/n, extrapolation
 * weights) is formed in the working precision, so the adaptive method's
 * error can reach 2^-BITS. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmp.h>

/* z = y + a x, elementwise over len entries; a is a scalar of this mode,
 * bits the working precision (used by ball arithmetic). */
typedef struct {
    S_PTR z;
    S_PTR y;
    S_PTR a;
    S_PTR x;
    long bits;
    int nonfinite;
} FN(lincomb_ctx);

static void FN(lincomb_range)(void *vc, long i0, long i1)
{
    FN(lincomb_ctx) *c = vc;
    S_BITS_DECL(c->bits);
    S_DECL(tmp);
    S_INIT(tmp);
    int finite = 1;   /* checked here, not in a separate pass over z */
    for (long i = i0; i < i1; i++) {
        S_MUL(tmp, S_AT(c->a, 0), S_AT(c->x, i));
        S_ADD(S_AT(c->z, i), S_AT(c->y, i), tmp);
        finite &= S_IS_FINITE(S_AT(c->z, i)) != 0;
    }
    if (!finite) __atomic_store_n(&c->nonfinite, 1, __ATOMIC_RELAXED);
    S_CLEAR(tmp);
}

/* z = y + a x elementwise (threaded in double); returns 1 when every z_i is finite. */
static int FN(lincomb)(long len, S_PTR z, S_PTR y, S_PTR a, S_PTR x, long bits)
{
    FN(lincomb_ctx) c = {z, y, a, x, bits, 0};
    S_PAR_RANGE(len, 2.0, FN(lincomb_range), &c);
    return !c.nonfinite;
}

/* The training field y' = -grad L(y) (full batch). */
void FN(ibc_flow_net_field)(void *vctx, double t, const ibc_vec *y, ibc_vec *dy)
{
    ibc_flow_netctx *c = vctx;
    ibc_net_eval(c->net, y, NULL, 0, NULL, dy, NULL);
    for (long i = 0; i < dy->len; i++) S_NEG(S_AT(S_VEC(dy), i), S_AT(S_VEC(dy), i));
    if (c->st) c->st->grad_evals++;
}

/* Event location on the switching surfaces <x_i, w_j> = 0 (pair = i*h + j). */
void FN(ibc_flow_net_freeze)(void *vctx, const ibc_vec *y)
{
    ibc_flow_netctx *c = vctx;
    ibc_net *net = c->net;
    const long n = net->n, h = net->h;
    ibc_net_reserve(net, n);
    S_PTR A = S_VEC(&net->A);
    free(net->pattern);
    net->pattern = NULL;                      /* signs, not the old pattern */
    S_GEMM(0, 1, n, h, net->D, S_VEC(&net->X), S_VEC(y), A, net->pr.bits);
    unsigned char *pat = malloc((size_t)(n * h));
    if (!pat) abort();
    for (long i = 0; i < n * h; i++) pat[i] = S_SGN(S_AT(A, i)) > 0;
    net->pattern = pat;
}

double FN(ibc_flow_net_crossing)(void *vctx, const ibc_vec *y0, const ibc_vec *y1, long *pair)
{
    ibc_flow_netctx *c = vctx;
    ibc_net *net = c->net;
    const long n = net->n, D = net->D, h = net->h;
    ibc_net_reserve(net, n);
    S_PTR A0 = S_VEC(&net->A);
    S_PTR A1 = S_VEC(&net->G);
    S_GEMM(0, 1, n, h, D, S_VEC(&net->X), S_VEC(y0), A0, net->pr.bits);
    S_GEMM(0, 1, n, h, D, S_VEC(&net->X), S_VEC(y1), A1, net->pr.bits);
    double first = -1;
    for (long i = 0; i < n * h; i++) {
        int act = net->pattern[i];
        int s1 = S_SGN(S_AT(A1, i));
        if (act ? s1 >= 0 : s1 <= 0) continue;          /* still in its piece */
        int s0 = S_SGN(S_AT(A0, i));
        double f = 0;                                    /* started outside: sliding */
        if (act ? s0 > 0 : s0 < 0) {
            double a = S_GET_D(S_AT(A0, i)), b = S_GET_D(S_AT(A1, i));
            f = a / (a - b);
        }
        if (first < 0 || f < first) {
            first = f;
            *pair = i;
        }
    }
    return first;
}

double FN(ibc_flow_net_pair_value)(void *vctx, const ibc_vec *y, long pair)
{
    ibc_flow_netctx *c = vctx;
    ibc_net *net = c->net;
    S_BITS_DECL(net->pr.bits);
    const long D = net->D, i = pair / net->h, j = pair % net->h;
    S_DECL(s);
    S_DECL(nw);
    S_DECL(nx);
    S_DECL(t);
    S_INIT(s);
    S_INIT(nw);
    S_INIT(nx);
    S_INIT(t);
    for (long d = 0; d < D; d++) {
        S_MUL(t, S_AT(S_VEC(&net->X), i * D + d), S_AT(S_VEC(y), j * D + d));
        S_ADD(s, s, t);
        S_MUL(t, S_AT(S_VEC(y), j * D + d), S_AT(S_VEC(y), j * D + d));
        S_ADD(nw, nw, t);
        S_MUL(t, S_AT(S_VEC(&net->X), i * D + d), S_AT(S_VEC(&net->X), i * D + d));
        S_ADD(nx, nx, t);
    }
    S_MUL(nw, nw, nx);
    S_SQRT(nw, nw);
    if (!S_IS_ZERO(nw)) S_DIV(s, s, nw);
    double r = S_GET_D(s);
    S_CLEAR(s);
    S_CLEAR(nw);
    S_CLEAR(nx);
    S_CLEAR(t);
    return r;
}

void FN(ibc_flow_rk4)(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1, long nsteps)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    ibc_vec k[4], z;
    for (int i = 0; i < 4; i++) ibc_prec_vec_init(&k[i], len, y->pr);
    ibc_prec_vec_init(&z, len, y->pr);
    S_DECL(hs);
    S_DECL(half);
    S_DECL(w);
    S_DECL(tmp);
    S_INIT(hs);
    S_INIT(half);
    S_INIT(w);
    S_INIT(tmp);
    S_SET_D(hs, t1);
    S_SET_D(half, t0);
    S_SUB(hs, hs, half);        /* t1 - t0 in the working precision */
    S_DIV_SI(hs, hs, nsteps);
    S_DIV_SI(half, hs, 2);
    double dt = (t1 - t0) / (double)nsteps;
    for (long s = 0; s < nsteps; s++) {
        double t = t0 + dt * (double)s;
        F(ctx, t, y, &k[0]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(half), S_VEC(&k[0]), y->pr.bits);
        F(ctx, t + dt / 2, &z, &k[1]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(half), S_VEC(&k[1]), y->pr.bits);
        F(ctx, t + dt / 2, &z, &k[2]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(hs), S_VEC(&k[2]), y->pr.bits);
        F(ctx, t + dt, &z, &k[3]);
        /* y += hs/6 (k1 + 2 k2 + 2 k3 + k4) */
        for (long i = 0; i < len; i++) {
            S_ADD(w, S_AT(S_VEC(&k[1]), i), S_AT(S_VEC(&k[2]), i));
            S_MUL_SI(w, w, 2);
            S_ADD(w, w, S_AT(S_VEC(&k[0]), i));
            S_ADD(w, w, S_AT(S_VEC(&k[3]), i));
            S_MUL(w, w, hs);
            S_DIV_SI(w, w, 6);
            S_ADD(S_AT(S_VEC(y), i), S_AT(S_VEC(y), i), w);
        }
    }
    for (int i = 0; i < 4; i++) ibc_prec_vec_clear(&k[i]);
    ibc_prec_vec_clear(&z);
    S_CLEAR(hs);
    S_CLEAR(half);
    S_CLEAR(w);
    S_CLEAR(tmp);
}

/* Gragg's modified midpoint rule over [t, t+H] with n sub-steps, from y with
 * f0 = F(t, y) already known; result in out.  z0, z1, fz are scratch. */
static void FN(midpoint)(const ibc_flow_field *fld, const ibc_vec *y, const ibc_vec *f0, double t,
                         S_PTR HS, long n, ibc_vec *out, ibc_vec *z0, ibc_vec *z1, ibc_vec *fz,
                         S_PTR tmp)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    S_DECL(hs);
    S_DECL(h2);
    S_INIT(hs);
    S_INIT(h2);
    const double H = S_GET_D(S_AT(HS, 0));   /* the time argument of F only */
    S_DIV_SI(hs, S_AT(HS, 0), n);
    S_MUL_SI(h2, hs, 2);
    ibc_prec_vec_set(z0, y);
    FN(lincomb)(len, S_VEC(z1), S_VEC(y), S_REF(hs), S_VEC(f0), y->pr.bits);   /* z1 = y + hs f0 */
    for (long m = 1; m < n; m++) {
        fld->F(fld->ctx, t + H * (double)m / (double)n, z1, fz);
        FN(lincomb)(len, S_VEC(z0), S_VEC(z0), S_REF(h2), S_VEC(fz), y->pr.bits); /* z_{m+1} = z_{m-1} + 2hs F(z_m) */
        ibc_flow_vec_swap(z0, z1);
    }
    fld->F(fld->ctx, t + H, z1, fz);
    /* out = (z_n + z_{n-1} + hs F(z_n)) / 2 */
    FN(lincomb)(len, S_VEC(out), S_VEC(z0), S_REF(hs), S_VEC(fz), y->pr.bits);
    for (long i = 0; i < len; i++) {
        S_ADD(S_AT(S_VEC(out), i), S_AT(S_VEC(out), i), S_AT(S_VEC(z1), i));
        S_DIV_SI(S_AT(S_VEC(out), i), S_AT(S_VEC(out), i), 2);
    }
    S_CLEAR(hs);
    S_CLEAR(h2);
}

/* Workspace of one Gragg-Bulirsch-Stoer step.  kopt: the column the step
 * size aims at (order and step chosen together, as in Hairer-Wanner's
 * ODEX); a step is accepted in column kopt - 1, kopt or kopt + 1.  err[k]:
 * the last step's scaled error estimate of column k. */
typedef struct {
    int kmax, kopt;
    long nseq[32];
    double err[32];
    ibc_vec f0, z0, z1, fz, prev[32], cur[32];
} FN(gbs_ws);

/* Workspace of ibc_flow_gbs: the step sequence n_k = 2(k+1), and kmax
 * columns whose order 2k grows with the precision asked for (53 bits need
 * about order 12).  The first step aims at column kmax - 2. */
static void FN(gbs_ws_init)(FN(gbs_ws) *ws, long len, ibc_prec pr)
{
    ws->kmax = pr.mode == IBC_DOUBLE ? 8 : (int)(pr.bits / 20 + 6);
    if (ws->kmax > 30) ws->kmax = 30;
    ws->kopt = ws->kmax - 2;
    for (int k = 0; k < ws->kmax; k++) {
        ws->nseq[k] = 2 * (k + 1);
        ibc_prec_vec_init(&ws->prev[k], len, pr);
        ibc_prec_vec_init(&ws->cur[k], len, pr);
    }
    ibc_prec_vec_init(&ws->f0, len, pr);
    ibc_prec_vec_init(&ws->z0, len, pr);
    ibc_prec_vec_init(&ws->z1, len, pr);
    ibc_prec_vec_init(&ws->fz, len, pr);
}

static void FN(gbs_ws_clear)(FN(gbs_ws) *ws)
{
    for (int k = 0; k < ws->kmax; k++) {
        ibc_prec_vec_clear(&ws->prev[k]);
        ibc_prec_vec_clear(&ws->cur[k]);
    }
    ibc_prec_vec_clear(&ws->f0);
    ibc_prec_vec_clear(&ws->z0);
    ibc_prec_vec_clear(&ws->z1);
    ibc_prec_vec_clear(&ws->fz);
}

/* The step-size controller.  After a rejection: shrink by what the last
 * column's error e asks for, between 0.25x and 0.9x. */
static double gbs_shrink(double e, int ncols)
{
    double fr = e > 0 ? 0.9 * pow(e, -1.0 / (2.0 * ncols - 1.0)) : 0.25;
    return fr < 0.25 ? 0.25 : fr > 0.9 ? 0.9 : fr;
}

/* The step factor that brings column k's error estimate e to the
 * tolerance, from 0.2x to 4x. */
static double gbs_fac(double e, int k)
{
    double fac = e > 0 ? 0.9 * pow(e, -1.0 / (2.0 * k + 1.0)) : 4.0;
    return fac > 4 ? 4 : fac < 0.2 ? 0.2 : fac;
}

/* Gradient evaluations of a step accepted in column k: F(y) and the
 * midpoint rules of n_0 .. n_k substeps. */
static double gbs_work(const long *nseq, int k)
{
    double a = 1;
    for (int i = 0; i <= k; i++) a += (double)nseq[i];
    return a;
}

/* After a step Hs accepted in column k: the next column to aim at and the
 * next step, choosing the order with the step (Hairer, Norsett and Wanner,
 * Solving ODEs I, sec. II.9, "order and step size control"): of columns
 * k - 1 and k, the one with less work per unit time, W_j = A_j / (Hs fac_j);
 * one column higher, with the step grown by A_{k+1} / A_k, when column k
 * converged at or after the aimed column and clearly beat k - 1.  Steps
 * whose length is set from outside (records, events) thus drift to the
 * cheapest column that meets the tolerance at that length, instead of
 * paying for kmax - 3 columns each time.  A step clipped to a record time
 * or an event (Hs < H) says little about the step the smooth pieces allow:
 * keep H rather than grow it from Hs. */
static double gbs_next(int *kopt, const long *nseq, const double *err, int k, int kmax, double Hs, double H)
{
    int ko = *kopt, lo = k - 1 >= 1 && k - 1 >= ko - 1 ? k - 1 : k;
    double fk = gbs_fac(err[k], k), wk = gbs_work(nseq, k) / fk;
    double fl = gbs_fac(err[lo], lo), wl = gbs_work(nseq, lo) / fl;
    int knew = k;
    double fac = fk;
    if (lo < k && wl < wk) {
        knew = lo;
        fac = fl;
    } else if (k >= ko && k + 1 <= kmax - 2 && lo < k && wk < 0.9 * wl) {
        knew = k + 1;
        fac = fk * gbs_work(nseq, k + 1) / gbs_work(nseq, k);
        if (fac > 4) fac = 4;
    }
    if (knew < 2) knew = 2;
    if (knew > kmax - 2) knew = kmax - 2;
    *kopt = knew;
    if (k == kmax - 1 && fac > 0.8) fac = 0.8;
    int clipped = Hs < H;
    return clipped ? (fac < 1 ? H * fac : H) : Hs * fac;
}

/* One extrapolated step of length H from (t, y) with f0 = F(t, y), in
 * columns up to ws->kopt + 1.  Returns the column k >= kopt - 1 where the
 * error estimate met tol (result in ws->cur[k]; the estimates in ws->err)
 * and writes the last column's scaled error to *errr; returns -1 if none did. */
static int FN(gbs_step)(const ibc_flow_field *fld, FN(gbs_ws) *ws, const ibc_vec *y, double t,
                        S_PTR H, S_PTR tolS, double *errr)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    S_DECL(c);
    S_DECL(tmp);
    S_DECL(ymax);
    S_DECL(d);
    S_INIT(c);
    S_INIT(tmp);
    S_INIT(ymax);
    S_INIT(d);
    S_SET_ZERO(ymax);
    for (long i = 0; i < len; i++) {
        S_ABS(d, S_AT(S_VEC(y), i));
        if (S_CMP(d, ymax) > 0) S_SET(ymax, d);
    }
    if (S_IS_ZERO(ymax)) S_SET_SI(ymax, 1);   /* y = 0: absolute error */
    int done = -1;
    const int klast = ws->kopt + 1 < ws->kmax ? ws->kopt + 1 : ws->kmax - 1;
    const int kfirst = ws->kopt - 1 > 1 ? ws->kopt - 1 : 1;
    for (int k = 0; k <= klast && done < 0; k++) {
        FN(midpoint)(fld, y, &ws->f0, t, H, ws->nseq[k], &ws->cur[0], &ws->z0, &ws->z1, &ws->fz, S_REF(tmp));
        for (int j = 1; j <= k; j++) {
            /* Aitken-Neville in h^2: T_kj = T_k,j-1 + (T_k,j-1 - T_k-1,j-1) / ((n_k/n_{k-j})^2 - 1) */
            long a = ws->nseq[k], b = ws->nseq[k - j];
            S_SET_SI(c, b * b);
            S_DIV_SI(c, c, a * a - b * b);
            S_PTR cj = S_VEC(&ws->cur[j]);
            S_PTR cj1 = S_VEC(&ws->cur[j - 1]);
            S_PTR pj1 = S_VEC(&ws->prev[j - 1]);
            for (long i = 0; i < len; i++) {
                S_SUB(d, S_AT(cj1, i), S_AT(pj1, i));
                S_MUL(d, d, c);
                S_ADD(S_AT(cj, i), S_AT(cj1, i), d);
            }
        }
        /* Accept only around the aimed column: a column far below it
         * converging wastes the order the step was sized for (gbs_next
         * moves the aim when a lower column is cheaper). */
        if (k >= kfirst) {
            /* Scaled error relative to the largest component: scale-invariant,
             * as the network is homogeneous, and meaningful for tiny eps. */
            double worst = 0;
            for (long i = 0; i < len; i++) {
                S_SUB(d, S_AT(S_VEC(&ws->cur[k]), i), S_AT(S_VEC(&ws->cur[k - 1]), i));
                S_ABS(d, d);
                S_ABS(tmp, S_AT(S_VEC(y), i));
                S_ADD(tmp, tmp, ymax);
                S_MUL(tmp, tmp, S_AT(tolS, 0));
                S_DIV(d, d, tmp);
                double r = S_GET_D(d);
                if (!(r <= worst)) worst = r;      /* also catches NaN */
            }
            *errr = worst;
            ws->err[k] = worst;
            if (worst <= 1.0) done = k;
        }
        for (int j = 0; j <= k && done < 0; j++) ibc_flow_vec_swap(&ws->prev[j], &ws->cur[j]);
    }
    S_CLEAR(c);
    S_CLEAR(tmp);
    S_CLEAR(ymax);
    S_CLEAR(d);
    return done;
}

/* Locates the first switching crossing inside a step of length Hs from
 * (t, y) whose trial end crossed *pair at the fraction frac of the step:
 * regula falsi (Illinois) on the step length, each trial an extrapolated step
 * of the frozen (smooth) piece; a pair found to cross earlier is chased
 * instead.  On success ytrial holds the state at the crossing, *tau and HsS
 * the step length to it, *pair the pair; returns 1, else 0. */
static int FN(gbs_locate)(const ibc_flow_field *fld, FN(gbs_ws) *ws, const ibc_vec *y, double t, double Hs,
                          double frac, long *pair, S_PTR HsS, S_PTR tolS, double stol, ibc_vec *ytrial,
                          double *tau_out)
{
    double lo = 0, hi = Hs;
    double slo = fld->pair_value(fld->ctx, y, *pair), shi = fld->pair_value(fld->ctx, ytrial, *pair);
    double tau = frac * Hs;
    int found = 0, side = 0;
    for (int it = 0; it < 60 && !found; it++) {
        double e2;
        S_SET_D(S_AT(HsS, 0), tau);
        int k2 = FN(gbs_step)(fld, ws, y, t, HsS, tolS, &e2);
        if (k2 < 0) {
            tau = 0.5 * (lo + tau);
            continue;
        }
        long p2 = -1;
        double f2 = fld->crossing(fld->ctx, y, &ws->cur[k2], &p2);
        if (p2 != *pair && f2 > 0 && f2 < 1 - 1e-9) {
            /* another pair crosses first: chase that one */
            *pair = p2;
            hi = tau;
            slo = fld->pair_value(fld->ctx, y, *pair);
            shi = fld->pair_value(fld->ctx, &ws->cur[k2], *pair);
            lo = 0;
            tau = f2 * tau;
            continue;
        }
        double sv = fld->pair_value(fld->ctx, &ws->cur[k2], *pair);
        ibc_prec_vec_set(ytrial, &ws->cur[k2]);
        /* Located when the pair's value is zero to the working
         * tolerance, or the time bracket is at the resolution of the
         * double step length (a known limit: in MPFR modes an event
         * time is located to ~1e-16 relative, not 2^-BITS). */
        if (fabs(sv) <= stol || hi - lo <= (stol > 4 * DBL_EPSILON ? stol : 4 * DBL_EPSILON) * Hs) {
            found = 1;
            break;
        }
        /* Illinois variant of regula falsi: halve the value kept at a
         * stale end so the bracket shrinks from both sides. */
        if ((sv > 0) == (slo > 0)) {
            lo = tau;
            slo = sv;
            if (side == -1) shi *= 0.5;
            side = -1;
        } else {
            hi = tau;
            shi = sv;
            if (side == 1) slo *= 0.5;
            side = 1;
        }
        tau = lo + (hi - lo) * slo / (slo - shi);
        if (!(tau > lo && tau < hi)) tau = 0.5 * (lo + hi);
    }
    *tau_out = tau;
    return found;
}

int FN(ibc_flow_gbs)(const ibc_flow_field *fld, ibc_vec *y, double t0, double t1, double tol,
                     const double *rec_t, long n_rec, ibc_flow_stats *st, char *err)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    FN(gbs_ws) ws;
    FN(gbs_ws_init)(&ws, len, y->pr);
    ibc_vec ytrial;
    ibc_prec_vec_init(&ytrial, len, y->pr);
    S_DECL(tolS);
    S_INIT(tolS);
    if (tol > 0) {
        S_SET_D(tolS, tol);
    } else {
        S_SET_SI(tolS, 1);
        S_MUL_2SI(tolS, tolS, -(long)y->pr.bits + 8);
    }
    int rc = IBC_OK;
    /* Time is kept in the working precision: the steps actually integrated
     * sum to it exactly, so MPFR runs end at t1 to 2^-BITS, not 2^-53. */
    S_DECL(tS);
    S_DECL(HsS);
    S_DECL(rem);
    S_INIT(tS);
    S_INIT(HsS);
    S_INIT(rem);
    S_SET_D(tS, t0);
    double t = t0;
    double H = (t1 - t0) / 64;
    /* Time is exact in the working precision, so steps may be far below
     * double's resolution of t in MPFR modes. */
    const double hfloor = (fabs(t1) + fabs(t0) + 1.0) *
                          ldexp(1.0, y->pr.mode == IBC_DOUBLE ? -50 : -(int)(y->pr.bits < 900 ? y->pr.bits : 900));
    /* A located event is a root of the pair's normalized value to this. */
    double stol = ldexp(1.0, -(int)(y->pr.bits < 1000 ? y->pr.bits : 1000) + 8);
    if (tol > stol) stol = tol;
    long ri = 0;
    while (rec_t && ri < n_rec && rec_t[ri] < t0) ri++;
    if (rec_t && ri < n_rec && rec_t[ri] == t0 && fld->record) {
        if (fld->record(fld->ctx, t0, y)) goto out;
        ri++;
    }
    if (fld->freeze) fld->freeze(fld->ctx, y);
    for (;;) {
        double target = t1;
        if (rec_t && ri < n_rec && rec_t[ri] < target) target = rec_t[ri];
        S_SET_D(rem, target);
        S_SUB(rem, rem, tS);
        if (S_SGN(rem) <= 0) {
            if (target >= t1) break;
            ri++;                               /* a record time already passed */
            continue;
        }
        double remd = S_GET_D(rem);
        int landed = H >= remd;
        double Hs = landed ? remd : H;
        if (landed) S_SET(HsS, rem); else S_SET_D(HsS, Hs);
        fld->F(fld->ctx, t, y, &ws.f0);
        double e = 0;
        int k = FN(gbs_step)(fld, &ws, y, t, S_REF(HsS), S_REF(tolS), &e);
        if (k < 0) {
            st->rejected++;
            /* e: the error of the last column tried, kopt + 1 */
            H = Hs * gbs_shrink(e, (ws.kopt + 1 < ws.kmax ? ws.kopt + 1 : ws.kmax - 1) + 1);
            if (H < hfloor) {
                snprintf(err, IBC_ERRLEN, "adaptive step size collapsed to %.3g at step %ld, t = %.17g (error estimate %.3g)",
                         H, st->steps, t, e);
                rc = IBC_ENUMERIC;
                goto out;
            }
            continue;
        }
        ibc_prec_vec_set(&ytrial, &ws.cur[k]);
        if (!ibc_prec_vec_is_finite(&ytrial)) {
            snprintf(err, IBC_ERRLEN, "NaN or inf in theta at step %ld, t = %.17g", st->steps, t);
            rc = IBC_ENUMERIC;
            goto out;
        }
        long pair = -1;
        double frac = fld->crossing ? fld->crossing(fld->ctx, y, &ytrial, &pair) : -1;
        if (frac == 0) {
            /* The pair left its piece at once: the flow on both sides points
             * into the surface (a sliding mode).  Step across it with the
             * signs at the end; accuracy there is only first order. */
            st->sliding++;
            fld->freeze(fld->ctx, &ytrial);
        } else if (frac > 0) {
            double tau;
            if (!FN(gbs_locate)(fld, &ws, y, t, Hs, frac, &pair, S_REF(HsS), S_REF(tolS), stol, &ytrial, &tau)) {
                snprintf(err, IBC_ERRLEN, "switching event not located at step %ld, t = %.17g (pair %ld)",
                         st->steps, t, pair);
                rc = IBC_ENUMERIC;
                goto out;
            }
            fld->flip(fld->ctx, pair);
            Hs = tau;
            landed = 0;
            st->events++;
        }
        ibc_prec_vec_set(y, &ytrial);
        if (landed) {
            S_SET_D(tS, target);
        } else {
            S_ADD(tS, tS, HsS);
        }
        t = S_GET_D(tS);
        st->steps++;
        if (st->h_min == 0 || Hs < st->h_min) st->h_min = Hs;
        st->t = t;
        if (landed && rec_t && ri < n_rec && target == rec_t[ri]) {
            ri++;
            if (fld->record && fld->record(fld->ctx, t, y)) goto out;
        }
        if (landed && target >= t1) break;
        /* After an event, ws.err holds the located trial steps' estimates:
         * they only steer the next order and step, each of which is again
         * accepted on its own error estimate. */
        H = gbs_next(&ws.kopt, ws.nseq, ws.err, k, ws.kmax, Hs, H);
    }
out:
    FN(gbs_ws_clear)(&ws);
    ibc_prec_vec_clear(&ytrial);
    S_CLEAR(tolS);
    S_CLEAR(tS);
    S_CLEAR(HsS);
    S_CLEAR(rem);
    return rc;
}

/* SGD: the rows of the next batch; a new epoch (fewer than batch rows left
 * in this one) starts with a seeded Fisher-Yates shuffle of perm. */
static const long *FN(sgd_batch)(gmp_randstate_t rs, long *perm, long *pos, long n, long batch)
{
    if (*pos + batch > n) {
        for (long i = n - 1; i > 0; i--) {
            long j = (long)gmp_urandomm_ui(rs, (unsigned long)(i + 1));
            long t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        *pos = 0;
    }
    const long *rows = perm + *pos;
    *pos += batch;
    return rows;
}

/* Continues a run at opt->resume: the balance terms as saved, and for SGD
 * the shuffle state.  GMP random states cannot be saved, so the completed
 * steps' shuffles are replayed from the seed (n random draws per epoch, no
 * gradients); a saved order must then agree with the replay. */
static int FN(descent_resume)(const ibc_flow_opts *opt, gmp_randstate_t rs, long *perm, long *pos, long n,
                              ibc_vec *Q0, ibc_vec *corr, ibc_flow_stats *st, char *err)
{
    const ibc_flow_state *r = opt->resume;
    if (opt->track_balance) {
        ibc_prec_vec_set(Q0, &r->Q0);
        ibc_prec_vec_set(corr, &r->corr);
    }
    if (opt->method == IBC_METHOD_SGD) {
        for (long s = 0; s < r->step; s++) FN(sgd_batch)(rs, perm, pos, n, opt->batch);
        if (r->n > 0 && (r->pos != *pos || memcmp(r->perm, perm, (size_t)n * sizeof(long)) != 0)) {
            snprintf(err, IBC_ERRLEN, "resume state's SGD shuffle (position %ld) disagrees with the replay from "
                     "seed %lu at step %ld (position %ld)", r->pos, opt->seed, r->step, *pos);
            return IBC_EINPUT;
        }
    }
    st->steps = r->step;
    st->t = opt->lr * (double)r->step;
    st->grad_evals = r->grad_evals;
    return IBC_OK;
}

/* GD, SGD and fixed-step RK4 on the network, with observers, the exact GD
 * balance correction, checkpoints, and a stop at the first non-finite value. */
int FN(ibc_flow_descent)(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt,
                         ibc_flow_stats *st, char *err)
{
    S_BITS_DECL(net->pr.bits);
    const long dim = theta->len, n = net->n;
    ibc_vec grad, next, loss, Q0, Q1, corr;
    ibc_prec_vec_init(&grad, dim, net->pr);
    ibc_prec_vec_init(&next, dim, net->pr);
    ibc_prec_vec_init(&loss, 1, net->pr);
    ibc_prec_vec_init(&Q0, net->h, net->pr);
    ibc_prec_vec_init(&Q1, net->h, net->pr);
    ibc_prec_vec_init(&corr, net->h, net->pr);
    S_DECL(meta);
    S_DECL(tmp);
    S_INIT(meta);
    S_INIT(tmp);
    S_SET_D(meta, -opt->lr);
    long *perm = NULL;
    gmp_randstate_t rs;
    int have_rs = 0;
    if (opt->method == IBC_METHOD_SGD) {
        perm = malloc((size_t)n * sizeof(long));
        if (!perm) abort();
        for (long i = 0; i < n; i++) perm[i] = i;
        ibc_model_randinit(rs, opt->seed, 64);
        have_rs = 1;
    }
    ibc_flow_netctx fctx = {.net = net, .opt = opt, .st = st};
    int rc = IBC_OK;
    long pos = n;   /* SGD: position in the current shuffled epoch */
    long s0 = 0;
    if (opt->resume) {
        rc = FN(descent_resume)(opt, rs, perm, &pos, n, &Q0, &corr, st, err);
        s0 = opt->resume->step;
    } else if (opt->track_balance) {
        ibc_net_balance(net, theta, &Q0, NULL, 0, NULL);
    }
    for (long s = s0; rc == IBC_OK && s <= opt->steps; s++) {
        const long *rows = NULL;
        long nb = n;
        if (opt->method == IBC_METHOD_SGD && s < opt->steps) {
            rows = FN(sgd_batch)(rs, perm, &pos, n, opt->batch);
            nb = opt->batch;
        }
        /* The uninterrupted run's record points: a resumed run then checks the
         * loss exactly where that run does, so it faults where that run faults. */
        int rec = s == 0 || s == opt->steps || (opt->record_every > 0 && s % opt->record_every == 0);
        double t = opt->lr * (double)s;
        if (rec && opt->obs) {
            ibc_net_eval(net, theta, NULL, 0, &loss, NULL, NULL);
            if (!ibc_prec_vec_is_finite(&loss)) {
                snprintf(err, IBC_ERRLEN, "NaN or inf in the loss at step %ld, t = %.17g", s, t);
                rc = IBC_ENUMERIC;
                break;
            }
            if (opt->obs(opt->obs_ctx, net, theta, t, s, &loss)) break;
        }
        if (s == opt->steps) break;
        int finite;
        if (opt->method == IBC_METHOD_RK4) {
            ibc_prec_vec_set(&next, theta);
            FN(ibc_flow_rk4)(FN(ibc_flow_net_field), &fctx, &next, 0.0, opt->lr, 1);   /* autonomous: exact step lr */
            finite = ibc_prec_vec_is_finite(&next);
        } else {
            /* Without the balance terms (which need the gradient itself) the
             * update rides on the gradient's last pass: the same bits. */
            int fused = !opt->track_balance;
            if (fused) finite = ibc_net_step(net, theta, rows, nb, opt->lr, &loss, &grad, &next);
            else ibc_net_eval(net, theta, rows, nb, &loss, &grad, NULL);
            st->grad_evals++;
            if (net->kinks > 0 && st->kink_step < 0) {
                st->kink_step = s;
                st->kink_units = net->kinks;
                /* sigma' jumps at the kink for p < 2: no ball then encloses
                 * the exact GD step (docs/theory.md §8 certified-gd). */
                if (net->pint < 2) {
                    snprintf(err, IBC_ERRLEN, "ball arithmetic stops certifying at step %ld: %ld unit(s) <x_i, w_j> "
                             "straddle the ReLU kink (p = %g < 2); theta is certified through step %ld",
                             s, net->kinks, net->par.p, s);
                    rc = IBC_ENUMERIC;
                    break;
                }
            }
            if (!fused) {
                ibc_net_balance(net, theta, NULL, &grad, opt->lr, &corr);
                finite = FN(lincomb)(dim, S_VEC(&next), S_VEC(theta), S_REF(meta), S_VEC(&grad), net->pr.bits);
            }
        }
        if (!finite) {
            snprintf(err, IBC_ERRLEN, "NaN or inf in theta at step %ld, t = %.17g; theta kept at the last finite step", s + 1, t + opt->lr);
            rc = IBC_ENUMERIC;
            break;
        }
        ibc_flow_vec_swap(theta, &next);
        st->steps = s + 1;
        st->t = opt->lr * (double)(s + 1);
        if (opt->ckpt_every > 0 && (s + 1) % opt->ckpt_every == 0) {
            ibc_vec none = {.pr = net->pr};
            ibc_flow_state cs = {
                .step = s + 1, .grad_evals = st->grad_evals,
                .Q0 = opt->track_balance ? Q0 : none, .corr = opt->track_balance ? corr : none,
                .n = perm ? n : 0, .pos = perm ? pos : 0, .perm = perm,
            };
            rc = opt->ckpt(opt->ckpt_ctx, theta, &cs, err);
        }
    }
    if (opt->track_balance) {
        /* drift = max_j |Q_j(T) - Q_j(0) - corr_j|, formed exactly in MPFR */
        ibc_net_balance(net, theta, &Q1, NULL, 0, NULL);
        mpfr_t a, b, c;
        long bits = net->pr.bits + 64;
        mpfr_inits2(bits, a, b, c, (mpfr_ptr)0);
        mpfr_set_zero(st->balance_drift, 1);
        mpfr_set_zero(st->balance_scale, 1);
        for (long j = 0; j < net->h; j++) {
            ibc_prec_vec_get_mpfr(a, &Q1, j);
            ibc_prec_vec_get_mpfr(c, &corr, j);
            ibc_prec_vec_get_mpfr(b, theta, net->h * net->D + j);
            mpfr_sqr(b, b, MPFR_RNDN);   /* scale: max_j v_j^2 (= ||w_j||^2 when balanced) */
            if (mpfr_cmp(b, st->balance_scale) > 0) mpfr_set(st->balance_scale, b, MPFR_RNDN);
            ibc_prec_vec_get_mpfr(b, &Q0, j);
            mpfr_sub(a, a, b, MPFR_RNDN);
            mpfr_sub(a, a, c, MPFR_RNDN);
            mpfr_abs(a, a, MPFR_RNDN);
            if (mpfr_cmp(a, st->balance_drift) > 0) mpfr_set(st->balance_drift, a, MPFR_RNDN);
        }
        mpfr_clears(a, b, c, (mpfr_ptr)0);
    }
    if (have_rs) gmp_randclear(rs);
    free(perm);
    ibc_prec_vec_clear(&grad);
    ibc_prec_vec_clear(&next);
    ibc_prec_vec_clear(&loss);
    ibc_prec_vec_clear(&Q0);
    ibc_prec_vec_clear(&Q1);
    ibc_prec_vec_clear(&corr);
    S_CLEAR(meta);
    S_CLEAR(tmp);
    return rc;
}
