/* Scalar layer for mode `double`: included by a *_impl.h template user before
 * the template, so that one source serves every mode (docs/design.md, "One
 * trainer, several precisions", GSL templates_on.h style).
 * Every S_* macro takes destinations first, like MPFR. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cblas.h>
#include "prec/gemm.h"

#define FN(name) name##_d
#define S_ELEM double                 /* array element */
#define S_PTR double *                /* array */
#define S_VEC(v) ((v)->d)             /* ibc_vec -> array */
#define S_AT(a, i) ((a)[i])           /* element as an S-value */
#define S_DECL(x) double x
#define S_INIT(x) ((x) = 0.0)
#define S_CLEAR(x) ((void)(x))
#define S_BITS_DECL(bits) ((void)(bits))
#define S_SET(r, a) ((r) = (a))
#define S_SET_D(r, d) ((r) = (double)(d))
#define S_SET_SI(r, i) ((r) = (double)(i))
#define S_SET_ZERO(r) ((r) = 0.0)
#define S_GET_D(a) ((double)(a))
#define S_GET_MPFR(m, a) mpfr_set_d((m), (a), MPFR_RNDN)
#define S_SET_MPFR(r, m) ((r) = mpfr_get_d((m), MPFR_RNDN))
#define S_ADD(r, a, b) ((r) = (a) + (b))
#define S_SUB(r, a, b) ((r) = (a) - (b))
#define S_MUL(r, a, b) ((r) = (a) * (b))
#define S_DIV(r, a, b) ((r) = (a) / (b))
#define S_MUL_D(r, a, d) ((r) = (a) * (double)(d))
#define S_DIV_D(r, a, d) ((r) = (a) / (double)(d))
#define S_MUL_SI(r, a, i) ((r) = (a) * (double)(i))
#define S_DIV_SI(r, a, i) ((r) = (a) / (double)(i))
#define S_FMA(r, a, b, c) ((r) = (a) * (b) + (c))     /* plain, not fused: matches mpfr:53 op by op */
#define S_NEG(r, a) ((r) = -(a))
#define S_ABS(r, a) ((r) = fabs(a))
#define S_SQRT(r, a) ((r) = sqrt(a))
#define S_EXP(r, a) ((r) = exp(a))
#define S_LOG(r, a) ((r) = log(a))
#define S_LOG1P(r, a) ((r) = log1p(a))
#define S_POW(r, a, d) ((r) = pow((a), (double)(d)))
#define S_POW_UI(r, a, k) ((r) = ibc_prec_powi_d((a), (k)))
#define S_SGN(a) (((a) > 0) - ((a) < 0))
#define S_CMP(a, b) (((a) > (b)) - ((a) < (b)))
#define S_IS_ZERO(a) ((a) == 0.0)
#define S_IS_FINITE(a) (isfinite(a))
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) ibc_prec_gemm_d((ta), (tb), (M), (N), (K), (A), (B), (C))
/* A loop over independent indices, threaded (ibc_prec_par_range): same bits at any thread count. */
#define S_PAR_RANGE(n, cost, fn, ctx) ibc_prec_par_range((n), (cost), (fn), (ctx))
#define S_SWAP(a, b) do { double ibc_t_ = (a); (a) = (b); (b) = ibc_t_; } while (0)

/* a^k by binary powering: exact enough, and ~20x faster than pow() in the
 * n*h inner loop of the gradient. */
static inline double ibc_prec_powi_d(double a, unsigned long k)
{
    double r = 1.0;
    while (k) {
        if (k & 1) r *= a;
        a *= a;
        k >>= 1;
    }
    return r;
}
#define S_REF(x) (&(x))               /* local scalar -> S_PTR of length 1 */
#define S_MUL_2SI(r, a, e) ((r) = ldexp((a), (int)(e)))
/* r = on ? a : +0, without a branch (units switch on and off at random, and
 * the mispredictions set the pace of the units loop): a bit mask, exact for
 * every a, NaN included. */
static inline double ibc_prec_select_d(int on, double a)
{
    uint64_t u;
    memcpy(&u, &a, sizeof u);
    u &= -(uint64_t)(on != 0);
    memcpy(&a, &u, sizeof a);
    return a;
}
#define S_SELECT(r, on, a) ((r) = ibc_prec_select_d((on), (a)))
#define S_KINK_HULL(x) 0             /* a point value is on one side of the kink */
/* The plain sum of squares of a norm lost nothing to under- or overflow. */
#define S_NRM_SAFE(s) ((s) >= 0x1p-900 && (s) <= 0x1p960)
