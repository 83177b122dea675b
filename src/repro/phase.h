/* repro: the robust phase of a cell in pieces (src/repro/phase.c), the part
 * that run.c needs beside the public API of ibcheck/repro.h. */
#ifndef IBC_REPRO_PHASE_H
#define IBC_REPRO_PHASE_H
#include <stddef.h>
#include <cjson/cJSON.h>
#include "ibcheck/repro.h"
#include "ibcheck/robust.h"

#define REPRO_POINTS 200        /* test points of the robust curves (PGD and brackets) */
#define REPRO_CHUNK 8           /* test points per bracket piece (and per progress save) */
#define REPRO_PGD_STEPS 2000    /* the authors' l2 PGD: 2000 steps of 0.1 */
#define REPRO_PGD_STEP 0.1

/* The robust phase's input as bytes (*job, malloc'd, *len): the network f,
 * the first REPRO_POINTS points of test, the radii of c and the attack
 * horizon.  IBC_OK, or IBC_EIO out of memory. */
int ibc_repro_job_make(const ibc_repro_config *c, const ibc_rnet *f, const ibc_data *test, char **job, size_t *len);

/* A growing byte buffer (the CSV summaries, jobs and pieces). */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;             /* a reserve failed: the contents are incomplete */
} repro_buf;
/* Room for extra more bytes: 0, or -1 with b->oom set. */
int ibc_repro_buf_reserve(repro_buf *b, size_t extra);

/* The text of a JSON file: cJSON_Print and a newline (NULL out of memory);
 * one function for every writer of a cell, so that all give the same bytes. */
char *ibc_repro_json_text(const cJSON *o);

/* Every piece computed and folded here, in order (the serial run); with
 * IBC_THREADS = T, T ready pieces at a time side by side (same bits). */
int ibc_repro_robust_serial(ibc_repro_robust *R, char *err);

/* Adds the robust fields to the cell o (stage 1 of the cell, which ends with
 * "seconds_train" and "seconds": they move behind the new fields and
 * "seconds" grows by the phase's wall time).  IBC_ENUMERIC when a certified
 * lower bound exceeds its verified attack (a bug in one of them). */
int ibc_repro_robust_finish_json(ibc_repro_robust *R, cJSON *o, char *err);

#endif
