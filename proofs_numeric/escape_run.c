/* The escape runs of escape_run.h, shared by the claims `escape-time` and
 * `tiny-init` (docs/theory.md §5 L-escape): the recorded GD run from a small
 * initialization, G_n, the step cap and the small model.  Library code of
 * ibcheck_claims. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"
#include "escape_run.h"

#define ESC_RECORD_EVERY 4

double ibc_claim_escape_G(const ibc_data *data, double p, const double *u)
{
    const long D = data->par.D, n = data->n;
    ibc_net_params np = {.p = p, .h = 1, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(data, &np, ibc_prec_double());
    ibc_vec th, f;
    ibc_prec_vec_init(&th, D + 1, ibc_prec_double());
    ibc_prec_vec_init(&f, n, ibc_prec_double());
    double nu = 0;
    for (long d = 0; d < D; d++) nu += u[d] * u[d];
    nu = sqrt(nu);
    for (long d = 0; d < D; d++) ibc_prec_vec_set_d(&th, d, u[d] / nu);
    ibc_prec_vec_set_d(&th, D, 1.0);          /* f(x_i) = sigma(<x_i, u>)^p */
    ibc_net_eval(net, &th, NULL, 0, NULL, NULL, &f);
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)data->y[i] * ibc_prec_vec_get_d(&f, i);
    ibc_prec_vec_clear(&th);
    ibc_prec_vec_clear(&f);
    ibc_net_free(net);
    return s / (double)n;
}

double ibc_claim_escape_agree_bound(const ibc_escape *ref, long n, long D)
{
    /* Each GD step rounds the gradient's sums (<= n + D terms) and the
     * update: a relative perturbation <= (n + D) u of the norms.  In the
     * linear phase the log-norm grows at lambda per unit time and the
     * direction contracts to its attractor, where lambda is stationary (so
     * a direction error moves lambda only to second order): after N steps the
     * escape time moves by <= N (n + D) u / lambda.  Doubled for the
     * direction's share and the interpolation's rounding. */
    const double u = ldexp(1.0, -53);
    return 2.0 * (double)ref->steps * (double)(n + D) * u / (ref->lambda_dir * ref->t_esc);
}

typedef struct {
    const ibc_data *data;
    double prev_t, prev_drop;     /* the previous record */
    double lo_t, lo_drop;         /* first record with drop >= LIN_LO */
    double hi_t, hi_drop;         /* first record with drop >= LIN_HI */
    int have_lo, have_hi, started_low;
    ibc_vec snap;                 /* theta at the hi record */
    ibc_escape *e;
    long bits;
    long h, D;
    double prev_lu[IBC_ESCAPE_HMAX];   /* log(|v_j| ||w_j||) at the previous record */
} esc_obs;

/* log(|v_j| ||w_j||) in MPFR (a neuron at eps = 1e-400 is far below double). */
static double log_unit(const ibc_vec *theta, long j, long h, long D)
{
    mpfr_t s, x;
    mpfr_inits2(64, s, x, (mpfr_ptr)0);
    mpfr_set_zero(s, 1);
    for (long d = 0; d < D; d++) {
        ibc_prec_vec_get_mpfr(x, theta, j * D + d);
        mpfr_fma(s, x, x, s, MPFR_RNDN);
    }
    mpfr_log(s, s, MPFR_RNDN);
    double r = 0.5 * mpfr_get_d(s, MPFR_RNDN);
    ibc_prec_vec_get_mpfr(x, theta, h * D + j);
    mpfr_abs(x, x, MPFR_RNDN);
    mpfr_log(x, x, MPFR_RNDN);
    r += mpfr_get_d(x, MPFR_RNDN);
    mpfr_clears(s, x, (mpfr_ptr)0);
    return r;
}

/* 1 - L in MPFR (L rounds to 1 in double long before 1 - L is visible). */
static double loss_drop(const ibc_vec *loss, long bits)
{
    mpfr_t l;
    mpfr_init2(l, bits);
    ibc_prec_vec_get_mpfr(l, loss, 0);
    mpfr_ui_sub(l, 1, l, MPFR_RNDN);
    double d = mpfr_get_d(l, MPFR_RNDN);
    mpfr_clear(l);
    return d;
}

/* u = w_j / max_d |w_jd|, an O(1) vector along w_j in double, formed in MPFR
 * so that a w_j far below double's range keeps its direction. */
