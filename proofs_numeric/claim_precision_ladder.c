/* Claim `precision-ladder` (docs/theory.md §8, design card).
 *
 * One trainer (cfg's method), one initialization and one data set, run in
 * double, mpfr:53, mpfr:113 and mpfr:256 (the reference).  Reported: digits
 * of agreement with mpfr:256 at fixed steps (theta, loss, margin, normalized
 * margin, per-neuron alignment); the neurons whose end (nearest center, or
 * small) rounding decided; and double against mpfr:53, which differ only in
 * the order of their roundings, within a few ulps per step at steps 1, 10
 * and 100 (bound and reason in src/ladder/ladder.c).  Checked with a verdict:
 * that ulps bound, and theta at step 0 agreeing as one rounding of the
 * common master allows.
 *
 * Cost (measured on the 2-core development machine, 2026-12-07 18:56 UTC,
 * the four modes side by side on IBC_THREADS=2 threads, src/ladder/ladder.c):
 * 20000 GD steps at the full defaults (n = 500, h = 100) took 6 s in double,
 * 242 s in mpfr:53, 364 s in mpfr:113 and 623 s in mpfr:256 (10 min 23 s
 * wall; data/long/).  The default claim runs a reduced instance that
 * still escapes the saddle and aligns: n = 100, h = 20, eta = 1, 1000 steps
 * (loss 7e-3 at step 400 and 1.1e-3 at the end, eps = 1e-6, p = 3; ~12 s).
 * `precision-ladder-long` runs the full defaults.
 */
#include <stdio.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/ladder.h"
#include "claim/claims.h"

/* p = 3: neurons pick single centers (L-alignment), so each one's fate is a
 * center and a rounding-decided fate is visible as a different center. */
#define LADDER_P 3.0

static int ladder_run(const ibc_config *c, const char *claim, const char *note, ibc_rows *out, char *err)
{
    const ibc_prec modes[4] = {ibc_prec_double(), ibc_prec_mpfr(53), ibc_prec_mpfr(113), ibc_prec_mpfr(256)};
    ibc_ladder L;
    int rc = ibc_ladder_init(&L, c, LADDER_P, modes, 4, err);
    if (rc == IBC_OK) ibc_ladder_rows(&L, claim, "design card", note, out);
    ibc_ladder_clear(&L);
    return rc;
}

int ibc_claim_precision_ladder(const ibc_config *cfg, ibc_rows *out, char *err)
{
    ibc_config c = *cfg;
    c.n = 100;
    c.h = 20;
    c.lr = 1.0;
    c.steps = 1000;
    return ladder_run(&c, "precision-ladder", "reduced instance; full defaults: precision-ladder-long", out, err);
}

int ibc_claim_precision_ladder_long(const ibc_config *cfg, ibc_rows *out, char *err)
{
    return ladder_run(cfg, "precision-ladder-long", NULL, out, err);
}
