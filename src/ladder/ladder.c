/* ladder: one trainer in several precision modes, compared snapshot by
 * snapshot (include/ibcheck/ladder.h).  Shared by the claim
 * `precision-ladder` and the command `ibcheck compare`.
 *
 * Measures, for a mode a against the reference r:
 *  - digits of agreement -log10(||a - r||_inf / ||r||_inf) (scalars: |a-r|/|r|),
 *    capped at the coarser mode's bits * log10(2): beyond them the
 *    difference is the coarser mode's own representation;
 *  - for two modes of equal bits, ||a - b||_inf in ulps of ||b||_inf,
 *    divided by the steps taken ("ulps per step").
 * Norm-wise, not entry-wise: an entry passing near zero has a tiny ulp of
 * its own but carries the rounding of the larger terms it was summed from. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ibcheck/ladder.h"
#include "prec/gemm.h"   /* ibc_prec_gemm_threads, ibc_prec_thread_release */
#include "util/clock.h"

/* ---- modes ---- */

static int same_prec(ibc_prec a, ibc_prec b) { return a.mode == b.mode && a.bits == b.bits; }

/* "double,mpfr:113" from modes[0..n), for messages. */
static void modes_str(char *buf, size_t len, const ibc_prec *modes, long n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (long i = 0; i < n && at < len; i++) {
        char pb[24];
        int w = snprintf(buf + at, len - at, "%s%s", i ? "," : "", ibc_prec_str(modes[i], pb));
        if (w < 0) break;
        at += (size_t)w;
    }
}

int ibc_ladder_modes_check(const ibc_prec *modes, long n, char *err)
{
    char list[200], pb[24];
    modes_str(list, sizeof list, modes, n);
    if (n < 2 || n > IBC_LADDER_MODES_MAX) {
        snprintf(err, IBC_ERRLEN, "precisions = %s has %ld mode%s: need 2 to %d distinct modes", list, n,
                 n == 1 ? "" : "s", IBC_LADDER_MODES_MAX);
        return IBC_EINPUT;
    }
    for (long i = 0; i < n; i++)
        for (long j = 0; j < i; j++)
            if (same_prec(modes[i], modes[j])) {
                snprintf(err, IBC_ERRLEN, "precisions = %s names %s twice: need 2 to %d distinct modes", list,
                         ibc_prec_str(modes[i], pb), IBC_LADDER_MODES_MAX);
                return IBC_EINPUT;
            }
    return IBC_OK;
}

int ibc_ladder_modes_parse(ibc_prec *modes, long *nmodes, const char *list, char *err)
{
    long n = 0;
    const char *s = list ? list : "";
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char item[64];
        if (n == IBC_LADDER_MODES_MAX) {
            snprintf(err, IBC_ERRLEN, "precisions = %.200s has more than %d modes: need 2 to %d distinct modes",
                     list, IBC_LADDER_MODES_MAX, IBC_LADDER_MODES_MAX);
            return IBC_EINPUT;
        }
        /* longer than any mode: let ibc_prec_parse name the first 63 bytes */
        if (len >= sizeof item) len = sizeof item - 1;
        memcpy(item, s, len);
        item[len] = '\0';
        if (ibc_prec_parse(&modes[n], item, err) != IBC_OK)
            return IBC_EINPUT;
        n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    *nmodes = n;
    return ibc_ladder_modes_check(modes, n, err);
}

int ibc_ladder_ref(const ibc_prec *modes, long n)
{
    int r = 0;
    for (long i = 1; i < n; i++)
        if (modes[i].bits > modes[r].bits || (modes[i].bits == modes[r].bits && modes[i].mode > modes[r].mode))
            r = (int)i;
    return r;
}

void ibc_ladder_radius(mpfr_ptr r, const ibc_vec *v, long i)
{
    ibc_prec_vec_get_rad(r, v, i);   /* 0 for double and mpfr, which hold points */
}

/* ---- snapshots ---- */

static void add_step(long *s, long *n, long x)
{
    for (long i = 0; i < *n; i++)
        if (s[i] == x) return;
    long i = *n;
    while (i > 0 && s[i - 1] > x) {
        s[i] = s[i - 1];
        i--;
    }
    s[i] = x;
    (*n)++;
}

/* 0, the powers of ten up to steps (the early growth, where rounding
 * differences start), the quarters and the end. */
static long snap_steps(long *s, long steps)
{
    long n = 0;
    add_step(s, &n, 0);
    for (long k = 1; k <= steps; k *= 10) {
        add_step(s, &n, k);
        if (k > steps / 10) break;
    }
    for (long q = 1; q <= 4; q++) add_step(s, &n, q == 4 ? steps : steps / 4 * q + (steps % 4) * q / 4);
    return n;
}

