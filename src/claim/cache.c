/* claim: trained networks shared between claims within one process.
 * Several claims read the same trained network (balance and alignment both
 * want p = 3 at the defaults); the cache makes `ibcheck check` train it once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include "ibcheck/claim.h"
#include "ibcheck/netio.h"
#include "claim/claims.h"
#include "util/clock.h"

typedef struct {
    double p;
    ibc_prec pr;
    const char *method;
    long total;          /* steps, or 0 when the run is bounded by time */
    double t_end;
} progress_ctx;

/* A progress line on a terminal only (DESIGN: quiet otherwise); \033[K wipes
 * what a longer previous line left behind. */
static int progress_obs(void *ctx, const ibc_net *net, const ibc_vec *theta,
                        double t, long step, const ibc_vec *loss)
{
    const progress_ctx *pc = ctx;
    char pb[24], lb[48] = "?";
    mpfr_t l;
    mpfr_init2(l, 64);
    if (loss && loss->len >= 1) {
        ibc_vec_get_mpfr(l, loss, 0);
        ibc_fmt_mpfr(lb, l, 4);
    }
    mpfr_clear(l);
    if (pc->total > 0)
        fprintf(stderr, "\ribcheck: training p=%g %s %s: step %ld/%ld, loss %s\033[K",
                pc->p, ibc_prec_str(pc->pr, pb), pc->method, step, pc->total, lb);
    else
        fprintf(stderr, "\ribcheck: training p=%g %s %s: t = %.4g/%.4g, loss %s\033[K",
                pc->p, ibc_prec_str(pc->pr, pb), pc->method, t, pc->t_end, lb);
    fflush(stderr);
    return 0;
}

/* Every training run records its trajectory; progress goes on top. */
typedef struct {
    ibc_recorder *rec;
    progress_ctx *pc;
    int show;
} trained_obs_ctx;

static int trained_obs(void *ctx, const ibc_net *net, const ibc_vec *theta,
                       double t, long step, const ibc_vec *loss)
{
    trained_obs_ctx *c = ctx;
    ibc_recorder_observe(c->rec, net, theta, t, step, loss);
    return c->show ? progress_obs(c->pc, net, theta, t, step, loss) : 0;
}

void ibc_trained_clear(ibc_trained *t)
{
    ibc_recorder_clear(&t->rec);
    ibc_vec_clear(&t->theta);
    ibc_flow_stats_clear(&t->stats);
    if (t->net)
        ibc_net_free(t->net);
    if (t->data)
        ibc_data_free(t->data);
    t->net = NULL;
    t->data = NULL;
}

/* Checkpoint writer of a run: remembers the last step saved for the message
 * after a numerical fault. */
typedef struct {
    const char *path;
    const ibc_config *cfg;
    double p;
    ibc_ckpt_meta meta;
    long last_step;      /* -1: none written or resumed from */
} ckpt_ctx;

/* OpenBLAS's own thread count would change a double run's bits (its dgemm
 * partition rounds differently).  ibc_prec_blas_setup keeps it at 1 and
 * threads over fixed blocks instead, so this is 1 for every IBC_THREADS; the
 * check stays as a guard should OpenBLAS ever be threaded again. */
static long blas_threads_of(ibc_prec pr)
{
    return pr.mode == IBC_DOUBLE ? (long)openblas_get_num_threads() : 0;
}

static int ckpt_write(void *ctx, const ibc_vec *theta, const ibc_flow_state *s, char *err)
{
    ckpt_ctx *c = ctx;
    int rc = ibc_netio_ckpt_save(c->path, c->cfg, c->p, &c->meta, theta, s, err);
    if (rc == IBC_OK)
        c->last_step = s->step;
    return rc;
}

/* Loads the checkpoint to resume from into theta (initialised in mode pr)
 * and rs, after checking that it belongs to this run. */
