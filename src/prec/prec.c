/* prec: mode parsing and the mode-agnostic vector. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <cblas.h>
#include "ibcheck/prec.h"
#include "prec/gemm.h"
#include "prec/ibc_arb.h"

ibc_prec ibc_prec_double(void) { return (ibc_prec){IBC_DOUBLE, 53}; }
ibc_prec ibc_prec_mpfr(long bits) { return (ibc_prec){IBC_MPFR, bits}; }
ibc_prec ibc_prec_arb(long bits) { return (ibc_prec){IBC_ARB, bits}; }

#define MODES_RANGE "'double', 'mpfr:BITS' or 'arb:BITS' with %d <= BITS <= %d"

int ibc_prec_parse(ibc_prec *pr, const char *s, char *err)
{
    if (s && strcmp(s, "double") == 0) {
        *pr = ibc_prec_double();
        return IBC_OK;
    }
    int arb = s && strncmp(s, "arb:", 4) == 0;
    if (arb || (s && strncmp(s, "mpfr:", 5) == 0)) {
        const char *b = s + (arb ? 4 : 5);
        char *end;
        errno = 0;
        long bits = strtol(b, &end, 10);
        if (errno == 0 && end != b && *end == '\0' && bits >= IBC_BITS_MIN && bits <= IBC_BITS_MAX) {
            *pr = arb ? ibc_prec_arb(bits) : ibc_prec_mpfr(bits);
            return IBC_OK;
        }
        snprintf(err, IBC_ERRLEN, "precision '%s' has BITS out of range: need %s:BITS with %d <= BITS <= %d",
                 s, arb ? "arb" : "mpfr", IBC_BITS_MIN, IBC_BITS_MAX);
        return IBC_EINPUT;
    }
    snprintf(err, IBC_ERRLEN, "precision '%s' is not a mode: need " MODES_RANGE,
             s ? s : "", IBC_BITS_MIN, IBC_BITS_MAX);
    return IBC_EINPUT;
}

int ibc_prec_check(ibc_prec pr, const char *name, char *err)
{
    char buf[24];
    if (pr.mode == IBC_DOUBLE && pr.bits == 53)
        return IBC_OK;
    if ((pr.mode == IBC_MPFR || pr.mode == IBC_ARB) && pr.bits >= IBC_BITS_MIN && pr.bits <= IBC_BITS_MAX)
        return IBC_OK;
    snprintf(err, IBC_ERRLEN, "%s = %s is out of range: need " MODES_RANGE, name,
             pr.mode == IBC_MPFR || pr.mode == IBC_ARB ? ibc_prec_str(pr, buf) : "(unknown mode)",
             IBC_BITS_MIN, IBC_BITS_MAX);
    return IBC_EINPUT;
}

const char *ibc_prec_str(ibc_prec pr, char *buf)
{
    if (pr.mode == IBC_DOUBLE)
        snprintf(buf, 24, "double");
    else
        snprintf(buf, 24, "%s:%ld", pr.mode == IBC_ARB ? "arb" : "mpfr", pr.bits);
    return buf;
}

/* Zeroed doubles.  A large array (data, unit products: 160-320 MB at the
 * paper's size) is aligned to 2 MB and marked for transparent huge pages:
 * filling it then takes one page fault per 2 MB instead of one per 4 KB,
 * which on this machine's VM cost a quarter of the start-up.  free()
 * releases either kind. */
static double *double_array(size_t len)
{
    const size_t huge = (size_t)2 << 20;
    size_t bytes = len * sizeof(double);
    if (bytes >= 2 * huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, bytes) != 0) abort();
        madvise(p, bytes, MADV_HUGEPAGE);   /* advice: without THP it changes nothing */
        memset(p, 0, bytes);
        return p;
    }
    double *p = calloc(len, sizeof(double));
    if (!p) abort();
    return p;
}

