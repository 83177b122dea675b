/* repro: the MV24 §5.1 experiment, cell by cell.
 *
 * A cell is (sigma index i, repeat r, p in {1, 3}).  It depends only on the
 * config and those indices (no shared state), so cells can run in any order,
 * on any machine; each finished cell is saved atomically as
 * DIR/cells/s<i>_r<r>_p<p>.json, and a rerun skips the cells already there.
 * DIR/config.json pins the configuration a directory belongs to.
 *
 * Summary files (the figure's inputs, src/report/plot.c):
 *   distance.csv  p,sigma,repeat,dist,c
 *   contrib.csv   p,rank,contribution      (sigma save_model, repeat 0)
 *   cos_p1.csv, cos_p3.csv  neuron,mu+,mu-,mu_1..mu_K  (the same cell)
 *   robust.csv    p,eps,pgd,attack,cert    (sigma save_model, mean over repeats)
 *   results.csv, results.json   every number of every cell
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "ibcheck/claim.h"
#include "ibcheck/netio.h"
#include "ibcheck/report.h"
#include "ibcheck/repro.h"
#include "ibcheck/robust.h"
#include "repro/phase.h"
#include "util/clock.h"

#define REPRO_NCOS 20           /* dominant neurons in the heatmaps */
#define REPRO_DIST_STEPS 100    /* ascent steps per start */
#define REPRO_CKPT_EVERY 2000   /* SGD steps between checkpoints: about a minute at the paper's size */

static const double REPRO_P[2] = {1.0, 3.0};

/* ---- files ------------------------------------------------------------- */

static int mkdir_p(const char *path, char *err)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        snprintf(err, IBC_ERRLEN, "output directory name is too long (%zu bytes; need < %zu)", strlen(path),
                 sizeof buf);
        return IBC_EINPUT;
    }
    strcpy(buf, path);
    for (char *s = buf + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(err, IBC_ERRLEN, "cannot create directory %.200s: %s", buf, strerror(errno));
                return IBC_EIO;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, IBC_ERRLEN, "%.280s is not a directory", path);
        return IBC_EIO;
    }
    return IBC_OK;
}

static int write_text(FILE *out, void *ctx)
{
    return fputs((const char *)ctx, out) < 0;
}

