/* Unit test of the certified lower bound on the l2 radius (robust/certify.c,
 * docs/theory.md §4, §7).  Each bound is checked against a second method:
 *  1. the ideal classifiers, whose radii are known exactly: F^(p) at the
 *     centers (closed form sqrt(c/(1+c))), F at noisy points (closed form of
 *     the two half-spaces); lo must not exceed them and must come close;
 *  2. random networks: certified flips found by ray scans and by projected
 *     descent on the sphere of radius lo must all lie outside the ball;
 *  3. the trained default networks (p = 3 and p = 1): lo against the
 *     structured rays' certified flips (the bracket's width is reported);
 *  4. a misclassified point gives lo = 0, bad input IBC_EINPUT.
 * One line per check: measured value, tolerance, verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"

#include "test_util.h"

#define RMAX 2.0

static void unit_rand(double *d, long D)
{
    double s = 0;
    for (long i = 0; i < D; i++) {
        d[i] = nrand();
        s += d[i] * d[i];
    }
    s = sqrt(s);
    for (long i = 0; i < D; i++)
        d[i] /= s;
}

static void normalize(double *d, long D)
{
    double s = 0;
    for (long i = 0; i < D; i++)
        s += d[i] * d[i];
    s = sqrt(s);
    for (long i = 0; i < D; i++)
        d[i] /= s;
}

/* The first certified flip along the unit ray x + t d, t in (0, tmax]:
 * scanned and bisected in double (fast), then the upper end is nudged out
 * until ibc_robust_rnet_flipped certifies it.  Returns the guaranteed norm of the
 * flipping perturbation, +inf when none is found. */
static double ray_flip(const ibc_rnet *f, const double *x, int y, const double *d, double tmax,
                       long nscan)
{
    long D = f->D;
    double *xp = malloc((size_t)D * sizeof(double)), *delta = malloc((size_t)D * sizeof(double));
    double out = INFINITY, tprev = 0;
    for (long i = 1; i <= nscan && !isfinite(out); i++) {
        double t = tmax * (double)i / (double)nscan;
        for (long k = 0; k < D; k++)
            xp[k] = x[k] + t * d[k];
        if (y * ibc_robust_rnet_eval_d(f, xp) > 0) {
            tprev = t;
            continue;
        }
        double lo = tprev, hi = t;
        for (int it = 0; it < 50; it++) {
            double mid = 0.5 * (lo + hi);
            for (long k = 0; k < D; k++)
                xp[k] = x[k] + mid * d[k];
            if (y * ibc_robust_rnet_eval_d(f, xp) > 0)
                lo = mid;
            else
                hi = mid;
        }
        for (int nudge = 0; nudge < 40; nudge++) {
            for (long k = 0; k < D; k++)
                delta[k] = hi * d[k];
            if (ibc_robust_rnet_flipped(f, x, delta, y, 64) == 1) {
                out = ibc_robust_rnet_norm_up(delta, D);
                break;
            }
            hi += ldexp(t - tprev, nudge - 50);
            if (hi > t)
                hi = t;
        }
        tprev = t;
    }
    free(xp);
    free(delta);
    return out;
}

/* ---------------------------------------------------------------------- */
/* 1. Ideal classifiers with exact radii                                    */

