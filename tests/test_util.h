/* Shared by the unit tests: one line per check (verdict, name, the measured
 * value and its tolerance), and a failure count for main's exit status. */
#ifndef IBC_TEST_UTIL_H
#define IBC_TEST_UTIL_H
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/model.h"
#include "util/clock.h"
#include "util/rng.h"

static int failures;

static void report(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4), unused));
static void report(const char *name, int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%-4s %-52s ", ok ? "ok" : "FAIL", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (!ok) failures++;
}

/* The short form: "ok  : what" or "FAIL: what". */
static void __attribute__((unused)) check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

/* The tests' seeded stream: the library's generator (util/rng.h) on the
 * test's own state, which each test seeds itself, so the test's points do
 * not depend on what the library drew.  nrand: Box-Muller. */
static uint64_t rng_state __attribute__((unused));
static uint64_t __attribute__((unused)) rng_next(void) { return ibc_util_rng_next(&rng_state); }
static double __attribute__((unused)) urand(void) { return ibc_util_rng_unif_open(&rng_state); }
static double __attribute__((unused)) nrand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}
/* Wall-clock seconds, for the timings some tests print. */
static double __attribute__((unused)) wall(void) { return ibc_util_now(); }

/* IBC_TEST_REPEAT=N multiplies the random points of the tests that draw
 * them (default 1). */
static long __attribute__((unused)) test_repeat(void)
{
    const char *s = getenv("IBC_TEST_REPEAT");
    long r = s ? atol(s) : 1;
    return r < 1 ? 1 : r;
}

/* Model parameters with these sizes (centers e_k). */
static inline ibc_model_params make_params(long D, long K, long K1, double alpha, unsigned long seed)
{
    ibc_model_params par;
    ibc_model_default(&par);
    par.D = D;
    par.K = K;
    par.K1 = K1;
    par.alpha = alpha;
    par.seed = seed;
    return par;
}

/* A data set of the model with these sizes (exits on bad sizes: a test bug). */
static inline ibc_data *make_data(long D, long K, long K1, double alpha, long n, unsigned long seed)
{
    ibc_model_params par = make_params(D, K, K1, alpha, seed);
    ibc_data *d = ibc_model_data_alloc(&par, n, 0);
    if (!d) {
        fprintf(stderr, "ibc_model_data_alloc failed\n");
        exit(2);
    }
    return d;
}

#endif
