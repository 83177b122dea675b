/* The trainers instantiated for mode arb:BITS (ball arithmetic; ibc_flow_run
 * uses its GD and SGD only). */
#include "flow/flow_internal.h"
#include "prec/scalar_arb.h"
#include "flow/flow_impl.h"
