/* Claim ideal-generalization (docs/theory.md §4 T-F, T-Fp; §8): Monte Carlo clean
 * error of F and F^(3) on new samples against
 *   T-F:  P(y F(x) <= 0)     <= 2 exp(-C D/(4 alpha^2 K)),
 *   T-Fp: P(y F^(p)(x) <= 0) <= 2 (K+1) exp(-C D/(alpha^2 K)),
 * C an absolute constant the theorems do not give.  With C unknown, the
 * checkable content is the shape: P decays exponentially in
 * u = D/(alpha^2 K) (times 1/4 for T-F), with one C for every D.  So each
 * statement is sampled where errors occur (P about 0.5%..30%): at
 * D in {30, 100, 1000} and six x = D/(alpha^2 K) each, alpha = sqrt(D/(Kx))
 * (large alpha, by design), n draws per cell.  Rows, per classifier:
 *   - events per cell at each D (info: the counts the fits use);
 *   - "ln P falls linearly in u, all cells": weighted least squares of
 *     ln(k/n) on u (weights from the Clopper-Pearson intervals); refutes
 *     unless C - 3 SE > 0, or when some D has < 3 cells with >= 5 events;
 *   - the tail keeps decaying: C fitted on the upper half of the x grid
 *     must be > 0 and >= half the C of the lower half (both at 3 SE; a
 *     Gaussian tail's rate falls by at most 2x, see the code): a floor in
 *     P (a misclassified subclass) flattens the tail and refutes;
 *   - "one C fits every D": C fitted at each D alone; refutes unless the
 *     three C +- 3 SE intervals share a value (the law of the center
 *     coordinates depends on (alpha, D) only through alpha/sqrt(D), which
 *     is why the theorems' bound depends on D/(alpha^2 K) only);
 *   - P non-decreasing in alpha at fixed D (<= 3 SE drop): the success
 *     set is a cone that adding mu_z keeps inside;
 *   - the largest C of the bound over all cells (info: > 0 for any data,
 *     C_max >= ln(A)/u whenever p_up <= 1, so it cannot fail).
 * Kills (mutants in tests/mutants): claim-mc-noise-scale (alpha/D in the
 * sampler: no errors at any cell), robust-Fp-center-sign (one center of
 * F^(3) with the wrong sign: P floors at 1/K, the tail fit is flat).
 * The Monte Carlo helpers it shares are in ideal_mc.c. */
#include <math.h>
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "ideal_mc.h"

#define CLAIM "ideal-generalization"
#define PEXP 3.0
#define STREAM 0x676e726cUL   /* "gnrl": this claim's own streams, + cell */


/* ---- the claim ----------------------------------------------------------- */

#define NDRAW 6000
/* x = D/(alpha^2 K) where each classifier errs 0.5%..30% of the time:
 * F errs about as often as Phi(-sqrt x) (its margin a - b is
 * N(1, alpha^2 K/D)); F^(3) errs far less at equal x. */
static const double X_F[IBC_MC_NX] = { 1, 2, 3, 4, 5, 6 };
static const double X_FP[IBC_MC_NX] = { 0.4, 0.6, 0.85, 1.1, 1.5, 2.0 };

/* Statement t: F (t = 0) or F^(3) (t = 1) errs on the draw. */
typedef struct {
    const ibc_rnet *f;
    long K;
    int t;
} gen_ctx;

static int gen_event(void *ctx, const double *c, int y, double a, long D, long i, char *err)
{
    (void)a, (void)D, (void)i, (void)err;
    return ibc_claim_mc_flipped(((const gen_ctx *)ctx)->f, c, NULL, y);
}

/* the exponents of T-F and T-Fp, as stated */
static double gen_u(void *ctx, double a, long D)
{
    const gen_ctx *g = ctx;
    return g->t == 0 ? (double)D / (4 * a * a * (double)g->K) : (double)D / (a * a * (double)g->K);
}

int ibc_claim_ideal_generalization(const ibc_config *cfg, ibc_rows *out, char *err)
{
    long K = cfg->model.K, K1 = cfg->model.K1;
    int krc = ibc_claim_config_check(CLAIM, cfg, err);   /* K <= IBC_KKT_KMAX, from the registry */
    if (krc != IBC_OK)
        return krc;
    ibc_rnet *clf[2] = { ibc_robust_rnet_ideal(IBC_IDEAL_F, K, K, K1, 1.0),
                         ibc_robust_rnet_ideal(IBC_IDEAL_FP, K, K, K1, PEXP) };
    if (!clf[0] || !clf[1]) {
        ibc_robust_rnet_free(clf[0]);
        ibc_robust_rnet_free(clf[1]);
        snprintf(err, IBC_ERRLEN, CLAIM ": out of memory");
        return IBC_ENUMERIC;
    }
    ibc_mc_shape sh[2] = {
        { .claim = CLAIM, .source = "T-F", .event = "F errs", .uname = "D/(4a^2K)",
          .bound = "P <= 2exp(-C D/(4a^2K))", .A = 2, .x = X_F, .n = NDRAW, .stream = STREAM },
        { .claim = CLAIM, .source = "T-Fp", .event = "F^(3) errs", .uname = "D/(a^2K)",
          .bound = "P <= 2(K+1)exp(-C D/(a^2K))", .A = 2.0 * (double)(K + 1), .x = X_FP,
          .n = NDRAW, .stream = STREAM + 0x100 },
    };
    gen_ctx ctx[2] = {{clf[0], K, 0}, {clf[1], K, 1}};
    for (int t = 0; t < 2; t++) {
        ibc_mc_event ev = {gen_event, gen_u, &ctx[t]};
        ibc_claim_mc_shape_sample(&sh[t], cfg, &ev, err);   /* its events cannot fail */
    }
    for (int t = 0; t < 2; t++)
        ibc_claim_mc_shape_rows(&sh[t], cfg, out);
    ibc_robust_rnet_free(clf[0]);
    ibc_robust_rnet_free(clf[1]);
    return IBC_OK;
}
