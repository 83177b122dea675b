/* Claim `loss-rate` (docs/theory.md §5 L-rate [MMV24 Thm 1; LL20 Thm 4.3]).
 *
 * On the trajectories of the cached default runs (p = 1 and p = 3, GD on the
 * mean exp loss).  Conventions: L is the sum loss L_sum = n L_mean and t the
 * time of gradient flow on the sum loss, t = t_mean / n, since gradient flow
 * on the mean at time t_mean is gradient flow on the sum at t_mean / n
 * (docs/theory.md §3); GD's t_mean is eta * step.
 *
 *  - Envelope: after t2, L(t) <= L(t2) / (L(t2) a (t - t2) + 1) for some
 *    a > 0.  t2 is the first record with L_sum < 1, the start of LL20's
 *    regime (every sample classified).  The envelope is equivalent to
 *    1/L(t) >= 1/L(t2) + a (t - t2), so the largest a is
 *      a* = min_{t > t2} (1/L(t) - 1/L(t2)) / (t - t2),
 *    computed in MPFR from the recorded MPFR losses; the claim holds when
 *    a* > 0.  Second method: the envelope itself is evaluated at every
 *    record with a = a* (1 - 1e-9) and must hold there.
 *    If L_sum never falls below 1 the run missed the theorem's regime: refuted.
 *  - The rate (issue 12, item 3): the fitted exponent s of log L against
 *    log t over the last decade must lie in [-1 - 2/ln t_lo - 0.16, -0.84]:
 *    O(1/t) up to LL20's log factor (L ~ 1/(t (log t)^c), 0 <= c < 2, local
 *    exponent -1 - c/ln t) and a transient allowance of 0.16.  Measured at
 *    the defaults: -1.22 (p = 1), -1.36 (p = 3); a stalled loss gives s ~ 0.
 *    Kills tests/mutants/flow-gd-stall.mut (a step that shrinks with t).
 *  - LL20 for L = 2: ||theta||^2 ~ log t and L ~ 1/(t log t).  Reported (no
 *    bound claimed): the least-squares slope of ||theta||^2 against log t
 *    over the last decade of records, beside 1/gamma_bar at the end (the
 *    slope the heuristic d||theta||^2/dt = 4 sum e^-q q ~ 4 n e^(-gamma_bar
 *    ||theta||^2) gamma_bar ||theta||^2 predicts), and the range of
 *    L t log t there (in the run's own time t_mean, where log t > 0; the
 *    product L t is the same in both conventions).
 *  Caveat (docs/theory.md §5): MMV24's rate is proved for positively correlated
 *  same-label data; subclasses here are orthogonal, so the check is empirical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"

#define LR_BITS 128
#define LR_TRANS 0.16        /* transient allowance on the fitted exponent */

