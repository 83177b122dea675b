/* Monte Carlo over the data model for the claims about the ideal classifiers
 * (ideal-generalization, ideal-robust-prob; docs/theory.md §4 T-F, T-Fp): a seeded
 * sampler of center coordinates, binomial confidence bounds, and the shape
 * test of an exponential tail bound (ibc_claim_mc_shape_rows).  Lives in
 * ideal_mc.c. */
#ifndef IBC_IDEAL_MC_H
#define IBC_IDEAL_MC_H
#include <gmp.h>
#include <mpfr.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"

/* The shape grid: each statement is sampled at every D of ibc_mc_D and at
 * IBC_MC_NX values of x = D/(alpha^2 K), alpha = sqrt(D/(K x)). */
#define IBC_MC_ND 3
#define IBC_MC_NX 6
extern const long ibc_mc_D[IBC_MC_ND];

/* F, F^(p) and their radii depend on x only through its center coordinates
 * c_k = <x, mu_k>, and for x = mu_z + xi with xi ~ N(0, alpha^2/D I_D) and
 * orthonormal centers these are c_k = [k == z] + N(0, alpha^2/D), i.i.d.,
 * whatever the basis: so c is drawn directly (K normals, not D). */
typedef struct {
    gmp_randstate_t st;
    mpfr_t g;              /* one normal draw, 53 bits */
    long K, K1;
    double s;              /* alpha / sqrt(D) */
} ibc_mc_sampler;

/* Seeded by (cfg->model.seed, stream): bitwise reproducible. */
void ibc_claim_mc_init(ibc_mc_sampler *m, const ibc_config *cfg, double alpha, long D,
                       unsigned long stream);
void ibc_claim_mc_clear(ibc_mc_sampler *m);
/* One sample's center coordinates into c (length K); returns its label y. */
int ibc_claim_mc_draw(ibc_mc_sampler *m, double *c);

/* Is y f(x + delta) <= 0 (delta may be NULL)?  The double margin, or the
 * rnet certificate (Arb) when it is too small to trust its sign; undecided
 * counts as flipped.  Meant for the ideal classifiers in center coordinates
 * (f->D <= IBC_KKT_KMAX takes the fast path). */
int ibc_claim_mc_flipped(const ibc_rnet *f, const double *x, const double *delta, int y);

/* Clopper-Pearson intervals: util/cp.h (ibc_util_cp_lower/upper). */
#include "util/cp.h"
/* The largest drop of the frequency k[i]/n along i (alpha increasing), in
 * units of the binomial standard error of the difference (each frequency's
 * variance taken at max(k, 1)/n so that zero counts do not give zero error);
 * <= 0 when the frequencies never drop. */
double ibc_claim_mc_worst_drop(const long *k, int m, long n);

/* One statement "P(event) <= A exp(-C u)" of T-F / T-Fp, sampled on the
 * shape grid: k[id][ix] events in n draws at D = ibc_mc_D[id] and
 * x = x[ix] (increasing), alpha = sqrt(D/(K x)); u[id][ix] the theorem's
 * exponent variable, written by the claim from (alpha, D, K) as the
 * theorem states it. */
typedef struct {
    const char *claim, *source;
    const char *event;     /* e.g. "F errs" (<= 24 chars) */
    const char *uname;     /* u in words, e.g. "D/(4a^2K)" */
    const char *bound;     /* the theorem's bound, for the parameters column */
    double A;              /* the bound's prefactor: 2 or 2(K+1) */
    const double *x;       /* IBC_MC_NX values */
    long n;
    unsigned long stream;  /* first stream of the statement's cells */
    long k[IBC_MC_ND][IBC_MC_NX];
    double u[IBC_MC_ND][IBC_MC_NX];
} ibc_mc_shape;

/* What a statement counts, for ibc_claim_mc_shape_sample: event returns 1
 * when draw i (center coordinates c, label y) of the cell (alpha, D) is an
 * event, 0 when not, -1 on a numerical failure (after writing err); uvar is
 * the theorem's exponent variable u(alpha, D), written as the theorem
 * states it. */
typedef struct {
    int (*event)(void *ctx, const double *c, int y, double alpha, long D, long i, char *err);
    double (*uvar)(void *ctx, double alpha, long D);
    void *ctx;
} ibc_mc_event;

/* Samples one statement over the shape grid: at each cell (D, x),
 * alpha = sqrt(D/(K x)) and s->n draws from the cell's own stream
 * (s->stream + id IBC_MC_NX + ix); s->k[id][ix] counts the events and
 * s->u[id][ix] = uvar(alpha, D).  IBC_OK, or IBC_ENUMERIC when an event
 * failed (the sampling stops there). */
int ibc_claim_mc_shape_sample(ibc_mc_shape *s, const ibc_config *cfg, const ibc_mc_event *ev, char *err);

/* The rows of one statement: per-D counts (info), the pooled and the tail
 * decay constant (C > 0 at 99.7%), one C across D (the per-D intervals
 * share a value), P non-increasing in u at fixed D, and the largest C of
 * the bound (info: it cannot fail). */
void ibc_claim_mc_shape_rows(const ibc_mc_shape *s, const ibc_config *cfg, ibc_rows *out);

#endif
