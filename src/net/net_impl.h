/* The pReLU network's formulas (docs/theory.md §2-3), written once for every mode.
 * Included by net_double.c, net_mpfr.c and net_arb.c after a scalar layer
 * (src/prec/scalar_*.h), which supplies FN(), S_* and S_GEMM.
 *
 * Units are computed as ||w|| * sigma(<x, w_hat>)^p (docs/theory.md §2): with
 * a_hat = sigma(<x, w_hat>),
 *   f(x)        = sum_j v_j ||w_j|| a_hat^p
 *   dL/dv_j     = ||w_j|| sum_i g_i a_hat_ij^p
 *   dL/dw_j     = v_j [ p sum_i g_i a_hat_ij^(p-1) x_i - (p-1) (sum_i g_i a_hat_ij^p) w_hat_j ]
 * which equal docs/theory.md §3's expressions after dividing by ||w_j||^(p-1), and
 * neither overflow nor underflow for tiny ||w||. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* loss l(q) and its derivative l'(q) at one margin q (docs/theory.md §3):
 * exp: e^-q; logistic: log(1 + e^-q), evaluated on the side where the
 * exponential cannot overflow. tmp is scratch. */
static void FN(loss_point)(const ibc_net_params *par, S_PTR q, S_PTR l, S_PTR dl, S_PTR tmp, long bits)
{
    S_BITS_DECL(bits);
    if (par->loss == IBC_LOSS_EXP) {
        S_NEG(S_AT(tmp, 0), S_AT(q, 0));
        S_EXP(S_AT(l, 0), S_AT(tmp, 0));
        S_NEG(S_AT(dl, 0), S_AT(l, 0));
        return;
    }
    if (S_SGN(S_AT(q, 0)) >= 0) {                 /* e = e^-q <= 1 */
        S_NEG(S_AT(tmp, 0), S_AT(q, 0));
        S_EXP(S_AT(tmp, 0), S_AT(tmp, 0));
        S_LOG1P(S_AT(l, 0), S_AT(tmp, 0));        /* l = log1p(e) */
        S_SET_SI(S_AT(dl, 0), 1);
        S_ADD(S_AT(dl, 0), S_AT(dl, 0), S_AT(tmp, 0));
        S_DIV(S_AT(dl, 0), S_AT(tmp, 0), S_AT(dl, 0));
        S_NEG(S_AT(dl, 0), S_AT(dl, 0));          /* l' = -e/(1+e) */
    } else {                                      /* e = e^q < 1 */
        S_EXP(S_AT(tmp, 0), S_AT(q, 0));
        S_LOG1P(S_AT(l, 0), S_AT(tmp, 0));
        S_SUB(S_AT(l, 0), S_AT(l, 0), S_AT(q, 0)); /* l = -q + log1p(e) */
        S_SET_SI(S_AT(dl, 0), 1);
        S_ADD(S_AT(tmp, 0), S_AT(tmp, 0), S_AT(dl, 0));
        S_DIV(S_AT(dl, 0), S_AT(dl, 0), S_AT(tmp, 0));
        S_NEG(S_AT(dl, 0), S_AT(dl, 0));          /* l' = -1/(1+e) */
    }
    if (par->loss_scale2) {
        S_MUL_SI(S_AT(l, 0), S_AT(l, 0), 2);
        S_MUL_SI(S_AT(dl, 0), S_AT(dl, 0), 2);
    }
}

/* Neuron norms ||w_j|| into nrm (length h).  One pass of plain squares when
 * the sum shows that no square under- or overflowed (S_NRM_SAFE; always in
 * MPFR and Arb, whose exponent range is huge); otherwise, in double, a second
 * pass scaled by a power of two (exact), as BLAS nrm2 scales, so that tiny
 * weights (eps down to 1e-300) keep their digits.  One pass instead of two
 * halves the memory traffic of this loop at the paper's size (h D = 2e6). */
typedef struct {
    const ibc_net *net;
    S_PTR W;
    S_PTR nrm;
} FN(norms_ctx);

