/* Claim ideal-radius-F (docs/theory.md §4, §8; T-F): r_F(mu_k) = 1/sqrt(K) for every
 * k and split, and the closed form r_F(x) = min(a/sqrt(Ky), (a-b)/sqrt(K)) at
 * noisy x.  Each radius is bracketed by two methods that do not use the
 * closed form: a certified lower bound (Arb, bisection over the circle in
 * the plane (mu_y, mu_-y)) at r (1 - 2^-20), and an explicit flipping
 * perturbation checked through F's definition (MPFR, directed rounding) at
 * r (1 + 2^-20).  A wrong closed form fails one of the two.
 *
 * Rows: r_F(mu_k) at alpha = 0 for every k and split, K up to 64, against
 * 1/sqrt K and the closed form; the noisy-x rows (smallest radius over the
 * samples) against the closed form; and constructed points x = mu_k +
 * beta mu_l (l in the other class, beta in {-1, -0.5, 0, 0.3}) plus a
 * mixture, where each branch of min(a/sqrt K_y, (a - b)/sqrt K) is the
 * active one (noisy x near a center never reaches a/sqrt K_y: it needs
 * b < -a (sqrt K - sqrt K_y)/sqrt K_y); the row counts the points per branch
 * and fails if a branch was never active.
 * Mutants killed (tests/mutants): ideal-rF-branch-a-dropped (constructed
 * row), ideal-rF-sqrtK-branch (every row). */
#include <math.h>
#include <gmp.h>
#include "ibcheck/claim.h"
#include "ibcheck/ideal.h"
#include "claim/claims.h"
#include "prec/ibc_arb.h"

#define CLAIM "ideal-radius-F"
#define SOURCE "T-F, §4"
#define REL 0x1p-20      /* the bracket is r (1 -+ REL) */
#define TOL 4e-6         /* allowed relative width: 2 REL = 1.9e-6 plus rounding */
#define PREC 128         /* Arb, for closed forms and certificates */
#define BITS 256         /* MPFR, for the explicit attacks */
#define RBITS 64         /* MPFR, for the crude random attack */
#define NSAMP 6          /* noisy samples per configuration */

static const long KS[] = { 2, 4, 10, 16, 64 };

/* The first K coordinates of x as exact balls. */
static void coords(arb_ptr c, mpfr_srcptr x, long K)
{
    for (long k = 0; k < K; k++)
        arb_set_interval_mpfr(c + k, x + k, x + k, PREC);
}

static void fmt_bracket(char *out, size_t n, mpfr_srcptr lo, mpfr_srcptr hi)
{
    char a[64], b[64];
    snprintf(out, n, "[%s, %s]", ibc_prec_fmt_mpfr(a, lo, 9), ibc_prec_fmt_mpfr(b, hi, 9));
}

/* Brackets r_F at x (class y) around the closed form r; the bracket is
 * folded into br (already holding other points' attacks, or fresh). */
static int bracket_point(ibc_ideal_bracket *br, int certify, mpfr_srcptr x, long D, long K,
                         long K1, int y, const arb_t r, unsigned long seed)
{
    ibc_ideal_clf f, f64;
    arb_ptr c = _arb_vec_init(K);
    arb_t a, b;
    arb_init(a);
    arb_init(b);
    ibc_vec dv;
    ibc_prec_vec_init(&dv, D, ibc_prec_mpfr(BITS));
    mpfr_ptr d = dv.m;
    mpfr_t best;
    mpfr_init2(best, RBITS);
    int rc = ibc_ideal_clf_init(&f, IBC_IDEAL_F, D, K, K1, 1.0, BITS);
    int rc2 = ibc_ideal_clf_init(&f64, IBC_IDEAL_F, D, K, K1, 1.0, RBITS);
    if (rc == IBC_OK)
        rc = rc2;
    long Ky = y > 0 ? K1 : K - K1;
    if (rc == IBC_OK && certify) {
        coords(c, x, K);
        rc = ibc_ideal_class_sums(a, b, c, K, K1, y, PREC);
        if (rc == IBC_OK)
            rc = ibc_ideal_bracket_certify_F(br, a, b, Ky, K - Ky, r, REL, PREC);
    }
    if (rc == IBC_OK)
        rc = ibc_ideal_attack_F_dir(d, &f, x, y);
    if (rc == IBC_OK)
        rc = ibc_ideal_bracket_attack(br, &f, x, y, d, r, REL);
    if (rc == IBC_OK && seed) {
        rc = ibc_ideal_attack_random(best, &f64, x, y, 2.0, 40, 150, seed);
        if (rc == IBC_OK)
            ibc_ideal_bracket_note_random(br, best);
    }
    ibc_ideal_clf_clear(&f);
    ibc_ideal_clf_clear(&f64);
    _arb_vec_clear(c, K);
    arb_clear(a);
    arb_clear(b);
    ibc_prec_vec_clear(&dv);
    mpfr_clear(best);
    return rc;
}

