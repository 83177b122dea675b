/* Unit test of the robust attacks (upper bounds): PGD (l2, linf), the
 * structured attack and the minimal-norm searches, on the ideal classifiers
 * whose radii are known independently (closed forms of ideal.h, hand
 * derivations below), and timings on a random network of the claims' size.
 * Every returned radius must be the norm bound of a delta whose flip
 * re-verifies; an attack below an exact radius is a bug (soundness). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "ibcheck/robust.h"
#include "ibcheck/net.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

/* The sizes of the claims (named apart from the struct fields D, K, K1). */
#define DIM 30
#define NK 10
#define NK1 6
#define PREC 128
#define TMAX 2.0
#define REL 1e-3     /* attack against an exact radius: relative gap allowed */
#define SOUND 1e-9   /* an attack may never be below the exact radius by more */

static double arb_mid_d(const arb_t r)
{
    return arf_get_d(arb_midref(r), ARF_RND_NEAR);
}

/* Check (4): the delta re-verifies as a certified flip and the radius is
 * exactly its norm bound. */
static int verified(const ibc_rnet *f, const double *x, int y, const double *delta, double r)
{
    return isfinite(r) && ibc_robust_rnet_flipped(f, x, delta, y, PREC) == 1 &&
           ibc_robust_rnet_norm_up(delta, f->D) == r;
}

static int class_of(long k)
{
    return k < NK1 ? 1 : -1;
}

static void opts(ibc_pgd_opts *o, long steps, long restarts, unsigned long seed)
{
    ibc_robust_pgd_opts_default(o);
    o->steps = steps;
    o->restarts = restarts;
    o->seed = seed;
}

/* (1) F^(p) at the centers against r = sqrt(c/(1+c)), c = min(1, K_opp^(1-2/p)). */
static void test_fp_centers(void)
{
    static const double ps[] = {1.0, 1.5, 2.0, 3.0, 4.0};
    double x[DIM], delta[DIM];
    ibc_pgd_opts o;
    opts(&o, 300, 2, 7);
    arb_t ex;
    arb_init(ex);
    for (size_t ip = 0; ip < sizeof ps / sizeof ps[0]; ip++) {
        double p = ps[ip];
        ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, DIM, NK, NK1, p);
        int all_ver = 1, sound = 1;
        double worst_s = 0, worst_m = 0, ratio_s = 0, ratio_m = 0, t_s = 0, t_m = 0;
        long nm = 0;
        for (long k = 0; k < NK; k++) {
            int y = class_of(k);
            ibc_ideal_radius_Fp_center(ex, p, y > 0 ? NK - NK1 : NK1, PREC);
            double exact = arb_mid_d(ex);
            memset(x, 0, sizeof x);
            x[k] = 1.0;
            double t0 = wall();
            double rs = ibc_robust_attack_structured(delta, f, x, y, TMAX);
            t_s += wall() - t0;
            all_ver &= verified(f, x, y, delta, rs);
            sound &= rs >= exact - SOUND;
            worst_s = fmax(worst_s, fabs(rs / exact - 1));
            ratio_s = fmax(ratio_s, rs / exact);
            if (k == 0 || k == NK - 1) {   /* one center of each class */
                t0 = wall();
                double rm = ibc_robust_attack_minnorm(delta, f, x, y, TMAX, &o);
                t_m += wall() - t0;
                nm++;
                all_ver &= verified(f, x, y, delta, rm);
                sound &= rm >= exact - SOUND;
                worst_m = fmax(worst_m, fabs(rm / exact - 1));
                ratio_m = fmax(ratio_m, rm / exact);
            }
        }
        char name[64];
        snprintf(name, sizeof name, "F^(%g) centers: deltas certified, norm = radius", p);
        report(name, all_ver, "%s", "");
        snprintf(name, sizeof name, "F^(%g) centers: attacks >= exact radius (sound)", p);
        report(name, sound, "min over structured and minnorm >= exact - %g", SOUND);
        if (p >= 2) {
            snprintf(name, sizeof name, "F^(%g) centers: structured = sqrt2/2", p);
            report(name, worst_s <= REL, "max rel err %.2e <= %.0e", worst_s, REL);
            snprintf(name, sizeof name, "F^(%g) centers: minnorm = sqrt2/2", p);
            report(name, worst_m <= REL, "max rel err %.2e <= %.0e", worst_m, REL);
        } else {
            /* p < 2: the exact radius spreads mass over all K_opp opposite
             * centers; the pair rays reach only one of them. */
            printf("info F^(%g) centers: attack / exact radius: structured %.4f, minnorm %.4f "
                   "(spreading optimum not required)\n", p, ratio_s, ratio_m);
        }
        printf("time F^(%g): structured %.2f ms/call, minnorm %.2f ms/call\n", p,
               1e3 * t_s / NK, 1e3 * t_m / (double)nm);
        ibc_robust_rnet_free(f);
    }
    arb_clear(ex);
}

