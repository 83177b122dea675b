/* robust: the classifier every attack and certificate reads.  F, F^(p) and a
 * trained network are all pReLU networks (docs/theory.md §2, §4), so one evaluator
 * serves them; the unit is ||w|| sigma(<x, w^>)^p (docs/theory.md §2's stable form). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"

static ibc_rnet *rnet_alloc(long h, long D, double p, long K, long K1)
{
    ibc_rnet *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->h = h;
    f->D = D;
    f->p = p;
    f->pint = (p == floor(p) && p <= 64) ? (long)p : 0;
    f->K = K;
    f->K1 = K1;
    f->W = calloc((size_t)(h * D), sizeof(double));
    f->U = calloc((size_t)(h * D), sizeof(double));
    f->v = calloc((size_t)h, sizeof(double));
    f->wn = calloc((size_t)h, sizeof(double));
    f->mu = K > 0 ? calloc((size_t)(K * D), sizeof(double)) : NULL;
    if (!f->W || !f->U || !f->v || !f->wn || (K > 0 && !f->mu)) {
        ibc_rnet_free(f);
        return NULL;
    }
    return f;
}

/* Norms and unit directions, rounded: used by the double-speed attacks only;
 * certificates recompute them in balls from the exact W. */
static void rnet_normalize(ibc_rnet *f)
{
    for (long j = 0; j < f->h; j++) {
        const double *w = f->W + j * f->D;
        double s = 0;
        for (long d = 0; d < f->D; d++)
            s += w[d] * w[d];
        f->wn[j] = sqrt(s);
        for (long d = 0; d < f->D; d++)
            f->U[j * f->D + d] = f->wn[j] > 0 ? w[d] / f->wn[j] : 0.0;
    }
}

ibc_rnet *ibc_rnet_from_net(const ibc_net *net, const ibc_vec *theta, const ibc_data *data)
{
    long h = net->h, D = net->D;
    ibc_rnet *f = rnet_alloc(h, D, net->par.p, data ? data->par.K : 0, data ? data->par.K1 : 0);
    if (!f)
        return NULL;
    for (long i = 0; i < h * D; i++)
        f->W[i] = ibc_vec_get_d(theta, i);
    for (long j = 0; j < h; j++)
        f->v[j] = ibc_vec_get_d(theta, h * D + j);
    if (data) {
        ibc_vec mu;
        ibc_data_centers(&mu, data, ibc_prec_double());
        memcpy(f->mu, mu.d, (size_t)(f->K * D) * sizeof(double));
        ibc_vec_clear(&mu);
    }
    char pb[24];
    if (theta->pr.mode == IBC_DOUBLE)
        snprintf(f->name, sizeof f->name, "f_%g (trained)", f->p);
    else
        snprintf(f->name, sizeof f->name, "f_%g (%s, rounded)", f->p, ibc_prec_str(theta->pr, pb));
    rnet_normalize(f);
    return f;
}

ibc_rnet *ibc_rnet_ideal(ibc_ideal_kind kind, long D, long K, long K1, double p)
{
    long h = kind == IBC_IDEAL_F ? 2 : K;
    ibc_rnet *f = rnet_alloc(h, D, kind == IBC_IDEAL_F ? 1.0 : p, K, K1);
    if (!f)
        return NULL;
    for (long k = 0; k < K; k++)
        f->mu[k * D + k] = 1.0;
    if (kind == IBC_IDEAL_F) {
        /* sigma(<x, mu+>) - sigma(<x, mu->): w = mu+- unnormalised, so that
         * ||w|| sigma(<x, w^>) = sigma(<x, w>). */
        for (long k = 0; k < K; k++)
            f->W[(k < K1 ? 0 : 1) * D + k] = 1.0;
        f->v[0] = 1.0;
        f->v[1] = -1.0;
        snprintf(f->name, sizeof f->name, "F");
    } else {
        for (long k = 0; k < K; k++) {
            f->W[k * D + k] = 1.0;
            f->v[k] = k < K1 ? 1.0 : -1.0;
        }
        snprintf(f->name, sizeof f->name, "F^(%g)", p);
    }
    rnet_normalize(f);
    return f;
}

void ibc_rnet_free(ibc_rnet *f)
{
    if (!f)
        return;
    free(f->W);
    free(f->U);
    free(f->v);
    free(f->wn);
    free(f->mu);
    free(f);
}

