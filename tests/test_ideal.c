/* Unit test of the ideal module: the positivity prover on known functions,
 * the closed-form radii against certificates and attacks on random points,
 * the KKT enumeration against the closed form, and the rejection of wrong
 * radii (each bracket check must be able to fail).  IBC_TEST_REPEAT
 * multiplies the number of random points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gmp.h>
#include "ibcheck/ideal.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

#define PREC 128
#define BITS 256
#define REL 0x1p-20
#define TOL 4e-6

/* g(x) = x^2 - 2x + c */
static int quad(arb_t res, const arb_t x, void *ctx, slong prec)
{
    arb_t t;
    arb_init(t);
    arb_sub_ui(t, x, 2, prec);
    arb_mul(t, t, x, prec);
    arb_set_d(res, *(const double *)ctx);
    arb_add(res, res, t, prec);
    arb_clear(t);
    return IBC_OK;
}

static void test_positivity(void)
{
    ibc_ideal_pos_info in;
    arf_t lo, hi;
    arf_init(lo);
    arf_init(hi);
    arf_zero(lo);
    arf_set_ui(hi, 2);
    double c = 1.001;
    int rc = ibc_ideal_certify_positive(&in, quad, &c, lo, hi, 60, 100000, PREC);
    printf("      x^2-2x+1.001 on [0,2]: %s, %ld pieces, %ld evals\n",
           ibc_ideal_pos_outcome_name(in.outcome), in.pieces, in.evals);
    check(rc == IBC_OK && in.outcome == IBC_POS_PROVED, "prove x^2 - 2x + 1.001 > 0 on [0, 2]");
    c = 0.999;
    rc = ibc_ideal_certify_positive(&in, quad, &c, lo, hi, 60, 100000, PREC);
    check(rc == IBC_OK && in.outcome == IBC_POS_DISPROVED && fabs(in.witness - 1.0) < 0.05,
          "x^2 - 2x + 0.999 > 0 on [0, 2] is not proved (witness near 1)");
    /* A margin of 1e-6 needs pieces about 1e-6 wide near x = 1: 5 levels
     * cannot prove it, 60 can (about 3000 pieces). */
    c = 1.0 + 1e-6;
    rc = ibc_ideal_certify_positive(&in, quad, &c, lo, hi, 5, 100000, PREC);
    check(rc == IBC_OK && in.outcome == IBC_POS_UNDECIDED, "depth budget exhausted is 'undecided'");
    rc = ibc_ideal_certify_positive(&in, quad, &c, lo, hi, 60, 1000000, PREC);
    check(rc == IBC_OK && in.outcome == IBC_POS_PROVED, "x^2 - 2x + 1 + 1e-6 > 0 proved at depth 60");
    rc = ibc_ideal_certify_positive(&in, quad, &c, hi, lo, 60, 1000, PREC);
    check(rc == IBC_EINPUT, "lo > hi is bad input");
    arf_clear(lo);
    arf_clear(hi);
}

static void test_definitions(void)
{
    ibc_vec x;
    ibc_prec_vec_init(&x, 6, ibc_prec_mpfr(BITS));
    mpfr_t v, p, lo, hi;
    mpfr_inits2(BITS, v, p, lo, hi, (mpfr_ptr)0);
    mpfr_set_ui(x.m + 1, 1, MPFR_RNDN);
    int ok = 1;
    ibc_ideal_yF_mpfr(v, x.m, 6, 5, 2, 1, MPFR_RNDN);
    ok &= mpfr_cmp_ui(v, 1) == 0;
    ibc_ideal_yF_mpfr(v, x.m, 6, 5, 2, -1, MPFR_RNDN);
    ok &= mpfr_cmp_si(v, -1) == 0;
    mpfr_set_d(p, 3.0, MPFR_RNDN);
    ibc_ideal_yFp_mpfr(v, x.m, 6, 5, 2, 1, p, MPFR_RNDN);
    ok &= mpfr_cmp_ui(v, 1) == 0;
    check(ok, "y F(mu_k) = y F^(3)(mu_k) = 1 at the centers, sign flips with y");
    /* Directed rounding brackets the nearest value on random points. */
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, 5);
    ok = 1;
    mpfr_set_d(p, 1.5, MPFR_RNDN);
    for (int t = 0; t < 50; t++) {
        for (int i = 0; i < 6; i++)
            mpfr_nrandom(x.m + i, st, MPFR_RNDN);
        for (int kind = 0; kind < 2; kind++) {
            mpfr_set_prec(lo, 40);
            mpfr_set_prec(hi, 40);
            if (kind == 0) {
                ibc_ideal_yF_mpfr(lo, x.m, 6, 5, 2, 1, MPFR_RNDD);
                ibc_ideal_yF_mpfr(hi, x.m, 6, 5, 2, 1, MPFR_RNDU);
                ibc_ideal_yF_mpfr(v, x.m, 6, 5, 2, 1, MPFR_RNDN);
            } else {
                ibc_ideal_yFp_mpfr(lo, x.m, 6, 5, 2, -1, p, MPFR_RNDD);
                ibc_ideal_yFp_mpfr(hi, x.m, 6, 5, 2, -1, p, MPFR_RNDU);
                ibc_ideal_yFp_mpfr(v, x.m, 6, 5, 2, -1, p, MPFR_RNDN);
            }
            ok &= mpfr_cmp(lo, v) <= 0 && mpfr_cmp(v, hi) <= 0;
        }
    }
    check(ok, "directed rounding: RNDD <= exact (256 bits) <= RNDU at 40 bits, 50 points");
    gmp_randclear(st);
    mpfr_clears(v, p, lo, hi, (mpfr_ptr)0);
    ibc_prec_vec_clear(&x);
}

