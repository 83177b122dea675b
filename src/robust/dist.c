/* robust: the distance of a classifier to an ideal one (THEORY §4, §7),
 * dist(f, G) = inf_{c>0} sup_{||x||=1} |c f(x) - G(x)|, estimated as MV24
 * §5.1 did: a least-squares scale, projected gradient ascent of the residual
 * on the sphere from many starts, and the exact best scale for the points
 * found.  The ascent finds local maxima, so for each c the maximum over the
 * points found is a LOWER estimate of the sup over the sphere; the inf over
 * c of a lower estimate is a lower estimate of dist.  Nothing here is
 * certified: this is the authors' measurement, made reproducible. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The minimiser over c >= 0 (the closure of THEORY's c > 0: g is continuous,
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
double ibc_dist_minimax_scale(double *c, const double *a, const double *b, long n)
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

static uint64_t rng_u64(dist_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* In (0, 1): the log below never sees 0. */
static double rng_unif(dist_rng *r) { return ((double)(rng_u64(r) >> 11) + 0.5) * 0x1p-53; }

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

typedef struct {
    const ibc_rnet *f, *G;
    long D;
    double *gf, *gG, *dir, *y, *gfy, *gGy;   /* work, length D each */
} ascent;

/* r = c f(x) - G(x) and its gradient pieces at x (into gf, gG). */
static double residual(const ascent *as, double c, const double *x, double *gf, double *gG,
                       double *fx, double *Gx)
{
    *fx = ibc_rnet_grad_d(as->f, x, gf);
    *Gx = ibc_rnet_grad_d(as->G, x, gG);
    return c * *fx - *Gx;
}

/* Moves x (unit) uphill on |c f - G| for up to 'steps' trial points: a step
 * of length eta along the tangent part of sign(r) grad r, accepted only when
 * |r| grows (then eta grows by 1.5), halved otherwise.  Accepting only
 * increases makes the final x the best point of its path; the residual is
 * piecewise smooth (ReLU kinks), which the shrinking step tolerates.
 * *fx, *Gx get f and G at the final x. */
