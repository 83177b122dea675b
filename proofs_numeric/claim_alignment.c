/* Claim `alignment` (docs/theory.md §5 L-alignment [MV24 conjecture; MV25 Prop 4]).
 *
 * After training at the defaults:
 *  - p = 3: every center mu_k is learned: some active neuron whose output
 *    weight has the sign of y_k has cos(w_j, mu_k) >= 0.99 (docs/theory.md §8).
 *  - p = 1: neurons learn class averages: no active neuron is aligned with a
 *    single center, each is close to its class's average direction, and its
 *    components across its class's centers are nearly equal.
 * A neuron is "active" when its contribution |v_j| ||w_j|| is at least 1e-3
 * of the largest: the others stayed near the small initialization and do
 * not shape f (they are reported, not judged).
 *
 * Rows (every one can fail): p = 3 min_k max_j cos >= 0.99; the window
 * [t1, t2] exists (REFUTED when no record reaches 0.99); p = 1 max single-
 * center cos below the midpoint between 1/sqrt(K_class) and 1, class-average
 * cos >= 0.95, in-class spread <= 0.25; the alpha sweep's deficits <= 0.01
 * and fitted exponent |e - 2| <= 0.5 (REFUTED, not dropped, when the fit is
 * undefined).  Mutants (tests/mutants): none of this branch targets it
 * alone; align-dirflow-radial-sign is killed by basins, not here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "claim/claims.h"

typedef struct {
    long h, K, K1;
    double *C;        /* h x K cosines */
    double *contrib;  /* |v_j| ||w_j|| */
    int *sign;        /* sign(v_j) */
    int *active;
    long n_active;
} neurons;

static int neurons_init(neurons *nr, const ibc_trained *t)
{
    const ibc_net *net = t->net;
    nr->h = net->h;
    nr->K = t->data->par.K;
    nr->K1 = t->data->par.K1;
    nr->C = malloc(sizeof(double) * (size_t)(nr->h * nr->K));
    nr->contrib = malloc(sizeof(double) * (size_t)nr->h);
    nr->sign = malloc(sizeof(int) * (size_t)nr->h);
    nr->active = malloc(sizeof(int) * (size_t)nr->h);
    if (!nr->C || !nr->contrib || !nr->sign || !nr->active) return IBC_EINPUT;
    ibc_net_cosines(net, &t->theta, t->data, nr->C, nr->contrib);
    double top = 0;
    for (long j = 0; j < nr->h; j++) {
        nr->sign[j] = ibc_prec_vec_get_d(&t->theta, net->h * net->D + j) > 0 ? 1 : -1;
        if (nr->contrib[j] > top) top = nr->contrib[j];
    }
    nr->n_active = 0;
    for (long j = 0; j < nr->h; j++) {
        nr->active[j] = top > 0 && nr->contrib[j] >= 1e-3 * top;
        nr->n_active += nr->active[j];
    }
    return IBC_OK;
}

static void neurons_clear(neurons *nr)
{
    free(nr->C);
    free(nr->contrib);
    free(nr->sign);
    free(nr->active);
}

/* The neurons of the (cached) training run of cfg with exponent p. */
static int neurons_trained(neurons *nr, const ibc_config *cfg, double p, char *err)
{
    memset(nr, 0, sizeof *nr);
    const ibc_trained *t = ibc_train_cached(cfg, p, cfg->prec, err);
    if (!t) return IBC_ENUMERIC;
    if (neurons_init(nr, t) != IBC_OK) {
        neurons_clear(nr);
        snprintf(err, IBC_ERRLEN, "out of memory");
        return IBC_EINPUT;
    }
    return IBC_OK;
}

static int class_of(long k, long K1) { return k < K1 ? 1 : -1; }

/* cfg non-NULL: a statement that needs alpha > 0 (ibc_claim_alpha0_verdict). */
static void add_row(ibc_rows *out, const char *what, ibc_prec pr, double measured, double bound,
                    int upper, const char *params, const ibc_config *cfg)
{
    char pb[24], mb[48], bb[64], gb[48];
    snprintf(mb, sizeof mb, "%.6f", measured);
    snprintf(bb, sizeof bb, upper ? "<= %.4g" : ">= %.4g", bound);
    double margin = upper ? bound - measured : measured - bound;
    snprintf(gb, sizeof gb, "%+.4f", margin);
    ibc_verdict v = margin >= 0 ? IBC_HOLDS : IBC_REFUTED;
    if (cfg)
        v = ibc_claim_alpha0_verdict(cfg, v);
    ibc_claim_rows_add(out, "alignment", what, ibc_prec_str(pr, pb), mb, bb, gb, v, "L-alignment", "%s%s%s",
                       v == IBC_INFO ? IBC_CLAIM_ALPHA0_WHY : "", v == IBC_INFO ? "; " : "", params);
}

/* p > 2: min over centers k of the best cos(w_j, mu_k) over active neurons
 * of sign y_k; the center that attains it in *worst_k. */
