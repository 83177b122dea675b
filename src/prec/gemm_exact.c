/* The MPFR modes' matrix product (issue 17): C = op(A) op(B), every entry
 * CORRECTLY ROUNDED (to nearest, ties to even) to the precision of its C
 * entry: the result is the exact dot product rounded once.
 *
 * Why: the product was arb_mat_approx_mul (ibc_prec_gemm_mpfr_approx, kept for
 * comparison), whose 256-bit dot products cost about an mpfr_mul plus an
 * mpfr_add per term; the hardware's dgemm is ~100x faster per term, and an
 * exact splitting makes it usable at any precision (Ozaki, Ogita, Oishi,
 * Rump 2012):
 *
 *  1. Each row i of op(A) gets one exponent e_i with every |a_ik| < 2^e_i,
 *     and its entries are cut into slices of s bits below 2^e_i:
 *     a_ik = sum_p a_ik^(p) 2^(e_i - s(p+1)), integers |a^(p)| < 2^s (the
 *     sign of a on every slice).  Columns of op(B) likewise, exponent f_j.
 *  2. Slice products summed over the inner dimension K are integers below
 *     K 2^(2s); s is chosen so that a whole anti-diagonal, the nsl products
 *     a^(p) b^(q) with p + q = t, summed over K, stays below 2^53: every
 *     partial sum dgemm forms is then an integer that a double holds, so
 *     dgemm is exact, whatever its order of summation, its blocking or its
 *     threads (the result cannot depend on the thread count).  One dgemm
 *     per anti-diagonal t: the slices lie side by side ([A^(0) ... A^(t)]
 *     times [B^(t); ...; B^(0)]), so no copy is made.  Or (route "pairs",
 *     cheaper at large K) one dgemm per slice pair, with s such that one
 *     pair's sum over K stays below 2^53, the pairs of a diagonal summed
 *     in int64: wider slices, so fewer of them.
 *  3. Only the anti-diagonals t <= L are formed: the dropped ones weigh less
 *     than 2 K (L+2) 2^(e_i + f_j - s(L+1)) (the bound delta below), and L is
 *     chosen so that this is ~GUARD bits below the last bit of the target
 *     precision when no cancellation happens.  The kept ones are added
 *     exactly, in fixed point (int64 carries, then limbs).
 *  4. Rounding the fixed-point value Z gives the correctly rounded result
 *     whenever every number within delta of Z rounds alike (the bits between
 *     the rounding bit and delta are neither all 0 nor all 1: ibc's version
 *     of mpfr_can_round).  When all the dropped slices are zero (short
 *     mantissas, zeros) Z is exact.  Otherwise (heavy cancellation, very
 *     wide exponent ranges, NaN or infinities) the entry is recomputed as an
 *     exact sum: exact products, mpfr_sum (correctly rounded).
 *
 * Above IBC_GEMM_SLICES_MAX slices (thousands of bits) the same fixed point
 * is formed with FLINT's fmpz_mat_mul on integers with one exponent per
 * row/column, checked and rounded the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gmp.h>
#include <mpfr.h>
#include <cblas.h>
#include "prec/gemm.h"
#include "prec/ibc_arb.h"   /* FLINT: fmpz_mat */
#if IBC_FLINT3
#include <flint/fmpz_mat.h>
#else
#include <fmpz_mat.h>
#endif

/* Bits kept beyond the target precision (and the bounds' own bits): the
 * margin of cancellation that the fast path absorbs before an entry falls
 * back to the exact sum.  The fallback makes any value correct, but costs K
 * exact products and an mpfr_sum: with 8 bits, the defaults' forward product
 * X W^T at 113 bits (where the slices had no bit to spare beyond GUARD) sent
 * 6% of its entries there (an entry <x_i, w_j> is typically ~2^-8 of its
 * bound max|x_i| max|w_j| K), and the mpfr:113 GD step took 1.85x as long as
 * with 12 (0.067 against 0.036 s; 128 and 256 bits keep their slice
 * counts). */
#define GUARD 12
/* At most this many slices per side; beyond it the fmpz route is used. */
#define IBC_GEMM_SLICES_MAX 256
/* Limbs of the fixed-point accumulator: nsl * s <= 256 * 26 bits, plus the
 * top term and a spare limb. */
