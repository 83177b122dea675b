/* Claim `basins` (docs/theory.md §6): where the population direction flow
 *   dw/dt = sign(v) (I - w w^T) grad G_p(w)
 * takes random starting directions, and how often, for p = 1..4; and
 * whether the full trainer's neurons end where the flow says.
 *
 * Starts: BS_STARTS directions per sign, uniform on the sphere of R^D (a
 * seeded stream of its own), the same starts for every p.  Each runs by
 * RK4 (step BS_H) in the exact K+1 reduction (ibc_align_flow_run) until the
 * Riemannian gradient is below BS_TOL or time BS_TMAX.  An end point is a
 * center mu_k or a class average when its cosine with it exceeds 0.99 (the
 * threshold of the alignment claim), dead when no center is on its
 * positive side, else other.  Checked:
 *  - converged ends at a center or class average lie at the certified
 *    extremal vector there (extremal-vectors' Krawczyk enclosure), within
 *    2 tol/|eigenvalue| (near a nondegenerate critical point u*,
 *    |rgrad G(u)| >= |eig_min| |u - u*| (1 - O(|u - u*|)));
 *  - halving the step changes no classification (first BS_HALVE starts);
 *  - the trainer (cached default runs, p = 3 and p = 1): every kind of end
 *    its active neurons reach is reached by the flow from random starts,
 *    and the flow started from each neuron's own initial direction ends
 *    where that neuron ends (reported as an agreement rate).
 * Frequencies are reported (info). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/align.h"
#include "claim/claims.h"

#define BS_ID "basins"
#define BS_SRC "§6"
#define BS_STARTS 200
#define BS_HALVE 25
#define BS_H 0.5          /* RK4 step: stable, as |h eig| <= 0.5 * 2.2 < 2.78 at the defaults (p = 1's
                           * largest Hessian entry phi(0)/(sK) = 2.2); halving it is checked below */
#define BS_CHUNK 5.0
#define BS_TMAX 500.0
#define BS_TOL 1e-9
#define BS_THR 0.99

/* Kinds of end point, finer than ibc_align_kind: which class and whether it converged. */
enum { BS_OWN_CENTER = 0, BS_OPP_CENTER, BS_OWN_AVG, BS_OPP_AVG, BS_DEAD, BS_OTHER_CONV, BS_UNCONV, BS_NKIND };
static const char *const bs_kind_name[BS_NKIND] = {"own center", "opp center", "own avg", "opp avg",
                                                   "dead", "other crit", "unconverged"};

typedef struct {
    int kind;       /* BS_* */
    long k;         /* center (0-based) for the center kinds, else -1 */
    double dist;    /* |end - certified extremal vector| for center/avg kinds, else NaN */
} bs_end;

typedef struct {
    const ibc_config *cfg;
    ibc_rows *out;
    long K, K1;
    /* certified extremal vectors per p (index p-1): centers (K) and the two
     * class averages (K, K+1); midpoints and their eigenvalue nearest 0 */
    double *xstar[4];  /* (K+2) x K each */
    double *eig[4];    /* K+2 each */
    int *have[4];      /* K+2 each */
} bs_ctx;

static int bs_kind(const ibc_align_class *c, int sgn, long K1, int converged)
{
    switch (c->kind) {
    case IBC_ALIGN_CENTER: return ((c->k < K1) == (sgn > 0)) ? BS_OWN_CENTER : BS_OPP_CENTER;
    case IBC_ALIGN_CLASS_AVG: return c->k == sgn ? BS_OWN_AVG : BS_OPP_AVG;
    case IBC_ALIGN_DEAD: return BS_DEAD;
    default: return converged ? BS_OTHER_CONV : BS_UNCONV;
    }
}

/* Certifies (Krawczyk + Hessian type) the extremal vectors the flow of
 * exponent p may reach: the centers (p >= 2) and the class averages. */
