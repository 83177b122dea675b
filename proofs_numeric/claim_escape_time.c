/* Claim `escape-time` (THEORY §5 L-escape [derived]), and the escape runner
 * it shares with `tiny-init` (escape_run.h).
 *
 * In the alignment phase (mean exp loss, balanced init) each neuron grows as
 * d||w_j||/dt = sign(v_j) G_n(w_hat_j) ||w_j|| with G_n(u) = (1/n) sum_i y_i
 * sigma(<x_i, u>)^p, so the network leaves the origin after a time that grows
 * like log(1/eps)/lambda, lambda = sign(v) G_n at the attracting direction of
 * the fastest neuron.  Under GD with step eta each step multiplies ||w_j|| by
 * (1 + eta lambda), so the escape time's slope against log(1/eps) is
 * eta/log(1 + eta lambda) (THEORY §5).
 *
 * Checked, for p = 3 and p = 1: the least-squares slope of the escape time
 * (definition in escape_run.h) against log(1/eps), against that prediction
 * within 5%.  lambda is G_n at the direction the leading neuron actually
 * reaches (read in the linear phase of the smallest eps's run); lambda at
 * mu_k (p = 3) or mu_+/sqrt(K1), mu_-/sqrt(K2) (p = 1) is reported beside it,
 * and the growth rate measured from the loss in the linear phase must match
 * it within 5% (two methods for lambda).
 *  - Part A, double: the default data (n = 500), eps = 1e-4 ... 1e-64.
 *  - Part B, beyond double: for eps^2 below double's range (1e-200; 1e-400
 *    is below it altogether) the run is made in the high-precision mode, on
 *    a small net (MPFR costs ~100x per step).  There double and MPFR first
 *    run eps = 1e-16 and 1e-64 and must agree to rounding; the MPFR series
 *    1e-16 ... 1e-400 gives the slope.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"
#include "escape_run.h"

#define ESC_RECORD_EVERY 4
#define ESC_TOL 0.05          /* THEORY §8: slope within 5% */

double ibc_escape_G(const ibc_data *data, double p, const double *u)
{
    const long D = data->par.D, n = data->n;
    ibc_net_params np = {.p = p, .h = 1, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(data, &np, ibc_prec_double());
    ibc_vec th, f;
    ibc_vec_init(&th, D + 1, ibc_prec_double());
    ibc_vec_init(&f, n, ibc_prec_double());
    double nu = 0;
    for (long d = 0; d < D; d++) nu += u[d] * u[d];
    nu = sqrt(nu);
    for (long d = 0; d < D; d++) ibc_vec_set_d(&th, d, u[d] / nu);
    ibc_vec_set_d(&th, D, 1.0);          /* f(x_i) = sigma(<x_i, u>)^p */
    ibc_net_eval(net, &th, NULL, 0, NULL, NULL, &f);
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)data->y[i] * ibc_vec_get_d(&f, i);
    ibc_vec_clear(&th);
    ibc_vec_clear(&f);
    ibc_net_free(net);
    return s / (double)n;
}

double ibc_escape_agree_bound(const ibc_escape *ref, long n, long D)
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
} esc_obs;

/* 1 - L in MPFR (L rounds to 1 in double long before 1 - L is visible). */
static double loss_drop(const ibc_vec *loss, long bits)
{
    mpfr_t l;
    mpfr_init2(l, bits);
    ibc_vec_get_mpfr(l, loss, 0);
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
        ibc_vec_get_mpfr(x, theta, j * D + d);
        mpfr_abs(x, x, MPFR_RNDN);
        mpfr_max(m, m, x, MPFR_RNDN);
    }
    for (long d = 0; d < D; d++) {
        ibc_vec_get_mpfr(x, theta, j * D + d);
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
    ibc_recorder_init(&r, data, 0);
    ibc_recorder_observe(&r, net, theta, t, step, loss);
    double a = r.rec[0].align;
    ibc_recorder_clear(&r);
    return a;
}

