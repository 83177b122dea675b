/* flow: trainers on one theta and one data set, in any mode (docs/theory.md §3).
 * GD, seeded minibatch SGD, gradient flow by fixed-step RK4, and gradient
 * flow by adaptive Gragg-Bulirsch-Stoer extrapolation whose tolerance can be
 * driven toward 2^-BITS, with switching-event location for p = 1.
 * The algorithms live once in src/flow/flow_impl.h. */
#ifndef IBCHECK_FLOW_H
#define IBCHECK_FLOW_H
#include "ibcheck/net.h"

typedef enum { IBC_METHOD_GD = 0, IBC_METHOD_SGD, IBC_METHOD_RK4, IBC_METHOD_ADAPTIVE } ibc_method;

/* Called at every recorded point.  t is gradient-flow time (eta*step for GD),
 * step the step count; loss is the full-batch loss at theta (length 1).
 * Return nonzero to stop the run early. */
typedef int (*ibc_observer_fn)(void *ctx, const ibc_net *net, const ibc_vec *theta,
                               double t, long step, const ibc_vec *loss);

/* What a fixed-step run (GD, SGD, RK4) holds besides theta after `step`
 * steps: everything a checkpoint needs to continue it bitwise. */
typedef struct {
    long step;             /* steps done */
    long grad_evals;       /* the stats' count so far */
    ibc_vec Q0, corr;      /* GD track_balance: Q_j at step 0 and the accumulated exact
                            * eta^2 correction (length h); else length 0 */
    long n, pos;           /* SGD: the shuffled order perm[0..n) of the current epoch and the */
    long *perm;            /* position in it; n = 0 otherwise (or: not known, on resume) */
} ibc_flow_state;

/* Zeroed state (all lengths 0); ibc_flow_state_clear frees what the state owns. */
void ibc_flow_state_init(ibc_flow_state *s);
void ibc_flow_state_clear(ibc_flow_state *s);
/* Deep copy of src into dst (initialised; its old contents are freed). */
void ibc_flow_state_copy(ibc_flow_state *dst, const ibc_flow_state *src);

/* Called every ckpt_every steps with the run's state, theta finite (a step
 * giving NaN or inf stops the run before its checkpoint).  Return IBC_OK, or
 * a status (with err) that stops the run and is returned by ibc_flow_run. */
typedef int (*ibc_ckpt_fn)(void *ctx, const ibc_vec *theta, const ibc_flow_state *s, char *err);

typedef struct {
    ibc_method method;
    double lr;             /* GD/SGD step eta; RK4 step size */
    long steps;            /* GD/SGD/RK4: number of steps */
    double t_end;          /* ADAPTIVE: final time */
    double tol;            /* ADAPTIVE: local error tolerance; 0 = 2^(-bits+8) */
    long batch;            /* SGD batch size (1..n) */
    unsigned long seed;    /* SGD shuffle seed */
    int events;            /* ADAPTIVE: locate switching events <x_i, w_j> = 0, integrating
                            * each smooth piece up to its located surface.  1 (default):
                            * for p = 1 (the field jumps) and, in MPFR modes, for integer
                            * p >= 2 (the field is only C^(p-2) across a surface, which
                            * caps the order there); 2: every integer p in every mode;
                            * 0: never (error control then shrinks H at crossings). */
    long record_every;     /* GD/SGD/RK4: observer every k steps (0: only start and end) */
    const double *record_t;/* ADAPTIVE: sorted times to record (may be NULL) */
    long n_record_t;
    int track_balance;     /* GD: accumulate the exact eta^2 correction of Q_j */
    ibc_observer_fn obs;
    void *obs_ctx;
    /* Checkpoint and resume (GD/SGD/RK4 only: IBC_EINPUT for the adaptive
     * method).  resume: theta holds the state's theta and the run continues
     * at resume->step (SGD replays the completed epochs' shuffles from seed;
     * a saved perm/pos must match the replay).  The observer is called at
     * the uninterrupted run's record points after resume->step. */
    const ibc_flow_state *resume;
    long ckpt_every;       /* call ckpt after every step count that is a multiple (0: never) */
    ibc_ckpt_fn ckpt;
    void *ckpt_ctx;
} ibc_flow_opts;