static void snap_clear(ibc_ladder_snap *sn)
{
    ibc_prec_vec_clear(&sn->theta);
    mpfr_clear(sn->loss);
    mpfr_clear(sn->margin);
    free(sn->align);
    free(sn->contrib);
}

typedef struct {
    ibc_ladder *L;
    ibc_ladder_run *R;
    ibc_net *net;
    const ibc_data *data;
    ibc_recorder rec;
    ibc_vec loss, f;
    double *C;          /* h x K cosines */
    int show;
    long every;         /* progress every this many steps */
} snap_ctx;

/* Keeps snapshot number R->nsnap from theta; loss is the full-batch loss
 * (NULL: evaluated here). */
static void snap_take(snap_ctx *c, const ibc_vec *theta, const ibc_vec *loss)
{
    ibc_ladder *L = c->L;
    ibc_ladder_run *R = c->R;
    ibc_net *net = c->net;
    long i = R->nsnap, h = L->h, K = L->K;
    ibc_ladder_snap *sn = &R->snap[i];
    sn->step = L->snap_step[i];
    sn->t = L->cfg.lr * (double)sn->step;
    if (!loss) {
        ibc_net_eval(net, theta, NULL, 0, &c->loss, NULL, NULL);
        loss = &c->loss;
    }
    /* The recorder's loss and normalized margin, as every claim reads them. */
    ibc_flow_recorder_observe(&c->rec, net, theta, sn->t, sn->step, loss);
    const ibc_record *e = &c->rec.rec[c->rec.n - 1];
    mpfr_init2(sn->loss, mpfr_get_prec(e->loss_m));
    mpfr_set(sn->loss, e->loss_m, MPFR_RNDN);
    sn->gamma_bar = e->gamma_bar;
    ibc_prec_vec_init(&sn->theta, theta->len, theta->pr);
    ibc_prec_vec_set(&sn->theta, theta);
    mpfr_t x, r;
    mpfr_inits2(R->pr.bits, x, r, (mpfr_ptr)0);
    /* min_i y_i f(x_i) in the mode's own precision: the selection and the
     * sign are exact, so nothing is lost beyond the mode's f. */
    ibc_net_eval(net, theta, NULL, 0, NULL, NULL, &c->f);
    mpfr_init2(sn->margin, R->pr.bits);
    mpfr_set_inf(sn->margin, 1);
    for (long k = 0; k < net->n; k++) {
        ibc_prec_vec_get_mpfr(x, &c->f, k);
        if (net->y[k] < 0) mpfr_neg(x, x, MPFR_RNDN);
        if (mpfr_cmp(x, sn->margin) < 0) mpfr_set(sn->margin, x, MPFR_RNDN);
    }
    sn->theta_rad = 0;
    for (long k = 0; k < theta->len; k++) {
        ibc_ladder_radius(r, theta, k);
        if (mpfr_get_d(r, MPFR_RNDU) > sn->theta_rad) sn->theta_rad = mpfr_get_d(r, MPFR_RNDU);
    }
    mpfr_clears(x, r, (mpfr_ptr)0);
    sn->align = malloc(sizeof(double) * (size_t)h);
    sn->contrib = malloc(sizeof(double) * (size_t)h);
    if (!sn->align || !sn->contrib) abort();
    ibc_net_cosines(net, theta, c->data, c->C, sn->contrib);
    long *arg = L->nsnap == i + 1 ? R->fate : NULL;   /* the last snapshot decides the fates */
    double top = 0;
    for (long j = 0; j < h; j++)
        if (sn->contrib[j] > top) top = sn->contrib[j];
    for (long j = 0; j < h; j++) {
        const double *row = c->C + j * K;
        long best = 0, second = -1;
        for (long k = 1; k < K; k++) {
            if (row[k] > row[best]) {
                second = best;
                best = k;
            } else if (second < 0 || row[k] > row[second]) {
                second = k;
            }
        }
        sn->align[j] = row[best];
        if (arg) arg[j] = top > 0 && sn->contrib[j] >= IBC_LADDER_ACTIVE * top ? best : -1;
        if (i == 0 && R == &L->run[L->ref]) L->gap0[j] = second >= 0 ? row[best] - row[second] : INFINITY;
    }
    R->nsnap++;
}

static void progress(const snap_ctx *c, long step)
{
    if (!c->show || (step % c->every != 0 && step != c->L->cfg.steps)) return;
    char pb[24];
    fprintf(stderr, "\ribcheck: %s %s p=%g: step %ld/%ld\033[K", ibc_prec_str(c->R->pr, pb),
            ibc_flow_method_name(c->L->cfg.method), c->L->p, step, c->L->cfg.steps);
    fflush(stderr);
}

