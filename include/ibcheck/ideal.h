/* ideal: the ideal classifiers F and F^(p) of docs/theory.md §4 and their l2
 * robustness radii, as closed forms in ball arithmetic (Arb), as certified
 * lower bounds (a generic 1-D positivity prover), and as explicit attacks
 * evaluated through the definitions in MPFR.
 *
 * Centers are mu_k = e_k: a point is given by its coordinates, and only the
 * first K of its D coordinates matter.  For another orthonormal basis pass
 * the coordinates c_k = <x, mu_k> (the radii are basis-free).  Classes:
 * K+ = {0..K1-1}, K- = {K1..K-1} (0-based); y = +1 or -1. */
#ifndef IBCHECK_IDEAL_H
#define IBCHECK_IDEAL_H
#include <mpfr.h>
#include "ibcheck/config.h"
#include "ibcheck/prec.h"
/* The same two layouts as src/prec/ibc_arb.h, which a public header cannot reach. */
#if IBC_FLINT3
#include <flint/arb.h>
#else
#include <arb.h>
#endif

/* The splits the ideal-radius claims check for K >= 2: K1 in {1, K/2, K-1},
 * without repeats, written to s[0..n) in that order; returns n (0 if K < 2). */
int ibc_ideal_splits(long K, long s[3]);

/* z encloses sigma(t)^e for every t in the ball x (sigma(t) = max(t, 0)),
 * for an exponent e > 0 (exact ball): the pReLU unit on balls, tight because
 * sigma^e is monotone.  Shared by every certificate of ideal and robust. */
void ibc_ideal_sigma_pow_arb(arb_t z, const arb_t x, const arb_t e, slong prec);

/* ---------------------------------------------------------------------------
 * Certified positivity of a real function on an interval
 * ------------------------------------------------------------------------- */

/* g(x) on a ball: res must enclose {g(t) : t in x}.  Returns IBC_OK or an
 * error status, which the prover passes back unchanged. */
typedef int (*ibc_ideal_fn)(arb_t res, const arb_t x, void *ctx, slong prec);

typedef enum {
    IBC_POS_PROVED = 0,    /* g > 0 on all of [lo, hi] (certified) */
    IBC_POS_DISPROVED,     /* g(witness) <= 0 certified at an exact point */
    IBC_POS_UNDECIDED      /* depth or evaluation budget exhausted */
} ibc_pos_outcome;

typedef struct {
    ibc_pos_outcome outcome;
    long pieces;           /* pieces proved positive (leaves of the bisection) */
    long evals;            /* calls of g */
    int depth;             /* deepest bisection level reached */
    double witness;        /* DISPROVED: a point with g <= 0 (rounded to double) */
} ibc_ideal_pos_info;

/* Proves g > 0 on [lo, hi] by bisection: each piece is evaluated on its
 * enclosing ball; a positive lower bound proves it, otherwise it is split,
 * down to max_depth levels and max_evals calls.  Returns IBC_OK (outcome in
 * info), IBC_EINPUT for lo > hi or a bad budget, or g's own error status. */
int ibc_ideal_certify_positive(ibc_ideal_pos_info *info, ibc_ideal_fn g, void *ctx,
                               const arf_t lo, const arf_t hi, int max_depth,
                               long max_evals, slong prec);
const char *ibc_ideal_pos_outcome_name(ibc_pos_outcome o);

/* ---------------------------------------------------------------------------
 * Closed forms (certified balls)
 * ------------------------------------------------------------------------- */

/* a = <x, mu_y>, b = <x, mu_-y> (class sums) from the K coordinates c. */
int ibc_ideal_class_sums(arb_t a, arb_t b, arb_srcptr c, long K, long K1, int y, slong prec);
/* r_F from the class sums: min(a/sqrt(Ky), (a-b)/sqrt(K)) if a > max(b, 0),
 * else 0 (misclassified).  IBC_ENUMERIC (r indeterminate) when the balls
 * cannot decide which case holds. */
