/* The CTest fixture `trained_cache` (tests/CMakeLists.txt): empties the
 * directory IBC_CACHE_DIR names of the files an earlier build left, then
 * fills it with what several claim tests read: the default networks of
 * p = 1 and 3 (read by 12 and 11 claims) and their brackets (3 claims), so
 * that each is computed once per test run instead of once per claim program
 * (the claim tests read them back bit for bit; src/train/cache.c,
 * src/claim/brackets.c).  A network only one claim reads is left to that
 * claim, which saves it too. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ibcheck/claim.h"
#include "claim/claims.h"   /* ibc_claim_brackets */

/* Removes DIR/ *.trained and *.brackets: the key in a file does not cover
 * the code, so a file from another build must never be read. */
static int empty_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && access(dir, W_OK) != 0) {
        fprintf(stderr, "cache_fill: cannot create %s\n", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if ((n > 8 && strcmp(e->d_name + n - 8, ".trained") == 0)
            || (n > 9 && strcmp(e->d_name + n - 9, ".brackets") == 0)) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: cache_fill empty | train P | brackets P   (IBC_CACHE_DIR set)\n");
    return 2;
}

/* Three steps, each its own CTest fixture test so that the two exponents
 * train (and bracket) side by side: empty the directory; train the default
 * network with exponent P; compute the default brackets of it (which the
 * robustness claims share). */
int main(int argc, char **argv)
{
    const char *dir = getenv("IBC_CACHE_DIR");
    if (!dir || !*dir) {
        fprintf(stderr, "cache_fill: IBC_CACHE_DIR is not set\n");
        return 2;
    }
    if (argc == 2 && strcmp(argv[1], "empty") == 0)
        return empty_dir(dir) == 0 ? 0 : 3;
    if (argc != 3 || (strcmp(argv[1], "train") && strcmp(argv[1], "brackets")))
        return usage();
    char *end, err[IBC_ERRLEN];
    double p = strtod(argv[2], &end);
    if (*end || !(p >= 1 && p <= 16)) {
        fprintf(stderr, "cache_fill: P = '%s': need a number in [1, 16]\n", argv[2]);
        return 2;
    }
    /* As ibcheck and the claim programs do: OpenBLAS on one thread.  Left at
     * its default (one thread per core) it trained other bits than the
     * claims' own runs (the cache key now tells them apart) and spun two
     * threads beside every other test. */
    ibc_prec_blas_setup();
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    int rc = 0;
    if (strcmp(argv[1], "train") == 0) {
        if (!ibc_train_cached(&cfg, p, cfg.prec, err)) rc = 3;
    } else {
        int st;
        if (!ibc_claim_brackets(&cfg, p, IBC_CLAIM_NPTS, &st, err)) rc = 3;
    }
    if (rc)
        fprintf(stderr, "cache_fill: %s p = %g: %s\n", argv[1], p, err);
    else
        printf("cache_fill: %s p = %g at the defaults: in %s\n", argv[1], p, dir);
    ibc_claim_cache_clear();
    return rc;
}
