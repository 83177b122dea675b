/* robust: exact l2 radii of the ideal classifiers at any point (docs/theory.md §4).
 *
 * F^(p).  For x of class y with center coordinates c (only span(mu) matters:
 * a component of delta outside it changes no <x, mu_k>), write own
 * coordinates u_k = c_k + delta_k (k of class y) and opposite ones
 * v_l = c_l + delta_l.  r = min ||delta|| subject to
 *     Phi = sum_own sigma(u_k)^p - sum_opp sigma(v_l)^p <= 0.
 * KKT with multiplier lambda > 0 (delta = -lambda grad Phi):
 *     own:  c_k - u = lambda p sigma(u)^(p-1)      (one root in (0, c_k) for c_k > 0;
 *                                                  u = c_k fixed for c_k <= 0)
 *     opp:  h(v) := v - lambda p sigma(v)^(p-1) = c_l.
 * The branches of the opposite equation, by p (v_s(lambda) splits them):
 *  - p > 2: h rises then falls, top at v_s = (lambda p (p-1))^(-1/(p-2)).
 *    "stay": v = c_l for c_l <= 0, else the small root in (c_l, v_s);
 *    "grow": the root above v_s.  For c_l > 0 both exist only while
 *    lambda <= lambda_t(c_l), where they merge at v* = (p-1) c_l/(p-2).
 *    stay rises with lambda, grow falls.
 *  - p = 2: h(v) = v (1 - 2 lambda), so v = c_l/(1 - 2 lambda): a c_l > 0
 *    grows (rising) for lambda < 1/2, a c_l < 0 grows (falling) only for
 *    lambda > 1/2, else stays at c_l.  c_l = 0 can grow only at lambda = 1/2,
 *    where any v >= 0 is stationary: that continuum is the separate
 *    candidate "half" below (r^2 = sum_own c_k^2 / 2).
 *  - 1 < p < 2: h falls then rises, bottom at v_m = (lambda p (p-1))^(1/(2-p)).
 *    c_l > 0: one root, above v_m ("grow", rising; v = c_l is no root);
 *    c_l = 0: stay at 0 or grow to (lambda p)^(1/(2-p)) (rising);
 *    c_l < 0: stay, or for lambda >= lambda_t(c_l) the large root ("grow",
 *    rising) or the small root in (0, v_m) ("small", falling).
 *  - p = 1 (Clarke subgradients): own u = max(c_k - lambda, 0); opposite
 *    stays (c_l <= 0) or grows to c_l + lambda (rising).
 * lambda_t(c) = (v_t - c)/(p v_t^(p-1)), v_t = (p-1) c/(p-2), is where the
 * two positive roots merge, for p > 2 (c > 0: upper end) and p < 2 (c < 0:
 * lower end).  Each branch is continuous and monotone in lambda: its slope
 * has the sign of h'(v), which is constant on it.
 *
 * Which patterns of branches can hold the minimiser (rather than all 2^|P|):
 *  (1) G depends on the opposite values as a multiset, so at a minimiser the
 *      v_l are ordered like the c_l (swapping two final values that are
 *      ordered against their starts lowers sum (v - c)^2 by 2 (v - v')(c' - c)).
 *      Growers take values above every stayer, so they are the largest c_l:
 *      patterns "the top m opposite coordinates grow", m = 0..|P|.
 *  (2) Second-order necessary condition: the Lagrangian's Hessian is
 *      diag(1 + lambda p (p-1) u^(p-2), h'(v)) and must be >= 0 on the
 *      tangent plane of Phi; two opposite coordinates with h' < 0 give a
 *      tangent direction of negative curvature.  So at most one falling
 *      branch: p > 2 has m <= 1; for p < 2 at most one "small" root (next
 *      below the growers).
 *  (3) grad Phi = 0 (every own coordinate pushed to sigma = 0) is the
 *      degenerate candidate r^2 = sum_{own, c_k > 0} c_k^2; it is feasible, so
 *      it also starts the search as its upper bound.
 * Each pattern's roots of Phi(lambda) are found by a branch-and-bound over
 * lambda (monotone branches give rigorous-in-exact-arithmetic ranges of Phi
 * and of ||delta|| on an interval), then refined by Illinois.  A pattern
 * without falling branch has Phi non-increasing: its first sign change is
 * its only root.
 *
 * Certification (ibc_ideal_kkt_radius_Fp): for the winner only, a bracket
 * [la, lb] whose Phi signs are certified in Arb, each inner root at la and
 * lb enclosed by a bracket whose sign change (and the branch's slope sign)
 * is certified; the radius ball is the hull over [la, lb].  So the ball
 * certainly encloses the radius of a true KKT point; that no other KKT point
 * is smaller rests on the (double) enumeration above. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"

#define KMAX IBC_KKT_KMAX

enum { BR_FIXED = 0, BR_OWN, BR_STAY, BR_GROW, BR_SMALL };
enum { WIN_NONE = 0, WIN_KKT, WIN_DEGEN, WIN_HALF };

/* B&B budget per pattern and the width at which an interval is not split. */
#define POOL 192
#define MAX_EVALS 6000
#define REL_WIDTH 1e-10
#define NEAR_ZERO 1e-12

