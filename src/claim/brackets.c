/* claim: radius brackets at test points of the cached trained networks,
 * shared by trained-radius, robust-accuracy-curve and transfer (each point
 * costs a certificate and several attacks, so `ibcheck check` does it once). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/claim.h"
#include "ibcheck/util.h"
#include "claim/claims.h"
#include "prec/ibc_arb.h"
#include "util/clock.h"

#define RAY_PREC 256        /* the margins of the ray check, one evaluation each */
#define RAY_BISECT 60       /* double bisection of the boundary on [0, 1] */

typedef struct bset_node {
    char key[320];
    ibc_claim_bracket_set set;
    struct bset_node *next;
} bset_node;

static bset_node *bset_head;

void ibc_claim_pgd_opts(ibc_pgd_opts *o)
{
    /* The authors' l2 PGD (step 0.1, exp loss) with fewer steps: the
     * minimal-norm search calls it ~20 times per point, and the structured
     * start already sits near the optimum.  One random restart. */
    ibc_robust_pgd_opts_default(o);
    o->steps = IBC_CLAIM_PGD_STEPS;
    o->restarts = 1;
    o->seed = 0;
}

static void bset_clear(ibc_claim_bracket_set *s)
{
    for (long i = 0; s->br && i < s->npts; i++)
        ibc_robust_bracket_clear(&s->br[i]);
    free(s->br);
    free(s->X);
    free(s->y);
    free(s->z);
    ibc_robust_rnet_free(s->f);
}

/* y f(x + t delta) in Arb: +1 certified > 0, -1 certified <= 0, 0 undecided.
 * Read directly from the margin, not through ibc_robust_rnet_flipped, so that a
 * verifier that decides wrongly is seen. */
static int margin_sign(const ibc_rnet *f, const double *x, const double *d, int y)
{
    arb_t m;
    arb_init(m);
    ibc_robust_rnet_margin_arb(m, f, x, d, y, RAY_PREC);
    int s = arb_is_positive(m) ? 1 : arb_is_nonpositive(m) ? -1 : 0;
    arb_clear(m);
    return s;
}

/* The ray check of point i (see claims.h): the verified flip delta must be a
 * flip, and the boundary t* on its ray must be crossed within REL: just
 * inside it no flip (the verifier must say so, not only the margin), just
 * outside a flip no nearer than the certified radius lo. */
static void ray_check(ibc_claim_bracket_set *s, long i, double *buf)
{
    const ibc_bracket *b = &s->br[i];
    const ibc_rnet *f = s->f;
    const double *x = s->X + i * s->D;
    int y = s->y[i];
    long D = s->D;
    if (b->misclassified || !isfinite(b->hi))
        return;
    s->ray_points++;
    s->ray_flip_bad += margin_sign(f, x, b->delta, y) != -1;
    double lo = 0, hi = 1;
    for (int it = 0; it < RAY_BISECT; it++) {
        double mid = 0.5 * (lo + hi);
        for (long d = 0; d < D; d++)
            buf[d] = x[d] + mid * b->delta[d];
        if (y * ibc_robust_rnet_eval_d(f, buf) <= 0)
            hi = mid;
        else
            lo = mid;
    }
    for (long d = 0; d < D; d++)
        buf[d] = hi * (1 - IBC_CLAIM_RAY_REL) * b->delta[d];
    s->ray_noflip_bad += ibc_robust_rnet_flipped(f, x, buf, y, 128) != 0 || margin_sign(f, x, buf, y) != 1;
    for (long d = 0; d < D; d++)
        buf[d] = hi * (1 + IBC_CLAIM_RAY_REL) * b->delta[d];
    s->ray_beyond_bad += margin_sign(f, x, buf, y) != -1 || ibc_robust_rnet_norm_up(buf, D) < b->lo;
}

/* ---- the brackets on disk (IBC_CACHE_DIR), like the trained networks ----
 * Three claims read the default sets; the claim tests are separate programs,
 * so the CTest fixture computes each set once and they read it back bit for
 * bit.  The file's key is the trained network's (ibc_train_cache_key) plus
 * the point count and the attack and ray settings that shape a bracket. */
#define BSET_FORMAT "ibcheck-brackets 2"   /* 2: double-first flip certificates (rnet.c) */

static void bset_disk_key(char *buf, size_t len, const ibc_config *cfg, double p, long npts)
{
    char tk[1024];
    ibc_train_cache_key(tk, sizeof tk, cfg, p, cfg->prec);
    snprintf(buf, len, "%s npts=%ld pgd=%d tmax=%a ray=%a,%d,%d | %s", BSET_FORMAT, npts, IBC_CLAIM_PGD_STEPS,
             IBC_CLAIM_TMAX, IBC_CLAIM_RAY_REL, RAY_PREC, RAY_BISECT, tk);
}

