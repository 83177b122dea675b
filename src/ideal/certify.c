/* ideal: certified positivity of a real function on an interval by bisection. */
#include <stdlib.h>
#include "ibcheck/ideal.h"
#include "prec/ibc_arb.h"

const char *ibc_ideal_pos_outcome_name(ibc_pos_outcome o)
{
    switch (o) {
    case IBC_POS_PROVED: return "proved";
    case IBC_POS_DISPROVED: return "disproved";
    case IBC_POS_UNDECIDED: return "undecided";
    }
    return "?";
}

/* One pending piece of the depth-first bisection. */
typedef struct {
    arf_struct a, b;
    int depth;
} piece;

/* One evaluation y = g(x) within the budget max_evals: 0 when the budget is
 * spent or g fails (then *rc holds its status). */
static int eval_counted(ibc_ideal_pos_info *info, long max_evals, ibc_ideal_fn g, void *ctx, arb_t y,
                        const arb_t x, slong prec, int *rc)
{
    if (info->evals >= max_evals)
        return 0;
    info->evals++;
    return (*rc = g(y, x, ctx, prec)) == IBC_OK;
}

int ibc_ideal_certify_positive(ibc_ideal_pos_info *info, ibc_ideal_fn g, void *ctx,
                               const arf_t lo, const arf_t hi, int max_depth,
                               long max_evals, slong prec)
{
    info->outcome = IBC_POS_UNDECIDED;
    info->pieces = 0;
    info->evals = 0;
    info->depth = 0;
    info->witness = 0.0;
    if (max_depth < 0 || max_depth > 1000 || max_evals < 1 || prec < 2
        || !arf_is_finite(lo) || !arf_is_finite(hi) || arf_cmp(lo, hi) > 0)
        return IBC_EINPUT;

    /* Depth-first, left piece first: each pop pushes at most two, so the
     * stack never holds more than max_depth + 2 pieces. */
    long cap = max_depth + 2, top = 0;
    piece *st = malloc(sizeof(piece) * cap);
    if (!st)
        return IBC_ENUMERIC;
    for (long i = 0; i < cap; i++) {
        arf_init(&st[i].a);
        arf_init(&st[i].b);
    }
    arb_t x, y;
    arf_t m;
    arb_init(x);
    arb_init(y);
    arf_init(m);
    int rc = IBC_OK;
    int done = 0;

    arf_set(&st[0].a, lo);
    arf_set(&st[0].b, hi);
    st[0].depth = 0;
    top = 1;
    while (top > 0 && !done) {
        piece *pc = &st[--top];
        int depth = pc->depth;
        if (depth > info->depth)
            info->depth = depth;
        arb_set_interval_arf(x, &pc->a, &pc->b, prec);
        if (!eval_counted(info, max_evals, g, ctx, y, x, prec, &rc)) {
            done = 1;
            break;
        }
        if (arb_is_positive(y)) {
            info->pieces++;
            continue;
        }
        /* The exact midpoint: a certified non-positive value there ends the
         * search with a witness instead of bisecting to the depth limit. */
        arf_add(m, &pc->a, &pc->b, ARF_PREC_EXACT, ARF_RND_DOWN);
        arf_mul_2exp_si(m, m, -1);
        arb_set_arf(x, m);
        if (!eval_counted(info, max_evals, g, ctx, y, x, prec, &rc)) {
            done = 1;
            break;
        }
        if (arb_is_nonpositive(y)) {
            info->outcome = IBC_POS_DISPROVED;
            info->witness = arf_get_d(m, ARF_RND_NEAR);
            done = 1;
            break;
        }
        if (depth >= max_depth || arf_equal(m, &pc->a) || arf_equal(m, &pc->b)) {
            done = 1;        /* undecided: out of depth */
            break;
        }
        /* pc's slot is st[top]; overwrite it with the right half, push the left. */
        piece *right = &st[top], *left = &st[top + 1];
        arf_set(&left->a, &right->a);
        arf_set(&left->b, m);
        arf_set(&right->a, m);
        right->depth = depth + 1;
        left->depth = depth + 1;
        top += 2;
    }
    if (rc == IBC_OK && !done && top == 0)
        info->outcome = IBC_POS_PROVED;

    arf_clear(m);
    arb_clear(y);
    arb_clear(x);
    for (long i = 0; i < cap; i++) {
        arf_clear(&st[i].a);
        arf_clear(&st[i].b);
    }
    free(st);
    return rc;
}