/* Bracket for F at x (length D) around the claimed radius r: certificate +
 * explicit attack + random sanity attack.  Returns 1 if it holds. */
static int bracket_F(mpfr_srcptr x, long D, long K, long K1, int y, const arb_t r,
                     unsigned long seed, double *rand_out, double *lo_out)
{
    arb_ptr c = _arb_vec_init(K);
    arb_t a, b;
    arb_init(a);
    arb_init(b);
    for (long k = 0; k < K; k++)
        arb_set_interval_mpfr(c + k, x + k, x + k, PREC);
    ibc_ideal_class_sums(a, b, c, K, K1, y, PREC);
    ibc_ideal_bracket br;
    ibc_ideal_bracket_init(&br, BITS);
    ibc_ideal_clf f, f64;
    ibc_ideal_clf_init(&f, IBC_IDEAL_F, D, K, K1, 1.0, BITS);
    ibc_ideal_clf_init(&f64, IBC_IDEAL_F, D, K, K1, 1.0, 64);
    ibc_vec d;
    ibc_prec_vec_init(&d, D, ibc_prec_mpfr(BITS));
    mpfr_t best;
    mpfr_init2(best, 64);
    long Ky = y > 0 ? K1 : K - K1;
    int rc = ibc_ideal_bracket_certify_F(&br, a, b, Ky, K - Ky, r, REL, PREC);
    if (rc == IBC_OK)
        rc = ibc_ideal_attack_F_dir(d.m, &f, x, y);
    if (rc == IBC_OK)
        rc = ibc_ideal_bracket_attack(&br, &f, x, y, d.m, r, REL);
    if (rc == IBC_OK && seed) {
        rc = ibc_ideal_attack_random(best, &f64, x, y, 2.0, 20, 60, seed);
        ibc_ideal_bracket_note_random(&br, best);
    }
    int ok = rc == IBC_OK && ibc_ideal_bracket_holds(&br, r, TOL);
    if (rand_out)
        *rand_out = mpfr_get_d(br.rand_best, MPFR_RNDN);
    if (lo_out)
        *lo_out = mpfr_get_d(br.lo, MPFR_RNDN);
    mpfr_clear(best);
    ibc_prec_vec_clear(&d);
    ibc_ideal_clf_clear(&f);
    ibc_ideal_clf_clear(&f64);
    ibc_ideal_bracket_clear(&br);
    arb_clear(a);
    arb_clear(b);
    _arb_vec_clear(c, K);
    return ok;
}