static int bs_certify(bs_ctx *b, long p)
{
    const long K = b->K;
    ibc_align_problem pb;
    ibc_align_problem_set(&pb, &b->cfg->model, p);
    const slong prec = 128;
    double *x = b->xstar[p - 1];
    double *c0 = malloc(sizeof(double) * (size_t)K);
    ibc_align_critical cp;
    ibc_align_critical_init(&cp, K);
    int rc = IBC_OK;
    for (long i = 0; i < K + 2 && rc == IBC_OK; i++) {
        memset(c0, 0, sizeof(double) * (size_t)K);
        if (i < K) c0[i] = 1;
        else
            for (long k = (i == K ? 0 : b->K1); k < (i == K ? b->K1 : K); k++)
                c0[k] = 1.0 / sqrt((double)(i == K ? b->K1 : K - b->K1));
        b->have[p - 1][i] = 0;
        if (i < K && p < 2) continue;   /* p = 1: the centers are not critical (extremal-vectors) */
        rc = ibc_align_krawczyk(&cp, &pb, c0, 1e-3, prec);
        if (rc == IBC_ENUMERIC) {       /* Newton found no critical point near c0 */
            rc = IBC_OK;
            continue;
        }
        if (rc != IBC_OK || !cp.proved) continue;
        int sign;
        double lb, ub;
        rc = ibc_align_hess_type(&sign, &lb, &ub, &pb, cp.c, prec);
        if (sign == 0) continue;
        b->have[p - 1][i] = 1;
        /* |eigenvalue nearest 0|, certified: the tangent ones in the span of
         * the centers, and -lambda on the directions off it */
        double lam = fabs(arf_get_d(arb_midref(cp.lambda), ARF_RND_NEAR)) - mag_get_d(arb_radref(cp.lambda));
        b->eig[p - 1][i] = fmin(sign < 0 ? -ub : lb, lam);
        for (long k = 0; k < K; k++) x[i * K + k] = arf_get_d(arb_midref(cp.c + k), ARF_RND_NEAR);
    }
    ibc_align_critical_clear(&cp, K);
    free(c0);
    return rc;
}

/* Runs one start y (K+1 entries, unit) and classifies its end. */
static bs_end bs_run(const bs_ctx *b, const ibc_align_problem *pb, int sgn, const double *y0, double h)
{
    const long K = b->K;
    ibc_vec y;
    ibc_prec_vec_init(&y, K + 1, ibc_prec_double());
    for (long i = 0; i <= K; i++) y.d[i] = y0[i];
    double tu, gn;
    ibc_align_flow_run(pb, sgn, &y, h, BS_CHUNK, BS_TMAX, BS_TOL, &tu, &gn);
    ibc_align_class c = ibc_align_classify(y.d, K, b->K1, BS_THR);
    bs_end e = {.kind = bs_kind(&c, sgn, b->K1, gn < BS_TOL), .k = -1, .dist = NAN};
    long idx = -1;
    if (c.kind == IBC_ALIGN_CENTER) idx = e.k = c.k;
    if (c.kind == IBC_ALIGN_CLASS_AVG) idx = c.k > 0 ? K : K + 1;
    if (idx >= 0 && gn < BS_TOL && b->have[pb->p - 1][idx]) {
        /* the end's K-part against the certified point (whose u_perp is 0) */
        const double *x = b->xstar[pb->p - 1] + idx * K;
        double d2 = y.d[K] * y.d[K];
        for (long k = 0; k < K; k++) d2 += (y.d[k] - x[k]) * (y.d[k] - x[k]);
        e.dist = sqrt(d2);
    }
    ibc_prec_vec_clear(&y);
    return e;
}

/* A direction uniform on the sphere of R^D, in the K+1 reduction. */
static void bs_start(double *y, long K, long D, gmp_randstate_t st, mpfr_ptr z)
{
    double r2 = 0, n2 = 0;
    for (long d = 0; d < D; d++) {
        mpfr_nrandom(z, st, MPFR_RNDN);
        double v = mpfr_get_d(z, MPFR_RNDN);
        if (d < K) y[d] = v;
        else r2 += v * v;
    }
    y[K] = sqrt(r2);
    for (long i = 0; i <= K; i++) n2 += y[i] * y[i];
    for (long i = 0; i <= K; i++) y[i] /= sqrt(n2);
}

