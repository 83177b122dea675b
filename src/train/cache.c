/* train: the recipe of a training run and the trained networks shared between
 * claims within one process.
 * Several claims read the same trained network (balance and alignment both
 * want p = 3 at the defaults); the cache makes `ibcheck check` train it once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>
#include <cblas.h>
#include "ibcheck/train.h"
#include "ibcheck/netio.h"
#include "ibcheck/util.h"
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
        ibc_prec_vec_get_mpfr(l, loss, 0);
        ibc_prec_fmt_mpfr(lb, l, 4);
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
    ibc_flow_recorder_observe(c->rec, net, theta, t, step, loss);
    return c->show ? progress_obs(c->pc, net, theta, t, step, loss) : 0;
}

void ibc_train_trained_clear(ibc_trained *t)
{
    ibc_flow_recorder_clear(&t->rec);
    ibc_prec_vec_clear(&t->theta);
    ibc_flow_stats_clear(&t->stats);
    if (t->net)
        ibc_net_free(t->net);
    if (t->data)
        ibc_model_data_free(t->data);
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
    int rc = ibc_train_netio_ckpt_save(c->path, c->cfg, c->p, &c->meta, theta, s, err);
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
    int rc = ibc_train_netio_ckpt_load(ck->path, &sc, &sp, meta, &th, rs, err);
    if (rc != IBC_OK)
        return rc;
    if (ibc_train_netio_same_training(cfg, p, &sc, sp, e2) != IBC_OK) {
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
        ibc_prec_vec_set(theta, &th);
    }
    ibc_prec_vec_clear(&th);
    return rc;
}

/* Everything a run starts from: cfg's data, the network and theta at its
 * initialisation (also what a cache file's theta is loaded into). */
static int trained_build(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr, char *err)
{
    memset(t, 0, sizeof *t);
    ibc_flow_stats_init(&t->stats);
    ibc_net_params np = {.p = p, .h = cfg->h, .loss = cfg->loss, .mean = cfg->mean};
    int rc = ibc_train_config_check(cfg, err);
    if (rc == IBC_OK)
        rc = ibc_net_check(&np, err);
    if (rc == IBC_OK)
        rc = ibc_prec_check(pr, "precision", err);
    if (rc != IBC_OK) {
        ibc_train_trained_clear(t);
        return rc;
    }
    /* Lean: the network rounds each row from its stream into its mode
     * (ibc_model_data_round), so no run holds the 256-bit master samples; a
     * double run at the paper's size would need 1.3 GB for them. */
    t->data = ibc_model_data_alloc_lean(&cfg->model, cfg->n, 0);
    if (!t->data) {
        snprintf(err, IBC_ERRLEN, "cannot generate data: D = %ld, K = %ld, K1 = %ld, n = %ld",
                 cfg->model.D, cfg->model.K, cfg->model.K1, cfg->n);
        ibc_train_trained_clear(t);
        return IBC_EINPUT;
    }
    t->net = ibc_net_alloc(t->data, &np, pr);
    if (!t->net) {
        snprintf(err, IBC_ERRLEN, "cannot build the network: p = %g, h = %ld", p, cfg->h);
        ibc_train_trained_clear(t);
        return IBC_EINPUT;
    }
    ibc_prec_vec_init(&t->theta, ibc_net_dim(t->net), pr);
    rc = ibc_net_init_theta(t->net, &t->theta, cfg->init, cfg->eps, cfg->model.seed, err);
    if (rc != IBC_OK) {
        ibc_train_trained_clear(t);
        return rc;
    }
    return IBC_OK;
}

static int trained_run(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr, double t_end, double tol,
                       const ibc_ckpt_opts *ck, long *resumed_step, char *err)
{
    double t_setup = ibc_util_now();
    int rc = trained_build(t, cfg, p, pr, err);
    if (rc != IBC_OK)
        return rc;

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
            ibc_train_trained_clear(t);
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
    progress_ctx pc = {p, pr, ibc_flow_method_name(cfg->method),
                       cfg->method == IBC_METHOD_ADAPTIVE ? 0 : cfg->steps, o.t_end};
    int show = cfg->verbose && isatty(2);
    ibc_flow_recorder_init(&t->rec, t->data, 0);
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
    t->setup_seconds = t0 - t_setup;
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
        ibc_train_trained_clear(t);
        return rc;
    }
    return IBC_OK;
}

int ibc_train_trained_init(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr,
                           double t_end, double tol, char *err)
{
    return trained_run(t, cfg, p, pr, t_end, tol, NULL, NULL, err);
}