/* alpha = 0: every center of both classes, one row per (K, K1). */
static int centers_row(ibc_rows *out, long K, long K1, char *err)
{
    int rc = IBC_OK, ok = 1;
    arb_t r, rk, bound;
    arb_init(r);
    arb_init(rk);
    arb_init(bound);
    arb_ptr c = _arb_vec_init(K);
    ibc_vec xv;
    ibc_prec_vec_init(&xv, K, ibc_prec_mpfr(BITS));
    mpfr_ptr x = xv.m;
    mpfr_t lo, hi, m, mk, q;
    mpfr_init2(lo, BITS);
    mpfr_init2(hi, BITS);
    mpfr_init2(m, 64);
    mpfr_init2(mk, 64);
    mpfr_init2(q, 64);
    mpfr_set_inf(q, 1);
    mpfr_set_inf(lo, 1);
    mpfr_set_zero(hi, 1);
    mpfr_set_inf(m, 1);
    long pieces = 0;
    /* docs/theory.md's value, against which the closed form is also checked. */
    arb_sqrt_ui(bound, (ulong)K, PREC);
    arb_inv(bound, bound, PREC);
    for (int cls = 0; cls < 2 && rc == IBC_OK; cls++) {
        int y = cls == 0 ? 1 : -1;
        long k0 = y > 0 ? 0 : K1, k1 = y > 0 ? K1 : K;
        ibc_ideal_bracket br;
        ibc_ideal_bracket_init(&br, BITS);
        for (long k = k0; k < k1 && rc == IBC_OK; k++) {
            for (long j = 0; j < K; j++)
                mpfr_set_ui(x + j, j == k, MPFR_RNDN);
            coords(c, x, K);
            rc = ibc_ideal_radius_F(rk, c, K, K1, y, PREC);
            if (rc != IBC_OK)
                break;
            if (k == k0)
                arb_set(r, rk);
            ok &= arb_overlaps(r, rk) && arb_overlaps(rk, bound);
            /* The certificate sees x only through (a, b) = (1, 0), the same
             * for every center of the class: certify once, attack each k. */
            rc = bracket_point(&br, k == k0, x, K, K, K1, y, r, k == k0 ? 1000 + K * 7 + K1 : 0);
        }
        if (rc == IBC_OK) {
            ok &= ibc_ideal_bracket_holds(&br, r, TOL) && ibc_ideal_bracket_holds(&br, bound, TOL);
            ibc_ideal_bracket_margin(mk, &br, r);
            mpfr_min(m, m, mk, MPFR_RNDD);
            ibc_ideal_bracket_rand_ratio(q, &br, r);
            mpfr_min(lo, lo, br.lo, MPFR_RNDD);
            mpfr_max(hi, hi, br.hi, MPFR_RNDU);
            pieces += br.cert.pieces;
        }
        ibc_ideal_bracket_clear(&br);
    }
    if (rc == IBC_OK) {
        char meas[96], bnd[96], mg[64], qs[64];
        fmt_bracket(meas, sizeof meas, lo, hi);
        ibc_prec_fmt_mpfr(qs, q, 4);
        ibc_ideal_bound_str(bnd, sizeof bnd, "1/sqrt(K) =", bound, TOL);
        ibc_prec_fmt_mpfr(mg, m, 3);
        ibc_claim_rows_add(out, CLAIM, "r_F(mu_k), alpha=0: [cert lo, attack hi]", "arb:128,mpfr:256",
                           meas, bnd, mg, ok ? IBC_HOLDS : IBC_REFUTED, SOURCE,
                           "K=%ld K1=%ld D=%ld k=all %ld; cert pieces=%ld; random attack >= %s r",
                     K, K1, K, K, pieces, qs);
    } else {
        snprintf(err, IBC_ERRLEN, "ideal-radius-F: K=%ld K1=%ld: numerical failure (status %d)",
                 K, K1, rc);
    }
    arb_clear(r);
    arb_clear(rk);
    arb_clear(bound);
    _arb_vec_clear(c, K);
    ibc_prec_vec_clear(&xv);
    mpfr_clear(lo);
    mpfr_clear(hi);
    mpfr_clear(m);
    mpfr_clear(mk);
    mpfr_clear(q);
    return rc;
}

/* alpha > 0: NSAMP seeded samples x = mu_z + xi, xi ~ N(0, alpha^2/D I_D),
 * generated here at BITS bits (docs/theory.md §1). */
