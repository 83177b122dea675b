/* Claim ideal-robust-prob (docs/theory.md §4 T-F, T-Fp; §8): Monte Carlo of the two
 * robustness statements, with C an absolute constant the theorems leave open:
 *   T-F:  P(y F(x + ((1+rho)/sqrt K) d0) > 0) <= 2 exp(-C D rho^2/(alpha^2 K)),
 *         d0 = -y (mu+ - mu-)/sqrt(K) (unit), here rho = 0.5;
 *   T-Fp: P(r_F(3)(x) < (sqrt2 - delta)/2) <= 2 (K+1) exp(-C D delta^2/(2 alpha^2 K^2)),
 *         here delta = 0.2, with the exact radius of F^(3) at x
 *         (ibc_ideal_kkt_radius_Fp_d: the KKT enumeration).
 * With C unknown the checkable content is the shape (see ideal_mc.h and
 * claim_ideal_generalization.c): each statement is sampled where its event
 * occurs (0.5%..30%), at D in {30, 100, 1000} and six x = D/(alpha^2 K),
 * alpha = sqrt(D/(Kx)).  Rows, per statement (ibc_claim_mc_shape_rows):
 *   - events per cell at each D (info);
 *   - ln P falls linearly in u = rho^2 x (T-F), delta^2 x/(2K) (T-Fp):
 *     pooled weighted fit C - 3 SE > 0, every D with >= 3 cells of >= 5
 *     events; the tail keeps decaying (C on the upper half of the x grid
 *     > 0 and >= half the C of the lower half, at 3 SE);
 *   - one C fits every D (the per-D C +- 3 SE intervals share a value);
 *   - P non-decreasing in alpha at fixed D (<= 3 SE drop);
 *   - the largest C of the bound (info: > 0 for any data).
 * And the mean exact radii of F and F^(3) at alpha = 0.1 against 1/sqrt(K)
 * and sqrt2/2 (info: the theorems bound probabilities, not means).
 * Kills: claim-mc-noise-scale (alpha/D: the events vanish at D >= 100),
 * claim-robust-d0-scale (the attack at rho/sqrt(K) instead of (1+rho)/sqrt(K):
 * survival stops decaying), claim-Fp-exponent-alpha (T-Fp's exponent with
 * alpha for alpha^2: the per-D constants split). */
#include <math.h>
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "ideal_mc.h"

#define CLAIM "ideal-robust-prob"
#define PEXP 3.0
#define RHO 0.5
#define DELTA 0.2
#define NDRAW 6000
#define NMEAN 4000
#define STREAM 0x726f6270UL   /* "robp": this claim's own streams, + cell */

/* F survives the attack about as often as Phi(-rho sqrt x) (its margin
 * after the attack is N(-rho, alpha^2 K/D)): rho^2 x in 1..6. */
static const double X_F[IBC_MC_NX] = { 4, 8, 12, 16, 20, 24 };
static const double X_FP[IBC_MC_NX] = { 25, 35, 45, 55, 70, 85 };

/* Statement t: F survives the attack ((1+rho)/sqrt K) d0 (t = 0), or the
 * exact radius of F^(3) is below (sqrt2 - delta)/2 (t = 1). */
typedef struct {
    const ibc_rnet *F;
    long K, K1;
    int t;
} rp_ctx;

static int rp_event(void *ctx, const double *c, int y, double a, long D, long i, char *err)
{
    const rp_ctx *r = ctx;
    if (r->t == 0) {
        /* ((1+rho)/sqrt K) d0: own-class coordinates down, the others up */
        double d[IBC_KKT_KMAX];
        for (long q = 0; q < r->K; q++)
            d[q] = -y * (q < r->K1 ? 1.0 : -1.0) * (1 + RHO) / (double)r->K;
        return !ibc_claim_mc_flipped(r->F, c, d, y);
    }
    double rad = ibc_ideal_kkt_radius_Fp_d(c, r->K, r->K1, y, PEXP);
    if (isnan(rad)) {
        snprintf(err, IBC_ERRLEN, CLAIM ": the KKT radius failed at alpha=%g D=%ld sample %ld", a, D, i);
        return -1;
    }
    return rad < (sqrt(2.0) - DELTA) / 2;
}

