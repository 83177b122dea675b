/* align: certified extremal vectors (docs/theory.md §6): existence and uniqueness
 * of a critical point of G_p on the sphere by Krawczyk's method, and its
 * type (strict maximum / minimum) by Cholesky in ball arithmetic. */
#include <math.h>
#include <stdlib.h>
#include "align_internal.h"

void ibc_align_critical_init(ibc_align_critical *cp, long K)
{
    cp->proved = 0;
    cp->rad = 0;
    cp->contraction = INFINITY;
    cp->c = _arb_vec_init(K);
    cp->box = _arb_vec_init(K);
    arb_init(cp->lambda);
}

void ibc_align_critical_clear(ibc_align_critical *cp, long K)
{
    _arb_vec_clear(cp->c, K);
    _arb_vec_clear(cp->box, K);
    arb_clear(cp->lambda);
}

/* F(x) = (g(c) - lambda c, (|c|^2 - 1)/2), x = (c, lambda): the Lagrange
 * system whose zeros are the critical points of G_p on the sphere. */
static int lagrange_F(arb_ptr F, const ibc_align_problem *pb, arb_srcptr x, slong prec)
{
    const long K = pb->K;
    int rc = ibc_align_grad_arb(F, pb, x, prec);
    for (long k = 0; k < K; k++) arb_submul(F + k, x + K, x + k, prec);
    arb_dot(F + K, NULL, 0, x, 1, x, 1, K, prec);
    arb_sub_ui(F + K, F + K, 1, prec);
    arb_mul_2exp_si(F + K, F + K, -1);
    return rc;
}

/* Its Jacobian [[diag(h) - lambda I, -c], [c^T, 0]] over the ball x. */
static int lagrange_J(arb_mat_t J, const ibc_align_problem *pb, arb_srcptr x, slong prec)
{
    const long K = pb->K;
    arb_ptr h = _arb_vec_init(K);
    int rc = ibc_align_hess_diag_arb(h, pb, x, prec);
    arb_mat_zero(J);
    for (long k = 0; k < K; k++) {
        arb_sub(arb_mat_entry(J, k, k), h + k, x + K, prec);
        arb_neg(arb_mat_entry(J, k, K), x + k);
        arb_set(arb_mat_entry(J, K, k), x + k);
    }
    _arb_vec_clear(h, K);
    return rc;
}

static void vec_mid(arb_ptr v, long n)
{
    for (long i = 0; i < n; i++) mag_zero(arb_radref(v + i));
}

/* Newton's method on midpoints from (c0/|c0|, <g, c0>/|c0|^2).  Returns
 * IBC_OK when the last step is below 2^(-prec/2) (then x is accurate to
 * about 2^-prec: Newton converges quadratically), else IBC_ENUMERIC. */
static int newton_refine(arb_ptr x, const ibc_align_problem *pb, const double *c0, slong prec)
{
    const long K = pb->K, n = K + 1;
    arb_ptr F = _arb_vec_init(n);
    arb_mat_t J, dx, rhs;
    arb_mat_init(J, n, n);
    arb_mat_init(dx, n, 1);
    arb_mat_init(rhs, n, 1);
    arb_t nrm;
    arb_init(nrm);
    for (long k = 0; k < K; k++) arb_set_d(x + k, c0[k]);
    arb_dot(nrm, NULL, 0, x, 1, x, 1, K, prec);
    arb_rsqrt(nrm, nrm, prec);
    for (long k = 0; k < K; k++) arb_mul(x + k, x + k, nrm, prec);
    ibc_align_grad_arb(F, pb, x, prec);
    arb_dot(x + K, NULL, 0, F, 1, x, 1, K, prec);
    vec_mid(x, n);
    int rc = IBC_ENUMERIC, last = 0;
    for (int it = 0; it < 80 && rc != IBC_OK; it++) {
        if (lagrange_F(F, pb, x, prec) != IBC_OK || lagrange_J(J, pb, x, prec) != IBC_OK) break;
        for (long i = 0; i < n; i++) arb_set(arb_mat_entry(rhs, i, 0), F + i);
        if (!arb_mat_approx_solve(dx, J, rhs, prec)) break;
        double step = 0;
        for (long i = 0; i < n; i++) {
            arb_sub(x + i, x + i, arb_mat_entry(dx, i, 0), prec);
            double d = fabs(arf_get_d(arb_midref(arb_mat_entry(dx, i, 0)), ARF_RND_NEAR));
            if (d > step) step = d;
        }
        vec_mid(x, n);
        if (last) rc = IBC_OK;           /* the step after a small one */
        if (step <= ldexp(1.0, -(int)(prec / 2))) last = 1;
    }
    arb_clear(nrm);
    arb_mat_clear(J);
    arb_mat_clear(dx);
    arb_mat_clear(rhs);
    _arb_vec_clear(F, n);
    return rc;
}

