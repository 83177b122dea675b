/* Benchmark of the network's gradient (issue 5), the C half of bench/run.sh.
 *
 * Items (median of several samples each; see bench/README.md):
 *   step     double full-batch GD step at the defaults (n=500 D=30 h=100 p=3,
 *            mean exp loss, lr 0.2), 1 and 2 threads (IBC_THREADS = 1, 2)
 *   big      the same step at n=20000 D=1000 h=2000, 1 and 2 threads
 *   sgd      the paper's SGD step (batch 100 at that size) against its two
 *            dgemm alone, in alternating samples, 1 and 2 threads
 *   mpfr     mpfr:256 (and mpfr:128) gradient at the defaults
 *   naive    the same gradient with the two products as plain MPFR triple loops
 *   old      the same gradient with the product before issue 17
 *            (ibc_prec_gemm_mpfr_approx: arb_mat_approx_mul)
 *   steps    mpfr:113 and mpfr:256 GD steps (ibc_flow_run) against the double step
 *   kernel   the two products alone as arb_mat_mul at 256 bits (the bound)
 *   arb      arb:256 gradient, when this build has the mode
 *   profile  mpfr:256 gradient split into its two products and the rest
 *   scaling  log-log slopes of the double and mpfr:256 gradients in n, D, h, bits
 * Every measurement is one line "result KEY WALL s cpu CPU s ..." and every
 * ratio of two items timed in alternating samples one line "ratio KEY R x cpu
 * R x ..." (parsed by bench/driver.py); then a table of the goals this program
 * can check alone.
 *
 * Usage: bench_grad [--reps N | N] [--big-reps N] [--scale-reps N] [--items LIST] [--no-ratios]
 * (label `bench`, not in the default ctest).  bench/run.sh runs it with the peers. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "ibcheck/ibcheck.h"
#include "prec/gemm.h"
#include "prec/ibc_arb.h"
#include "net/net_internal.h"

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU seconds of this process (all its threads): on a shared machine, a
 * single-threaded item's CPU time is what its wall time would be alone. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* ---- Two more instantiations of the network's template (src/net/net_impl.h),
 * so that they compute exactly the library's formulas and differ from it only
 * in the matrix products:
 *   _naive: each product is a plain MPFR triple loop (mpfr_mul, mpfr_add),
 *           the floor that any MPFR implementation reaches without a kernel;
 *   _old:   the product before issue 17, ibc_prec_gemm_mpfr_approx (arb_mat_approx_mul);
 *   _prof:  the library's ibc_prec_gemm_mpfr, timed, for the phase profile. ---- */

/* C (M x N) = op(A) op(B) row-major as in prec/gemm.h, by the schoolbook loop. */
static void naive_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B,
                            mpfr_ptr C, long bits)
{
    mpfr_t acc, t;
    mpfr_inits2((mpfr_prec_t)bits, acc, t, (mpfr_ptr)0);
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            mpfr_set_zero(acc, 1);
            for (long k = 0; k < K; k++) {
                mpfr_srcptr a = ta ? A + k * M + i : A + i * K + k;
                mpfr_srcptr b = tb ? B + j * K + k : B + k * N + j;
                mpfr_mul(t, a, b, MPFR_RNDN);
                mpfr_add(acc, acc, t, MPFR_RNDN);
            }
            mpfr_set(C + i * N + j, acc, MPFR_RNDN);
        }
    mpfr_clears(acc, t, (mpfr_ptr)0);
}

/* CPU seconds of ibc_prec_gemm_mpfr in the _prof instantiation: the current
 * gradient's so far, and the least over whole gradients (two calls each). */
static double prof_gemm_cur, prof_gemm_min = INFINITY, prof_dgemm_cur, prof_dgemm_min = INFINITY;
static long prof_gemm_calls;

static void prof_reset(void)
{
    prof_gemm_cur = prof_dgemm_cur = 0;
    prof_gemm_min = prof_dgemm_min = INFINITY;
    prof_gemm_calls = 0;
}

static void prof_gemm_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B,
                           mpfr_ptr C, long bits)
{
    ibc_gemm_stats s0, s1;
    ibc_prec_gemm_exact_stats(&s0);
    double t0 = cpu_now();
    ibc_prec_gemm_mpfr(ta, tb, M, N, K, A, B, C, bits);
    prof_gemm_cur += cpu_now() - t0;
    ibc_prec_gemm_exact_stats(&s1);
    prof_dgemm_cur += 1e-9 * (double)(s1.dgemm_ns - s0.dgemm_ns);
    if (++prof_gemm_calls % 2 == 0) {
        if (prof_gemm_cur < prof_gemm_min) prof_gemm_min = prof_gemm_cur;
        if (prof_dgemm_cur < prof_dgemm_min) prof_dgemm_min = prof_dgemm_cur;
        prof_gemm_cur = prof_dgemm_cur = 0;
    }
}