static void ascend(ascent *as, double c, double *x, long steps, double *fx, double *Gx)
{
    long D = as->D;
    double r = residual(as, c, x, as->gf, as->gG, fx, Gx);
    double eta = 0.1;
    for (long it = 0; it < steps && eta > 1e-13; it++) {
        double s = r >= 0 ? 1.0 : -1.0, xd = 0;
        for (long d = 0; d < D; d++) {
            as->dir[d] = s * (c * as->gf[d] - as->gG[d]);
            xd += as->dir[d] * x[d];
        }
        for (long d = 0; d < D; d++)
            as->dir[d] -= xd * x[d];
        double nd = vec_norm(as->dir, D);
        if (!(nd > 0))
            break;   /* a critical point on the sphere (or every neuron off) */
        for (long d = 0; d < D; d++)
            as->y[d] = x[d] + eta * as->dir[d] / nd;
        if (!vec_normalize(as->y, D)) {
            eta *= 0.5;
            continue;
        }
        double fy, Gy;
        double ry = residual(as, c, as->y, as->gfy, as->gGy, &fy, &Gy);
        if (fabs(ry) > fabs(r)) {
            memcpy(x, as->y, (size_t)D * sizeof *x);
            memcpy(as->gf, as->gfy, (size_t)D * sizeof *x);
            memcpy(as->gG, as->gGy, (size_t)D * sizeof *x);
            r = ry;
            *fx = fy;
            *Gx = Gy;
            eta = fmin(1.5 * eta, 1.0);
        } else {
            eta *= 0.5;
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

int ibc_dist_ideal(ibc_dist_result *res, const ibc_rnet *f, const ibc_rnet *G, long nsamp,
                   long nstarts, long steps, unsigned long seed, char *err)
{
    memset(res, 0, sizeof *res);
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
    long D = f->D;
    /* The structured points: the centers and the two class-average
     * directions (where G's terms are largest and F's neurons point). */
    const ibc_rnet *cen = G->K > 0 ? G : (f->K > 0 ? f : NULL);
    long K = cen ? cen->K : 0, K1 = cen ? cen->K1 : 0;
    long nstruct = K + (K > 0 && K1 > 0) + (K > 0 && K1 < K);
    long ntot = nsamp + nstruct + 2 * nstarts;   /* samples, structure, two rounds of finals */

    double *a = malloc((size_t)ntot * sizeof *a), *b = malloc((size_t)ntot * sizeof *b);
    double *S = malloc((size_t)(nstarts * D) * sizeof *S);   /* starting/final points */
    double *x = malloc((size_t)D * sizeof *x);
    long *idx = malloc((size_t)nstarts * sizeof *idx);
    ascent as = { f, G, D, NULL, NULL, NULL, NULL, NULL, NULL };
    double *work = malloc((size_t)(6 * D) * sizeof *work);
    int rc = IBC_OK;
    if (!a || !b || !S || !x || !idx || !work) {
        snprintf(err, IBC_ERRLEN, "dist: out of memory (D = %ld, nsamp = %ld, nstarts = %ld)", D,
                 nsamp, nstarts);
        rc = IBC_ENUMERIC;
        goto done;
    }
    as.gf = work;
    as.gG = work + D;
    as.dir = work + 2 * D;
    as.y = work + 3 * D;
    as.gfy = work + 4 * D;
    as.gGy = work + 5 * D;

    /* (1) samples and structured points, then c by least squares. */
    dist_rng rng = { (uint64_t)seed, 0, 0.0 };
    dist_rng rng0 = rng;   /* replayed below to regenerate chosen samples */
    long np = 0;
    for (long i = 0; i < nsamp; i++, np++) {
        rng_sphere(x, D, &rng);
        a[np] = ibc_rnet_eval_d(f, x);
        b[np] = ibc_rnet_eval_d(G, x);
    }
    double *sp = S;   /* the structured points are also the first starts */
    long nst = 0;
    for (long k = 0; k < K; k++) {
        memcpy(x, cen->mu + k * D, (size_t)D * sizeof *x);
        if (!vec_normalize(x, D))
            continue;
        a[np] = ibc_rnet_eval_d(f, x);
        b[np] = ibc_rnet_eval_d(G, x);
        np++;
        if (nst < nstarts) {
            memcpy(sp + nst * D, x, (size_t)D * sizeof *x);
            nst++;
        }
    }
    for (int cls = 0; cls < 2 && K > 0; cls++) {
        long lo = cls == 0 ? 0 : K1, hi = cls == 0 ? K1 : K;
        if (lo == hi)
            continue;
        memset(x, 0, (size_t)D * sizeof *x);
        for (long k = lo; k < hi; k++)
            for (long d = 0; d < D; d++)
                x[d] += cen->mu[k * D + d];
        if (!vec_normalize(x, D))
            continue;
        a[np] = ibc_rnet_eval_d(f, x);
        b[np] = ibc_rnet_eval_d(G, x);
        np++;
        if (nst < nstarts) {
            memcpy(sp + nst * D, x, (size_t)D * sizeof *x);
            nst++;
        }
    }
    double saa = 0, sab = 0;
    for (long i = 0; i < np; i++) {
        saa += a[i] * a[i];
        sab += a[i] * b[i];
    }
    /* f = 0 on every point: no scale is informed; 0 is the closure's end. */
    res->c_ls = saa > 0 ? sab / saa : 0.0;

    /* (2) the remaining starts: half the best samples at c_ls, half fresh
     * random points (the best samples may all sit in one basin). */
    long rest = nstarts - nst, nbest = (rest + 1) / 2;
    if (nbest > nsamp)
        nbest = nsamp;
    if (!top_indices(idx, nbest, a, b, nsamp, res->c_ls)) {
        snprintf(err, IBC_ERRLEN, "dist: out of memory ranking nsamp = %ld samples", nsamp);
        rc = IBC_ENUMERIC;
        goto done;
    }
    /* Replaying the generator regenerates the chosen samples without
     * keeping nsamp x D doubles. */
    rng = rng0;
    for (long i = 0; i < nsamp; i++) {
        rng_sphere(x, D, &rng);
        for (long q = 0; q < nbest; q++)
            if (idx[q] == i)
                memcpy(S + (nst + q) * D, x, (size_t)D * sizeof *x);
    }
    nst += nbest;
    while (nst < nstarts) {
        rng_sphere(S + nst * D, D, &rng);
        nst++;
    }

    /* (3) ascend at c_ls from every start, keep the finals, and take the
     * exact best scale over every point so far; (4) once more from those
     * finals at the new scale (short: they start near a maximum). */
    double c = res->c_ls;
    long round_steps[2] = { steps, steps / 4 > 0 ? steps / 4 : (steps > 0 ? 1 : 0) };
    for (int round = 0; round < 2; round++) {
        for (long s = 0; s < nstarts; s++) {
            double fx, Gx;
            ascend(&as, c, S + s * D, round_steps[round], &fx, &Gx);
            a[np] = fx;
            b[np] = Gx;
            np++;
        }
        res->starts += nstarts;
        res->dist = ibc_dist_minimax_scale(&c, a, b, np);
    }
    res->c = c;
    res->points = np;
    res->dist_ls = minimax_value(res->c_ls, a, b, np);
    if (!isfinite(res->dist) || !isfinite(res->dist_ls)) {
        snprintf(err, IBC_ERRLEN, "dist: non-finite residual (dist = %g, at c_ls %g)", res->dist,
                 res->dist_ls);
        rc = IBC_ENUMERIC;
    }
done:
    free(a);
    free(b);
    free(S);
    free(x);
    free(idx);
    free(work);
    return rc;
}
