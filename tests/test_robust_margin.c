/* Unit test of the rigorous double margin (rnet.c): the outward-rounded,
 * compensated (Dot2) enclosure of y f(x + delta) that settles the attacks'
 * flip certificates before Arb, and the projection enclosures the
 * certificate reads at each point.  The reference is the Arb margin at 512
 * bits (ibc_robust_rnet_margin_arb), an independent evaluation in balls.
 *
 * Checks, each on random networks (p = 1, 2, 3; mixed signs):
 *   - containment: the Arb ball lies inside [lo, hi], at generic points,
 *     at points bisected onto the decision boundary (|y f| ~ 1e-15 of its
 *     terms), under cancellation (pairs of units that cancel to a small
 *     margin) and with weights scaled by 2^+-300;
 *   - tightness: width <= 1e-12 of the sum of |terms| (what makes the Arb
 *     fallback rare; a plain dot product's bound is ~1e-13 D wider);
 *   - the fast enclosure (ibc_robust_rnet_margin_enclose_fast_d, one BLAS
 *     product and an a-priori bound) contains the Arb ball too, wherever it
 *     returns one, and is wider than the Dot2 one (its worst width is
 *     printed);
 *   - ibc_robust_rnet_flipped agrees with the sign of the Arb margin wherever the
 *     ball decides it;
 *   - ill-conditioned: single units whose <x, w> has condition number up to
 *     ~1e40 (GenDot of Ogita, Rump and Oishi), where even Dot2 errs: the
 *     enclosure must still contain the Arb value (its error bound, not the
 *     compensated sum, is what holds there);
 *   - ibc_robust_rnet_proj_enclose contains <x, w_j>/||w_j|| in balls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/robust.h"
#include "prec/ibc_arb.h"
#include "robust/directed.h"
#include "test_util.h"

#define ARB_PREC 512

static ibc_rnet *rand_net(long h, long D, long p, double scale)
{
    ibc_rnet *f = calloc(1, sizeof *f);
    f->h = h;
    f->D = D;
    f->p = (double)p;
    f->pint = p;
    f->W = malloc(sizeof(double) * (size_t)(h * D));
    f->U = malloc(sizeof(double) * (size_t)(h * D));
    f->v = malloc(sizeof(double) * (size_t)h);
    f->wn = malloc(sizeof(double) * (size_t)h);
    for (long j = 0; j < h; j++) {
        double s = 0;
        for (long d = 0; d < D; d++) {
            double w = scale * nrand();
            f->W[j * D + d] = w;
            s += w * w;
        }
        f->wn[j] = sqrt(s);
        for (long d = 0; d < D; d++)
            f->U[j * D + d] = f->W[j * D + d] / f->wn[j];
        f->v[j] = nrand() / scale;
    }
    snprintf(f->name, sizeof f->name, "random p=%ld", p);
    return f;
}

/* The Arb margin's ball as [al, ah] (rounded outward), and the sum of |terms|
 * (double, for the tightness check). */
static void arb_margin(const ibc_rnet *f, const double *x, const double *d, int y, double *al, double *ah)
{
    arb_t m;
    arf_t t;
    arb_init(m);
    arf_init(t);
    ibc_robust_rnet_margin_arb(m, f, x, d, y, ARB_PREC);
    arb_get_lbound_arf(t, m, ARB_PREC);
    *al = arf_get_d(t, ARF_RND_FLOOR);
    arb_get_ubound_arf(t, m, ARB_PREC);
    *ah = arf_get_d(t, ARF_RND_CEIL);
    arb_clear(m);
    arf_clear(t);
}

static double abs_terms(const ibc_rnet *f, const double *x, const double *d)
{
    double s = 0;
    for (long j = 0; j < f->h; j++) {
        double z = 0;
        for (long k = 0; k < f->D; k++)
            z += (x[k] + (d ? d[k] : 0)) * f->U[j * f->D + k];
        s += fabs(f->v[j] * f->wn[j] * ibc_robust_rnet_sigma_pow_d(f, z));
    }
    return s;
}

typedef struct {
    long n, contained, tight, agree, fast_n, fast_contained;
    double worst_width, fast_worst;
} tally;

static void one(tally *T, const ibc_rnet *f, const double *x, const double *d, int y)
{
    double lo, hi, al, ah;
    int ok = ibc_robust_rnet_margin_enclose_d(f, x, d, y, &lo, &hi);
    arb_margin(f, x, d, y, &al, &ah);
    T->n++;
    if (ok && lo <= al && ah <= hi)
        T->contained++;
    double A = abs_terms(f, x, d), w = A > 0 ? (hi - lo) / A : 0;
    if (ok && w <= 1e-12)
        T->tight++;
    if (w > T->worst_width)
        T->worst_width = w;
    double fl_lo, fl_hi;
    if (ibc_robust_rnet_margin_enclose_fast_d(f, x, d, y, &fl_lo, &fl_hi)) {
        T->fast_n++;
        T->fast_contained += fl_lo <= al && ah <= fl_hi;
        double fw = A > 0 ? (fl_hi - fl_lo) / A : 0;
        if (fw > T->fast_worst)
            T->fast_worst = fw;
    }
    int fl = ibc_robust_rnet_flipped(f, x, d, y, 128);
    int truth = ah <= 0 ? 1 : al > 0 ? 0 : -1;
    if (truth < 0 || fl == truth)
        T->agree++;
}

