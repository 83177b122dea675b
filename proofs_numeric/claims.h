/* The claim functions of proofs_numeric/claim_<id>.c, one per registry entry
 * (docs/theory.md §8): the claims library's own header, read by its
 * registry (proofs_numeric/registry.c).  Callers reach the claims through
 * ibc_claims[] (ibcheck/claim.h), linked from ibcheck::claims. */
#ifndef IBC_PROOFS_CLAIMS_H
#define IBC_PROOFS_CLAIMS_H
#include "ibcheck/claim.h"

int ibc_claim_balance(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_radius_F(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_radius_Fp(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_generalization(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_ideal_robust_prob(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_optimal_radius(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_alignment(const ibc_config *cfg, ibc_rows *out, char *err);
/* Training dynamics (docs/theory.md §5-6) */
int ibc_claim_loss_derivative(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_early_norm(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_direction_approx(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_escape_time(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_extremal_vectors(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_basins(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_margin(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_loss_rate(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_stable_rank(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_tiny_init(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_certified_gd(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_distance_to_ideal(const ibc_config *cfg, ibc_rows *out, char *err);
/* Precision modes compared (design card) */
int ibc_claim_precision_ladder(const ibc_config *cfg, ibc_rows *out, char *err);
/* Variants at full size (registry: long) */
int ibc_claim_early_norm_long(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_direction_approx_long(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_escape_time_long(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_distance_to_ideal_long(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_precision_ladder_long(const ibc_config *cfg, ibc_rows *out, char *err);

/* Robustness (docs/theory.md §4, §7) */
int ibc_claim_trained_radius(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_robust_accuracy_curve(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_transfer(const ibc_config *cfg, ibc_rows *out, char *err);
int ibc_claim_trained_generalization(const ibc_config *cfg, ibc_rows *out, char *err);

#endif
