/* Claim `extremal-vectors` (docs/theory.md §6): the critical points of the
 * population objective G_p on the sphere, certified in ball arithmetic.
 *
 *  - p = 3, 4: for every center mu_k, Krawczyk's method proves a unique
 *    critical point u* in a box around mu_k, and Cholesky in ball arithmetic
 *    proves the Riemannian Hessian there negative definite for positive
 *    centers (a strict local maximum) and positive definite for negative
 *    ones (a strict minimum).  Second method: G sampled on a small geodesic
 *    circle around u* lies below (above) G(u*).
 *  - p = 1, alpha > 0: mu_k is not critical (the certified Riemannian
 *    gradient is nonzero, and equals the closed form sqrt(K-1)/(2K) since
 *    Phi(0) = 1/2 pulls towards the other centers of the class); G_1 rises
 *    towards another center of the class; the maximiser near mu+/sqrt(K1)
 *    (minimiser near mu-/sqrt(K2)) is certified, strict, and tilted away
 *    from the other class.
 *  - p = 2, alpha = 0: degenerate.  Every point of the arc between two
 *    positive centers is critical, with an exactly zero tangent Hessian
 *    eigenvalue along the arc (balls containing 0), and G_2 = 1/K on the
 *    whole positive orthant of span{mu_k : k in K+}.
 * Everything runs in K coordinates at cfg->prec_hi bits of Arb. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/align.h"
#include "claim/claims.h"

#define EV_ID "extremal-vectors"
#define EV_SRC "§6"

typedef struct {
    const ibc_config *cfg;
    slong prec;
    char prs[24];
    ibc_rows *out;
} ev_ctx;

/* A bound of the ball x as a double rounded outward: upper (mode 0),
 * upper of |x| (mode 1) or lower (mode -1). */
static double ev_bound(const arb_t x, int mode)
{
    arf_t u;
    arf_init(u);
    if (mode > 0) arb_get_abs_ubound_arf(u, x, 53);
    else if (mode == 0) arb_get_ubound_arf(u, x, 53);
    else arb_get_lbound_arf(u, x, 53);
    double r = arf_get_d(u, mode < 0 ? ARF_RND_DOWN : ARF_RND_UP);
    arf_clear(u);
    return r;
}

/* Upper bound on |c - target|_2, c a ball vector. */
static double ev_dist_ub(arb_srcptr c, const double *target, long K, slong prec)
{
    arb_t s, d;
    arb_init(s);
    arb_init(d);
    for (long k = 0; k < K; k++) {
        arb_set_d(d, target[k]);
        arb_sub(d, c + k, d, prec);
        arb_addmul(s, d, d, prec);
    }
    arb_sqrtpos(s, s, prec);
    double r = ev_bound(s, 0);
    arb_clear(s);
    arb_clear(d);
    return r;
}

/* Half-width of the inf-norm ball around target inside the proved box:
 * rad - |box center - target|_inf (rounded down). */
static double ev_unique_radius(const ibc_align_critical *cp, const double *target, long K)
{
    double off = 0;
    for (long k = 0; k < K; k++)
        off = fmax(off, fabs(arf_get_d(arb_midref(cp->box + k), ARF_RND_NEAR) - target[k]));
    return (cp->rad - off) * (1 - 1e-12);
}

static void ev_row(ev_ctx *e, const char *what, const char *measured, const char *bound, double margin,
                   ibc_verdict v, const char *params)
{
    char gb[32];
    if (isnan(margin)) snprintf(gb, sizeof gb, "-");
    else snprintf(gb, sizeof gb, "%+.3g", margin);
    ibc_claim_rows_add(e->out, EV_ID, what, e->prs, measured, bound, gb, v, EV_SRC, "%s", params);
}

static void ev_params(char *buf, size_t len, const ibc_config *cfg, long p, double alpha, const char *extra)
{
    snprintf(buf, len, "p=%ld D=%ld K=%ld K1=%ld alpha=%g (s=alpha/sqrt(D)); %s", p, cfg->model.D,
             cfg->model.K, cfg->model.K1, alpha, extra);
}

/* G at the sphere point cos(d) u + sin(d) xi (xi a unit tangent vector in
 * the K coordinates plus one coordinate orthogonal to every center, which
 * G does not see), minus G(u), divided by d^2: about half the Hessian's
 * quadratic form at a critical point.  Upper bound (side +1) or lower
 * bound (side -1) as a double. */
static double ev_probe(const ibc_align_problem *pb, arb_srcptr c, const double *xi, double d, int side,
                       slong prec)
{
    const long K = pb->K;
    arb_ptr u = _arb_vec_init(K);
    arb_t G0, G1, cd, sd, t;
    arb_init(G0);
    arb_init(G1);
    arb_init(cd);
    arb_init(sd);
    arb_init(t);
    arb_set_d(t, d);
    arb_sin_cos(sd, cd, t, prec);
    for (long k = 0; k < K; k++) {
        arb_mul(u + k, c + k, cd, prec);
        arb_set_d(t, xi[k]);
        arb_addmul(u + k, t, sd, prec);
    }
    ibc_align_G_arb(G0, pb, c, prec);
    ibc_align_G_arb(G1, pb, u, prec);
    arb_sub(G1, G1, G0, prec);
    arb_set_d(t, d);
    arb_sqr(t, t, prec);
    arb_div(G1, G1, t, prec);
    double r = ev_bound(G1, side > 0 ? 0 : -1);
    _arb_vec_clear(u, K);
    arb_clear(G0);
    arb_clear(G1);
    arb_clear(cd);
    arb_clear(sd);
    arb_clear(t);
    return r;
}