/* delta = t u with t bisected to the double crossing of y f (a boundary
 * point, where y f is a rounding error of its terms). */
static void boundary(double *d, const ibc_rnet *f, const double *x, const double *u, int y)
{
    long D = f->D;
    double lo = 0, hi = 1;
    for (int grow = 0; grow < 60; grow++) {
        for (long k = 0; k < D; k++)
            d[k] = hi * u[k];
        double xd[4096];
        for (long k = 0; k < D; k++)
            xd[k] = x[k] + d[k];
        if (y * ibc_robust_rnet_eval_d(f, xd) <= 0)
            break;
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 200 && hi - lo > 0x1p-52 * hi; it++) {
        double mid = 0.5 * (lo + hi), xd[4096];
        for (long k = 0; k < D; k++)
            xd[k] = x[k] + mid * u[k];
        if (y * ibc_robust_rnet_eval_d(f, xd) <= 0)
            hi = mid;
        else
            lo = mid;
    }
    for (long k = 0; k < D; k++)
        d[k] = hi * u[k];
}

static void run_case(const char *name, long h, long D, long p, double scale, int kind)
{
    tally T = {0};
    long reps = 20 * test_repeat();
    double *x = malloc(sizeof(double) * (size_t)D), *u = malloc(sizeof(double) * (size_t)D),
           *d = malloc(sizeof(double) * (size_t)D);
    for (long r = 0; r < reps; r++) {
        ibc_rnet *f = rand_net(h, D, p, scale);
        if (kind == 2) {
            /* cancellation: unit 2i+1 is unit 2i with the opposite output
             * weight, slightly perturbed, so y f is a small difference of
             * large terms */
            for (long j = 0; j + 1 < h; j += 2) {
                memcpy(f->W + (j + 1) * D, f->W + j * D, sizeof(double) * (size_t)D);
                memcpy(f->U + (j + 1) * D, f->U + j * D, sizeof(double) * (size_t)D);
                f->wn[j + 1] = f->wn[j];
                f->v[j + 1] = -f->v[j] * (1 + 1e-9 * nrand());
            }
        }
        for (long k = 0; k < D; k++) {
            x[k] = nrand() / scale;
            u[k] = nrand() / scale;
        }
        int y = (r & 1) ? 1 : -1;
        if (kind == 1) {
            boundary(d, f, x, u, y);
            one(&T, f, x, d, y);
        } else {
            one(&T, f, x, NULL, y);
            for (long k = 0; k < D; k++)
                d[k] = 0.3 * u[k];
            one(&T, f, x, d, y);
        }
        ibc_robust_rnet_free(f);
    }
    report(name, T.contained == T.n, "%ld/%ld Arb balls inside the double enclosure", T.contained, T.n);
    char nm[96];
    snprintf(nm, sizeof nm, "%s: fast", name);
    report(nm, T.fast_contained == T.fast_n && T.fast_n > 0,
           "%ld/%ld Arb balls inside the fast enclosure (worst width %.2e sum|terms|)", T.fast_contained, T.fast_n,
           T.fast_worst);
    snprintf(nm, sizeof nm, "%s: tight", name);
    report(nm, T.tight == T.n, "%ld/%ld widths <= 1e-12 sum|terms| (worst %.2e)", T.tight, T.n, T.worst_width);
    snprintf(nm, sizeof nm, "%s: flipped agrees", name);
    report(nm, T.agree == T.n, "%ld/%ld agree with the Arb sign", T.agree, T.n);
    free(x);
    free(u);
    free(d);
}

