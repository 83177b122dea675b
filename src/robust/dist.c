/* robust: the distance of a classifier to an ideal one (docs/theory.md §4, §7),
 * dist(f, G) = inf_{c>0} sup_{||x||=1} |c f(x) - G(x)|, estimated as MV24
 * §5.1 did: a least-squares scale, projected gradient ascent of the residual
 * on the sphere from many starts, and the exact best scale for the points
 * found.  Two additions make the estimate reproducible to many digits: the
 * ascent follows ridges (a bundle of directions at kinks, where the maxima of
 * a ReLU residual sit), and the scale and the ascent alternate as cutting
 * planes until the ascent at the best scale finds nothing new.
 * The ascent finds local maxima, so for each c the maximum over the points
 * found is a LOWER estimate of the sup over the sphere; the inf over c of a
 * lower estimate is a lower estimate of dist.  Nothing here is certified:
 * this is the authors' measurement, made reproducible. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/rng.h"
#include "ibcheck/robust.h"

/* ---------------------------------------------------------------------------
 * The exact best scale for finitely many points
 * ------------------------------------------------------------------------- */

/* With alpha_i = |a_i| > 0 and beta_i = sign(a_i) b_i, |c a_i - b_i| =
 * |alpha_i c - beta_i|, so g(c) = max(P(c), N(c), z) where
 *   P(c) = max_i (alpha_i c - beta_i)   convex, strictly increasing,
 *   N(c) = max_i (beta_i - alpha_i c)   convex, strictly decreasing,
 *   z    = max |b_i| over a_i = 0       a constant floor.
 * This reports P(c) and N(c) and which lines attain them. */
typedef struct {
    double P, N;
    long iP, iN;
} envelope;

static void envelope_at(envelope *e, double c, const double *al, const double *be, long m)
{
    e->P = -INFINITY;
    e->N = -INFINITY;
    e->iP = e->iN = 0;
    for (long i = 0; i < m; i++) {
        double u = al[i] * c - be[i];
        if (u > e->P) {
            e->P = u;
            e->iP = i;
        }
        if (-u > e->N) {
            e->N = -u;
            e->iN = i;
        }
    }
}

static double minimax_value(double c, const double *a, const double *b, long n)
{
    double g = 0;
    for (long i = 0; i < n; i++) {
        double u = fabs(c * a[i] - b[i]);
        if (u > g)
            g = u;
    }
    return g;
}

/* The minimiser over c >= 0 (the closure of docs/theory.md's c > 0: g is continuous,
 * so the inf is the same) is the root c* of P = N, or 0 when P(0) >= N(0).
 * Bisection keeps c* in [lo, hi]; once one P-line attains P at both ends it
 * attains it on the whole interval (P is convex and that line is linear:
 * P <= the chord = the line <= P), and likewise for N.  Then P - N on
 * [lo, hi] is the difference of two known lines and c* is their intersection
 * in closed form: the result is the exact minimiser up to the rounding of
 * one division and of the line evaluations, not a tolerance-limited search.
 * The bracket is explicit: line i vanishes at rho_i = beta_i/alpha_i, so at
 * c = min rho every alpha_i c - beta_i <= 0 (P <= 0 <= N) and at c = max rho
 * every one is >= 0 (N <= 0 <= P). */
