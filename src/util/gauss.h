/* util: standard normal deviates by Marsaglia's polar method, drawn from a
 * splitmix64 stream (rng.h).  The one Gaussian generator of the data
 * (model.c); compiled with -ffp-contract=off (CMakeLists.txt) so that no
 * compiler fuses u*u + v*v into an fma and the deviates are the same bits
 * with every compiler and flag set (given the C library's log).  The
 * attacks' random starts (robust/attack.c) and the distance estimator's
 * points (robust/dist.c) keep their own Box-Muller deviates: the polar
 * method draws other values, so their recorded results would move. */
#ifndef IBC_UTIL_GAUSS_H
#define IBC_UTIL_GAUSS_H
#include <stdint.h>

typedef struct {
    uint64_t s;      /* the splitmix64 state */
    double spare;    /* the second deviate of the last accepted pair */
    int has_spare;
} ibc_gauss_stream;

/* A stream starting at state s (ibc_util_rng_key gives one per row). */
void ibc_util_gauss_init(ibc_gauss_stream *g, uint64_t s);
/* The next N(0, 1) deviate. */
double ibc_util_gauss_next(ibc_gauss_stream *g);
/* out[0..n) = the next n deviates. */
void ibc_util_gauss_fill(ibc_gauss_stream *g, double *out, long n);

#endif
