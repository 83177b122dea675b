/* The MPFR product (src/prec/gemm_exact.c) is correctly rounded: every entry
 * equals the exact dot product rounded once to nearest.  The reference is
 * arb_mat_mul at 4 x BITS, rounded to BITS when both ends of its ball round
 * alike, else (cancellation beyond 4 x BITS) Arb's exact arf_sum of exact
 * products: an implementation independent of the one under test (MPFR's
 * mpfr_sum is its fallback).
 *
 * Inputs: random full mantissas, cancelling pairs (large terms summing to a
 * small one), wide exponent ranges, zeros and zero lines, short mantissas
 * with ties, one side short and the other full; precisions 53, 113, 128, 256, 1024 (and 8192 on the fmpz
 * route); several shapes and transposes; the three routes (dgemm slices by
 * anti-diagonal and by pair, fmpz).
 * Also: the same bits for 1 and 4 OpenBLAS threads, NaN/infinities, and
 * that each way of settling an entry (exact, within the bound, exact-sum
 * fallback) was taken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <gmp.h>
#include <mpfr.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

static gmp_randstate_t rs;

/* Uniform in [0, n) from the test's GMP state (the MPFR draws use the same state). */
static long rand_below(long n) { return (long)gmp_urandomm_ui(rs, (unsigned long)n); }

enum { GEN_RANDOM, GEN_CANCEL, GEN_WIDE, GEN_ZEROS, GEN_SHORT, GEN_SHORT_A, GEN_SHORT_B, NGEN };
static const char *gen_name[NGEN] = {"random", "cancel", "wide", "zeros", "short", "short A", "short B"};

/* x: a random full mantissa in [1/2, 1), random sign, times 2^e. */
static void rand_full(mpfr_ptr x, long e)
{
    do mpfr_urandomb(x, rs);
    while (mpfr_zero_p(x));
    mpfr_set_exp(x, 0);
    if (rand_below(2)) mpfr_neg(x, x, MPFR_RNDN);
    mpfr_mul_2si(x, x, e, MPFR_RNDN);
}

/* One entry of generator g (zero_line: the line that GEN_ZEROS leaves all zero). */
static void rand_entry(int g, mpfr_ptr x, int zero_line)
{
    switch (g) {
    case GEN_WIDE: rand_full(x, rand_below(1200) - 600); break;
    case GEN_ZEROS:
        if (rand_below(2) || zero_line) mpfr_set_zero(x, 1);
        else rand_full(x, rand_below(9) - 4);
        break;
    case GEN_SHORT: mpfr_set_si(x, rand_below(7) - 3, MPFR_RNDN); break;
    default: rand_full(x, rand_below(9) - 4);
    }
}