/* A random unit vector in R^(K+1) orthogonal to (c, 0) (c: midpoints). */
static void ev_tangent(double *xi, arb_srcptr c, long K, gmp_randstate_t st)
{
    mpfr_t z;
    mpfr_init2(z, 64);
    double dot = 0, nrm = 0;
    for (long k = 0; k <= K; k++) {
        mpfr_nrandom(z, st, MPFR_RNDN);
        xi[k] = mpfr_get_d(z, MPFR_RNDN);
        if (k < K) dot += xi[k] * arf_get_d(arb_midref(c + k), ARF_RND_NEAR);
    }
    for (long k = 0; k < K; k++) xi[k] -= dot * arf_get_d(arb_midref(c + k), ARF_RND_NEAR);
    for (long k = 0; k <= K; k++) nrm += xi[k] * xi[k];
    for (long k = 0; k <= K; k++) xi[k] /= sqrt(nrm);
    mpfr_clear(z);
}

/* p >= 3: one class of centers (y = +1: k in K+, maxima; y = -1: minima). */
static int ev_centers(ev_ctx *e, long p, int y, gmp_randstate_t st)
{
    const ibc_config *cfg = e->cfg;
    ibc_align_problem pb;
    ibc_align_problem_set(&pb, &cfg->model, p);
    const long K = pb.K, lo = y > 0 ? 0 : pb.K1, hi = y > 0 ? pb.K1 : K;
    double *target = calloc((size_t)K, sizeof(double)), *xi = malloc(sizeof(double) * (size_t)(K + 1));
    long n_proved = 0, n_type = 0, worst_k = -1, worst_hk = -1;
    double worst_margin = INFINITY, worst_d = 0, worst_rho = 0, worst_eig = -INFINITY, min_rad = INFINITY;
    double probe_worst = -INFINITY, contr = 0;
    int rc = IBC_OK;
    ibc_align_critical cp;
    ibc_align_critical_init(&cp, K);
    for (long k = lo; k < hi && rc == IBC_OK; k++) {
        memset(target, 0, sizeof(double) * (size_t)K);
        target[k] = 1;
        rc = ibc_align_krawczyk_widest(&cp, &pb, target, e->prec);
        if (rc == IBC_ENUMERIC) {
            /* Newton found no critical point near mu_k: nothing proved */
            rc = IBC_OK;
            cp.proved = 0;
        }
        if (rc != IBC_OK) break;
        double d = ev_dist_ub(cp.c, target, K, e->prec), rho = ev_unique_radius(&cp, target, K);
        double margin = cp.proved ? rho - d : -INFINITY;
        n_proved += cp.proved;
        if (cp.proved) {
            min_rad = fmin(min_rad, rho);
            contr = fmax(contr, cp.contraction);
        }
        if (margin < worst_margin) {
            worst_margin = margin;
            worst_k = k;
            worst_d = d;
            worst_rho = rho;
        }
        /* Type: maxima for y = +1 (largest tangent eigenvalue < 0), minima
         * for y = -1 (smallest > 0); y * bound is the signed eigenvalue
         * nearest to zero. */
        int sign;
        double lb, ub;
        rc = ibc_align_hess_type(&sign, &lb, &ub, &pb, cp.c, e->prec);
        double eig = y > 0 ? ub : -lb;   /* must be < 0 */
        if (!cp.proved || isnan(eig)) eig = INFINITY;
        if (cp.proved && sign == -y) n_type++;
        if (eig > worst_eig) {
            worst_eig = eig;
            worst_hk = k;
        }
        /* Second method: G on a geodesic circle of radius 1e-3 around u*.
         * At a strict maximum y (G(u) - G(u*))/d^2 is about half a tangent
         * eigenvalue, -0.15 for p = 3; the cubic term is O(d) smaller. */
        for (int i = 0; i < 24 && cp.proved; i++) {
            ev_tangent(xi, cp.c, K, st);
            double q = ev_probe(&pb, cp.c, xi, 1e-3, y, e->prec);
            probe_worst = fmax(probe_worst, y * q);
        }
    }
    if (rc == IBC_OK) {
        char what[72], mb[48], bb[64], params[240], ex[160];
        long nk = hi - lo;
        snprintf(what, sizeof what, "|u*-mu_k|, unique critical pt near mu_k, k in K%c", y > 0 ? '+' : '-');
        snprintf(mb, sizeof mb, "%.4g", worst_d);
        snprintf(bb, sizeof bb, "< %.4g (unique in |u-mu_k|_inf<=that)", worst_rho);
        snprintf(ex, sizeof ex, "Krawczyk proved %ld/%ld centers, worst k=%ld; boxes >= %.3g, contraction <= %.3g",
                 n_proved, nk, worst_k + 1, min_rad, contr);
        ev_params(params, sizeof params, cfg, p, cfg->model.alpha, ex);
        ev_row(e, what, mb, bb, worst_margin, n_proved == nk && worst_margin > 0 ? IBC_HOLDS : IBC_REFUTED,
               params);
        snprintf(what, sizeof what, "%s tangent eigenvalue of Hess G_p at u* (certified)",
                 y > 0 ? "max" : "min");
        snprintf(mb, sizeof mb, "%.6g", y * worst_eig);
        snprintf(bb, sizeof bb, y > 0 ? "< 0 (strict max)" : "> 0 (strict min)");
        snprintf(ex, sizeof ex, "Cholesky certified %ld/%ld centers, worst k=%ld; D-K perp directions: -lambda",
                 n_type, nk, worst_hk + 1);
        ev_params(params, sizeof params, cfg, p, cfg->model.alpha, ex);
        ev_row(e, what, mb, bb, -worst_eig, n_type == nk && worst_eig < 0 ? IBC_HOLDS : IBC_REFUTED, params);
        snprintf(what, sizeof what, "max y(G(u)-G(u*))/d^2, |u-u*|=d=1e-3, k in K%c", y > 0 ? '+' : '-');
        snprintf(mb, sizeof mb, "%.6g", probe_worst);
        snprintf(ex, sizeof ex, "24 random tangent directions per center (one coordinate off the centers' span)");
        ev_params(params, sizeof params, cfg, p, cfg->model.alpha, ex);
        ev_row(e, what, mb, "< 0", -probe_worst, n_proved == nk && probe_worst < 0 ? IBC_HOLDS : IBC_REFUTED,
               params);
    }
    ibc_align_critical_clear(&cp, K);
    free(target);
    free(xi);
    return rc;
}

