/* net: allocation, initialisation, mode dispatch and reporting helpers.
 * The formulas themselves live in net_impl.h. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/net.h"
#include "net/net_internal.h"
#include "prec/gemm.h"
#include "util/gauss.h"
#include "util/rng.h"

enum { STREAM_INIT = 8 };

const char *ibc_net_loss_name(ibc_loss l) { return l == IBC_LOSS_EXP ? "exp" : "logistic"; }
const char *ibc_net_init_name(ibc_init i) { return i == IBC_INIT_BALANCED ? "balanced" : "gaussian"; }

int ibc_net_loss_parse(ibc_loss *l, const char *s, char *err)
{
    if (strcmp(s, "exp") == 0) *l = IBC_LOSS_EXP;
    else if (strcmp(s, "logistic") == 0) *l = IBC_LOSS_LOGISTIC;
    else {
        snprintf(err, IBC_ERRLEN, "loss '%s' is unknown: need one of exp, logistic", s);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

int ibc_net_init_parse(ibc_init *i, const char *s, char *err)
{
    if (strcmp(s, "balanced") == 0) *i = IBC_INIT_BALANCED;
    else if (strcmp(s, "gaussian") == 0) *i = IBC_INIT_GAUSSIAN;
    else {
        snprintf(err, IBC_ERRLEN, "init '%s' is unknown: need one of balanced, gaussian", s);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

int ibc_net_check(const ibc_net_params *par, char *err)
{
    if (!(par->p >= 1) || !isfinite(par->p) || par->p > 64) {
        snprintf(err, IBC_ERRLEN, "p = %g is out of range: need 1 <= p <= 64", par->p);
        return IBC_EINPUT;
    }
    if (par->h < 1) {
        snprintf(err, IBC_ERRLEN, "h = %ld is out of range: need h >= 1", par->h);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

ibc_net *ibc_net_alloc(const ibc_data *data, const ibc_net_params *par, ibc_prec pr)
{
    char err[IBC_ERRLEN];
    if (ibc_net_check(par, err) != IBC_OK) return NULL;
    ibc_net *net = calloc(1, sizeof *net);
    if (!net) abort();
    net->pr = pr;
    net->par = *par;
    net->n = data->n;
    net->D = data->par.D;
    net->h = par->h;
    net->pint = (par->p == floor(par->p)) ? (long)par->p : 0;
    ibc_model_data_round(&net->X, data, pr);
    net->y = malloc((size_t)net->n * sizeof(int));
    if (!net->y) abort();
    memcpy(net->y, data->y, (size_t)net->n * sizeof(int));
    long n = net->n, h = net->h;
    /* A, G (rows x h) and Xb (rows x D) grow to the largest evaluation
     * asked for (ibc_net_reserve): an SGD run needs batch rows, and the
     * blocked full-batch loss IBC_NET_BLOCK rows, not n x h (640 MB at
     * the paper's size). */
    ibc_prec_vec_init(&net->A, 0, pr);
    ibc_prec_vec_init(&net->G, 0, pr);
    ibc_prec_vec_init(&net->Xb, 0, pr);
    ibc_prec_vec_init(&net->B, h, pr);     /* p v_j, folded into the gradient product */
    ibc_prec_vec_init(&net->nrm, h, pr);
    ibc_prec_vec_init(&net->f, n, pr);
    ibc_prec_vec_init(&net->g, n, pr);
    ibc_prec_vec_init(&net->acc, h, pr);
    return net;
}

void ibc_net_reserve(ibc_net *net, long rows)
{
    if (rows <= net->ws_rows) return;
    ibc_prec_vec_clear(&net->A);
    ibc_prec_vec_clear(&net->G);
    ibc_prec_vec_init(&net->A, rows * net->h, net->pr);
    ibc_prec_vec_init(&net->G, rows * net->h, net->pr);
    net->ws_rows = rows;
}

void ibc_net_reserve_batch(ibc_net *net, long rows)
{
    if (rows <= net->xb_rows) return;
    ibc_prec_vec_clear(&net->Xb);
    ibc_prec_vec_init(&net->Xb, rows * net->D, net->pr);
    net->xb_rows = rows;
}

void ibc_net_free(ibc_net *net)
{
    if (!net) return;
    ibc_vec *v[] = {&net->X, &net->A, &net->G, &net->B, &net->Xb, &net->nrm, &net->f, &net->g, &net->acc};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) ibc_prec_vec_clear(v[i]);
    free(net->y);
    free(net->pattern);
    free(net);
}