#include "prec/scalar_mpfr.h"
#undef FN
#undef S_GEMM
#define FN(name) name##_naive
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) naive_gemm_mpfr((ta), (tb), (M), (N), (K), (A), (B), (C), (bits))
#include "net/net_impl.h"
/* scalar_mpfr.h cannot be included twice (it defines a helper): keep its layer */
#undef FN
#undef S_GEMM
#define FN(name) name##_old
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) ibc_prec_gemm_mpfr_approx((ta), (tb), (M), (N), (K), (A), (B), (C), (bits))
#include "net/net_impl.h"
#undef FN
#undef S_GEMM
#define FN(name) name##_prof
#define S_GEMM(ta, tb, M, N, K, A, B, C, bits) prof_gemm_mpfr((ta), (tb), (M), (N), (K), (A), (B), (C), (bits))
#include "net/net_impl.h"
#include "prec/scalar_undef.h"

/* ---- timing ---- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*bench_fn)(void *ctx);

typedef struct {
    double wall, cpu;  /* medians, seconds per call */
    int reps;
    long calls;        /* calls per sample */
    double cpu_min;    /* the least CPU sample: the one least disturbed by other jobs */
} timing;

static double median(double *t, int m)
{
    qsort(t, (size_t)m, sizeof(double), cmp_d);
    return m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
}

/* Warm-up: calls until 3 were made or 0.2 s passed (at least one).  Returns
 * the calls per sample: a call shorter than 20 ms is repeated within a sample
 * so that the clock's resolution does not count.  bench/peer_torch.py times
 * the same way. */
static long bench_warm(bench_fn fn, void *ctx)
{
    const double min_sample = 0.02;
    double t0 = now(), t1;
    long warm = 0;
    do {
        fn(ctx);
        warm++;
        t1 = now() - t0;
    } while (warm < 3 && t1 < 0.2);
    t1 /= (double)warm;
    long k = 1;
    if (t1 < min_sample) k = (long)ceil(min_sample / (t1 > 1e-7 ? t1 : 1e-7));
    return k > 100000 ? 100000 : k;
}

/* One sample: wall and CPU seconds per call over k calls. */
static void bench_sample(bench_fn fn, void *ctx, long k, double *wall, double *cpu)
{
    double t0 = now(), c0 = cpu_now();
    for (long i = 0; i < k; i++) fn(ctx);
    *cpu = (cpu_now() - c0) / (double)k;
    *wall = (now() - t0) / (double)k;
}

/* Medians over reps samples of the wall and CPU seconds one call of fn takes. */
static timing bench_median(bench_fn fn, void *ctx, int reps)
{
    long k = bench_warm(fn, ctx);
    double *tw = malloc(sizeof(double) * (size_t)reps), *tc = malloc(sizeof(double) * (size_t)reps);
    if (!tw || !tc) abort();
    for (int r = 0; r < reps; r++) bench_sample(fn, ctx, k, tw + r, tc + r);
    timing T = {median(tw, reps), median(tc, reps), reps, k, 0};
    T.cpu_min = tc[0];   /* median sorted it */
    free(tw);
    free(tc);
    return T;
}

typedef struct {
    timing a, b;
    double wall, cpu;  /* medians of the per-round ratios b / a */
} pair_timing;

/* a and b in alternating samples, so that both see the same load of a
 * shared machine; the ratio is the median of the per-round ratios. */
static pair_timing bench_pair(bench_fn fa, void *ca, bench_fn fb, void *cb, int reps)
{
    long ka = bench_warm(fa, ca), kb = bench_warm(fb, cb);
    double *t = malloc(sizeof(double) * 6 * (size_t)reps);
    if (!t) abort();
    double *aw = t, *ac = t + reps, *bw = t + 2 * reps, *bc = t + 3 * reps, *rw = t + 4 * reps, *rc = t + 5 * reps;
    for (int r = 0; r < reps; r++) {
        bench_sample(fa, ca, ka, aw + r, ac + r);
        bench_sample(fb, cb, kb, bw + r, bc + r);
        rw[r] = bw[r] / aw[r];
        rc[r] = bc[r] / ac[r];
    }
    pair_timing P = {{median(aw, reps), median(ac, reps), reps, ka, 0},
                     {median(bw, reps), median(bc, reps), reps, kb, 0},
                     median(rw, reps),
                     median(rc, reps)};
    P.a.cpu_min = ac[0];   /* median sorted them */
    P.b.cpu_min = bc[0];
    free(t);
    return P;
}

/* One measurement as the line bench/driver.py parses. */
static void result(const char *key, timing t, const char *what)
{
    printf("result %-26s %12.6g s  cpu %12.6g s  median of %d x %ld call%s; %s\n", key, t.wall, t.cpu,
           t.reps, t.calls, t.calls == 1 ? "" : "s", what);
    fflush(stdout);
}

/* A bench_pair: its two results and the ratio b / a, as bench/driver.py parses them. */
static void pair_report(const pair_timing *p, const char *key_a, const char *what_a, const char *key_b,
                        const char *what_b, const char *key_ratio, const char *what_ratio)
{
    result(key_a, p->a, what_a);
    result(key_b, p->b, what_b);
    printf("ratio  %-26s %12.4g x  cpu %12.4g x  median of %d alternating rounds; %s\n", key_ratio, p->wall,
           p->cpu, p->a.reps, what_ratio);
    fflush(stdout);
}

/* ---- the network under test ---- */

typedef struct {
    long n, D, h;
} shape;

static const shape DEFAULTS = {500, 30, 100};