/* p = 1: mu_k is not critical; the class averages are. */
static int ev_relu(ev_ctx *e)
{
    const ibc_config *cfg = e->cfg;
    ibc_align_problem pb;
    ibc_align_problem_set(&pb, &cfg->model, 1);
    const long K = pb.K, K1 = pb.K1;
    const slong prec = e->prec;
    char mb[48], bb[64], params[240], ex[160];
    arb_ptr c = _arb_vec_init(K), rg = _arb_vec_init(K);
    arb_t n2, form, t, G0, G1;
    arb_init(n2);
    arb_init(form);
    arb_init(t);
    arb_init(G0);
    arb_init(G1);
    int rc = IBC_OK;
    /* |rgrad G_1(mu_k)|: at mu_k the other coordinates are 0, Phi(0) = 1/2,
     * so rgrad_j = y_j/(2K) for j != k and 0 at k: sqrt(K-1)/(2K). */
    arb_sqrt_ui(form, (ulong)(K - 1), prec);
    arb_div_ui(form, form, (ulong)(2 * K), prec);
    double min_lb = INFINITY, max_dev = 0;
    int all_contain = 1;
    double rise_min = INFINITY;
    long rise_k = -1;
    for (long k = 0; k < K && rc == IBC_OK; k++) {
        _arb_vec_zero(c, K);
        arb_one(c + k);
        rc = ibc_align_rgrad_arb(rg, NULL, &pb, c, prec);
        arb_dot(n2, NULL, 0, rg, 1, rg, 1, K, prec);
        arb_sqrtpos(n2, n2, prec);
        min_lb = fmin(min_lb, ev_bound(n2, -1));
        arb_sub(t, n2, form, prec);
        if (!arb_contains_zero(t)) all_contain = 0;
        max_dev = fmax(max_dev, ev_bound(t, 1));
        /* G_1 along the arc towards the next center j of k's class:
         * y_k (G_1(cos th mu_k + sin th mu_j) - G_1(mu_k)) > 0 means mu_k is
         * not a local maximum (k in K+) or minimum (k in K-). */
        long cls_lo = k < K1 ? 0 : K1, cls_n = k < K1 ? K1 : K - K1;
        long j = cls_lo + (k - cls_lo + 1) % cls_n;
        if (j != k) {
            ibc_align_G_arb(G0, &pb, c, prec);
            arb_set_d(t, 0.01);
            arb_sin_cos(c + j, c + k, t, prec);
            ibc_align_G_arb(G1, &pb, c, prec);
            arb_sub(G1, G1, G0, prec);
            if (k >= K1) arb_neg(G1, G1);
            double v = ev_bound(G1, -1);
            if (v < rise_min) {
                rise_min = v;
                rise_k = k;
            }
        }
    }
    if (rc != IBC_OK) goto done;
    snprintf(mb, sizeof mb, "%.6g", min_lb);
    snprintf(ex, sizeof ex, "min over k = 1..%ld of the certified lower bound", K);
    ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
    ev_row(e, "|rgrad G_1(mu_k)| (mu_k not critical)", mb, "> 0", min_lb,
           min_lb > 0 && pb.alpha > 0 ? IBC_HOLDS : IBC_REFUTED, params);
    /* the closed form holds exactly: the balls must hold it and be tight
     * (|.| < 2^-(prec/2); a wrong gradient is off by O(1/K)) */
    double tiny = ldexp(1.0, -(int)(prec / 2));
    snprintf(mb, sizeof mb, "%.3g", max_dev);
    snprintf(ex, sizeof ex, "closed form sqrt(K-1)/(2K) = %.6g (Phi(0) = 1/2); every ball holds it: %s",
             sqrt((double)(K - 1)) / (2.0 * (double)K), all_contain ? "yes" : "no");
    ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
    snprintf(bb, sizeof bb, "ball holds 0, |.| < %.2g", tiny);
    ev_row(e, "max_k ||rgrad G_1(mu_k)| - sqrt(K-1)/(2K)|", mb, bb, NAN,
           all_contain && max_dev < tiny ? IBC_HOLDS : IBC_REFUTED, params);
    if (rise_k >= 0) {
        snprintf(mb, sizeof mb, "%.6g", rise_min);
        snprintf(ex, sizeof ex, "theta = 0.01 towards the next center of the class, worst k=%ld", rise_k + 1);
        ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
        ev_row(e, "min_k y_k(G_1(arc(theta)) - G_1(mu_k)) (mu_k not extremal)", mb, "> 0", rise_min,
               rise_min > 0 ? IBC_HOLDS : IBC_REFUTED, params);
    }

    /* The class averages: maximiser near mu+/sqrt(K1), minimiser near mu-/sqrt(K2). */
    for (int y = 1; y >= -1 && rc == IBC_OK; y -= 2) {
        double *target = calloc((size_t)K, sizeof(double));
        long lo = y > 0 ? 0 : K1, hi = y > 0 ? K1 : K;
        for (long k = lo; k < hi; k++) target[k] = 1.0 / sqrt((double)(hi - lo));
        ibc_align_critical cp;
        ibc_align_critical_init(&cp, K);
        rc = ibc_align_krawczyk_widest(&cp, &pb, target, prec);
        if (rc == IBC_ENUMERIC) {
            rc = IBC_OK;   /* Newton found no critical point: the rows below say "not proved" */
            cp.proved = 0;
        }
        if (rc == IBC_OK) {
            /* "near" the class average: cos(u*, mu_class/sqrt(K_class)) >= 0.99,
             * the threshold at which the alignment and basins claims call a
             * neuron a class average; certified lower bound (|u*| = 1). */
            arb_t cs;
            arb_init(cs);
            for (long k = lo; k < hi; k++) arb_add(cs, cs, cp.c + k, prec);
            arb_set_ui(t, (ulong)(hi - lo));
            arb_rsqrt(t, t, prec);
            arb_mul(cs, cs, t, prec);
            double cosv = ev_bound(cs, -1);
            arb_clear(cs);
            char what[72];
            snprintf(what, sizeof what, "cos(u*, mu%c/sqrt(K%c)), u* unique critical pt (Krawczyk)",
                     y > 0 ? '+' : '-', y > 0 ? '1' : '2');
            snprintf(mb, sizeof mb, "%.6g", cosv);
            snprintf(ex, sizeof ex, "u* unique in the box |u-u*|_inf <= %.3g (contraction %.3g); |u*-avg| <= %.4g",
                     cp.rad, cp.contraction, ev_dist_ub(cp.c, target, K, prec));
            ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
            ev_row(e, what, mb, ">= 0.99", cosv - 0.99, cp.proved && cosv >= 0.99 ? IBC_HOLDS : IBC_REFUTED,
                   params);
            int sign;
            double lb, ub;
            rc = ibc_align_hess_type(&sign, &lb, &ub, &pb, cp.c, prec);
            double eig = y > 0 ? ub : lb;
            snprintf(what, sizeof what, "%s tangent eigenvalue of Hess G_1 at u* (certified)",
                     y > 0 ? "max" : "min");
            snprintf(mb, sizeof mb, "%.6g", eig);
            snprintf(ex, sizeof ex, "u* near mu%c/sqrt(K%c): strict %s", y > 0 ? '+' : '-', y > 0 ? '1' : '2',
                     y > 0 ? "maximiser" : "minimiser");
            ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
            ev_row(e, what, mb, y > 0 ? "< 0" : "> 0", -y * eig,
                   cp.proved && sign == -y ? IBC_HOLDS : IBC_REFUTED, params);
            /* tilt: the other class's coordinates are certainly negative */
            double tilt = -INFINITY;
            long olo = y > 0 ? K1 : 0, ohi = y > 0 ? K : K1;
            for (long k = olo; k < ohi; k++) tilt = fmax(tilt, ev_bound(cp.c + k, 0));
            snprintf(what, sizeof what, "max_{k in K%c} <u*, mu_k> (tilted away from mu%c)", y > 0 ? '-' : '+',
                     y > 0 ? '-' : '+');
            snprintf(mb, sizeof mb, "%.6g", tilt);
            snprintf(ex, sizeof ex, "certified upper bound; in-class coordinate %.6g vs 1/sqrt(K%c) = %.6g",
                     arf_get_d(arb_midref(cp.c + lo), ARF_RND_NEAR), y > 0 ? '1' : '2', target[lo]);
            ev_params(params, sizeof params, cfg, 1, pb.alpha, ex);
            ev_row(e, what, mb, "< 0", -tilt, cp.proved && tilt < 0 ? IBC_HOLDS : IBC_REFUTED, params);
        }
        ibc_align_critical_clear(&cp, K);
        free(target);
    }
done:
    _arb_vec_clear(c, K);
    _arb_vec_clear(rg, K);
    arb_clear(n2);
    arb_clear(form);
    arb_clear(t);
    arb_clear(G0);
    arb_clear(G1);
    return rc;
}

