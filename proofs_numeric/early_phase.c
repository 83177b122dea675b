/* The early phase of MMV24 (early_phase.h), shared by the claims
 * `early-norm` and `direction-approx`: the recorded gradient-flow run on
 * [0, T], its probes, rows and the claim driver.  Library code of
 * ibcheck_claims. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"
#include "early_phase.h"

#define EP_GRID 50          /* records on [0, T] */
#define EP_PROBE_EVERY 5    /* every 5th grid time also gets t +- delta */
#define EP_DELTA_FRAC 1e-4  /* delta = 1e-4 T */

/* Grid times that also get the probes t +- delta (interior only). */
static int ep_is_probe(long k) { return k > 0 && k < EP_GRID - 1 && k % EP_PROBE_EVERY == 0; }

void ibc_claim_early_phase_clear(ibc_early_phase *ep)
{
    free(ep->t);
    free(ep->norm2);
    free(ep->fmax);
    free(ep->dir);
    ibc_flow_stats_clear(&ep->st);
    memset(ep, 0, sizeof *ep);
}

double ibc_claim_early_phase_worst(const ibc_early_phase *ep, const double *series, long *at)
{
    double w = -INFINITY;
    for (long k = 0; k < ep->n_rec; k++)
        if (!(series[k] <= w)) {      /* NaN counts as worst */
            w = series[k];
            if (at) *at = k;
        }
    return w;
}

/* max_j ||w_j||^2 of theta, in MPFR so that a tiny eps keeps its digits. */
static double max_neuron_norm2(const ibc_vec *theta, long h, long D)
{
    mpfr_t s, x, best;
    mpfr_inits2(64, s, x, best, (mpfr_ptr)0);
    mpfr_set_zero(best, 1);
    for (long j = 0; j < h; j++) {
        mpfr_set_zero(s, 1);
        for (long d = 0; d < D; d++) {
            ibc_prec_vec_get_mpfr(x, theta, j * D + d);
            mpfr_fma(s, x, x, s, MPFR_RNDN);
        }
        if (mpfr_cmp(s, best) > 0) mpfr_set(best, s, MPFR_RNDN);
    }
    double r = mpfr_get_d(best, MPFR_RNDU);
    mpfr_clears(s, x, best, (mpfr_ptr)0);
    return r;
}

/* u -= <u_hat_dir, u> dir: the tangent projection P_w u = u - w_hat w_hat^T u. */
static void tangent(double *u, const double *what, long D)
{
    double s = 0;
    for (long d = 0; d < D; d++) s += what[d] * u[d];
    for (long d = 0; d < D; d++) u[d] -= s * what[d];
}

static double norm_d(const double *u, long D)
{
    double s = 0;
    for (long d = 0; d < D; d++) s += u[d] * u[d];
    return sqrt(s);
}

/* Per neuron j at theta: u_j = d/dt w_hat_j = P (dw_j/dt) / ||w_j|| with
 * dw_j/dt = -dL/dw_j (grad from ibc_net_eval), written to U (h x D); and the
 * unit direction w_hat_j to What (h x D). */
static void direction_rates(const ibc_vec *theta, const ibc_vec *grad, long h, long D,
                            double *U, double *What)
{
    for (long j = 0; j < h; j++) {
        double *w = What + j * D, *u = U + j * D;
        for (long d = 0; d < D; d++) {
            w[d] = ibc_prec_vec_get_d(theta, j * D + d);
            u[d] = -ibc_prec_vec_get_d(grad, j * D + d);
        }
        double nw = norm_d(w, D);
        for (long d = 0; d < D; d++) {
            w[d] /= nw;
            u[d] /= nw;
        }
        tangent(u, w, D);
    }
}

/* max_j || U_j - s_j P_{w_j} x_a^(p)(w_j) ||, where (docs/theory.md §5)
 * x_a^(p)(w) = p sum_i y_i sigma(<x_i, w_hat>)^(p-1) x_i, which for p = 1 is
 * sum over <x_i, w> > 0 of y_i x_i (the indicator, never pow(0, 0)).
 * Written from the definition, independently of the network's gradient. */
