/* util: Clopper-Pearson intervals, used by the claims' Monte Carlo rows and
 * by reproduce's robust curves (so they live below both). */
#include <math.h>
#include "util/cp.h"

/* P(X <= k) for X ~ Binomial(n, p): the term at k in logs, then the terms
 * below it by their ratio i q / ((n - i + 1) p), relative to the term at k
 * (no underflow), stopping once they no longer count.  The bisections of
 * the Clopper-Pearson ends call it with p >= k/n, where the terms fall
 * from k down, so few terms are needed even for k in the thousands. */
static double binom_cdf(long k, long n, double p)
{
    if (p <= 0)
        return 1.0;
    if (p >= 1)
        return k >= n ? 1.0 : 0.0;
    double lp = log(p), lq = log1p(-p), r = exp(lq - lp);
    double ltop = lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1) + k * lp + (n - k) * lq;
    double s = 1, t = 1;
    for (long i = k; i > 0; i--) {
        double ratio = (double)i / (double)(n - i + 1) * r;
        t *= ratio;
        s += t;
        if (ratio < 1 && t < 1e-17 * s)
            break;
    }
    return exp(ltop + log(s));
}

double ibc_util_cp_upper(long k, long n)
{
    if (k >= n)
        return 1.0;
    if (k == 0)
        return -expm1(log(0.025) / (double)n);   /* 1 - 0.025^(1/n) */
    double lo = (double)k / (double)n, hi = 1.0;
    for (int it = 0; it < 80; it++) {
        double mid = 0.5 * (lo + hi);
        if (binom_cdf(k, n, mid) > 0.025)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

double ibc_util_cp_lower(long k, long n)
{
    return 1 - ibc_util_cp_upper(n - k, n);
}