static void FN(neuron_norms_range)(void *vc, long j0, long j1)
{
    const FN(norms_ctx) *c = vc;
    const ibc_net *net = c->net;
    S_PTR W = c->W;
    S_PTR nrm = c->nrm;
    S_BITS_DECL(net->pr.bits);
    S_DECL(t);
    S_INIT(t);
    for (long j = j0; j < j1; j++) {
        S_PTR w = W + j * net->D;
        S_SET_ZERO(S_AT(nrm, j));
        for (long d = 0; d < net->D; d++) {
            S_MUL(t, S_AT(w, d), S_AT(w, d));
            S_ADD(S_AT(nrm, j), S_AT(nrm, j), t);
        }
        if (!S_NRM_SAFE(S_AT(nrm, j))) {
            double m = 0;
            for (long d = 0; d < net->D; d++) m = fmax(m, fabs(S_GET_D(S_AT(w, d))));
            S_SET_ZERO(S_AT(nrm, j));
            if (m == 0 || !isfinite(m)) {
                if (!isfinite(m)) S_SET_D(S_AT(nrm, j), m);
                continue;
            }
            int e;
            frexp(m, &e);
            for (long d = 0; d < net->D; d++) {
                S_MUL_2SI(t, S_AT(w, d), -e);
                S_MUL(t, t, t);
                S_ADD(S_AT(nrm, j), S_AT(nrm, j), t);
            }
            S_SQRT(S_AT(nrm, j), S_AT(nrm, j));
            S_MUL_2SI(S_AT(nrm, j), S_AT(nrm, j), e);
            continue;
        }
        S_SQRT(S_AT(nrm, j), S_AT(nrm, j));
    }
    S_CLEAR(t);
}

static void FN(neuron_norms)(const ibc_net *net, S_PTR W, S_PTR nrm)
{
    FN(norms_ctx) c = {net, W, nrm};
    S_PAR_RANGE(net->h, 2.0 * (double)net->D, FN(neuron_norms_range), &c);
}

/* One active unit (docs/theory.md §2): a <- a_hat = <x_i, w_j> / ||w_j||,
 * pw <- a_hat^(p-1), then a <- a_hat^p.  pint is p when p is an integer
 * (then a^(p-1) by products), else 0.  Both loops of units() call it; the
 * branch-free one with a constant pint, so that the products unroll. */
static inline __attribute__((always_inline)) void FN(ibc_net_unit_pow)(S_PTR a, S_PTR pw, S_PTR nrmj, long pint, double p,
                                                               long bits)
{
    S_BITS_DECL(bits);
    S_DIV(S_AT(a, 0), S_AT(a, 0), S_AT(nrmj, 0));   /* a_hat */
    if (pint == 1)
        S_SET_SI(S_AT(pw, 0), 1);
    else if (pint > 1)
        S_POW_UI(S_AT(pw, 0), S_AT(a, 0), pint - 1);
    else
        S_POW(S_AT(pw, 0), S_AT(a, 0), p - 1.0);
    S_MUL(S_AT(a, 0), S_AT(pw, 0), S_AT(a, 0));      /* a_hat^p */
}

#ifdef S_SELECT
/* R consecutive rows of units() (integer p = pint <= 4), without branches:
 * every unit is computed and the inactive ones are selected to 0
 * (f_i + 0 = f_i, so f is the same sum).  Active units switch at random,
 * and the general loop's branch on them mispredicted about every other
 * unit.  A unit is active where pat says so (a frozen pattern, rows of h
 * entries; an active unit past its kink continues the piece: u^p of an
 * integer p is smooth), else where <x_i, w_j> > 0.  The R rows are
 * interleaved so that their R sums f_i, each still in the order
 * j = 0..h-1, are R independent chains of additions instead of one. */
static inline __attribute__((always_inline)) void FN(ibc_net_units_rows_sel)(long h, S_PTR A, S_PTR P, S_PTR nrm, S_PTR c,
                                                                    long pint, S_PTR fi, int R,
                                                                    const unsigned char *pat)
{
    S_ELEM fr[4];   /* the sums in registers: f beside A and P went through memory */
    for (int r = 0; r < R; r++) S_SET_ZERO(fr[r]);
    for (long j = 0; j < h; j++)
        for (int r = 0; r < R; r++) {
            long ij = r * h + j;
            int on = (!S_IS_ZERO(S_AT(nrm, j))) & (pat ? pat[ij] != 0 : S_SGN(S_AT(A, ij)) > 0);
            S_DECL(ah);
            S_DECL(pw);
            S_DECL(t);
            S_SET(ah, S_AT(A, ij));
            FN(ibc_net_unit_pow)(S_REF(ah), S_REF(pw), nrm + j, pint, (double)pint, 53);
            S_MUL(t, S_AT(c, j), ah);
            S_SELECT(S_AT(A, ij), on, ah);
            S_SELECT(S_AT(P, ij), on, pw);
            S_SELECT(t, on, t);
            S_ADD(fr[r], fr[r], t);
        }
    for (int r = 0; r < R; r++) S_SET(S_AT(fi, r), fr[r]);
}

