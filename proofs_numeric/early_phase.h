/* The early phase of MMV24 (Lemmas 1 and 3; docs/theory.md §5 L-earlynorm and
 * L-direction), shared by the claims `early-norm` and `direction-approx`:
 * gradient flow on the sum loss from a balanced init W(0) = eps W0, recorded
 * on [0, T], T = log(1/(sqrt(h) eps)) / (4 n X_max), with the quantities both
 * lemmas bound evaluated at every record.  Lives in early_phase.c. */
#ifndef IBC_EARLY_PHASE_H
#define IBC_EARLY_PHASE_H
#include <stddef.h>
#include "ibcheck/claim.h"

typedef struct {
    double p;
    long n, h, D;
    char eps[48];          /* the eps used (decimal string) */
    double eps_d;
    double X_max;          /* max_i ||x_i|| */
    double W_max;          /* max_j ||[W0]_j||, W0 = W(0)/eps (1 for balanced init) */
    double eps_max;        /* 1/(4 sqrt(h) X_max W_max^2): Lemma 3's condition */
    double T;              /* the lemmas' horizon */
    long n_rec;            /* records on the grid k T/(n_rec-1) */
    double *t;             /* record times */
    double *norm2;         /* max_j ||w_j(t)||^2 */
    double *fmax;          /* max_i |f(x_i; theta(t))| */
    double *dir;           /* max_j || d/dt w_hat_j - sign(v_j(0)) P_{w_j} x_a^(p)(w_j) || */
    /* Second method for d/dt w_hat = P (dw/dt)/||w||: a central difference of
     * w_hat along the integrated trajectory, at probe times whose activation
     * pattern does not change within +-delta (for p = 1 the field jumps). */
    double fd_delta;       /* the difference step */
    double fd_rel;         /* max over probes, neurons of |FD - formula| / |formula| */
    long fd_probes, fd_skipped;
    double fd_bound;       /* the derived bound for fd_rel (see the .c file) */
    ibc_flow_stats st;
} ibc_early_phase;

/* Runs the early phase for cfg's data model with exponent p, n samples,
 * width h, in mode pr (adaptive GF, tolerance the flow's default).  eps is a
 * decimal string, or NULL for the largest eps Lemma 3 allows (eps_max rounded
 * down to 3 digits).  IBC_OK, or an error status + err; ep is then released
 * with ibc_claim_early_phase_clear. */
int ibc_claim_early_phase_run(ibc_early_phase *ep, const ibc_config *cfg, double p, long n, long h,
                              const char *eps, ibc_prec pr, char *err);
void ibc_claim_early_phase_clear(ibc_early_phase *ep);
/* One line naming the data model, sizes, eps, X_max, W_max, T and the run. */
void ibc_claim_early_phase_describe(char *buf, size_t len, const ibc_config *cfg, const ibc_early_phase *ep);
/* One row for a lemma's bound c_lemma * scale on the worst value over the
 * records (at time t_at): HOLDS/REFUTED for p = 1, where the lemma claims it;
 * for other p an INFO row with the constant c = worst/scale that would make
 * "<= c * scale" hold. */
void ibc_claim_early_phase_row(ibc_rows *out, const char *claim, const char *what, const char *source,
                               const char *params, ibc_prec pr, double worst, double t_at, double c_lemma, double scale,
                               double p);
/* Max over records of a per-record series (norm2, fmax, dir). */
double ibc_claim_early_phase_worst(const ibc_early_phase *ep, const double *series, long *at);

/* The rows one claim emits for one run (exponent p, n samples, width h,
 * eps as in ibc_claim_early_phase_run). */
typedef int (*ibc_early_rows_fn)(const ibc_config *cfg, double p, long n, long h, const char *eps,
                                 ibc_rows *out, char *err);
/* The runs both claims make: p = 1 at the largest eps (n, h up to 200, 20;
 * full: cfg's n, h), p = 1 at cfg->eps (n, h up to 100, 10), and p = 3 at
 * the largest eps (as the first). */
int ibc_claim_early_phase_claim(const ibc_config *cfg, int full, ibc_early_rows_fn rows, ibc_rows *out, char *err);
/* The `long` variants (not in claims.h yet): the default n and h at the
 * largest eps. */
int ibc_claim_early_norm_long(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_direction_approx_long(const ibc_config *cfg, ibc_rows *out, char *err);

#endif
