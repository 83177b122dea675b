/* Per-mode instantiations of src/flow/flow_impl.h. */
#ifndef IBC_FLOW_INTERNAL_H
#define IBC_FLOW_INTERNAL_H
#include "ibcheck/flow.h"

/* A field with an optional switching test (p = 1 event location). */
typedef struct {
    ibc_field_fn F;
    void *ctx;
    /* When y0 and y1 lie in different smooth pieces of F: the fraction in
     * (0, 1] of the way from y0 to y1 where the first switching surface is
     * crossed (linear interpolation); otherwise -1.  May be NULL. */
    double (*switched)(void *ctx, const ibc_vec *y0, const ibc_vec *y1);
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

static inline void ibc_vec_swap(ibc_vec *a, ibc_vec *b)
{
    ibc_vec t = *a;
    *a = *b;
    *b = t;
}

#define IBC_FLOW_DECLARE(sfx)                                                                   \
    int ibc_flow_gbs_##sfx(const ibc_flow_field *fld, ibc_vec *y, double t0, double t1,         \
                           double tol, const double *rec_t, long n_rec, int events,             \
                           ibc_flow_stats *st, char *err);                                      \
    void ibc_flow_rk4_##sfx(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1,        \
                            long nsteps);                                                       \
    int ibc_flow_descent_##sfx(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt,          \
                               ibc_flow_stats *st, char *err);                                      \
    void ibc_flow_net_field_##sfx(void *ctx, double t, const ibc_vec *y, ibc_vec *dy);          \
    double ibc_flow_net_switched_##sfx(void *ctx, const ibc_vec *y0, const ibc_vec *y1);
IBC_FLOW_DECLARE(d)
IBC_FLOW_DECLARE(mpfr)
#undef IBC_FLOW_DECLARE
#endif
