/* model: the orthonormal-subclass data model (docs/theory.md §1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "ibcheck/model.h"
#include "prec/gemm.h"
#include "util/gauss.h"
#include "util/rng.h"

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

/* Row i of data set d: its own stream, keyed by (seed, data set, i), so any
 * row is generated alone and the rows of a set in any order or thread give
 * the same values.  The first draw is the subclass; the D deviates follow. */
static long row_stream(const ibc_data *d, long i, ibc_gauss_stream *g)
{
    ibc_util_gauss_init(g, ibc_util_rng_key(d->par.seed, STREAM_SAMPLES + d->stream, (uint64_t)i));
    return (long)ibc_util_rng_below(&g->s, (uint64_t)d->par.K);
}

/* The master value RN(mu + s g) at x's precision (IBC_GEN_BITS); prod has
 * 2 x 53 bits, so s g is held exactly before the one rounding. */
static void entry_master(mpfr_ptr x, mpfr_srcptr mu, double s, double g, mpfr_ptr prod)
{
    mpfr_set_d(prod, g, MPFR_RNDN);
    mpfr_mul_d(prod, prod, s, MPFR_RNDN);
    mpfr_add(x, prod, mu, MPFR_RNDN);
}

void ibc_model_data_row_master(const ibc_data *d, long i, mpfr_ptr row)
{
    const long D = d->par.D;
    ibc_gauss_stream g;
    long k = row_stream(d, i, &g);
    mpfr_t prod;
    mpfr_init2(prod, 2 * 53);
    for (long c = 0; c < D; c++) entry_master(row + c, d->mu + k * D + c, d->s, ibc_util_gauss_next(&g), prod);
    mpfr_clear(prod);
}

/* Whether fma(g, s, mu) is the master of an entry rounded to double, for a
 * center coordinate mu that is a double (0 or 1 for mu_k = e_k).  The exact
 * v = mu + s g is a double plus the product of two doubles (at most 106
 * bits).  When mu = 0, or when |s g| lies within 2^-140 and 2^90 times |mu|,
 * the bits of v span at most 251 positions (the lowest bit is that of s g
 * or of mu, the highest at most 92 above the larger term's top), so v fits
 * in IBC_GEN_BITS = 256 bits and the master RN256(v) is v itself.  Rounding
 * the master to double is then rounding v once, which is what IEEE 754 fma
 * does: no double rounding can occur.  Outside that range (a noise scale
 * 2^90 times a center coordinate, or below 2^-140 of it) the caller rounds
 * the entry's master, computed in MPFR, instead. */
static int fma_is_master(double mu, double sg)
{
    if (mu == 0) return 1;
    double a = fabs(sg), m = fabs(mu);
    return a >= 0x1p-140 * m && a <= 0x1p90 * m;
}

typedef struct {
    const ibc_data *d;
    long i0;
    double *out;
} rows_ctx;

static void rows_range(void *vc, long r0, long r1)
{
    const rows_ctx *c = vc;
    const ibc_data *d = c->d;
    const long D = d->par.D;
    const double s = d->s;
    mpfr_t x, prod;
    mpfr_init2(x, IBC_GEN_BITS);
    mpfr_init2(prod, 2 * 53);
    for (long r = r0; r < r1; r++) {
        ibc_gauss_stream g;
        long k = row_stream(d, c->i0 + r, &g);
        double *o = c->out + r * D;
        for (long e = 0; e < D; e++) {
            double gv = ibc_util_gauss_next(&g);
            /* e_k centers: the coordinate is the double 0 or 1.  Random
             * centers are 256-bit values: round the entry's master. */
            double mu = e == k ? 1.0 : 0.0;
            if (!d->par.random_centers && fma_is_master(mu, s * gv)) {
                o[e] = fma(gv, s, mu);
            } else {
                entry_master(x, d->mu + k * D + e, s, gv, prod);
                o[e] = mpfr_get_d(x, MPFR_RNDN);
            }
        }
    }
    mpfr_clear(x);
    mpfr_clear(prod);
}