/* max_i sum_j |A_ij| over the balls, rounded up: a bound on the spectral
 * radius, and the contraction measure of Krawczyk's test. */
static double mat_inf_norm(const arb_mat_t A, long n)
{
    double norm = 0;
    arf_t u;
    arf_init(u);
    for (long i = 0; i < n; i++) {
        double row = 0;
        for (long j = 0; j < n; j++) {
            arb_get_abs_ubound_arf(u, arb_mat_entry(A, i, j), 30);
            row += arf_get_d(u, ARF_RND_UP);
        }
        norm = fmax(norm, row);
    }
    arf_clear(u);
    return norm;
}

/* Krawczyk's operator K(X) = xm - Y F(xm) + (I - Y J(X)) (X - xm), with
 * xm the midpoint of X and Y the inverse of the midpoint of J(xm).  If
 * K(X) lies in the interior of X, F has exactly one zero in X (and it lies
 * in K(X)).  Returns 1 on that inclusion; *contr gets ||I - Y J(X)||_inf. */
static int krawczyk_step(arb_ptr KX, const ibc_align_problem *pb, arb_srcptr X, slong prec,
                         double *contr)
{
    const long n = pb->K + 1;
    arb_ptr xm = _arb_vec_init(n), F = _arb_vec_init(n), Z = _arb_vec_init(n);
    arb_mat_t J, Jm, Y, M;
    arb_mat_init(J, n, n);
    arb_mat_init(Jm, n, n);
    arb_mat_init(Y, n, n);
    arb_mat_init(M, n, n);
    int ok = 0;
    for (long i = 0; i < n; i++) {
        arb_set_round(xm + i, X + i, prec);
        mag_zero(arb_radref(xm + i));
        arb_sub(Z + i, X + i, xm + i, prec);
    }
    if (lagrange_F(F, pb, xm, prec) != IBC_OK || lagrange_J(Jm, pb, xm, prec) != IBC_OK
        || lagrange_J(J, pb, X, prec) != IBC_OK)
        goto done;
    arb_mat_get_mid(Jm, Jm);
    if (!arb_mat_approx_inv(Y, Jm, prec)) goto done;
    arb_mat_get_mid(Y, Y);          /* any Y works: an exact matrix keeps K(X) tight */
    arb_mat_mul(M, Y, J, prec);
    arb_mat_neg(M, M);
    for (long i = 0; i < n; i++) arb_add_ui(arb_mat_entry(M, i, i), arb_mat_entry(M, i, i), 1, prec);
    *contr = mat_inf_norm(M, n);
    ok = 1;
    for (long i = 0; i < n; i++) {
        /* K_i = xm_i - (Y F)_i + (M Z)_i */
        arb_dot(KX + i, xm + i, 1, arb_mat_entry(Y, i, 0), 1, F, 1, n, prec);
        arb_t mz;
        arb_init(mz);
        arb_dot(mz, NULL, 0, arb_mat_entry(M, i, 0), 1, Z, 1, n, prec);
        arb_add(KX + i, KX + i, mz, prec);
        arb_clear(mz);
        if (!arb_contains_interior(X + i, KX + i)) ok = 0;
    }
done:
    arb_mat_clear(J);
    arb_mat_clear(Jm);
    arb_mat_clear(Y);
    arb_mat_clear(M);
    _arb_vec_clear(xm, n);
    _arb_vec_clear(F, n);
    _arb_vec_clear(Z, n);
    return ok;
}

