/* Benchmark of the per-point radius bracket at the paper's size (issue 13,
 * goal 3): bench/run.sh --bracket.
 *
 * The network is built, not trained (training one at this size takes most
 * of an hour): h = 2000 neurons in D = 1000 on the model's centers, shaped
 * as the trained networks of data/findings/distance-paper-scale.md are:
 *   p = 3: ten neurons of weight |v| ||w|| = 10, one per center, and 1990
 *          light ones (1e-2 falling to 1e-12) near random centers;
 *   p = 1: every neuron near mu+ or mu- (the class sums), weight ~1/h each.
 * Each direction carries noise of relative size 0.02, so the certificate's
 * slack terms are those of a trained network.  Points: the model's test set
 * (alpha = 0.01), as reproduce draws it.
 *
 * Items, per exponent (medians over the points):
 *   prepare   the network's part of the certificate (once per network)
 *   cert      the certificate at one point (ibc_robust_certify_radius_net)
 *   attack    the structured attack at one point (ibc_robust_attack_structured)
 *   bracket   cert + attack, against the goal of 50 ms
 *   grad      one double forward + gradient (two matrix-vector products),
 *             the unit the bracket is also quoted in (same run)
 * Usage: bench_bracket [--points N] [--each]   (--each: every point's bracket)
 * (-DIBC_BENCH_OLD builds it against a library from before the prepared
 * certificate, commit 59be7e2, to time the old path in the same run.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/robust.h"
#include "util/rng.h"

#define BD 1000
#define BH 2000
#define BK 10
#define BK1 6

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double gauss(uint64_t *s)
{
    double u = 1.0 - ibc_util_rng_unif(s), v = ibc_util_rng_unif(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* The trained-like network on centers mu (K x D). */
static ibc_rnet *build_net(long p, const double *mu)
{
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, BD, BK, BK1, (double)p);   /* for K, K1, mu, name */
    if (!f)
        return NULL;
    free(f->W), free(f->U), free(f->v), free(f->wn);
    f->h = BH;
    f->p = (double)p;
    f->pint = p;
    f->W = malloc(sizeof(double) * BH * BD);
    f->U = malloc(sizeof(double) * BH * BD);
    f->v = malloc(sizeof(double) * BH);
    f->wn = malloc(sizeof(double) * BH);
    memcpy(f->mu, mu, sizeof(double) * BK * BD);
    uint64_t s = 0x62726163ULL + (uint64_t)p;
    for (long j = 0; j < BH; j++) {
        double *w = f->W + j * BD, cls;
        if (p == 1) {
            int plus = j % 2 == 0;
            for (long d = 0; d < BD; d++) {
                double c = 0;
                for (long k = plus ? 0 : BK1; k < (plus ? BK1 : BK); k++)
                    c += mu[k * BD + d];
                w[d] = c / sqrt(plus ? BK1 : BK - BK1);
            }
            cls = plus ? 1 : -1;
        } else {
            long k = j < BK ? j : (long)(ibc_util_rng_unif(&s) * BK) % BK;
            memcpy(w, mu + k * BD, sizeof(double) * BD);
            cls = k < BK1 ? 1 : -1;
        }
        double n2 = 0;
        for (long d = 0; d < BD; d++) {
            w[d] += 0.02 * gauss(&s) / sqrt((double)BD);
            n2 += w[d] * w[d];
        }
        double scale = exp(0.3 * gauss(&s));   /* ||w_j|| */
        double weight = p == 1 ? 20.0 / BH : (j < BK ? 10.0 : 1e-2 * exp(-(double)(j - BK) / 80.0));
        for (long d = 0; d < BD; d++) {
            w[d] *= scale / sqrt(n2);
            f->U[j * BD + d] = w[d] / scale;
        }
        f->wn[j] = scale;
        f->v[j] = cls * weight / scale;
    }
    snprintf(f->name, sizeof f->name, "trained-like f_%ld", p);
    return f;
}