static void test_ideal_Fp(void)
{
    const long D = 30, K = 10, K1 = 6;
    const double ps[5] = {1, 1.5, 2, 3, 4};
    char err[IBC_ERRLEN];
    arb_t r;
    arb_init(r);
    double *x = calloc((size_t)D, sizeof(double));
    for (int ip = 0; ip < 5; ip++) {
        double p = ps[ip];
        ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, p);
        double worst_ratio = INFINITY, worst_ibp = 0, tmax = 0, over = -INFINITY;
        int rc_all = IBC_OK;
        for (long k = 0; k < K; k++) {
            int y = k < K1 ? 1 : -1;
            long Kopp = k < K1 ? K - K1 : K1;
            memset(x, 0, (size_t)D * sizeof(double));
            x[k] = 1.0;
            ibc_cert_result res;
            double t0 = wall();
            int rc = ibc_robust_certify_radius(&res, f, x, y, RMAX, err);
            double dt = wall() - t0;
            if (dt > tmax)
                tmax = dt;
            if (rc)
                rc_all = rc;
            ibc_ideal_radius_Fp_center(r, p, Kopp, 128);
            double ex_lo, ex_hi;
            arf_t t;
            arf_init(t);
            arb_get_ubound_arf(t, r, 128);
            ex_hi = arf_get_d(t, ARF_RND_CEIL);
            arb_get_lbound_arf(t, r, 128);
            ex_lo = arf_get_d(t, ARF_RND_FLOOR);
            arf_clear(t);
            if (res.lo - ex_hi > over)
                over = res.lo - ex_hi;
            double ratio = res.lo / ex_lo;
            if (ratio < worst_ratio) {
                worst_ratio = ratio;
                worst_ibp = res.lo_ibp / ex_lo;
            }
            if (k == 0 || k == K - 1)
                printf("      F^(%g) at mu_%ld: lo %.5f, lo_ibp %.5f, exact %.5f, nbasis %ld, %.1f ms\n",
                       p, k, res.lo, res.lo_ibp, ex_lo, res.nbasis, 1e3 * dt);
        }
        char name[64];
        snprintf(name, sizeof name, "F^(%g) centers: lo <= exact radius (sound)", p);
        report(name, rc_all == IBC_OK && over <= 0, "max lo - exact %.2e, tol 0", over);
        /* p >= 2: sqrt2/2; p < 2 (1/sqrt(K_opp + 1) at p = 1): the minimiser
         * spreads over every opposite center, so the budget grid's slack
         * (one step per direction) weighs more; measured 0.97 at p = 1. */
        double need = p >= 2 ? 0.95 : 0.9;
        snprintf(name, sizeof name, "F^(%g) centers: lo / exact >= %.2f (tight)", p, need);
        report(name, worst_ratio >= need, "min ratio %.4f (IBP alone %.4f), slowest %.1f ms",
               worst_ratio, worst_ibp, 1e3 * tmax);
        snprintf(name, sizeof name, "F^(%g) centers: separable beats IBP", p);
        report(name, worst_ratio > 1.2 * worst_ibp, "lo/IBP %.3f, tol > 1.2", worst_ratio / worst_ibp);
        ibc_robust_rnet_free(f);
    }
    free(x);
    arb_clear(r);
}

static void test_ideal_F(void)
{
    const long D = 30, K = 10, K1 = 6;
    char err[IBC_ERRLEN];
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_F, D, K, K1, 1.0);
    double *x = malloc((size_t)D * sizeof(double));
    arb_ptr c = _arb_vec_init(K);
    arb_t r;
    arb_init(r);
    rng_state = 11;
    double over = -INFINITY, worst = INFINITY, worst_ibp = 0, sum_lo = 0, sum_ibp = 0;
    int bad = 0, npts = 0;
    for (int it = 0; it < 30; it++) {
        long k = it % K;
        int y = k < K1 ? 1 : -1;
        for (long d = 0; d < D; d++)
            x[d] = (d == k ? 1.0 : 0.0) + 0.1 / sqrt((double)D) * nrand();
        for (long i = 0; i < K; i++)
            arb_set_d(c + i, x[i]);
        if (ibc_ideal_radius_F(r, c, K, K1, y, 128) != IBC_OK || !arb_is_positive(r))
            continue;   /* noise put x on the wrong side: no radius to compare */
        ibc_cert_result res;
        if (ibc_robust_certify_radius(&res, f, x, y, RMAX, err) != IBC_OK) {
            bad++;
            continue;
        }
        double ex = arf_get_d(arb_midref(r), ARF_RND_NEAR), rad = mag_get_d(arb_radref(r));
        if (res.lo - (ex + rad) > over)
            over = res.lo - (ex + rad);
        if (res.lo / ex < worst) {
            worst = res.lo / ex;
            worst_ibp = res.lo_ibp / ex;
        }
        sum_lo += res.lo / ex;
        sum_ibp += res.lo_ibp / ex;
        npts++;
    }
    report("F at noisy points: lo <= r_F closed form (sound)", bad == 0 && npts >= 20 && over <= 0,
           "%d points, max lo - r_F %.2e, tol 0", npts, over);
    report("F at noisy points: lo >= 0.9 r_F (tight)", worst >= 0.9,
           "min lo/r_F %.4f (mean %.4f); IBP min %.4f (mean %.4f)", worst, sum_lo / npts, worst_ibp,
           sum_ibp / npts);
    report("F at noisy points: IBP much looser than lo", sum_ibp / npts < 0.9 * sum_lo / npts,
           "mean IBP/r_F %.4f < 0.9 * mean lo/r_F %.4f", sum_ibp / npts, sum_lo / npts);
    arb_clear(r);
    _arb_vec_clear(c, K);
    free(x);
    ibc_robust_rnet_free(f);
}

/* ---------------------------------------------------------------------- */
/* 2. Random networks against attacks                                       */

