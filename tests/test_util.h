/* Shared by the unit tests: one line per check (verdict, name, the measured
 * value and its tolerance), and a failure count for main's exit status. */
#ifndef IBC_TEST_UTIL_H
#define IBC_TEST_UTIL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/model.h"

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
    ibc_data *d = ibc_data_alloc(&par, n, 0);
    if (!d) {
        fprintf(stderr, "ibc_data_alloc failed\n");
        exit(2);
    }
    return d;
}

#endif