static double direction_gap(const double *U, const double *What, const int *s, const double *X,
                            const int *y, long n, long h, long D, double p)
{
    double worst = 0;
    double *xa = malloc(sizeof(double) * (size_t)D);
    if (!xa) abort();
    for (long j = 0; j < h; j++) {
        const double *w = What + j * D;
        memset(xa, 0, sizeof(double) * (size_t)D);
        for (long i = 0; i < n; i++) {
            double a = 0;
            for (long d = 0; d < D; d++) a += X[i * D + d] * w[d];
            if (!(a > 0)) continue;
            double c = p == 1.0 ? (double)y[i] : p * (double)y[i] * pow(a, p - 1.0);
            for (long d = 0; d < D; d++) xa[d] += c * X[i * D + d];
        }
        tangent(xa, w, D);
        double g = 0;
        for (long d = 0; d < D; d++) {
            double e = U[j * D + d] - (double)s[j] * xa[d];
            g += e * e;
        }
        g = sqrt(g);
        if (!(g <= worst)) worst = g;
    }
    free(xa);
    return worst;
}

/* 1 when <x_i, w_j> has the same sign pattern at the three thetas. */
static int same_pattern(const double *X, long n, long D, long h, const ibc_vec *a, const ibc_vec *b,
                        const ibc_vec *c)
{
    const ibc_vec *th[3] = {a, b, c};
    for (long j = 0; j < h; j++)
        for (long i = 0; i < n; i++) {
            int sg[3];
            for (int m = 0; m < 3; m++) {
                double s = 0;
                for (long d = 0; d < D; d++) s += X[i * D + d] * ibc_prec_vec_get_d(th[m], j * D + d);
                sg[m] = s > 0;
            }
            if (sg[0] != sg[1] || sg[1] != sg[2]) return 0;
        }
    return 1;
}

/* One probe: the central difference of w_hat_j over the records lo, hi
 * (around r) against U_j = P (dw_j/dt)/||w_j|| at r, max over j of
 * ||FD - U_j|| / A, folded into ep->fd_rel; returns the probe's bound (in
 * the same units) derived below. */
static double fd_probe(ibc_early_phase *ep, const ibc_record *lo, const ibc_record *r, const ibc_record *hi,
                       const double *U, double A, double tol)
{
    const long D = ep->D, h = ep->h, dim = h * D + h;
    double *wl = malloc(sizeof(double) * (size_t)D), *wh = malloc(sizeof(double) * (size_t)D);
    if (!wl || !wh) abort();
    const double dt = hi->t - lo->t;
    double big = 0, Rmax = 0;
    for (long i = 0; i < dim; i++) {
        double a = fabs(ibc_prec_vec_get_d(&r->theta, i));
        if (a > big) big = a;
    }
    for (long j = 0; j < h; j++) {
        for (long d = 0; d < D; d++) {
            wl[d] = ibc_prec_vec_get_d(&lo->theta, j * D + d);
            wh[d] = ibc_prec_vec_get_d(&hi->theta, j * D + d);
        }
        double nl = norm_d(wl, D), nh = norm_d(wh, D), e = 0;
        for (long d = 0; d < D; d++) {
            double q = (wh[d] / nh - wl[d] / nl) / dt - U[j * D + d];
            e += q * q;
        }
        e = sqrt(e) / A;
        if (!(e <= ep->fd_rel)) ep->fd_rel = e;
        if (big / nl > Rmax) Rmax = big / nl;
    }
    free(wl);
    free(wh);
    /* Bound, in units of A = n X_max >= ||x_a||:
     *  - truncation: on one piece (pattern fixed, q ~ 0) w_hat' = s P(w_hat) a
     *    with a fixed a, ||a|| <= A; each derivative of this polynomial field
     *    gains at most a factor 2A per order, so ||w_hat'''|| <= 3! (2A)^3 and
     *    the central difference (half-width delta = dt/2) errs by
     *    <= delta^2/6 * 48 A^3;
     *  - integration: each of the S accepted steps between the probe's ends
     *    errs by <= 2 tol max|theta| per entry, so w_hat by <= 2 sqrt(D) tol R
     *    per step (R = max|theta| / ||w_j||), and the quotient by
     *    <= 2 * 2 sqrt(D) tol R S / dt, doubled for the quotient's own
     *    rounding; the global error e (<= 2 sqrt(D) tol R per step, N steps
     *    in all) enters the quotient as its derivative J e with ||J|| <= A,
     *    i.e. <= 2 sqrt(D) tol R N in units of A. */
    const double S = (double)(hi->step - lo->step) + 1.0, delta = dt / 2.0;
    return 8.0 * delta * delta * A * A + 8.0 * sqrt((double)D) * tol * Rmax * S / dt / A
           + 2.0 * sqrt((double)D) * tol * Rmax * (double)(ep->st.steps + 1);
}

