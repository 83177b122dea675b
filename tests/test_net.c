/* Unit test of the pReLU network (docs/theory.md §2-3, §5 L-balance):
 *  - the gradient against central finite differences at mpfr:256,
 *  - the pow(0, 0) trap for p = 1 (inactive samples must not count),
 *  - the forward pass in double against mpfr:53 and mpfr:256 within a
 *    derived rounding bound,
 *  - Euler's identity v_j dL/dv_j = <w_j, dL/dw_j>,
 *  - the exact one-step GD change of the balance invariant,
 *  - tiny initialisation (eps = 1e-400): refused in double, exact in MPFR,
 *  - a minibatch reads each label at its row,
 *  - rejection of bad parameters.
 * One line per check: measured value, tolerance, verdict. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/model.h"
#include "ibcheck/net.h"
#include "prec/ibc_arb.h"

#include "test_util.h"

/* x <= tol, false for NaN. */
static int le(double x, double tol) { return x <= tol; }


static ibc_net_params net_params(double p, long h, ibc_loss loss, int mean)
{
    ibc_net_params q;
    memset(&q, 0, sizeof q);
    q.p = p;
    q.h = h;
    q.loss = loss;
    q.mean = mean;
    q.loss_scale2 = 0;
    return q;
}

static ibc_net *make_net(const ibc_data *d, ibc_net_params q, ibc_prec pr)
{
    ibc_net *net = ibc_net_alloc(d, &q, pr);
    if (!net) {
        fprintf(stderr, "ibc_net_alloc failed\n");
        exit(2);
    }
    return net;
}

static void init_theta(const ibc_net *net, ibc_vec *theta, ibc_init init, const char *eps, unsigned long seed)
{
    char err[IBC_ERRLEN];
    ibc_prec_vec_init(theta, ibc_net_dim(net), net->pr);
    if (ibc_net_init_theta(net, theta, init, eps, seed, err) != IBC_OK) {
        fprintf(stderr, "ibc_net_init_theta(%s) failed: %s\n", eps, err);
        exit(2);
    }
}

/* min_{i,j} |<x_i, w_j>| over the net's data, at 256 bits, as a double. */
static double min_preact(const ibc_net *net, const ibc_vec *theta)
{
    const long n = net->n, D = net->D, h = net->h;
    mpfr_t s, a, b;
    mpfr_inits2(256, s, a, b, (mpfr_ptr)0);
    double m = INFINITY;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < h; j++) {
            mpfr_set_zero(s, 1);
            for (long d = 0; d < D; d++) {
                ibc_prec_vec_get_mpfr(a, &net->X, i * D + d);
                ibc_prec_vec_get_mpfr(b, theta, j * D + d);
                mpfr_fma(s, a, b, s, MPFR_RNDN);
            }
            double v = fabs(mpfr_get_d(s, MPFR_RNDN));
            if (v < m) m = v;
        }
    mpfr_clears(s, a, b, (mpfr_ptr)0);
    return m;
}

/* ---------------------------------------------------------------------- */
/* Gradient against central finite differences at mpfr:256.                */

