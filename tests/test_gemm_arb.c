/* The ball product of arb mode (ibc_prec_gemm_arb, src/prec/gemm.c) is
 * rigorous: for every entry, the whole range of sum_k a_ik b_kj over the
 * input balls lies in the output ball.  That range is exactly
 * [sum_k min(a b), sum_k max(a b)], each term's extremes taken at a corner
 * of its two balls (terms of different k vary independently); both ends are
 * computed here exactly (arb at 8 x BITS + 64 on exact corners, checked
 * exact) and must be contained.  Independent of the code under test: no
 * double, no mid-rad formula.
 *
 * Inputs: random balls (radii about 2^-(BITS-10) of their midpoints),
 * wide balls (radii 2^-8 of their midpoints: the radius sum's own rounding
 * then matters far more than the midpoint's ulp), exact operands on one side
 * (the data), cancelling midpoints, exponents from 2^-600 to 2^600 (beyond
 * double's range once multiplied), and an exponent of 2^29, beyond the
 * mid-rad route's range (then the product must equal arb_mat_mul's; its
 * exact range is not computed); precisions 53, 128,
 * 256, 1280; several shapes and transposes.  Also: the radius is at most
 * 1.5x arb_mat_mul's plus an ulp (not loose), and the same bits for 1 and 2
 * threads. */
#include <stdio.h>
#include <stdlib.h>
#include <gmp.h>
#include <mpfr.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

static gmp_randstate_t rs;

static long rand_below(long n) { return (long)gmp_urandomm_ui(rs, (unsigned long)n); }

enum { G_RANDOM, G_WIDE, G_EXACT_B, G_CANCEL, G_EXPS, G_HUGE, NG };
static const char *g_name[NG] = {"random", "wide radii", "B exact", "cancel", "exponents in +-600", "an exponent of 2^29"};

/* A full random midpoint at bits, times 2^e, random sign; radius 2^-rb |mid|
 * (rb < 0: radius 0). */
static void rand_ball(arb_t x, long bits, long e, long rb)
{
    mpfr_t m;
    mpfr_init2(m, bits);
    do mpfr_urandomb(m, rs);
    while (mpfr_zero_p(m));
    mpfr_set_exp(m, 0);
    if (rand_below(2)) mpfr_neg(m, m, MPFR_RNDN);
    mpfr_mul_2si(m, m, e, MPFR_RNDN);
    arf_set_mpfr(arb_midref(x), m);
    if (rb < 0) {
        mag_zero(arb_radref(x));
    } else {
        mag_set_ui_2exp_si(arb_radref(x), 1 + (ulong)rand_below(1000), e - rb - 10);
    }
    mpfr_clear(m);
}

static void fill(int g, long bits, long n, arb_ptr S, int is_b)
{
    for (long u = 0; u < n; u++) {
        long e = rand_below(9) - 4, rb = bits - 10;
        if (g == G_WIDE) rb = 8;
        if (g == G_EXACT_B && is_b) rb = -1;
        if (g == G_EXPS) e = rand_below(1201) - 600;
        if (g == G_HUGE && u == n / 2) e = 1L << 29;   /* out of the mid-rad route's range */
        rand_ball(S + u, bits, e, rb);
        if (g == G_CANCEL && u % 2 == 1 && !is_b) arb_neg(S + u, S + u - 1);   /* a_k+1 = -a_k: pairs cancel */
        if (g == G_CANCEL && u % 2 == 1 && is_b) arb_set(S + u, S + u - 1);
    }
}

