/* The heavy kernel: C (M x N) = op(A) op(B), all row-major, op(A) M x K,
 * op(B) K x N; ta/tb = 1 means the stored matrix is the transpose.
 * double: CBLAS dgemm.  MPFR: every entry correctly rounded (to nearest) to
 * the precision of its C entry, by exact slicing onto dgemm
 * (src/prec/gemm_exact.c).  arb: at 192 bits and more, the midpoints by that
 * exact product and a rigorous radius bound (mid-rad, src/prec/gemm.c);
 * below, arb_mat_mul on the balls. */
#ifndef IBC_GEMM_H
#define IBC_GEMM_H
#include <mpfr.h>
/* Threads for ibc_prec_gemm_d (ibc_prec_blas_setup sets it from IBC_THREADS); the
 * result does not depend on it. */
void ibc_prec_gemm_set_threads(int t);
int ibc_prec_gemm_threads(void);
/* Calls fn(ctx, lo, hi) over [0, n) in fixed chunks spread over the same
 * threads (double mode's elementwise loops): each index is computed by the
 * same code whoever runs it, so results do not depend on the thread count.
 * Runs inline when n * cost_per_index is too small to pay for threads. */
void ibc_prec_par_range(long n, double cost_per_index, void (*fn)(void *ctx, long lo, long hi), void *ctx);
void ibc_prec_gemm_d(int ta, int tb, long M, long N, long K, const double *A, const double *B, double *C);
/* y = op(A) x, A M x N row-major (ta: A^T x, length N): CBLAS dgemv, for the
 * attacks' searches (a one-row dgemm packs all of A on every call). */
void ibc_prec_gemv_d(int ta, long M, long N, const double *A, const double *x, double *y);
/* sum a_i b_i over n entries: CBLAS ddot (any order of the sum). */
double ibc_prec_dot_d(long n, const double *a, const double *b);
/* MPFR: C's entries correctly rounded (bits is the modes' precision, which
 * C's entries already have).  A and B must not alias C. */
void ibc_prec_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C, long bits);
/* The product before issue 17 (arb_mat_approx_mul at bits, rounded to
 * nearest; not correctly rounded), kept for comparison. */
void ibc_prec_gemm_mpfr_approx(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                               long bits);
/* The correctly rounded product (gemm_exact.c) by one of its routes:
 * slices on dgemm, one dgemm per anti-diagonal of slice pairs (narrower
 * slices, sums exact in double) or one per slice pair (wider slices, fewer
 * pairs, sums exact in int64), or FLINT's fmpz_mat_mul beyond 256 slices.
 * route: -1 chooses (ibc_prec_gemm_exact_route); a dgemm route where the
 * slices do not fit falls back to fmpz.  The result is the same for every
 * route and thread count: only the time differs. */
enum { IBC_GEMM_DIAGONALS = 0, IBC_GEMM_FMPZ = 1, IBC_GEMM_PAIRS = 2 };
void ibc_prec_gemm_exact_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                              int route);
/* Frees the calling thread's work buffers, which the exact product keeps
 * between calls (a thread that made MPFR products calls it before it ends). */
void ibc_prec_gemm_exact_release(void);
/* Everything the calling thread's MPFR and Arb work cached for it: the
 * exact product's buffers, MPFR's and FLINT's thread-local caches.  A
 * thread that did such work calls it before it ends (else they leak). */
void ibc_prec_thread_release(void);
/* The route the automatic choice takes for inner dimension K at precision
 * pmax: IBC_GEMM_DIAGONALS, IBC_GEMM_PAIRS or IBC_GEMM_FMPZ. */
int ibc_prec_gemm_exact_route(long K, long pmax);
/* Counters since the process started (all threads): products, entries, and
 * how each entry was settled: exact fixed point, fixed point within its
 * error bound, or the exact-sum fallback; fmpz_calls: products by fmpz;
 * dgemm_ns: CPU time (of the calling threads) in the slice routes' dgemm,
 * counted only while ibc_prec_gemm_exact_time_dgemm(1) is in force. */
typedef struct {
    long calls, entries, exact, bound, fallback, fmpz_calls, dgemm_ns;
} ibc_gemm_stats;
void ibc_prec_gemm_exact_stats(ibc_gemm_stats *st);
/* on = 1: the slice routes time their dgemm calls into dgemm_ns (a system
 * call per call, so off unless a profile asks); on = 0: they stop. */
void ibc_prec_gemm_exact_time_dgemm(int on);
/* Ball version: each output ball contains every product of points of the
 * input balls (mid-rad from 192 bits, else arb_mat_mul; see gemm.c).  A and B are arb_srcptr (void so
 * that this header needs no Arb include); their entries are moved into the
 * product's matrices and back, so they must not alias C. */
void ibc_prec_gemm_arb(int ta, int tb, long M, long N, long K, const void *A, const void *B, void *C, long bits);
#endif
