/* align: Gaussian moments M_p(m, s) = E[sigma(m + sZ)^p] (docs/theory.md §6).
 *
 * M_0 = Phi(m/s), M_1 = m Phi(m/s) + s phi(m/s), M_p = m M_{p-1} + (p-1) s^2 M_{p-2}.
 * The recursion cancels in the lower tail (t = m/s << 0): the terms are
 * about s^p |t|^(p-1) phi(t) while M_p is about p! s^p phi(t) / |t|^(p+1),
 * so about 2p log2|t| bits are lost.  Arb tracks that loss in the ball
 * radius; ibc_align_moment_arb raises the working precision until the ball
 * is relatively tight.  The double path uses the recursion only where it is
 * benign and a tail form (generalized Mills ratios by a backward, stable
 * recurrence) elsewhere, and says when a value is out of double's range. */
#include <float.h>
#include <math.h>
#include "align_internal.h"

/* phi(t) = exp(-t^2/2)/sqrt(2 pi) */
static void gauss_pdf(arb_t res, const arb_t t, slong w)
{
    arb_t a;
    arb_init(a);
    arb_sqr(a, t, w);
    arb_mul_2exp_si(a, a, -1);
    arb_neg(a, a);
    arb_exp(res, a, w);
    arb_const_pi(a, w);
    arb_mul_2exp_si(a, a, 1);
    arb_rsqrt(a, a, w);
    arb_mul(res, res, a, w);
    arb_clear(a);
}

/* One evaluation at working precision w, s > 0 or s = 0 exactly. */
static void moment_fixed(arb_t res, long p, const arb_t m, const arb_t s, slong w)
{
    if (arb_is_zero(s)) {
        /* s = 0: M_p = sigma(m)^p, and M_0 = P(m > 0) = [m > 0] (sigma'(0) := 0,
         * the Clarke convention the trainer uses). */
        if (p == 0) {
            if (arb_is_positive(m)) arb_one(res);
            else if (arb_is_nonpositive(m)) arb_zero(res);
            else {
                arb_set_d(res, 0.5);   /* [0, 1] */
                arb_add_error_2exp_si(res, -1);
            }
            return;
        }
        arb_nonnegative_part(res, m);
        arb_pow_ui(res, res, (ulong)p, w);
        return;
    }
    arb_t t, Phi, phi, a, b, c;
    arb_init(t);
    arb_init(Phi);
    arb_init(phi);
    arb_init(a);
    arb_init(b);
    arb_init(c);
    arb_div(t, m, s, w);
    /* Phi(t) = erfc(-t/sqrt 2)/2: erfc keeps the lower tail's relative accuracy */
    arb_sqrt_ui(a, 2, w);
    arb_div(b, t, a, w);
    arb_neg(b, b);
    arb_hypgeom_erfc(Phi, b, w);
    arb_mul_2exp_si(Phi, Phi, -1);
    if (p == 0) {
        arb_swap(res, Phi);
    } else {
        gauss_pdf(phi, t, w);
        /* b = M_{q-2}, c = M_{q-1} */
        arb_set(b, Phi);
        arb_mul(c, m, Phi, w);
        arb_addmul(c, s, phi, w);
        arb_t s2;
        arb_init(s2);
        arb_sqr(s2, s, w);
        for (long q = 2; q <= p; q++) {
            arb_mul(a, m, c, w);
            arb_mul_ui(b, b, (ulong)(q - 1), w);
            arb_addmul(a, s2, b, w);
            arb_swap(b, c);
            arb_swap(c, a);
        }
        arb_clear(s2);
        arb_swap(res, c);
    }
    arb_clear(t);
    arb_clear(Phi);
    arb_clear(phi);
    arb_clear(a);
    arb_clear(b);
    arb_clear(c);
}

/* Bits the recursion is expected to lose at t = m/s: about 2p log2|t| in
 * the lower tail (see the file comment), a first guess for the loop below. */