static void bs_counts_str(char *buf, size_t len, const long *cnt, const long *perk, long K)
{
    int n = 0;
    buf[0] = '\0';
    for (int i = 0; i < BS_NKIND && (size_t)n < len; i++)
        if (cnt[i]) n += snprintf(buf + n, len - (size_t)n, "%s%s %ld", n ? ", " : "", bs_kind_name[i], cnt[i]);
    if (perk && (size_t)n < len) {
        n += snprintf(buf + n, len - (size_t)n, "; per center:");
        for (long k = 0; k < K && (size_t)n < len; k++) n += snprintf(buf + n, len - (size_t)n, " %ld", perk[k]);
    }
}

static void bs_row(bs_ctx *b, const char *what, const char *measured, const char *bound, const char *margin,
                   ibc_verdict v, long p, const char *extra)
{
    const ibc_model_params *m = &b->cfg->model;
    ibc_claim_rows_add(b->out, BS_ID, what, "double", measured, bound, margin, v, BS_SRC,
                       "p=%ld D=%ld K=%ld K1=%ld alpha=%g; %s", p, m->D, m->K, m->K1, m->alpha, extra);
}

/* The trainer's neurons (cached default run with exponent p): kinds of the
 * active ones, and the flow from each neuron's own initial direction. */
static int bs_trainer(bs_ctx *b, long p, const long *reach, char *err)
{
    const ibc_config *cfg = b->cfg;
    const ibc_trained *t = ibc_train_cached(cfg, (double)p, cfg->prec, err);
    if (!t) return IBC_ENUMERIC;
    const ibc_net *net = t->net;
    const long h = net->h, K = b->K, D = net->D;
    double *C = malloc(sizeof(double) * (size_t)(h * K)), *C0 = malloc(sizeof(double) * (size_t)(h * K));
    double *contrib = malloc(sizeof(double) * (size_t)h), *y = malloc(sizeof(double) * (size_t)(K + 1));
    ibc_vec theta0;
    ibc_prec_vec_init(&theta0, ibc_net_dim(net), t->theta.pr);
    int rc = ibc_net_init_theta(net, &theta0, cfg->init, cfg->eps, cfg->model.seed, err);
    if (rc != IBC_OK) goto done;
    ibc_net_cosines(net, &t->theta, t->data, C, contrib);
    ibc_net_cosines(net, &theta0, t->data, C0, NULL);
    double top = 0;
    for (long j = 0; j < h; j++) top = fmax(top, contrib[j]);
    ibc_align_problem pb;
    ibc_align_problem_set(&pb, &cfg->model, p);
    long cnt[BS_NKIND] = {0}, n_active = 0, agree = 0, missing = 0;
    long *perk = calloc((size_t)K, sizeof(long));
    char miss[96] = "";
    for (long j = 0; j < h; j++) {
        /* active as in the alignment claim: |v_j| ||w_j|| >= 1e-3 of the largest */
        if (!(top > 0 && contrib[j] >= 1e-3 * top)) continue;
        n_active++;
        int sgn = ibc_prec_vec_get_d(&t->theta, h * D + j) > 0 ? 1 : -1;
        ibc_align_class c = ibc_align_classify(C + j * K, K, b->K1, BS_THR);
        int kind = bs_kind(&c, sgn, b->K1, 1);
        cnt[kind]++;
        if (c.kind == IBC_ALIGN_CENTER) perk[c.k]++;
        const long *r = reach + (sgn > 0 ? 0 : 1) * (BS_NKIND + K);
        if (!(c.kind == IBC_ALIGN_CENTER ? r[BS_NKIND + c.k] : r[kind])) {
            missing++;
            if (!miss[0])
                snprintf(miss, sizeof miss, "; e.g. neuron %ld: %s %ld", j + 1, bs_kind_name[kind], c.k + 1);
        }
        /* the flow from this neuron's initial direction (cosines with the
         * centers, the rest of the unit vector off their span) */
        double n2 = 0;
        for (long k = 0; k < K; k++) {
            y[k] = C0[j * K + k];
            n2 += y[k] * y[k];
        }
        y[K] = sqrt(fmax(0.0, 1.0 - n2));
        int sgn0 = ibc_prec_vec_get_d(&theta0, h * D + j) > 0 ? 1 : -1;
        bs_end e = bs_run(b, &pb, sgn0, y, BS_H);
        if (e.kind == kind && (kind > BS_OPP_CENTER || e.k == c.k)) agree++;
    }
    char counts[200], extra[512], mb[48];
    bs_counts_str(counts, sizeof counts, cnt, perk, K);
    free(perk);
    snprintf(mb, sizeof mb, "%ld", missing);
    snprintf(extra, sizeof extra, "trainer (cached default run), %ld active neurons: %s%s", n_active, counts, miss);
    bs_row(b, "active neurons whose end kind the flow never reaches", mb, "<= 0", missing ? "-" : "+0",
           missing ? IBC_REFUTED : IBC_HOLDS, p, extra);
    snprintf(mb, sizeof mb, "%.4f", n_active ? (double)agree / (double)n_active : NAN);
    snprintf(extra, sizeof extra, "flow from each active neuron's initial direction ends where the trainer's "
             "neuron ends (same center/kind): %ld of %ld", agree, n_active);
    bs_row(b, "agreement: flow from neuron's init vs trained neuron", mb, "-", "-", IBC_INFO, p, extra);
done:
    ibc_prec_vec_clear(&theta0);
    free(C);
    free(C0);
    free(contrib);
    free(y);
    return rc;
}

