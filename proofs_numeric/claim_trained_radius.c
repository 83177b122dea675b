/* Claim `trained-radius` (THEORY §7, §8): l2 robustness brackets
 * [certified lower, verified attack] at test points of the trained networks.
 *
 *  - f_3 (defaults): the bracket sits near sqrt2/2, the best radius any
 *    classifier can have (MV25 P1); the lower end is a certificate (Arb,
 *    separable bound over the learned directions), the upper end the
 *    smallest verified flip over PGD, structured and minimal-norm attacks.
 *    Goal of the tool (issue "Robustness"): width <= 0.1.
 *  - f_3: the plain-PGD minimal-norm estimate beside the bracket.  For p > 1
 *    PGD is gradient-masked (sigma^p has zero slope at 0), so it reports
 *    radii above the verified upper end: the row shows by how much.
 *  - f_1: the bracket near 1/sqrt K (T-F), and over K in {4, 8, 16} (smaller
 *    runs, n = 250, h = 50, K1 = K/2) the attack upper end times sqrt K: the
 *    fitted constant C (geometric mean) and each K's ratio to it.
 * Checks that can fail: lo <= hi at every point (both certified: a violation
 * is a bug and stops the claim), the f_3 widths, f_3's certified radius above
 * f_1's attack radius (the paper's separation), and the 1/sqrt K scaling.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"


#define IBC_CLAIM_NPTS_K 10        /* per network of the K sweep */
#define TR_WIDTH 0.1        /* the goal for f_3 at the defaults */
#define TR_SCALING 0.25     /* |hi sqrt K / C - 1| allowed across K */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over the correctly classified points of one bracket field. */
static double median_of(const ibc_claim_bracket_set *s, int which, long *count)
{
    double *v = malloc(sizeof(double) * (size_t)s->npts);
    long m = 0;
    for (long i = 0; i < s->npts; i++) {
        const ibc_bracket *b = &s->br[i];
        if (b->misclassified)
            continue;
        v[m++] = which == 0 ? b->lo : which == 1 ? b->hi : which == 2 ? b->hi_pgd
               : which == 3 ? b->hi_struct : b->hi - b->lo;
    }
    qsort(v, (size_t)m, sizeof(double), cmp_d);
    double med = m == 0 ? NAN : (m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]));
    free(v);
    if (count)
        *count = m;
    return med;
}

static double max_width(const ibc_claim_bracket_set *s)
{
    double w = 0;
    for (long i = 0; i < s->npts; i++)
        if (!s->br[i].misclassified)
            w = fmax(w, s->br[i].hi - s->br[i].lo);
    return w;
}

static void add(ibc_rows *out, const char *what, const char *prec, const char *measured, const char *bound,
                double margin, ibc_verdict v, const char *src, const char *params)
{
    char mg[32] = "";
    if (isfinite(margin))
        snprintf(mg, sizeof mg, "%+.4f", margin);
    ibc_rows_add(out, "trained-radius", what, prec, measured, bound, mg, v, src, "%s", params);
}

/* The K sweep's smaller runs: K1 = K/2, n = 250, h = 50, D >= K. */
static void ksweep_config(ibc_config *c, const ibc_config *cfg, long K)
{
    *c = *cfg;
    c->model.K = K;
    c->model.K1 = K / 2;
    c->n = 250;
    c->h = 50;
    if (c->model.D < K)
        c->model.D = K;
}