/* p = 2 at alpha = 0: the arcs between positive centers are critical with
 * a zero tangent eigenvalue along them; G_2 = 1/K on the positive orthant. */
static int ev_quadratic(ev_ctx *e, gmp_randstate_t st)
{
    const ibc_config *cfg = e->cfg;
    ibc_align_problem pb;
    ibc_align_problem_set(&pb, &cfg->model, 2);
    pb.alpha = 0;
    const long K = pb.K, K1 = pb.K1;
    const slong prec = e->prec;
    arb_ptr c = _arb_vec_init(K), rg = _arb_vec_init(K), xi = _arb_vec_init(K), Hx = _arb_vec_init(K);
    arb_mat_t H;
    arb_mat_init(H, K, K);
    arb_t t, q, G;
    arb_init(t);
    arb_init(q);
    arb_init(G);
    char mb[48], bb[64], params[240], ex[160];
    int rc = IBC_OK, g_zero = 1, h_zero = 1, q_zero = 1, G_const = 1;
    double g_max = 0, h_max = 0, G_dev = 0;
    if (K1 < 2) {
        /* one positive center: no arc; the claim is vacuous here */
        ev_params(params, sizeof params, cfg, 2, 0.0, "K1 = 1: no arc between positive centers");
        ev_row(e, "p=2 degeneracy (alpha=0)", "-", "-", NAN, IBC_INFO, params);
        goto done;
    }
    for (long k = 0; k < K1 && rc == IBC_OK; k++) {
        long j = (k + 1) % K1;
        for (int m = 1; m <= 3 && rc == IBC_OK; m++) {
            /* u = cos th mu_k + sin th mu_j, th = m pi/8; xi = d u/d th */
            _arb_vec_zero(c, K);
            _arb_vec_zero(xi, K);
            arb_const_pi(t, prec);
            arb_mul_si(t, t, m, prec);
            arb_mul_2exp_si(t, t, -3);
            arb_sin_cos(c + j, c + k, t, prec);
            arb_neg(xi + k, c + j);
            arb_set(xi + j, c + k);
            rc = ibc_align_rgrad_arb(rg, NULL, &pb, c, prec);
            if (rc == IBC_OK) rc = ibc_align_rhess_arb(H, &pb, c, prec);
            for (long i = 0; i < K; i++) {
                if (!arb_contains_zero(rg + i)) g_zero = 0;
                g_max = fmax(g_max, ev_bound(rg + i, 1));
                arb_dot(Hx + i, NULL, 0, arb_mat_entry(H, i, 0), 1, xi, 1, K, prec);
                if (!arb_contains_zero(Hx + i)) h_zero = 0;
                h_max = fmax(h_max, ev_bound(Hx + i, 1));
            }
            arb_dot(q, NULL, 0, xi, 1, Hx, 1, K, prec);
            if (!arb_contains_zero(q)) q_zero = 0;
        }
    }
    /* G_2 on random points of the positive orthant of span{mu_k, k in K+} */
    mpfr_t z;
    mpfr_init2(z, 64);
    for (int i = 0; i < 64 && rc == IBC_OK; i++) {
        _arb_vec_zero(c, K);
        arb_zero(t);
        for (long k = 0; k < K1; k++) {
            mpfr_nrandom(z, st, MPFR_RNDN);
            arb_set_d(c + k, fabs(mpfr_get_d(z, MPFR_RNDN)));
            arb_addmul(t, c + k, c + k, prec);
        }
        arb_rsqrt(t, t, prec);
        for (long k = 0; k < K1; k++) arb_mul(c + k, c + k, t, prec);
        rc = ibc_align_G_arb(G, &pb, c, prec);
        arb_set_ui(t, 1);
        arb_div_si(t, t, K, prec);
        arb_sub(G, G, t, prec);
        if (!arb_contains_zero(G)) G_const = 0;
        G_dev = fmax(G_dev, ev_bound(G, 1));
    }
    mpfr_clear(z);
    if (rc != IBC_OK) goto done;
    /* "exact zero": the ball holds 0 and is tight, |.| < 2^-(prec/2) (the
     * balls come out near 2^-prec; a wrong formula gives O(1/K)) */
    double tiny = ldexp(1.0, -(int)(prec / 2));
    snprintf(bb, sizeof bb, "ball holds 0, |.| < %.2g", tiny);
    snprintf(mb, sizeof mb, "%.3g", g_max);
    snprintf(ex, sizeof ex, "u = cos th mu_k + sin th mu_(k+1), th = pi/8, pi/4, 3pi/8, k in K+: a critical arc");
    ev_params(params, sizeof params, cfg, 2, 0.0, ex);
    ev_row(e, "max |rgrad G_2| on arcs between positive centers", mb, bb, NAN,
           g_zero && g_max < tiny ? IBC_HOLDS : IBC_REFUTED, params);
    snprintf(mb, sizeof mb, "%.3g", h_max);
    snprintf(ex, sizeof ex, "xi = -sin th mu_k + cos th mu_(k+1) along the arc; xi^T H xi ball contains 0: %s",
             q_zero ? "yes" : "no");
    ev_params(params, sizeof params, cfg, 2, 0.0, ex);
    ev_row(e, "max |Hess G_2 xi| (zero tangent eigenvalue along xi)", mb, bb, NAN,
           h_zero && q_zero && h_max < tiny ? IBC_HOLDS : IBC_REFUTED, params);
    snprintf(mb, sizeof mb, "%.3g", G_dev);
    snprintf(ex, sizeof ex, "64 random points of the positive orthant of span{mu_k : k in K+}");
    ev_params(params, sizeof params, cfg, 2, 0.0, ex);
    ev_row(e, "max |G_2(u) - 1/K| (every such direction equally good)", mb, bb, NAN,
           G_const && G_dev < tiny ? IBC_HOLDS : IBC_REFUTED, params);
    if (cfg->model.alpha > 0) {
        /* the contrast at the configured alpha: the arc is no longer
         * critical, and mu_k itself is not (the pull 2 M_1(0, s)/K) */
        ibc_align_problem pa = pb;
        pa.alpha = cfg->model.alpha;
        _arb_vec_zero(c, K);
        arb_one(c);
        rc = ibc_align_rgrad_arb(rg, NULL, &pa, c, prec);
        arb_dot(t, NULL, 0, rg, 1, rg, 1, K, prec);
        arb_sqrtpos(t, t, prec);
        snprintf(mb, sizeof mb, "%.6g", arf_get_d(arb_midref(t), ARF_RND_NEAR));
        ev_params(params, sizeof params, cfg, 2, pa.alpha, "contrast: at alpha > 0 mu_k is not critical");
        ev_row(e, "|rgrad G_2(mu_1)| at alpha > 0", mb, "-", NAN, IBC_INFO, params);
    }
done:
    _arb_vec_clear(c, K);
    _arb_vec_clear(rg, K);
    _arb_vec_clear(xi, K);
    _arb_vec_clear(Hx, K);
    arb_mat_clear(H);
    arb_clear(t);
    arb_clear(q);
    arb_clear(G);
    return rc;
}

