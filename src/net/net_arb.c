/* The network's formulas instantiated for mode arb (ball arithmetic). */
#include "net/net_internal.h"
#include "prec/scalar_arb.h"
#include "net/net_impl.h"