typedef struct {
    long K;
    double p;
    long pint;               /* p when an integer <= 8, else 0 (fast powers) */
    double c[KMAX];          /* coordinates */
    int own[KMAX];           /* 1: class y */
    int br[KMAX];            /* branch per coordinate */
    double lo, hi;           /* lambda domain of the pattern */
    int monotone;            /* no falling branch: Phi non-increasing */
    double lam0;             /* scale to split [0, inf] */
    double mass0;            /* sum_own sigma(c_k)^p: the scale of Phi */
    double lt[KMAX];         /* lambda_t(c_k) where two opposite branches meet, else NaN */
} kkt_pattern;

typedef struct {
    double lam, phi;
    double w[KMAX], m[KMAX], d2[KMAX];
    int ref;
} kkt_point;

typedef struct {
    int kind;
    double r;
    double lam, la, lb;      /* the root and its double bracket */
    kkt_pattern pat;         /* the winning pattern */
    double delta[KMAX];
    long grown, candidates;
} kkt_win;

/* ---- powers and the inner roots (double) --------------------------------- */

static double pw(double w, const kkt_pattern *pt, double e_minus)
{
    /* w^(p - e_minus) for w > 0; e_minus in {0, 1, 2} */
    if (pt->pint) {
        long n = pt->pint - (long)e_minus;
        double r = 1;
        if (n < 0)
            return pow(w, (double)n);
        for (long i = 0; i < n; i++)
            r *= w;
        return r;
    }
    return pow(w, pt->p - e_minus);
}

static double sigma_p(double w, const kkt_pattern *pt)
{
    if (!(w > 0))
        return 0.0;
    if (isinf(w))
        return INFINITY;
    return pt->p == 1.0 ? w : pw(w, pt, 0);
}

/* lambda_t(c) of the header comment (p != 2). */
static double lambda_t(double c, double p)
{
    double vt = (p - 1) * c / (p - 2);
    return (vt - c) / (p * pow(vt, p - 1));
}

/* g(w) = s (w - c) - lambda p w^(p-1), s = -1 own, +1 opposite (root: g = 0),
 * and its slope. */
static double g_eval(double w, double c, double lam, int s, const kkt_pattern *pt, double *dg)
{
    double t = pw(w, pt, 1);
    if (dg)
        *dg = s - lam * pt->p * (pt->p - 1) * (t / w);
    return s * (w - c) - lam * pt->p * t;
}

/* The root of g on [a, b] (g(a), g(b) of opposite signs, g monotone there):
 * Newton kept inside the bracket, bisection when it strays. */
static double g_solve(double a, double b, double c, double lam, int s, const kkt_pattern *pt)
{
    double ga = g_eval(a, c, lam, s, pt, NULL);
    double x = 0.5 * (a + b);
    for (int it = 0; it < 200; it++) {
        double dg, gx = g_eval(x, c, lam, s, pt, &dg);
        if (gx == 0)
            return x;
        if ((gx > 0) == (ga > 0)) {
            a = x;
            ga = gx;
        } else {
            b = x;
        }
        double xn = x - gx / dg;
        if (!(xn > a && xn < b))
            xn = 0.5 * (a + b);
        if (fabs(xn - x) <= 1e-16 * fabs(x) || b - a <= 4e-16 * fabs(b)) {
            x = xn;
            break;
        }
        x = xn;
    }
    return x;
}

/* The value of coordinate k on its branch at lambda (0 and +inf allowed:
 * the branch's limits). */
static double branch_value(const kkt_pattern *pt, long k, double lam)
{
    double c = pt->c[k], p = pt->p;
    int b = pt->br[k];
    if (b == BR_FIXED || (b == BR_STAY && c <= 0))
        return c;
    if (lam == 0)
        return (b == BR_GROW && p > 2) ? INFINITY : c;    /* every other branch starts at c */
    if (p == 1.0) {
        if (b == BR_OWN)
            return c - lam > 0 ? c - lam : 0.0;
        return c + lam;                                   /* grow */
    }
    if (b == BR_OWN) {
        if (isinf(lam))
            return 0.0;
        if (p == 2.0)
            return c / (1 + 2 * lam);
        if (p == 3.0)
            return 2 * c / (1 + sqrt(1 + 12 * lam * c));
        return g_solve(0.0, c, c, lam, -1, pt);
    }
    /* At the meeting point both branches take the value v_t exactly, so
     * that the patterns on either side agree there (the root is a double
     * root, which rounding would otherwise split by about sqrt(ulp)). */
    if ((p > 2 && lam >= pt->lt[k]) || (p < 2 && lam <= pt->lt[k]))
        return (p - 1) * c / (p - 2);
    if (p == 2.0) {                                       /* grow, c != 0 */
        if (c == 0)
            return 0.0;
        return fabs(c) / fabs(1 - 2 * lam);
    }
    if (p > 2) {
        if (isinf(lam))
            return 0.0;                                   /* grow with c <= 0 */
        if (p == 3.0) {
            double disc = 1 - 12 * lam * c;
            double sq = disc > 0 ? sqrt(disc) : 0.0;      /* past the tangency: clamp to v* */
            return b == BR_STAY ? 2 * c / (1 + sq) : (1 + sq) / (6 * lam);
        }
        double vs = pow(lam * p * (p - 1), -1.0 / (p - 2));
        double gs = g_eval(vs, c, lam, 1, pt, NULL);
        if (gs <= 0)
            return vs;                                    /* at (or past) the tangency */
        if (b == BR_STAY)
            return g_solve(c, vs, c, lam, 1, pt);
        double v0 = pow(lam * p, -1.0 / (p - 2));
        double hi = c >= 0 ? v0 : fmax(pow(2.0, 1.0 / (p - 2)) * v0, -c);
        return g_solve(vs, fmax(hi, vs), c, lam, 1, pt);
    }
    /* 1 < p < 2 */
    if (isinf(lam))
        return b == BR_SMALL ? 0.0 : INFINITY;
    double vm = pow(lam * p * (p - 1), 1.0 / (2 - p));
    double gm = g_eval(vm, c, lam, 1, pt, NULL);
    if (gm >= 0)
        return vm;                                        /* at the tangency */
    if (b == BR_SMALL)
        return g_solve(0.0, vm, c, lam, 1, pt);
    double lo = fmax(vm, c);
    double hi = fmax(fmax(pow(2 * lam * p, 1.0 / (2 - p)), 2 * c), lo);
    while (g_eval(hi, c, lam, 1, pt, NULL) < 0)
        hi *= 2;
    return g_solve(lo, hi, c, lam, 1, pt);
}

