/* util: the polar method (Marsaglia & Bray 1964).  Rejection keeps (u, v)
 * uniform in the unit disc; then u f and v f with f = sqrt(-2 log r / r) are
 * two independent N(0, 1) deviates.  No cos or sin: only log and sqrt, and
 * sqrt is correctly rounded, so the deviates depend only on the stream and
 * on log.  u and v are multiples of 2^-52 in [-1, 1), exact. */
#include <math.h>
#include "util/gauss.h"
#include "util/rng.h"

void ibc_util_gauss_init(ibc_gauss_stream *g, uint64_t s)
{
    g->s = s;
    g->spare = 0;
    g->has_spare = 0;
}

double ibc_util_gauss_next(ibc_gauss_stream *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    for (;;) {
        double u = 2.0 * ibc_util_rng_unif(&g->s) - 1.0;
        double v = 2.0 * ibc_util_rng_unif(&g->s) - 1.0;
        double r = u * u + v * v;   /* two roundings: -ffp-contract=off keeps them */
        if (r >= 1.0 || r == 0.0) continue;
        double f = sqrt(-2.0 * log(r) / r);
        g->spare = v * f;
        g->has_spare = 1;
        return u * f;
    }
}

void ibc_util_gauss_fill(ibc_gauss_stream *g, double *out, long n)
{
    for (long i = 0; i < n; i++) out[i] = ibc_util_gauss_next(g);
}
