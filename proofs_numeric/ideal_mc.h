/* Monte Carlo over the data model for the claims about the ideal classifiers
 * (ideal-generalization, ideal-robust-prob; THEORY §4 T-F, T-Fp): the grid of
 * cells, a seeded sampler of center coordinates, binomial confidence bounds.
 * Lives in claim_ideal_generalization.c. */
#ifndef IBC_IDEAL_MC_H
#define IBC_IDEAL_MC_H
#include <gmp.h>
#include <mpfr.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"

/* The cells: alpha x D, with K, K1 and the seed from the config. */
#define IBC_MC_NA 4
#define IBC_MC_ND 3
#define IBC_MC_SAMPLES 10000
extern const double ibc_mc_alpha[IBC_MC_NA];
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
void ibc_mc_init(ibc_mc_sampler *m, const ibc_config *cfg, double alpha, long D,
                 unsigned long stream);
void ibc_mc_clear(ibc_mc_sampler *m);
/* One sample's center coordinates into c (length K); returns its label y. */
int ibc_mc_draw(ibc_mc_sampler *m, double *c);

/* Is y f(x + delta) <= 0 (delta may be NULL)?  The double margin, or the
 * rnet certificate (Arb) when it is too small to trust its sign; undecided
 * counts as flipped.  Meant for the ideal classifiers in center coordinates
 * (f->D <= IBC_KKT_KMAX takes the fast path). */
int ibc_mc_flipped(const ibc_rnet *f, const double *x, const double *delta, int y);

/* Clopper-Pearson: the upper end of the two-sided 95% interval for the
 * probability of an event seen k times in n trials. */
double ibc_mc_cp_upper(long k, long n);
/* The largest drop of the frequency k[i]/n along i (alpha increasing), in
 * units of the binomial standard error of the difference (each frequency's
 * variance taken at max(k, 1)/n so that zero counts do not give zero error);
 * <= 0 when the frequencies never drop. */
double ibc_mc_worst_drop(const long *k, int m, long n);

#endif