/* Does the branch's value fall as lambda grows? */
static int branch_falls(const kkt_pattern *pt, long k)
{
    int b = pt->br[k];
    double p = pt->p, c = pt->c[k];
    return b == BR_SMALL || (b == BR_GROW && (p > 2 || (p == 2 && c < 0)));
}

static void point_eval(kkt_point *q, const kkt_pattern *pt, double lam)
{
    q->lam = lam;
    double so = 0, sp = 0;
    for (long k = 0; k < pt->K; k++) {
        double w = branch_value(pt, k, lam);
        q->w[k] = w;
        q->m[k] = sigma_p(w, pt);
        q->d2[k] = isinf(w) ? INFINITY : (w - pt->c[k]) * (w - pt->c[k]);
        if (pt->own[k])
            so += q->m[k];
        else
            sp += q->m[k];
    }
    q->phi = so - sp;
}

/* Sets the domain of the pattern's branches; 0 when it is empty. */
static int pattern_domain(kkt_pattern *pt)
{
    double p = pt->p;
    pt->lo = 0;
    pt->hi = INFINITY;
    pt->monotone = 1;
    for (long k = 0; k < pt->K; k++) {
        double c = pt->c[k];
        int b = pt->br[k];
        if (pt->own[k] || b == BR_FIXED)
            continue;
        if (branch_falls(pt, k))
            pt->monotone = 0;
        if (b == BR_STAY) {
            if (c > 0 && p <= 2)
                return 0;                  /* no root with v = c_l for c_l > 0 */
            if (c > 0)
                pt->hi = fmin(pt->hi, pt->lt[k]);
            continue;
        }
        if (p > 2 && c > 0)
            pt->hi = fmin(pt->hi, pt->lt[k]);
        else if (p == 2 && c > 0)
            pt->hi = fmin(pt->hi, 0.5);
        else if (p == 2 && c < 0)
            pt->lo = fmax(pt->lo, 0.5);
        else if (p > 1 && p < 2 && c < 0)
            pt->lo = fmax(pt->lo, pt->lt[k]);
        else if (p == 1 && c < 0)
            pt->lo = fmax(pt->lo, -c);
    }
    return pt->lo < pt->hi;
}

/* ---- the search ---------------------------------------------------------- */

typedef struct {
    kkt_point pool[POOL];
    int free_list[POOL], nfree;
    long evals;
} kkt_mem;

static int pt_new(kkt_mem *mem, const kkt_pattern *pt, double lam)
{
    if (mem->nfree == 0)
        return -1;
    int i = mem->free_list[--mem->nfree];
    point_eval(&mem->pool[i], pt, lam);
    mem->pool[i].ref = 1;
    mem->evals++;
    return i;
}

static void pt_drop(kkt_mem *mem, int i)
{
    if (i >= 0 && --mem->pool[i].ref == 0)
        mem->free_list[mem->nfree++] = i;
}

static double split_point(double a, double b, double lam0)
{
    if (a == 0 && isinf(b))
        return lam0;
    if (a == 0)
        return b / 16;
    if (isinf(b))
        return a * 16;
    if (b > 8 * a)
        return sqrt(a) * sqrt(b);
    return a + 0.5 * (b - a);
}

static double radius_at(const kkt_point *q, long K)
{
    double s = 0;
    for (long k = 0; k < K; k++)
        s += q->d2[k];
    return sqrt(s);
}

static void win_take(kkt_win *win, const kkt_pattern *pt, const kkt_point *q, double r, double la,
                     double lb)
{
    win->kind = WIN_KKT;
    win->r = r;
    win->lam = q->lam;
    win->la = la;
    win->lb = lb;
    win->pat = *pt;
    win->grown = 0;
    for (long k = 0; k < pt->K; k++) {
        win->delta[k] = q->w[k] - pt->c[k];
        win->grown += !pt->own[k] && (pt->br[k] == BR_GROW || pt->br[k] == BR_SMALL);
    }
}

/* Illinois on [a, b] (pool points, Phi of opposite signs): returns the
 * point nearer the root; *ia, *ib the final bracket (references held). */