/* ---- M_p and G_p against independent values ------------------------------ */

#include "ibc_gaussian_moments.h"
#if IBC_FLINT3
#include <flint/arb_hypgeom.h>
#else
#include <arb_hypgeom.h>
#endif

#define EV_MBITS 192          /* > the reference's 40 digits (133 bits) */
#define EV_REF_TOL 1e-38      /* 40 digits round to <= 5e-40 relative; 20x that */
#define EV_IND_BITS 110       /* the least relative accuracy of an independent value */
#define EV_IND_TOL 7.9e-31    /* 2^-100: two balls tight to >= 110 bits, 10 bits of slack */
#define EV_DBL_TOL 1e-13      /* the double path's stated relative error for p <= 4 (align.h) */
#define EV_DEEP_T (-25.0)     /* m/s at or below: deep lower tail */

/* The independent value: M_p(m, s) = E[(m + sZ)^p; Z > a], a = -m/s,
 * expanded by the binomial theorem over the truncated normal moments
 * I_j = int_a^inf z^j phi(z) dz, I_0 = erfc(a/sqrt2)/2, I_1 = phi(a),
 * I_j = a^(j-1) phi(a) + (j-1) I_(j-2) (by parts).  It shares no step with
 * Stein's recursion on M_p (docs/theory.md §6) that src/align/moment.c uses.  The
 * binomial sum cancels in the lower tail; the working precision is doubled
 * until the ball is relatively accurate to prec - 16 bits or stops
 * tightening; IBC_ENUMERIC below EV_IND_BITS.  s = 0: sigma(m)^p. */