void ibc_prec_vec_init(ibc_vec *v, long len, ibc_prec pr)
{
    v->pr = pr;
    v->len = len;
    v->d = NULL;
    v->m = NULL;
    v->a = NULL;
    if (pr.mode == IBC_DOUBLE) {
        v->d = double_array(len > 0 ? (size_t)len : 1);
        return;
    }
    if (pr.mode == IBC_ARB) {
        v->a = _arb_vec_init(len > 0 ? len : 1);   /* zero balls; aborts on no memory */
        return;
    }
    v->m = malloc((len > 0 ? (size_t)len : 1) * sizeof(__mpfr_struct));
    if (!v->m) abort();
    for (long i = 0; i < len; i++) {
        mpfr_init2(v->m + i, pr.bits);
        mpfr_set_zero(v->m + i, 1);
    }
}

void ibc_prec_vec_clear(ibc_vec *v)
{
    if (v->m)
        for (long i = 0; i < v->len; i++) mpfr_clear(v->m + i);
    if (v->a)
        _arb_vec_clear(v->a, v->len > 0 ? v->len : 1);
    free(v->m);
    free(v->d);
    v->m = NULL;
    v->d = NULL;
    v->a = NULL;
    v->len = 0;
}

static arb_ptr ball(const ibc_vec *v, long i) { return (arb_ptr)v->a + i; }

double ibc_prec_vec_get_d(const ibc_vec *v, long i)
{
    if (v->pr.mode == IBC_ARB)
        return arf_get_d(arb_midref(ball(v, i)), ARF_RND_NEAR);
    return v->pr.mode == IBC_DOUBLE ? v->d[i] : mpfr_get_d(v->m + i, MPFR_RNDN);
}

void ibc_prec_vec_get_mpfr(mpfr_ptr r, const ibc_vec *v, long i)
{
    if (v->pr.mode == IBC_DOUBLE)
        mpfr_set_d(r, v->d[i], MPFR_RNDN);
    else if (v->pr.mode == IBC_ARB)
        arf_get_mpfr(r, arb_midref(ball(v, i)), MPFR_RNDN);
    else
        mpfr_set(r, v->m + i, MPFR_RNDN);
}

void ibc_prec_vec_get_rad(mpfr_ptr r, const ibc_vec *v, long i)
{
    if (v->pr.mode != IBC_ARB) {
        mpfr_set_zero(r, 1);
        return;
    }
    arf_t t;
    arf_init(t);
    arf_set_mag(t, arb_radref(ball(v, i)));
    arf_get_mpfr(r, t, MPFR_RNDU);
    arf_clear(t);
}

void ibc_prec_vec_set_rad(ibc_vec *v, long i, mpfr_srcptr r)
{
    if (v->pr.mode != IBC_ARB)
        return;
    arf_t t;
    arf_init(t);
    arf_set_mpfr(t, r);
    arf_get_mag(arb_radref(ball(v, i)), t);   /* rounds up */
    arf_clear(t);
}

void ibc_prec_vec_set_mpfr(ibc_vec *v, long i, mpfr_srcptr x)
{
    if (v->pr.mode == IBC_DOUBLE)
        v->d[i] = mpfr_get_d(x, MPFR_RNDN);
    else if (v->pr.mode == IBC_ARB)
    {
        arf_set_mpfr(arb_midref(ball(v, i)), x);   /* exact: radius 0 */
        mag_zero(arb_radref(ball(v, i)));
    }
    else
        mpfr_set(v->m + i, x, MPFR_RNDN);
}

void ibc_prec_vec_set_d(ibc_vec *v, long i, double x)
{
    if (v->pr.mode == IBC_DOUBLE)
        v->d[i] = x;
    else if (v->pr.mode == IBC_ARB)
        arb_set_d(ball(v, i), x);
    else
        mpfr_set_d(v->m + i, x, MPFR_RNDN);
}