/* op(A) M x K (stored transposed when ta) and op(B) K x N, of generator g. */
static void fill(int g, int ta, int tb, long M, long N, long K, mpfr_ptr A, mpfr_ptr B, long bits)
{
#define AT(i, k) (ta ? A + (k) * M + (i) : A + (i) * K + (k))
#define BT(k, j) (tb ? B + (j) * K + (k) : B + (k) * N + (j))
    for (long i = 0; i < M; i++)
        for (long k = 0; k < K; k++) rand_entry(g, AT(i, k), i == M / 2);
    for (long k = 0; k < K; k++)
        for (long j = 0; j < N; j++) rand_entry(g, BT(k, j), j == N / 2);
    if (g == GEN_CANCEL && K >= 2) {
        /* pairs of equal columns of op(A) against b, -b + b 2^-c: each
         * pair sums to a b 2^-c, far below its terms (c up to 2 BITS) */
        for (long k = 0; k + 1 < K; k += 2) {
            for (long i = 0; i < M; i++) mpfr_set(AT(i, k + 1), AT(i, k), MPFR_RNDN);
            for (long j = 0; j < N; j++) {
                long c = 1 + rand_below(2 * bits);
                mpfr_ptr b0 = BT(k, j), b1 = BT(k + 1, j);
                mpfr_mul_2si(b1, b0, -c, MPFR_RNDN);
                mpfr_sub(b1, b1, b0, MPFR_RNDN);   /* rounded: the pair leaves a small, odd remainder */
            }
        }
        /* one row of op(A) with +big, x, -big against a column of y, z, y: exactly x z */
        if (K >= 3) {
            rand_full(AT(0, 0), 200);
            mpfr_neg(AT(0, 2), AT(0, 0), MPFR_RNDN);
            mpfr_set(BT(2, 0), BT(0, 0), MPFR_RNDN);
            for (long k = 3; k < K; k++) mpfr_set_zero(AT(0, k), 1);
        }
    }
    if (g == GEN_SHORT && K >= 2 && M >= 1 && N >= 1) {
        /* ties: 2^bits + 1 and 2^bits + 3 at bits bits round to even */
        for (long k = 0; k < K; k++) mpfr_set_zero(AT(0, k), 1);
        mpfr_set_ui_2exp(AT(0, 0), 1, bits, MPFR_RNDN);
        mpfr_set_ui(AT(0, 1), rand_below(2) ? 1 : 3, MPFR_RNDN);
        mpfr_set_ui(BT(0, 0), 1, MPFR_RNDN);
        mpfr_set_ui(BT(1, 0), 1, MPFR_RNDN);
    }
    if (g == GEN_SHORT_A || g == GEN_SHORT_B) {
        /* one side short (60-bit mantissas, exponents over 24 binades, as
         * the data are against the weights), the other full: the slices
         * route skips the pairs with a zero slice of the short side */
        mpfr_t t;
        mpfr_init2(t, 60);
        long nl = g == GEN_SHORT_A ? M : N, nk = K;
        for (long l = 0; l < nl; l++)
            for (long k = 0; k < nk; k++) {
                mpfr_ptr x = g == GEN_SHORT_A ? AT(l, k) : BT(k, l);
                rand_full(t, rand_below(24) - 12);
                mpfr_set(x, t, MPFR_RNDN);   /* exact: 60 <= bits */
            }
        mpfr_clear(t);
    }
#undef AT
#undef BT
}

static long ref_exact_sums;   /* entries the reference settled by arf_sum */

/* R = op(A) op(B) correctly rounded to bits, by Arb. */
static void reference(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr R, long bits)
{
    arb_mat_t a, b, c;
    arb_mat_init(a, M, K);
    arb_mat_init(b, K, N);
    arb_mat_init(c, M, N);
    for (long i = 0; i < M; i++)
        for (long k = 0; k < K; k++) arf_set_mpfr(arb_midref(arb_mat_entry(a, i, k)), ta ? A + k * M + i : A + i * K + k);
    for (long k = 0; k < K; k++)
        for (long j = 0; j < N; j++) arf_set_mpfr(arb_midref(arb_mat_entry(b, k, j)), tb ? B + j * K + k : B + k * N + j);
    arb_mat_mul(c, a, b, 4 * bits);
    arf_t lo, hi;
    arf_init(lo);
    arf_init(hi);
    mpfr_t ml, mh;
    mpfr_inits2((mpfr_prec_t)bits, ml, mh, (mpfr_ptr)0);
    arf_struct *t = malloc(sizeof(arf_struct) * (size_t)K);
    for (long k = 0; k < K; k++) arf_init(t + k);
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            arb_get_interval_arf(lo, hi, arb_mat_entry(c, i, j), 8 * bits);
            arf_get_mpfr(ml, lo, MPFR_RNDN);
            arf_get_mpfr(mh, hi, MPFR_RNDN);
            if (mpfr_equal_p(ml, mh)) {
                mpfr_set(R + i * N + j, ml, MPFR_RNDN);
                continue;
            }
            for (long k = 0; k < K; k++)
                arf_mul(t + k, arb_midref(arb_mat_entry(a, i, k)), arb_midref(arb_mat_entry(b, k, j)), ARF_PREC_EXACT,
                        ARF_RND_DOWN);
            arf_sum(lo, t, K, bits, ARF_RND_NEAR);
            arf_get_mpfr(R + i * N + j, lo, MPFR_RNDN);
            ref_exact_sums++;
        }
    for (long k = 0; k < K; k++) arf_clear(t + k);
    free(t);
    mpfr_clears(ml, mh, (mpfr_ptr)0);
    arf_clear(lo);
    arf_clear(hi);
    arb_mat_clear(a);
    arb_mat_clear(b);
    arb_mat_clear(c);
}

