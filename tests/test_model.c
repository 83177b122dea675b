/* Unit test of the data model (docs/theory.md §1): data identical across precision
 * modes after rounding, seeded reproducibility, the centers (e_k and the
 * random orthonormal option), the labels, the noise scale, and rejection of
 * bad parameters.  One line per check: measured value, tolerance, verdict. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ibcheck/model.h"

#include "test_util.h"

/* Bitwise equality of two doubles (distinguishes -0 from +0, compares NaN payloads). */
static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Number of entries of two 256-bit master data sets that differ (X, y, z). */
static long data_diff(const ibc_data *a, const ibc_data *b)
{
    long nd = 0;
    long len = a->n * a->par.D;
    for (long i = 0; i < len; i++)
        if (!mpfr_equal_p(a->X + i, b->X + i)) nd++;
    for (long i = 0; i < a->n; i++)
        if (a->y[i] != b->y[i] || a->z[i] != b->z[i]) nd++;
    return nd;
}

static void check_modes(void)
{
    ibc_model_params par;
    ibc_model_default(&par);
    const long n = 200;
    ibc_data *d = ibc_model_data_alloc(&par, n, 0);
    if (!d) {
        report("modes: ibc_model_data_alloc(default, 200)", 0, "returned NULL");
        return;
    }
    ibc_vec xd, x53, x113;
    ibc_model_data_round(&xd, d, ibc_prec_double());
    ibc_model_data_round(&x53, d, ibc_prec_mpfr(53));
    ibc_model_data_round(&x113, d, ibc_prec_mpfr(113));
    const long len = n * par.D;
    int len_ok = xd.len == len && x53.len == len && x113.len == len;
    report("modes: lengths n*D", len_ok, "double %ld, mpfr:53 %ld, mpfr:113 %ld, expected %ld",
           xd.len, x53.len, x113.len, len);
    if (!len_ok) goto done;
    /* double vs mpfr:53: both are the round-to-nearest of the same 256-bit
     * value to a 53-bit significand, so they must be bitwise equal (an
     * mpfr:53 number converts to double exactly: no tolerance at all). */
    long bad53 = 0, nonzero = 0;
    for (long i = 0; i < len; i++) {
        double a = xd.d[i], b = mpfr_get_d(x53.m + i, MPFR_RNDN);
        if (!same_bits(a, b)) bad53++;
        if (a != 0) nonzero++;
    }
    report("modes: double == mpfr:53 bitwise", bad53 == 0, "entries differing = %ld of %ld, tol 0", bad53, len);
    /* mpfr:113 rounded to double: 256 -> 113 -> 53 bits can differ from
     * 256 -> 53 only when the 113-bit value lands exactly on a 53-bit
     * midpoint (probability ~2^-60 per entry, i.e. ~1e-14 for the whole
     * array; the data are seeded, so the result is deterministic anyway). */
    long bad113 = 0;
    for (long i = 0; i < len; i++)
        if (!same_bits(xd.d[i], mpfr_get_d(x113.m + i, MPFR_RNDN))) bad113++;
    report("modes: round(mpfr:113 -> double) == double", bad113 == 0, "entries differing = %ld of %ld, tol 0",
           bad113, len);
    /* mpfr:113 is genuinely more precise than double (else the check above is vacuous). */
    long finer = 0;
    mpfr_t t;
    mpfr_init2(t, 113);
    for (long i = 0; i < len; i++) {
        mpfr_set_d(t, xd.d[i], MPFR_RNDN);
        if (!mpfr_equal_p(t, x113.m + i)) finer++;
    }
    mpfr_clear(t);
    report("modes: mpfr:113 holds more than double", finer > len / 2,
           "entries with bits beyond double = %ld of %ld (need > half; noise is irrational-like)", finer, len);
    report("modes: data non-trivial", nonzero > len / 2, "nonzero entries %ld of %ld (need > half)", nonzero, len);
done:
    ibc_prec_vec_clear(&xd);
    ibc_prec_vec_clear(&x53);
    ibc_prec_vec_clear(&x113);

    /* Same seed: identical master data (all 256 bits, labels, subclasses). */
    ibc_data *d2 = ibc_model_data_alloc(&par, n, 0);
    long diff_same = d2 ? data_diff(d, d2) : -1;
    report("seed: same seed -> identical data", diff_same == 0, "entries differing = %ld, tol 0", diff_same);
    /* Different seed: different data (all entries are continuous draws; a
     * coincidence has probability 0). */
    ibc_model_params par3 = par;
    par3.seed = par.seed + 1;
    ibc_data *d3 = ibc_model_data_alloc(&par3, n, 0);
    long diff_seed = d3 ? data_diff(d, d3) : -1;
    report("seed: other seed -> different data", diff_seed > len / 2,
           "entries differing = %ld of %ld (need > half)", diff_seed, len + 2 * n);
    /* Test stream (stream 1) differs from the training stream. */
    ibc_data *d4 = ibc_model_data_alloc(&par, n, 1);
    long diff_stream = d4 ? data_diff(d, d4) : -1;
    report("seed: stream 1 differs from stream 0", diff_stream > len / 2,
           "entries differing = %ld of %ld (need > half)", diff_stream, len + 2 * n);
    ibc_model_data_free(d2);
    ibc_model_data_free(d3);
    ibc_model_data_free(d4);
    ibc_model_data_free(d);
}

