/* Unit test of src/ideal/kkt.c: the exact radius of F^(p) at any point by
 * KKT enumeration, each check against an independent method:
 *  (a) at the centers, the closed form sqrt(c/(1+c)) of ideal;
 *  (b) at noisy points, the flip of F^(p) certified through its network
 *      (rnet, Arb) just beyond the minimiser and not just before it, and an
 *      attack (random directions, ray bisection, local random descent) that
 *      must never flip below the radius;
 *  (c) in K = 3, a brute-force grid over the 3-D ball;
 *  (d), (e) bad K and a misclassified point.
 * Also r_F (closed form) against the same kind of attack, and the time per
 * call of the double search at K = 10.  IBC_TEST_REPEAT multiplies the
 * number of random points. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

#define PREC 128

/* y F^(p)(c) straight from the definition (double): the attack's oracle. */
static double yFp(const double *c, long K, long K1, int y, double p)
{
    double s = 0;
    for (long k = 0; k < K; k++) {
        double t = c[k] > 0 ? pow(c[k], p) : 0;
        s += ((k < K1) == (y > 0)) ? t : -t;
    }
    return s;
}

/* y F(c) from the definition: sigma(<x, mu+>) - sigma(<x, mu->). */
static double yF(const double *c, long K, long K1, int y)
{
    double a = 0, b = 0;
    for (long k = 0; k < K; k++) {
        if (k < K1)
            a += c[k];
        else
            b += c[k];
    }
    double s = fmax(a, 0) - fmax(b, 0);
    return y > 0 ? s : -s;
}

typedef struct {
    long K, K1;
    int y;
    double p;          /* 0: F, else F^(p) */
    const double *c;
} clf_at;

static double margin_at(const clf_at *f, const double *d, double t)
{
    double x[IBC_KKT_KMAX + 1];
    for (long k = 0; k < f->K; k++)
        x[k] = f->c[k] + t * d[k];
    return f->p > 0 ? yFp(x, f->K, f->K1, f->y, f->p) : yF(x, f->K, f->K1, f->y);
}

/* Smallest t in (0, tmax] where x + t d flips (scan, then bisection); inf if none. */
static double ray_radius(const clf_at *f, const double *d, double tmax)
{
    const int N = 96;
    double prev = 0;
    for (int i = 1; i <= N; i++) {
        double t = tmax * i / N;
        if (margin_at(f, d, t) <= 0) {
            double lo = prev, hi = t;
            for (int j = 0; j < 60; j++) {
                double m = 0.5 * (lo + hi);
                if (margin_at(f, d, m) <= 0)
                    hi = m;
                else
                    lo = m;
            }
            return hi;
        }
        prev = t;
    }
    return INFINITY;
}

static void rand_unit(double *d, long K)
{
    double s = 0;
    for (long k = 0; k < K; k++) {
        d[k] = nrand();
        s += d[k] * d[k];
    }
    for (long k = 0; k < K; k++)
        d[k] /= sqrt(s);
}

/* One (1+1) evolution strategy on the direction from d0: the step grows on
 * success and shrinks on failure (about one success in five keeps it put). */
static double descend(double *bd, const clf_at *f, double best, int nsteps)
{
    long K = f->K;
    double d[IBC_KKT_KMAX], sig = 0.3;
    for (int s = 0; s < nsteps; s++) {
        double n = 0;
        for (long k = 0; k < K; k++) {
            d[k] = bd[k] + sig * nrand() / sqrt((double)K);
            n += d[k] * d[k];
        }
        for (long k = 0; k < K; k++)
            d[k] /= sqrt(n);
        double t = ray_radius(f, d, best * 1.0000001);
        if (t < best) {
            best = t;
            memcpy(bd, d, (size_t)K * sizeof(double));
            sig = fmin(sig * 1.5, 1.0);
        } else {
            sig = fmax(sig * 0.9, 1e-9);
        }
    }
    return best;
}

#define NTOP 6

/* The independent attack: ndirs random directions in span(mu), ray
 * bisection, then a local descent from each of the NTOP best (the flip set
 * of F^(p) has one basin per opposite center that grows).  best_d gets the
 * flipping perturbation (length K). */
