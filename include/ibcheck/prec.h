/* prec: precision modes (double, mpfr:BITS, arb:BITS) and the mode-agnostic array ibc_vec.
 * A mode is chosen at run time; every result records it (docs/design.md). */
#ifndef IBCHECK_PREC_H
#define IBCHECK_PREC_H
#include <stddef.h>
#include <mpfr.h>

#define IBC_ERRLEN 320          /* size of every error buffer */
#define IBC_BITS_MIN 53
#define IBC_BITS_MAX 65536

/* Status codes, also the CLI's exit codes where they overlap. */
enum { IBC_OK = 0, IBC_EREFUTED = 1, IBC_EINPUT = 2, IBC_ENUMERIC = 3, IBC_EIO = 4 };

/* IBC_ARB: Arb balls (midpoint, radius) at BITS working precision; every
 * value encloses the exact real-arithmetic result of the same algorithm. */
typedef enum { IBC_DOUBLE = 0, IBC_MPFR = 1, IBC_ARB = 2 } ibc_mode;
typedef struct { ibc_mode mode; long bits; } ibc_prec;   /* bits = 53 for double */

/* Parses "double", "mpfr:BITS" or "arb:BITS" (53 <= BITS <= 65536).  On bad
 * input returns IBC_EINPUT and writes one line naming the value and the
 * allowed range to err. */
int ibc_prec_parse(ibc_prec *pr, const char *s, char *err);
/* IBC_OK if pr is a valid mode; else IBC_EINPUT and one line naming 'name'. */
int ibc_prec_check(ibc_prec pr, const char *name, char *err);
/* Writes "double", "mpfr:BITS" or "arb:BITS" into buf (at least 24 bytes). */
const char *ibc_prec_str(ibc_prec pr, char *buf);
/* Formats an MPFR value (a double) with 'digits' significant digits into
 * buf (>= 48 bytes); returns buf. */
const char *ibc_prec_fmt_mpfr(char *buf, mpfr_srcptr x, int digits);
const char *ibc_prec_fmt_d(char *buf, double x, int digits);
ibc_prec ibc_prec_double(void);
ibc_prec ibc_prec_mpfr(long bits);
ibc_prec ibc_prec_arb(long bits);

/* A vector of len reals in one mode: d (double), m (MPFR at pr.bits) or a
 * (Arb balls, an arb_ptr; void here so that users need no Arb header).
 * init zeroes it; clear releases it.  Values move between modes through
 * MPFR, rounding to nearest; into a ball they move exactly (radius 0), and
 * out of a ball as its midpoint. */
typedef struct {
    ibc_prec pr;
    long len;
    double *d;
    mpfr_ptr m;
    void *a;
} ibc_vec;

void ibc_prec_vec_init(ibc_vec *v, long len, ibc_prec pr);
void ibc_prec_vec_clear(ibc_vec *v);
double ibc_prec_vec_get_d(const ibc_vec *v, long i);
void ibc_prec_vec_get_mpfr(mpfr_ptr r, const ibc_vec *v, long i);   /* rounds to r's precision */
void ibc_prec_vec_set_mpfr(ibc_vec *v, long i, mpfr_srcptr x);      /* rounds to v's mode */
void ibc_prec_vec_set_d(ibc_vec *v, long i, double x);
/* dst = src elementwise, rounding into dst's mode (lengths must agree). */
void ibc_prec_vec_set(ibc_vec *dst, const ibc_vec *src);
/* 1 when every entry is finite (no NaN, no inf). */
int ibc_prec_vec_is_finite(const ibc_vec *v);
/* The radius of entry i's ball (exact, rounded up into r); 0 outside arb mode. */
void ibc_prec_vec_get_rad(mpfr_ptr r, const ibc_vec *v, long i);
/* Sets entry i's radius to at least r >= 0 (arb mode only; ignored otherwise). */
void ibc_prec_vec_set_rad(ibc_vec *v, long i, mpfr_srcptr r);
/* Max |a_i - b_i| evaluated exactly enough in MPFR at 'bits' bits, written to r. */
void ibc_prec_vec_maxdiff(mpfr_ptr r, const ibc_vec *a, const ibc_vec *b);

/* Bytes of memory the system can give this process now (MemAvailable of
 * /proc/meminfo, else free physical pages), or 0 when unknown. */
double ibc_prec_mem_available(void);
/* Bytes one element of a vector in mode pr takes (double: 8; MPFR: the
 * struct plus its limbs). */
double ibc_prec_elem_bytes(ibc_prec pr);

/* OpenBLAS threads: 1 unless IBC_THREADS says otherwise; results are
 * bitwise reproducible for a given thread count. */
void ibc_prec_blas_setup(void);

#endif
