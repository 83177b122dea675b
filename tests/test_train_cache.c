/* The on-disk cache of trained networks (IBC_CACHE_DIR, src/train/cache.c):
 * a network read back must equal the one trained, bit for bit (theta, the
 * run's statistics and every trajectory record), in double and mpfr:128; a
 * file whose key differs, or a damaged file, must never be read (the run
 * trains again and gets the true network). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include "ibcheck/train.h"
#include "test_util.h"

static void small_config(ibc_config *c)
{
    ibc_train_config_default(c);
    c->model.D = 8;
    c->model.K = 4;
    c->model.K1 = 2;
    c->n = 40;
    c->h = 6;
    c->steps = 60;
    c->records = 12;
}

/* Bitwise equality of two trained networks; the count of differing values. */
static long trained_diff(const ibc_trained *a, const ibc_trained *b)
{
    long bad = a->theta.len != b->theta.len || a->rec.n != b->rec.n;
    mpfr_t x, y;
    mpfr_inits2(a->theta.pr.bits, x, y, (mpfr_ptr)0);
    for (long i = 0; !bad && i < a->theta.len; i++) {
        ibc_prec_vec_get_mpfr(x, &a->theta, i);
        ibc_prec_vec_get_mpfr(y, &b->theta, i);
        bad += !mpfr_equal_p(x, y);
    }
    mpfr_clears(x, y, (mpfr_ptr)0);
    bad += a->stats.steps != b->stats.steps || a->stats.grad_evals != b->stats.grad_evals;
    bad += mpfr_cmp(a->stats.balance_drift, b->stats.balance_drift) != 0;
    bad += mpfr_cmp(a->stats.balance_scale, b->stats.balance_scale) != 0;
    for (long i = 0; bad == 0 && i < a->rec.n; i++) {
        const ibc_record *p = &a->rec.rec[i], *q = &b->rec.rec[i];
        bad += memcmp(&p->t, &q->t, sizeof p->t) || p->step != q->step
            || memcmp(&p->theta_norm2, &q->theta_norm2, sizeof(double))
            || memcmp(&p->gamma_bar, &q->gamma_bar, sizeof(double))
            || mpfr_cmp(p->loss_m, q->loss_m) != 0;
    }
    return bad;
}

static char dir[] = "/tmp/ibc_test_cache_XXXXXX";

/* The one file the cache holds (after a single training); "" if none. */
static void only_file(char *path, size_t len)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/*.trained 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    path[0] = 0;
    if (p && fgets(path, (int)len, p)) path[strcspn(path, "\n")] = 0;
    if (p) pclose(p);
}

static void check_mode(ibc_prec pr, const char *name)
{
    char err[IBC_ERRLEN], path[512], what[96];
    ibc_config c;
    small_config(&c);
    ibc_trained ref;
    int rc = ibc_train_trained_init(&ref, &c, 3.0, pr, 0, 0, err);
    /* 1. train into the cache, 2. read back in a "new process" (cache cleared) */
    const ibc_trained *t1 = ibc_train_cached(&c, 3.0, pr, err);
    only_file(path, sizeof path);
    ibc_train_cache_clear();
    const ibc_trained *t2 = ibc_train_cached(&c, 3.0, pr, err);
    snprintf(what, sizeof what, "%s: trained = read back from disk", name);
    report(what, rc == IBC_OK && t1 && t2 && path[0] && trained_diff(&ref, t2) == 0, "file %s, %ld differ", path,
           t2 ? trained_diff(&ref, t2) : -1);
    ibc_train_cache_clear();
    /* 3. another key (more steps) must not read that file */
    ibc_config c2 = c;
    c2.steps = 61;
    ibc_trained ref2;
    ibc_train_trained_init(&ref2, &c2, 3.0, pr, 0, 0, err);
    const ibc_trained *t3 = ibc_train_cached(&c2, 3.0, pr, err);
    snprintf(what, sizeof what, "%s: another key trains anew", name);
    report(what, t3 && trained_diff(&ref2, t3) == 0 && trained_diff(&ref, t3) != 0, "steps %ld",
           t3 ? t3->stats.steps : -1);
    ibc_train_cache_clear();
    ibc_train_trained_clear(&ref2);
    /* 4. a damaged file (one theta value changed) is a miss or an error, never
     * a wrong network: the value is made inexact for the file's precision */
    FILE *f = fopen(path, "r+");
    long changed = 0;
    if (f) {
        char line[4096];
        long pos = 0;
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "theta ", 6) == 0) {
                pos = ftell(f);
                break;
            }
        }
        if (pos > 0 && fseek(f, pos, SEEK_SET) == 0) changed = fputs("@NaN@", f) >= 0;
        fclose(f);
    }
    const ibc_trained *t4 = ibc_train_cached(&c, 3.0, pr, err);
    snprintf(what, sizeof what, "%s: a damaged file is not read", name);
    report(what, changed && t4 && trained_diff(&ref, t4) == 0, "file changed: %ld", changed);
    ibc_train_cache_clear();
    ibc_train_trained_clear(&ref);
    unlink(path);
}

/* OpenBLAS's thread count changes a double run's bits, so it is part of the
 * key: a network trained with OpenBLAS on two threads (a program that never
 * called ibc_prec_blas_setup, as the test fixture once was) is a miss for
 * one on a single thread.  MPFR runs do not use it. */
static void check_blas_key(void)
{
    char k1[1024], k2[1024], m1[1024], m2[1024];
    ibc_config c;
    small_config(&c);
    openblas_set_num_threads(1);
    ibc_train_cache_key(k1, sizeof k1, &c, 3.0, ibc_prec_double());
    ibc_train_cache_key(m1, sizeof m1, &c, 3.0, ibc_prec_mpfr(128));
    openblas_set_num_threads(2);
    int two = openblas_get_num_threads() == 2;
    ibc_train_cache_key(k2, sizeof k2, &c, 3.0, ibc_prec_double());
    ibc_train_cache_key(m2, sizeof m2, &c, 3.0, ibc_prec_mpfr(128));
    openblas_set_num_threads(1);
    if (two)
        report("double: the key names OpenBLAS's thread count", strcmp(k1, k2) != 0, "keys '%s' and '%s'", k1, k2);
    else   /* a single-threaded OpenBLAS build: the count cannot differ, nothing to check */
        printf("skip double: the key names OpenBLAS's thread count (this OpenBLAS stays at %d thread)\n",
               openblas_get_num_threads());
    report("mpfr:128: the key does not depend on it", strcmp(m1, m2) == 0, "keys '%s' and '%s'", m1, m2);
}

int main(void)
{
    check_blas_key();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    setenv("IBC_CACHE_DIR", dir, 1);
    check_mode(ibc_prec_double(), "double");
    check_mode(ibc_prec_mpfr(128), "mpfr:128");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("test_train_cache: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