static void put_row(FILE *f, const double *v, long n)
{
    for (long d = 0; d < n; d++) fprintf(f, d ? " %a" : "%a", v[d]);
    fputc('\n', f);
}

static int get_row(FILE *f, double *v, long n)
{
    for (long d = 0; d < n; d++)
        if (fscanf(f, "%la", &v[d]) != 1) return -1;
    return 0;
}

static int bset_write(FILE *f, void *ctx)
{
    const ibc_claim_bracket_set *s = ((const void **)ctx)[1];
    fprintf(f, "%s\n%ld %ld %ld %ld %ld %ld %ld %a %a\n", (const char *)((const void **)ctx)[0], s->npts, s->D,
            s->inverted, s->ray_points, s->ray_flip_bad, s->ray_noflip_bad, s->ray_beyond_bad, s->worst_gap,
            s->seconds);
    for (long i = 0; i < s->npts; i++) {
        const ibc_bracket *b = &s->br[i];
        fprintf(f, "%d %d %d %a %a %a %a %a\n", s->y[i], s->z[i], b->misclassified, b->lo, b->hi, b->hi_pgd,
                b->hi_struct, b->lo_ibp);
        put_row(f, s->X + i * s->D, s->D);
        put_row(f, b->delta, s->D);
    }
    return fputs("end\n", f) < 0;
}

/* Fills s (its arrays allocated for npts x D) from the file; -1 on anything
 * unexpected, a key that differs included. */
static int bset_read(FILE *f, const char *key, ibc_claim_bracket_set *s)
{
    char line[1400];
    long npts, D;
    if (!fgets(line, sizeof line, f) || strcspn(line, "\n") != strlen(key) || strncmp(line, key, strlen(key)))
        return -1;
    if (fscanf(f, "%ld %ld %ld %ld %ld %ld %ld %la %la", &npts, &D, &s->inverted, &s->ray_points,
               &s->ray_flip_bad, &s->ray_noflip_bad, &s->ray_beyond_bad, &s->worst_gap, &s->seconds) != 9
        || npts != s->npts || D != s->D)
        return -1;
    for (long i = 0; i < npts; i++) {
        ibc_bracket *b = &s->br[i];
        if (fscanf(f, "%d %d %d %la %la %la %la %la", &s->y[i], &s->z[i], &b->misclassified, &b->lo, &b->hi,
                   &b->hi_pgd, &b->hi_struct, &b->lo_ibp) != 8
            || get_row(f, s->X + i * D, D) || get_row(f, b->delta, D))
            return -1;
    }
    return fscanf(f, " end") == 0 && fgetc(f) == '\n' ? 0 : -1;
}

/* 1 when s was read from the disk cache; s->npts, D and the arrays are set. */
static int bset_disk_load(ibc_claim_bracket_set *s, const char *key)
{
    char path[4096];
    if (!ibc_train_cache_path(path, sizeof path, key, "brackets"))
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = bset_read(f, key, s) == 0;
    fclose(f);
    if (!ok) {   /* a damaged file: the counts start again from zero */
        s->inverted = s->ray_points = s->ray_flip_bad = s->ray_noflip_bad = s->ray_beyond_bad = 0;
        s->worst_gap = -INFINITY;
    }
    return ok;
}

/* Best effort, like the trained networks' cache. */
static void bset_disk_save(const ibc_claim_bracket_set *s, const char *key)
{
    char path[4096], err[IBC_ERRLEN];
    const void *ctx[2] = {key, s};
    if (ibc_train_cache_path(path, sizeof path, key, "brackets")
        && ibc_util_write_atomic(path, bset_write, (void *)ctx, err) != IBC_OK)
        fprintf(stderr, "ibcheck: IBC_CACHE_DIR: %s\n", err);
}

