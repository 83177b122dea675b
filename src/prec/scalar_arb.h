/* Scalar layer for mode `arb:BITS` (see scalar_double.h): Arb balls, so
 * every value encloses the exact real-arithmetic result of the same
 * operations on the same inputs.  Branches (S_SGN, S_CMP) read midpoints:
 * they only pick between formulas that are equal in exact arithmetic
 * (logistic loss sides, the norm's scale), except at the pReLU kink, which
 * S_KINK_HULL handles by enclosure and counts. */
#include "prec/ibc_arb.h"
#include "prec/gemm.h"

#define FN(name) name##_arb
#define S_ELEM arb_struct
#define S_PTR arb_ptr
#define S_VEC(v) ((arb_ptr)(v)->a)
#define S_AT(a, i) ((a) + (i))
#define S_DECL(x) arb_t x
#define S_INIT(x) arb_init(x)
#define S_CLEAR(x) arb_clear(x)
#define S_BITS_DECL(bits) const slong ibc_tbits_ __attribute__((unused)) = (slong)(bits)
#define S_SET(r, a) arb_set((r), (a))
#define S_SET_D(r, d) arb_set_d((r), (double)(d))
#define S_SET_SI(r, i) arb_set_si((r), (slong)(i))
#define S_SET_ZERO(r) arb_zero(r)
#define S_GET_D(a) arf_get_d(arb_midref(a), ARF_RND_NEAR)
#define S_GET_MPFR(m, a) arf_get_mpfr((m), arb_midref(a), MPFR_RNDN)
#define S_SET_MPFR(r, m) (arf_set_mpfr(arb_midref(r), (m)), mag_zero(arb_radref(r)))
#define S_ADD(r, a, b) arb_add((r), (a), (b), ibc_tbits_)
#define S_SUB(r, a, b) arb_sub((r), (a), (b), ibc_tbits_)
#define S_MUL(r, a, b) arb_mul((r), (a), (b), ibc_tbits_)
#define S_DIV(r, a, b) arb_div((r), (a), (b), ibc_tbits_)
#define S_MUL_D(r, a, d) ibc_prec_arb_mul_d((r), (a), (double)(d), ibc_tbits_)
#define S_DIV_D(r, a, d) ibc_prec_arb_div_d((r), (a), (double)(d), ibc_tbits_)
#define S_MUL_SI(r, a, i) arb_mul_si((r), (a), (slong)(i), ibc_tbits_)
#define S_DIV_SI(r, a, i) arb_div_si((r), (a), (slong)(i), ibc_tbits_)
#define S_FMA(r, a, b, c) ibc_prec_arb_fma((r), (a), (b), (c), ibc_tbits_)
#define S_NEG(r, a) arb_neg((r), (a))
#define S_ABS(r, a) arb_abs((r), (a))
#define S_SQRT(r, a) arb_sqrt((r), (a), ibc_tbits_)
#define S_EXP(r, a) arb_exp((r), (a), ibc_tbits_)
#define S_LOG(r, a) arb_log((r), (a), ibc_tbits_)
#define S_LOG1P(r, a) arb_log1p((r), (a), ibc_tbits_)
#define S_POW(r, a, d) ibc_prec_arb_pow_d((r), (a), (double)(d), ibc_tbits_)
#define S_POW_UI(r, a, k) arb_pow_ui((r), (a), (ulong)(k), ibc_tbits_)
#define S_SGN(a) arf_sgn(arb_midref(a))
#define S_CMP(a, b) arf_cmp(arb_midref(a), arb_midref(b))
#define S_IS_ZERO(a) arb_is_zero(a)
#define S_IS_FINITE(a) arb_is_finite(a)
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) ibc_prec_gemm_arb((ta), (tb), (M), (N), (K), (A), (B), (C), (bits))
/* A loop over independent indices: inline here (threads are for double, ibc_prec_par_range). */
#define S_PAR_RANGE(n, cost, fn, ctx) (fn)((ctx), 0, (n))
#define S_SWAP(a, b) arb_swap((a), (b))
#define S_REF(x) (x)
#define S_MUL_2SI(r, a, e) arb_mul_2exp_si((r), (a), (slong)(e))
/* x = <x_i, w_j> of one unit: when its ball holds both signs, the exact
 * value may sit on either side of the kink; x becomes the hull [0, max(x, 0)]
 * of sigma(x), which encloses sigma(x)^q for every q >= 1 (and so the
 * pReLU value and, for p >= 2, its derivative factor), and the straddle is
 * counted.  (For p = 1 the derivative jumps: the trainer stops certifying.) */
#define S_KINK_HULL(x) ibc_prec_arb_kink_hull(x)
#define S_NRM_SAFE(s) 1              /* exponent range unbounded */

static inline void ibc_prec_arb_mul_d(arb_ptr r, arb_srcptr a, double d, slong prec)
{
    arf_t t;
    arf_init_set_ui(t, 0);
    arf_set_d(t, d);                 /* exact */
    arb_mul_arf(r, a, t, prec);
    arf_clear(t);
}

static inline void ibc_prec_arb_div_d(arb_ptr r, arb_srcptr a, double d, slong prec)
{
    arf_t t;
    arf_init_set_ui(t, 0);
    arf_set_d(t, d);
    arb_div_arf(r, a, t, prec);
    arf_clear(t);
}

static inline void ibc_prec_arb_fma(arb_ptr r, arb_srcptr a, arb_srcptr b, arb_srcptr c, slong prec)
{
    arb_t t;
    arb_init(t);
    arb_mul(t, a, b, prec);
    arb_add(r, t, c, prec);
    arb_clear(t);
}

static inline void ibc_prec_arb_pow_d(arb_ptr r, arb_srcptr a, double d, slong prec)
{
    arb_t e;
    arb_init(e);
    arb_set_d(e, d);
    arb_pow(r, a, e, prec);
    arb_clear(e);
}

static inline int ibc_prec_arb_kink_hull(arb_ptr x)
{
    if (!arb_contains_zero(x) || arb_is_zero(x))
        return 0;
    arf_t z, u;
    arf_init(z);
    arf_init(u);
    arb_get_ubound_arf(u, x, ARF_PREC_EXACT);
    arb_set_interval_arf(x, z, u, ARF_PREC_EXACT);
    arf_clear(z);
    arf_clear(u);
    return 1;
}
