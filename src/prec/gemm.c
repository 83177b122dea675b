#include <pthread.h>
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

void ibc_prec_gemm_arb(int ta, int tb, long M, long N, long K, const void *A, const void *B, void *C, long bits)
{
    arb_mat_t a, b, c;
    arb_mat_init(a, M, K);
    arb_mat_init(b, K, N);
    arb_mat_init(c, M, N);
    /* A and B are logically const: their balls are lent to a and b and
     * returned unchanged. */
    swap_op(a, ta, M, K, (arb_ptr)A);
    swap_op(b, tb, K, N, (arb_ptr)B);
    arb_mat_mul(c, a, b, bits);
    swap_op(a, ta, M, K, (arb_ptr)A);
    swap_op(b, tb, K, N, (arb_ptr)B);
    swap_op(c, 0, M, N, (arb_ptr)C);
    arb_mat_clear(a);
    arb_mat_clear(b);
    arb_mat_clear(c);
}
