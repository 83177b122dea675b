/* The robust phase of a reproduce cell in pieces (src/repro/phase.c, issue
 * 14): folded in any arrival order, the pieces give the cell of the serial
 * order bit for bit, and a result nobody asked for is refused.  Without MPI:
 * the MPI test mpi.spread checks the same through the farm.  And its curves
 * from per-point brackets equal a per-eps recomputation (issue 13). */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ibcheck/repro.h"
#include "ibcheck/robust.h"
#include "repro/phase.h"
#include "test_util.h"

#define NPIECE_MAX 64

/* The cell's text with the wall-clock lines ("seconds...") left out. */
static char *strip_seconds(const char *t)
{
    char *s = malloc(strlen(t) + 1), *o = s;
    while (s && *t) {
        const char *e = strchr(t, '\n');
        size_t n = e ? (size_t)(e - t) + 1 : strlen(t);
        if (!strstr(t, "\"seconds") || (e && strstr(t, "\"seconds") > e)) {
            memcpy(o, t, n);
            o += n;
        }
        t += n;
    }
    if (s)
        *o = '\0';
    return s;
}

/* Folds every piece of job; reverse: each batch of ready pieces is
 * computed first and folded last to first.  The final text, or NULL. */
static char *run_phase(const char *job, size_t jlen, int reverse)
{
    char err[IBC_ERRLEN];
    ibc_repro_robust *R = ibc_repro_robust_alloc(job, jlen, NULL, err);
    if (!R)
        return NULL;
    int ok = 1;
    while (ok && !ibc_repro_robust_done(R)) {
        long k[NPIECE_MAX], n = 0;
        char *out[NPIECE_MAX], *in;
        size_t outlen[NPIECE_MAX], inlen;
        while (n < NPIECE_MAX && ibc_repro_robust_next(R, &k[n], &in, &inlen) == 1) {
            ok = ok && ibc_repro_robust_piece(in, inlen, &out[n], &outlen[n], err) == IBC_OK;
            free(in);
            n++;
        }
        ok = ok && n > 0;
        for (long j = 0; j < n; j++) {
            long q = reverse ? n - 1 - j : j;
            ok = ok && ibc_repro_robust_fold(R, k[q], out[q], outlen[q], err) == IBC_OK;
        }
        if (ok && n > 1) {   /* a piece folded twice is refused */
            int again = ibc_repro_robust_fold(R, k[0], out[0], outlen[0], err);
            check(again != IBC_OK, "a piece already folded is refused");
        }
        for (long j = 0; j < n; j++)
            free(out[j]);
    }
    char *final = NULL;
    if (ok && ibc_repro_robust_finish(R, "{\"sigma_index\": 1, \"seconds_train\": 0.5, \"seconds\": 1}", &final, err) != IBC_OK)
        final = NULL;
    ibc_repro_robust_free(R);
    return final;
}

/* The PGD radius pieces leave out points whose certified lower bound
 * exceeds the radius (phase.c: pgd_needed).  Each radius piece is run as
 * handed out and again with every lo set to 0 (so that PGD runs on every
 * clean point): which points hold and which flip must not change.  *nflip
 * counts the flips seen, so that the comparison is not vacuous. */
