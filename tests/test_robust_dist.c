/* Unit test of the distance to an ideal classifier (src/robust/dist.c):
 * the exact best scale against brute force over a grid refined by golden
 * section, and the estimator on classifiers whose distance is derived in
 * closed form below (a second method), including one whose maximiser is not
 * among the structured starts, so only the ascent can find it. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "test_util.h"

#define NSAMP 500
#define NSTARTS 24
#define STEPS 300

/* A small generator for the random (a, b) data (independent of dist.c's). */
static uint64_t lcg_state = 12345;
static double unif(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1p-53;
}

static double gmax(double c, const double *a, const double *b, long n)
{
    double g = 0;
    for (long i = 0; i < n; i++)
        g = fmax(g, fabs(c * a[i] - b[i]));
    return g;
}

/* Golden section on the convex g over [lo, hi]. */
static double golden(double lo, double hi, const double *a, const double *b, long n)
{
    const double r = 0.6180339887498949;
    double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
    double g1 = gmax(x1, a, b, n), g2 = gmax(x2, a, b, n);
    for (int it = 0; it < 200 && hi - lo > 0; it++) {
        if (g1 <= g2) {
            hi = x2;
            x2 = x1;
            g2 = g1;
            x1 = hi - r * (hi - lo);
            g1 = gmax(x1, a, b, n);
        } else {
            lo = x1;
            x1 = x2;
            g1 = g2;
            x2 = lo + r * (hi - lo);
            g2 = gmax(x2, a, b, n);
        }
    }
    return fmin(g1, g2);
}

/* (d) the exact scale against a grid over c in [0, cmax] (the estimator
 * minimises over c >= 0, the closure of docs/theory.md's c > 0). */
static void test_minimax(void)
{
    const long NG = 200000;
    int worse = 0, far = 0;
    double worst_gap = 0, worst_gold = 0;
    for (int trial = 0; trial < 40; trial++) {
        long n = 1 + (long)(unif() * 60);
        double a[64], b[64];
        for (long i = 0; i < n; i++) {
            /* mixed signs, some a = 0, some duplicates, some optima at c < 0 */
            a[i] = (unif() < 0.1) ? 0.0 : 4 * unif() - (trial % 3 == 0 ? 2.0 : 0.5);
            b[i] = 3 * unif() - (trial % 5 == 0 ? 2.5 : 1.0);
            if (i > 0 && unif() < 0.1) {
                a[i] = a[i - 1];
                b[i] = b[i - 1];
            }
        }
        double c;
        double g = ibc_robust_dist_minimax_scale(&c, a, b, n);
        double cmax = 0;
        for (long i = 0; i < n; i++)
            if (a[i] != 0)
                cmax = fmax(cmax, fabs(b[i] / a[i]));
        cmax = 2 * cmax + 1;
        double bestg = INFINITY, bestc = 0;
        for (long k = 0; k <= NG; k++) {
            double cc = cmax * (double)k / (double)NG, gg = gmax(cc, a, b, n);
            if (gg < bestg) {
                bestg = gg;
                bestc = cc;
            }
        }
        double h = cmax / (double)NG;
        double gold = golden(fmax(0, bestc - h), bestc + h, a, b, n);
        if (g > bestg + 1e-15 * fmax(1, bestg))
            worse++;
        if (fabs(g - gold) > 1e-12)
            far++;
        worst_gap = fmax(worst_gap, g - bestg);
        worst_gold = fmax(worst_gold, fabs(g - gold));
        /* the value returned is g at the returned c */
        if (fabs(g - gmax(c, a, b, n)) > 0 || c < 0)
            far++;
    }
    report("minimax never worse than a 2e5-point grid (40 sets)", worse == 0,
           "max(g - grid) = %.3g", worst_gap);
    report("minimax = golden-section refinement within 1e-12", far == 0,
           "max |g - golden| = %.3g", worst_gold);
    /* all a = 0: every c ties, the value is max |b| */
    double a0[3] = { 0, 0, 0 }, b0[3] = { 0.5, -2, 1 }, c0;
    double g0 = ibc_robust_dist_minimax_scale(&c0, a0, b0, 3);
    report("all a = 0 gives max |b|", g0 == 2.0, "g = %g, c = %g", g0, c0);
}

/* Every field of two results is bitwise equal. */
static int same(const ibc_dist_result *x, const ibc_dist_result *y)
{
    return memcmp(&x->c, &y->c, sizeof x->c) == 0 && memcmp(&x->c_ls, &y->c_ls, sizeof x->c) == 0 &&
           memcmp(&x->dist, &y->dist, sizeof x->c) == 0 &&
           memcmp(&x->dist_ls, &y->dist_ls, sizeof x->c) == 0 && x->starts == y->starts &&
           x->points == y->points;
}

