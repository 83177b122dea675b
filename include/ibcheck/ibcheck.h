/* ibcheck: numerical checks of Min & Vidal, "Can Implicit Bias Imply
 * Adversarial Robustness?" (ICML 2024).  Umbrella header. */
#ifndef IBCHECK_H
#define IBCHECK_H
#include "ibcheck/config.h"
#include "ibcheck/prec.h"
#include "ibcheck/util.h"
#include "ibcheck/model.h"
#include "ibcheck/net.h"
#include "ibcheck/flow.h"
#include "ibcheck/ideal.h"
#include "ibcheck/align.h"
#include "ibcheck/train.h"
#include "ibcheck/claim.h"
#include "ibcheck/report.h"
#include "ibcheck/netio.h"
#endif