static int refine(kkt_mem *mem, const kkt_pattern *pt, int *ia, int *ib)
{
    int a = *ia, b = *ib;
    double fa = mem->pool[a].phi, fb = mem->pool[b].phi;
    int side = 0;
    for (int it = 0; it < 300; it++) {
        double la = mem->pool[a].lam, lb = mem->pool[b].lam;
        if (!(nextafter(nextafter(la, INFINITY), INFINITY) < lb))
            break;
        double lm;
        if (la == 0 || isinf(lb) || isinf(fa) || isinf(fb) || lb > 8 * la)
            lm = split_point(la, lb, pt->lam0);
        else {
            lm = lb - fb * (lb - la) / (fb - fa);
            if (!(lm > la && lm < lb))
                lm = la + 0.5 * (lb - la);
        }
        int m = pt_new(mem, pt, lm);
        if (m < 0)
            break;
        double fm = mem->pool[m].phi;
        if (fm == 0) {
            pt_drop(mem, a);
            pt_drop(mem, b);
            mem->pool[m].ref = 2;   /* the caller holds it as both ends */
            *ia = *ib = m;
            return m;
        }
        if ((fm > 0) == (mem->pool[a].phi > 0)) {
            pt_drop(mem, a);
            a = m;
            fa = fm;
            if (side == -1)
                fb *= 0.5;
            side = -1;
        } else {
            pt_drop(mem, b);
            b = m;
            fb = fm;
            if (side == 1)
                fa *= 0.5;
            side = 1;
        }
    }
    *ia = a;
    *ib = b;
    return fabs(mem->pool[a].phi) <= fabs(mem->pool[b].phi) ? a : b;
}

typedef struct {
    int a, b;
} kkt_iv;

/* Sign of Phi' when it is the same on all of [A, B] (else 0), from
 * dm/dlambda = p^2 w^(2p-2)/g'(w), g'(w) = s - lambda p (p-1) w^(p-2),
 * bounded with w in the hull of its endpoint values (monotone branches).
 * Near a simple root this proves that no second root hides beside it. */
static int phi_slope_sign(const kkt_pattern *pt, const kkt_point *A, const kkt_point *B)
{
    double p = pt->p, Ap = p * (p - 1), dlo = 0, dhi = 0;
    if (p == 1.0 || !(A->lam > 0) || isinf(B->lam))
        return 0;
    for (long k = 0; k < pt->K; k++) {
        int b = pt->br[k];
        double c = pt->c[k];
        if (b == BR_FIXED || (b == BR_STAY && c <= 0) || (p == 2 && b == BR_GROW && c == 0))
            continue;
        double wl = fmin(A->w[k], B->w[k]), wh = fmax(A->w[k], B->w[k]);
        if (!(wl > 0) || isinf(wh))
            return 0;
        double e1 = pw(wl, pt, 2), e2 = pw(wh, pt, 2);          /* w^(p-2) */
        double ql = A->lam * Ap * fmin(e1, e2), qh = B->lam * Ap * fmax(e1, e2);
        double nl = p * p * pow(wl, 2 * p - 2), nh = p * p * pow(wh, 2 * p - 2);
        double gl, gh;                                          /* |g'| range */
        int falls = 0;
        if (pt->own[k]) {
            gl = 1 + ql;
            gh = 1 + qh;
        } else if (branch_falls(pt, k)) {
            gl = ql - 1;
            gh = qh - 1;
            falls = 1;
        } else {
            gl = 1 - qh;
            gh = 1 - ql;
        }
        if (!(gl > 0))
            return 0;
        double ml = nl / gh, mh = nh / gl;                      /* |dm/dlambda| range */
        if (falls) {
            dlo += ml;
            dhi += mh;
        } else {
            dlo -= mh;
            dhi -= ml;
        }
    }
    return dhi < 0 ? -1 : dlo > 0 ? 1 : 0;
}