static void run(ibc_dist_result *r, const ibc_rnet *f, const ibc_rnet *G, unsigned long seed)
{
    char err[IBC_ERRLEN] = "";
    if (ibc_robust_dist_ideal(r, f, G, NSAMP, NSTARTS, STEPS, seed, err) != IBC_OK) {
        fprintf(stderr, "ibc_robust_dist_ideal: %s\n", err);
        exit(2);
    }
}

/* (a) dist(G, G) = 0 at c = 1: every point has a_i = b_i. */
static void test_self(void)
{
    const long D = 20, K = 6, K1 = 4;
    ibc_rnet *F = ibc_robust_rnet_ideal(IBC_IDEAL_F, D, K, K1, 1);
    ibc_rnet *F3 = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3);
    ibc_dist_result r;
    run(&r, F, F, 1);
    report("dist(F, F) = 0 at c = 1", r.dist <= 1e-12 && fabs(r.c - 1) <= 1e-12,
           "dist = %.3g, c - 1 = %.3g, %ld points", r.dist, r.c - 1, r.points);
    run(&r, F3, F3, 1);
    report("dist(F^(3), F^(3)) = 0 at c = 1", r.dist <= 1e-12 && fabs(r.c - 1) <= 1e-12,
           "dist = %.3g, c - 1 = %.3g, dist_ls = %.3g", r.dist, r.c - 1, r.dist_ls);
    ibc_robust_rnet_free(F);
    ibc_robust_rnet_free(F3);
}

/* (b) f = 2.5 F^(3): c f - G = (2.5 c - 1) G, so c = 0.4 gives 0. */
static void test_scaled(void)
{
    const long D = 20, K = 6, K1 = 4;
    ibc_rnet *G = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3);
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3);
    for (long j = 0; j < f->h; j++)
        f->v[j] *= 2.5;
    ibc_dist_result r;
    run(&r, f, G, 2);
    report("f = 2.5 F^(3): c = 0.4, dist = 0", fabs(r.c - 0.4) <= 1e-12 && r.dist <= 1e-12,
           "c - 0.4 = %.3g, dist = %.3g, c_ls - 0.4 = %.3g", r.c - 0.4, r.dist, r.c_ls - 0.4);
    ibc_robust_rnet_free(f);
    ibc_robust_rnet_free(G);
}

/* G plus one neuron v sigma(<x, e_i>)^p (unit weight, so U = W and wn = 1). */
static ibc_rnet *plus_neuron(const ibc_rnet *G, long i, double v)
{
    ibc_rnet *f = calloc(1, sizeof *f);
    long h = G->h + 1, D = G->D, K = G->K;
    *f = *G;
    f->h = h;
    f->W = calloc((size_t)(h * D), sizeof(double));
    f->U = calloc((size_t)(h * D), sizeof(double));
    f->v = calloc((size_t)h, sizeof(double));
    f->wn = calloc((size_t)h, sizeof(double));
    f->mu = calloc((size_t)(K * D), sizeof(double));
    if (!f->W || !f->U || !f->v || !f->wn || !f->mu) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(f->W, G->W, (size_t)(G->h * D) * sizeof(double));
    memcpy(f->U, G->U, (size_t)(G->h * D) * sizeof(double));
    memcpy(f->v, G->v, (size_t)G->h * sizeof(double));
    memcpy(f->wn, G->wn, (size_t)G->h * sizeof(double));
    memcpy(f->mu, G->mu, (size_t)(K * D) * sizeof(double));
    f->W[G->h * D + i] = f->U[G->h * D + i] = 1.0;
    f->wn[G->h] = 1.0;
    f->v[G->h] = v;
    return f;
}