#define ZLIMBS ((IBC_GEMM_SLICES_MAX * 26 + 64) / 64 + 2)

static long stat_calls, stat_entries, stat_exact, stat_bound, stat_fallback, stat_fmpz, stat_dgemm_ns;

void ibc_prec_gemm_exact_stats(ibc_gemm_stats *st)
{
    st->calls = __atomic_load_n(&stat_calls, __ATOMIC_RELAXED);
    st->entries = __atomic_load_n(&stat_entries, __ATOMIC_RELAXED);
    st->exact = __atomic_load_n(&stat_exact, __ATOMIC_RELAXED);
    st->bound = __atomic_load_n(&stat_bound, __ATOMIC_RELAXED);
    st->fallback = __atomic_load_n(&stat_fallback, __ATOMIC_RELAXED);
    st->fmpz_calls = __atomic_load_n(&stat_fmpz, __ATOMIC_RELAXED);
    st->dgemm_ns = __atomic_load_n(&stat_dgemm_ns, __ATOMIC_RELAXED);
}

/* Whether the slice routes time their dgemm calls (bench_grad's profile:
 * how far the product is above its dgemm floor).  Off by default: the
 * thread CPU clock is a system call, two per dgemm, and made a claim that
 * evaluates a tiny network many times 4x slower. */
static int time_dgemm;

void ibc_prec_gemm_exact_time_dgemm(int on)
{
    __atomic_store_n(&time_dgemm, on != 0, __ATOMIC_RELAXED);
}

/* CPU time of the calling thread, in ns. */
static long thread_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (long)t.tv_sec * 1000000000L + (long)t.tv_nsec;
}

/* Per-thread work buffers, kept between calls: the slices and diagonals of
 * the defaults' products are megabytes, and fresh ones each call cost page
 * faults (a tenth of the gradient's time).  ibc_prec_gemm_exact_release frees
 * the calling thread's. */
enum { WS_A, WS_B, WS_DIAG, WS_PAIR, WS_CARRY, WS_DIG, WS_N };
static _Thread_local void *ws_ptr[WS_N];
static _Thread_local size_t ws_len[WS_N];

static void *ws_get(int slot, size_t bytes)
{
    if (ws_len[slot] < bytes) {
        free(ws_ptr[slot]);
        ws_ptr[slot] = malloc(bytes);
        if (!ws_ptr[slot]) abort();
        ws_len[slot] = bytes;
    }
    return ws_ptr[slot];
}

void ibc_prec_gemm_exact_release(void)
{
    for (int i = 0; i < WS_N; i++) {
        free(ws_ptr[i]);
        ws_ptr[i] = NULL;
        ws_len[i] = 0;
    }
}

void ibc_prec_thread_release(void)
{
    ibc_prec_gemm_exact_release();
    mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);   /* MPFR's constants (log 2, ...) cached per thread */
    flint_cleanup();                          /* FLINT's and Arb's per-thread caches */
}

static int ceil_log2(unsigned long x)
{
    int b = 0;
    while (b < 63 && (1UL << b) < x) b++;
    return b;
}

/* One row of op(A) or column of op(B). */
typedef struct {
    long e;       /* shared exponent: every |entry| < 2^e */
    long depth;   /* bits below 2^e down to the lowest set bit of any entry; 0: all zero */
    int special;  /* holds a NaN or an infinity */
} line_info;