/* Every root of one pattern's Phi whose radius could beat win->r. */
static void search_pattern(kkt_win *win, kkt_mem *mem, const kkt_pattern *pt)
{
    long K = pt->K;
    kkt_iv st[POOL];
    int ns = 0;
    mem->nfree = 0;
    for (int i = POOL - 1; i >= 0; i--)
        mem->free_list[mem->nfree++] = i;
    mem->evals = 0;
    int a = pt_new(mem, pt, pt->lo), b = pt_new(mem, pt, pt->hi);
    st[ns++] = (kkt_iv){ a, b };
    while (ns > 0) {
        kkt_iv iv = st[--ns];
        const kkt_point *A = &mem->pool[iv.a], *B = &mem->pool[iv.b];
        double rb2 = win->r * win->r, low = 0, fhi = 0, flo = 0;
        for (long k = 0; k < K; k++) {
            double m1 = A->m[k], m2 = B->m[k];
            low += fmin(A->d2[k], B->d2[k]);
            if (pt->own[k]) {
                fhi += fmax(m1, m2);
                flo += fmin(m1, m2);
            } else {
                fhi -= fmin(m1, m2);
                flo -= fmax(m1, m2);
            }
        }
        int keep = low < rb2 && !(flo > 0) && !(fhi < 0) && mem->evals < MAX_EVALS;
        int mono = pt->monotone || (keep && phi_slope_sign(pt, A, B) != 0);
        if (mono && ((A->phi > 0 && B->phi > 0) || (A->phi < 0 && B->phi < 0)))
            keep = 0;
        /* lambda = inf is a limit, not a point: a monotone Phi that tends to
         * 0 there keeps its sign on [a, inf) (its limit, own mass 0, is the
         * degenerate candidate).  Without monotonicity, far out the own
         * coordinates are within 2^-40 of 0: nothing there beats it. */
        if (isinf(B->lam) && B->phi == 0 && (mono || A->lam > 0x1p40 * pt->lam0))
            keep = 0;
        if (keep && (A->phi == 0 || B->phi == 0)) {
            const kkt_point *Z = A->phi == 0 ? A : B;
            double r = radius_at(Z, K);
            win->candidates++;
            if (r < win->r)
                win_take(win, pt, Z, r, Z->lam, Z->lam);
        }
        int sign_change = keep && ((A->phi > 0 && B->phi < 0) || (A->phi < 0 && B->phi > 0));
        if (sign_change) {
            int ia = iv.a, ib = iv.b;
            mem->pool[ia].ref++;
            mem->pool[ib].ref++;
            int z = refine(mem, pt, &ia, &ib);
            double r = radius_at(&mem->pool[z], K);
            win->candidates++;
            if (r < win->r)
                win_take(win, pt, &mem->pool[z], r, mem->pool[ia].lam, mem->pool[ib].lam);
            if (mono || ia == ib || ns + 2 > POOL) {
                pt_drop(mem, ia);
                pt_drop(mem, ib);
                keep = 0;
            } else {
                /* pairs of further roots may hide on either side */
                st[ns++] = (kkt_iv){ iv.a, ia };
                st[ns++] = (kkt_iv){ ib, iv.b };
                continue;
            }
        }
        double la = A->lam, lb = B->lam;
        int narrow = (la > 0 && !isinf(lb) && lb - la <= REL_WIDTH * lb) || (la == 0 && lb < 1e-280)
                     || la > 1e280;
        if (keep && narrow) {
            /* An undecided sliver: a root touching 0 without crossing, or one
             * at a domain end (two branches meeting at lambda_t): take its
             * endpoint when Phi vanishes there to rounding. */
            const kkt_point *Z = fabs(A->phi) <= fabs(B->phi) ? A : B;
            if (fabs(Z->phi) <= NEAR_ZERO * pt->mass0 && isfinite(Z->lam)) {
                double r = radius_at(Z, K);
                win->candidates++;
                if (r < win->r)
                    win_take(win, pt, Z, r, Z->lam, Z->lam);
            }
        }
        if (keep && !narrow && ns + 2 <= POOL) {
            int m = pt_new(mem, pt, split_point(la, lb, pt->lam0));
            if (m >= 0) {
                mem->pool[m].ref++;
                st[ns++] = (kkt_iv){ m, iv.b };
                st[ns++] = (kkt_iv){ iv.a, m };
                continue;
            }
        }
        pt_drop(mem, iv.a);
        pt_drop(mem, iv.b);
    }
}

/* The positive own and opposite values of c with exactly equal pairs
 * removed (so that y G = 0 exactly is seen as such in any arithmetic):
 * writes them to a (na) and b (nb). */
static void margin_terms(double *a, long *na, double *b, long *nb, const double *c, long K,
                         long K1, int y)
{
    *na = *nb = 0;
    for (long k = 0; k < K; k++) {
        if (!(c[k] > 0))
            continue;
        int own = ((k < K1) ? 1 : -1) == y;
        double *t = own ? a : b;
        long *n = own ? na : nb, j = -1;
        double *u = own ? b : a;
        long *m = own ? nb : na;
        for (long i = 0; i < *m && j < 0; i++)
            if (u[i] == c[k])
                j = i;
        if (j >= 0)
            u[j] = u[--*m];
        else
            t[(*n)++] = c[k];
    }
}

static double yG_d(const double *c, long K, long K1, int y, const kkt_pattern *pt)
{
    double a[KMAX], b[KMAX], s = 0;
    long na, nb;
    margin_terms(a, &na, b, &nb, c, K, K1, y);
    for (long i = 0; i < na; i++)
        s += sigma_p(a[i], pt);
    for (long i = 0; i < nb; i++)
        s -= sigma_p(b[i], pt);
    return s;
}

static int bad_args(const double *c, long K, long K1, int y, double p)
{
    if (K < 2 || K > KMAX || K1 < 1 || K1 >= K || (y != 1 && y != -1) || !isfinite(p) || p < 1)
        return 1;
    for (long k = 0; k < K; k++)
        if (!isfinite(c[k]))
            return 1;
    return 0;
}

/* The minimum over every candidate (the formula's one place).  Returns 1
 * when y G(c) <= 0 in double (misclassified: win untouched but kind NONE). */
