/* Claim `loss-derivative` (docs/theory.md §5 L-lossderiv [MMV24 Lemma 2]).
 *
 * For y = +-1 and |yhat| <= 1, with l(y, yhat) = ell(y yhat):
 *     |-dl/dyhat(y, yhat) - y| <= 2 |yhat|
 * for ell = exp (e^-q) and for ell = 2 logistic (2 log(1 + e^-q)).
 *
 * Write r(yhat) = -dl/dyhat - y = -y ell'(y yhat) - y.  r(0) = 0 for both
 * losses (ell'(0) = -1), so the gap 2|yhat| - |r| vanishes at yhat = 0 and the
 * claim is equivalent to
 *     h(yhat) = 2 - |r(yhat)| / |yhat| >= 0   on [-1, 1] \ {0},
 * a function with a removable singularity at 0.  Two methods:
 *
 *  1. Arb (certified).  ibc_ideal_certify_positive proves h > 0 on all of
 *     [-1, 1].  On a ball X that avoids 0, h(X) is evaluated directly.  On a
 *     ball that contains 0, the mean value theorem with r(0) = 0 gives
 *     |r(yhat)| / |yhat| = |r'(xi)| for some xi in X, so h(X) lies in
 *     [2 - sup_X |r'|, 2].  r and r' come from one Taylor series of ell' in Arb
 *     (automatic differentiation), so no derivative is written by hand.
 *     A second proof gives a certified lower bound on min h (below).
 *  2. MPFR sampling at 256 bits through the library's own loss derivative
 *     (ibc_net_eval on a two-sample network built so that dL/dv_j is
 *     ell'(y_j yhat) y_j): the gap and h on a grid of 20001 points.
 *  The two meet: the Arb value of h at the grid's minimiser must equal the
 *  sampled one to 2^-100 (Arb's 128-bit balls after a dozen operations have
 *  radius below 2^-120; MPFR's 256-bit value is far closer), and Arb proves h >= (sampled min) - 1e-3 on the
 *  whole interval, so the true minimum lies within 1e-3 below the sample.
 *  The 1e-3: |h'| <= 4 on [-1, 1] for both losses (|r''| <= e and h' =
 *  (r'yhat - r)/yhat^2 is bounded by sup|r''|/2 by Taylor), and the grid
 *  spacing is 1e-4, so sampling can miss a dip by at most 4 * 0.5e-4 = 2e-4.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"
#include "prec/ibc_arb.h"

#define LD_PREC 128          /* Arb working precision */
#define LD_DEPTH 60          /* bisection depth and evaluation budget */
#define LD_EVALS 200000L
#define LD_GRID 10000        /* grid yhat = k / LD_GRID, k = -LD_GRID..LD_GRID */
#define LD_BITS 256          /* MPFR sampling precision */
#define LD_SLACK 1e-3        /* sampled min minus this is proved as a lower bound */

typedef struct {
    ibc_loss loss;           /* IBC_LOSS_EXP or IBC_LOSS_LOGISTIC (taken as 2 logistic) */
    int y;
    arb_t c;                 /* h - c is what the prover sees */
} ld_ctx;

/* r(yhat + t) as a series in t to order len: r = -y ell'(y (yhat + t)) - y,
 * with ell'(q) = -e^-q (exp) or -2 / (1 + e^q) (2 logistic). */
static void ld_series(arb_poly_t r, const ld_ctx *c, const arb_t yhat, slong len, slong prec)
{
    arb_poly_t q;
    arb_poly_init(q);
    arb_t a;
    arb_init(a);
    /* q(t) = y yhat + y t; the exponent's sign differs between the losses */
    int s = c->loss == IBC_LOSS_EXP ? -c->y : c->y;
    arb_mul_si(a, yhat, s, prec);
    arb_poly_set_coeff_arb(q, 0, a);
    arb_poly_set_coeff_si(q, 1, s);
    arb_poly_exp_series(r, q, len, prec);              /* e^-q or e^q */
    if (c->loss == IBC_LOSS_EXP) {
        arb_poly_neg(r, r);                            /* ell' = -e^-q */
    } else {
        arb_poly_add_si(r, r, 1, prec);
        arb_poly_inv_series(q, r, len, prec);
        arb_poly_scalar_mul_2exp_si(r, q, 1);
        arb_poly_neg(r, r);                            /* ell' = -2/(1+e^q) */
    }
    if (c->y > 0) arb_poly_neg(r, r);                  /* -y ell' (y = +-1) */
    arb_poly_get_coeff_arb(a, r, 0);
    arb_sub_si(a, a, c->y, prec);
    arb_poly_set_coeff_arb(r, 0, a);                   /* - y */
    arb_clear(a);
    arb_poly_clear(q);
}