static double attack(double *best_d, const clf_at *f, double tmax, int ndirs, int nsteps)
{
    long K = f->K;
    double d[IBC_KKT_KMAX], top[NTOP][IBC_KKT_KMAX], tt[NTOP];
    for (int j = 0; j < NTOP; j++)
        tt[j] = INFINITY;
    for (int i = 0; i < ndirs; i++) {
        rand_unit(d, K);
        double t = ray_radius(f, d, tmax);
        int j = NTOP - 1;
        if (!(t < tt[j]))
            continue;
        for (; j > 0 && t < tt[j - 1]; j--) {
            tt[j] = tt[j - 1];
            memcpy(top[j], top[j - 1], sizeof d);
        }
        tt[j] = t;
        memcpy(top[j], d, sizeof d);
    }
    double best = INFINITY;
    for (int j = 0; j < NTOP && isfinite(tt[j]); j++) {
        double t = descend(top[j], f, tt[j], nsteps);
        if (t < best) {
            best = t;
            for (long k = 0; k < K; k++)
                best_d[k] = t * top[j][k];
        }
    }
    return best;
}

/* (a) centers: the closed form of ideal, to 1e-12, inside the certified ball. */
static void test_centers(void)
{
    static const double PS[] = { 1.0, 1.5, 2.0, 3.0, 4.0 };
    static const long KS[] = { 4, 10, 16 };
    for (size_t ip = 0; ip < sizeof PS / sizeof PS[0]; ip++) {
        double p = PS[ip], worst = 0;
        long n = 0, inside = 0, cert_fail = 0;
        for (size_t ik = 0; ik < sizeof KS / sizeof KS[0]; ik++) {
            long K = KS[ik], sp[3];
            int ns = ibc_ideal_splits(K, sp);
            for (int is = 0; is < ns; is++) {
                long K1 = sp[is];
                /* the first and last center of each class */
                long ks[4] = { 0, K1 - 1, K1, K - 1 };
                for (int j = 0; j < 4; j++) {
                    long k = ks[j];
                    int y = k < K1 ? 1 : -1;
                    long Ko = y > 0 ? K - K1 : K1;
                    double c[IBC_KKT_KMAX] = { 0 };
                    c[k] = 1;
                    arb_t ref;
                    arb_init(ref);
                    ibc_ideal_radius_Fp_center(ref, p, Ko, 2 * PREC);
                    double rref = arf_get_d(arb_midref(ref), ARF_RND_NEAR);
                    double rd = ibc_ideal_kkt_radius_Fp_d(c, K, K1, y, p);
                    ibc_ideal_kkt_result res;
                    ibc_ideal_kkt_result_init(&res, K);
                    char err[IBC_ERRLEN] = "";
                    int rc = ibc_ideal_kkt_radius_Fp(&res, c, K, K1, y, p, PREC, err);
                    if (rc != IBC_OK) {
                        cert_fail++;
                        printf("     p=%g K=%ld K1=%ld k=%ld: %s\n", p, K, K1, k, err);
                    } else {
                        inside += arb_contains(res.r, ref);
                    }
                    double e = fmax(fabs(rd - rref), rc == IBC_OK ? fabs(res.r_d - rref) : INFINITY);
                    if (!(e <= worst))
                        worst = e;
                    n++;
                    ibc_ideal_kkt_result_clear(&res);
                    arb_clear(ref);
                }
            }
        }
        char name[64];
        snprintf(name, sizeof name, "(a) centers p=%g: KKT = sqrt(c/(1+c))", p);
        report(name, worst <= 1e-12 && inside == n && cert_fail == 0,
               "max |r_kkt - r_closed| = %.2e (tol 1e-12); ball contains closed form %ld/%ld", worst,
               inside, n);
    }
}

