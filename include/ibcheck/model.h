/* model: the orthonormal-subclass data model of docs/theory.md §1.
 * Data (and initial weights) are generated once at IBC_GEN_BITS bits from a
 * seeded GMP state and rounded into each mode, so that every precision mode
 * trains on the same points. */
#ifndef IBCHECK_MODEL_H
#define IBCHECK_MODEL_H
#include <mpfr.h>
#include <gmp.h>
#include "ibcheck/prec.h"

#define IBC_GEN_BITS 256

typedef struct {
    long D, K, K1;         /* 1 <= K1 < K <= D */
    double alpha;          /* intra-subclass spread, >= 0; noise std alpha/sqrt(D) */
    int random_centers;    /* 0: mu_k = e_k; 1: seeded random orthonormal basis */
    unsigned long seed;    /* seeds centers and samples */
} ibc_model_params;

/* The master copy of one data set, at IBC_GEN_BITS bits. */
typedef struct {
    ibc_model_params par;
    long n;
    mpfr_ptr X;    /* n x D, row-major */
    mpfr_ptr mu;   /* K x D, row-major: row k is center k (0-based) */
    int *y;        /* labels +1 / -1 */
    int *z;        /* subclass, 0..K-1 */
} ibc_data;

void ibc_model_default(ibc_model_params *par);
/* Validates K1 < K <= D, K1 >= 1, alpha >= 0 finite, n >= 1.  IBC_EINPUT + one line on error. */
int ibc_model_check(const ibc_model_params *par, long n, char *err);
/* Draws n samples.  stream selects an independent sample stream for the same
 * centers (0 = training set, 1 = test set, ...).  Returns NULL only on bad input. */
ibc_data *ibc_data_alloc(const ibc_model_params *par, long n, unsigned long stream);
void ibc_data_free(ibc_data *d);
/* Copies X (n x D) rounded into a vector of mode pr (initialised here). */
void ibc_data_round(ibc_vec *X, const ibc_data *d, ibc_prec pr);
/* Centers (K x D) rounded into mode pr (initialised here). */
void ibc_data_centers(ibc_vec *mu, const ibc_data *d, ibc_prec pr);
/* Fills the n x D matrix X (row-major, MPFR at X's precision) with samples,
 * y and z as above: the sampler shared by training and test sets. */
void ibc_model_sample(const ibc_model_params *par, mpfr_srcptr mu, long n,
                      gmp_randstate_t st, mpfr_ptr X, int *y, int *z);
/* Seeded GMP state for (seed, stream): independent streams per purpose. */
void ibc_model_randinit(gmp_randstate_t st, unsigned long seed, unsigned long stream);

#endif