static void row_direction(double *u, const ibc_vec *theta, long j, long D)
{
    mpfr_t m, x;
    mpfr_inits2(80, m, x, (mpfr_ptr)0);
    mpfr_set_zero(m, 1);
    for (long d = 0; d < D; d++) {
        ibc_prec_vec_get_mpfr(x, theta, j * D + d);
        mpfr_abs(x, x, MPFR_RNDN);
        mpfr_max(m, m, x, MPFR_RNDN);
    }
    for (long d = 0; d < D; d++) {
        ibc_prec_vec_get_mpfr(x, theta, j * D + d);
        if (!mpfr_zero_p(m)) mpfr_div(x, x, m, MPFR_RNDN);
        u[d] = mpfr_get_d(x, MPFR_RNDN);
    }
    mpfr_clears(m, x, (mpfr_ptr)0);
}

/* min_k max_j cos(w_j, mu_k): the recorder's alignment, at one state. */
static double min_max_cos(const ibc_net *net, const ibc_vec *theta, const ibc_data *data, double t, long step,
                          const ibc_vec *loss)
{
    ibc_recorder r;
    ibc_flow_recorder_init(&r, data, 0);
    ibc_flow_recorder_observe(&r, net, theta, t, step, loss);
    double a = r.rec[0].align;
    ibc_flow_recorder_clear(&r);
    return a;
}

static int esc_observe(void *ctx, const ibc_net *net, const ibc_vec *theta, double t, long step,
                       const ibc_vec *loss)
{
    esc_obs *o = ctx;
    double d = loss_drop(loss, o->bits);
    const double lu0 = log(IBC_ESCAPE_UNIT);
    for (long j = 0; j < o->h && j < IBC_ESCAPE_HMAX; j++) {
        double lu = log_unit(theta, j, o->h, o->D);
        if (step > 0 && isnan(o->e->unit_t[j]) && lu >= lu0 && lu > o->prev_lu[j])
            o->e->unit_t[j] = o->prev_t + (t - o->prev_t) * (lu0 - o->prev_lu[j]) / (lu - o->prev_lu[j]);
        o->prev_lu[j] = lu;
    }
    if (step == 0) o->started_low = d < IBC_ESCAPE_LIN_LO;
    if (o->started_low && !o->have_lo && d >= IBC_ESCAPE_LIN_LO) {
        o->have_lo = 1;
        o->lo_t = t;
        o->lo_drop = d;
    }
    if (o->have_lo && !o->have_hi && d >= IBC_ESCAPE_LIN_HI) {
        o->have_hi = 1;
        o->hi_t = t;
        o->hi_drop = d;
        ibc_prec_vec_set(&o->snap, theta);
    }
    if (d >= IBC_ESCAPE_DROP) {
        ibc_escape *e = o->e;
        e->escaped = 1;
        /* log(1 - L) is nearly linear in t between records (exponential growth) */
        if (step > 0 && o->prev_drop > 0 && d > o->prev_drop)
            e->t_esc = o->prev_t + (t - o->prev_t) * (log(IBC_ESCAPE_DROP) - log(o->prev_drop))
                                   / (log(d) - log(o->prev_drop));
        else
            e->t_esc = t;
        e->align = min_max_cos(net, theta, o->data, t, step, loss);
        return 1;
    }
    o->prev_t = t;
    o->prev_drop = d;
    return 0;
}