static int lr_rows(const ibc_config *cfg, double p, ibc_rows *out, char *err)
{
    const ibc_trained *t = ibc_train_cached(cfg, p, cfg->prec, err);
    if (!t) return IBC_ENUMERIC;
    const ibc_recorder *rc = &t->rec;
    long n = t->net->n, scale = t->net->par.mean ? n : 1;
    char base[200], params[512], pb[24], mb[48], gb[48], bb[64];
    ibc_train_config_describe(base, sizeof base, cfg, p);
    ibc_prec_str(cfg->prec, pb);

    /* t2: the first record with L_sum < 1 */
    mpfr_t ls, inv2, x, amin;
    mpfr_inits2(LR_BITS, ls, inv2, x, amin, (mpfr_ptr)0);
    long k2 = -1;
    for (long k = 0; k < rc->n && k2 < 0; k++) {
        mpfr_mul_si(ls, rc->rec[k].loss_m, scale, MPFR_RNDN);
        if (mpfr_cmp_ui(ls, 1) < 0) k2 = k;
    }
    if (k2 < 0 || k2 + 1 >= rc->n) {
        /* the instance missed the theorem's regime: refuted, not a quiet info */
        snprintf(params, sizeof params, "%s; L_sum never fell below 1 before the last record", base);
        ibc_claim_rows_add(out, "loss-rate", "envelope a* after t2", pb, "no t2", "> 0", "-", IBC_REFUTED,
                           "L-rate", "%s", params);
        mpfr_clears(ls, inv2, x, amin, (mpfr_ptr)0);
        return IBC_OK;
    }
    const ibc_record *r2 = &rc->rec[k2];
    double t2 = r2->t / (double)scale;
    mpfr_mul_si(ls, r2->loss_m, scale, MPFR_RNDN);
    mpfr_ui_div(inv2, 1, ls, MPFR_RNDN);
    mpfr_set_inf(amin, 1);
    long kmin = -1;
    for (long k = k2 + 1; k < rc->n; k++) {
        mpfr_mul_si(ls, rc->rec[k].loss_m, scale, MPFR_RNDN);
        mpfr_ui_div(x, 1, ls, MPFR_RNDN);
        mpfr_sub(x, x, inv2, MPFR_RNDN);
        mpfr_div_d(x, x, rc->rec[k].t / (double)scale - t2, MPFR_RNDN);
        if (mpfr_cmp(x, amin) < 0) {
            mpfr_set(amin, x, MPFR_RNDN);
            kmin = k;
        }
    }
    double a = mpfr_get_d(amin, MPFR_RNDD);
    /* the envelope itself, slightly inside a* so that the minimiser does not
     * sit on the boundary: L(t) <= L2 / (L2 a (t - t2) + 1) */
    long above = 0;
    double ause = a * (1 - 1e-9);
    mpfr_t l2, env;
    mpfr_inits2(LR_BITS, l2, env, (mpfr_ptr)0);
    mpfr_mul_si(l2, r2->loss_m, scale, MPFR_RNDN);
    for (long k = k2 + 1; k < rc->n; k++) {
        mpfr_mul_d(env, l2, ause * (rc->rec[k].t / (double)scale - t2), MPFR_RNDN);
        mpfr_add_ui(env, env, 1, MPFR_RNDN);
        mpfr_div(env, l2, env, MPFR_RNDN);
        mpfr_mul_si(ls, rc->rec[k].loss_m, scale, MPFR_RNDN);
        if (mpfr_cmp(ls, env) > 0) above++;
    }
    mpfr_clears(l2, env, (mpfr_ptr)0);
    snprintf(params, sizeof params,
             "%s; t2=%.4g (first L_sum<1), L(t2)=%.4g; a* at t=%.4g; env. broken %ld/%ld; "
             "caveat: MMV24's same-label hypothesis fails here: empirical",
             base, t2, 1 / mpfr_get_d(inv2, MPFR_RNDN), kmin >= 0 ? rc->rec[kmin].t / (double)scale : NAN,
             above, rc->n - k2 - 1);
    snprintf(mb, sizeof mb, "a* = %.6g", a);
    snprintf(gb, sizeof gb, "%+.4g", a);
    ibc_claim_rows_add(out, "loss-rate", p == 1 ? "largest a: L <= L2/(L2 a (t-t2)+1), L_sum, t=t_mean/n (p = 1)"
                                          : "largest a: L <= L2/(L2 a (t-t2)+1), L_sum, t=t_mean/n (p = 3)",
                 pb, mb, "> 0, envelope holds", gb, a > 0 && above == 0 ? IBC_HOLDS : IBC_REFUTED, "L-rate",
                 "%s", params);

    /* The last decade of records: ||theta||^2 against log t, and L t log t. */
    double tend = rc->rec[rc->n - 1].t;
    double lo = INFINITY, hi = -INFINITY;
    double *lt = malloc(sizeof(double) * (size_t)(3 * rc->n)), *th2 = lt + rc->n, *ll = th2 + rc->n;
    if (!lt) abort();
    int m = 0;
    for (long k = 0; k < rc->n; k++) {
        const ibc_record *r = &rc->rec[k];
        if (!(r->t >= tend / 10) || !(r->t > 1)) continue;
        lt[m] = log(r->t);
        th2[m] = r->theta_norm2;
        ll[m] = log(r->loss);
        double c = r->loss * r->t * lt[m];
        lo = fmin(lo, c);
        hi = fmax(hi, c);
        m++;
    }
    double slope = ibc_claim_ls_slope(lt, th2, m), expo = ibc_claim_ls_slope(lt, ll, m);
    free(lt);
    const ibc_record *re = &rc->rec[rc->n - 1];
    snprintf(params, sizeof params,
             "%s; %d records, t_mean in [%g, %g]; 1/gamma_bar(end) = %.4g; 1/gamma_tilde(end) = %.4g",
             base, m, tend / 10, tend, 1 / re->gamma_bar, 1 / re->gamma_tilde);
    snprintf(mb, sizeof mb, "%.5g", slope);
    ibc_claim_rows_add(out, "loss-rate", p == 1 ? "slope of ||theta||^2 vs log t, last decade (p = 1)"
                                                  : "slope of ||theta||^2 vs log t, last decade (p = 3)", pb, mb, "(info)", "-",
                 IBC_INFO, "L-rate", "%s", params);
    /* The rate itself: the least-squares exponent s of log L against log t
     * over the last decade.  Scale-free (t_mean or t_sum give the same s).
     * O(1/t) with LL20's log factor, L ~ 1/(t (log t)^c), 0 <= c < 2, has
     * local exponent -1 - c/ln t, within [-1 - 2/ln t_lo, -1]; add LR_TRANS
     * on each side for a trajectory not yet in its asymptotic regime.  A loss
     * that stalls (s near 0) or decays like 1/sqrt t fails. */
    double slo = -1 - 2 / log(tend / 10) - LR_TRANS, shi = -1 + LR_TRANS;
    snprintf(params, sizeof params,
             "%s; %d records, t_mean in [%g, %g]; -1 - 2/ln(t_lo) - %.2g (LL20's log factor, transient) to -1 + %.2g",
             base, m, tend / 10, tend, LR_TRANS, LR_TRANS);
    snprintf(mb, sizeof mb, "%.5g", expo);
    snprintf(bb, sizeof bb, "in [%.3f, %.3f]", slo, shi);
    snprintf(gb, sizeof gb, "%+.3g", fmin(expo - slo, shi - expo));
    ibc_claim_rows_add(out, "loss-rate", p == 1 ? "exponent of L against t, last decade (p = 1)"
                                          : "exponent of L against t, last decade (p = 3)",
                 pb, mb, bb, gb, m >= 10 && expo >= slo && expo <= shi ? IBC_HOLDS : IBC_REFUTED, "L-rate",
                 "%s", params);
    snprintf(params, sizeof params, "%s; L = L_mean, t = t_mean (eta*step), %d records, last decade; max/min = %.4g",
             base, m, hi / lo);
    snprintf(mb, sizeof mb, "[%.4g, %.4g]", lo, hi);
    ibc_claim_rows_add(out, "loss-rate", p == 1 ? "range of L t log t, last decade (p = 1)"
                                                  : "range of L t log t, last decade (p = 3)", pb, mb, "(info)", "-", IBC_INFO,
                 "L-rate", "%s", params);
    mpfr_clears(ls, inv2, x, amin, (mpfr_ptr)0);
    return IBC_OK;
}

int ibc_claim_loss_rate(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc = lr_rows(cfg, 1.0, out, err);
    if (rc == IBC_OK) rc = lr_rows(cfg, 3.0, out, err);
    return rc;
}