/* Fixed-step methods: the checkpoint hook sees theta after every step at no
 * cost, where an observer would evaluate the full-batch loss at each one. */
static int snap_ckpt(void *ctx, const ibc_vec *theta, const ibc_flow_state *s, char *err)
{
    (void)err;
    snap_ctx *c = ctx;
    if (c->R->nsnap < c->L->nsnap && s->step == c->L->snap_step[c->R->nsnap]) snap_take(c, theta, NULL);
    progress(c, s->step);
    return IBC_OK;
}

/* Adaptive method: called at the record times, which are the snapshots'. */
static int snap_obs(void *ctx, const ibc_net *net, const ibc_vec *theta, double t, long step, const ibc_vec *loss)
{
    (void)net;
    (void)t;
    (void)step;
    snap_ctx *c = ctx;
    if (c->R->nsnap < c->L->nsnap) {
        snap_take(c, theta, loss);
        progress(c, c->R->snap[c->R->nsnap - 1].step);
    }
    return 0;
}

static void run_mode(ibc_ladder *L, ibc_ladder_run *R, const ibc_data *data, int quiet)
{
    const ibc_config *cfg = &L->cfg;
    ibc_net_params np = {.p = L->p, .h = cfg->h, .loss = cfg->loss, .mean = cfg->mean};
    snap_ctx c = {.L = L, .R = R, .data = data, .show = !quiet && cfg->verbose && isatty(2)};
    c.every = cfg->steps >= 100 ? cfg->steps / 100 : 1;
    c.net = ibc_net_alloc(data, &np, R->pr);
    if (!c.net) {
        R->rc = IBC_EINPUT;
        snprintf(R->msg, sizeof R->msg, "cannot build the network: p = %g, h = %ld", L->p, cfg->h);
        return;
    }
    ibc_vec theta;
    ibc_prec_vec_init(&theta, ibc_net_dim(c.net), R->pr);
    ibc_prec_vec_init(&c.loss, 1, R->pr);
    ibc_prec_vec_init(&c.f, c.net->n, R->pr);
    c.C = malloc(sizeof(double) * (size_t)(L->h * L->K));
    if (!c.C) abort();
    ibc_flow_recorder_init(&c.rec, data, 0);
    R->rc = ibc_net_init_theta(c.net, &theta, cfg->init, cfg->eps, cfg->model.seed, R->msg);
    if (R->rc == IBC_OK) {
        ibc_flow_opts o;
        ibc_flow_opts_default(&o);
        o.method = cfg->method;
        o.lr = cfg->lr;
        o.steps = cfg->steps;
        o.batch = cfg->batch;
        o.seed = cfg->model.seed;
        double rec_t[IBC_LADDER_SNAPS_MAX];
        if (cfg->method == IBC_METHOD_ADAPTIVE) {
            /* the time the GD run with the same lr and steps reaches, as ibc_train_trained_init */
            o.t_end = cfg->lr * (double)cfg->steps;
            for (long i = 0; i < L->nsnap; i++) rec_t[i] = cfg->lr * (double)L->snap_step[i];
            o.record_t = rec_t;
            o.n_record_t = L->nsnap;
            o.obs = snap_obs;
            o.obs_ctx = &c;
        } else {
            snap_take(&c, &theta, NULL);
            o.ckpt_every = 1;
            o.ckpt = snap_ckpt;
            o.ckpt_ctx = &c;
        }
        ibc_flow_stats st;
        ibc_flow_stats_init(&st);
        double t0 = ibc_util_now();
        R->rc = ibc_flow_run(c.net, &theta, &o, &st, R->msg);
        R->seconds = ibc_util_now() - t0;
        ibc_flow_stats_clear(&st);
        if (c.show) {
            fputs("\r\033[K", stderr);
            fflush(stderr);
        }
    }
    ibc_flow_recorder_clear(&c.rec);
    free(c.C);
    ibc_prec_vec_clear(&c.f);
    ibc_prec_vec_clear(&c.loss);
    ibc_prec_vec_clear(&theta);
    ibc_net_free(c.net);
}

typedef struct {
    ibc_ladder *L;
    const ibc_data *data;
    long order[IBC_LADDER_MODES_MAX];   /* modes by decreasing cost */
    long next;                          /* next index of order to take */
    int quiet;
    pthread_mutex_t lock;
} modes_pool;

static void modes_take(modes_pool *P)
{
    for (;;) {
        pthread_mutex_lock(&P->lock);
        long k = P->next < P->L->nmodes ? P->order[P->next++] : -1;
        pthread_mutex_unlock(&P->lock);
        if (k < 0) break;
        run_mode(P->L, &P->L->run[k], P->data, P->quiet);
    }
}

