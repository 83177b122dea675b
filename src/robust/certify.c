/* robust: certified lower bounds on the l2 radius of a pReLU network
 * (docs/theory.md §7: the lower end of every bracket).
 *
 * Two bounds, both rigorous for the exact double point x and the exact double
 * weights:
 *  - IBP: each projection <x + delta, w^_j> lies within r of <x, w^_j>, so
 *    y f >= sum_j a_j sigma(z0_j +- r)^p in Arb.  Sound but blind to the fact
 *    that one delta cannot move every neuron by r at once.
 *  - separable: project delta on nearly orthonormal directions q_1..q_m; each
 *    neuron reads one coordinate t_k = <delta, q_k> plus a residual of size at
 *    most r rho_j, so y f(x + delta) >= sum_k g_k(t_k) with sum_k t_k^2 <=
 *    (1 + eta) r^2.  Each g_k is bounded below on a grid of t-cells and the
 *    sum is minimised over the ball by a knapsack DP over a squared-budget
 *    grid.  After training the neurons sit on ~K directions, so this sees
 *    the true geometry (e.g. sqrt2/2 for F^(3) at a center, where IBP gives
 *    about 1/2).
 *
 * Rigour of the separable bound's inner loops: they run in double, every
 * operation followed by one step outward (nextafter), so each stored number
 * is a bound on the exact real it stands for; the DP's sums are plain
 * round-to-nearest and an explicit bound on their error is subtracted.  That
 * is ~25x faster than Arb balls (measured 580 ns per sigma^p ball) and the
 * grid needs h * N of them per radius tried.  Non-integer p has no
 * correctly-bounded double power, so its units go through Arb
 * (ibc_ideal_sigma_pow_arb), slower but the same bound.
 *
 * Grid sizes by measurement (tests/test_robust_certify): 400 cells and 1200
 * budget steps put lo within 1-2.5% of the exact radius of F^(p) at the
 * centers and of F at noisy points, and within 0.02 of the attacks on the
 * trained default networks, at about 10 ms per point (h = 100, D = 30). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"
#include "directed.h"

#define CERT_PREC 128          /* setup balls: norms, projections, Gram matrix */
#define CERT_IBP_ITERS 34      /* bisection halvings of [0, rmax] */
#ifndef CERT_CELLS
#define CERT_CELLS 400         /* t-cells over [-sqrt B, sqrt B] (even) */
#endif
#ifndef CERT_BUDGET
#define CERT_BUDGET 1200       /* budget steps over B */
#endif
#ifndef CERT_EVALS
#define CERT_EVALS 10          /* separable evaluations per basis */
#endif
#define CERT_TOL 0.003         /* stop when the slack bracket is this narrow (relative) */
#define CERT_EXT 1.25          /* cells span this times the slack radius */
#define CERT_WEIGHT_FLOOR 1e-6 /* neurons lighter than this * max weight need no own direction */
#define CERT_CLUSTER_COS 0.9

/* A basis and each active neuron's place on it: w^_j = c_j q_k(j) + e_j with
 * ||e_j|| <= rho_j; sum_k <delta, q_k>^2 <= (1 + eta) ||delta||^2. */
typedef struct {
    long m, D;
    double *Q;               /* m x D */
    double eta;
    long *k;                 /* per active neuron */
    double *c, *rho;
    double max_slack;        /* max rho over neurons above the weight floor */
} cert_basis;

/* The network's part of every bound, the same at every point: the active
 * neurons, a_j = v_j ||w_j|| for y = +1 (y = -1 negates), the norms, and
 * both bases with every neuron's place on them.  Built once per network
 * (ibc_robust_certify_prepare): at the paper's size it is ~10^7 ball operations,
 * which per point would dominate the certificate. */
struct ibc_cert_net {
    const ibc_rnet *f;
    long n;                  /* active neurons: w_j != 0 and v_j != 0 */
    long *idx;               /* their indices in f */
    double *al, *au;         /* a_j for y = +1, length n */
    double *nl, *nh;         /* ||w_j||, length h (0 for inactive neurons) */
    double *wt;              /* |v_j| ||w_j|| (double; for clustering only) */
    double wmax;
    arb_t e;                 /* the exponent p */
    long pint;               /* integer exponent (fast path) or 0 */
    cert_basis basis[2];     /* clusters, centers (m = 0: none) */
};

/* One point's part: a_j = y v_j ||w_j|| in [al, au] and z0_j = <x, w^_j>
 * in [zl, zu], per active neuron. */
