/* claim: the claim registry (docs/theory.md §8), result rows and verdicts.
 * Each claim is one function in proofs_numeric/claim_<id>.c; the same
 * function runs under `ibcheck check` and as its own CTest program. */
#ifndef IBCHECK_CLAIM_H
#define IBCHECK_CLAIM_H
#include <stdio.h>
#include "ibcheck/prec.h"
#include "ibcheck/model.h"
#include "ibcheck/net.h"
#include "ibcheck/flow.h"
#include "ibcheck/train.h"   /* ibc_config, trained networks */

typedef enum {
    IBC_HOLDS = 0,     /* measured within bound */
    IBC_REFUTED,       /* measured outside bound: the claim fails here */
    IBC_INFO,          /* a reported constant with no bound claimed */
    IBC_FINDING        /* a recorded numerical finding whose expected verdict is 'refuted' (data file says why) */
} ibc_verdict;

typedef struct {
    char claim[40];
    char what[72];       /* the checked quantity, e.g. "r_F(mu_k)" */
    char params[240];
    char precision[24];
    char measured[48];
    char bound[64];      /* e.g. "<= 1e-12", "in [a, b]" */
    char margin[32];     /* signed distance to failing, in the row's units */
    ibc_verdict verdict;
    char source[40];
} ibc_row;

typedef struct {
    ibc_row *row;
    long n, cap;
} ibc_rows;

/* At alpha = 0 a statement whose mechanism needs alpha > 0 is not judged:
 * returns IBC_INFO there and v elsewhere.  With no noise, the samples of a
 * center that start on a neuron's inactive side never switch on (at
 * alpha > 0 the noise part of <x, w>, ~ alpha ||w|| / sqrt(D), grows with
 * the neuron until they do): a ReLU neuron keeps the part of its class it
 * started on instead of the class average, and a center that no neuron of
 * its sign starts on is never learned (docs/theory.md §6).  Rows that use it
 * put IBC_CLAIM_ALPHA0_WHY first in their parameters (which are cut at 240
 * characters). */
ibc_verdict ibc_claim_alpha0_verdict(const ibc_config *cfg, ibc_verdict v);
#define IBC_CLAIM_ALPHA0_WHY "alpha = 0, not judged: needs alpha > 0 (docs/theory.md §6)"

void ibc_claim_rows_init(ibc_rows *r);
void ibc_claim_rows_clear(ibc_rows *r);
/* Appends one row; params is printf-style.  Strings are truncated to fit. */
ibc_row *ibc_claim_rows_add(ibc_rows *r, const char *claim, const char *what,
                            const char *precision, const char *measured, const char *bound,
                            const char *margin, ibc_verdict v, const char *source,
                            const char *params_fmt, ...);
const char *ibc_claim_verdict_name(ibc_verdict v);
/* Worst verdict over rows: IBC_REFUTED if any row is refuted, else IBC_HOLDS. */
int ibc_claim_rows_refuted(const ibc_rows *r);

/* A claim writes rows; returns IBC_OK, or an error status (err filled). */
typedef int (*ibc_claim_fn)(const ibc_config *cfg, ibc_rows *out, char *err);

typedef struct {
    const char *id;        /* docs/theory.md §8 id */
    const char *title;
    const char *source;    /* e.g. "T-F, §4" */
    ibc_claim_fn run;
    long kmax;             /* the largest K the claim allows; 0: the config's range */
    int is_long;           /* not run by default `ibcheck check` */
} ibc_claim_def;

/* The registry, terminated by an entry with id == NULL. */
extern const ibc_claim_def ibc_claims[];
const ibc_claim_def *ibc_claim_find(const char *id);
/* IBC_OK when cfg is within what claim id allows beyond the config's own
 * ranges (its registry kmax); else IBC_EINPUT with one line in err naming the
 * claim, the value and the range (or an unknown id).  `check` asks before
 * any claim runs, so a claim's own limit is bad input (exit 2), not a
 * failure inside the claim; the claims ask again as a guard, from the same
 * registry entry. */
int ibc_claim_config_check(const char *id, const ibc_config *cfg, char *err);
/* Prints claim id's failure as one line, "ibcheck: ID: MESSAGE", to f.
 * Many claims start their messages with their own id: it is said once. */
void ibc_claim_error_print(FILE *f, const char *id, const char *err);

/* Releases what the claims cached in this process: the brackets
 * (ibc_claim_brackets) first, which point into the trained networks, then
 * the trained networks (ibc_train_cache_clear). */
void ibc_claim_cache_clear(void);

/* Least-squares slope of y against x over n points: the one fit every
 * claim uses. */
double ibc_claim_ls_slope(const double *x, const double *y, int n);
/* Least-squares slope of log y against log x over n points (a fitted
 * exponent: y ~ x^slope).  x, y > 0. */
double ibc_claim_loglog_slope(const double *x, const double *y, int n);

#endif
