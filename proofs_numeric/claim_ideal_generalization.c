/* Claim ideal-generalization (THEORY §4 T-F, T-Fp; §8): Monte Carlo clean
 * error of F and F^(3) on new samples against
 *   T-F:  P(y F(x) <= 0)     <= 2 exp(-C D/(4 alpha^2 K)),
 *   T-Fp: P(y F^(p)(x) <= 0) <= 2 (K+1) exp(-C D/(alpha^2 K)),
 * with C an absolute constant the theorems do not give.  Each cell (alpha, D)
 * gives the Clopper-Pearson 95% upper bound p_up on the error probability and
 * hence the largest C it allows; the theorem holds with the minimum of those
 * over the cells, which must be positive.  A check that can fail on
 * structure: the error frequency may not fall as alpha grows at fixed D
 * (beyond 3 binomial standard errors).  Also the home of the Monte Carlo
 * helpers of ideal_mc.h. */
#include <math.h>
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "ideal_mc.h"

#define CLAIM "ideal-generalization"
#define PEXP 3.0
#define STREAM 0x676e726cUL   /* "gnrl": this claim's own streams, + cell */

const double ibc_mc_alpha[IBC_MC_NA] = { 0.05, 0.1, 0.2, 0.3 };
const long ibc_mc_D[IBC_MC_ND] = { 30, 100, 1000 };

/* ---- ideal_mc.h ---------------------------------------------------------- */

void ibc_mc_init(ibc_mc_sampler *m, const ibc_config *cfg, double alpha, long D,
                 unsigned long stream)
{
    ibc_model_randinit(m->st, cfg->model.seed, stream);
    mpfr_init2(m->g, 53);
    m->K = cfg->model.K;
    m->K1 = cfg->model.K1;
    m->s = alpha / sqrt((double)D);
}

void ibc_mc_clear(ibc_mc_sampler *m)
{
    gmp_randclear(m->st);
    mpfr_clear(m->g);
}

int ibc_mc_draw(ibc_mc_sampler *m, double *c)
{
    long z = (long)gmp_urandomm_ui(m->st, (unsigned long)m->K);
    for (long k = 0; k < m->K; k++) {
        mpfr_nrandom(m->g, m->st, MPFR_RNDN);
        c[k] = (k == z ? 1.0 : 0.0) + m->s * mpfr_get_d(m->g, MPFR_RNDN);
    }
    return z < m->K1 ? 1 : -1;
}

/* P(X <= k) for X ~ Binomial(n, p), summed in logs from the mode down. */
static double binom_cdf(long k, long n, double p)
{
    if (p <= 0)
        return 1.0;
    if (p >= 1)
        return k >= n ? 1.0 : 0.0;
    double lp = log(p), lq = log1p(-p), top = -INFINITY;
    double lc = lgamma((double)n + 1);
    /* the largest term first, so that the sum is formed without underflow */
    for (long i = 0; i <= k; i++) {
        double t = lc - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) + i * lp + (n - i) * lq;
        if (t > top)
            top = t;
    }
    double s = 0;
    for (long i = 0; i <= k; i++)
        s += exp(lc - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) + i * lp + (n - i) * lq - top);
    return s * exp(top);
}