int ibc_train_trained_init_ckpt(ibc_trained *t, const ibc_config *cfg, double p, const ibc_ckpt_opts *ck,
                                long *resumed_step, char *err)
{
    return trained_run(t, cfg, p, cfg->prec, 0, 0, ck, resumed_step, err);
}

/* ---- the cache on disk (IBC_CACHE_DIR): trained once per test run ----
 * The claim tests are separate programs that read the same default networks;
 * with IBC_CACHE_DIR set, ibc_train_cached keeps what it trains in that
 * directory and the next program reads it back bit for bit (theta, the run's
 * statistics, its trajectory), so the suite trains each network once (a CTest
 * fixture fills it first).  The file holds its full key, compared on load:
 * any training parameter that differs is a miss, never a wrong network.  The
 * key does not cover the code itself, so the directory belongs to one build:
 * the fixture empties it before filling it.  Arb balls are not kept. */
#define CACHE_FORMAT "ibcheck-trained 1"

/* Every parameter training reads, exactly (doubles as hex floats), and
 * OpenBLAS's thread count: a double run's bits depend on it (blas_threads_of),
 * so a network trained by a program that never called ibc_prec_blas_setup
 * must not be read by one that did. */
void ibc_train_cache_key(char *buf, size_t len, const ibc_config *c, double p, ibc_prec pr)
{
    const ibc_model_params *m = &c->model;
    snprintf(buf, len,
             "%s D=%ld K=%ld K1=%ld alpha=%a random_centers=%d seed=%lu n=%ld h=%ld eps=%s init=%d loss=%d "
             "mean=%d method=%d lr=%a steps=%ld batch=%ld records=%ld p=%a mode=%d bits=%ld blas=%ld",
             CACHE_FORMAT, m->D, m->K, m->K1, m->alpha, m->random_centers, m->seed, c->n, c->h, c->eps,
             (int)c->init, (int)c->loss, c->mean, (int)c->method, c->lr, c->steps, c->batch, c->records, p,
             (int)pr.mode, pr.bits, blas_threads_of(pr));
}

int ibc_train_cache_path(char *buf, size_t len, const char *key, const char *ext)
{
    const char *dir = getenv("IBC_CACHE_DIR");
    if (!dir || !*dir)
        return 0;
    uint64_t hsh = 0xcbf29ce484222325ULL;
    for (const char *q = key; *q; q++) hsh = (hsh ^ (unsigned char)*q) * 0x100000001b3ULL;
    return snprintf(buf, len, "%s/%016llx.%s", dir, (unsigned long long)hsh, ext) < (int)len;
}

typedef struct {
    const char *key;
    const ibc_trained *t;
} disk_ctx;

static int disk_write(FILE *f, void *ctx)
{
    const disk_ctx *c = ctx;
    const ibc_trained *t = c->t;
    const ibc_flow_stats *st = &t->stats;
    const ibc_recorder *r = &t->rec;
    mpfr_t x;
    mpfr_init2(x, t->theta.pr.bits);
    fprintf(f, "%s\nseconds %a\n", c->key, t->seconds);
    fprintf(f, "stats %ld %ld %ld %ld %ld %a %a %ld %ld\n", st->steps, st->rejected, st->events, st->grad_evals,
            st->sliding, st->t, st->h_min, st->kink_step, st->kink_units);
    mpfr_fprintf(f, "balance %ld %Ra %ld %Ra\n", (long)mpfr_get_prec(st->balance_drift), st->balance_drift,
                 (long)mpfr_get_prec(st->balance_scale), st->balance_scale);
    fprintf(f, "theta %ld\n", t->theta.len);
    for (long i = 0; i < t->theta.len; i++) {
        ibc_prec_vec_get_mpfr(x, &t->theta, i);   /* exact: x has theta's precision */
        mpfr_fprintf(f, "%Ra\n", x);
    }
    fprintf(f, "records %ld\n", r->n);
    for (long i = 0; i < r->n; i++) {
        const ibc_record *e = &r->rec[i];
        mpfr_fprintf(f, "%a %ld %a %a %a %a %a %a %a %ld %Ra\n", e->t, e->step, e->loss, e->theta_norm2,
                     e->gamma_bar, e->gamma_tilde, e->max_abs_Q, e->align, e->log2_rad,
                     (long)mpfr_get_prec(e->loss_m), e->loss_m);
    }
    mpfr_clear(x);
    return fputs("end\n", f) < 0;
}

/* One whitespace-separated token of f read into an MPFR value of precision
 * prec, exactly (the file holds it in hex). */
static int read_mpfr(FILE *f, mpfr_ptr x, long prec)
{
    char tok[2048], *end;
    if (prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX || fscanf(f, "%2047s", tok) != 1)
        return -1;
    mpfr_set_prec(x, prec);
    return mpfr_strtofr(x, tok, &end, 0, MPFR_RNDN) != 0 || *end ? -1 : 0;
}

