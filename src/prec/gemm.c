#include <pthread.h>
#include <cblas.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"

/* Rows of C per block.  OpenBLAS's own threading splits a product at
 * thread-count-dependent row offsets, and its kernel rounds differently at
 * offsets that are not multiples of 8, so results changed with IBC_THREADS
 * (1927 of 3100 theta entries after 400 GD steps at the defaults).  Blocks
 * of a fixed 64 rows, each a single-threaded dgemm, give the same bits for
 * every thread count; our threads only decide who computes which block. */
#define GEMM_BLOCK 64

static int gemm_threads = 1;   /* set by ibc_prec_blas_setup */

void ibc_gemm_set_threads(int t)
{
    gemm_threads = t >= 1 ? t : 1;
}

typedef struct {
    int ta, tb;
    long M, N, K;
    const double *A, *B;
    double *C;
    int tid, nthreads;
} gemm_job;

static void gemm_rows(const gemm_job *g, long r0, long r1)
{
    /* op(A) rows r0..r1: rows of A, or columns of the K x M matrix A. */
    const double *a = g->ta ? g->A + r0 : g->A + r0 * g->K;
    cblas_dgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (int)(r1 - r0), (int)g->N, (int)g->K, 1.0, a, g->ta ? (int)g->M : (int)g->K, g->B,
                g->tb ? (int)g->K : (int)g->N, 0.0, g->C + r0 * g->N, (int)g->N);
}

static void *gemm_worker(void *arg)
{
    const gemm_job *g = arg;
    long nblocks = (g->M + GEMM_BLOCK - 1) / GEMM_BLOCK;
    for (long b = g->tid; b < nblocks; b += g->nthreads) {
        long r0 = b * GEMM_BLOCK, r1 = r0 + GEMM_BLOCK < g->M ? r0 + GEMM_BLOCK : g->M;
        gemm_rows(g, r0, r1);
    }
    return NULL;
}

void ibc_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C)
{
    long nblocks = (M + GEMM_BLOCK - 1) / GEMM_BLOCK;
    int T = gemm_threads < nblocks ? gemm_threads : (int)(nblocks > 0 ? nblocks : 1);
    if (T > 16)
        T = 16;
    /* Thread start-up costs more than a small product (the defaults' 500 x
     * 30 x 100 ran 2.5x slower on 2 threads); the blocks, hence the bits,
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
    /* A thread that could not start leaves its blocks to this one: the
     * blocks, and so the bits, do not change. */
    gemm_worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            for (long b = t; b < nblocks; b += T) {
                long r0 = b * GEMM_BLOCK, r1 = r0 + GEMM_BLOCK < M ? r0 + GEMM_BLOCK : M;
                gemm_rows(&jobs[0], r0, r1);
            }
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

void ibc_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C, long bits)
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

/* Moves op(S) (rows x cols) into T's entries (swap) or back: no ball is copied. */
static void swap_op(arb_mat_t T, int trans, long rows, long cols, arb_ptr S)
{
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            arb_swap(arb_mat_entry(T, i, j), trans ? S + j * rows + i : S + i * cols + j);
}

void ibc_gemm_arb(int ta, int tb, long M, long N, long K, const void *A, const void *B, void *C, long bits)
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
