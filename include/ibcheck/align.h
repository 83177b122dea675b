/* align: the closed-form population dynamics of docs/theory.md §6.
 *
 * Gaussian moments M_p(m, s) = E[sigma(m + sZ)^p] (integer p >= 0) in Arb,
 * MPFR and double; the population objective
 *   G_p(u) = (1/K) sum_k y_k M_p(<mu_k, u>, s),  s = alpha/sqrt(D),
 * its Euclidean and Riemannian gradient and Hessian on the unit sphere; the
 * certification of its critical points (extremal vectors) by Krawczyk's
 * method and of their type by ball Cholesky; and the direction flow
 * dw/dt = sign(v) (I - w w^T) grad G_p(w) with an end-point classifier.
 *
 * Everything lives in K coordinates c_k = <mu_k, u> (centers orthonormal;
 * K+ = {0..K1-1}, K- = {K1..K-1}, 0-based).  The part of u orthogonal to
 * every center does not enter G.  On the sphere it only enters through the
 * norm constraint: the Riemannian gradient has the component -lambda u_perp
 * there, lambda = <grad G, u>, so for s > 0 every critical point has
 * u_perp = 0 (grad G has no zero on the sphere: M_{p-1} > 0), and the
 * Riemannian Hessian has the eigenvalue -lambda on the D - K directions
 * orthogonal to every center.  The functions below take c with |c| = 1
 * unless stated otherwise. */
#ifndef IBCHECK_ALIGN_H
#define IBCHECK_ALIGN_H
#include <mpfr.h>
#include "ibcheck/config.h"
#include "ibcheck/prec.h"
#include "ibcheck/model.h"
#include "ibcheck/flow.h"
/* The same two layouts as src/prec/ibc_arb.h, which a public header cannot reach. */
#if IBC_FLINT3
#include <flint/arb.h>
#include <flint/arb_mat.h>
#else
#include <arb.h>
#include <arb_mat.h>
#endif

/* ---------------------------------------------------------------------------
 * Gaussian moments
 * ------------------------------------------------------------------------- */

/* M_p(m, s) for integer p >= 0 and s > 0 or s = 0 exactly (then sigma(m)^p,
 * M_0 = [m > 0]).  m and s are balls; the result encloses M_p over them.
 * The working precision is raised until the ball is relatively accurate to
 * prec bits, or until more precision stops helping (wide inputs).
 * IBC_EINPUT (res indeterminate) for p < 0 or s not >= 0. */
int ibc_align_moment_arb(arb_t res, long p, const arb_t m, const arb_t s, slong prec);
/* d^j/dm^j M_p = p!/(p-j)! M_{p-j} for 0 <= j <= p, and for j = p + 1
 * p! phi(m/s)/s (s > 0 required). */
int ibc_align_moment_dm_arb(arb_t res, long p, long j, const arb_t m, const arb_t s, slong prec);
/* M_p at res's precision, rounded in direction rnd from a ball that decides
 * the rounding (correct rounding): IBC_OK.  IBC_ENUMERIC when no ball up to
 * 64x the precision decided it (res then holds the nearest midpoint, within
 * a few ulps); IBC_EINPUT for bad input (res NaN). */
int ibc_align_moment_mpfr(mpfr_ptr res, long p, mpfr_srcptr m, mpfr_srcptr s, mpfr_rnd_t rnd);
/* M_p in double: IBC_OK when *res is a normal double; its relative error
 * is below 1e-13 for p <= 4 (measured against Arb over t = m/s in
 * [-40, 10]; worst next to t = -2 where the recursion hands over to the
 * tail form) and grows about 2x per unit of p beyond (8e-12 at p = 10).
 * IBC_ENUMERIC ("cannot") when the value is not a normal double: *res is
 * then 0 or subnormal (the value underflows) or inf.  IBC_EINPUT (*res NaN)
 * for bad input. */
int ibc_align_moment_d(double *res, long p, double m, double s);

