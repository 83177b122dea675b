/* The network's formulas instantiated for mode double. */
#include "net/net_internal.h"
#include "prec/scalar_double.h"
#include "net/net_impl.h"