void ibc_prec_vec_set(ibc_vec *dst, const ibc_vec *src)
{
    if (dst->pr.mode == IBC_DOUBLE && src->pr.mode == IBC_DOUBLE) {
        memcpy(dst->d, src->d, (size_t)src->len * sizeof(double));
        return;
    }
    if (dst->pr.mode == IBC_ARB && src->pr.mode == IBC_ARB) {
        _arb_vec_set(dst->a, src->a, src->len);   /* balls stay balls */
        return;
    }
    for (long i = 0; i < src->len; i++) {
        if (src->pr.mode == IBC_DOUBLE)
            ibc_prec_vec_set_d(dst, i, src->d[i]);
        else if (src->pr.mode == IBC_ARB) {
            mpfr_t m;
            mpfr_init2(m, src->pr.bits + 64);
            ibc_prec_vec_get_mpfr(m, src, i);
            ibc_prec_vec_set_mpfr(dst, i, m);
            mpfr_clear(m);
        } else
            ibc_prec_vec_set_mpfr(dst, i, src->m + i);
    }
}

int ibc_prec_vec_is_finite(const ibc_vec *v)
{
    if (v->pr.mode == IBC_ARB)
        return _arb_vec_is_finite(v->a, v->len);
    for (long i = 0; i < v->len; i++) {
        if (v->pr.mode == IBC_DOUBLE ? !isfinite(v->d[i]) : !mpfr_number_p(v->m + i))
            return 0;
    }
    return 1;
}

void ibc_prec_vec_maxdiff(mpfr_ptr r, const ibc_vec *a, const ibc_vec *b)
{
    /* Enough bits that a - b is exact for any pair of modes we hold. */
    long bits = (a->pr.bits > b->pr.bits ? a->pr.bits : b->pr.bits) + 64;
    mpfr_t x, y;
    mpfr_init2(x, bits);
    mpfr_init2(y, bits);
    mpfr_set_zero(r, 1);
    for (long i = 0; i < a->len; i++) {
        ibc_prec_vec_get_mpfr(x, a, i);
        ibc_prec_vec_get_mpfr(y, b, i);
        mpfr_sub(x, x, y, MPFR_RNDN);
        mpfr_abs(x, x, MPFR_RNDN);
        if (mpfr_cmp(x, r) > 0 || mpfr_nan_p(x)) mpfr_set(r, x, MPFR_RNDU);
    }
    mpfr_clear(x);
    mpfr_clear(y);
}

void ibc_prec_blas_setup(void)
{
    /* OpenBLAS itself stays single-threaded: its split of a product depends
     * on the thread count and changes the rounding.  ibc_prec_gemm_d threads over
     * fixed row blocks instead (src/prec/gemm.c), so IBC_THREADS changes the
     * speed, never the bits. */
    const char *s = getenv("IBC_THREADS");
    int t = s ? atoi(s) : 1;
    openblas_set_num_threads(1);
    ibc_prec_gemm_set_threads(t >= 1 ? t : 1);
}

double ibc_prec_elem_bytes(ibc_prec pr)
{
    if (pr.mode == IBC_DOUBLE)
        return 8.0;
    /* A ball: its struct plus the midpoint's limbs (allocated past 2 limbs). */
    double limbs = 8.0 * (double)((pr.bits + 63) / 64);
    if (pr.mode == IBC_ARB)
        return (double)sizeof(arb_struct) + limbs;
    return (double)sizeof(__mpfr_struct) + limbs;
}

double ibc_prec_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned long long kb;
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return 1024.0 * (double)kb;
            }
        }
        fclose(f);
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* The formatters of every table cell: here, on the ground floor, so that
 * any module (ideal's bound strings, the claims, the CLI) can use them. */
const char *ibc_prec_fmt_mpfr(char *buf, mpfr_srcptr x, int digits)
{
    /* 24 digits keep the longest case (sign, point, 19-digit exponent) in 48 bytes. */
    if (digits < 1)
        digits = 1;
    if (digits > 24)
        digits = 24;
    mpfr_snprintf(buf, 48, "%.*Rg", digits, x);
    return buf;
}

const char *ibc_prec_fmt_d(char *buf, double x, int digits)
{
    if (digits < 1)
        digits = 1;
    if (digits > 17)
        digits = 17;
    snprintf(buf, 48, "%.*g", digits, x);
    return buf;
}