/* The ends of the range of one term a b over its balls: the 4 corners, exact. */
static void term_range(arb_t lo, arb_t hi, const arb_t a, const arb_t b, slong prec)
{
    arb_t ca, cb, p;
    arb_init(ca);
    arb_init(cb);
    arb_init(p);
    for (int c = 0; c < 4; c++) {
        arf_set_mag(arb_midref(ca), arb_radref(a));
        if (c & 1) arf_neg(arb_midref(ca), arb_midref(ca));
        arf_add(arb_midref(ca), arb_midref(ca), arb_midref(a), ARF_PREC_EXACT, ARF_RND_DOWN);
        arf_set_mag(arb_midref(cb), arb_radref(b));
        if (c & 2) arf_neg(arb_midref(cb), arb_midref(cb));
        arf_add(arb_midref(cb), arb_midref(cb), arb_midref(b), ARF_PREC_EXACT, ARF_RND_DOWN);
        mag_zero(arb_radref(ca));
        mag_zero(arb_radref(cb));
        arb_mul(p, ca, cb, prec);
        if (c == 0 || arf_cmp(arb_midref(p), arb_midref(lo)) < 0) arb_set(lo, p);
        if (c == 0 || arf_cmp(arb_midref(p), arb_midref(hi)) > 0) arb_set(hi, p);
    }
    arb_clear(ca);
    arb_clear(cb);
    arb_clear(p);
}

typedef struct {
    long M, N, K;
} shape;

/* C = op(A) op(B) by the code under test; each entry must contain both ends
 * of its exact range.  Returns the entries that do not; *ratio: the largest
 * radius over arb_mat_mul's (plus an ulp); *same: whether C equals
 * arb_mat_mul's product bit for bit (the G_HUGE fallback). */
static long one_case(int g, long bits, shape sh, int ta, int tb, double *ratio, int *same, int *exact_ref)
{
    const long M = sh.M, N = sh.N, K = sh.K;
    arb_ptr A = _arb_vec_init(M * K), B = _arb_vec_init(K * N), C = _arb_vec_init(M * N);
    fill(g, bits, M * K, A, 0);
    fill(g, bits, K * N, B, 1);
    ibc_prec_gemm_arb(ta, tb, M, N, K, A, B, C, bits);
    arb_mat_t a, b, c;
    arb_mat_init(a, M, K);
    arb_mat_init(b, K, N);
    arb_mat_init(c, M, N);
    for (long i = 0; i < M; i++)
        for (long k = 0; k < K; k++) arb_set(arb_mat_entry(a, i, k), ta ? A + k * M + i : A + i * K + k);
    for (long k = 0; k < K; k++)
        for (long j = 0; j < N; j++) arb_set(arb_mat_entry(b, k, j), tb ? B + j * K + k : B + k * N + j);
    arb_mat_mul(c, a, b, bits);
    /* exact: the corners' products and their sums (not for G_HUGE) */
    const slong prec = g == G_HUGE ? 2 * bits : 8 * bits + 64 + 2 * 1300;
    arb_t lo, hi, tlo, thi;
    arb_init(lo);
    arb_init(hi);
    arb_init(tlo);
    arb_init(thi);
    long bad = 0;
    *ratio = 0;
    *same = 1;
    *exact_ref = 1;
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            arb_zero(lo);
            arb_zero(hi);
            for (long k = 0; k < K; k++) {
                term_range(tlo, thi, arb_mat_entry(a, i, k), arb_mat_entry(b, k, j), prec);
                arb_add(lo, lo, tlo, prec);
                arb_add(hi, hi, thi, prec);
            }
            if (!arb_is_exact(lo) || !arb_is_exact(hi)) *exact_ref = 0;
            arb_srcptr cij = C + i * N + j, rij = arb_mat_entry(c, i, j);
            if (!arb_contains(cij, lo) || !arb_contains(cij, hi)) bad++;
            if (!arb_equal(cij, rij)) *same = 0;
            /* radius / (arb_mat_mul's radius + an ulp of the midpoint) */
            arf_t r, q, ulp;
            arf_init(r);
            arf_init(q);
            arf_init(ulp);
            arf_set_mag(r, arb_radref(cij));
            arf_set_mag(q, arb_radref(rij));
            if (!arf_is_zero(arb_midref(cij))) {
                arf_mul_2exp_si(ulp, arb_midref(cij), -bits);
                arf_abs(ulp, ulp);
            }
            arf_add(q, q, ulp, 64, ARF_RND_UP);
            if (!arf_is_zero(q)) {
                arf_div(r, r, q, 64, ARF_RND_UP);
                double rr = arf_get_d(r, ARF_RND_UP);
                if (rr > *ratio) *ratio = rr;
            }
            arf_clear(r);
            arf_clear(q);
            arf_clear(ulp);
        }
    arb_clear(lo);
    arb_clear(hi);
    arb_clear(tlo);
    arb_clear(thi);
    arb_mat_clear(a);
    arb_mat_clear(b);
    arb_mat_clear(c);
    _arb_vec_clear(A, M * K);
    _arb_vec_clear(B, K * N);
    _arb_vec_clear(C, M * N);
    return bad;
}