long ibc_net_dim(const ibc_net *net) { return net->h * net->D + net->h; }

/* Initial weights of neurons j0..j1-1.  Neuron j has its own counter-based
 * stream (seed, STREAM_INIT, j), as the data rows do (model.c): D Gaussian
 * deviates g (doubles, util/gauss.c) for w_j, then one more deviate for v_j
 * (gaussian) or one word for its sign (balanced).  The weights are formed
 * from them at IBC_GEN_BITS and rounded once into theta's mode, so every mode
 * starts from the same master weights. */
typedef struct {
    const ibc_net *net;
    ibc_vec *theta;
    ibc_init init;
    mpfr_srcptr eps;
    unsigned long seed;
} init_ctx;

static void init_range(void *vc, long j0, long j1)
{
    const init_ctx *c = vc;
    const long D = c->net->D, h = c->net->h;
    double *g = malloc((size_t)D * sizeof(double));
    if (!g) abort();
    mpfr_t t, nrm;
    mpfr_inits2(IBC_GEN_BITS, t, nrm, (mpfr_ptr)0);
    for (long j = j0; j < j1; j++) {
        ibc_gauss_stream gs;
        ibc_util_gauss_init(&gs, ibc_util_rng_key(c->seed, STREAM_INIT, (uint64_t)j));
        ibc_util_gauss_fill(&gs, g, D);
        if (c->init == IBC_INIT_BALANCED) {
            /* w_j = eps u_j with u_j = g / ||g|| uniform on the sphere; v_j = s_j eps */
            mpfr_set_zero(nrm, 1);
            for (long d = 0; d < D; d++) {
                mpfr_set_d(t, g[d], MPFR_RNDN);
                mpfr_fma(nrm, t, t, nrm, MPFR_RNDN);
            }
            mpfr_sqrt(nrm, nrm, MPFR_RNDN);
            for (long d = 0; d < D; d++) {
                mpfr_set_d(t, g[d], MPFR_RNDN);
                mpfr_div(t, t, nrm, MPFR_RNDN);
                mpfr_mul(t, t, c->eps, MPFR_RNDN);
                ibc_prec_vec_set_mpfr(c->theta, j * D + d, t);
            }
            mpfr_set(t, c->eps, MPFR_RNDN);
            if (ibc_util_rng_next(&gs.s) >> 63) mpfr_neg(t, t, MPFR_RNDN);
        } else {
            for (long d = 0; d < D; d++) {
                mpfr_mul_d(t, c->eps, g[d], MPFR_RNDN);
                ibc_prec_vec_set_mpfr(c->theta, j * D + d, t);
            }
            mpfr_mul_d(t, c->eps, ibc_util_gauss_next(&gs), MPFR_RNDN);
        }
        ibc_prec_vec_set_mpfr(c->theta, h * D + j, t);
    }
    mpfr_clears(t, nrm, (mpfr_ptr)0);
    free(g);
}

int ibc_net_init_theta(const ibc_net *net, ibc_vec *theta, ibc_init init,
                       const char *eps, unsigned long seed, char *err)
{
    const long D = net->D, h = net->h;
    mpfr_t e;
    mpfr_init2(e, IBC_GEN_BITS);
    int rc = IBC_OK;
    if (!eps || mpfr_set_str(e, eps, 10, MPFR_RNDN) != 0 || !mpfr_number_p(e) || mpfr_sgn(e) <= 0) {
        snprintf(err, IBC_ERRLEN, "eps = '%s' is out of range: need a decimal number eps > 0", eps ? eps : "");
        rc = IBC_EINPUT;
        goto done;
    }
    /* The double path cannot hold a weight below DBL_MIN: refuse rather than
     * train a network that silently starts at exactly zero. */
    if (net->pr.mode == IBC_DOUBLE && mpfr_cmp_d(e, 4 * DBL_MIN * sqrt((double)D)) < 0) {
        snprintf(err, IBC_ERRLEN, "eps = %s underflows in mode double: need eps >= %.3g, or an mpfr mode",
                 eps, 4 * DBL_MIN * sqrt((double)D));
        rc = IBC_ENUMERIC;
        goto done;
    }
    init_ctx c = {net, theta, init, e, seed};
    /* Neurons are independent streams: threaded with IBC_THREADS in double
     * (the bits do not depend on it); MPFR and Arb vectors are filled by one
     * thread, as everywhere else in those modes. */
    if (net->pr.mode == IBC_DOUBLE) ibc_prec_par_range(h, 40.0 * (double)D, init_range, &c);
    else init_range(&c, 0, h);
done:
    mpfr_clear(e);
    return rc;
}
/* The per-mode instances of net_impl.h, indexed by ibc_mode: the one
 * place a mode is dispatched (a new mode adds one row). */
