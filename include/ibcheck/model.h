/* model: the orthonormal-subclass data model of docs/theory.md §1.
 * Every sample row i comes from its own counter-based stream (seed, data set,
 * i): its subclass, then D Gaussian deviates g (double).  Its master value,
 * at IBC_GEN_BITS bits, is x = RN(mu_k + s g) with the noise scale s a
 * double; every mode rounds the master, so that all modes train on the same
 * points.  Because rows are independent, a double run builds its rows
 * straight in double (ibc_model_data_rows_d), bitwise the rounded master, and
 * never holds 256-bit data (a "lean" data set); MPFR and Arb runs round the
 * master row by row.  The initial weights are drawn at IBC_GEN_BITS from a
 * seeded GMP state (net.c). */
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

/* One data set: its labels and centers, and the master samples when built. */
typedef struct {
    ibc_model_params par;
    long n;
    unsigned long stream;   /* 0 = training set, 1 = test set, ... */
    double s;               /* noise scale alpha / sqrt(D), in double */
    mpfr_ptr X;    /* n x D master, row-major; NULL in a lean data set */
    mpfr_ptr mu;   /* K x D, row-major: row k is center k (0-based) */
    int *y;        /* labels +1 / -1 */
    int *z;        /* subclass, 0..K-1 */
} ibc_data;

void ibc_model_default(ibc_model_params *par);
/* Validates K1 < K <= D, K1 >= 1, alpha >= 0 finite, n >= 1.  IBC_EINPUT + one line on error. */
int ibc_model_check(const ibc_model_params *par, long n, char *err);
/* n samples with their master X.  stream selects an independent sample
 * stream for the same centers (0 = training set, 1 = test set, ...).
 * Returns NULL only on bad input. */
ibc_data *ibc_model_data_alloc(const ibc_model_params *par, long n, unsigned long stream);
/* The same data set without X (labels and centers only, n ints and K x D
 * master centers): rows are generated on demand.  NULL on bad input. */
ibc_data *ibc_model_data_alloc_lean(const ibc_model_params *par, long n, unsigned long stream);
/* Builds the master X of a lean data set (nothing if it has one). */
void ibc_model_data_master(ibc_data *d);
void ibc_model_data_free(ibc_data *d);
/* Rows i0..i1-1 in double into out ((i1 - i0) x D), generated from their
 * streams (threaded over rows with IBC_THREADS; the bits do not depend on
 * it): bitwise the master rows rounded to nearest, with or without X. */
void ibc_model_data_rows_d(const ibc_data *d, long i0, long i1, double *out);
/* Row i's master values into row[0..D) (initialised by the caller, at any
 * precision >= IBC_GEN_BITS to hold them exactly). */
void ibc_model_data_row_master(const ibc_data *d, long i, mpfr_ptr row);
/* Copies X (n x D) rounded into a vector of mode pr (initialised here): from
 * X when built, otherwise generated row by row (double: ibc_model_data_rows_d). */
void ibc_model_data_round(ibc_vec *X, const ibc_data *d, ibc_prec pr);
/* Centers (K x D) rounded into mode pr (initialised here). */
void ibc_model_data_centers(ibc_vec *mu, const ibc_data *d, ibc_prec pr);
/* Seeded GMP state for (seed, stream): independent streams per purpose. */
void ibc_model_randinit(gmp_randstate_t st, unsigned long seed, unsigned long stream);

#endif
