/* The heavy kernel: C (M x N) = op(A) op(B), all row-major, op(A) M x K,
 * op(B) K x N; ta/tb = 1 means the stored matrix is the transpose.
 * double: CBLAS dgemm.  MPFR: FLINT/Arb arb_mat_approx_mul (midpoints only,
 * block-integer multiplication for large sizes), rounded back to nearest. */
#ifndef IBC_GEMM_H
#define IBC_GEMM_H
#include <mpfr.h>
/* Threads for ibc_gemm_d (ibc_prec_blas_setup sets it from IBC_THREADS); the
 * result does not depend on it. */
void ibc_gemm_set_threads(int t);
void ibc_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C);
void ibc_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C, long bits);
#endif