static int esc_observe(void *ctx, const ibc_net *net, const ibc_vec *theta, double t, long step,
                       const ibc_vec *loss)
{
    esc_obs *o = ctx;
    double d = loss_drop(loss, o->bits);
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
        ibc_vec_set(&o->snap, theta);
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

int ibc_escape_run(ibc_escape *e, const ibc_config *cfg, double p, long n, long h, const char *eps,
                   ibc_prec pr, long max_steps, char *err)
{
    memset(e, 0, sizeof *e);
    e->t_esc = e->align = e->lambda_growth = e->lambda_dir = NAN;
    e->lead = -1;
    ibc_data *data = ibc_data_alloc(&cfg->model, n, 0);
    ibc_net_params np = {.p = p, .h = h, .loss = IBC_LOSS_EXP, .mean = 1};
    if (!data || ibc_net_check(&np, err) != IBC_OK) {
        if (data) ibc_data_free(data);
        else snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld",
                      cfg->model.D, cfg->model.K, cfg->model.K1, n);
        return IBC_EINPUT;
    }
    ibc_net *net = ibc_net_alloc(data, &np, pr);
    const long D = cfg->model.D, dim = ibc_net_dim(net);
    ibc_vec theta;
    ibc_vec_init(&theta, dim, pr);
    esc_obs o = {.data = data, .e = e, .bits = pr.bits + 64};
    ibc_vec_init(&o.snap, dim, pr);
    e->rc = ibc_net_init_theta(net, &theta, IBC_INIT_BALANCED, eps, cfg->model.seed, e->msg);
    if (e->rc == IBC_EINPUT) {
        snprintf(err, IBC_ERRLEN, "%s", e->msg);
    } else if (e->rc == IBC_OK) {
        ibc_flow_opts opt;
        ibc_flow_opts_default(&opt);
        opt.method = IBC_METHOD_GD;
        opt.lr = cfg->lr;
        opt.steps = max_steps;
        opt.record_every = ESC_RECORD_EVERY;
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
            double sv = ibc_vec_get_d(&o.snap, h * D + e->lead) > 0 ? 1.0 : -1.0;
            e->lambda_dir = sv * ibc_escape_G(data, p, u);
            free(u);
            free(C);
            free(contrib);
        }
    }
    ibc_vec_clear(&theta);
    ibc_vec_clear(&o.snap);
    ibc_net_free(net);
    ibc_data_free(data);
    return e->rc == IBC_EINPUT ? IBC_EINPUT : IBC_OK;
}

/* ---- the claim ---- */

/* lambda at the directions THEORY names: p = 1, the class averages
 * mu_+/sqrt(K1) (v > 0) and mu_-/sqrt(K2) (v < 0); p > 1, the centers mu_k
 * with the sign of their class.  The largest (the fastest neuron wins). */
static double lambda_named(const ibc_data *data, double p)
{
    const long D = data->par.D, K = data->par.K, K1 = data->par.K1;
    double *u = calloc((size_t)D, sizeof(double));
    if (!u) abort();
    double best = -INFINITY;
    if (p == 1.0) {
        for (int c = 0; c < 2; c++) {
            memset(u, 0, sizeof(double) * (size_t)D);
            for (long k = c ? K1 : 0; k < (c ? K : K1); k++)
                for (long d = 0; d < D; d++) u[d] += mpfr_get_d(data->mu + k * D + d, MPFR_RNDN);
            double l = (c ? -1.0 : 1.0) * ibc_escape_G(data, p, u);
            if (l > best) best = l;
        }
    } else {
        for (long k = 0; k < K; k++) {
            for (long d = 0; d < D; d++) u[d] = mpfr_get_d(data->mu + k * D + d, MPFR_RNDN);
            double l = (k < K1 ? 1.0 : -1.0) * ibc_escape_G(data, p, u);
            if (l > best) best = l;
        }
    }
    free(u);
    return best;
}

/* Least-squares slope of t against x: (m Sxt - Sx St) / (m Sxx - Sx^2).
 * The x here (log(1/eps)) are few and well spread, so the one-pass form
 * loses no digit that matters at a 5% tolerance. */
static double ls_slope(const double *x, const double *t, int m)
{
    double sx = 0, st = 0, sxx = 0, sxt = 0;
    for (int i = 0; i < m; i++) {
        sx += x[i];
        st += t[i];
        sxx += x[i] * x[i];
        sxt += x[i] * t[i];
    }
    return ((double)m * sxt - sx * st) / ((double)m * sxx - sx * sx);
}

/* Slope of the GD escape time against log(1/eps) for growth rate lambda. */
static double slope_pred(double eta, double lambda) { return eta / log1p(eta * lambda); }

long ibc_escape_cap(double eta, double lambda, double x)
{
    double l = lambda > 0.01 ? lambda : 0.01;
    return (long)(3.0 * (x + 20.0) / log1p(eta * l)) + 1000;
}

double ibc_escape_log_inv_eps(const char *eps)
{
    mpfr_t x;
    mpfr_init2(x, 64);
    mpfr_set_str(x, eps, 10, MPFR_RNDN);
    mpfr_log(x, x, MPFR_RNDN);
    double r = -mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    return r;
}

typedef struct {
    int m;
    const char *eps[8];
    double x[8];               /* log(1/eps) */
    double t[8];               /* escape times */
    ibc_prec pr[8];
    ibc_escape e[8];
} esc_series;