static void test_F_random_points(void)
{
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, 2024);
    long n = 36 * test_repeat(), held = 0, mis = 0, rand_ok = 0;
    for (long t = 0; t < n; t++) {
        long K = 2 + (long)gmp_urandomm_ui(st, 15), D = K + (long)gmp_urandomm_ui(st, 5);
        long K1 = 1 + (long)gmp_urandomm_ui(st, (unsigned long)(K - 1));
        long z = (long)gmp_urandomm_ui(st, (unsigned long)K);
        int y = z < K1 ? 1 : -1;
        /* Noise from 0 to 3.2, so that both half-spaces bind and some points
         * are misclassified (radius 0). */
        static const double alphas[] = { 0.0, 0.2, 0.4, 0.8, 1.6, 3.2 };
        double alpha = alphas[t % 6];
        ibc_vec x;
        ibc_prec_vec_init(&x, D, ibc_prec_mpfr(BITS));
        for (long j = 0; j < D; j++) {
            mpfr_nrandom(x.m + j, st, MPFR_RNDN);
            mpfr_mul_d(x.m + j, x.m + j, alpha / sqrt((double)D), MPFR_RNDN);
        }
        mpfr_add_ui(x.m + z, x.m + z, 1, MPFR_RNDN);
        arb_ptr c = _arb_vec_init(K);
        for (long k = 0; k < K; k++)
            arb_set_interval_mpfr(c + k, x.m + k, x.m + k, PREC);
        arb_t r;
        arb_init(r);
        int rc = ibc_ideal_radius_F(r, c, K, K1, y, PREC);
        double rnd = 0, lo = 0;
        if (rc == IBC_OK) {
            mis += arb_is_zero(r);
            int ok = bracket_F(x.m, D, K, K1, y, r, 77 + (unsigned long)t, &rnd, &lo);
            held += ok;
            rand_ok += rnd >= lo;
            if (!ok)
                printf("      point %ld: K=%ld K1=%ld D=%ld alpha=%g r=%.9f not bracketed\n",
                       t, K, K1, D, alpha, arf_get_d(arb_midref(r), ARF_RND_NEAR));
        }
        arb_clear(r);
        _arb_vec_clear(c, K);
        ibc_prec_vec_clear(&x);
    }
    printf("      %ld random points (%ld misclassified): %ld bracketed\n", n, mis, held);
    check(held == n, "closed form r_F(x) within [certified lower, attack upper], width <= 4e-6 r");
    check(rand_ok == n, "random attack never flips F below the certified radius");
    gmp_randclear(st);
}

static void test_Fp_kkt(void)
{
    static const double ps[] = { 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 7.0 };
    int ok = 1;
    arb_t r, rk, s;
    arb_init(r);
    arb_init(rk);
    arb_init(s);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        for (long Ko = 1; Ko <= 40; Ko++) {
            long m;
            ibc_ideal_radius_Fp_center(r, ps[i], Ko, PREC);
            ibc_ideal_radius_Fp_center_kkt(rk, &m, s, ps[i], Ko, PREC);
            ok &= arb_overlaps(r, rk) && arb_rel_accuracy_bits(r) > 100;
            /* The minimiser's shape: one center for p >= 2, all of them for p < 2. */
            ok &= ps[i] >= 2.0 ? m == 1 : m == Ko;
        }
    }
    check(ok, "closed form sqrt(c/(1+c)) = KKT enumeration, 8 real p, K_opp = 1..40; m* = 1 (p>=2) or K_opp");
    arb_clear(r);
    arb_clear(rk);
    arb_clear(s);
}

/* Bracket for F^(p) at mu_k (D = K) around r; the attack uses the KKT shape. */
static int bracket_Fp(double p, long K, long K1, long k, const arb_t r)
{
    int y = k < K1 ? 1 : -1;
    long Ko = y > 0 ? K - K1 : K1, m;
    arb_t rk, s;
    arb_init(rk);
    arb_init(s);
    ibc_ideal_radius_Fp_center_kkt(rk, &m, s, p, Ko, PREC);
    ibc_ideal_bracket br;
    ibc_ideal_bracket_init(&br, BITS);
    ibc_ideal_clf f;
    ibc_ideal_clf_init(&f, IBC_IDEAL_FP, K, K, K1, p, BITS);
    ibc_vec x, d;
    ibc_prec_vec_init(&x, K, ibc_prec_mpfr(BITS));
    ibc_prec_vec_init(&d, K, ibc_prec_mpfr(BITS));
    mpfr_set_ui(x.m + k, 1, MPFR_RNDN);
    mpfr_t sm;
    mpfr_init2(sm, BITS);
    arf_get_mpfr(sm, arb_midref(s), MPFR_RNDN);
    int rc = ibc_ideal_bracket_certify_Fp_center(&br, p, Ko, r, REL, PREC);
    if (rc == IBC_OK)
        rc = ibc_ideal_dir_Fp_center(d.m, &f, k, m, 0, sm);
    if (rc == IBC_OK)
        rc = ibc_ideal_bracket_attack(&br, &f, x.m, y, d.m, r, REL);
    int ok = rc == IBC_OK && ibc_ideal_bracket_holds(&br, r, TOL);
    mpfr_clear(sm);
    ibc_prec_vec_clear(&x);
    ibc_prec_vec_clear(&d);
    ibc_ideal_clf_clear(&f);
    ibc_ideal_bracket_clear(&br);
    arb_clear(rk);
    arb_clear(s);
    return ok;
}