/* (c) f = F^(3) with v_k -> (1 + e) v_k for one k in K+.  With u_j = <x, mu_j>,
 *   c f - G = sum_j w_j sigma(u_j)^3,  w_k = c(1+e) - 1,
 *   w_j = c - 1 (j in K+, j != k),  w_j = 1 - c (j in K-).
 * On the unit sphere put s_j = sigma(u_j)^2 (sum s_j <= 1): the residual is
 * sum_j w_j s_j^(3/2), convex in s, so its max over the simplex is at a
 * vertex, max(0, max_j w_j), and likewise for its negative: the sup of the
 * absolute value is max_j |w_j| = max(|c(1+e) - 1|, |c - 1|) (K1 >= 2,
 * K- non-empty), attained at centers.  At c = 1 it is |e| (at mu_k); the inf
 * over c > 0 is where c(1+e) - 1 = 1 - c (e > 0):
 *   c* = 2/(2+e),  dist = e/(2+e).
 * (c') f = F^(3) plus a neuron e sigma(<x, u>)^3 with u = e_{K+1}, orthogonal
 * to every center: the same argument gives sup = max(c e, |c - 1|), so
 *   c* = 1/(1+e),  dist = e/(1+e),
 * attained at x = u, which is not a structured start: the random starts and
 * the ascent must find it, and the estimate (a lower one) must reach it. */
static void test_perturbed(void)
{
    const long D = 20, K = 6, K1 = 4, k = 1;
    const double e = 0.3;
    ibc_rnet *G = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3);
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3);
    f->v[k] *= 1 + e;
    ibc_dist_result r;
    run(&r, f, G, 3);
    double cs = 2 / (2 + e), ds = e / (2 + e);
    report("v_k (1+e): dist = e/(2+e), c = 2/(2+e)",
           fabs(r.dist - ds) <= 1e-12 && fabs(r.c - cs) <= 1e-12 && r.dist <= ds + 1e-15,
           "dist - e/(2+e) = %.3g, c - c* = %.3g", r.dist - ds, r.c - cs);
    ibc_robust_rnet_free(f);

    f = plus_neuron(G, K, e);
    run(&r, f, G, 4);
    cs = 1 / (1 + e);
    ds = e / (1 + e);
    report("extra neuron off the centers: dist = e/(1+e) within 1e-9",
           fabs(r.dist - ds) <= 1e-9 && fabs(r.c - cs) <= 1e-6 && r.dist <= ds + 1e-15,
           "dist - e/(1+e) = %.3g, c - c* = %.3g", r.dist - ds, r.c - cs);
    /* the control: no ascent (steps = 0) leaves x = u to the random samples,
     * which in D = 20 come nowhere near it: the ascent is what found it */
    char err[IBC_ERRLEN];
    ibc_dist_result r0;
    ibc_robust_dist_ideal(&r0, f, G, NSAMP, NSTARTS, 0, 4, err);
    report("control: without ascent the estimate falls short", r0.dist < ds - 1e-3,
           "dist(steps = 0) - e/(1+e) = %.3g", r0.dist - ds);

    /* (e) determinism, and the seed matters */
    ibc_dist_result r1, r2;
    run(&r1, f, G, 4);
    run(&r2, f, G, 5);
    report("same seed: bitwise identical result", same(&r, &r1), "c = %.17g", r1.c);
    report("another seed: another least-squares scale", r2.c_ls != r1.c_ls, "c_ls %.6g vs %.6g",
           r1.c_ls, r2.c_ls);
    report("every field filled", r.starts >= 2 * NSTARTS && r.starts % NSTARTS == 0 &&
           r.points == NSAMP + K + 2 + r.starts &&
           r.dist_ls >= r.dist && r.c_ls > 0,
           "starts %ld, points %ld, dist_ls %.4g >= dist %.4g", r.starts, r.points, r.dist_ls, r.dist);

    /* bad input: one line, IBC_EINPUT */
    ibc_rnet *H = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D + 1, K, K1, 3);
    err[0] = 0;
    int rc = ibc_robust_dist_ideal(&r0, H, G, NSAMP, NSTARTS, STEPS, 1, err);
    report("dimension mismatch is bad input", rc == IBC_EINPUT && err[0] && !strchr(err, '\n'), "%s", err);
    err[0] = 0;
    rc = ibc_robust_dist_ideal(&r0, f, G, 0, NSTARTS, STEPS, 1, err);
    report("nsamp = 0 is bad input", rc == IBC_EINPUT && err[0], "%s", err);
    ibc_robust_rnet_free(H);
    ibc_robust_rnet_free(f);
    ibc_robust_rnet_free(G);
}

/* (c'') ReLU: f = F + e sigma(<x, u>), u = e_{K+1} orthogonal to the centers.
 * With t1, t2, t3 the coordinates of x along mu+/sqrt(K1), mu-/sqrt(K2), u,
 *   c f - F = (c-1) sqrt(K1) sigma(t1) - (c-1) sqrt(K2) sigma(t2) + c e sigma(t3),
 * and on the unit sphere the sup of a sum of b_i sigma(t_i) (orthonormal
 * directions) is the norm of the positive part of b.  For 0 < c <= 1:
 *   sup |c f - F| = max( sqrt((1-c)^2 K2 + c^2 e^2), (1-c) sqrt(K1) ),
 * and c > 1 is worse than c = 1 (the first term exceeds c e > e).  The
 * maximiser of the first term has t1 = 0: it sits on the kink of F's mu+
 * neuron, a ridge of |c f - F| that stalls plain gradient steps.  The inf
 * over c is taken below by golden section on that formula (independent of
 * the estimator's exact minimax). */
