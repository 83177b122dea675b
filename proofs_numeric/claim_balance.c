/* Claim `balance` (docs/theory.md §5, L-balance [MMV24, MV25]).
 *
 * Under gradient flow Q_j = v_j^2 - ||w_j||^2 is conserved because
 * v_j dL/dv_j = <w_j, dL/dw_j> (Euler).  Under GD with step eta the change per
 * step is exactly eta^2 (dL/dv_j^2 - ||dL/dw_j||^2), so the corrected
 * invariant Q_j - sum eta^2(...) is constant up to rounding alone: a wrong
 * gradient (one that breaks Euler's identity) moves it by O(eta) per step.
 * Balanced init also keeps sign(v_j(t)) = sign(v_j(0)).
 *
 * Bounds, relative to scale = max_j v_j(T)^2:
 *  - GD: each step rounds every entry of theta once (relative error <= u =
 *    2^-bits), which moves Q_j by at most 2u (v_j^2 + ||w_j||^2) <= 4u scale to
 *    first order; the correction term adds rounding of the same order.  So
 *    drift <= 8 u steps.
 *  - GF (adaptive GBS): each accepted step has local error <= tol (|y_i| +
 *    max|y|) <= 2 tol max|y| per entry, moving Q_j by <= 4 (D+1) tol max|y|^2
 *    <= 4 (D+1) tol scale.  So drift <= 4 (D+1) tol steps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"

/* The judgement of every drift row, in one place so that the negative
 * control below exercises exactly what the rows use. */
static ibc_verdict balance_judge(double r, double bound)
{
    return r <= bound ? IBC_HOLDS : IBC_REFUTED;
}

/* Negative control: the measured drifts are 3 decades below their rounding
 * bounds, so a judgement loosened by 1000x would still pass every row.  The
 * judgement must refute a drift of twice a bound and accept half of it.
 * Kills tests/mutants/claim-m-balance-tol.mut. */
static void balance_control_row(ibc_rows *out)
{
    int ok = balance_judge(2.0, 1.0) == IBC_REFUTED && balance_judge(0.5, 1.0) == IBC_HOLDS;
    ibc_claim_rows_add(out, "balance", "negative control: the drift judgement at 2x and 0.5x a bound", "-",
                       ok ? "refutes 2x, accepts 0.5x" : "accepts 2x or refutes 0.5x", "refutes 2x, accepts 0.5x", "-",
                       ok ? IBC_HOLDS : IBC_REFUTED, "L-balance", "synthetic drifts, no run: the judgement itself");
}

/* drift / scale and bound as strings; the verdict. */
static void balance_row(ibc_rows *out, const char *what, const char *params, ibc_prec pr,
                        mpfr_srcptr drift, mpfr_srcptr scale, double bound)
{
    char pb[24], mb[48], bb[64], gb[48];
    mpfr_t rel;
    mpfr_init2(rel, 64);
    if (mpfr_zero_p(scale)) mpfr_set(rel, drift, MPFR_RNDU);
    else mpfr_div(rel, drift, scale, MPFR_RNDU);
    double r = mpfr_get_d(rel, MPFR_RNDU);
    snprintf(bb, sizeof bb, "<= %.3g", bound);
    /* margin: decades between measured and bound (positive = holds) */
    double margin = r > 0 ? log10(bound / r) : INFINITY;
    snprintf(gb, sizeof gb, "%.2f decades", margin);
    ibc_claim_rows_add(out, "balance", what, ibc_prec_str(pr, pb), ibc_prec_fmt_mpfr(mb, rel, 4), bb, gb,
                       balance_judge(r, bound), "L-balance", "%s", params);
    mpfr_clear(rel);
}

/* Number of neurons whose output weight changed sign, against a fresh init. */
static long sign_flips(const ibc_trained *t, const ibc_config *cfg, char *err)
{
    ibc_vec th0;
    ibc_prec_vec_init(&th0, t->theta.len, t->theta.pr);
    long flips = -1;
    if (ibc_net_init_theta(t->net, &th0, cfg->init, cfg->eps, cfg->model.seed, err) == IBC_OK) {
        flips = 0;
        long off = t->net->h * t->net->D;
        for (long j = 0; j < t->net->h; j++) {
            double a = ibc_prec_vec_get_d(&th0, off + j), b = ibc_prec_vec_get_d(&t->theta, off + j);
            if ((a > 0) != (b > 0)) flips++;
        }
    }
    ibc_prec_vec_clear(&th0);
    return flips;
}