/* (b) noisy points: flip beyond, none before, attack never below. */
static void test_noisy(void)
{
    static const double PS[] = { 1.0, 2.0, 3.0 };
    const long K = 10, K1 = 6;
    long npts = 12 * test_repeat();
    double t_attack = 0;
    for (size_t ip = 0; ip < sizeof PS / sizeof PS[0]; ip++) {
        double p = PS[ip];
        ibc_rnet *net = ibc_robust_rnet_ideal(IBC_IDEAL_FP, K, K, K1, p);
        rng_state = 1000 + (uint64_t)(10 * p);
        long flip_ok = 0, noflip_ok = 0, cert_ok = 0, att_ok = 0, n = 0, mis = 0, grown_max = 0;
        double min_ratio = INFINITY, max_ratio = 0, dmax = 0, wmax = 0;
        for (long t = 0; t < npts; t++) {
            double c[IBC_KKT_KMAX];
            long z = (long)(rng_next() % (uint64_t)K);
            int y = z < K1 ? 1 : -1;
            /* half the points at the model's noise, half 3x larger so that
             * many coordinates are negative and several branches are used */
            double s = (t % 2 ? 0.3 : 0.1) / sqrt(30.0);
            for (long k = 0; k < K; k++)
                c[k] = (k == z) + s * nrand();
            ibc_ideal_kkt_result res;
            ibc_ideal_kkt_result_init(&res, K);
            char err[IBC_ERRLEN] = "";
            int rc = ibc_ideal_kkt_radius_Fp(&res, c, K, K1, y, p, PREC, err);
            double rd = ibc_ideal_kkt_radius_Fp_d(c, K, K1, y, p);
            n++;
            if (rc != IBC_OK) {
                printf("     p=%g point %ld: %s\n", p, t, err);
                ibc_ideal_kkt_result_clear(&res);
                continue;
            }
            /* the double search's radius lies in the certified ball (up to
             * double rounding of its coordinates) */
            cert_ok += fabs(rd - res.r_d) <= mag_get_d(arb_radref(res.r)) + 1e-13 * res.r_d;
            if (!res.misclassified)
                wmax = fmax(wmax, mag_get_d(arb_radref(res.r)) / res.r_d);
            if (res.misclassified) {
                mis++;
                flip_ok++;
                noflip_ok++;
                att_ok++;
                ibc_ideal_kkt_result_clear(&res);
                continue;
            }
            if (res.grown > grown_max)
                grown_max = res.grown;
            double dn = 0, dp[IBC_KKT_KMAX], dm[IBC_KKT_KMAX];
            for (long k = 0; k < K; k++) {
                dn += res.delta[k] * res.delta[k];
                dp[k] = res.delta[k] * (1 + 1e-9);
                dm[k] = res.delta[k] * (1 - 1e-6);
            }
            dmax = fmax(dmax, fabs(sqrt(dn) - res.r_d) / res.r_d);
            flip_ok += ibc_robust_rnet_flipped(net, c, dp, y, PREC) == 1;
            noflip_ok += ibc_robust_rnet_flipped(net, c, dm, y, PREC) == 0;
            /* the attack, fully independent of the KKT code */
            clf_at f = { K, K1, y, p, c };
            double ad[IBC_KKT_KMAX];
            double t0 = wall();
            double ar = attack(ad, &f, 2.0, 600, 400);
            t_attack += wall() - t0;
            int real = isfinite(ar) && ibc_robust_rnet_flipped(net, c, ad, y, PREC) == 1;
            double arn = real ? ibc_robust_rnet_norm_up(ad, K) : INFINITY;
            att_ok += !(arn < res.r_d * (1 - 1e-6));
            double q = arn / res.r_d;
            min_ratio = fmin(min_ratio, q);
            if (isfinite(q))
                max_ratio = fmax(max_ratio, q);
            ibc_ideal_kkt_result_clear(&res);
        }
        char name[80];
        snprintf(name, sizeof name, "(b) noisy p=%g: double search in certified ball", p);
        report(name, cert_ok == n, "%ld/%ld (+1e-13 r); widest ball %.1e r (%ld misclassified)", cert_ok,
               n, wmax, mis);
        snprintf(name, sizeof name, "(b) noisy p=%g: ||delta|| = r", p);
        report(name, dmax <= 1e-12, "max relative gap %.2e (tol 1e-12)", dmax);
        snprintf(name, sizeof name, "(b) noisy p=%g: (1+1e-9) delta flips F^(p)", p);
        report(name, flip_ok == n, "%ld/%ld certified by rnet (Arb)", flip_ok, n);
        snprintf(name, sizeof name, "(b) noisy p=%g: (1-1e-6) delta does not", p);
        report(name, noflip_ok == n, "%ld/%ld certified", noflip_ok, n);
        snprintf(name, sizeof name, "(b) noisy p=%g: attack never below r (1-1e-6)", p);
        report(name, att_ok == n, "%ld/%ld; attack/r in [%.6f, %.6f]; most grown %ld", att_ok, n,
               min_ratio, max_ratio, grown_max);
        ibc_robust_rnet_free(net);
    }
    printf("     attack time %.2f s\n", t_attack);
}

