/* claim: the registry of docs/theory.md §8 claims that `ibcheck check` and the
 * per-claim CTest programs run.  Order here is the order of the table. */
#include <stdio.h>
#include <string.h>
#include "ibcheck/claim.h"
#include "ibcheck/ideal.h"   /* IBC_KKT_KMAX: the limit of the KKT-based claims */
#include "claims.h"   /* the claim functions (proofs_numeric/) */

const ibc_claim_def ibc_claims[] = {
    {"balance", "v_j^2 - ||w_j||^2 is conserved by GF; GD drift is exactly the eta^2 correction; signs kept",
     "L-balance", ibc_claim_balance, 0, 0},
    {"ideal-radius-F", "r_F(mu_k) = 1/sqrt(K), certified; closed form at noisy x against an attack",
     "T-F, §4", ibc_claim_ideal_radius_F, 0, 0},
    {"ideal-radius-Fp", "r_F(p)(mu_k) = sqrt(c/(1+c)), c = min(1, K_opp^(1-2/p)), certified; exact radius at noisy x",
     "T-Fp, §4", ibc_claim_ideal_radius_Fp, 0, 0},
    {"ideal-generalization", "Monte Carlo clean error of F and F^(3) against T-F / T-Fp: the largest C the cells allow",
     "T-F, T-Fp", ibc_claim_ideal_generalization, IBC_KKT_KMAX, 0},
    {"ideal-robust-prob", "Monte Carlo P(F flipped at (1+rho)/sqrt(K)) and P(r_F(3) >= (sqrt2-delta)/2) against the bounds; fitted C",
     "T-F, T-Fp", ibc_claim_ideal_robust_prob, IBC_KKT_KMAX, 0},
    {"optimal-radius", "every classifier flips a center at sqrt2/2 (midpoint of an opposite pair); midpoint attack at alpha > 0",
     "MV25 P1", ibc_claim_optimal_radius, IBC_KKT_KMAX, 0},
    {"alignment", "p = 3, 4 learn every center; p = 1 learns class averages",
     "L-alignment", ibc_claim_alignment, 0, 0},
    {"loss-derivative", "|-l'(y, yhat) - y| <= 2|yhat| on [-1, 1], certified, exp and 2*logistic",
     "L-lossderiv", ibc_claim_loss_derivative, 0, 0},
    {"margin", "smoothed margin non-decreasing after L_sum < 1; sandwich; Euler identity for d||theta||^2/dt",
     "L-margin", ibc_claim_margin, 0, 0},
    {"loss-rate", "O(1/t) loss envelope after t2 with fitted a; ||theta||^2 against log t",
     "L-rate", ibc_claim_loss_rate, 0, 0},
    {"stable-rank", "||W||_F^2/||W||_2^2: p = 1 against 2, p = 3 against K",
     "L-stablerank", ibc_claim_stable_rank, 0, 0},
    {"extremal-vectors", "critical points of G_p certified (Krawczyk): strict extrema near mu_k for p = 3, 4; p = 1 class averages; p = 2, alpha = 0 degenerate",
     "§6", ibc_claim_extremal_vectors, 0, 0},
    {"basins", "population direction flow from random starts: which extremal vectors are reached and how often; trainer neurons end where the flow does",
     "§6", ibc_claim_basins, 0, 0},
    {"early-norm", "MMV24 Lemma 3 (p = 1, sum loss, balanced init): norm and output bounds up to T; pReLU constant",
     "L-earlynorm", ibc_claim_early_norm, 0, 0},
    {"direction-approx", "MMV24 Lemma 1: direction dynamics within 4 eps n sqrt(h) X^2 W^2 of P x_a up to T; pReLU constant",
     "L-direction", ibc_claim_direction_approx, 0, 0},
    {"escape-time", "escape time against log(1/eps) has slope eta/log(1 + eta lambda) within 5%, eps 1e-4..1e-64, MPFR beyond double",
     "L-escape", ibc_claim_escape_time, 0, 0},
    {"tiny-init", "eps 1e-8..1e-1000: which precision modes still verify escape and alignment, and where a mode fails",
     "design card", ibc_claim_tiny_init, 0, 0},
    {"precision-ladder", "one training run in double, mpfr:53, mpfr:113, mpfr:256 (reduced n, h): agreement digits, rounding-decided neuron fates; double vs mpfr:53 ulps per step",
     "design card", ibc_claim_precision_ladder, 0, 0},
    {"certified-gd", "GD in Arb balls encloses the exact GD iterate: a float run lies inside; the double run's certified digits; radius growth; p = 1 stops at the kink",
     "design card", ibc_claim_certified_gd, 0, 0},
    {"trained-generalization", "clean accuracy of trained f_1 and f_3 on 10^4 fresh samples, against F and F^(3)",
     "§7", ibc_claim_trained_generalization, 0, 0},
    {"distance-to-ideal", "dist(f_1, F) and dist(f_3, F^(3)) by multi-start ascent on the sphere and the exact best scale; f_3 closer; amplitude and shape parts",
     "§7", ibc_claim_distance_to_ideal, 0, 0},
    {"trained-radius", "radius brackets [certified, verified attack] of trained f_1, f_3; f_1 ~ C/sqrt K over K = 4, 8, 16; PGD masking shown",
     "§7", ibc_claim_trained_radius, 0, 0},
    {"robust-accuracy-curve", "robust accuracy against l2 radius for f_1, f_3: certified, attack and PGD curves; markers 1/sqrt K, sqrt2/2",
     "§7", ibc_claim_robust_accuracy_curve, 0, 0},
    {"transfer", "MV25 P3: dist(f, F^(3)) <= nu gives certified robustness at (sqrt2 - 8 nu^(1/3))/2 with the stated probability",
     "MV25 P3", ibc_claim_transfer, 0, 0},
    {"early-norm-long", "early-norm at the default n = 500, h = 100 and the largest eps the lemma allows",
     "L-earlynorm", ibc_claim_early_norm_long, 0, 1},
    {"direction-approx-long", "direction-approx at the default n = 500, h = 100",
     "L-direction", ibc_claim_direction_approx_long, 0, 1},
    {"escape-time-long", "escape-time at h = 100 down to eps = 1e-128, and mpfr:128 on the default model to 1e-400",
     "L-escape", ibc_claim_escape_time_long, 0, 1},
    {"distance-to-ideal-long", "distance-to-ideal swept over alpha in {0.05, 0.1, 0.2, 0.3}, and at 4x the samples",
     "§7", ibc_claim_distance_to_ideal_long, 0, 1},
    {"precision-ladder-long", "precision-ladder at the full defaults n = 500, h = 100, 20000 steps",
     "design card", ibc_claim_precision_ladder_long, 0, 1},
    {NULL, NULL, NULL, NULL, 0, 0},
};

int ibc_claim_config_check(const char *id, const ibc_config *cfg, char *err)
{
    const ibc_claim_def *d = ibc_claim_find(id);
    if (!d) {
        snprintf(err, IBC_ERRLEN, "unknown claim '%s'", id ? id : "(null)");
        return IBC_EINPUT;
    }
    if (d->kmax > 0 && cfg->model.K > d->kmax) {
        snprintf(err, IBC_ERRLEN, "%s: --K = %ld: this claim allows 2 <= K <= %ld", d->id, cfg->model.K, d->kmax);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

void ibc_claim_error_print(FILE *f, const char *id, const char *err)
{
    size_t n = strlen(id);
    if (!err || !err[0])
        err = "failed";
    else if (strncmp(err, id, n) == 0 && err[n] == ':' && err[n + 1] == ' ')
        err += n + 2;
    fprintf(f, "ibcheck: %s: %s\n", id, err);
}

const ibc_claim_def *ibc_claim_find(const char *id)
{
    if (!id)
        return NULL;
    for (const ibc_claim_def *d = ibc_claims; d->id; d++)
        if (strcmp(d->id, id) == 0)
            return d;
    return NULL;
}