double ibc_robust_dist_minimax_scale(double *c, const double *a, const double *b, long n)
{
    *c = 0;
    if (n <= 0)
        return 0;
    double *al = malloc((size_t)n * sizeof *al), *be = malloc((size_t)n * sizeof *be);
    if (!al || !be) {
        free(al);
        free(be);
        /* No memory for the exact method: the value at c = 0 is still a
         * valid (if poor) upper end of the inf. */
        return minimax_value(0, a, b, n);
    }
    long m = 0;
    double rmin = INFINITY, rmax = -INFINITY;
    for (long i = 0; i < n; i++) {
        if (a[i] == 0)
            continue;   /* a constant |b_i|: raises the floor, moves no minimiser */
        al[m] = fabs(a[i]);
        be[m] = a[i] > 0 ? b[i] : -b[i];
        double r = be[m] / al[m];
        if (r < rmin)
            rmin = r;
        if (r > rmax)
            rmax = r;
        m++;
    }
    double best = 0;
    if (m > 0 && rmax > 0) {
        double lo = rmin > 0 ? rmin : 0, hi = rmax, cand = lo;
        envelope elo, ehi, emid;
        envelope_at(&elo, lo, al, be, m);
        envelope_at(&ehi, hi, al, be, m);
        if (elo.P >= elo.N) {
            cand = lo;   /* the root lies at or below lo = 0 */
        } else {
            for (int it = 0; it < 4096; it++) {
                long i = elo.iP, j = elo.iN;
                int pstable = al[i] * hi - be[i] >= ehi.P;
                int nstable = be[j] - al[j] * hi >= ehi.N;
                if (pstable && nstable) {
                    cand = (be[i] + be[j]) / (al[i] + al[j]);
                    break;
                }
                double mid = lo + 0.5 * (hi - lo);
                if (!(mid > lo && mid < hi)) {
                    cand = lo;   /* adjacent doubles: the candidates below decide */
                    break;
                }
                envelope_at(&emid, mid, al, be, m);
                if (emid.P <= emid.N) {
                    lo = mid;
                    elo = emid;
                } else {
                    hi = mid;
                    ehi = emid;
                }
            }
            if (!(cand >= lo))
                cand = lo;
            if (!(cand <= hi))
                cand = hi;
        }
        /* Rounding can only make a neighbour marginally better: take the
         * best of the closed form and the bracket's ends, evaluated directly. */
        double cs[3] = { cand, lo, hi };
        best = INFINITY;
        for (int k = 0; k < 3; k++) {
            double g = minimax_value(cs[k], a, b, n);
            if (g < best) {
                best = g;
                *c = cs[k];
            }
        }
    } else {
        /* Every line is non-increasing on c >= 0 ... or there is no line:
         * the inf over c >= 0 is at c = 0 (all a_i = 0: every c ties). */
        best = minimax_value(0, a, b, n);
    }
    free(al);
    free(be);
    return best;
}

/* ---------------------------------------------------------------------------
 * Random unit points: splitmix64 and Box-Muller, state held by the caller
 * ------------------------------------------------------------------------- */

typedef struct {
    uint64_t s;
    int has;
    double spare;
} dist_rng;

/* In (0, 1): the log below never sees 0.  The generator is util/rng.h's. */
static double rng_unif(dist_rng *r) { return ibc_util_rng_unif_open(&r->s); }

static double rng_normal(dist_rng *r)
{
    if (r->has) {
        r->has = 0;
        return r->spare;
    }
    double u = rng_unif(r), v = rng_unif(r);
    double s = sqrt(-2.0 * log(u)), t = 6.283185307179586 * v;
    r->spare = s * sin(t);
    r->has = 1;
    return s * cos(t);
}

static double vec_norm(const double *x, long D)
{
    double s = 0;
    for (long d = 0; d < D; d++)
        s += x[d] * x[d];
    return sqrt(s);
}

/* x /= ||x||; returns 0 when x = 0 (left unchanged). */
static int vec_normalize(double *x, long D)
{
    double s = vec_norm(x, D);
    if (!(s > 0))
        return 0;
    for (long d = 0; d < D; d++)
        x[d] /= s;
    return 1;
}

static void rng_sphere(double *x, long D, dist_rng *r)
{
    do {
        for (long d = 0; d < D; d++)
            x[d] = rng_normal(r);
    } while (!vec_normalize(x, D));
}

/* ---------------------------------------------------------------------------
 * Projected gradient ascent of |c f - G| on the unit sphere
 * ------------------------------------------------------------------------- */

#define DIST_BUNDLE 8             /* ascent directions kept at a kink */
#define DIST_ROUNDS_MAX 64        /* cutting-plane rounds; 1-D Kelley needs few */
#define DIST_KELLEY_RTOL 1e-12

typedef struct {
    const ibc_rnet *f, *G;
    long D;
    double *gf, *gG, *dir, *y, *gfy, *gGy;   /* work, length D each */
    double *bundle;                          /* DIST_BUNDLE x D */
} ascent;

/* r = c f(x) - G(x) and its gradient pieces at x (into gf, gG). */
static double residual(const ascent *as, double c, const double *x, double *gf, double *gG,
                       double *fx, double *Gx)
{
    *fx = ibc_robust_rnet_grad_d(as->f, x, gf);
    *Gx = ibc_robust_rnet_grad_d(as->G, x, gG);
    return c * *fx - *Gx;
}

