#include <stdio.h>
/* ideal: explicit attacks on F and F^(p) evaluated through their definitions,
 * and brackets [certified lower, attack upper] around a claimed radius. */
#include <gmp.h>
#include "ibcheck/ideal.h"
#include "prec/ibc_arb.h"

/* MPFR work vectors are ibc_vec in MPFR mode at the classifier's precision. */
static void work_init(ibc_vec *v, const ibc_ideal_clf *f)
{
    ibc_prec_vec_init(v, f->D, ibc_prec_mpfr(f->bits));
}

/* v /= ||v|| (rounded); a zero vector is left alone and reported. */
static int vec_normalize(mpfr_ptr v, long n, long bits)
{
    mpfr_t s;
    mpfr_init2(s, bits + 16);
    mpfr_set_zero(s, 1);
    for (long i = 0; i < n; i++)
        mpfr_fma(s, v + i, v + i, s, MPFR_RNDN);
    int zero = mpfr_zero_p(s);
    if (!zero) {
        mpfr_sqrt(s, s, MPFR_RNDN);
        for (long i = 0; i < n; i++)
            mpfr_div(v + i, v + i, s, MPFR_RNDN);
    }
    mpfr_clear(s);
    return zero ? IBC_ENUMERIC : IBC_OK;
}

/* xp = x + t d, rounded to the nearest at xp's precision. */
static void vec_ray(mpfr_ptr xp, mpfr_srcptr x, mpfr_srcptr d, mpfr_srcptr t, long n)
{
    for (long i = 0; i < n; i++)
        mpfr_fma(xp + i, t, d + i, x + i, MPFR_RNDN);
}

int ibc_ideal_flip_at(int *flipped, mpfr_t norm_up, const ibc_ideal_clf *f, mpfr_srcptr x,
                      int y, mpfr_srcptr d, mpfr_srcptr t)
{
    long D = f->D;
    ibc_vec w;
    work_init(&w, f);
    mpfr_ptr xp = w.m;
    vec_ray(xp, x, d, t, D);
    mpfr_t m, e;
    mpfr_init2(m, f->bits);
    mpfr_init2(e, f->bits + 64);
    int rc = ibc_ideal_clf_margin(m, f, xp, y, MPFR_RNDU);
    if (rc == IBC_OK) {
        if (mpfr_sgn(m) <= 0) {
            *flipped = 1;
        } else {
            rc = ibc_ideal_clf_margin(m, f, xp, y, MPFR_RNDD);
            *flipped = mpfr_sgn(m) > 0 ? 0 : -1;
        }
    }
    if (rc == IBC_OK && norm_up) {
        /* The perturbation actually applied is x' - x, not t d: bound its
         * norm from above with every rounding pointing up. */
        mpfr_set_zero(norm_up, 1);
        for (long i = 0; i < D; i++) {
            mpfr_sub(e, xp + i, x + i, MPFR_RNDA);
            mpfr_sqr(e, e, MPFR_RNDU);
            mpfr_add(norm_up, norm_up, e, MPFR_RNDU);
        }
        mpfr_sqrt(norm_up, norm_up, MPFR_RNDU);
    }
    mpfr_clear(m);
    mpfr_clear(e);
    ibc_prec_vec_clear(&w);
    return rc;
}

/* Nearest-rounded test used by the searches (xp is workspace). */
static int flips_near(int *flip, const ibc_ideal_clf *f, mpfr_srcptr x, int y, mpfr_srcptr d,
                      mpfr_srcptr t, mpfr_ptr xp, mpfr_t m)
{
    vec_ray(xp, x, d, t, f->D);
    int rc = ibc_ideal_clf_margin(m, f, xp, y, MPFR_RNDN);
    *flip = mpfr_sgn(m) <= 0;
    return rc;
}

