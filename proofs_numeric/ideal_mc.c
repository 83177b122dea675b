/* The Monte Carlo helpers of ideal_mc.h, shared by the claims
 * ideal-generalization and ideal-robust-prob (docs/theory.md §4 T-F, T-Fp):
 * the sampler of center coordinates, the flip test, and the shape test of an
 * exponential tail bound with its fits.  Library code of ibcheck_claims. */
#include <math.h>
#include <stdio.h>
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "ideal_mc.h"
const long ibc_mc_D[IBC_MC_ND] = { 30, 100, 1000 };

/* ---- ideal_mc.h ---------------------------------------------------------- */

void ibc_claim_mc_init(ibc_mc_sampler *m, const ibc_config *cfg, double alpha, long D,
                       unsigned long stream)
{
    ibc_model_randinit(m->st, cfg->model.seed, stream);
    mpfr_init2(m->g, 53);
    m->K = cfg->model.K;
    m->K1 = cfg->model.K1;
    m->s = alpha / sqrt((double)D);
}

void ibc_claim_mc_clear(ibc_mc_sampler *m)
{
    gmp_randclear(m->st);
    mpfr_clear(m->g);
}

int ibc_claim_mc_draw(ibc_mc_sampler *m, double *c)
{
    long z = (long)gmp_urandomm_ui(m->st, (unsigned long)m->K);
    for (long k = 0; k < m->K; k++) {
        mpfr_nrandom(m->g, m->st, MPFR_RNDN);
        c[k] = (k == z ? 1.0 : 0.0) + m->s * mpfr_get_d(m->g, MPFR_RNDN);
    }
    return z < m->K1 ? 1 : -1;
}

double ibc_claim_mc_worst_drop(const long *k, int m, long n)
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

int ibc_claim_mc_shape_sample(ibc_mc_shape *s, const ibc_config *cfg, const ibc_mc_event *ev, char *err)
{
    long K = cfg->model.K;
    double c[IBC_KKT_KMAX];
    for (int id = 0; id < IBC_MC_ND; id++)
        for (int ix = 0; ix < IBC_MC_NX; ix++) {
            long D = ibc_mc_D[id];
            double a = sqrt((double)D / ((double)K * s->x[ix]));
            ibc_mc_sampler sm;
            ibc_claim_mc_init(&sm, cfg, a, D, s->stream + (unsigned long)(id * IBC_MC_NX + ix));
            long e = 0;
            int r = 0;
            for (long i = 0; i < s->n && r >= 0; i++) {
                int y = ibc_claim_mc_draw(&sm, c);
                r = ev->event(ev->ctx, c, y, a, D, i, err);
                e += r > 0;
            }
            ibc_claim_mc_clear(&sm);
            if (r < 0)
                return IBC_ENUMERIC;
            s->k[id][ix] = e;
            s->u[id][ix] = ev->uvar(ev->ctx, a, D);
        }
    return IBC_OK;
}

int ibc_claim_mc_flipped(const ibc_rnet *f, const double *x, const double *delta, int y)
{
    double xd[IBC_KKT_KMAX];
    const double *z = x;
    if (f->D > IBC_KKT_KMAX)
        return ibc_robust_rnet_flipped(f, x, delta, y, 128) != 0;
    if (delta) {
        for (long k = 0; k < f->D; k++)
            xd[k] = x[k] + delta[k];
        z = xd;
    }
    double m = y * ibc_robust_rnet_eval_d(f, z);
    if (fabs(m) > 1e-9)
        return m <= 0;
    return ibc_robust_rnet_flipped(f, x, delta, y, 128) != 0;
}

/* ---- the shape test ------------------------------------------------------ */

#define KMIN 5         /* a frequency enters a fit with >= KMIN events and non-events */
#define ZCI 3.0        /* half-width of every interval, in standard errors */

