/* The lean data path (issue 13 goal 1): a double run builds its rows straight
 * from their streams and never holds the 256-bit master.  These checks ask
 * for bitwise equality with the master path, never a tolerance:
 * - every double entry is the master entry rounded to nearest (e_k and
 *   random centers, an odd D, noise scales where fma cannot stand for the
 *   master and MPFR is used instead);
 * - labels, any sub-range of rows, and 1 or 2 threads give the same values;
 * - training from lean data (GD and SGD, double and mpfr:128) ends at the
 *   same theta as training from the master;
 * - the blocked full-batch loss equals the one-product loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "prec/gemm.h"
#include "test_util.h"

static ibc_model_params params(long D, long K, long K1, double alpha, int random, unsigned long seed)
{
    ibc_model_params par = make_params(D, K, K1, alpha, seed);
    par.random_centers = random;
    return par;
}

/* Rows from the streams against the master rounded, entry by entry. */
static void check_rows(const char *name, const ibc_model_params *par, long n)
{
    ibc_data *m = ibc_model_data_alloc(par, n, 1);
    ibc_data *l = ibc_model_data_alloc_lean(par, n, 1);
    const long D = par->D;
    double *x = malloc(sizeof(double) * (size_t)(n * D));
    double *part = malloc(sizeof(double) * (size_t)(n * D));
    ibc_model_data_rows_d(l, 0, n, x);
    long bad = 0, labels = 0;
    for (long i = 0; i < n * D; i++) {
        double r = mpfr_get_d(m->X + i, MPFR_RNDN);
        bad += memcmp(&r, &x[i], sizeof r) != 0;
    }
    for (long i = 0; i < n; i++) labels += m->y[i] != l->y[i] || m->z[i] != l->z[i];
    report(name, bad == 0 && labels == 0 && l->X == NULL, "%ld of %ld entries differ, %ld labels", bad, n * D, labels);
    /* Counter-based: a sub-range of rows, and rows generated on 2 threads,
     * are the same bits as the whole set on one. */
    long i0 = n / 3, i1 = n - 2;
    ibc_model_data_rows_d(l, i0, i1, part);
    int same = memcmp(part, x + i0 * D, sizeof(double) * (size_t)((i1 - i0) * D)) == 0;
    ibc_prec_gemm_set_threads(2);
    ibc_model_data_rows_d(l, 0, n, part);
    ibc_prec_gemm_set_threads(1);
    same = same && memcmp(part, x, sizeof(double) * (size_t)(n * D)) == 0;
    char nm[96];
    snprintf(nm, sizeof nm, "%s: sub-range and 2 threads", name);
    report(nm, same, "rows %ld..%ld", i0, i1);
    free(x);
    free(part);
    ibc_model_data_free(m);
    ibc_model_data_free(l);
}