/* (phase.h) */
char *ibc_repro_json_text(const cJSON *o)
{
    char *s = cJSON_Print(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

static int save_json(const char *path, const cJSON *o, char *err)
{
    char *t = ibc_repro_json_text(o);
    if (!t) {
        snprintf(err, IBC_ERRLEN, "%.200s: out of memory formatting JSON", path);
        return IBC_EIO;
    }
    int rc = ibc_util_write_atomic(path, write_text, t, err);
    free(t);
    return rc;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

/* A growing text buffer for the CSV files. */
typedef repro_buf sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || ibc_repro_buf_reserve(b, (size_t)k + 1) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static int sb_save(sbuf *b, const char *dir, const char *name, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = b->oom ? IBC_EIO : ibc_util_write_atomic(path, write_text, b->s ? b->s : (char *)"", err);
    if (b->oom)
        snprintf(err, IBC_ERRLEN, "%.200s: out of memory", path);
    free(b->s);
    memset(b, 0, sizeof *b);
    return rc;
}

/* ---- the configuration a directory belongs to -------------------------- */

static cJSON *config_json(const ibc_repro_config *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "ibcheck-reproduce");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddNumberToObject(o, "D", (double)c->D);
    cJSON_AddNumberToObject(o, "k", (double)c->K);
    cJSON_AddNumberToObject(o, "k1", (double)c->K1);
    cJSON_AddNumberToObject(o, "save_model", (double)c->save_model);
    cJSON_AddNumberToObject(o, "n_train", (double)c->n_train);
    cJSON_AddNumberToObject(o, "n_test", (double)c->n_test);
    cJSON_AddNumberToObject(o, "repeat", (double)c->repeat);
    double sl[3] = {c->sigma_start, c->sigma_stop, (double)c->sigma_count};
    double el[3] = {c->eps_start, c->eps_stop, (double)c->eps_count};
    cJSON_AddItemToObject(o, "sigma_list", cJSON_CreateDoubleArray(sl, 3));
    cJSON_AddItemToObject(o, "epsilon_list", cJSON_CreateDoubleArray(el, 3));
    cJSON_AddNumberToObject(o, "batch_size", (double)c->batch_size);
    cJSON_AddNumberToObject(o, "max_epoch", (double)c->max_epoch);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "hidden_width", (double)c->hidden_width);
    cJSON_AddStringToObject(o, "init_scale", c->init_scale_str);
    cJSON_AddNumberToObject(o, "batch_size_dist", (double)c->batch_size_dist);
    cJSON_AddNumberToObject(o, "batch_num_dist", (double)c->batch_num_dist);
    cJSON_AddNumberToObject(o, "scale", c->scale);
    cJSON_AddNumberToObject(o, "pgd_steps", REPRO_PGD_STEPS);
    cJSON_AddNumberToObject(o, "pgd_step", REPRO_PGD_STEP);
    return o;
}

/* A directory holds one configuration: refuse to mix cells of two. */
static int pin_config(const ibc_repro_config *c, const char *dir, char *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *want = config_json(c);
    char *old = read_file(path);
    int rc = IBC_OK;
    if (old) {
        cJSON *have = cJSON_Parse(old);
        if (!have || !cJSON_Compare(have, want, 1)) {
            snprintf(err, IBC_ERRLEN,
                     "%.160s holds results of another configuration (%s): use another -o DIR, or remove it to start over",
                     dir, have ? "parameters differ" : "config.json unreadable");
            rc = IBC_EINPUT;
        }
        cJSON_Delete(have);
        free(old);
    } else {
        rc = save_json(path, want, err);
    }
    cJSON_Delete(want);
    return rc;
}

/* ---- one cell ----------------------------------------------------------- */

static void cell_path(char *path, size_t n, const char *dir, long i, long r, double p)
{
    snprintf(path, n, "%s/cells/s%ld_r%ld_p%g.json", dir, i, r, p);
}

/* The training configuration of a cell: MV24 §5.1 semantics (gaussian init
 * with std init_scale, mean exp loss, SGD for max_epoch epochs). */
static void cell_config(ibc_config *cfg, const ibc_repro_config *c, long i, long r)
{
    ibc_train_config_default(cfg);
    cfg->model.D = c->D;
    cfg->model.K = c->K;
    cfg->model.K1 = c->K1;
    cfg->model.alpha = ibc_repro_sigma(c, i);
    cfg->model.random_centers = 0;
    cfg->model.seed = (unsigned long)r;   /* a repeat is a new seed for data, init and shuffles */
    cfg->n = c->n_train;
    cfg->h = c->hidden_width;
    snprintf(cfg->eps, sizeof cfg->eps, "%s", c->init_scale_str);
    cfg->init = IBC_INIT_GAUSSIAN;
    cfg->loss = IBC_LOSS_EXP;
    cfg->mean = 1;
    cfg->method = IBC_METHOD_SGD;
    cfg->lr = c->lr;
    cfg->batch = c->batch_size;
    /* The SGD trainer drops an epoch's last partial batch. */
    cfg->steps = c->max_epoch * (c->n_train / c->batch_size);
    cfg->prec = ibc_prec_double();
    cfg->verbose = 0;
    cfg->records = 0;   /* no trajectory: a cell reads only the end */
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* x: scratch of D doubles; each row is generated from its stream, so a lean
 * data set (no master) serves. */
static double accuracy(const ibc_rnet *f, const ibc_data *d, double *x)
{
    long ok = 0;
    for (long i = 0; i < d->n; i++) {
        ibc_model_data_rows_d(d, i, i + 1, x);
        ok += d->y[i] * ibc_robust_rnet_eval_d(f, x) > 0;
    }
    return (double)ok / (double)d->n;
}

/* Cosines of the REPRO_NCOS heaviest neurons with mu+, mu- (normalised class
 * sums) and each mu_k: the heatmaps (c, d). */
static cJSON *cosines_json(const ibc_rnet *f, const double *contrib)
{
    long h = f->h, D = f->D, K = f->K, ncos = h < REPRO_NCOS ? h : REPRO_NCOS;
    long *idx = malloc(sizeof(long) * (size_t)h);
    cJSON *arr = cJSON_CreateArray();
    if (!idx)
        return arr;
    for (long j = 0; j < h; j++)
        idx[j] = j;
    for (long a = 0; a < ncos; a++) {   /* partial selection sort: ncos is small */
        long best = a;
        for (long b = a + 1; b < h; b++)
            if (contrib[idx[b]] > contrib[idx[best]])
                best = b;
        long t = idx[a];
        idx[a] = idx[best];
        idx[best] = t;
    }
    double *row = malloc(sizeof(double) * (size_t)(K + 2));
    for (long a = 0; row && a < ncos; a++) {
        const double *u = f->U + idx[a] * D;
        double sp = 0, sm = 0;
        for (long k = 0; k < K; k++) {
            double ck = 0;
            for (long d = 0; d < D; d++)
                ck += u[d] * f->mu[k * D + d];
            row[2 + k] = ck;
            if (k < f->K1)
                sp += ck;
            else
                sm += ck;
        }
        row[0] = sp / sqrt((double)f->K1);
        row[1] = sm / sqrt((double)(K - f->K1));
        cJSON_AddItemToArray(arr, cJSON_CreateDoubleArray(row, (int)(K + 2)));
    }
    free(row);
    free(idx);
    return arr;
}

/* The cell file supersedes its SGD checkpoint and its robust progress. */
static void remove_resume_points(const char *ckpt)
{
    char prog[4300];
    snprintf(prog, sizeof prog, "%s.robust", ckpt);
    remove(ckpt);
    remove(prog);
}

/* Trains and measures one cell; returns its JSON (NULL + err on failure),
 * which ends with "seconds_train" and "seconds".  A robust cell (sigma
 * save_model) also gets *job, the input of its robust phase (phase.c), whose
 * fields ibc_repro_robust_finish_json adds; other cells are complete (*job NULL). */
static cJSON *cell_run(const ibc_repro_config *c, long i, long r, int ip, const char *ckpt, long ckpt_every,
                       char **job, size_t *jlen, char *err)
{
    *job = NULL;
    *jlen = 0;
    double p = REPRO_P[ip], t0 = ibc_util_now();
    ibc_config cfg;
    cell_config(&cfg, c, i, r);
    ibc_trained t;
    /* A checkpoint left by a killed run of this cell: continue from it,
     * bitwise as if never stopped (ibc_train_trained_init_ckpt checks that it is
     * this cell's training). */
    struct stat st;
    ibc_ckpt_opts ck = {ckpt, ckpt_every, ckpt_every > 0 && stat(ckpt, &st) == 0};
    long resumed = 0;
    if (ibc_train_trained_init_ckpt(&t, &cfg, p, &ck, &resumed, err) != IBC_OK)
        return NULL;
    double t_train = ibc_util_now() - t0;
    cJSON *o = NULL;
    ibc_rnet *f = ibc_robust_rnet_from_net(t.net, &t.theta, t.data);
    ibc_rnet *G = ibc_robust_rnet_ideal(p == 1 ? IBC_IDEAL_F : IBC_IDEAL_FP, c->D, c->K, c->K1, p);
    ibc_data *test = ibc_model_data_alloc_lean(&cfg.model, c->n_test, 1);   /* rows on demand, in double */
    double *x = malloc(sizeof(double) * (size_t)c->D), *contrib = malloc(sizeof(double) * (size_t)c->hidden_width);
    if (!f || !G || !test || !x || !contrib) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory in cell sigma %ld repeat %ld p %g", i, r, p);
        goto done;
    }
    ibc_dist_result dr;
    if (ibc_robust_dist_ideal(&dr, f, G, c->batch_size_dist * c->batch_num_dist, c->batch_num_dist, REPRO_DIST_STEPS,
                              (unsigned long)r, err) != IBC_OK)
        goto done;
    ibc_vec loss;
    ibc_prec_vec_init(&loss, 1, t.theta.pr);
    ibc_net_eval(t.net, &t.theta, NULL, t.net->n, &loss, NULL, NULL);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sigma_index", (double)i);
    cJSON_AddNumberToObject(o, "sigma", cfg.model.alpha);
    cJSON_AddNumberToObject(o, "repeat", (double)r);
    cJSON_AddNumberToObject(o, "seed", (double)cfg.model.seed);
    cJSON_AddNumberToObject(o, "p", p);
    cJSON_AddNumberToObject(o, "dist", dr.dist);
    cJSON_AddNumberToObject(o, "c", dr.c);
    cJSON_AddNumberToObject(o, "dist_ls", dr.dist_ls);
    cJSON_AddNumberToObject(o, "train_loss", ibc_prec_vec_get_d(&loss, 0));
    cJSON_AddNumberToObject(o, "train_acc", accuracy(f, t.data, x));
    cJSON_AddNumberToObject(o, "test_acc", accuracy(f, test, x));
    cJSON_AddNumberToObject(o, "sgd_steps", (double)cfg.steps);
    cJSON_AddNumberToObject(o, "resumed_step", (double)resumed);
    /* Training samples per center: the amplitude learned at mu_k grows with
     * them (data/findings/distance-to-ideal.md). */
    long K = c->K;
    double *cnt = calloc((size_t)K, sizeof(double)), *amp = calloc((size_t)K, sizeof(double));
    if (!cnt || !amp) {
        free(cnt);
        free(amp);
        cJSON_Delete(o);
        o = NULL;
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory");
        goto done;
    }
    for (long s = 0; s < t.data->n; s++)
        if (t.data->z[s] >= 0 && t.data->z[s] < K)
            cnt[t.data->z[s]] += 1;
    cJSON_AddItemToObject(o, "center_count", cJSON_CreateDoubleArray(cnt, (int)K));
    if (p != 1) {
        /* dist(f_p, F^(p)) <= shape + amplitude parts (ibc_robust_dist_split_fp) */
        ibc_dist_split sp;
        if (ibc_robust_dist_split_fp(&sp, amp, f, G, c->batch_size_dist * c->batch_num_dist, c->batch_num_dist,
                                     REPRO_DIST_STEPS, (unsigned long)r, err) != IBC_OK) {
            free(cnt);
            free(amp);
            cJSON_Delete(o);
            o = NULL;
            goto done;
        }
        cJSON_AddNumberToObject(o, "dist_amplitude", sp.spread);
        cJSON_AddNumberToObject(o, "dist_amplitude_ascent", sp.spread_asc);
        cJSON_AddNumberToObject(o, "dist_shape", sp.shape);
        cJSON_AddItemToObject(o, "center_amplitude", cJSON_CreateDoubleArray(amp, (int)K));
    }
    free(cnt);
    free(amp);
    ibc_prec_vec_clear(&loss);
    for (long j = 0; j < f->h; j++)
        contrib[j] = fabs(f->v[j]) * f->wn[j];
    cJSON_AddItemToObject(o, "cosines", cosines_json(f, contrib));
    qsort(contrib, (size_t)f->h, sizeof(double), cmp_desc);
    cJSON_AddItemToObject(o, "contrib", cJSON_CreateDoubleArray(contrib, (int)f->h));
    if (i == c->save_model && ibc_repro_job_make(c, f, test, job, jlen) != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for the robust phase of cell sigma %ld repeat %ld p %g", i,
                 r, p);
        cJSON_Delete(o);
        o = NULL;
        goto done;
    }
    cJSON_AddNumberToObject(o, "seconds_train", t_train);   /* this run's part when resumed */
    cJSON_AddNumberToObject(o, "seconds", ibc_util_now() - t0);
done:
    free(x);
    free(contrib);
    ibc_model_data_free(test);
    ibc_robust_rnet_free(f);
    ibc_robust_rnet_free(G);
    ibc_train_trained_clear(&t);
    return o;
}