/* the exponents of T-F and T-Fp, as stated */
static double rp_u(void *ctx, double a, long D)
{
    const rp_ctx *r = ctx;
    return r->t == 0 ? (double)D * RHO * RHO / (a * a * (double)r->K)
                     : (double)D * DELTA * DELTA / (2 * a * a * (double)(r->K * r->K));
}

int ibc_claim_ideal_robust_prob(const ibc_config *cfg, ibc_rows *out, char *err)
{
    long K = cfg->model.K, K1 = cfg->model.K1;
    int krc = ibc_claim_config_check(CLAIM, cfg, err);   /* K <= IBC_KKT_KMAX, from the registry */
    if (krc != IBC_OK)
        return krc;
    ibc_rnet *F = ibc_robust_rnet_ideal(IBC_IDEAL_F, K, K, K1, 1.0);
    if (!F) {
        snprintf(err, IBC_ERRLEN, CLAIM ": out of memory");
        return IBC_ENUMERIC;
    }
    const double s2 = sqrt(2.0), sK = sqrt((double)K);
    ibc_mc_shape sh[2] = {
        { .claim = CLAIM, .source = "T-F", .event = "F survives d0, rho=0.5", .uname = "rho^2 D/(a^2K)",
          .bound = "P <= 2exp(-C D rho^2/(a^2K))", .A = 2, .x = X_F, .n = NDRAW,
          .stream = STREAM },
        { .claim = CLAIM, .source = "T-Fp", .event = "r_F(3)<(sqrt2-0.2)/2", .uname = "delta^2 D/(2a^2K^2)",
          .bound = "P <= 2(K+1)exp(-C D delta^2/(2a^2K^2))",
          .A = 2.0 * (double)(K + 1), .x = X_FP, .n = NDRAW, .stream = STREAM + 0x100 },
    };
    double c[IBC_KKT_KMAX];
    int rc = IBC_OK;
    for (int t = 0; t < 2 && rc == IBC_OK; t++) {
        rp_ctx ctx = {F, K, K1, t};
        ibc_mc_event ev = {rp_event, rp_u, &ctx};
        rc = ibc_claim_mc_shape_sample(&sh[t], cfg, &ev, err);
    }
    for (int t = 0; t < 2 && rc == IBC_OK; t++)
        ibc_claim_mc_shape_rows(&sh[t], cfg, out);
    /* the mean exact radii in the paper's regime */
    for (int id = 0; id < IBC_MC_ND && rc == IBC_OK; id++) {
        long D = ibc_mc_D[id];
        ibc_mc_sampler sm;
        unsigned long stream = STREAM + 0x200 + (unsigned long)id;
        ibc_claim_mc_init(&sm, cfg, 0.1, D, stream);
        double srF = 0, srFp = 0;
        for (long i = 0; i < NMEAN; i++) {
            int y = ibc_claim_mc_draw(&sm, c);
            double r = ibc_ideal_kkt_radius_Fp_d(c, K, K1, y, PEXP);
            if (isnan(r)) {
                snprintf(err, IBC_ERRLEN, CLAIM ": the KKT radius failed at alpha=0.1 D=%ld sample %ld", D, i);
                rc = IBC_ENUMERIC;
                break;
            }
            srFp += r;
            srF += ibc_ideal_kkt_radius_F_d(c, K, K1, y);
        }
        ibc_claim_mc_clear(&sm);
        if (rc != IBC_OK)
            break;
        char meas[96], bnd[96], mg[48];
        snprintf(meas, sizeof meas, "r_F %.5f, r_F(3) %.5f", srF / NMEAN, srFp / NMEAN);
        snprintf(bnd, sizeof bnd, "1/sqrt(K) = %.5f, sqrt2/2 = %.5f", 1 / sK, s2 / 2);
        snprintf(mg, sizeof mg, "%+.4f", srFp / NMEAN - s2 / 2);
        ibc_claim_rows_add(out, CLAIM, "mean radii of F and F^(3) at alpha = 0.1", "double", meas, bnd, mg, IBC_INFO,
                           "T-F, T-Fp",
                           "alpha=0.1 D=%ld K=%ld K1=%ld n=%d stream=%#lx; exact radii: closed form (F), KKT (F^(3)); "
                     "info: the theorems bound probabilities, not means; margin: mean r_F(3) - sqrt2/2",
                     D, K, K1, NMEAN, stream);
    }
    ibc_robust_rnet_free(F);
    return rc;
}
