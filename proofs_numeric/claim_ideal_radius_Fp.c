/* Claim ideal-radius-Fp (docs/theory.md §4, §8; T-Fp): r_{F^(p)}(mu_k) = sqrt(c/(1+c)),
 * c = min(1, K_opp^(1-2/p)), for p in {1, 1.5, 2, 3, 4}, every k of every
 * split, K up to 64.  Four methods must agree: the closed form, the KKT
 * enumeration over how many opposite centers grow, a certified lower bound
 * at r (1 - 2^-20) (Arb, a 1-D reduction by norm inequalities), and an
 * explicit perturbation that flips F^(p) by its definition (MPFR, directed
 * rounding) at r (1 + 2^-20).  docs/theory.md's special values (sqrt(2)/2 for p >= 2,
 * 1/sqrt(K_opp+1) for p = 1) must lie in the bracket too.
 *
 * At noisy x (test points of the model, K <= 16): the exact radius by KKT
 * enumeration (ideal/kkt.c, a certified ball) must lie between two
 * independent methods: the separable certified lower bound of robust/certify.c
 * on F^(p) as a network, and the smallest verified flip of the minimal-norm
 * attack (robust/attack.c) and of the KKT minimiser itself scaled by
 * (1 + 1e-9).  An attack below the KKT ball would mean the enumeration
 * missed a KKT point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/claim.h"
#include "ibcheck/ideal.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "prec/ibc_arb.h"

#define CLAIM "ideal-radius-Fp"
#define SOURCE "T-Fp, §4"
#define REL 0x1p-20      /* the bracket is r (1 -+ REL) */
#define TOL 4e-6         /* allowed relative width: 2 REL = 1.9e-6 plus rounding */
#define PREC 128
#define BITS 256
#define RBITS 64
#define NCACHE 16

static const double PS[] = { 1.0, 1.5, 2.0, 3.0, 4.0 };
static const long KS[] = { 2, 4, 10, 16, 64 };

/* The certificate depends on (p, K_opp) only, so one per pair is kept. */
typedef struct {
    long Ko;
    ibc_ideal_bracket br;
} cert_entry;

typedef struct {
    int n;
    cert_entry e[NCACHE];
} cert_cache;

static int certified_lower(ibc_ideal_bracket *dst, cert_cache *cc, double p, long Ko,
                           const arb_t r)
{
    int i = 0;
    while (i < cc->n && cc->e[i].Ko != Ko)
        i++;
    if (i == cc->n) {
        if (cc->n == NCACHE)
            return IBC_ENUMERIC;
        cc->e[i].Ko = Ko;
        ibc_ideal_bracket_init(&cc->e[i].br, BITS);
        cc->n++;
        int rc = ibc_ideal_bracket_certify_Fp_center(&cc->e[i].br, p, Ko, r, REL, PREC);
        if (rc != IBC_OK)
            return rc;
    }
    mpfr_set(dst->lo, cc->e[i].br.lo, MPFR_RNDD);
    dst->lower_ok = cc->e[i].br.lower_ok;
    dst->cert = cc->e[i].br.cert;
    return IBC_OK;
}

static void cache_clear(cert_cache *cc)
{
    for (int i = 0; i < cc->n; i++)
        ibc_ideal_bracket_clear(&cc->e[i].br);
    cc->n = 0;
}

/* docs/theory.md's special values, where it states one (0 = none). */
static int expected_value(arb_t v, double p, long Ko)
{
    if (p >= 2.0) {
        arb_sqrt_ui(v, 2, PREC);
        arb_mul_2exp_si(v, v, -1);
        return 1;
    }
    if (p == 1.0) {
        arb_sqrt_ui(v, (ulong)(Ko + 1), PREC);
        arb_inv(v, v, PREC);
        return 1;
    }
    return 0;
}