static void *modes_worker(void *arg)
{
    modes_take(arg);
    ibc_prec_thread_release();   /* this thread's product buffers and MPFR/FLINT caches */
    return NULL;
}

/* Every mode's run, on min(IBC_THREADS, modes) threads (this one included). */
static void modes_run(ibc_ladder *L, const ibc_data *data)
{
    modes_pool P = {.L = L, .data = data, .next = 0};
    pthread_mutex_init(&P.lock, NULL);
    for (long m = 0; m < L->nmodes; m++) P.order[m] = m;
    /* most bits first (double counts as 53 and costs least): the longest
     * run starts at once and the short ones fill in beside it */
    for (long a = 1; a < L->nmodes; a++)
        for (long b = a; b > 0; b--) {
            ibc_prec x = L->run[P.order[b]].pr, y = L->run[P.order[b - 1]].pr;
            long cx = x.mode == IBC_DOUBLE ? 0 : x.bits, cy = y.mode == IBC_DOUBLE ? 0 : y.bits;
            if (cx <= cy) break;
            long t = P.order[b];
            P.order[b] = P.order[b - 1];
            P.order[b - 1] = t;
        }
    int T = ibc_prec_gemm_threads();
    if (T > L->nmodes) T = (int)L->nmodes;
    if (T > 16) T = 16;
    P.quiet = T > 1;   /* one progress line per terminal, not several */
    pthread_t th[16];
    int started[16] = {0};
    for (int t = 1; t < T; t++) started[t] = pthread_create(&th[t], NULL, modes_worker, &P) == 0;
    /* this thread works too; a thread that could not start leaves its
     * modes to the others */
    modes_take(&P);
    for (int t = 1; t < T; t++)
        if (started[t]) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&P.lock);
}

void ibc_ladder_clear(ibc_ladder *L)
{
    for (long m = 0; m < L->nmodes; m++) {
        ibc_ladder_run *R = &L->run[m];
        for (long i = 0; i < R->nsnap; i++) snap_clear(&R->snap[i]);
        free(R->snap);
        free(R->fate);
        R->snap = NULL;
        R->fate = NULL;
        R->nsnap = 0;
    }
    free(L->gap0);
    L->gap0 = NULL;
    L->nmodes = 0;
}

int ibc_ladder_init(ibc_ladder *L, const ibc_config *cfg, double p, const ibc_prec *modes, long nmodes,
                    char *err)
{
    memset(L, 0, sizeof *L);
    int rc = ibc_ladder_modes_check(modes, nmodes, err);
    if (rc != IBC_OK) return rc;
    L->cfg = *cfg;
    L->p = p;
    ibc_net_params np = {.p = p, .h = cfg->h, .loss = cfg->loss, .mean = cfg->mean};
    if ((rc = ibc_net_check(&np, err)) != IBC_OK) return rc;
    /* each mode's memory estimate, as a run in that mode alone */
    for (long m = 0; m < nmodes; m++) {
        L->cfg.prec = modes[m];
        if ((rc = ibc_train_config_check(&L->cfg, err)) != IBC_OK) return rc;
    }
    L->cfg.prec = modes[0];
    L->ref = ibc_ladder_ref(modes, nmodes);
    L->nsnap = snap_steps(L->snap_step, cfg->steps);
    L->h = cfg->h;
    L->K = cfg->model.K;
    L->gap0 = calloc((size_t)L->h, sizeof(double));
    if (!L->gap0) abort();
    L->nmodes = nmodes;
    for (long m = 0; m < nmodes; m++) {
        L->run[m].pr = modes[m];
        L->run[m].snap = calloc(IBC_LADDER_SNAPS_MAX, sizeof(ibc_ladder_snap));
        L->run[m].fate = calloc((size_t)L->h, sizeof(long));
        if (!L->run[m].snap || !L->run[m].fate) abort();
    }
    /* One master data set at IBC_GEN_BITS; each network rounds it into its mode. */
    ibc_data *data = ibc_model_data_alloc(&cfg->model, cfg->n, 0);
    if (!data) {
        snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld", cfg->model.D,
                 cfg->model.K, cfg->model.K1, cfg->n);
        return IBC_EINPUT;
    }
    /* The modes are independent runs that share only the read-only data,
     * so they run side by side on IBC_THREADS threads, the costliest (most
     * bits) first; each writes its own run, so the results do not depend on
     * the thread count.  Errors are then read in the serial order: the
     * reference first, since nothing is compared without it. */
    modes_run(L, data);
    const ibc_ladder_run *R = &L->run[L->ref];
    if (R->rc != IBC_OK) {
        char pb[24];
        snprintf(err, IBC_ERRLEN, "the reference %s did not finish: %.250s", ibc_prec_str(R->pr, pb), R->msg);
        ibc_model_data_free(data);
        return R->rc == IBC_EINPUT ? IBC_EINPUT : IBC_ENUMERIC;
    }
    for (long m = 0; m < nmodes; m++)
        if (m != L->ref && L->run[m].rc == IBC_EINPUT) {
            snprintf(err, IBC_ERRLEN, "%s", L->run[m].msg);
            ibc_model_data_free(data);
            return IBC_EINPUT;
        }
    ibc_model_data_free(data);
    return IBC_OK;
}

