/* model: the orthonormal-subclass data model (docs/theory.md §1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/model.h"

/* Independent random streams per purpose, all derived from one seed. */
enum { STREAM_CENTERS = 1, STREAM_SAMPLES = 16 };

void ibc_model_default(ibc_model_params *par)
{
    par->D = 30;
    par->K = 10;
    par->K1 = 6;
    par->alpha = 0.1;
    par->random_centers = 0;
    par->seed = 0;
}

int ibc_model_check(const ibc_model_params *par, long n, char *err)
{
    if (par->K < 2 || par->K > par->D) {
        snprintf(err, IBC_ERRLEN, "K = %ld is out of range: need 2 <= K <= D = %ld", par->K, par->D);
        return IBC_EINPUT;
    }
    if (par->K1 < 1 || par->K1 >= par->K) {
        snprintf(err, IBC_ERRLEN, "K1 = %ld is out of range: need 1 <= K1 < K = %ld", par->K1, par->K);
        return IBC_EINPUT;
    }
    if (!(par->alpha >= 0) || !isfinite(par->alpha)) {
        snprintf(err, IBC_ERRLEN, "alpha = %g is out of range: need a finite alpha >= 0", par->alpha);
        return IBC_EINPUT;
    }
    if (n < 1) {
        snprintf(err, IBC_ERRLEN, "n = %ld is out of range: need n >= 1", n);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

void ibc_model_randinit(gmp_randstate_t st, unsigned long seed, unsigned long stream)
{
    mpz_t s;
    mpz_init_set_ui(s, seed);
    mpz_mul_2exp(s, s, 32);
    mpz_add_ui(s, s, stream);
    gmp_randinit_default(st);
    gmp_randseed(st, s);
    mpz_clear(s);
}

/* Seeded random orthonormal rows by modified Gram-Schmidt, applied twice so
 * the rows are orthonormal to working precision (docs/theory.md §1 option). */
static void random_centers(mpfr_ptr mu, long K, long D, gmp_randstate_t st)
{
    mpfr_t dot, t;
    mpfr_inits2(IBC_GEN_BITS, dot, t, (mpfr_ptr)0);
    for (long i = 0; i < K * D; i++) mpfr_nrandom(mu + i, st, MPFR_RNDN);
    for (int pass = 0; pass < 2; pass++)
        for (long k = 0; k < K; k++) {
            for (long l = 0; l < k; l++) {
                mpfr_set_zero(dot, 1);
                for (long d = 0; d < D; d++) mpfr_fma(dot, mu + k * D + d, mu + l * D + d, dot, MPFR_RNDN);
                for (long d = 0; d < D; d++) {
                    mpfr_mul(t, dot, mu + l * D + d, MPFR_RNDN);
                    mpfr_sub(mu + k * D + d, mu + k * D + d, t, MPFR_RNDN);
                }
            }
            mpfr_set_zero(dot, 1);
            for (long d = 0; d < D; d++) mpfr_fma(dot, mu + k * D + d, mu + k * D + d, dot, MPFR_RNDN);
            mpfr_sqrt(dot, dot, MPFR_RNDN);
            for (long d = 0; d < D; d++) mpfr_div(mu + k * D + d, mu + k * D + d, dot, MPFR_RNDN);
        }
    mpfr_clears(dot, t, (mpfr_ptr)0);
}

void ibc_model_sample(const ibc_model_params *par, mpfr_srcptr mu, long n,
                      gmp_randstate_t st, mpfr_ptr X, int *y, int *z)
{
    long D = par->D;
    mpfr_prec_t bits = mpfr_get_prec(X);
    mpfr_t s, g;
    mpfr_inits2(bits, s, g, (mpfr_ptr)0);
    /* Noise std alpha/sqrt(D) per coordinate, so ||xi|| ~ alpha. */
    mpfr_set_d(s, par->alpha, MPFR_RNDN);
    mpfr_set_ui(g, (unsigned long)D, MPFR_RNDN);
    mpfr_sqrt(g, g, MPFR_RNDN);
    mpfr_div(s, s, g, MPFR_RNDN);
    for (long i = 0; i < n; i++) {
        long k = (long)gmp_urandomm_ui(st, (unsigned long)par->K);
        z[i] = (int)k;
        y[i] = k < par->K1 ? 1 : -1;
        for (long d = 0; d < D; d++) {
            mpfr_nrandom(g, st, MPFR_RNDN);
            mpfr_fma(X + i * D + d, g, s, mu + k * D + d, MPFR_RNDN);
        }
    }
    mpfr_clears(s, g, (mpfr_ptr)0);
}

static mpfr_ptr mpfr_array(long len)
{
    mpfr_ptr a = malloc((size_t)(len > 0 ? len : 1) * sizeof(__mpfr_struct));
    if (!a) abort();
    for (long i = 0; i < len; i++) {
        mpfr_init2(a + i, IBC_GEN_BITS);
        mpfr_set_zero(a + i, 1);
    }
    return a;
}

ibc_data *ibc_data_alloc(const ibc_model_params *par, long n, unsigned long stream)
{
    char err[IBC_ERRLEN];
    if (ibc_model_check(par, n, err) != IBC_OK) return NULL;
    ibc_data *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->par = *par;
    d->n = n;
    d->X = mpfr_array(n * par->D);
    d->mu = mpfr_array(par->K * par->D);
    d->y = malloc((size_t)n * sizeof(int));
    d->z = malloc((size_t)n * sizeof(int));
    if (!d->y || !d->z) abort();
    gmp_randstate_t st;
    if (par->random_centers) {
        ibc_model_randinit(st, par->seed, STREAM_CENTERS);
        random_centers(d->mu, par->K, par->D, st);
        gmp_randclear(st);
    } else {
        for (long k = 0; k < par->K; k++) mpfr_set_ui(d->mu + k * par->D + k, 1, MPFR_RNDN);
    }
    ibc_model_randinit(st, par->seed, STREAM_SAMPLES + stream);
    ibc_model_sample(par, d->mu, n, st, d->X, d->y, d->z);
    gmp_randclear(st);
    return d;
}

void ibc_data_free(ibc_data *d)
{
    if (!d) return;
    for (long i = 0; i < d->n * d->par.D; i++) mpfr_clear(d->X + i);
    for (long i = 0; i < d->par.K * d->par.D; i++) mpfr_clear(d->mu + i);
    free(d->X);
    free(d->mu);
    free(d->y);
    free(d->z);
    free(d);
}

static void round_into(ibc_vec *v, mpfr_srcptr src, long len, ibc_prec pr)
{
    ibc_vec_init(v, len, pr);
    for (long i = 0; i < len; i++) ibc_vec_set_mpfr(v, i, src + i);
}

void ibc_data_round(ibc_vec *X, const ibc_data *d, ibc_prec pr)
{
    round_into(X, d->X, d->n * d->par.D, pr);
}

void ibc_data_centers(ibc_vec *mu, const ibc_data *d, ibc_prec pr)
{
    round_into(mu, d->mu, d->par.K * d->par.D, pr);
}