/* Projected descent of y f on the sphere of radius rho (in double): returns
 * the lowest margin reached, delta the point; any end point the certificate
 * claims safe must not be a certified flip. */
static double sphere_descent(double *delta, const ibc_rnet *f, const double *x, int y, double rho,
                             const double *start, long steps)
{
    long D = f->D;
    double *xp = malloc((size_t)D * sizeof(double)), *g = malloc((size_t)D * sizeof(double));
    double *best = malloc((size_t)D * sizeof(double));
    double bestm = INFINITY, step = 0.1 * rho;
    for (long k = 0; k < D; k++)
        delta[k] = rho * start[k];
    for (long it = 0; it <= steps; it++) {
        for (long k = 0; k < D; k++)
            xp[k] = x[k] + delta[k];
        double m = y * ibc_robust_rnet_grad_d(f, xp, g);
        if (m < bestm) {
            bestm = m;
            memcpy(best, delta, (size_t)D * sizeof(double));
        }
        double gn = 0;
        for (long k = 0; k < D; k++)
            gn += g[k] * g[k];
        gn = sqrt(gn);
        if (gn == 0)
            break;
        for (long k = 0; k < D; k++)
            delta[k] -= step * y * g[k] / gn;
        normalize(delta, D);
        for (long k = 0; k < D; k++)
            delta[k] *= rho;
        step *= 0.99;
    }
    memcpy(delta, best, (size_t)D * sizeof(double));
    free(xp);
    free(g);
    free(best);
    return bestm;
}

static void test_random_nets(void)
{
    const long h = 20, D = 8;
    const double ps[4] = {1, 2, 3, 1.5};
    char err[IBC_ERRLEN];
    rng_state = 2024;
    for (int ip = 0; ip < 4; ip++) {
        double p = ps[ip];
        /* A random pReLU net as an rnet: an ideal shell with new weights. */
        ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, 2, 1, p);
        free(f->W);
        free(f->U);
        free(f->v);
        free(f->wn);
        f->h = h;
        f->W = malloc((size_t)(h * D) * sizeof(double));
        f->U = malloc((size_t)(h * D) * sizeof(double));
        f->v = malloc((size_t)h * sizeof(double));
        f->wn = malloc((size_t)h * sizeof(double));
        for (long j = 0; j < h; j++) {
            double s = 0;
            for (long d = 0; d < D; d++) {
                f->W[j * D + d] = nrand();
                s += f->W[j * D + d] * f->W[j * D + d];
            }
            f->wn[j] = sqrt(s);
            for (long d = 0; d < D; d++)
                f->U[j * D + d] = f->W[j * D + d] / f->wn[j];
            f->v[j] = nrand();
        }
        f->K = 0;   /* no centers: the clustered basis only */
        double min_ratio = INFINITY, min_desc = INFINITY, sum_lo = 0, sum_ibp = 0, tmax = 0;
        long violations = 0, npts = 0, nflip = 0;
        double *x = malloc((size_t)D * sizeof(double)), *d = malloc((size_t)D * sizeof(double));
        double *delta = malloc((size_t)D * sizeof(double)), *g = malloc((size_t)D * sizeof(double));
        for (int pt = 0; pt < 6; pt++) {
            for (long k = 0; k < D; k++)
                x[k] = nrand();
            double fx = ibc_robust_rnet_grad_d(f, x, g);
            int y = fx > 0 ? 1 : -1;
            ibc_cert_result res;
            double t0 = wall();
            if (ibc_robust_certify_radius(&res, f, x, y, 4.0, err) != IBC_OK || res.misclassified)
                continue;
            double dt = wall() - t0;
            if (dt > tmax)
                tmax = dt;
            npts++;
            sum_lo += res.lo;
            sum_ibp += res.lo_ibp;
            double lo = res.lo;
            /* Rays: random directions and the descent direction -y grad f. */
            for (int dir = 0; dir < 300; dir++) {
                if (dir == 0) {
                    for (long k = 0; k < D; k++)
                        d[k] = -y * g[k];
                    normalize(d, D);
                } else {
                    unit_rand(d, D);
                }
                double t = ray_flip(f, x, y, d, 6.0, 300);
                if (isfinite(t)) {
                    nflip++;
                    if (t / lo < min_ratio)
                        min_ratio = t / lo;
                    if (t < lo)
                        violations++;
                }
            }
            /* Sphere descent just inside the certified ball: never a flip. */
            for (int st = 0; st < 8; st++) {
                unit_rand(d, D);
                if (st == 0) {
                    for (long k = 0; k < D; k++)
                        d[k] = -y * g[k];
                    normalize(d, D);
                }
                double m = sphere_descent(delta, f, x, y, lo * (1 - 1e-9), d, 300);
                if (m < min_desc)
                    min_desc = m;
                if (ibc_robust_rnet_flipped(f, x, delta, y, 64) == 1)
                    violations++;
            }
        }
        char name[80];
        snprintf(name, sizeof name, "random net p=%g: no certified flip inside lo", p);
        report(name, npts >= 4 && violations == 0 && nflip > 0,
               "%ld points, %ld ray flips, min flip/lo %.4f (>= 1), min y f on sphere(lo) %.3e, "
               "%ld violations", npts, nflip, min_ratio, min_desc, violations);
        printf("      mean lo %.4f, mean lo_ibp %.4f, slowest %.1f ms\n", sum_lo / npts,
               sum_ibp / npts, 1e3 * tmax);
        free(x);
        free(d);
        free(delta);
        free(g);
        ibc_robust_rnet_free(f);
    }
}