/* max |mu mu^T - I| over the K x K Gram matrix, formed at 512 bits (products
 * of 256-bit numbers are exact there; the sum of D terms rounds at 2^-512). */
static double gram_error(const ibc_data *d)
{
    const long K = d->par.K, D = d->par.D;
    mpfr_t s, p;
    mpfr_inits2(512, s, p, (mpfr_ptr)0);
    double worst = 0;
    for (long k = 0; k < K; k++)
        for (long l = 0; l < K; l++) {
            mpfr_set_zero(s, 1);
            for (long e = 0; e < D; e++) {
                mpfr_mul(p, d->mu + k * D + e, d->mu + l * D + e, MPFR_RNDN);
                mpfr_add(s, s, p, MPFR_RNDN);
            }
            if (k == l) mpfr_sub_ui(s, s, 1, MPFR_RNDN);
            double a = fabs(mpfr_get_d(s, MPFR_RNDN));
            if (!(a <= worst)) worst = a;
        }
    mpfr_clears(s, p, (mpfr_ptr)0);
    return worst;
}

/* Labels y = +1 iff z < K1 (0-based subclasses), z in [0, K).  Returns the
 * number of violations. */
static long label_errors(const ibc_data *d)
{
    long bad = 0;
    for (long i = 0; i < d->n; i++) {
        if (d->z[i] < 0 || d->z[i] >= d->par.K) bad++;
        else if (d->y[i] != (d->z[i] < d->par.K1 ? 1 : -1)) bad++;
    }
    return bad;
}

/* Sample mean of ||x_i - mu_{z_i}||^2 at 256 bits, as a double. */
static double mean_sq_noise(const ibc_data *d)
{
    const long D = d->par.D;
    mpfr_t s, t;
    mpfr_inits2(IBC_GEN_BITS, s, t, (mpfr_ptr)0);
    mpfr_set_zero(s, 1);
    for (long i = 0; i < d->n; i++)
        for (long e = 0; e < D; e++) {
            mpfr_sub(t, d->X + i * D + e, d->mu + d->z[i] * D + e, MPFR_RNDN);
            mpfr_sqr(t, t, MPFR_RNDN);
            mpfr_add(s, s, t, MPFR_RNDN);
        }
    mpfr_div_si(s, s, d->n, MPFR_RNDN);
    double r = mpfr_get_d(s, MPFR_RNDN);
    mpfr_clears(s, t, (mpfr_ptr)0);
    return r;
}