static void check_fd(double p, ibc_loss loss, int mean)
{
    const long D = 6, K = 4, K1 = 2, n = 12, h = 5;
    const ibc_prec pr = ibc_prec_mpfr(256);
    ibc_data *d = make_data(D, K, K1, 0.3, n, 7);
    ibc_net *net = make_net(d, net_params(p, h, loss, mean), pr);
    const long dim = ibc_net_dim(net);
    ibc_vec theta;
    /* Gaussian init: v_j and ||w_j|| unrelated, so a gradient that confused
     * them (balanced init has |v_j| = ||w_j||) would be caught. Draw until no
     * pre-activation <x_i, w_j> is within 1e-3 of 0 (brief: 1e-6 for p = 1;
     * 1e-3 also keeps the third derivative of a_hat^p bounded for p = 1.5 and
     * p = 2, whose derivatives blow up or jump at a_hat = 0). */
    unsigned long seed = 100;
    double mp = 0;
    int draws = 0;
    for (;;) {
        init_theta(net, &theta, IBC_INIT_GAUSSIAN, "0.5", seed);
        mp = min_preact(net, &theta);
        draws++;
        if (mp >= 1e-3 || draws >= 200) break;
        ibc_prec_vec_clear(&theta);
        seed++;
    }
    /* Round theta to 160 bits, so theta_c +- 2^-80 is exact at 256 bits
     * (|theta_c| < 2^3, so the sum spans < 256 bits). */
    mpfr_t t, hstep, Lp, Lm, fd, step, a, b;
    mpfr_inits2(256, t, hstep, Lp, Lm, fd, a, (mpfr_ptr)0);
    mpfr_inits2(1024, step, b, (mpfr_ptr)0);
    for (long c = 0; c < dim; c++) mpfr_prec_round(theta.m + c, 160, MPFR_RNDN), mpfr_prec_round(theta.m + c, 256, MPFR_RNDN);
    mp = min_preact(net, &theta);
    char name[128];
    snprintf(name, sizeof name, "fd p=%g %s %s: min |<x_i,w_j>| (kinks)", p, ibc_net_loss_name(loss), mean ? "mean" : "sum");
    report(name, mp >= 1e-3, "measured %.3e after %d draw(s), need >= 1e-3", mp, draws);

    ibc_vec grad, L;
    ibc_prec_vec_init(&grad, dim, pr);
    ibc_prec_vec_init(&L, 1, pr);
    ibc_net_eval(net, &theta, NULL, 0, &L, &grad, NULL);
    mpfr_set_ui_2exp(hstep, 1, -80, MPFR_RNDN);
    double gmax = 0, worst = 0;
    for (long c = 0; c < dim; c++) {
        double g = fabs(ibc_prec_vec_get_d(&grad, c));
        if (g > gmax) gmax = g;
    }
    /* Every coordinate (dim = h*D + h = 35, which covers the ~40 random
     * coordinates of the brief and includes all v_j). */
    for (long c = 0; c < dim; c++) {
        mpfr_set(t, theta.m + c, MPFR_RNDN);
        mpfr_add(theta.m + c, t, hstep, MPFR_RNDN);
        mpfr_set(b, theta.m + c, MPFR_RNDN);
        ibc_net_eval(net, &theta, NULL, 0, &L, NULL, NULL);
        mpfr_set(Lp, L.m, MPFR_RNDN);
        mpfr_sub(theta.m + c, t, hstep, MPFR_RNDN);
        mpfr_sub(step, b, theta.m + c, MPFR_RNDN);       /* the actual 2h, exact at 1024 bits */
        ibc_net_eval(net, &theta, NULL, 0, &L, NULL, NULL);
        mpfr_set(Lm, L.m, MPFR_RNDN);
        mpfr_set(theta.m + c, t, MPFR_RNDN);
        mpfr_sub(fd, Lp, Lm, MPFR_RNDN);
        mpfr_div(fd, fd, step, MPFR_RNDN);
        mpfr_sub(a, fd, grad.m + c, MPFR_RNDN);
        double e = fabs(mpfr_get_d(a, MPFR_RNDN));
        if (!(e <= worst)) worst = e;
    }
    /* Central differences: truncation h^2/6 |L'''| ~ 2^-160/6 |L'''| ~ 1e-49
     * |L'''|, rounding 2 u |L| / (2h) = 2^-256 |L| / 2^-80 ~ 1e-53 |L|. With
     * |L|, |L'''| = O(10..1e3) relative to ||grad||_inf here (n = 12, units
     * O(1), a_hat >= 1e-3 / ||w||), the error is < 1e-45 of ||grad||_inf.
     * The bound is absolute (set by L's scale), so the error is normalised by
     * ||grad||_inf, not by each coordinate.  Any formula error is O(1). */
    double rel = gmax > 0 ? worst / gmax : INFINITY;
    snprintf(name, sizeof name, "fd p=%g %s %s: max|fd - grad|/|grad|_inf", p, ibc_net_loss_name(loss), mean ? "mean" : "sum");
    report(name, le(rel, 1e-40) && gmax > 1e-6, "measured %.3e (|grad|_inf %.3e), tol 1e-40", rel, gmax);
    mpfr_clears(t, hstep, Lp, Lm, fd, a, step, b, (mpfr_ptr)0);
    ibc_prec_vec_clear(&grad);
    ibc_prec_vec_clear(&L);
    ibc_prec_vec_clear(&theta);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* The pow(0, 0) trap (docs/theory.md §3): for p = 1, dL/dw_j = v_j sum_{active} g_i x_i. */

static void check_relu_trap(void)
{
    const long D = 6, K = 4, K1 = 2, n = 12, h = 3;
    const ibc_prec pr = ibc_prec_mpfr(256);
    ibc_data *d = make_data(D, K, K1, 0.3, n, 11);
    ibc_net *net = make_net(d, net_params(1.0, h, IBC_LOSS_EXP, 0), pr);
    const long dim = ibc_net_dim(net);
    ibc_vec theta;
    init_theta(net, &theta, IBC_INIT_GAUSSIAN, "0.5", 3);
    /* Neuron 0: w_0 = 0.7 (mu_0 - mu_1) + its random draw, so samples of
     * subclass 1 (and some others) have <x_i, w_0> < 0. */
    mpfr_t t, s, a, e, q;
    mpfr_inits2(256, t, s, a, e, q, (mpfr_ptr)0);
    for (long c = 0; c < D; c++) {
        mpfr_set_d(t, c == 0 ? 0.7 : c == 1 ? -0.7 : 0.0, MPFR_RNDN);
        mpfr_add(theta.m + c, theta.m + c, t, MPFR_RNDN);
    }
    ibc_vec grad;
    ibc_prec_vec_init(&grad, dim, pr);
    ibc_net_eval(net, &theta, NULL, 0, NULL, &grad, NULL);

    /* Independent direct loop at 256 bits on the master data:
     * pre_ij = <x_i, w_j>, f_i = sum_j v_j max(pre_ij, 0) (p = 1), sum exp
     * loss: g_i = l'(y_i f_i) y_i = -y_i exp(-y_i f_i). */
    mpfr_ptr pre = malloc((size_t)(n * h) * sizeof(__mpfr_struct));
    mpfr_ptr g = malloc((size_t)n * sizeof(__mpfr_struct));
    for (long i = 0; i < n * h; i++) mpfr_init2(pre + i, 256);
    for (long i = 0; i < n; i++) mpfr_init2(g + i, 256);
    long active0 = 0, inactive0 = 0;
    for (long i = 0; i < n; i++) {
        mpfr_set_zero(s, 1);
        for (long j = 0; j < h; j++) {
            mpfr_set_zero(pre + i * h + j, 1);
            for (long c = 0; c < D; c++) mpfr_fma(pre + i * h + j, d->X + i * D + c, theta.m + j * D + c, pre + i * h + j, MPFR_RNDN);
            if (mpfr_sgn(pre + i * h + j) > 0) mpfr_fma(s, theta.m + h * D + j, pre + i * h + j, s, MPFR_RNDN);
            if (j == 0) {
                if (mpfr_sgn(pre + i * h) > 0) active0++;
                else inactive0++;
            }
        }
        mpfr_mul_si(q, s, d->y[i], MPFR_RNDN);
        mpfr_neg(q, q, MPFR_RNDN);
        mpfr_exp(e, q, MPFR_RNDN);
        mpfr_mul_si(g + i, e, -d->y[i], MPFR_RNDN);
    }
    report("relu trap: neuron 0 has active and inactive samples", active0 > 0 && inactive0 > 0,
           "active %ld, inactive %ld of %ld (need both > 0)", active0, inactive0, n);
    /* relu_jc = v_j sum_{i: pre_ij > 0} g_i x_ic; lin_jc = v_j sum_i g_i x_ic. */
    double scale = 0, err_relu = 0, diff_lin = 0, kappa = 0;
    mpfr_t sr, sl, ab;
    mpfr_inits2(256, sr, sl, ab, (mpfr_ptr)0);
    for (long j = 0; j < h; j++)
        for (long c = 0; c < D; c++) {
            mpfr_set_zero(sr, 1);
            mpfr_set_zero(sl, 1);
            mpfr_set_zero(ab, 1);
            for (long i = 0; i < n; i++) {
                mpfr_mul(t, g + i, d->X + i * D + c, MPFR_RNDN);
                mpfr_add(sl, sl, t, MPFR_RNDN);
                if (mpfr_sgn(pre + i * h + j) > 0) mpfr_add(sr, sr, t, MPFR_RNDN);
                mpfr_abs(t, t, MPFR_RNDN);
                mpfr_add(ab, ab, t, MPFR_RNDN);
            }
            mpfr_mul(sr, sr, theta.m + h * D + j, MPFR_RNDN);
            mpfr_mul(sl, sl, theta.m + h * D + j, MPFR_RNDN);
            mpfr_mul(ab, ab, theta.m + h * D + j, MPFR_RNDN);
            double sc = fabs(mpfr_get_d(sr, MPFR_RNDN));
            if (sc > scale) scale = sc;
            double k = fabs(mpfr_get_d(ab, MPFR_RNDN));
            if (k > kappa) kappa = k;
            mpfr_sub(t, grad.m + j * D + c, sr, MPFR_RNDN);
            double er = fabs(mpfr_get_d(t, MPFR_RNDN));
            if (!(er <= err_relu)) err_relu = er;
            mpfr_sub(t, grad.m + j * D + c, sl, MPFR_RNDN);
            double dl = fabs(mpfr_get_d(t, MPFR_RNDN));
            if (dl > diff_lin) diff_lin = dl;
        }
    /* Both sides are 256-bit sums of n = 12 products over the same 256-bit
     * data: their difference is bounded by ~(n + D + h + 10) u kappa with
     * u = 2^-256 and kappa = max |v_j| sum_i |g_i x_ic| (printed), i.e.
     * ~1e-75 kappa; 1e-60 (relative to the largest gradient entry) leaves a
     * wide margin while any counting error is O(1). */
    report("relu trap: dL/dw == v_j sum_{active} g_i x_i",
           le(err_relu / scale, 1e-60), "measured %.3e (kappa/scale %.2f), tol 1e-60", err_relu / scale, kappa / scale);
    /* The linear network's gradient differs by v_j sum_{inactive} g_i x_i,
     * an O(1) fraction of the gradient when a neuron has inactive samples. */
    report("relu trap: dL/dw != linear-network sum over all i", diff_lin / scale >= 1e-3,
           "max |grad - linear| / scale = %.3e, need >= 1e-3", diff_lin / scale);
    for (long i = 0; i < n * h; i++) mpfr_clear(pre + i);
    for (long i = 0; i < n; i++) mpfr_clear(g + i);
    free(pre);
    free(g);
    mpfr_clears(t, s, a, e, q, sr, sl, ab, (mpfr_ptr)0);
    ibc_prec_vec_clear(&grad);
    ibc_prec_vec_clear(&theta);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* Forward pass: double vs mpfr:53 vs mpfr:256 at the default sizes.       */

/* S_i = sum_j |v_j| ||w_j|| ||x_i||^p from theta and X (double arrays). */
static void unit_scale(const double *X, long n, long D, const ibc_vec *theta, long h, double p, double *S)
{
    for (long i = 0; i < n; i++) {
        double xx = 0;
        for (long d = 0; d < D; d++) xx += X[i * D + d] * X[i * D + d];
        double xp = pow(sqrt(xx), p), s = 0;
        for (long j = 0; j < h; j++) {
            double ww = 0;
            for (long d = 0; d < D; d++) ww += ibc_prec_vec_get_d(theta, j * D + d) * ibc_prec_vec_get_d(theta, j * D + d);
            s += fabs(ibc_prec_vec_get_d(theta, h * D + j)) * sqrt(ww) * xp;
        }
        S[i] = s;
    }
}

static void check_forward(void)
{
    const long D = 30, K = 10, K1 = 6, n = 500, h = 100;
    const double p = 3;
    ibc_data *d = make_data(D, K, K1, 0.1, n, 0);
    ibc_net_params q = net_params(p, h, IBC_LOSS_EXP, 1);
    ibc_net *nd = make_net(d, q, ibc_prec_double());
    ibc_net *n53 = make_net(d, q, ibc_prec_mpfr(53));
    ibc_net *n256 = make_net(d, q, ibc_prec_mpfr(256));
    const long dim = ibc_net_dim(nd);
    ibc_vec td, t53, t256, fd, f53, f256, ffw;
    init_theta(nd, &td, IBC_INIT_BALANCED, "0.1", 5);
    init_theta(n53, &t53, IBC_INIT_BALANCED, "0.1", 5);
    /* mpfr:256 gets the double theta lifted exactly, and the double data
     * (through ibc_net_forward), so all three see identical inputs and only
     * the arithmetic differs. */
    ibc_prec_vec_init(&t256, dim, ibc_prec_mpfr(256));
    ibc_prec_vec_set(&t256, &td);
    ibc_prec_vec_init(&fd, n, ibc_prec_double());
    ibc_prec_vec_init(&ffw, n, ibc_prec_double());
    ibc_prec_vec_init(&f53, n, ibc_prec_mpfr(53));
    ibc_prec_vec_init(&f256, n, ibc_prec_mpfr(256));
    long same_theta = 0;
    for (long c = 0; c < dim; c++)
        if (td.d[c] == mpfr_get_d(t53.m + c, MPFR_RNDN)) same_theta++;
    report("forward: theta(double) == theta(mpfr:53)", same_theta == dim, "equal entries %ld of %ld, tol 0",
           same_theta, dim);
    ibc_net_eval(nd, &td, NULL, 0, NULL, NULL, &fd);
    ibc_net_eval(n53, &t53, NULL, 0, NULL, NULL, &f53);
    ibc_net_forward(nd, &td, &nd->X, n, &ffw);
    ibc_net_forward(n256, &t256, &nd->X, n, &f256);
    long same_fw = 0;
    for (long i = 0; i < n; i++)
        if (memcmp(&fd.d[i], &ffw.d[i], sizeof(double)) == 0) same_fw++;
    report("forward: eval's f == forward's f (double, bitwise)", same_fw == n, "equal %ld of %ld, tol 0", same_fw, n);

    double *S = malloc((size_t)n * sizeof(double));
    unit_scale(nd->X.d, n, D, &td, h, p, S);
    /* Rounding bound per f_i, relative to S_i = sum_j |v_j| ||w_j|| ||x_i||^p
     * (u = 2^-53, first order in u):
     *   <x, w> by a D-term dot product:  gamma_D ||x|| ||w||       -> D u
     *   ||w|| = sqrt(sum of D squares):  (D/2 + 1) u relative
     *   a_hat = <x,w>/||w||, one division: |a_hat~ - a_hat| <= (1.5D + 2) u ||x||
     *   a_hat^3 by two multiplications:  3 a_hat^2 (1.5D + 2) u ||x|| + 2u ||x||^3
     *                                  <= (4.5D + 8) u ||x||^3
     *   v_j ||w_j|| and the product:     (D/2 + 3) u
     *   sum over h units:                h u S_i
     * => |f~_i - f_i| <= (5D + h + 11) u S_i; we use c = 5D + h + 16 (5 units
     * of slack for second-order terms).  Both double (BLAS dot products, any
     * order, FMA or not) and mpfr:53 (Arb dot products, tighter) obey it, so
     * their difference is <= 2 c u S_i.  Relative to |f_i| no bound exists
     * (f_i can cancel), hence S_i.  This is additive in D and h, tighter than
     * a c D h u product bound (D h u = 3000 u). */
    const double u = ldexp(1.0, -53);
    const double c = 5.0 * D + h + 16;
    double w53 = 0, w256 = 0, relf = 0;
    mpfr_t x, y;
    mpfr_inits2(400, x, y, (mpfr_ptr)0);
    long finite = 1;
    for (long i = 0; i < n; i++) {
        ibc_prec_vec_get_mpfr(x, &fd, i);
        ibc_prec_vec_get_mpfr(y, &f53, i);
        mpfr_sub(y, x, y, MPFR_RNDN);
        double e53 = fabs(mpfr_get_d(y, MPFR_RNDN)) / S[i];
        ibc_prec_vec_get_mpfr(y, &f256, i);
        mpfr_sub(y, x, y, MPFR_RNDN);
        double e256 = fabs(mpfr_get_d(y, MPFR_RNDN)) / S[i];
        double r = fabs(mpfr_get_d(y, MPFR_RNDN)) / fabs(ibc_prec_vec_get_d(&f256, i));
        if (!(e53 <= w53)) w53 = e53;
        if (!(e256 <= w256)) w256 = e256;
        if (r > relf) relf = r;
        if (!isfinite(fd.d[i])) finite = 0;
    }
    report("forward: max |f(double)-f(mpfr:53)|/S_i", finite && le(w53, 2 * c * u),
           "measured %.3e, tol 2(5D+h+16)u = %.3e", w53, 2 * c * u);
    report("forward: max |f(double)-f(mpfr:256)|/S_i", finite && le(w256, c * u),
           "measured %.3e, tol (5D+h+16)u = %.3e (info: max rel to |f_i| %.3e)", w256, c * u, relf);
    /* The data are not degenerate: the double f is not identically 0. */
    double fmax = 0;
    for (long i = 0; i < n; i++) fmax = fmax > fabs(fd.d[i]) ? fmax : fabs(fd.d[i]);
    report("forward: f nonzero", fmax > 0, "max |f_i| = %.3e, need > 0", fmax);
    mpfr_clears(x, y, (mpfr_ptr)0);
    free(S);
    ibc_vec *vs[] = {&td, &t53, &t256, &fd, &f53, &f256, &ffw};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) ibc_prec_vec_clear(vs[i]);
    ibc_net_free(nd);
    ibc_net_free(n53);
    ibc_net_free(n256);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* Euler's identity v_j dL/dv_j = <w_j, dL/dw_j>.                         */

static void check_euler(double p, ibc_prec pr, double tol_brief)
{
    const long D = 30, K = 10, K1 = 6, n = 500, h = 100;
    ibc_data *d = make_data(D, K, K1, 0.1, n, 0);
    ibc_net *net = make_net(d, net_params(p, h, IBC_LOSS_EXP, 1), pr);
    const long dim = ibc_net_dim(net);
    ibc_vec theta, grad;
    init_theta(net, &theta, IBC_INIT_GAUSSIAN, "0.3", 9);
    ibc_prec_vec_init(&grad, dim, pr);
    ibc_net_eval(net, &theta, NULL, 0, NULL, &grad, NULL);
    mpfr_t r;
    mpfr_init2(r, 64);
    ibc_net_euler_residual(r, net, &theta, &grad);
    double res = mpfr_get_d(r, MPFR_RNDN);
    /* Rounding bound.  v dL/dv = v ||w|| s with s = sum_i g_i a^p (n terms);
     * <w, dL/dw> = v [p <w, B> - (p-1) s ||w||] with B = sum_i g_i a^(p-1) x_i
     * (n terms) and <w, B> = sum_i g_i a^(p-1) <x_i, w>, where <x_i,w> and
     * a ||w|| agree to (1.5D + 2) u ||x_i|| ||w||.  Hence
     *   |residual_j| <= (n + 2.5D + 10) u p |v_j| ||w_j|| sum_i |g_i| a^(p-1) ||x_i|| =: (n+2.5D+10) u kappa_j
     * (for p = 1, a^0 = 1 on active samples only).  The tolerance is the
     * smaller of the brief's (1e-70 at 256 bits, 1e-12 in double) and this
     * derived bound (n + 2.5D + 10) u max_j kappa_j / scale, so it is never
     * looser than either.  A wrong (p-1) term or a wrong power gives O(1). */
    const ibc_net *nt = net;
    double kmax = 0, scale = 0;
    {
        ibc_vec Xd;
        ibc_model_data_round(&Xd, d, ibc_prec_double());
        double *xn = malloc((size_t)n * sizeof(double)), *gg = malloc((size_t)n * sizeof(double));
        /* g_i = -y_i exp(-y_i f_i) / n from a double forward pass (a scale only). */
        ibc_vec fo;
        ibc_prec_vec_init(&fo, n, pr);
        ibc_net_eval(net, &theta, NULL, 0, NULL, NULL, &fo);
        for (long i = 0; i < n; i++) {
            double s = 0;
            for (long c = 0; c < D; c++) s += Xd.d[i * D + c] * Xd.d[i * D + c];
            xn[i] = sqrt(s);
            double f = ibc_prec_vec_get_d(&fo, i);
            gg[i] = exp(-nt->y[i] * f) / n;
        }
        for (long j = 0; j < h; j++) {
            double ww = 0, v = ibc_prec_vec_get_d(&theta, h * D + j);
            for (long c = 0; c < D; c++) ww += ibc_prec_vec_get_d(&theta, j * D + c) * ibc_prec_vec_get_d(&theta, j * D + c);
            double wn = sqrt(ww), k = 0, s = 0;
            for (long i = 0; i < n; i++) {
                double pre = 0;
                for (long c = 0; c < D; c++) pre += Xd.d[i * D + c] * ibc_prec_vec_get_d(&theta, j * D + c);
                if (pre <= 0) continue;
                double a = pre / wn;
                k += gg[i] * pow(a, p - 1) * xn[i];
                s += -nt->y[i] * gg[i] * pow(a, p);
            }
            k *= p * fabs(v) * wn;
            if (k > kmax) kmax = k;
            if (fabs(v * wn * s) > scale) scale = fabs(v * wn * s);
        }
        free(xn);
        free(gg);
        ibc_prec_vec_clear(&fo);
        ibc_prec_vec_clear(&Xd);
    }
    double u = ldexp(1.0, -(int)pr.bits);
    double bound = (n + 2.5 * D + 10) * u * kmax / scale;
    char name[128], ps[24];
    snprintf(name, sizeof name, "euler p=%g %s: residual", p, ibc_prec_str(pr, ps));
    double tol = bound < tol_brief ? bound : tol_brief;
    report(name, le(res, tol), "measured %.3e, tol %.3e = min(brief %.0e, derived bound %.3e)", res, tol, tol_brief,
           bound);
    mpfr_clear(r);
    ibc_prec_vec_clear(&theta);
    ibc_prec_vec_clear(&grad);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* Balance: one GD step changes Q_j by exactly eta^2 (dv_j^2 - ||dw_j||^2). */

static void check_balance_step(double p)
{
    const long D = 10, K = 4, K1 = 2, n = 40, h = 8;
    const ibc_prec pr = ibc_prec_mpfr(256);
    ibc_data *d = make_data(D, K, K1, 0.1, n, 4);
    ibc_net *net = make_net(d, net_params(p, h, IBC_LOSS_EXP, 1), pr);
    const long dim = ibc_net_dim(net);
    const double eta = 0.5;
    ibc_vec theta, grad, th1, Q0, Q1, corr;
    init_theta(net, &theta, IBC_INIT_GAUSSIAN, "0.5", 21);
    ibc_prec_vec_init(&grad, dim, pr);
    ibc_prec_vec_init(&th1, dim, pr);
    ibc_prec_vec_init(&Q0, h, pr);
    ibc_prec_vec_init(&Q1, h, pr);
    ibc_prec_vec_init(&corr, h, pr);
    ibc_net_eval(net, &theta, NULL, 0, NULL, &grad, NULL);
    ibc_net_balance(net, &theta, &Q0, &grad, eta, &corr);
    mpfr_t t, sc;
    mpfr_inits2(256, t, sc, (mpfr_ptr)0);
    for (long c = 0; c < dim; c++) {
        mpfr_mul_d(t, grad.m + c, eta, MPFR_RNDN);
        mpfr_sub(th1.m + c, theta.m + c, t, MPFR_RNDN);
    }
    ibc_net_balance(net, &th1, &Q1, NULL, 0, NULL);
    /* scale_j = v_j^2 + ||w_j||^2 (each rounding error in Q is relative to it) */
    double worst = 0, scale = 0, cmax = 0;
    for (long j = 0; j < h; j++) {
        double s = 0;
        for (long c = 0; c < D; c++) s += pow(ibc_prec_vec_get_d(&th1, j * D + c), 2) + pow(ibc_prec_vec_get_d(&theta, j * D + c), 2);
        s += pow(ibc_prec_vec_get_d(&th1, h * D + j), 2) + pow(ibc_prec_vec_get_d(&theta, h * D + j), 2);
        if (s > scale) scale = s;
    }
    for (long j = 0; j < h; j++) {
        mpfr_sub(t, Q1.m + j, Q0.m + j, MPFR_RNDN);
        mpfr_sub(t, t, corr.m + j, MPFR_RNDN);
        double e = fabs(mpfr_get_d(t, MPFR_RNDN));
        if (!(e <= worst)) worst = e;
        double cc = fabs(mpfr_get_d(corr.m + j, MPFR_RNDN));
        if (cc > cmax) cmax = cc;
    }
    /* Q1 - Q0 - corr = -2 eta (v dv - <w, dw>) + rounding: the Euler residual
     * (~(n + 2.5D) u relative, see above) times 2 eta, plus the rounding of
     * theta - eta g and of Q (~2(D+2) u scale each), u = 2^-256 ~ 8.6e-78:
     * < 1e-74 scale.  1e-70 is a wide margin; dropping the correction (or
     * using eta instead of eta^2) would leave |corr| ~ 1e-3 scale. */
    char name[128];
    snprintf(name, sizeof name, "balance p=%g mpfr:256: |dQ - corr|/scale", p);
    report(name, le(worst / scale, 1e-70) && cmax / scale > 1e-20, "measured %.3e (|corr|/scale %.3e), tol 1e-70",
           worst / scale, cmax / scale);
    mpfr_clears(t, sc, (mpfr_ptr)0);
    ibc_vec *vs[] = {&theta, &grad, &th1, &Q0, &Q1, &corr};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) ibc_prec_vec_clear(vs[i]);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* Tiny init: eps = 1e-400 is refused in double and exact in MPFR.         */

static void check_tiny(void)
{
    const long D = 30, K = 10, K1 = 6, n = 500, h = 100;
    const double p = 3;
    ibc_data *d = make_data(D, K, K1, 0.1, n, 0);
    ibc_net_params q = net_params(p, h, IBC_LOSS_EXP, 1);
    ibc_net *nd = make_net(d, q, ibc_prec_double());
    ibc_net *nm = make_net(d, q, ibc_prec_mpfr(128));
    char err[IBC_ERRLEN] = "";
    ibc_vec td;
    ibc_prec_vec_init(&td, ibc_net_dim(nd), ibc_prec_double());
    int rc = ibc_net_init_theta(nd, &td, IBC_INIT_BALANCED, "1e-400", 1, err);
    report("tiny: eps=1e-400 in double refused", rc != IBC_OK && err[0] != '\0', "rc = %d (want != 0), message '%s'",
           rc, err);
    ibc_prec_vec_clear(&td);

    ibc_vec tt, t1, ft, f1;
    ibc_prec_vec_init(&tt, ibc_net_dim(nm), nm->pr);
    ibc_prec_vec_init(&t1, ibc_net_dim(nm), nm->pr);
    ibc_prec_vec_init(&ft, n, nm->pr);
    ibc_prec_vec_init(&f1, n, nm->pr);
    int rct = ibc_net_init_theta(nm, &tt, IBC_INIT_BALANCED, "1e-400", 1, err);
    int rc1 = ibc_net_init_theta(nm, &t1, IBC_INIT_BALANCED, "1", 1, err);
    report("tiny: eps=1e-400 in mpfr:128 accepted", rct == IBC_OK && rc1 == IBC_OK, "rc = %d, %d (want 0)", rct, rc1);
    ibc_vec loss;
    ibc_prec_vec_init(&loss, 1, nm->pr);
    ibc_net_eval(nm, &tt, NULL, 0, &loss, NULL, &ft);
    ibc_net_eval(nm, &t1, NULL, 0, NULL, NULL, &f1);
    /* f is 2-homogeneous in theta, and the balanced init with one seed gives
     * theta(eps) = eps theta(1) up to one rounding per entry; so
     * f_i(eps) = 1e-800 f_i(1).  Error relative to S_i = sum_j |v_j| ||w_j||
     * ||x_i||^3: the rounding bound (5D + h + 16) u of each forward pass
     * (see check_forward) twice, plus the input rounding (<= 2u per entry of
     * w and v: ~ 8u): c = 2(5D + h + 16) + 8 with u = 2^-128. */
    mpfr_t x, y, s800;
    mpfr_inits2(256, x, y, s800, (mpfr_ptr)0);
    mpfr_set_str(s800, "1e-800", 10, MPFR_RNDN);
    double *S = malloc((size_t)n * sizeof(double));
    {
        ibc_vec Xd, t1d;
        ibc_model_data_round(&Xd, d, ibc_prec_double());
        ibc_prec_vec_init(&t1d, t1.len, ibc_prec_double());
        ibc_prec_vec_set(&t1d, &t1);
        unit_scale(Xd.d, n, D, &t1d, h, p, S);
        ibc_prec_vec_clear(&Xd);
        ibc_prec_vec_clear(&t1d);
    }
    int finite = 1;
    double worst = 0, lo = INFINITY, hi = 0;
    for (long i = 0; i < n; i++) {
        ibc_prec_vec_get_mpfr(x, &ft, i);
        if (!mpfr_number_p(x)) finite = 0;
        mpfr_div(x, x, s800, MPFR_RNDN);              /* f_i(eps) / 1e-800 */
        double a = fabs(mpfr_get_d(x, MPFR_RNDN));
        if (a > 0 && a < lo) lo = a;
        if (a > hi) hi = a;
        ibc_prec_vec_get_mpfr(y, &f1, i);
        mpfr_sub(x, x, y, MPFR_RNDN);
        double e = fabs(mpfr_get_d(x, MPFR_RNDN)) / S[i];
        if (!(e <= worst)) worst = e;
    }
    const double c = 2 * (5.0 * D + h + 16) + 8, u = ldexp(1.0, -128);
    report("tiny: f finite, |f|/1e-800 in (0, h max||x||^3]", finite && hi > 0 && hi <= h * 8.0,
           "|f_i|/1e-800 in [%.3e, %.3e], need > 0 and <= %g", lo, hi, h * 8.0);
    report("tiny: f(1e-400) == 1e-800 f(1) (homogeneity)", finite && le(worst, c * u),
           "max |diff|/S_i = %.3e, tol (2(5D+h+16)+8)u = %.3e", worst, c * u);
    /* The loss at tiny init is exactly l(0) = 1 to 128 bits (f ~ 1e-800). */
    ibc_prec_vec_get_mpfr(x, &loss, 0);
    mpfr_sub_ui(x, x, 1, MPFR_RNDN);
    double le1 = fabs(mpfr_get_d(x, MPFR_RNDN));
    report("tiny: mean exp loss == 1", le(le1, 4 * u), "|L - 1| = %.3e, tol 4u = %.3e", le1, 4 * u);
    free(S);
    mpfr_clears(x, y, s800, (mpfr_ptr)0);
    ibc_vec *vs[] = {&tt, &t1, &ft, &f1, &loss};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) ibc_prec_vec_clear(vs[i]);
    ibc_net_free(nd);
    ibc_net_free(nm);
    ibc_model_data_free(d);
}

/* ---------------------------------------------------------------------- */
/* Bad input.                                                              */

static void check_bad_input(void)
{
    char err[IBC_ERRLEN];
    struct {
        const char *what;
        double p;
        long h;
    } bad[] = {{"p = 0.5", 0.5, 5}, {"p = NaN", NAN, 5}, {"p = inf", INFINITY, 5}, {"p = 0", 0, 5},
               {"h = 0", 3, 0},     {"h = -1", 3, -1}};
    ibc_data *d = make_data(6, 4, 2, 0.3, 12, 1);
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        ibc_net_params q = net_params(bad[c].p, bad[c].h, IBC_LOSS_EXP, 1);
        memset(err, 0, sizeof err);
        int rc = ibc_net_check(&q, err);
        ibc_net *net = ibc_net_alloc(d, &q, ibc_prec_double());
        char name[96];
        snprintf(name, sizeof name, "bad input: net_check rejects %s", bad[c].what);
        report(name, rc == IBC_EINPUT && err[0] && !strchr(err, '\n') && !net, "rc = %d (want %d), '%s', alloc %s",
               rc, IBC_EINPUT, err, net ? "non-NULL" : "NULL");
        ibc_net_free(net);
    }
    ibc_net_params ok = net_params(1.0, 1, IBC_LOSS_EXP, 1);
    int rc_ok = ibc_net_check(&ok, err);
    report("bad input: net_check accepts p = 1, h = 1", rc_ok == IBC_OK, "rc = %d (want 0)", rc_ok);

    const char *eps_bad[] = {"0", "-1", "abc", "", "nan", "inf", "1e-3x", "-0"};
    ibc_prec modes[] = {ibc_prec_double(), ibc_prec_mpfr(128)};
    for (int m = 0; m < 2; m++) {
        ibc_net *net = make_net(d, net_params(3, 5, IBC_LOSS_EXP, 1), modes[m]);
        for (size_t c = 0; c < sizeof eps_bad / sizeof eps_bad[0]; c++) {
            ibc_vec th;
            ibc_prec_vec_init(&th, ibc_net_dim(net), modes[m]);
            memset(err, 0, sizeof err);
            int rc = ibc_net_init_theta(net, &th, IBC_INIT_BALANCED, eps_bad[c], 1, err);
            char name[96], ps[24];
            snprintf(name, sizeof name, "bad input: init_theta %s rejects eps '%s'", ibc_prec_str(modes[m], ps),
                     eps_bad[c]);
            report(name, rc == IBC_EINPUT && err[0] && !strchr(err, '\n'), "rc = %d (want %d), '%s'", rc, IBC_EINPUT,
                   err);
            ibc_prec_vec_clear(&th);
        }
        ibc_net_free(net);
    }
    ibc_model_data_free(d);
}

/* A minibatch (rows given, as SGD passes them) must read each sample's
 * label at its row index: the loss over rows {7, 2, 11, 5, 0} against
 * sum_i exp(-y[row_i] f(x_row_i)) with f from the forward pass on those
 * points and y read here (kills tests/mutants/flow-m-sgd-label-row.mut). */
static void check_minibatch_rows(void)
{
    ibc_model_params mp;
    ibc_model_default(&mp);
    mp.D = 8;
    mp.K = 4;
    mp.K1 = 2;
    ibc_data *d = ibc_model_data_alloc(&mp, 16, 0);
    ibc_net *net = make_net(d, net_params(3, 6, IBC_LOSS_EXP, 0), ibc_prec_double());
    ibc_vec theta;
    init_theta(net, &theta, IBC_INIT_GAUSSIAN, "0.5", 3);
    const long rows[] = {7, 2, 11, 5, 0}, nb = 5, D = mp.D;
    ibc_vec Xq, f, loss;
    ibc_prec_vec_init(&Xq, nb * D, net->pr);
    ibc_prec_vec_init(&f, nb, net->pr);
    ibc_prec_vec_init(&loss, 1, net->pr);
    for (long i = 0; i < nb; i++)
        for (long c = 0; c < D; c++) ibc_prec_vec_set_d(&Xq, i * D + c, ibc_prec_vec_get_d(&net->X, rows[i] * D + c));
    ibc_net_forward(net, &theta, &Xq, nb, &f);
    double ref = 0;
    int mixed = 0;
    for (long i = 0; i < nb; i++) {
        ref += exp(-(double)net->y[rows[i]] * ibc_prec_vec_get_d(&f, i));
        mixed |= net->y[rows[i]] != net->y[i];
    }
    ibc_net_eval(net, &theta, rows, nb, &loss, NULL, NULL);
    double rel = fabs(ibc_prec_vec_get_d(&loss, 0) - ref) / ref;
    report("minibatch loss reads y[rows[i]] (rows 7,2,11,5,0)", mixed && le(rel, 1e-13),
          "rel. err %.2e (tol 1e-13), labels differ from the first rows: %s", rel, mixed ? "yes" : "no (bad test)");
    ibc_prec_vec_clear(&Xq);
    ibc_prec_vec_clear(&f);
    ibc_prec_vec_clear(&loss);
    ibc_prec_vec_clear(&theta);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* Double's units() for integer p <= 4 and no frozen pattern run without
 * branches (every unit computed, the inactive ones selected to 0, four rows
 * interleaved; src/net/net_impl.h).  The general loop, taken when a pattern
 * is frozen, skips the inactive units one by one.  With the pattern frozen
 * at the true signs both compute the same operations, so loss, f and
 * gradient must agree bit for bit, dead neurons and an odd row count
 * included. */
/* One evaluation: loss, gradient and outputs into l, g, f. */
static void eval_paths(ibc_net *net, const ibc_vec *th, unsigned char *pat, int general, ibc_vec *l, ibc_vec *g,
                       ibc_vec *f)
{
    net->pattern = pat;
    net->units_general = general;
    ibc_net_eval(net, th, NULL, net->n, l, g, f);
    net->pattern = NULL;
    net->units_general = 0;
}

static long count_diff(const ibc_vec *a, const ibc_vec *b)
{
    long diff = 0;
    for (long i = 0; i < a->len; i++) diff += a->d[i] != b->d[i];
    return diff;
}

/* The branch-free units loop against the general one (bitwise, double),
 * with no pattern, with the sign pattern (which must also equal no
 * pattern), and with a frozen pattern whose active units include some past
 * their kink (the smooth continuation the adaptive integrator uses). */
static void check_units_paths(double p)
{
    const long n = 203, h = 37;
    ibc_data *d = make_data(12, 4, 2, 0.1, n, 0);
    ibc_net *net = make_net(d, net_params(p, h, IBC_LOSS_LOGISTIC, 1), ibc_prec_double());
    ibc_vec th, l[2], g[2], f[2];
    init_theta(net, &th, IBC_INIT_GAUSSIAN, "0.5", 11);
    const long D = net->D;
    for (long d0 = 0; d0 < D; d0++) th.d[3 * D + d0] = 0.0;   /* neuron 3 dead */
    for (int k = 0; k < 2; k++) {
        ibc_prec_vec_init(&l[k], 1, net->pr);
        ibc_prec_vec_init(&g[k], th.len, net->pr);
        ibc_prec_vec_init(&f[k], n, net->pr);
    }
    unsigned char *sign = malloc((size_t)(n * h)), *past = malloc((size_t)(n * h));
    long active = 0, flipped = 0;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < h; j++) {
            double s = 0;   /* the sign only; a tie at 0 has probability 0 here */
            for (long k = 0; k < D; k++) s += net->X.d[i * D + k] * th.d[j * D + k];
            sign[i * h + j] = s > 0 && j != 3;
            active += sign[i * h + j];
            /* every 5th unit flipped: active ones past the kink, inactive ones */
            past[i * h + j] = (i * h + j) % 5 == 0 ? !sign[i * h + j] : sign[i * h + j];
            flipped += (i * h + j) % 5 == 0 && !sign[i * h + j] && j != 3;
        }
    const struct {
        unsigned char *pat;
        const char *what;
    } cases[] = {{NULL, "signs"}, {sign, "sign pattern"}, {past, "frozen pattern, units past the kink"}};
    long diff_sign = -1;
    for (int c = 0; c < 3; c++) {
        eval_paths(net, &th, cases[c].pat, 0, &l[0], &g[0], &f[0]);
        eval_paths(net, &th, cases[c].pat, 1, &l[1], &g[1], &f[1]);
        long diff = count_diff(&l[0], &l[1]) + count_diff(&f[0], &f[1]) + count_diff(&g[0], &g[1]);
        char name[120];
        snprintf(name, sizeof name, "units p=%g, %s: branch-free == general loop (double, bitwise)", p, cases[c].what);
        report(name, diff == 0 && active > 0 && active < n * (h - 1) && flipped > 0,
               "%ld of %ld values differ; %ld of %ld units active, %ld past the kink", diff, 1 + n + th.len, active,
               n * h, flipped);
        if (c == 1) {   /* the sign pattern against no pattern (l, g, f of case 0 are gone: recompute) */
            ibc_vec l0, g0, f0;
            ibc_prec_vec_init(&l0, 1, net->pr);
            ibc_prec_vec_init(&g0, th.len, net->pr);
            ibc_prec_vec_init(&f0, n, net->pr);
            eval_paths(net, &th, NULL, 0, &l0, &g0, &f0);
            diff_sign = count_diff(&l0, &l[0]) + count_diff(&f0, &f[0]) + count_diff(&g0, &g[0]);
            ibc_prec_vec_clear(&l0);
            ibc_prec_vec_clear(&g0);
            ibc_prec_vec_clear(&f0);
        }
    }
    char name[96];
    snprintf(name, sizeof name, "units p=%g: the sign pattern == no pattern (double, bitwise)", p);
    report(name, diff_sign == 0, "%ld of %ld values differ", diff_sign, 1 + n + th.len);
    free(sign);
    free(past);
    ibc_prec_vec_clear(&th);
    for (int k = 0; k < 2; k++) {
        ibc_prec_vec_clear(&l[k]);
        ibc_prec_vec_clear(&g[k]);
        ibc_prec_vec_clear(&f[k]);
    }
    ibc_net_free(net);
    ibc_model_data_free(d);
}

/* The reference update next_i = theta_i + (-eta) g_i, entry by entry in
 * the mode (what the descent's separate pass computes). */
static void ref_update(ibc_vec *next, const ibc_vec *th, const ibc_vec *g, double eta)
{
    const ibc_prec pr = th->pr;
    for (long i = 0; i < th->len; i++) {
        if (pr.mode == IBC_DOUBLE) {
            double t = -eta * g->d[i];
            next->d[i] = th->d[i] + t;
        } else if (pr.mode == IBC_MPFR) {
            mpfr_t m, t;
            mpfr_inits2(pr.bits, m, t, (mpfr_ptr)0);
            mpfr_set_d(m, -eta, MPFR_RNDN);
            mpfr_mul(t, m, g->m + i, MPFR_RNDN);
            mpfr_add(next->m + i, th->m + i, t, MPFR_RNDN);
            mpfr_clears(m, t, (mpfr_ptr)0);
        } else {
            arb_t m, t;
            arb_init(m);
            arb_init(t);
            arb_set_d(m, -eta);
            arb_mul(t, m, (arb_srcptr)g->a + i, pr.bits);
            arb_add((arb_ptr)next->a + i, (arb_srcptr)th->a + i, t, pr.bits);
            arb_clear(m);
            arb_clear(t);
        }
    }
}

/* Entries of a and b that differ (bitwise; balls: midpoint or radius). */
static long vec_differ(const ibc_vec *a, const ibc_vec *b)
{
    long n = 0;
    for (long i = 0; i < a->len; i++) {
        if (a->pr.mode == IBC_DOUBLE) n += memcmp(a->d + i, b->d + i, sizeof(double)) != 0;
        else if (a->pr.mode == IBC_MPFR) n += !mpfr_equal_p(a->m + i, b->m + i);
        else n += !arb_equal((arb_srcptr)a->a + i, (arb_srcptr)b->a + i);
    }
    return n;
}

/* ibc_net_step against ibc_net_eval and the separate update: the same bits
 * in every mode, full batch and a minibatch, with a dead neuron; and a
 * non-finite step reported. */
static void check_step(double p, ibc_prec pr)
{
    const long n = 61, h = 9, nb = 17;
    ibc_data *d = make_data(7, 4, 2, 0.2, n, 3);
    ibc_net *net = make_net(d, net_params(p, h, IBC_LOSS_EXP, 1), pr);
    ibc_vec th, g, g2, ref, next, l1, l2;
    init_theta(net, &th, IBC_INIT_GAUSSIAN, "0.5", 5);
    for (long k = 0; k < net->D; k++) ibc_prec_vec_set_d(&th, 2 * net->D + k, 0.0);   /* neuron 2 dead */
    const long dim = th.len;
    ibc_prec_vec_init(&g, dim, pr);
    ibc_prec_vec_init(&g2, dim, pr);
    ibc_prec_vec_init(&ref, dim, pr);
    ibc_prec_vec_init(&next, dim, pr);
    ibc_prec_vec_init(&l1, 1, pr);
    ibc_prec_vec_init(&l2, 1, pr);
    long rows[17];
    for (long r = 0; r < nb; r++) rows[r] = (r * 7 + 3) % n;
    long diff = 0, ldiff = 0;
    int fin = 1;
    for (int batch = 0; batch < 2; batch++) {
        ibc_net_eval(net, &th, batch ? rows : NULL, batch ? nb : 0, &l1, &g, NULL);
        ref_update(&ref, &th, &g, 0.3);
        fin &= ibc_net_step(net, &th, batch ? rows : NULL, batch ? nb : 0, 0.3, &l2, &g2, &next);
        diff += vec_differ(&ref, &next);
        ldiff += vec_differ(&l1, &l2);
    }
    char pb[24], name[96];
    snprintf(name, sizeof name, "step p=%g %s: == eval + update (bitwise)", p, ibc_prec_str(pr, pb));
    report(name, diff == 0 && ldiff == 0 && fin, "%ld of %ld entries differ, loss differs %ld, finite %d", diff,
           2 * dim, ldiff, fin);
    ibc_prec_vec_set_d(&th, 0, NAN);   /* one weight NaN: every entry of next is NaN */
    int nf = ibc_net_step(net, &th, NULL, 0, 0.3, NULL, &g2, &next);
    snprintf(name, sizeof name, "step p=%g %s: a NaN weight reported non-finite", p, ibc_prec_str(pr, pb));
    report(name, nf == 0, "returned %d (want 0)", nf);
    ibc_prec_vec_clear(&th);
    ibc_prec_vec_clear(&g);
    ibc_prec_vec_clear(&g2);
    ibc_prec_vec_clear(&ref);
    ibc_prec_vec_clear(&next);
    ibc_prec_vec_clear(&l1);
    ibc_prec_vec_clear(&l2);
    ibc_net_free(net);
    ibc_model_data_free(d);
}

int main(void)
{
    ibc_prec_blas_setup();
    clock_t c0 = clock();
    const double ps[] = {1, 1.5, 2, 3};
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < 2; l++)
            for (int m = 0; m < 2; m++) check_fd(ps[a], l ? IBC_LOSS_LOGISTIC : IBC_LOSS_EXP, m);
    printf("  (fd: %.2f s CPU)\n", (double)(clock() - c0) / CLOCKS_PER_SEC);
    check_relu_trap();
    check_forward();
    const double pe[] = {1, 3, 1.5};
    for (int a = 0; a < 3; a++) {
        check_euler(pe[a], ibc_prec_mpfr(256), 1e-70);
        check_euler(pe[a], ibc_prec_double(), 1e-12);
    }
    check_balance_step(3);
    check_balance_step(1);
    check_tiny();
    check_minibatch_rows();
    for (int a = 1; a <= 4; a++) check_units_paths(a);
    for (int a = 0; a < 2; a++) {
        double p = a ? 3.0 : 1.0;
        check_step(p, ibc_prec_double());
        check_step(p, ibc_prec_mpfr(113));
        check_step(p, ibc_prec_arb(128));
    }
    check_bad_input();
    printf("test_net: %d failure(s), %.2f s CPU\n", failures, (double)(clock() - c0) / CLOCKS_PER_SEC);
    return failures ? 1 : 0;
}