/* ---- comparisons ---- */

#define LOG10_2 0.30102999566398120

/* ||v||_inf into r. */
static void vec_norm(mpfr_ptr r, const ibc_vec *v)
{
    mpfr_t x;
    mpfr_init2(x, v->pr.bits);
    mpfr_set_zero(r, 1);
    for (long i = 0; i < v->len; i++) {
        ibc_prec_vec_get_mpfr(x, v, i);
        mpfr_abs(x, x, MPFR_RNDN);
        if (mpfr_cmp(x, r) > 0) mpfr_set(r, x, MPFR_RNDU);
    }
    mpfr_clear(x);
}

/* rel = diff / scale, inf when the scale is 0 and the difference is not. */
static void rel_of(mpfr_ptr rel, mpfr_srcptr diff, mpfr_srcptr scale)
{
    if (mpfr_zero_p(diff)) mpfr_set_zero(rel, 1);
    else if (mpfr_zero_p(scale) || !mpfr_number_p(diff)) mpfr_set_inf(rel, 1);
    else mpfr_div(rel, diff, scale, MPFR_RNDU);
}

/* -log10(rel), capped at cap digits (0 for non-finite differences). */
static double digits_of(mpfr_srcptr rel, double cap)
{
    if (mpfr_zero_p(rel)) return cap;
    if (!mpfr_number_p(rel)) return 0;
    mpfr_t l;
    mpfr_init2(l, 64);
    mpfr_log10(l, rel, MPFR_RNDN);
    double d = -mpfr_get_d(l, MPFR_RNDN);
    mpfr_clear(l);
    return d < cap ? d : cap;
}

/* Relative difference of two MPFR scalars (b the reference). */
static void scalar_rel(mpfr_ptr rel, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_t d, s;
    mpfr_inits2(mpfr_get_prec(a) + mpfr_get_prec(b) + 8, d, s, (mpfr_ptr)0);
    mpfr_sub(d, a, b, MPFR_RNDN);   /* exact at this precision */
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_abs(s, b, MPFR_RNDN);
    rel_of(rel, d, s);
    mpfr_clears(d, s, (mpfr_ptr)0);
}

/* Relative norm-wise difference of two double arrays of length n. */
static void darray_rel(mpfr_ptr rel, const double *a, const double *b, long n)
{
    double dm = 0, sm = 0;
    int bad = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        bad |= !isfinite(a[i]) != !isfinite(b[i]);
        if (d > dm) dm = d;
        if (fabs(b[i]) > sm) sm = fabs(b[i]);
    }
    mpfr_t d, s;
    mpfr_inits2(64, d, s, (mpfr_ptr)0);
    mpfr_set_d(d, bad ? INFINITY : dm, MPFR_RNDU);
    mpfr_set_d(s, sm, MPFR_RNDN);
    rel_of(rel, d, s);
    mpfr_clears(d, s, (mpfr_ptr)0);
}

/* ||a - b||_inf / ||b||_inf for two thetas. */
static void theta_rel(mpfr_ptr rel, const ibc_vec *a, const ibc_vec *b)
{
    mpfr_t d, s;
    mpfr_inits2(64, d, s, (mpfr_ptr)0);
    ibc_prec_vec_maxdiff(d, a, b);
    vec_norm(s, b);
    rel_of(rel, d, s);
    mpfr_clears(d, s, (mpfr_ptr)0);
}

/* Rounding of the common master (IBC_GEN_BITS) into a mode: relative error
 * at most 2^-bits, none when the mode holds the master's bits. */
static void round_unit(mpfr_ptr u, ibc_prec pr)
{
    if (pr.bits >= IBC_GEN_BITS) mpfr_set_zero(u, 1);
    else {
        mpfr_set_ui(u, 1, MPFR_RNDN);
        mpfr_div_2si(u, u, pr.bits, MPFR_RNDN);
    }
}

typedef struct {
    char params[240];
    const char *claim, *source;
} row_ctx;