int ibc_ideal_radius_F_ab(arb_t r, const arb_t a, const arb_t b, long Ky, long K, slong prec);
/* r_F(x) for x of class y given by its K coordinates c (docs/theory.md §4). */
int ibc_ideal_radius_F(arb_t r, arb_srcptr c, long K, long K1, int y, slong prec);
/* r_{F^(p)}(mu_k) = sqrt(c/(1+c)), c = min(1, K_opp^(1-2/p)), real p >= 1. */
int ibc_ideal_radius_Fp_center(arb_t r, double p, long K_opp, slong prec);
/* The same radius by KKT enumeration: m = 1..K_opp opposite centers grown
 * equally, min over s in [0,1] of (1-s)^2 + m^(1-2/p) s^2 solved in closed
 * form per m, then the min over m.  s is the mass left on mu_k at the
 * optimum; m_best and s_best (either may be NULL) give the minimiser. */
int ibc_ideal_radius_Fp_center_kkt(arb_t r, long *m_best, arb_t s_best, double p,
                                   long K_opp, slong prec);

/* ---------------------------------------------------------------------------
 * Certified lower bounds (independent of the closed forms)
 * ------------------------------------------------------------------------- */

/* Proves y F(x + delta) > 0 for every ||delta|| <= r, where x has class sums
 * (a, b) and its class has Ky centers, the other Ko: reduces to the circle
 * of radius r in the plane (mu_y, mu_-y) and proves positivity over the
 * angle.  r must be exact (a point ball); info gets the prover's outcome. */
int ibc_ideal_certify_F(ibc_ideal_pos_info *info, const arb_t a, const arb_t b,
                        long Ky, long Ko, const arb_t r, slong prec);
/* Proves y F^(p)(mu_k + delta) > 0 for every ||delta|| <= r (r < 1 exact),
 * with K_opp centers in the other class, through the 1-D bound
 * (1-u)^p - C_p (r^2-u^2)^(p/2) > 0 on u in [0, r]. */
int ibc_ideal_certify_Fp_center(ibc_ideal_pos_info *info, double p, long K_opp,
                                const arb_t r, slong prec);

/* ---------------------------------------------------------------------------
 * The classifiers by their definitions (MPFR, directed rounding)
 * ------------------------------------------------------------------------- */

/* y F(x) = sigma(<x,mu_y>) - sigma(<x,mu_-y>) for x of length D >= K.  rnd:
 * MPFR_RNDU gives a guaranteed upper bound, MPFR_RNDD a lower bound,
 * MPFR_RNDN a nearest evaluation, at res's precision. */
int ibc_ideal_yF_mpfr(mpfr_t res, mpfr_srcptr x, long D, long K, long K1, int y, mpfr_rnd_t rnd);
/* y F^(p)(x) = sum_{k in K_y} sigma(x_k)^p - sum_{l in K_-y} sigma(x_l)^p;
 * rnd as for ibc_ideal_yF_mpfr. */
int ibc_ideal_yFp_mpfr(mpfr_t res, mpfr_srcptr x, long D, long K, long K1, int y,
                       mpfr_srcptr p, mpfr_rnd_t rnd);

typedef enum { IBC_IDEAL_F = 0, IBC_IDEAL_FP = 1 } ibc_ideal_kind;

/* One ideal classifier in R^D, evaluated at 'bits' bits. */
typedef struct {
    ibc_ideal_kind kind;
    long D, K, K1;
    long bits;
    mpfr_t p;              /* F^(p)'s exponent (1 for F) */
} ibc_ideal_clf;

/* init always initialises (so clear is always safe); it returns IBC_EINPUT
 * unless 1 <= K1 < K <= D, p >= 1 finite and IBC_BITS_MIN <= bits <= IBC_BITS_MAX. */
int ibc_ideal_clf_init(ibc_ideal_clf *f, ibc_ideal_kind kind, long D, long K, long K1,
                       double p, long bits);
void ibc_ideal_clf_clear(ibc_ideal_clf *f);
/* y f(x) by the definition (dispatches to the two functions above). */
int ibc_ideal_clf_margin(mpfr_t res, const ibc_ideal_clf *f, mpfr_srcptr x, int y, mpfr_rnd_t rnd);