static double ridge_sup(double c, double K1, double K2, double e)
{
    return fmax(sqrt((1 - c) * (1 - c) * K2 + c * c * e * e), (1 - c) * sqrt(K1));
}

static void test_ridge(void)
{
    const long D = 20, K = 6, K1 = 4;
    const double e = 0.5, gr = 0.6180339887498949;
    ibc_rnet *G = ibc_robust_rnet_ideal(IBC_IDEAL_F, D, K, K1, 1);
    ibc_rnet *f = plus_neuron(G, K, e);
    double lo = 0, hi = 1;
    for (int it = 0; it < 200; it++) {
        double x1 = hi - gr * (hi - lo), x2 = lo + gr * (hi - lo);
        if (ridge_sup(x1, K1, K - K1, e) <= ridge_sup(x2, K1, K - K1, e))
            hi = x2;
        else
            lo = x1;
    }
    double cs = 0.5 * (lo + hi), ds = ridge_sup(cs, K1, K - K1, e);
    ibc_dist_result r;
    run(&r, f, G, 6);
    report("ReLU extra neuron, sup on a kink: dist within 1e-9",
           fabs(r.dist - ds) <= 1e-9 && fabs(r.c - cs) <= 1e-6 && r.dist <= ds + 1e-12,
           "dist - exact = %.3g (exact %.6f), c - c* = %.3g", r.dist - ds, ds, r.c - cs);
    ibc_robust_rnet_free(f);
    ibc_robust_rnet_free(G);
}

/* G plus m ReLU neurons with random directions and output weights of size
 * 'scale' (p = 1 only: the unit is ||w|| sigma(<x, w^>), wn and U by hand). */
static ibc_rnet *plus_random(const ibc_rnet *G, long m, double scale)
{
    ibc_rnet *f = plus_neuron(G, 0, 0.0);
    long h0 = G->h, h = h0 + m, D = G->D;
    f->h = h;
    f->W = realloc(f->W, (size_t)(h * D) * sizeof(double));
    f->U = realloc(f->U, (size_t)(h * D) * sizeof(double));
    f->v = realloc(f->v, (size_t)h * sizeof(double));
    f->wn = realloc(f->wn, (size_t)h * sizeof(double));
    if (!f->W || !f->U || !f->v || !f->wn) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (long j = h0; j < h; j++) {
        double n2 = 0;
        for (long d = 0; d < D; d++) {
            f->W[j * D + d] = 2 * unif() - 1;
            n2 += f->W[j * D + d] * f->W[j * D + d];
        }
        f->wn[j] = sqrt(n2);
        for (long d = 0; d < D; d++)
            f->U[j * D + d] = f->W[j * D + d] / f->wn[j];
        f->v[j] = scale * (2 * unif() - 1);
    }
    return f;
}

/* (c4) a ReLU network with many kinks: no closed form, so the second method
 * is the estimator itself from other seeds (other samples and starts).  The
 * maxima of a piecewise-linear residual sit on kinks, where plain gradient
 * steps stall wherever they arrive: the estimates then scatter with the seed,
 * while ascent along the ridges agrees. */
static void test_many_kinks(void)
{
    const long D = 20, K = 6, K1 = 4;
    ibc_rnet *G = ibc_robust_rnet_ideal(IBC_IDEAL_F, D, K, K1, 1);
    ibc_rnet *f = plus_random(G, 60, 0.1);
    double lo = INFINITY, hi = -INFINITY;
    for (unsigned long seed = 1; seed <= 4; seed++) {
        ibc_dist_result r;
        run(&r, f, G, seed);
        lo = fmin(lo, r.dist);
        hi = fmax(hi, r.dist);
    }
    report("ReLU with 60 extra kinks: 4 seeds agree within 1e-9", hi - lo <= 1e-9 * hi,
           "dist in [%.12f, %.12f]", lo, hi);
    ibc_robust_rnet_free(f);
    ibc_robust_rnet_free(G);
}

int main(void)
{
    test_minimax();
    test_self();
    test_scaled();
    test_perturbed();
    test_ridge();
    test_many_kinks();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
