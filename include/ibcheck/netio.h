/* netio: saved networks as JSON (cJSON).  Every training parameter, the
 * precision, the seed and theta are recorded; values are exact: doubles as C99
 * hex floats ("%a"), MPFR values as MPFR hex strings ("%Ra"), so that loading
 * gives back the same bits.  Files are written atomically (temp + rename). */
#ifndef IBCHECK_NETIO_H
#define IBCHECK_NETIO_H
#include "ibcheck/claim.h"

#define IBC_NETFILE_FORMAT "ibcheck-net"
#define IBC_NETFILE_VERSION 1

/* Saves cfg (training parameters), p, the mode of theta and theta itself. */
int ibc_netio_save(const char *path, const ibc_config *cfg, double p,
                   const ibc_vec *theta, const ibc_flow_stats *st, char *err);
/* Loads a file written by ibc_netio_save.  theta is initialised here in the
 * saved mode.  Malformed, truncated, wrong-version or inconsistent files
 * (dimensions that do not match D, h) give IBC_EINPUT and one line in err. */
int ibc_netio_load(const char *path, ibc_config *cfg, double *p, ibc_vec *theta, char *err);

#endif