/* (2) F at noisy points against the closed form r_F (ideal.h), itself
 * cross-checked against min(a/sqrt Ky, (a-b)/sqrt K) computed here. */
static void test_f_noisy(void)
{
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_F, DIM, NK, NK1, 1.0);
    double x[DIM], delta[DIM];
    ibc_pgd_opts o;
    opts(&o, 300, 2, 11);
    arb_ptr c = _arb_vec_init(NK);
    arb_t r;
    arb_init(r);
    rng_state = 12345;
    int all_ver = 1, sound = 1, cf_ok = 1, pgd_ok = 1;
    double worst = 0, t_m = 0;
    long npts = 12, nfirst = 0, nmask = 0;
    for (long i = 0; i < npts; i++) {
        long k = (3 * i) % NK;
        int y = class_of(k);
        for (long d = 0; d < DIM; d++)
            x[d] = 0.1 / sqrt((double)DIM) * nrand();
        x[k] += 1.0;
        /* The last points push the opposite class sum well below 0, so the
         * other branch a/sqrt(Ky) of the closed form is the radius there. */
        if (i >= npts - 3)
            for (long l = 0; l < NK; l++)
                if (class_of(l) != y)
                    x[l] -= 0.12;
        for (long l = 0; l < NK; l++)
            arb_set_d(c + l, x[l]);
        ibc_ideal_radius_F(r, c, NK, NK1, y, PREC);
        double rF = arb_mid_d(r);
        double a = 0, b = 0;
        for (long l = 0; l < NK; l++) {
            if (class_of(l) == y)
                a += x[l];
            else
                b += x[l];
        }
        long Ky = y > 0 ? NK1 : NK - NK1;
        double r1 = a / sqrt((double)Ky), r2 = (a - b) / sqrt((double)NK);
        double direct = fmin(r1, r2);
        nfirst += r1 < r2;
        cf_ok &= fabs(direct - rF) <= 1e-12;
        double t0 = wall();
        double rm = ibc_robust_attack_minnorm(delta, f, x, y, TMAX, &o);
        t_m += wall() - t0;
        all_ver &= verified(f, x, y, delta, rm);
        double rs = ibc_robust_attack_structured(delta, f, x, y, TMAX);
        all_ver &= verified(f, x, y, delta, rs);
        sound &= rm >= rF - SOUND && rs >= rF - SOUND;
        worst = fmax(worst, fabs(rm / rF - 1));
        /* The public l2 PGD at a fixed radius, from 0.  grad(yF) at x is
         * mu_y - mu_-y when b > 0, else mu_y alone (the mu_-y neuron is off
         * and stays off along -mu_y): PGD follows that direction to the
         * sphere and stays, so it flips from (a-b)/sqrt K when b > 0 and
         * from a/sqrt Ky otherwise, possibly above r_F (masking, again). */
        ibc_pgd_opts o0;
        opts(&o0, 300, 0, 1);
        double rpred = b > 0 ? r2 : r1;
        nmask += rpred > rF * (1 + REL);
        double eps = rpred * (1 + REL);
        int up = ibc_robust_attack_pgd(delta, f, x, y, eps, &o0);
        pgd_ok &= up && ibc_robust_rnet_flipped(f, x, delta, y, PREC) == 1 &&
                  ibc_robust_rnet_norm_up(delta, DIM) <= eps * (1 + 1e-12);
        if (rpred > rF * (1 + REL))
            pgd_ok &= !ibc_robust_attack_pgd(delta, f, x, y, rpred * (1 - REL), &o0);
        pgd_ok &= !ibc_robust_attack_pgd(delta, f, x, y, rF * (1 - REL), &o0);
    }
    report("F noisy: closed form = direct min(a/sqrtKy,(a-b)/sqrtK)", cf_ok,
           "%ld points, %ld on the a/sqrt(Ky) branch", npts, nfirst);
    report("F noisy: deltas certified, norm = radius", all_ver, "%s", "");
    report("F noisy: minnorm, structured >= r_F (sound)", sound, "%s", "");
    report("F noisy: minnorm = r_F", worst <= REL, "max rel err %.2e <= %.0e", worst, REL);
    report("F noisy: l2 PGD from 0 flips at its predicted radius, not below", pgd_ok,
           "%ld of %ld points masked (b <= 0: PGD radius a/sqrt Ky > r_F)", nmask, npts);
    printf("time F noisy: minnorm %.2f ms/call\n", 1e3 * t_m / (double)npts);
    _arb_vec_clear(c, NK);
    arb_clear(r);
    ibc_robust_rnet_free(f);
}

