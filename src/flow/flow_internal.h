/* Per-mode instantiations of src/flow/flow_impl.h. */
#ifndef IBC_FLOW_INTERNAL_H
#define IBC_FLOW_INTERNAL_H
#include "ibcheck/flow.h"

/* A field, with optional event location for fields that are smooth only
 * piecewise (the network's switching surfaces <x_i, w_j> = 0). */
typedef struct {
    ibc_field_fn F;
    void *ctx;
    /* Event location; all NULL for a smooth field.  freeze fixes the piece
     * from the signs at y (F then evaluates that piece's smooth extension);
     * crossing returns the fraction in [0, 1] of the way from y0 to y1 where
     * the first pair leaves its frozen piece (linear estimate), or -1, and
     * names the pair; pair_value is that pair's <x_i, w_j>/(|x_i| |w_j|) at y;
     * flip moves one pair to the other piece. */
    void (*freeze)(void *ctx, const ibc_vec *y);
    double (*crossing)(void *ctx, const ibc_vec *y0, const ibc_vec *y1, long *pair);
    double (*pair_value)(void *ctx, const ibc_vec *y, long pair);
    void (*flip)(void *ctx, long pair);
    /* Record hook at exact times; may be NULL. */
    int (*record)(void *ctx, double t, const ibc_vec *y);
} ibc_flow_field;

/* Context of the training field: the net, the options, and the recorder. */
typedef struct {
    ibc_net *net;
    const ibc_flow_opts *opt;
    ibc_flow_stats *st;
    ibc_vec loss;
} ibc_flow_netctx;

static inline void ibc_flow_vec_swap(ibc_vec *a, ibc_vec *b)
{
    ibc_vec t = *a;
    *a = *b;
    *b = t;
}

#define IBC_FLOW_DECLARE(sfx)                                                                   \
    int ibc_flow_gbs_##sfx(const ibc_flow_field *fld, ibc_vec *y, double t0, double t1,         \
                           double tol, const double *rec_t, long n_rec, ibc_flow_stats *st,     \
                           char *err);                                      \
    void ibc_flow_rk4_##sfx(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1,        \
                            long nsteps);                                                       \
    int ibc_flow_descent_##sfx(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt,          \
                               ibc_flow_stats *st, char *err);                                      \
    void ibc_flow_net_field_##sfx(void *ctx, double t, const ibc_vec *y, ibc_vec *dy);          \
    void ibc_flow_net_freeze_##sfx(void *ctx, const ibc_vec *y);                               \
    double ibc_flow_net_crossing_##sfx(void *ctx, const ibc_vec *y0, const ibc_vec *y1,         \
                                       long *pair);                                             \
    double ibc_flow_net_pair_value_##sfx(void *ctx, const ibc_vec *y, long pair);
IBC_FLOW_DECLARE(d)
IBC_FLOW_DECLARE(mpfr)
IBC_FLOW_DECLARE(arb)
#undef IBC_FLOW_DECLARE
#endif
