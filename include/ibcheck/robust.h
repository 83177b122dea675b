/* robust: l2 robustness of trained networks and of the ideal classifiers
 * (docs/theory.md §4, §7).  Every radius is a bracket: a certified lower bound (Arb,
 * rounding cannot fool it) <= the true radius <= an attack's upper bound (a
 * perturbation whose flip is re-verified in ball arithmetic).
 *
 * One representation serves every classifier: F, F^(p) and trained networks
 * are all pReLU networks f(x) = sum_j v_j ||w_j|| sigma(<x, w_j/||w_j||>)^p
 * (F: neurons mu+ and mu-, p = 1; F^(p): neurons mu_k with v = +-1).  Points
 * and perturbations are double arrays of length D; the statements are about
 * those exact doubles and the network's exact double weights. */
#ifndef IBCHECK_ROBUST_H
#define IBCHECK_ROBUST_H
#include "ibcheck/ideal.h"
#include "ibcheck/net.h"
#include "ibcheck/model.h"

/* ---------------------------------------------------------------------------
 * The classifier (src/robust/rnet.c)
 * ------------------------------------------------------------------------- */

typedef struct {
    long h, D;
    double p;            /* exponent >= 1 */
    long pint;           /* p when integer, else 0 */
    double *W;           /* h x D row-major, exact copies of the weights */
    double *v;           /* h output weights */
    double *wn;          /* h norms ||w_j|| (rounded; for double-speed attacks only) */
    double *U;           /* h x D unit directions w_j/||w_j|| (rounded; attacks only) */
    /* The centers the structured attack and the certifier's basis use
     * (K x D, row-major); K = 0 when unknown. */
    long K, K1;
    double *mu;
    char name[48];       /* "F", "F^(3)", "f_3 (trained)", for rows */
} ibc_rnet;

/* From a trained network: theta in any mode, rounded to double when it is
 * MPFR (then every statement is about the rounded network: the name says so).
 * mu (K x D centers rounded to double) are copied from data.  NULL on failure. */
ibc_rnet *ibc_robust_rnet_from_net(const ibc_net *net, const ibc_vec *theta, const ibc_data *data);
/* The ideal classifiers as networks: F (two neurons mu+-, p = 1) or F^(p)
 * (K neurons mu_k, v = +1 on K+, -1 on K-), with centers e_k in R^D. */
ibc_rnet *ibc_robust_rnet_ideal(ibc_ideal_kind kind, long D, long K, long K1, double p);
void ibc_robust_rnet_free(ibc_rnet *f);

/* sigma(z)^p in double (attacks only). */
double ibc_robust_rnet_sigma_pow_d(const ibc_rnet *f, double z);
/* f(x) in double (fast; attacks only). */
double ibc_robust_rnet_eval_d(const ibc_rnet *f, const double *x);
/* f(x) and grad_x f(x) (length D) in double. */
double ibc_robust_rnet_grad_d(const ibc_rnet *f, const double *x, double *grad);
/* The same in two halves, so that a search pays for the gradient only where
 * it needs it: f(x), with each neuron's gradient coefficient in coef
 * (length h); then grad = sum_j coef_j u_j.  Bitwise ibc_robust_rnet_grad_d. */
double ibc_robust_rnet_forward_d(const ibc_rnet *f, const double *x, double *coef);
void ibc_robust_rnet_backward_d(const ibc_rnet *f, const double *coef, double *grad);
/* The part of forward_d after the product: coef holds z_j = <x, u_j> on
 * entry and the gradient coefficients on return; returns f.  For searches
 * that form z themselves (the structured attack's subspace). */
double ibc_robust_rnet_units_d(const ibc_rnet *f, double *coef);
/* Certified y f(x + delta) in Arb at prec bits (delta may be NULL): the sum
 * x + delta is formed exactly in balls, the weights are exact. */
void ibc_robust_rnet_margin_arb(arb_t res, const ibc_rnet *f, const double *x, const double *delta,
                                int y, slong prec);
/* Rigorous enclosure [lo, hi] of y f(x + delta) in double, each operation
 * rounded outward (integer p only): returns 1, or 0 when it cannot (then
 * lo = -inf, hi = +inf).  x + delta is the exact real sum, as in Arb. */
int ibc_robust_rnet_margin_enclose_d(const ibc_rnet *f, const double *x, const double *delta, int y, double *lo,
                                     double *hi);
/* The same at about a tenth of the cost (one BLAS product and the a-priori
 * error bound of any order of summation), ~1e-13 of the terms wide instead
 * of ~1e-16: it settles a sign that is not that close to 0. */
int ibc_robust_rnet_margin_enclose_fast_d(const ibc_rnet *f, const double *x, const double *delta, int y,
                                          double *lo, double *hi);
/* Rigorous enclosures zl_j <= <x, w_j> / ||w_j|| <= zu_j for every neuron
 * (one double product, error bounded a priori), given enclosures
 * nl_j <= ||w_j|| <= nh_j; a neuron with nl_j = 0 gets [-inf, +inf]. */