/* ---------------------------------------------------------------------------
 * Attacks (upper bounds on the radius)
 * ------------------------------------------------------------------------- */

/* Is x + t d flipped?  *flipped = 1 if y f <= 0 is certified by directed
 * rounding at the rounded point x' actually evaluated, 0 if y f > 0 is
 * certified, -1 if rounding cannot tell.  norm_up (may be NULL) receives a
 * guaranteed upper bound on ||x' - x||. */
int ibc_ideal_flip_at(int *flipped, mpfr_t norm_up, const ibc_ideal_clf *f, mpfr_srcptr x,
                      int y, mpfr_srcptr d, mpfr_srcptr t);
/* Bisection for a flip radius along d in (0, tmax]: t gets a point where
 * x + t d flips and the bisection's other end does not, to 'iters' halvings;
 * t = +inf when x + tmax d does not flip. */
int ibc_ideal_ray_radius(mpfr_t t, const ibc_ideal_clf *f, mpfr_srcptr x, int y,
                         mpfr_srcptr d, mpfr_srcptr tmax, int iters);
/* F's attack: the unit normals of its two flip half-spaces, -mu_y/sqrt(Ky)
 * and -(mu_y - mu_-y)/sqrt(K); writes to d (length f->D) the one whose flip
 * radius, found by ray_radius through F's definition, is smaller. */
int ibc_ideal_attack_F_dir(mpfr_ptr d, const ibc_ideal_clf *f, mpfr_srcptr x, int y);
/* F^(p)'s attack at mu_k: the unit direction of -(1-s) mu_k + s m^(-1/p) sum_S mu_l,
 * S = m centers of the other class taken cyclically from offset l0 within it. */
int ibc_ideal_dir_Fp_center(mpfr_ptr d, const ibc_ideal_clf *f, long k, long m, long l0,
                            mpfr_srcptr s);
/* Crude attack (a sanity check): ndirs random directions in span(mu_1..mu_K),
 * then nsteps of greedy random perturbation of the best direction; best gets
 * the smallest flip radius found (+inf if none within tmax).  Seeded. */
int ibc_ideal_attack_random(mpfr_t best, const ibc_ideal_clf *f, mpfr_srcptr x, int y,
                            double tmax, long ndirs, long nsteps, unsigned long seed);

/* ---------------------------------------------------------------------------
 * Brackets: certified lower <= claimed radius <= attack upper
 * ------------------------------------------------------------------------- */

typedef struct {
    mpfr_t lo;             /* proved: y f > 0 on the closed ball of radius lo */
    mpfr_t hi;             /* worst (largest) norm of the flipping attacks */
    mpfr_t rand_best;      /* best radius of the random attacks (+inf if none) */
    int lower_ok;          /* the certificate succeeded */
    int upper_ok;          /* every attack flipped at r (1 + rel) */
    int dir_lo_ok;         /* no attack direction flipped at r (1 - rel) */
    long n_attacks;
    ibc_ideal_pos_info cert;
} ibc_ideal_bracket;

/* lo = 0, hi = rand_best = +inf, nothing proved; values at 'bits' bits. */
void ibc_ideal_bracket_init(ibc_ideal_bracket *br, long bits);
void ibc_ideal_bracket_clear(ibc_ideal_bracket *br);
/* Lower end for F: certifies y F > 0 on the ball of radius r (1 - rel)
 * (rounded down to an exact number) around x with class sums (a, b). */
int ibc_ideal_bracket_certify_F(ibc_ideal_bracket *br, const arb_t a, const arb_t b,
                                long Ky, long Ko, const arb_t r, double rel, slong prec);
/* Lower end for F^(p) at a center, as above. */
int ibc_ideal_bracket_certify_Fp_center(ibc_ideal_bracket *br, double p, long K_opp,
                                        const arb_t r, double rel, slong prec);
/* Upper end: x + r (1 + rel) d must flip (certified; hi = max over calls of
 * the perturbation's norm) and x + r (1 - rel) d must not.  d unit, length D. */
