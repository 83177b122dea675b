/* robust: attacks, i.e. upper bounds on the l2 (or linf) robustness radius
 * (docs/theory.md §7).  The searches run in double for speed; a radius is only ever
 * returned as ibc_robust_rnet_norm_up(delta) of a delta whose flip
 * ibc_robust_rnet_flipped certified (rigorous double enclosures, then Arb),
 * so rounding in the search can make an attack weaker, never unsound. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/gemm.h"
#include "util/rng.h"   /* random starts: a seed alone fixes them */

/* Arb precision of the flip certificate (ibc_robust_rnet_flipped raises it to 4x
 * when undecided). */
#define CERT_PREC 128
/* Structured attack: grid points of the ray scan, rays refined on the sphere,
 * descent iterations per sphere. */
#define RAY_SCAN 64
#define RAY_REFINE 4
#define RAY_RANK_REL 1e-6   /* crossing accuracy for ranking the rays */
#define RAY_HORIZON 2.0     /* rays are scanned at least this far (structured_ws) */
#define RAY_SCAN_MAX 1024   /* scan points per ray at most (ray_cross) */
#define SPHERE_ITERS 80
/* The structured attack's subspace (structured_ws): at most SUB_ENRICH
 * gradient directions appended; one whose part off the subspace is below
 * SUB_ENRICH_TOL of the gradient is not, and a round that gains less than
 * SUB_ENRICH_GAIN (relative) ends them.  A vector whose part off the basis
 * is below SUB_DROP of its norm adds no basis vector. */
#define SUB_ENRICH 4
#define SUB_ENRICH_TOL 1e-3
#define SUB_ENRICH_GAIN 1e-4
#define SUB_DROP 1e-9
/* Radius bisections (minnorm and the structured shrink): at most this many
 * halvings, or until hi - lo <= BISECT_REL * hi. */
#define BISECT_MAX 25
#define BISECT_REL 1e-4
#define GALLOP 4.0

void ibc_robust_pgd_opts_default(ibc_pgd_opts *o)
{
    o->norm = IBC_NORM_L2;
    o->steps = 2000;
    o->step = 0.1;
    o->restarts = 0;
    o->seed = 0;
}

/* ---------------------------------------------------------------------------
 * Workspace and small helpers
 * ------------------------------------------------------------------------- */

/* Every buffer an attack needs, allocated once per public call so that the
 * inner loops never allocate. */
typedef struct {
    long D;
    double *xd;     /* x + delta */
    double *g;      /* grad f at the current iterate */
    double *g2;     /* grad f at a trial point */
    double *d;      /* current delta */
    double *t;      /* trial delta / scratch */
    double *best;   /* best delta of a search */
    double *s1;     /* scratch deltas of the callers (structured, minnorm) */
    double *s2;
    double *s3;
    double *u;      /* a ray direction */
    double *hist;   /* (BISECT_MAX + 1) x D: a radius search's history */
    double *coef;   /* h: the gradient coefficients of a trial point */
    double *mem;
} attack_ws;

static int ws_init(attack_ws *w, long D, long h)
{
    w->D = D;
    w->mem = calloc((size_t)((10 + BISECT_MAX + 1) * D + h), sizeof(double));
    if (!w->mem)
        return 0;
    w->coef = w->mem + (size_t)((10 + BISECT_MAX + 1) * D);
    w->hist = w->mem + (size_t)10 * (size_t)D;
    double **p[] = {&w->xd, &w->g, &w->g2, &w->d, &w->t, &w->best, &w->s1, &w->s2, &w->s3, &w->u};
    for (int i = 0; i < 10; i++)
        *p[i] = w->mem + (size_t)i * (size_t)D;
    return 1;
}

static void ws_clear(attack_ws *w)
{
    free(w->mem);
}