/* The largest eps Lemma 3 allows, rounded down to 3 significant digits. */
static void eps_round_down(char *buf, size_t len, double emax)
{
    int ex = (int)floor(log10(emax));
    double m = floor(emax / pow(10.0, ex) * 100.0) / 100.0;
    snprintf(buf, len, "%.2fe%d", m, ex);
    if (atof(buf) > emax) snprintf(buf, len, "%.2fe%d", m - 0.01, ex);
}

/* The recorder, plus the flow's event count at each record: a central
 * difference is valid only where no switching event lies between its two
 * records.  The same sign pattern at the three records does not show that
 * (a pair can cross and cross back, as in a sliding mode: at K = 6 one such
 * probe was 4 decades off its bound). */
typedef struct {
    ibc_recorder *rec;
    const ibc_flow_stats *st;   /* updated by the flow before each record */
    long *events;               /* events[k]: st->events at record k */
    long cap;
} ep_observer;

static int ep_observe(void *ctx, const ibc_net *net, const ibc_vec *theta, double t, long step, const ibc_vec *loss)
{
    ep_observer *o = ctx;
    long k = o->rec->n;
    if (k < o->cap)
        o->events[k] = o->st->events;
    return ibc_flow_recorder_observe(o->rec, net, theta, t, step, loss);
}