/* (2b) The batched PGD (ibc_robust_attack_pgd_batch, GEMM products) against the
 * single-point one on F and F^(3) at the noisy points of (2) and a grid of
 * radii: the same flip verdict at every point and radius, every batched
 * flip certified within the ball, and on F the flips at the radius the
 * derivation in (2) predicts (from (a-b)/sqrt K or a/sqrt Ky), not below r_F. */
static void test_pgd_batch(void)
{
    enum { NP = 12, NE = 5 };
    static const double eps[NE] = {0.2, 0.45, 0.7, 0.95, 1.3};
    for (int q = 0; q < 2; q++) {
        double p = q == 0 ? 1.0 : 3.0;
        ibc_rnet *f = ibc_robust_rnet_ideal(q == 0 ? IBC_IDEAL_F : IBC_IDEAL_FP, DIM, NK, NK1, p);
        double X[NP * DIM], dl[NP * DIM], delta[DIM];
        int y[NP], fl[NP];
        rng_state = 777 + (uint64_t)q;
        for (long i = 0; i < NP; i++) {
            long k = (3 * i) % NK;
            y[i] = class_of(k);
            for (long d = 0; d < DIM; d++)
                X[i * DIM + d] = 0.1 / sqrt((double)DIM) * nrand();
            X[i * DIM + k] += 1.0;
        }
        ibc_pgd_opts o;
        opts(&o, 300, 0, 1);
        char err[IBC_ERRLEN];
        int same = 1, cert = 1, ok = 1;
        long flips = 0, n = 0;
        for (int e = 0; e < NE; e++) {
            ok &= ibc_robust_attack_pgd_batch(fl, dl, f, X, y, NP, eps[e], &o, err) == IBC_OK;
            for (long i = 0; i < NP; i++) {
                int one = ibc_robust_attack_pgd(delta, f, X + i * DIM, y[i], eps[e], &o);
                same &= one == fl[i];
                flips += fl[i];
                n++;
                if (fl[i])
                    cert &= ibc_robust_rnet_flipped(f, X + i * DIM, dl + i * DIM, y[i], PREC) == 1 &&
                            ibc_robust_rnet_norm_up(dl + i * DIM, DIM) <= eps[e] * (1 + 1e-12);
            }
        }
        report(q == 0 ? "PGD batch = PGD per point on F" : "PGD batch = PGD per point on F^(3)", ok && same,
               "%ld of %ld (point, radius) pairs flip", flips, n);
        report(q == 0 ? "PGD batch: flips certified in the ball (F)" : "PGD batch: flips certified in the ball (F^(3))",
               cert, "%s", "");
        ibc_robust_rnet_free(f);
    }
}