static mpfr_ptr mat_new(long n, long bits)
{
    mpfr_ptr m = malloc(sizeof(__mpfr_struct) * (size_t)n);
    for (long i = 0; i < n; i++) mpfr_init2(m + i, (mpfr_prec_t)bits);
    return m;
}

static void mat_free(mpfr_ptr m, long n)
{
    for (long i = 0; i < n; i++) mpfr_clear(m + i);
    free(m);
}

/* Entries of C that differ from R (as values; NaN equals NaN). */
static long mismatches(mpfr_srcptr C, mpfr_srcptr R, long n)
{
    long bad = 0;
    for (long i = 0; i < n; i++)
        if (!(mpfr_equal_p(C + i, R + i) || (mpfr_nan_p(C + i) && mpfr_nan_p(R + i)))) bad++;
    return bad;
}

typedef struct {
    long M, N, K;
} shape;

static void one_case(int g, long bits, shape sh, int route, int ta, int tb)
{
    long M = sh.M, N = sh.N, K = sh.K;
    mpfr_ptr A = mat_new(M * K, bits), B = mat_new(K * N, bits), C = mat_new(M * N, bits), R = mat_new(M * N, bits);
    fill(g, ta, tb, M, N, K, A, B, bits);
    reference(ta, tb, M, N, K, A, B, R, bits);
    ibc_prec_gemm_exact_mpfr(ta, tb, M, N, K, A, B, C, route);
    long bad = mismatches(C, R, M * N);
    char name[96];
    snprintf(name, sizeof name, "%s %ld bits %ldx%ldx%ld t%d%d %s", gen_name[g], bits, M, K, N, ta, tb,
             route == IBC_GEMM_FMPZ ? "fmpz" : route == IBC_GEMM_PAIRS ? "pairs" : route == IBC_GEMM_DIAGONALS ? "diagonals" : "auto");
    report(name, bad == 0, "%ld of %ld entries differ from arb_mat_mul at 4xBITS, rounded", bad, M * N);
    mat_free(A, M * K);
    mat_free(B, K * N);
    mat_free(C, M * N);
    mat_free(R, M * N);
}

/* The same bits for 1 and 4 OpenBLAS threads (dgemm is exact in every
 * order), on both dgemm routes, and the same bits from the two routes. */
static void threads_case(void)
{
    long M = 120, N = 90, K = 300, bits = 256;
    mpfr_ptr A = mat_new(M * K, bits), B = mat_new(K * N, bits), C[4];
    for (int c = 0; c < 4; c++) C[c] = mat_new(M * N, bits);
    fill(GEN_RANDOM, 0, 1, M, N, K, A, B, bits);
    for (int c = 0; c < 4; c++) {   /* c: threads 1, 4 on the diagonals route, then on the pairs route */
        openblas_set_num_threads(c % 2 ? 4 : 1);
        ibc_prec_gemm_exact_mpfr(0, 1, M, N, K, A, B, C[c], c < 2 ? IBC_GEMM_DIAGONALS : IBC_GEMM_PAIRS);
    }
    openblas_set_num_threads(1);
    long bad = 0;
    for (int c = 1; c < 4; c++)
        for (long i = 0; i < M * N; i++)
            if (!mpfr_equal_p(C[0] + i, C[c] + i) || mpfr_signbit(C[0] + i) != mpfr_signbit(C[c] + i)) bad++;
    report("OpenBLAS 1 thread vs 4 threads, diagonals vs pairs, 120x300x90 at 256", bad == 0, "%ld entries differ",
           bad);
    mat_free(A, M * K);
    mat_free(B, K * N);
    for (int c = 0; c < 4; c++) mat_free(C[c], M * N);
}

