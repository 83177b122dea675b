/* cli: `ibcheck train -o net.json`, one trained network saved exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "ibcheck/netio.h"

enum { T_P, T_T_END, T_TOL, T_OUTPUT, T_CKPT_EVERY, T_CKPT, T_RESUME };
static const cli_flag train_flags[] = {
    [T_P] = {"p", 0, ARG_DOUBLE, "X", "exponent of the pReLU units (default 1: ReLU)", "a finite p >= 1"},
    [T_T_END] = {"t-end", 0, ARG_DOUBLE, "X", "adaptive method: final time (default lr*steps)", "a finite t-end > 0"},
    [T_TOL] = {"tol", 0, ARG_DOUBLE, "X", "adaptive method: local error tolerance (default 0: 2^-(BITS-8))",
               "0 <= tol < 1"},
    [T_OUTPUT] = CLI_OPT_OUTPUT_FILE("where to save the network (required; - for standard output)"),
    [T_CKPT_EVERY] = {"checkpoint-every", 0, ARG_LONG, "N",
                      "gd/sgd/rk4: save the run exactly every N steps (atomically) for --resume", "an integer N >= 1"},
    [T_CKPT] = {"checkpoint", 0, ARG_STRING, "FILE", "the checkpoint file (default: the -o FILE + .ckpt)", "a file path"},
    [T_RESUME] = {"resume", 0, ARG_STRING, "[FILE]",
                  "continue from checkpoint FILE (default: --checkpoint's), bitwise as if never stopped", "a file path"},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

static int out_of_range(const char *flag, double x, const char *need)
{
    fprintf(stderr, "ibcheck: --%s = %g is out of range: need %s\n", flag, x, need);
    return CLI_USAGE;
}

/* `--resume` takes an optional FILE: a bare --resume (last, or before
 * another option) becomes --resume= (empty: the default checkpoint), so that
 * getopt never takes the next option as its value.  argv is copied first. */
static char **resume_argv(int argc, char **argv)
{
    char **a = malloc((size_t)(argc + 1) * sizeof *a);
    if (!a)
        return NULL;
    int done = 0;
    for (int i = 0; i <= argc; i++) {
        a[i] = argv[i];
        if (i == argc || done)
            continue;
        size_t len = strlen(argv[i]);
        if (strcmp(argv[i], "--") == 0)
            done = 1;   /* operands only from here */
        else if (len >= 5 && strncmp(argv[i], "--resume", len) == 0 && (i + 1 == argc || argv[i + 1][0] == '-'))
            a[i] = "--resume=";
    }
    return a;
}

static void print_summary(const ibc_config *c, double p, const ibc_trained *t, const char *path)
{
    char pb[24], lb[48], tb[48];
    ibc_vec loss;
    mpfr_t l;
    ibc_prec_vec_init(&loss, 1, t->theta.pr);
    ibc_net_eval(t->net, &t->theta, NULL, t->net->n, &loss, NULL, NULL);
    mpfr_init2(l, 64);
    ibc_prec_vec_get_mpfr(l, &loss, 0);
    fprintf(stderr,
            "ibcheck: trained p = %g in %s by %s (lr %g, %ld steps, t = %s) on D = %ld, K = %ld, K1 = %ld, "
            "alpha = %g, n = %ld, h = %ld, eps = %s %s init, %s %s loss, seed %lu: final loss %s after %.2f s "
            "(start-up %.2f s); saved %s\n",
            p, ibc_prec_str(t->theta.pr, pb), ibc_flow_method_name(c->method), c->lr, t->stats.steps,
            ibc_prec_fmt_d(tb, t->stats.t, 6), c->model.D, c->model.K, c->model.K1, c->model.alpha, c->n, c->h,
            c->eps, ibc_net_init_name(c->init), c->mean ? "mean" : "sum", ibc_net_loss_name(c->loss), c->model.seed,
            ibc_prec_fmt_mpfr(lb, l, 6), t->seconds, t->setup_seconds, path);
    mpfr_clear(l);
    ibc_prec_vec_clear(&loss);
}