/* units() for all m rows, 4 at a time, p = pint a constant; pat: the
 * frozen pattern of these rows, or NULL. */
static inline __attribute__((always_inline)) void FN(ibc_net_units_sel)(long m, long h, S_PTR A, S_PTR P, S_PTR nrm, S_PTR c,
                                                               long pint, S_PTR f, const unsigned char *pat)
{
    long i = 0;
    if (pat) {
        for (; i + 4 <= m; i += 4)
            FN(ibc_net_units_rows_sel)(h, A + i * h, P + i * h, nrm, c, pint, f + i, 4, pat + i * h);
        for (; i < m; i++) FN(ibc_net_units_rows_sel)(h, A + i * h, P + i * h, nrm, c, pint, f + i, 1, pat + i * h);
        return;
    }
    for (; i + 4 <= m; i += 4) FN(ibc_net_units_rows_sel)(h, A + i * h, P + i * h, nrm, c, pint, f + i, 4, NULL);
    for (; i < m; i++) FN(ibc_net_units_rows_sel)(h, A + i * h, P + i * h, nrm, c, pint, f + i, 1, NULL);
}

/* Rows [i0, i1) of units() by the branch-free loop, for S_PAR_RANGE: each
 * row's sum f_i is formed by the same code in the same order whoever runs
 * it, so the result does not depend on the thread count. */
typedef struct {
    long h, pint;
    S_PTR A;
    S_PTR P;
    S_PTR nrm;
    S_PTR c;
    S_PTR f;
    const unsigned char *pat;
} FN(units_sel_ctx);

static void FN(units_sel_range)(void *vc, long i0, long i1)
{
    const FN(units_sel_ctx) *u = vc;
    const long h = u->h;
    S_PTR A = u->A + i0 * h;
    S_PTR P = u->P + i0 * h;
    S_PTR f = u->f + i0;
    const unsigned char *pat = u->pat ? u->pat + i0 * h : NULL;
    switch (u->pint) {   /* a constant power: powi unrolls to plain products */
    case 1: FN(ibc_net_units_sel)(i1 - i0, h, A, P, u->nrm, u->c, 1, f, pat); break;
    case 2: FN(ibc_net_units_sel)(i1 - i0, h, A, P, u->nrm, u->c, 2, f, pat); break;
    case 3: FN(ibc_net_units_sel)(i1 - i0, h, A, P, u->nrm, u->c, 3, f, pat); break;
    default: FN(ibc_net_units_sel)(i1 - i0, h, A, P, u->nrm, u->c, 4, f, pat); break;
    }
}
#endif

/* The units of m points Xm (m x D): on return A_ij = a_hat_ij^p,
 * P_ij = a_hat_ij^(p-1) (the derivative factor; 0 where a_hat = 0, which is
 * the Clarke convention sigma'(0) = 0 and avoids pow(0, 0) = 1 for p = 1),
 * and f_i = sum_j v_j ||w_j|| A_ij.  Returns the number of units whose
 * <x_i, w_j> ball straddles the kink (arb mode; 0 otherwise). */
