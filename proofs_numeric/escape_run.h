/* Escape from a small initialization (docs/theory.md §5 L-escape), shared by the
 * claims `escape-time` and `tiny-init`.  Lives in escape_run.c.
 *
 * Escape time: the first time the mean exp loss has fallen by IBC_ESCAPE_DROP
 * from its initial value 1, i.e. mean_i (1 - e^{-y_i f(x_i)}) >= 0.1: the
 * network has left the origin (f is O(1) on a tenth of the data).  Found by
 * linear interpolation of log(1 - L) between records (every few GD steps).
 */
#ifndef IBC_ESCAPE_RUN_H
#define IBC_ESCAPE_RUN_H
#include "ibcheck/claim.h"

#define IBC_ESCAPE_DROP 0.1
/* The linear (alignment) phase, where 1 - L is still tiny: the window in
 * which the growth rate is measured and the leading neuron's direction read. */
#define IBC_ESCAPE_LIN_LO 1e-8
#define IBC_ESCAPE_LIN_HI 1e-3
/* A neuron's own escape: the first time |v_j| ||w_j|| reaches IBC_ESCAPE_UNIT
 * (still in the linear phase, where neurons grow independently of each
 * other), for the first IBC_ESCAPE_HMAX neurons. */
#define IBC_ESCAPE_UNIT 1e-4
#define IBC_ESCAPE_HMAX 128

typedef struct {
    int rc;                /* IBC_OK, or the status of init/flow (IBC_ENUMERIC: refused) */
    char msg[IBC_ERRLEN];  /* why, when rc != IBC_OK */
    int escaped;           /* 0: no escape within the step cap */
    double t_esc;          /* escape time (GD time eta*steps) */
    long steps;            /* GD steps taken */
    double align;          /* min_k max_j cos(w_j, mu_k) at escape */
    /* From the linear window [LIN_LO, LIN_HI] of 1 - L (NaN when the run
     * started above LIN_LO): the measured growth rate lambda, from
     * 1 - L ~ (1 + eta lambda)^(2 steps), and lambda = sign(v) G_n(w_hat) of
     * the leading neuron (largest |v_j| ||w_j||) at the window's end. */
    double lambda_growth, lambda_dir;
    long lead;             /* that neuron */
    int lead_sign;         /* sign(v) of that neuron */
    long lead_center;      /* argmax_k <w_lead, mu_k> over the centers of its class */
    /* Per neuron j: the time |v_j| ||w_j|| first reaches IBC_ESCAPE_UNIT
     * (log-linear interpolation between records; NaN: not before the stop). */
    double unit_t[IBC_ESCAPE_HMAX];
} ibc_escape;

/* GD (step cfg->lr, mean exp loss, balanced init from cfg->model.seed) on
 * cfg's data model with n samples, width h, exponent p, init scale eps (a
 * decimal string), in mode pr, for at most max_steps steps, recording every
 * record_every steps (<= 0: every 4).  Returns IBC_OK
 * when the run could be made (its outcome, refusal included, is in e), or an
 * error status + err on bad input. */
int ibc_claim_escape_run(ibc_escape *e, const ibc_config *cfg, double p, long n, long h, const char *eps,
                         ibc_prec pr, long max_steps, long record_every, char *err);
/* G_n(u) = (1/n) sum_i y_i sigma(<x_i, u>)^p for a unit u (length D, double),
 * through a one-neuron network on the same data. */
double ibc_claim_escape_G(const ibc_data *data, double p, const double *u);

/* log(1/eps) for a decimal string eps, through MPFR (eps itself may lie far
 * below double's range). */
double ibc_claim_escape_log_inv_eps(const char *eps);
/* A GD step cap far above the predicted escape at log(1/eps) = x for growth
 * rate lambda (floored at 0.01): a failed escape costs at most this. */
long ibc_claim_escape_cap(double eta, double lambda, double x);
/* Largest |t_esc(a)/t_esc(b) - 1| that rounding alone explains between a
 * double run and a higher-precision run b = ref of the same GD (derivation
 * in claim_escape_time.c); ref must have escaped with its lambda read. */
double ibc_claim_escape_agree_bound(const ibc_escape *ref, long n, long D);
/* The small configuration of the high-precision runs: cfg with D = 6, K = 2,
 * K1 = 1, n = 20, h = 6 (each MPFR GD step then costs ~0.1 ms). */
void ibc_claim_escape_small_config(ibc_config *c, const ibc_config *cfg);
/* The `long` variant of `escape-time` (not in claims.h yet). */
int ibc_claim_escape_time_long(const ibc_config *cfg, ibc_rows *out, char *err);

#endif
