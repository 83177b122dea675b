#include <cblas.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"

void ibc_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0, A, ta ? (int)M : (int)K, B, tb ? (int)K : (int)N,
                0.0, C, (int)N);
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