int ibc_ideal_ray_radius(mpfr_t t, const ibc_ideal_clf *f, mpfr_srcptr x, int y,
                         mpfr_srcptr d, mpfr_srcptr tmax, int iters)
{
    if (iters < 0 || mpfr_sgn(tmax) < 0)
        return IBC_EINPUT;
    ibc_vec w;
    work_init(&w, f);
    mpfr_ptr xp = w.m;
    mpfr_t lo, hi, mid, m;
    mpfr_init2(lo, f->bits);
    mpfr_init2(hi, f->bits);
    mpfr_init2(mid, f->bits);
    mpfr_init2(m, f->bits);
    int flip = 0;
    mpfr_set(hi, tmax, MPFR_RNDN);
    int rc = flips_near(&flip, f, x, y, d, hi, xp, m);
    if (rc == IBC_OK && !flip) {
        mpfr_set_inf(t, 1);
    } else if (rc == IBC_OK) {
        /* The flip set along a ray need not be an interval (F^(p)), but the
         * bracket [no flip, flip] is kept, so hi always ends on a flip point. */
        mpfr_set_zero(lo, 1);
        for (int i = 0; i < iters && rc == IBC_OK; i++) {
            mpfr_add(mid, lo, hi, MPFR_RNDN);
            mpfr_mul_2si(mid, mid, -1, MPFR_RNDN);
            rc = flips_near(&flip, f, x, y, d, mid, xp, m);
            mpfr_set(flip ? hi : lo, mid, MPFR_RNDN);
        }
        mpfr_set(t, hi, MPFR_RNDU);
    }
    mpfr_clear(lo);
    mpfr_clear(hi);
    mpfr_clear(mid);
    mpfr_clear(m);
    ibc_prec_vec_clear(&w);
    return rc;
}

int ibc_ideal_attack_F_dir(mpfr_ptr d, const ibc_ideal_clf *f, mpfr_srcptr x, int y)
{
    if (f->kind != IBC_IDEAL_F || (y != 1 && y != -1))
        return IBC_EINPUT;
    long D = f->D, K = f->K, K1 = f->K1;
    ibc_vec w[2];
    work_init(&w[0], f);
    work_init(&w[1], f);
    mpfr_ptr n[2] = { w[0].m, w[1].m };
    mpfr_t t[2], tmax;
    mpfr_init2(t[0], f->bits);
    mpfr_init2(t[1], f->bits);
    mpfr_init2(tmax, f->bits);
    int rc = IBC_OK;
    /* The normals of F's two flip half-spaces {<x,mu_y> <= 0} and
     * {<x, mu_y - mu_-y> <= 0}, pointing into them. */
    for (long k = 0; k < K && rc == IBC_OK; k++) {
        int own = (k < K1) == (y > 0);
        mpfr_set_si(n[0] + k, own ? -1 : 0, MPFR_RNDN);
        mpfr_set_si(n[1] + k, own ? -1 : 1, MPFR_RNDN);
    }
    for (int j = 0; j < 2 && rc == IBC_OK; j++) {
        rc = vec_normalize(n[j], D, f->bits);
        /* Each half-space is reached along its normal; widen until it is. */
        mpfr_set_ui(tmax, 1, MPFR_RNDN);
        for (int widen = 0; rc == IBC_OK && widen < 64; widen++) {
            rc = ibc_ideal_ray_radius(t[j], f, x, y, n[j], tmax, (int)f->bits);
            if (!mpfr_inf_p(t[j]))
                break;
            mpfr_mul_2si(tmax, tmax, 1, MPFR_RNDN);
        }
    }
    if (rc == IBC_OK) {
        int j = mpfr_cmp(t[1], t[0]) < 0;
        for (long i = 0; i < D; i++)
            mpfr_set(d + i, n[j] + i, MPFR_RNDN);
    }
    ibc_prec_vec_clear(&w[0]);
    ibc_prec_vec_clear(&w[1]);
    mpfr_clear(t[0]);
    mpfr_clear(t[1]);
    mpfr_clear(tmax);
    return rc;
}