/* h(yhat) - c on a ball (the prover's callback). */
static int ld_fn(arb_t res, const arb_t x, void *vctx, slong prec)
{
    ld_ctx *c = vctx;
    arb_poly_t r;
    arb_poly_init(r);
    arb_t a, b;
    arb_init(a);
    arb_init(b);
    int rc = IBC_OK;
    if (!arb_contains_zero(x)) {
        ld_series(r, c, x, 1, prec);
        arb_poly_get_coeff_arb(a, r, 0);
        arb_abs(a, a);
        arb_abs(b, x);
        arb_div(a, a, b, prec);
        arb_set_si(res, 2);
        arb_sub(res, res, a, prec);
    } else {
        /* The mean value form needs r(0) = 0 exactly (true in exact
         * arithmetic; Arb must reproduce it, else the bound is void). */
        arb_zero(a);
        ld_series(r, c, a, 1, prec);
        arb_poly_get_coeff_arb(a, r, 0);
        if (!arb_is_zero(a)) {
            rc = IBC_ENUMERIC;
        } else {
            ld_series(r, c, x, 2, prec);
            arb_poly_get_coeff_arb(a, r, 1);           /* r' on X */
            arf_t m, two;
            arf_init(m);
            arf_init(two);
            arb_get_abs_ubound_arf(m, a, prec);
            arf_set_si(two, 2);
            arf_sub(m, two, m, prec, ARF_RND_DOWN);     /* 2 - sup|r'|, rounded down */
            arb_set_interval_arf(res, m, two, prec);    /* [2 - sup|r'|, 2] */
            arf_clear(m);
            arf_clear(two);
        }
    }
    arb_sub(res, res, c->c, prec);
    arb_clear(a);
    arb_clear(b);
    arb_poly_clear(r);
    return rc;
}

/* The library's loss derivative on a grid: a net with two samples x_1 = e_1
 * (y = +1) and x_2 = e_2 (y = -1), two neurons w_j = e_j, p = 1, sum loss.
 * Then f(x_j) = v_j and dL/dv_j = ell'(y_j v_j) y_j = dl/dyhat(y_j, v_j).
 * For each y: the minimum of h over the grid (yhat != 0), where, and the
 * minimum of the gap 2|yhat| - |r| (yhat = 0 included). */
typedef struct {
    double hmin[2], gapmin[2];
    long kmin[2];            /* the minimiser's grid index */
    mpfr_t hmin_m[2];        /* hmin at LD_BITS, for the cross-check with Arb */
} ld_sample;

