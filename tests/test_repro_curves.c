/* The robust curves of a reproduce cell come from one bracket per test point
 * (src/repro/phase.c): a point counts as certified at eps when its certified
 * lower bound lo >= eps, and as broken when its verified attack has norm
 * hi <= eps.  This test recomputes both curves the slow way, at every eps
 * separately and by other entry points, and requires the same counts:
 *  - certified at eps: a fresh ibc_certify_radius capped at rmax = eps (not
 *    the prepared network the cell uses) reaches eps;
 *  - broken at eps: the structured attack run with tmax = eps finds a flip,
 *    re-verified here in 128-bit balls, of outward-rounded norm <= eps.
 * A point may not be both certified and broken at the same eps by any mix
 * of the two methods (both ends are rigorous).  Two networks (F^(3) and F)
 * on a grid of 61 radii, so that many radii fall near the points' radii. */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ibcheck/repro.h"
#include "ibcheck/robust.h"
#include "repro/phase.h"
#include "test_util.h"

/* The cell's robust fields for job, computed serially; NULL on failure. */
static cJSON *run_cell(const char *job, size_t jlen)
{
    char err[IBC_ERRLEN];
    ibc_repro_robust *R = ibc_repro_robust_alloc(job, jlen, NULL, err);
    int ok = R != NULL;
    while (ok && !ibc_repro_robust_done(R)) {
        long k;
        char *in = NULL, *out = NULL;
        size_t inlen, outlen;
        ok = ibc_repro_robust_next(R, &k, &in, &inlen) == 1 &&
             ibc_repro_robust_piece(in, inlen, &out, &outlen, err) == IBC_OK &&
             ibc_repro_robust_fold(R, k, out, outlen, err) == IBC_OK;
        free(in), free(out);
    }
    char *final = NULL;
    ok = ok && ibc_repro_robust_finish(R, "{\"seconds_train\": 0, \"seconds\": 0}", &final, err) == IBC_OK;
    if (!ok)
        printf("  cell failed: %s\n", R ? err : "alloc");
    ibc_repro_robust_free(R);
    cJSON *o = final ? cJSON_Parse(final) : NULL;
    free(final);
    return o;
}