int ibc_ideal_dir_Fp_center(mpfr_ptr d, const ibc_ideal_clf *f, long k, long m, long l0,
                            mpfr_srcptr s)
{
    long K = f->K, K1 = f->K1;
    if (k < 0 || k >= K)
        return IBC_EINPUT;
    int pos = k < K1;
    long o0 = pos ? K1 : 0, no = pos ? K - K1 : K1;
    if (m < 1 || m > no || l0 < 0 || mpfr_sgn(s) < 0 || mpfr_cmp_ui(s, 1) > 0)
        return IBC_EINPUT;
    mpfr_t t, e;
    mpfr_init2(t, f->bits);
    mpfr_init2(e, f->bits);
    for (long i = 0; i < f->D; i++)
        mpfr_set_zero(d + i, 1);
    /* Leaving mass s on mu_k and giving each of m opposite centers t puts the
     * point on F^(p)'s boundary when s^p = m t^p. */
    mpfr_ui_div(e, 1, f->p, MPFR_RNDN);
    mpfr_neg(e, e, MPFR_RNDN);
    mpfr_set_ui(t, (unsigned long)m, MPFR_RNDN);
    mpfr_pow(t, t, e, MPFR_RNDN);
    mpfr_mul(t, t, s, MPFR_RNDN);
    mpfr_ui_sub(d + k, 1, s, MPFR_RNDN);
    mpfr_neg(d + k, d + k, MPFR_RNDN);
    for (long i = 0; i < m; i++)
        mpfr_set(d + o0 + (l0 + i) % no, t, MPFR_RNDN);
    int rc = vec_normalize(d, f->D, f->bits);
    mpfr_clear(t);
    mpfr_clear(e);
    return rc;
}

int ibc_ideal_attack_random(mpfr_t best, const ibc_ideal_clf *f, mpfr_srcptr x, int y,
                            double tmax, long ndirs, long nsteps, unsigned long seed)
{
    if (!(tmax > 0) || ndirs < 1 || nsteps < 0)
        return IBC_EINPUT;
    long D = f->D, K = f->K;
    int iters = 48;
    ibc_vec wd, wdb;
    work_init(&wd, f);
    work_init(&wdb, f);
    mpfr_ptr d = wd.m, db = wdb.m;
    mpfr_t t, tm, g, step;
    mpfr_init2(t, f->bits);
    mpfr_init2(tm, f->bits);
    mpfr_init2(g, f->bits);
    mpfr_init2(step, f->bits);
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, seed);
    int rc = IBC_OK;
    mpfr_set_inf(best, 1);
    mpfr_set_d(tm, tmax, MPFR_RNDN);
    /* Only span(mu_1..mu_K) matters to F and F^(p): directions outside it
     * would waste the budget. */
    for (long i = 0; i < ndirs && rc == IBC_OK; i++) {
        for (long j = 0; j < K; j++)
            mpfr_nrandom(d + j, st, MPFR_RNDN);
        if (vec_normalize(d, D, f->bits) != IBC_OK)
            continue;
        rc = ibc_ideal_ray_radius(t, f, x, y, d, tm, iters);
        if (rc == IBC_OK && mpfr_cmp(t, best) < 0) {
            mpfr_set(best, t, MPFR_RNDN);
            for (long j = 0; j < D; j++)
                mpfr_set(db + j, d + j, MPFR_RNDN);
        }
    }
    /* Greedy: perturb the best direction; shrink the step after a run of failures. */
    mpfr_set_d(step, 0.3, MPFR_RNDN);
    int fails = 0;
    for (long s = 0; s < nsteps && rc == IBC_OK && !mpfr_inf_p(best); s++) {
        for (long j = 0; j < K; j++) {
            mpfr_nrandom(g, st, MPFR_RNDN);
            mpfr_fma(d + j, g, step, db + j, MPFR_RNDN);
        }
        if (vec_normalize(d, D, f->bits) != IBC_OK)
            continue;
        rc = ibc_ideal_ray_radius(t, f, x, y, d, best, iters);
        if (rc == IBC_OK && mpfr_cmp(t, best) < 0) {
            mpfr_set(best, t, MPFR_RNDN);
            for (long j = 0; j < D; j++)
                mpfr_set(db + j, d + j, MPFR_RNDN);
            fails = 0;
        } else if (++fails >= 8) {
            mpfr_mul_2si(step, step, -1, MPFR_RNDN);
            fails = 0;
        }
    }
    gmp_randclear(st);
    mpfr_clear(t);
    mpfr_clear(tm);
    mpfr_clear(g);
    mpfr_clear(step);
    ibc_prec_vec_clear(&wd);
    ibc_prec_vec_clear(&wdb);
    return rc;
}