static int kkt_search(kkt_win *win, const double *c, long K, long K1, int y, double p)
{
    kkt_pattern pt;
    memset(&pt, 0, sizeof pt);
    memset(win, 0, sizeof *win);
    pt.K = K;
    pt.p = p;
    pt.pint = (p == floor(p) && p <= 8) ? (long)p : 0;
    long opp[KMAX], no = 0;
    double cmax = 0, sown = 0;
    for (long k = 0; k < K; k++) {
        pt.c[k] = c[k];
        pt.own[k] = ((k < K1) ? 1 : -1) == y;
        if (pt.own[k]) {
            pt.br[k] = c[k] > 0 ? BR_OWN : BR_FIXED;
            if (c[k] > 0) {
                sown += c[k] * c[k];
                cmax = fmax(cmax, c[k]);
            }
        } else {
            opp[no++] = k;
        }
    }
    if (!(yG_d(c, K, K1, y, &pt) > 0))
        return 1;
    pt.lam0 = pow(cmax / 2, 2 - p) / p;
    for (long k = 0; k < K; k++) {
        pt.mass0 += pt.own[k] ? sigma_p(c[k], &pt) : 0.0;
        pt.lt[k] = !pt.own[k] && ((p > 2 && c[k] > 0) || (p > 1 && p < 2 && c[k] < 0))
                       ? lambda_t(c[k], p) : NAN;
    }
    /* opposite coordinates by decreasing c (ties by index: deterministic) */
    for (long i = 1; i < no; i++)
        for (long j = i; j > 0 && c[opp[j]] > c[opp[j - 1]]; j--) {
            long t = opp[j];
            opp[j] = opp[j - 1];
            opp[j - 1] = t;
        }
    /* the degenerate candidate: own pushed to 0 */
    win->kind = WIN_DEGEN;
    win->r = sqrt(sown);
    win->candidates = 1;
    for (long k = 0; k < K; k++)
        win->delta[k] = pt.own[k] && c[k] > 0 ? -c[k] : 0.0;
    win->pat = pt;
    /* p = 2's continuum at lambda = 1/2 (header comment) */
    if (p == 2.0) {
        long z = -1, pos = 0;
        for (long i = 0; i < no; i++) {
            pos += c[opp[i]] > 0;
            if (c[opp[i]] == 0 && z < 0)
                z = opp[i];
        }
        win->candidates++;
        if (z >= 0 && pos == 0 && sqrt(sown / 2) < win->r) {
            win->kind = WIN_HALF;
            win->r = sqrt(sown / 2);
            for (long k = 0; k < K; k++)
                win->delta[k] = pt.own[k] && c[k] > 0 ? -c[k] / 2 : 0.0;
            win->delta[z] = sqrt(sown / 4);
            win->grown = 1;
        }
    }
    kkt_mem *mem = malloc(sizeof *mem);
    if (!mem)
        return -1;
    long mmax = p > 2 ? (no < 1 ? no : 1) : no;
    for (long m = 0; m <= mmax; m++) {
        for (int small = 0; small <= (p > 1 && p < 2); small++) {
            if (small && (m >= no || !(c[opp[m]] < 0)))
                continue;
            for (long i = 0; i < no; i++)
                pt.br[opp[i]] = i < m ? BR_GROW : (small && i == m) ? BR_SMALL : BR_STAY;
            if (pattern_domain(&pt))
                search_pattern(win, mem, &pt);
        }
    }
    free(mem);
    return 0;
}

/* ---- public: double ------------------------------------------------------ */

/* NaN for arguments outside the ranges of ibc_ideal_kkt_radius_Fp (no err line here). */
double ibc_ideal_kkt_radius_Fp_d(const double *c, long K, long K1, int y, double p)
{
    if (bad_args(c, K, K1, y, p))
        return NAN;
    kkt_win win;
    int rc = kkt_search(&win, c, K, K1, y, p);
    if (rc < 0)
        return NAN;
    return rc == 1 ? 0.0 : win.r;
}

double ibc_ideal_kkt_radius_F_d(const double *c, long K, long K1, int y)
{
    if (K < 2 || K1 < 1 || K1 >= K || (y != 1 && y != -1))
        return NAN;
    /* the closed form lives in ideal (Arb); at 64 bits it costs little */
    arb_ptr cc = _arb_vec_init(K);
    arb_t r;
    arb_init(r);
    for (long k = 0; k < K; k++)
        arb_set_d(cc + k, c[k]);
    double out = NAN;
    if (ibc_ideal_radius_F(r, cc, K, K1, y, 64) == IBC_OK)
        out = arf_get_d(arb_midref(r), ARF_RND_NEAR);
    else
        out = 0.0;   /* a on the boundary max(b, 0) within rounding: radius 0 */
    arb_clear(r);
    _arb_vec_clear(cc, K);
    return out;
}

/* ---- public: certified --------------------------------------------------- */

void ibc_ideal_kkt_result_init(ibc_ideal_kkt_result *res, long K)
{
    arb_init(res->r);
    res->r_d = 0;
    res->delta = calloc((size_t)(K > 0 ? K : 1), sizeof(double));
    res->grown = 0;
    res->candidates = 0;
    res->misclassified = 0;
}

void ibc_ideal_kkt_result_clear(ibc_ideal_kkt_result *res)
{
    arb_clear(res->r);
    free(res->delta);
    res->delta = NULL;
}

/* z = x d for an exact double d (ball arithmetic). */
static void mul_d(arb_t z, const arb_t x, double d, slong prec)
{
    arb_t t;
    arb_init(t);
    arb_set_d(t, d);
    arb_mul(z, x, t, prec);
    arb_clear(t);
}

/* sigma(w)^p on a ball. */
static void sig_arb(arb_t z, const arb_t w, double p, slong prec)
{
    arb_t e;
    arb_init(e);
    arb_set_d(e, p);
    ibc_ideal_sigma_pow_arb(z, w, e, prec);
    arb_clear(e);
}