static long FN(units)(const ibc_net *net, S_PTR W, S_PTR v, S_PTR nrm, S_PTR Xm, long m,
                      S_PTR A, S_PTR P, S_PTR f, S_PTR c, const unsigned char *pat)
{
    S_BITS_DECL(net->pr.bits);
    long h = net->h;
    const double p = net->par.p;
    long kinks = 0;
    S_DECL(t);
    S_DECL(fi);
    S_INIT(t);
    S_INIT(fi);
    S_GEMM(0, 1, m, h, net->D, Xm, W, A, net->pr.bits);    /* A = Xm W^T */
    for (long j = 0; j < h; j++) S_MUL(S_AT(c, j), S_AT(v, j), S_AT(nrm, j));   /* v_j ||w_j|| */
#ifdef S_SELECT
    if (net->pint >= 1 && net->pint <= 4 && !net->units_general) {
        FN(units_sel_ctx) u = {h, net->pint, A, P, nrm, c, f, pat};
        S_PAR_RANGE(m, 8.0 * (double)h, FN(units_sel_range), &u);
        S_CLEAR(t);
        S_CLEAR(fi);
        return 0;
    }
#endif
    /* Row by row: A is m x h row-major, so the inner loop walks memory in
     * order; f_i sums its units in the order j = 0..h-1. */
    for (long i = 0; i < m; i++) {
        S_SET_ZERO(fi);
        for (long j = 0; j < h; j++) {
            long ij = i * h + j;
            int dead = S_IS_ZERO(S_AT(nrm, j));
            /* With a frozen pattern an active unit may sit slightly past its
             * kink: u^p with integer p continues the piece smoothly. */
            if (!dead && !pat && S_KINK_HULL(S_AT(A, ij)))
                kinks++;
            if (dead || (pat ? !pat[ij] : S_SGN(S_AT(A, ij)) <= 0)) {
                S_SET_ZERO(S_AT(A, ij));
                S_SET_ZERO(S_AT(P, ij));
                continue;
            }
            FN(ibc_net_unit_pow)(A + ij, P + ij, nrm + j, net->pint, p, net->pr.bits);
            S_MUL(t, S_AT(c, j), S_AT(A, ij));
            S_ADD(fi, fi, t);
        }
        S_SET(S_AT(f, i), fi);
    }
    S_CLEAR(t);
    S_CLEAR(fi);
    return kinks;
}

/* The rest of dL/dw_j once dW_j holds p v_j sum_i g_i a_hat^(p-1) x_i:
 * dW_j -= v_j (p-1) s_j / ||w_j|| w_j, and dL/dv_j = ||w_j|| s_j, for
 * neurons j0..j1-1 (independent: threaded in double). */
typedef struct {
    const ibc_net *net;
    S_PTR W;
    S_PTR v;
    S_PTR nrm;
    S_PTR acc;
    S_PTR dW;
    S_PTR dv;
    S_PTR meta;   /* the step: NULL, or -eta (then next = theta + meta grad) */
    S_PTR next;
    int nonfinite;
} FN(wgrad_ctx);

static void FN(wgrad_range)(void *vc, long j0, long j1)
{
    FN(wgrad_ctx) *c = vc;
    int finite = 1;
    const ibc_net *net = c->net;
    const long D = net->D;
    S_BITS_DECL(net->pr.bits);
    S_DECL(tmp);
    S_DECL(q);
    S_DECL(gd);
    S_INIT(tmp);
    S_INIT(q);
    S_INIT(gd);
    for (long j = j0; j < j1; j++) {
        S_MUL(S_AT(c->dv, j), S_AT(c->nrm, j), S_AT(c->acc, j));
        int dead = S_IS_ZERO(S_AT(c->nrm, j));   /* dead: G's column is 0, so dW_j = 0 */
        if (!dead) {
            /* v_j (p-1) s_j / ||w_j||, the coefficient of w_j */
            S_MUL_D(tmp, S_AT(c->acc, j), net->par.p - 1.0);
            S_DIV(tmp, tmp, S_AT(c->nrm, j));
            S_MUL(tmp, tmp, S_AT(c->v, j));
        }
        if (!c->meta) {
            if (dead) continue;
            for (long d = 0; d < D; d++) {
                long jd = j * D + d;
                S_MUL(q, tmp, S_AT(c->W, jd));
                S_SUB(S_AT(c->dW, jd), S_AT(c->dW, jd), q);
            }
            continue;
        }
        /* The step in the same pass: next = theta + meta g with g formed as
         * above, the operations of eval then a separate update, one entry at
         * a time (so the same bits), without writing g and reading it back:
         * half the memory traffic of the two passes at the paper's size.  g
         * of a dead neuron is dW_j as the product left it. */
        for (long d = 0; d < D; d++) {
            long jd = j * D + d;
            if (dead) {
                S_SET(gd, S_AT(c->dW, jd));
            } else {
                S_MUL(q, tmp, S_AT(c->W, jd));
                S_SUB(gd, S_AT(c->dW, jd), q);
            }
            S_MUL(q, S_AT(c->meta, 0), gd);
            S_ADD(S_AT(c->next, jd), S_AT(c->W, jd), q);
            finite &= S_IS_FINITE(S_AT(c->next, jd)) != 0;
        }
        S_MUL(q, S_AT(c->meta, 0), S_AT(c->dv, j));
        S_ADD(S_AT(c->next, net->h * D + j), S_AT(c->v, j), q);
        finite &= S_IS_FINITE(S_AT(c->next, net->h * D + j)) != 0;
    }
    if (!finite) __atomic_store_n(&c->nonfinite, 1, __ATOMIC_RELAXED);
    S_CLEAR(tmp);
    S_CLEAR(q);
    S_CLEAR(gd);
}