/* (c) K = 3 brute force: the smallest flipping point of a grid over the ball. */
static void test_bruteforce(void)
{
    static const double PS[] = { 1.0, 1.5, 2.0, 3.0, 4.0 };
    const long K = 3;
    const int N = 120;      /* grid points per axis */
    rng_state = 77;
    for (size_t ip = 0; ip < sizeof PS / sizeof PS[0]; ip++) {
        double p = PS[ip], worst_above = 0, worst_below = 0, tolmax = 0;
        long n = 0, ok = 0;
        for (int t = 0; t < 6; t++) {
            long K1 = 1 + t % 2, z = t % 3;
            int y = z < K1 ? 1 : -1;
            double c[3], s = (t < 2 ? 0.0 : 0.3);
            for (long k = 0; k < K; k++)
                c[k] = (k == z) + s * nrand();
            double r = ibc_ideal_kkt_radius_Fp_d(c, K, K1, y, p);
            if (!(r > 0))
                continue;
            double R = 1.05 * r, h = 2 * R / N, best = INFINITY;
            for (int i = 0; i <= N; i++)
                for (int j = 0; j <= N; j++)
                    for (int l = 0; l <= N; l++) {
                        double d[3] = { -R + h * i, -R + h * j, -R + h * l };
                        double nn = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                        if (nn >= best || nn > R)
                            continue;
                        double x[3] = { c[0] + d[0], c[1] + d[1], c[2] + d[2] };
                        if (yFp(x, K, K1, y, p) <= 0)
                            best = nn;
                    }
            /* no grid point flips below r; the minimiser has a flipping grid
             * point within about sqrt(3) h (the flip set contains a ball of
             * radius sqrt(3) h / 2 next to it when its boundary is smooth
             * on that scale) */
            double tol = 2 * sqrt(3.0) * h;
            tolmax = fmax(tolmax, tol);
            worst_below = fmax(worst_below, r - best);
            worst_above = fmax(worst_above, best - r);
            ok += best >= r * (1 - 1e-12) && best <= r + tol;
            n++;
        }
        char name[64];
        snprintf(name, sizeof name, "(c) K=3 brute force p=%g", p);
        report(name, ok == n && n > 0,
               "%ld/%ld: grid min - r in [%.2e, %.2e], allowed [-1e-12 r, %.3f]", ok, n, -worst_below,
               worst_above, tolmax);
    }
}

/* r_F's closed form against the attack (F's flip set is a union of two
 * half-spaces: the attack's local descent reaches its boundary). */
static void test_F(void)
{
    const long K = 10, K1 = 6;
    rng_state = 4242;
    long n = 0, ok = 0;
    double qmin = INFINITY, qmax = 0;
    for (int t = 0; t < 10; t++) {
        double c[IBC_KKT_KMAX];
        long z = (long)(rng_next() % (uint64_t)K);
        int y = z < K1 ? 1 : -1;
        for (long k = 0; k < K; k++)
            c[k] = (k == z) + 0.2 * nrand() / sqrt(30.0);
        double r = ibc_ideal_kkt_radius_F_d(c, K, K1, y);
        clf_at f = { K, K1, y, 0, c };
        double ad[IBC_KKT_KMAX];
        double ar = attack(ad, &f, 2.0, 300, 200);
        double q = ar / r;
        qmin = fmin(qmin, q);
        qmax = fmax(qmax, q);
        ok += q >= 1 - 1e-9 && q <= 1 + 1e-3;
        n++;
    }
    report("r_F closed form = attack (10 points)", ok == n, "attack/r in [%.9f, %.6f], allowed [1-1e-9, 1+1e-3]",
           qmin, qmax);
}

