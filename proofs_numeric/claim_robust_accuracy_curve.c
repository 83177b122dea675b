/* Claim `robust-accuracy-curve` (THEORY §7, §8; MV24 Fig. (e)): robust
 * accuracy against the l2 radius eps for the trained f_1 and f_3, from the
 * brackets of trained-radius (the same cached test points):
 *   certified curve: fraction of points whose certified radius is >= eps
 *                    (a lower bound on the true robust accuracy);
 *   attack curve:    fraction not flipped by the best verified attack at eps
 *                    (an upper bound on the true robust accuracy);
 *   PGD curve:       what plain PGD reports (above the attack curve where
 *                    PGD is masked).
 * Markers 1/sqrt K and sqrt2/2 are in the grid.  Checks that can fail:
 * certified <= attack at every eps (both certified: else a bug), f_1 loses
 * robustness past 1/sqrt K (attack accuracy at 1.5/sqrt K <= 0.1, T-F with
 * rho = 0.5), f_3 keeps it there (certified accuracy >= 0.9, T-Fp), and no
 * classifier keeps more than 1 - min(K1,K2)/K at sqrt2/2 + 2 alpha (MV25 P1,
 * the 2 alpha covering the noise's displacement of the midpoints).
 */
#include <math.h>
#include <stdio.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"


#define RAC_LOSE 0.1
#define RAC_KEEP 0.9

typedef struct { double cert, attack, pgd; } rac_point;

static rac_point curve_at(const ibc_claim_bracket_set *s, double eps)
{
    rac_point c = {0, 0, 0};
    for (long i = 0; i < s->npts; i++) {
        const ibc_bracket *b = &s->br[i];
        if (b->misclassified)
            continue;   /* radius 0: not robust at any eps > 0 */
        c.cert += b->lo >= eps;
        c.attack += b->hi > eps;
        c.pgd += b->hi_pgd > eps;
    }
    c.cert /= (double)s->npts;
    c.attack /= (double)s->npts;
    c.pgd /= (double)s->npts;
    return c;
}

int ibc_claim_robust_accuracy_curve(const ibc_config *cfg, ibc_rows *out, char *err)
{
    const ibc_claim_bracket_set *set[2];
    const double ps[2] = {1.0, 3.0};
    for (int i = 0; i < 2; i++)
        if (!(set[i] = ibc_claim_brackets(cfg, ps[i], IBC_CLAIM_NPTS, err)))
            return IBC_EINPUT;
    long K = cfg->model.K, K1 = cfg->model.K1;
    double rK = 1 / sqrt((double)K), ropt = sqrt(0.5);
    double grid[] = {0.1, 0.2, rK, 1.5 * rK, 0.5, 0.6, ropt, ropt + 2 * cfg->model.alpha, 1.0};
    const char *mark[] = {"", "", " (1/sqrt K)", " (1.5/sqrt K)", "", "", " (sqrt2/2)", " (sqrt2/2 + 2 alpha)", ""};
    char pb[24], base[240], params[300], what[72], m[48], b[64], mg[32];
    ibc_prec_str(cfg->prec, pb);
    for (int i = 0; i < 2; i++) {
        ibc_config_describe(base, sizeof base, cfg, ps[i]);
        snprintf(params, sizeof params, "%s test points=%d", base, IBC_CLAIM_NPTS);
        for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
            rac_point c = curve_at(set[i], grid[g]);
            snprintf(what, sizeof what, "f_%g robust acc. at eps = %.4f%s: cert/attack/PGD", ps[i], grid[g], mark[g]);
            snprintf(m, sizeof m, "%.2f / %.2f / %.2f", c.cert, c.attack, c.pgd);
            snprintf(b, sizeof b, "cert <= attack");
            snprintf(mg, sizeof mg, "%+.2f", c.attack - c.cert);
            ibc_rows_add(out, "robust-accuracy-curve", what, pb, m, b, mg,
                         c.cert <= c.attack ? IBC_HOLDS : IBC_REFUTED, "§7", "%s", params);
        }
    }
    /* The paper's qualitative result as checks. */
    rac_point c1 = curve_at(set[0], 1.5 * rK), c3 = curve_at(set[1], 1.5 * rK);
    double kmin = (double)(K1 < K - K1 ? K1 : K - K1) / (double)K;
    rac_point c3o = curve_at(set[1], ropt + 2 * cfg->model.alpha);
    ibc_config_describe(base, sizeof base, cfg, 1.0);
    snprintf(m, sizeof m, "%.2f", c1.attack);
    snprintf(b, sizeof b, "<= %.2f", RAC_LOSE);
    snprintf(mg, sizeof mg, "%+.2f", RAC_LOSE - c1.attack);
    ibc_rows_add(out, "robust-accuracy-curve", "f_1 attack robust accuracy at 1.5/sqrt K (loses)", pb, m, b, mg,
                 c1.attack <= RAC_LOSE ? IBC_HOLDS : IBC_REFUTED, "T-F", "%s", base);
    ibc_config_describe(base, sizeof base, cfg, 3.0);
    snprintf(m, sizeof m, "%.2f", c3.cert);
    snprintf(b, sizeof b, ">= %.2f", RAC_KEEP);
    snprintf(mg, sizeof mg, "%+.2f", c3.cert - RAC_KEEP);
    ibc_rows_add(out, "robust-accuracy-curve", "f_3 certified robust accuracy at 1.5/sqrt K (keeps)", pb, m, b, mg,
                 c3.cert >= RAC_KEEP ? IBC_HOLDS : IBC_REFUTED, "T-Fp", "%s", base);
    snprintf(m, sizeof m, "%.2f", c3o.attack);
    snprintf(b, sizeof b, "<= 1 - min(K1,K2)/K = %.2f", 1 - kmin);
    snprintf(mg, sizeof mg, "%+.2f", 1 - kmin - c3o.attack);
    ibc_rows_add(out, "robust-accuracy-curve", "f_3 attack robust accuracy at sqrt2/2 + 2 alpha (optimality)", pb, m,
                 b, mg, c3o.attack <= 1 - kmin ? IBC_HOLDS : IBC_REFUTED, "MV25 P1", "%s", base);
    return IBC_OK;
}
