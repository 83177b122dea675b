/* Claim `tiny-init` (docs/theory.md §8, design card; §2 and §5 L-escape, L-alignment).
 *
 * From eps = 1e-8 down to 1e-1000, which precision modes can still check the
 * escape and alignment claims?  Prediction:
 *  - mpfr: every eps (its exponent range reaches far below 1e-1000);
 *  - double: every eps >= 4 DBL_MIN sqrt(D), the init's floor (docs/theory.md §2:
 *    units are computed as ||w|| sigma(<x, w_hat>)^p, which "neither
 *    overflows nor underflows ... down to 1e-300 in double"), and below it
 *    ibc_net_init_theta refuses with IBC_ENUMERIC (underflow) rather than
 *    train from a network that silently starts at zero.
 * A (eps, mode) row holds when the mode's outcome matches this: either the
 * refusal, or a run (small config, p = 3, GD) that
 *  - escapes (escape_run.h) on the escape law: the slope of t_esc against
 *    log(1/eps) from the mpfr run at eps = 1e-8 is eta/log(1 + eta lambda)
 *    within 5% (lambda: G_n at the leading neuron's direction, read in the
 *    mpfr run at the smallest eps);
 *  - is aligned at escape: min_k max_j cos(w_j, mu_k) >= 0.99 (docs/theory.md §8);
 *  - for double, agrees with the mpfr run of the same eps to what rounding
 *    alone explains (lost digits are reported and must not exceed that).
 * Every (eps, mode) row can fail (refusal expected but a run made, or any of
 * the three checks); the two summary rows are info (they restate which rows
 * held).  The 5% slope window is the network escape's (ESC_NET_TOL in
 * claim_escape_time.c); at this config eta lambda ~ 0.1-0.14, so the flow
 * law lies 5-7% away, barely outside it: the tight law check is escape-time's
 * lead-neuron row.  Mutant killed: flow-gd-half-lr (slope doubles).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"
#include "escape_run.h"

#define TINY_N_EPS 6
#define TINY_TOL 0.05
#define TINY_ALIGN 0.99

static const char *const tiny_eps[TINY_N_EPS] = {"1e-8", "1e-100", "1e-200", "1e-300", "1e-400", "1e-1000"};

int ibc_claim_tiny_init(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_config c;
    ibc_claim_escape_small_config(&c, cfg);
    const double p = 3.0;
    const double floor_d = 4 * DBL_MIN * sqrt((double)c.model.D);
    ibc_prec modes[2] = {cfg->prec_hi, cfg->prec};
    ibc_escape e[2][TINY_N_EPS];
    double x[TINY_N_EPS];
    int below[TINY_N_EPS];
    for (int i = 0; i < TINY_N_EPS; i++) {
        x[i] = ibc_claim_escape_log_inv_eps(tiny_eps[i]);
        below[i] = x[i] > -log(floor_d);      /* eps < floor_d */
    }

    /* The high-precision series first: it fixes lambda and the reference. */
    double lambda = 0.1;    /* a guess, only for the step cap of the first run */
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < TINY_N_EPS; i++) {
            int rc = ibc_claim_escape_run(&e[m][i], &c, p, c.n, c.h, tiny_eps[i], modes[m],
                                          ibc_claim_escape_cap(c.lr, lambda, x[i]), 0, err);
            if (rc != IBC_OK) return rc;
            if (m == 0 && e[m][i].escaped && e[m][i].lambda_dir > 0) lambda = e[m][i].lambda_dir;
        }
    const ibc_escape *ref = &e[0][0];
    if (!ref->escaped) {
        snprintf(err, IBC_ERRLEN, "tiny-init: the reference run (eps=%s) did not escape: %.200s", tiny_eps[0],
                 ref->rc != IBC_OK ? ref->msg : "step cap reached");
        return IBC_ENUMERIC;
    }
    const double spred = cfg->lr / log1p(cfg->lr * lambda);

    char params[240], hb[24];
    snprintf(params, sizeof params,
             "D=%ld K=%ld K1=%ld alpha=%g n=%ld h=%ld p=%g balanced mean exp GD eta=%g; escape 1-L >= %g; "
             "lambda=%.5f; ref: %s eps=%s t=%.3f",
             c.model.D, c.model.K, c.model.K1, c.model.alpha, c.n, c.h, p, c.lr, IBC_ESCAPE_DROP, lambda,
             ibc_prec_str(modes[0], hb), tiny_eps[0], ref->t_esc);
    const char *smallest[2] = {NULL, NULL};
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < TINY_N_EPS; i++) {
            const ibc_escape *r = &e[m][i];
            char pb[24], what[72], mb[48], bb[64], gb[48];
            ibc_prec_str(modes[m], pb);
            int refuse = modes[m].mode == IBC_DOUBLE && below[i];
            snprintf(what, sizeof what, "eps=%s: escape law + alignment checkable", tiny_eps[i]);
            if (refuse) {
                snprintf(bb, sizeof bb, "refused: underflow (eps < %.3g)", floor_d);
                int ok = r->rc == IBC_ENUMERIC;
                snprintf(mb, sizeof mb, "%s", ok ? "refused: underflow (IBC_ENUMERIC)"
                                                 : r->escaped ? "ran and escaped" : "ran, no refusal");
                ibc_claim_rows_add(out, "tiny-init", what, pb, mb, bb, ok ? "0" : "-", ok ? IBC_HOLDS : IBC_REFUTED,
                                   "design card", "%s", params);
                continue;
            }
            /* slope from the reference (undefined at the reference itself) */
            double slope_rel = i == 0 ? 0.0 : (r->t_esc - ref->t_esc) / (x[i] - x[0]) / spred - 1.0;
            double agree = 0, agree_bound = INFINITY;
            if (m == 1 && e[0][i].escaped) {
                agree = fabs(r->t_esc / e[0][i].t_esc - 1.0);
                agree_bound = ibc_claim_escape_agree_bound(&e[0][i], c.n, c.model.D);
            }
            int ok = r->rc == IBC_OK && r->escaped && fabs(slope_rel) <= TINY_TOL && r->align >= TINY_ALIGN
                     && agree <= agree_bound;
            if (r->rc != IBC_OK)
                snprintf(mb, sizeof mb, "failed: %.39s", r->msg);
            else if (!r->escaped)
                snprintf(mb, sizeof mb, "no escape in %ld steps", r->steps);
            else if (m == 1)
                snprintf(mb, sizeof mb, "t=%.2f slope%+.2f%% cos=%.4f digits=%.1f", r->t_esc, 100 * slope_rel, r->align,
                         agree > 0 ? -log10(agree) : 17.0);
            else
                snprintf(mb, sizeof mb, "t=%.2f slope%+.2f%% cos=%.4f", r->t_esc, 100 * slope_rel, r->align);
            if (m == 1)
                snprintf(bb, sizeof bb, "escapes, slope %.4f+-5%%, cos>=%.2f, rel<=%.2g", spred, TINY_ALIGN,
                         agree_bound);
            else
                snprintf(bb, sizeof bb, "escapes, slope %.4f+-5%%, cos>=%.2f", spred, TINY_ALIGN);
            snprintf(gb, sizeof gb, "%+.2f%%", r->escaped ? 100 * (TINY_TOL - fabs(slope_rel)) : -INFINITY);
            ibc_claim_rows_add(out, "tiny-init", what, pb, mb, bb, gb, ok ? IBC_HOLDS : IBC_REFUTED, "design card", "%s",
                               params);
            if (ok) smallest[m] = tiny_eps[i];
        }
    /* Summary: the smallest eps each mode still checks. */
    for (int m = 0; m < 2; m++) {
        char pb[24], mb[48];
        snprintf(mb, sizeof mb, "%s", smallest[m] ? smallest[m] : "none");
        ibc_claim_rows_add(out, "tiny-init", "smallest eps whose escape + alignment check holds", ibc_prec_str(modes[m], pb),
                           mb, "-", "-", IBC_INFO, "design card", "%s; double init floor %.3g", params, floor_d);
    }
    return IBC_OK;
}