/* ---------------------------------------------------------------------------
 * The population objective on the sphere, in K coordinates
 * ------------------------------------------------------------------------- */

typedef struct {
    long K, K1;        /* 1 <= K1 < K */
    long p;            /* integer exponent >= 1 */
    double alpha;      /* spread >= 0 */
    long D;            /* ambient dimension >= K: s = alpha/sqrt(D) */
} ibc_align_problem;

/* From the data model: K, K1, alpha, D of par, with exponent p. */
void ibc_align_problem_set(ibc_align_problem *pb, const ibc_model_params *par, long p);
/* Validates the fields; IBC_EINPUT + one line. */
int ibc_align_problem_check(const ibc_align_problem *pb, char *err);
/* ibc_align_problem_set, then ibc_align_problem_check. */
int ibc_align_problem_init(ibc_align_problem *pb, const ibc_model_params *par, long p, char *err);
/* s = alpha/sqrt(D) as a ball. */
void ibc_align_s_arb(arb_t s, const ibc_align_problem *pb, slong prec);
/* y_k = +1 for k < K1, -1 otherwise. */
int ibc_align_label(const ibc_align_problem *pb, long k);

/* G_p(c) (any c: G depends on the K coordinates only). */
int ibc_align_G_arb(arb_t G, const ibc_align_problem *pb, arb_srcptr c, slong prec);
/* Euclidean gradient g (K entries): g_k = (1/K) y_k p M_{p-1}(c_k, s). */
int ibc_align_grad_arb(arb_ptr g, const ibc_align_problem *pb, arb_srcptr c, slong prec);
/* Euclidean Hessian, diagonal: h_k = (1/K) y_k p dM_{p-1}/dm(c_k, s).
 * For p = 1 this needs s > 0 (phi(c/s)/s). */
int ibc_align_hess_diag_arb(arb_ptr h, const ibc_align_problem *pb, arb_srcptr c, slong prec);
/* Riemannian gradient rg = g - lambda c, lambda = <g, c> (may be NULL). */
int ibc_align_rgrad_arb(arb_ptr rg, arb_t lambda, const ibc_align_problem *pb, arb_srcptr c,
                        slong prec);
/* Riemannian Hessian on the sphere, as the K x K matrix
 * P (diag(h) - lambda I) P, P = I - c c^T: its restriction to the tangent
 * space c^perp is the Hessian; it maps c to 0 (when |c| = 1). */
int ibc_align_rhess_arb(arb_mat_t H, const ibc_align_problem *pb, arb_srcptr c, slong prec);

/* The same objective in double (for the direction flow): G, g (may be NULL),
 * with M_p from ibc_align_moment_d; values that underflow enter as the 0 or
 * subnormal that ibc_align_moment_d returns (absolutely negligible).
 * Returns IBC_OK, or IBC_ENUMERIC if some moment was not finite. */
int ibc_align_grad_d(double *G, double *g, const ibc_align_problem *pb, const double *c);

/* ---------------------------------------------------------------------------
 * Certified extremal vectors
 * ------------------------------------------------------------------------- */

/* A certified critical point of G_p on the sphere. */
typedef struct {
    int proved;         /* 1: exactly one zero of (g - lambda c, |c|^2 - 1) in the box */
    double rad;         /* inf-norm half-width of the c-box that was proved */
    arb_ptr c;          /* K entries: enclosure of the critical point */
    arb_t lambda;       /* enclosure of lambda = <g, c> there */
    arb_ptr box;        /* K entries: the c-box of uniqueness (center +- rad) */
    double contraction; /* Krawczyk's ||I - Y J(X)||_inf (< 1 is typical of success) */
} ibc_align_critical;

void ibc_align_critical_init(ibc_align_critical *cp, long K);
void ibc_align_critical_clear(ibc_align_critical *cp, long K);