static void proj_case(void)
{
    long h = 40, D = 300, bad = 0, n = 0;
    ibc_rnet *f = rand_net(h, D, 3, 1.0);
    double *x = malloc(sizeof(double) * (size_t)D), nl[40], nh[40], zl[40], zu[40];
    arb_t s, t, u, nr;
    arb_init(s);
    arb_init(t);
    arb_init(u);
    arb_init(nr);
    for (long j = 0; j < h; j++) {
        arb_zero(nr);
        for (long d = 0; d < D; d++) {
            arb_set_d(t, f->W[j * D + d]);
            arb_addmul(nr, t, t, ARB_PREC);
        }
        arb_sqrt(nr, nr, ARB_PREC);
        nl[j] = arf_get_d(arb_midref(nr), ARF_RND_FLOOR) * (1 - 1e-15);
        nh[j] = arf_get_d(arb_midref(nr), ARF_RND_CEIL) * (1 + 1e-15);
    }
    for (long r = 0; r < 20; r++) {
        for (long d = 0; d < D; d++)
            x[d] = nrand();
        ibc_robust_rnet_proj_enclose(f, x, nl, nh, zl, zu);
        for (long j = 0; j < h; j++) {
            arb_zero(s);
            arb_zero(nr);
            for (long d = 0; d < D; d++) {
                arb_set_d(t, f->W[j * D + d]);
                arb_set_d(u, x[d]);
                arb_addmul(s, t, u, ARB_PREC);
                arb_addmul(nr, t, t, ARB_PREC);
            }
            arb_sqrt(nr, nr, ARB_PREC);
            arb_div(s, s, nr, ARB_PREC);
            double z = arf_get_d(arb_midref(s), ARF_RND_NEAR);
            n++;
            if (!(zl[j] <= z && z <= zu[j]) || zu[j] - zl[j] > 1e-11 * (1 + fabs(z)))
                bad++;
        }
    }
    report("proj_enclose contains <x, w>/||w|| (width <= 1e-11)", bad == 0, "%ld/%ld bad", bad, n);
    arb_clear(s);
    arb_clear(t);
    arb_clear(u);
    arb_clear(nr);
    free(x);
    ibc_robust_rnet_free(f);
}

/* GenDot: x, w of length n = 2m with sum x_i w_i of condition number about
 * 2^(2b): the first half has exponents spread over [0, b], the second half
 * cancels the exact running sum (Arb) down to exponents falling from b to 0. */
static void gen_dot(double *x, double *w, long n, int b, int ones)
{
    long m = n / 2;
    arb_t s, t, u;
    arb_init(s);
    arb_init(t);
    arb_init(u);
    for (long i = 0; i < m; i++) {
        int e = i == 0 ? b : i == m - 1 ? 0 : (int)(urand() * b);
        x[i] = ones ? 1.0 : ldexp(2 * urand() - 1, e);
        w[i] = ldexp(2 * urand() - 1, ones ? 2 * e : e);
    }
    arb_zero(s);
    for (long i = 0; i < m; i++) {
        arb_set_d(t, x[i]);
        arb_set_d(u, w[i]);
        arb_addmul(s, t, u, ARB_PREC);
    }
    for (long i = m; i < n; i++) {
        int e = (int)((double)b * (double)(n - 1 - i) / (double)(n - 1 - m));
        x[i] = ones ? 1.0 : ldexp(2 * urand() - 1, e);
        double r = ldexp(2 * urand() - 1, ones ? 2 * e : e);
        /* w_i = (r - s) / x_i, rounded: the sum drops to about r */
        arb_set_d(t, r);
        arb_sub(t, t, s, ARB_PREC);
        arb_set_d(u, x[i]);
        arb_div(t, t, u, ARB_PREC);
        w[i] = arf_get_d(arb_midref(t), ARF_RND_NEAR);
        arb_set_d(t, x[i]);
        arb_set_d(u, w[i]);
        arb_addmul(s, t, u, ARB_PREC);
    }
    arb_clear(s);
    arb_clear(t);
    arb_clear(u);
}

static void ill_case(void)
{
    long D = 40, n = 0, in = 0, fast_in = 0, fast_n = 0;
    for (int b = 20; b <= 70; b += 10)
        for (long r = 0; r < 10 * test_repeat(); r++) {
            ibc_rnet *f = rand_net(1, D, 1, 1.0);
            double x[40];
            gen_dot(x, f->W, D, b, 0);
            f->v[0] = 1.0;
            double lo, hi, al, ah;
            int ok = ibc_robust_rnet_margin_enclose_d(f, x, NULL, 1, &lo, &hi);
            arb_margin(f, x, NULL, 1, &al, &ah);
            n++;
            in += !ok || (lo <= al && ah <= hi);   /* not ok: Arb decides, also sound */
            /* the fast enclosure: here its a-priori bound, not the norms'
             * slack, is what must cover the product's error */
            if (ibc_robust_rnet_margin_enclose_fast_d(f, x, NULL, 1, &lo, &hi)) {
                fast_n++;
                fast_in += lo <= al && ah <= hi;
            }
            ibc_robust_rnet_free(f);
        }
    report("ill-conditioned <x, w> (cond to ~2^140)", in == n, "%ld/%ld Arb balls inside", in, n);
    report("ill-conditioned <x, w>: fast enclosure", fast_in == fast_n && fast_n == n, "%ld/%ld Arb balls inside",
           fast_in, fast_n);
    /* The same for the sum over units: h units on one coordinate (x = 1,
     * w_j = 1, so unit j is v_j), v from GenDot with ones. */
    n = in = 0;
    for (int b = 20; b <= 70; b += 10)
        for (long r = 0; r < 10 * test_repeat(); r++) {
            long h = 40;
            ibc_rnet *f = rand_net(h, 1, 1, 1.0);
            double ones[40], x = 1.0;
            gen_dot(ones, f->v, h, b, 1);
            for (long j = 0; j < h; j++)
                f->W[j] = f->U[j] = f->wn[j] = 1.0;
            double lo, hi, al, ah;
            int ok = ibc_robust_rnet_margin_enclose_d(f, &x, NULL, 1, &lo, &hi);
            arb_margin(f, &x, NULL, 1, &al, &ah);
            n++;
            in += !ok || (lo <= al && ah <= hi);
            ibc_robust_rnet_free(f);
        }
    report("ill-conditioned sum of units (cond to ~2^140)", in == n, "%ld/%ld Arb balls inside", in, n);
}