static double at(const cJSON *o, const char *key, long i)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    const cJSON *v = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, (int)i) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* One network: the cell's curves against the per-eps recomputation. */
static void compare(const char *name, ibc_rnet *f, const ibc_repro_config *c, const ibc_data *test)
{
    char *job = NULL;
    size_t jlen = 0;
    if (!f || repro_job_make(c, f, test, &job, &jlen) != IBC_OK) {
        check(0, "a job");
        return;
    }
    cJSON *o = run_cell(job, jlen);
    check(o != NULL, "the cell finishes");
    long np = test->n, ne = c->eps_count, D = f->D;
    long nbudget_more = 0, nbudget_less = 0;
    const cJSON *jt = o ? cJSON_GetObjectItemCaseSensitive(o, "radius_tmax") : NULL;
    double tmax = cJSON_IsNumber(jt) ? jt->valuedouble : NAN;
    long ncert_diff = 0, natt_diff = 0, nboth = 0, ncert = 0, nbroken = 0, nfold_diff = 0;
    double *delta = malloc(sizeof(double) * (size_t)D), *x = malloc(sizeof(double) * (size_t)D);
    for (long e = 0; o && delta && x && e < ne; e++) {
        double eps = ibc_repro_eps(c, e);
        long kc = 0, ka = 0, kc_fold = 0, ka_fold = 0;
        for (long i = 0; i < np; i++) {
            ibc_data_rows_d(test, i, i + 1, x);
            int y = test->y[i];
            char err[IBC_ERRLEN];
            ibc_cert_result cr;
            /* at eps = 0 certified means clean: certified y f(x) > 0 */
            int ok = ibc_certify_radius(&cr, f, x, y, eps > 0 ? eps : 1.0, err) == IBC_OK;
            if (!ok) check(0, err);
            int clean = ok && !cr.misclassified;
            int cert = clean && (eps == 0 || cr.lo >= eps);
            /* the attack of the brackets, rerun from scratch with the cell's
             * search horizon; its flip re-verified in 128-bit balls */
            double r = clean ? ibc_attack_structured(delta, f, x, y, tmax) : 0;
            int broken = !clean || (r <= eps && ibc_rnet_norm_up(delta, D) <= eps &&
                                    ibc_rnet_flipped(f, x, delta, y, 128) == 1);
            /* the same attack with its horizon cut to eps: it scans its rays
             * only up to eps, so it can miss a flip that the full scan finds
             * beyond eps and then shrinks below it; never the reverse */
            double rb = clean && eps > 0 ? ibc_attack_structured(delta, f, x, y, eps) : INFINITY;
            int broken_budget = !clean || (rb <= eps && ibc_rnet_flipped(f, x, delta, y, 128) == 1);
            /* the per-point brackets of the cell */
            double lo = at(o, "radius_lo", i), hi = at(o, "radius_hi", i);
            if (hi < 0)
                hi = INFINITY;   /* -1: no flip within tmax */
            int cert_pt = lo >= eps && lo > 0, broken_pt = !(hi > eps);
            nboth += (cert && broken_pt) || (cert_pt && broken) || (cert && broken) || (cert && broken_budget);
            nbudget_more += broken_budget && !broken_pt;
            nbudget_less += broken_pt && !broken_budget;
            kc += cert;
            ka += clean && !broken;
            kc_fold += cert_pt;
            ka_fold += !broken_pt;
            if (cert != cert_pt || broken != broken_pt)
                printf("  %s point %ld eps %.4g: per-eps cert %d broken %d (r = %.17g), per-point lo %.17g hi %.17g\n",
                       name, i, eps, cert, broken, r, lo, hi);
            ncert += cert;
            nbroken += broken && clean;
        }
        /* the cell's curves are fractions of np */
        double fc = at(o, "robust_cert", e) * (double)np, fa = at(o, "robust_attack", e) * (double)np;
        ncert_diff += labs(kc - lround(fc));
        natt_diff += labs(ka - lround(fa));
        nfold_diff += labs(kc_fold - lround(fc)) + labs(ka_fold - lround(fa));
    }
    report(name, o && ncert_diff == 0 && natt_diff == 0 && nfold_diff == 0 && nboth == 0 && ncert > 0 && nbroken > 0 &&
           nbudget_more == 0,
           "%ld points x %ld radii: per-eps vs cell curve differs by %ld (certified) and %ld (attack) point-radius "
           "counts; cell curve vs its own radius_lo/hi: %ld; certified and broken at once: %ld; "
           "%ld certified and %ld broken point-radius pairs (both > 0: not vacuous); the attack cut to eps "
           "breaks %ld pairs the cell does not (must be 0) and misses %ld that the cell breaks",
           np, ne, ncert_diff, natt_diff, nfold_diff, nboth, ncert, nbroken, nbudget_more, nbudget_less);
    free(delta), free(x);
    cJSON_Delete(o);
    free(job);
}

int main(void)
{
    ibc_repro_config c;
    char err[IBC_ERRLEN];
    if (ibc_repro_config_read(&c, IBC_DATA_DIR "/reproduce/small.yaml", err) != IBC_OK) {
        printf("FAIL: small.yaml: %s\n", err);
        return 1;
    }
    /* 61 radii, 0.02 apart over [0, 1.2]: many fall near 1/sqrt(K) and
     * sqrt(2)/2, where the brackets are */
    c.eps_start = 0.0;
    c.eps_stop = 1.2;
    c.eps_count = 61;
    ibc_model_params mp;
    ibc_model_default(&mp);
    mp.D = c.D;
    mp.K = c.K;
    mp.K1 = c.K1;
    mp.alpha = 0.2;   /* spread radii, and a few misclassified points */
    ibc_data *test = ibc_data_alloc(&mp, 30, 1);
    check(test != NULL, "test points");
    if (test) {
        ibc_rnet *f3 = ibc_rnet_ideal(IBC_IDEAL_FP, c.D, c.K, c.K1, 3.0);
        compare("F^(3)", f3, &c, test);
        ibc_rnet_free(f3);
        ibc_rnet *f1 = ibc_rnet_ideal(IBC_IDEAL_F, c.D, c.K, c.K1, 1.0);
        compare("F", f1, &c, test);
        ibc_rnet_free(f1);
    }
    ibc_data_free(test);
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures != 0;
}
