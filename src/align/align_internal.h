/* align: internal includes shared by the files of src/align. */
#ifndef IBC_ALIGN_INTERNAL_H
#define IBC_ALIGN_INTERNAL_H
#include "ibcheck/align.h"
#include "prec/ibc_arb.h"
#if IBC_FLINT3
#include <flint/arb_hypgeom.h>
#else
#include <arb_hypgeom.h>
#endif
#endif