static double dot(const double *a, const double *b, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void copy(double *dst, const double *src, long n)
{
    memcpy(dst, src, (size_t)n * sizeof(double));
}

/* dst = src * (r / ||src||); zero when src is zero. */
static void rescale(double *dst, const double *src, double r, long n)
{
    double nn = sqrt(dot(src, src, n));
    double s = nn > 0 ? r / nn : 0.0;
    for (long i = 0; i < n; i++)
        dst[i] = src[i] * s;
}

/* y f(x + d) in double; grad f(x + d) into g when g is not NULL.  x + d is
 * rounded here but formed exactly by the certificate: the search point and
 * the certified point are the same delta. */
static double margin_d(const ibc_rnet *f, const double *x, const double *d, int y,
                       double *xd, double *g)
{
    for (long i = 0; i < f->D; i++)
        xd[i] = x[i] + d[i];
    double v = ibc_robust_rnet_grad_d(f, xd, g);
    return y >= 0 ? v : -v;
}

static int certified(const ibc_rnet *f, const double *x, const double *d, int y)
{
    return ibc_robust_rnet_flipped(f, x, d, y, CERT_PREC) == 1;
}

/* Does an iterate with double margin m count as a flip?  With cert, only a
 * certified one.  Inside a radius search a strictly negative double margin
 * suffices (a certificate costs about a hundred gradients; the search
 * certifies its result at the end, see rsearch_finish); a margin of exactly
 * 0 (every neuron off in double) is left to rounding, so it is certified at
 * once. */
static int flip_test(const ibc_rnet *f, const double *x, const double *d, int y, double m,
                     int cert)
{
    if (!(m <= 0))
        return 0;
    if (!cert && m < 0)
        return 1;
    return certified(f, x, d, y);
}

static double rng_gauss(uint64_t *s)
{
    double u1 = 1.0 - ibc_util_rng_unif(s), u2 = ibc_util_rng_unif(s);   /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Random start number i (1-based) for this seed: uniform in the l2 ball of
 * radius eps (Gaussian direction, radius eps U^(1/D)) or in the linf cube.
 * Each start has its own stream, so start i does not depend on how many
 * starts came before it. */
static void random_start(double *d, long D, ibc_norm norm, double eps, unsigned long seed, long i)
{
    uint64_t s = (uint64_t)seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)i);
    ibc_util_rng_next(&s);
    if (norm == IBC_NORM_LINF) {
        for (long k = 0; k < D; k++)
            d[k] = eps * (2.0 * ibc_util_rng_unif(&s) - 1.0);
        return;
    }
    for (long k = 0; k < D; k++)
        d[k] = rng_gauss(&s);
    rescale(d, d, eps * pow(ibc_util_rng_unif(&s), 1.0 / (double)D), D);
}

/* Project d onto the ball of radius eps of the norm. */
static void project(double *d, long D, ibc_norm norm, double eps)
{
    if (norm == IBC_NORM_LINF) {
        for (long k = 0; k < D; k++)
            d[k] = d[k] > eps ? eps : (d[k] < -eps ? -eps : d[k]);
        return;
    }
    double n = sqrt(dot(d, d, D));
    if (n > eps) {
        double s = eps / n;
        for (long k = 0; k < D; k++)
            d[k] *= s;
    }
}

/* ---------------------------------------------------------------------------
 * Radius search shared by the structured shrink and the minimal-norm search
 * ------------------------------------------------------------------------- */

/* Bisection on the radius in (lo, hi], hi a certified flip.  The first
 * probe sits just below hi (BISECT_REL hi) and the gap grows GALLOP-fold
 * while probes succeed; after the first failure it halves (lo, hi).  A flip
 * inside a smaller ball lies inside every larger one, so a failure just
 * below hi says about as much as the halvings from 0 would, and near-optimal
 * starts (the usual case after the structured rays) cost one failed probe
 * instead of about fourteen.  Probes succeed on a negative double margin;
 * every delta that lowered hi is kept, and rsearch_finish returns the
 * newest one whose flip certifies (the first is certified on entry). */
typedef struct {
    double lo, hi, gap;
    int failed, it, n;
    long D;
    double *hist;                   /* n x D, oldest first */
    double rad[BISECT_MAX + 1];     /* their norm bounds, decreasing */
} rsearch;

static void rsearch_init(rsearch *s, double *hist, long n, const double *d0, double r0)
{
    s->lo = 0;
    s->hi = r0;
    s->gap = BISECT_REL * r0;
    s->failed = 0;
    s->it = 0;
    s->D = n;
    s->hist = hist;
    copy(s->hist, d0, s->D);
    s->rad[0] = r0;
    s->n = 1;
}

/* The next radius to probe; 0 when the search is over. */
static int rsearch_next(rsearch *s, double *r)
{
    if (s->it >= BISECT_MAX || !(s->hi > 0) || s->hi - s->lo <= BISECT_REL * s->hi)
        return 0;
    s->it++;
    double mid = 0.5 * (s->lo + s->hi);
    *r = s->failed ? mid : fmax(s->hi - s->gap, mid);
    return 1;
}

/* Outcome of the probe at r: d is its flipped delta, or NULL. */
static void rsearch_update(rsearch *s, double r, const double *d)
{
    double rn = d ? ibc_robust_rnet_norm_up(d, s->D) : INFINITY;
    if (rn < s->hi && s->n <= BISECT_MAX) {
        copy(s->hist + (size_t)s->n * (size_t)s->D, d, s->D);
        s->rad[s->n++] = rn;
        s->hi = rn;
        s->gap *= GALLOP;
        return;
    }
    s->lo = r;
    s->failed = 1;
}

/* The smallest certified flip of the search: out gets it, returns its norm
 * bound. */
