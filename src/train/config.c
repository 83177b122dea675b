/* train: the training parameters every claim, `train` and `reproduce` read
 * (ibc_config): defaults, validation, the one-line description of a row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/train.h"

void ibc_train_config_default(ibc_config *c)
{
    memset(c, 0, sizeof *c);
    c->model.D = 30;
    c->model.K = 10;
    c->model.K1 = 6;
    c->model.alpha = 0.1;
    c->model.random_centers = 0;
    c->model.seed = 0;
    c->n = 500;
    c->h = 100;
    snprintf(c->eps, sizeof c->eps, "%s", "1e-6");
    c->init = IBC_INIT_BALANCED;
    c->loss = IBC_LOSS_EXP;
    c->mean = 1;
    c->method = IBC_METHOD_GD;
    c->lr = 0.2;
    c->steps = 20000;
    c->batch = 100;
    c->prec = ibc_prec_double();
    c->prec_hi = ibc_prec_mpfr(128);
    c->verbose = 0;
    c->records = 400;
}

/* Caps on sizes keep h*D + h and n*D far from overflow and from allocations
 * that can only fail; they are far above anything docs/theory.md §8 asks for. */
#define IBC_SIZE_MAX 10000000L
#define IBC_CELLS_MAX 1000000000L


/* Field names in the messages are the CLI's flag names, so the CLI can say
 * "--K1 = 10 ..." by prefixing "--". */
