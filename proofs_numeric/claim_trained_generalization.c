/* Claim `trained-generalization` (docs/theory.md §7, §8): clean test accuracy of the
 * trained f_1 and f_3 at the defaults on 10^4 fresh samples (test stream 1,
 * independent of the training draws).
 *
 * The theory (T-F, T-Fp) says the ideal targets F and F^(p) generalise; the
 * trained networks approach them up to scale (§7), so the checked statement
 * is relative: the trained network's accuracy is within 1 point of its ideal
 * target's on the same samples.  Absolute accuracies, Clopper-Pearson 95%
 * lower bounds and the disagreement rate between f and its target are
 * reported beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"

#define TG_N 10000
#define TG_SLACK 0.01     /* trained accuracy >= ideal accuracy - 1 point */

/* Clopper-Pearson one-sided 95% lower bound on a binomial proportion k/n:
 * the p with P(Bin(n, p) >= k) = 0.05, by bisection on the exact tail
 * (log-space terms, so n = 10^4 is fine). */
static double cp_lower(long k, long n)
{
    if (k == 0)
        return 0.0;
    double lo = 0, hi = (double)k / (double)n;
    for (int it = 0; it < 60; it++) {
        double p = 0.5 * (lo + hi), tail = 0;
        for (long i = k; i <= n; i++)
            tail += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) +
                        (double)i * log(p) + (double)(n - i) * log1p(-p));
        if (tail < 0.05)
            lo = p;
        else
            hi = p;
    }
    return lo;
}

int ibc_claim_trained_generalization(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_data *test = ibc_data_alloc(&cfg->model, TG_N, 1);
    if (!test) {
        snprintf(err, IBC_ERRLEN, "trained-generalization: cannot draw %d test samples", TG_N);
        return IBC_EINPUT;
    }
    long D = cfg->model.D, K = cfg->model.K, K1 = cfg->model.K1;
    double *x = malloc(sizeof(double) * (size_t)D);
    int rc = IBC_OK;
    const double ps[2] = {1.0, 3.0};
    for (int ip = 0; ip < 2 && rc == IBC_OK; ip++) {
        double p = ps[ip];
        const ibc_trained *t = ibc_claim_trained(cfg, p, cfg->prec, err);
        if (!t) {
            rc = IBC_EINPUT;
            break;
        }
        ibc_rnet *f = ibc_rnet_from_net(t->net, &t->theta, t->data);
        ibc_rnet *G = ibc_rnet_ideal(p == 1.0 ? IBC_IDEAL_F : IBC_IDEAL_FP, D, K, K1, p);
        long ok_f = 0, ok_G = 0, disagree = 0;
        for (long i = 0; i < TG_N; i++) {
            for (long d = 0; d < D; d++)
                x[d] = mpfr_get_d(test->X + i * D + d, MPFR_RNDN);
            double mf = test->y[i] * ibc_rnet_eval_d(f, x);
            double mg = test->y[i] * ibc_rnet_eval_d(G, x);
            ok_f += mf > 0;
            ok_G += mg > 0;
            disagree += (mf > 0) != (mg > 0);
        }
        double af = (double)ok_f / TG_N, ag = (double)ok_G / TG_N;
        char params[240], m[48], b[64], mg[32], pb[24];
        ibc_config_describe(params, sizeof params, cfg, p);
        char prm[260];
        snprintf(prm, sizeof prm, "%s n_test=%d", params, TG_N);
        ibc_prec_str(t->theta.pr, pb);
        const char *gname = p == 1.0 ? "F" : "F^(3)";
        snprintf(m, sizeof m, "%.4f", af);
        snprintf(b, sizeof b, ">= acc(%s) - %.2f = %.4f", gname, TG_SLACK, ag - TG_SLACK);
        snprintf(mg, sizeof mg, "%+.4f", af - (ag - TG_SLACK));
        ibc_rows_add(out, "trained-generalization", p == 1.0 ? "clean accuracy of f_1" : "clean accuracy of f_3",
                     pb, m, b, mg, af >= ag - TG_SLACK ? IBC_HOLDS : IBC_REFUTED, "§7", "%s", prm);
        snprintf(m, sizeof m, "%.4f", cp_lower(ok_f, TG_N));
        ibc_rows_add(out, "trained-generalization", "95% lower confidence bound on the accuracy (Clopper-Pearson)",
                     pb, m, "info", "", IBC_INFO, "§7", "%s", prm);
        snprintf(m, sizeof m, "%.4f", ag);
        ibc_rows_add(out, "trained-generalization", p == 1.0 ? "accuracy of F (same samples)"
                                                            : "accuracy of F^(3) (same samples)",
                     "double", m, "info", "", IBC_INFO, "T-F, T-Fp", "%s", prm);
        snprintf(m, sizeof m, "%ld/%d", disagree, TG_N);
        ibc_rows_add(out, "trained-generalization", "samples where sign f != sign of its ideal target", pb, m,
                     "info", "", IBC_INFO, "§7", "%s", prm);
        ibc_rnet_free(f);
        ibc_rnet_free(G);
    }
    free(x);
    ibc_data_free(test);
    return rc;
}