typedef void (*eval_fn)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,
                        ibc_vec *loss, ibc_vec *grad, ibc_vec *fout);

typedef struct {
    ibc_net *net;
    ibc_vec th, g, l;
    eval_fn eval;      /* a per-mode instantiation, or NULL: the library's ibc_net_eval */
    double lr;         /* > 0: also take the GD step theta -= lr * grad (double only) */
} grad_ctx;

/* Data (ibc_model_data_alloc) and a balanced init at the CLI's default scale
 * (eps 1e-6), in mode pr.  Returns 0 when the mode cannot hold the net. */
static int grad_setup(grad_ctx *c, shape s, ibc_prec pr)
{
    char err[IBC_ERRLEN];
    ibc_model_params mp;
    ibc_model_default(&mp);
    mp.D = s.D;
    ibc_data *d = ibc_model_data_alloc(&mp, s.n, 0);
    if (!d) return 0;
    ibc_net_params np = {.p = 3, .h = s.h, .loss = IBC_LOSS_EXP, .mean = 1};
    memset(c, 0, sizeof *c);
    c->net = ibc_net_alloc(d, &np, pr);
    ibc_model_data_free(d);
    if (!c->net) return 0;
    ibc_prec_vec_init(&c->th, ibc_net_dim(c->net), pr);
    ibc_prec_vec_init(&c->g, ibc_net_dim(c->net), pr);
    ibc_prec_vec_init(&c->l, 1, pr);
    if (ibc_net_init_theta(c->net, &c->th, IBC_INIT_BALANCED, "1e-6", 0, err) != IBC_OK) {
        fprintf(stderr, "bench_grad: %s\n", err);
        exit(3);
    }
    return 1;
}

static void grad_clear(grad_ctx *c)
{
    ibc_prec_vec_clear(&c->th);
    ibc_prec_vec_clear(&c->g);
    ibc_prec_vec_clear(&c->l);
    ibc_net_free(c->net);
}

static void grad_call(void *ctx)
{
    grad_ctx *c = ctx;
    if (c->eval) c->eval(c->net, &c->th, NULL, c->net->n, &c->l, &c->g, NULL);
    else ibc_net_eval(c->net, &c->th, NULL, 0, &c->l, &c->g, NULL);
    if (c->lr > 0) {
        double *th = c->th.d;
        const double *g = c->g.d;
        for (long i = 0; i < c->th.len; i++) th[i] -= c->lr * g[i];
    }
}

/* Timing of one gradient (or GD step with lr > 0) of shape s in mode pr;
 * NaN when the net cannot be set up. */
static timing time_grad(shape s, ibc_prec pr, eval_fn eval, double lr, int reps)
{
    grad_ctx c;
    if (!grad_setup(&c, s, pr)) return (timing){NAN, NAN, 0, 0, NAN};
    c.eval = eval;
    c.lr = lr;
    timing t = bench_median(grad_call, &c, reps);
    grad_clear(&c);
    return t;
}

/* ---- items ---- */

typedef struct {
    timing step[2], big[2];       /* [threads-1] */
    timing mpfr256;
    pair_timing naive;            /* a: ours mpfr:256, b: naive loops */
    pair_timing old;              /* a: ours mpfr:256, b: the product before issue 17 */
    pair_timing steps[2];         /* a: double GD step, b: mpfr:113 / mpfr:256 step */
    pair_timing kernel;           /* a: the two arb_mat_mul, b: ours mpfr:256 */
    pair_timing arb;              /* a: ours mpfr:256, b: ours arb:256 */
    pair_timing sgd[2];           /* a: the two dgemm, b: the SGD step; [threads-1] */
    int have_naive, have_old, have_steps, have_kernel, have_arb, have_sgd;
} results;

static void item_step(results *R, int reps)
{
    for (int t = 1; t <= 2; t++) {
        ibc_prec_gemm_set_threads(t);
        R->step[t - 1] = time_grad(DEFAULTS, ibc_prec_double(), NULL, 0.2, reps);
        char key[32], what[160];
        snprintf(key, sizeof key, "double_step_t%d", t);
        snprintf(what, sizeof what, "double GD step (grad + update), n=500 D=30 h=100 p=3, IBC_THREADS=%d", t);
        result(key, R->step[t - 1], what);
    }
    ibc_prec_gemm_set_threads(1);
}

static void item_big(results *R, int reps)
{
    const shape big = {20000, 1000, 2000};
    double t0 = now();
    grad_ctx c;
    if (!grad_setup(&c, big, ibc_prec_double())) {
        printf("big: setup failed\n");
        return;
    }
    printf("big: data and init for n=20000 D=1000 h=2000 took %.1f s (not timed)\n", now() - t0);
    c.lr = 0.2;
    for (int t = 1; t <= 2; t++) {
        ibc_prec_gemm_set_threads(t);
        R->big[t - 1] = bench_median(grad_call, &c, reps);
        char key[32], what[160];
        snprintf(key, sizeof key, "double_step_big_t%d", t);
        snprintf(what, sizeof what, "double GD step, n=20000 D=1000 h=2000 p=3, IBC_THREADS=%d", t);
        result(key, R->big[t - 1], what);
    }
    ibc_prec_gemm_set_threads(1);
    grad_clear(&c);
}