static int series_run(esc_series *s, const ibc_config *cfg, double p, long n, long h, double lambda_guess,
                      char *err)
{
    for (int i = 0; i < s->m; i++) {
        s->x[i] = ibc_escape_log_inv_eps(s->eps[i]);
        int rc = ibc_escape_run(&s->e[i], cfg, p, n, h, s->eps[i], s->pr[i],
                                ibc_escape_cap(cfg->lr, lambda_guess, s->x[i]), err);
        if (rc != IBC_OK) return rc;
        if (s->e[i].rc != IBC_OK || !s->e[i].escaped) {
            snprintf(err, IBC_ERRLEN, "escape-time: p=%g eps=%s: %s", p, s->eps[i],
                     s->e[i].rc != IBC_OK ? s->e[i].msg : "no escape within the step cap");
            return IBC_ENUMERIC;
        }
        s->t[i] = s->e[i].t_esc;
    }
    return IBC_OK;
}

static void slope_row(ibc_rows *out, const char *what, const char *prec, double measured, double pred,
                      const char *params)
{
    char mb[48], bb[64], gb[48];
    double rel = measured / pred - 1.0;
    snprintf(mb, sizeof mb, "%.4f (%+.2f%%)", measured, 100.0 * rel);
    snprintf(bb, sizeof bb, "%.4f +- %g%%", pred, 100.0 * ESC_TOL);
    snprintf(gb, sizeof gb, "%+.2f%%", 100.0 * (ESC_TOL - fabs(rel)));
    ibc_rows_add(out, "escape-time", what, prec, mb, bb, gb, fabs(rel) <= ESC_TOL ? IBC_HOLDS : IBC_REFUTED,
                 "L-escape", "%s", params);
}

void ibc_escape_small_config(ibc_config *c, const ibc_config *cfg)
{
    *c = *cfg;
    c->model.D = 6;
    c->model.K = 2;
    c->model.K1 = 1;
    c->n = 20;
    c->h = 6;
}

static void series_params(char *buf, size_t len, const ibc_config *c, double p)
{
    snprintf(buf, len, "D=%ld K=%ld K1=%ld alpha=%g n=%ld h=%ld p=%g balanced mean exp GD eta=%g; escape: 1-L >= %g",
             c->model.D, c->model.K, c->model.K1, c->model.alpha, c->n, c->h, p, c->lr, IBC_ESCAPE_DROP);
}

/* Rows common to both parts: the times, lambda three ways, and the slope of
 * the entries in mode pr against the prediction from the last of them. */
static void series_rows(const esc_series *s, const ibc_config *c, double p, ibc_prec pr, ibc_rows *out)
{
    char params[240], pb[24], mb[48], tl[48], el[200];
    series_params(params, sizeof params, c, p);
    ibc_prec_str(pr, pb);
    int len = 0, elen = 0;
    double x[8], t[8];
    int m = 0;
    const ibc_escape *last = NULL;
    for (int i = 0; i < s->m; i++) {
        char q[24];
        len += snprintf(tl + len, sizeof tl - (size_t)len, "%s%.1f", i ? ", " : "", s->t[i]);
        elen += snprintf(el + elen, sizeof el - (size_t)elen, "%s%s %s", i ? ", " : "", s->eps[i],
                         ibc_prec_str(s->pr[i], q));
        if (s->pr[i].mode == pr.mode && s->pr[i].bits == pr.bits) {
            x[m] = s->x[i];
            t[m++] = s->t[i];
            last = &s->e[i];
        }
    }
    ibc_rows_add(out, "escape-time", "escape time t_esc per eps", pb, tl, "-", "-", IBC_INFO, "L-escape",
                 "%s; eps: %s", params, el);
    snprintf(mb, sizeof mb, "%.5f (neuron %ld)", last->lambda_dir, last->lead);
    ibc_rows_add(out, "escape-time", "lambda = sign(v) G_n(w_hat), leading neuron, smallest eps", pb, mb, "-", "-",
                 IBC_INFO, "L-escape", "%s", params);
    /* Two methods for lambda: the growth of 1 - L in the linear window
     * against G_n at the leading neuron's direction. */
    slope_row(out, "lambda from the growth of 1-L (window 1e-8..1e-3) vs G_n", pb, last->lambda_growth,
              last->lambda_dir, params);
    slope_row(out, "LS slope of t_esc vs log(1/eps) vs eta/log(1+eta lambda)", pb, ls_slope(x, t, m),
              slope_pred(c->lr, last->lambda_dir), params);
}