static int ckpt_resume(const ibc_ckpt_opts *ck, const ibc_config *cfg, double p, ibc_prec pr,
                       ibc_vec *theta, ibc_flow_state *rs, ibc_ckpt_meta *meta, char *err)
{
    ibc_config sc;
    double sp;
    ibc_vec th;
    char e2[IBC_ERRLEN], pb[24], sb[24];
    int rc = ibc_netio_ckpt_load(ck->path, &sc, &sp, meta, &th, rs, err);
    if (rc != IBC_OK)
        return rc;
    if (ibc_netio_same_training(cfg, p, &sc, sp, e2) != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "%.100s: %.210s", ck->path, e2);
        rc = IBC_EINPUT;
    } else if (meta->blas_threads != blas_threads_of(pr)) {
        snprintf(err, IBC_ERRLEN, "%.100s: %ld BLAS threads (IBC_THREADS) differ from the checkpoint's %ld: "
                 "a double run's bits depend on them", ck->path, blas_threads_of(pr), meta->blas_threads);
        rc = IBC_EINPUT;
    } else if (th.pr.mode != pr.mode || th.pr.bits != pr.bits) {
        snprintf(err, IBC_ERRLEN, "%.100s: theta is saved in %s: need %s", ck->path, ibc_prec_str(th.pr, sb),
                 ibc_prec_str(pr, pb));
        rc = IBC_EINPUT;
    } else {
        ibc_vec_set(theta, &th);
    }
    ibc_vec_clear(&th);
    return rc;
}

static int trained_run(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr, double t_end, double tol,
                       const ibc_ckpt_opts *ck, long *resumed_step, char *err)
{
    memset(t, 0, sizeof *t);
    ibc_flow_stats_init(&t->stats);
    ibc_net_params np = {.p = p, .h = cfg->h, .loss = cfg->loss, .mean = cfg->mean};
    int rc = ibc_config_check(cfg, err);
    if (rc == IBC_OK)
        rc = ibc_net_check(&np, err);
    if (rc == IBC_OK)
        rc = ibc_prec_check(pr, "precision", err);
    if (rc != IBC_OK) {
        ibc_trained_clear(t);
        return rc;
    }
    t->data = ibc_data_alloc(&cfg->model, cfg->n, 0);
    if (!t->data) {
        snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld",
                 cfg->model.D, cfg->model.K, cfg->model.K1, cfg->n);
        ibc_trained_clear(t);
        return IBC_EINPUT;
    }
    t->net = ibc_net_alloc(t->data, &np, pr);
    if (!t->net) {
        snprintf(err, IBC_ERRLEN, "cannot build the network: p = %g, h = %ld", p, cfg->h);
        ibc_trained_clear(t);
        return IBC_EINPUT;
    }
    ibc_vec_init(&t->theta, ibc_net_dim(t->net), pr);
    rc = ibc_net_init_theta(t->net, &t->theta, cfg->init, cfg->eps, cfg->model.seed, err);
    if (rc != IBC_OK) {
        ibc_trained_clear(t);
        return rc;
    }

    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    ibc_flow_state rs;
    ibc_flow_state_init(&rs);
    ckpt_ctx cc = {.path = ck ? ck->path : NULL, .cfg = cfg, .p = p,
                   .meta = {ck ? ck->every : 0, blas_threads_of(pr)}, .last_step = -1};
    if (ck && ck->resume) {
        ibc_ckpt_meta saved;
        rc = ckpt_resume(ck, cfg, p, pr, &t->theta, &rs, &saved, err);
        if (rc != IBC_OK) {
            ibc_flow_state_clear(&rs);
            ibc_trained_clear(t);
            return rc;
        }
        if (cc.meta.every == 0)
            cc.meta.every = saved.every;
        cc.last_step = rs.step;
        o.resume = &rs;
        if (resumed_step)
            *resumed_step = rs.step;
    }
    if (ck && cc.meta.every != 0) {
        o.ckpt_every = cc.meta.every;
        o.ckpt = ckpt_write;
        o.ckpt_ctx = &cc;
    }
    o.method = cfg->method;
    o.lr = cfg->lr;
    o.steps = cfg->steps;
    o.batch = cfg->batch;
    o.seed = cfg->model.seed;
    /* The adaptive integrator runs to a time, not a step count: by default
     * the time the GD run with the same lr and steps reaches. */
    if (cfg->method == IBC_METHOD_ADAPTIVE) {
        o.t_end = t_end > 0 ? t_end : cfg->lr * (double)cfg->steps;
        o.tol = tol;
    }
    o.track_balance = cfg->method == IBC_METHOD_GD;
    progress_ctx pc = {p, pr, ibc_method_name(cfg->method),
                       cfg->method == IBC_METHOD_ADAPTIVE ? 0 : cfg->steps, o.t_end};
    int show = cfg->verbose && isatty(2);
    ibc_recorder_init(&t->rec, t->data, 0);
    trained_obs_ctx oc = {&t->rec, &pc, show};
    o.obs = trained_obs;
    o.obs_ctx = &oc;
    double rec_t[401];
    /* Each record is a full-batch evaluation: at the paper's size (n = 20000,
     * h = 2000, D = 1000) 400 of them cost more than the SGD run itself. */
    long nrec = cfg->records < 0 ? 0 : cfg->records > 400 ? 400 : cfg->records;
    if (cfg->method == IBC_METHOD_ADAPTIVE) {
        for (long i = 0; nrec > 0 && i <= nrec; i++) rec_t[i] = o.t_end * (double)i / (double)nrec;
        o.record_t = nrec > 0 ? rec_t : NULL;
        o.n_record_t = nrec > 0 ? nrec + 1 : 0;
    } else if (nrec > 0) {
        o.record_every = cfg->steps >= nrec ? cfg->steps / nrec : 1;
    }
    double t0 = ibc_util_now();
    rc = ibc_flow_run(t->net, &t->theta, &o, &t->stats, err);
    t->seconds = ibc_util_now() - t0;
    ibc_flow_state_clear(&rs);
    /* The checkpoint writer saves finite states only: say which one is left. */
    if (rc == IBC_ENUMERIC && ck) {
        size_t len = strlen(err);
        if (cc.last_step >= 0)
            snprintf(err + len, IBC_ERRLEN - len, "; checkpoint %.80s (step %ld) kept", ck->path, cc.last_step);
        else
            snprintf(err + len, IBC_ERRLEN - len, "; no checkpoint was written");
    }
    if (show) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    if (rc != IBC_OK) {
        ibc_trained_clear(t);
        return rc;
    }
    return IBC_OK;
}