static void test_Fp_brackets(void)
{
    static const double ps[] = { 1.0, 1.5, 2.0, 3.0, 4.0, 2.5 };
    int ok = 1, n = 0;
    arb_t r;
    arb_init(r);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        for (long K = 2; K <= 12; K += 5) {
            for (long K1 = 1; K1 < K; K1 += 3) {
                long k = (K1 * 7) % K;
                int y = k < K1 ? 1 : -1;
                ibc_ideal_radius_Fp_center(r, ps[i], y > 0 ? K - K1 : K1, PREC);
                ok &= bracket_Fp(ps[i], K, K1, k, r);
                n++;
            }
        }
    }
    printf("      %d (p, K, K1, k) cases\n", n);
    check(ok, "closed form r_Fp(mu_k) within [certified lower, attack upper]");
    arb_clear(r);
}

/* Each check must be able to fail: feed radii that are wrong by a little
 * or by the formula, and require the bracket to reject them. */
static void test_wrong_radius(void)
{
    long K = 10, K1 = 4;
    ibc_vec x;
    ibc_prec_vec_init(&x, K, ibc_prec_mpfr(BITS));
    mpfr_set_ui(x.m + 0, 1, MPFR_RNDN);
    arb_t r;
    arb_init(r);
    arb_set_ui(r, (ulong)K);
    arb_inv(r, r, PREC);                    /* 1/K instead of 1/sqrt(K) */
    check(!bracket_F(x.m, K, K, K1, 1, r, 0, NULL, NULL), "F: r = 1/K rejected (the attack does not flip)");
    arb_sqrt_ui(r, (ulong)K, PREC);
    arb_inv(r, r, PREC);
    check(bracket_F(x.m, K, K, K1, 1, r, 0, NULL, NULL), "F: r = 1/sqrt(K) accepted");
    arb_set_d(r, 1.0 / sqrt((double)K) * (1.0 + 1e-5));
    check(!bracket_F(x.m, K, K, K1, 1, r, 0, NULL, NULL), "F: r = (1 + 1e-5)/sqrt(K) rejected (certificate fails)");
    arb_set_d(r, 1.0 / sqrt((double)K) * (1.0 - 1e-5));
    check(!bracket_F(x.m, K, K, K1, 1, r, 0, NULL, NULL), "F: r = (1 - 1e-5)/sqrt(K) rejected (attack does not flip)");
    arb_set_d(r, 1.0 / sqrt((double)K1));   /* a/sqrt(Ky): the wrong half-space alone */
    check(!bracket_F(x.m, K, K, K1, 1, r, 0, NULL, NULL), "F: r = 1/sqrt(K1) rejected");

    /* F^(p): the p = 1 value for p = 3, and sqrt(2)/2 for p = 1. */
    long Ko = K - K1;
    arb_sqrt_ui(r, (ulong)(Ko + 1), PREC);
    arb_inv(r, r, PREC);
    check(!bracket_Fp(3.0, K, K1, 0, r), "F^(3): r = 1/sqrt(K_opp+1) rejected");
    arb_sqrt_ui(r, 2, PREC);
    arb_mul_2exp_si(r, r, -1);
    check(bracket_Fp(3.0, K, K1, 0, r), "F^(3): r = sqrt(2)/2 accepted");
    check(!bracket_Fp(1.0, K, K1, 0, r), "F^(1): r = sqrt(2)/2 rejected");
    ibc_ideal_radius_Fp_center(r, 1.5, Ko, PREC);
    arb_t w;
    arb_init(w);
    arb_set_d(w, 1.0 + 1e-5);
    arb_mul(w, w, r, PREC);
    check(!bracket_Fp(1.5, K, K1, 0, w), "F^(1.5): r (1 + 1e-5) rejected");
    arb_set_d(w, 1.0 - 1e-5);
    arb_mul(w, w, r, PREC);
    check(!bracket_Fp(1.5, K, K1, 0, w), "F^(1.5): r (1 - 1e-5) rejected");
    arb_clear(w);
    arb_clear(r);
    ibc_prec_vec_clear(&x);
}

int main(void)
{
    test_positivity();
    test_definitions();
    test_F_random_points();
    test_Fp_kkt();
    test_Fp_brackets();
    test_wrong_radius();
    long s[3];
    int n = ibc_ideal_splits(10, s);
    check(n == 3 && s[0] == 1 && s[1] == 5 && s[2] == 9 && ibc_ideal_splits(2, s) == 1,
          "splits {1, K/2, K-1} without repeats");
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    flint_cleanup();
    return failures ? 1 : 0;
}
