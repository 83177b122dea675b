/* The network's formulas instantiated for mode mpfr:BITS. */
#include "net/net_internal.h"
#include "prec/scalar_mpfr.h"
#include "net/net_impl.h"