/* Every k of one class of one split: closed form, KKT, certificate, attacks. */
static int class_bracket(ibc_ideal_bracket *br, int *ok, cert_cache *cc, double p, long K,
                         long K1, int y, arb_t r, int random)
{
    long k0 = y > 0 ? 0 : K1, k1 = y > 0 ? K1 : K, Ko = y > 0 ? K - K1 : K1;
    arb_t rk, s, ev;
    arb_init(rk);
    arb_init(s);
    arb_init(ev);
    long m = 0;
    ibc_ideal_clf f, f64;
    ibc_vec xv, dv;
    ibc_prec_vec_init(&xv, K, ibc_prec_mpfr(BITS));
    ibc_prec_vec_init(&dv, K, ibc_prec_mpfr(BITS));
    mpfr_ptr x = xv.m, d = dv.m;
    mpfr_t sm, best;
    mpfr_init2(sm, BITS);
    mpfr_init2(best, RBITS);
    int rc = ibc_ideal_clf_init(&f, IBC_IDEAL_FP, K, K, K1, p, BITS);
    int rc2 = ibc_ideal_clf_init(&f64, IBC_IDEAL_FP, K, K, K1, p, RBITS);
    if (rc == IBC_OK)
        rc = rc2;
    if (rc == IBC_OK)
        rc = ibc_ideal_radius_Fp_center(r, p, Ko, PREC);
    if (rc == IBC_OK)
        rc = ibc_ideal_radius_Fp_center_kkt(rk, &m, s, p, Ko, PREC);
    if (rc == IBC_OK)
        rc = certified_lower(br, cc, p, Ko, r);
    arf_get_mpfr(sm, arb_midref(s), MPFR_RNDN);
    for (long k = k0; k < k1 && rc == IBC_OK; k++) {
        for (long j = 0; j < K; j++)
            mpfr_set_ui(x + j, j == k, MPFR_RNDN);
        /* The KKT minimiser's shape; which m opposite centers grow is
         * rotated with k so that every opposite center is used. */
        rc = ibc_ideal_dir_Fp_center(d, &f, k, m, k - k0, sm);
        if (rc == IBC_OK)
            rc = ibc_ideal_bracket_attack(br, &f, x, y, d, r, REL);
        if (rc == IBC_OK && random && k == k0) {
            rc = ibc_ideal_attack_random(best, &f64, x, y, 2.0, 30, 120,
                                         (unsigned long)(K * 1000 + K1 * 10 + (long)(2 * p)));
            if (rc == IBC_OK)
                ibc_ideal_bracket_note_random(br, best);
        }
    }
    if (rc == IBC_OK) {
        *ok = ibc_ideal_bracket_holds(br, r, TOL) && ibc_ideal_bracket_holds(br, rk, TOL)
              && arb_overlaps(r, rk);
        if (expected_value(ev, p, Ko))
            *ok = *ok && ibc_ideal_bracket_holds(br, ev, TOL);
    }
    ibc_ideal_clf_clear(&f);
    ibc_ideal_clf_clear(&f64);
    ibc_prec_vec_clear(&xv);
    ibc_prec_vec_clear(&dv);
    mpfr_clear(sm);
    mpfr_clear(best);
    arb_clear(rk);
    arb_clear(s);
    arb_clear(ev);
    return rc;
}

