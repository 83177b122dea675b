/* The robust phase of a reproduce cell in pieces (src/repro/phase.c, issue
 * 14): folded in any arrival order, the pieces give the cell of the serial
 * order bit for bit, and a result nobody asked for is refused.  Without MPI:
 * the MPI test mpi.spread checks the same through the farm. */
#include <string.h>
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
    ibc_rnet *f = ibc_rnet_ideal(IBC_IDEAL_FP, c.D, c.K, c.K1, 3.0);
    ibc_data *test = ibc_data_alloc(&mp, 30, 1);
    char *job = NULL;
    size_t jlen = 0;
    check(f && test && repro_job_make(&c, f, test, &job, &jlen) == IBC_OK, "a job of F^(3) and 30 test points");
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
    ibc_data_free(test);
    ibc_rnet_free(f);
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures != 0;
}
