/* cli: `ibcheck train -o net.json`, one trained network saved exactly. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

enum { T_P, T_T_END, T_TOL, T_OUTPUT };
static const cli_flag train_flags[] = {
    [T_P] = {"p", 0, ARG_DOUBLE, "X", "exponent of the pReLU units (default 1: ReLU)", "a finite p >= 1"},
    [T_T_END] = {"t-end", 0, ARG_DOUBLE, "X", "adaptive method: final time (default lr*steps)", "a finite t-end > 0"},
    [T_TOL] = {"tol", 0, ARG_DOUBLE, "X", "adaptive method: local error tolerance (default 0: 2^-(BITS-8))",
               "0 <= tol < 1"},
    [T_OUTPUT] = {"output", 'o', ARG_STRING, "FILE", "where to save the network (required)", "a file path"},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

static int out_of_range(const char *flag, double x, const char *need)
{
    fprintf(stderr, "ibcheck: --%s = %g is out of range: need %s\n", flag, x, need);
    return CLI_USAGE;
}

static void print_summary(const ibc_config *c, double p, const ibc_trained *t, const char *path)
{
    char pb[24], lb[48], tb[48];
    ibc_vec loss;
    mpfr_t l;
    ibc_vec_init(&loss, 1, t->theta.pr);
    ibc_net_eval(t->net, &t->theta, NULL, t->net->n, &loss, NULL, NULL);
    mpfr_init2(l, 64);
    ibc_vec_get_mpfr(l, &loss, 0);
    fprintf(stderr,
            "ibcheck: trained p = %g in %s by %s (lr %g, %ld steps, t = %s) on D = %ld, K = %ld, K1 = %ld, "
            "alpha = %g, n = %ld, h = %ld, eps = %s %s init, %s %s loss, seed %lu: final loss %s after %.2f s; "
            "saved %s\n",
            p, ibc_prec_str(t->theta.pr, pb), ibc_method_name(c->method), c->lr, t->stats.steps,
            ibc_fmt_d(tb, t->stats.t, 6), c->model.D, c->model.K, c->model.K1, c->model.alpha, c->n, c->h,
            c->eps, ibc_init_name(c->init), c->mean ? "mean" : "sum", ibc_loss_name(c->loss), c->model.seed,
            ibc_fmt_mpfr(lb, l, 6), t->seconds, path);
    mpfr_clear(l);
    ibc_vec_clear(&loss);
}

int cli_cmd_train(int argc, char **argv)
{
    ibc_config cfg;
    ibc_config_default(&cfg);
    cfg.verbose = 1;
    double p = 1, t_end = 0, tol = 0;
    int t_end_given = 0;
    const char *out_path = NULL;

    cli_parser ps;
    cli_parser_init(&ps, "train", "ibcheck train [options] -o FILE",
                    "Trains one two-layer pReLU network on the orthonormal-subclass data and saves\n"
                    "it as JSON with exact values (every parameter, the precision and theta).",
                    train_flags, 1);
    int r;
    while ((r = cli_parser_next(&ps, argc, argv)) == 1) {
        if (ps.shared_i >= 0 && cli_shared_apply(&cfg, ps.shared_i, &ps.v) != 0) {
            r = -1;
            break;
        }
        switch (ps.own_i) {
        case T_P: p = ps.v.d; break;
        case T_T_END: t_end = ps.v.d; t_end_given = 1; break;
        case T_TOL: tol = ps.v.d; break;
        case T_OUTPUT: out_path = ps.v.s; break;
        default: break;
        }
    }
    cli_parser_free(&ps);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;
    if (optind < argc) {
        fprintf(stderr, "ibcheck: train: unexpected argument '%s': see 'ibcheck train --help'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (!out_path) {
        fprintf(stderr, "ibcheck: train: -o FILE is required: need the path to save the network to\n");
        return CLI_USAGE;
    }
    if (!(p >= 1))
        return out_of_range("p", p, train_flags[T_P].need);
    if (t_end_given && !(t_end > 0))
        return out_of_range("t-end", t_end, train_flags[T_T_END].need);
    if (!(tol >= 0 && tol < 1))
        return out_of_range("tol", tol, train_flags[T_TOL].need);
    if (cli_config_final(&cfg) != 0 || cli_output_check("-o", out_path) != 0)
        return CLI_USAGE;

    ibc_prec_blas_setup();
    /* The trajectory records only drive the progress line; each is a
     * full-batch evaluation, so skip them when nobody sees the progress. */
    if (!cli_stderr_tty())
        cfg.records = 0;
    char err[IBC_ERRLEN];
    ibc_trained t;
    int rc = ibc_trained_init(&t, &cfg, p, cfg.prec, t_end, tol, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: train: %s\n", err);
        return rc;
    }
    rc = ibc_netio_save(out_path, &cfg, p, &t.theta, &t.stats, err);
    if (rc != IBC_OK)
        fprintf(stderr, "ibcheck: %s\n", err);
    else if (cfg.verbose)
        print_summary(&cfg, p, &t, out_path);
    ibc_trained_clear(&t);
    return rc;
}
