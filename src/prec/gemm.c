#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <cblas.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"

/* Tiles of C.  OpenBLAS's own threading splits a product at
 * thread-count-dependent offsets, and its kernel rounds differently at
 * offsets that are not multiples of 8, so results changed with IBC_THREADS
 * (1927 of 3100 theta entries after 400 GD steps at the defaults).  Tiles of
 * a fixed GEMM_BLOCK rows x GEMM_COLS columns, each a single-threaded dgemm,
 * give the same bits for every thread count; our threads only decide who
 * computes which tile.  Columns are tiled too because SGD's product X_b W^T
 * has only batch = 100 rows (two row blocks, 64 + 36: a 64/36 split between
 * two threads), while its 2000 columns make 8 even tiles. */
#define GEMM_BLOCK 64
#define GEMM_COLS 256

static int gemm_threads = 1;   /* set by ibc_prec_blas_setup */

void ibc_prec_gemm_set_threads(int t)
{
    gemm_threads = t >= 1 ? t : 1;
}

int ibc_prec_gemm_threads(void)
{
    return gemm_threads;
}

typedef struct {
    int ta, tb;
    long M, N, K;
    const double *A, *B;
    double *C;
    int tid, nthreads;
} gemm_job;

static long gemm_ntiles(long M, long N)
{
    return ((M + GEMM_BLOCK - 1) / GEMM_BLOCK) * ((N + GEMM_COLS - 1) / GEMM_COLS);
}

/* Tile b: rows r0..r1 of op(A) (rows of A, or columns of the K x M matrix A)
 * times columns c0..c1 of op(B) (columns of B, or rows of the N x K matrix B). */
static void gemm_tile(const gemm_job *g, long b)
{
    long nc = (g->N + GEMM_COLS - 1) / GEMM_COLS;
    long r0 = (b / nc) * GEMM_BLOCK, c0 = (b % nc) * GEMM_COLS;
    long r1 = r0 + GEMM_BLOCK < g->M ? r0 + GEMM_BLOCK : g->M;
    long c1 = c0 + GEMM_COLS < g->N ? c0 + GEMM_COLS : g->N;
    const double *a = g->ta ? g->A + r0 : g->A + r0 * g->K;
    const double *bb = g->tb ? g->B + c0 * g->K : g->B + c0;
    cblas_dgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (int)(r1 - r0), (int)(c1 - c0), (int)g->K, 1.0, a, g->ta ? (int)g->M : (int)g->K, bb,
                g->tb ? (int)g->K : (int)g->N, 0.0, g->C + r0 * g->N + c0, (int)g->N);
}

static void *gemm_worker(void *arg)
{
    const gemm_job *g = arg;
    long ntiles = gemm_ntiles(g->M, g->N);
    for (long b = g->tid; b < ntiles; b += g->nthreads)
        gemm_tile(g, b);
    return NULL;
}

void ibc_prec_gemv_d(int ta, long M, long N, const double *A, const double *x, double *y)
{
    cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)M, (int)N, 1.0, A, (int)N, x, 1, 0.0, y, 1);
}

double ibc_prec_dot_d(long n, const double *a, const double *b)
{
    return cblas_ddot((int)n, a, 1, b, 1);
}

void ibc_prec_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C)
{
    long ntiles = gemm_ntiles(M, N);
    int T = gemm_threads < ntiles ? gemm_threads : (int)(ntiles > 0 ? ntiles : 1);
    if (T > 16)
        T = 16;
    /* Thread start-up costs more than a small product (the defaults' 500 x
     * 30 x 100 ran 2.5x slower on 2 threads); the tiles, hence the bits,
     * are the same either way. */
    if ((double)M * (double)N * (double)K < 3e7)
        T = 1;
    gemm_job jobs[16];
    pthread_t th[16];
    int started[16] = {0};
    for (int t = 0; t < T; t++)
        jobs[t] = (gemm_job){ta, tb, M, N, K, A, B, C, t, T};
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&th[t], NULL, gemm_worker, &jobs[t]) == 0;
    /* A thread that could not start leaves its tiles to this one: the
     * tiles, and so the bits, do not change. */
    gemm_worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            for (long b = t; b < ntiles; b += T)
                gemm_tile(&jobs[0], b);
    }
}
typedef struct {
    void (*fn)(void *, long, long);
    void *ctx;
    long lo, hi;
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    j->fn(j->ctx, j->lo, j->hi);
    return NULL;
}

