/* flow: the standard recording observer (margins, invariants, alignment). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/flow.h"

void ibc_flow_recorder_init(ibc_recorder *r, const ibc_data *data, int keep_theta)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->keep_theta = keep_theta;
}

void ibc_flow_recorder_clear(ibc_recorder *r)
{
    for (long i = 0; i < r->n; i++) {
        mpfr_clear(r->rec[i].loss_m);
        if (r->rec[i].theta.len) ibc_prec_vec_clear(&r->rec[i].theta);
    }
    free(r->rec);
    memset(r, 0, sizeof *r);
}

int ibc_flow_recorder_observe(void *ctx, const ibc_net *cnet, const ibc_vec *theta,
                              double t, long step, const ibc_vec *loss)
{
    ibc_recorder *r = ctx;
    ibc_net *net = (ibc_net *)cnet;   /* eval uses the net's workspace only */
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->rec = realloc(r->rec, (size_t)r->cap * sizeof *r->rec);
        if (!r->rec) abort();
    }
    ibc_record *e = &r->rec[r->n++];
    memset(e, 0, sizeof *e);
    e->t = t;
    e->step = step;
    long bits = net->pr.bits + 32;
    mpfr_init2(e->loss_m, bits);
    ibc_prec_vec_get_mpfr(e->loss_m, loss, 0);
    e->loss = mpfr_get_d(e->loss_m, MPFR_RNDN);

    mpfr_t n2, x, m, ls;
    mpfr_inits2(bits, n2, x, m, ls, (mpfr_ptr)0);
    mpfr_set_zero(n2, 1);
    for (long i = 0; i < theta->len; i++) {
        ibc_prec_vec_get_mpfr(x, theta, i);
        mpfr_fma(n2, x, x, n2, MPFR_RNDN);
    }
    e->theta_norm2 = mpfr_get_d(n2, MPFR_RNDN);
    mpfr_set_zero(m, 1);
    for (long i = 0; theta->pr.mode == IBC_ARB && i < theta->len; i++) {
        ibc_prec_vec_get_rad(x, theta, i);
        if (mpfr_cmp(x, m) > 0) mpfr_set(m, x, MPFR_RNDU);
    }
    e->log2_rad = -INFINITY;
    if (!mpfr_zero_p(m)) {
        long ex;
        double mant = mpfr_get_d_2exp(&ex, m, MPFR_RNDU);
        e->log2_rad = log2(mant) + (double)ex;
    }
    /* normalized margin: min_i y_i f(x_i) / ||theta||^2 (f is 2-homogeneous) */
    ibc_vec f;
    ibc_prec_vec_init(&f, net->n, net->pr);
    ibc_net_eval(net, theta, NULL, 0, NULL, NULL, &f);
    mpfr_set_inf(m, 1);
    for (long i = 0; i < net->n; i++) {
        ibc_prec_vec_get_mpfr(x, &f, i);
        if (net->y[i] < 0) mpfr_neg(x, x, MPFR_RNDN);
        if (mpfr_cmp(x, m) < 0) mpfr_set(m, x, MPFR_RNDN);
    }
    ibc_prec_vec_clear(&f);
    mpfr_div(x, m, n2, MPFR_RNDN);
    e->gamma_bar = mpfr_get_d(x, MPFR_RNDN);
    /* smoothed margin from the sum loss */
    mpfr_mul_si(ls, e->loss_m, net->par.mean ? net->n : 1, MPFR_RNDN);
    if (net->par.loss_scale2) mpfr_div_ui(ls, ls, 2, MPFR_RNDN);
    e->gamma_tilde = NAN;
    if (net->par.loss == IBC_LOSS_EXP && mpfr_cmp_ui(ls, 1) < 0) {
        mpfr_log(x, ls, MPFR_RNDN);
        mpfr_neg(x, x, MPFR_RNDN);
        mpfr_div(x, x, n2, MPFR_RNDN);
        e->gamma_tilde = mpfr_get_d(x, MPFR_RNDN);
    } else if (net->par.loss == IBC_LOSS_LOGISTIC) {
        mpfr_expm1(x, ls, MPFR_RNDN);       /* e^L - 1 < 1 iff L < log 2 */
        if (mpfr_cmp_ui(x, 1) < 0) {
            mpfr_log(x, x, MPFR_RNDN);
            mpfr_neg(x, x, MPFR_RNDN);
            mpfr_div(x, x, n2, MPFR_RNDN);
            e->gamma_tilde = mpfr_get_d(x, MPFR_RNDN);
        }
    }
    /* balance: max_j |Q_j| */
    ibc_vec Q;
    ibc_prec_vec_init(&Q, net->h, net->pr);
    ibc_net_balance(net, theta, &Q, NULL, 0, NULL);
    e->max_abs_Q = 0;
    for (long j = 0; j < net->h; j++) {
        double q = fabs(ibc_prec_vec_get_d(&Q, j));
        if (q > e->max_abs_Q) e->max_abs_Q = q;
    }
    ibc_prec_vec_clear(&Q);
    e->align = NAN;
    if (r->data) {
        long K = r->data->par.K, h = net->h;
        double *C = malloc(sizeof(double) * (size_t)(h * K));
        if (!C) abort();
        ibc_net_cosines(net, theta, r->data, C, NULL);
        double worst = 2;
        for (long k = 0; k < K; k++) {
            double best = -1;
            for (long j = 0; j < h; j++)
                if (C[j * K + k] > best) best = C[j * K + k];
            if (best < worst) worst = best;
        }
        e->align = worst;
        free(C);
    }
    if (r->keep_theta) {
        ibc_prec_vec_init(&e->theta, theta->len, theta->pr);
        ibc_prec_vec_set(&e->theta, theta);
    }
    mpfr_clears(n2, x, m, ls, (mpfr_ptr)0);
    return 0;
}