static void bs_ctx_clear(bs_ctx *b)
{
    for (int i = 0; i < 4; i++) {
        free(b->xstar[i]);
        free(b->eig[i]);
        free(b->have[i]);
    }
}

/* The claim: the flows for p = 1..4 from common starts, then the trainer. */
int ibc_claim_basins(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_align_problem pb;
    int rc = ibc_align_problem_init(&pb, &cfg->model, 1, err);
    if (rc != IBC_OK) return rc;
    bs_ctx b = {.cfg = cfg, .out = out, .K = pb.K, .K1 = pb.K1};
    const long K = pb.K, D = cfg->model.D;
    for (int i = 0; i < 4; i++) {
        b.xstar[i] = calloc((size_t)((K + 2) * K), sizeof(double));
        b.eig[i] = calloc((size_t)(K + 2), sizeof(double));
        b.have[i] = calloc((size_t)(K + 2), sizeof(int));
    }
    /* the starts, generated once: 2 * BS_STARTS unit vectors of R^D */
    double *Y = malloc(sizeof(double) * (size_t)(2 * BS_STARTS * (K + 1)));
    gmp_randstate_t st;
    ibc_model_randinit(st, cfg->model.seed, 0x6261736eUL);   /* "basn": this claim's own stream */
    mpfr_t z;
    mpfr_init2(z, 64);
    for (long i = 0; i < 2 * BS_STARTS; i++) bs_start(Y + i * (K + 1), K, D, st, z);
    mpfr_clear(z);
    gmp_randclear(st);

    /* reach + ((p-1) * 2 + sign) * RW: counts per kind, then per center */
    const long RW = BS_NKIND + K;
    long *reach = calloc((size_t)(8 * RW), sizeof(long));
    for (long p = 1; p <= 4 && rc == IBC_OK; p++) {
        rc = bs_certify(&b, p);
        pb.p = p;
        double dmax = 0, dbound = INFINITY;
        long ncert = 0, mismatch = 0, nhalve = 0;
        for (int s = 0; s < 2; s++) {
            int sgn = s == 0 ? 1 : -1;
            long *cnt = reach + ((p - 1) * 2 + s) * RW, *perk = cnt + BS_NKIND;
            for (long i = 0; i < BS_STARTS; i++) {
                const double *y0 = Y + (s * BS_STARTS + i) * (K + 1);
                bs_end e = bs_run(&b, &pb, sgn, y0, BS_H);
                cnt[e.kind]++;
                if (e.k >= 0) perk[e.k]++;
                if (!isnan(e.dist)) {
                    long idx = e.k >= 0 ? e.k : (e.kind == BS_OWN_AVG) == (sgn > 0) ? K : K + 1;
                    dmax = fmax(dmax, e.dist);
                    dbound = fmin(dbound, 2 * BS_TOL / b.eig[p - 1][idx]);
                    ncert++;
                }
                if (i < BS_HALVE) {
                    bs_end e2 = bs_run(&b, &pb, sgn, y0, BS_H / 2);
                    nhalve++;
                    if (e2.kind != e.kind || e2.k != e.k) mismatch++;
                }
            }
            char counts[200], extra[512], mb[48], what[72];
            bs_counts_str(counts, sizeof counts, cnt, perk, K);
            int expect = p >= 3 ? BS_OWN_CENTER : BS_OWN_AVG;
            snprintf(what, sizeof what, "fraction of %s starts ending at %s", sgn > 0 ? "v>0" : "v<0",
                     p >= 3 ? "a center of class sign(v)" : "the class-sign(v) average");
            snprintf(mb, sizeof mb, "%.3f", (double)cnt[expect] / BS_STARTS);
            snprintf(extra, sizeof extra, "%d starts, RK4 h=%g to t<=%g or |rgrad|<%g: %s", BS_STARTS, BS_H,
                     BS_TMAX, BS_TOL, counts);
            bs_row(&b, what, mb, "-", "-", IBC_INFO, p, extra);
        }
        char extra[240], mb[48], bb[64], gb[32];
        int any = 0;
        for (long i = 0; i < K + 2; i++) any |= b.have[p - 1][i];
        if (any && ncert == 0) {
            /* certified attractors exist, yet no start converged to one */
            snprintf(extra, sizeof extra, "no start converged (|rgrad| < %g by t = %g) to a certified "
                     "extremal vector", BS_TOL, BS_TMAX);
            bs_row(&b, "max |flow end - certified extremal vector|", "none", "some converge", "-", IBC_REFUTED, p,
                   extra);
        }
        if (ncert > 0) {
            snprintf(mb, sizeof mb, "%.3g", dmax);
            snprintf(bb, sizeof bb, "<= %.3g (2 tol/|eig|)", dbound);
            snprintf(gb, sizeof gb, "%+.3g", dbound - dmax);
            snprintf(extra, sizeof extra, "%ld converged ends at a center or class average, against the "
                     "Krawczyk-certified extremal vector there", ncert);
            bs_row(&b, "max |flow end - certified extremal vector|", mb, bb, gb,
                   dmax <= dbound ? IBC_HOLDS : IBC_REFUTED, p, extra);
        }
        snprintf(mb, sizeof mb, "%ld", mismatch);
        snprintf(extra, sizeof extra, "first %d starts per sign rerun with h=%g: %ld of %ld classified alike",
                 BS_HALVE, BS_H / 2, nhalve - mismatch, nhalve);
        bs_row(&b, "end classifications changed by halving the RK4 step", mb, "<= 0", mismatch ? "-" : "+0",
               mismatch ? IBC_REFUTED : IBC_HOLDS, p, extra);
    }
    /* The trainer, p = 3 and p = 1 (the cached default runs). */
    for (long p = 3; p >= 1 && rc == IBC_OK; p -= 2) {
        pb.p = p;
        rc = bs_certify(&b, p);
        if (rc == IBC_OK) rc = bs_trainer(&b, p, reach + (p - 1) * 2 * RW, err);
    }
    bs_ctx_clear(&b);
    free(reach);
    free(Y);
    if (rc != IBC_OK && !err[0]) snprintf(err, IBC_ERRLEN, "basins: evaluation failed (status %d)", rc);
    return rc;
}