/* Fills t (built by trained_build) from the file; -1 on anything unexpected. */
static int disk_read(FILE *f, const char *key, ibc_trained *t)
{
    char line[1024];
    long len, n, pa, pb;
    ibc_flow_stats *st = &t->stats;
    if (!fgets(line, sizeof line, f) || strcspn(line, "\n") != strlen(key) || strncmp(line, key, strlen(key)))
        return -1;
    if (fscanf(f, " seconds %la stats %ld %ld %ld %ld %ld %la %la %ld %ld balance %ld", &t->seconds, &st->steps,
               &st->rejected, &st->events, &st->grad_evals, &st->sliding, &st->t, &st->h_min, &st->kink_step,
               &st->kink_units, &pa) != 11
        || read_mpfr(f, st->balance_drift, pa) || fscanf(f, "%ld", &pb) != 1 || read_mpfr(f, st->balance_scale, pb)
        || fscanf(f, " theta %ld", &len) != 1 || len != t->theta.len)
        return -1;
    mpfr_t x;
    mpfr_init2(x, t->theta.pr.bits);
    int bad = 0;
    for (long i = 0; i < len && !bad; i++)
        if (!(bad = read_mpfr(f, x, t->theta.pr.bits)))
            ibc_prec_vec_set_mpfr(&t->theta, i, x);
    mpfr_clear(x);
    if (bad || fscanf(f, " records %ld", &n) != 1 || n < 0 || n > 100000)
        return -1;
    ibc_recorder *r = &t->rec;
    r->rec = calloc(n > 0 ? (size_t)n : 1, sizeof *r->rec);
    if (!r->rec)
        return -1;
    r->cap = n > 0 ? n : 1;
    for (long i = 0; i < n; i++) {
        ibc_record *e = &r->rec[i];
        long lp;
        if (fscanf(f, "%la %ld %la %la %la %la %la %la %la %ld", &e->t, &e->step, &e->loss, &e->theta_norm2,
                   &e->gamma_bar, &e->gamma_tilde, &e->max_abs_Q, &e->align, &e->log2_rad, &lp) != 10)
            return -1;
        mpfr_init2(e->loss_m, MPFR_PREC_MIN);
        r->n = i + 1;   /* from here on cleared with the recorder */
        if (read_mpfr(f, e->loss_m, lp))
            return -1;
    }
    return fscanf(f, " end") == 0 && fgetc(f) == '\n' ? 0 : -1;
}

/* Loads cfg's network from the disk cache into t: 1 on a hit, 0 on a miss
 * (no directory, no file, another key or a damaged file: t left empty). */
static int disk_load(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr, const char *key)
{
    char path[4096], err[IBC_ERRLEN];
    if (pr.mode == IBC_ARB || !ibc_train_cache_path(path, sizeof path, key, "trained"))
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = trained_build(t, cfg, p, pr, err) == IBC_OK;
    if (ok) {
        ibc_flow_recorder_init(&t->rec, t->data, 0);
        ok = disk_read(f, key, t) == 0;
        if (!ok)
            ibc_train_trained_clear(t);
    }
    fclose(f);
    return ok;
}

/* Best effort: a cache that cannot be written only costs time. */
static void disk_save(const ibc_trained *t, const char *key)
{
    char path[4096], err[IBC_ERRLEN];
    if (t->theta.pr.mode == IBC_ARB || t->rec.keep_theta || !ibc_train_cache_path(path, sizeof path, key, "trained"))
        return;
    disk_ctx c = {key, t};
    if (ibc_util_write_atomic(path, disk_write, &c, err) != IBC_OK)
        fprintf(stderr, "ibcheck: IBC_CACHE_DIR: %s\n", err);
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
        && a->batch == b->batch && a->records == b->records;
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
    char key[1024];
    ibc_train_cache_key(key, sizeof key, cfg, p, pr);
    if (!disk_load(&e->t, cfg, p, pr, key)) {
        if (ibc_train_trained_init(&e->t, cfg, p, pr, 0, 0, err) != IBC_OK) {
            free(e);
            return NULL;
        }
        disk_save(&e->t, key);
    }
    e->cfg = *cfg;
    e->p = p;
    e->pr = pr;
    e->next = cache_head;
    cache_head = e;
    return &e->t;
}

void ibc_train_cache_clear(void)
{
    while (cache_head) {
        cache_entry *e = cache_head;
        cache_head = e->next;
        ibc_train_trained_clear(&e->t);
        free(e);
    }
}