/* ibc_robust_dn / ibc_robust_up are nextafter toward -inf / +inf, done on the bits. */
static void directed_case(void)
{
    static const double sp[] = {0.0, -0.0, 0x1p-1074, -0x1p-1074, 0x1p-1022, -0x1p-1022, 1.0, -1.0,
                                0x1.fffffffffffffp+1023, -0x1.fffffffffffffp+1023, INFINITY, -INFINITY};
    long n = 0, bad = 0;
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++, n += 2)
        bad += ibc_robust_dn(sp[i]) != nextafter(sp[i], -INFINITY) || ibc_robust_up(sp[i]) != nextafter(sp[i], INFINITY);
    for (long r = 0; r < 100000; r++, n += 2) {
        double x = ldexp(2 * urand() - 1, (int)(urand() * 2100) - 1050);
        bad += ibc_robust_dn(x) != nextafter(x, -INFINITY) || ibc_robust_up(x) != nextafter(x, INFINITY);
    }
    bad += !isnan(ibc_robust_dn(NAN)) || !isnan(ibc_robust_up(NAN));
    report("ibc_robust_dn / ibc_robust_up equal nextafter (specials, 1e5 random)", bad == 0, "%ld/%ld differ", bad, n);
    /* ibc_robust_wdn / wup (the branch-free bounds) around rounded products
     * and sums, whose exact error is known (fma, TwoSum): wdn(v) - v <= err
     * <= wup(v) - v, both differences exact (Sterbenz).  Exponents from the
     * subnormal range to near overflow, and v = 0 from an underflow. */
    n = bad = 0;
    for (long r = 0; r < 200000; r++) {
        double a = ldexp(2 * urand() - 1, (int)(urand() * 1000) - 500 - (r % 4 == 0 ? 560 : 0));
        double b = ldexp(2 * urand() - 1, (int)(urand() * 1000) - 500);
        double v, e;
        if (r & 1) {
            v = a * b;
            e = fma(a, b, -v);   /* exact unless the product underflows */
            if (fabs(v) < 0x1p-960)
                continue;
        } else {
            ibc_robust_two_sum(a, b, &v, &e);
        }
        double lo = ibc_robust_wdn(v), hi = ibc_robust_wup(v);
        n++;   /* counted only where the exact error is known */
        bad += !(lo - v <= e && e <= hi - v) || !(lo < v || v == 0) || !(hi > v || v == 0);
    }
    static const double tiny[] = {0.0, 0x1p-1074, -0x1p-1074, 0x1p-1060, -0x1p-1030};
    /* an underflow errs by <= 2^-1075, half a subnormal step: one step out covers it */
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++, n++)
        bad += !(ibc_robust_wdn(tiny[i]) < tiny[i] && ibc_robust_wup(tiny[i]) > tiny[i]);
    report("ibc_robust_wdn / wup bound the exact result of a product or sum", bad == 0, "%ld/%ld wrong", bad, n);
}

int main(void)
{
    rng_state = 0x6d617267696eULL;
    directed_case();
    for (long p = 1; p <= 3; p++) {
        char nm[64];
        snprintf(nm, sizeof nm, "generic p=%ld h=60 D=50", p);
        run_case(nm, 60, 50, p, 1.0, 0);
        snprintf(nm, sizeof nm, "boundary p=%ld h=200 D=400", p);
        run_case(nm, 200, 400, p, 1.0, 1);
        snprintf(nm, sizeof nm, "cancelling p=%ld h=60 D=50", p);
        run_case(nm, 60, 50, p, 1.0, 2);
    }
    run_case("scaled 2^300 p=3", 40, 30, 3, 0x1p300, 0);
    run_case("scaled 2^-300 p=2", 40, 30, 2, 0x1p-300, 0);
    ill_case();
    proj_case();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