typedef struct {
    const struct ibc_cert_net *net;
    long n, pint;
    double *al, *au, *zl, *zu;
    double *zl_all, *zu_all; /* per neuron of f */
} cert_ctx;

/* Work space for one evaluation of the separable bound. */
typedef struct {
    double *t;               /* N + 1 grid points */
    double *u;               /* 2 (N + 1): one unit's bounds at them, scratch */
    double *G;               /* m x N cell lower bounds */
    long *ncell;             /* first budget index at which a cell counts */
    double *phi;             /* phi_k(n), n = 0..Nmax */
    double *V, *Vn;          /* DP tables */
    long *bn;                /* breakpoints of one phi_k */
    double *bv;
    long cap;                /* allocated budget length */
} cert_work;

static void arb_bounds_d(double *lo, double *hi, const arb_t x)
{
    arf_t t;
    arf_init(t);
    arb_get_lbound_arf(t, x, CERT_PREC);
    *lo = arf_get_d(t, ARF_RND_FLOOR);
    arb_get_ubound_arf(t, x, CERT_PREC);
    *hi = arf_get_d(t, ARF_RND_CEIL);
    arf_clear(t);
}

static double arb_ubound_d(const arb_t x)
{
    double lo, hi;
    arb_bounds_d(&lo, &hi, x);
    return hi;
}

static void ctx_clear(cert_ctx *c)
{
    free(c->al);
    free(c->au);
    free(c->zl);
    free(c->zu);
    free(c->zl_all);
    free(c->zu_all);
}

static int ctx_init(cert_ctx *c, const struct ibc_cert_net *net, const double *x, int y)
{
    long h = net->f->h, n = net->n;
    memset(c, 0, sizeof *c);
    c->net = net;
    c->n = n;
    c->pint = net->pint;
    size_t sz = (size_t)(n > 0 ? n : 1) * sizeof(double);
    c->al = malloc(sz);
    c->au = malloc(sz);
    c->zl = malloc(sz);
    c->zu = malloc(sz);
    c->zl_all = malloc((size_t)h * sizeof(double));
    c->zu_all = malloc((size_t)h * sizeof(double));
    if (!c->al || !c->au || !c->zl || !c->zu || !c->zl_all || !c->zu_all)
        return IBC_ENUMERIC;
    ibc_robust_rnet_proj_enclose(net->f, x, net->nl, net->nh, c->zl_all, c->zu_all);
    for (long i = 0; i < n; i++) {
        c->zl[i] = c->zl_all[net->idx[i]];
        c->zu[i] = c->zu_all[net->idx[i]];
        c->al[i] = y < 0 ? -net->au[i] : net->al[i];
        c->au[i] = y < 0 ? -net->al[i] : net->au[i];
    }
    return IBC_OK;
}

static double unit_lower(const cert_ctx *c, long i, double cj, double t, double slack);

/* ------------------------------------------------------------------------
 * IBP
 * ---------------------------------------------------------------------- */

/* Is y f > 0 on the whole ball of radius r?  Each <delta, w^_j> is in [-r, r]
 * because ||w^_j|| = 1 exactly (the real unit vector, not a rounding); each
 * unit's lower bound and their sum are rounded down. */
static int ibp_certifies(const cert_ctx *c, double r)
{
    double s = 0;
    for (long i = 0; i < c->n; i++)
        s = ibc_robust_dn(s + unit_lower(c, i, 0.0, 0.0, r));
    return s > 0;
}

