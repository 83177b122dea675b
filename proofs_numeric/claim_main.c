/* The CTest program of one claim: runs it at the defaults, prints its rows as
 * a Markdown table, exits 0 if every row holds, 1 if one is refuted, 3 when
 * the claim fails (for example a certified lower bound above a verified
 * attack): it runs at the defaults, so a failure is numerical, never bad
 * input (exit 2), as in `ibcheck check`. */
#include <stdio.h>
#include "ibcheck/ibcheck.h"

int main(void)
{
    char err[IBC_ERRLEN] = "";
    const ibc_claim_def *def = ibc_claim_find(IBC_CLAIM_ID);
    if (!def) {
        fprintf(stderr, "ibcheck: claim '%s' is not in the registry\n", IBC_CLAIM_ID);
        return IBC_ENUMERIC;
    }
    ibc_prec_blas_setup();
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    int rc = def->run(&cfg, &rows, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: %s: %s\n", def->id, err);
        ibc_claim_rows_clear(&rows);
        ibc_claim_cache_clear();
        return IBC_ENUMERIC;   /* at the defaults a failure is numerical, never bad input */
    }
    ibc_report_rows(stdout, &rows, IBC_FMT_MD);
    int refuted = ibc_claim_rows_refuted(&rows);
    if (rows.n == 0) {
        fprintf(stderr, "ibcheck: %s emitted no rows\n", def->id);
        refuted = IBC_ENUMERIC;   /* a claim that judges nothing is broken */
    }
    ibc_claim_rows_clear(&rows);
    ibc_claim_cache_clear();
    return refuted;
}