/* ---- sgd: the paper's SGD step (batch 100 of n = 20000, D = 1000, h = 2000)
 * against its bound, the step's two products alone (X_b W^T and G^T X_b),
 * timed in alternating samples at the same thread count. ---- */

#define SGD_BATCH 100

typedef struct {
    grad_ctx *c;
    long r0;            /* the next call's shuffle seed */
} sgd_ctx;

/* SGD_STEPS steps of the library's SGD (ibc_flow_run: shuffle, gradient on
 * the batch, theta -= lr * grad with the finiteness check), so that the
 * per-call set-up (two work vectors, the shuffle) is spread over them. */
#define SGD_STEPS 10
static void sgd_call(void *ctx)
{
    sgd_ctx *s = ctx;
    grad_ctx *c = s->c;
    char err[IBC_ERRLEN];
    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    o.method = IBC_METHOD_SGD;
    o.lr = c->lr;
    o.steps = SGD_STEPS;
    o.batch = SGD_BATCH;
    o.seed = (unsigned long)s->r0++;
    ibc_flow_stats st;
    ibc_flow_stats_init(&st);
    if (ibc_flow_run(c->net, &c->th, &o, &st, err) != IBC_OK) {
        fprintf(stderr, "bench_grad: sgd: %s\n", err);
        exit(3);
    }
    ibc_flow_stats_clear(&st);
}

typedef struct {
    long D, h;
    double *X, *W, *A, *G, *B;
} gemm2_ctx;

static void gemm2_call(void *ctx)
{
    gemm2_ctx *k = ctx;
    for (int s = 0; s < SGD_STEPS; s++) {
        ibc_prec_gemm_d(0, 1, SGD_BATCH, k->h, k->D, k->X, k->W, k->A);   /* A = X_b W^T */
        ibc_prec_gemm_d(1, 0, k->h, k->D, SGD_BATCH, k->G, k->X, k->B);   /* B = G^T X_b */
    }
}

static void item_sgd(results *R, int reps)
{
    const shape big = {20000, 1000, 2000};
    grad_ctx c;
    if (!grad_setup(&c, big, ibc_prec_double())) {
        printf("sgd: setup failed\n");
        return;
    }
    c.lr = 0.2;
    sgd_ctx s = {&c, 0};
    gemm2_ctx k = {big.D, big.h, NULL, NULL, NULL, NULL, NULL};
    k.X = calloc((size_t)(SGD_BATCH * big.D), sizeof(double));
    k.W = calloc((size_t)(big.h * big.D), sizeof(double));
    k.A = calloc((size_t)(SGD_BATCH * big.h), sizeof(double));
    k.G = calloc((size_t)(SGD_BATCH * big.h), sizeof(double));
    k.B = calloc((size_t)(big.h * big.D), sizeof(double));
    if (!k.X || !k.W || !k.A || !k.G || !k.B) abort();
    for (long i = 0; i < SGD_BATCH * big.D; i++) k.X[i] = c.net->X.d[i];
    for (long i = 0; i < big.h * big.D; i++) k.W[i] = c.th.d[i];
    for (long i = 0; i < SGD_BATCH * big.h; i++) k.G[i] = 1e-3 * (double)(i % 7);
    for (int t = 1; t <= 2; t++) {
        ibc_prec_gemm_set_threads(t);
        R->sgd[t - 1] = bench_pair(gemm2_call, &k, sgd_call, &s, reps);
        char ka[32], kb[32], kr[32], wa[160], wb[160], wr[160];
        snprintf(ka, sizeof ka, "sgd_gemm2_t%d", t);
        snprintf(kb, sizeof kb, "sgd_step_t%d", t);
        snprintf(kr, sizeof kr, "sgd_step_over_gemm2_t%d", t);
        snprintf(wa, sizeof wa, "10 x the SGD step's two dgemm alone (100x2000x1000, 2000x1000x100), IBC_THREADS=%d", t);
        snprintf(wb, sizeof wb, "10 SGD steps (ibc_flow_run), batch 100, n=20000 D=1000 h=2000 p=3, IBC_THREADS=%d", t);
        snprintf(wr, sizeof wr, "SGD step / its two dgemm, IBC_THREADS=%d", t);
        pair_report(&R->sgd[t - 1], ka, wa, kb, wb, kr, wr);
    }
    R->have_sgd = 1;
    ibc_prec_gemm_set_threads(1);
    free(k.X);
    free(k.W);
    free(k.A);
    free(k.G);
    free(k.B);
    grad_clear(&c);
}

static void item_mpfr(results *R, int reps)
{
    result("mpfr128_grad", time_grad(DEFAULTS, ibc_prec_mpfr(128), NULL, 0, reps), "mpfr:128 gradient at the defaults");
    R->mpfr256 = time_grad(DEFAULTS, ibc_prec_mpfr(256), NULL, 0, reps);
    result("mpfr256_grad", R->mpfr256, "mpfr:256 gradient at the defaults");
}