void ibc_robust_rnet_proj_enclose(const ibc_rnet *f, const double *x, const double *nl, const double *nh, double *zl,
                                  double *zu);
/* Is x + delta flipped?  1: y f(x + delta) <= 0 certified; 0: y f > 0
 * certified; -1: undecided at prec bits (raised internally up to 4*prec). */
int ibc_robust_rnet_flipped(const ibc_rnet *f, const double *x, const double *delta, int y, slong prec);
/* Guaranteed upper bound on ||delta|| (rounded up, exact arithmetic in Arb). */
double ibc_robust_rnet_norm_up(const double *delta, long D);

/* ---------------------------------------------------------------------------
 * Attacks: upper bounds (src/robust/attack.c)
 * ------------------------------------------------------------------------- */

typedef enum { IBC_NORM_L2 = 0, IBC_NORM_LINF = 1 } ibc_norm;

typedef struct {
    ibc_norm norm;
    long steps;          /* authors: 2000 */
    double step;         /* authors: 0.1 (times eps for linf) */
    long restarts;       /* random starts besides delta = 0 */
    unsigned long seed;
} ibc_pgd_opts;

void ibc_robust_pgd_opts_default(ibc_pgd_opts *o);   /* l2, 2000 steps, step 0.1, 0 restarts */

/* ibc_robust_attack_pgd (l2, from 0, no restarts) on B points at once, the
 * products as GEMMs (src/robust/attack_batch.c): X and delta are B x D
 * row-major; delta gets each point's best perturbation, flipped[b] = 1 when
 * its flip is certified.  IBC_OK, or IBC_ENUMERIC when out of memory. */
int ibc_robust_attack_pgd_batch(int *flipped, double *delta, const ibc_rnet *f, const double *X, const int *y, long B,
                                double eps, const ibc_pgd_opts *o, char *err);
/* PGD on the exp loss exp(-y f(x + delta)) over ||delta|| <= eps (l2 or
 * linf): delta gets the best perturbation found; returns 1 when its flip is
 * certified (ibc_robust_rnet_flipped), 0 otherwise. */
int ibc_robust_attack_pgd(double *delta, const ibc_rnet *f, const double *x, int y, double eps,
                          const ibc_pgd_opts *o);
/* Structured attack (needs f->K > 0): rays toward the midpoints
 * (mu_k + mu_l)/2 and along (mu_l - mu_k)/sqrt2 for every k of class y and
 * l of the other class, each with a bisected flip radius and a local
 * refinement on the sphere.  delta gets the smallest certified flip; returns
 * its norm bound (+inf when none flips within tmax).  The rays are scanned to
 * max(tmax, 2) whatever tmax, so a smaller budget finds every flip within it
 * that the scan to 2 finds. */
double ibc_robust_attack_structured(double *delta, const ibc_rnet *f, const double *x, int y, double tmax);
/* Minimal-norm search on the radius, below the best of the structured attack
 * and PGD at tmax: trial radii just under the best flip (the gap widened 4x
 * while they still flip), then bisection; at each radius PGD runs from the
 * structured delta and the best so far (rescaled), from zero and from random
 * starts.  Stops after 25 trials or when the gap is <= 1e-4 of the radius.
 * Returns the smallest certified flip norm found (+inf if none within tmax). */
double ibc_robust_attack_minnorm(double *delta, const ibc_rnet *f, const double *x, int y, double tmax,
                                 const ibc_pgd_opts *o);
/* Minimal-norm search with PGD alone (no structured start): what a plain
 * PGD user would report.  Exposes gradient masking for p > 1. */
double ibc_robust_attack_minnorm_pgd(double *delta, const ibc_rnet *f, const double *x, int y,
                                     double tmax, const ibc_pgd_opts *o);

/* ---------------------------------------------------------------------------
 * Certified lower bounds (src/robust/certify.c)
 * ------------------------------------------------------------------------- */

typedef struct {
    double lo;           /* certified: y f(x + delta) > 0 whenever ||delta|| <= lo */
    double lo_ibp;       /* the same by plain interval bound propagation */
    long nbasis;         /* directions the separable bound used */
    double max_slack;    /* largest per-neuron residual ||w_j^ - c_j q_k|| */
    int misclassified;   /* y f(x) <= 0 (certified or undecided): lo = 0 */
} ibc_cert_result;

/* Largest certified radius up to rmax, for x of class y:
 *  - IBP: every projection <x + delta, w_j^> within r of its centre;
 *  - separable: project delta on an orthonormal basis q_1..q_m (the centers
 *    when known, else cluster directions of the neurons), bound each neuron
 *    by its basis coordinate plus r * residual, and minimise the resulting
 *    separable lower bound over the ball by a rigorous budget DP.
 * Every bound rigorous (Arb balls or outward-rounded double); lo = max of
 * the two. */
int ibc_robust_certify_radius(ibc_cert_result *res, const ibc_rnet *f, const double *x, int y,
                              double rmax, char *err);