int ibc_train_config_check(const ibc_config *c, char *err)
{
    const ibc_model_params *m = &c->model;
    if (m->K1 < 1 || m->K1 >= m->K) {
        snprintf(err, IBC_ERRLEN, "K1 = %ld is out of range: need 1 <= K1 < K = %ld", m->K1, m->K);
        return IBC_EINPUT;
    }
    if (m->K > m->D) {
        snprintf(err, IBC_ERRLEN, "K = %ld is out of range: need K1 = %ld < K <= D = %ld", m->K, m->K1, m->D);
        return IBC_EINPUT;
    }
    if (m->D > IBC_SIZE_MAX) {
        snprintf(err, IBC_ERRLEN, "D = %ld is out of range: need K = %ld <= D <= %ld", m->D, m->K, IBC_SIZE_MAX);
        return IBC_EINPUT;
    }
    if (!(m->alpha >= 0) || !isfinite(m->alpha)) {
        snprintf(err, IBC_ERRLEN, "alpha = %g is out of range: need a finite alpha >= 0", m->alpha);
        return IBC_EINPUT;
    }
    if (c->n < 1 || c->n > IBC_SIZE_MAX || c->n > IBC_CELLS_MAX / m->D) {
        snprintf(err, IBC_ERRLEN, "n = %ld is out of range: need 1 <= n <= %ld and n*D <= %ld",
                 c->n, IBC_SIZE_MAX, IBC_CELLS_MAX);
        return IBC_EINPUT;
    }
    if (c->h < 1 || c->h > IBC_SIZE_MAX || c->h > IBC_CELLS_MAX / (m->D + 1)) {
        snprintf(err, IBC_ERRLEN, "h = %ld is out of range: need 1 <= h <= %ld and h*(D+1) <= %ld",
                 c->h, IBC_SIZE_MAX, IBC_CELLS_MAX);
        return IBC_EINPUT;
    }
    /* eps is a decimal string so that 1e-1000 survives into MPFR modes. */
    if (!memchr(c->eps, '\0', sizeof c->eps)) {
        snprintf(err, IBC_ERRLEN, "eps is not a terminated string: need a number > 0");
        return IBC_EINPUT;
    }
    mpfr_t e;
    mpfr_init2(e, 64);
    int bad = c->eps[0] == '\0' || mpfr_set_str(e, c->eps, 10, MPFR_RNDN) != 0
              || !mpfr_number_p(e) || mpfr_sgn(e) <= 0;
    mpfr_clear(e);
    if (bad) {
        snprintf(err, IBC_ERRLEN, "eps = %s is out of range: need a finite decimal number eps > 0", c->eps);
        return IBC_EINPUT;
    }
    if (c->init != IBC_INIT_BALANCED && c->init != IBC_INIT_GAUSSIAN) {
        snprintf(err, IBC_ERRLEN, "init = %d is out of range: need balanced or gaussian", (int)c->init);
        return IBC_EINPUT;
    }
    if (c->loss != IBC_LOSS_EXP && c->loss != IBC_LOSS_LOGISTIC) {
        snprintf(err, IBC_ERRLEN, "loss = %d is out of range: need exp or logistic", (int)c->loss);
        return IBC_EINPUT;
    }
    if (c->mean != 0 && c->mean != 1) {
        snprintf(err, IBC_ERRLEN, "mean = %d is out of range: need 0 (sum) or 1 (mean)", c->mean);
        return IBC_EINPUT;
    }
    if ((int)c->method < IBC_METHOD_GD || (int)c->method > IBC_METHOD_ADAPTIVE) {
        snprintf(err, IBC_ERRLEN, "method = %d is out of range: need gd, sgd, rk4 or adaptive", (int)c->method);
        return IBC_EINPUT;
    }
    if (!(c->lr > 0) || !isfinite(c->lr)) {
        snprintf(err, IBC_ERRLEN, "lr = %g is out of range: need a finite lr > 0", c->lr);
        return IBC_EINPUT;
    }
    if (c->steps < 0) {
        snprintf(err, IBC_ERRLEN, "steps = %ld is out of range: need steps >= 0", c->steps);
        return IBC_EINPUT;
    }
    /* Only SGD draws batches; holding GD to batch <= n would make a plain
     * "--n 50" fail on a parameter it never reads. */
    if (c->batch < 1 || (c->method == IBC_METHOD_SGD && c->batch > c->n)) {
        snprintf(err, IBC_ERRLEN, "batch = %ld is out of range: need 1 <= batch <= n = %ld", c->batch, c->n);
        return IBC_EINPUT;
    }
    if (ibc_prec_check(c->prec, "precision", err) || ibc_prec_check(c->prec_hi, "hi-precision", err))
        return IBC_EINPUT;
    /* Refuse up front what cannot fit, with the estimate: the data in the
     * working mode (a trained run holds no 256-bit master: rows are rounded
     * from their streams, model.h), the network's unit products A and G (n
     * rows for a full-batch gradient; for SGD in double, the batch or one
     * IBC_NET_BLOCK of the blocked loss, whichever is larger), the minibatch
     * rows, and theta, gradient and next step.  At the paper's size (n =
     * 20000, D = 1000, h = 2000, double SGD, batch 100) this gives 0.26 GB;
     * `ibcheck train` peaks at about 0.5 GB with its output file. */
    double s = ibc_prec_elem_bytes(c->prec);
    long rows = c->n;
    if (c->method == IBC_METHOD_SGD && c->prec.mode == IBC_DOUBLE) {
        rows = c->n < IBC_NET_BLOCK ? c->n : IBC_NET_BLOCK;
        if (c->batch > rows) rows = c->batch;
    }
    double nD = (double)c->n * (double)m->D, rh = (double)rows * (double)c->h;
    double bD = c->method == IBC_METHOD_SGD ? (double)c->batch * (double)m->D : 0;
    double need = s * (nD + bD + 2 * rh + 3 * (double)c->h * (double)(m->D + 1));
    double have = ibc_prec_mem_available();
    if (have > 0 && need > have) {
        snprintf(err, IBC_ERRLEN,
                 "n = %ld, D = %ld, h = %ld in this precision need about %.3g GiB of memory, but %.3g GiB are "
                 "available: need a smaller n, D or h", c->n, m->D, c->h, need / 1073741824.0, have / 1073741824.0);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

int ibc_train_config_describe(char *buf, size_t len, const ibc_config *c, double p)
{
    return snprintf(buf, len, "D=%ld K=%ld K1=%ld alpha=%g n=%ld h=%ld p=%g eps=%s %s %s %s%s lr=%g steps=%ld seed=%lu",
                    c->model.D, c->model.K, c->model.K1, c->model.alpha, c->n, c->h, p, c->eps,
                    ibc_net_init_name(c->init), c->mean ? "mean" : "sum", ibc_net_loss_name(c->loss),
                    c->model.random_centers ? " random-centers" : "", c->lr, c->steps, c->model.seed);
}