/* Part A: eps = 1e-4 ... 1e-64 (and 1e-128 when extended) in the working mode. */
static int escape_rows(const ibc_config *c, double p, int extended, ibc_rows *out, char *err)
{
    esc_series s = {.m = extended ? 6 : 5, .eps = {"1e-4", "1e-8", "1e-16", "1e-32", "1e-64", "1e-128"}};
    for (int i = 0; i < s.m; i++) s.pr[i] = c->prec;
    ibc_data *data = ibc_data_alloc(&c->model, c->n, 0);
    if (!data) {
        snprintf(err, IBC_ERRLEN, "cannot generate data: n = %ld", c->n);
        return IBC_EINPUT;
    }
    double lam_named = lambda_named(data, p);
    ibc_data_free(data);
    int rc = series_run(&s, c, p, c->n, c->h, lam_named, err);
    if (rc != IBC_OK) return rc;
    char params[240], pb[24], mb[48];
    series_params(params, sizeof params, c, p);
    snprintf(mb, sizeof mb, "%.5f", lam_named);
    ibc_rows_add(out, "escape-time",
                 p == 1.0 ? "lambda at mu_+/sqrt(K1), mu_-/sqrt(K2) (max)" : "lambda at mu_k (max over k)",
                 ibc_prec_str(c->prec, pb), mb, "-", "-", IBC_INFO, "L-escape", "%s", params);
    series_rows(&s, c, p, c->prec, out);
    return IBC_OK;
}

/* Part B: beyond double's range.  A small net, where double and the
 * high-precision mode first run the same eps (1e-16, 1e-64), then the
 * high-precision mode alone goes on to eps^2 below double's range. */
static int escape_rows_hi(const ibc_config *c, double p, ibc_rows *out, char *err)
{
    esc_series s = {.m = 6, .eps = {"1e-16", "1e-16", "1e-64", "1e-64", "1e-200", "1e-400"}};
    for (int i = 0; i < s.m; i++) s.pr[i] = (i < 4 && i % 2 == 0) ? c->prec : c->prec_hi;
    int rc = series_run(&s, c, p, c->n, c->h, 0.1, err);
    if (rc != IBC_OK) return rc;
    char params[240], pb[24], mb[48], bb[64], gb[48];
    series_params(params, sizeof params, c, p);
    /* Agreement of the two modes on the same GD run (bound: escape_run.h). */
    for (int i = 0; i < 4; i += 2) {
        double rel = fabs(s.t[i] / s.t[i + 1] - 1.0);
        double bound = ibc_escape_agree_bound(&s.e[i + 1], c->n, c->model.D);
        snprintf(mb, sizeof mb, "%.3g (t=%.6f vs %.6f)", rel, s.t[i], s.t[i + 1]);
        snprintf(bb, sizeof bb, "<= %.3g", bound);
        snprintf(gb, sizeof gb, "%.2f decades", rel > 0 ? log10(bound / rel) : INFINITY);
        char what[72];
        snprintf(what, sizeof what, "|t_esc(double)/t_esc(%s) - 1| at eps=%s", ibc_prec_str(c->prec_hi, pb), s.eps[i]);
        ibc_rows_add(out, "escape-time", what, "double", mb, bb, gb, rel <= bound ? IBC_HOLDS : IBC_REFUTED,
                     "L-escape", "%s", params);
    }
    series_rows(&s, c, p, c->prec_hi, out);
    return IBC_OK;
}

/* Part A on cfg's data with width hA; part B on the net `small`. */
static int escape_claim(const ibc_config *cfg, long hA, int extended, const ibc_config *small, ibc_rows *out,
                        char *err)
{
    ibc_config c = *cfg;
    c.h = hA;
    int rc = IBC_OK;
    for (int i = 0; i < 2 && rc == IBC_OK; i++) rc = escape_rows(&c, i == 0 ? 3.0 : 1.0, extended, out, err);
    for (int i = 0; i < 2 && rc == IBC_OK; i++) rc = escape_rows_hi(small, i == 0 ? 3.0 : 1.0, out, err);
    return rc;
}

/* Default: part A on the default data with 20 neurons (the width only sets
 * which directions are sampled; lambda is read from the run), part B on the
 * small net of escape_run.h. */
int ibc_claim_escape_time(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_config small;
    ibc_escape_small_config(&small, cfg);
    return escape_claim(cfg, cfg->h < 20 ? cfg->h : 20, 0, &small, out, err);
}

/* Long: part A at the full width and down to eps = 1e-128; part B on the
 * default data model (n = 100, h = 10), about 4 ms per MPFR step. */
int ibc_claim_escape_time_long(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_config small = *cfg;
    small.n = cfg->n < 100 ? cfg->n : 100;
    small.h = cfg->h < 10 ? cfg->h : 10;
    return escape_claim(cfg, cfg->h, 1, &small, out, err);
}