static int gd_rows(const ibc_config *cfg, double p, ibc_prec pr, int cached, ibc_rows *out, char *err)
{
    char params[200];
    ibc_trained own;
    const ibc_trained *t = NULL;
    if (cached) {
        t = ibc_train_cached(cfg, p, pr, err);
        if (!t) return IBC_ENUMERIC;
    } else {
        int rc = ibc_train_trained_init(&own, cfg, p, pr, 0, 0, err);
        if (rc != IBC_OK) return rc;
        t = &own;
    }
    ibc_train_config_describe(params, sizeof params, cfg, p);
    double u = ldexp(1.0, -(int)pr.bits);
    balance_row(out, "GD corrected invariant drift / max v^2", params, pr,
                t->stats.balance_drift, t->stats.balance_scale, 8 * u * (double)t->stats.steps);
    long flips = sign_flips(t, cfg, err);
    char pb[24], mb[48];
    snprintf(mb, sizeof mb, "%ld of %ld", flips, cfg->h);
    ibc_claim_rows_add(out, "balance", "neurons whose sign(v_j) changed", ibc_prec_str(pr, pb), mb, "= 0",
                       flips == 0 ? "0" : "-", flips == 0 ? IBC_HOLDS : IBC_REFUTED, "L-balance", "%s", params);
    if (!cached) ibc_train_trained_clear(&own);
    return flips < 0 ? IBC_EINPUT : IBC_OK;
}

static int gf_row(const ibc_config *cfg, double p, ibc_prec pr, double t_end, ibc_rows *out, char *err)
{
    ibc_config c = *cfg;
    c.method = IBC_METHOD_ADAPTIVE;
    ibc_trained t;
    int rc = ibc_train_trained_init(&t, &c, p, pr, t_end, 0, err);
    if (rc != IBC_OK) return rc;
    char full[300];
    /* tol 0 means 2^-(bits-8), the integrator's default */
    double tol = ldexp(1.0, -(int)pr.bits + 8);
    snprintf(full, sizeof full,
             "D=%ld K=%ld K1=%ld alpha=%g n=%ld h=%ld p=%g eps=%s %s %s; GF t=%g tol=2^-%ld: %ld steps, %ld grads, %ld events, %ld sliding",
             c.model.D, c.model.K, c.model.K1, c.model.alpha, c.n, c.h, p, c.eps, c.mean ? "mean" : "sum",
             ibc_net_loss_name(c.loss), t_end, pr.bits - 8, t.stats.steps, t.stats.grad_evals, t.stats.events,
             t.stats.sliding);
    balance_row(out, "GF invariant drift / max v^2", full, pr, t.stats.balance_drift,
                t.stats.balance_scale, 4.0 * (double)(c.model.D + 1) * tol * (double)t.stats.steps);
    ibc_train_trained_clear(&t);
    return IBC_OK;
}

int ibc_claim_balance(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc;
    balance_control_row(out);
    if (cfg->method == IBC_METHOD_GD) {
        /* The default runs, shared with `alignment`. */
        for (int i = 0; i < 2; i++)
            if ((rc = gd_rows(cfg, i == 0 ? 1.0 : 3.0, cfg->prec, 1, out, err)) != IBC_OK) return rc;
        /* The arbitrary-precision mode on a prefix of the same run: its cost
         * per step is ~100x double's, and the bound is per step anyway. */
        ibc_config c = *cfg;
        c.steps = cfg->steps < 40 ? cfg->steps : 40;
        if ((rc = gd_rows(&c, 3.0, cfg->prec_hi, 0, out, err)) != IBC_OK) return rc;
    }
    /* Gradient flow, p = 3 (smooth field), double at the default size to the
     * GD run's final time; the high-precision mode on a smaller net. */
    if ((rc = gf_row(cfg, 3.0, cfg->prec, cfg->lr * (double)cfg->steps, out, err)) != IBC_OK) return rc;
    ibc_config c = *cfg;
    /* At 2^-120 the integrator's steps are limited by the crossings
     * <x_i, w_j> = 0, where the p = 3 field is only C^1: keep it small. */
    c.n = cfg->n < 40 ? cfg->n : 40;
    c.h = cfg->h < 4 ? cfg->h : 4;
    if ((rc = gf_row(&c, 3.0, cfg->prec_hi, 0.5, out, err)) != IBC_OK) return rc;
    /* p = 1: the field jumps on the switching surfaces, which the
     * integrator locates (events); same small net, both modes. */
    if ((rc = gf_row(&c, 1.0, cfg->prec, 20.0, out, err)) != IBC_OK) return rc;
    return gf_row(&c, 1.0, cfg->prec_hi, 0.5, out, err);
}
