/* repro: the authors' experiment (MV24 §5.1) driven by their YAML config
 * format, run cell by cell (sigma, repeat, p) with atomic per-cell results so
 * that a killed run resumes, and drawn as the five-panel figure.
 *
 * Config format (every key required; the YAML is read with libyaml):
 *   train:      run, D, k, k1, save_model, n_train, n_test, repeat,
 *               sigma_list [start, stop, count], epsilon_list [start, stop, count]
 *   train_opt:  batch_size, max_epoch, lr
 *   train_net:  hidden_width, init_scale
 *   train_dist: batch_size_dist, batch_num_dist
 *   plot:       run
 * sigma is the intra-subclass spread alpha of docs/theory.md §1 (noise std sigma/sqrt D). */
#ifndef IBCHECK_REPRO_H
#define IBCHECK_REPRO_H
#include "ibcheck/prec.h"

typedef struct {
    int run;                    /* train.run */
    long D, K, K1;              /* train.D, train.k, train.k1 */
    long save_model;            /* index into the sigma list of the robust-accuracy cell */
    long n_train, n_test, repeat;
    double sigma_start, sigma_stop;
    long sigma_count;           /* train.sigma_list: linspace(start, stop, count) */
    double eps_start, eps_stop;
    long eps_count;             /* train.epsilon_list: linspace of l2 attack radii */
    long batch_size, max_epoch; /* train_opt */
    double lr;
    long hidden_width;          /* train_net */
    double init_scale;          /* std of every entry of W and v (gaussian init) */
    char init_scale_str[64];    /* the same as written in the file (exact decimal) */
    long batch_size_dist, batch_num_dist;   /* train_dist */
    int plot_run;               /* plot.run */
    double scale;               /* --scale F applied (1 = none) */
} ibc_repro_config;

/* Reads and validates a config file.  Unknown keys, missing keys, wrong types
 * and out-of-range values give IBC_EINPUT and one line in err naming the file,
 * the line, the key, the value and the allowed range. */
int ibc_repro_config_read(ibc_repro_config *c, const char *path, char *err);
/* The same on an in-memory document (for tests and fuzzing); name labels errors. */
int ibc_repro_config_parse(ibc_repro_config *c, const char *text, size_t len, const char *name, char *err);
/* Range checks of every field (also after --scale). */
int ibc_repro_config_check(const ibc_repro_config *c, char *err);
/* --scale F (F >= 1): n_train, n_test, hidden_width and max_epoch divided by
 * F (at least 1, n_train at least K, batch sizes clipped); records F. */
int ibc_repro_config_scale(ibc_repro_config *c, double F, char *err);
/* linspace(start, stop, count)[i], as numpy: start + i (stop - start)/(count - 1). */
double ibc_repro_sigma(const ibc_repro_config *c, long i);
double ibc_repro_eps(const ibc_repro_config *c, long i);

/* Which cells a run computes, and how often a cell saves its training. */
typedef struct {
    long sigma_index;    /* -1: every sigma */
    long repeat_index;   /* -1: every repeat */
    double p;            /* 0: both p = 1 and p = 3 */
    long ckpt_every;     /* SGD steps between checkpoints of a running cell (0: none) */
} ibc_repro_opts;
void ibc_repro_opts_default(ibc_repro_opts *o);   /* every cell, a checkpoint every 2000 steps */
/* IBC_EINPUT + one line when a selection is out of the config's range. */
int ibc_repro_opts_check(const ibc_repro_opts *o, const ibc_repro_config *c, char *err);

/* Runs every selected cell not yet saved under dir (creating dir), then
 * writes the summary files from every cell saved there (the figure is
 * ibc_report_plot_repro's job).  A running cell saves its SGD state to
 * DIR/cells/<cell>.ckpt every o->ckpt_every steps and a rerun resumes from it.
 * Progress lines on stderr when verbose.  Returns IBC_OK or an error status + err. */
int ibc_repro_run(const ibc_repro_config *c, const ibc_repro_opts *o, const char *dir, int verbose, char *err);

/* Cell by cell, for a scheduler that spreads cells over processes (the
 * CLI's MPI farm, issue 14).  Cell q in [0, ibc_repro_ncells) is the serial
 * run's q-th cell: q = (sigma_index * repeat + r) * 2 + (p == 3).  Each
 * function computes exactly what ibc_repro_run does for that cell, so the
 * files are the serial run's, byte for byte (wall-clock fields aside). */