static int ev_moment_indep(arb_t res, long p, const arb_t m, const arb_t s, slong prec)
{
    if (arb_is_zero(s)) {
        if (p == 0) {
            if (arb_is_positive(m)) arb_one(res);
            else arb_zero(res);
        } else {
            arb_nonnegative_part(res, m);
            arb_pow_ui(res, res, (ulong)p, prec);
        }
        return IBC_OK;
    }
    arb_t a, phi, I0, I1, I2, term, bin, t;
    arb_init(a);
    arb_init(phi);
    arb_init(I0);
    arb_init(I1);
    arb_init(I2);
    arb_init(term);
    arb_init(bin);
    arb_init(t);
    int rc = IBC_ENUMERIC;
    slong prev = -1;
    for (slong w = prec + 32; w <= 64 * prec; w *= 2) {
        arb_div(a, m, s, w);
        arb_neg(a, a);
        /* phi(a) */
        arb_sqr(t, a, w);
        arb_mul_2exp_si(t, t, -1);
        arb_neg(t, t);
        arb_exp(phi, t, w);
        arb_const_pi(t, w);
        arb_mul_2exp_si(t, t, 1);
        arb_rsqrt(t, t, w);
        arb_mul(phi, phi, t, w);
        /* I_0 = erfc(a/sqrt2)/2 */
        arb_sqrt_ui(t, 2, w);
        arb_div(t, a, t, w);
        arb_hypgeom_erfc(I0, t, w);
        arb_mul_2exp_si(I0, I0, -1);
        arb_set(I1, phi);
        arb_zero(res);
        /* sum_j C(p,j) m^(p-j) s^j I_j, with I_(j-2), I_(j-1) in I0, I1 */
        for (long j = 0; j <= p; j++) {
            const arb_struct *Ij = I0;
            if (j == 1) Ij = I1;
            else if (j >= 2) {
                /* I_j = a^(j-1) phi + (j-1) I_(j-2), then shift (I0, I1) <- (I1, I_j) */
                arb_pow_ui(I2, a, (ulong)(j - 1), w);
                arb_mul(I2, I2, phi, w);
                arb_addmul_ui(I2, I0, (ulong)(j - 1), w);
                arb_swap(I0, I1);
                arb_swap(I1, I2);
                Ij = I1;
            }
            arb_bin_uiui(bin, (ulong)p, (ulong)j, w);
            arb_pow_ui(term, m, (ulong)(p - j), w);
            arb_mul(term, term, bin, w);
            arb_pow_ui(t, s, (ulong)j, w);
            arb_mul(term, term, t, w);
            arb_addmul(res, term, Ij, w);
        }
        /* stop at prec - 16 bits, or when doubling stops helping: then the
         * input balls (s = alpha/sqrt(D) has radius ~2^-prec, amplified by
         * about (m/s)^2 in the tail) limit the result */
        slong acc = arb_rel_accuracy_bits(res);
        if (acc >= prec - 16 || (prev >= 0 && acc <= prev + 2)) {
            rc = acc >= EV_IND_BITS ? IBC_OK : IBC_ENUMERIC;
            break;
        }
        prev = acc;
    }
    arb_clear(a);
    arb_clear(phi);
    arb_clear(I0);
    arb_clear(I1);
    arb_clear(I2);
    arb_clear(term);
    arb_clear(bin);
    arb_clear(t);
    return rc;
}

