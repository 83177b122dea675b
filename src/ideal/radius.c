/* ideal: closed-form radii of F and F^(p) (docs/theory.md §4), the KKT enumeration at
 * a center, and certified lower bounds that do not use the closed forms. */
#include <math.h>
#include "ibcheck/ideal.h"
#include "prec/ibc_arb.h"

/* Bisection budget of the certificates: at r (1 - 2^-20) the slack is about
 * 2^-20 and the zeroth-order enclosures need pieces of about that width at
 * the minimiser, so about 2^10 pieces; these limits leave ample room. */
#define CERT_DEPTH 60
#define CERT_EVALS 2000000L

int ibc_ideal_splits(long K, long s[3])
{
    long c[3] = { 1, K / 2, K - 1 };
    int n = 0;
    for (int i = 0; i < 3 && K >= 2; i++) {
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= s[j] == c[i];
        if (!seen)
            s[n++] = c[i];
    }
    return n;
}

int ibc_ideal_class_sums(arb_t a, arb_t b, arb_srcptr c, long K, long K1, int y, slong prec)
{
    if (K1 < 1 || K1 >= K || (y != 1 && y != -1))
        return IBC_EINPUT;
    arb_t sp, sm;
    arb_init(sp);
    arb_init(sm);
    for (long k = 0; k < K; k++)
        arb_add(k < K1 ? sp : sm, k < K1 ? sp : sm, c + k, prec);
    arb_swap(a, y > 0 ? sp : sm);
    arb_swap(b, y > 0 ? sm : sp);
    arb_clear(sp);
    arb_clear(sm);
    return IBC_OK;
}

int ibc_ideal_radius_F_ab(arb_t r, const arb_t a, const arb_t b, long Ky, long K, slong prec)
{
    if (Ky < 1 || Ky >= K)
        return IBC_EINPUT;
    arb_t m, t;
    arb_init(m);
    arb_init(t);
    int rc = IBC_OK;
    /* F flips exactly on the union of the half-spaces <x,mu_y> <= 0 and
     * <x, mu_y - mu_-y> <= 0, whose normals have norms sqrt(Ky), sqrt(K). */
    arb_zero(t);
    arb_max(m, b, t, prec);
    if (arb_gt(a, m)) {
        arb_sqrt_ui(t, (ulong)Ky, prec);
        arb_div(m, a, t, prec);
        arb_sub(r, a, b, prec);
        arb_sqrt_ui(t, (ulong)K, prec);
        arb_div(r, r, t, prec);
        arb_min(r, r, m, prec);
    } else if (arb_le(a, m)) {
        arb_zero(r);
    } else {
        arb_indeterminate(r);
        rc = IBC_ENUMERIC;
    }
    arb_clear(m);
    arb_clear(t);
    return rc;
}

int ibc_ideal_radius_F(arb_t r, arb_srcptr c, long K, long K1, int y, slong prec)
{
    arb_t a, b;
    arb_init(a);
    arb_init(b);
    int rc = ibc_ideal_class_sums(a, b, c, K, K1, y, prec);
    if (rc == IBC_OK)
        rc = ibc_ideal_radius_F_ab(r, a, b, y > 0 ? K1 : K - K1, K, prec);
    arb_clear(a);
    arb_clear(b);
    return rc;
}

static int bad_p(double p)
{
    return !(isfinite(p) && p >= 1.0);
}

/* m^(1 - 2/p): the cost factor of spreading over m opposite centers. */
static void spread_factor(arb_t c, long m, double p, slong prec)
{
    arb_t e, mm;
    arb_init(e);
    arb_init(mm);
    arb_set_d(e, p);
    arb_ui_div(e, 2, e, prec);
    arb_sub_ui(e, e, 1, prec);
    arb_neg(e, e);
    arb_set_ui(mm, (ulong)m);
    arb_pow(c, mm, e, prec);
    arb_clear(e);
    arb_clear(mm);
}

int ibc_ideal_radius_Fp_center(arb_t r, double p, long K_opp, slong prec)
{
    if (bad_p(p) || K_opp < 1)
        return IBC_EINPUT;
    arb_t c, t;
    arb_init(c);
    arb_init(t);
    spread_factor(c, K_opp, p, prec);
    arb_one(t);
    arb_min(c, c, t, prec);
    arb_add_ui(t, c, 1, prec);
    arb_div(r, c, t, prec);
    arb_sqrtpos(r, r, prec);
    arb_clear(c);
    arb_clear(t);
    return IBC_OK;
}