void ibc_prec_par_range(long n, double cost_per_index, void (*fn)(void *ctx, long lo, long hi), void *ctx)
{
    int T = gemm_threads > 16 ? 16 : gemm_threads;
    /* below ~1e6 operations a thread's start costs more than it saves */
    if (T <= 1 || n < 2 || (double)n * cost_per_index < 1e6) {
        fn(ctx, 0, n);
        return;
    }
    if (T > n)
        T = (int)n;
    par_job jobs[16];
    pthread_t th[16];
    int started[16] = {0};
    for (int t = 0; t < T; t++)
        jobs[t] = (par_job){fn, ctx, n * t / T, n * (t + 1) / T};
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&th[t], NULL, par_worker, &jobs[t]) == 0;
    par_worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            par_worker(&jobs[t]);
    }
}

/* Loads op(S) (rows x cols) into an arb_mat as exact midpoints. */
static void load_op(arb_mat_t T, int trans, long rows, long cols, mpfr_srcptr S)
{
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            mpfr_srcptr s = trans ? S + j * rows + i : S + i * cols + j;
            arb_ptr e = arb_mat_entry(T, i, j);
            arf_set_mpfr(arb_midref(e), s);
            mag_zero(arb_radref(e));
        }
}

/* The MPFR product before issue 17, kept for comparison (bench/bench_grad.c):
 * arb_mat_approx_mul on exact midpoints, then rounded to nearest (not
 * correctly rounded: Arb's approximate dot products). */
void ibc_prec_gemm_mpfr_approx(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                               long bits)
{
    arb_mat_t a, b, c;
    arb_mat_init(a, M, K);
    arb_mat_init(b, K, N);
    arb_mat_init(c, M, N);
    load_op(a, ta, M, K, A);
    load_op(b, tb, K, N, B);
    arb_mat_approx_mul(c, a, b, bits);
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++)
            arf_get_mpfr(C + i * N + j, arb_midref(arb_mat_entry(c, i, j)), MPFR_RNDN);
    arb_mat_clear(a);
    arb_mat_clear(b);
    arb_mat_clear(c);
}

void ibc_prec_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C, long bits)
{
    (void)bits;   /* each entry is rounded to its own precision, which the modes set to bits */
    ibc_prec_gemm_exact_mpfr(ta, tb, M, N, K, A, B, C, -1);
}

/* Moves op(S) (rows x cols) into T's entries (swap) or back: no ball is copied. */
static void swap_op(arb_mat_t T, int trans, long rows, long cols, arb_ptr S)
{
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            arb_swap(arb_mat_entry(T, i, j), trans ? S + j * rows + i : S + i * cols + j);
}

/* arb_mat_mul on the balls, radii kept: the reference product, and the
 * route for operands whose exponents lie outside the double range that
 * gemm_arb_midrad's radius bound needs. */
static void gemm_arb_mat_mul(int ta, int tb, long M, long N, long K, arb_ptr A, arb_ptr B, arb_ptr C, long bits)
{
    arb_mat_t a, b, c;
    arb_mat_init(a, M, K);
    arb_mat_init(b, K, N);
    arb_mat_init(c, M, N);
    /* A and B are logically const: their balls are lent to a and b and
     * returned unchanged. */
    swap_op(a, ta, M, K, A);
    swap_op(b, tb, K, N, B);
    arb_mat_mul(c, a, b, bits);
    swap_op(a, ta, M, K, A);
    swap_op(b, tb, K, N, B);
    swap_op(c, 0, M, N, C);
    arb_mat_clear(a);
    arb_mat_clear(b);
    arb_mat_clear(c);
}

/* The mid-rad route takes finite balls whose exponents lie within
 * +-2^MR_EXP (MPFR's default exponent range is +-2^30). */
#define MR_EXP 28

/* x * 2^-e rounded up to a double, for 0 <= x < 2^e: at least 2^-1000 when
 * x > 0 (a value below that would be subnormal or 0: an upper bound still). */
static double scaled_up(const arf_t x, slong e)
{
    if (arf_is_zero(x)) return 0;
    arf_t t;
    arf_init(t);
    arf_mul_2exp_si(t, x, -e);
    double d = arf_cmpabs_2exp_si(t, -1000) < 0 ? ldexp(1.0, -1000) : arf_get_d(t, ARF_RND_UP);
    arf_clear(t);
    return fabs(d);
}