/* One row per (p, K): every split and k; the shown bracket is the smallest radius. */
static int fp_row(ibc_rows *out, cert_cache *cc, double p, long K, char *err)
{
    long sp[3];
    int ns = ibc_ideal_splits(K, sp), ok = 1, rc = IBC_OK;
    arb_t r;
    arb_init(r);
    ibc_ideal_tally tl;
    ibc_ideal_tally_init(&tl, BITS);
    long komin = 0;
    for (int i = 0; i < ns && rc == IBC_OK; i++) {
        for (int cls = 0; cls < 2 && rc == IBC_OK; cls++) {
            int y = cls == 0 ? 1 : -1, cok = 0;
            ibc_ideal_bracket br;
            ibc_ideal_bracket_init(&br, BITS);
            rc = class_bracket(&br, &cok, cc, p, K, sp[i], y, r, sp[i] == K / 2 && y > 0);
            if (rc == IBC_OK) {
                ok &= cok;
                if (ibc_ideal_tally_add(&tl, &br, r))   /* the smallest radius so far: shown */
                    komin = y > 0 ? K - sp[i] : sp[i];
            }
            ibc_ideal_bracket_clear(&br);
        }
    }
    if (rc == IBC_OK) {
        char meas[96], bnd[96], mg[64], a[64], b[64], sps[48], qs[64];
        ibc_prec_fmt_mpfr(qs, tl.rand_ratio, 4);
        snprintf(meas, sizeof meas, "[%s, %s]", ibc_prec_fmt_mpfr(a, tl.lo, 9), ibc_prec_fmt_mpfr(b, tl.hi, 9));
        ibc_ideal_bound_str(bnd, sizeof bnd, "sqrt(c/(1+c)) = KKT =", tl.rmin, TOL);
        ibc_prec_fmt_mpfr(mg, tl.margin, 3);
        int o = 0;
        for (int i = 0; i < ns; i++)
            o += snprintf(sps + o, sizeof sps - (size_t)o, "%s%ld", i ? "," : "", sp[i]);
        ibc_claim_rows_add(out, CLAIM, "r_Fp(mu_k): [cert lo, attack hi], min over k", "arb:128,mpfr:256",
                           meas, bnd, mg, ok ? IBC_HOLDS : IBC_REFUTED, SOURCE,
                           "p=%g K=%ld K1 in {%s} D=K k=all; shown K_opp=%ld; random attack >= %s r",
                     p, K, sps, komin, qs);
    } else {
        snprintf(err, IBC_ERRLEN, "ideal-radius-Fp: p=%g K=%ld: numerical failure (status %d)",
                 p, K, rc);
    }
    arb_clear(r);
    ibc_ideal_tally_clear(&tl);
    return rc;
}

#define NOISY_PTS 20
#define NOISY_TIGHT 0.95   /* certified lower >= 0.95 r: the certificate is tight */
/* The structured attack alone ("rays") within 2% of r for p >= 2: the attack is
 * tight where no ReLU kink masks the descent (for p < 2 the inactive
 * neurons' zero gradient hides the coordinates an optimal delta raises, and
 * the row only reports it). */
#define NOISY_ATTACK_TIGHT 1.02

/* One row per p: the KKT radius at NOISY_PTS test points against the
 * certificate and the attacks. */