/* Significant bits of a regular x: from its leading bit down to its lowest set bit. */
static long sig_bits(mpfr_srcptr x)
{
    const mp_limb_t *d = mpfr_custom_get_significand(x);
    long n = (long)((mpfr_get_prec(x) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS), li = 0;
    while (li < n - 1 && d[li] == 0) li++;
    return (long)GMP_NUMB_BITS * n - (long)GMP_NUMB_BITS * li - __builtin_ctzll((unsigned long long)d[li]);
}

/* Line infos of the stored rows x cols matrix S, one per row (byrow) or
 * per column, read in storage order: the significands lie in the heap in
 * that order, and strided reads missed the cache on most entries. */
static void scan_lines(mpfr_srcptr S, long rows, long cols, int byrow, line_info *out)
{
    long nl = byrow ? rows : cols;
    char *any = calloc((size_t)nl, 1);
    if (!any) abort();
    for (long l = 0; l < nl; l++) out[l] = (line_info){0, 0, 0};
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) {
            mpfr_srcptr x = S + r * cols + c;
            line_info *L = out + (byrow ? r : c);
            if (!mpfr_number_p(x)) L->special = 1;
            else if (!mpfr_zero_p(x)) {
                long e = (long)mpfr_get_exp(x), l = byrow ? r : c;
                if (!any[l] || e > L->e) L->e = e;
                any[l] = 1;
            }
        }
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) {
            mpfr_srcptr x = S + r * cols + c;
            line_info *L = out + (byrow ? r : c);
            if (mpfr_regular_p(x)) {
                long d = L->e - (long)mpfr_get_exp(x) + sig_bits(x);
                if (d > L->depth) L->depth = d;
            }
        }
    free(any);
}

/* Bits b .. b+63 of the significand d (n limbs), counted from its leading
 * bit (b >= 0); bits past the end are 0. */
static inline uint64_t window64(const mp_limb_t *d, long n, long b)
{
    long li = n - 1 - (b >> 6);
    int sh = (int)(b & 63);
    if (li < 0) return 0;
    uint64_t hi = d[li], lo = li > 0 ? d[li - 1] : 0;
    return sh ? (hi << sh) | (lo >> (64 - sh)) : hi;
}

/* An entry ready for slicing: its significand, shifted sh bits below the
 * line's exponent (n = 0: contributes nothing). */
typedef struct {
    const mp_limb_t *d;
    long n, sh;
    double sg;
} slice_src;

