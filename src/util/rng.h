/* util: the one seeded generator of the library.  splitmix64 (Steele, Lea &
 * Flood 2014): tiny, self-contained, so a seed alone fixes every draw and no
 * global state is touched.  The data and initial weights do not use it (they
 * come from GMP's generator at IBC_GEN_BITS, see model.h); the attacks'
 * random starts and the distance estimator's random points do. */
#ifndef IBC_UTIL_RNG_H
#define IBC_UTIL_RNG_H
#include <stdint.h>

static inline uint64_t ibc_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 random bits. */
static inline double ibc_rng_unif(uint64_t *s)
{
    return (double)(ibc_rng_next(s) >> 11) * 0x1p-53;
}

/* Uniform in (0, 1): a log of it never sees 0. */
static inline double ibc_rng_unif_open(uint64_t *s)
{
    return ((double)(ibc_rng_next(s) >> 11) + 0.5) * 0x1p-53;
}

#endif