int ibc_cli_cmd_train(int argc, char **argv)
{
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    cfg.verbose = 1;
    double p = 1, t_end = 0, tol = 0;
    int t_end_given = 0;
    const char *out_path = NULL, *ckpt_path = NULL, *resume_path = NULL;
    long every = 0;
    int every_given = 0;

    cli_parser ps;
    ibc_cli_parser_init(&ps, "train", "ibcheck train [options] -o FILE",
                        "Trains one two-layer pReLU network on the orthonormal-subclass data and saves\n"
                        "it as JSON with exact values (every parameter, the precision and theta).",
                        train_flags, 1);
    char **args = resume_argv(argc, argv);
    if (!args) {
        fprintf(stderr, "ibcheck: train: out of memory\n");
        ibc_cli_parser_free(&ps);
        return CLI_USAGE;
    }
    argv = args;
    int r;
    while ((r = ibc_cli_parser_next(&ps, argc, argv)) == 1) {
        if (ps.shared_i >= 0 && ibc_cli_shared_apply(&cfg, ps.shared_i, &ps.v) != 0) {
            r = -1;
            break;
        }
        switch (ps.own_i) {
        case T_P: p = ps.v.d; break;
        case T_T_END: t_end = ps.v.d; t_end_given = 1; break;
        case T_TOL: tol = ps.v.d; break;
        case T_OUTPUT: out_path = ps.v.s; break;
        case T_CKPT_EVERY: every = ps.v.l; every_given = 1; break;
        case T_CKPT: ckpt_path = ps.v.s; break;
        case T_RESUME: resume_path = ps.v.s; break;
        default: break;
        }
    }
    ibc_cli_parser_free(&ps);
    if (ps.common.quiet)
        cfg.verbose = 0;
    int rc = r != 0 ? (r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE) : CLI_OK;
    if (r == 0 && optind < argc) {
        fprintf(stderr, "ibcheck: train: unexpected argument '%s': see 'ibcheck train --help'\n", argv[optind]);
        rc = CLI_USAGE;
    }
    free(args);   /* its strings are argv's */
    if (r != 0 || rc != CLI_OK)
        return rc;
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
    if (ibc_cli_config_final(&cfg) != 0 || ibc_cli_output_check("-o", out_path) != 0)
        return CLI_USAGE;
    if (every_given && every < 1)
        return out_of_range("checkpoint-every", (double)every, train_flags[T_CKPT_EVERY].need);
    int resume = resume_path != NULL;
    if (resume && resume_path[0]) {
        if (ckpt_path && strcmp(ckpt_path, resume_path) != 0) {
            fprintf(stderr, "ibcheck: train: --resume %s and --checkpoint %s name different files: need one checkpoint file\n",
                    resume_path, ckpt_path);
            return CLI_USAGE;
        }
        ckpt_path = resume_path;
    }
    if (ckpt_path && !every_given && !resume) {
        fprintf(stderr, "ibcheck: train: --checkpoint %s needs --checkpoint-every N or --resume\n", ckpt_path);
        return CLI_USAGE;
    }
    if ((every_given || resume) && cfg.method == IBC_METHOD_ADAPTIVE) {
        fprintf(stderr, "ibcheck: train: --%s is for the fixed-step methods gd, sgd and rk4: "
                "the adaptive method cannot be checkpointed\n", every_given ? "checkpoint-every" : "resume");
        return CLI_USAGE;
    }
    char *ckpt_default = NULL;
    if ((every_given || resume) && !ckpt_path && strcmp(out_path, "-") == 0) {
        fprintf(stderr, "ibcheck: train: -o - has no default checkpoint file: need --checkpoint FILE\n");
        return CLI_USAGE;
    }
    if ((every_given || resume) && !ckpt_path) {
        size_t len = strlen(out_path);
        ckpt_default = malloc(len + sizeof ".ckpt");
        if (!ckpt_default) {
            fprintf(stderr, "ibcheck: train: out of memory\n");
            return CLI_USAGE;
        }
        memcpy(ckpt_default, out_path, len);
        memcpy(ckpt_default + len, ".ckpt", sizeof ".ckpt");
        ckpt_path = ckpt_default;
    }
    if (ckpt_path && (strcmp(ckpt_path, out_path) == 0 || (every_given && ibc_cli_output_check("--checkpoint", ckpt_path) != 0))) {
        if (strcmp(ckpt_path, out_path) == 0)
            fprintf(stderr, "ibcheck: train: --checkpoint %s is the -o file: need another file\n", ckpt_path);
        free(ckpt_default);
        return CLI_USAGE;
    }

    /* --resume alone writes checkpoints too, but ibc_cli_output_check did not see the file. */
    if (ckpt_path && !every_given)
        ibc_cli_stale_clean(ckpt_path);
    ibc_prec_blas_setup();
    /* The trajectory records only drive the progress line; each is a
     * full-batch evaluation, so skip them when nobody sees the progress. */
    if (!ibc_cli_stderr_tty())
        cfg.records = 0;
    char err[IBC_ERRLEN];
    ibc_trained t;
    long resumed = -1;
    if (ckpt_path) {
        ibc_ckpt_opts ck = {.path = ckpt_path, .every = every, .resume = resume};
        rc = ibc_train_trained_init_ckpt(&t, &cfg, p, &ck, &resumed, err);
    } else {
        rc = ibc_train_trained_init(&t, &cfg, p, cfg.prec, t_end, tol, err);
    }
    free(ckpt_default);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: train: %s\n", err);
        return rc;
    }
    if (resumed >= 0 && cfg.verbose)
        fprintf(stderr, "ibcheck: train: resumed at step %ld of %ld\n", resumed, cfg.steps);
    rc = ibc_train_netio_save(out_path, &cfg, p, &t.theta, &t.stats, err);
    if (rc != IBC_OK)
        fprintf(stderr, "ibcheck: %s\n", err);
    else if (cfg.verbose)
        print_summary(&cfg, p, &t, out_path);
    ibc_train_trained_clear(&t);
    return rc;
}