static void mode_pair(char *buf, ibc_prec a, ibc_prec b)
{
    char pa[24], pb[24];
    snprintf(buf, 48, "%s vs %s", ibc_prec_str(a, pa), ibc_prec_str(b, pb));
}

/* Relative difference of two doubles through MPFR (inf when only the reference is 0). */
static void double_rel(mpfr_ptr rel, double a, double b)
{
    darray_rel(rel, &a, &b, 1);
}

/* Digits rows of mode A against the reference Rf at every snapshot both reached. */
static void digits_rows(const ibc_ladder *L, const ibc_ladder_run *A, const ibc_ladder_run *Rf, const row_ctx *rc,
                        ibc_rows *out)
{
    char prs[48];
    mode_pair(prs, A->pr, Rf->pr);
    long bits = A->pr.bits < Rf->pr.bits ? A->pr.bits : Rf->pr.bits;
    /* the normalized margin and the cosines come from the library as doubles */
    double cap = (double)bits * LOG10_2, cap_d = (double)(bits < 53 ? bits : 53) * LOG10_2;
    mpfr_t rel, bnd, u;
    mpfr_inits2(64, rel, bnd, u, (mpfr_ptr)0);
    long diverged = -1;
    for (long i = 0; i < A->nsnap && i < Rf->nsnap; i++) {
        const ibc_ladder_snap *a = &A->snap[i], *r = &Rf->snap[i];
        double d[5];
        theta_rel(rel, &a->theta, &r->theta);
        d[0] = digits_of(rel, cap);
        /* Step 0: both hold the master rounded once, so |a_i - r_i| <= (u_a + u_r)|x_i|
         * and |x_i| <= ||r||/(1 - u_r). */
        round_unit(bnd, A->pr);
        round_unit(u, Rf->pr);
        mpfr_add(bnd, bnd, u, MPFR_RNDU);
        mpfr_ui_sub(u, 1, u, MPFR_RNDD);
        mpfr_div(bnd, bnd, u, MPFR_RNDU);
        int holds = mpfr_lessequal_p(rel, bnd);
        scalar_rel(rel, a->loss, r->loss);
        d[1] = digits_of(rel, cap);
        scalar_rel(rel, a->margin, r->margin);
        d[2] = digits_of(rel, cap);
        double_rel(rel, a->gamma_bar, r->gamma_bar);
        d[3] = digits_of(rel, cap_d);
        darray_rel(rel, a->align, r->align, L->h);
        d[4] = digits_of(rel, cap_d);
        if (diverged < 0 && d[0] < 1) diverged = a->step;
        char what[72], mb[48], bb[64], gb[32];
        snprintf(what, sizeof what, "digits theta/loss/margin/nmargin/align, step %ld (t=%g)", a->step, a->t);
        snprintf(mb, sizeof mb, "%.1f/%.1f/%.1f/%.1f/%.1f", d[0], d[1], d[2], d[3], d[4]);
        if (i == 0) {
            double bd = digits_of(bnd, cap);
            snprintf(bb, sizeof bb, "theta >= %.2f (init rounded once)", bd);
            snprintf(gb, sizeof gb, "%+.2f digits", d[0] - bd);
            ibc_claim_rows_add(out, rc->claim, what, prs, mb, bb, gb, holds ? IBC_HOLDS : IBC_REFUTED, rc->source,
                               "%s; caps %.1f (theta, loss, margin), %.1f (nmargin, align: doubles)", rc->params, cap,
                         cap_d);
        } else {
            ibc_claim_rows_add(out, rc->claim, what, prs, mb, "-", "-", IBC_INFO, rc->source, "%s", rc->params);
        }
    }
    char mb[48];
    if (A->nsnap == 0) {
        mpfr_clears(rel, bnd, u, (mpfr_ptr)0);
        return;   /* nothing to compare: the "training stopped" row says why */
    }
    if (diverged >= 0) snprintf(mb, sizeof mb, "step %ld", diverged);
    else snprintf(mb, sizeof mb, "none up to step %ld", A->nsnap > 0 ? A->snap[A->nsnap - 1].step : 0);
    ibc_claim_rows_add(out, rc->claim, "first snapshot where theta agrees to < 1 digit", prs, mb, "-", "-", IBC_INFO,
                       rc->source, "%s", rc->params);
    mpfr_clears(rel, bnd, u, (mpfr_ptr)0);
}