int ibc_trained_init(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr,
                     double t_end, double tol, char *err)
{
    return trained_run(t, cfg, p, pr, t_end, tol, NULL, NULL, err);
}

int ibc_trained_init_ckpt(ibc_trained *t, const ibc_config *cfg, double p, const ibc_ckpt_opts *ck,
                          long *resumed_step, char *err)
{
    return trained_run(t, cfg, p, cfg->prec, 0, 0, ck, resumed_step, err);
}

/* ---- the cache: a short list, keyed by every parameter training reads ---- */

typedef struct cache_entry {
    ibc_config cfg;
    double p;
    ibc_prec pr;
    ibc_trained t;
    struct cache_entry *next;
} cache_entry;

static cache_entry *cache_head;

static int same_training(const ibc_config *a, double pa, ibc_prec pra,
                         const cache_entry *e)
{
    const ibc_config *b = &e->cfg;
    const ibc_model_params *ma = &a->model, *mb = &b->model;
    return pa == e->p && pra.mode == e->pr.mode && pra.bits == e->pr.bits
        && ma->D == mb->D && ma->K == mb->K && ma->K1 == mb->K1 && ma->alpha == mb->alpha
        && ma->random_centers == mb->random_centers && ma->seed == mb->seed
        && a->n == b->n && a->h == b->h && strcmp(a->eps, b->eps) == 0
        && a->init == b->init && a->loss == b->loss && a->mean == b->mean
        && a->method == b->method && a->lr == b->lr && a->steps == b->steps
        && a->batch == b->batch;
}

const ibc_trained *ibc_train_cached(const ibc_config *cfg, double p, ibc_prec pr, char *err)
{
    for (cache_entry *e = cache_head; e; e = e->next)
        if (same_training(cfg, p, pr, e))
            return &e->t;
    cache_entry *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, IBC_ERRLEN, "out of memory caching a trained network");
        return NULL;
    }
    if (ibc_trained_init(&e->t, cfg, p, pr, 0, 0, err) != IBC_OK) {
        free(e);
        return NULL;
    }
    e->cfg = *cfg;
    e->p = p;
    e->pr = pr;
    e->next = cache_head;
    cache_head = e;
    return &e->t;
}

void ibc_claim_cache_clear(void)
{
    ibc_claim_brackets_clear();   /* they point into the trained networks */
    while (cache_head) {
        cache_entry *e = cache_head;
        cache_head = e->next;
        ibc_trained_clear(&e->t);
        free(e);
    }
}
