/* claim: the claim registry (docs/theory.md §8), result rows and verdicts.
 * Each claim is one function in proofs_numeric/claim_<id>.c; the same
 * function runs under `ibcheck check` and as its own CTest program. */
#ifndef IBCHECK_CLAIM_H
#define IBCHECK_CLAIM_H
#include "ibcheck/prec.h"
#include "ibcheck/model.h"
#include "ibcheck/net.h"
#include "ibcheck/flow.h"

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

void ibc_rows_init(ibc_rows *r);
void ibc_rows_clear(ibc_rows *r);
/* Appends one row; params is printf-style.  Strings are truncated to fit. */
ibc_row *ibc_rows_add(ibc_rows *r, const char *claim, const char *what,
                      const char *precision, const char *measured, const char *bound,
                      const char *margin, ibc_verdict v, const char *source,
                      const char *params_fmt, ...);
const char *ibc_verdict_name(ibc_verdict v);
/* Worst verdict over rows: IBC_REFUTED if any row is refuted, else IBC_HOLDS. */
int ibc_rows_refuted(const ibc_rows *r);

/* Everything a claim may read: model, network and training defaults (THEORY,
 * issue "Foundation": D=30 K=10 K1=6 alpha=0.1 n=500 h=100 eps=1e-6
 * balanced init, mean exp loss, GD eta=0.2, 20000 steps, seed 0). */
typedef struct {
    ibc_model_params model;
    long n;
    long h;
    char eps[64];
    ibc_init init;
    ibc_loss loss;
    int mean;
    ibc_method method;
    double lr;
    long steps;
    long batch;
    ibc_prec prec;       /* the mode claims train in (default double) */
    ibc_prec prec_hi;    /* the arbitrary-precision mode claims compare with (default mpfr:128) */
    int verbose;         /* progress on stderr */
    long records;        /* trajectory records kept by ibc_trained_init (default 400;
                          * 0: start and end only, for runs that never read them) */
} ibc_config;

void ibc_config_default(ibc_config *c);
/* Validates every field; IBC_EINPUT + one line naming the value and range. */
int ibc_config_check(const ibc_config *c, char *err);

/* A claim writes rows; returns IBC_OK, or an error status (err filled). */
typedef int (*ibc_claim_fn)(const ibc_config *cfg, ibc_rows *out, char *err);

typedef struct {
    const char *id;        /* docs/theory.md §8 id */
    const char *title;
    const char *source;    /* e.g. "T-F, §4" */
    ibc_claim_fn run;
    int is_long;           /* not run by default `ibcheck check` */
} ibc_claim_def;

/* The registry, terminated by an entry with id == NULL. */
extern const ibc_claim_def ibc_claims[];
const ibc_claim_def *ibc_claim_find(const char *id);

/* A trained network shared between claims within one process (cache keyed
 * by every training parameter), so `ibcheck check` trains each once. */
typedef struct {
    ibc_data *data;
    ibc_net *net;
    ibc_vec theta;
    ibc_flow_stats stats;
    double seconds;
    /* The trajectory: ~400 records evenly spaced in steps (GD/SGD/RK4) or
     * time (adaptive), start and end included (see ibc_recorder). */
    ibc_recorder rec;
} ibc_trained;
/* Trains (or returns the cached) network for cfg with exponent p in mode pr.
 * Owned by the cache; released by ibc_claim_cache_clear. NULL + err on failure. */
const ibc_trained *ibc_train_cached(const ibc_config *cfg, double p, ibc_prec pr, char *err);
void ibc_claim_cache_clear(void);
/* The recipe behind ibc_train_cached, uncached: generates cfg's data, the
 * initial theta and runs cfg's trainer in mode pr.  t_end and tol apply to the
 * adaptive method only (t_end <= 0: lr*steps, the GD run's time; tol 0: the
 * flow default).  Returns IBC_OK or an error status + err; t is usable only on
 * IBC_OK and is then released with ibc_trained_clear. */
int ibc_trained_init(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr,
                     double t_end, double tol, char *err);
void ibc_trained_clear(ibc_trained *t);

/* One line naming every model and training parameter of cfg with exponent p,
 * for a row's parameters column.  Returns snprintf's count. */
int ibc_config_describe(char *buf, size_t len, const ibc_config *c, double p);

/* Least-squares slope of y against x over n points: the one fit every
 * claim uses. */
double ibc_ls_slope(const double *x, const double *y, int n);
/* Least-squares slope of log y against log x over n points (a fitted
 * exponent: y ~ x^slope).  x, y > 0. */
double ibc_loglog_slope(const double *x, const double *y, int n);

#endif