static int skip_agrees(const char *job, size_t jlen, long np, long *nflip, long *npieces)
{
    char err[IBC_ERRLEN];
    ibc_repro_robust *R = ibc_repro_robust_alloc(job, jlen, NULL, err);
    int ok = R != NULL, same = 1;
    *nflip = *npieces = 0;
    while (ok && !ibc_repro_robust_done(R)) {
        long k;
        char *in, *out = NULL, *out0 = NULL;
        size_t inlen, outlen = 0, outlen0 = 0;
        if (ibc_repro_robust_next(R, &k, &in, &inlen) != 1) {
            ok = 0;
            break;
        }
        ok = ibc_repro_robust_piece(in, inlen, &out, &outlen, err) == IBC_OK;
        char name[64];
        ibc_repro_robust_piece_name(R, k, name, sizeof name);
        if (ok && strncmp(name, "PGD", 3) == 0 && outlen > 0) {
            memset(in + inlen - sizeof(double) * (size_t)np, 0, sizeof(double) * (size_t)np);   /* lo := 0 */
            ok = ibc_repro_robust_piece(in, inlen, &out0, &outlen0, err) == IBC_OK && outlen0 == outlen;
            const double *a = (const double *)out, *b = (const double *)out0;
            for (size_t q = 0; ok && q < outlen / sizeof(double); q++) {
                same = same && ((a[q] < 0) == (b[q] < 0));
                *nflip += b[q] >= 0;
            }
            ++*npieces;
        }
        ok = ok && ibc_repro_robust_fold(R, k, out, outlen, err) == IBC_OK;
        free(in), free(out), free(out0);
    }
    ibc_repro_robust_free(R);
    return ok && same;
}

static double at(const cJSON *o, const char *key, long i)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    const cJSON *v = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, (int)i) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The robust curves of a cell come from one bracket per test point: a point
 * counts as certified at eps when its certified lower bound lo >= eps, and
 * as broken when its verified attack has norm hi <= eps.  Recomputed the
 * slow way, at every eps separately and by other entry points, the counts
 * must be the same:
 *  - certified at eps: a fresh ibc_robust_certify_radius capped at rmax = eps (not
 *    the prepared network the cell uses) reaches eps;
 *  - broken at eps: the structured attack rerun with the cell's horizon
 *    finds a flip, re-verified here in 128-bit balls, of outward-rounded
 *    norm <= eps.
 * No point may be certified and broken at the same eps by any mix of the
 * methods (both ends are rigorous). */