static double ibp_radius(const cert_ctx *c, double rmax)
{
    double lo = 0, hi = rmax;
    if (ibp_certifies(c, rmax))
        return rmax;
    for (int it = 0; it < CERT_IBP_ITERS; it++) {
        double mid = 0.5 * (lo + hi);
        if (ibp_certifies(c, mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ------------------------------------------------------------------------
 * Bases
 * ---------------------------------------------------------------------- */

static void basis_clear(cert_basis *b)
{
    free(b->Q);
    free(b->k);
    free(b->c);
    free(b->rho);
    memset(b, 0, sizeof *b);
}

static int basis_alloc(cert_basis *b, long mcap, long D, long n)
{
    memset(b, 0, sizeof *b);
    b->D = D;
    b->Q = calloc((size_t)(mcap * D), sizeof(double));
    b->k = malloc((size_t)(n > 0 ? n : 1) * sizeof(long));
    b->c = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    b->rho = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    return (b->Q && b->k && b->c && b->rho) ? IBC_OK : IBC_ENUMERIC;
}

static double dot_d(const double *a, const double *b, long D)
{
    double s = 0;
    for (long d = 0; d < D; d++)
        s += a[d] * b[d];
    return s;
}

/* eta >= ||Q Q^T - I||_F >= ||Q Q^T - I||_2, so ||Q delta||^2 <= (1 + eta)
 * ||delta||^2: Q is a rounded (nearly) orthonormal set and this pays for
 * the rounding. */
static double basis_eta(const cert_basis *b)
{
    long m = b->m, D = b->D;
    arb_t g, s, t, u;
    arb_init(g);
    arb_init(s);
    arb_init(t);
    arb_init(u);
    arb_zero(s);
    for (long k = 0; k < m; k++) {
        for (long l = k; l < m; l++) {
            arb_zero(g);
            for (long d = 0; d < D; d++) {
                double qa = b->Q[k * D + d], qb = b->Q[l * D + d];
                if (qa == 0 || qb == 0)
                    continue;
                arb_set_d(t, qa);
                arb_set_d(u, qb);
                arb_addmul(g, t, u, CERT_PREC);
            }
            if (k == l)
                arb_sub_ui(g, g, 1, CERT_PREC);
            arb_sqr(g, g, CERT_PREC);
            if (k != l)
                arb_mul_2exp_si(g, g, 1);
            arb_add(s, s, g, CERT_PREC);
        }
    }
    arb_sqrt(s, s, CERT_PREC);
    double eta = arb_ubound_d(s);
    arb_clear(g);
    arb_clear(s);
    arb_clear(t);
    arb_clear(u);
    return eta;
}

/* Assigns every active neuron to its nearest direction and bounds the
 * residual e_j = w^_j - c_j q_k (c_j is any exact double: the decomposition
 * is an identity, only rho_j depends on the choice).  In double, bounded a
 * priori: with n~ = f->wn[j] (a double near ||w_j||) and e~ = w/n~ - c q
 * rounded per entry,
 *   ||e_j|| <= ||e~|| + 2^-52 (||w||/n~ + |c| ||q|| + ||e~||)   (3 roundings)
 *            + ||w|| |1/||w|| - 1/n~|                          (n~ inexact),
 * with ||q|| <= sqrt(1 + eta).  rho_j is ~1e-2 on trained nets, so the
 * bound's ~1e-16 costs nothing; Arb balls here were most of a certificate. */
static void basis_assign(cert_basis *b, const struct ibc_cert_net *c)
{
    const ibc_rnet *f = c->f;
    long D = b->D;
    double qn = ibc_robust_up(sqrt(ibc_robust_up(1 + b->eta)));
    b->max_slack = 0;
    for (long i = 0; i < c->n; i++) {
        long j = c->idx[i];
        const double *uj = f->U + j * D, *w = f->W + j * D;
        long kb = 0;
        double cb = 0;
        for (long k = 0; k < b->m; k++) {
            double ck = dot_d(uj, b->Q + k * D, D);
            if (fabs(ck) > fabs(cb)) {
                cb = ck;
                kb = k;
            }
        }
        b->k[i] = kb;
        b->c[i] = cb;
        const double *q = b->Q + kb * D;
        double nt = f->wn[j], nl = c->nl[j], nh = c->nh[j], ss = 0;
        for (long d = 0; d < D; d++) {
            double e = w[d] / nt - cb * q[d];
            ss += e * e;
        }
        double en = ibc_robust_up(sqrt(ibc_robust_sumsq_up(ss, D)));
        double wr = ibc_robust_up(nh / nt);   /* ||w|| / n~ */
        double e1 = ibc_robust_up(0x1p-52 * ibc_robust_up(ibc_robust_up(wr + ibc_robust_up(fabs(cb) * qn)) + en));
        double inv = fmax(fabs(ibc_robust_up(1 / nl) - ibc_robust_dn(1 / nt)), fabs(ibc_robust_up(1 / nt) - ibc_robust_dn(1 / nh)));
        double e2 = ibc_robust_up(nh * ibc_robust_up(inv));
        b->rho[i] = (nt > 0 && isfinite(en)) ? ibc_robust_up(ibc_robust_up(en + e1) + e2) : INFINITY;
        if (c->wt[i] >= CERT_WEIGHT_FLOOR * c->wmax && b->rho[i] > b->max_slack)
            b->max_slack = b->rho[i];
    }
}

/* Basis (i): the centers, as the data gave them (rounded; eta pays). */
static int basis_centers(cert_basis *b, const struct ibc_cert_net *c)
{
    const ibc_rnet *f = c->f;
    if (basis_alloc(b, f->K, f->D, c->n))
        return IBC_ENUMERIC;
    b->m = f->K;
    memcpy(b->Q, f->mu, (size_t)(f->K * f->D) * sizeof(double));
    b->eta = basis_eta(b);
    basis_assign(b, c);
    return IBC_OK;
}

/* Basis (ii): greedy clusters of neuron directions.  The heaviest unassigned
 * neuron collects every unassigned neuron within CERT_CLUSTER_COS of it (up
 * to sign); the cluster's direction is their weighted mean, orthogonalised
 * against the directions before it.  This finds mu+/sqrt K1 for ReLU nets
 * and for F, which the centers basis cannot represent. */
static int basis_clusters(cert_basis *b, const struct ibc_cert_net *c)
{
    const ibc_rnet *f = c->f;
    long D = f->D, n = c->n;
    if (basis_alloc(b, D, D, n))
        return IBC_ENUMERIC;
    char *done = calloc((size_t)(n > 0 ? n : 1), 1);
    double *dir = malloc((size_t)D * sizeof(double));
    if (!done || !dir) {
        free(done);
        free(dir);
        return IBC_ENUMERIC;
    }
    double floor_w = CERT_WEIGHT_FLOOR * c->wmax;
    while (b->m < D) {
        long i0 = -1;
        for (long i = 0; i < n; i++)
            if (!done[i] && c->wt[i] >= floor_w && (i0 < 0 || c->wt[i] > c->wt[i0]))
                i0 = i;
        if (i0 < 0)
            break;
        const double *u0 = f->U + c->idx[i0] * D;
        memset(dir, 0, (size_t)D * sizeof(double));
        for (long i = 0; i < n; i++) {
            if (done[i])
                continue;
            const double *ui = f->U + c->idx[i] * D;
            double cs = dot_d(ui, u0, D);
            if (fabs(cs) < CERT_CLUSTER_COS)
                continue;
            double wgt = cs > 0 ? c->wt[i] : -c->wt[i];
            for (long d = 0; d < D; d++)
                dir[d] += wgt * ui[d];
            done[i] = 1;
        }
        double n0 = sqrt(dot_d(dir, dir, D));
        if (!(n0 > 0))
            continue;
        for (long d = 0; d < D; d++)
            dir[d] /= n0;
        for (int pass = 0; pass < 2; pass++)
            for (long k = 0; k < b->m; k++) {
                double pk = dot_d(dir, b->Q + k * D, D);
                for (long d = 0; d < D; d++)
                    dir[d] -= pk * b->Q[k * D + d];
            }
        double n1 = sqrt(dot_d(dir, dir, D));
        /* A direction mostly inside the span already found adds nothing the
         * nearest existing q cannot carry with a residual. */
        if (!(n1 > 0.1))
            continue;
        for (long d = 0; d < D; d++)
            b->Q[b->m * D + d] = dir[d] / n1;
        b->m++;
    }
    free(done);
    free(dir);
    if (b->m == 0)
        return IBC_ENUMERIC;
    b->eta = basis_eta(b);
    basis_assign(b, c);
    return IBC_OK;
}

/* ------------------------------------------------------------------------
 * The separable bound at one slack radius s
 * ---------------------------------------------------------------------- */

static void work_clear(cert_work *w)
{
    free(w->t);
    free(w->u);
    free(w->G);
    free(w->ncell);
    free(w->phi);
    free(w->V);
    free(w->Vn);
    free(w->bn);
    free(w->bv);
    memset(w, 0, sizeof *w);
}

static int work_alloc(cert_work *w, long m)
{
    memset(w, 0, sizeof *w);
    w->cap = CERT_BUDGET + m + 8;
    w->t = malloc((CERT_CELLS + 1) * sizeof(double));
    w->u = malloc(2 * (CERT_CELLS + 1) * sizeof(double));
    w->G = malloc((size_t)(m * CERT_CELLS) * sizeof(double));
    w->ncell = malloc(CERT_CELLS * sizeof(long));
    w->phi = malloc((size_t)w->cap * sizeof(double));
    w->V = malloc((size_t)w->cap * sizeof(double));
    w->Vn = malloc((size_t)w->cap * sizeof(double));
    w->bn = malloc((size_t)w->cap * sizeof(long));
    w->bv = malloc((size_t)w->cap * sizeof(double));
    return (w->t && w->u && w->G && w->ncell && w->phi && w->V && w->Vn && w->bn && w->bv) ? IBC_OK
                                                                                    : IBC_ENUMERIC;
}

/* sigma(z)^p for a point z, its lower (dir < 0) or upper bound, non-integer p. */
static double sigma_pow_arb_d(const cert_ctx *c, double z, int dir)
{
    if (z <= 0)
        return 0.0;
    arb_t b;
    arb_init(b);
    arb_set_d(b, z);
    ibc_ideal_sigma_pow_arb(b, b, c->net->e, 53);
    double lo, hi;
    arb_bounds_d(&lo, &hi, b);
    arb_clear(b);
    return dir < 0 ? (lo > 0 ? lo : 0.0) : hi;
}

/* Lower bound of a_j sigma(z0_j + c_j t + s)^p over |s| <= slack (exact t):
 * a_j >= 0 needs the smallest z, a_j < 0 the largest. */
static double unit_lower(const cert_ctx *c, long i, double cj, double t, double slack)
{
    double al = c->al[i], s;
    if (al >= 0) {
        double z = ibc_robust_dn(ibc_robust_dn(c->zl[i] + ibc_robust_dn(cj * t)) - slack);
        s = z <= 0 ? 0.0 : (c->pint ? ibc_robust_pow_dir(z, c->pint, -1) : sigma_pow_arb_d(c, z, -1));
    } else {
        double z = ibc_robust_up(ibc_robust_up(c->zu[i] + ibc_robust_up(cj * t)) + slack);
        s = z <= 0 ? 0.0 : (c->pint ? ibc_robust_pow_dir(z, c->pint, 1) : sigma_pow_arb_d(c, z, 1));
    }
    return ibc_robust_dn(al * s);
}

/* unit_lower at every grid point t[0..n-1] into out, for an integer p:
 * the same bound with branch-free rounding (directed.h's wdn/wup), so that
 * the compiler vectorizes the loop over the grid (the separable bound's
 * inner loop: h N evaluations per radius tried). */
static void unit_lower_grid(const cert_ctx *c, long i, double cj, const double *t, long n, double slack,
                            double *out, double *z)
{
    double al = c->al[i];
    int lower = al >= 0;   /* a_j >= 0 needs the smallest z, a_j < 0 the largest */
    double z0 = lower ? c->zl[i] : c->zu[i];
    if (lower)
        for (long q = 0; q < n; q++)
            z[q] = ibc_robust_wdn(ibc_robust_wdn(z0 + ibc_robust_wdn(cj * t[q])) - slack);
    else
        for (long q = 0; q < n; q++)
            z[q] = ibc_robust_wup(ibc_robust_wup(z0 + ibc_robust_wup(cj * t[q])) + slack);
    for (long q = 0; q < n; q++) {
        z[q] = z[q] > 0 ? z[q] : 0.0;
        out[q] = z[q];
    }
    /* the powers one pass per factor, each pass a vector loop */
    for (long k = 1; k < c->pint; k++)
        if (lower)
            for (long q = 0; q < n; q++)
                out[q] = ibc_robust_wdn(out[q] * z[q]);
        else
            for (long q = 0; q < n; q++)
                out[q] = ibc_robust_wup(out[q] * z[q]);
    for (long q = 0; q < n; q++)
        out[q] = ibc_robust_wdn(al * out[q]);
}

/* floor(B(r) / Delta) + m with B(r) >= (1 + eta) r^2: any t with
 * sum t_k^2 <= (1 + eta) r^2 has sum_k ceil(t_k^2 / Delta) <= this. */
static long budget_index(double r, double eta1, double delta, long m)
{
    double B = ibc_robust_up(eta1 * ibc_robust_up(r * r));
    return (long)floor(ibc_robust_up(B / delta)) + m;
}

/* The separable bound with slack terms at radius s (valid for every r <= s:
 * a larger slack only loosens) and cells covering radius ext >= s.  Returns
 * the largest certified r <= s (or 0); *ropt gets the radius up to ext that
 * the same cells would certify if the slack at s sufficed there: not a
 * certificate, a guess of where the fixed point R(s) = s lies. */
static double sep_eval(const cert_ctx *c, const cert_basis *b, cert_work *w, double s,
                       double ext, double *ropt)
{
    const long N = CERT_CELLS, m = b->m;
    double eta1 = ibc_robust_up(1.0 + b->eta);
    double Bs = ibc_robust_up(eta1 * ibc_robust_up(ext * ext));
    *ropt = 0;
    double T = ibc_robust_up(sqrt(Bs));
    double delta = Bs / CERT_BUDGET;
    if (!(delta > 0) || !isfinite(T))
        return 0.0;
    long Nmax = budget_index(ext, eta1, delta, m);
    if (Nmax + 1 > w->cap)
        return 0.0;   /* cannot happen: Nmax is CERT_BUDGET + m + rounding */

    /* The cells [t_i, t_i+1] cover [-T, T]: t_i = T (2i - N)/N is monotone
     * in i with exact ends. */
    for (long i = 0; i <= N; i++)
        w->t[i] = T * ((double)(2 * i - N) / (double)N);
    for (long i = 0; i < m * N; i++)
        w->G[i] = 0.0;
    for (long i = 0; i < c->n; i++) {
        double *G = w->G + b->k[i] * N;
        double cj = b->c[i], slack = ibc_robust_up(s * b->rho[i]);
        /* g is monotone in t inside a cell (z is linear in t, sigma^p monotone),
         * so the smaller end bound holds over the cell. */
        if (c->pint) {
            unit_lower_grid(c, i, cj, w->t, N + 1, slack, w->u, w->u + N + 1);
            for (long q = 0; q < N; q++) {
                double lo = w->u[q] < w->u[q + 1] ? w->u[q] : w->u[q + 1];
                G[q] = ibc_robust_wdn(G[q] + lo);
            }
            continue;
        }
        double prev = unit_lower(c, i, cj, w->t[0], slack);
        for (long q = 0; q < N; q++) {
            double cur = unit_lower(c, i, cj, w->t[q + 1], slack);
            G[q] = ibc_robust_dn(G[q] + (prev < cur ? prev : cur));
            prev = cur;
        }
    }
    for (long i = 0; i < m * N; i++)
        if (!isfinite(w->G[i]))
            return 0.0;
    /* ncell: a cell can hold t with t^2 <= n Delta only if dist(cell, 0)^2 <=
     * n Delta, i.e. n >= floor(lower bound of dist^2 / Delta). */
    for (long q = 0; q < N; q++) {
        double a = w->t[q], bq = w->t[q + 1];
        double d = (a <= 0 && bq >= 0) ? 0.0 : fmin(fabs(a), fabs(bq));
        double lb = ibc_robust_dn(ibc_robust_dn(d * d) / delta);
        w->ncell[q] = lb > (double)Nmax ? Nmax + 1 : (long)floor(lb > 0 ? lb : 0.0);
    }
    /* DP: V(n) = min over allocations with sum n_k <= n of sum phi_k(n_k).
     * phi_k is a non-increasing step function, so only its breakpoints (the
     * smallest n' of each value) need trying. */
    double S = 0.0;   /* sum_k max |phi_k|: scales the DP's rounding error */
    for (long k = 0; k < m; k++) {
        const double *G = w->G + k * N;
        double *phi = w->phi;
        for (long n = 0; n <= Nmax; n++)
            phi[n] = INFINITY;
        for (long q = 0; q < N; q++)
            if (w->ncell[q] <= Nmax && G[q] < phi[w->ncell[q]])
                phi[w->ncell[q]] = G[q];
        for (long n = 1; n <= Nmax; n++)
            if (phi[n - 1] < phi[n])
                phi[n] = phi[n - 1];
        if (!isfinite(phi[0]))
            return 0.0;   /* the central cell always counts: cannot happen */
        double mx = fmax(fabs(phi[0]), fabs(phi[Nmax]));
        S = ibc_robust_up(S + mx);
        long nb = 0;
        for (long n = 0; n <= Nmax; n++)
            if (n == 0 || phi[n] < phi[n - 1]) {
                w->bn[nb] = n;
                w->bv[nb] = phi[n];
                nb++;
            }
        if (k == 0) {
            memcpy(w->V, phi, (size_t)(Nmax + 1) * sizeof(double));
            continue;
        }
        double *restrict V = w->V, *restrict Vn = w->Vn;
        for (long n = 0; n <= Nmax; n++)
            Vn[n] = V[n] + w->bv[0];
        for (long bi = 1; bi < nb; bi++) {
            long o = w->bn[bi];
            double v = w->bv[bi];
            /* min-plus convolution, written as a select: the same values
             * as "if (cand < Vn[n]) Vn[n] = cand" (no NaN here), without
             * the branch that mispredicted on about half the entries, and
             * vectorized (this loop was 56% of `reproduce small.yaml`). */
            for (long n = o; n <= Nmax; n++) {
                double cand = V[n - o] + v;
                Vn[n] = cand < Vn[n] ? cand : Vn[n];
            }
        }
        w->V = Vn;
        w->Vn = V;
    }
    /* A sum of m terms in round-to-nearest errs by at most (m-1) u / (1 - (m-1) u)
     * times the sum of their magnitudes; 2 m u covers it (u = 2^-53). */
    double E = ibc_robust_up(ibc_robust_up(2.0 * (double)m * 0x1p-53) * S);
    long nstar = -1;
    for (long n = Nmax; n >= m; n--)
        if (w->V[n] > E) {
            nstar = n;
            break;
        }
    if (nstar < 0)
        return 0.0;
    double r = ext;
    if (nstar < Nmax) {
        r = sqrt((double)(nstar - m) * delta / eta1) * (1 - 0x1p-40);
        while (r > 0 && budget_index(r, eta1, delta, m) > nstar)
            r = ibc_robust_dn(r * (1 - 0x1p-30));
        if (!(r > 0))
            r = 0.0;
    }
    *ropt = r;
    return r > s ? s : r;
}

/* The fixed point of s -> R(s), the radius certified with slack at s: R
 * falls as s grows, R(s) >= s certifies all of s, R(s) < s still certifies
 * R(s).  Each step evaluates near the best certified radius with cells
 * spanning a little further (ext), so that a success also says how far to
 * jump; a success that certifies its whole span doubles the span.  start
 * is the first guess (twice the IBP radius: the separable bound is rarely
 * further off).  floor > 0: a radius already certified otherwise; the search
 * starts just above it and gives up at once if it fails there. */
static double sep_radius(const cert_ctx *c, const cert_basis *b, double rmax, double start,
                         double floor_r)
{
    cert_work w;
    if (work_alloc(&w, b->m)) {
        work_clear(&w);
        return 0.0;
    }
    /* hi: the smallest slack radius that failed, or rmax; hi_full: it failed
     * with cells spanning hi only (the finest grid for it). */
    double best = 0, hi = rmax, grow = CERT_EXT, ropt;
    double s = fmin(rmax, floor_r > 0 ? floor_r * (1 + CERT_TOL) : start);
    double ext = s >= hi ? s : fmin(hi, s * grow);
    int hi_full = 0;
    for (int it = 0; it < CERT_EVALS; it++) {
        double r = sep_eval(c, b, &w, s, ext, &ropt);
        double next;
        if (it == 0 && floor_r > 0 && r < s) {
            best = r;
            break;
        }
        if (r >= s) {
            best = s;
            if (s >= rmax)
                break;
            grow = (ropt >= ext && ext < hi) ? 2 * grow : CERT_EXT;
            next = fmin(hi, ropt);
            if (next >= hi && hi_full)
                next = 0.5 * (s + hi);
        } else {
            hi = s;
            hi_full = ext <= s;
            if (r > best)
                best = r;
            grow = CERT_EXT;
            next = best > 0 ? best * (1 + CERT_TOL) : 0.25 * hi;
            if (next >= hi && !hi_full)
                next = 0.5 * (best + hi);
        }
        if (next <= best * (1 + 0.5 * CERT_TOL) || (next >= hi && hi_full) ||
            hi - best <= CERT_TOL * hi)
            break;
        s = next;
        ext = s >= hi ? s : fmin(hi, s * grow);
    }
    work_clear(&w);
    return best;
}

/* ------------------------------------------------------------------------
 * The entry point
 * ---------------------------------------------------------------------- */

void ibc_robust_certify_free(ibc_cert_net *c)
{
    if (!c)
        return;
    free(c->idx);
    free(c->al);
    free(c->au);
    free(c->nl);
    free(c->nh);
    free(c->wt);
    arb_clear(c->e);
    basis_clear(&c->basis[0]);
    basis_clear(&c->basis[1]);
    free(c);
}

/* The active neurons, enclosures of their norms (Dot2) and of
 * a_j = v_j ||w_j||, then both bases. */
ibc_cert_net *ibc_robust_certify_prepare(const ibc_rnet *f)
{
    long h = f->h, D = f->D;
    ibc_cert_net *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->f = f;
    arb_init(c->e);
    arb_set_d(c->e, f->p);
    c->pint = f->pint;
    c->idx = malloc((size_t)h * sizeof(long));
    c->al = malloc((size_t)h * sizeof(double));
    c->au = malloc((size_t)h * sizeof(double));
    c->nl = calloc((size_t)h, sizeof(double));
    c->nh = calloc((size_t)h, sizeof(double));
    c->wt = malloc((size_t)h * sizeof(double));
    if (!c->idx || !c->al || !c->au || !c->nl || !c->nh || !c->wt) {
        ibc_robust_certify_free(c);
        return NULL;
    }
    for (long j = 0; j < h; j++) {
        const double *w = f->W + j * D;
        long i = c->n;
        double v = f->v[j];
        if (v == 0 || !ibc_robust_norm_enclose_dot2(w, D, c->nl + j, c->nh + j)) {
            int zero = 1;
            for (long d = 0; d < D && zero; d++)
                zero = w[d] == 0;
            c->nl[j] = c->nh[j] = 0;
            if (zero || v == 0)
                continue;   /* contributes nothing to f */
            /* ||w|| not bounded away from 0 in double (subnormal weights):
             * a unit of size below 2^-500, enclosed as [0, its bound] */
            ibc_robust_norm_enclose_dot2(w, D, c->nl + j, c->nh + j);
        }
        c->al[i] = v > 0 ? ibc_robust_dn(v * c->nl[j]) : ibc_robust_dn(v * c->nh[j]);
        c->au[i] = v > 0 ? ibc_robust_up(v * c->nh[j]) : ibc_robust_up(v * c->nl[j]);
        c->wt[i] = fabs(v) * f->wn[j];
        if (c->wt[i] > c->wmax)
            c->wmax = c->wt[i];
        c->idx[i] = j;
        c->n++;
    }
    /* The clustered basis (it always exists and suits every trained net),
     * then the centers.  A basis that cannot be built is left empty. */
    if (basis_clusters(&c->basis[0], c) != IBC_OK)
        basis_clear(&c->basis[0]);
    if (f->K > 0 && basis_centers(&c->basis[1], c) != IBC_OK)
        basis_clear(&c->basis[1]);
    return c;
}

int ibc_robust_certify_radius(ibc_cert_result *res, const ibc_rnet *f, const double *x, int y,
                              double rmax, char *err)
{
    ibc_cert_net *c = f ? ibc_robust_certify_prepare(f) : NULL;
    if (f && !c) {
        if (err)
            snprintf(err, IBC_ERRLEN, "certify: out of memory (h = %ld)", f->h);
        return IBC_ENUMERIC;
    }
    int rc = ibc_robust_certify_radius_net(res, c, x, y, rmax, err);
    ibc_robust_certify_free(c);
    return rc;
}

int ibc_robust_certify_radius_net(ibc_cert_result *res, const ibc_cert_net *net, const double *x, int y,
                                  double rmax, char *err)
{
    const ibc_rnet *f = net ? net->f : NULL;
    if (!res || !f || !x) {
        if (err)
            snprintf(err, IBC_ERRLEN, "certify: NULL argument");
        return IBC_EINPUT;
    }
    memset(res, 0, sizeof *res);
    if (!(rmax > 0) || !isfinite(rmax)) {
        if (err)
            snprintf(err, IBC_ERRLEN, "certify: rmax = %g, must be finite and > 0", rmax);
        return IBC_EINPUT;
    }
    if (y != 1 && y != -1) {
        if (err)
            snprintf(err, IBC_ERRLEN, "certify: y = %d, must be +1 or -1", y);
        return IBC_EINPUT;
    }
    for (long d = 0; d < f->D; d++)
        if (!isfinite(x[d])) {
            if (err)
                snprintf(err, IBC_ERRLEN, "certify: x[%ld] = %g, must be finite", d, x[d]);
            return IBC_EINPUT;
        }
    if (ibc_robust_rnet_flipped(f, x, NULL, y, CERT_PREC) != 0) {
        res->misclassified = 1;
        return IBC_OK;
    }
    cert_ctx c;
    int rc = ctx_init(&c, net, x, y);
    if (rc) {
        ctx_clear(&c);
        if (err)
            snprintf(err, IBC_ERRLEN, "certify: out of memory (h = %ld)", f->h);
        return rc;
    }
    res->lo_ibp = ibp_radius(&c, rmax);
    /* The clustered basis first, then the centers, which need only try to
     * beat it. */
    double best = -1;
    for (int which = 0; which < 2; which++) {
        const cert_basis *b = &net->basis[which];
        if (b->m > 0) {
            double start = res->lo_ibp > 0 ? 2 * res->lo_ibp : rmax;
            double r = sep_radius(&c, b, rmax, start, best > 0 ? best : 0.0);
            if (r > best) {
                best = r;
                res->nbasis = b->m;
                res->max_slack = b->max_slack;
            }
        }
    }
    ctx_clear(&c);
    res->lo = best > res->lo_ibp ? best : res->lo_ibp;
    return IBC_OK;
}