/* NaN and infinities follow mpfr_sum: inf - inf and NaN give NaN. */
static void special_case(void)
{
    long bits = 128, M = 3, N = 3, K = 4;
    mpfr_ptr A = mat_new(M * K, bits), B = mat_new(K * N, bits), C = mat_new(M * N, bits);
    fill(GEN_RANDOM, 0, 0, M, N, K, A, B, bits);
    mpfr_set_inf(A + 0 * K + 1, 1);    /* row 0: +inf */
    mpfr_set_nan(A + 2 * K + 3);       /* row 2: NaN */
    mpfr_set_inf(B + 1 * N + 2, -1);   /* column 2: -inf in the same k as row 0's +inf */
    ibc_prec_gemm_exact_mpfr(0, 0, M, N, K, A, B, C, -1);
    int ok = mpfr_inf_p(C + 0) && mpfr_nan_p(C + 2 * N) && mpfr_nan_p(C + 2 * N + 1) && mpfr_inf_p(C + 1 * N + 2) &&
             mpfr_number_p(C + 1 * N + 1);
    report("NaN and infinities as mpfr_sum", ok, "C00 inf, row 2 NaN, C12 inf, C11 finite");
    mat_free(A, M * K);
    mat_free(B, K * N);
    mat_free(C, M * N);
}

int main(void)
{
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 17);
    static const long precs[] = {53, 113, 128, 256, 1024};
    static const shape shapes[] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 30}, {6, 4, 500}};
    long checks = 0;
    for (int g = 0; g < NGEN; g++)
        for (int pi = 0; pi < 5; pi++)
            for (int si = 0; si < 4; si++)
                for (int route = 0; route <= 2; route++) {
                    int ta = (int)rand_below(2), tb = (int)rand_below(2);
                    one_case(g, precs[pi], shapes[si], route, ta, tb);
                    checks++;
                }
    /* the defaults' two shapes, and the automatic route at 8192 bits (fmpz) */
    for (int g = 0; g < NGEN; g++) {
        one_case(g, 256, (shape){50, 10, 30}, -1, 0, 1);
        one_case(g, 256, (shape){10, 3, 500}, -1, 1, 0);
        one_case(g, 8192, (shape){4, 3, 5}, -1, 0, 0);
        checks += 3;
    }
    report("automatic route at 8192 bits, K = 5", ibc_prec_gemm_exact_route(5, 8192) == IBC_GEMM_FMPZ, "fmpz (over 256 slices)");
    report("automatic route at 256 bits, K = 500", ibc_prec_gemm_exact_route(500, 256) == IBC_GEMM_PAIRS,
           "dgemm slices, one dgemm per pair");
    report("automatic route at 256 bits, K = 30", ibc_prec_gemm_exact_route(30, 256) == IBC_GEMM_DIAGONALS,
           "dgemm slices, one dgemm per anti-diagonal");
    threads_case();
    special_case();
    checks += 5;
    ibc_gemm_stats st;
    ibc_prec_gemm_exact_stats(&st);
    report("every way of settling an entry was taken", st.exact > 0 && st.bound > 0 && st.fallback > 0,
           "%ld entries: %ld exact, %ld within the bound, %ld exact-sum fallbacks; %ld fmpz products", st.entries,
           st.exact, st.bound, st.fallback, st.fmpz_calls);
    checks++;
    printf("%ld checks, %d failed; the reference needed arf_sum for %ld entries\n", checks, failures, ref_exact_sums);
    ibc_prec_gemm_exact_release();
    gmp_randclear(rs);
    mpfr_free_cache();
    flint_cleanup();
    return failures ? 1 : 0;
}