/* ---------------------------------------------------------------------- */
/* 3. Trained networks                                                      */

static void test_trained(double p)
{
    char err[IBC_ERRLEN];
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    /* Half the default data and width: a quarter of the training time (the
     * unit tests also run under ASan); the trained-radius claim covers the
     * default size. */
    cfg.n = 250;
    cfg.h = 50;
    double t0 = wall();
    const ibc_trained *t = ibc_train_cached(&cfg, p, cfg.prec, err);
    if (!t) {
        report("trained network available", 0, "%s", err);
        return;
    }
    double ttrain = wall() - t0;
    ibc_rnet *f = ibc_robust_rnet_from_net(t->net, &t->theta, t->data);
    long n = 20, D = cfg.model.D, K = cfg.model.K, K1 = cfg.model.K1;
    ibc_data *test = ibc_model_data_alloc(&cfg.model, n, 1);
    ibc_vec X;
    ibc_model_data_round(&X, test, ibc_prec_double());
    double *d = malloc((size_t)D * sizeof(double)), *g = malloc((size_t)D * sizeof(double));
    double sum_lo = 0, sum_ibp = 0, sum_hi = 0, max_w = 0, sum_w = 0, tcert = 0, tmaxc = 0;
    double over = -INFINITY, max_slack = 0;
    long npts = 0, nmis = 0, nbasis = 0, nwide = 0;
    for (long i = 0; i < n; i++) {
        const double *x = X.d + i * D;
        int y = test->y[i];
        long k = test->z[i];
        ibc_cert_result res;
        double t1 = wall();
        int rc = ibc_robust_certify_radius(&res, f, x, y, RMAX, err);
        double dt = wall() - t1;
        tcert += dt;
        if (dt > tmaxc)
            tmaxc = dt;
        if (rc != IBC_OK) {
            report("certify on a trained net", 0, "%s", err);
            continue;
        }
        if (res.misclassified) {
            nmis++;
            continue;
        }
        /* Upper bounds: the structured rays, and for p = 1 also F's attack
         * directions and the gradient (ReLU nets fall along them). */
        double hi = INFINITY;
        long lo_c = k < K1 ? K1 : 0, hi_c = k < K1 ? K : K1;
        for (long l = lo_c; l < hi_c; l++) {
            for (int kind = 0; kind < 2; kind++) {
                for (long q = 0; q < D; q++) {
                    double mk = f->mu[k * D + q], ml = f->mu[l * D + q];
                    d[q] = kind == 0 ? (ml - mk) / sqrt(2.0) : 0.5 * (mk + ml) - x[q];
                }
                normalize(d, D);
                double r = ray_flip(f, x, y, d, RMAX, 400);
                if (r < hi)
                    hi = r;
            }
        }
        for (int kind = 0; kind < 3; kind++) {
            if (kind < 2) {
                /* -y (mu+ - mu-) and -mu_y: F's two half-space normals */
                for (long q = 0; q < D; q++) {
                    double sp = 0, sm = 0;
                    for (long c = 0; c < K; c++) {
                        if (c < K1)
                            sp += f->mu[c * D + q];
                        else
                            sm += f->mu[c * D + q];
                    }
                    d[q] = kind == 0 ? -y * (sp - sm) : (y > 0 ? -sp : -sm);
                }
            } else {
                ibc_robust_rnet_grad_d(f, x, g);
                for (long q = 0; q < D; q++)
                    d[q] = -y * g[q];
            }
            normalize(d, D);
            double r = ray_flip(f, x, y, d, RMAX, 400);
            if (r < hi)
                hi = r;
        }
        npts++;
        sum_lo += res.lo;
        sum_ibp += res.lo_ibp;
        sum_hi += hi;
        if (res.lo - hi > over)
            over = res.lo - hi;
        double w = hi - res.lo;
        sum_w += w;
        if (w > max_w)
            max_w = w;
        if (w > 0.1)
            nwide++;
        nbasis = res.nbasis;
        if (res.max_slack > max_slack)
            max_slack = res.max_slack;
        if (i < 3)
            printf("      %s point %ld (y %+d, z %ld): lo %.4f, lo_ibp %.4f, ray %.4f, width %.4f, "
                   "nbasis %ld, slack %.2e, %.1f ms\n",
                   f->name, i, y, k, res.lo, res.lo_ibp, hi, w, res.nbasis, res.max_slack, 1e3 * dt);
    }
    char name[80];
    printf("      %s: trained in %.1f s; %ld points (%ld misclassified); mean lo %.4f, mean lo_ibp "
           "%.4f, mean ray %.4f; nbasis %ld, max slack %.2e\n",
           f->name, ttrain, npts, nmis, sum_lo / npts, sum_ibp / npts, sum_hi / npts, nbasis,
           max_slack);
    snprintf(name, sizeof name, "trained p=%g: lo <= structured ray flip (sound)", p);
    report(name, npts >= 15 && over <= 0, "max lo - ray %.2e, tol 0", over);
    snprintf(name, sizeof name, "trained p=%g: bracket width [lo, ray] (report)", p);
    report(name, 1, "mean %.4f, max %.4f, %ld of %ld wider than 0.1", sum_w / npts, max_w, nwide,
           npts);
    snprintf(name, sizeof name, "trained p=%g: time per point (report)", p);
    report(name, 1, "mean %.1f ms, max %.1f ms (h %ld, D %ld, K %ld)", 1e3 * tcert / n, 1e3 * tmaxc,
           f->h, D, K);
    printf("      (trained p=%g: %.1f s besides training)\n", p, wall() - t0 - ttrain);
    free(d);
    free(g);
    ibc_prec_vec_clear(&X);
    ibc_model_data_free(test);
    ibc_robust_rnet_free(f);
}