static void slice_src_set(slice_src *o, mpfr_srcptr x, long e)
{
    o->n = 0;
    if (!mpfr_regular_p(x)) return;
    o->d = mpfr_custom_get_significand(x);
    o->n = (long)((mpfr_get_prec(x) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
    o->sh = e - (long)mpfr_get_exp(x);
    o->sg = mpfr_signbit(x) ? -1.0 : 1.0;
}

/* All nsl slices of the entry, with its sign: out[p * step], p < nsl.  The
 * bits are streamed through a 128-bit buffer, a limb at a time (reading two
 * limbs per slice was the slicing's cost). */
static inline void slice_stream(const slice_src *o, int s, int nsl, double *out, long step)
{
    int p = 0;
    if (o->n > 0 && o->sh < (long)s * nsl) {
        p = (int)(o->sh / s);                  /* slices above the leading bit are 0 */
        for (int t = 0; t < p; t++) out[t * step] = 0.0;
        int avail = (int)(o->sh - (long)s * p);   /* leading zero bits of slice p, < s */
        unsigned __int128 buf = 0;               /* unread bits, left-aligned */
        long li = o->n - 1;
        for (; p < nsl; p++) {
            if (avail < s && li >= 0) {
                buf |= (unsigned __int128)o->d[li--] << (64 - avail);
                avail += 64;
            }
            uint64_t v = (uint64_t)(buf >> (128 - s));
            buf <<= s;
            avail -= s;
            out[p * step] = o->sg * (double)v;
            if (li < 0 && buf == 0) {            /* nothing left: the rest are 0 */
                p++;
                break;
            }
        }
    }
    for (; p < nsl; p++) out[p * step] = 0.0;
}

/* Can |Z| (limbs z[0..n-1], n >= 1, top limb nonzero), known within an error
 * below 2^q, be rounded to nearest at prec bits from Z alone?  Every value in
 * Z +- 2^q rounds alike when the bits of |Z| between the rounding bit
 * (exclusive) and bit q (inclusive) are neither all 0 nor all 1: then |Z|
 * is at least 2^q away from every rounding boundary (a multiple of half an
 * ulp). */
static int can_round(const mp_limb_t *z, long n, long prec, long q)
{
    long nb = 64 * (n - 1) + (64 - __builtin_clzll((unsigned long long)z[n - 1]));
    long hi = nb - prec - 1;   /* the rounding bit; check bits q .. hi-1 */
    if (hi - q < 1) return 0;
    int seen0 = 0, seen1 = 0;
    for (long b = q; b < hi;) {
        long li = b >> 6;
        int lo = (int)(b & 63);
        int cnt = (int)(hi - b < 64 - lo ? hi - b : 64 - lo);
        uint64_t mask = cnt == 64 ? ~0ULL : ((1ULL << cnt) - 1) << lo;
        uint64_t w = z[li] & mask;
        if (w != 0) seen1 = 1;
        if (w != mask) seen0 = 1;
        if (seen0 && seen1) return 1;
        b += cnt;
    }
    return 0;
}

/* C = Z 2^U rounded, when the error bound allows (exact: no error; else the
 * error is below 2^q).  Returns 0 when the entry needs the exact sum. */
static int finish_entry(mpfr_ptr c, const mp_limb_t *z, long n, int neg, long U, long q, int exact)
{
    while (n > 0 && z[n - 1] == 0) n--;
    if (n == 0) {
        if (!exact) return 0;
        mpfr_set_zero(c, 1);
        return 1;
    }
    if (!exact && !can_round(z, n, (long)mpfr_get_prec(c), q)) return 0;
    mpz_t zz;
    mpz_roinit_n(zz, z, neg ? -n : n);
    mpfr_set_z_2exp(c, zz, (mpfr_exp_t)U, MPFR_RNDN);
    return 1;
}

#define OPA(i, k) (ta ? A + (k) * M + (i) : A + (i) * K + (k))
#define OPB(k, j) (tb ? B + (j) * K + (k) : B + (k) * N + (j))

/* The exact sum: K exact products (precision prec(a) + prec(b)), mpfr_sum,
 * which rounds correctly and handles NaN and infinities. */
typedef struct {
    int ta, tb;
    long M, N, K;
    mpfr_srcptr A, B;
    mpfr_t *t;
    mpfr_ptr *ptr;
    long n_exact, n_bound;   /* entries settled by the fixed point, exact or within its bound */
} exact_sum;

static void exact_sum_init(exact_sum *x, int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B)
{
    *x = (exact_sum){ta, tb, M, N, K, A, B, NULL, NULL, 0, 0};
}

/* The K product temporaries, made on the first fallback only (most
 * products have none, and K mpfr_init2 per call showed in the profile). */
static void exact_sum_alloc(exact_sum *x)
{
    const long K = x->K;
    x->t = malloc(sizeof(mpfr_t) * (size_t)K);
    x->ptr = malloc(sizeof(mpfr_ptr) * (size_t)K);
    if (!x->t || !x->ptr) abort();
    for (long k = 0; k < K; k++) {
        mpfr_init2(x->t[k], MPFR_PREC_MIN);
        x->ptr[k] = x->t[k];
    }
}

static void exact_sum_clear(exact_sum *x)
{
    __atomic_fetch_add(&stat_exact, x->n_exact, __ATOMIC_RELAXED);
    __atomic_fetch_add(&stat_bound, x->n_bound, __ATOMIC_RELAXED);
    if (!x->t) return;
    for (long k = 0; k < x->K; k++) mpfr_clear(x->t[k]);
    free(x->t);
    free(x->ptr);
}

static void exact_sum_entry(exact_sum *x, mpfr_ptr c, long i, long j)
{
    const int ta = x->ta, tb = x->tb;
    const long M = x->M, N = x->N, K = x->K;
    mpfr_srcptr A = x->A, B = x->B;
    if (!x->t) exact_sum_alloc(x);
    for (long k = 0; k < K; k++) {
        mpfr_srcptr a = OPA(i, k), b = OPB(k, j);
        mpfr_prec_t p = mpfr_get_prec(a) + mpfr_get_prec(b);
        if (mpfr_get_prec(x->t[k]) < p) mpfr_set_prec(x->t[k], p);
        mpfr_mul(x->t[k], a, b, MPFR_RNDN);   /* exact: enough bits */
    }
    mpfr_sum(c, x->ptr, (unsigned long)K, MPFR_RNDN);
    __atomic_fetch_add(&stat_fallback, 1, __ATOMIC_RELAXED);
}

/* Entry (i, j) = Z 2^U rounded when its error bound allows (finish_entry),
 * else the exact sum. */
static void settle(exact_sum *x, mpfr_ptr c, long i, long j, const mp_limb_t *z, long n, int neg, long U, long q,
                   int exact)
{
    if (!finish_entry(c, z, n, neg, U, q, exact)) exact_sum_entry(x, c, i, j);
    else if (exact) x->n_exact++;
    else x->n_bound++;
}

/* Number of slices and their width for inner dimension K at target pmax.
 * per_pair = 0: one dgemm per anti-diagonal sums nsl slice products over K,
 * so K nsl 2^(2s) <= 2^53; per_pair = 1: one dgemm per slice pair, K 2^(2s)
 * <= 2^53 (wider slices, fewer of them; the pairs of a diagonal are then
 * summed in int64). */
static void slice_plan(long K, long pmax, int per_pair, int *s_out, int *nsl_out)
{
    int nsl = 1, s = 26;
    for (int it = 0; it < 64; it++) {
        s = (53 - ceil_log2((unsigned long)K * (unsigned long)(per_pair ? 1 : nsl))) / 2;
        if (s < 1) s = 1;
        long need = pmax + GUARD + 3 + ceil_log2((unsigned long)K * (unsigned long)(nsl + 1));
        int want = (int)((need + s - 1) / s);
        if (want <= nsl) break;
        nsl = want;
    }
    *s_out = s;
    *nsl_out = nsl;
}

static int slices_fit(int s, int nsl)
{
    return nsl <= IBC_GEMM_SLICES_MAX && (long)s * nsl + 64 <= 64 * (ZLIMBS - 2);
}

/* The route for inner dimension K at precision pmax (IBC_GEMM_*).  Between
 * the two dgemm routes, the work is estimated in multiply-adds per output
 * entry: K per slice pair, plus (per pair) the int64 sum of its result,
 * worth about 48 multiply-adds of dgemm (measured on the defaults' shapes:
 * per pair wins at K = 500, 256 bits, 120 -> 91 pairs, 10.3 -> 7.9 ms of
 * dgemm; it loses at K = 30, where the sums would cost more than the 13
 * pairs saved). */
int ibc_prec_gemm_exact_route(long K, long pmax)
{
    int sd, nd, sp, np;
    slice_plan(K, pmax, 0, &sd, &nd);
    slice_plan(K, pmax, 1, &sp, &np);
    int fit_d = slices_fit(sd, nd), fit_p = slices_fit(sp, np);
    if (!fit_d && !fit_p) return IBC_GEMM_FMPZ;
    double cost_d = 0.5 * nd * (nd + 1.0) * (double)K, cost_p = 0.5 * np * (np + 1.0) * ((double)K + 48.0);
    if (!fit_d || (fit_p && cost_p < cost_d)) return IBC_GEMM_PAIRS;
    return IBC_GEMM_DIAGONALS;
}

/* ---- the dgemm route ---- */

/* Slices of s bits that a line of this depth can have nonzero: those below
 * ceil(depth / s) are zero (depth 0: an all-zero line, none). */
static long line_slices(const line_info *l, int s)
{
    return (l->depth + s - 1) / s;
}

static void gemm_slices(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                        const line_info *ra, const line_info *cb, int s, int nsl, int per_pair, exact_sum *xs)
{
    const long L = nsl - 1, KS = K * nsl, MN = M * N;
    /* Slices that can be nonzero: an entry of depth d has none below
     * slice ceil(d / s).  Short operands (the data held at 1280 bits in
     * certified-gd, short mantissas) need far fewer than nsl; the pairs with
     * a zero slice are skipped (the dgemm sums are the same integers, so the
     * result is the same) and the slices past nA, nB are never read, so
     * not written either. */
    long nA = 0, nB = 0;
    for (long i = 0; i < M; i++) {
        long d = line_slices(ra + i, s);
        if (d > nA) nA = d;
    }
    for (long j = 0; j < N; j++) {
        long d = line_slices(cb + j, s);
        if (d > nB) nB = d;
    }
    if (nA > nsl) nA = nsl;
    if (nB > nsl) nB = nsl;
    /* as holds op(A)'s slice blocks A^(0) .. A^(L) side by side (M x KS;
     * stored as KS x M when ta), bs the blocks B^(L) .. B^(0) from the top
     * (KS x N; stored as N x KS when tb): each entry's slices then go to
     * nsl sequential streams whichever way its matrix is stored (with op's
     * layout, a transposed operand's slices went to a new cache line each:
     * half the backward product's time), and dgemm reads the transposes. */
    double *as = ws_get(WS_A, sizeof(double) * (size_t)(M * KS));
    double *bs = ws_get(WS_B, sizeof(double) * (size_t)(KS * N));
    slice_src src[1];
    for (long u = 0; u < M * K; u++) {        /* u: storage order of A */
        long i = ta ? u % M : u / K, k = ta ? u / M : u % K;
        slice_src_set(src, A + u, ra[i].e);
        if (ta) slice_stream(src, s, (int)nA, as + k * M + i, K * M);
        else slice_stream(src, s, (int)nA, as + i * KS + k, K);
    }
    for (long u = 0; u < K * N; u++) {        /* u: storage order of B */
        long k = tb ? u % K : u / N, j = tb ? u / K : u % N;
        slice_src_set(src, B + u, cb[j].e);
        if (tb) slice_stream(src, s, (int)nB, bs + j * KS + L * K + k, -K);
        else slice_stream(src, s, (int)nB, bs + (L * K + k) * N + j, -K * N);
    }
    /* Anti-diagonal t holds the pairs A^(p) B^(t-p), plo <= p <= phi: the
     * blocks A^(plo) .. A^(phi) (M x K(phi-plo+1)) times the blocks
     * B^(t-plo) .. B^(t-phi), which lie in that order from block L - t + plo.
     * Per anti-diagonal: one dgemm, its sum exact in double (dg).  Per
     * pair: one dgemm each, summed exactly in int64 (dgi). */
    double *dg = per_pair ? ws_get(WS_PAIR, sizeof(double) * (size_t)MN)
                          : ws_get(WS_DIAG, sizeof(double) * (size_t)(MN * nsl));
    int64_t *dgi = per_pair ? ws_get(WS_DIAG, sizeof(int64_t) * (size_t)(MN * nsl)) : NULL;
    long dgemm_ns = 0;
    const int timed = __atomic_load_n(&time_dgemm, __ATOMIC_RELAXED);
    for (long t = 0; t <= L; t++) {
        long plo = t - nB + 1 > 0 ? t - nB + 1 : 0, phi = t < nA - 1 ? t : nA - 1;
        if (plo > phi) {
            if (per_pair) memset(dgi + t * MN, 0, sizeof(int64_t) * (size_t)MN);
            else memset(dg + t * MN, 0, sizeof(double) * (size_t)MN);
            continue;
        }
        for (long p = plo; p <= (per_pair ? phi : plo); p++) {
            long len = per_pair ? 1 : phi - plo + 1, r = L - t + p;   /* B^(t-p) is block r from the top */
            long t0 = timed ? thread_ns() : 0;
            cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M,
                        (int)N, (int)(K * len), 1.0, ta ? as + p * K * M : as + p * K, ta ? (int)M : (int)KS,
                        tb ? bs + r * K : bs + r * K * N, tb ? (int)KS : (int)N, 0.0, per_pair ? dg : dg + t * MN,
                        (int)N);
            if (timed) dgemm_ns += thread_ns() - t0;
            if (!per_pair) continue;
            int64_t *o = dgi + t * MN;
            if (p == plo)
                for (long e = 0; e < MN; e++) o[e] = (int64_t)dg[e];
            else
                for (long e = 0; e < MN; e++) o[e] += (int64_t)dg[e];
        }
    }
    __atomic_fetch_add(&stat_dgemm_ns, dgemm_ns, __ATOMIC_RELAXED);
    const long q = s + 1 + ceil_log2((unsigned long)K * (unsigned long)(L + 2));
    const uint64_t mask = (1ULL << s) - 1;
    const long FL = (long)s * L;   /* bits of the fractional digits 1..L */
    mp_limb_t z[ZLIMBS];
    /* carries from the last anti-diagonal up, a row at a time (contiguous
     * in j): digits 1..L in [0, 2^s) (dig[j * nsl + t]), the top signed */
    int64_t *carry = ws_get(WS_CARRY, sizeof(int64_t) * (size_t)N);
    uint64_t *dig = ws_get(WS_DIG, sizeof(uint64_t) * (size_t)(N * nsl));
    for (long i = 0; i < M; i++) {
        long di = line_slices(ra + i, s);
        for (long j = 0; j < N; j++) carry[j] = 0;
        for (long t = L; t >= 0; t--) {
            const double *row = per_pair ? NULL : dg + t * MN + i * N;
            const int64_t *rowi = per_pair ? dgi + t * MN + i * N : NULL;
            for (long j = 0; j < N; j++) {
                int64_t v = (per_pair ? rowi[j] : (int64_t)row[j]) + carry[j];
                uint64_t d = t ? (uint64_t)v & mask : 0;
                dig[j * nsl + t] = d;
                carry[j] = t ? v >> s : v;   /* arithmetic shift: floor(v / 2^s) */
            }
        }
        for (long j = 0; j < N; j++) {
            mpfr_ptr c = C + i * N + j;
            if (ra[i].special || cb[j].special) {
                exact_sum_entry(xs, c, i, j);
                continue;
            }
            long dj = line_slices(cb + j, s);
            /* no dropped slice pair is nonzero: Z is the exact value */
            int exact = ra[i].depth == 0 || cb[j].depth == 0 || di + dj - 2 <= L;
            long nl = (FL + 64 + 63) / 64 + 1;
            /* The digits t = L .. 1 lie at increasing bit positions s (L - t):
             * gathered in a register and written a limb at a time (or-ing
             * each into z in memory made a chain of stores and reloads). */
            unsigned __int128 buf = 0;
            int bb = 0;
            long li = 0;
            uint64_t anyd = 0;
            for (long t = L; t >= 1; t--) {
                uint64_t d = dig[j * nsl + t];
                anyd |= d;
                buf |= (unsigned __int128)d << bb;
                bb += s;
                if (bb >= 64) {
                    z[li++] = (uint64_t)buf;
                    buf >>= 64;
                    bb -= 64;
                }
            }
            for (; li < nl; li++) {
                z[li] = (uint64_t)buf;
                buf >>= 64;
            }
            int anyf = anyd != 0;
            int64_t top = carry[j];
            int neg = top < 0;
            uint64_t mag = neg ? (uint64_t)(-top) : (uint64_t)top;
            long nf = (FL + 63) / 64;   /* limbs holding the fraction */
            if (neg && anyf) {
                /* |Z| = (|top| - 1) 2^FL + (2^FL - F) */
                mpn_neg(z, z, nf);
                if (FL & 63) z[nf - 1] &= (1ULL << (FL & 63)) - 1;
                mag -= 1;
            }
            if (mag) {
                long li = FL >> 6;
                int sh = (int)(FL & 63);
                z[li] |= mag << sh;
                if (sh) z[li + 1] |= mag >> (64 - sh);
            }
            settle(xs, c, i, j, z, nl, neg, ra[i].e + cb[j].e - (long)s * (L + 2), q, exact);
        }
    }
}

/* ---- the fmpz route: integers of P bits below each line's exponent ---- */

/* out = trunc(x 2^(P - e)) */
static void to_fmpz(fmpz_t out, mpz_t tmp, mpfr_srcptr x, long e, long P)
{
    if (!mpfr_regular_p(x)) {
        fmpz_zero(out);
        return;
    }
    long E = (long)mpfr_get_z_2exp(tmp, x) + P - e;   /* x = tmp 2^(E - P + e) */
    if (E >= 0) mpz_mul_2exp(tmp, tmp, (mp_bitcnt_t)E);
    else mpz_tdiv_q_2exp(tmp, tmp, (mp_bitcnt_t)(-E));
    fmpz_set_mpz(out, tmp);
}

static void gemm_fmpz(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                      const line_info *ra, const line_info *cb, long pmax, exact_sum *xs)
{
    const long P = pmax + GUARD + 4 + ceil_log2((unsigned long)K);
    /* |a - a_P| < 2^(e_i - P), so the error of a sum of K terms is below
     * K (2^P + 2^P) units of 2^(e_i + f_j - 2P) */
    const long q = P + 1 + ceil_log2((unsigned long)K) + 1;
    fmpz_mat_t a, b, c;
    fmpz_mat_init(a, M, K);
    fmpz_mat_init(b, K, N);
    fmpz_mat_init(c, M, N);
    mpz_t tmp;
    mpz_init(tmp);
    for (long i = 0; i < M; i++)
        for (long k = 0; k < K; k++) to_fmpz(fmpz_mat_entry(a, i, k), tmp, OPA(i, k), ra[i].e, P);
    for (long k = 0; k < K; k++)
        for (long j = 0; j < N; j++) to_fmpz(fmpz_mat_entry(b, k, j), tmp, OPB(k, j), cb[j].e, P);
    fmpz_mat_mul(c, a, b);
    for (long i = 0; i < M; i++)
        for (long j = 0; j < N; j++) {
            mpfr_ptr out = C + i * N + j;
            if (ra[i].special || cb[j].special) {
                exact_sum_entry(xs, out, i, j);
                continue;
            }
            int exact = ra[i].depth <= P && cb[j].depth <= P;
            fmpz_get_mpz(tmp, fmpz_mat_entry(c, i, j));
            long n = (long)mpz_size(tmp);
            settle(xs, out, i, j, n ? mpz_limbs_read(tmp) : NULL, n, mpz_sgn(tmp) < 0, ra[i].e + cb[j].e - 2 * P, q,
                   exact);
        }
    __atomic_fetch_add(&stat_fmpz, 1, __ATOMIC_RELAXED);
    mpz_clear(tmp);
    fmpz_mat_clear(a);
    fmpz_mat_clear(b);
    fmpz_mat_clear(c);
}

void ibc_prec_gemm_exact_mpfr(int ta, int tb, long M, long N, long K, mpfr_srcptr A, mpfr_srcptr B, mpfr_ptr C,
                              int route)
{
    if (M <= 0 || N <= 0) return;
    __atomic_fetch_add(&stat_calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&stat_entries, M * N, __ATOMIC_RELAXED);
    if (K <= 0) {
        for (long i = 0; i < M * N; i++) mpfr_set_zero(C + i, 1);
        __atomic_fetch_add(&stat_exact, M * N, __ATOMIC_RELAXED);
        return;
    }
    long pmax = MPFR_PREC_MIN;
    for (long i = 0; i < M * N; i++)
        if ((long)mpfr_get_prec(C + i) > pmax) pmax = (long)mpfr_get_prec(C + i);
    line_info *ra = malloc(sizeof(line_info) * (size_t)M), *cb = malloc(sizeof(line_info) * (size_t)N);
    if (!ra || !cb) abort();
    if (ta) scan_lines(A, K, M, 0, ra);     /* rows of op(A): columns of the stored K x M */
    else scan_lines(A, M, K, 1, ra);
    if (tb) scan_lines(B, N, K, 1, cb);     /* columns of op(B): rows of the stored N x K */
    else scan_lines(B, K, N, 0, cb);
    exact_sum xs;
    exact_sum_init(&xs, ta, tb, M, N, K, A, B);
    if (route < 0) route = ibc_prec_gemm_exact_route(K, pmax);
    int s = 0, nsl = 0, per_pair = route == IBC_GEMM_PAIRS;
    if (route != IBC_GEMM_FMPZ) slice_plan(K, pmax, per_pair, &s, &nsl);
    if (route != IBC_GEMM_FMPZ && slices_fit(s, nsl))
        gemm_slices(ta, tb, M, N, K, A, B, C, ra, cb, s, nsl, per_pair, &xs);
    else
        gemm_fmpz(ta, tb, M, N, K, A, B, C, ra, cb, pmax, &xs);
    exact_sum_clear(&xs);
    free(ra);
    free(cb);
}