/* Certified sign of g (root equation) at the exact point w > 0: +1, -1, 0 unknown. */
static int g_sign_arb(double w, double c, double lam, int s, double p, slong prec)
{
    arb_t W, t, e;
    arb_init(W);
    arb_init(t);
    arb_init(e);
    arb_set_d(W, w);
    arb_set_d(e, p - 1);
    arb_pow(t, W, e, prec);
    mul_d(t, t, lam, prec);
    mul_d(t, t, p, prec);
    arb_set_d(e, c);
    arb_sub(W, W, e, prec);
    if (s < 0)
        arb_neg(W, W);
    arb_sub(W, W, t, prec);
    int sg = arb_is_positive(W) ? 1 : arb_is_negative(W) ? -1 : 0;
    arb_clear(W);
    arb_clear(t);
    arb_clear(e);
    return sg;
}

/* Certified sign of h'(v) = 1 - lam p (p-1) v^(p-2) on the ball [a, b] (a > 0). */
static int hprime_sign_arb(double a, double b, double lam, double p, slong prec)
{
    arb_t V, t, e;
    arb_init(V);
    arb_init(t);
    arb_init(e);
    arb_set_d(t, a);
    arb_set_d(e, b);
    arb_union(V, t, e, prec);
    arb_set_d(e, p - 2);
    arb_pow(t, V, e, prec);
    mul_d(t, t, lam, prec);
    mul_d(t, t, p, prec);
    mul_d(t, t, p - 1, prec);              /* p - 1 is exact: p >= 1 and ulp(p) <= 1 */
    arb_one(V);
    arb_sub(V, V, t, prec);
    int sg = arb_is_positive(V) ? 1 : arb_is_negative(V) ? -1 : 0;
    arb_clear(V);
    arb_clear(t);
    arb_clear(e);
    return sg;
}

/* Encloses coordinate k's branch value at the exact lam.  0 when it could
 * not be certified. */
static int cert_value(arb_t w, const kkt_pattern *pt, long k, double lam, slong prec)
{
    double c = pt->c[k], p = pt->p;
    int b = pt->br[k];
    if (b == BR_FIXED || (b == BR_STAY && c <= 0) || (p == 2 && b == BR_GROW && c == 0)) {
        arb_set_d(w, c);
        return 1;
    }
    arb_t t;
    arb_init(t);
    if (p == 1.0) {
        arb_set_d(w, c);
        arb_set_d(t, lam);
        if (b == BR_OWN) {
            arb_sub(w, w, t, prec);
            arb_zero(t);
            arb_max(w, w, t, prec);
        } else {
            arb_add(w, w, t, prec);
        }
        arb_clear(t);
        return 1;
    }
    double wd = branch_value(pt, k, lam);
    int s = pt->own[k] ? -1 : 1;
    /* the sign g takes below the root, and the branch's slope sign of h' */
    int below, slope = 0;
    if (b == BR_OWN)
        below = 1;
    else {
        slope = branch_falls(pt, k) ? -1 : 1;
        below = slope > 0 ? -1 : 1;
    }
    int ok = 0;
    /* the bracket's width scales with |delta_k|, so that small radii keep
     * their relative accuracy */
    double scale = fabs(wd - c) > 0 ? fabs(wd - c) : 0x1p-52 * fabs(wd);
    for (double eta = 0x1p-46; eta <= 0x1p-6 && !ok; eta *= 64) {
        double a = fmin(wd - eta * scale, nextafter(wd, -INFINITY));
        double bb = fmax(wd + eta * scale, nextafter(wd, INFINITY));
        if (a <= 0)
            a = 0.5 * wd;
        if (!(a > 0))
            break;
        if (g_sign_arb(a, c, lam, s, p, prec) != below || g_sign_arb(bb, c, lam, s, p, prec) != -below)
            continue;
        if (slope && p != 2 && hprime_sign_arb(a, bb, lam, p, prec) != slope)
            continue;
        arb_set_d(w, a);
        arb_set_d(t, bb);
        arb_union(w, w, t, prec);
        ok = 1;
    }
    arb_clear(t);
    return ok;
}

/* Phi at the exact lam with every value enclosed (w: K balls); sign +-1, 0 unknown,
 * 2 when a value could not be enclosed. */
static int cert_phi(arb_ptr w, const kkt_pattern *pt, double lam, slong prec)
{
    arb_t phi, m;
    arb_init(phi);
    arb_init(m);
    int out = 0;
    for (long k = 0; k < pt->K; k++) {
        if (!cert_value(w + k, pt, k, lam, prec)) {
            out = 2;
            break;
        }
        sig_arb(m, w + k, pt->p, prec);
        if (pt->own[k])
            arb_add(phi, phi, m, prec);
        else
            arb_sub(phi, phi, m, prec);
    }
    if (out == 0)
        out = arb_is_positive(phi) ? 1 : arb_is_negative(phi) ? -1 : 0;
    arb_clear(phi);
    arb_clear(m);
    return out;
}

