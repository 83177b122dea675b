/* cli: `ibcheck reproduce CONFIG.yaml [--scale F] [-o DIR]`, the authors'
 * experiment (MV24 §5.1) from their configuration format. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "ibcheck/repro.h"

enum { P_SCALE, P_OUTPUT, P_SIGMA, P_REPEAT, P_P, P_CKPT };
static const cli_flag repro_flags[] = {
    [P_SCALE] = {"scale", 0, ARG_DOUBLE, "F", "shrink n_train, n_test, hidden_width and max_epoch by F, for a quick run",
                 "a finite F >= 1"},
    [P_OUTPUT] = {"output", 'o', ARG_STRING, "DIR", "results directory (default: reproduce-<config name>)",
                  "a directory path"},
    [P_SIGMA] = {"sigma-index", 0, ARG_LONG, "I", "compute only the cells of sigma_list[I] (others: reused if saved)",
                 "0 <= I < the sigma_list count"},
    [P_REPEAT] = {"repeat-index", 0, ARG_LONG, "R", "compute only the cells of repeat R", "0 <= R < repeat"},
    [P_P] = {"p", 0, ARG_DOUBLE, "P", "compute only the cells of exponent P", "1 or 3"},
    [P_CKPT] = {"checkpoint-every", 0, ARG_LONG, "N", "save a running cell's SGD state every N steps (default 2000; 0: never)",
                "N >= 0"},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

int cli_cmd_reproduce(int argc, char **argv)
{
    double scale = 1;
    const char *dir = NULL;
    ibc_repro_opts ro;
    ibc_repro_opts_default(&ro);
    cli_parser ps;
    cli_parser_init(&ps, "reproduce", "ibcheck reproduce CONFIG.yaml [--scale F] [--sigma-index I] [--repeat-index R] [--p P] [-o DIR]",
                    "Runs the experiment of MV24 §5.1 described by the authors' YAML config: trains\n"
                    "p = 1 and p = 3 networks by SGD for every sigma and repeat, estimates their\n"
                    "distance to F and F^(3), and for sigma[save_model] the robust accuracy under\n"
                    "l2 PGD with certified and attack brackets.  Every finished cell is saved in\n"
                    "DIR/cells/ at once, so a killed run resumes where it stopped.  Writes\n"
                    "DIR/results.json, results.csv, the panels' CSV files and figure.png/svg.",
                    repro_flags, 0);
    int r;
    while ((r = cli_parser_next(&ps, argc, argv)) == 1) {
        if (ps.own_i == P_SCALE)
            scale = ps.v.d;
        else if (ps.own_i == P_OUTPUT)
            dir = ps.v.s;
        else if (ps.own_i == P_SIGMA)
            ro.sigma_index = ps.v.l;
        else if (ps.own_i == P_REPEAT)
            ro.repeat_index = ps.v.l;
        else if (ps.own_i == P_P)
            ro.p = ps.v.d;
        else if (ps.own_i == P_CKPT)
            ro.ckpt_every = ps.v.l;
    }
    cli_parser_free(&ps);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;
    if (argc - optind != 1) {
        fprintf(stderr, "ibcheck: reproduce: need exactly one CONFIG.yaml, got %d: see 'ibcheck reproduce --help'\n",
                argc - optind);
        return CLI_USAGE;
    }
    if (!(scale >= 1 && isfinite(scale))) {
        fprintf(stderr, "ibcheck: --scale = %g is out of range: need %s\n", scale, repro_flags[P_SCALE].need);
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    char err[IBC_ERRLEN], defdir[512];
    ibc_repro_config c;
    if (ibc_repro_config_read(&c, path, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return CLI_USAGE;
    }
    if (scale > 1 && ibc_repro_config_scale(&c, scale, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: --scale: %s\n", err);
        return CLI_USAGE;
    }
    if (ibc_repro_opts_check(&ro, &c, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return CLI_USAGE;
    }
    if (!dir) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, ".");
        snprintf(defdir, sizeof defdir, "reproduce-%.*s%s", (int)(n > 400 ? 400 : n), base,
                 scale > 1 ? "-scaled" : "");
        dir = defdir;
    }
    if (!dir[0]) {
        fprintf(stderr, "ibcheck: -o = '' is empty: need a directory path\n");
        return CLI_USAGE;
    }
    if (scale > 1)
        printf("note: scaled by %g for a quick run: n_train = %ld, n_test = %ld, hidden_width = %ld, max_epoch = %ld\n",
               scale, c.n_train, c.n_test, c.hidden_width, c.max_epoch);
    ibc_prec_blas_setup();
    /* One line per cell on stderr: the run is long, and the issue asks for progress. */
    int rc = ibc_repro_run(&c, &ro, dir, !ps.common.quiet, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return rc == IBC_EINPUT ? CLI_USAGE : rc;
    }
    printf("results: %s/results.json, results.csv, distance.csv, contrib.csv, cos_p1.csv, cos_p3.csv, robust.csv\n", dir);
    if (c.plot_run) {
        rc = ibc_plot_repro(dir, c.K, err);
        if (rc == IBC_ENOTOOL) {
            fprintf(stderr, "ibcheck: note: %s\n", err);
            rc = IBC_OK;
        } else if (rc != IBC_OK) {
            fprintf(stderr, "ibcheck: %s\n", err);
        } else {
            printf("figure: %s/figure.png and %s/figure.svg (script %s/figure.gp)\n", dir, dir, dir);
        }
    }
    return rc;
}