/* The midpoints of op(S) (rows x cols, stored transposed when trans) in
 * exact mpfr_t's; per line (row when byrow, else column) the exponent e
 * with every |mid| and mid + rad below 2^e, and the exponent of the radii;
 * then |mid| * 2^-e, rad * 2^-er and (|mid| + rad) * 2^-e, rounded up, as
 * doubles in storage order.  0 (nothing allocated) for a special value or
 * an exponent beyond 2^MR_EXP. */
typedef struct {
    mpfr_ptr mid;
    double *am, *rd, *amr;
    slong *e, *er;
    int any_rad;
} midrad_op;

static int midrad_split(midrad_op *o, int trans, int byrow, long rows, long cols, arb_srcptr S)
{
    const long n = rows * cols, lines = byrow ? rows : cols;
    o->e = malloc(sizeof(slong) * (size_t)(2 * lines));
    o->er = o->e + lines;
    for (long l = 0; l < 2 * lines; l++) o->e[l] = WORD_MIN;
    o->any_rad = 0;
    for (long u = 0; u < n; u++) {
        arb_srcptr x = S + u;
        if (!arf_is_finite(arb_midref(x)) || !mag_is_finite(arb_radref(x)) ||
            arf_cmpabs_2exp_si(arb_midref(x), WORD(1) << MR_EXP) > 0 ||
            (!arf_is_zero(arb_midref(x)) && arf_cmpabs_2exp_si(arb_midref(x), -(WORD(1) << MR_EXP)) < 0) ||
            (!mag_is_zero(arb_radref(x)) && (mag_cmp_2exp_si(arb_radref(x), WORD(1) << MR_EXP) > 0 ||
                                              mag_cmp_2exp_si(arb_radref(x), -(WORD(1) << MR_EXP)) < 0))) {
            free(o->e);
            return 0;
        }
        long i = trans ? u % rows : u / cols, j = trans ? u / rows : u % cols, l = byrow ? i : j;
        /* |mid| + rad < 2^(bound of |mid| + 1) or 2^(bound of rad + 1) */
        slong em = arf_is_zero(arb_midref(x)) ? WORD_MIN : arf_abs_bound_lt_2exp_si(arb_midref(x));
        slong erad = mag_is_zero(arb_radref(x)) ? WORD_MIN : MAG_EXP(arb_radref(x));
        slong both = (em > erad ? em : erad);
        if (both != WORD_MIN && both + 1 > o->e[l]) o->e[l] = both + 1;
        if (erad != WORD_MIN && erad > o->er[l]) o->er[l] = erad;
        if (erad != WORD_MIN) o->any_rad = 1;
    }
    o->mid = malloc(sizeof(mpfr_t) * (size_t)n);
    o->am = malloc(sizeof(double) * (size_t)(3 * n));
    o->rd = o->am + n;
    o->amr = o->rd + n;
    arf_t r, t;
    arf_init(r);
    arf_init(t);
    for (long u = 0; u < n; u++) {
        arb_srcptr x = S + u;
        long i = trans ? u % rows : u / cols, j = trans ? u / rows : u % cols, l = byrow ? i : j;
        slong pb = arf_bits(arb_midref(x));
        mpfr_init2(o->mid + u, pb > 1 ? pb : 1);
        arf_get_mpfr(o->mid + u, arb_midref(x), MPFR_RNDN);   /* exact: pb bits */
        arf_set_mag(r, arb_radref(x));                          /* exact */
        arf_abs(t, arb_midref(x));
        o->am[u] = scaled_up(t, o->e[l]);
        o->rd[u] = scaled_up(r, o->er[l]);
        arf_add(t, t, r, ARF_PREC_EXACT, ARF_RND_UP);
        o->amr[u] = scaled_up(t, o->e[l]);
    }
    arf_clear(r);
    arf_clear(t);
    return 1;
}

static void midrad_clear(midrad_op *o, long n)
{
    for (long u = 0; u < n; u++) mpfr_clear(o->mid + u);
    free(o->mid);
    free(o->am);
    free(o->e);
}

/* rad += (S (1 + (K + 8) 2^-51) + (K + 1) 2^-1074) 2^(ea + eb), an upper
 * bound of the exact sum S came from (see gemm_arb_midrad). */
static void rad_add_scaled(mag_t rad, double S, long K, slong ea, slong eb)
{
    if (ea == WORD_MIN || eb == WORD_MIN) return;   /* a line of zeros: the sum is exactly 0 */
    mag_t t, u;
    mag_init(t);
    mag_init(u);
    mag_set_d(t, S * (1.0 + (double)(K + 8) * ldexp(1.0, -51)));   /* mag_set_d: an upper bound */
    mag_set_ui_2exp_si(u, (ulong)K + 1, -1074);
    mag_add(t, t, u);
    mag_mul_2exp_si(t, t, ea + eb);
    mag_add(rad, rad, t);
    mag_clear(t);
    mag_clear(u);
}