static void compare(const char *name, ibc_rnet *f, const ibc_repro_config *c, const ibc_data *test)
{
    char *job = NULL;
    size_t jlen = 0;
    if (!f || ibc_repro_job_make(c, f, test, &job, &jlen) != IBC_OK) {
        check(0, "a job");
        return;
    }
    char *text = run_phase(job, jlen, 0);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    check(o != NULL, "the cell of the curves finishes");
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
            ibc_model_data_rows_d(test, i, i + 1, x);
            int y = test->y[i];
            char err[IBC_ERRLEN];
            ibc_cert_result cr;
            /* at eps = 0 certified means clean: certified y f(x) > 0 */
            int ok = ibc_robust_certify_radius(&cr, f, x, y, eps > 0 ? eps : 1.0, err) == IBC_OK;
            if (!ok) check(0, err);
            int clean = ok && !cr.misclassified;
            int cert = clean && (eps == 0 || cr.lo >= eps);
            /* the attack of the brackets, rerun from scratch with the cell's
             * search horizon; its flip re-verified in 128-bit balls */
            double r = clean ? ibc_robust_attack_structured(delta, f, x, y, tmax) : 0;
            int broken = !clean || (r <= eps && ibc_robust_rnet_norm_up(delta, D) <= eps &&
                                    ibc_robust_rnet_flipped(f, x, delta, y, 128) == 1);
            /* the same attack with its budget cut to eps: its rays are still
             * scanned to 2 at least (a ray crossing beyond eps may shrink
             * below it), so it breaks the same pairs as the cell */
            double rb = clean && eps > 0 ? ibc_robust_attack_structured(delta, f, x, y, eps) : INFINITY;
            int broken_budget = !clean || (rb <= eps && ibc_robust_rnet_flipped(f, x, delta, y, 128) == 1);
            /* the per-point brackets of the cell */
            double lo = at(o, "radius_lo", i), hi = at(o, "radius_hi", i);
            if (hi < 0)
                hi = INFINITY;   /* -1: no flip within tmax */
            int cert_pt = lo >= eps && lo > 0, broken_pt = !(hi > eps);
            nboth += (cert && broken_pt) || (cert_pt && broken) || (cert && broken) || (cert && broken_budget);
            nbudget_more += broken_budget && !broken_pt;
            nbudget_less += broken_pt && !broken_budget;
            if (broken_budget != broken_pt)
                printf("  %s point %ld eps %.4g: budget attack %.17g, cell's hi %.17g\n", name, i, eps, rb, hi);
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
           nbudget_more == 0 && nbudget_less == 0,
           "%ld points x %ld radii: per-eps vs cell curve differs by %ld (certified) and %ld (attack) point-radius "
           "counts; cell curve vs its own radius_lo/hi: %ld; certified and broken at once: %ld; "
           "%ld certified and %ld broken point-radius pairs (both > 0: not vacuous); the attack with budget eps "
           "breaks %ld pairs the cell does not and misses %ld that the cell breaks (both must be 0)",
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
    ibc_model_params mp;
    ibc_model_default(&mp);
    mp.D = c.D;
    mp.K = c.K;
    mp.K1 = c.K1;
    mp.alpha = 0.2;
    /* F^(3) as the network: its brackets are cheap and well defined */
    ibc_rnet *f = ibc_robust_rnet_ideal(IBC_IDEAL_FP, c.D, c.K, c.K1, 3.0);
    ibc_data *test = ibc_model_data_alloc(&mp, 30, 1);
    char *job = NULL;
    size_t jlen = 0;
    check(f && test && ibc_repro_job_make(&c, f, test, &job, &jlen) == IBC_OK, "a job of F^(3) and 30 test points");
    char *a = job ? run_phase(job, jlen, 0) : NULL, *b = job ? run_phase(job, jlen, 1) : NULL;
    check(a && b, "both folds finish");
    char *sa = a ? strip_seconds(a) : NULL, *sb = b ? strip_seconds(b) : NULL;
    check(sa && sb && strcmp(sa, sb) == 0, "pieces folded in reverse arrival give the serial cell byte for byte");
    check(a && strstr(a, "\"radius_lo\"") && strstr(a, "\"robust_pgd\""), "the cell has its robust fields");
    long nflip = 0, npgd = 0;
    int agree = job ? skip_agrees(job, jlen, test->n, &nflip, &npgd) : 0;
    report("PGD pieces: skipping certified points changes no answer", agree && nflip > 0 && npgd > 0,
           "%ld radius pieces, %ld flips found with every point run", npgd, nflip);
    /* a result of the wrong size is refused */
    ibc_repro_robust *R = job ? ibc_repro_robust_alloc(job, jlen, NULL, err) : NULL;
    long k;
    char *in = NULL;
    size_t inlen;
    if (R && ibc_repro_robust_next(R, &k, &in, &inlen) == 1) {
        double v[2] = {1, 2};
        check(ibc_repro_robust_fold(R, k, (const char *)v, sizeof v, err) != IBC_OK, "a result of the wrong size is refused");
        check(ibc_repro_robust_fold(R, k + 1, (const char *)v, sizeof v, err) != IBC_OK, "a piece not handed out is refused");
    } else {
        check(0, "a first piece");
    }
    check(!ibc_repro_robust_alloc("junk", 4, NULL, err), "a job that is not one is refused");
    free(in);
    ibc_repro_robust_free(R);
    free(sa), free(sb), free(a), free(b), free(job);
    /* The curves from per-point brackets against a per-eps recomputation,
     * on F^(3) and F at 61 radii 0.02 apart over [0, 1.2]: many fall near
     * 1/sqrt(K) and sqrt(2)/2, where the brackets are. */
    ibc_repro_config c61 = c;
    c61.eps_start = 0.0;
    c61.eps_stop = 1.2;
    c61.eps_count = 61;
    compare("curves of F^(3) = per-eps", f, &c61, test);
    ibc_rnet *f1 = ibc_robust_rnet_ideal(IBC_IDEAL_F, c.D, c.K, c.K1, 1.0);
    compare("curves of F = per-eps", f1, &c61, test);
    ibc_robust_rnet_free(f1);
    ibc_model_data_free(test);
    ibc_robust_rnet_free(f);
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures != 0;
}