static double rsearch_finish(rsearch *s, const ibc_rnet *f, const double *x, int y, double *out)
{
    int i = s->n - 1;
    while (i > 0 && !certified(f, x, s->hist + (size_t)i * (size_t)s->D, y))
        i--;
    copy(out, s->hist + (size_t)i * (size_t)s->D, s->D);
    return s->rad[i];
}

/* ---------------------------------------------------------------------------
 * PGD
 * ------------------------------------------------------------------------- */

/* One PGD run from start (NULL: delta = 0) over the eps ball, ascending the
 * exp loss exp(-y f): its normalised l2 step and its sign step depend only on
 * the direction -y grad f, so the loss value itself is never formed.
 * ws->best / *best_m track the smallest y f seen (across runs: the caller
 * initialises them).  Returns 1 as soon as an iterate passes flip_test;
 * ws->best is then that iterate. */
static int pgd_run(attack_ws *ws, const ibc_rnet *f, const double *x, int y, double eps,
                   const ibc_pgd_opts *o, const double *start, double *best_m, int cert)
{
    long D = f->D;
    double *d = ws->d, *g = ws->g;
    double sgn = y >= 0 ? 1.0 : -1.0;
    double stepl = o->norm == IBC_NORM_LINF ? o->step * eps : o->step;
    /* Certify only when y f beats the last failed attempt: an undecided
     * margin at 0 (all neurons off in double, a sliver on in Arb) would
     * otherwise cost a certificate per step. */
    double cert_below = 0.0;
    int cert_tried = 0;
    if (start) {
        copy(d, start, D);
        project(d, D, o->norm, eps);
    } else {
        memset(d, 0, (size_t)D * sizeof(double));
    }
    for (long it = 0;; it++) {
        double m = margin_d(f, x, d, y, ws->xd, g);
        if (m < *best_m) {
            *best_m = m;
            copy(ws->best, d, D);
        }
        if (m <= 0 && (!cert_tried || m < cert_below)) {
            if (flip_test(f, x, d, y, m, cert)) {
                copy(ws->best, d, D);
                *best_m = m;
                return 1;
            }
            cert_tried = 1;
            cert_below = m;
        }
        if (it >= o->steps)
            break;
        /* Ascent direction of the loss: -y grad f. */
        int moved = 0;
        if (o->norm == IBC_NORM_LINF) {
            for (long k = 0; k < D; k++) {
                double a = -sgn * g[k];
                double nd = d[k] + (a > 0 ? stepl : (a < 0 ? -stepl : 0.0));
                nd = nd > eps ? eps : (nd < -eps ? -eps : nd);
                moved |= nd != d[k];
                d[k] = nd;
            }
        } else {
            double gn = sqrt(dot(g, g, D));
            if (gn == 0)
                break;   /* inactive region: PGD is stuck for good (masking) */
            double s = -sgn * stepl / gn;
            for (long k = 0; k < D; k++)
                ws->t[k] = d[k] + s * g[k];
            project(ws->t, D, o->norm, eps);
            for (long k = 0; k < D; k++) {
                moved |= ws->t[k] != d[k];
                d[k] = ws->t[k];
            }
        }
        /* A fixed point of the (deterministic) step map stays fixed: stopping
         * here gives exactly what the remaining steps would. */
        if (!moved)
            break;
    }
    return 0;
}

/* PGD from the listed starts (NULL = zero), then o->restarts random starts;
 * the best delta lands in ws->best.  Returns 1 on a flip (flip_test). */
static int pgd_multi(attack_ws *ws, const ibc_rnet *f, const double *x, int y, double eps,
                     const ibc_pgd_opts *o, const double *const *starts, int nstarts, int cert)
{
    double best_m = INFINITY;
    for (int i = 0; i < nstarts; i++)
        if (pgd_run(ws, f, x, y, eps, o, starts[i], &best_m, cert))
            return 1;
    for (long r = 1; r <= o->restarts; r++) {
        random_start(ws->s3, f->D, o->norm, eps, o->seed, r);
        if (pgd_run(ws, f, x, y, eps, o, ws->s3, &best_m, cert))
            return 1;
    }
    return 0;
}

int ibc_robust_attack_pgd(double *delta, const ibc_rnet *f, const double *x, int y, double eps,
                          const ibc_pgd_opts *o)
{
    attack_ws ws;
    memset(delta, 0, (size_t)f->D * sizeof(double));
    if (!ws_init(&ws, f->D, f->h))
        return 0;
    if (!(eps > 0) || !isfinite(eps))
        eps = 0;
    const double *starts[1] = {NULL};
    int ok = pgd_multi(&ws, f, x, y, eps, o, starts, 1, 1);
    copy(delta, ws.best, f->D);
    ws_clear(&ws);
    return ok;
}

/* ---------------------------------------------------------------------------
 * Structured attack
 * ------------------------------------------------------------------------- */