static double center_alignment(const neurons *nr, long *worst_k)
{
    double worst = 2;
    for (long k = 0; k < nr->K; k++) {
        double best = -1;
        for (long j = 0; j < nr->h; j++)
            if (nr->active[j] && nr->sign[j] == class_of(k, nr->K1) && nr->C[j * nr->K + k] > best)
                best = nr->C[j * nr->K + k];
        if (best < worst) {
            worst = best;
            *worst_k = k;
        }
    }
    return worst;
}

static int rows_p3(const ibc_config *cfg, double p, ibc_rows *out, char *err)
{
    neurons nr;
    int rc = neurons_trained(&nr, cfg, p, err);
    if (rc != IBC_OK) return rc;
    long worst_k = -1;
    double worst = center_alignment(&nr, &worst_k);
    char params[300], base[200];
    ibc_train_config_describe(base, sizeof base, cfg, p);
    snprintf(params, sizeof params, "%s; %ld active neurons; worst center k=%ld", base, nr.n_active, worst_k + 1);
    add_row(out, "min_k max_j cos(w_j, mu_k), active j", cfg->prec, worst, 0.99, 0, params, NULL);
    neurons_clear(&nr);
    return IBC_OK;
}

/* p = 1: class averages, not centers. */
static int rows_p1(const ibc_config *cfg, ibc_rows *out, char *err)
{
    neurons nr;
    int rc = neurons_trained(&nr, cfg, 1.0, err);
    if (rc != IBC_OK) return rc;
    double max_single = -1, min_avg = 2, max_spread = 0;
    for (long j = 0; j < nr.h; j++) {
        if (!nr.active[j]) continue;
        /* the class this neuron votes for is sign(v_j) */
        long lo = nr.sign[j] > 0 ? 0 : nr.K1, hi = nr.sign[j] > 0 ? nr.K1 : nr.K;
        double sum = 0, mn = INFINITY, mx = -INFINITY;
        for (long k = 0; k < nr.K; k++) {
            double c = nr.C[j * nr.K + k];
            if (c > max_single) max_single = c;
            if (k >= lo && k < hi) {
                sum += c;
                if (c < mn) mn = c;
                if (c > mx) mx = c;
            }
        }
        /* cos(w_j, mu_class/sqrt(K_class)) = sum_k cos(w_j, mu_k)/sqrt(K_class) (orthonormal centers) */
        double avg = sum / sqrt((double)(hi - lo));
        if (avg < min_avg) min_avg = avg;
        double spread = (mx - mn) / (sum / (double)(hi - lo));
        if (spread > max_spread) max_spread = spread;
    }
    char params[300], base[200];
    ibc_train_config_describe(base, sizeof base, cfg, 1.0);
    snprintf(params, sizeof params, "%s; %ld active neurons", base, nr.n_active);
    long Kmin = nr.K1 < nr.K - nr.K1 ? nr.K1 : nr.K - nr.K1;
    /* A class-average neuron has cos 1/sqrt(K_class) <= 1/sqrt(min(K1,K2))
     * with each center; a center-aligned one has cos ~ 1.  The bound sits
     * halfway between, so it separates the two pictures. */
    double single_bound = 0.5 * (1.0 + 1.0 / sqrt((double)Kmin));
    add_row(out, "max_j max_k cos(w_j, mu_k), active j (no single center)", cfg->prec, max_single,
            single_bound, 1, params, NULL);
    /* the class average: the pull toward the class's other centers needs alpha > 0 */
    add_row(out, "min_j cos(w_j, mu_class/sqrt(K_class)), active j", cfg->prec, min_avg, 0.95, 0, params, cfg);
    add_row(out, "max_j in-class spread (max-min)/mean of cos(w_j, mu_k)", cfg->prec, max_spread, 0.25, 1,
            params, cfg);
    neurons_clear(&nr);
    return IBC_OK;
}

/* The window [t1, t2] of the default p = 3 run where every center has a
 * neuron with cos >= 0.99 (the recorder's alignment over all neurons). */
static int rows_window(const ibc_config *cfg, ibc_rows *out, char *err)
{
    const ibc_trained *t = ibc_train_cached(cfg, 3.0, cfg->prec, err);
    if (!t) return IBC_ENUMERIC;
    double t1 = -1, t2 = -1;
    for (long i = 0; i < t->rec.n; i++)
        if (t->rec.rec[i].align >= 0.99) {
            if (t1 < 0) t1 = t->rec.rec[i].t;
            t2 = t->rec.rec[i].t;
        } else if (t1 >= 0 && t2 >= 0) {
            break;                       /* the window closed */
        }
    char params[300], base[200], pb[24], mb[48];
    ibc_train_config_describe(base, sizeof base, cfg, 3.0);
    snprintf(params, sizeof params, "%s; %ld records to t=%g", base, t->rec.n, t->rec.rec[t->rec.n - 1].t);
    snprintf(mb, sizeof mb, "[%g, %g]", t1, t2);
    ibc_claim_rows_add(out, "alignment", "window [t1, t2] with min_k max_j cos >= 0.99", ibc_prec_str(cfg->prec, pb), mb,
                       "t1 exists", t1 >= 0 ? "window found" : "-", t1 >= 0 ? IBC_HOLDS : IBC_REFUTED, "L-alignment",
                       "%s", params);
    return IBC_OK;
}

