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
        rc = ibc_report_plot_repro(dir, c->K, err);
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

/* Rank 0: a robust cell between its first part and its last piece. */
typedef struct {
    ibc_repro_robust *R;     /* NULL: not in its robust phase */
    char *text;              /* the first part (ibc_repro_cell_compute) */
    int rank;                /* the rank that trained it */
    long out;                /* pieces queued or computing */
    unsigned char *chunks;   /* per rank: computed some of its brackets */
} robust_cell;

/* Tasks: cell q is task q; piece k of cell q is ncell + q npmax + k. */
typedef struct {
    const repro_plan *plan;
    int verbose;
    long computed;
    double t0;
    long ncell, npmax;
    robust_cell *rob;        /* rank 0: per cell */
} repro_farm;

static int cell_compute(long task, const char *payload, size_t plen, char **out, size_t *len, char *err, void *ctx)
{
    const repro_farm *f = ctx;
    if (task >= f->ncell)   /* a piece of a robust phase: all it needs is in its payload */
        return ibc_repro_robust_piece(payload, plen, out, len, err);
    char *job = NULL;
    size_t jlen = 0;
    int rc = ibc_repro_cell_compute(&f->plan->c, task, f->plan->dir, f->plan->ro.ckpt_every, out, &job, &jlen, err);
    *len = *out ? strlen(*out) + 1 : 0;
    if (rc == IBC_OK && job) {   /* the first part's text, its NUL, then the robust phase's input */
        char *both = realloc(*out, *len + jlen);
        if (!both) {
            snprintf(err, IBC_ERRLEN, "reproduce: out of memory sending cell %ld", task);
            rc = IBC_EIO;
        } else {
            memcpy(both + *len, job, jlen);
            *out = both;
            *len += jlen;
        }
    }
    free(job);
    return rc;
}

static void cell_name(long task, char *buf, size_t n, void *ctx)
{
    const repro_farm *f = ctx;
    long q = task < f->ncell ? task : (task - f->ncell) / f->npmax;
    char nm[64], pn[64] = "";
    ibc_repro_cell_name(&f->plan->c, q, nm, sizeof nm);
    if (task >= f->ncell && f->rob && f->rob[q].R)
        ibc_repro_robust_piece_name(f->rob[q].R, (task - f->ncell) % f->npmax, pn, sizeof pn);
    snprintf(buf, n, task < f->ncell ? "%s" : "%s [%s]", nm, pn);
}

static void cell_started(long task, int rank, void *ctx)
{
    repro_farm *f = ctx;
    if (!f->verbose || task >= f->ncell)
        return;   /* pieces: one line per cell is enough */
    char nm[64];
    ibc_repro_cell_name(&f->plan->c, task, nm, sizeof nm);
    fprintf(stderr, "ibcheck: reproduce: cell %s on rank %d ...\n", nm, rank);
}

/* A finished cell's text: saved at once (a later failure keeps it). */
static int cell_save_text(repro_farm *f, long q, int rank, const char *text)
{
    char nm[64], serr[IBC_ERRLEN];
    ibc_repro_cell_name(&f->plan->c, q, nm, sizeof nm);
    double dist, acc, sec;
    if (ibc_repro_cell_save(&f->plan->c, q, f->plan->dir, text, &dist, &acc, &sec, serr) != IBC_OK) {
        fprintf(stderr, "ibcheck: reproduce: cell %s from rank %d: %s\n", nm, rank, serr);
        return IBC_EIO;
    }
    f->computed++;
    if (f->verbose)
        fprintf(stderr, "ibcheck: reproduce: cell %s done on rank %d in %.1f s (%ld/%ld): dist %.4g, test accuracy %.4f\n",
                nm, rank, sec, f->computed, f->plan->ntodo, dist, acc);
    return IBC_OK;
}

static void robust_cell_clear(robust_cell *b)
{
    ibc_repro_robust_free(b->R);
    free(b->text);
    free(b->chunks);
    memset(b, 0, sizeof *b);
}

/* Queues the pieces of cell q that can start, at most one per rank at a
 * time (each message holds the network: rank 0 keeps few of them), or, when
 * every piece is folded, saves the cell with one line naming the ranks of
 * its brackets. */
static int robust_advance(repro_farm *f, long q)
{
    robust_cell *b = &f->rob[q];
    long k;
    char *in, nm[64], err[IBC_ERRLEN];
    size_t inlen;
    int more, rc = IBC_OK;
    ibc_repro_cell_name(&f->plan->c, q, nm, sizeof nm);
    while (rc == IBC_OK && b->out < ibc_mpi_size() && (more = ibc_repro_robust_next(b->R, &k, &in, &inlen)) != 0) {
        rc = more < 0 ? IBC_EIO : ibc_mpi_queue_add(f->ncell + q * f->npmax + k, in, inlen);
        free(in);
        b->out++;
        if (rc != IBC_OK)
            fprintf(stderr, "ibcheck: reproduce: cell %s: out of memory queueing its robust pieces\n", nm);
    }
    if (rc != IBC_OK || !ibc_repro_robust_done(b->R))
        return rc;
    char *final = NULL;
    rc = ibc_repro_robust_finish(b->R, b->text, &final, err);
    if (rc != IBC_OK)
        fprintf(stderr, "ibcheck: reproduce: cell %s: %s\n", nm, err);
    if (rc == IBC_OK && f->verbose) {
        char list[256] = "";
        int n = 0;
        size_t at = 0;
        for (int r = 0; r < ibc_mpi_size(); r++)
            if (b->chunks[r] && at < sizeof list - 16) {
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", n ? "," : "", r);
                n++;
            }
        fprintf(stderr, "ibcheck: reproduce: cell %s: brackets computed on %d rank%s (%s)\n", nm, n, n == 1 ? "" : "s",
                list);
    }
    if (rc == IBC_OK)
        rc = cell_save_text(f, q, b->rank, final);
    free(final);
    robust_cell_clear(b);
    return rc == IBC_EINPUT ? IBC_ENUMERIC : rc;
}

