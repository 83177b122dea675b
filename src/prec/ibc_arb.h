/* Portable Arb includes: FLINT >= 3 (flint/arb.h) or Debian 12's FLINT 2.9 +
 * libflint-arb 2.23 (flat arb.h).  Use arb_mat_entry, never mat->rows. */
#ifndef IBC_ARB_H
#define IBC_ARB_H
#include "ibcheck/config.h"
#if IBC_FLINT3
#include <flint/arb.h>
#include <flint/arf.h>
#include <flint/mag.h>
#include <flint/arb_mat.h>
#include <flint/arb_poly.h>
#include <flint/arb_calc.h>
#else
#include <arb.h>
#include <arf.h>
#include <mag.h>
#include <arb_mat.h>
#include <arb_poly.h>
#include <arb_calc.h>
#endif
#endif
