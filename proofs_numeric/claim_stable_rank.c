/* Claim `stable-rank` (docs/theory.md §5 L-stablerank [MMV24 Thm 1]).
 *
 * The stable rank ||W||_F^2 / ||W||_2^2 of the first layer W (h x D, row j =
 * w_j) at the end of the cached default runs:
 *  - p = 1: MMV24 prove lim sup <= 2 (+ O(eps)): the neurons learn two
 *    directions (the class averages), so W is nearly rank 2 and the stable
 *    rank is (M+ + M-) / max(M+, M-) <= 2 up to the weight off that plane.
 *    Bound checked: <= 2 + 0.1.  The 0.1 is "small" made explicit (docs/theory.md §8
 *    says "2 + small"): the off-plane part is O(eps) in MMV24's setting and
 *    O(alpha^2) spread across neurons here; 0.1 is far above both yet well
 *    below the next integer, so a third learned direction fails it.
 *  - p = 3 [derived from the alignment picture]: each learned center k
 *    carries mass m_k = ||W mu_k||^2 and W^T W ~ sum_k m_k mu_k mu_k^T, so the
 *    stable rank is sum_k m_k / max_k m_k <= N_c, the number of learned
 *    centers, with equality when the masses are equal (the max-margin limit,
 *    where every center's samples get the same margin).  docs/theory.md expects
 *    every center learned (N_c = K), so the bound checked is against K, not
 *    against N_c counted from the same network (issue 12, item 4):
 *    K - 1 <= SR <= K + 0.1.  SR > K - 1 means every center is learned and
 *    the mean relative mass deficit sum_k (1 - m_k / max m) / K is below
 *    1/K: the finite-time departure from equal masses that "about K"
 *    allows; the upper 0.1 is the same off-span allowance as for p = 1.
 *    N_c is reported beside it.
 *  Caveat (docs/theory.md §5): MMV24 prove the p = 1 bound only for data whose
 *  same-label pairs are positively correlated; here subclasses are
 *  orthogonal, so the hypothesis fails and the check is empirical.
 *
 * ||W||_2^2 = lambda_max(W^T W) two ways in double: power iteration (a lower
 * bound, Rayleigh quotients of a PSD matrix increase), and the cyclic Jacobi
 * eigenvalue method (all eigenvalues; their sum must equal ||W||_F^2, the
 * trace identity).  Both are backward stable, errors ~ D u ||A||_2 ~ 1e-14
 * relative, so they must agree to 1e-12.  A third check needs no eigensolver:
 * with an orthonormal set U of learned directions (centers for p = 3, class
 * averages for p = 1), M = max_k u_k^T A u_k, O the off-diagonal part of
 * U^T A U and E = W - W U U^T (||E||_F^2 = ||W||_F^2 - tr U^T A U, Pythagoras),
 *   M <= lambda_max(A) <= (sqrt(M + ||O||_F) + ||E||_F)^2
 * (Rayleigh quotient; Weyl twice), which brackets the stable rank.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"

#define SR_POWER_MAX 1000000L    /* power iteration cap */
#define SR_AGREE 1e-12           /* power vs Jacobi, and the trace identity */
#define SR_SMALL 0.1             /* off-span allowance (see above) */

/* A = W^T W (D x D) from theta's first h*D entries; returns ||W||_F^2. */
static double sr_gram(const ibc_vec *theta, long h, long D, double *A)
{
    double f2 = 0;
    double *W = malloc(sizeof(double) * (size_t)(h * D));
    if (!W) abort();
    for (long i = 0; i < h * D; i++) {
        W[i] = ibc_prec_vec_get_d(theta, i);
        f2 += W[i] * W[i];
    }
    for (long a = 0; a < D; a++)
        for (long b = 0; b < D; b++) {
            double s = 0;
            for (long j = 0; j < h; j++) s += W[j * D + a] * W[j * D + b];
            A[a * D + b] = s;
        }
    free(W);
    return f2;
}

/* Power iteration on the PSD matrix A from the all-ones start: the Rayleigh
 * quotient, stopped once it gains less than 1e-16 relative over 10 steps. */
static double sr_power(const double *A, long D, long *iters)
{
    double *x = malloc(sizeof(double) * (size_t)D), *y = malloc(sizeof(double) * (size_t)D);
    if (!x || !y) abort();
    for (long a = 0; a < D; a++) x[a] = 1.0 / sqrt((double)D);
    double rho = 0, rho10 = 0;
    long k;
    for (k = 1; k <= SR_POWER_MAX; k++) {
        double n2 = 0, r = 0;
        for (long a = 0; a < D; a++) {
            double s = 0;
            for (long b = 0; b < D; b++) s += A[a * D + b] * x[b];
            y[a] = s;
            r += s * x[a];
            n2 += s * s;
        }
        rho = r;
        double nrm = sqrt(n2);
        if (nrm == 0) break;
        for (long a = 0; a < D; a++) x[a] = y[a] / nrm;
        if (k % 10 == 0) {
            if (rho - rho10 <= 1e-16 * rho) break;
            rho10 = rho;
        }
    }
    *iters = k;
    free(x);
    free(y);
    return rho;
}