static int ld_sample_grid(ld_sample *s, ibc_loss loss, char *err)
{
    ibc_model_params mp;
    ibc_model_default(&mp);
    mp.D = 2;
    mp.K = 2;
    mp.K1 = 1;
    mp.alpha = 0;
    ibc_data *d = ibc_model_data_alloc(&mp, 2, 0);
    if (!d) {
        snprintf(err, IBC_ERRLEN, "loss-derivative: cannot allocate the sampling data");
        return IBC_EINPUT;
    }
    for (long i = 0; i < 2; i++) {
        for (long k = 0; k < 2; k++) mpfr_set_si(d->X + i * 2 + k, i == k, MPFR_RNDN);
        d->y[i] = i == 0 ? 1 : -1;
        d->z[i] = (int)i;
    }
    ibc_net_params np = {.p = 1, .h = 2, .loss = loss, .mean = 0,
                         .loss_scale2 = loss == IBC_LOSS_LOGISTIC};
    ibc_prec pr = ibc_prec_mpfr(LD_BITS);
    ibc_net *net = ibc_net_alloc(d, &np, pr);
    ibc_vec th, g;
    ibc_prec_vec_init(&th, ibc_net_dim(net), pr);
    ibc_prec_vec_init(&g, ibc_net_dim(net), pr);
    ibc_prec_vec_set_d(&th, 0, 1.0);      /* w_1 = e_1 */
    ibc_prec_vec_set_d(&th, 3, 1.0);      /* w_2 = e_2 */
    mpfr_t yh, r, gap, hq, ay;
    mpfr_inits2(LD_BITS, yh, r, gap, hq, ay, (mpfr_ptr)0);
    for (int j = 0; j < 2; j++) {
        s->hmin[j] = INFINITY;
        s->gapmin[j] = INFINITY;
        s->kmin[j] = 0;
        mpfr_init2(s->hmin_m[j], LD_BITS);
    }
    for (long k = -LD_GRID; k <= LD_GRID; k++) {
        mpfr_set_si(yh, k, MPFR_RNDN);
        mpfr_div_si(yh, yh, LD_GRID, MPFR_RNDN);
        ibc_prec_vec_set_mpfr(&th, 4, yh);
        ibc_prec_vec_set_mpfr(&th, 5, yh);
        ibc_net_eval(net, &th, NULL, 2, NULL, &g, NULL);
        mpfr_abs(ay, yh, MPFR_RNDN);
        for (int j = 0; j < 2; j++) {
            int y = j == 0 ? 1 : -1;
            ibc_prec_vec_get_mpfr(r, &g, 4 + j);           /* dl/dyhat */
            mpfr_neg(r, r, MPFR_RNDN);
            mpfr_sub_si(r, r, y, MPFR_RNDN);          /* r = -dl/dyhat - y */
            mpfr_abs(r, r, MPFR_RNDN);
            mpfr_mul_2ui(gap, ay, 1, MPFR_RNDN);
            mpfr_sub(gap, gap, r, MPFR_RNDN);
            double gd = mpfr_get_d(gap, MPFR_RNDD);
            if (gd < s->gapmin[j]) s->gapmin[j] = gd;
            if (k != 0) {
                mpfr_div(hq, gap, ay, MPFR_RNDN);
                double hd = mpfr_get_d(hq, MPFR_RNDN);
                if (hd < s->hmin[j]) {
                    s->hmin[j] = hd;
                    s->kmin[j] = k;
                    mpfr_set(s->hmin_m[j], hq, MPFR_RNDN);
                }
            }
        }
    }
    mpfr_clears(yh, r, gap, hq, ay, (mpfr_ptr)0);
    ibc_prec_vec_clear(&th);
    ibc_prec_vec_clear(&g);
    ibc_net_free(net);
    ibc_model_data_free(d);
    return IBC_OK;
}