int ibc_claim_early_phase_run(ibc_early_phase *ep, const ibc_config *cfg, double p, long n, long h,
                              const char *eps, ibc_prec pr, char *err)
{
    memset(ep, 0, sizeof *ep);
    ibc_flow_stats_init(&ep->st);
    ep->p = p;
    ep->n = n;
    ep->h = h;
    const long D = cfg->model.D;
    ep->D = D;
    int rc = IBC_OK;
    ibc_data *data = ibc_model_data_alloc(&cfg->model, n, 0);
    if (!data) {
        snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld", D,
                 cfg->model.K, cfg->model.K1, n);
        ibc_claim_early_phase_clear(ep);
        return IBC_EINPUT;
    }
    /* The lemma's setting: the sum loss; MMV24 state it for exp and 2*logistic. */
    ibc_net_params np = {.p = p, .h = h, .loss = cfg->loss, .mean = 0,
                         .loss_scale2 = cfg->loss == IBC_LOSS_LOGISTIC};
    ibc_net *net = ibc_net_alloc(data, &np, pr);
    const long dim = h * D + h;
    double *X = malloc(sizeof(double) * (size_t)(n * D));
    double *U = malloc(sizeof(double) * (size_t)(h * D));
    double *What = malloc(sizeof(double) * (size_t)(h * D));
    int *sg = malloc(sizeof(int) * (size_t)h);
    if (!net || !X || !U || !What || !sg) abort();
    ibc_vec theta, grad, f;
    ibc_prec_vec_init(&theta, dim, pr);
    ibc_prec_vec_init(&grad, dim, pr);
    ibc_prec_vec_init(&f, n, pr);
    ibc_recorder rec;
    ibc_flow_recorder_init(&rec, NULL, 1);
    double *times = NULL;
    long *grid_at = NULL;
    long *ev = NULL;   /* the flow's event count at each record */

    /* X_max in MPFR from the master data; a double copy of X for the analysis. */
    {
        mpfr_t s, best;
        mpfr_inits2(IBC_GEN_BITS, s, best, (mpfr_ptr)0);
        mpfr_set_zero(best, 1);
        for (long i = 0; i < n; i++) {
            mpfr_set_zero(s, 1);
            for (long d = 0; d < D; d++) {
                mpfr_fma(s, data->X + i * D + d, data->X + i * D + d, s, MPFR_RNDN);
                X[i * D + d] = mpfr_get_d(data->X + i * D + d, MPFR_RNDN);
            }
            if (mpfr_cmp(s, best) > 0) mpfr_set(best, s, MPFR_RNDN);
        }
        mpfr_sqrt(best, best, MPFR_RNDU);
        ep->X_max = mpfr_get_d(best, MPFR_RNDU);
        mpfr_clears(s, best, (mpfr_ptr)0);
    }
    /* W0 = W(0)/eps is the init at eps = 1 with the same seed. */
    if ((rc = ibc_net_init_theta(net, &theta, IBC_INIT_BALANCED, "1", cfg->model.seed, err)) != IBC_OK) goto done;
    ep->W_max = sqrt(max_neuron_norm2(&theta, h, D));
    ep->eps_max = 1.0 / (4.0 * sqrt((double)h) * ep->X_max * ep->W_max * ep->W_max);
    if (eps) snprintf(ep->eps, sizeof ep->eps, "%s", eps);
    else eps_round_down(ep->eps, sizeof ep->eps, ep->eps_max);
    ep->eps_d = atof(ep->eps);
    if (!(ep->eps_d > 0 && ep->eps_d <= ep->eps_max)) {
        snprintf(err, IBC_ERRLEN, "eps = %s is out of range for MMV24 Lemma 3: need 0 < eps <= %.4g",
                 ep->eps, ep->eps_max);
        rc = IBC_EINPUT;
        goto done;
    }
    if ((rc = ibc_net_init_theta(net, &theta, IBC_INIT_BALANCED, ep->eps, cfg->model.seed, err)) != IBC_OK) goto done;
    for (long j = 0; j < h; j++) sg[j] = ibc_prec_vec_get_d(&theta, h * D + j) > 0 ? 1 : -1;
    ep->T = log(1.0 / (sqrt((double)h) * ep->eps_d)) / (4.0 * (double)n * ep->X_max);
    ep->fd_delta = EP_DELTA_FRAC * ep->T;

    /* Record times: the grid, with t +- delta around every probe time
     * (delta is far below the grid spacing, so the list stays sorted). */
    times = malloc(sizeof(double) * 3 * EP_GRID);
    grid_at = malloc(sizeof(long) * EP_GRID);
    if (!times || !grid_at) abort();
    long m = 0;
    for (long k = 0; k < EP_GRID; k++) {
        /* The last grid time is T itself: T * k / (GRID - 1) can round
         * above T (at K = 6 it did), and a record time past t_end is never
         * reached (the run then lacked its last record). */
        double tk = k == EP_GRID - 1 ? ep->T : ep->T * (double)k / (double)(EP_GRID - 1);
        int probe = ep_is_probe(k);
        if (probe) times[m++] = tk - ep->fd_delta;
        grid_at[k] = m;
        times[m++] = tk;
        if (probe) times[m++] = tk + ep->fd_delta;
    }
    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    o.method = IBC_METHOD_ADAPTIVE;
    o.t_end = ep->T;
    o.tol = 0;
    o.record_t = times;
    o.n_record_t = m;
    ev = malloc(sizeof(long) * (size_t)m);
    if (!ev) abort();
    ep_observer eo = {&rec, &ep->st, ev, m};
    o.obs = ep_observe;
    o.obs_ctx = &eo;
    rc = ibc_flow_run(net, &theta, &o, &ep->st, err);
    if (rc != IBC_OK) goto done;
    if (rec.n != m) {
        snprintf(err, IBC_ERRLEN, "early phase: %ld records of %ld requested", rec.n, m);
        rc = IBC_ENUMERIC;
        goto done;
    }

    ep->n_rec = EP_GRID;
    ep->t = malloc(sizeof(double) * EP_GRID);
    ep->norm2 = malloc(sizeof(double) * EP_GRID);
    ep->fmax = malloc(sizeof(double) * EP_GRID);
    ep->dir = malloc(sizeof(double) * EP_GRID);
    if (!ep->t || !ep->norm2 || !ep->fmax || !ep->dir) abort();
    /* The integrator's local error per accepted step is <= 2 tol max|theta|
     * per entry (tol = 2^-(bits-8), the flow default). */
    const double tol = ldexp(1.0, -(int)pr.bits + 8);
    const double A = (double)n * ep->X_max;     /* >= ||x_a||: the angular speed scale */
    ep->fd_bound = 0;
    for (long k = 0; k < EP_GRID; k++) {
        const ibc_record *r = &rec.rec[grid_at[k]];
        ep->t[k] = r->t;
        ep->norm2[k] = max_neuron_norm2(&r->theta, h, D);
        ibc_net_eval(net, &r->theta, NULL, 0, NULL, &grad, &f);
        double fm = 0;
        for (long i = 0; i < n; i++) {
            double fi = fabs(ibc_prec_vec_get_d(&f, i));
            if (!(fi <= fm)) fm = fi;
        }
        ep->fmax[k] = fm;
        direction_rates(&r->theta, &grad, h, D, U, What);
        ep->dir[k] = direction_gap(U, What, sg, X, data->y, n, h, D, p);

        if (!ep_is_probe(k) || p != 1.0) continue;
        const ibc_record *lo = r - 1, *hi = r + 1;
        if (ev[grid_at[k] + 1] != ev[grid_at[k] - 1] || !same_pattern(X, n, D, h, &lo->theta, &r->theta, &hi->theta)) {
            ep->fd_skipped++;
            continue;
        }
        double b = fd_probe(ep, lo, r, hi, U, A, tol);
        if (b > ep->fd_bound) ep->fd_bound = b;
        ep->fd_probes++;
    }