/* ---- brackets ------------------------------------------------------------ */

void ibc_ideal_bracket_init(ibc_ideal_bracket *br, long bits)
{
    mpfr_init2(br->lo, bits);
    mpfr_init2(br->hi, bits);
    mpfr_init2(br->rand_best, bits);
    mpfr_set_zero(br->lo, 1);
    mpfr_set_inf(br->hi, 1);
    mpfr_set_inf(br->rand_best, 1);
    br->lower_ok = br->upper_ok = br->dir_lo_ok = 0;
    br->n_attacks = 0;
    br->cert.outcome = IBC_POS_UNDECIDED;
    br->cert.pieces = br->cert.evals = 0;
    br->cert.depth = 0;
    br->cert.witness = 0.0;
}

void ibc_ideal_bracket_clear(ibc_ideal_bracket *br)
{
    mpfr_clear(br->lo);
    mpfr_clear(br->hi);
    mpfr_clear(br->rand_best);
}

/* r_lo = r (1 - rel) rounded down to an exact nonnegative point ball. */
static void scaled_lo(arb_t rlo, const arb_t r, double rel, slong prec)
{
    arf_t l;
    arf_init(l);
    arb_set_d(rlo, 1.0 - rel);
    arb_mul(rlo, rlo, r, prec);
    arb_get_lbound_arf(l, rlo, prec);
    if (arf_sgn(l) < 0)
        arf_zero(l);
    arb_set_arf(rlo, l);
    arf_clear(l);
}

static int finish_certificate(ibc_ideal_bracket *br, const arb_t rlo, int rc)
{
    if (rc != IBC_OK)
        return rc;
    br->lower_ok = br->cert.outcome == IBC_POS_PROVED;
    if (br->lower_ok)
        arf_get_mpfr(br->lo, arb_midref(rlo), MPFR_RNDD);
    else
        mpfr_set_zero(br->lo, 1);
    return IBC_OK;
}

int ibc_ideal_bracket_certify_F(ibc_ideal_bracket *br, const arb_t a, const arb_t b,
                                long Ky, long Ko, const arb_t r, double rel, slong prec)
{
    arb_t rlo;
    arb_init(rlo);
    scaled_lo(rlo, r, rel, prec);
    int rc = ibc_ideal_certify_F(&br->cert, a, b, Ky, Ko, rlo, prec);
    if (rc == IBC_OK && arb_is_zero(r)) {
        /* Nothing to prove at radius 0 when the claim is "misclassified". */
        br->cert.outcome = IBC_POS_PROVED;
    }
    rc = finish_certificate(br, rlo, rc);
    arb_clear(rlo);
    return rc;
}

int ibc_ideal_bracket_certify_Fp_center(ibc_ideal_bracket *br, double p, long K_opp,
                                        const arb_t r, double rel, slong prec)
{
    arb_t rlo;
    arb_init(rlo);
    scaled_lo(rlo, r, rel, prec);
    int rc = ibc_ideal_certify_Fp_center(&br->cert, p, K_opp, rlo, prec);
    rc = finish_certificate(br, rlo, rc);
    arb_clear(rlo);
    return rc;
}