typedef struct {
    void (*eval)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, ibc_vec *loss, ibc_vec *grad,
                 ibc_vec *fout);
    int (*step)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, double eta, ibc_vec *loss,
                ibc_vec *grad, ibc_vec *next);
    void (*forward)(ibc_net *net, const ibc_vec *theta, const ibc_vec *Xq, long m, ibc_vec *fout);
    void (*balance)(const ibc_net *net, const ibc_vec *theta, ibc_vec *Q, const ibc_vec *grad, double eta,
                    ibc_vec *corr);
    void (*euler_residual)(mpfr_ptr r, const ibc_net *net, const ibc_vec *theta, const ibc_vec *grad);
} net_kernels;

static const net_kernels kernels[3] = {
    [IBC_DOUBLE] = {ibc_net_eval_d, ibc_net_step_d, ibc_net_forward_d, ibc_net_balance_d, ibc_net_euler_residual_d},
    [IBC_MPFR] = {ibc_net_eval_mpfr, ibc_net_step_mpfr, ibc_net_forward_mpfr, ibc_net_balance_mpfr, ibc_net_euler_residual_mpfr},
    [IBC_ARB] = {ibc_net_eval_arb, ibc_net_step_arb, ibc_net_forward_arb, ibc_net_balance_arb, ibc_net_euler_residual_arb},
};


void ibc_net_eval(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,
                  ibc_vec *loss, ibc_vec *grad, ibc_vec *fout)
{
    if (!rows) nb = net->n;
    kernels[net->pr.mode].eval(net, theta, rows, nb, loss, grad, fout);
}

int ibc_net_step(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, double eta, ibc_vec *loss,
                 ibc_vec *grad, ibc_vec *next)
{
    if (!rows) nb = net->n;
    return kernels[net->pr.mode].step(net, theta, rows, nb, eta, loss, grad, next);
}

void ibc_net_forward(ibc_net *net, const ibc_vec *theta, const ibc_vec *Xq, long m, ibc_vec *fout)
{
    kernels[net->pr.mode].forward(net, theta, Xq, m, fout);
}

void ibc_net_balance(const ibc_net *net, const ibc_vec *theta, ibc_vec *Q,
                     const ibc_vec *grad, double eta, ibc_vec *corr)
{
    kernels[net->pr.mode].balance(net, theta, Q, grad, eta, corr);
}

void ibc_net_euler_residual(mpfr_ptr r, const ibc_net *net, const ibc_vec *theta, const ibc_vec *grad)
{
    kernels[net->pr.mode].euler_residual(r, net, theta, grad);
}

void ibc_net_cosines(const ibc_net *net, const ibc_vec *theta, const ibc_data *data,
                     double *C, double *contrib)
{
    /* In MPFR, so that weights far below double's range (tiny init) still
     * give their direction; cosines themselves are O(1). */
    const long D = net->D, h = net->h, K = data->par.K;
    mpfr_t nw, dot, w, a;
    mpfr_inits2(80, nw, dot, w, a, (mpfr_ptr)0);
    for (long j = 0; j < h; j++) {
        mpfr_set_zero(nw, 1);
        for (long d = 0; d < D; d++) {
            ibc_prec_vec_get_mpfr(w, theta, j * D + d);
            mpfr_fma(nw, w, w, nw, MPFR_RNDN);
        }
        mpfr_sqrt(nw, nw, MPFR_RNDN);
        for (long k = 0; k < K; k++) {
            mpfr_set_zero(dot, 1);
            for (long d = 0; d < D; d++) {
                ibc_prec_vec_get_mpfr(w, theta, j * D + d);
                mpfr_fma(dot, w, data->mu + k * D + d, dot, MPFR_RNDN);
            }
            if (mpfr_zero_p(nw)) C[j * K + k] = 0.0;
            else {
                mpfr_div(dot, dot, nw, MPFR_RNDN);
                C[j * K + k] = mpfr_get_d(dot, MPFR_RNDN);
            }
        }
        if (contrib) {
            ibc_prec_vec_get_mpfr(a, theta, h * D + j);
            mpfr_abs(a, a, MPFR_RNDN);
            mpfr_mul(a, a, nw, MPFR_RNDN);
            contrib[j] = mpfr_get_d(a, MPFR_RNDN);
        }
    }
    mpfr_clears(nw, dot, w, a, (mpfr_ptr)0);
}