int main(int argc, char **argv)
{
    long npts = 20;
    int each = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--each")) {
            each = 1;
        } else if (!strcmp(argv[i], "--points") && i + 1 < argc) {
            npts = atol(argv[++i]);
        } else {
            fprintf(stderr, "bench_bracket: unknown argument '%s': usage: bench_bracket [--points N] [--each]\n", argv[i]);
            return 2;
        }
    }
    if (npts < 1 || npts > 1000) {
        fprintf(stderr, "bench_bracket: --points = %ld is out of range: need 1..1000\n", npts);
        return 2;
    }
    ibc_prec_blas_setup();
    ibc_model_params par;
    ibc_model_default(&par);
    par.D = BD;
    par.K = BK;
    par.K1 = BK1;
    par.alpha = 0.01;
    ibc_data *test = ibc_model_data_alloc_lean(&par, npts, 1);
    ibc_vec muv;
    ibc_model_data_centers(&muv, test, ibc_prec_double());
    double *X = malloc(sizeof(double) * (size_t)(npts * BD)), *tmp = malloc(sizeof(double) * BD),
           *g = malloc(sizeof(double) * BD);
    ibc_model_data_rows_d(test, 0, npts, X);
    double la[3];
    if (getloadavg(la, 3) < 1)
        la[0] = la[1] = la[2] = -1;
    time_t t0 = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t0));
    printf("bench_bracket: D=%d h=%d K=%d, %ld points, %s, load %.2f %.2f %.2f\n", BD, BH, BK, npts, date, la[0],
           la[1], la[2]);
    int bad = 0;
    for (long p = 1; p <= 3; p += 2) {
        ibc_rnet *f = build_net(p, muv.d);
        double tp = now();
#ifndef IBC_BENCH_OLD
        ibc_cert_net *cn = ibc_robust_certify_prepare(f);
#endif
        tp = now() - tp;
        double *tc = malloc(sizeof(double) * (size_t)npts), *ta = malloc(sizeof(double) * (size_t)npts),
               *tb = malloc(sizeof(double) * (size_t)npts), *tg = malloc(sizeof(double) * (size_t)npts);
        double lo_min = INFINITY, hi_max = 0;
        char err[IBC_ERRLEN];
        for (long i = 0; i < npts; i++) {
            const double *x = X + i * BD;
            int y = test->y[i];
            ibc_cert_result cr;
            double a = now();
#ifndef IBC_BENCH_OLD
            if (ibc_robust_certify_radius_net(&cr, cn, x, y, 3.0, err) != IBC_OK) {
#else
            if (ibc_robust_certify_radius(&cr, f, x, y, 3.0, err) != IBC_OK) {
#endif
                fprintf(stderr, "bench_bracket: %s\n", err);
                return 3;
            }
            double b = now();
            double hi = ibc_robust_attack_structured(tmp, f, x, y, 3.0);
            double c = now();
            ibc_robust_rnet_grad_d(f, x, g);
            tg[i] = now() - c;
            tc[i] = b - a;
            ta[i] = c - b;
            tb[i] = c - a;
            lo_min = fmin(lo_min, cr.lo);
            hi_max = fmax(hi_max, hi);
            bad += cr.lo > hi;   /* a bracket upside down is a bug in one end */
            if (each)
                printf("p=%ld point %ld: [%.6f, %.6f]\n", p, i, cr.lo, hi);
        }
        double mc = median(tc, npts), ma = median(ta, npts), mb = median(tb, npts), mg = median(tg, npts);
        printf("p=%ld prepare %.1f ms | per point (median): cert %.1f ms, attack %.1f ms, bracket %.1f ms "
               "(goal 50 ms: %s) = %.0f gradients of %.2f ms | brackets within [%.4f, %.4f]\n",
               p, 1e3 * tp, 1e3 * mc, 1e3 * ma, 1e3 * mb, mb <= 0.05 ? "met" : "not met", mb / mg, 1e3 * mg, lo_min,
               hi_max);
        free(tc), free(ta), free(tb), free(tg);
#ifndef IBC_BENCH_OLD
        ibc_robust_certify_free(cn);
#endif
        ibc_robust_rnet_free(f);
    }
    if (bad)
        printf("FAIL: %d brackets with lo > hi\n", bad);
    free(X), free(tmp), free(g);
    ibc_prec_vec_clear(&muv);
    ibc_model_data_free(test);
    return bad ? 1 : 0;
}