double ibc_mc_cp_upper(long k, long n)
{
    if (k >= n)
        return 1.0;
    if (k == 0)
        return -expm1(log(0.025) / (double)n);   /* 1 - 0.025^(1/n) */
    double lo = (double)k / (double)n, hi = 1.0;
    for (int it = 0; it < 80; it++) {
        double mid = 0.5 * (lo + hi);
        if (binom_cdf(k, n, mid) > 0.025)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

double ibc_mc_worst_drop(const long *k, int m, long n)
{
    double worst = -INFINITY;
    for (int i = 1; i < m; i++) {
        double f0 = (double)k[i - 1] / (double)n, f1 = (double)k[i] / (double)n;
        double v0 = fmax((double)k[i - 1], 1.0) / (double)n, v1 = fmax((double)k[i], 1.0) / (double)n;
        double se = sqrt((v0 * (1 - f0) + v1 * (1 - f1)) / (double)n);
        double d = (f0 - f1) / se;
        if (d > worst)
            worst = d;
    }
    return worst;
}

int ibc_mc_flipped(const ibc_rnet *f, const double *x, const double *delta, int y)
{
    double xd[IBC_KKT_KMAX];
    const double *z = x;
    if (f->D > IBC_KKT_KMAX)
        return ibc_rnet_flipped(f, x, delta, y, 128) != 0;
    if (delta) {
        for (long k = 0; k < f->D; k++)
            xd[k] = x[k] + delta[k];
        z = xd;
    }
    double m = y * ibc_rnet_eval_d(f, z);
    if (fabs(m) > 1e-9)
        return m <= 0;
    return ibc_rnet_flipped(f, x, delta, y, 128) != 0;
}

/* ---- the claim ----------------------------------------------------------- */

/* T-F's and T-Fp's C from p_up at one cell. */
static double cmax_F(double pup, double a, long D, long K)
{
    return -(4 * a * a * (double)K / (double)D) * log(pup / 2);
}

static double cmax_Fp(double pup, double a, long D, long K)
{
    return -(a * a * (double)K / (double)D) * log(pup / (2.0 * (double)(K + 1)));
}

/* Beyond the brief's cells: alphas where errors actually occur at D = 30
 * and 100, so that the structure check has counts to compare. */
#define NA_ALL (IBC_MC_NA + 3)
static const double ALPHA_ALL[NA_ALL] = { 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0 };

int ibc_claim_ideal_generalization(const ibc_config *cfg, ibc_rows *out, char *err)
{
    long K = cfg->model.K, K1 = cfg->model.K1, n = IBC_MC_SAMPLES;
    if (K > IBC_KKT_KMAX) {
        snprintf(err, IBC_ERRLEN, CLAIM ": K = %ld; this claim allows 2 <= K <= %d", K, IBC_KKT_KMAX);
        return IBC_EINPUT;
    }
    ibc_rnet *clf[2] = { ibc_rnet_ideal(IBC_IDEAL_F, K, K, K1, 1.0),
                         ibc_rnet_ideal(IBC_IDEAL_FP, K, K, K1, PEXP) };
    if (!clf[0] || !clf[1]) {
        ibc_rnet_free(clf[0]);
        ibc_rnet_free(clf[1]);
        snprintf(err, IBC_ERRLEN, CLAIM ": out of memory");
        return IBC_ENUMERIC;
    }
    long errs[2][IBC_MC_ND][NA_ALL];
    /* over the cells alpha <= 0.3 (the high-noise ones are reported only) */
    double cmin[2] = { INFINITY, INFINITY };
    int amin[2] = { 0, 0 }, dmin[2] = { 0, 0 };
    double c[IBC_KKT_KMAX];
    const char *names[2] = { "F", "F^(3)" }, *src[2] = { "T-F", "T-Fp" };
    for (int id = 0; id < IBC_MC_ND; id++) {
        for (int ia = 0; ia < NA_ALL; ia++) {
            long D = ibc_mc_D[id];
            double a = ALPHA_ALL[ia];
            ibc_mc_sampler sm;
            unsigned long stream = STREAM + (unsigned long)(id * NA_ALL + ia);
            ibc_mc_init(&sm, cfg, a, D, stream);
            long e[2] = { 0, 0 };
            for (long i = 0; i < n; i++) {
                int y = ibc_mc_draw(&sm, c);
                for (int t = 0; t < 2; t++)
                    e[t] += ibc_mc_flipped(clf[t], c, NULL, y);
            }
            ibc_mc_clear(&sm);
            double cm[2], pup[2];
            for (int t = 0; t < 2; t++) {
                errs[t][id][ia] = e[t];
                pup[t] = ibc_mc_cp_upper(e[t], n);
                cm[t] = t == 0 ? cmax_F(pup[t], a, D, K) : cmax_Fp(pup[t], a, D, K);
                if (ia < IBC_MC_NA && cm[t] < cmin[t]) {
                    cmin[t] = cm[t];
                    amin[t] = ia;
                    dmin[t] = id;
                }
            }
            char meas[96], bnd[96], mg[48];
            snprintf(meas, sizeof meas, "errors F %ld, F^(3) %ld of %ld", e[0], e[1], n);
            snprintf(bnd, sizeof bnd, "C <= %.4g (T-F), %.4g (T-Fp)", cm[0], cm[1]);
            snprintf(mg, sizeof mg, "%.3g / %.3g", cm[0], cm[1]);
            ibc_rows_add(out, CLAIM, ia < IBC_MC_NA ? "clean error of F and F^(3), one cell"
                                                    : "clean error of F and F^(3), high-noise cell",
                         "double", meas, bnd, mg, IBC_INFO, "T-F, T-Fp",
                         "alpha=%g D=%ld K=%ld K1=%ld n=%ld seed=%lu stream=%#lx; CP95 p_up %.3g / %.3g; "
                         "T-F 2exp(-CD/(4a^2K)), T-Fp 2(K+1)exp(-CD/(a^2K))",
                         a, D, K, K1, n, cfg->model.seed, stream, pup[0], pup[1]);
        }
    }
    for (int t = 0; t < 2; t++) {
        {
            char meas[96], mg[48], what[96];
            snprintf(meas, sizeof meas, "C = %.4g", cmin[t]);
            snprintf(mg, sizeof mg, "%+.4g", cmin[t]);
            snprintf(what, sizeof what, "%s: largest C consistent with all cells", src[t]);
            ibc_rows_add(out, CLAIM, what, "double", meas, "> 0", mg, cmin[t] > 0 ? IBC_HOLDS : IBC_REFUTED,
                         src[t],
                         "min over alpha in {0.05,0.1,0.2,0.3} x D in {30,100,1000} (attained at alpha=%g D=%ld); "
                         "K=%ld K1=%ld n=%ld per cell; classifier %s",
                         ALPHA_ALL[amin[t]], ibc_mc_D[dmin[t]], K, K1, n, names[t]);
        }
        /* Structure: the success set {y G > 0} is a cone that adding mu_z
         * keeps inside, so P(error) cannot fall as alpha grows (in
         * distribution); the frequencies may only by sampling noise. */
        double worst = -INFINITY;
        long wD = 0;
        for (int id = 0; id < IBC_MC_ND; id++) {
            double w = ibc_mc_worst_drop(errs[t][id], NA_ALL, n);
            if (w > worst) {
                worst = w;
                wD = ibc_mc_D[id];
            }
        }
        long tot = 0;
        for (int id = 0; id < IBC_MC_ND; id++)
            for (int ia = 0; ia < NA_ALL; ia++)
                tot += errs[t][id][ia];
        char meas[96], mg[48], what[96];
        snprintf(meas, sizeof meas, "largest drop %.3g SE (D=%ld)", worst, wD);
        snprintf(mg, sizeof mg, "%+.3g", 3 - worst);
        snprintf(what, sizeof what, "error of %s non-decreasing in alpha at fixed D", names[t]);
        ibc_rows_add(out, CLAIM, what, "double", meas, "<= 3 SE", mg, worst <= 3 ? IBC_HOLDS : IBC_REFUTED,
                     src[t],
                     "alpha 0.05 -> 2 at each D in {30,100,1000}; %ld errors in all; SE of the difference of two "
                     "binomial frequencies (variance at max(k,1)/n); K=%ld K1=%ld n=%ld",
                     tot, K, K1, n);
    }
    ibc_rnet_free(clf[0]);
    ibc_rnet_free(clf[1]);
    return IBC_OK;
}