static slong moment_guard_bits(long p, const arb_t m, const arb_t s)
{
    double sm = arf_get_d(arb_midref(s), ARF_RND_NEAR);
    double mm = arf_get_d(arb_midref(m), ARF_RND_NEAR);
    if (!(sm > 0) || !(mm < 0)) return 16;
    double t = -mm / sm;
    if (!isfinite(t) || t > 1e300) return 16 + 2 * p * 1000;
    return 16 + (slong)(2.0 * (double)p * log2(1.0 + t));
}

/* M_p(m, s) is nondecreasing in m (dM_p/dm = p M_{p-1} >= 0, and M_0 is a
 * distribution function), so over a ball m = [lo, hi] it ranges over
 * [M_p(lo), M_p(hi)].  Evaluating at the two exact endpoints avoids the
 * overestimation of the recursion, erfc and exp on a wide ball (measured:
 * at s = 0.018 and |m| <= 0.16 the direct ball evaluation of M_1 is
 * [+/- 3e14]). */
static int moment_endpoints(arb_t res, long p, const arb_t m, const arb_t s, slong prec)
{
    arb_t e, r;
    arb_init(e);
    arb_init(r);
    arb_get_lbound_arf(arb_midref(e), m, prec);
    mag_zero(arb_radref(e));
    int rc = ibc_align_moment_arb(res, p, e, s, prec);
    arb_get_ubound_arf(arb_midref(e), m, prec);
    if (rc == IBC_OK) rc = ibc_align_moment_arb(r, p, e, s, prec);
    arb_union(res, res, r, prec);
    arb_clear(e);
    arb_clear(r);
    return rc;
}

int ibc_align_moment_arb(arb_t res, long p, const arb_t m, const arb_t s, slong prec)
{
    if (p < 0 || prec < 2 || !arb_is_finite(m) || !arb_is_finite(s)
        || !(arb_is_zero(s) || arb_is_positive(s))) {
        arb_indeterminate(res);
        return IBC_EINPUT;
    }
    if (!mag_is_zero(arb_radref(m))) return moment_endpoints(res, p, m, s, prec);
    slong w = prec + moment_guard_bits(p, m, s);
    /* The loss is bounded (2p log2|t| bits), so doubling reaches the target
     * quickly; when doubling no longer helps, the input balls limit the
     * result and more precision is wasted. */
    slong cap = 16 * prec + 64 * (p + 1) + 4096, prev = -1;
    for (;;) {
        moment_fixed(res, p, m, s, w);
        slong acc = arb_rel_accuracy_bits(res);
        if (arb_is_exact(res) || acc >= prec) break;
        if (prev >= 0 && acc <= prev + 2) break;
        if (w >= cap) break;
        prev = acc;
        w = 2 * w < cap ? 2 * w : cap;
    }
    return arb_is_finite(res) ? IBC_OK : IBC_ENUMERIC;
}

int ibc_align_moment_dm_arb(arb_t res, long p, long j, const arb_t m, const arb_t s, slong prec)
{
    if (j < 0 || p < 0 || j > p + 1) {
        arb_indeterminate(res);
        return IBC_EINPUT;
    }
    /* d^j/dm^j M_p = p!/(p-j)! M_{p-j} (from dM_q/dm = q M_{q-1}) */
    if (j <= p) {
        int rc = ibc_align_moment_arb(res, p - j, m, s, prec);
        for (long q = p; q > p - j; q--) arb_mul_ui(res, res, (ulong)q, prec + 8);
        return rc;
    }
    /* j = p + 1: p! dM_0/dm = p! phi(m/s)/s, which needs s > 0 */
    if (!arb_is_positive(s) || !arb_is_finite(m)) {
        arb_indeterminate(res);
        return IBC_EINPUT;
    }
    slong w = prec + 16;
    arb_t t, a;
    arb_init(t);
    arb_init(a);
    if (!mag_is_zero(arb_radref(m))) {
        /* phi(m/s) rises up to m = 0 and falls after: over [lo, hi] its
         * range is spanned by the endpoints and, if 0 is inside, by m = 0 */
        arb_get_lbound_arf(arb_midref(t), m, w);
        arb_get_ubound_arf(arb_midref(a), m, w);
        int rc = ibc_align_moment_dm_arb(res, p, j, t, s, prec);
        arb_t r;
        arb_init(r);
        if (rc == IBC_OK) rc = ibc_align_moment_dm_arb(r, p, j, a, s, prec);
        arb_union(res, res, r, prec);
        if (rc == IBC_OK && arb_contains_zero(m)) {
            arb_zero(t);
            rc = ibc_align_moment_dm_arb(r, p, j, t, s, prec);
            arb_union(res, res, r, prec);
        }
        arb_clear(r);
        arb_clear(t);
        arb_clear(a);
        return rc;
    }
    arb_div(t, m, s, w);
    gauss_pdf(res, t, w);
    arb_div(res, res, s, w);
    arb_fac_ui(a, (ulong)p, w);
    arb_mul(res, res, a, prec);
    arb_clear(t);
    arb_clear(a);
    return arb_is_finite(res) ? IBC_OK : IBC_ENUMERIC;
}