/* |x - y| / |y| as a double (upper end); y != 0. */
static double ev_rel_diff(const arb_t x, const arb_t y, slong prec)
{
    arb_t d;
    arb_init(d);
    arb_sub(d, x, y, prec);
    arb_div(d, d, y, prec);
    double r = ev_bound(d, 1);
    arb_clear(d);
    return r;
}

/* Parses one reference row "p,m,s,M" (m, s as exact midpoints, M as a ball
 * at EV_MBITS).  Returns p, or -1 on a malformed row. */
static long ev_ref_row(arb_t m, arb_t s, arb_t M, const char *row)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s", row);
    char *f[4], *q = buf;
    for (int i = 0; i < 4; i++) {
        f[i] = q;
        q = strchr(q, ',');
        if (i < 3) {
            if (!q) return -1;
            *q++ = '\0';
        }
    }
    if (arb_set_str(m, f[1], EV_MBITS) || arb_set_str(s, f[2], EV_MBITS) || arb_set_str(M, f[3], EV_MBITS))
        return -1;
    mag_zero(arb_radref(m));
    mag_zero(arb_radref(s));
    return strtol(f[0], NULL, 10);
}

/* Worst relative error over a set of points, with where it occurred. */
typedef struct {
    double worst;
    long n, p;
    char at[64];
} ev_worst;

static void ev_worst_note(ev_worst *w, double r, long p, const char *row)
{
    w->n++;
    if (r > w->worst || isnan(r)) {
        w->worst = isnan(r) ? INFINITY : r;
        w->p = p;
        snprintf(w->at, sizeof w->at, "%.60s", row);
        char *c = strrchr(w->at, ',');
        if (c) *c = '\0';   /* p,m,s */
    }
}

static void ev_worst_row(ev_ctx *e, const char *what, const ev_worst *w, double tol, const char *how)
{
    char meas[48], bnd[64], params[240];
    snprintf(meas, sizeof meas, "max rel err %.3g (%ld points)", w->worst, w->n);
    snprintf(bnd, sizeof bnd, "<= %.2g", tol);
    snprintf(params, sizeof params, "worst at p,m,s = %s; %s", w->at, how);
    ev_row(e, what, meas, bnd, w->n > 0 ? tol - w->worst : -INFINITY,
           w->n > 0 && w->worst <= tol ? IBC_HOLDS : IBC_REFUTED, params);
}

/* M_p of src/align (Arb and double) against the embedded reference table
 * and against ev_moment_indep; G_p against the independent sum. */
