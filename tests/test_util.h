/* Shared by the unit tests: one line per check (verdict, name, the measured
 * value and its tolerance), and a failure count for main's exit status. */
#ifndef IBC_TEST_UTIL_H
#define IBC_TEST_UTIL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/model.h"

static int failures;

static void report(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
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

/* A data set of the model with these sizes (exits on bad sizes: a test bug). */
static inline ibc_data *make_data(long D, long K, long K1, double alpha, long n, unsigned long seed)
{
    ibc_model_params par;
    ibc_model_default(&par);
    par.D = D;
    par.K = K;
    par.K1 = K1;
    par.alpha = alpha;
    par.seed = seed;
    ibc_data *d = ibc_data_alloc(&par, n, 0);
    if (!d) {
        fprintf(stderr, "ibc_data_alloc failed\n");
        exit(2);
    }
    return d;
}

#endif
