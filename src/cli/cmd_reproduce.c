/* cli: `ibcheck reproduce CONFIG.yaml [--scale F] [-o DIR]`, the authors'
 * experiment (MV24 §5.1) from their configuration format. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include <stdlib.h>
#include <time.h>
#include "ibcheck/repro.h"
#include "mpi/farm.h"
#include "util/clock.h"

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

/* The config, --scale, the cell selection and the directory: CLI_OK, or
 * CLI_USAGE after one line.  *dir defaults to reproduce-<config name> (in
 * defdir).  Prints the --scale note. */
static int load_config(ibc_repro_config *c, const char *path, double scale, const ibc_repro_opts *ro,
                       const char **dir, char *defdir)
{
    char err[IBC_ERRLEN];
    if (ibc_repro_config_read(c, path, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return CLI_USAGE;
    }
    if (scale > 1 && ibc_repro_config_scale(c, scale, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: --scale: %s\n", err);
        return CLI_USAGE;
    }
    if (ibc_repro_opts_check(ro, c, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return CLI_USAGE;
    }
    if (!*dir) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, ".");
        snprintf(defdir, 512, "reproduce-%.*s%s", (int)(n > 400 ? 400 : n), base, scale > 1 ? "-scaled" : "");
        *dir = defdir;
    }
    if (!(*dir)[0]) {
        fprintf(stderr, "ibcheck: -o = '' is empty: need a directory path\n");
        return CLI_USAGE;
    }
    if (scale > 1)
        printf("note: scaled by %g for a quick run: n_train = %ld, n_test = %ld, hidden_width = %ld, max_epoch = %ld\n",
               scale, c->n_train, c->n_test, c->hidden_width, c->max_epoch);
    return CLI_OK;
}

/* The summaries, written from every saved cell, and the figure. */
static int write_outputs(const ibc_repro_config *c, const ibc_repro_opts *ro, const char *dir, int verbose)
{
    char err[IBC_ERRLEN];
    int rc = ibc_repro_run(c, ro, dir, verbose, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return rc == IBC_EINPUT ? CLI_USAGE : rc;
    }
    printf("results: %s/results.json, results.csv, distance.csv, contrib.csv, cos_p1.csv, cos_p3.csv, robust.csv\n", dir);
    if (c->plot_run) {
        rc = ibc_plot_repro(dir, c->K, err);
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

/* ---- several MPI ranks ---------------------------------------------------- */

/* What rank 0 decides and every rank needs: no file is read on the others. */
typedef struct {
    ibc_repro_config c;
    ibc_repro_opts ro;
    char dir[4096];
    long ntodo, nsaved;
} repro_plan;

typedef struct {
    const repro_plan *plan;
    int verbose;
    long computed;
    double t0;
} repro_farm;

static int cell_compute(long q, char **out, size_t *len, char *err, void *ctx)
{
    const repro_farm *f = ctx;
    int rc = ibc_repro_cell_compute(&f->plan->c, q, f->plan->dir, f->plan->ro.ckpt_every, out, err);
    *len = *out ? strlen(*out) + 1 : 0;
    return rc;
}

static void cell_name(long q, char *buf, size_t n, void *ctx)
{
    const repro_farm *f = ctx;
    ibc_repro_cell_name(&f->plan->c, q, buf, n);
}

static void cell_started(long q, int rank, void *ctx)
{
    repro_farm *f = ctx;
    if (!f->verbose)
        return;
    char nm[64];
    ibc_repro_cell_name(&f->plan->c, q, nm, sizeof nm);
    fprintf(stderr, "ibcheck: reproduce: cell %s on rank %d ...\n", nm, rank);
}

/* A finished cell: saved at once (a later failure keeps it). */
static int cell_finish(long q, int rank, int rc, const char *buf, size_t len, const char *err, void *ctx)
{
    repro_farm *f = ctx;
    char nm[64], serr[IBC_ERRLEN];
    ibc_repro_cell_name(&f->plan->c, q, nm, sizeof nm);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: reproduce: cell %s on rank %d: %s\n", nm, rank, err[0] ? err : "failed");
        return rc == IBC_EINPUT ? IBC_ENUMERIC : rc;
    }
    double dist, acc, sec;
    if (len == 0 || buf[len - 1] != '\0' ||
        ibc_repro_cell_save(&f->plan->c, q, f->plan->dir, buf, &dist, &acc, &sec, serr) != IBC_OK) {
        fprintf(stderr, "ibcheck: reproduce: cell %s from rank %d: %s\n", nm, rank,
                len == 0 || buf[len - 1] != '\0' ? "a truncated result" : serr);
        return IBC_EIO;
    }
    f->computed++;
    if (f->verbose)
        fprintf(stderr, "ibcheck: reproduce: cell %s done on rank %d in %.1f s (%ld/%ld): dist %.4g, test accuracy %.4f\n",
                nm, rank, sec, f->computed, f->plan->ntodo, dist, acc);
    return IBC_OK;
}

/* `mpirun -n N ibcheck reproduce`: rank 0 checks everything and prepares
 * DIR as the serial run does, shares the plan, then hands the cells out
 * (ibc_mpi_farm) and saves each as it comes back; the summaries and the
 * figure are the serial run's, from the saved cells. */
static int reproduce_mpi(const char *path, double scale, const char *dir, const ibc_repro_opts *ro, int verbose)
{
    repro_plan *plan = calloc(1, sizeof *plan);
    long *todo = NULL;
    int status = plan ? CLI_OK : IBC_EIO;
    char err[IBC_ERRLEN], defdir[512];
    if (ibc_mpi_rank() == 0 && status == CLI_OK) {
        plan->ro = *ro;
        status = load_config(&plan->c, path, scale, ro, &dir, defdir);
        if (status == CLI_OK && strlen(dir) >= sizeof plan->dir) {
            fprintf(stderr, "ibcheck: -o: the directory name is too long (%zu bytes; need < %zu)\n", strlen(dir),
                    sizeof plan->dir);
            status = CLI_USAGE;
        }
        if (status == CLI_OK) {
            snprintf(plan->dir, sizeof plan->dir, "%s", dir);
            todo = malloc(sizeof(long) * (size_t)ibc_repro_ncells(&plan->c));
            int rc = todo ? ibc_repro_prepare(&plan->c, ro, dir, todo, &plan->ntodo, &plan->nsaved, err) : IBC_EIO;
            if (!todo)
                snprintf(err, IBC_ERRLEN, "reproduce: out of memory");
            if (rc != IBC_OK) {
                fprintf(stderr, "ibcheck: %s\n", err);
                status = rc == IBC_EINPUT ? CLI_USAGE : rc;
            }
        }
    }
    status = ibc_mpi_share(status, plan, sizeof *plan);
    if (status == CLI_OK && ibc_mpi_rank() > 0 && !(todo = malloc(sizeof(long) * (size_t)(plan->ntodo + 1))))
        abort();   /* a few bytes: without them this rank cannot take part, and the job stops */
    if (status == CLI_OK)
        status = ibc_mpi_share(status, todo, sizeof(long) * (size_t)plan->ntodo);
    if (status != CLI_OK) {
        free(todo);
        free(plan);
        return status;
    }
    ibc_prec_blas_setup();
    char after[4400];
    snprintf(after, sizeof after, "every finished cell is saved in %.4000s/cells: rerun the same command to resume",
             plan->dir);
    repro_farm f = {plan, verbose, 0, 0};
    ibc_mpi_farm_ops ops = {"reproduce", after, cell_compute, cell_started, cell_finish, cell_name, &f};
    f.t0 = ibc_util_now();
    int rc = ibc_mpi_farm(todo, plan->ntodo, &ops, err);
    if (ibc_mpi_rank() > 0) {
        free(todo);
        free(plan);
        return rc == IBC_OK ? CLI_OK : rc;
    }
    if (rc == IBC_OK) {
        if (verbose)
            fprintf(stderr, "ibcheck: reproduce: %ld cells computed on %d ranks, %ld reused, %.1f s\n", f.computed,
                    ibc_mpi_size(), plan->nsaved, ibc_util_now() - f.t0);
        rc = write_outputs(&plan->c, &plan->ro, plan->dir, 0);
    } else if (err[0]) {
        fprintf(stderr, "ibcheck: %s\n", err);
    }
    free(todo);
    free(plan);
    return rc;
}

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
    if (ibc_mpi_size() > 1)
        return reproduce_mpi(argv[optind], scale, dir, &ro, !ps.common.quiet);
    ibc_repro_config c;
    char defdir[512];
    if (load_config(&c, argv[optind], scale, &ro, &dir, defdir) != CLI_OK)
        return CLI_USAGE;
    ibc_prec_blas_setup();
    /* One line per cell on stderr: the run is long, and the issue asks for progress. */
    return write_outputs(&c, &ro, dir, !ps.common.quiet);
}
