/* claim: what the claims share, as library code: the radius brackets of
 * the robustness claims (the trained networks are the training layer's,
 * ibcheck/train.h).  (The claim
 * functions themselves are declared in proofs_numeric/claims.h.) */
#ifndef IBC_CLAIMS_H
#define IBC_CLAIMS_H
#include "ibcheck/claim.h"
#include "ibcheck/robust.h"

/* Radius brackets at the first npts test points (stream 1) of the cached
 * trained network for (cfg, p): shared by the robustness claims.  A point
 * whose certified lower end exceeds its verified attack (a bug in one of
 * them) is kept and counted in `inverted`, so that a claim can refute a row
 * instead of stopping.  Each verified flip is also re-checked along its ray
 * (ibc_claim_bracket_rows).  NULL on failure, with *status and err set. */
#define IBC_CLAIM_NPTS 50          /* test points per trained network */
#define IBC_CLAIM_PGD_STEPS 300
#define IBC_CLAIM_TMAX 2.0
#define IBC_CLAIM_RAY_REL 1e-6     /* the ray check's relative step around the flip boundary */
typedef struct {
    double p;
    long npts, D;
    ibc_rnet *f;
    double *X;           /* npts x D test points (double) */
    int *y, *z;          /* labels and subclasses */
    ibc_bracket *br;     /* one bracket per point */
    double seconds;      /* time to compute them */
    long inverted;       /* points with lo > hi */
    double worst_gap;    /* max over points of lo - hi (<= 0 when none is inverted) */
    /* the ray check, over the points with a finite verified attack */
    long ray_points;
    long ray_flip_bad;   /* delta itself not certified flipped by the Arb margin */
    long ray_noflip_bad; /* (1 - REL) t* delta not certified unflipped (verifier or margin) */
    long ray_beyond_bad; /* (1 + REL) t* delta not certified flipped, or inside the certified ball */
} ibc_claim_bracket_set;
const ibc_claim_bracket_set *ibc_claim_brackets(const ibc_config *cfg, double p, long npts, int *status,
                                                char *err);
void ibc_claim_brackets_clear(void);
/* Two rows for one set, both able to fail: every certified lower end is <=
 * its verified attack; every verified flip delta is a flip by the certified
 * margin, its ray x + t delta crosses the boundary at some t* <= 1 with
 * (1 - REL) t* delta certified NOT flipped (by ibc_robust_rnet_flipped and by the
 * margin) and (1 + REL) t* delta flipped outside the certified ball. */
void ibc_claim_bracket_rows(ibc_rows *out, const char *claim, const ibc_claim_bracket_set *s,
                            const char *prec, const char *params);
/* The PGD options every robustness claim uses (the authors' step, fewer steps). */
void ibc_claim_pgd_opts(ibc_pgd_opts *o);

#endif