/* The same in two parts: what depends on the network alone (the active
 * neurons, their norms and both bases: ~10^7 ball operations at the paper's
 * size) is built once, then each point costs one double product and the
 * bounds.  The same results as ibc_robust_certify_radius.  f must outlive it. */
typedef struct ibc_cert_net ibc_cert_net;
ibc_cert_net *ibc_robust_certify_prepare(const ibc_rnet *f);   /* NULL: out of memory */
void ibc_robust_certify_free(ibc_cert_net *c);
int ibc_robust_certify_radius_net(ibc_cert_result *res, const ibc_cert_net *c, const double *x, int y,
                                  double rmax, char *err);

/* ---------------------------------------------------------------------------
 * Brackets (src/robust/bracket.c)
 * ------------------------------------------------------------------------- */

typedef struct {
    double lo;           /* certified lower bound */
    double hi;           /* best certified attack (minimal norm over all attacks) */
    double hi_pgd;       /* plain PGD minimal-norm estimate (may exceed the truth: masking) */
    double hi_struct;    /* structured attack alone */
    double lo_ibp;
    int misclassified;   /* radius 0: y f(x) <= 0 */
    double *delta;       /* length D: the perturbation achieving hi */
} ibc_bracket;

void ibc_robust_bracket_init(ibc_bracket *b, long D);
void ibc_robust_bracket_clear(ibc_bracket *b);
/* Both ends at x: lower by ibc_robust_certify_radius, upper by every attack.
 * When lo > hi (a bug in one of the two certified ends) both ends are still
 * filled in, and the status is ibc_robust_bracket_check's IBC_ENUMERIC, so that a
 * caller may report the contradiction as a refuted row. */
int ibc_robust_bracket_compute(ibc_bracket *b, const ibc_rnet *f, const double *x, int y, double tmax,
                               const ibc_pgd_opts *o, char *err);
/* IBC_ENUMERIC with one line in err (naming the classifier) when b->lo >
 * b->hi, else IBC_OK. */
int ibc_robust_bracket_check(const ibc_bracket *b, const char *name, char *err);

/* ---------------------------------------------------------------------------
 * Distance to an ideal classifier (src/robust/dist.c)
 * ------------------------------------------------------------------------- */

typedef struct {
    double c;            /* the scale: least squares on samples, then exact minimax on the found points */
    double c_ls;         /* least-squares scale */
    double dist;         /* sup over the found points of |c f(x) - G(x)| at the final c */
    double dist_ls;      /* the same at c_ls */
    long starts;         /* ascent starts */
    long points;         /* points kept for the minimax over c */
} ibc_dist_result;

/* dist(f, G) = inf_c sup_{||x||=1} |c f(x) - G(x)| estimated as the authors
 * did: c by least squares on nsamp random unit points, then projected
 * gradient ascent of |c f - G| on the sphere from nstarts starts (random and
 * the centers); finally the exact inf over c of the max over every point
 * visited.  A lower estimate of the sup, so an estimate of dist. */
int ibc_robust_dist_ideal(ibc_dist_result *res, const ibc_rnet *f, const ibc_rnet *G, long nsamp,
                          long nstarts, long steps, unsigned long seed, char *err);
/* inf_{c} max_i |c a_i - b_i| exactly (a convex piecewise-linear problem):
 * returns the value, *c the minimiser. */
double ibc_robust_dist_minimax_scale(double *c, const double *a, const double *b, long n);

/* A network that is identically 0, with the shape of the ideal of that kind:
 * dist(0, G) = sup |G|.  NULL when out of memory. */
ibc_rnet *ibc_robust_rnet_zero_like(ibc_ideal_kind kind, long D, long K, long K1, double p);
/* f - G as one network (same exponent): the neurons of both, G's output
 * weights negated, so sup |f - G| = dist(0, f - G).  NULL when out of memory. */
ibc_rnet *ibc_robust_rnet_difference(const ibc_rnet *f, const ibc_rnet *G);

/* dist(f, F^(p)) split through G_a, the ideal F^(p) with f's own amplitude
 * a_k = |f(mu_k)| at each center (docs/theory.md, distance to the ideal):
 *   dist(f, F^(p)) <= shape + spread,
 *   spread = dist(G_a, F^(p)) = (amax - amin)/(amax + amin)  (closed form),
 *   shape  = c_a sup |f - G_a|,  c_a = 2/(amax + amin).
 * The spread vanishes for balanced data; the shape part is the error of the
 * neuron directions.  spread_asc is the spread by the estimator, a check of
 * the closed form. */
typedef struct {
    double amin, amax;
    double spread, spread_asc, shape;
} ibc_dist_split;

/* G is ibc_robust_rnet_ideal(IBC_IDEAL_FP, ...) (its K centers); amp (may be NULL)
 * gets the K amplitudes a_k.  The estimator runs with the given budget. */
int ibc_robust_dist_split_fp(ibc_dist_split *s, double *amp, const ibc_rnet *f, const ibc_rnet *G, long nsamp,
                             long nstarts, long steps, unsigned long seed, char *err);

#endif