int ibc_claim_escape_run(ibc_escape *e, const ibc_config *cfg, double p, long n, long h, const char *eps,
                         ibc_prec pr, long max_steps, long record_every, char *err)
{
    memset(e, 0, sizeof *e);
    e->t_esc = e->align = e->lambda_growth = e->lambda_dir = NAN;
    e->lead = e->lead_center = -1;
    for (long j = 0; j < IBC_ESCAPE_HMAX; j++) e->unit_t[j] = NAN;
    ibc_data *data = ibc_model_data_alloc(&cfg->model, n, 0);
    ibc_net_params np = {.p = p, .h = h, .loss = IBC_LOSS_EXP, .mean = 1};
    if (!data || ibc_net_check(&np, err) != IBC_OK) {
        if (data) ibc_model_data_free(data);
        else snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld",
                      cfg->model.D, cfg->model.K, cfg->model.K1, n);
        return IBC_EINPUT;
    }
    ibc_net *net = ibc_net_alloc(data, &np, pr);
    const long D = cfg->model.D, dim = ibc_net_dim(net);
    ibc_vec theta;
    ibc_prec_vec_init(&theta, dim, pr);
    esc_obs o = {.data = data, .e = e, .bits = pr.bits + 64, .h = h, .D = D};
    ibc_prec_vec_init(&o.snap, dim, pr);
    e->rc = ibc_net_init_theta(net, &theta, IBC_INIT_BALANCED, eps, cfg->model.seed, e->msg);
    if (e->rc == IBC_EINPUT) {
        snprintf(err, IBC_ERRLEN, "%s", e->msg);
    } else if (e->rc == IBC_OK) {
        ibc_flow_opts opt;
        ibc_flow_opts_default(&opt);
        opt.method = IBC_METHOD_GD;
        opt.lr = cfg->lr;
        opt.steps = max_steps;
        opt.record_every = record_every > 0 ? record_every : ESC_RECORD_EVERY;
        opt.obs = esc_observe;
        opt.obs_ctx = &o;
        ibc_flow_stats st;
        ibc_flow_stats_init(&st);
        e->rc = ibc_flow_run(net, &theta, &opt, &st, e->msg);
        e->steps = st.steps;
        ibc_flow_stats_clear(&st);
        if (o.have_lo && o.have_hi && o.hi_t > o.lo_t) {
            /* 1 - L ~ sum_j |v_j| ||w_j|| G ~ (1 + eta lambda)^(2 t/eta) */
            double rate = (log(o.hi_drop) - log(o.lo_drop)) / (o.hi_t - o.lo_t) / 2.0;
            e->lambda_growth = expm1(cfg->lr * rate) / cfg->lr;
            double *u = malloc(sizeof(double) * (size_t)D);
            double *C = malloc(sizeof(double) * (size_t)(h * data->par.K));
            double *contrib = malloc(sizeof(double) * (size_t)h);
            if (!u || !C || !contrib) abort();
            /* the leading neuron: largest |v_j| ||w_j|| (MPFR inside, tiny-safe) */
            ibc_net_cosines(net, &o.snap, data, C, contrib);
            double best = -1;
            for (long j = 0; j < h; j++)
                if (contrib[j] > best) {
                    best = contrib[j];
                    e->lead = j;
                }
            row_direction(u, &o.snap, e->lead, D);
            double sv = ibc_prec_vec_get_d(&o.snap, h * D + e->lead) > 0 ? 1.0 : -1.0;
            e->lambda_dir = sv * ibc_claim_escape_G(data, p, u);
            e->lead_sign = sv > 0 ? 1 : -1;
            const long K = data->par.K, K1 = data->par.K1;
            double cbest = -INFINITY;
            for (long k = sv > 0 ? 0 : K1; k < (sv > 0 ? K1 : K); k++) {
                double c = 0;
                for (long d = 0; d < D; d++) c += u[d] * mpfr_get_d(data->mu + k * D + d, MPFR_RNDN);
                if (c > cbest) {
                    cbest = c;
                    e->lead_center = k;
                }
            }
            free(u);
            free(C);
            free(contrib);
        }
    }
    ibc_prec_vec_clear(&theta);
    ibc_prec_vec_clear(&o.snap);
    ibc_net_free(net);
    ibc_model_data_free(data);
    return e->rc == IBC_EINPUT ? IBC_EINPUT : IBC_OK;
}

long ibc_claim_escape_cap(double eta, double lambda, double x)
{
    double l = lambda > 0.01 ? lambda : 0.01;
    return (long)(3.0 * (x + 20.0) / log1p(eta * l)) + 1000;
}

double ibc_claim_escape_log_inv_eps(const char *eps)
{
    mpfr_t x;
    mpfr_init2(x, 64);
    mpfr_set_str(x, eps, 10, MPFR_RNDN);
    mpfr_log(x, x, MPFR_RNDN);
    double r = -mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return r;
}

void ibc_claim_escape_small_config(ibc_config *c, const ibc_config *cfg)
{
    *c = *cfg;
    c->model.D = 6;
    c->model.K = 2;
    c->model.K1 = 1;
    c->n = 20;
    c->h = 6;
}

