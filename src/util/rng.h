/* util: the one seeded generator of the library.  splitmix64 (Steele, Lea &
 * Flood 2014): tiny, self-contained, so a seed alone fixes every draw and no
 * global state is touched.  The data samples use it as counter-based
 * streams, one per (seed, purpose, row) through ibc_util_rng_key, so that any row
 * can be generated alone, in any order or thread (model.c, gauss.c); the
 * attacks' random starts and the distance estimator's random points use it
 * too.  The centers and the initial weights still come from GMP's generator
 * at IBC_GEN_BITS (model.h, net.c). */
#ifndef IBC_UTIL_RNG_H
#define IBC_UTIL_RNG_H
#include <stdint.h>

/* splitmix64's output function: a bijection of 64-bit words that mixes
 * every input bit into every output bit. */
static inline uint64_t ibc_util_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t ibc_util_rng_next(uint64_t *s)
{
    return ibc_util_rng_mix(*s += 0x9E3779B97F4A7C15ULL);
}

/* The starting state of stream (seed, purpose, index): each field goes
 * through the mixer before the next is added, so that nearby seeds, purposes
 * and indices (row i and i + 1) give unrelated states, not shifted copies
 * of one sequence. */
static inline uint64_t ibc_util_rng_key(uint64_t seed, uint64_t purpose, uint64_t index)
{
    uint64_t s = ibc_util_rng_mix(seed + 0x9E3779B97F4A7C15ULL);
    s = ibc_util_rng_mix(s ^ (purpose + 0xD1B54A32D192ED03ULL));
    return ibc_util_rng_mix(s ^ (index + 0x8CB92BA72F3D8DD7ULL));
}

/* Uniform integer in [0, m), m >= 1, without bias: the words below
 * 2^64 mod m are redrawn, so the 2^64 - (2^64 mod m) accepted words, a
 * multiple of m, map evenly onto [0, m). */
static inline uint64_t ibc_util_rng_below(uint64_t *s, uint64_t m)
{
    uint64_t skip = (0 - m) % m;   /* 2^64 mod m */
    for (;;) {
        uint64_t r = ibc_util_rng_next(s);
        if (r >= skip) return r % m;
    }
}

/* Uniform in [0, 1), 53 random bits. */
static inline double ibc_util_rng_unif(uint64_t *s)
{
    return (double)(ibc_util_rng_next(s) >> 11) * 0x1p-53;
}

/* Uniform in (0, 1): a log of it never sees 0. */
static inline double ibc_util_rng_unif_open(uint64_t *s)
{
    return ((double)(ibc_util_rng_next(s) >> 11) + 0.5) * 0x1p-53;
}

#endif