/* The tangent part at x of s (c gf - gG) into out; returns its norm. */
static double ascent_dir(double *out, const double *x, double s, double c, const double *gf,
                         const double *gG, long D)
{
    double xd = 0;
    for (long d = 0; d < D; d++) {
        out[d] = s * (c * gf[d] - gG[d]);
        xd += out[d] * x[d];
    }
    for (long d = 0; d < D; d++)
        out[d] -= xd * x[d];
    return vec_norm(out, D);
}

/* y = normalize(x + eta dir/nd) and the residual there (into gfy, gGy);
 * returns 0 when y degenerates. */
static int trial(ascent *as, double c, const double *x, const double *dir, double nd, double eta,
                 double *ry, double *fy, double *Gy)
{
    for (long d = 0; d < as->D; d++)
        as->y[d] = x[d] + eta * dir[d] / nd;
    if (!vec_normalize(as->y, as->D))
        return 0;
    *ry = residual(as, c, as->y, as->gfy, as->gGy, fy, Gy);
    return 1;
}

/* Solves the (n+1) x (n+1) system [Q_S 1; 1' 0] [mu; nu] = [0; 1] for the
 * affine minimum-norm point of the rows in S (Gaussian elimination with
 * partial pivoting; n <= DIST_BUNDLE).  Returns 0 when singular. */
static int affine_min_norm(double *mu, const double *Q, long m, const long *S, long n)
{
    double A[(DIST_BUNDLE + 1) * (DIST_BUNDLE + 2)];
    long w = n + 2;   /* n + 1 columns and the right-hand side */
    for (long i = 0; i <= n; i++)
        for (long j = 0; j <= n; j++)
            A[i * w + j] = i < n && j < n ? Q[S[i] * m + S[j]] : (i == n && j == n ? 0.0 : 1.0);
    for (long i = 0; i <= n; i++)
        A[i * w + n + 1] = i == n ? 1.0 : 0.0;
    double scale = 0;
    for (long i = 0; i < n; i++)
        scale = fmax(scale, fabs(Q[S[i] * m + S[i]]));
    for (long col = 0; col <= n; col++) {
        long piv = col;
        for (long i = col + 1; i <= n; i++)
            if (fabs(A[i * w + col]) > fabs(A[piv * w + col]))
                piv = i;
        if (!(fabs(A[piv * w + col]) > 1e-14 * fmax(scale, 1e-300)))
            return 0;
        if (piv != col)
            for (long j = 0; j < w; j++) {
                double t = A[col * w + j];
                A[col * w + j] = A[piv * w + j];
                A[piv * w + j] = t;
            }
        for (long i = 0; i <= n; i++) {
            if (i == col)
                continue;
            double f = A[i * w + col] / A[col * w + col];
            for (long j = col; j < w; j++)
                A[i * w + j] -= f * A[col * w + j];
        }
    }
    for (long i = 0; i < n; i++)
        mu[i] = A[i * w + n + 1] / A[i * w + i];
    return 1;
}

/* Minimum-norm point of the convex hull of the m rows of B (m x D) into out;
 * returns its norm.  Wolfe's algorithm on the Gram matrix: exact (up to
 * rounding) in finitely many steps, which matters: at a vertex where several
 * kinks meet, an inexact hull point is a poor direction and the ascent creeps. */
