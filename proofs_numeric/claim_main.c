/* The CTest program of one claim: runs it at the defaults, prints its rows as
 * a Markdown table, exits 0 if every row holds, 1 if one is refuted, 2 on error. */
#include <stdio.h>
#include "ibcheck/ibcheck.h"

int main(void)
{
    char err[IBC_ERRLEN] = "";
    const ibc_claim_def *def = ibc_claim_find(IBC_CLAIM_ID);
    if (!def) {
        fprintf(stderr, "ibcheck: claim '%s' is not in the registry\n", IBC_CLAIM_ID);
        return 2;
    }
    ibc_prec_blas_setup();
    ibc_config cfg;
    ibc_config_default(&cfg);
    ibc_rows rows;
    ibc_rows_init(&rows);
    int rc = def->run(&cfg, &rows, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: %s: %s\n", def->id, err);
        ibc_rows_clear(&rows);
        ibc_claim_cache_clear();
        return 2;
    }
    ibc_report_rows(stdout, &rows, IBC_FMT_MD);
    int refuted = ibc_rows_refuted(&rows);
    if (rows.n == 0) {
        fprintf(stderr, "ibcheck: %s emitted no rows\n", def->id);
        refuted = 2;
    }
    ibc_rows_clear(&rows);
    ibc_claim_cache_clear();
    return refuted;
}
