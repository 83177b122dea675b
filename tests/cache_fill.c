/* The CTest fixture `trained_cache` (tests/CMakeLists.txt): empties the
 * directory IBC_CACHE_DIR names of the files an earlier build left, then
 * trains into it the networks that several claim tests read, so that each is
 * trained once per test run instead of once per claim program (the claim
 * tests read them back bit for bit; src/train/cache.c).  A network only one
 * claim reads is left to that claim, which saves it too. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ibcheck/train.h"

/* Removes DIR/ *.trained: the key in a file does not cover the code, so a
 * file from another build must never be read. */
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
        if (n > 8 && strcmp(e->d_name + n - 8, ".trained") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    return 0;
}

int main(void)
{
    const char *dir = getenv("IBC_CACHE_DIR");
    if (!dir || !*dir) {
        fprintf(stderr, "cache_fill: IBC_CACHE_DIR is not set\n");
        return 2;
    }
    if (empty_dir(dir) != 0) return 3;
    char err[IBC_ERRLEN];
    ibc_config cfg;
    ibc_config_default(&cfg);
    /* The default networks of the paper's two cases, read by most claims. */
    static const double ps[] = {1.0, 3.0};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        if (!ibc_train_cached(&cfg, ps[i], cfg.prec, err)) {
            fprintf(stderr, "cache_fill: p = %g: %s\n", ps[i], err);
            ibc_train_cache_clear();
            return 3;
        }
        printf("trained p = %g at the defaults into %s\n", ps[i], dir);
    }
    ibc_train_cache_clear();
    return 0;
}