/* Deficit 1 - min_k max_j cos(w_j, mu_k) against alpha for p = 3, 4, with a
 * least-squares fit deficit = C alpha^e (MV25: 1 - O~(alpha^2)); and p = 1's
 * class-average structure at the same alphas.  Shorter runs (2500 steps,
 * t = 500: min_k max_j cos reaches 0.99 by t = 20..50 at the defaults, seed
 * 1 and K = 20) keep the sweep cheap. */
static const double sweep_alpha[] = {0.05, 0.1, 0.2};
enum { N_ALPHA = 3 };

static int rows_sweep(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_config c = *cfg;
    /* The configured network (h), only a shorter run: every center needs a
     * neuron of its label's sign in its basin at the start, and a smaller h
     * than the main rows' can miss one where they do not.  A fixed h = 50
     * left a center unlearned at seed 1 (deficit 0.98 at alpha = 0.05) and
     * at K = 20 (also after 20000 steps), where h = 100 learns all. */
    c.steps = cfg->steps < 2500 ? cfg->steps : 2500;
    for (int pi = 0; pi < 2; pi++) {
        double p = pi == 0 ? 3.0 : 4.0;
        double df[N_ALPHA];
        int ok = 1;
        for (int a = 0; a < N_ALPHA; a++) {
            c.model.alpha = sweep_alpha[a];
            neurons nr;
            int rc = neurons_trained(&nr, &c, p, err);
            if (rc != IBC_OK) return rc;
            long wk = -1;
            double worst = center_alignment(&nr, &wk);
            double deficit = 1.0 - worst;
            char params[300], base[200];
            ibc_train_config_describe(base, sizeof base, &c, p);
            snprintf(params, sizeof params, "%s; worst center k=%ld", base, wk + 1);
            add_row(out, "deficit 1 - min_k max_j cos(w_j, mu_k)", c.prec, deficit, 0.01, 1, params, NULL);
            df[a] = deficit;
            ok &= deficit > 0;
            neurons_clear(&nr);
        }
        if (!ok) {
            /* A deficit of exactly 0 (or NaN) leaves the fit undefined: that is
             * a failed measurement, never a silently missing row. */
            char pb[24];
            ibc_claim_rows_add(out, "alignment", "deficit exponent e (and constant C)", ibc_prec_str(c.prec, pb),
                               "fit undefined: a deficit <= 0", "|e - 2| <= 0.5", "-", IBC_REFUTED, "L-alignment",
                               "p=%g alpha in {0.05,0.1,0.2}; h=%ld steps=%ld", p, c.h, c.steps);
            continue;
        }
        /* The exponent from the one fit; C from the fitted line's value at
         * the mean of log alpha (the line passes through the means). */
        double e = ibc_claim_loglog_slope(sweep_alpha, df, N_ALPHA), mx = 0, my = 0;
        for (int a = 0; a < N_ALPHA; a++) {
            mx += log(sweep_alpha[a]) / N_ALPHA;
            my += log(df[a]) / N_ALPHA;
        }
        double C = exp(my - e * mx);
        char pb[24], mb[48], params[200];
        snprintf(mb, sizeof mb, "e=%.3f C=%.4g", e, C);
        snprintf(params, sizeof params, "p=%g alpha in {0.05,0.1,0.2}; h=%ld steps=%ld; fit of deficit = C alpha^e",
                 p, c.h, c.steps);
        /* MV25: the deficit is O~(alpha^2): the fitted exponent must be 2
         * up to the log factors and the three-point fit's spread (+-0.5). */
        char gb[32];
        snprintf(gb, sizeof gb, "%+.3f", 0.5 - fabs(e - 2.0));
        ibc_claim_rows_add(out, "alignment", "deficit exponent e (and constant C)", ibc_prec_str(c.prec, pb), mb,
                           "|e - 2| <= 0.5", gb, fabs(e - 2.0) <= 0.5 ? IBC_HOLDS : IBC_REFUTED, "L-alignment", "%s",
                           params);
    }
    for (int a = 0; a < N_ALPHA; a++) {
        c.model.alpha = sweep_alpha[a];
        int rc = rows_p1(&c, out, err);
        if (rc != IBC_OK) return rc;
    }
    return IBC_OK;
}

int ibc_claim_alignment(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc = rows_p3(cfg, 3.0, out, err);
    if (rc == IBC_OK) rc = rows_window(cfg, out, err);
    if (rc == IBC_OK) rc = rows_p1(cfg, out, err);
    if (rc == IBC_OK) rc = rows_sweep(cfg, out, err);
    return rc;
}