static int noisy_row(ibc_rows *out, const ibc_config *cfg, double p, const ibc_data *test, char *err)
{
    long D = cfg->model.D, K = cfg->model.K, K1 = cfg->model.K1;
    ibc_rnet *G = ibc_robust_rnet_ideal(IBC_IDEAL_FP, D, K, K1, p);
    double *x = malloc(sizeof(double) * (size_t)D), *delta = calloc((size_t)D, sizeof(double));
    ibc_ideal_kkt_result kr;
    ibc_ideal_kkt_result_init(&kr, K);
    ibc_pgd_opts o;
    ibc_claim_pgd_opts(&o);
    int rc = G && x && delta ? IBC_OK : IBC_EINPUT, ok = 1;
    double worst_lo = INFINITY, worst_hi = 0, worst_struct = 0;
    long npts = 0;
    arf_t lo_end, hi_end;
    arf_init(lo_end);
    arf_init(hi_end);
    for (long i = 0; i < NOISY_PTS && rc == IBC_OK; i++) {
        for (long d = 0; d < D; d++)
            x[d] = mpfr_get_d(test->X + i * D + d, MPFR_RNDN);
        int y = test->y[i];
        rc = ibc_ideal_kkt_radius_Fp(&kr, x, K, K1, y, p, PREC, err);
        if (rc != IBC_OK || kr.misclassified)
            continue;
        arb_get_lbound_arf(lo_end, kr.r, PREC);
        arb_get_ubound_arf(hi_end, kr.r, PREC);
        double rl = arf_get_d(lo_end, ARF_RND_DOWN), rh = arf_get_d(hi_end, ARF_RND_UP);
        ibc_cert_result cr;
        rc = ibc_robust_certify_radius(&cr, G, x, y, 2.0, err);
        if (rc != IBC_OK)
            break;
        double hi_struct = ibc_robust_attack_structured(delta, G, x, y, 2.0);
        double hi_att = ibc_robust_attack_minnorm(delta, G, x, y, 2.0, &o);
        /* The KKT minimiser as an attack: just past the boundary it must flip. */
        for (long d = 0; d < D; d++)
            delta[d] = d < K ? kr.delta[d] * (1 + 1e-9) : 0.0;
        int kkt_flip = ibc_robust_rnet_flipped(G, x, delta, y, 128) == 1;
        double hi_kkt = ibc_robust_rnet_norm_up(delta, D);
        ok &= cr.lo <= rh && rl <= hi_att && rl <= hi_struct && kkt_flip && hi_kkt <= rh * (1 + 2e-9) + 1e-15;
        worst_lo = fmin(worst_lo, cr.lo / rh);
        worst_hi = fmax(worst_hi, hi_att / rl);
        worst_struct = fmax(worst_struct, hi_struct / rl);
        npts++;
    }
    arf_clear(lo_end);
    arf_clear(hi_end);
    if (rc == IBC_OK) {
        char m[96], b[112], mg[32];
        int tight_att = p >= 2;
        snprintf(m, sizeof m, "cert/r>=%.4f, attack/r<=%.4f, rays %.4f", worst_lo, worst_hi, worst_struct);
        if (tight_att)
            snprintf(b, sizeof b, "cert <= KKT r <= attack; cert >= %.2f r, rays <= %.2f r", NOISY_TIGHT,
                     NOISY_ATTACK_TIGHT);
        else
            snprintf(b, sizeof b, "cert <= KKT r <= attack; cert >= %.2f r", NOISY_TIGHT);
        double marg = worst_lo - NOISY_TIGHT;
        if (tight_att)
            marg = fmin(marg, NOISY_ATTACK_TIGHT - worst_struct);
        snprintf(mg, sizeof mg, "%+.4f", marg);
        ok &= worst_lo >= NOISY_TIGHT && npts > 0 && (!tight_att || worst_struct <= NOISY_ATTACK_TIGHT);
        ibc_claim_rows_add(out, CLAIM, "r_Fp at noisy x: KKT (Arb) vs certificate and attacks", "arb:128,double",
                           m, b, mg, ok ? IBC_HOLDS : IBC_REFUTED, SOURCE,
                           "p=%g D=%ld K=%ld K1=%ld alpha=%g seed=%lu test points=%ld (worst over points)", p, D, K, K1,
                           cfg->model.alpha, cfg->model.seed, npts);
    }
    ibc_ideal_kkt_result_clear(&kr);
    ibc_robust_rnet_free(G);
    free(x);
    free(delta);
    return rc;
}

int ibc_claim_ideal_radius_Fp(const ibc_config *cfg, ibc_rows *out, char *err)
{
    int rc = IBC_OK;
    for (size_t i = 0; i < sizeof PS / sizeof PS[0] && rc == IBC_OK; i++) {
        cert_cache cc;
        cc.n = 0;
        for (size_t j = 0; j < sizeof KS / sizeof KS[0] && rc == IBC_OK; j++)
            rc = fp_row(out, &cc, PS[i], KS[j], err);
        cache_clear(&cc);
    }
    /* Noisy points of the configured model (the centers above do not depend
     * on it); the KKT enumeration handles K <= IBC_KKT_KMAX. */
    if (rc != IBC_OK || cfg->model.K > IBC_KKT_KMAX || cfg->model.random_centers)
        return rc;
    ibc_data *test = ibc_model_data_alloc(&cfg->model, NOISY_PTS, 1);
    if (!test) {
        snprintf(err, IBC_ERRLEN, "ideal-radius-Fp: cannot draw %d test points", NOISY_PTS);
        return IBC_EINPUT;
    }
    for (size_t i = 0; i < sizeof PS / sizeof PS[0] && rc == IBC_OK; i++)
        rc = noisy_row(out, cfg, PS[i], test, err);
    ibc_model_data_free(test);
    return rc;
}