/* Weighted least squares of ln(k/n) against u over the cells with enough
 * events; each point weighted by its Clopper-Pearson 95% interval, read as
 * +-1.96 sigma in the log.  *C = -slope, *se its standard error, inflated
 * by sqrt(chi2/dof) when the points scatter more than their intervals say.
 * Returns the number of cells used (no fit below 2). */
static int decay_fit(const double *u, const long *k, long n, int m, double *C, double *se)
{
    double w[3 * IBC_MC_ND * IBC_MC_NX], x[3 * IBC_MC_ND * IBC_MC_NX], y[3 * IBC_MC_ND * IBC_MC_NX];
    int q = 0;
    for (int i = 0; i < m; i++) {
        if (k[i] < KMIN || n - k[i] < KMIN)
            continue;
        double sig = (log(ibc_util_cp_upper(k[i], n)) - log(ibc_util_cp_lower(k[i], n))) / (2 * 1.96);
        w[q] = 1 / (sig * sig);
        x[q] = u[i];
        y[q] = log((double)k[i] / (double)n);
        q++;
    }
    *C = NAN;
    *se = NAN;
    if (q < 2)
        return q;
    double sw = 0, sx = 0, sy = 0;
    for (int i = 0; i < q; i++) {
        sw += w[i];
        sx += w[i] * x[i];
        sy += w[i] * y[i];
    }
    double xb = sx / sw, yb = sy / sw, sxx = 0, sxy = 0;
    for (int i = 0; i < q; i++) {
        sxx += w[i] * (x[i] - xb) * (x[i] - xb);
        sxy += w[i] * (x[i] - xb) * (y[i] - yb);
    }
    double slope = sxy / sxx, chi2 = 0;
    for (int i = 0; i < q; i++) {
        double r = y[i] - yb - slope * (x[i] - xb);
        chi2 += w[i] * r * r;
    }
    *C = -slope;
    *se = sqrt(1 / sxx) * (q > 2 ? fmax(1.0, sqrt(chi2 / (q - 2))) : 1.0);
    return q;
}

