/* claim: radius brackets at test points of the cached trained networks,
 * shared by trained-radius, robust-accuracy-curve and transfer (each point
 * costs a certificate and several attacks, so `ibcheck check` does it once). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/claim.h"
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
    ibc_pgd_opts_default(o);
    o->steps = IBC_CLAIM_PGD_STEPS;
    o->restarts = 1;
    o->seed = 0;
}

static void bset_clear(ibc_claim_bracket_set *s)
{
    for (long i = 0; s->br && i < s->npts; i++)
        ibc_bracket_clear(&s->br[i]);
    free(s->br);
    free(s->X);
    free(s->y);
    free(s->z);
    ibc_rnet_free(s->f);
}

/* y f(x + t delta) in Arb: +1 certified > 0, -1 certified <= 0, 0 undecided.
 * Read directly from the margin, not through ibc_rnet_flipped, so that a
 * verifier that decides wrongly is seen. */
static int margin_sign(const ibc_rnet *f, const double *x, const double *d, int y)
{
    arb_t m;
    arb_init(m);
    ibc_rnet_margin_arb(m, f, x, d, y, RAY_PREC);
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
        if (y * ibc_rnet_eval_d(f, buf) <= 0)
            hi = mid;
        else
            lo = mid;
    }
    for (long d = 0; d < D; d++)
        buf[d] = hi * (1 - IBC_CLAIM_RAY_REL) * b->delta[d];
    s->ray_noflip_bad += ibc_rnet_flipped(f, x, buf, y, 128) != 0 || margin_sign(f, x, buf, y) != 1;
    for (long d = 0; d < D; d++)
        buf[d] = hi * (1 + IBC_CLAIM_RAY_REL) * b->delta[d];
    s->ray_beyond_bad += margin_sign(f, x, buf, y) != -1 || ibc_rnet_norm_up(buf, D) < b->lo;
}

const ibc_claim_bracket_set *ibc_claim_brackets(const ibc_config *cfg, double p, long npts, int *status,
                                                char *err)
{
    char key[320];
    int n = ibc_config_describe(key, sizeof key, cfg, p);
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
    ibc_data *test = ibc_data_alloc(&cfg->model, npts, 1);
    if (!node || !test) {
        free(node);
        ibc_data_free(test);
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
    s->f = ibc_rnet_from_net(t->net, &t->theta, t->data);
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
    double t0 = ibc_util_now();
    for (long i = 0; i < npts && rc == IBC_OK; i++) {
        for (long d = 0; d < D; d++)
            s->X[i * D + d] = mpfr_get_d(test->X + i * D + d, MPFR_RNDN);
        s->y[i] = test->y[i];
        s->z[i] = test->z[i];
        ibc_bracket_init(&s->br[i], D);
        rc = ibc_bracket_compute(&s->br[i], s->f, s->X + i * D, s->y[i], IBC_CLAIM_TMAX, &o, err);
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
    s->seconds = ibc_util_now() - t0;
    ibc_data_free(test);
    if (rc != IBC_OK) {
        *status = rc;
        bset_clear(s);
        free(node);
        return NULL;
    }
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
    ibc_rows_add(out, claim, what, "Arb (certified)", m, b, mg, s->inverted == 0 ? IBC_HOLDS : IBC_REFUTED,
                 "§7", "%s", params);
    long bad = s->ray_flip_bad + s->ray_noflip_bad + s->ray_beyond_bad;
    snprintf(what, sizeof what, "f_%g: each verified flip: flips; (1 -+ %.0e) t* on its ray", s->p,
             IBC_CLAIM_RAY_REL);
    snprintf(m, sizeof m, "bad %ld / %ld / %ld of %ld", s->ray_flip_bad, s->ray_noflip_bad,
             s->ray_beyond_bad, s->ray_points);
    snprintf(b, sizeof b, "0 bad: flip / no flip inside / flip outside lo");
    snprintf(mg, sizeof mg, "%ld", -bad);
    ibc_rows_add(out, claim, what, prec, m, b, mg, bad == 0 && s->ray_points > 0 ? IBC_HOLDS : IBC_REFUTED,
                 "§7", "%s; t* = boundary of x + t delta by double bisection, both sides certified (Arb)",
                 params);
}
