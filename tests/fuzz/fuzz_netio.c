/* libFuzzer harness of the saved-network reader (src/train/netio.c).
 * The reader takes a path, so each input is written to one per-process
 * temporary file (created once, rewritten in place) and loaded from there.
 * Every input must give IBC_OK or IBC_EINPUT with a one-line error, and a
 * refusal must leave cfg and p alone.  An accepted file must hold a valid
 * config, p >= 1 and a finite theta of length h*D + h, and must survive a
 * save + load unchanged, bit for bit (the format's promise of exactness).
 * Anything else aborts (libFuzzer reports a crash); ASan/UBSan and the leak
 * checker catch the rest.  Temporaries go under $TMPDIR (scripts/fuzz.sh
 * points it at a directory it removes). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ibcheck/netio.h"
#include "fuzz_check.h"

static char in_path[4096];    /* the input file */
static char out_dir[4096];    /* for the save of the round trip */
static char out_path[4200];
static int in_fd = -1;

static void cleanup(void)
{
    if (in_fd >= 0) {
        close(in_fd);
        unlink(in_path);
    }
    if (out_dir[0]) {
        unlink(out_path);
        rmdir(out_dir);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    snprintf(in_path, sizeof in_path, "%s/ibc_fuzz_netio.XXXXXX", tmp);
    snprintf(out_dir, sizeof out_dir, "%s/ibc_fuzz_netio_out.XXXXXX", tmp);
    in_fd = mkstemp(in_path);
    if (in_fd < 0 || !mkdtemp(out_dir)) {
        perror("fuzz_netio: cannot create temporaries under $TMPDIR");
        exit(1);
    }
    snprintf(out_path, sizeof out_path, "%s/net.json", out_dir);
    atexit(cleanup);
    return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(in_fd, data + done, size - done, (off_t)done);
        if (w <= 0) {
            perror("fuzz_netio: pwrite");
            abort();
        }
        done += (size_t)w;
    }
    if (ftruncate(in_fd, (off_t)size) != 0) {
        perror("fuzz_netio: ftruncate");
        abort();
    }
}

static int same_config(const ibc_config *a, const ibc_config *b)
{
    const ibc_model_params *x = &a->model, *y = &b->model;
    return x->D == y->D && x->K == y->K && x->K1 == y->K1 && x->alpha == y->alpha
        && x->random_centers == y->random_centers && x->seed == y->seed && a->n == b->n && a->h == b->h
        && strcmp(a->eps, b->eps) == 0 && a->init == b->init && a->loss == b->loss && a->mean == b->mean
        && a->method == b->method && a->lr == b->lr && a->steps == b->steps && a->batch == b->batch
        && a->prec.mode == b->prec.mode && a->prec.bits == b->prec.bits
        && a->prec_hi.mode == b->prec_hi.mode && a->prec_hi.bits == b->prec_hi.bits;
}

/* Bit for bit, the sign of zero included. */
static int same_theta(const ibc_vec *a, const ibc_vec *b)
{
    if (a->pr.mode != b->pr.mode || a->pr.bits != b->pr.bits || a->len != b->len)
        return 0;
    for (long i = 0; i < a->len; i++) {
        if (a->pr.mode == IBC_DOUBLE) {
            if (memcmp(&a->d[i], &b->d[i], sizeof(double)) != 0)
                return 0;
        } else if (mpfr_cmp(a->m + i, b->m + i) != 0 || mpfr_signbit(a->m + i) != mpfr_signbit(b->m + i)) {
            return 0;
        }
    }
    return 1;
}

static void check_loaded(const ibc_config *cfg, double p, const ibc_vec *theta)
{
    char err[IBC_ERRLEN];
    ibc_fuzz_poison(err);
    int rc = ibc_train_config_check(cfg, err);
    if (rc != IBC_OK)
        ibc_fuzz_fail("a loaded config fails ibc_train_config_check", rc, err);
    if (!(p >= 1) || !isfinite(p))
        ibc_fuzz_fail("a loaded p is not a finite number >= 1", rc, NULL);
    if (theta->len != cfg->h * cfg->model.D + cfg->h)
        ibc_fuzz_fail("a loaded theta does not have h*D + h entries", rc, NULL);
    if ((theta->pr.mode == IBC_DOUBLE ? !theta->d : !theta->m) || !ibc_prec_vec_is_finite(theta))
        ibc_fuzz_fail("a loaded theta is not allocated in its mode or not finite", rc, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);

    /* Sentinels: a refusal must not touch the caller's cfg and p. */
    ibc_config cfg, cfg0;
    memset(&cfg, 0xA5, sizeof cfg);
    memcpy(&cfg0, &cfg, sizeof cfg);
    double p = -7.0;
    ibc_vec theta;
    char err[IBC_ERRLEN];
    ibc_fuzz_poison(err);
    int rc = ibc_train_netio_load(in_path, &cfg, &p, &theta, err);
    ibc_fuzz_check_status(rc, err, "ibc_train_netio_load");
    if (rc != IBC_OK) {
        if (memcmp(&cfg, &cfg0, sizeof cfg) != 0 || p != -7.0)
            ibc_fuzz_fail("a refused load changed cfg or p", rc, err);
        if (theta.len != 0 || theta.d || theta.m)
            ibc_fuzz_fail("a refused load left theta allocated", rc, err);
        return 0;
    }
    check_loaded(&cfg, p, &theta);

    /* Round trip: what was accepted is saved and reads back the same. */
    ibc_fuzz_poison(err);
    rc = ibc_train_netio_save(out_path, &cfg, p, &theta, NULL, err);
    if (rc != IBC_OK)
        ibc_fuzz_fail("an accepted network cannot be saved again", rc, err);
    ibc_config cfg2;
    double p2 = 0;
    ibc_vec theta2;
    ibc_fuzz_poison(err);
    rc = ibc_train_netio_load(out_path, &cfg2, &p2, &theta2, err);
    if (rc != IBC_OK)
        ibc_fuzz_fail("a re-saved network cannot be loaded", rc, err);
    if (!same_config(&cfg, &cfg2) || memcmp(&p, &p2, sizeof p) != 0 || !same_theta(&theta, &theta2))
        ibc_fuzz_fail("save + load changed the network", rc, NULL);
    ibc_prec_vec_clear(&theta2);
    ibc_prec_vec_clear(&theta);
    return 0;
}
