/* Per-mode instantiations of src/net/net_impl.h; net.c dispatches on the mode. */
#ifndef IBC_NET_INTERNAL_H
#define IBC_NET_INTERNAL_H
#include "ibcheck/net.h"

#define IBC_NET_DECLARE(sfx)                                                                   \
    void ibc_net_eval_##sfx(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,     \
                            ibc_vec *loss, ibc_vec *grad, ibc_vec *fout);                      \
    int ibc_net_step_##sfx(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,      \
                           double eta, ibc_vec *loss, ibc_vec *grad, ibc_vec *next);           \
    void ibc_net_forward_##sfx(ibc_net *net, const ibc_vec *theta, const ibc_vec *Xq, long m,  \
                               ibc_vec *fout);                                                 \
    void ibc_net_balance_##sfx(const ibc_net *net, const ibc_vec *theta, ibc_vec *Q,           \
                               const ibc_vec *grad, double eta, ibc_vec *corr);                \
    void ibc_net_euler_residual_##sfx(mpfr_ptr r, const ibc_net *net, const ibc_vec *theta,    \
                                      const ibc_vec *grad);
IBC_NET_DECLARE(d)
IBC_NET_DECLARE(mpfr)
IBC_NET_DECLARE(arb)
#undef IBC_NET_DECLARE
#endif