int ibc_ideal_bracket_attack(ibc_ideal_bracket *br, const ibc_ideal_clf *f, mpfr_srcptr x,
                             int y, mpfr_srcptr d, const arb_t r, double rel)
{
    slong prec = f->bits + 16;
    arb_t s;
    arf_t u;
    mpfr_t t, nrm;
    arb_init(s);
    arf_init(u);
    mpfr_init2(t, f->bits);
    mpfr_init2(nrm, f->bits);
    int up = 0, down = 0;
    arb_set_d(s, 1.0 + rel);
    arb_mul(s, s, r, prec);
    arb_get_ubound_arf(u, s, prec);
    arf_get_mpfr(t, u, MPFR_RNDU);
    int rc = ibc_ideal_flip_at(&up, nrm, f, x, y, d, t);
    if (rc == IBC_OK) {
        if (arb_is_zero(r)) {
            down = 0;   /* radius 0: x itself flips, there is no inside to test */
        } else {
            arb_set_d(s, 1.0 - rel);
            arb_mul(s, s, r, prec);
            arb_get_lbound_arf(u, s, prec);
            arf_get_mpfr(t, u, MPFR_RNDD);
            rc = ibc_ideal_flip_at(&down, NULL, f, x, y, d, t);
        }
    }
    if (rc == IBC_OK) {
        int ok_up = up == 1, ok_down = down == 0, first = br->n_attacks == 0;
        /* hi is the worst flipping norm; one attack that fails to flip makes it +inf for good. */
        if (!ok_up)
            mpfr_set_inf(br->hi, 1);
        else if (first || (br->upper_ok && mpfr_cmp(nrm, br->hi) > 0))
            mpfr_set(br->hi, nrm, MPFR_RNDU);
        br->upper_ok = first ? ok_up : (br->upper_ok && ok_up);
        br->dir_lo_ok = first ? ok_down : (br->dir_lo_ok && ok_down);
        br->n_attacks++;
    }
    arb_clear(s);
    arf_clear(u);
    mpfr_clear(t);
    mpfr_clear(nrm);
    return rc;
}

void ibc_ideal_bracket_note_random(ibc_ideal_bracket *br, mpfr_srcptr radius)
{
    if (mpfr_cmp(radius, br->rand_best) < 0)
        mpfr_set(br->rand_best, radius, MPFR_RNDD);
}

void ibc_ideal_bound_str(char *buf, size_t n, const char *label, const arb_t r, double tol)
{
    char rb[48];
    mpfr_t t;
    mpfr_init2(t, 64);
    arf_get_mpfr(t, arb_midref(r), MPFR_RNDN);
    snprintf(buf, n, "%s %s in bracket, width <= %g r", label, ibc_prec_fmt_mpfr(rb, t, 8), tol);
    mpfr_clear(t);
}

/* [a, b] encloses the ball r (a rounded down, b up). */
static void ball_endpoints(mpfr_t a, mpfr_t b, const arb_t r, long bits)
{
    arf_t rl, ru;
    arf_init(rl);
    arf_init(ru);
    arb_get_lbound_arf(rl, r, bits);
    arb_get_ubound_arf(ru, r, bits);
    arf_get_mpfr(a, rl, MPFR_RNDD);
    arf_get_mpfr(b, ru, MPFR_RNDU);
    arf_clear(rl);
    arf_clear(ru);
}