/* max |a - b| / max |a| over two gradients, at 64 bits. */
static double rel_diff(const ibc_vec *a, const ibc_vec *b)
{
    mpfr_t diff, scale, x;
    mpfr_inits2(64, diff, scale, x, (mpfr_ptr)0);
    ibc_prec_vec_maxdiff(diff, a, b);
    mpfr_set_zero(scale, 1);
    for (long i = 0; i < a->len; i++) {
        ibc_prec_vec_get_mpfr(x, a, i);
        mpfr_abs(x, x, MPFR_RNDN);
        if (mpfr_cmp(x, scale) > 0) mpfr_set(scale, x, MPFR_RNDN);
    }
    mpfr_div(diff, diff, scale, MPFR_RNDN);
    double r = mpfr_get_d(diff, MPFR_RNDN);
    mpfr_clears(diff, scale, x, (mpfr_ptr)0);
    return r;
}

/* Another instantiation of the gradient (eval) against the library's: checked
 * first to compute the same gradient, then timed in alternating samples.
 * keys: the variant's name in the lines (naive, old), then the keys of ours,
 * the variant and the ratio. */
static pair_timing item_variant(eval_fn eval, const char *name, const char *key_ours, const char *key_var,
                                const char *what_var, const char *key_ratio, const char *what_ratio, int reps)
{
    grad_ctx a, b;
    grad_setup(&a, DEFAULTS, ibc_prec_mpfr(256));
    grad_setup(&b, DEFAULTS, ibc_prec_mpfr(256));
    b.eval = eval;
    grad_call(&a);
    grad_call(&b);
    printf("%s: max |grad_%s - grad_ours| / max |grad| = %.3g (256-bit arithmetic)\n", name, name,
           rel_diff(&a.g, &b.g));
    pair_timing P = bench_pair(grad_call, &a, grad_call, &b, reps);
    char what_ours[96];
    snprintf(what_ours, sizeof what_ours, "mpfr:256 gradient (ours), alternating with the %s one", name);
    pair_report(&P, key_ours, what_ours, key_var, what_var, key_ratio, what_ratio);
    grad_clear(&a);
    grad_clear(&b);
    return P;
}

static void item_naive(results *R, int reps)
{
    R->naive = item_variant(ibc_net_eval_naive, "naive", "pair_mpfr256_grad", "naive_mpfr256_grad",
                            "mpfr:256 gradient, products as plain mpfr_mul/mpfr_add triple loops", "naive_over_ours",
                            "naive MPFR loops / ours", reps);
    R->have_naive = 1;
}

/* The product before issue 17 (ibc_prec_gemm_mpfr_approx) against ours. */
static void item_old(results *R, int reps)
{
    R->old = item_variant(ibc_net_eval_old, "old", "pair_mpfr256_grad_o", "old_mpfr256_grad",
                          "mpfr:256 gradient, products by arb_mat_approx_mul (before issue 17)", "old_over_ours",
                          "old product / ours", reps);
    R->have_old = 1;
}

/* STEP_RUN GD steps of the library's trainer (ibc_flow_run), the same code
 * in every mode, so that the ratio is the cost of the precision. */
#define STEP_RUN 5
static void step_call(void *ctx)
{
    grad_ctx *c = ctx;
    char err[IBC_ERRLEN];
    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    o.method = IBC_METHOD_GD;
    o.lr = 0.2;
    o.steps = STEP_RUN;
    ibc_flow_stats st;
    ibc_flow_stats_init(&st);
    if (ibc_flow_run(c->net, &c->th, &o, &st, err) != IBC_OK) {
        fprintf(stderr, "bench_grad: steps: %s\n", err);
        exit(3);
    }
    ibc_flow_stats_clear(&st);
}

static void item_steps(results *R, int reps)
{
    static const long bits[2] = {113, 256};
    for (int m = 0; m < 2; m++) {
        grad_ctx a, b;
        grad_setup(&a, DEFAULTS, ibc_prec_double());
        grad_setup(&b, DEFAULTS, ibc_prec_mpfr(bits[m]));
        R->steps[m] = bench_pair(step_call, &a, step_call, &b, reps);
        char ka[32], kb[32], kr[40], wb[120], wr[80];
        snprintf(ka, sizeof ka, "pair_double_step_%ld", bits[m]);
        snprintf(kb, sizeof kb, "mpfr%ld_step", bits[m]);
        snprintf(kr, sizeof kr, "mpfr%ld_step_over_double", bits[m]);
        snprintf(wb, sizeof wb, "%d GD steps (ibc_flow_run) in mpfr:%ld at the defaults", STEP_RUN, bits[m]);
        snprintf(wr, sizeof wr, "mpfr:%ld GD step / double GD step", bits[m]);
        pair_report(&R->steps[m], ka, "the same GD steps in double, IBC_THREADS=1", kb, wb, kr, wr);
        grad_clear(&a);
        grad_clear(&b);
    }
    R->have_steps = 1;
}

/* op(S) (rows x cols) into T as exact midpoints, as ibc_prec_gemm_mpfr loads them. */
static void load_arb(arb_mat_t T, int trans, long rows, long cols, mpfr_srcptr S)
{
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            arb_ptr e = arb_mat_entry(T, i, j);
            arf_set_mpfr(arb_midref(e), trans ? S + j * rows + i : S + i * cols + j);
            mag_zero(arb_radref(e));
        }
}

