/* ideal: F and F^(p) by their definitions (docs/theory.md §4), in MPFR with directed
 * rounding so that a sign can be certified without ball arithmetic. */
#include <math.h>
#include "ibcheck/ideal.h"

static int bad_classes(long D, long K, long K1, int y)
{
    return K1 < 1 || K1 >= K || K > D || (y != 1 && y != -1);
}

/* The rounding that bounds a subtracted term in the same direction as rnd. */
static mpfr_rnd_t opposite(mpfr_rnd_t rnd)
{
    if (rnd == MPFR_RNDU)
        return MPFR_RNDD;
    if (rnd == MPFR_RNDD)
        return MPFR_RNDU;
    return rnd;
}

int ibc_ideal_yF_mpfr(mpfr_t res, mpfr_srcptr x, long D, long K, long K1, int y, mpfr_rnd_t rnd)
{
    if (bad_classes(D, K, K1, y))
        return IBC_EINPUT;
    mpfr_t a, b;
    mpfr_init2(a, mpfr_get_prec(res));
    mpfr_init2(b, mpfr_get_prec(res));
    mpfr_set_zero(a, 1);
    mpfr_set_zero(b, 1);
    /* Every operation is monotone in its inputs, so rounding the positive
     * side with rnd and the subtracted side against it bounds the result. */
    mpfr_rnd_t ro = opposite(rnd);
    for (long k = 0; k < K; k++) {
        int own = (k < K1) == (y > 0);
        if (own)
            mpfr_add(a, a, x + k, rnd);
        else
            mpfr_add(b, b, x + k, ro);
    }
    if (mpfr_sgn(a) < 0)
        mpfr_set_zero(a, 1);
    if (mpfr_sgn(b) < 0)
        mpfr_set_zero(b, 1);
    mpfr_sub(res, a, b, rnd);
    mpfr_clear(a);
    mpfr_clear(b);
    return IBC_OK;
}

int ibc_ideal_yFp_mpfr(mpfr_t res, mpfr_srcptr x, long D, long K, long K1, int y,
                       mpfr_srcptr p, mpfr_rnd_t rnd)
{
    if (bad_classes(D, K, K1, y) || !mpfr_number_p(p) || mpfr_cmp_ui(p, 1) < 0)
        return IBC_EINPUT;
    mpfr_t a, b, t;
    mpfr_prec_t pr = mpfr_get_prec(res);
    mpfr_init2(a, pr);
    mpfr_init2(b, pr);
    mpfr_init2(t, pr);
    mpfr_set_zero(a, 1);
    mpfr_set_zero(b, 1);
    mpfr_rnd_t ro = opposite(rnd);
    for (long k = 0; k < K; k++) {
        if (mpfr_sgn(x + k) <= 0)
            continue;            /* sigma(x_k)^p = 0 */
        int own = (k < K1) == (y > 0);
        mpfr_pow(t, x + k, p, own ? rnd : ro);
        if (own)
            mpfr_add(a, a, t, rnd);
        else
            mpfr_add(b, b, t, ro);
    }
    mpfr_sub(res, a, b, rnd);
    mpfr_clear(a);
    mpfr_clear(b);
    mpfr_clear(t);
    return IBC_OK;
}

int ibc_ideal_clf_init(ibc_ideal_clf *f, ibc_ideal_kind kind, long D, long K, long K1,
                       double p, long bits)
{
    int bad = bits < IBC_BITS_MIN || bits > IBC_BITS_MAX;
    f->kind = kind;
    f->D = D;
    f->K = K;
    f->K1 = K1;
    f->bits = bad ? IBC_BITS_MIN : bits;
    mpfr_init2(f->p, 64);
    mpfr_set_d(f->p, kind == IBC_IDEAL_F ? 1.0 : p, MPFR_RNDN);
    if (bad || bad_classes(D, K, K1, 1) || (kind != IBC_IDEAL_F && kind != IBC_IDEAL_FP)
        || (kind == IBC_IDEAL_FP && !(isfinite(p) && p >= 1.0)))
        return IBC_EINPUT;
    return IBC_OK;
}

void ibc_ideal_clf_clear(ibc_ideal_clf *f)
{
    mpfr_clear(f->p);
}

int ibc_ideal_clf_margin(mpfr_t res, const ibc_ideal_clf *f, mpfr_srcptr x, int y, mpfr_rnd_t rnd)
{
    if (f->kind == IBC_IDEAL_F)
        return ibc_ideal_yF_mpfr(res, x, f->D, f->K, f->K1, y, rnd);
    return ibc_ideal_yFp_mpfr(res, x, f->D, f->K, f->K1, y, f->p, rnd);
}