/* Cyclic Jacobi on a copy of A: all eigenvalues into ev (descending). */
static int sr_cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void sr_jacobi(const double *A0, long D, double *ev, int *sweeps)
{
    double *A = malloc(sizeof(double) * (size_t)(D * D));
    if (!A) abort();
    memcpy(A, A0, sizeof(double) * (size_t)(D * D));
    int sw;
    for (sw = 0; sw < 100; sw++) {
        double off = 0, tot = 0;
        for (long i = 0; i < D * D; i++) tot += A[i] * A[i];
        for (long p = 0; p < D; p++)
            for (long q = p + 1; q < D; q++) off += 2 * A[p * D + q] * A[p * D + q];
        if (off <= 1e-32 * tot) break;
        for (long p = 0; p < D; p++)
            for (long q = p + 1; q < D; q++) {
                double apq = A[p * D + q];
                if (apq == 0) continue;
                /* the rotation that zeroes A_pq (Golub & Van Loan, sym.schur2) */
                double th = (A[q * D + q] - A[p * D + p]) / (2 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (long k = 0; k < D; k++) {
                    double akp = A[k * D + p], akq = A[k * D + q];
                    A[k * D + p] = c * akp - s * akq;
                    A[k * D + q] = s * akp + c * akq;
                }
                for (long k = 0; k < D; k++) {
                    double apk = A[p * D + k], aqk = A[q * D + k];
                    A[p * D + k] = c * apk - s * aqk;
                    A[q * D + k] = s * apk + c * aqk;
                }
            }
    }
    *sweeps = sw;
    for (long i = 0; i < D; i++) ev[i] = A[i * D + i];
    qsort(ev, (size_t)D, sizeof(double), sr_cmp_desc);
    free(A);
}

/* The eigensolver-free bracket of the stable rank from directions U (nu x D,
 * orthonormal rows).  Also returns the picture's value tr(U^T A U) / M. */
static void sr_bracket(const double *A, long D, const double *U, long nu, double f2,
                       double *lo, double *hi, double *picture, double *mass_ratio)
{
    double M = 0, mmin = INFINITY, tr = 0, o2 = 0;
    double *AU = malloc(sizeof(double) * (size_t)(D * nu));
    if (!AU) abort();
    for (long a = 0; a < D; a++)
        for (long k = 0; k < nu; k++) {
            double s = 0;
            for (long b = 0; b < D; b++) s += A[a * D + b] * U[k * D + b];
            AU[a * nu + k] = s;
        }
    for (long k = 0; k < nu; k++)
        for (long l = 0; l < nu; l++) {
            double s = 0;
            for (long a = 0; a < D; a++) s += U[k * D + a] * AU[a * nu + l];
            if (k == l) {
                tr += s;
                if (s > M) M = s;
                if (s < mmin) mmin = s;
            } else {
                o2 += s * s;
            }
        }
    free(AU);
    double e = sqrt(fmax(f2 - tr, 0.0));
    double up = sqrt(M + sqrt(o2)) + e;
    *hi = f2 / M;
    *lo = f2 / (up * up);
    *picture = tr / M;
    *mass_ratio = mmin / M;
}

/* cfg non-NULL: a statement that needs alpha > 0 (ibc_claim_alpha0_verdict). */
static void sr_row(ibc_rows *out, const char *what, ibc_prec pr, const char *measured,
                   const char *bound, double margin, const char *params, const ibc_config *cfg)
{
    char pb[24], gb[48];
    snprintf(gb, sizeof gb, "%+.4g", margin);
    ibc_verdict v = margin >= 0 ? IBC_HOLDS : IBC_REFUTED;
    if (cfg)
        v = ibc_claim_alpha0_verdict(cfg, v);
    ibc_claim_rows_add(out, "stable-rank", what, ibc_prec_str(pr, pb), measured, bound, gb, v, "L-stablerank",
                       "%s%s%s", v == IBC_INFO ? IBC_CLAIM_ALPHA0_WHY : "",
                       v == IBC_INFO ? "; " : "", params);
}

static int sr_rows(const ibc_config *cfg, double p, ibc_rows *out, char *err)
{
    const ibc_trained *t = ibc_train_cached(cfg, p, cfg->prec, err);
    if (!t) return IBC_ENUMERIC;
    const ibc_net *net = t->net;
    long h = net->h, D = net->D, K = t->data->par.K, K1 = t->data->par.K1;
    double *A = malloc(sizeof(double) * (size_t)(D * D));
    double *ev = malloc(sizeof(double) * (size_t)D);
    double *U = calloc((size_t)(K * D), sizeof(double));
    if (!A || !ev || !U) abort();
    double f2 = sr_gram(&t->theta, h, D, A);
    long iters;
    int sweeps;
    double lp = sr_power(A, D, &iters);
    sr_jacobi(A, D, ev, &sweeps);
    double lj = ev[0], evsum = 0, tail = 0;
    for (long i = 0; i < D; i++) evsum += ev[i];
    for (long i = p == 1 ? 2 : K; i < D; i++) tail += ev[i];
    double sr = f2 / lj;

    /* Learned directions: the centers (p > 2) or the two class averages (p = 1). */
    ibc_vec mu;
    ibc_model_data_centers(&mu, t->data, ibc_prec_double());
    long nu = p == 1 ? 2 : K;
    for (long k = 0; k < K; k++)
        for (long a = 0; a < D; a++) {
            double m = ibc_prec_vec_get_d(&mu, k * D + a);
            if (p == 1) U[(k < K1 ? 0 : 1) * D + a] += m / sqrt((double)(k < K1 ? K1 : K - K1));
            else U[k * D + a] = m;
        }
    ibc_prec_vec_clear(&mu);
    double lo, hi, pic, mratio;
    sr_bracket(A, D, U, nu, f2, &lo, &hi, &pic, &mratio);

    /* Learned centers (p > 2): an active neuron of the center's sign with
     * cos >= 0.99, the alignment claim's criterion. */
    long nc = 0;
    if (p != 1) {
        double *C = malloc(sizeof(double) * (size_t)(h * K)), *con = malloc(sizeof(double) * (size_t)h);
        if (!C || !con) abort();
        ibc_net_cosines(net, &t->theta, t->data, C, con);
        double top = 0;
        for (long j = 0; j < h; j++) top = fmax(top, con[j]);
        for (long k = 0; k < K; k++) {
            int learned = 0;
            for (long j = 0; j < h; j++) {
                int sj = ibc_prec_vec_get_d(&t->theta, h * D + j) > 0 ? 1 : -1;
                if (con[j] >= 1e-3 * top && sj == (k < K1 ? 1 : -1) && C[j * K + k] >= 0.99) learned = 1;
            }
            nc += learned;
        }
        free(C);
        free(con);
    }

    char base[200], params[512], mb[48], bb[64];
    ibc_train_config_describe(base, sizeof base, cfg, p);
    const char *caveat = "caveat: MMV24 assume positively correlated same-label data; "
                         "subclasses here are orthogonal: empirical";
    snprintf(mb, sizeof mb, "%.6f", sr);
    if (p == 1) {
        snprintf(params, sizeof params, "%s; %s", base, caveat);
        snprintf(bb, sizeof bb, "<= %.1f", 2 + SR_SMALL);
        /* two directions, the class averages: needs alpha > 0 (as alignment's p = 1 rows) */
        sr_row(out, "||W||_F^2 / ||W||_2^2 at the end (p = 1)", cfg->prec, mb, bb, 2 + SR_SMALL - sr, params, cfg);
    } else {
        snprintf(params, sizeof params, "%s; N_c=%ld/%ld, mass min/max %.3f; %s",
                 base, nc, K, mratio, caveat);
        /* Against K, the number of centers docs/theory.md expects to be learned, not
         * against N_c counted from the same network (which would follow a
         * network that learned fewer centers).  K - 1: unequal center masses
         * lower the ratio (equal masses give K exactly, one dominant gives 1). */
        snprintf(bb, sizeof bb, "in [K-1, K+%.1f] = [%ld, %.1f]", SR_SMALL, K - 1, K + SR_SMALL);
        sr_row(out, "||W||_F^2 / ||W||_2^2 at the end (p = 3), against K", cfg->prec, mb, bb,
               fmin(sr - (double)(K - 1), K + SR_SMALL - sr), params, NULL);
    }
    /* The two eigensolvers, and the trace identity. */
    double agree = fmax(fabs(lp - lj) / lj, fabs(evsum - f2) / f2);
    snprintf(params, sizeof params,
             "%s; power (%ld it) %.15g; Jacobi (%d sw) %.15g; trace rel. err %.2g",
             base, iters, lp, sweeps, lj, fabs(evsum - f2) / f2);
    snprintf(mb, sizeof mb, "%.2e", agree);
    snprintf(bb, sizeof bb, "<= %.0e", SR_AGREE);
    sr_row(out, p == 1 ? "||W||_2^2: power vs Jacobi, trace identity (p = 1)"
                       : "||W||_2^2: power vs Jacobi, trace identity (p = 3)",
           cfg->prec, mb, bb, SR_AGREE - agree, params, NULL);
    /* The eigensolver-free bracket from the learned directions. */
    snprintf(params, sizeof params,
             "%s; U: %s; picture tr(U'AU)/max %.6f; tail past rank %ld: %.2g lambda_1",
             base, p == 1 ? "class averages" : "centers", pic, nu, tail / lj);
    snprintf(bb, sizeof bb, "in [%.6f, %.6f]", lo, hi);
    double tolr = SR_AGREE * sr;   /* the eigensolver's own error */
    snprintf(mb, sizeof mb, "%.6f", sr);
    sr_row(out, p == 1 ? "SR inside the class-average bracket (p = 1)" : "SR inside the center bracket (p = 3)",
           cfg->prec, mb, bb,
           fmin(sr - lo + tolr, hi - sr + tolr), params, NULL);
    free(A);
    free(ev);
    free(U);
    return IBC_OK;
}

int ibc_claim_stable_rank(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc = sr_rows(cfg, 1.0, out, err);
    if (rc == IBC_OK) rc = sr_rows(cfg, 3.0, out, err);
    return rc;
}