typedef struct {
    arb_mat_t x, wt, gt, xw, gx;   /* X (n x D), W^T (D x h), G^T (h x n), products */
    int approx;
} kernel_ctx;

static void kernel_call(void *ctx)
{
    kernel_ctx *k = ctx;
    if (k->approx) {
        arb_mat_approx_mul(k->xw, k->x, k->wt, 256);
        arb_mat_approx_mul(k->gx, k->gt, k->x, 256);
    } else {
        arb_mat_mul(k->xw, k->x, k->wt, 256);
        arb_mat_mul(k->gx, k->gt, k->x, 256);
    }
}

/* The gradient's two products on the gradient's own operands: X, W and the
 * G = g_i a_hat^(p-1) that an evaluation leaves in the net's workspace. */
static void kernel_setup(kernel_ctx *k, const grad_ctx *c)
{
    const long n = c->net->n, D = c->net->D, h = c->net->h;
    arb_mat_init(k->x, n, D);
    arb_mat_init(k->wt, D, h);
    arb_mat_init(k->gt, h, n);
    arb_mat_init(k->xw, n, h);
    arb_mat_init(k->gx, h, D);
    load_arb(k->x, 0, n, D, c->net->X.m);
    load_arb(k->wt, 1, D, h, c->th.m);
    load_arb(k->gt, 1, h, n, c->net->G.m);
    k->approx = 0;
}

static void kernel_clear(kernel_ctx *k)
{
    arb_mat_clear(k->x);
    arb_mat_clear(k->wt);
    arb_mat_clear(k->gt);
    arb_mat_clear(k->xw);
    arb_mat_clear(k->gx);
}

static void item_kernel(results *R, int reps)
{
    grad_ctx c;
    grad_setup(&c, DEFAULTS, ibc_prec_mpfr(256));
    grad_call(&c);
    kernel_ctx k;
    kernel_setup(&k, &c);
    R->kernel = bench_pair(kernel_call, &k, grad_call, &c, reps);
    R->have_kernel = 1;
    pair_report(&R->kernel, "kernel_arb_mat_mul256", "arb_mat_mul (500x30)(30x100) + (100x500)(500x30) at 256 bits",
                "pair_mpfr256_grad_k", "mpfr:256 gradient (ours), alternating with the kernel", "ours_over_kernel",
                "ours / the two arb_mat_mul");
    kernel_clear(&k);
    grad_clear(&c);
}

/* Phases of the mpfr:256 gradient in CPU time: the _prof instantiation
 * (its products timed inside) alternating with the bare arb_mat_approx_mul
 * that ibc_prec_gemm_mpfr calls, on the same operands.  Each phase is its least
 * CPU time over the samples, the estimate least disturbed by other jobs, so
 * that the conversion (a difference) is not swamped by a shared machine's noise. */
static void item_profile(int reps)
{
    grad_ctx c;
    grad_setup(&c, DEFAULTS, ibc_prec_mpfr(256));
    grad_call(&c);
    kernel_ctx k;
    kernel_setup(&k, &c);
    k.approx = 1;
    c.eval = ibc_net_eval_prof;
    prof_reset();
    ibc_prec_gemm_exact_time_dgemm(1);
    pair_timing P = bench_pair(kernel_call, &k, grad_call, &c, reps);
    result("kernel_arb_approx_mul256", P.a, "the two products by arb_mat_approx_mul (the product before issue 17)");
    result("prof_mpfr256_grad", P.b, "mpfr:256 gradient, the same template with its products timed");
    kernel_clear(&k);
    grad_clear(&c);
    const double tot = P.b.cpu_min, gemm = prof_gemm_min, rest = tot - gemm;
    const double kern = P.a.cpu_min;
    printf("profile of the mpfr:256 gradient at the defaults (least CPU time over %d samples each):\n", reps);
    printf("  whole gradient                                 %9.3f ms  100.0%%\n", 1e3 * tot);
    printf("  2 x ibc_prec_gemm_mpfr (over %4ld gradients)        %9.3f ms  %5.1f%%\n", prof_gemm_calls / 2, 1e3 * gemm,
           100 * gemm / tot);
    printf("    of which their dgemm calls (exact slicing's floor on this BLAS) %9.3f ms  %5.1f%%\n",
           1e3 * prof_dgemm_min, 100 * prof_dgemm_min / tot);
    printf("  (for comparison: arb_mat_approx_mul alone, the product before issue 17: %.3f ms)\n", 1e3 * kern);
    printf("  the rest: norms, units, loss, backward         %9.3f ms  %5.1f%%\n", 1e3 * rest, 100 * rest / tot);
    /* mpfr:128, the default --hi-precision: the same split, timed alone
     * (what one GD step of a full-size comparison run would cost). */
    grad_setup(&c, DEFAULTS, ibc_prec_mpfr(128));
    c.eval = ibc_net_eval_prof;
    grad_call(&c);
    prof_reset();
    timing T = bench_median(grad_call, &c, reps);
    ibc_prec_gemm_exact_time_dgemm(0);
    grad_clear(&c);
    result("prof_mpfr128_grad", T, "mpfr:128 gradient, the same template with its products timed");
    printf("profile of the mpfr:128 gradient (least CPU): whole %.3f ms, 2 products %.3f ms, of which dgemm %.3f ms, "
           "rest %.3f ms\n",
           1e3 * T.cpu_min, 1e3 * prof_gemm_min, 1e3 * prof_dgemm_min, 1e3 * (T.cpu_min - prof_gemm_min));
}