/* The backward pass's elementwise part for neurons [j0, j1): s_j = sum_i
 * g_i a_hat_ij^p (in the order i = 0..nb-1, whoever runs it: the same
 * bits for every thread count) and G_ij = p v_j g_i a_hat_ij^(p-1) in P. */
typedef struct {
    long nb, h, bits;
    S_PTR g;
    S_PTR A;
    S_PTR P;
    S_PTR pv;
    S_PTR acc;
} FN(acc_ctx);

static void FN(acc_range)(void *vc, long j0, long j1)
{
    const FN(acc_ctx) *c = vc;
    const long h = c->h;
    S_BITS_DECL(c->bits);
    S_DECL(t);
    S_INIT(t);
    S_PTR g = c->g;
    S_PTR A = c->A;
    S_PTR P = c->P;
    S_PTR pv = c->pv;
    S_PTR acc = c->acc;
    for (long j = j0; j < j1; j++) S_SET_ZERO(S_AT(acc, j));
    for (long r = 0; r < c->nb; r++) {
#ifdef S_SKIP_ZERO_UNITS
        /* With g_i finite, an inactive unit adds g_i 0 = +-0 to s_j, which
         * leaves s_j as it is (s_j, formed from +0 in RNDN, is never -0),
         * and its G_ij is a zero, which the product reads as nothing. */
        const int skip = S_IS_FINITE(S_AT(g, r)) != 0;
#endif
        for (long j = j0; j < j1; j++) {
            long ij = r * h + j;
#ifdef S_SKIP_ZERO_UNITS
            if (skip && S_IS_ZERO(S_AT(A, ij)) && S_IS_ZERO(S_AT(P, ij))) continue;
#endif
            S_MUL(t, S_AT(g, r), S_AT(A, ij));
            S_ADD(S_AT(acc, j), S_AT(acc, j), t);       /* s_j = sum_i g_i a_hat^p */
            S_MUL(S_AT(P, ij), S_AT(P, ij), S_AT(g, r)); /* g_i a_hat^(p-1) */
            S_MUL(S_AT(P, ij), S_AT(P, ij), S_AT(pv, j)); /* G_ij = p v_j g_i a_hat^(p-1) */
        }
    }
    S_CLEAR(t);
}

/* ibc_net_eval, and with meta (-eta) the step next = theta + meta grad fused
 * into the gradient's last pass (ibc_net_step); returns 0 when an entry of
 * next is not finite, else 1. */