int ibc_ideal_radius_Fp_center_kkt(arb_t r, long *m_best, arb_t s_best, double p,
                                   long K_opp, slong prec)
{
    if (bad_p(p) || K_opp < 1)
        return IBC_EINPUT;
    arb_t c, s, f, t, best, sb;
    arb_init(c);
    arb_init(s);
    arb_init(f);
    arb_init(t);
    arb_init(best);
    arb_init(sb);
    long mb = 0;
    for (long m = 1; m <= K_opp; m++) {
        /* Growing m opposite centers equally to t each while mu_k keeps mass s:
         * the flip boundary is s^p = m t^p, so the squared distance is
         * (1-s)^2 + m t^2 = (1-s)^2 + c s^2 with c = m^(1-2/p); its
         * stationary point s = 1/(1+c) lies in [0,1] and the function is convex. */
        spread_factor(c, m, p, prec);
        arb_add_ui(s, c, 1, prec);
        arb_inv(s, s, prec);
        arb_sub_ui(t, s, 1, prec);
        arb_sqr(f, t, prec);
        arb_sqr(t, s, prec);
        arb_addmul(f, c, t, prec);
        if (m == 1 || arf_cmp(arb_midref(f), arb_midref(best)) < 0) {
            mb = m;
            arb_set(sb, s);
        }
        if (m == 1)
            arb_set(best, f);
        else
            arb_min(best, best, f, prec);
    }
    arb_sqrtpos(r, best, prec);
    if (m_best)
        *m_best = mb;
    if (s_best)
        arb_set(s_best, sb);
    arb_clear(c);
    arb_clear(s);
    arb_clear(f);
    arb_clear(t);
    arb_clear(best);
    arb_clear(sb);
    return IBC_OK;
}

/* ---- certified lower bounds ---------------------------------------------- */

/* sigma(x)^e on a ball (header): negative parts of the ball are dropped, and
 * the map is increasing, so the hull of its values at the two endpoints
 * encloses the range; arb_pow on a ball touching 0 would be indeterminate. */
void ibc_ideal_sigma_pow_arb(arb_t z, const arb_t x, const arb_t e, slong prec)
{
    arf_t l, u;
    arb_t zl, zu;
    arf_init(l);
    arf_init(u);
    arb_init(zl);
    arb_init(zu);
    arb_get_lbound_arf(l, x, prec);
    arb_get_ubound_arf(u, x, prec);
    if (arf_sgn(l) < 0)
        arf_zero(l);
    if (arf_sgn(u) < 0)
        arf_zero(u);
    if (arf_is_zero(l)) {
        arb_zero(zl);
    } else {
        arb_set_arf(zl, l);
        arb_pow(zl, zl, e, prec);
    }
    if (arf_is_zero(u)) {
        arb_zero(zu);
    } else {
        arb_set_arf(zu, u);
        arb_pow(zu, zu, e, prec);
    }
    arb_union(z, zl, zu, prec);
    arf_clear(l);
    arf_clear(u);
    arb_clear(zl);
    arb_clear(zu);
}

typedef struct {
    arb_t a, b, ry, ro;   /* class sums; sqrt(Ky) r and sqrt(Ko) r */
} circle_ctx;

/* Why the circle suffices: y F(x + delta) depends on delta only through
 * u = <delta, mu_y>/sqrt(Ky) and v = <delta, mu_-y>/sqrt(Ko), coordinates
 * along two orthonormal vectors, so u^2 + v^2 <= ||delta||^2 and every point
 * of that disk is reached:  y F = sigma(a + sqrt(Ky) u) - sigma(b + sqrt(Ko) v).
 * This is nondecreasing in u and nonincreasing in v, so its minimum over
 * the disk of radius r lies on the arc u = -r cos(phi), v = r sin(phi),
 * phi in [0, pi/2]. */
static int circle_fn(arb_t res, const arb_t phi, void *vctx, slong prec)
{
    circle_ctx *c = vctx;
    arb_t s, co, z;
    arb_init(s);
    arb_init(co);
    arb_init(z);
    arb_sin_cos(s, co, phi, prec);
    arb_zero(z);
    arb_mul(co, co, c->ry, prec);
    arb_sub(co, c->a, co, prec);
    arb_max(co, co, z, prec);
    arb_mul(s, s, c->ro, prec);
    arb_add(s, c->b, s, prec);
    arb_max(s, s, z, prec);
    arb_sub(res, co, s, prec);
    arb_clear(s);
    arb_clear(co);
    arb_clear(z);
    return IBC_OK;
}