/* Trains from the master and from the lean data; theta must agree bitwise. */
static void check_training(const char *name, ibc_method method, ibc_prec pr, ibc_init init, long steps)
{
    ibc_model_params par = params(12, 4, 2, 0.2, 0, 3);
    const long n = 64;
    ibc_data *dm = ibc_model_data_alloc(&par, n, 0);
    ibc_data *dl = ibc_model_data_alloc_lean(&par, n, 0);
    ibc_net_params np = {.p = 3, .h = 10, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *nm = ibc_net_alloc(dm, &np, pr), *nl = ibc_net_alloc(dl, &np, pr);
    ibc_vec tm, tl;
    ibc_prec_vec_init(&tm, ibc_net_dim(nm), pr);
    ibc_prec_vec_init(&tl, ibc_net_dim(nl), pr);
    char err[IBC_ERRLEN];
    int rc = ibc_net_init_theta(nm, &tm, init, "1e-2", 3, err);
    rc |= ibc_net_init_theta(nl, &tl, init, "1e-2", 3, err);
    long xdiff = 0;
    mpfr_t a, b;
    mpfr_inits2(pr.bits, a, b, (mpfr_ptr)0);
    for (long i = 0; i < nm->X.len; i++) {
        ibc_prec_vec_get_mpfr(a, &nm->X, i);
        ibc_prec_vec_get_mpfr(b, &nl->X, i);
        xdiff += !mpfr_equal_p(a, b);
    }
    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    o.method = method;
    o.lr = 0.5;
    o.steps = steps;
    o.batch = 16;
    o.seed = 3;
    ibc_flow_stats sm, sl;
    ibc_flow_stats_init(&sm);
    ibc_flow_stats_init(&sl);
    rc |= ibc_flow_run(nm, &tm, &o, &sm, err);
    rc |= ibc_flow_run(nl, &tl, &o, &sl, err);
    long tdiff = 0;
    double moved = 0;
    for (long i = 0; i < tm.len; i++) {
        ibc_prec_vec_get_mpfr(a, &tm, i);
        ibc_prec_vec_get_mpfr(b, &tl, i);
        tdiff += !mpfr_equal_p(a, b);
        moved = fmax(moved, fabs(mpfr_get_d(a, MPFR_RNDN)));
    }
    report(name, rc == IBC_OK && xdiff == 0 && tdiff == 0 && sm.steps == steps && moved > 1e-2,
           "rc %d, %ld data and %ld theta entries differ after %ld steps, max|theta| %.3g", rc, xdiff, tdiff, sm.steps,
           moved);
    mpfr_clears(a, b, (mpfr_ptr)0);
    ibc_flow_stats_clear(&sm);
    ibc_flow_stats_clear(&sl);
    ibc_prec_vec_clear(&tm);
    ibc_prec_vec_clear(&tl);
    ibc_net_free(nm);
    ibc_net_free(nl);
    ibc_model_data_free(dm);
    ibc_model_data_free(dl);
}

/* n > IBC_NET_BLOCK rows: the loss alone (blocked) against the loss beside
 * a gradient (one product over all rows), and f row by row. */
static void check_blocked_loss(void)
{
    ibc_model_params par = params(20, 5, 2, 0.3, 0, 1);
    const long n = 2 * IBC_NET_BLOCK + 300;
    ibc_data *d = ibc_model_data_alloc_lean(&par, n, 0);
    ibc_net_params np = {.p = 3, .h = 40, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(d, &np, ibc_prec_double());
    ibc_vec th, l1, l2, g, f1, f2;
    ibc_prec_vec_init(&th, ibc_net_dim(net), net->pr);
    ibc_prec_vec_init(&l1, 1, net->pr);
    ibc_prec_vec_init(&l2, 1, net->pr);
    ibc_prec_vec_init(&g, ibc_net_dim(net), net->pr);
    ibc_prec_vec_init(&f1, n, net->pr);
    ibc_prec_vec_init(&f2, n, net->pr);
    char err[IBC_ERRLEN];
    int rc = ibc_net_init_theta(net, &th, IBC_INIT_GAUSSIAN, "0.5", 1, err);
    ibc_net_eval(net, &th, NULL, 0, &l1, NULL, &f1);
    long blocked_rows = net->ws_rows;
    ibc_net_eval(net, &th, NULL, 0, &l2, &g, &f2);
    int same = memcmp(l1.d, l2.d, sizeof(double)) == 0 && memcmp(f1.d, f2.d, sizeof(double) * (size_t)n) == 0;
    report("blocked loss = one-product loss (double, n = 2348)", rc == IBC_OK && same && blocked_rows == IBC_NET_BLOCK,
           "loss %.17g vs %.17g, workspace %ld rows while blocked", l1.d[0], l2.d[0], blocked_rows);
    ibc_vec *v[] = {&th, &l1, &l2, &g, &f1, &f2};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) ibc_prec_vec_clear(v[i]);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* The initial weights: one stream per neuron, so 2 threads give the same bits. */
static void check_init_threads(void)
{
    ibc_model_params par = params(300, 10, 6, 0.1, 0, 2);
    ibc_data *d = ibc_model_data_alloc_lean(&par, 10, 0);
    ibc_net_params np = {.p = 3, .h = 200, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(d, &np, ibc_prec_double());
    int ok = 1;
    for (int init = 0; init < 2; init++) {
        ibc_vec a, b;
        ibc_prec_vec_init(&a, ibc_net_dim(net), net->pr);
        ibc_prec_vec_init(&b, ibc_net_dim(net), net->pr);
        char err[IBC_ERRLEN];
        ok &= ibc_net_init_theta(net, &a, (ibc_init)init, "1e-3", 2, err) == IBC_OK;
        ibc_prec_gemm_set_threads(2);
        ok &= ibc_net_init_theta(net, &b, (ibc_init)init, "1e-3", 2, err) == IBC_OK;
        ibc_prec_gemm_set_threads(1);
        ok &= memcmp(a.d, b.d, sizeof(double) * (size_t)a.len) == 0;
        ibc_prec_vec_clear(&a);
        ibc_prec_vec_clear(&b);
    }
    report("initial theta: 1 and 2 threads (balanced, gaussian)", ok, "D = 300, h = 200");
    ibc_net_free(net);
    ibc_model_data_free(d);
}

int main(void)
{
    ibc_model_params p;
    /* 800 rows of 51: enough work (30 D n > 1e6) for ibc_prec_par_range to
     * really use its second thread */
    p = params(51, 4, 2, 0.1, 0, 0);
    check_rows("rows = rounded master (e_k, D = 51)", &p, 800);
    p = params(13, 4, 2, 0.1, 1, 7);
    check_rows("rows = rounded master (random centers)", &p, 40);
    p = params(30, 10, 6, 1e40, 0, 1);
    check_rows("rows = rounded master (alpha 1e40: MPFR entries)", &p, 20);
    p = params(30, 10, 6, 1e-60, 0, 1);
    check_rows("rows = rounded master (alpha 1e-60: MPFR entries)", &p, 20);
    p = params(30, 10, 6, 0, 0, 1);
    check_rows("rows = rounded master (alpha 0)", &p, 20);
    check_training("theta: lean = master (double, GD)", IBC_METHOD_GD, ibc_prec_double(), IBC_INIT_BALANCED, 200);
    check_training("theta: lean = master (double, SGD)", IBC_METHOD_SGD, ibc_prec_double(), IBC_INIT_GAUSSIAN, 200);
    check_training("theta: lean = master (mpfr:128, GD)", IBC_METHOD_GD, ibc_prec_mpfr(128), IBC_INIT_BALANCED, 40);
    check_training("theta: lean = master (mpfr:128, SGD)", IBC_METHOD_SGD, ibc_prec_mpfr(128), IBC_INIT_GAUSSIAN, 40);
    check_blocked_loss();
    check_init_threads();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
