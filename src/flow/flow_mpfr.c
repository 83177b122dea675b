/* The trainers instantiated for mode mpfr:BITS. */
#include "flow/flow_internal.h"
#include "prec/scalar_mpfr.h"
#include "flow/flow_impl.h"
