/* The trainers instantiated for mode double. */
#include "flow/flow_internal.h"
#include "prec/scalar_double.h"
#include "flow/flow_impl.h"