/* Two modes of equal bits (double against mpfr:53) differ only in the order
 * and kind of their roundings.  Bound, in ulps of ||theta||_inf per step:
 * each step rounds the update theta - eta*grad once per entry in each mode
 * (<= 1/2 ulp each, 1 ulp apart), and the gradient's sums differ by at most
 * a few roundings of terms no larger than ||theta|| early on, where the
 * escape has not yet made eta*grad comparable to theta; the error carried
 * from earlier steps grows with theta itself along the growing direction, so
 * its count in ulps of the current ||theta|| does not grow.  8 ulps per step
 * leaves room for that and fails by orders of magnitude on anything other
 * than rounding (different data, init or formula: differences of order 1). */
static void ulps_rows(const ibc_ladder *L, const ibc_ladder_run *A, const ibc_ladder_run *B, const row_ctx *rc,
                      ibc_rows *out)
{
    char prs[48];
    mode_pair(prs, A->pr, B->pr);
    if (L->cfg.method == IBC_METHOD_ADAPTIVE) {
        ibc_claim_rows_add(out, rc->claim, "ulps per step at steps 1, 10, 100", prs, "not defined", "-", "-", IBC_INFO,
                           rc->source, "%s; the adaptive method's steps differ between modes", rc->params);
        return;
    }
    if (A->rc != IBC_OK || B->rc != IBC_OK) {
        const ibc_ladder_run *S = A->rc != IBC_OK ? A : B;
        char ps[24];
        ibc_claim_rows_add(out, rc->claim, "ulps per step at steps 1, 10, 100", prs, "not compared", "-", "-", IBC_INFO,
                           rc->source, "%s; %s stopped: %.100s", rc->params, ibc_prec_str(S->pr, ps), S->msg);
        return;
    }
    mpfr_t d, s;
    mpfr_inits2(64, d, s, (mpfr_ptr)0);
    for (long i = 0; i < A->nsnap && i < B->nsnap; i++) {
        long step = A->snap[i].step;
        if (step != 1 && step != 10 && step != 100) continue;
        ibc_prec_vec_maxdiff(d, &A->snap[i].theta, &B->snap[i].theta);
        vec_norm(s, &B->snap[i].theta);
        double ulps = INFINITY;
        if (mpfr_zero_p(d)) ulps = 0;
        else if (mpfr_number_p(d) && !mpfr_zero_p(s) && mpfr_number_p(s)) {
            /* ulp(||b||) = 2^(e - bits) for ||b|| = m 2^e, 1/2 <= m < 1 */
            mpfr_mul_2si(d, d, B->pr.bits - mpfr_get_exp(s), MPFR_RNDU);
            ulps = mpfr_get_d(d, MPFR_RNDU);
        }
        double per = ulps / (double)step;
        char what[72], mb[48], bb[64], gb[32];
        snprintf(what, sizeof what, "max |diff| in ulps of ||theta||_inf per step, step %ld", step);
        snprintf(mb, sizeof mb, "%.3g (%.4g ulps)", per, ulps);
        snprintf(bb, sizeof bb, "<= %g", IBC_LADDER_ULPS_PER_STEP);
        snprintf(gb, sizeof gb, "%+.3g", IBC_LADDER_ULPS_PER_STEP - per);
        ibc_claim_rows_add(out, rc->claim, what, prs, mb, bb, gb, per <= IBC_LADDER_ULPS_PER_STEP ? IBC_HOLDS : IBC_REFUTED,
                           rc->source, "%s", rc->params);
    }
    mpfr_clears(d, s, (mpfr_ptr)0);
}

static void fate_str(char *buf, long f)
{
    if (f < 0) snprintf(buf, 24, "small");
    else snprintf(buf, 24, "mu_%ld", f + 1);
}

/* Neurons whose end differs between mode A and the reference: rounding
 * decided their fate.  Their initial gap (top two cosines with the centers
 * at step 0) says how close to a basin boundary they started. */
