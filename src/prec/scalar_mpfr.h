/* Scalar layer for mode `mpfr:BITS` (see scalar_double.h).  Every temporary
 * is initialised at the template function's working precision, named by the
 * local variable declared by S_BITS_DECL. */
#include <mpfr.h>
#include "prec/gemm.h"

#define FN(name) name##_mpfr
#define S_ELEM __mpfr_struct
#define S_PTR mpfr_ptr
#define S_VEC(v) ((v)->m)
#define S_AT(a, i) ((a) + (i))
#define S_DECL(x) mpfr_t x
#define S_INIT(x) (mpfr_init2((x), ibc_tbits_), mpfr_set_zero((x), 1))
#define S_CLEAR(x) mpfr_clear(x)
#define S_BITS_DECL(bits) const mpfr_prec_t ibc_tbits_ __attribute__((unused)) = (mpfr_prec_t)(bits)
#define S_SET(r, a) mpfr_set((r), (a), MPFR_RNDN)
#define S_SET_D(r, d) mpfr_set_d((r), (double)(d), MPFR_RNDN)
#define S_SET_SI(r, i) mpfr_set_si((r), (long)(i), MPFR_RNDN)
#define S_SET_ZERO(r) mpfr_set_zero((r), 1)
#define S_GET_D(a) mpfr_get_d((a), MPFR_RNDN)
#define S_GET_MPFR(m, a) mpfr_set((m), (a), MPFR_RNDN)
#define S_SET_MPFR(r, m) mpfr_set((r), (m), MPFR_RNDN)
#define S_ADD(r, a, b) mpfr_add((r), (a), (b), MPFR_RNDN)
#define S_SUB(r, a, b) mpfr_sub((r), (a), (b), MPFR_RNDN)
#define S_MUL(r, a, b) mpfr_mul((r), (a), (b), MPFR_RNDN)
#define S_DIV(r, a, b) mpfr_div((r), (a), (b), MPFR_RNDN)
#define S_MUL_D(r, a, d) mpfr_mul_d((r), (a), (double)(d), MPFR_RNDN)
#define S_DIV_D(r, a, d) mpfr_div_d((r), (a), (double)(d), MPFR_RNDN)
#define S_MUL_SI(r, a, i) mpfr_mul_si((r), (a), (long)(i), MPFR_RNDN)
#define S_DIV_SI(r, a, i) mpfr_div_si((r), (a), (long)(i), MPFR_RNDN)
#define S_FMA(r, a, b, c) mpfr_fma((r), (a), (b), (c), MPFR_RNDN)
#define S_NEG(r, a) mpfr_neg((r), (a), MPFR_RNDN)
#define S_ABS(r, a) mpfr_abs((r), (a), MPFR_RNDN)
#define S_SQRT(r, a) mpfr_sqrt((r), (a), MPFR_RNDN)
#define S_EXP(r, a) mpfr_exp((r), (a), MPFR_RNDN)
#define S_LOG(r, a) mpfr_log((r), (a), MPFR_RNDN)
#define S_LOG1P(r, a) mpfr_log1p((r), (a), MPFR_RNDN)
#define S_POW(r, a, d) ibc_prec_pow_d_mpfr((r), (a), (double)(d))
/* k = 2 (p = 3, the paper's case) by mpfr_sqr: both are correctly rounded, so
 * the bits are the same, and mpfr_pow_ui costs several multiplications. */
#define S_POW_UI(r, a, k) \
    ((k) == 2 ? mpfr_sqr((r), (a), MPFR_RNDN) : mpfr_pow_ui((r), (a), (unsigned long)(k), MPFR_RNDN))
#define S_SGN(a) mpfr_sgn(a)
#define S_CMP(a, b) mpfr_cmp((a), (b))
#define S_IS_ZERO(a) mpfr_zero_p(a)
#define S_IS_FINITE(a) mpfr_number_p(a)
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) ibc_prec_gemm_mpfr((ta), (tb), (M), (N), (K), (A), (B), (C), (bits))
/* A loop over independent indices: inline here (threads are for double, ibc_prec_par_range). */
#define S_PAR_RANGE(n, cost, fn, ctx) (fn)((ctx), 0, (n))
#define S_SWAP(a, b) mpfr_swap((a), (b))
/* The backward pass may skip the inactive units (a_hat^p = a_hat^(p-1) = 0
 * exactly): each call costs even on zeros, while in double the branch would
 * stop the loop's vectorization, and in Arb a zero ball still widens sums. */
#define S_SKIP_ZERO_UNITS 1

/* a^d for a real exponent d (d is a double, exactly representable in MPFR). */
static inline void ibc_prec_pow_d_mpfr(mpfr_ptr r, mpfr_srcptr a, double d)
{
    mpfr_t e;
    mpfr_init2(e, 64);
    mpfr_set_d(e, d, MPFR_RNDN);
    mpfr_pow(r, a, e, MPFR_RNDN);
    mpfr_clear(e);
}
#define S_REF(x) (x)
#define S_MUL_2SI(r, a, e) mpfr_mul_2si((r), (a), (long)(e), MPFR_RNDN)
#define S_KINK_HULL(x) 0             /* a point value is on one side of the kink */
#define S_NRM_SAFE(s) 1              /* exponent range ~2^62: squares never under- or overflow */
