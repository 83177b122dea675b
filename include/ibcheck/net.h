/* net: the two-layer pReLU network of docs/theory.md §2-3.
 * f(x) = sum_j v_j ||w_j|| sigma(<x, w_j/||w_j||>)^p ; theta = (W, v) laid out as
 * W row-major h x D (row j = w_j) followed by v (h entries): dim = h*D + h.
 * Every formula lives once in src/net/net_impl.h and is instantiated per mode. */
#ifndef IBCHECK_NET_H
#define IBCHECK_NET_H
#include "ibcheck/prec.h"
#include "ibcheck/model.h"

typedef enum { IBC_LOSS_EXP = 0, IBC_LOSS_LOGISTIC = 1 } ibc_loss;
typedef enum { IBC_INIT_BALANCED = 0, IBC_INIT_GAUSSIAN = 1 } ibc_init;

typedef struct {
    double p;          /* >= 1; integer p uses exact integer powers */
    long h;            /* hidden width >= 1 */
    ibc_loss loss;
    int mean;          /* 1: loss / n (authors' code); 0: sum (the paper) */
    int loss_scale2;   /* 1: use 2*logistic (MMV24's variant) */
} ibc_net_params;

/* One network bound to one data set rounded into one mode, with workspace. */
typedef struct ibc_net {
    ibc_prec pr;
    ibc_net_params par;
    long n, D, h;
    long pint;         /* p when p is an integer, else 0 */
    ibc_vec X;         /* n x D data in this mode */
    int *y;            /* n labels, +-1 */
    /* workspace: A, G hold ws_rows x h (ibc_net_reserve), Xb xb_rows x D */
    ibc_vec A, G, B, Xb, nrm, f, g, acc;
    long ws_rows, xb_rows;
    /* Frozen activation pattern (n x h, 1 = active), or NULL.  While set,
     * full-batch evaluation uses it instead of the signs of <x_i, w_j>: the
     * smooth extension of the current piece, so that the adaptive
     * integrator steps in a smooth field up to a located switching event. */
    unsigned char *pattern;
    /* arb mode: units whose <x_i, w_j> ball held both signs in the last
     * evaluation (each enclosed by the hull of the kink; see scalar_arb.h). */
    long kinks;
    /* 1: the general units loop even where the branch-free one applies
     * (double, integer p <= 4); the two give the same bits, which
     * test_net checks with it.  0 (ibc_net_alloc's) otherwise. */
    int units_general;
} ibc_net;

const char *ibc_net_loss_name(ibc_loss l);
const char *ibc_net_init_name(ibc_init i);
int ibc_net_loss_parse(ibc_loss *l, const char *s, char *err);
int ibc_net_init_parse(ibc_init *i, const char *s, char *err);
/* Validates p >= 1 finite and h >= 1. */
int ibc_net_check(const ibc_net_params *par, char *err);

ibc_net *ibc_net_alloc(const ibc_data *data, const ibc_net_params *par, ibc_prec pr);
void ibc_net_free(ibc_net *net);
/* Rows of the loss evaluated at a time by a full-batch evaluation without
 * gradient in double: its unit products stay IBC_NET_BLOCK x h, and since
 * the GEMM works in fixed 64-row tiles (a divisor of the block) the bits are
 * those of one product over all n rows. */
#define IBC_NET_BLOCK 1024
/* Grows the workspace A and G to rows x h (at least): what ibc_net_eval
 * reserves itself, and what a caller that uses A or G directly must ask. */
void ibc_net_reserve(ibc_net *net, long rows);
/* Grows the minibatch rows Xb to rows x D (at least). */
void ibc_net_reserve_batch(ibc_net *net, long rows);
long ibc_net_dim(const ibc_net *net);

/* Initial theta, formed at IBC_GEN_BITS from per-neuron streams of (seed) (Gaussian
 * deviates, util/gauss.c) and rounded into
 * theta's mode.  eps is a decimal string (so 1e-1000 works in MPFR): balanced
 * w_j = eps*u_j, v_j = s_j*||w_j||; gaussian: every entry N(0, eps^2).
 * theta must be initialised with length ibc_net_dim.  IBC_EINPUT if eps <= 0. */
int ibc_net_init_theta(const ibc_net *net, ibc_vec *theta, ibc_init init,
                       const char *eps, unsigned long seed, char *err);

/* Forward pass, loss and gradient on rows[0..nb) (rows NULL: all n rows).
 * loss (length >= 1, may be NULL), grad (length dim, may be NULL) and
 * fout (length >= nb, may be NULL: f(x_i) for the listed rows) are in the
 * net's mode.  With mean loss, the mean is over the nb rows used. */
void ibc_net_eval(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,
                  ibc_vec *loss, ibc_vec *grad, ibc_vec *fout);

/* One descent step: next = theta + (-eta) grad, grad the gradient of
 * ibc_net_eval on the same rows, bitwise what ibc_net_eval and then that
 * update entry by entry give, but the update rides on the gradient's last
 * pass (no pass writing grad and reading it back).  grad (length dim) is a
 * workspace: on return its w block is not the gradient.  loss may be NULL.
 * next must not alias theta.  Returns 1 when every entry of next is finite. */
int ibc_net_step(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, double eta, ibc_vec *loss,
                 ibc_vec *grad, ibc_vec *next);

/* f(x) for m arbitrary points Xq (m x D, any mode; rounded into net's mode). */
void ibc_net_forward(ibc_net *net, const ibc_vec *theta, const ibc_vec *Xq, long m, ibc_vec *fout);

/* Per-neuron balance invariant Q_j = v_j^2 - ||w_j||^2 (Q length h).  With
 * grad and eta != NULL, also adds eta^2 (dv_j^2 - ||dw_j||^2), the exact GD
 * change of Q_j per step (docs/theory.md §5 L-balance), into corr. */
void ibc_net_balance(const ibc_net *net, const ibc_vec *theta, ibc_vec *Q,
                     const ibc_vec *grad, double eta, ibc_vec *corr);

/* Euler identity residual: max_j |v_j dL/dv_j - <w_j, dL/dw_j>| / scale
 * (relative; scale = max_j |v_j dL/dv_j|); written to r (MPFR). */
void ibc_net_euler_residual(mpfr_ptr r, const ibc_net *net, const ibc_vec *theta, const ibc_vec *grad);

/* Cosine of each neuron w_j with each center mu_k: C is h x K (double,
 * caller-allocated).  Also fills contrib[j] = |v_j| ||w_j|| when non-NULL. */
void ibc_net_cosines(const ibc_net *net, const ibc_vec *theta, const ibc_data *data,
                     double *C, double *contrib);

#endif