static void item_arb(results *R, int reps)
{
    ibc_prec pr;
    char err[IBC_ERRLEN];
    if (ibc_prec_parse(&pr, "arb:256", err) != IBC_OK) {
        printf("arb:256  n/a (mode not available in this build)\n");
        return;
    }
    grad_ctx a, b;
    grad_setup(&a, DEFAULTS, ibc_prec_mpfr(256));
    if (!grad_setup(&b, DEFAULTS, pr)) {
        printf("arb:256  n/a (ibc_net_alloc refused the mode)\n");
        grad_clear(&a);
        return;
    }
    R->arb = bench_pair(grad_call, &a, grad_call, &b, reps);
    R->have_arb = 1;
    pair_report(&R->arb, "pair_mpfr256_grad_a", "mpfr:256 gradient (ours), alternating with arb:256", "arb256_grad",
                "arb:256 gradient at the defaults", "arb_over_mpfr", "arb:256 / mpfr:256");
    grad_clear(&a);
    grad_clear(&b);
}

/* Slopes on CPU time: every point is single-threaded, and CPU time does not
 * see the other jobs of a shared machine. */
static void item_scaling(int reps)
{
    static const char *axis[] = {"n", "D", "h", "bits"};
    static const double vals[4][4] = {{250, 500, 1000}, {30, 60, 120}, {50, 100, 200}, {128, 256, 512, 1024}};
    static const int nvals[4] = {3, 3, 3, 4};
    double slope[2][4];
    for (int mode = 0; mode < 2; mode++)
        for (int a = 0; a < 4; a++) {
            slope[mode][a] = NAN;
            if (mode == 0 && a == 3) continue;     /* double has one precision */
            double t[4];
            for (int i = 0; i < nvals[a]; i++) {
                shape s = DEFAULTS;
                long bits = 256;
                if (a == 0) s.n = (long)vals[a][i];
                if (a == 1) s.D = (long)vals[a][i];
                if (a == 2) s.h = (long)vals[a][i];
                if (a == 3) bits = (long)vals[a][i];
                ibc_prec pr = mode == 0 ? ibc_prec_double() : ibc_prec_mpfr(bits);
                timing tm = time_grad(s, pr, NULL, 0, reps);
                t[i] = tm.cpu;
                char key[48], what[96];
                snprintf(key, sizeof key, "scale_%s_%s%ld", mode ? "mpfr" : "double", axis[a], (long)vals[a][i]);
                snprintf(what, sizeof what, "%s gradient, n=%ld D=%ld h=%ld", mode ? "mpfr" : "double", s.n, s.D,
                         s.h);
                if (mode) snprintf(what + strlen(what), sizeof what - strlen(what), " bits=%ld", bits);
                result(key, tm, what);
            }
            slope[mode][a] = ibc_claim_loglog_slope(vals[a], t, nvals[a]);
        }
    printf("scaling: exponent e in cpu time ~ x^e (log-log least squares; other sizes at the defaults)\n");
    printf("  %-15s %7s %7s %7s %7s\n", "cost", "n", "D", "h", "bits");
    printf("  %-15s %7.2f %7.2f %7.2f %7s\n", "double grad", slope[0][0], slope[0][1], slope[0][2], "-");
    printf("  %-15s %7.2f %7.2f %7.2f %7.2f\n", "mpfr grad", slope[1][0], slope[1][1], slope[1][2], slope[1][3]);
    printf("  (ranges: n 250..1000, D 30..120, h 50..200 at 256 bits; bits 128..1024)\n");
}

/* One row of the goal table (on the wall-time ratio); n/a when not measured. */
static void ratio_row(const char *what, int have, const pair_timing *p, const char *goal)
{
    if (!have) {
        printf("  %-40s %8s %8s  %-7s %s\n", what, "n/a", "n/a", goal, "n/a");
        return;
    }
    double bound = atof(goal + 3);
    int met = goal[0] == '<' ? p->wall <= bound : p->wall >= bound;
    printf("  %-40s %7.2fx %7.2fx  %-7s %s\n", what, p->wall, p->cpu, goal, met ? "met" : "NOT MET");
}

