/* netio: saved networks as JSON (cJSON).  Every training parameter, the
 * precision, the seed and theta are recorded; values are exact: doubles as C99
 * hex floats ("%a"), MPFR values as MPFR hex strings ("%Ra"), so that loading
 * gives back the same bits.  Files are written atomically (temp + rename). */
#ifndef IBCHECK_NETIO_H
#define IBCHECK_NETIO_H
#include "ibcheck/train.h"

#define IBC_NETFILE_FORMAT "ibcheck-net"
#define IBC_NETFILE_VERSION 1

/* Saves cfg (training parameters), p, the mode of theta and theta itself. */
int ibc_train_netio_save(const char *path, const ibc_config *cfg, double p,
                         const ibc_vec *theta, const ibc_flow_stats *st, char *err);
/* Loads a file written by ibc_train_netio_save.  theta is initialised here in the
 * saved mode.  Malformed, truncated, wrong-version or inconsistent files
 * (dimensions that do not match D, h) give IBC_EINPUT and one line in err. */
int ibc_train_netio_load(const char *path, ibc_config *cfg, double *p, ibc_vec *theta, char *err);

/* ---- Checkpoints of a fixed-step training run (GD, SGD, RK4) ----
 * A checkpoint holds what a netfile holds (cfg, p, the mode, theta) plus how
 * often it is written and the flow state (step, gradient count, GD's balance
 * terms Q0 and corr exactly as theta, SGD's shuffle order), so that a resume
 * ends bitwise where the uninterrupted run ends. */
#define IBC_CKPTFILE_FORMAT "ibcheck-checkpoint"
#define IBC_CKPTFILE_VERSION 1

/* How the run is checkpointed and the one outside influence on its bits. */
typedef struct {
    long every;            /* checkpoint period in steps (>= 1) */
    long blas_threads;     /* OpenBLAS threads of a double run: its dgemm partition, and so its
                            * bits, depend on them (tests/determinism.sh); 0: not relevant (MPFR) */
} ibc_ckpt_meta;

int ibc_train_netio_ckpt_save(const char *path, const ibc_config *cfg, double p, const ibc_ckpt_meta *meta,
                              const ibc_vec *theta, const ibc_flow_state *s, char *err);
/* theta and s are initialised here (s owns its vectors and order: release
 * with ibc_flow_state_clear); on error they are left empty. */
int ibc_train_netio_ckpt_load(const char *path, ibc_config *cfg, double *p, ibc_ckpt_meta *meta,
                              ibc_vec *theta, ibc_flow_state *s, char *err);
/* IBC_OK when run (exponent prun) trains exactly what saved (psaved) trained,
 * else IBC_EINPUT and one line naming the first differing parameter. */
int ibc_train_netio_same_training(const ibc_config *run, double prun, const ibc_config *saved, double psaved,
                                  char *err);

/* ibc_train_trained_init (claim.h) in mode cfg->prec with checkpoints: every
 * ck->every steps (0: never) the run is saved to ck->path, atomically; with
 * ck->resume the run continues from the checkpoint at ck->path, whose
 * parameters must equal cfg and p (IBC_EINPUT naming the first that differs;
 * in double, the OpenBLAS thread count too), and ends with the bits the
 * uninterrupted run ends with.  ck->every 0 on
 * resume keeps the checkpoint's own period.  GD, SGD, RK4 only.  A numerical
 * fault (IBC_ENUMERIC) leaves the last checkpoint, which is finite, in place;
 * err then names it.  *resumed_step (may be NULL) gets the step resumed at.
 * Implemented with ibc_train_trained_init in src/train/cache.c. */
typedef struct {
    const char *path;
    long every;
    int resume;
} ibc_ckpt_opts;
int ibc_train_trained_init_ckpt(ibc_trained *t, const ibc_config *cfg, double p, const ibc_ckpt_opts *ck,
                                long *resumed_step, char *err);

#endif