done:
    free(times);
    free(grid_at);
    free(ev);
    ibc_flow_recorder_clear(&rec);
    ibc_prec_vec_clear(&theta);
    ibc_prec_vec_clear(&grad);
    ibc_prec_vec_clear(&f);
    free(X);
    free(U);
    free(What);
    free(sg);
    ibc_net_free(net);
    ibc_model_data_free(data);
    if (rc != IBC_OK) ibc_claim_early_phase_clear(ep);
    return rc;
}

/* ---- the claim ---- */

void ibc_claim_early_phase_describe(char *buf, size_t len, const ibc_config *cfg, const ibc_early_phase *ep)
{
    snprintf(buf, len,
             "D=%ld K=%ld K1=%ld alpha=%g n=%ld h=%ld p=%g eps=%s (max %.3g) balanced sum %s; "
             "X_max=%.4f W_max=%.4f T=%.4g; GF %ld steps %ld events; %ld records",
             cfg->model.D, cfg->model.K, cfg->model.K1, cfg->model.alpha, ep->n, ep->h, ep->p, ep->eps,
             ep->eps_max, cfg->loss == IBC_LOSS_EXP ? "exp" : "2*logistic", ep->X_max, ep->W_max, ep->T,
             ep->st.steps, ep->st.events, ep->n_rec);
}

void ibc_claim_early_phase_row(ibc_rows *out, const char *claim, const char *what, const char *source,
                               const char *params, ibc_prec pr, double worst, double t_at, double c_lemma, double scale,
                               double p)
{
    char pb[24], mb[48], bb[64], gb[48];
    ibc_prec_str(pr, pb);
    if (p == 1.0) {
        double bound = c_lemma * scale;
        snprintf(mb, sizeof mb, "%.4g (ratio %.3g at t=%.3g)", worst, worst / bound, t_at);
        snprintf(bb, sizeof bb, "<= %.4g", bound);
        snprintf(gb, sizeof gb, "%.2f decades", log10(bound / worst));
        ibc_claim_rows_add(out, claim, what, pb, mb, bb, gb, worst <= bound ? IBC_HOLDS : IBC_REFUTED, source, "%s",
                           params);
    } else {
        snprintf(mb, sizeof mb, "c = %.4g", worst / scale);
        snprintf(bb, sizeof bb, "(p = 1 lemma: c = %g)", c_lemma);
        ibc_claim_rows_add(out, claim, what, pb, mb, bb, "-", IBC_INFO, source, "%s", params);
    }
}

int ibc_claim_early_phase_claim(const ibc_config *cfg, int full, ibc_early_rows_fn rows, ibc_rows *out, char *err)
{
    /* Small nets by default, where located events stay cheap: each costs
     * ~140 gradients, and their number grows like n h log(1/eps).  At the
     * default n, h the largest eps takes ~5 minutes, cfg->eps over 10. */
    long n1 = full ? cfg->n : (cfg->n < 200 ? cfg->n : 200), h1 = full ? cfg->h : (cfg->h < 20 ? cfg->h : 20);
    long n2 = cfg->n < 100 ? cfg->n : 100, h2 = cfg->h < 10 ? cfg->h : 10;
    int rc = rows(cfg, 1.0, n1, h1, NULL, out, err);
    if (rc == IBC_OK) rc = rows(cfg, 1.0, n2, h2, cfg->eps, out, err);
    if (rc == IBC_OK) rc = rows(cfg, 3.0, n1, h1, NULL, out, err);
    return rc;
}