/* ---------------------------------------------------------------------- */
/* 4. Misclassified points and bad input                                    */

static void test_edges(void)
{
    const long D = 30, K = 10, K1 = 6;
    char err[IBC_ERRLEN];
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, 3.0);
    double *x = calloc((size_t)D, sizeof(double));
    ibc_cert_result res;
    x[0] = 1.0;
    int rc = ibc_robust_certify_radius(&res, f, x, -1, RMAX, err);
    report("misclassified point (mu_0 labelled -1): lo = 0", rc == IBC_OK && res.misclassified == 1 &&
           res.lo == 0, "rc %d, misclassified %d, lo %g", rc, res.misclassified, res.lo);
    x[0] = 0.0;
    rc = ibc_robust_certify_radius(&res, f, x, 1, RMAX, err);
    report("point on the boundary (x = 0, f = 0): lo = 0", rc == IBC_OK && res.misclassified == 1 &&
           res.lo == 0, "rc %d, misclassified %d, lo %g", rc, res.misclassified, res.lo);
    x[0] = 1.0;
    err[0] = 0;
    rc = ibc_robust_certify_radius(&res, f, x, 1, 0.0, err);
    report("rmax = 0 is bad input", rc == IBC_EINPUT && err[0] && !strchr(err, '\n'), "rc %d: %s",
           rc, err);
    err[0] = 0;
    x[3] = NAN;
    rc = ibc_robust_certify_radius(&res, f, x, 1, RMAX, err);
    report("non-finite x is bad input", rc == IBC_EINPUT && err[0] && !strchr(err, '\n'), "rc %d: %s",
           rc, err);
    x[3] = 0;
    /* rmax below the radius: certified all the way. */
    rc = ibc_robust_certify_radius(&res, f, x, 1, 0.3, err);
    report("rmax below the radius: lo = rmax", rc == IBC_OK && res.lo == 0.3, "lo %.6f", res.lo);
    free(x);
    ibc_robust_rnet_free(f);
}

int main(void)
{
    double t0 = wall();
    test_edges();
    test_ideal_Fp();
    test_ideal_F();
    printf("      (ideal checks: %.1f s)\n", wall() - t0);
    double t1 = wall();
    test_random_nets();
    printf("      (random nets: %.1f s)\n", wall() - t1);
    test_trained(3.0);
    test_trained(1.0);
    ibc_claim_cache_clear();
    printf("total %.1f s, %d failure(s)\n", wall() - t0, failures);
    return failures ? 1 : 0;
}