typedef struct {
    long steps, rejected, events, grad_evals;
    long sliding;          /* adaptive: surfaces crossed without location (sliding modes) */
    double t;              /* time reached */
    double h_min;          /* smallest accepted adaptive step */
    /* max_j |Q_j(T) - Q_j(0) - corr_j| (corr: GD's exact eta^2 term; 0 for GF)
     * and the scale max_j v_j(T)^2, MPFR (GD: with track_balance; GF: always) */
    mpfr_t balance_drift, balance_scale;
    /* arb mode: the first step whose gradient met a ball straddling the
     * kink (-1: none) and how many units straddled then.  For p >= 2 the
     * enclosure stays valid; for p = 1 the run stops there (IBC_ENUMERIC). */
    long kink_step, kink_units;
} ibc_flow_stats;

void ibc_flow_opts_default(ibc_flow_opts *o);
const char *ibc_flow_method_name(ibc_method m);
int ibc_flow_method_parse(ibc_method *m, const char *s, char *err);

/* The trainers as a table, in the manner of GSL's odeiv2 step types: what
 * each one is and can do, and the function that runs it in each precision
 * mode (NULL where the mode is not supported).  ibc_flow_run checks the
 * options against the entry and calls run[mode]; each run allocates its
 * workspace, applies the steps and frees it. */
typedef int (*ibc_flow_run_fn)(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt, ibc_flow_stats *st,
                               char *err);
typedef struct {
    ibc_method id;
    const char *name;      /* as parsed by ibc_flow_method_parse */
    int order;             /* order in the step of the gradient-flow approximation; 0: adaptive
                            * (Gragg-Bulirsch-Stoer extrapolation, order chosen per step) */
    int fixed_step;        /* steps of lr, counted by opt->steps (else runs to opt->t_end) */
    int checkpoints;       /* supports opt->ckpt and opt->resume */
    ibc_flow_run_fn run[3];/* by ibc_mode: double, mpfr, arb */
} ibc_flow_type;
/* The entry of method m (m valid). */
const ibc_flow_type *ibc_flow_type_of(ibc_method m);
void ibc_flow_stats_init(ibc_flow_stats *s);
void ibc_flow_stats_clear(ibc_flow_stats *s);

/* Runs the trainer from theta in place.  Returns IBC_OK, or IBC_ENUMERIC on
 * NaN/inf or step-size collapse (err says at which step and time; theta
 * keeps the last good value), or IBC_EINPUT on bad options. */
int ibc_flow_run(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt,
                 ibc_flow_stats *st, char *err);

/* One explicit step of the classical RK4 / GD map on a general field, exposed
 * for the integrator order test: y' = F(t, y) in mode of y. */
typedef void (*ibc_field_fn)(void *ctx, double t, const ibc_vec *y, ibc_vec *dy);
/* Integrates y' = F from t0 to t1 with the adaptive GBS method at tol. */
int ibc_flow_gbs_field(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1,
                       double tol, ibc_flow_stats *st, char *err);
/* Fixed-step RK4 for nsteps from t0 to t1. */
void ibc_flow_rk4_field(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1, long nsteps);


/* ---- A standard observer: records what the claims read, at chosen times ----
 * Per record: t, step, the loss, ||theta||^2, the normalized margin
 * gamma_bar = min_i y_i f(x_i) / ||theta||^2, the smoothed margin gamma_tilde
 * (docs/theory.md §5 L-margin; exp: log(1/L_sum)/||theta||^2, logistic:
 * -log(e^L_sum - 1)/||theta||^2; NaN before L_sum < 1 resp. log 2), the largest
 * |v_j^2 - ||w_j||^2|, and (when centers are given) the alignment
 * min_k max_j cos(w_j, mu_k).  Values are MPFR-derived doubles except loss,
 * kept in MPFR too so tiny losses survive.  keep_theta also stores theta.
 * In arb mode every value is read from midpoints; log2_rad keeps the size of
 * the balls (radii reach 2^-4000, below double's range, hence the log). */
typedef struct {
    double t;
    long step;
    double loss, theta_norm2, gamma_bar, gamma_tilde, max_abs_Q, align;
    double log2_rad;   /* log2 of the largest ball radius of theta (arb mode; -inf otherwise) */
    mpfr_t loss_m;
    ibc_vec theta;     /* only with keep_theta (else len 0) */
} ibc_record;

typedef struct {
    const ibc_data *data;  /* for alignment; may be NULL */
    int keep_theta;
    ibc_record *rec;
    long n, cap;
} ibc_recorder;

void ibc_flow_recorder_init(ibc_recorder *r, const ibc_data *data, int keep_theta);
void ibc_flow_recorder_clear(ibc_recorder *r);
/* An ibc_observer_fn: pass it as opt.obs with opt.obs_ctx = the recorder. */
int ibc_flow_recorder_observe(void *ctx, const ibc_net *net, const ibc_vec *theta,
                              double t, long step, const ibc_vec *loss);

#endif