static int noisy_row(ibc_rows *out, long D, long K, long K1, double alpha,
                     unsigned long seed, char *err)
{
    int rc = IBC_OK, ok = 1;
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, seed);
    arb_t r;
    arb_init(r);
    arb_ptr c = _arb_vec_init(K);
    ibc_vec xv;
    ibc_prec_vec_init(&xv, D, ibc_prec_mpfr(BITS));
    mpfr_ptr x = xv.m;
    mpfr_t sd, g;
    mpfr_init2(sd, BITS);
    mpfr_init2(g, BITS);
    ibc_ideal_tally tl;
    ibc_ideal_tally_init(&tl, BITS);
    mpfr_set_d(g, alpha, MPFR_RNDN);
    mpfr_sqrt_ui(sd, (unsigned long)D, MPFR_RNDN);
    mpfr_div(sd, g, sd, MPFR_RNDN);     /* noise std alpha/sqrt(D) per coordinate */
    int nmis = 0;
    for (int s = 0; s < NSAMP && rc == IBC_OK; s++) {
        long z = (long)gmp_urandomm_ui(st, (unsigned long)K);
        int y = z < K1 ? 1 : -1;
        for (long j = 0; j < D; j++) {
            mpfr_nrandom(g, st, MPFR_RNDN);
            mpfr_mul(x + j, g, sd, MPFR_RNDN);
            if (j == z)
                mpfr_add_ui(x + j, x + j, 1, MPFR_RNDN);
        }
        coords(c, x, K);
        rc = ibc_ideal_radius_F(r, c, K, K1, y, PREC);
        if (rc == IBC_ENUMERIC) {   /* on a case boundary: the closed form cannot decide */
            ok = 0;
            rc = IBC_OK;
            continue;
        }
        if (rc != IBC_OK)
            break;
        nmis += arb_is_zero(r);
        ibc_ideal_bracket br;
        ibc_ideal_bracket_init(&br, BITS);
        rc = bracket_point(&br, 1, x, D, K, K1, y, r, seed * 131 + (unsigned long)s + 1);
        if (rc == IBC_OK) {
            ok &= ibc_ideal_bracket_holds(&br, r, TOL);
            ibc_ideal_tally_add(&tl, &br, r);   /* the row shows the smallest radius */
        }
        ibc_ideal_bracket_clear(&br);
    }
    if (rc == IBC_OK) {
        char meas[96], bnd[96], mg[64], qs[64];
        ibc_prec_fmt_mpfr(qs, tl.rand_ratio, 4);
        if (!tl.any) {
            snprintf(meas, sizeof meas, "no decidable sample");
            ok = 0;
        } else {
            fmt_bracket(meas, sizeof meas, tl.lo, tl.hi);
        }
        ibc_ideal_bound_str(bnd, sizeof bnd, "closed form", tl.rmin, TOL);
        ibc_prec_fmt_mpfr(mg, tl.margin, 3);
        ibc_claim_rows_add(out, CLAIM, "r_F(x), noisy x, smallest r: [cert lo, attack hi]", "arb:128,mpfr:256",
                           meas, bnd, mg, ok ? IBC_HOLDS : IBC_REFUTED, SOURCE,
                           "K=%ld K1=%ld D=%ld alpha=%g samples=%d seed=%lu misclassified=%d; "
                     "random attack >= %s r", K, K1, D, alpha, NSAMP, seed, nmis, qs);
    } else {
        snprintf(err, IBC_ERRLEN, "ideal-radius-F: noisy K=%ld K1=%ld: numerical failure (status %d)",
                 K, K1, rc);
    }
    gmp_randclear(st);
    arb_clear(r);
    _arb_vec_clear(c, K);
    ibc_prec_vec_clear(&xv);
    mpfr_clear(sd);
    mpfr_clear(g);
    ibc_ideal_tally_clear(&tl);
    return rc;
}

/* Constructed points where each branch of the closed form is active: x =
 * mu_k + beta mu_l for the first center k of class y and the first l of
 * the other class, and one mixture over three centers. */