int ibc_ideal_bracket_holds(const ibc_ideal_bracket *br, const arb_t r, double tol)
{
    if (!br->lower_ok || !br->upper_ok || !br->dir_lo_ok || br->n_attacks < 1
        || !arb_is_finite(r) || !mpfr_number_p(br->hi))
        return 0;
    long bits = mpfr_get_prec(br->hi) + 16;
    mpfr_t a, b;
    mpfr_init2(a, bits);
    mpfr_init2(b, bits);
    ball_endpoints(a, b, r, bits);
    int ok = mpfr_cmp(br->lo, a) <= 0 && mpfr_cmp(b, br->hi) <= 0
             && mpfr_cmp(br->rand_best, br->lo) >= 0;
    if (ok) {
        /* Bracket width against tol times the smallest r the ball allows. */
        mpfr_sub(b, br->hi, br->lo, MPFR_RNDU);
        mpfr_mul_d(a, a, tol, MPFR_RNDD);
        ok = mpfr_cmp(b, a) <= 0;
    }
    mpfr_clear(a);
    mpfr_clear(b);
    return ok;
}

void ibc_ideal_bracket_margin(mpfr_t m, const ibc_ideal_bracket *br, const arb_t r)
{
    long bits = mpfr_get_prec(m) + 16;
    mpfr_t a, b;
    mpfr_init2(a, bits);
    mpfr_init2(b, bits);
    ball_endpoints(a, b, r, bits);
    if (mpfr_sgn(a) <= 0) {
        mpfr_set_inf(m, -1);
    } else {
        mpfr_t up;
        mpfr_init2(up, bits);
        mpfr_set(up, b, MPFR_RNDU);            /* upper end of r */
        mpfr_sub(b, br->hi, b, MPFR_RNDD);     /* hi - r */
        mpfr_sub(a, a, br->lo, MPFR_RNDD);     /* r - lo */
        mpfr_min(b, a, b, MPFR_RNDD);
        mpfr_div(m, b, up, MPFR_RNDD);
        mpfr_clear(up);
    }
    mpfr_clear(a);
    mpfr_clear(b);
}

void ibc_ideal_bracket_rand_ratio(mpfr_t q, const ibc_ideal_bracket *br, const arb_t r)
{
    if (!mpfr_number_p(br->rand_best) || arb_contains_zero(r))
        return;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(q));
    arf_get_mpfr(t, arb_midref(r), MPFR_RNDN);
    mpfr_div(t, br->rand_best, t, MPFR_RNDD);
    mpfr_min(q, q, t, MPFR_RNDD);
    mpfr_clear(t);
}

void ibc_ideal_tally_init(ibc_ideal_tally *t, slong bits)
{
    mpfr_inits2(64, t->margin, t->rand_ratio, (mpfr_ptr)0);
    mpfr_inits2((mpfr_prec_t)bits, t->lo, t->hi, (mpfr_ptr)0);
    mpfr_set_inf(t->margin, 1);
    mpfr_set_inf(t->rand_ratio, 1);
    arb_init(t->rmin);
    t->any = 0;
}

int ibc_ideal_tally_add(ibc_ideal_tally *t, const ibc_ideal_bracket *br, const arb_t r)
{
    if (!arb_is_zero(r)) {   /* a zero radius has no relative margin */
        mpfr_t mk;
        mpfr_init2(mk, 64);
        ibc_ideal_bracket_margin(mk, br, r);
        mpfr_min(t->margin, t->margin, mk, MPFR_RNDD);
        mpfr_clear(mk);
    }
    ibc_ideal_bracket_rand_ratio(t->rand_ratio, br, r);
    if (t->any && arf_cmp(arb_midref(r), arb_midref(t->rmin)) >= 0)
        return 0;
    /* arb_set by parts: gcc 12 misreads the struct member's size (a false
     * -Wstringop-overflow on arb_set(t->rmin, r)) */
    arf_set(arb_midref(t->rmin), arb_midref(r));
    mag_set(arb_radref(t->rmin), arb_radref(r));
    mpfr_set(t->lo, br->lo, MPFR_RNDD);
    mpfr_set(t->hi, br->hi, MPFR_RNDU);
    t->any = 1;
    return 1;
}

void ibc_ideal_tally_clear(ibc_ideal_tally *t)
{
    mpfr_clears(t->margin, t->rand_ratio, t->lo, t->hi, (mpfr_ptr)0);
    arb_clear(t->rmin);
}