static int ev_moments(ev_ctx *e)
{
    arb_t m, s, ref, code, ind;
    arb_init(m);
    arb_init(s);
    arb_init(ref);
    arb_init(code);
    arb_init(ind);
    ev_worst w[5];   /* ref, ref deep, indep, indep deep, double */
    memset(w, 0, sizeof w);
    int rc = IBC_OK;
    for (long i = 0; i < IBC_GM_REF_N && rc == IBC_OK; i++) {
        const char *row = ibc_gm_ref_rows[i];
        long p = ev_ref_row(m, s, ref, row);
        if (p < 0 || p > 4) {
            rc = IBC_EINPUT;
            break;
        }
        double md = arf_get_d(arb_midref(m), ARF_RND_NEAR), sd = arf_get_d(arb_midref(s), ARF_RND_NEAR);
        int deep = md / sd <= EV_DEEP_T;
        rc = ibc_align_moment_arb(code, p, m, s, EV_MBITS);
        if (rc == IBC_OK) rc = ev_moment_indep(ind, p, m, s, EV_MBITS);
        if (rc != IBC_OK) break;
        ev_worst_note(&w[deep ? 1 : 0], ev_rel_diff(code, ref, EV_MBITS), p, row);
        ev_worst_note(&w[deep ? 3 : 2], ev_rel_diff(code, ind, EV_MBITS), p, row);
        /* the double path, where the value is a normal double */
        double r = ev_bound(ref, 0);
        if (r >= 1e-300) {
            double v;
            if (ibc_align_moment_d(&v, p, md, sd) != IBC_OK) v = NAN;
            arb_set_d(code, v);
            ev_worst_note(&w[4], isfinite(v) ? ev_rel_diff(code, ref, EV_MBITS) : NAN, p, row);
        }
    }
    if (rc == IBC_OK) {
        char how[200];
        snprintf(how, sizeof how, "ibc_align_moment_arb at %d bits; table: quadrature, 40 digits, embedded from "
                 "data/reference/gaussian_moments.csv (integer p)", EV_MBITS);
        ev_worst_row(e, "M_p (Arb) vs reference table, p = 0..4, m/s > -25", &w[0], EV_REF_TOL, how);
        ev_worst_row(e, "M_p (Arb) vs reference table, deep tail m/s <= -25", &w[1], EV_REF_TOL, how);
        snprintf(how, sizeof how, "independent: binomial sum over truncated normal moments (erfc, by parts), "
                 "Arb >= %d bits; tol 2^-100 for two tight balls", EV_MBITS);
        ev_worst_row(e, "M_p (Arb) vs binomial/erfc form, m/s > -25", &w[2], EV_IND_TOL, how);
        ev_worst_row(e, "M_p (Arb) vs binomial/erfc form, deep tail", &w[3], EV_IND_TOL, how);
        ev_worst_row(e, "M_p (double) vs reference table, normal range", &w[4], EV_DBL_TOL,
                     "ibc_align_moment_d at the rows >= 1e-300; tol: its stated relative error for p <= 4 "
                     "(align.h); a value it declines (not normal) counts as inf");
    }
    /* G_p = (1/K) sum_k y_k M_p(c_k, s) at three points, against the same sum
     * built from ev_moment_indep and the labels of docs/theory.md §1 */
    long K = e->cfg->model.K, K1 = e->cfg->model.K1;
    arb_ptr c = _arb_vec_init(K);
    arb_t G, Gi, scale, t;
    arb_init(G);
    arb_init(Gi);
    arb_init(scale);
    arb_init(t);
    double worst = 0;
    char at[64] = "";
    for (long p = 1; p <= 4 && rc == IBC_OK; p += p == 1 ? 2 : 1) {
        ibc_align_problem pb;
        char err[IBC_ERRLEN];
        rc = ibc_align_problem_init(&pb, &e->cfg->model, p, err);
        if (rc != IBC_OK) break;
        ibc_align_s_arb(s, &pb, EV_MBITS);
        for (int pt = 0; pt < 3 && rc == IBC_OK; pt++) {
            /* mu_0; mu+/sqrt(K1); a mixed point with coordinates of both signs */
            for (long k = 0; k < K; k++) {
                double v = pt == 0 ? (k == 0) : pt == 1 ? (k < K1) / sqrt((double)K1)
                                                       : 0.7 * cos(1.3 * (double)k + 0.4) / sqrt((double)K / 2);
                arb_set_d(c + k, v);
            }
            rc = ibc_align_G_arb(G, &pb, c, EV_MBITS);
            arb_zero(Gi);
            arb_zero(scale);
            for (long k = 0; k < K && rc == IBC_OK; k++) {
                rc = ev_moment_indep(t, p, c + k, s, EV_MBITS);
                if (k < K1) arb_add(Gi, Gi, t, EV_MBITS);
                else arb_sub(Gi, Gi, t, EV_MBITS);
                arb_abs(t, t);
                arb_add(scale, scale, t, EV_MBITS);
            }
            if (rc != IBC_OK) break;
            arb_div_si(Gi, Gi, K, EV_MBITS);
            arb_div_si(scale, scale, K, EV_MBITS);
            arb_sub(t, G, Gi, EV_MBITS);
            arb_div(t, t, scale, EV_MBITS);
            double r = ev_bound(t, 1);
            if (!(r <= worst)) {
                worst = isnan(r) ? INFINITY : r;
                snprintf(at, sizeof at, "p=%ld point %d", p, pt);
            }
        }
    }
    if (rc == IBC_OK) {
        char meas[48], bnd[64], params[240];
        snprintf(meas, sizeof meas, "max rel err %.3g (9 points)", worst);
        snprintf(bnd, sizeof bnd, "<= %.2g", EV_IND_TOL);
        snprintf(params, sizeof params, "p in {1,3,4} at mu_0, mu+/sqrt(K1) and a mixed point; worst %s; error "
                 "relative to (1/K) sum |M_p(c_k)|; D=%ld K=%ld K1=%ld alpha=%g",
                 at, e->cfg->model.D, K, K1, e->cfg->model.alpha);
        ev_row(e, "G_p (ibc_align_G_arb) vs sum of independent M_p", meas, bnd, EV_IND_TOL - worst,
               worst <= EV_IND_TOL ? IBC_HOLDS : IBC_REFUTED, params);
    }
    _arb_vec_clear(c, K);
    arb_clear(G);
    arb_clear(Gi);
    arb_clear(scale);
    arb_clear(t);
    arb_clear(m);
    arb_clear(s);
    arb_clear(ref);
    arb_clear(code);
    arb_clear(ind);
    /* a malformed embedded row is a build defect, not bad user input */
    return rc == IBC_EINPUT ? IBC_ENUMERIC : rc;
}

/* The working precision: prec_hi's bits (128 when prec_hi is double). */
static slong ev_prec(const ibc_config *cfg)
{
    return cfg->prec_hi.mode == IBC_MPFR ? cfg->prec_hi.bits : 128;
}

/* The claim: p = 3, 4 per class of centers, then p = 1, then p = 2. */
int ibc_claim_extremal_vectors(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_align_problem pb;
    int rc = ibc_align_problem_init(&pb, &cfg->model, 3, err);
    if (rc != IBC_OK) return rc;
    ev_ctx e = {.cfg = cfg, .prec = ev_prec(cfg), .out = out};
    snprintf(e.prs, sizeof e.prs, "arb:%ld", (long)e.prec);
    rc = ev_moments(&e);
    if (rc != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "extremal-vectors: a Gaussian moment could not be evaluated (status %d)", rc);
        return rc;
    }
    gmp_randstate_t st;
    ibc_model_randinit(st, cfg->model.seed, 0x65787472UL);   /* "extr": this claim's own stream */
    for (long p = 3; p <= 4 && rc == IBC_OK; p++)
        for (int y = 1; y >= -1 && rc == IBC_OK; y -= 2) rc = ev_centers(&e, p, y, st);
    if (rc == IBC_OK && cfg->model.alpha > 0) rc = ev_relu(&e);
    else if (rc == IBC_OK) {
        char params[240];
        ev_params(params, sizeof params, cfg, 1, 0.0, "at alpha = 0, G_1 is not differentiable where a "
                  "coordinate vanishes: the p = 1 rows need alpha > 0");
        ev_row(&e, "p=1 rows skipped", "-", "-", NAN, IBC_INFO, params);
    }
    if (rc == IBC_OK) rc = ev_quadratic(&e, st);
    gmp_randclear(st);
    if (rc != IBC_OK) snprintf(err, IBC_ERRLEN, "extremal-vectors: ball evaluation failed (status %d)", rc);
    return rc;
}