/* The structured attack searches S = span(mu_1..mu_K, x), with an
 * orthonormal basis b_1..b_m.  Every ray lies in S, and so does every
 * gradient of F and F^(p) there; a trained network's neurons sit near S
 * (the centers, or their class sums, plus init-scale residue).  With
 * z0_j = <x, u_j> and P = U B^T (h x m), computed once per point,
 * <x + B^T c, u_j> = z0_j + (P c)_j: a margin in S costs h m operations
 * instead of h D (at the paper's size, D = 1000 and m = 11, a descent step
 * of microseconds instead of a millisecond).  Where the search in S ends,
 * the full gradient's part off S becomes one more basis vector (up to
 * SUB_ENRICH times), so the directions off S that the network does use are
 * searched too.  The same reals as margin_d, rounded differently: every flip
 * found is lifted to d = B^T c and certified in R^D, so the search only
 * proposes. */
typedef struct {
    long h, D, K, m, cap;
    double *B;       /* cap x D rows, orthonormal; the first m in use */
    double *cx;      /* cap: the coordinates of x */
    double *cmu;     /* K x cap: those of the centers */
    double *P;       /* h x cap, row-major: P_ji = <b_i, u_j> */
    double *z0, *a, *du, *coef;   /* h: <x, u_j>, v_j ||w_j||, the ray's <u, u_j>, scratch */
    double *beta, *g, *g2, *t, *d;   /* cap: a ray's direction, the descent's buffers */
    double *hist;    /* (RAY_REFINE + 1) x (BISECT_MAX + 1) x cap: the radius searches */
    double *mem;
} sub_space;

static void sub_clear(sub_space *S)
{
    free(S->mem);
}

/* Coordinates of v (length D) on the basis into coords (cap), and v's part
 * off span(B) appended as b_m when it is not negligible (SUB_DROP of ||v||;
 * Gram-Schmidt twice, so that B stays orthonormal to rounding).  r: D
 * scratch.  Returns 1 when a vector was appended. */
static int sub_add(sub_space *S, const double *v, double *coords, double *r)
{
    long D = S->D;
    copy(r, v, D);
    memset(coords, 0, (size_t)S->cap * sizeof(double));
    for (int pass = 0; pass < 2; pass++)
        for (long i = 0; i < S->m; i++) {
            const double *b = S->B + i * D;
            double c = dot(r, b, D);
            coords[i] += c;
            for (long k = 0; k < D; k++)
                r[k] -= c * b[k];
        }
    double vn = sqrt(dot(v, v, D)), rn = sqrt(dot(r, r, D));
    if (S->m >= S->cap || !(rn > SUB_DROP * vn))
        return 0;
    double *b = S->B + S->m * D;
    for (long k = 0; k < D; k++)
        b[k] = r[k] / rn;
    coords[S->m++] = rn;
    return 1;
}

/* P's column i = U b_i. */
static void sub_column(sub_space *S, const ibc_rnet *f, long i)
{
    ibc_prec_gemv_d(0, S->h, S->D, f->U, S->B + i * S->D, S->coef);
    for (long j = 0; j < S->h; j++)
        S->P[j * S->cap + i] = S->coef[j];
}

/* Basis of span(mu_1..mu_K, x), P, z0 and a.  r: D scratch.  0 when out of
 * memory. */
static int sub_init(sub_space *S, const ibc_rnet *f, const double *x, double *r)
{
    long h = f->h, D = f->D, K = f->K, cap = K + 1 + SUB_ENRICH;
    size_t nh = (size_t)h, nc = (size_t)cap;
    memset(S, 0, sizeof *S);
    S->h = h;
    S->D = D;
    S->K = K;
    S->cap = cap;
    size_t hs = (size_t)(RAY_REFINE + 1) * (BISECT_MAX + 1) * nc;
    S->mem = calloc(nc * (size_t)D + nc + (size_t)K * nc + nh * nc + 4 * nh + 5 * nc + hs, sizeof(double));
    if (!S->mem)
        return 0;
    double *p = S->mem;
    double **bufs[] = {&S->B, &S->cx, &S->cmu, &S->P, &S->z0, &S->a, &S->du, &S->coef,
                       &S->beta, &S->g, &S->g2, &S->t, &S->d, &S->hist};
    size_t len[] = {nc * (size_t)D, nc, (size_t)K * nc, nh * nc, nh, nh, nh, nh, nc, nc, nc, nc, nc, hs};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        *bufs[i] = p;
        p += len[i];
    }
    for (long k = 0; k < K; k++)
        sub_add(S, f->mu + k * D, S->cmu + k * cap, r);
    sub_add(S, x, S->cx, r);
    /* the first m columns of P in one product (h x m) */
    double *Pm = malloc(sizeof(double) * nh * (size_t)S->m);
    if (!Pm)
        return 0;
    ibc_prec_gemm_d(0, 1, h, S->m, D, f->U, S->B, Pm);
    for (long j = 0; j < h; j++)
        for (long i = 0; i < S->m; i++)
            S->P[j * cap + i] = Pm[j * S->m + i];
    free(Pm);
    ibc_prec_gemv_d(0, h, D, f->U, x, S->z0);
    for (long j = 0; j < h; j++)
        S->a[j] = f->v[j] * f->wn[j];
    return 1;
}