static int FN(eval_core)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, ibc_vec *loss,
                         ibc_vec *grad, ibc_vec *fout, S_PTR meta, ibc_vec *next)
{
    S_BITS_DECL(net->pr.bits);
    const long D = net->D, h = net->h;
    S_PTR W = S_VEC(theta);
    S_PTR v = W + h * D;
    /* The loss alone over every row, in double: IBC_NET_BLOCK rows at a
     * time (the same bits, see net.h).  Not in MPFR or Arb, whose product
     * (arb_mat_approx_mul) may scale a block by its own exponents; nor with
     * a gradient, whose product sums over every row at once. */
    long blk = !rows && !grad && !net->pattern && net->pr.mode == IBC_DOUBLE && nb > IBC_NET_BLOCK
                   ? IBC_NET_BLOCK : nb;
    ibc_net_reserve(net, blk);
    S_PTR Xm = S_VEC(&net->X);
    S_PTR A = S_VEC(&net->A);
    S_PTR P = S_VEC(&net->G);
    S_PTR f = S_VEC(&net->f);
    S_PTR g = S_VEC(&net->g);
    S_PTR nrm = S_VEC(&net->nrm);
    S_PTR acc = S_VEC(&net->acc);
    if (rows) {                       /* minibatch: gather its rows */
        ibc_net_reserve_batch(net, nb);
        Xm = S_VEC(&net->Xb);
        for (long r = 0; r < nb; r++)
            for (long d = 0; d < D; d++) S_SET(S_AT(Xm, r * D + d), S_AT(S_VEC(&net->X), rows[r] * D + d));
    }
    FN(neuron_norms)(net, W, nrm);
    net->kinks = 0;
    for (long r0 = 0; r0 < nb; r0 += blk) {
        long m = nb - r0 < blk ? nb - r0 : blk;
        const unsigned char *pat = rows || !net->pattern ? NULL : net->pattern + r0 * h;
        net->kinks += FN(units)(net, W, v, nrm, Xm + r0 * D, m, A, P, f + r0, acc, pat);
    }

    S_DECL(q);
    S_DECL(l);
    S_DECL(tmp);
    S_DECL(t);
    S_DECL(total);
    S_INIT(q);
    S_INIT(l);
    S_INIT(tmp);
    S_INIT(t);
    S_INIT(total);
    int finite = 1;
    for (long r = 0; r < nb; r++) {
        int yi = net->y[rows ? rows[r] : r];
        if (fout) S_SET(S_AT(S_VEC(fout), r), S_AT(f, r));
        S_MUL_SI(q, S_AT(f, r), yi);                        /* q_i = y_i f(x_i) */
        FN(loss_point)(&net->par, S_REF(q), S_REF(l), S_REF(t), S_REF(tmp), net->pr.bits);
        S_ADD(total, total, l);
        S_MUL_SI(S_AT(g, r), t, yi);                        /* g_i = l'(q_i) y_i */
        if (net->par.mean) S_DIV_SI(S_AT(g, r), S_AT(g, r), nb);
    }
    if (net->par.mean) S_DIV_SI(total, total, nb);
    if (loss) S_SET(S_AT(S_VEC(loss), 0), total);

    if (grad) {
        S_PTR dW = S_VEC(grad);
        S_PTR dv = dW + h * D;
        const double p = net->par.p;
        /* p v_j, folded into G so that one product gives p v_j sum_i G_ij x_i
         * straight into dW (no h x D intermediate: one pass less over it). */
        S_PTR pv = S_VEC(&net->B);
        for (long j = 0; j < h; j++) S_MUL_D(S_AT(pv, j), S_AT(v, j), p);
        FN(acc_ctx) ac = {nb, h, net->pr.bits, g, A, P, pv, acc};
        S_PAR_RANGE(h, 3.0 * (double)nb, FN(acc_range), &ac);
        S_GEMM(1, 0, h, D, nb, P, Xm, dW, net->pr.bits);     /* dW = G^T Xm */
        FN(wgrad_ctx) c = {net, W, v, nrm, acc, dW, dv, meta, next ? S_VEC(next) : NULL, 0};
        S_PAR_RANGE(h, 2.0 * (double)D, FN(wgrad_range), &c);
        finite = !c.nonfinite;
    }
    S_CLEAR(q);
    S_CLEAR(l);
    S_CLEAR(tmp);
    S_CLEAR(t);
    S_CLEAR(total);
    return finite;
}

void FN(ibc_net_eval)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb,
                      ibc_vec *loss, ibc_vec *grad, ibc_vec *fout)
{
    FN(eval_core)(net, theta, rows, nb, loss, grad, fout, NULL, NULL);
}

int FN(ibc_net_step)(ibc_net *net, const ibc_vec *theta, const long *rows, long nb, double eta, ibc_vec *loss,
                     ibc_vec *grad, ibc_vec *next)
{
    S_BITS_DECL(net->pr.bits);
    S_DECL(meta);
    S_INIT(meta);
    S_SET_D(meta, -eta);
    int finite = FN(eval_core)(net, theta, rows, nb, loss, grad, NULL, S_REF(meta), next);
    S_CLEAR(meta);
    return finite;
}

void FN(ibc_net_forward)(ibc_net *net, const ibc_vec *theta, const ibc_vec *Xq, long m, ibc_vec *fout)
{
    const long D = net->D, h = net->h;
    ibc_vec Xr, A, P, nrm, c;
    ibc_prec_vec_init(&Xr, m * D, net->pr);
    ibc_prec_vec_init(&c, h, net->pr);
    ibc_prec_vec_init(&A, m * h, net->pr);
    ibc_prec_vec_init(&P, m * h, net->pr);
    ibc_prec_vec_init(&nrm, h, net->pr);
    ibc_prec_vec_set(&Xr, Xq);
    S_PTR W = S_VEC(theta);
    FN(neuron_norms)(net, W, S_VEC(&nrm));
    net->kinks = FN(units)(net, W, W + h * D, S_VEC(&nrm), S_VEC(&Xr), m, S_VEC(&A), S_VEC(&P), S_VEC(fout), S_VEC(&c), NULL);
    ibc_prec_vec_clear(&Xr);
    ibc_prec_vec_clear(&A);
    ibc_prec_vec_clear(&P);
    ibc_prec_vec_clear(&nrm);
    ibc_prec_vec_clear(&c);
}