/* The ball product by midpoint and radius (Rump's mid-rad product, with the
 * midpoints multiplied exactly).  For a in [a_m +- a_r], b in [b_m +- b_r]:
 * |ab - a_m b_m| <= |a_m| b_r + a_r (|b_m| + b_r).  So
 *   mid C = A_m B_m correctly rounded to bits (ibc_prec_gemm_exact_mpfr),
 *     whose error is at most half an ulp: 2^(EXP(mid) - bits - 1);
 *   rad C >= |A_m| B_r + A_r (|B_m| + B_r), two dgemm (ibc_prec_gemm_d:
 *     the same bits for every thread count) on upper bounds of the inputs,
 *     each line scaled by a power of 2 to below 1 (so the radii of 1280-bit
 *     balls, near 2^-1280, stay in double's range: the scales come back
 *     exactly in the mag).  Every term is >= 0, so in any summation order,
 *     with or without fma, a computed S satisfies S_exact <= S (1 +
 *     gamma_{K+1}) + (K + 1) 2^-1074 (gamma_n = n u / (1 - n u), u = 2^-53;
 *     the last term for products below 2^-1022; Higham, Accuracy and
 *     Stability, 2nd ed., sec. 3.1); the factor (1 + (K + 8) 2^-51) covers
 *     gamma and its own rounding.
 * Returns 0 (nothing written) for balls it does not take (midrad_split). */
static int gemm_arb_midrad(int ta, int tb, long M, long N, long K, arb_srcptr A, arb_srcptr B, arb_ptr C, long bits)
{
    midrad_op a, b;
    if (!midrad_split(&a, ta, 1, M, K, A)) return 0;
    if (!midrad_split(&b, tb, 0, K, N, B)) {
        midrad_clear(&a, M * K);
        return 0;
    }
    mpfr_ptr cm = malloc(sizeof(mpfr_t) * (size_t)(M * N));
    double *r1 = malloc(sizeof(double) * (size_t)(2 * M * N)), *r2 = r1 + M * N;
    for (long u = 0; u < M * N; u++) mpfr_init2(cm + u, bits);
    ibc_prec_gemm_exact_mpfr(ta, tb, M, N, K, a.mid, b.mid, cm, -1);
    /* exact operands (the data) have no radius: skip their term */
    if (b.any_rad) ibc_prec_gemm_d(ta, tb, M, N, K, a.am, b.rd, r1);
    if (a.any_rad) ibc_prec_gemm_d(ta, tb, M, N, K, a.rd, b.amr, r2);
    mag_t ulp;
    mag_init(ulp);
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            long u = i * N + j;
            arf_set_mpfr(arb_midref(C + u), cm + u);
            mag_zero(arb_radref(C + u));
            if (b.any_rad) rad_add_scaled(arb_radref(C + u), r1[u], K, a.e[i], b.er[j]);
            if (a.any_rad) rad_add_scaled(arb_radref(C + u), r2[u], K, a.er[i], b.e[j]);
            if (!mpfr_zero_p(cm + u)) {
                mag_set_ui_2exp_si(ulp, 1, mpfr_get_exp(cm + u) - bits - 1);
                mag_add(arb_radref(C + u), arb_radref(C + u), ulp);
            }
            mpfr_clear(cm + u);
        }
    mag_clear(ulp);
    midrad_clear(&a, M * K);
    midrad_clear(&b, K * N);
    free(cm);
    free(r1);
    return 1;
}

/* Below this precision arb_mat_mul was faster (0.4x-0.9x the mid-rad
 * product's time at 128 bits; 1.05x-2x slower at 256 bits, 1.2x-1.9x at
 * 1280; shapes of the defaults and of certified-gd, one thread,
 * 2026-12-07). */
#define MR_MIN_BITS 192

void ibc_prec_gemm_arb(int ta, int tb, long M, long N, long K, const void *A, const void *B, void *C, long bits)
{
    if (bits >= MR_MIN_BITS && gemm_arb_midrad(ta, tb, M, N, K, A, B, C, bits)) return;
    gemm_arb_mat_mul(ta, tb, M, N, K, (arb_ptr)A, (arb_ptr)B, C, bits);
}