int ibc_ideal_certify_F(ibc_ideal_pos_info *info, const arb_t a, const arb_t b,
                        long Ky, long Ko, const arb_t r, slong prec)
{
    if (Ky < 1 || Ko < 1 || !arb_is_exact(r) || arb_is_negative(r))
        return IBC_EINPUT;
    circle_ctx c;
    arb_init(c.a);
    arb_init(c.b);
    arb_init(c.ry);
    arb_init(c.ro);
    arb_set(c.a, a);
    arb_set(c.b, b);
    arb_sqrt_ui(c.ry, (ulong)Ky, prec);
    arb_mul(c.ry, c.ry, r, prec);
    arb_sqrt_ui(c.ro, (ulong)Ko, prec);
    arb_mul(c.ro, c.ro, r, prec);
    arf_t lo, hi;
    arf_init(lo);
    arf_init(hi);
    arf_zero(lo);
    /* Any bound above pi/2 will do: angles past it are still points of the circle. */
    arf_set_d(hi, 1.5708);
    int rc = ibc_ideal_certify_positive(info, circle_fn, &c, lo, hi, CERT_DEPTH, CERT_EVALS, prec);
    arf_clear(lo);
    arf_clear(hi);
    arb_clear(c.a);
    arb_clear(c.b);
    arb_clear(c.ry);
    arb_clear(c.ro);
    return rc;
}

typedef struct {
    arb_t p, hp, r2, C;   /* p, p/2, r^2, C_p */
} fp_ctx;

/* Why this 1-D bound suffices at mu_k, for ||delta|| <= r < 1: with
 * u = max(-delta_k, 0) <= r,
 *   y F^(p)(mu_k + delta) = sigma(1 + delta_k)^p + sum_{same class, j != k} sigma(delta_j)^p
 *                           - sum_{l opposite} sigma(delta_l)^p
 *                        >= (1 - u)^p - sum_l sigma(delta_l)^p,
 * since same-class coordinates only add nonnegative terms (they help the
 * defender) and sigma(1 + delta_k) >= 1 - u >= 0.  The opposite coordinates
 * have sum_l delta_l^2 <= r^2 - u^2, and for t >= 0 in R^m:
 *   p >= 2:  sum t_l^p <= (sum t_l^2)^(p/2)               (||t||_p <= ||t||_2),
 *   p <  2:  sum t_l^p <= m^(1-p/2) (sum t_l^2)^(p/2)     (Hoelder).
 * So y F^(p) >= g(u) = (1-u)^p - C_p (r^2 - u^2)^(p/2) and g > 0 on [0, r]
 * proves the radius is at least r. */
static int fp_fn(arb_t res, const arb_t u, void *vctx, slong prec)
{
    fp_ctx *c = vctx;
    arb_t s, w;
    arb_init(s);
    arb_init(w);
    arb_sub_ui(s, u, 1, prec);
    arb_neg(s, s);
    ibc_ideal_sigma_pow_arb(s, s, c->p, prec);
    arb_sqr(w, u, prec);
    arb_sub(w, c->r2, w, prec);
    ibc_ideal_sigma_pow_arb(w, w, c->hp, prec);
    arb_mul(w, w, c->C, prec);
    arb_sub(res, s, w, prec);
    arb_clear(s);
    arb_clear(w);
    return IBC_OK;
}

int ibc_ideal_certify_Fp_center(ibc_ideal_pos_info *info, double p, long K_opp,
                                const arb_t r, slong prec)
{
    if (bad_p(p) || K_opp < 1 || !arb_is_exact(r) || arb_is_negative(r))
        return IBC_EINPUT;
    arf_t lo, hi;
    arf_init(lo);
    arf_init(hi);
    arf_zero(lo);
    arf_set(hi, arb_midref(r));
    if (arf_cmp_si(hi, 1) >= 0) {
        arf_clear(lo);
        arf_clear(hi);
        return IBC_EINPUT;   /* the reduction assumes u < 1 */
    }
    fp_ctx c;
    arb_init(c.p);
    arb_init(c.hp);
    arb_init(c.r2);
    arb_init(c.C);
    arb_set_d(c.p, p);
    arb_mul_2exp_si(c.hp, c.p, -1);
    arb_sqr(c.r2, r, prec);
    if (p >= 2.0) {
        arb_one(c.C);
    } else {
        arb_t e;
        arb_init(e);
        arb_sub_ui(e, c.hp, 1, prec);
        arb_neg(e, e);
        arb_set_ui(c.C, (ulong)K_opp);
        arb_pow(c.C, c.C, e, prec);
        arb_clear(e);
    }
    int rc = ibc_ideal_certify_positive(info, fp_fn, &c, lo, hi, CERT_DEPTH, CERT_EVALS, prec);
    arb_clear(c.p);
    arb_clear(c.hp);
    arb_clear(c.r2);
    arb_clear(c.C);
    arf_clear(lo);
    arf_clear(hi);
    return rc;
}