int ibc_align_moment_mpfr(mpfr_ptr res, long p, mpfr_srcptr m, mpfr_srcptr s, mpfr_rnd_t rnd)
{
    if (!mpfr_number_p(m) || !mpfr_number_p(s) || mpfr_sgn(s) < 0 || p < 0) {
        mpfr_set_nan(res);
        return IBC_EINPUT;
    }
    arb_t am, as, r;
    arb_init(am);
    arb_init(as);
    arb_init(r);
    arf_set_mpfr(arb_midref(am), m);   /* exact */
    arf_set_mpfr(arb_midref(as), s);
    slong prec = (slong)mpfr_get_prec(res);
    int rc = IBC_ENUMERIC;
    /* Ziv's strategy: the inputs are exact, so more precision always
     * tightens the ball; stop as soon as it decides the rounding.  Rounding
     * is monotone, so when both ends of the ball round to the same number,
     * so does every point between (arb_can_round_mpfr also wants the
     * ternary value and gives up next to a representable number, e.g. at
     * Phi(300) = 1 - 1e-19546). */
    mpfr_t lo, hi;
    mpfr_init2(lo, (mpfr_prec_t)prec);
    mpfr_init2(hi, (mpfr_prec_t)prec);
    arf_t e;
    arf_init(e);
    for (slong w = prec + 32; w <= 64 * prec + 8192; w *= 2) {
        if (ibc_align_moment_arb(r, p, am, as, w) != IBC_OK) break;
        arb_get_lbound_arf(e, r, 2 * w);
        arf_get_mpfr(lo, e, rnd);
        arb_get_ubound_arf(e, r, 2 * w);
        arf_get_mpfr(hi, e, rnd);
        if (mpfr_equal_p(lo, hi)) {
            rc = IBC_OK;
            break;
        }
    }
    arf_clear(e);
    mpfr_clear(lo);
    mpfr_clear(hi);
    /* arf_get_mpfr rounds the midpoint; when the loop gave up, that is
     * still the best value available (IBC_ENUMERIC says so). */
    if (arb_is_finite(r)) arf_get_mpfr(res, arb_midref(r), rnd);
    else mpfr_set_nan(res);
    arb_clear(am);
    arb_clear(as);
    arb_clear(r);
    return rc;
}

/* ---- double ---- */

/* Generalized Mills ratios in the lower tail.  With x = -t > 0,
 *   M_p(m, s) = s^p p! phi(x) J_p(x),  J_p(x) = (1/p!) int_0^inf y^p e^(-xy - y^2/2) dy,
 * J_{-1} = 1 and J_0 = Mills' ratio.  Stein's recursion becomes
 * p J_p = J_{p-2} - x J_{p-1}, which cancels forward but is stable backward:
 * the ratios rho_n = J_n / J_{n-1} obey rho_{n-1} = 1/(x + n rho_n), a
 * continued fraction (Laplace's for n = 0).  Started at rho_N = 0, the
 * start error dies out going down; N = p + 24 + 600/x^2 is taken from a
 * measured table (x >= 2, p <= 4: the relative error is at rounding level,
 * 1e-16, from N = 80 at x = 2 and N = 40 at x = 4 on), and
 * tests/test_align.c checks the double path against Arb. */