#include <stddef.h>
long ibc_repro_ncells(const ibc_repro_config *c);
/* "s<i>_r<r>_p<p>": the cell file's name without .json. */
void ibc_repro_cell_name(const ibc_repro_config *c, long q, char *buf, size_t n);
/* ibc_repro_run's start (checks, DIR/cells, stale temporaries, config.json),
 * then the selected cells not yet saved into todo (room for ncells), the
 * largest first (the robust cells of sigma save_model, p = 3 before p = 1);
 * *nsaved counts the cells already saved.  A saved file that is not its
 * cell's is IBC_EINPUT, as in ibc_repro_run. */
int ibc_repro_prepare(const ibc_repro_config *c, const ibc_repro_opts *o, const char *dir, long *todo, long *ntodo,
                      long *nsaved, char *err);
/* Computes cell q into *text (malloc'd, the cell file's bytes).  A
 * checkpoint goes to DIR/cells/<cell>.ckpt when this machine can create
 * DIR/cells, else none.  A robust cell (sigma save_model) stops before its
 * robust phase: then *job (malloc'd, *jlen bytes) is that phase's input and
 * *text the cell without it, for ibc_repro_robust_alloc and
 * ibc_repro_robust_finish; else *job is NULL.  IBC_OK, IBC_ENUMERIC or
 * IBC_EIO with err. */
int ibc_repro_cell_compute(const ibc_repro_config *c, long q, const char *dir, long ckpt_every, char **text,
                           char **job, size_t *jlen, char *err);

/* A robust cell's last phase in pieces, for a scheduler that spreads them
 * over processes as well (src/repro/phase.c): chunks of test points (per
 * point the certified radius and the structured attack), then one piece per
 * radius (the authors' PGD over the clean points, which start once every
 * chunk is folded).  Any process computes a piece from its input bytes; one
 * process folds the results, in piece order whatever order they arrive in,
 * so the cell is the serial run's bit for bit.  ibc_repro_run uses the same
 * pieces.  progress (may be NULL): the resume file
 * (DIR/cells/<cell>.ckpt.robust), loaded when it is this job's and saved as
 * the folded pieces grow. */
typedef struct ibc_repro_robust ibc_repro_robust;
ibc_repro_robust *ibc_repro_robust_alloc(const char *job, size_t jlen, const char *progress, char *err);
void ibc_repro_robust_free(ibc_repro_robust *R);
/* More than any piece number of a cell of c (to number pieces as tasks). */
long ibc_repro_robust_npieces(const ibc_repro_config *c);
/* The next piece that can start: 1 with its number and input (*in,
 * malloc'd), 0 when none can now (all handed out, or the radii wait for the
 * chunks still out), -1 out of memory. */
int ibc_repro_robust_next(ibc_repro_robust *R, long *piece, char **in, size_t *inlen);
/* Pieces [0, nchunks) are the chunks of points (the brackets). */
long ibc_repro_robust_nchunks(const ibc_repro_robust *R);
/* "points 8-15", "PGD at radius 0.4": for messages. */
void ibc_repro_robust_piece_name(const ibc_repro_robust *R, long piece, char *buf, size_t n);
/* Any process: computes a piece from its input into *out (malloc'd). */
int ibc_repro_robust_piece(const char *in, size_t inlen, char **out, size_t *outlen, char *err);
/* The folding process: piece's result (kept until every earlier piece is folded). */
int ibc_repro_robust_fold(ibc_repro_robust *R, long piece, const char *out, size_t outlen, char *err);
int ibc_repro_robust_done(const ibc_repro_robust *R);   /* every piece folded */
/* The cell file's bytes (*final, malloc'd) from the first part's text. */
int ibc_repro_robust_finish(ibc_repro_robust *R, const char *text, char **final, char *err);
/* Checks that text is cell q's result, writes it atomically as its cell
 * file, removes its checkpoint; *dist, *test_acc and *seconds from it (for
 * the progress line).  Then ibc_repro_run (which finds every selected cell
 * saved) writes the summaries. */
int ibc_repro_cell_save(const ibc_repro_config *c, long q, const char *dir, const char *text, double *dist,
                        double *test_acc, double *seconds, char *err);

/* The figure, ibc_report_plot_repro, is declared where it lives: ibcheck/report.h. */
#include "ibcheck/report.h"

#endif