/* y f(x + B^T c) in double; S->coef keeps its gradient coefficients for
 * sub_grad. */
static double sub_margin(sub_space *S, const ibc_rnet *f, int y, const double *c)
{
    long m = S->m, cap = S->cap;
    for (long j = 0; j < S->h; j++) {
        const double *pj = S->P + j * cap;
        double z = S->z0[j];
        for (long i = 0; i < m; i++)
            z += pj[i] * c[i];
        S->coef[j] = z;
    }
    double v = ibc_robust_rnet_units_d(f, S->coef);
    return y >= 0 ? v : -v;
}

/* The gradient in coordinates, B grad f = P^T coef, of the last sub_margin. */
static void sub_grad(const sub_space *S, double *g)
{
    long m = S->m, cap = S->cap;
    memset(g, 0, (size_t)cap * sizeof(double));
    for (long j = 0; j < S->h; j++) {
        double cj = S->coef[j];
        if (cj == 0)
            continue;
        const double *pj = S->P + j * cap;
        for (long i = 0; i < m; i++)
            g[i] += cj * pj[i];
    }
}

/* d = B^T c (length D). */
static void sub_lift(const sub_space *S, const double *c, double *d)
{
    memset(d, 0, (size_t)S->D * sizeof(double));
    for (long i = 0; i < S->m; i++) {
        const double *b = S->B + i * S->D;
        for (long k = 0; k < S->D; k++)
            d[k] += c[i] * b[k];
    }
}

/* Ray number i: (k, l, kind) decoded from i; its unit direction in
 * coordinates into S->beta and its projections <u, u_j> into S->du.  Kind 0
 * is (mu_k + mu_l)/2 - x, kind 1 is mu_l - mu_k.  Returns 0 when the
 * direction is degenerate. */
static int sub_ray(sub_space *S, int y, long i, long K1)
{
    long K = S->K, m = S->m, cap = S->cap;
    long own0 = y >= 0 ? 0 : K1;
    long opp0 = y >= 0 ? K1 : 0, nopp = y >= 0 ? K - K1 : K1;
    long kind = i % 2, pair = i / 2;
    long k = own0 + pair / nopp, l = opp0 + pair % nopp;
    const double *ck = S->cmu + k * cap, *cl = S->cmu + l * cap;
    for (long j = 0; j < cap; j++)
        S->beta[j] = kind == 0 ? 0.5 * (ck[j] + cl[j]) - S->cx[j] : cl[j] - ck[j];
    double n = sqrt(dot(S->beta, S->beta, cap));
    if (!(n > 0))
        return 0;
    for (long j = 0; j < cap; j++)
        S->beta[j] /= n;
    for (long j = 0; j < S->h; j++) {
        const double *pj = S->P + j * cap;
        double s = 0;
        for (long q = 0; q < m; q++)
            s += pj[q] * S->beta[q];
        S->du[j] = s;
    }
    return 1;
}

static double ray_margin(const sub_space *S, const ibc_rnet *f, int y, double t)
{
    double s = 0;
    for (long j = 0; j < S->h; j++) {
        double z = S->z0[j] + t * S->du[j];
        if (z > 0)
            s += S->a[j] * ibc_robust_rnet_sigma_pow_d(f, z);
    }
    return y >= 0 ? s : -s;
}

/* Smallest flipping t in (0, limit] along the current ray of S, in double:
 * scan on a fixed grid up to tmax, then bisection down to relative width rel.
 * Returns the double crossing (y f <= 0 there in double), +inf if none. */