/* A saved cell, or NULL when absent; a file that is present but not a cell
 * of this run is an error (atomic writes make a torn file impossible). */
static int cell_load(cJSON **cell, const char *path, long i, long r, double p, char *err)
{
    *cell = NULL;
    char *s = read_file(path);
    if (!s)
        return IBC_OK;
    cJSON *o = cJSON_Parse(s);
    free(s);
    const cJSON *a = o ? cJSON_GetObjectItem(o, "sigma_index") : NULL, *b = o ? cJSON_GetObjectItem(o, "repeat") : NULL;
    const cJSON *q = o ? cJSON_GetObjectItem(o, "p") : NULL, *d = o ? cJSON_GetObjectItem(o, "dist") : NULL;
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !cJSON_IsNumber(q) || !cJSON_IsNumber(d) ||
        a->valuedouble != (double)i || b->valuedouble != (double)r || q->valuedouble != p) {
        cJSON_Delete(o);
        snprintf(err, IBC_ERRLEN, "%.240s is not a result of this cell: remove it to recompute", path);
        return IBC_EINPUT;
    }
    *cell = o;
    return IBC_OK;
}

/* ---- summaries ---------------------------------------------------------- */

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int write_summaries(const ibc_repro_config *c, cJSON **cells, long ncell, const char *dir, char *err)
{
    sbuf dist = {0}, res = {0}, con = {0}, rob = {0}, rci = {0};
    sb_printf(&rci, "p,sigma_index,repeat,eps,points,pgd,pgd_lo,pgd_hi,attack,attack_lo,attack_hi,cert,cert_lo,cert_hi\n");
    sb_printf(&dist, "p,sigma,repeat,dist,c\n");
    sb_printf(&res, "p,sigma_index,sigma,repeat,dist,c,dist_ls,train_loss,train_acc,test_acc,seconds\n");
    sb_printf(&con, "p,rank,contribution\n");
    sb_printf(&rob, "p,eps,pgd,attack,cert\n");
    cJSON *all = cJSON_CreateArray();
    for (long q = 0; q < ncell; q++) {
        const cJSON *o = cells[q];
        if (!o)
            continue;
        cJSON_AddItemToArray(all, cJSON_Duplicate(o, 1));
        /* each robust cell's curves with their 95% Clopper-Pearson intervals */
        const cJSON *ev = cJSON_GetObjectItem(o, "eps");
        static const char *const rk[9] = {"robust_pgd", "robust_pgd_cp_lo", "robust_pgd_cp_hi", "robust_attack",
                                          "robust_attack_cp_lo", "robust_attack_cp_hi", "robust_cert",
                                          "robust_cert_cp_lo", "robust_cert_cp_hi"};
        int ok = cJSON_IsArray(ev);
        for (int w = 0; ok && w < 9; w++)
            ok = cJSON_GetArraySize(cJSON_GetObjectItem(o, rk[w])) == cJSON_GetArraySize(ev);
        for (int e = 0; ok && e < cJSON_GetArraySize(ev); e++) {
            sb_printf(&rci, "%g,%g,%g,%.17g,%g", num(o, "p"), num(o, "sigma_index"), num(o, "repeat"),
                      cJSON_GetArrayItem(ev, e)->valuedouble, num(o, "robust_points"));
            for (int w = 0; w < 9; w++)
                sb_printf(&rci, ",%.6f", cJSON_GetArrayItem(cJSON_GetObjectItem(o, rk[w]), e)->valuedouble);
            sb_printf(&rci, "\n");
        }
        sb_printf(&dist, "%g,%.17g,%g,%.17g,%.17g\n", num(o, "p"), num(o, "sigma"), num(o, "repeat"), num(o, "dist"),
                  num(o, "c"));
        sb_printf(&res, "%g,%g,%.17g,%g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.3f\n", num(o, "p"),
                  num(o, "sigma_index"), num(o, "sigma"), num(o, "repeat"), num(o, "dist"), num(o, "c"),
                  num(o, "dist_ls"), num(o, "train_loss"), num(o, "train_acc"), num(o, "test_acc"),
                  num(o, "seconds"));
    }
    for (int ip = 0; ip < 2; ip++) {
        double p = REPRO_P[ip];
        /* panels b-d: the first repeat at the saved sigma */
        const cJSON *first = NULL;
        double *pgd = calloc((size_t)c->eps_count, sizeof(double)), *att = calloc((size_t)c->eps_count, sizeof(double));
        double *cer = calloc((size_t)c->eps_count, sizeof(double));
        long nrep = 0;
        for (long q = 0; q < ncell; q++) {
            const cJSON *o = cells[q];
            if (!o || num(o, "p") != p || num(o, "sigma_index") != (double)c->save_model)
                continue;
            if (!first || num(o, "repeat") < num(first, "repeat"))
                first = o;
            const cJSON *a = cJSON_GetObjectItem(o, "robust_pgd"), *b = cJSON_GetObjectItem(o, "robust_attack");
            const cJSON *e = cJSON_GetObjectItem(o, "robust_cert");
            if (!pgd || !att || !cer || cJSON_GetArraySize(a) != c->eps_count)
                continue;
            for (long k = 0; k < c->eps_count; k++) {
                pgd[k] += cJSON_GetArrayItem(a, (int)k)->valuedouble;
                att[k] += cJSON_GetArrayItem(b, (int)k)->valuedouble;
                cer[k] += cJSON_GetArrayItem(e, (int)k)->valuedouble;
            }
            nrep++;
        }
        for (long k = 0; nrep > 0 && k < c->eps_count; k++)
            sb_printf(&rob, "%g,%.17g,%.6f,%.6f,%.6f\n", p, ibc_repro_eps(c, k), pgd[k] / (double)nrep,
                      att[k] / (double)nrep, cer[k] / (double)nrep);
        free(pgd);
        free(att);
        free(cer);
        sbuf cos = {0};
        sb_printf(&cos, "neuron,mu+,mu-");
        for (long k = 1; k <= c->K; k++)
            sb_printf(&cos, ",mu_%ld", k);
        sb_printf(&cos, "\n");
        if (first) {
            const cJSON *ct = cJSON_GetObjectItem(first, "contrib"), *cs = cJSON_GetObjectItem(first, "cosines");
            for (int k = 0; k < cJSON_GetArraySize(ct); k++)
                sb_printf(&con, "%g,%d,%.17g\n", p, k + 1, cJSON_GetArrayItem(ct, k)->valuedouble);
            for (int j = 0; j < cJSON_GetArraySize(cs); j++) {
                const cJSON *row = cJSON_GetArrayItem(cs, j);
                sb_printf(&cos, "%d", j + 1);
                for (int k = 0; k < cJSON_GetArraySize(row); k++)
                    sb_printf(&cos, ",%.6f", cJSON_GetArrayItem(row, k)->valuedouble);
                sb_printf(&cos, "\n");
            }
        }
        int rc = sb_save(&cos, dir, p == 1 ? "cos_p1.csv" : "cos_p3.csv", err);
        if (rc != IBC_OK) {
            free(dist.s);
            free(res.s);
            free(con.s);
            free(rob.s);
            free(rci.s);
            cJSON_Delete(all);
            return rc;
        }
    }
    int rc = sb_save(&dist, dir, "distance.csv", err);
    if (rc == IBC_OK)
        rc = sb_save(&res, dir, "results.csv", err);
    else
        free(res.s);
    if (rc == IBC_OK)
        rc = sb_save(&con, dir, "contrib.csv", err);
    else
        free(con.s);
    if (rc == IBC_OK)
        rc = sb_save(&rob, dir, "robust.csv", err);
    else
        free(rob.s);
    if (rc == IBC_OK)
        rc = sb_save(&rci, dir, "robust_ci.csv", err);
    else
        free(rci.s);
    if (rc == IBC_OK) {
        cJSON *top = cJSON_CreateObject();
        cJSON_AddItemToObject(top, "config", config_json(c));
        cJSON_AddItemToObject(top, "cells", all);
        all = NULL;
        char path[4200];
        snprintf(path, sizeof path, "%s/results.json", dir);
        rc = save_json(path, top, err);
        cJSON_Delete(top);
    }
    cJSON_Delete(all);
    return rc;
}