static int ld_rows(ibc_loss loss, ibc_rows *out, char *err)
{
    ld_sample smp;
    int rc = ld_sample_grid(&smp, loss, err);
    if (rc != IBC_OK) return rc;
    const char *lname = loss == IBC_LOSS_EXP ? "exp" : "2*logistic";
    for (int j = 0; j < 2 && rc == IBC_OK; j++) {
        int y = j == 0 ? 1 : -1;
        ld_ctx c = {.loss = loss, .y = y};
        arb_init(c.c);
        arf_t lo, hi;
        arf_init(lo);
        arf_init(hi);
        arf_set_si(lo, -1);
        arf_set_si(hi, 1);
        /* Proof 1: h > 0 on [-1, 1], the claim itself. */
        ibc_ideal_pos_info info, info2;
        rc = ibc_ideal_certify_positive(&info, ld_fn, &c, lo, hi, LD_DEPTH, LD_EVALS, LD_PREC);
        /* Proof 2: h > hmin_sampled - LD_SLACK, the certified lower bound. */
        double cl = smp.hmin[j] - LD_SLACK;
        arb_set_d(c.c, cl);
        if (rc == IBC_OK)
            rc = ibc_ideal_certify_positive(&info2, ld_fn, &c, lo, hi, LD_DEPTH, LD_EVALS, LD_PREC);
        /* Arb's h at the sampled minimiser, against the library's value. */
        double dh = INFINITY;
        if (rc == IBC_OK) {
            arb_t x, v;
            arb_init(x);
            arb_init(v);
            arb_set_si(x, smp.kmin[j]);
            arb_div_si(x, x, LD_GRID, LD_PREC);      /* the grid point (MPFR's is within 2^-256) */
            arb_zero(c.c);
            rc = ld_fn(v, x, &c, LD_PREC);
            if (rc == IBC_OK) {
                arb_t m;
                arb_init(m);
                arf_set_mpfr(arb_midref(m), smp.hmin_m[j]);
                arb_sub(v, v, m, LD_PREC);
                dh = arf_get_d(arb_midref(v), ARF_RND_UP);
                dh = fabs(dh) + mag_get_d(arb_radref(v));
                arb_clear(m);
            }
            arb_clear(x);
            arb_clear(v);
        }
        arf_clear(lo);
        arf_clear(hi);
        arb_clear(c.c);
        if (rc != IBC_OK) {
            snprintf(err, IBC_ERRLEN, "loss-derivative: %s y=%+d: evaluation failed (r(0) not exact?)",
                     lname, y);
            break;
        }
        char params[240], mb[48], bb[64], gb[48];
        snprintf(params, sizeof params,
                 "%s, y=%+d, yhat in [-1,1]; Arb %d bits, bisection depth %d; h = gap/|yhat|, "
                 "MVT on balls containing 0; %ld evals, depth %d",
                 lname, y, LD_PREC, LD_DEPTH, info.evals, info.depth);
        int ok1 = info.outcome == IBC_POS_PROVED;
        snprintf(mb, sizeof mb, "%s, %ld pieces", ibc_ideal_pos_outcome_name(info.outcome), info.pieces);
        snprintf(gb, sizeof gb, "min h >= %.4f", info2.outcome == IBC_POS_PROVED ? cl : 0.0);
        ibc_claim_rows_add(out, "loss-derivative", "2|yhat| - |-dl/dyhat - y| >= 0 certified (Arb)", "arb:128",
                           mb, "h > 0 on [-1,1]", gb, ok1 ? IBC_HOLDS : IBC_REFUTED, "L-lossderiv",
                           "%s", params);
        /* Sampling row: holds when the sampled minimum is positive, Arb proves
         * it is within LD_SLACK of the true minimum, the two formulas agree
         * at the minimiser, and the gap is never below -2^-240 (rounding of
         * a few 256-bit operations on numbers <= 3). */
        int ok2 = smp.hmin[j] > 0 && info2.outcome == IBC_POS_PROVED && dh <= ldexp(1.0, -100)
                  && smp.gapmin[j] >= -ldexp(1.0, -240);
        snprintf(params, sizeof params,
                 "%s, y=%+d; library ell' via ibc_net_eval, %d grid points; argmin yhat=%+.4f; "
                 "min gap (yhat=0 incl.) %.3g; |h_Arb - h_MPFR| at argmin %.2g; Arb proves min h >= %.4f (%ld pieces)",
                 lname, y, 2 * LD_GRID + 1, (double)smp.kmin[j] / LD_GRID, smp.gapmin[j], dh, cl, info2.pieces);
        snprintf(mb, sizeof mb, "%.6f", smp.hmin[j]);
        snprintf(bb, sizeof bb, "> 0, within %.0e of Arb bound", LD_SLACK);
        snprintf(gb, sizeof gb, "%+.4f", smp.hmin[j]);
        ibc_claim_rows_add(out, "loss-derivative", "min_yhat (2|yhat| - |-dl/dyhat - y|)/|yhat| sampled",
                           "mpfr:256", mb, bb, gb, ok2 ? IBC_HOLDS : IBC_REFUTED, "L-lossderiv", "%s", params);
    }
    for (int j = 0; j < 2; j++) mpfr_clear(smp.hmin_m[j]);
    return rc;
}

int ibc_claim_loss_derivative(const ibc_config *cfg, ibc_rows *out, char *err)
{
    (void)cfg;   /* the lemma is about the losses alone */
    int rc = ld_rows(IBC_LOSS_EXP, out, err);
    if (rc == IBC_OK) rc = ld_rows(IBC_LOSS_LOGISTIC, out, err);
    return rc;
}