/* (3) Gradient masking.  At x = mu_0 only neuron 0 is active and
 * grad F^(3) = 3 e_0, so l2 PGD from 0 moves along -e_0 only and meets
 * F^(3) = sigma(1 - t)^3 > 0 until t = 1, where x + delta = 0 gives F = 0
 * (a flip: y f <= 0).  Plain PGD therefore reports about 1, above the exact
 * sqrt2/2. */
static void test_masking(void)
{
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, DIM, NK, NK1, 3.0);
    double x[DIM] = {0}, delta[DIM];
    x[0] = 1.0;
    arb_t ex;
    arb_init(ex);
    ibc_ideal_radius_Fp_center(ex, 3.0, NK - NK1, PREC);
    double exact = arb_mid_d(ex);
    ibc_pgd_opts o;
    opts(&o, 2000, 0, 3);
    double t0 = wall();
    double rp = ibc_robust_attack_minnorm_pgd(delta, f, x, 1, TMAX, &o);
    double tp = wall() - t0;
    int ver = verified(f, x, 1, delta, rp);
    opts(&o, 2000, 4, 3);
    double rp4 = ibc_robust_attack_minnorm_pgd(delta, f, x, 1, TMAX, &o);
    ver &= verified(f, x, 1, delta, rp4);
    opts(&o, 300, 2, 3);
    double rm = ibc_robust_attack_minnorm(delta, f, x, 1, TMAX, &o);
    ver &= verified(f, x, 1, delta, rm);
    printf("info F^(3) at mu_0: plain PGD (2000 steps, step 0.1) minnorm %.6f = %.4f x sqrt2/2 "
           "(overestimate %.4f); with 4 random restarts %.6f; full minnorm %.6f; exact %.6f "
           "[%.2f ms plain]\n", rp, rp / exact, rp - exact, rp4, rm, exact, 1e3 * tp);
    report("masking: deltas certified, norm = radius", ver, "%s", "");
    report("masking: plain PGD radius = 1 (hand derivation)", fabs(rp - 1.0) <= 2 * REL,
           "%.6f, |err| <= %.0e", rp, 2 * REL);
    report("masking: plain PGD >= exact (sound)", rp >= exact - SOUND && rp4 >= exact - SOUND, "%s", "");
    report("masking: minnorm <= plain PGD", rm <= rp + SOUND && rm <= rp4 + SOUND,
           "%.6f <= %.6f", rm, fmin(rp, rp4));
    arb_clear(ex);
    ibc_robust_rnet_free(f);
}

/* (5) linf PGD on F.  For x of class + with a = <x, mu+> > 0 and
 * b = <x, mu-> >= 0, over ||delta||_inf <= e the smallest <x+delta, mu+> is
 * a - K1 e and the largest <x+delta, mu-> is b + K2 e, both at the vertex
 * delta = e(-1 on K+, +1 on K-).  F = sigma(a - K1 e) - sigma(b + K2 e) <= 0
 * iff a - K1 e <= b + K2 e (the right side is >= 0), i.e. e >= (a - b)/K:
 * the linf radius is (a - b)/K.  At x = e_0 + 0.05 e_7 that is 0.095; at
 * x = e_0 it is 1/K, but there <x, mu-> = 0 leaves the mu- neuron inactive,
 * sign(grad) = 0 on K-, and PGD from 0 only lowers <x, mu+>: it flips only
 * from e = a/K1 = 1/6 on (random starts with <delta, mu-> > 0 unmask it). */