static int branches_row(ibc_rows *out, long K, long K1, char *err)
{
    static const double BETA[] = { -1.0, -0.5, 0.0, 0.3 };
    int rc = IBC_OK, ok = 1;
    long hits[2] = { 0, 0 }, npts = 0;
    arb_t r;
    arb_init(r);
    arb_ptr c = _arb_vec_init(K);
    ibc_vec xv;
    ibc_prec_vec_init(&xv, K, ibc_prec_mpfr(BITS));
    mpfr_ptr x = xv.m;
    mpfr_t m, mk;
    mpfr_init2(m, 64);
    mpfr_init2(mk, 64);
    mpfr_set_inf(m, 1);
    for (int cls = 0; cls < 2 && rc == IBC_OK; cls++) {
        int y = cls == 0 ? 1 : -1;
        long k = y > 0 ? 0 : K1, l = y > 0 ? K1 : 0, Ky = y > 0 ? K1 : K - K1;
        long k2 = y > 0 ? (K1 > 1 ? 1 : -1) : (K - K1 > 1 ? K1 + 1 : -1);
        for (int j = 0; j <= (int)(sizeof BETA / sizeof BETA[0]) && rc == IBC_OK; j++) {
            double xd[64] = { 0 };   /* K <= 16 here */
            if (j < (int)(sizeof BETA / sizeof BETA[0])) {
                xd[k] = 1;
                xd[l] = BETA[j];
            } else {   /* mixture: two own centers, one opposite below zero */
                xd[k] = 0.8;
                if (k2 >= 0)
                    xd[k2] = 0.3;
                xd[l] = -0.7;
            }
            double a = 0, b = 0;
            for (long q = 0; q < K; q++) {
                mpfr_set_d(x + q, xd[q], MPFR_RNDN);
                if ((q < K1) == (y > 0))
                    a += xd[q];
                else
                    b += xd[q];
            }
            coords(c, x, K);
            rc = ibc_ideal_radius_F(r, c, K, K1, y, PREC);
            if (rc != IBC_OK)
                break;
            hits[a / sqrt((double)Ky) < (a - b) / sqrt((double)K) ? 0 : 1]++;
            npts++;
            ibc_ideal_bracket br;
            ibc_ideal_bracket_init(&br, BITS);
            rc = bracket_point(&br, 1, x, K, K, K1, y, r, 0);
            if (rc == IBC_OK) {
                ok &= ibc_ideal_bracket_holds(&br, r, TOL);
                ibc_ideal_bracket_margin(mk, &br, r);
                mpfr_min(m, m, mk, MPFR_RNDD);
            }
            ibc_ideal_bracket_clear(&br);
        }
    }
    if (rc == IBC_OK) {
        char meas[96], mg[64];
        ok &= hits[0] > 0 && hits[1] > 0;
        snprintf(meas, sizeof meas, "%ld points: %ld on a/sqrt(Ky), %ld on (a-b)/sqrt(K)", npts, hits[0], hits[1]);
        ibc_prec_fmt_mpfr(mg, m, 3);
        ibc_claim_rows_add(out, CLAIM, "r_F(x), constructed x, both branches: closed form in bracket", "arb:128,mpfr:256",
                           meas, "every bracket; each branch active >= 1", mg, ok ? IBC_HOLDS : IBC_REFUTED, SOURCE,
                     "K=%ld K1=%ld D=%ld; x = mu_k + beta mu_l, beta in {-1, -0.5, 0, 0.3}, and a mixture; "
                     "bracket [cert r(1-2^-20), attack r(1+2^-20)]", K, K1, K);
    } else {
        snprintf(err, IBC_ERRLEN, "ideal-radius-F: constructed K=%ld K1=%ld: numerical failure (status %d)",
                 K, K1, rc);
        if (rc == IBC_EINPUT)
            rc = IBC_ENUMERIC;
    }
    arb_clear(r);
    _arb_vec_clear(c, K);
    ibc_prec_vec_clear(&xv);
    mpfr_clear(m);
    mpfr_clear(mk);
    return rc;
}

int ibc_claim_ideal_radius_F(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc = IBC_OK;
    for (size_t i = 0; i < sizeof KS / sizeof KS[0] && rc == IBC_OK; i++) {
        long s[3];
        int n = ibc_ideal_splits(KS[i], s);
        for (int j = 0; j < n && rc == IBC_OK; j++)
            rc = centers_row(out, KS[i], s[j], err);
    }
    /* Noisy points: the configured model first, then fixed cases at alpha = 0.1. */
    const ibc_model_params *mp = &cfg->model;
    if (rc == IBC_OK && mp->K1 >= 1 && mp->K1 < mp->K && mp->K <= mp->D && mp->K <= 256
        && mp->D <= 4096 && mp->alpha >= 0 && isfinite(mp->alpha))
        rc = noisy_row(out, mp->D, mp->K, mp->K1, mp->alpha, mp->seed + 1, err);
    static const long BR[][2] = { { 10, 6 }, { 4, 1 }, { 16, 8 } };
    for (size_t i = 0; i < sizeof BR / sizeof BR[0] && rc == IBC_OK; i++)
        rc = branches_row(out, BR[i][0], BR[i][1], err);
    static const long NZ[][3] = { { 2, 1, 30 }, { 4, 2, 30 }, { 16, 1, 30 }, { 64, 32, 64 } };
    for (size_t i = 0; i < sizeof NZ / sizeof NZ[0] && rc == IBC_OK; i++)
        rc = noisy_row(out, NZ[i][2], NZ[i][0], NZ[i][1], 0.1, 17 + i, err);
    return rc;
}