int ibc_align_krawczyk(ibc_align_critical *cp, const ibc_align_problem *pb, const double *c0,
                       double rad, slong prec)
{
    const long K = pb->K, n = K + 1;
    cp->proved = 0;
    cp->rad = rad;
    cp->contraction = INFINITY;
    arb_ptr x = _arb_vec_init(n), X = _arb_vec_init(n), KX = _arb_vec_init(n), g = _arb_vec_init(K);
    int rc = newton_refine(x, pb, c0, prec);
    if (rc != IBC_OK || !(rad > 0)) goto done;
    /* The c-box, then lambda over it: every critical point with c in the
     * box has lambda = <g(c), c> in this enclosure, so uniqueness in
     * (c, lambda) is uniqueness of the critical point in the c-box. */
    for (long k = 0; k < K; k++) {
        arb_set(X + k, x + k);
        mag_set_d(arb_radref(X + k), rad);
    }
    if (ibc_align_grad_arb(g, pb, X, prec) != IBC_OK) goto done;
    arb_dot(X + K, NULL, 0, g, 1, X, 1, K, prec);
    {
        /* centre it on Newton's lambda and widen by 1/8: the inclusion test
         * needs room between K(X) and the boundary */
        arf_t lo, hi, r;
        arf_init(lo);
        arf_init(hi);
        arf_init(r);
        arb_get_lbound_arf(lo, X + K, prec);
        arb_get_ubound_arf(hi, X + K, prec);
        arf_sub(lo, arb_midref(x + K), lo, prec, ARF_RND_UP);
        arf_sub(hi, hi, arb_midref(x + K), prec, ARF_RND_UP);
        arf_max(r, lo, hi);
        arf_mul_ui(r, r, 9, prec, ARF_RND_UP);   /* x 9/8 */
        arf_mul_2exp_si(r, r, -3);
        arb_set(X + K, x + K);
        arf_get_mag(arb_radref(X + K), r);
        arf_clear(lo);
        arf_clear(hi);
        arf_clear(r);
    }
    cp->proved = krawczyk_step(KX, pb, X, prec, &cp->contraction);
    _arb_vec_set(cp->box, X, K);
    if (cp->proved) {
        /* The enclosure: K(X) holds the zero, but on a wide box it is wide
         * too.  A tiny box around Newton's point (inside X, so it holds the
         * same unique zero if it holds one) gives a tight K(X); a couple of
         * iterations of the operator then reach working accuracy. */
        int tight = 0;
        double r = ldexp(1.0, -(int)(prec / 2));
        if (r < rad) {
            arb_ptr T = _arb_vec_init(n), KT = _arb_vec_init(n);
            for (long i = 0; i < n; i++) {
                arb_set(T + i, x + i);
                mag_set_d(arb_radref(T + i), r);
            }
            double ctr;
            for (int it = 0; it < 3 && krawczyk_step(KT, pb, T, prec, &ctr); it++) {
                tight = 1;
                _arb_vec_set(T, KT, n);
            }
            if (tight) _arb_vec_set(KX, T, n);
            _arb_vec_clear(T, n);
            _arb_vec_clear(KT, n);
        }
        for (long i = 0; i < n; i++) arb_intersection(X + i, X + i, KX + i, prec);
        _arb_vec_set(cp->c, X, K);
        arb_set(cp->lambda, X + K);
    } else {
        _arb_vec_set(cp->c, x, K);
        arb_set(cp->lambda, x + K);
    }
done:
    _arb_vec_clear(x, n);
    _arb_vec_clear(X, n);
    _arb_vec_clear(KX, n);
    _arb_vec_clear(g, K);
    return rc;
}

int ibc_align_krawczyk_widest(ibc_align_critical *cp, const ibc_align_problem *pb, const double *c0,
                              slong prec)
{
    /* Measured at the defaults: 0.08 proves for p = 3, 4 at the centers and
     * 0.01 for p = 1's class averages; wider boxes fail because the
     * Hessian's variation over the box spoils the contraction. */
    static const double radii[] = {0.2, 0.1, 0.08, 0.065, 0.05, 0.04, 0.03, 0.02, 0.01, 0.005,
                                   1e-3, 1e-4, 1e-6};
    for (size_t i = 0; i < sizeof radii / sizeof radii[0]; i++) {
        int rc = ibc_align_krawczyk(cp, pb, c0, radii[i], prec);
        if (rc != IBC_OK || cp->proved) return rc;
    }
    return IBC_OK;
}

/* 1 when side (a I - B) (side = +1) or side (B - a I) (side = -1) is
 * certified positive definite, i.e. every eigenvalue of the symmetric ball
 * matrix B is certainly < a (side +1) or > a (side -1). */
