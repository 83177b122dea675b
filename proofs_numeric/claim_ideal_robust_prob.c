/* Claim ideal-robust-prob (THEORY §4 T-F, T-Fp; §8): Monte Carlo of the two
 * robustness statements, with C an absolute constant the theorems leave open:
 *   T-F:  P(y F(x + ((1+rho)/sqrt K) d0) > 0) <= 2 exp(-C D rho^2/(alpha^2 K)),
 *         d0 = -y (mu+ - mu-)/sqrt(K) (unit), rho in {0.1, 0.25, 0.5};
 *   T-Fp: P(r_F(3)(x) < (sqrt2 - delta)/2) <= 2 (K+1) exp(-C D delta^2/(2 alpha^2 K^2)),
 *         delta in {0.1, 0.2, 0.4}, with the exact radius of F^(3) at x
 *         (ibc_kkt_radius_Fp_d: the KKT enumeration).
 * Per cell (alpha, D) the Clopper-Pearson 95% upper bound p_up of each
 * frequency gives the largest C it allows; the theorem holds with the
 * minimum over cells and parameters, which must be positive.  Structure
 * that can fail: both frequencies grow with alpha at fixed D (within 3
 * binomial standard errors).  Also the mean radii of F and F^(3) at
 * alpha = 0.1 against 1/sqrt(K) and sqrt2/2. */
#include <math.h>
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "ideal_mc.h"

#define CLAIM "ideal-robust-prob"
#define PEXP 3.0
#define NPAR 3
#define STREAM 0x726f6270UL   /* "robp": this claim's own streams, + cell */

static const double RHO[NPAR] = { 0.1, 0.25, 0.5 };
static const double DELTA[NPAR] = { 0.1, 0.2, 0.4 };

/* The largest C one frequency allows (t = 0: T-F with rho, 1: T-Fp with delta). */
static double cmax(int t, double pup, double a, long D, long K, double par)
{
    if (t == 0)
        return -(a * a * (double)K / ((double)D * par * par)) * log(pup / 2);
    return -(2 * a * a * (double)(K * K) / ((double)D * par * par)) * log(pup / (2.0 * (double)(K + 1)));
}

