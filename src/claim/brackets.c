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

const ibc_claim_bracket_set *ibc_claim_brackets(const ibc_config *cfg, double p, long npts, char *err)
{
    char key[320];
    int n = ibc_config_describe(key, sizeof key, cfg, p);
    snprintf(key + n, sizeof key - (size_t)n, " npts=%ld", npts);
    for (bset_node *b = bset_head; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return &b->set;
    const ibc_trained *t = ibc_claim_trained(cfg, p, cfg->prec, err);
    if (!t)
        return NULL;
    bset_node *node = calloc(1, sizeof *node);
    ibc_data *test = ibc_data_alloc(&cfg->model, npts, 1);
    if (!node || !test) {
        free(node);
        ibc_data_free(test);
        snprintf(err, IBC_ERRLEN, "brackets: cannot draw %ld test points", npts);
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
    int rc = s->f && s->X && s->y && s->z && s->br ? IBC_OK : IBC_EINPUT;
    ibc_pgd_opts o;
    ibc_claim_pgd_opts(&o);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < npts && rc == IBC_OK; i++) {
        for (long d = 0; d < D; d++)
            s->X[i * D + d] = mpfr_get_d(test->X + i * D + d, MPFR_RNDN);
        s->y[i] = test->y[i];
        s->z[i] = test->z[i];
        ibc_bracket_init(&s->br[i], D);
        rc = ibc_bracket_compute(&s->br[i], s->f, s->X + i * D, s->y[i], IBC_CLAIM_TMAX, &o, err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ibc_data_free(test);
    if (rc != IBC_OK) {
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