static double min_norm_hull(double *out, const double *B, long m, long D)
{
    double Q[DIST_BUNDLE * DIST_BUNDLE], lam[DIST_BUNDLE] = { 0 }, mu[DIST_BUNDLE + 1];
    long S[DIST_BUNDLE], n = 0;
    double qmax = 0;
    for (long i = 0; i < m; i++)
        for (long j = 0; j <= i; j++) {
            double q = 0;
            for (long d = 0; d < D; d++)
                q += B[i * D + d] * B[j * D + d];
            Q[i * m + j] = Q[j * m + i] = q;
            qmax = fmax(qmax, fabs(q));
        }
    long j0 = 0;
    for (long i = 1; i < m; i++)
        if (Q[i * m + i] < Q[j0 * m + j0])
            j0 = i;
    S[n++] = j0;
    lam[j0] = 1;
    for (int major = 0; major < 4 * DIST_BUNDLE; major++) {
        /* the row most opposed to x = sum lam B; done when none is below |x|^2 */
        double xx = 0, best = INFINITY;
        long jb = -1;
        for (long i = 0; i < m; i++)
            for (long k = 0; k < m; k++)
                xx += lam[i] * lam[k] * Q[i * m + k];
        for (long i = 0; i < m; i++) {
            double xi = 0;
            for (long k = 0; k < m; k++)
                xi += lam[k] * Q[k * m + i];
            if (xi < best) {
                best = xi;
                jb = i;
            }
        }
        int in = 0;
        for (long i = 0; i < n; i++)
            in |= S[i] == jb;
        if (in || best >= xx - 1e-14 * qmax)
            break;
        S[n++] = jb;
        for (int minor = 0; minor < 4 * DIST_BUNDLE; minor++) {
            if (!affine_min_norm(mu, Q, m, S, n))
                goto finish;   /* affinely dependent rows: keep the current point */
            double theta = 1;
            for (long i = 0; i < n; i++)
                if (mu[i] <= 0) {
                    double l = lam[S[i]];
                    theta = fmin(theta, l / (l - mu[i]));
                }
            for (long i = 0; i < n; i++)
                lam[S[i]] += theta * (mu[i] - lam[S[i]]);
            if (theta >= 1)
                break;   /* the affine point lies in the hull of S */
            long k = 0;   /* drop the rows whose weight reached 0 */
            for (long i = 0; i < n; i++) {
                if (lam[S[i]] > 1e-15)
                    S[k++] = S[i];
                else
                    lam[S[i]] = 0;
            }
            n = k;
        }
    }
finish:
    for (long d = 0; d < D; d++) {
        double v = 0;
        for (long i = 0; i < m; i++)
            v += lam[i] * B[i * D + d];
        out[d] = v;
    }
    return vec_norm(out, D);
}

/* Moves x (unit) uphill on |c f - G| for up to 'steps' iterations; a step of
 * length eta is accepted only when |r| grows (then eta grows by 1.5), so the
 * final x is the best of its path.  The residual is only piecewise smooth
 * (ReLU kinks; for p = 1 piecewise linear), and its maxima sit on kinks, where
 * a plain gradient step crosses the kink onto a side that slopes down and
 * stalls.  So the direction is the minimum-norm point of the convex hull of a
 * bundle of ascent directions: x's own, plus those of every rejected trial
 * point since the last accepted step, seen from x's tangent space (the
 * steepest ascent of a concave kink, as in gradient sampling).  It runs along
 * the ridge where two or more pieces meet; each rejection also halves eta. */
static void ascend(ascent *as, double c, double *x, long steps, double *fx, double *Gx)
{
    long D = as->D, m = 0;
    double r = residual(as, c, x, as->gf, as->gG, fx, Gx);
    double eta = 0.1;
    for (long it = 0; it < steps && eta > 1e-13; it++) {
        if (m == 0) {
            if (!(ascent_dir(as->bundle, x, r >= 0 ? 1.0 : -1.0, c, as->gf, as->gG, D) > 0))
                break;   /* a critical point on the sphere (or every neuron off) */
            m = 1;
        }
        double nd = m == 1 ? vec_norm(as->bundle, D) : min_norm_hull(as->dir, as->bundle, m, D);
        const double *dir = m == 1 ? as->bundle : as->dir;
        if (!(nd > 1e-300))
            break;   /* 0 in the hull: stationary in Clarke's sense */
        double ry = 0, fy = 0, Gy = 0;
        int made = trial(as, c, x, dir, nd, eta, &ry, &fy, &Gy);
        if (made && fabs(ry) > fabs(r)) {
            memcpy(x, as->y, (size_t)D * sizeof *x);
            memcpy(as->gf, as->gfy, (size_t)D * sizeof *x);
            memcpy(as->gG, as->gGy, (size_t)D * sizeof *x);
            r = ry;
            *fx = fy;
            *Gx = Gy;
            eta = fmin(1.5 * eta, 1.0);
            m = 0;
            continue;
        }
        eta *= 0.5;
        if (made && isfinite(ry)) {
            /* the far side's direction joins the bundle (oldest extra replaced) */
            long slot = m < DIST_BUNDLE ? m++ : 1 + (it % (DIST_BUNDLE - 1));
            ascent_dir(as->bundle + slot * D, x, ry >= 0 ? 1.0 : -1.0, c, as->gfy, as->gGy, D);
        }
    }
}

/* ---------------------------------------------------------------------------
 * The estimator
 * ------------------------------------------------------------------------- */

#define DIST_NSAMP_MAX 100000000L
#define DIST_NSTARTS_MAX 10000000L
#define DIST_STEPS_MAX 100000000L