static void test_linf(void)
{
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_F, DIM, NK, NK1, 1.0);
    double x[DIM] = {0}, delta[DIM];
    ibc_pgd_opts o;
    opts(&o, 200, 0, 5);
    o.norm = IBC_NORM_LINF;
    x[0] = 1.0;
    x[7] = 0.05;
    double rinf = (1.0 - 0.05) / NK;
    int up = ibc_robust_attack_pgd(delta, f, x, 1, rinf * (1 + REL), &o);
    double mx = 0;
    for (long d = 0; d < DIM; d++)
        mx = fmax(mx, fabs(delta[d]));
    up &= ibc_robust_rnet_flipped(f, x, delta, 1, PREC) == 1 && mx <= rinf * (1 + REL);
    int down = ibc_robust_attack_pgd(delta, f, x, 1, rinf * (1 - REL), &o);
    report("linf PGD flips F at (a-b)/K (1+1e-3), x = e0 + .05 e7", up, "max|delta| %.6f", mx);
    report("linf PGD cannot flip F at (a-b)/K (1-1e-3) (sound)", !down, "%s", "");
    x[7] = 0.0;
    rinf = 1.0 / NK;
    int m0 = ibc_robust_attack_pgd(delta, f, x, 1, rinf * (1 + REL), &o);
    int m1 = ibc_robust_attack_pgd(delta, f, x, 1, (1.0 / NK1) * (1 + REL), &o);
    int m2 = ibc_robust_attack_pgd(delta, f, x, 1, (1.0 / NK1) * (1 - REL), &o);
    o.restarts = 8;
    int r0 = ibc_robust_attack_pgd(delta, f, x, 1, rinf * (1 + REL), &o);
    int r1 = ibc_robust_attack_pgd(delta, f, x, 1, rinf * (1 - REL), &o);
    report("linf PGD from 0 at e0 masked: flips from 1/K1, not 1/K",
           !m0 && m1 && !m2, "flip at 1.001/K %d, 1.001/K1 %d, 0.999/K1 %d", m0, m1, m2);
    report("linf PGD, 8 random starts at e0: flip at 1/K (1+1e-3)", r0 && !r1,
           "%d %d", r0, r1);
    ibc_robust_rnet_free(f);
}

/* (6) Same seed, same delta, bitwise; and the structured attack is
 * deterministic too. */
static void test_determinism(void)
{
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, DIM, NK, NK1, 3.0);
    double x[DIM], d1[DIM], d2[DIM];
    rng_state = 99;
    for (long d = 0; d < DIM; d++)
        x[d] = 0.1 / sqrt((double)DIM) * nrand();
    x[2] += 1.0;
    ibc_pgd_opts o;
    opts(&o, 300, 3, 42);
    int a = ibc_robust_attack_pgd(d1, f, x, 1, 0.6, &o);
    int b = ibc_robust_attack_pgd(d2, f, x, 1, 0.6, &o);
    int same = a == b && memcmp(d1, d2, sizeof d1) == 0;
    o.seed = 43;
    ibc_robust_attack_pgd(d2, f, x, 1, 0.6, &o);
    int differ = memcmp(d1, d2, sizeof d1) != 0;   /* the seed is used */
    double r1 = ibc_robust_attack_minnorm(d1, f, x, 1, TMAX, &o);
    double r2 = ibc_robust_attack_minnorm(d2, f, x, 1, TMAX, &o);
    same &= r1 == r2 && memcmp(d1, d2, sizeof d1) == 0;
    report("determinism: same seed, same delta bitwise", same && differ,
           "(another seed gives another delta: %d)", differ);
    ibc_robust_rnet_free(f);
}

/* Timings on a network of the claims' size (D = 30, h = 100): random W, v
 * from a fixed seed, neurons scattered around the centers as in a trained
 * f_p, so that the attacks have real work to do. */