/* The winner's radius ball: bracket its root in lambda with certified signs. */
static int certify_kkt(arb_t r, const kkt_win *win, slong prec)
{
    const kkt_pattern *pt = &win->pat;
    long K = pt->K;
    arb_ptr wa = _arb_vec_init(K), wb = _arb_vec_init(K);
    arb_t d, t;
    arb_init(d);
    arb_init(t);
    int ok = 0;
    for (double eps = 0x1p-52; eps <= 0x1p-4 && !ok; eps *= 16) {
        double la = win->la - eps * win->lam, lb = win->lb + eps * win->lam;
        if (la < pt->lo)
            la = pt->lo;
        if (lb > pt->hi)
            lb = pt->hi;
        if (!(la > 0) || isinf(lb))
            break;
        int sa = cert_phi(wa, pt, la, prec), sb = cert_phi(wb, pt, lb, prec);
        if (sa == 2 || sb == 2 || sa == 0 || sb == 0 || sa == sb)
            continue;
        /* each branch is monotone: its value over [la, lb] lies in the hull */
        arb_zero(r);
        for (long k = 0; k < K; k++) {
            arb_union(d, wa + k, wb + k, prec);
            arb_set_d(t, pt->c[k]);
            arb_sub(d, d, t, prec);
            arb_addmul(r, d, d, prec);
        }
        arb_sqrtpos(r, r, prec);
        ok = 1;
    }
    _arb_vec_clear(wa, K);
    _arb_vec_clear(wb, K);
    arb_clear(d);
    arb_clear(t);
    return ok;
}

int ibc_ideal_kkt_radius_Fp(ibc_ideal_kkt_result *res, const double *c, long K, long K1, int y, double p,
                      slong prec, char *err)
{
    if (K < 2 || K > KMAX) {
        snprintf(err, IBC_ERRLEN, "kkt radius: K = %ld subclasses; allowed 2 <= K <= %d", K, KMAX);
        return IBC_EINPUT;
    }
    if (K1 < 1 || K1 >= K) {
        snprintf(err, IBC_ERRLEN, "kkt radius: K1 = %ld; allowed 1 <= K1 <= K-1 = %ld", K1, K - 1);
        return IBC_EINPUT;
    }
    if (y != 1 && y != -1) {
        snprintf(err, IBC_ERRLEN, "kkt radius: label y = %d; allowed +1 or -1", y);
        return IBC_EINPUT;
    }
    if (!isfinite(p) || p < 1) {
        snprintf(err, IBC_ERRLEN, "kkt radius: p = %g; allowed finite p >= 1", p);
        return IBC_EINPUT;
    }
    for (long k = 0; k < K; k++)
        if (!isfinite(c[k])) {
            snprintf(err, IBC_ERRLEN, "kkt radius: coordinate c[%ld] = %g; allowed finite", k, c[k]);
            return IBC_EINPUT;
        }
    res->misclassified = 0;
    res->grown = 0;
    res->candidates = 0;
    memset(res->delta, 0, (size_t)K * sizeof(double));
    /* the class margin y G(c), certified (exact ties cancelled first) */
    double ta[KMAX], tb[KMAX];
    long na, nb;
    margin_terms(ta, &na, tb, &nb, c, K, K1, y);
    arb_t g, m, w;
    arb_init(g);
    arb_init(m);
    arb_init(w);
    for (long i = 0; i < na + nb; i++) {
        arb_set_d(w, i < na ? ta[i] : tb[i - na]);
        sig_arb(m, w, p, prec);
        if (i < na)
            arb_add(g, g, m, prec);
        else
            arb_sub(g, g, m, prec);
    }
    int pos = arb_is_positive(g), nonpos = arb_is_nonpositive(g);
    arb_clear(g);
    arb_clear(m);
    arb_clear(w);
    if (nonpos) {
        res->misclassified = 1;
        arb_zero(res->r);
        res->r_d = 0;
        return IBC_OK;
    }
    kkt_win win;
    int rc = pos ? kkt_search(&win, c, K, K1, y, p) : 1;
    if (rc < 0) {
        snprintf(err, IBC_ERRLEN, "kkt radius: out of memory");
        return IBC_ENUMERIC;
    }
    if (rc != 0) {
        snprintf(err, IBC_ERRLEN, "kkt radius: y G(x) = 0 within rounding (p = %g): the radius is "
                 "below double resolution", p);
        return IBC_ENUMERIC;
    }
    int ok = 1;
    if (win.kind == WIN_KKT) {
        ok = certify_kkt(res->r, &win, prec);
    } else {
        /* closed forms: sqrt(sum_own c_k^2) or its half (p = 2) */
        arb_t t;
        arb_init(t);
        arb_zero(res->r);
        for (long k = 0; k < K; k++)
            if (((k < K1) ? 1 : -1) == y && c[k] > 0) {
                arb_set_d(t, c[k]);
                arb_addmul(res->r, t, t, prec);
            }
        if (win.kind == WIN_HALF)
            arb_mul_2exp_si(res->r, res->r, -1);
        arb_sqrtpos(res->r, res->r, prec);
        arb_clear(t);
    }
    if (!ok) {
        snprintf(err, IBC_ERRLEN, "kkt radius: could not certify the root of the winning KKT "
                 "pattern (p = %g, K = %ld, lambda = %g)", p, K, win.lam);
        return IBC_ENUMERIC;
    }
    res->r_d = arf_get_d(arb_midref(res->r), ARF_RND_NEAR);
    memcpy(res->delta, win.delta, (size_t)K * sizeof(double));
    res->grown = win.grown;
    res->candidates = win.candidates;
    return IBC_OK;
}
