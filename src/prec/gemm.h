/* The heavy kernel: C (M x N) = op(A) op(B), all row-major, op(A) M x K,
 * op(B) K x N; ta/tb = 1 means the stored matrix is the transpose.
 * double: CBLAS dgemm.  MPFR: FLINT/Arb arb_mat_approx_mul (midpoints only,
 * block-integer multiplication for large sizes), rounded back to nearest.
 * arb: arb_mat_mul on the balls. */
#ifndef IBC_GEMM_H
#define IBC_GEMM_H
#include <mpfr.h>
/* Threads for ibc_gemm_d (ibc_prec_blas_setup sets it from IBC_THREADS); the
 * result does not depend on it. */
void ibc_gemm_set_threads(int t);
int ibc_gemm_threads(void);
/* Calls fn(ctx, lo, hi) over [0, n) in fixed chunks spread over the same
 * threads (double mode's elementwise loops): each index is computed by the
 * same code whoever runs it, so results do not depend on the thread count.
 * Runs inline when n * cost_per_index is too small to pay for threads. */
void ibc_par_range(long n, double cost_per_index, void (*fn)(void *ctx, long lo, long hi), void *ctx);
void ibc_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C);
void ibc_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C, long bits);
/* Ball version (arb_mat_mul, radii kept).  A and B are arb_srcptr (void so
 * that this header needs no Arb include); their entries are moved into the
 * product's matrices and back, so they must not alias C. */
void ibc_gemm_arb(int ta, int tb, long M, long N, long K, const void *A, const void *B, void *C, long bits);
#endif