static int shifted_pd(const arb_mat_t B, long K, double a, int side, slong prec)
{
    arb_mat_t S, L;
    arb_mat_init(S, K, K);
    arb_mat_init(L, K, K);
    arb_t t;
    arb_init(t);
    arb_set_d(t, a);
    for (long i = 0; i < K; i++)
        for (long j = 0; j < K; j++) {
            if (side > 0) arb_neg(arb_mat_entry(S, i, j), arb_mat_entry(B, i, j));
            else arb_set(arb_mat_entry(S, i, j), arb_mat_entry(B, i, j));
        }
    for (long i = 0; i < K; i++) {
        if (side > 0) arb_add(arb_mat_entry(S, i, i), arb_mat_entry(S, i, i), t, prec);
        else arb_sub(arb_mat_entry(S, i, i), arb_mat_entry(S, i, i), t, prec);
    }
    int ok = arb_mat_cho(L, S, prec);
    arb_clear(t);
    arb_mat_clear(S);
    arb_mat_clear(L);
    return ok;
}

/* The certified bound on B's spectrum on one side (side +1: an upper bound
 * on the largest eigenvalue; -1: a lower bound on the smallest), found by
 * bisection of shifted Cholesky tests between r and -r, r a bound on the
 * spectral radius (max row sum), to about 1e-9 r.  NaN if none certified. */
static double spectrum_bound(const arb_mat_t B, long K, double r, int side, slong prec)
{
    double good = side * 2 * r, bad = -side * 2 * r;
    if (!shifted_pd(B, K, good, side, prec)) return NAN;
    for (int it = 0; it < 32; it++) {
        double mid = 0.5 * (good + bad);
        if (shifted_pd(B, K, mid, side, prec)) good = mid;
        else bad = mid;
    }
    return good;
}

int ibc_align_hess_type(int *sign, double *lb, double *ub, const ibc_align_problem *pb,
                        arb_srcptr c, slong prec)
{
    const long K = pb->K;
    arb_mat_t H, A, B;
    arb_mat_init(H, K, K);
    arb_mat_init(A, K, K);
    arb_mat_init(B, K, K);
    arb_ptr g = _arb_vec_init(K);
    arb_t lam, t, kap;
    arb_init(lam);
    arb_init(t);
    arb_init(kap);
    *sign = 0;
    int rc = ibc_align_rhess_arb(H, pb, c, prec);
    if (rc == IBC_OK) rc = ibc_align_grad_arb(g, pb, c, prec);
    arb_dot(lam, NULL, 0, g, 1, c, 1, K, prec);
    /* r >= max row sum of |H| >= spectral radius; kappa = 2r + 1 puts the
     * c direction's eigenvalue (-kappa in A = H - kappa c c^T, +kappa in
     * B = H + kappa c c^T) beyond every tangent eigenvalue, so A's largest
     * and B's smallest eigenvalue are the tangent ones. */
    double r = mat_inf_norm(H, K);
    arb_set_d(kap, 2 * r + 1);
    for (long i = 0; i < K; i++)
        for (long j = 0; j < K; j++) {
            arb_mul(t, c + i, c + j, prec);
            arb_mul(t, t, kap, prec);
            arb_sub(arb_mat_entry(A, i, j), arb_mat_entry(H, i, j), t, prec);
            arb_add(arb_mat_entry(B, i, j), arb_mat_entry(H, i, j), t, prec);
        }
    double u = NAN, l = NAN;
    if (rc == IBC_OK && isfinite(r)) {
        /* the D - K directions orthogonal to every center: eigenvalue -lambda */
        int perp_max = pb->D == K || arb_is_positive(lam);
        int perp_min = pb->D == K || arb_is_negative(lam);
        if (perp_max && shifted_pd(A, K, 0.0, 1, prec)) *sign = -1;
        else if (perp_min && shifted_pd(B, K, 0.0, -1, prec)) *sign = 1;
        u = spectrum_bound(A, K, r + 1, 1, prec);
        l = spectrum_bound(B, K, r + 1, -1, prec);
    }
    if (ub) *ub = u;
    if (lb) *lb = l;
    arb_clear(lam);
    arb_clear(t);
    arb_clear(kap);
    _arb_vec_clear(g, K);
    arb_mat_clear(H);
    arb_mat_clear(A);
    arb_mat_clear(B);
    return rc;
}