/* Krawczyk's test for F(c, lambda) = (g(c) - lambda c, (|c|^2 - 1)/2) = 0 on
 * the box c = x0 +- rad (x0 = a Newton refinement of c0, K doubles) and
 * lambda in an enclosure of <g, c> over that box, widened.  On success
 * (cp->proved = 1) the box holds exactly one critical point of G_p on the
 * sphere, enclosed by cp->c (refined by iterating the operator).
 * Returns IBC_OK whether or not it proved; IBC_ENUMERIC if Newton failed to
 * converge from c0 (nothing proved). */
int ibc_align_krawczyk(ibc_align_critical *cp, const ibc_align_problem *pb, const double *c0,
                       double rad, slong prec);
/* The same over a fixed ladder of half-widths, 0.2 down to 1e-6, stopping
 * at the first (widest) box that proves: the widest uniqueness statement
 * the method gives near c0. */
int ibc_align_krawczyk_widest(ibc_align_critical *cp, const ibc_align_problem *pb, const double *c0,
                              slong prec);

/* The type of a critical point c (an enclosure, e.g. cp->c): *sign = -1 when
 * the Riemannian Hessian is certified negative definite (a strict local
 * maximum), +1 when positive definite (a strict local minimum), 0 when
 * neither could be certified.  Proved by Cholesky in ball arithmetic of
 * -/+(H - kappa c c^T), H = ibc_align_rhess_arb, kappa = 1: at the critical
 * point H c = 0, so c gets the eigenvalue -kappa and the tangent part is
 * H's.  When D > K the directions orthogonal to every center carry the
 * eigenvalue -lambda (file comment) and count too.  lb, ub (may be NULL):
 * Gershgorin bounds, rounded outward, that enclose every eigenvalue of
 * H - kappa c c^T, hence every tangent eigenvalue within the centers' span. */
int ibc_align_hess_type(int *sign, double *lb, double *ub, const ibc_align_problem *pb,
                        arb_srcptr c, slong prec);

/* ---------------------------------------------------------------------------
 * The population direction flow (docs/theory.md §6)
 * ------------------------------------------------------------------------- */

/* State y = (c_1..c_K, r), r = |u_perp| >= 0: the exact reduction of
 *   du/dt = sgn (I - u u^T) grad G_p(u)  in R^D
 * (u_perp keeps its direction and dr/dt = -sgn lambda r).  An ibc_field_fn
 * for ibc_flow_rk4_field; ctx is an ibc_align_flow_ctx.  Double or MPFR y. */
typedef struct {
    const ibc_align_problem *pb;
    int sgn;           /* +1: ascent (v > 0); -1: descent (v < 0) */
} ibc_align_flow_ctx;
void ibc_align_flow_field(void *ctx, double t, const ibc_vec *y, ibc_vec *dy);

/* Integrates the flow from y (K + 1 entries, |y| = 1, double) up to time
 * t_max by RK4 steps of size h, renormalizing |y| = 1 every chunk of time
 * 'chunk', and stops early once the Riemannian gradient norm is below tol.
 * *t_used gets the time reached; *gnorm the final gradient norm. */
void ibc_align_flow_run(const ibc_align_problem *pb, int sgn, ibc_vec *y, double h, double chunk,
                        double t_max, double tol, double *t_used, double *gnorm);

/* What a unit direction u is near, from its K cosines cosk[k] = <u, mu_k>:
 * a center mu_k (cos > thr), the average direction mu_class/sqrt(K_class)
 * of class + or - (cos > thr), dead (no center on u's positive side:
 * max_k cos <= 0, where sigma(<x, u>) vanishes at every center), or other. */
typedef enum { IBC_ALIGN_CENTER = 0, IBC_ALIGN_CLASS_AVG, IBC_ALIGN_DEAD, IBC_ALIGN_OTHER } ibc_align_kind;
typedef struct {
    ibc_align_kind kind;
    long k;            /* CENTER: the center (0-based); CLASS_AVG: +1 or -1; else -1 */
    double cos;        /* the cosine that decided (else the best center cosine) */
} ibc_align_class;
ibc_align_class ibc_align_classify(const double *cosk, long K, long K1, double thr);

#endif