/* ---- the driver --------------------------------------------------------- */

void ibc_repro_opts_default(ibc_repro_opts *o)
{
    o->sigma_index = -1;
    o->repeat_index = -1;
    o->p = 0;
    o->ckpt_every = REPRO_CKPT_EVERY;
}

int ibc_repro_opts_check(const ibc_repro_opts *o, const ibc_repro_config *c, char *err)
{
    if (o->sigma_index < -1 || o->sigma_index >= c->sigma_count) {
        snprintf(err, IBC_ERRLEN, "--sigma-index = %ld is out of range: need 0 <= I < %ld (the sigma_list count)",
                 o->sigma_index, c->sigma_count);
        return IBC_EINPUT;
    }
    if (o->repeat_index < -1 || o->repeat_index >= c->repeat) {
        snprintf(err, IBC_ERRLEN, "--repeat-index = %ld is out of range: need 0 <= R < %ld (the repeat count)",
                 o->repeat_index, c->repeat);
        return IBC_EINPUT;
    }
    if (!(o->p == 0 || o->p == 1 || o->p == 3)) {
        snprintf(err, IBC_ERRLEN, "--p = %g is out of range: need 1 or 3", o->p);
        return IBC_EINPUT;
    }
    if (o->ckpt_every < 0) {
        snprintf(err, IBC_ERRLEN, "--checkpoint-every = %ld is out of range: need N >= 0 (0: no checkpoints)",
                 o->ckpt_every);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

/* What every run does before its first cell: the checks (every cell trains
 * at the same size: checked, memory included, before anything is written),
 * DIR/cells, the stale temporaries, DIR/config.json. */
static int prepare_dir(const ibc_repro_config *c, const ibc_repro_opts *o, const char *dir, char *err)
{
    int rc = ibc_repro_config_check(c, err);
    if (rc == IBC_OK)
        rc = ibc_repro_opts_check(o, c, err);
    if (rc != IBC_OK)
        return rc;
    ibc_config cell;
    cell_config(&cell, c, 0, 0);
    char cerr[IBC_ERRLEN];
    if (ibc_train_config_check(&cell, cerr) != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "reproduce: %.300s", cerr);
        return IBC_EINPUT;
    }
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/cells", dir);
    if ((rc = mkdir_p(sub, err)) != IBC_OK)
        return rc;
    /* A run killed mid-write leaves NAME.tmp.<pid>.XXXXXX behind (cell files,
     * checkpoints, summaries): the directory is ours, so every such file of
     * a dead pid goes, with one line (issue 16, item 4). */
    long stale = ibc_util_stale_clean_dir(dir) + ibc_util_stale_clean_dir(sub);
    if (stale > 0)
        fprintf(stderr, "ibcheck: removed %ld stale temporar%s in %s left by a killed run\n", stale,
                stale == 1 ? "y" : "ies", dir);
    return pin_config(c, dir, err);
}

/* Cell q of the serial order: q = (i repeat + r) 2 + ip. */
static void cell_index(const ibc_repro_config *c, long q, long *i, long *r, int *ip)
{
    *ip = (int)(q % 2);
    *r = (q / 2) % c->repeat;
    *i = q / 2 / c->repeat;
}

static int cell_selected(const ibc_repro_opts *o, long i, long r, int ip)
{
    return !((o->sigma_index >= 0 && i != o->sigma_index) || (o->repeat_index >= 0 && r != o->repeat_index) ||
             (o->p != 0 && REPRO_P[ip] != o->p));
}

int ibc_repro_run(const ibc_repro_config *c, const ibc_repro_opts *o, const char *dir, int verbose, char *err)
{
    int rc = prepare_dir(c, o, dir, err);
    if (rc != IBC_OK)
        return rc;
    long ncell = c->sigma_count * c->repeat * 2, done = 0, computed = 0;
    cJSON **cells = calloc((size_t)ncell, sizeof(cJSON *));
    if (!cells) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for %ld cells", ncell);
        return IBC_EIO;
    }
    double t0 = ibc_util_now();
    for (long i = 0; i < c->sigma_count && rc == IBC_OK; i++)
        for (long r = 0; r < c->repeat && rc == IBC_OK; r++)
            for (int ip = 0; ip < 2 && rc == IBC_OK; ip++) {
                long q = (i * c->repeat + r) * 2 + ip;
                char path[4300];
                cell_path(path, sizeof path, dir, i, r, REPRO_P[ip]);
                if ((rc = cell_load(&cells[q], path, i, r, REPRO_P[ip], err)) != IBC_OK)
                    break;
                if (cells[q]) {
                    done++;
                    continue;
                }
                if (!c->run)
                    continue;   /* train.run: False draws what is there */
                if (!cell_selected(o, i, r, ip))
                    continue;   /* not selected: summaries use what is saved */
                char ck[4300];
                cJSON *saved = NULL;
                snprintf(ck, sizeof ck, "%.*s.ckpt", (int)(strlen(path) - 5), path);
                if (verbose)
                    fprintf(stderr, "ibcheck: reproduce: cell %ld/%ld (sigma %.4g, repeat %ld, p %g) ...\n",
                            done + computed + 1, ncell, ibc_repro_sigma(c, i), r, REPRO_P[ip]);
                char *job;
                size_t jlen;
                cells[q] = cell_run(c, i, r, ip, ck, o->ckpt_every, &job, &jlen, err);
                if (!cells[q]) {
                    rc = err[0] ? IBC_ENUMERIC : IBC_EIO;
                    break;
                }
                if (job) {   /* the robust phase: the pieces of the MPI run, here in turn */
                    char prog[4400];
                    snprintf(prog, sizeof prog, "%s.robust", ck);
                    ibc_repro_robust *R = ibc_repro_robust_alloc(job, jlen, o->ckpt_every > 0 ? prog : NULL, err);
                    free(job);
                    rc = R ? ibc_repro_robust_serial(R, err) : IBC_EIO;
                    if (rc == IBC_OK)
                        rc = ibc_repro_robust_finish_json(R, cells[q], err);
                    ibc_repro_robust_free(R);
                    if (rc != IBC_OK)
                        break;
                }
                rc = save_json(path, cells[q], err);
                if (rc == IBC_OK)
                    remove_resume_points(ck);
                /* The summaries read every cell as a rerun reads it, from its
                 * saved text: cJSON prints a double with 15 digits when that
                 * is within an ulp, so the text can differ from the computed
                 * value in the last bit, and a fresh, a resumed and an MPI run
                 * must write the same summaries (issue 14). */
                if (rc == IBC_OK && (rc = cell_load(&saved, path, i, r, REPRO_P[ip], err)) == IBC_OK && saved) {
                    cJSON_Delete(cells[q]);
                    cells[q] = saved;
                }
                computed++;
                if (verbose && rc == IBC_OK)
                    fprintf(stderr, "ibcheck: reproduce: cell done in %.1f s: dist %.4g, test accuracy %.4f\n",
                            num(cells[q], "seconds"), num(cells[q], "dist"), num(cells[q], "test_acc"));
            }
    if (rc == IBC_OK && done + computed == 0) {
        snprintf(err, IBC_ERRLEN, "reproduce: train.run is False and %.200s holds no finished cell: nothing to draw", dir);
        rc = IBC_EINPUT;
    }
    if (rc == IBC_OK)
        rc = write_summaries(c, cells, ncell, dir, err);
    if (rc == IBC_OK && verbose)
        fprintf(stderr, "ibcheck: reproduce: %ld cells computed, %ld reused, %.1f s\n", computed, done, ibc_util_now() - t0);
    for (long q = 0; q < ncell; q++)
        cJSON_Delete(cells[q]);
    free(cells);
    return rc;
}