static void test_timing(void)
{
    const long h = 100, npts = 5;
    ibc_data *data = make_data(DIM, NK, NK1, 0.1, npts, 5);
    for (int ip = 0; ip < 2; ip++) {
        double p = ip == 0 ? 1.0 : 3.0;
        ibc_net_params par = {.p = p, .h = h, .loss = IBC_LOSS_EXP, .mean = 1, .loss_scale2 = 0};
        ibc_net *net = ibc_net_alloc(data, &par, ibc_prec_double());
        ibc_vec theta;
        ibc_prec_vec_init(&theta, ibc_net_dim(net), ibc_prec_double());
        rng_state = 2024 + (uint64_t)ip;
        for (long j = 0; j < h; j++) {
            long k = j % NK;
            for (long d = 0; d < DIM; d++)
                ibc_prec_vec_set_d(&theta, j * DIM + d, (d == k ? 1.0 : 0.0) + 0.3 / sqrt((double)DIM) * nrand());
            ibc_prec_vec_set_d(&theta, h * DIM + j, class_of(k) * (0.5 + urand()));
        }
        ibc_rnet *f = ibc_robust_rnet_from_net(net, &theta, data);
        ibc_vec X;
        ibc_model_data_round(&X, data, ibc_prec_double());
        ibc_pgd_opts o;
        opts(&o, 300, 2, 1);
        double delta[DIM], ts = 0, tm = 0, tp = 0, worst_gap = 0;
        int ver = 1, order = 1;
        for (long i = 0; i < npts; i++) {
            const double *x = X.d + i * DIM;
            int y = ibc_robust_rnet_eval_d(f, x) > 0 ? 1 : -1;   /* the network's own label */
            double t0 = wall();
            double rs = ibc_robust_attack_structured(delta, f, x, y, TMAX);
            ts += wall() - t0;
            ver &= !isfinite(rs) || verified(f, x, y, delta, rs);
            t0 = wall();
            double rm = ibc_robust_attack_minnorm(delta, f, x, y, TMAX, &o);
            tm += wall() - t0;
            ver &= verified(f, x, y, delta, rm);
            order &= rm <= rs;
            t0 = wall();
            double rp = ibc_robust_attack_minnorm_pgd(delta, f, x, y, TMAX, &o);
            tp += wall() - t0;
            ver &= !isfinite(rp) || verified(f, x, y, delta, rp);
            printf("      random net p=%g point %ld: structured %.5f minnorm %.5f minnorm_pgd %.5f\n",
                   p, i, rs, rm, rp);
            worst_gap = fmax(worst_gap, rs / fmin(rm, rp) - 1);
        }
        /* The structured attack searches a subspace, enriched by gradients
         * (attack.c: structured_ws); on these nets, whose neurons sit 0.3 off
         * the centers, it must still match the full-space searches: without
         * the enrichment it was 0.3-0.5% above them. */
        char gname[96];
        snprintf(gname, sizeof gname, "random net p=%g: structured within 1e-3 of the best attack", p);
        report(gname, worst_gap <= 1e-3, "worst structured / best - 1 = %.2e", worst_gap);
        char name[64];
        snprintf(name, sizeof name, "random net p=%g: deltas certified, minnorm <= struct", p);
        report(name, ver && order, "%s", "");
        printf("time random net D=%d h=%ld p=%g (300 steps, 2 restarts): structured %.2f ms, "
               "minnorm %.2f ms, minnorm_pgd %.2f ms per call\n",
               DIM, h, p, 1e3 * ts / npts, 1e3 * tm / npts, 1e3 * tp / npts);
        ibc_prec_vec_clear(&X);
        ibc_robust_rnet_free(f);
        ibc_prec_vec_clear(&theta);
        ibc_net_free(net);
    }
    ibc_model_data_free(data);
}

int main(void)
{
    test_fp_centers();
    test_f_noisy();
    test_pgd_batch();
    test_masking();
    test_linf();
    test_determinism();
    test_timing();
    flint_cleanup();
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