#define FATE_ROWS_MAX 5
static void fate_rows(const ibc_ladder *L, const ibc_ladder_run *A, const ibc_ladder_run *Rf, const row_ctx *rc,
                      ibc_rows *out)
{
    char prs[48], pa[24], pr[24];
    mode_pair(prs, A->pr, Rf->pr);
    ibc_prec_str(A->pr, pa);
    ibc_prec_str(Rf->pr, pr);
    if (A->rc != IBC_OK) {
        ibc_claim_rows_add(out, rc->claim, "neurons whose fate (nearest center, or small) differs", prs, "not compared", "-", "-",
                           IBC_INFO, rc->source, "%s; %s stopped: %.100s", rc->params, pa, A->msg);
        return;
    }
    const ibc_ladder_snap *ea = &A->snap[A->nsnap - 1], *er = &Rf->snap[Rf->nsnap - 1];
    long ndiff = 0, grown_a = 0, grown_r = 0;
    double gmin = INFINITY;
    for (long j = 0; j < L->h; j++) {
        grown_a += A->fate[j] >= 0;
        grown_r += Rf->fate[j] >= 0;
        if (A->fate[j] == Rf->fate[j]) continue;
        ndiff++;
        if (L->gap0[j] < gmin) gmin = L->gap0[j];
        if (ndiff > FATE_ROWS_MAX) continue;
        char what[192], mb[48], fa[24], fr[24];
        fate_str(fa, A->fate[j]);
        fate_str(fr, Rf->fate[j]);
        snprintf(what, sizeof what, "neuron %ld ends at %s in %s, %s in %s", j + 1, fa, pa, fr, pr);
        snprintf(mb, sizeof mb, "initial gap %.3g", L->gap0[j]);
        ibc_claim_rows_add(out, rc->claim, what, prs, mb, "-", "-", IBC_INFO, rc->source,
                           "%s; end: max cos %.6f vs %.6f, contribution %.3g vs %.3g", rc->params, ea->align[j],
                     er->align[j], ea->contrib[j], er->contrib[j]);
    }
    char mb[48], gb[64] = "";
    snprintf(mb, sizeof mb, "%ld of %ld", ndiff, L->h);
    if (ndiff > 0) snprintf(gb, sizeof gb, "; smallest initial gap among them %.3g", gmin);
    ibc_claim_rows_add(out, rc->claim, "neurons whose fate (nearest center, or small) differs", prs, mb, "-", "-",
                       IBC_INFO, rc->source, "%s; active neurons %ld vs %ld%s%s", rc->params, grown_a, grown_r, gb,
                 ndiff > FATE_ROWS_MAX ? "; first 5 listed" : "");
}

void ibc_ladder_rows(const ibc_ladder *L, const char *claim, const char *source, const char *params_note,
                     ibc_rows *out)
{
    row_ctx rc = {.claim = claim, .source = source};
    int len = ibc_train_config_describe(rc.params, sizeof rc.params, &L->cfg, L->p);
    if (len > 0 && (size_t)len < sizeof rc.params)
        snprintf(rc.params + len, sizeof rc.params - (size_t)len, " %s%s%s", ibc_flow_method_name(L->cfg.method),
                 params_note ? "; " : "", params_note ? params_note : "");
    const ibc_ladder_run *Rf = &L->run[L->ref];
    for (long m = 0; m < L->nmodes; m++) {
        const ibc_ladder_run *A = &L->run[m];
        char pa[24], mb[48], lb[48];
        if (A->rc == IBC_OK) {
            snprintf(mb, sizeof mb, "%.2f s, final loss %s", A->seconds,
                     ibc_prec_fmt_mpfr(lb, A->snap[A->nsnap - 1].loss, 4));
            ibc_claim_rows_add(out, claim, m == L->ref ? "training time (the reference)" : "training time",
                               ibc_prec_str(A->pr, pa), mb, "-", "-", IBC_INFO, source, "%s", rc.params);
        } else {
            snprintf(mb, sizeof mb, "stopped after %ld snapshots", A->nsnap);
            ibc_claim_rows_add(out, claim, "training stopped", ibc_prec_str(A->pr, pa), mb, "-", "-", IBC_INFO, source,
                               "%s; %.150s", rc.params, A->msg);
        }
    }
    /* A ball mode's radii: how far its enclosure of exact GD stays sharp. */
    for (long m = 0; m < L->nmodes; m++) {
        const ibc_ladder_run *A = &L->run[m];
        char pa[24], mb[48];
        for (long k = 0; A->pr.mode == IBC_ARB && k < A->nsnap; k++) {
            snprintf(mb, sizeof mb, "%.3g", A->snap[k].theta_rad);
            ibc_claim_rows_add(out, claim, "max ball radius of theta", ibc_prec_str(A->pr, pa), mb, "-", "-", IBC_INFO,
                               source, "step %ld; %s", A->snap[k].step, rc.params);
        }
    }
    for (long m = 0; m < L->nmodes; m++)
        if (m != L->ref) digits_rows(L, &L->run[m], Rf, &rc, out);
    /* each pair of equal bits once, measured in ulps of the one ibc_ladder_ref prefers */
    for (long m = 0; m < L->nmodes; m++)
        for (long k = m + 1; k < L->nmodes; k++)
            if (L->run[k].pr.bits == L->run[m].pr.bits) {
                ibc_prec two[2] = {L->run[m].pr, L->run[k].pr};
                int b = ibc_ladder_ref(two, 2);
                ulps_rows(L, &L->run[b ? m : k], &L->run[b ? k : m], &rc, out);
            }
    for (long m = 0; m < L->nmodes; m++)
        if (m != L->ref) fate_rows(L, &L->run[m], Rf, &rc, out);
}