int ibc_claim_ideal_robust_prob(const ibc_config *cfg, ibc_rows *out, char *err)
{
    long K = cfg->model.K, K1 = cfg->model.K1, n = IBC_MC_SAMPLES;
    if (K > IBC_KKT_KMAX) {
        snprintf(err, IBC_ERRLEN, CLAIM ": K = %ld; this claim allows 2 <= K <= %d", K, IBC_KKT_KMAX);
        return IBC_EINPUT;
    }
    ibc_rnet *F = ibc_rnet_ideal(IBC_IDEAL_F, K, K, K1, 1.0);
    if (!F) {
        snprintf(err, IBC_ERRLEN, CLAIM ": out of memory");
        return IBC_ENUMERIC;
    }
    const double s2 = sqrt(2.0), sK = sqrt((double)K);
    /* cnt[t][j][id][ia]: T-F survivors (t = 0) / T-Fp failures (t = 1) */
    long cnt[2][NPAR][IBC_MC_ND][IBC_MC_NA];
    double cmin[2] = { INFINITY, INFINITY };
    int amin[2] = { 0, 0 }, dmin[2] = { 0, 0 }, jmin[2] = { 0, 0 };
    double mean_rF[IBC_MC_ND] = { 0 }, mean_rFp[IBC_MC_ND] = { 0 };
    int have_mean = 0;
    double c[IBC_KKT_KMAX], d[IBC_KKT_KMAX];
    int rc = IBC_OK;
    for (int id = 0; id < IBC_MC_ND && rc == IBC_OK; id++) {
        for (int ia = 0; ia < IBC_MC_NA && rc == IBC_OK; ia++) {
            long D = ibc_mc_D[id];
            double a = ibc_mc_alpha[ia];
            int at_mean = a == 0.1;
            ibc_mc_sampler sm;
            unsigned long stream = STREAM + (unsigned long)(id * IBC_MC_NA + ia);
            ibc_mc_init(&sm, cfg, a, D, stream);
            long k[2][NPAR] = { { 0 } };
            double srF = 0, srFp = 0;
            for (long i = 0; i < n && rc == IBC_OK; i++) {
                int y = ibc_mc_draw(&sm, c);
                for (int j = 0; j < NPAR; j++) {
                    /* ((1+rho)/sqrt K) d0: own-class coordinates down, the others up */
                    for (long q = 0; q < K; q++)
                        d[q] = -y * (q < K1 ? 1.0 : -1.0) * (1 + RHO[j]) / (double)K;
                    k[0][j] += !ibc_mc_flipped(F, c, d, y);
                }
                double r = ibc_kkt_radius_Fp_d(c, K, K1, y, PEXP);
                if (isnan(r)) {
                    snprintf(err, IBC_ERRLEN, CLAIM ": the KKT radius failed at alpha=%g D=%ld sample %ld", a, D, i);
                    rc = IBC_ENUMERIC;
                    break;
                }
                for (int j = 0; j < NPAR; j++)
                    k[1][j] += r < (s2 - DELTA[j]) / 2;
                if (at_mean) {
                    srFp += r;
                    srF += ibc_kkt_radius_F_d(c, K, K1, y);
                }
            }
            ibc_mc_clear(&sm);
            if (rc != IBC_OK)
                break;
            if (at_mean) {
                mean_rF[id] = srF / (double)n;
                mean_rFp[id] = srFp / (double)n;
                have_mean = 1;
            }
            for (int t = 0; t < 2; t++) {
                double cm = INFINITY;
                int jm = 0;
                char pups[72], cms[72];
                int op = 0, oc = 0;
                for (int j = 0; j < NPAR; j++) {
                    cnt[t][j][id][ia] = k[t][j];
                    double pup = ibc_mc_cp_upper(k[t][j], n);
                    double cj = cmax(t, pup, a, D, K, t == 0 ? RHO[j] : DELTA[j]);
                    op += snprintf(pups + op, sizeof pups - (size_t)op, "%s%.3g", j ? "/" : "", pup);
                    oc += snprintf(cms + oc, sizeof cms - (size_t)oc, "%s%.3g", j ? "/" : "", cj);
                    if (cj < cm) {
                        cm = cj;
                        jm = j;
                    }
                    if (cj < cmin[t]) {
                        cmin[t] = cj;
                        amin[t] = ia;
                        dmin[t] = id;
                        jmin[t] = j;
                    }
                }
                char meas[96], bnd[96], mg[48];
                snprintf(meas, sizeof meas, "%ld/%ld/%ld of %ld", k[t][0], k[t][1], k[t][2], n);
                snprintf(bnd, sizeof bnd, "C <= %.4g (%s = %g)", cm, t == 0 ? "rho" : "delta",
                         t == 0 ? RHO[jm] : DELTA[jm]);
                snprintf(mg, sizeof mg, "%.4g", cm);
                ibc_rows_add(out, CLAIM,
                             t == 0 ? "T-F: F not flipped at (1+rho)/sqrt(K) d0, one cell"
                                    : "T-Fp: r_F(3) < (sqrt2-delta)/2, one cell",
                             "double", meas, bnd, mg, IBC_INFO, t == 0 ? "T-F" : "T-Fp",
                             "alpha=%g D=%ld K=%ld K1=%ld n=%ld seed=%lu stream=%#lx; %s = %s: CP95 p_up %s, C_max %s",
                             a, D, K, K1, n, cfg->model.seed, stream, t == 0 ? "rho" : "delta",
                             t == 0 ? "0.1/0.25/0.5" : "0.1/0.2/0.4", pups, cms);
            }
        }
    }
    for (int t = 0; t < 2 && rc == IBC_OK; t++) {
        char meas[96], mg[48], bnd[96];
        snprintf(meas, sizeof meas, "C = %.4g", cmin[t]);
        snprintf(mg, sizeof mg, "%+.4g", cmin[t]);
        ibc_rows_add(out, CLAIM,
                     t == 0 ? "T-F: largest C consistent with all cells and rho"
                            : "T-Fp: largest C consistent with all cells and delta",
                     "double", meas, "> 0", mg, cmin[t] > 0 ? IBC_HOLDS : IBC_REFUTED, t == 0 ? "T-F" : "T-Fp",
                     "min over alpha in {0.05,0.1,0.2,0.3} x D in {30,100,1000} x %s (attained at alpha=%g "
                     "D=%ld %s=%g); K=%ld K1=%ld n=%ld per cell",
                     t == 0 ? "rho in {0.1,0.25,0.5}" : "delta in {0.1,0.2,0.4}", ibc_mc_alpha[amin[t]],
                     ibc_mc_D[dmin[t]], t == 0 ? "rho" : "delta", t == 0 ? RHO[jmin[t]] : DELTA[jmin[t]], K, K1, n);
        /* structure: more noise makes both events likelier */
        double worst = -INFINITY;
        long wD = 0;
        int wj = 0;
        for (int j = 0; j < NPAR; j++)
            for (int id = 0; id < IBC_MC_ND; id++) {
                double w = ibc_mc_worst_drop(cnt[t][j][id], IBC_MC_NA, n);
                if (w > worst) {
                    worst = w;
                    wD = ibc_mc_D[id];
                    wj = j;
                }
            }
        snprintf(meas, sizeof meas, "largest drop %.3g SE (D=%ld %s=%g)", worst, wD, t == 0 ? "rho" : "delta",
                 t == 0 ? RHO[wj] : DELTA[wj]);
        snprintf(bnd, sizeof bnd, "<= 3 SE");
        snprintf(mg, sizeof mg, "%+.3g", 3 - worst);
        ibc_rows_add(out, CLAIM,
                     t == 0 ? "P(F survives the d0 attack) non-decreasing in alpha"
                            : "P(r_F(3) < (sqrt2-delta)/2) non-decreasing in alpha",
                     "double", meas, bnd, mg, worst <= 3 ? IBC_HOLDS : IBC_REFUTED, t == 0 ? "T-F" : "T-Fp",
                     "alpha 0.05 -> 0.3 at each D in {30,100,1000} and each %s; SE of the difference of two "
                     "binomial frequencies (variance at max(k,1)/n); K=%ld K1=%ld n=%ld",
                     t == 0 ? "rho" : "delta", K, K1, n);
    }
    for (int id = 0; id < IBC_MC_ND && rc == IBC_OK && have_mean; id++) {
        char meas[96], bnd[96], mg[48];
        snprintf(meas, sizeof meas, "r_F %.5f, r_F(3) %.5f", mean_rF[id], mean_rFp[id]);
        snprintf(bnd, sizeof bnd, "1/sqrt(K) = %.5f, sqrt2/2 = %.5f", 1 / sK, s2 / 2);
        snprintf(mg, sizeof mg, "%+.4f", mean_rFp[id] - s2 / 2);
        ibc_rows_add(out, CLAIM, "mean radii of F and F^(3) at alpha = 0.1", "double", meas, bnd, mg, IBC_INFO,
                     "T-F, T-Fp",
                     "alpha=0.1 D=%ld K=%ld K1=%ld n=%ld; exact radii: closed form (F), KKT (F^(3)); margin: "
                     "mean r_F(3) - sqrt2/2",
                     ibc_mc_D[id], K, K1, n);
    }
    ibc_rnet_free(F);
    return rc;
}
