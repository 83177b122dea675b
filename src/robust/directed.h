/* robust (internal): directed rounding by one step outward.
 *
 * After a round-to-nearest operation the exact result lies within half an ulp
 * of the rounded one, so one nextafter step toward -inf (+inf) gives a lower
 * (upper) bound of it (subnormals included; an overflow to +-inf stays a
 * valid bound).  The certificates' inner loops and the rigorous double
 * margin (rnet.c) are built from these: every stored number is a bound on
 * the exact real it stands for, about 25x cheaper than an Arb ball. */
#ifndef IBC_ROBUST_DIRECTED_H
#define IBC_ROBUST_DIRECTED_H
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double ibc_robust_dn(double x)
{
    /* nextafter(x, -inf) on the bits (a libm call here was most of a
     * certificate's inner loop): x > 0 loses one ulp, x < 0 gains one. */
    if (x != x || x == -INFINITY)
        return x;
    if (x == 0)
        return -0x1p-1074;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    u = x > 0 ? u - 1 : u + 1;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline double ibc_robust_up(double x)
{
    if (x != x || x == INFINITY)
        return x;
    if (x == 0)
        return 0x1p-1074;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    u = x > 0 ? u + 1 : u - 1;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The same bounds without branches, for loops the compiler vectorizes: v is
 * the round-to-nearest result of one operation (or of a fused multiply-add),
 * whose exact value e satisfies |e - v| <= 2^-53 |e| in the normal range
 * and <= 2^-1075 below it.  v (1 -+ 2^-51) rounded stays on the far side of
 * e by more than its own rounding, and 2^-1073 covers the subnormal range
 * (it vanishes into v's rounding elsewhere), so wdn(v) <= e <= wup(v).  Four
 * ulps wide instead of one.  NaN passes through, and so does an overflow to
 * +-inf, which is then not a bound: callers reject non-finite results. */
static inline double ibc_robust_wdn(double v)
{
    double a = v * (1 - 0x1p-51), b = v * (1 + 0x1p-51);
    return (a < b ? a : b) - 0x1p-1073;
}

static inline double ibc_robust_wup(double v)
{
    double a = v * (1 - 0x1p-51), b = v * (1 + 0x1p-51);
    return (a > b ? a : b) + 0x1p-1073;
}

/* z^p for z >= 0 and integer p >= 1, rounded down (dir < 0) or up (dir > 0):
 * every product of bounds of one sign is again a bound. */
static inline double ibc_robust_pow_dir(double z, long p, int dir)
{
    double r = z;
    for (long i = 1; i < p; i++)
        r = dir < 0 ? ibc_robust_dn(r * z) : ibc_robust_up(r * z);
    return r;
}

/* gamma_n = n u / (1 - n u) (u = 2^-53) rounded up, for n u < 0.01: any
 * double sum of n products, in any order, with or without fused
 * multiply-adds, errs by at most gamma_n sum |a_i b_i| (Higham, Accuracy and
 * Stability, Lemma 3.4 / §3.1), plus n 2^-1075 when products underflow. */
static inline double ibc_robust_gamma(long n)
{
    return ibc_robust_up(1.02 * (double)n * 0x1p-53);
}
/* Absolute slack for underflow in a double sum of n products or squares:
 * each gradual-underflow rounding errs by at most 2^-1075; (n + 1) 2^-1000
 * covers it with room. */
static inline double ibc_robust_underflow(long n)
{
    return (double)(n + 1) * 0x1p-1000;
}

/* Bounds of the exact sum of n squares (or |products|) from its plain
 * double sum ss >= 0: |ss - exact| <= gamma_n exact (+ underflow), so
 * exact <= ss (1 + 2 gamma_n) and exact >= ss / (1 + 2 gamma_n). */
static inline double ibc_robust_sumsq_up(double ss, long n)
{
    return ibc_robust_up(ibc_robust_up(ss * ibc_robust_up(1 + 2 * ibc_robust_gamma(n))) + ibc_robust_underflow(n));
}

static inline double ibc_robust_sumsq_dn(double ss, long n)
{
    return ibc_robust_dn(ibc_robust_dn(ss / ibc_robust_up(1 + 2 * ibc_robust_gamma(n))) - ibc_robust_underflow(n));
}

/* Error-free transformations (Knuth's TwoSum; TwoProduct by fma) and the
 * compensated dot product Dot2 of Ogita, Rump and Oishi ("Accurate sum and
 * dot product", SIAM J. Sci. Comput. 26, 2005, Alg. 5.3 and Prop. 5.5): the
 * result is as if computed in twice the working precision,
 * |res - sum a_i b_i| <= u |sum a_i b_i| + gamma_n^2 sum |a_i b_i|
 * (no underflow).  The margin needs it: at a flip found by bisection, y f is
 * ~1e-13 of its terms, below a plain dot product's error bound. */
static inline void ibc_robust_two_sum(double a, double b, double *s, double *e)
{
    double x = a + b, z = x - a;
    *s = x;
    *e = (a - (x - z)) + (b - z);
}

/* sum a_i b_i by Dot2. */
static inline double ibc_robust_dot2(const double *a, const double *b, long n)
{
    double s = 0, c = 0;
    for (long i = 0; i < n; i++) {
        double p = a[i] * b[i], pe = fma(a[i], b[i], -p), t;
        ibc_robust_two_sum(s, p, &s, &t);
        c += t + pe;
    }
    return s + c;
}

/* Its error bound, given B >= sum |a_i b_i|: 2^-52 |res| covers
 * u |sum| (|sum| <= (1 + u) |res| + the rest), 2 gamma_n^2 B the rest, and
 * (n + 1) 2^-1000 any underflow of the products' low parts. */
static inline double ibc_robust_dot2_err(double res, double B, long n)
{
    double g = ibc_robust_gamma(n);
    return ibc_robust_up(ibc_robust_up(ibc_robust_up(0x1p-52 * fabs(res)) + ibc_robust_up(ibc_robust_up(2 * ibc_robust_up(g * g)) * B)) + ibc_robust_underflow(n));
}

/* Enclosure [nl, nh] of ||w|| (Dot2 for the squares, then its bound);
 * returns 0 when the lower end is not > 0. */
static inline int ibc_robust_norm_enclose_dot2(const double *w, long D, double *nl, double *nh)
{
    double q = ibc_robust_dot2(w, w, D);
    double eq = ibc_robust_dot2_err(q, ibc_robust_sumsq_up(q, D), D);
    double ql = ibc_robust_dn(q - eq);
    *nh = ibc_robust_up(sqrt(ibc_robust_up(q + eq)));
    *nl = ql > 0 ? ibc_robust_dn(sqrt(ql)) : 0.0;
    return ql > 0;
}
#endif