/* ---- cell by cell, for a scheduler (the MPI farm of the CLI) ------------ */

long ibc_repro_ncells(const ibc_repro_config *c)
{
    return c->sigma_count * c->repeat * 2;
}

void ibc_repro_cell_name(const ibc_repro_config *c, long q, char *buf, size_t n)
{
    long i, r;
    int ip;
    cell_index(c, q, &i, &r, &ip);
    snprintf(buf, n, "s%ld_r%ld_p%g", i, r, REPRO_P[ip]);
}

int ibc_repro_prepare(const ibc_repro_config *c, const ibc_repro_opts *o, const char *dir, long *todo, long *ntodo,
                      long *nsaved, char *err)
{
    *ntodo = *nsaved = 0;
    int rc = prepare_dir(c, o, dir, err);
    long ncell = ibc_repro_ncells(c);
    /* Largest first: the robust cells (sigma save_model) cost the most, and
     * p = 3 more than p = 1 (the distance split); a long cell started last
     * would leave every other rank idle at the end. */
    for (int pass = 0; pass < 4 && rc == IBC_OK; pass++)
        for (long q = 0; q < ncell && rc == IBC_OK; q++) {
            long i, r;
            int ip;
            cell_index(c, q, &i, &r, &ip);
            if ((i == c->save_model) != (pass < 2) || ip != (pass % 2 == 0 ? 1 : 0))
                continue;
            char path[4300];
            cJSON *saved;
            cell_path(path, sizeof path, dir, i, r, REPRO_P[ip]);
            if ((rc = cell_load(&saved, path, i, r, REPRO_P[ip], err)) != IBC_OK)
                break;
            if (saved)
                ++*nsaved;
            else if (c->run && cell_selected(o, i, r, ip))
                todo[(*ntodo)++] = q;
            cJSON_Delete(saved);
        }
    return rc;
}