/* Rank 0: a finished task.  A cell without a robust phase is saved; a robust
 * cell's first part starts its pieces; a piece is folded. */
static int cell_finish(long task, int rank, int rc, const char *buf, size_t len, const char *err, void *ctx)
{
    repro_farm *f = ctx;
    long q = task < f->ncell ? task : (task - f->ncell) / f->npmax;
    char nm[160], ferr[IBC_ERRLEN];
    cell_name(task, nm, sizeof nm, ctx);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: reproduce: cell %s on rank %d: %s\n", nm, rank, err[0] ? err : "failed");
        return rc == IBC_EINPUT ? IBC_ENUMERIC : rc;
    }
    robust_cell *b = &f->rob[q];
    if (task >= f->ncell) {
        long k = (task - f->ncell) % f->npmax;
        b->out--;
        if (!b->R || ibc_repro_robust_fold(b->R, k, buf, len, ferr) != IBC_OK) {
            fprintf(stderr, "ibcheck: reproduce: cell %s from rank %d: %s\n", nm, rank,
                    b->R ? ferr : "a piece of no robust phase");
            return IBC_EIO;
        }
        if (k < ibc_repro_robust_nchunks(b->R))
            b->chunks[rank] = 1;
        return robust_advance(f, q);
    }
    size_t tl = len ? strnlen(buf, len) : 0;
    if (len == 0 || tl == len) {
        fprintf(stderr, "ibcheck: reproduce: cell %s from rank %d: a truncated result\n", nm, rank);
        return IBC_EIO;
    }
    if (tl + 1 == len)
        return cell_save_text(f, q, rank, buf);
    /* A robust cell: its phase goes out in pieces, resumed from its progress. */
    char prog[4400];
    snprintf(prog, sizeof prog, "%.4000s/cells/%s.ckpt.robust", f->plan->dir, nm);
    b->R = ibc_repro_robust_alloc(buf + tl + 1, len - tl - 1, f->plan->ro.ckpt_every > 0 ? prog : NULL, ferr);
    b->text = strdup(buf);
    b->chunks = calloc((size_t)ibc_mpi_size(), 1);
    b->rank = rank;
    if (!b->R || !b->text || !b->chunks) {
        fprintf(stderr, "ibcheck: reproduce: cell %s: %s\n", nm, b->R ? "out of memory" : ferr);
        robust_cell_clear(b);
        return IBC_EIO;
    }
    return robust_advance(f, q);
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
    repro_farm f = {plan, verbose, 0, 0, ibc_repro_ncells(&plan->c), ibc_repro_robust_npieces(&plan->c), NULL};
    if (ibc_mpi_rank() == 0 && !(f.rob = calloc((size_t)f.ncell, sizeof *f.rob)))
        abort();   /* a few bytes per cell: the other ranks wait for this one, and the job stops */
    char record[4400];
    snprintf(record, sizeof record, "%.4000s/running.txt", plan->dir);
    ibc_mpi_farm_ops ops = {.what = "reproduce",
                            .after = after,
                            .record = record,
                            .compute = cell_compute,
                            .started = cell_started,
                            .finish = cell_finish,
                            .name = cell_name,
                            .ctx = &f};
    f.t0 = ibc_util_now();
    int rc = ibc_mpi_farm(todo, plan->ntodo, &ops, err);
    for (long q = 0; f.rob && q < f.ncell; q++)   /* robust phases cut short by a failure */
        robust_cell_clear(&f.rob[q]);
    free(f.rob);
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

int ibc_cli_cmd_reproduce(int argc, char **argv)
{
    double scale = 1;
    const char *dir = NULL;
    ibc_repro_opts ro;
    ibc_repro_opts_default(&ro);
    cli_parser ps;
    ibc_cli_parser_init(&ps, "reproduce", "ibcheck reproduce CONFIG.yaml [--scale F] [--sigma-index I] [--repeat-index R] [--p P] [-o DIR]",
                        "Runs the experiment of MV24 §5.1 described by the authors' YAML config: trains\n"
                        "p = 1 and p = 3 networks by SGD for every sigma and repeat, estimates their\n"
                        "distance to F and F^(3), and for sigma[save_model] the robust accuracy under\n"
                        "l2 PGD with certified and attack brackets.  Every finished cell is saved in\n"
                        "DIR/cells/ at once, so a killed run resumes where it stopped.  Writes\n"
                        "DIR/results.json, results.csv, the panels' CSV files and figure.png/svg.",
                        repro_flags, 0);
    int r;
    while ((r = ibc_cli_parser_next(&ps, argc, argv)) == 1) {
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
    ibc_cli_parser_free(&ps);
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