int ibc_claim_trained_radius(const ibc_config *cfg, ibc_rows *out, char *err)
{
    const double r_opt = sqrt(0.5);
    const ibc_claim_bracket_set *s3 = ibc_claim_brackets(cfg, 3.0, IBC_CLAIM_NPTS, err);
    if (!s3)
        return IBC_EINPUT;
    const ibc_claim_bracket_set *s1 = ibc_claim_brackets(cfg, 1.0, IBC_CLAIM_NPTS, err);
    if (!s1)
        return IBC_EINPUT;
    char pb[24], params[320], base[240], m[48], b[64];
    ibc_prec_str(cfg->prec, pb);
    double rK = 1.0 / sqrt((double)cfg->model.K);

    /* f_3 */
    ibc_config_describe(base, sizeof base, cfg, 3.0);
    snprintf(params, sizeof params, "%s test points=%d pgd steps=%d", base, IBC_CLAIM_NPTS, IBC_CLAIM_PGD_STEPS);
    long n3;
    double lo3 = median_of(s3, 0, &n3), hi3 = median_of(s3, 1, NULL), pgd3 = median_of(s3, 2, NULL);
    double w3 = max_width(s3);
    snprintf(m, sizeof m, "[%.4f, %.4f]", lo3, hi3);
    snprintf(b, sizeof b, "median bracket over %ld points; sqrt2/2 = %.4f", n3, r_opt);
    add(out, "f_3 radius bracket (median lower, median upper)", pb, m, b, NAN, IBC_INFO, "§7", params);
    snprintf(m, sizeof m, "%.4f", w3);
    snprintf(b, sizeof b, "<= %.2f (goal)", TR_WIDTH);
    add(out, "f_3 bracket width, max over points", pb, m, b, TR_WIDTH - w3, w3 <= TR_WIDTH ? IBC_HOLDS : IBC_REFUTED,
        "issue goal", params);
    snprintf(m, sizeof m, "%.4f", pgd3);
    snprintf(b, sizeof b, "verified upper %.4f: PGD %+.1f%%", hi3, 100 * (pgd3 / hi3 - 1));
    add(out, "f_3 plain-PGD radius estimate (median): masking", pb, m, b, NAN, IBC_INFO, "§7 Caution", params);
    long over = 0;
    for (long i = 0; i < s3->npts; i++)
        over += !s3->br[i].misclassified && s3->br[i].hi_pgd > r_opt && s3->br[i].hi <= r_opt;
    snprintf(m, sizeof m, "%ld/%ld", over, n3);
    add(out, "f_3 points where PGD reports > sqrt2/2 but a verified flip exists below it", pb, m, "info", NAN,
        IBC_INFO, "MV25 P1", params);

    /* f_1 */
    ibc_config_describe(base, sizeof base, cfg, 1.0);
    snprintf(params, sizeof params, "%s test points=%d pgd steps=%d", base, IBC_CLAIM_NPTS, IBC_CLAIM_PGD_STEPS);
    long n1;
    double lo1 = median_of(s1, 0, &n1), hi1 = median_of(s1, 1, NULL);
    snprintf(m, sizeof m, "[%.4f, %.4f]", lo1, hi1);
    snprintf(b, sizeof b, "median bracket over %ld points; 1/sqrt K = %.4f", n1, rK);
    add(out, "f_1 radius bracket (median lower, median upper)", pb, m, b, NAN, IBC_INFO, "T-F, §7", params);
    snprintf(m, sizeof m, "%.4f", max_width(s1));
    add(out, "f_1 bracket width, max over points", pb, m, "info", NAN, IBC_INFO, "§7", params);

    /* The paper's separation: every certified f_3 radius beats f_1's attack. */
    snprintf(m, sizeof m, "%.4f", lo3);
    snprintf(b, sizeof b, "> median f_1 attack upper %.4f", hi1);
    add(out, "median certified f_3 radius above median f_1 attack radius", pb, m, b, lo3 - hi1,
        lo3 > hi1 ? IBC_HOLDS : IBC_REFUTED, "MV24 §5", params);

    /* f_1 across K: the attack radius scales like 1/sqrt K. */
    const long Ks[3] = {4, 8, 16};
    double prodK[3];
    double logsum = 0;
    for (int i = 0; i < 3; i++) {
        ibc_config c;
        ksweep_config(&c, cfg, Ks[i]);
        const ibc_claim_bracket_set *sk = ibc_claim_brackets(&c, 1.0, IBC_CLAIM_NPTS_K, err);
        if (!sk)
            return IBC_EINPUT;
        prodK[i] = median_of(sk, 1, NULL) * sqrt((double)Ks[i]);
        logsum += log(prodK[i]);
    }
    double C = exp(logsum / 3);
    for (int i = 0; i < 3; i++) {
        ibc_config c;
        ksweep_config(&c, cfg, Ks[i]);
        ibc_config_describe(base, sizeof base, &c, 1.0);
        snprintf(params, sizeof params, "%s test points=%d", base, IBC_CLAIM_NPTS_K);
        char what[72];
        snprintf(what, sizeof what, "f_1 median attack radius x sqrt K, K = %ld", Ks[i]);
        snprintf(m, sizeof m, "%.4f", prodK[i]);
        snprintf(b, sizeof b, "C = %.4f (1 +- %.2f)", C, TR_SCALING);
        double dev = fabs(prodK[i] / C - 1);
        add(out, what, pb, m, b, TR_SCALING - dev, dev <= TR_SCALING ? IBC_HOLDS : IBC_REFUTED, "T-F", params);
    }
    snprintf(m, sizeof m, "%.4f", C);
    add(out, "fitted C in radius(f_1) ~ C / sqrt K (geometric mean)", pb, m, "info (F at centers: 1)", NAN,
        IBC_INFO, "T-F", "K in {4, 8, 16}, n=250 h=50 K1=K/2");
    snprintf(m, sizeof m, "%.1f s + %.1f s", s3->seconds, s1->seconds);
    add(out, "time for the f_3 and f_1 brackets", pb, m, "info", NAN, IBC_INFO, "", "");
    return IBC_OK;
}