int ibc_ideal_bracket_attack(ibc_ideal_bracket *br, const ibc_ideal_clf *f, mpfr_srcptr x,
                             int y, mpfr_srcptr d, const arb_t r, double rel);
/* Folds a random attack's result into rand_best (the minimum). */
void ibc_ideal_bracket_note_random(ibc_ideal_bracket *br, mpfr_srcptr radius);
/* 1 when everything was established and lo <= r <= hi (the whole ball r),
 * (hi - lo) <= tol r, and no random attack went below lo; else 0. */
int ibc_ideal_bracket_holds(const ibc_ideal_bracket *br, const arb_t r, double tol);
/* m = min(r - lo, hi - r) / r over the whole ball r: the relative distance of
 * r to the nearer bracket end (negative when r is outside; -inf if r <= 0). */
void ibc_ideal_bracket_margin(mpfr_t m, const ibc_ideal_bracket *br, const arb_t r);
/* q = min(q, rand_best / r): how close the random attack came to r, in units
 * of r (stays put when no random attack ran or r is 0). */
void ibc_ideal_bracket_rand_ratio(mpfr_t q, const ibc_ideal_bracket *br, const arb_t r);

/* A sweep of brackets summarised for one row (ideal-radius-F, -Fp): the
 * smallest margin (ibc_ideal_bracket_margin, over nonzero radii), the
 * smallest random-attack ratio, and the bracket [lo, hi] of the smallest
 * radius rmin, which the row shows. */
typedef struct {
    arb_t rmin;
    mpfr_t lo, hi;               /* bits of the brackets */
    mpfr_t margin, rand_ratio;   /* 64 bits, +inf until a bracket is added */
    int any;                     /* a bracket was added */
} ibc_ideal_tally;
void ibc_ideal_tally_init(ibc_ideal_tally *t, slong bits);
/* Adds the bracket br of radius r; returns 1 when r is the smallest so far
 * (then lo, hi and rmin are br's and r). */
int ibc_ideal_tally_add(ibc_ideal_tally *t, const ibc_ideal_bracket *br, const arb_t r);
void ibc_ideal_tally_clear(ibc_ideal_tally *t);

/* The bound column of a radius row: "LABEL <mid of r> in bracket, width <= tol r". */
void ibc_ideal_bound_str(char *buf, size_t n, const char *label, const arb_t r, double tol);

/* ---------------------------------------------------------------------------
 * Exact radii of the ideal classifiers at any x (src/ideal/kkt.c)
 * ------------------------------------------------------------------------- */

#define IBC_KKT_KMAX 16

typedef struct {
    arb_t r;             /* certified enclosure of the exact radius (0 when misclassified) */
    double r_d;          /* its midpoint as a double */
    double *delta;       /* length K: the minimising perturbation in center coordinates */
    long grown;          /* F^(p): how many opposite centers grow at the optimum */
    long candidates;     /* KKT points examined */
    int misclassified;   /* y G(x) <= 0: radius 0 */
} ibc_ideal_kkt_result;

void ibc_ideal_kkt_result_init(ibc_ideal_kkt_result *res, long K);
void ibc_ideal_kkt_result_clear(ibc_ideal_kkt_result *res);
/* r_{F^(p)} at a point with center coordinates c (length K; the rest of x
 * does not matter), class y, real p >= 1: KKT enumeration over which opposite
 * centers grow, each 1-D root certified in Arb.  K > IBC_KKT_KMAX gives
 * IBC_EINPUT with one line in err naming K and the allowed range. */
int ibc_ideal_kkt_radius_Fp(ibc_ideal_kkt_result *res, const double *c, long K, long K1, int y, double p,
                      slong prec, char *err);
/* The same radius in double only (no certificate): for Monte Carlo. */
double ibc_ideal_kkt_radius_Fp_d(const double *c, long K, long K1, int y, double p);
/* r_F at a point with center coordinates c (closed form of docs/theory.md §4, double). */
double ibc_ideal_kkt_radius_F_d(const double *c, long K, long K1, int y);

#endif
