/* ladder: one trainer run in several precision modes, compared (docs/theory.md §8
 * `precision-ladder`, and `ibcheck compare`).
 *
 * Every mode trains on the same data and the same initial theta (both made
 * once at IBC_GEN_BITS and rounded into the mode), with the same trainer.
 * Snapshots at fixed steps (0, 1, 10, 100, 1000, ..., the quarters of the
 * run and its end) keep theta, the loss, the margin min_i y_i f(x_i), the
 * normalized margin and the per-neuron alignment max_k cos(w_j, mu_k).  The
 * rows then give, for each mode against the reference (the mode with the
 * most bits): digits of agreement at each snapshot, the neurons whose end
 * (fate) differs, and for two modes of equal bits (double against mpfr:53)
 * the difference in ulps per step at steps 1, 10 and 100.
 * Nothing here depends on which modes exist: a mode is an ibc_prec. */
#ifndef IBCHECK_LADDER_H
#define IBCHECK_LADDER_H
#include "ibcheck/claim.h"

#define IBC_LADDER_MODES_MAX 8
#define IBC_LADDER_SNAPS_MAX 32

/* What one mode held at one snapshot. */
typedef struct {
    long step;            /* trainer step (adaptive: the GD step of the same time lr*step) */
    double t;             /* gradient-flow time lr*step */
    ibc_vec theta;        /* in the run's mode */
    mpfr_t loss;          /* full-batch loss, the recorder's value */
    mpfr_t margin;        /* min_i y_i f(x_i), from the mode's f */
    double gamma_bar;     /* normalized margin, the recorder's (a double) */
    double *align;        /* h entries: max_k cos(w_j, mu_k) (ibc_net_cosines, doubles) */
    double *contrib;      /* h entries: |v_j| ||w_j|| */
    double theta_rad;     /* largest radius of theta's entries (ibc_ladder_radius): 0 unless a ball mode */
} ibc_ladder_snap;

typedef struct {
    ibc_prec pr;
    int rc;                   /* IBC_OK, or the trainer's status (e.g. IBC_ENUMERIC: NaN) */
    char msg[IBC_ERRLEN];     /* why, when rc != IBC_OK */
    long nsnap;               /* snapshots reached (all of them when rc == IBC_OK) */
    ibc_ladder_snap *snap;    /* IBC_LADDER_SNAPS_MAX slots */
    long *fate;               /* h entries at the end: the center k maximizing cos(w_j, mu_k),
                               * or -1 when the neuron stayed small (contribution below
                               * IBC_LADDER_ACTIVE of the largest) */
    double seconds;           /* training time */
} ibc_ladder_run;

/* A neuron counts as grown, and its fate as decided, when its contribution
 * |v_j| ||w_j|| is at least this fraction of the largest (the alignment
 * claim's definition of an active neuron). */
#define IBC_LADDER_ACTIVE 1e-3

typedef struct {
    ibc_config cfg;           /* the training configuration (cfg.prec unused) */
    double p;
    long nmodes;
    int ref;                  /* index of the reference mode */
    long nsnap;
    long snap_step[IBC_LADDER_SNAPS_MAX];
    long h, K;
    ibc_ladder_run run[IBC_LADDER_MODES_MAX];
    double *gap0;             /* h entries: top-two gap of the initial cosines cos(w_j(0), mu_k) */
} ibc_ladder;

/* Parses a comma-separated list of modes ("double,mpfr:113") with
 * ibc_prec_parse into modes[IBC_LADDER_MODES_MAX] and checks it
 * (ibc_ladder_modes_check).  IBC_EINPUT + one line naming the bad item. */
int ibc_ladder_modes_parse(ibc_prec *modes, long *nmodes, const char *list, char *err);
/* 2 <= n <= IBC_LADDER_MODES_MAX modes, no mode twice: IBC_OK, else
 * IBC_EINPUT + one line. */
int ibc_ladder_modes_check(const ibc_prec *modes, long n, char *err);
/* The reference: the mode with the most bits; between equal bits, the mode
 * listed later in ibc_mode (a correctly rounded or ball mode over double). */
int ibc_ladder_ref(const ibc_prec *modes, long n);

/* Trains cfg (exponent p) in each mode and keeps the snapshots.  Returns
 * IBC_OK when every run could be made: a mode whose trainer failed midway
 * (NaN) is kept with its rc and the snapshots it reached; the reference
 * must finish (else IBC_ENUMERIC).  IBC_EINPUT on bad configuration or
 * modes.  Progress on stderr when cfg->verbose and stderr is a terminal.
 * Release with ibc_ladder_clear (also after a failure). */
int ibc_ladder_init(ibc_ladder *L, const ibc_config *cfg, double p, const ibc_prec *modes, long nmodes,
                    char *err);
void ibc_ladder_clear(ibc_ladder *L);

/* Appends the comparison rows under claim id `claim` and source `source`;
 * params_note (may be NULL) is added to every row's parameters.  Rows with
 * a bound get a verdict (theta at step 0: each mode is the common master
 * rounded once; equal-bits pairs: ulps per step), the others are info. */
void ibc_ladder_rows(const ibc_ladder *L, const char *claim, const char *source, const char *params_note,
                     ibc_rows *out);

/* Radius of entry i of v: 0 for the midpoint modes (double, mpfr).  The
 * hook for a ball mode, whose digits and radius columns will read it. */
void ibc_ladder_radius(mpfr_ptr r, const ibc_vec *v, long i);

/* The ulps-per-step bound of equal-bits pairs (see ladder.c). */
#define IBC_LADDER_ULPS_PER_STEP 8.0

#endif
