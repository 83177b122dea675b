/* The CTest program of the claims: `proof_claim ID` runs claim ID at the
 * defaults, prints its rows as a Markdown table, exits 0 if every row holds,
 * 1 if one is refuted, 3 when the claim fails (for example a certified lower
 * bound above a verified attack): it runs at the defaults, so a failure is
 * numerical, never bad input, as in `ibcheck check`.  A missing or unknown
 * ID is a usage error (exit 2).  One program for every claim: it was one per
 * claim, 29 copies of this file compiled and linked on every fresh build. */
#include <stdio.h>
#include "ibcheck/ibcheck.h"

int main(int argc, char **argv)
{
    char err[IBC_ERRLEN] = "";
    const ibc_claim_def *def = argc == 2 ? ibc_claim_find(argv[1]) : NULL;
    if (!def) {
        if (argc == 2)
            fprintf(stderr, "proof_claim: need one claim id of the registry (ibcheck check --list), got '%s'\n",
                    argv[1]);
        else
            fprintf(stderr, "proof_claim: need one claim id of the registry (ibcheck check --list), got %d arguments\n",
                    argc - 1);
        return IBC_EINPUT;
    }
    ibc_prec_blas_setup();
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    int rc = def->run(&cfg, &rows, err);
    if (rc != IBC_OK) {
        ibc_claim_error_print(stderr, def->id, err);
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