int ibc_repro_cell_compute(const ibc_repro_config *c, long q, const char *dir, long ckpt_every, char **text,
                           char **job, size_t *jlen, char *err)
{
    long i, r;
    int ip;
    cell_index(c, q, &i, &r, &ip);
    *text = NULL;
    err[0] = '\0';
    /* The checkpoint goes beside the cell file when this machine can write
     * DIR/cells (a shared file system, or a local copy); else none. */
    char path[4300], ck[4300], sub[4200], merr[IBC_ERRLEN];
    snprintf(sub, sizeof sub, "%s/cells", dir);
    if (ckpt_every > 0 && mkdir_p(sub, merr) != IBC_OK)
        ckpt_every = 0;
    cell_path(path, sizeof path, dir, i, r, REPRO_P[ip]);
    snprintf(ck, sizeof ck, "%.*s.ckpt", (int)(strlen(path) - 5), path);
    cJSON *o = cell_run(c, i, r, ip, ck, ckpt_every, job, jlen, err);
    if (!o)
        return err[0] ? IBC_ENUMERIC : IBC_EIO;
    *text = ibc_repro_json_text(o);
    cJSON_Delete(o);
    if (!*text) {
        free(*job);
        *job = NULL;
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory formatting cell %ld", q);
        return IBC_EIO;
    }
    return IBC_OK;
}

