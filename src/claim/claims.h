/* The claim functions of proofs_numeric/claim_<id>.c, one per registry entry
 * (THEORY §8).  Internal: callers reach them through ibc_claims[]. */
#ifndef IBC_CLAIMS_H
#define IBC_CLAIMS_H
#include "ibcheck/claim.h"

int ibc_claim_balance(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_radius_F(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_radius_Fp(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_alignment(const ibc_config *cfg, ibc_rows *out, char *err);

#endif