void ibc_claim_mc_shape_rows(const ibc_mc_shape *s, const ibc_config *cfg, ibc_rows *out)
{
    long K = cfg->model.K, K1 = cfg->model.K1, n = s->n;
    char what[96], meas[96], bnd[96], mg[48];
    /* per-D counts, and the per-D fits */
    double CD[IBC_MC_ND], seD[IBC_MC_ND];
    int mD[IBC_MC_ND], few = -1;
    for (int id = 0; id < IBC_MC_ND; id++) {
        const long *k = s->k[id];
        mD[id] = decay_fit(s->u[id], k, n, IBC_MC_NX, &CD[id], &seD[id]);
        if (mD[id] < 3 && few < 0)
            few = id;
        int o = 0;
        for (int ix = 0; ix < IBC_MC_NX; ix++)
            o += snprintf(meas + o, sizeof meas - (size_t)o, "%s%ld", ix ? "/" : "", k[ix]);
        snprintf(meas + o, sizeof meas - (size_t)o, " of %ld", n);
        snprintf(what, sizeof what, "%s: events per cell at D = %ld", s->event, ibc_mc_D[id]);
        ibc_claim_rows_add(out, s->claim, what, "double", meas, "counts, no bound", "-", IBC_INFO, s->source,
                           "x = D/(a^2K) = %g/%g/%g/%g/%g/%g (a = sqrt(D/(Kx))); u = %s = %.4g..%.4g; K=%ld K1=%ld seed=%lu "
                     "streams %#lx+; per-D fit C = %.4g +- %.3g over %d cells",
                     s->x[0], s->x[1], s->x[2], s->x[3], s->x[4], s->x[5], s->uname, s->u[id][0],
                     s->u[id][IBC_MC_NX - 1], K, K1,
                     cfg->model.seed, s->stream + (unsigned long)(id * IBC_MC_NX), CD[id], seD[id], mD[id]);
    }
    /* pooled over D: all cells, the lower half of the x grid (head) and
     * the upper half (tail) */
    double Cp[3], sep[3];
    int qp[3];
    for (int part = 0; part < 3; part++) {
        double uu[IBC_MC_ND * IBC_MC_NX];
        long kk[IBC_MC_ND * IBC_MC_NX];
        int m = 0;
        for (int id = 0; id < IBC_MC_ND; id++)
            for (int ix = part == 2 ? IBC_MC_NX / 2 : 0; ix < (part == 1 ? IBC_MC_NX / 2 : IBC_MC_NX); ix++) {
                uu[m] = s->u[id][ix];
                kk[m++] = s->k[id][ix];
            }
        qp[part] = decay_fit(uu, kk, n, m, &Cp[part], &sep[part]);
    }
    {
        int ok = qp[0] >= 3 && few < 0 && Cp[0] - ZCI * sep[0] > 0;
        if (few >= 0)
            snprintf(meas, sizeof meas, "%d cells with events at D=%ld", mD[few], ibc_mc_D[few]);
        else
            snprintf(meas, sizeof meas, "C = %.4g +- %.3g (%d cells)", Cp[0], sep[0], qp[0]);
        snprintf(mg, sizeof mg, "%+.3g", few < 0 ? Cp[0] - ZCI * sep[0] : -INFINITY);
        snprintf(what, sizeof what, "%s: ln P falls in u, all cells", s->event);
        ibc_claim_rows_add(out, s->claim, what, "double", meas, "C - 3 SE > 0, >= 3 cells per D", mg,
                           ok ? IBC_HOLDS : IBC_REFUTED, s->source,
                           "fit ln P = b - C u, u = %s, weights from the CP95 intervals, cells with >= %d events; the "
                     "theorem (%s, C unknown) is checkable as exponential decay in u; the grid is placed where "
                     "P is 0.5%%..30%%, so a D without 3 such cells refutes; n=%ld per cell",
                     s->uname, KMIN, s->bound, n);
    }
    /* the decay goes on: a floor in P (a subclass always misclassified)
     * flattens the tail.  The tail need not decay at the head's rate: the
     * events are Gaussian tails, and for P = Phi(-sqrt v) the local rate
     * -d ln P/dv lies in [1/2, (1 + 1/v)/2], so over cells with v >= 1 it
     * falls by at most a factor 2 from head to tail. */
    {
        int fit = few < 0 && qp[1] >= 3 && qp[2] >= 3;
        double m1 = fit ? fmin(Cp[2] - ZCI * sep[2], Cp[2] + ZCI * sep[2] - Cp[1] / 2) : -INFINITY;
        if (fit)
            snprintf(meas, sizeof meas, "tail %.4g +- %.3g, head %.4g +- %.3g", Cp[2], sep[2], Cp[1], sep[1]);
        else
            snprintf(meas, sizeof meas, "%d/%d cells with events", qp[1], qp[2]);
        snprintf(mg, sizeof mg, "%+.3g", m1);
        snprintf(what, sizeof what, "%s: the tail keeps decaying", s->event);
        ibc_claim_rows_add(out, s->claim, what, "double", meas, "tail C > 0 and >= head C/2, at 3 SE", mg,
                           m1 >= 0 && fit ? IBC_HOLDS : IBC_REFUTED, s->source,
                           "C fitted on the upper (tail) and the lower (head) half of the x grid, pooled over D; holds "
                     "when tail C - 3 SE > 0 and tail C + 3 SE >= head C/2 (a Gaussian tail's rate falls by <= 2x "
                     "over v >= 1); margin: the smaller slack; u = %s; n=%ld per cell",
                     s->uname, n);
    }
    /* one C for every D: the cells share x, and the law of c depends on
     * (alpha, D) only through alpha/sqrt(D), so the per-D constants estimate
     * one number */
    {
        double lo = -INFINITY, hi = INFINITY;
        int o = 0;
        for (int id = 0; id < IBC_MC_ND; id++) {
            o += snprintf(meas + o, sizeof meas - (size_t)o, "%s%.3g", id ? "/" : "C_D ", CD[id]);
            if (mD[id] >= 2) {
                lo = fmax(lo, CD[id] - ZCI * seD[id]);
                hi = fmin(hi, CD[id] + ZCI * seD[id]);
            }
        }
        int ok = few < 0 && lo <= hi;
        snprintf(mg, sizeof mg, "%+.3g", few < 0 ? hi - lo : -INFINITY);
        snprintf(what, sizeof what, "%s: one C fits every D", s->event);
        snprintf(bnd, sizeof bnd, "3-SE intervals share a value");
        ibc_claim_rows_add(out, s->claim, what, "double", meas, bnd, mg, ok ? IBC_HOLDS : IBC_REFUTED, s->source,
                           "D = %ld/%ld/%ld, each fitted alone (+-%.3g/%.3g/%.3g SE); the bound %s depends on (a, D) "
                     "only through u = %s; margin: min upper - max lower end; K=%ld K1=%ld n=%ld",
                     ibc_mc_D[0], ibc_mc_D[1], ibc_mc_D[2], seD[0], seD[1], seD[2], s->bound, s->uname, K, K1, n);
    }
    /* monotone: more noise (smaller x at fixed D) cannot make the event
     * rarer; the success set {y G > 0} is a cone that adding mu_z keeps
     * inside, so P grows with alpha in distribution */
    {
        double worst = -INFINITY;
        long wD = 0, tot = 0;
        for (int id = 0; id < IBC_MC_ND; id++) {
            long rev[IBC_MC_NX];
            for (int ix = 0; ix < IBC_MC_NX; ix++) {
                rev[ix] = s->k[id][IBC_MC_NX - 1 - ix];
                tot += rev[ix];
            }
            double w = ibc_claim_mc_worst_drop(rev, IBC_MC_NX, n);
            if (w > worst) {
                worst = w;
                wD = ibc_mc_D[id];
            }
        }
        snprintf(meas, sizeof meas, "largest drop %.3g SE (D=%ld)", worst, wD);
        snprintf(mg, sizeof mg, "%+.3g", 3 - worst);
        snprintf(what, sizeof what, "%s: P non-decreasing in alpha at fixed D", s->event);
        ibc_claim_rows_add(out, s->claim, what, "double", meas, "<= 3 SE", mg, worst <= 3 ? IBC_HOLDS : IBC_REFUTED,
                           s->source,
                           "along the x grid at each D; %ld events in all; SE of the difference of two binomial "
                     "frequencies (variance at max(k,1)/n); K=%ld K1=%ld n=%ld",
                     tot, K, K1, n);
    }
    /* the largest C of the bound itself: positive for any data, since
     * C_max >= ln(A) / u whenever p_up <= 1 -- reported, not judged */
    {
        double cmin = INFINITY;
        for (int id = 0; id < IBC_MC_ND; id++)
            for (int ix = 0; ix < IBC_MC_NX; ix++) {
                double c = -log(ibc_util_cp_upper(s->k[id][ix], n) / s->A) / s->u[id][ix];
                cmin = fmin(cmin, c);
            }
        snprintf(meas, sizeof meas, "C = %.4g", cmin);
        snprintf(what, sizeof what, "%s: largest C of the bound over all cells", s->event);
        ibc_claim_rows_add(out, s->claim, what, "double", meas, "none: > 0 for any data", "-", IBC_INFO, s->source,
                           "min over cells of -ln(p_up/A)/u, p_up the CP95 upper end, A = %g; cannot fail (>= ln(A)/u "
                     "> 0 whenever p_up <= 1), so not judged; the shape rows test the bound %s",
                     s->A, s->bound);
    }
}