int ibc_repro_cell_save(const ibc_repro_config *c, long q, const char *dir, const char *text, double *dist,
                        double *test_acc, double *seconds, char *err)
{
    long i, r;
    int ip;
    cell_index(c, q, &i, &r, &ip);
    char path[4300], ck[4300];
    cell_path(path, sizeof path, dir, i, r, REPRO_P[ip]);
    /* The text came over the network: it must be this cell's. */
    cJSON *o = cJSON_Parse(text);
    const cJSON *a = o ? cJSON_GetObjectItem(o, "sigma_index") : NULL, *b = o ? cJSON_GetObjectItem(o, "repeat") : NULL;
    const cJSON *pp = o ? cJSON_GetObjectItem(o, "p") : NULL;
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !cJSON_IsNumber(pp) || a->valuedouble != (double)i ||
        b->valuedouble != (double)r || pp->valuedouble != REPRO_P[ip]) {
        cJSON_Delete(o);
        snprintf(err, IBC_ERRLEN, "reproduce: the result received for cell s%ld_r%ld_p%g is not that cell's", i, r,
                 REPRO_P[ip]);
        return IBC_EIO;
    }
    *dist = num(o, "dist");
    *test_acc = num(o, "test_acc");
    *seconds = num(o, "seconds");
    cJSON_Delete(o);
    int rc = ibc_util_write_atomic(path, write_text, (void *)text, err);
    snprintf(ck, sizeof ck, "%.*s.ckpt", (int)(strlen(path) - 5), path);
    if (rc == IBC_OK)
        remove_resume_points(ck);
    return rc;
}