typedef struct {
    double u;
    long i;
} ranked;

/* Larger residual first; ties by index, so the order (and the run) is
 * deterministic whatever qsort does with equal keys. */
static int ranked_cmp(const void *p, const void *q)
{
    const ranked *x = p, *y = q;
    if (x->u != y->u)
        return x->u > y->u ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Indices of the m largest |c a_i - b_i| (m <= n) into idx; 0 when out of memory. */
static int top_indices(long *idx, long m, const double *a, const double *b, long n, double c)
{
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return 0;
    for (long i = 0; i < n; i++) {
        r[i].u = fabs(c * a[i] - b[i]);
        r[i].i = i;
    }
    qsort(r, (size_t)n, sizeof *r, ranked_cmp);
    for (long k = 0; k < m; k++)
        idx[k] = r[k].i;
    free(r);
    return 1;
}

/* A structured point (a center or a class direction, unit x): kept for the
 * scale fit and the minimax, and used as one of the first ascent starts. */
static void structured_point(const ibc_rnet *f, const ibc_rnet *G, const double *x, long D, double *a,
                             double *b, long *np, double *S, long *nst, long nstarts)
{
    a[*np] = ibc_robust_rnet_eval_d(f, x);
    b[*np] = ibc_robust_rnet_eval_d(G, x);
    (*np)++;
    if (*nst < nstarts) {
        memcpy(S + *nst * D, x, (size_t)D * sizeof *x);
        (*nst)++;
    }
}

/* The arguments of ibc_robust_dist_ideal, each against its range. */
static int dist_args_check(const ibc_rnet *f, const ibc_rnet *G, long nsamp, long nstarts, long steps, char *err)
{
    if (!f || !G) {
        snprintf(err, IBC_ERRLEN, "dist: classifier is NULL: both f and G are required");
        return IBC_EINPUT;
    }
    if (f->D != G->D || f->D < 1) {
        snprintf(err, IBC_ERRLEN, "dist: dimensions %ld (f) and %ld (G) must be equal and >= 1",
                 f->D, G->D);
        return IBC_EINPUT;
    }
    if (nsamp < 1 || nsamp > DIST_NSAMP_MAX) {
        snprintf(err, IBC_ERRLEN, "dist: nsamp = %ld: must be in [1, %ld]", nsamp, DIST_NSAMP_MAX);
        return IBC_EINPUT;
    }
    if (nstarts < 1 || nstarts > DIST_NSTARTS_MAX) {
        snprintf(err, IBC_ERRLEN, "dist: nstarts = %ld: must be in [1, %ld]", nstarts,
                 DIST_NSTARTS_MAX);
        return IBC_EINPUT;
    }
    if (steps < 0 || steps > DIST_STEPS_MAX) {
        snprintf(err, IBC_ERRLEN, "dist: steps = %ld: must be in [0, %ld]", steps, DIST_STEPS_MAX);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

/* What the estimator keeps: the cut points (f(x), G(x)) found so far (a, b:
 * np of cap), the starts S (nstarts x D), scratch, and the ascent's work. */
typedef struct {
    long D, nstarts;
    double *a, *b;
    long np, cap;
    double *S, *x;
    long nst;        /* starts filled so far */
    long *idx;
    double *work;
    ascent as;
} dist_ws;

static int dist_ws_alloc(dist_ws *w, const ibc_rnet *f, const ibc_rnet *G, long nsamp, long nstarts,
                         long nstruct, char *err)
{
    long D = f->D;
    memset(w, 0, sizeof *w);
    w->D = D;
    w->nstarts = nstarts;
    w->cap = nsamp + nstruct + 4 * nstarts;   /* samples, structure, rounds of finals (grows) */
    w->a = malloc((size_t)w->cap * sizeof *w->a);
    w->b = malloc((size_t)w->cap * sizeof *w->b);
    w->S = malloc((size_t)(nstarts * D) * sizeof *w->S);   /* starting/final points */
    w->x = malloc((size_t)D * sizeof *w->x);
    w->idx = malloc((size_t)nstarts * sizeof *w->idx);
    w->work = malloc((size_t)((6 + DIST_BUNDLE) * D) * sizeof *w->work);
    if (!w->a || !w->b || !w->S || !w->x || !w->idx || !w->work) {
        snprintf(err, IBC_ERRLEN, "dist: out of memory (D = %ld, nsamp = %ld, nstarts = %ld)", D,
                 nsamp, nstarts);
        return IBC_ENUMERIC;
    }
    ascent as = {f, G, D, w->work, w->work + D, w->work + 2 * D, w->work + 3 * D, w->work + 4 * D,
                 w->work + 5 * D, w->work + 6 * D};
    w->as = as;
    return IBC_OK;
}

static void dist_ws_free(dist_ws *w)
{
    free(w->a);
    free(w->b);
    free(w->S);
    free(w->x);
    free(w->idx);
    free(w->work);
}

/* (1) nsamp random points on the sphere and the structured points: the
 * centers and the two class-average directions (where G's terms are largest
 * and F's neurons point), which are also the first starts. */
static void dist_first_points(dist_ws *w, const ibc_rnet *f, const ibc_rnet *G, const ibc_rnet *cen, long nsamp,
                              dist_rng *rng)
{
    long D = w->D, K = cen ? cen->K : 0, K1 = cen ? cen->K1 : 0;
    double *x = w->x;
    for (long i = 0; i < nsamp; i++, w->np++) {
        rng_sphere(x, D, rng);
        w->a[w->np] = ibc_robust_rnet_eval_d(f, x);
        w->b[w->np] = ibc_robust_rnet_eval_d(G, x);
    }
    for (long k = 0; k < K; k++) {
        memcpy(x, cen->mu + k * D, (size_t)D * sizeof *x);
        if (vec_normalize(x, D))
            structured_point(f, G, x, D, w->a, w->b, &w->np, w->S, &w->nst, w->nstarts);
    }
    for (int cls = 0; cls < 2 && K > 0; cls++) {
        long lo = cls == 0 ? 0 : K1, hi = cls == 0 ? K1 : K;
        if (lo == hi)
            continue;
        memset(x, 0, (size_t)D * sizeof *x);
        for (long k = lo; k < hi; k++)
            for (long d = 0; d < D; d++)
                x[d] += cen->mu[k * D + d];
        if (vec_normalize(x, D))
            structured_point(f, G, x, D, w->a, w->b, &w->np, w->S, &w->nst, w->nstarts);
    }
}

/* (2) the remaining starts: half the best samples at scale c, half fresh
 * random points (the best samples may all sit in one basin).  The chosen
 * samples are regenerated by replaying the generator from rng0, which
 * spares keeping nsamp x D doubles; rng continues after the samples. */
static int dist_more_starts(dist_ws *w, long nsamp, double c, dist_rng rng0, char *err)
{
    long D = w->D, rest = w->nstarts - w->nst, nbest = (rest + 1) / 2;
    if (nbest > nsamp)
        nbest = nsamp;
    if (!top_indices(w->idx, nbest, w->a, w->b, nsamp, c)) {
        snprintf(err, IBC_ERRLEN, "dist: out of memory ranking nsamp = %ld samples", nsamp);
        return IBC_ENUMERIC;
    }
    dist_rng rng = rng0;
    for (long i = 0; i < nsamp; i++) {
        rng_sphere(w->x, D, &rng);
        for (long q = 0; q < nbest; q++)
            if (w->idx[q] == i)
                memcpy(w->S + (w->nst + q) * D, w->x, (size_t)D * sizeof *w->x);
    }
    w->nst += nbest;
    while (w->nst < w->nstarts) {
        rng_sphere(w->S + w->nst * D, D, &rng);
        w->nst++;
    }
    return IBC_OK;
}

/* Room for one more round of finals in the cut points. */
static int dist_grow(dist_ws *w, char *err)
{
    if (w->np + w->nstarts <= w->cap)
        return IBC_OK;
    long ncap = 2 * w->cap > w->np + w->nstarts ? 2 * w->cap : w->np + w->nstarts;
    double *na = realloc(w->a, (size_t)ncap * sizeof *w->a);
    if (na)
        w->a = na;
    double *nb = na ? realloc(w->b, (size_t)ncap * sizeof *w->b) : NULL;
    if (nb)
        w->b = nb;
    if (!na || !nb) {
        snprintf(err, IBC_ERRLEN, "dist: out of memory keeping %ld points", ncap);
        return IBC_ENUMERIC;
    }
    w->cap = ncap;
    return IBC_OK;
}

/* (3) ascend at c_ls from every start, keep the finals, and take the exact
 * best scale over every point so far; (4) ascend again from those finals at
 * the new scale (short: they start near a maximum), and so on.  Each point x
 * is a cut |c f(x) - G(x)| <= h(c) of the convex h(c) = sup_x |c f - G|, and
 * the minimax over the cuts is Kelley's cutting-plane step: stop when the
 * ascent at the new c finds nothing above the cuts' model.  Two rounds are
 * not enough when the maximiser moves with c (the model then undershoots h
 * at its minimum).  Returns the final scale in *c. */
static int dist_kelley(dist_ws *w, ibc_dist_result *res, long steps, double *c, char *err)
{
    double model = 0;
    long short_steps = steps / 4 > 0 ? steps / 4 : (steps > 0 ? 1 : 0);
    *c = res->c_ls;
    for (int round = 0; round < DIST_ROUNDS_MAX; round++) {
        int rc = dist_grow(w, err);
        if (rc != IBC_OK)
            return rc;
        double h = 0;   /* the best residual the ascent finds at c */
        for (long s = 0; s < w->nstarts; s++) {
            double fx, Gx;
            ascend(&w->as, *c, w->S + s * w->D, round == 0 ? steps : short_steps, &fx, &Gx);
            w->a[w->np] = fx;
            w->b[w->np] = Gx;
            w->np++;
            h = fmax(h, fabs(*c * fx - Gx));
        }
        res->starts += w->nstarts;
        if (round > 0 && h <= model * (1 + DIST_KELLEY_RTOL))
            break;   /* no cut above the model at its minimiser: converged */
        model = ibc_robust_dist_minimax_scale(c, w->a, w->b, w->np);
    }
    return IBC_OK;
}

int ibc_robust_dist_ideal(ibc_dist_result *res, const ibc_rnet *f, const ibc_rnet *G, long nsamp,
                          long nstarts, long steps, unsigned long seed, char *err)
{
    memset(res, 0, sizeof *res);
    int rc = dist_args_check(f, G, nsamp, nstarts, steps, err);
    if (rc != IBC_OK)
        return rc;
    const ibc_rnet *cen = G->K > 0 ? G : (f->K > 0 ? f : NULL);
    long K = cen ? cen->K : 0, K1 = cen ? cen->K1 : 0;
    long nstruct = K + (K > 0 && K1 > 0) + (K > 0 && K1 < K);
    dist_ws w;
    rc = dist_ws_alloc(&w, f, G, nsamp, nstarts, nstruct, err);
    if (rc == IBC_OK) {
        dist_rng rng0 = {(uint64_t)seed, 0, 0.0}, rng = rng0;
        dist_first_points(&w, f, G, cen, nsamp, &rng);
        double saa = 0, sab = 0;
        for (long i = 0; i < w.np; i++) {
            saa += w.a[i] * w.a[i];
            sab += w.a[i] * w.b[i];
        }
        /* f = 0 on every point: no scale is informed; 0 is the closure's end. */
        res->c_ls = saa > 0 ? sab / saa : 0.0;
        rc = dist_more_starts(&w, nsamp, res->c_ls, rng0, err);
    }
    double c = 0;
    if (rc == IBC_OK)
        rc = dist_kelley(&w, res, steps, &c, err);
    if (rc == IBC_OK) {
        res->dist = ibc_robust_dist_minimax_scale(&c, w.a, w.b, w.np);
        res->c = c;
        res->points = w.np;
        res->dist_ls = minimax_value(res->c_ls, w.a, w.b, w.np);
        if (!isfinite(res->dist) || !isfinite(res->dist_ls)) {
            snprintf(err, IBC_ERRLEN, "dist: non-finite residual (dist = %g, at c_ls %g)", res->dist,
                     res->dist_ls);
            rc = IBC_ENUMERIC;
        }
    }
    dist_ws_free(&w);
    return rc;
}

/* A network that is identically 0, with G's shape: dist(0, G) = sup |G|
 * (every a_i = 0, so the minimax is max |b_i| over the points found). */
ibc_rnet *ibc_robust_rnet_zero_like(ibc_ideal_kind kind, long D, long K, long K1, double p)
{
    ibc_rnet *z = ibc_robust_rnet_ideal(kind, D, K, K1, p);
    if (z)
        for (long j = 0; j < z->h; j++)
            z->v[j] = 0;
    return z;
}

/* f - G as one network (same exponent): the neurons of both, G's output
 * weights negated.  sup |f - G| = dist(0, f - G), the distance at c = 1. */
ibc_rnet *ibc_robust_rnet_difference(const ibc_rnet *f, const ibc_rnet *G)
{
    ibc_rnet *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    long h = f->h + G->h, D = f->D;
    *d = *f;   /* p, pint and the name; every array is replaced below */
    d->h = h;
    d->K = 0;
    d->mu = NULL;
    d->W = d->U = d->v = d->wn = NULL;
    d->W = malloc((size_t)(h * D) * sizeof(double));
    d->U = malloc((size_t)(h * D) * sizeof(double));
    d->v = malloc((size_t)h * sizeof(double));
    d->wn = malloc((size_t)h * sizeof(double));
    if (!d->W || !d->U || !d->v || !d->wn) {
        ibc_robust_rnet_free(d);
        return NULL;
    }
    memcpy(d->W, f->W, (size_t)(f->h * D) * sizeof(double));
    memcpy(d->W + f->h * D, G->W, (size_t)(G->h * D) * sizeof(double));
    memcpy(d->U, f->U, (size_t)(f->h * D) * sizeof(double));
    memcpy(d->U + f->h * D, G->U, (size_t)(G->h * D) * sizeof(double));
    memcpy(d->wn, f->wn, (size_t)f->h * sizeof(double));
    memcpy(d->wn + f->h, G->wn, (size_t)G->h * sizeof(double));
    memcpy(d->v, f->v, (size_t)f->h * sizeof(double));
    for (long j = 0; j < G->h; j++)
        d->v[f->h + j] = -G->v[j];
    return d;
}

/* G_a = sum_k sign_k a_k sigma(<x, mu_k>)^p with a_k = |f(mu_k)|: the ideal
 * with f's own amplitude at each center.
 * For any c, |c f - G| <= c |f - G_a| + |c G_a - G|, so with c_a below
 *   dist(f, F^(p)) <= c_a sup |f - G_a| + dist(G_a, F^(p)),
 * and dist(G_a, F^(p)) = inf_c max_k |c a_k - 1| = (amax - amin)/(amax + amin)
 * at c_a = 2/(amax + amin), because sum_k w_k sigma(u_k)^p on the sphere
 * (p >= 2) has sup |.| = max_k |w_k| (convex in s_k = sigma(u_k)^2 on the
 * simplex: a vertex; tests/test_robust_dist.c checks the same argument). */
int ibc_robust_dist_split_fp(ibc_dist_split *s, double *amp, const ibc_rnet *f, const ibc_rnet *G, long nsamp,
                             long nstarts, long steps, unsigned long seed, char *err)
{
    memset(s, 0, sizeof *s);
    ibc_rnet *Ga = ibc_robust_rnet_ideal(IBC_IDEAL_FP, G->D, G->K, G->K1, G->p);
    if (Ga) {
        s->amin = INFINITY;
        for (long k = 0; k < G->K; k++) {
            double a = fabs(ibc_robust_rnet_eval_d(f, G->mu + k * G->D));
            if (amp)
                amp[k] = a;
            Ga->v[k] = G->v[k] * a;   /* G's neuron k is mu_k with ||mu_k|| = 1 */
            s->amin = fmin(s->amin, a);
            s->amax = fmax(s->amax, a);
        }
        snprintf(Ga->name, sizeof Ga->name, "G_a");
    }
    ibc_rnet *d = Ga ? ibc_robust_rnet_difference(f, Ga) : NULL;
    ibc_rnet *z = ibc_robust_rnet_zero_like(IBC_IDEAL_FP, G->D, G->K, G->K1, G->p);
    int rc = IBC_OK;
    if (!Ga || !d || !z) {
        snprintf(err, IBC_ERRLEN, "distance split: out of memory");
        rc = IBC_ENUMERIC;
    }
    ibc_dist_result r;
    if (rc == IBC_OK) {
        s->spread = (s->amax - s->amin) / (s->amax + s->amin);
        rc = ibc_robust_dist_ideal(&r, Ga, G, nsamp, nstarts, steps, seed, err);
    }
    if (rc == IBC_OK) {
        s->spread_asc = r.dist;
        rc = ibc_robust_dist_ideal(&r, z, d, nsamp, nstarts, steps, seed, err);
    }
    if (rc == IBC_OK)
        s->shape = 2 / (s->amax + s->amin) * r.dist;
    ibc_robust_rnet_free(Ga);
    ibc_robust_rnet_free(d);
    ibc_robust_rnet_free(z);
    return rc;
}
