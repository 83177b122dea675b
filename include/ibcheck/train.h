/* train: the training layer between the trainers (flow) and their users
 * (claims, `train`, `reproduce`, `compare`): the parameters of a run
 * (ibc_config), the recipe that turns them into a trained network, and the
 * cache of trained networks (in process, and on disk with IBC_CACHE_DIR).
 * Saved networks and checkpoints are in ibcheck/netio.h, same layer. */
#ifndef IBCHECK_TRAIN_H
#define IBCHECK_TRAIN_H
#include <stddef.h>
#include "ibcheck/prec.h"
#include "ibcheck/model.h"
#include "ibcheck/net.h"
#include "ibcheck/flow.h"

/* Everything a claim may read: model, network and training defaults (docs/theory.md,
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
    long records;        /* trajectory records kept by ibc_train_trained_init (default 400;
                          * 0: start and end only, for runs that never read them) */
} ibc_config;

void ibc_train_config_default(ibc_config *c);
/* Validates every field; IBC_EINPUT + one line naming the value and range. */
int ibc_train_config_check(const ibc_config *c, char *err);

/* A trained network shared between claims within one process (cache keyed
 * by every training parameter), so `ibcheck check` trains each once. */
typedef struct {
    ibc_data *data;
    ibc_net *net;
    ibc_vec theta;
    ibc_flow_stats stats;
    double seconds;         /* training (ibc_flow_run) */
    double setup_seconds;   /* before it: data, network, initial theta, resume */
    /* The trajectory: ~400 records evenly spaced in steps (GD/SGD/RK4) or
     * time (adaptive), start and end included (see ibc_recorder). */
    ibc_recorder rec;
} ibc_trained;
/* Trains (or returns the cached) network for cfg with exponent p in mode pr.
 * Owned by the cache; released by ibc_train_cache_clear (ibc_claim_cache_clear). NULL + err on failure. */
const ibc_trained *ibc_train_cached(const ibc_config *cfg, double p, ibc_prec pr, char *err);
void ibc_train_cache_clear(void);
/* The recipe behind ibc_train_cached, uncached: generates cfg's data, the
 * initial theta and runs cfg's trainer in mode pr.  t_end and tol apply to the
 * adaptive method only (t_end <= 0: lr*steps, the GD run's time; tol 0: the
 * flow default).  Returns IBC_OK or an error status + err; t is usable only on
 * IBC_OK and is then released with ibc_train_trained_clear. */
int ibc_train_trained_init(ibc_trained *t, const ibc_config *cfg, double p, ibc_prec pr,
                           double t_end, double tol, char *err);
void ibc_train_trained_clear(ibc_trained *t);

/* The disk cache (IBC_CACHE_DIR, src/train/cache.c), for whatever is
 * derived from a trained network and worth keeping across processes.  The key
 * names every parameter training reads, exactly (doubles in hex); a file
 * holds its key and is read only when the key matches.  The path is
 * DIR/<hash of key>.EXT; 0 when IBC_CACHE_DIR is not set. */
void ibc_train_cache_key(char *buf, size_t len, const ibc_config *c, double p, ibc_prec pr);
int ibc_train_cache_path(char *buf, size_t len, const char *key, const char *ext);

/* One line naming every model and training parameter of cfg with exponent p,
 * for a row's parameters column.  Returns snprintf's count. */
int ibc_train_config_describe(char *buf, size_t len, const ibc_config *c, double p);

#endif