static double mills_J(long p, double x)
{
    long N = p + 24 + (long)(600.0 / (x * x));
    double rho = 0.0, J = 1.0;
    /* rho_n for n = N-1 .. 0; keep the product of rho_0..rho_p */
    for (long n = N; n >= 1; n--) {
        rho = 1.0 / (x + (double)n * rho);   /* rho_{n-1} */
        if (n - 1 <= p) J *= rho;
    }
    return J;
}

/* Below this |t| the forward recursion loses at most about 2p log2(1 + |t|)
 * <= 13 bits for p <= 4; beyond it the tail form takes over. */
#define IBC_MOMENT_TAIL_T 2.0

int ibc_align_moment_d(double *res, long p, double m, double s)
{
    *res = NAN;
    if (p < 0 || !isfinite(m) || !isfinite(s) || s < 0) return IBC_EINPUT;
    if (s == 0 || m / s > DBL_MAX) {
        /* sigma(m)^p; for t = +inf the Gaussian part is below double's
         * resolution of m^p (it is s-smaller by a factor far beyond 2^-53). */
        if (s > 0) {
            double b = 1.0, c = m;   /* recursion with Phi = 1, phi = 0: exact enough */
            if (p == 0) { *res = 1.0; return IBC_OK; }
            for (long q = 2; q <= p; q++) {
                double a = m * c + (double)(q - 1) * s * s * b;
                b = c;
                c = a;
            }
            *res = c;
        } else {
            *res = p == 0 ? (m > 0 ? 1.0 : 0.0) : (m > 0 ? pow(m, (double)p) : 0.0);
        }
        return isfinite(*res) ? IBC_OK : IBC_ENUMERIC;
    }
    double t = m / s;
    if (t >= -IBC_MOMENT_TAIL_T) {
        double Phi = 0.5 * erfc(-t / M_SQRT2);
        if (p == 0) { *res = Phi; return IBC_OK; }
        double phi = exp(-0.5 * t * t) / sqrt(2.0 * M_PI);
        double b = Phi, c = m * Phi + s * phi;
        for (long q = 2; q <= p; q++) {
            double a = m * c + (double)(q - 1) * s * s * b;
            b = c;
            c = a;
        }
        *res = c;
        if (!isfinite(c)) return IBC_ENUMERIC;
        /* s^p terms may underflow for tiny s even though the value would not */
        if (c != 0 && fabs(c) < DBL_MIN) return IBC_ENUMERIC;
        if (c == 0) return IBC_ENUMERIC;
        return IBC_OK;
    }
    double x = -t;
    if (!(x <= 1e3)) {
        /* e^(-x^2/2) < e^(-5e5) outweighs any s^p p! a double can hold */
        *res = 0;
        return IBC_ENUMERIC;
    }
    double J = mills_J(p, x);
    /* exp(-x^2/2) to nearly full relative accuracy although x^2/2 is up to
     * 708: the rounding errors of t = m/s and of t*t (recovered exactly by
     * fma) would otherwise cost up to 708 ulps. */
    double et = fma(-t, s, m) / s;                /* t_exact ~ t + et */
    double hi = t * t, lo = fma(t, t, -hi) + 2.0 * t * et;
    double ephi = exp(-0.5 * hi) * (1.0 - 0.5 * lo);
    /* log M_p, to know whether the value is a normal double at all */
    double lg = (double)p * log(s) + lgamma((double)p + 1.0) - 0.5 * hi - 0.5 * lo
                - 0.5 * log(2.0 * M_PI) + log(J);
    if (lg < log(DBL_MIN)) {
        *res = exp(lg);    /* 0 or subnormal: no relative accuracy */
        return IBC_ENUMERIC;
    }
    double sp = pow(s, (double)p), fac = 1.0;
    for (long q = 2; q <= p; q++) fac *= (double)q;
    double phi = ephi / sqrt(2.0 * M_PI);
    if (sp < DBL_MIN || phi < DBL_MIN) *res = exp(lg);   /* a factor alone underflows */
    else *res = sp * fac * phi * J;
    return IBC_OK;
}