const ibc_claim_bracket_set *ibc_claim_brackets(const ibc_config *cfg, double p, long npts, int *status,
                                                char *err)
{
    char key[320];
    int n = ibc_train_config_describe(key, sizeof key, cfg, p);
    snprintf(key + n, sizeof key - (size_t)n, " npts=%ld", npts);
    for (bset_node *b = bset_head; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return &b->set;
    *status = IBC_OK;
    const ibc_trained *t = ibc_train_cached(cfg, p, cfg->prec, err);
    if (!t) {
        *status = IBC_ENUMERIC;
        return NULL;
    }
    bset_node *node = calloc(1, sizeof *node);
    ibc_data *test = ibc_model_data_alloc(&cfg->model, npts, 1);
    if (!node || !test) {
        free(node);
        ibc_model_data_free(test);
        snprintf(err, IBC_ERRLEN, "brackets: cannot draw %ld test points", npts);
        *status = IBC_ENUMERIC;
        return NULL;
    }
    snprintf(node->key, sizeof node->key, "%s", key);
    ibc_claim_bracket_set *s = &node->set;
    long D = cfg->model.D;
    s->p = p;
    s->npts = npts;
    s->D = D;
    s->f = ibc_robust_rnet_from_net(t->net, &t->theta, t->data);
    s->X = malloc(sizeof(double) * (size_t)(npts * D));
    s->y = malloc(sizeof(int) * (size_t)npts);
    s->z = malloc(sizeof(int) * (size_t)npts);
    s->br = calloc((size_t)npts, sizeof(ibc_bracket));
    double *buf = malloc(sizeof(double) * (size_t)D);
    int rc = s->f && s->X && s->y && s->z && s->br && buf ? IBC_OK : IBC_ENUMERIC;
    if (rc != IBC_OK)
        snprintf(err, IBC_ERRLEN, "brackets: out of memory for %ld points, D = %ld", npts, D);
    s->worst_gap = -INFINITY;
    ibc_pgd_opts o;
    ibc_claim_pgd_opts(&o);
    char dkey[1400];
    bset_disk_key(dkey, sizeof dkey, cfg, p, npts);
    for (long i = 0; i < npts && rc == IBC_OK; i++)
        ibc_robust_bracket_init(&s->br[i], D);
    int from_disk = rc == IBC_OK && bset_disk_load(s, dkey);
    double t0 = ibc_util_now();
    for (long i = 0; i < npts && rc == IBC_OK && !from_disk; i++) {
        for (long d = 0; d < D; d++)
            s->X[i * D + d] = mpfr_get_d(test->X + i * D + d, MPFR_RNDN);
        s->y[i] = test->y[i];
        s->z[i] = test->z[i];
        rc = ibc_robust_bracket_compute(&s->br[i], s->f, s->X + i * D, s->y[i], IBC_CLAIM_TMAX, &o, err);
        if (rc == IBC_ENUMERIC && s->br[i].lo > s->br[i].hi) {
            s->inverted++;   /* kept: the claims refute a row on it */
            rc = IBC_OK;
        }
        if (rc == IBC_OK) {
            if (!s->br[i].misclassified)
                s->worst_gap = fmax(s->worst_gap, s->br[i].lo - s->br[i].hi);
            ray_check(s, i, buf);
        }
    }
    free(buf);
    if (!from_disk)
        s->seconds = ibc_util_now() - t0;
    ibc_model_data_free(test);
    if (rc != IBC_OK) {
        *status = rc;
        bset_clear(s);
        free(node);
        return NULL;
    }
    if (!from_disk)
        bset_disk_save(s, dkey);
    node->next = bset_head;
    bset_head = node;
    return s;
}

void ibc_claim_brackets_clear(void)
{
    while (bset_head) {
        bset_node *b = bset_head;
        bset_head = b->next;
        bset_clear(&b->set);
        free(b);
    }
}

void ibc_claim_bracket_rows(ibc_rows *out, const char *claim, const ibc_claim_bracket_set *s,
                            const char *prec, const char *params)
{
    char what[72], m[48], b[64], mg[32];
    long n = 0;
    for (long i = 0; i < s->npts; i++)
        n += !s->br[i].misclassified;
    snprintf(what, sizeof what, "f_%g: certified lower <= verified attack, every point", s->p);
    snprintf(m, sizeof m, "%ld/%ld, max lo-hi %+.1e", n - s->inverted, n, s->worst_gap);
    snprintf(b, sizeof b, "all %ld (both ends certified)", n);
    snprintf(mg, sizeof mg, "%ld", -s->inverted);
    ibc_claim_rows_add(out, claim, what, "Arb (certified)", m, b, mg, s->inverted == 0 ? IBC_HOLDS : IBC_REFUTED,
                       "§7", "%s", params);
    long bad = s->ray_flip_bad + s->ray_noflip_bad + s->ray_beyond_bad;
    snprintf(what, sizeof what, "f_%g: each verified flip: flips; (1 -+ %.0e) t* on its ray", s->p,
             IBC_CLAIM_RAY_REL);
    snprintf(m, sizeof m, "bad %ld / %ld / %ld of %ld", s->ray_flip_bad, s->ray_noflip_bad,
             s->ray_beyond_bad, s->ray_points);
    snprintf(b, sizeof b, "0 bad: flip / no flip inside / flip outside lo");
    snprintf(mg, sizeof mg, "%ld", -bad);
    ibc_claim_rows_add(out, claim, what, prec, m, b, mg, bad == 0 && s->ray_points > 0 ? IBC_HOLDS : IBC_REFUTED,
                       "§7", "%s; t* = boundary of x + t delta by double bisection, both sides certified (Arb)",
                 params);
}

/* The claims' caches, top down: brackets hold pointers into the trained
 * networks, so they go first (the training layer knows nothing of them). */
void ibc_claim_cache_clear(void)
{
    ibc_claim_brackets_clear();
    ibc_train_cache_clear();
}
