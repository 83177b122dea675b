/* Benchmark: one full-batch gradient evaluation at the defaults (D=30, K=10,
 * K1=6, n=500, h=100, p=3, mean exp loss) in double, mpfr:128 and mpfr:256.
 * Prints the machine, the median of several runs, and the ratios.
 * Usage: bench_grad [reps]  (label `bench`, not in the default ctest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include "ibcheck/ibcheck.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of one gradient evaluation in mode pr. */
static double time_grad(const ibc_data *d, ibc_prec pr, int reps)
{
    char err[IBC_ERRLEN];
    ibc_net_params np = {.p = 3, .h = 100, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(d, &np, pr);
    ibc_vec th, g, l;
    ibc_vec_init(&th, ibc_net_dim(net), pr);
    ibc_vec_init(&g, ibc_net_dim(net), pr);
    ibc_vec_init(&l, 1, pr);
    ibc_net_init_theta(net, &th, IBC_INIT_BALANCED, "0.1", 0, err);
    double *t = malloc(sizeof(double) * (size_t)reps);
    ibc_net_eval(net, &th, NULL, 0, &l, &g, NULL);    /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        ibc_net_eval(net, &th, NULL, 0, &l, &g, NULL);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_d);
    double med = t[reps / 2];
    free(t);
    ibc_vec_clear(&th);
    ibc_vec_clear(&g);
    ibc_vec_clear(&l);
    ibc_net_free(net);
    return med;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1) reps = 1;
    ibc_prec_blas_setup();
    struct utsname u;
    uname(&u);
    printf("machine: %s %s %s; command: %s %d\n", u.sysname, u.release, u.machine, argv[0], reps);
    ibc_model_params mp;
    ibc_model_default(&mp);
    ibc_data *d = ibc_data_alloc(&mp, 500, 0);
    double td = time_grad(d, ibc_prec_double(), reps * 20);
    double t128 = time_grad(d, ibc_prec_mpfr(128), reps);
    double t256 = time_grad(d, ibc_prec_mpfr(256), reps);
    printf("gradient at the defaults (n=500 D=30 h=100 p=3), median of %d runs:\n", reps);
    printf("  double    %10.3f ms\n", 1e3 * td);
    printf("  mpfr:128  %10.3f ms  (%.0fx double)\n", 1e3 * t128, t128 / td);
    printf("  mpfr:256  %10.3f ms  (%.0fx double, %.2fx mpfr:128)\n", 1e3 * t256, t256 / td, t256 / t128);
    ibc_data_free(d);
    return 0;
}