static void machine(int argc, char **argv)
{
    struct utsname u;
    uname(&u);
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p) {
                    snprintf(model, sizeof model, "%s", p + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    printf("machine: %s %s %s %s; cpu: %s; cores online: %ld\n", u.sysname, u.nodename, u.release, u.machine,
           model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("command:");
    for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
}

static int parse_int(const char *opt, const char *v, int lo, int *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > 1000) {
        fprintf(stderr, "bench_grad: %s = '%s' is out of range: need an integer %d..1000\n", opt, v ? v : "", lo);
        return 0;
    }
    *out = (int)x;
    return 1;
}

int main(int argc, char **argv)
{
    /* OpenBLAS starts its thread pool when the library loads, before
     * ibc_prec_blas_setup can say 1, and the idle threads spin for a while:
     * they doubled the CPU time of the first items and took the second core
     * from IBC_THREADS=2.  The library never uses OpenBLAS threads, so start
     * again with the pool at one thread. */
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv("/proc/self/exe", argv);   /* returns only on failure: go on as we are */
    }
    int reps = 7, big_reps = 3, scale_reps = 5, ratios = 1;
    const char *items = "step,big,sgd,mpfr,naive,old,steps,kernel,profile,arb,scaling";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--reps") == 0) {
            if (!parse_int(o, v, 1, &reps)) return 2;
            i++;
        } else if (strcmp(o, "--big-reps") == 0) {
            if (!parse_int(o, v, 0, &big_reps)) return 2;
            i++;
        } else if (strcmp(o, "--scale-reps") == 0) {
            if (!parse_int(o, v, 1, &scale_reps)) return 2;
            i++;
        } else if (strcmp(o, "--items") == 0 && v) {
            items = v;
            i++;
        } else if (strcmp(o, "--no-ratios") == 0) {
            ratios = 0;
        } else if (o[0] >= '0' && o[0] <= '9') {   /* bench_grad REPS, the older form */
            if (!parse_int("reps", o, 1, &reps)) return 2;
        } else {
            fprintf(stderr, "bench_grad: option '%s' is unknown: need --reps N, --big-reps N (0 skips), "
                            "--scale-reps N, --items step,big,sgd,mpfr,naive,old,steps,kernel,profile,arb,scaling, --no-ratios\n",
                    o);
            return 2;
        }
    }
    static const char *known = ",step,big,sgd,mpfr,naive,old,steps,kernel,profile,arb,scaling,";
    for (const char *t = items; *t;) {
        size_t len = strcspn(t, ",");
        char tok[32];
        snprintf(tok, sizeof tok, ",%.*s,", (int)(len < 29 ? len : 29), t);
        if (len == 0 || len > 28 || !strstr(known, tok)) {
            fprintf(stderr, "bench_grad: --items entry '%.*s' is unknown: need a comma list of "
                            "step,big,sgd,mpfr,naive,old,steps,kernel,profile,arb,scaling\n", (int)len, t);
            return 2;
        }
        t += len + (t[len] == ',');
    }
    /* Large blocks from the heap, kept after free: glibc's default (mmap
     * above a threshold that adapts to what was freed before) made the old
     * product's time depend on which items ran first (75 or 110-150 ms for
     * the same build), through its MPFR-to-Arb conversions' allocations.
     * Fixed thresholds give every item the allocator's best case. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    ibc_prec_blas_setup();
    machine(argc, argv);
    results R;
    memset(&R, 0, sizeof R);
    char padded[512];   /* ",items,": WANT matches whole entries (step is not steps) */
    snprintf(padded, sizeof padded, ",%s,", items);
#define WANT(name) (strstr(padded, "," name ",") != NULL)
    if (WANT("step")) item_step(&R, reps);
    if (WANT("big") && big_reps > 0) item_big(&R, big_reps);
    if (WANT("sgd") && big_reps > 0) item_sgd(&R, big_reps * 3);
    if (WANT("mpfr")) item_mpfr(&R, reps);
    if (WANT("naive")) item_naive(&R, reps);
    if (WANT("old")) item_old(&R, reps);
    if (WANT("steps")) item_steps(&R, reps);
    if (WANT("kernel")) item_kernel(&R, reps);
    if (WANT("profile")) item_profile(reps);
    if (WANT("arb")) item_arb(&R, reps);
    if (WANT("scaling")) item_scaling(scale_reps);
#undef WANT
    if (ratios) {
        printf("ratios this program checks alone (bench/run.sh adds the PyTorch and mpmath peers):\n");
        printf("  %-40s %8s %8s  %-7s %s\n", "item", "wall", "cpu", "goal", "status (on wall)");
        ratio_row("2a SGD step / its 2 dgemm, 1 thread", R.have_sgd, &R.sgd[0], "<= 1.2x");
        if (R.have_sgd) {
            /* 2 threads against 1: the step at t=2 over the step at t=1 */
            pair_timing q = R.sgd[1];
            q.wall = R.sgd[1].b.wall / R.sgd[0].b.wall;
            q.cpu = NAN;
            ratio_row("2b SGD step, 2 threads / 1 thread", 1, &q, "<= 0.6x");
        }
        ratio_row("4 naive MPFR loops / ours (mpfr:256)", R.have_naive, &R.naive, ">= 5x");
        ratio_row("4b old product / ours (mpfr:256)", R.have_old, &R.old, ">= 3x");
        if (R.have_steps) {
            printf("  %-40s %7.2fx %7.2fx  %-7s %s\n", "4c mpfr:113 GD step / double step", R.steps[0].wall,
                   R.steps[0].cpu, "report", "-");
            printf("  %-40s %7.2fx %7.2fx  %-7s %s\n", "4d mpfr:256 GD step / double step", R.steps[1].wall,
                   R.steps[1].cpu, "report", "-");
        }
        ratio_row("5 ours (mpfr:256) / the 2 arb_mat_mul", R.have_kernel, &R.kernel, "<= 2x");
        ratio_row("6 arb:256 / mpfr:256", R.have_arb, &R.arb, "<= 2x");
    }
    return 0;
}