void ibc_model_data_rows_d(const ibc_data *d, long i0, long i1, double *out)
{
    rows_ctx c = {d, i0, out};
    /* about 30 flops per entry: the polar method's log and sqrt per pair */
    ibc_prec_par_range(i1 - i0, 30.0 * (double)d->par.D, rows_range, &c);
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

ibc_data *ibc_model_data_alloc_lean(const ibc_model_params *par, long n, unsigned long stream)
{
    char err[IBC_ERRLEN];
    if (ibc_model_check(par, n, err) != IBC_OK) return NULL;
    ibc_data *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->par = *par;
    d->n = n;
    d->stream = stream;
    /* Noise std alpha/sqrt(D) per coordinate, so ||xi|| ~ alpha.  A double
     * (two roundings: the model's std is this value), so that s g is exact
     * in 106 bits and the double data need no MPFR (fma_is_master). */
    d->s = par->alpha / sqrt((double)par->D);
    d->X = NULL;
    d->mu = mpfr_array(par->K * par->D);
    d->y = malloc((size_t)n * sizeof(int));
    d->z = malloc((size_t)n * sizeof(int));
    if (!d->y || !d->z) abort();
    if (par->random_centers) {
        gmp_randstate_t st;
        ibc_model_randinit(st, par->seed, STREAM_CENTERS);
        random_centers(d->mu, par->K, par->D, st);
        gmp_randclear(st);
    } else {
        for (long k = 0; k < par->K; k++) mpfr_set_ui(d->mu + k * par->D + k, 1, MPFR_RNDN);
    }
    /* Labels: the first draw of each row's stream, so they cost n draws
     * and need none of the samples. */
    for (long i = 0; i < n; i++) {
        ibc_gauss_stream g;
        long k = row_stream(d, i, &g);
        d->z[i] = (int)k;
        d->y[i] = k < par->K1 ? 1 : -1;
    }
    return d;
}

void ibc_model_data_master(ibc_data *d)
{
    if (d->X) return;
    d->X = mpfr_array(d->n * d->par.D);
    for (long i = 0; i < d->n; i++) ibc_model_data_row_master(d, i, d->X + i * d->par.D);
}

ibc_data *ibc_model_data_alloc(const ibc_model_params *par, long n, unsigned long stream)
{
    ibc_data *d = ibc_model_data_alloc_lean(par, n, stream);
    if (d) ibc_model_data_master(d);
    return d;
}

void ibc_model_data_free(ibc_data *d)
{
    if (!d) return;
    for (long i = 0; d->X && i < d->n * d->par.D; i++) mpfr_clear(d->X + i);
    for (long i = 0; i < d->par.K * d->par.D; i++) mpfr_clear(d->mu + i);
    free(d->X);
    free(d->mu);
    free(d->y);
    free(d->z);
    free(d);
}

static void round_into(ibc_vec *v, mpfr_srcptr src, long len, ibc_prec pr)
{
    ibc_prec_vec_init(v, len, pr);
    for (long i = 0; i < len; i++) ibc_prec_vec_set_mpfr(v, i, src + i);
}

void ibc_model_data_round(ibc_vec *X, const ibc_data *d, ibc_prec pr)
{
    const long D = d->par.D;
    if (d->X) {
        round_into(X, d->X, d->n * D, pr);
        return;
    }
    ibc_prec_vec_init(X, d->n * D, pr);
    if (pr.mode == IBC_DOUBLE) {
        ibc_model_data_rows_d(d, 0, d->n, X->d);
        return;
    }
    /* MPFR and Arb: the exact master, one row at a time */
    mpfr_ptr row = mpfr_array(D);
    for (long i = 0; i < d->n; i++) {
        ibc_model_data_row_master(d, i, row);
        for (long c = 0; c < D; c++) ibc_prec_vec_set_mpfr(X, i * D + c, row + c);
    }
    for (long c = 0; c < D; c++) mpfr_clear(row + c);
    free(row);
}

void ibc_model_data_centers(ibc_vec *mu, const ibc_data *d, ibc_prec pr)
{
    round_into(mu, d->mu, d->par.K * d->par.D, pr);
}