static void check_centers_and_noise(int random)
{
    char name[96];
    const char *tag = random ? "random centers" : "e_k centers";
    ibc_model_params par;
    ibc_model_default(&par);
    par.random_centers = random;
    par.seed = 12345;
    const long n = 2000, K = par.K, D = par.D;
    ibc_data *d = ibc_model_data_alloc(&par, n, 0);
    if (!d) {
        snprintf(name, sizeof name, "%s: alloc", tag);
        report(name, 0, "ibc_model_data_alloc returned NULL");
        return;
    }
    if (!random) {
        /* Default centers are exactly e_k: every entry compared exactly. */
        long bad = 0;
        for (long k = 0; k < K; k++)
            for (long e = 0; e < D; e++)
                if (mpfr_cmp_ui(d->mu + k * D + e, k == e ? 1 : 0) != 0) bad++;
        snprintf(name, sizeof name, "%s: mu_k == e_k exactly", tag);
        report(name, bad == 0, "entries differing = %ld of %ld, tol 0", bad, K * D);
    } else {
        /* Modified Gram-Schmidt applied twice at 256 bits: the rows are
         * orthonormal to O(K*D*u) with u = 2^-256 ~ 8.6e-78, i.e. ~3e-75
         * for K*D = 300; 1e-70 leaves a factor 3e4 for the constant. A
         * single-pass MGS, a missing normalisation or a double-precision
         * step would give >= 1e-17. */
        double ge = gram_error(d);
        snprintf(name, sizeof name, "%s: |mu mu^T - I|_max at 256 bits", tag);
        report(name, ge <= 1e-70, "measured %.3e, tol 1e-70", ge);
        /* Not secretly the identity basis: some entry far from 0 and 1. */
        double off = 0;
        for (long k = 0; k < K; k++)
            for (long e = 0; e < D; e++) {
                double a = fabs(mpfr_get_d(d->mu + k * D + e, MPFR_RNDN) - (k == e ? 1.0 : 0.0));
                if (a > off) off = a;
            }
        snprintf(name, sizeof name, "%s: differ from e_k", tag);
        /* a random unit vector in R^30 has entries ~ 1/sqrt(30) ~ 0.18;
         * the diagonal entry of a random basis is far from 1. */
        report(name, off > 0.5, "max |mu_kd - delta_kd| = %.3f, need > 0.5", off);
        /* Another seed gives another basis. */
        ibc_model_params p2 = par;
        p2.seed = par.seed + 1;
        ibc_data *d2 = ibc_model_data_alloc(&p2, 10, 0);
        long same = 0;
        for (long i = 0; d2 && i < K * D; i++)
            if (mpfr_equal_p(d->mu + i, d2->mu + i)) same++;
        snprintf(name, sizeof name, "%s: other seed -> other basis", tag);
        report(name, d2 && same < K * D / 10, "entries equal = %ld of %ld (need < 10%%)", same, K * D);
        ibc_model_data_free(d2);
    }
    long lab = label_errors(d);
    snprintf(name, sizeof name, "%s: y = +1 iff z < K1", tag);
    report(name, lab == 0, "violations = %ld of %ld, tol 0", lab, n);
    /* Both classes and every subclass occur: z ~ Uniform{0..K-1}; each count
     * is Binomial(n, 1/K), mean 200, sd sqrt(n (1/K)(1-1/K)) ~ 13.4: require
     * every count within 5 sd of n/K. */
    long cnt[64] = {0};
    for (long i = 0; i < n; i++) cnt[d->z[i]]++;
    double sd = sqrt(n * (1.0 / K) * (1 - 1.0 / K)), worst = 0;
    for (long k = 0; k < K; k++) {
        double dev = fabs(cnt[k] - (double)n / K) / sd;
        if (dev > worst) worst = dev;
    }
    snprintf(name, sizeof name, "%s: subclass counts uniform", tag);
    report(name, worst <= 5, "max |count - n/K| / sd = %.2f, tol 5", worst);
    /* ||xi||^2 = (alpha^2/D) chi^2_D: mean alpha^2, variance 2 alpha^4 / D.
     * The sample mean over n has sd alpha^2 sqrt(2/(D n)).  5 sd bound. A
     * noise std of alpha instead of alpha/sqrt(D) would be off by a factor
     * D = 30, i.e. ~1e4 sd. */
    double a2 = par.alpha * par.alpha;
    double m = mean_sq_noise(d);
    double sdm = a2 * sqrt(2.0 / (double)(D * n));
    snprintf(name, sizeof name, "%s: mean ||x - mu_z||^2 = alpha^2", tag);
    report(name, fabs(m - a2) <= 5 * sdm, "measured %.6e vs alpha^2 %.6e: |diff| = %.3e, tol 5 sd = %.3e", m, a2,
           fabs(m - a2), 5 * sdm);
    ibc_model_data_free(d);
}

static void check_rejects(void)
{
    char err[IBC_ERRLEN];
    ibc_model_params base;
    ibc_model_default(&base);
    err[0] = '\0';
    int rc0 = ibc_model_check(&base, 200, err);
    report("check: default params accepted", rc0 == IBC_OK, "rc = %d, expected %d", rc0, IBC_OK);
    struct {
        const char *what;
        long D, K, K1;
        double alpha;
        long n;
    } cases[] = {
        {"K1 == K", 30, 10, 10, 0.1, 200},
        {"K1 > K", 30, 10, 11, 0.1, 200},
        {"K1 = 0", 30, 10, 0, 0.1, 200},
        {"K > D", 5, 6, 2, 0.1, 200},
        {"alpha < 0", 30, 10, 6, -0.1, 200},
        {"alpha NaN", 30, 10, 6, NAN, 200},
        {"alpha inf", 30, 10, 6, INFINITY, 200},
        {"n = 0", 30, 10, 6, 0.1, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ibc_model_params par = base;
        par.D = cases[c].D;
        par.K = cases[c].K;
        par.K1 = cases[c].K1;
        par.alpha = cases[c].alpha;
        memset(err, 0, sizeof err);
        int rc = ibc_model_check(&par, cases[c].n, err);
        size_t len = strnlen(err, IBC_ERRLEN);
        ibc_data *d = ibc_model_data_alloc(&par, cases[c].n, 0);
        char name[96];
        snprintf(name, sizeof name, "check: rejects %s", cases[c].what);
        report(name, rc == IBC_EINPUT && len > 0 && len < IBC_ERRLEN && !strchr(err, '\n') && d == NULL,
               "rc = %d (want %d), message '%s', alloc %s", rc, IBC_EINPUT, err, d ? "non-NULL" : "NULL");
        ibc_model_data_free(d);
    }
    /* Edge cases that must be accepted: K1 = K - 1, K = D, alpha = 0, n = 1. */
    ibc_model_params e = base;
    e.D = 4;
    e.K = 4;
    e.K1 = 3;
    e.alpha = 0;
    int rce = ibc_model_check(&e, 1, err);
    report("check: accepts K = D, K1 = K-1, alpha = 0, n = 1", rce == IBC_OK, "rc = %d, expected %d", rce, IBC_OK);
}

int main(void)
{
    clock_t c0 = clock();
    check_modes();
    check_centers_and_noise(0);
    check_centers_and_noise(1);
    check_rejects();
    printf("test_model: %d failure(s), %.2f s CPU\n", failures, (double)(clock() - c0) / CLOCKS_PER_SEC);
    return failures ? 1 : 0;
}