/* sigma(z)^p in double; for p = 1 the power is the identity, so the
 * pow(0, 0) trap of docs/theory.md §3 cannot arise here. */
static double sigma_pow_d(double z, const ibc_rnet *f)
{
    if (z <= 0)
        return 0.0;
    if (f->pint) {
        double r = z;
        for (long k = 1; k < f->pint; k++)
            r *= z;
        return r;
    }
    return pow(z, f->p);
}

double ibc_rnet_eval_d(const ibc_rnet *f, const double *x)
{
    return ibc_rnet_grad_d(f, x, NULL);
}

double ibc_rnet_grad_d(const ibc_rnet *f, const double *x, double *grad)
{
    long D = f->D;
    double out = 0;
    if (grad)
        memset(grad, 0, (size_t)D * sizeof(double));
    for (long j = 0; j < f->h; j++) {
        const double *u = f->U + j * D;
        double z = 0;
        for (long d = 0; d < D; d++)
            z += x[d] * u[d];
        if (z <= 0)
            continue;   /* inactive: contributes nothing, and sigma'(0) := 0 */
        double a = f->v[j] * f->wn[j];
        out += a * sigma_pow_d(z, f);
        if (grad) {
            /* d/dx sigma(z)^p = p sigma(z)^(p-1) u */
            double s = f->pint == 1 ? 1.0 : f->p * (f->pint ? sigma_pow_d(z, f) / z : pow(z, f->p - 1));
            for (long d = 0; d < D; d++)
                grad[d] += a * s * u[d];
        }
    }
    return out;
}

void ibc_rnet_margin_arb(arb_t res, const ibc_rnet *f, const double *x, const double *delta,
                         int y, slong prec)
{
    long D = f->D;
    arb_t s, n2, t, e, xd;
    arb_init(s);
    arb_init(n2);
    arb_init(t);
    arb_init(e);
    arb_init(xd);
    arb_set_d(e, f->p);
    arb_zero(res);
    for (long j = 0; j < f->h; j++) {
        const double *w = f->W + j * D;
        arb_zero(s);
        arb_zero(n2);
        for (long d = 0; d < D; d++) {
            if (w[d] == 0)
                continue;
            arb_set_d(xd, x[d]);
            if (delta) {
                arb_set_d(t, delta[d]);
                arb_add(xd, xd, t, prec);
            }
            arb_set_d(t, w[d]);
            arb_addmul(s, xd, t, prec);
            arb_addmul(n2, t, t, prec);
        }
        if (arb_is_zero(n2))
            continue;
        arb_sqrt(n2, n2, prec);          /* ||w_j|| */
        arb_div(s, s, n2, prec);         /* <x, w^_j> */
        ibc_ideal_sigma_pow_arb(s, s, e, prec);
        arb_mul(s, s, n2, prec);
        arb_set_d(t, f->v[j]);
        arb_mul(s, s, t, prec);
        arb_add(res, res, s, prec);
    }
    if (y < 0)
        arb_neg(res, res);
    arb_clear(s);
    arb_clear(n2);
    arb_clear(t);
    arb_clear(e);
    arb_clear(xd);
}

int ibc_rnet_flipped(const ibc_rnet *f, const double *x, const double *delta, int y, slong prec)
{
    int out = -1;
    arb_t m;
    arb_init(m);
    for (slong pr = prec; pr <= 4 * prec; pr *= 2) {
        ibc_rnet_margin_arb(m, f, x, delta, y, pr);
        if (arb_is_nonpositive(m)) {
            out = 1;
            break;
        }
        if (arb_is_positive(m)) {
            out = 0;
            break;
        }
    }
    arb_clear(m);
    return out;
}

double ibc_rnet_norm_up(const double *delta, long D)
{
    arb_t s, t;
    arf_t u;
    arb_init(s);
    arb_init(t);
    arf_init(u);
    for (long d = 0; d < D; d++) {
        arb_set_d(t, delta[d]);
        arb_addmul(s, t, t, 128);
    }
    arb_sqrt(s, s, 128);
    arb_get_ubound_arf(u, s, 128);
    double r = arf_get_d(u, ARF_RND_UP);
    arb_clear(s);
    arb_clear(t);
    arf_clear(u);
    return r;
}