/* The same product at 1 and 2 threads: the same balls. */
static void threads_case(void)
{
    const long M = 150, N = 70, K = 40, bits = 256;
    arb_ptr A = _arb_vec_init(M * K), B = _arb_vec_init(K * N), C1 = _arb_vec_init(M * N), C2 = _arb_vec_init(M * N);
    fill(G_RANDOM, bits, M * K, A, 0);
    fill(G_RANDOM, bits, K * N, B, 1);
    int t0 = ibc_prec_gemm_threads();
    ibc_prec_gemm_set_threads(1);
    ibc_prec_gemm_arb(0, 1, M, N, K, A, B, C1, bits);
    ibc_prec_gemm_set_threads(2);
    ibc_prec_gemm_arb(0, 1, M, N, K, A, B, C2, bits);
    ibc_prec_gemm_set_threads(t0);
    long diff = 0;
    for (long u = 0; u < M * N; u++) diff += !arb_equal(C1 + u, C2 + u);
    report("same balls at 1 and 2 threads", diff == 0, "%ld of %ld entries differ (150 x 70 x 40, 256 bits)", diff, M * N);
    _arb_vec_clear(A, M * K);
    _arb_vec_clear(B, K * N);
    _arb_vec_clear(C1, M * N);
    _arb_vec_clear(C2, M * N);
}

int main(void)
{
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 23);
    static const long precs[] = {53, 128, 256, 1280};
    static const shape shapes[] = {{1, 1, 1}, {3, 5, 7}, {9, 4, 30}, {4, 3, 200}};
    for (int g = 0; g < NG; g++) {
        long bad = 0, cases = 0, entries = 0, inexact = 0, notsame = 0;
        double worst = 0;
        for (int pi = 0; pi < 4; pi++)
            for (int si = 0; si < 4; si++) {
                int ta = (int)rand_below(2), tb = (int)rand_below(2), same, exact;
                double ratio;
                bad += one_case(g, precs[pi], shapes[si], ta, tb, &ratio, &same, &exact);
                if (ratio > worst) worst = ratio;
                inexact += !exact;
                notsame += !same;
                cases++;
                entries += shapes[si].M * shapes[si].N;
            }
        char name[96];
        if (g == G_HUGE) {
            report("an exponent of 2^29: arb_mat_mul's product", notsame == 0, "%ld of %ld cases differ", notsame,
                   cases);
        } else {
            snprintf(name, sizeof name, "%s: every exact range inside its ball", g_name[g]);
            report(name, bad == 0 && inexact == 0,
                   "%ld of %ld entries not contained (%ld cases; %ld inexact references)", bad, entries, cases,
                   inexact);
            snprintf(name, sizeof name, "%s: radius <= 1.5 (arb_mat_mul's + ulp)", g_name[g]);
            report(name, worst <= 1.5, "largest ratio %.4g", worst);
        }
    }
    threads_case();
    ibc_prec_gemm_exact_release();
    gmp_randclear(rs);
    mpfr_free_cache();
    flint_cleanup();
    return failures ? 1 : 0;
}