static double ray_cross(const sub_space *S, const ibc_rnet *f, int y, double tmax, double limit, double rel)
{
    double lo = 0, hi = -1;
    /* One grid for every tmax up to 32, RAY_SCAN points per RAY_HORIZON
     * (the points of tmax = 2 exactly): a ray crossing below both of two
     * budgets is found at the same point under either.  Beyond, at most
     * RAY_SCAN_MAX points (the CLI allows tmax up to 1e6). */
    double step = RAY_HORIZON / RAY_SCAN;
    long nscan = (long)ceil(tmax / step);
    if (nscan > RAY_SCAN_MAX) {
        nscan = RAY_SCAN_MAX;
        step = tmax / RAY_SCAN_MAX;
    }
    for (long i = 1; i <= nscan; i++) {
        /* step = 2^-5 on the fixed grid: step i is exact, the old points */
        double t = fmin(step * (double)i, tmax);   /* the last: tmax */
        if (t > limit)
            break;
        if (ray_margin(S, f, y, t) <= 0) {
            hi = t;
            break;
        }
        lo = t;
    }
    if (hi < 0)
        return INFINITY;
    for (int it = 0; it < 60 && hi - lo > rel * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (ray_margin(S, f, y, mid) <= 0)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* Certify the flip at t u for t just beyond the double crossing tc: the
 * double crossing can sit a rounding error on the wrong side of the exact
 * one, so step out by growing relative amounts (never past tmax).  d gets
 * the certified delta; returns its norm bound, +inf if none certifies. */
static double ray_certify(const ibc_rnet *f, const double *x, int y, const double *u,
                          double tc, double tmax, double *d)
{
    static const double grow[] = {0.0, 0x1p-40, 0x1p-30, 0x1p-20, 0x1p-12, 0x1p-6};
    double prev = -1;
    for (size_t i = 0; i < sizeof grow / sizeof grow[0]; i++) {
        double t = fmin(tc * (1.0 + grow[i]), tmax);
        if (t == prev)
            break;
        prev = t;
        for (long k = 0; k < f->D; k++)
            d[k] = t * u[k];
        if (certified(f, x, d, y))
            return ibc_robust_rnet_norm_up(d, f->D);
    }
    return INFINITY;
}

/* Descent of y f(x + B^T c) on the sphere ||c|| = r of S from c (rescaled to
 * r): normalised Riemannian gradient steps with backtracking, stopping at the
 * first y f <= 0 (double).  Returns the final y f. */
static double sphere_descent(sub_space *S, const ibc_rnet *f, int y, double *c, double r)
{
    long n = S->cap;   /* coordinates past m stay 0 */
    double sgn = y >= 0 ? 1.0 : -1.0;
    double *g = S->g, *t = S->t;
    rescale(c, c, r, n);
    double m = sub_margin(S, f, y, c);
    sub_grad(S, g);
    double s = 0.25;   /* step as a fraction of r */
    for (int it = 0; it < SPHERE_ITERS && m > 0; it++) {
        /* tangent part of grad (y f) = sgn g */
        double cc = dot(g, c, n) / (r * r);
        double n2 = 0;
        for (long k = 0; k < n; k++) {
            t[k] = sgn * (g[k] - cc * c[k]);
            n2 += t[k] * t[k];
        }
        if (n2 == 0)
            break;   /* stationary on the sphere, or no active neuron */
        double a = s * r / sqrt(n2);
        for (long k = 0; k < n; k++)
            t[k] = c[k] - a * t[k];
        rescale(t, t, r, n);
        double mt = sub_margin(S, f, y, t);
        if (mt < m) {
            sub_grad(S, g);   /* the trial's coefficients: its gradient */
            copy(c, t, n);
            m = mt;
            s = fmin(2.0 * s, 1.0);
        } else {
            s *= 0.5;
            if (s < 1e-9)
                break;
        }
    }
    return m;
}

/* Radius search in S from c0 (a flip in double at radius r0), into the
 * history slot given: shrink the radius while the descent on the sphere
 * still flips (a strictly negative double margin; rsearch). */
static void sphere_shrink(sub_space *S, const ibc_rnet *f, int y, rsearch *s, double *hist,
                          const double *c0, double r0)
{
    double r;
    rsearch_init(s, hist, S->cap, c0, r0);
    while (rsearch_next(s, &r)) {
        copy(S->d, s->hist + (size_t)(s->n - 1) * (size_t)S->cap, S->cap);
        double m = sphere_descent(S, f, y, S->d, r);
        rsearch_update(s, r, m < 0 ? S->d : NULL);
    }
}

/* The newest delta of search s (newest first, down to entry first) whose
 * lift certifies and beats best: d gets it, returns its norm bound (best
 * when none does). */
static double sub_certify(const sub_space *S, const ibc_rnet *f, const double *x, int y,
                          const rsearch *s, int first, double best, double *d)
{
    for (int i = s->n - 1; i >= first; i--) {
        sub_lift(S, s->hist + (size_t)i * (size_t)S->cap, d);
        double r = ibc_robust_rnet_norm_up(d, S->D);
        if (!(r < best))
            return best;   /* older entries are larger still */
        if (certified(f, x, d, y))
            return r;
    }
    return best;
}

/* Core of ibc_robust_attack_structured, on a caller's workspace: out (length D)
 * gets the best delta; out must not alias a workspace buffer other than s1. */
static double structured_ws(attack_ws *ws, double *out, const ibc_rnet *f, const double *x,
                            int y, double tmax)
{
    long D = f->D, K = f->K, K1 = f->K1;
    /* The rays are scanned out to RAY_HORIZON at least, whatever tmax: a ray
     * that crosses beyond tmax can still shrink below it on the sphere, and
     * a budget eps must not find less than the scan to 2 does (F at
     * alpha = 0.2: a cut scan missed 531 of 1351 flips within eps,
     * tests/test_repro_pieces.c).  The result counts only when <= tmax. */
    double scan = fmax(tmax, RAY_HORIZON);
    memset(out, 0, (size_t)D * sizeof(double));
    if (K <= 0 || K1 <= 0 || K1 >= K || !(tmax > 0))
        return INFINITY;
    memset(ws->d, 0, (size_t)D * sizeof(double));
    if (certified(f, x, ws->d, y))
        return 0.0;   /* already misclassified: radius 0 */
    long nrays = 2 * K1 * (K - K1);
    sub_space S;
    if (!sub_init(&S, f, x, ws->t)) {
        sub_clear(&S);
        return INFINITY;
    }
    long cap = S.cap;
    /* The RAY_REFINE smallest ray crossings (double), ascending, with their
     * ray numbers; only those are refined. */
    double top_r[RAY_REFINE];
    long top_i[RAY_REFINE];
    int ntop = 0;
    for (long i = 0; i < nrays; i++) {
        if (!sub_ray(&S, y, i, K1))
            continue;
        /* Only a ray that beats the current RAY_REFINE-th best can matter. */
        double limit = ntop == RAY_REFINE ? top_r[RAY_REFINE - 1] : scan;
        double r = ray_cross(&S, f, y, scan, limit, RAY_RANK_REL);
        if (!(r < INFINITY) || (ntop == RAY_REFINE && !(r < top_r[RAY_REFINE - 1])))
            continue;
        int j = ntop < RAY_REFINE ? ntop++ : RAY_REFINE - 1;
        while (j > 0 && top_r[j - 1] > r) {
            top_r[j] = top_r[j - 1];
            top_i[j] = top_i[j - 1];
            j--;
        }
        top_r[j] = r;
        top_i[j] = i;
    }
    /* Each ray's radius search in S, in double; slot RAY_REFINE is the
     * enriched search below. */
    rsearch srch[RAY_REFINE + 1];
    double tc[RAY_REFINE];
    size_t slot = (size_t)(BISECT_MAX + 1) * (size_t)cap;
    int best_ray = -1;
    for (int j = 0; j < ntop; j++) {
        sub_ray(&S, y, top_i[j], K1);
        tc[j] = ray_cross(&S, f, y, scan, scan, 1e-13);
        for (long q = 0; q < cap; q++)
            S.t[q] = tc[j] * S.beta[q];
        sphere_shrink(&S, f, y, &srch[j], S.hist + (size_t)j * slot, S.t, tc[j]);
        if (best_ray < 0 || srch[j].hi < srch[best_ray].hi)
            best_ray = j;
    }
    /* Enrichment: where the best search ended, the full gradient's part off
     * S is the direction S lacks most; append it and search again, while
     * that part is not negligible and the search still gains. */
    int nenr = 0;   /* enrichment rounds searched */
    if (best_ray >= 0) {
        const rsearch *from = &srch[best_ray];
        for (int e = 0; e < SUB_ENRICH; e++) {
            const double *cb = from->hist + (size_t)(from->n - 1) * (size_t)cap;
            sub_lift(&S, cb, ws->d);
            for (long k = 0; k < D; k++)
                ws->xd[k] = x[k] + ws->d[k];
            double gn = 0;
            ibc_robust_rnet_grad_d(f, ws->xd, ws->g);
            gn = sqrt(dot(ws->g, ws->g, D));
            long m0 = S.m;
            if (!(gn > 0) || !sub_add(&S, ws->g, S.g2, ws->t))
                break;
            if (!(S.g2[m0] > SUB_ENRICH_TOL * gn)) {
                S.m--;   /* S already holds the gradient (to first order) */
                break;
            }
            sub_column(&S, f, m0);
            copy(S.t, cb, cap);
            double r0 = from->hi;
            sphere_shrink(&S, f, y, &srch[RAY_REFINE], S.hist + (size_t)RAY_REFINE * slot, S.t, r0);
            nenr++;
            if (!(srch[RAY_REFINE].hi < r0 * (1 - SUB_ENRICH_GAIN)))
                break;
            /* the next round starts from this one's newest entry, which
             * becomes its entry 0 (the slot is reused) */
            from = &srch[RAY_REFINE];
        }
    }
    /* Certify: the searches in order of their double radius, each from its
     * newest entry back; a ray's start (its crossing) last, by stepping out
     * along the ray.  Stop when no search left can beat the best. */
    double best = INFINITY;
    int done[RAY_REFINE + 1] = {0};
    for (;;) {
        int j = -1;
        for (int q = 0; q <= RAY_REFINE; q++)
            if (!done[q] && (q < ntop || (q == RAY_REFINE && nenr)) && (j < 0 || srch[q].hi < srch[j].hi))
                j = q;
        if (j < 0 || !(srch[j].hi < best))
            break;
        done[j] = 1;
        /* Entry 0 of a ray's search is its crossing (certified below, along
         * the ray); that of the enriched search is an entry of a ray's
         * search after one round, of the previous round after more. */
        double r = sub_certify(&S, f, x, y, &srch[j], j == RAY_REFINE && nenr > 1 ? 0 : 1, best, ws->s2);
        if (r < best) {
            best = r;
            copy(out, ws->s2, D);
            continue;
        }
        if (j == RAY_REFINE || !(tc[j] < best))
            continue;
        sub_ray(&S, y, top_i[j], K1);
        sub_lift(&S, S.beta, ws->u);
        r = ray_certify(f, x, y, ws->u, tc[j], scan, ws->s2);
        if (r < best) {
            best = r;
            copy(out, ws->s2, D);
        }
    }
    sub_clear(&S);
    if (!(best <= tmax)) {
        memset(out, 0, (size_t)D * sizeof(double));
        return INFINITY;   /* a flip, but beyond the budget */
    }
    return best;
}

double ibc_robust_attack_structured(double *delta, const ibc_rnet *f, const double *x, int y, double tmax)
{
    attack_ws ws;
    memset(delta, 0, (size_t)f->D * sizeof(double));
    if (!ws_init(&ws, f->D, f->h))
        return INFINITY;
    double r = structured_ws(&ws, ws.s1, f, x, y, tmax);
    copy(delta, ws.s1, f->D);
    ws_clear(&ws);
    return r;
}

/* ---------------------------------------------------------------------------
 * Minimal-norm search
 * ------------------------------------------------------------------------- */

/* Radius search (rsearch) below the best certified flip of the structured
 * attack (use_struct) and of PGD at tmax.  At each radius PGD runs from the
 * rescaled structured delta and the rescaled current best (use_struct only),
 * from 0, and from o->restarts random starts. */
static double minnorm(double *delta, const ibc_rnet *f, const double *x, int y, double tmax,
                      const ibc_pgd_opts *o, int use_struct)
{
    long D = f->D;
    attack_ws ws;
    memset(delta, 0, (size_t)D * sizeof(double));
    if (!(tmax > 0) || !ws_init(&ws, D, f->h))
        return INFINITY;
    double *sdel = ws.s1, *bdel = ws.s2;   /* structured delta, best delta */
    double best = INFINITY, rs = INFINITY;
    if (use_struct && f->K > 0) {
        rs = structured_ws(&ws, sdel, f, x, y, tmax);
        if (rs < best) {
            best = rs;
            copy(bdel, sdel, D);
        }
    }
    const double *z[1] = {NULL};
    if (best > 0 && pgd_multi(&ws, f, x, y, tmax, o, z, 1, 1)) {
        double r = ibc_robust_rnet_norm_up(ws.best, D);
        if (r < best) {
            best = r;
            copy(bdel, ws.best, D);
        }
    }
    if (!(best < INFINITY)) {
        ws_clear(&ws);
        return INFINITY;
    }
    double r;
    rsearch srch;
    rsearch_init(&srch, ws.hist, D, bdel, best);
    while (rsearch_next(&srch, &r)) {
        /* The rescaled starts live in delta and ws.u: pgd_run touches
         * neither. */
        const double *newest = srch.hist + (size_t)(srch.n - 1) * (size_t)D;
        const double *starts[3];
        int ns = 0;
        if (use_struct) {
            if (rs < INFINITY) {
                rescale(delta, sdel, r, D);
                starts[ns++] = delta;
            }
            if (!(rs < INFINITY) || memcmp(newest, sdel, (size_t)D * sizeof(double)) != 0) {
                rescale(ws.u, newest, r, D);
                starts[ns++] = ws.u;
            }
        }
        starts[ns++] = NULL;
        int ok = pgd_multi(&ws, f, x, y, r, o, starts, ns, 0);
        rsearch_update(&srch, r, ok ? ws.best : NULL);
    }
    double out = rsearch_finish(&srch, f, x, y, delta);
    ws_clear(&ws);
    return out;
}

double ibc_robust_attack_minnorm(double *delta, const ibc_rnet *f, const double *x, int y, double tmax,
                                 const ibc_pgd_opts *o)
{
    return minnorm(delta, f, x, y, tmax, o, 1);
}

double ibc_robust_attack_minnorm_pgd(double *delta, const ibc_rnet *f, const double *x, int y,
                                     double tmax, const ibc_pgd_opts *o)
{
    return minnorm(delta, f, x, y, tmax, o, 0);
}