/* (d), (e) */
static void test_inputs(void)
{
    double c[17] = { 0 };
    c[0] = 1;
    ibc_ideal_kkt_result res;
    ibc_ideal_kkt_result_init(&res, 17);
    char err[IBC_ERRLEN] = "";
    int rc = ibc_ideal_kkt_radius_Fp(&res, c, 17, 6, 1, 3.0, PREC, err);
    report("(d) K = 17 is bad input", rc == IBC_EINPUT && strchr(err, '\n') == NULL && strstr(err, "17")
                                          && strstr(err, "16"),
           "status %d, err \"%s\"", rc, err);
    report("(d) K = 17 in double is NaN", isnan(ibc_ideal_kkt_radius_Fp_d(c, 17, 6, 1, 3.0)), "-");
    ibc_ideal_kkt_result_clear(&res);

    /* own coordinates below the opposite ones: y G < 0 */
    double m[4] = { 0.3, 0.1, 0.5, -0.2 };
    ibc_ideal_kkt_result_init(&res, 4);
    int allok = 1;
    for (int ip = 0; ip < 3; ip++) {
        double p = ip == 0 ? 1.0 : ip == 1 ? 2.0 : 3.0;
        rc = ibc_ideal_kkt_radius_Fp(&res, m, 4, 2, 1, p, PREC, err);
        allok &= rc == IBC_OK && res.misclassified == 1 && arb_is_zero(res.r)
                 && ibc_ideal_kkt_radius_Fp_d(m, 4, 2, 1, p) == 0.0;
        /* and the other label is classified with a positive radius */
        rc = ibc_ideal_kkt_radius_Fp(&res, m, 4, 2, -1, p, PREC, err);
        allok &= rc == IBC_OK && res.misclassified == 0 && arb_is_positive(res.r);
    }
    report("(e) misclassified point: r = 0, flag set; other label r > 0", allok, "p in {1, 2, 3}");
    ibc_ideal_kkt_result_clear(&res);
}

static void test_timing(void)
{
    const long K = 10, K1 = 6;
    const long N = 20000;
    double *C = malloc(sizeof(double) * (size_t)(N * K));
    int *Y = malloc(sizeof(int) * (size_t)N);
    rng_state = 99;
    for (long i = 0; i < N; i++) {
        long z = (long)(rng_next() % (uint64_t)K);
        Y[i] = z < K1 ? 1 : -1;
        for (long k = 0; k < K; k++)
            C[i * K + k] = (k == z) + 0.1 / sqrt(30.0) * nrand();
    }
    static const double PS[] = { 1.0, 2.0, 3.0, 4.0 };
    for (size_t ip = 0; ip < sizeof PS / sizeof PS[0]; ip++) {
        double p = PS[ip], s = 0;
        long M = p == 3.0 ? N : N / 10;
        double t0 = wall();
        for (long i = 0; i < M; i++)
            s += ibc_ideal_kkt_radius_Fp_d(C + i * K, K, K1, Y[i], p);
        double us = 1e6 * (wall() - t0) / (double)M;
        char name[64];
        snprintf(name, sizeof name, "time of ibc_ideal_kkt_radius_Fp_d, K=10, p=%g", p);
        printf("     %-52s %.2f us/call (mean r %.4f, %ld calls)\n", name, us, s / (double)M, M);
    }
    free(C);
    free(Y);
}

int main(void)
{
    test_centers();
    test_noisy();
    test_bruteforce();
    test_F();
    test_inputs();
    test_timing();
    printf("%s (%d failures)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