/* Q_j = v_j^2 - ||w_j||^2; with grad: corr_j += eta^2 (dv_j^2 - ||dw_j||^2),
 * the exact one-step GD change of Q_j, because v dv = <w, dw> (Euler). */
void FN(ibc_net_balance)(const ibc_net *net, const ibc_vec *theta, ibc_vec *Q,
                         const ibc_vec *grad, double eta, ibc_vec *corr)
{
    S_BITS_DECL(net->pr.bits);
    const long D = net->D, h = net->h;
    S_DECL(t);
    S_DECL(e2);
    S_DECL(s);
    S_INIT(t);
    S_INIT(e2);
    S_INIT(s);
    S_SET_D(e2, eta);
    S_MUL(e2, e2, e2);
    for (int pass = 0; pass < 2; pass++) {
        const ibc_vec *src = pass == 0 ? theta : grad;
        ibc_vec *dst = pass == 0 ? Q : corr;
        if (!src || !dst) continue;
        S_PTR W = S_VEC(src);
        for (long j = 0; j < h; j++) {
            S_MUL(s, S_AT(W, h * D + j), S_AT(W, h * D + j));
            for (long d = 0; d < D; d++) {
                S_MUL(t, S_AT(W, j * D + d), S_AT(W, j * D + d));
                S_SUB(s, s, t);
            }
            if (pass == 0) {
                S_SET(S_AT(S_VEC(dst), j), s);
            } else {
                S_MUL(s, s, e2);
                S_ADD(S_AT(S_VEC(dst), j), S_AT(S_VEC(dst), j), s);
            }
        }
    }
    S_CLEAR(t);
    S_CLEAR(e2);
    S_CLEAR(s);
}

void FN(ibc_net_euler_residual)(mpfr_ptr r, const ibc_net *net, const ibc_vec *theta, const ibc_vec *grad)
{
    S_BITS_DECL(net->pr.bits);
    const long D = net->D, h = net->h;
    S_PTR W = S_VEC(theta);
    S_PTR dW = S_VEC(grad);
    S_DECL(lhs);
    S_DECL(rhs);
    S_DECL(t);
    S_INIT(lhs);
    S_INIT(rhs);
    S_INIT(t);
    mpfr_t worst, scale, m;
    mpfr_inits2(64, worst, scale, m, (mpfr_ptr)0);
    mpfr_set_zero(worst, 1);
    mpfr_set_ui(scale, 0, MPFR_RNDN);
    for (long j = 0; j < h; j++) {
        S_MUL(lhs, S_AT(W, h * D + j), S_AT(dW, h * D + j));   /* v_j dL/dv_j */
        S_SET_ZERO(rhs);
        for (long d = 0; d < D; d++) {
            S_MUL(t, S_AT(W, j * D + d), S_AT(dW, j * D + d));
            S_ADD(rhs, rhs, t);                                 /* <w_j, dL/dw_j> */
        }
        S_GET_MPFR(m, lhs);
        mpfr_abs(m, m, MPFR_RNDN);
        if (mpfr_cmp(m, scale) > 0) mpfr_set(scale, m, MPFR_RNDN);
        S_SUB(t, lhs, rhs);
        S_GET_MPFR(m, t);
        mpfr_abs(m, m, MPFR_RNDN);
        if (mpfr_cmp(m, worst) > 0 || mpfr_nan_p(m)) mpfr_set(worst, m, MPFR_RNDN);
    }
    if (mpfr_cmp_ui(scale, 0) > 0) mpfr_div(worst, worst, scale, MPFR_RNDN);
    mpfr_set(r, worst, MPFR_RNDN);
    mpfr_clears(worst, scale, m, (mpfr_ptr)0);
    S_CLEAR(lhs);
    S_CLEAR(rhs);
    S_CLEAR(t);
}
