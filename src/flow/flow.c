/* flow: options, mode dispatch, and the adaptive trainer's glue. The
 * algorithms live in flow_impl.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/flow.h"
#include "flow/flow_internal.h"

void ibc_flow_opts_default(ibc_flow_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = IBC_METHOD_GD;
    o->lr = 0.2;
    o->steps = 20000;
    o->t_end = 4000;
    o->batch = 100;
    o->events = 1;
}

static int adaptive_run(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt, ibc_flow_stats *st, char *err);

/* The trainers (flow.h).  GD, SGD and RK4 share one descent template
 * (flow_impl.h); RK4 has no arb instance because its stages would need the
 * kink-free field that only integer p gives GD and SGD in arb. */
static const ibc_flow_type flow_types[] = {
    {IBC_METHOD_GD, "gd", 1, 1, 1, {ibc_flow_descent_d, ibc_flow_descent_mpfr, ibc_flow_descent_arb}},
    {IBC_METHOD_SGD, "sgd", 1, 1, 1, {ibc_flow_descent_d, ibc_flow_descent_mpfr, ibc_flow_descent_arb}},
    {IBC_METHOD_RK4, "rk4", 4, 1, 1, {ibc_flow_descent_d, ibc_flow_descent_mpfr, NULL}},
    {IBC_METHOD_ADAPTIVE, "adaptive", 0, 0, 0, {adaptive_run, adaptive_run, NULL}},
};
#define N_FLOW_TYPES ((int)(sizeof flow_types / sizeof flow_types[0]))

const ibc_flow_type *ibc_flow_type_of(ibc_method m) { return &flow_types[m]; }

const char *ibc_flow_method_name(ibc_method m) { return flow_types[m].name; }

int ibc_flow_method_parse(ibc_method *m, const char *s, char *err)
{
    for (int i = 0; i < N_FLOW_TYPES; i++)
        if (strcmp(s, flow_types[i].name) == 0) {
            *m = flow_types[i].id;
            return IBC_OK;
        }
    snprintf(err, IBC_ERRLEN, "method '%s' is unknown: need one of gd, sgd, rk4, adaptive", s);
    return IBC_EINPUT;
}

/* The per-mode kernels of the adaptive trainer and of the field helpers
 * (double and MPFR instances of flow_impl.h; arb has no adaptive method). */
typedef struct {
    int (*gbs)(const ibc_flow_field *fld, ibc_vec *y, double t0, double t1, double tol, const double *rec_t,
               long n_rec, ibc_flow_stats *st, char *err);
    void (*rk4)(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1, long nsteps);
    void (*field)(void *ctx, double t, const ibc_vec *y, ibc_vec *dy);
    void (*freeze)(void *ctx, const ibc_vec *y);
    double (*crossing)(void *ctx, const ibc_vec *y0, const ibc_vec *y1, long *pair);
    double (*pair_value)(void *ctx, const ibc_vec *y, long pair);
} flow_kernels;

static const flow_kernels kernels_d = {ibc_flow_gbs_d, ibc_flow_rk4_d, ibc_flow_net_field_d,
                                       ibc_flow_net_freeze_d, ibc_flow_net_crossing_d,
                                       ibc_flow_net_pair_value_d};
static const flow_kernels kernels_mpfr = {ibc_flow_gbs_mpfr, ibc_flow_rk4_mpfr, ibc_flow_net_field_mpfr,
                                          ibc_flow_net_freeze_mpfr, ibc_flow_net_crossing_mpfr,
                                          ibc_flow_net_pair_value_mpfr};

static const flow_kernels *kernels_of(ibc_prec pr) { return pr.mode == IBC_DOUBLE ? &kernels_d : &kernels_mpfr; }

void ibc_flow_stats_init(ibc_flow_stats *s)
{
    memset(s, 0, sizeof *s);
    mpfr_init2(s->balance_drift, 64);
    mpfr_init2(s->balance_scale, 64);
    mpfr_set_zero(s->balance_drift, 1);
    mpfr_set_zero(s->balance_scale, 1);
    s->kink_step = -1;
}

void ibc_flow_stats_clear(ibc_flow_stats *s)
{
    mpfr_clear(s->balance_drift);
    mpfr_clear(s->balance_scale);
}

void ibc_flow_state_init(ibc_flow_state *s)
{
    memset(s, 0, sizeof *s);
}

void ibc_flow_state_clear(ibc_flow_state *s)
{
    ibc_prec_vec_clear(&s->Q0);
    ibc_prec_vec_clear(&s->corr);
    free(s->perm);
    ibc_flow_state_init(s);
}

static void vec_copy(ibc_vec *dst, const ibc_vec *src)
{
    if (src->len > 0) {
        ibc_prec_vec_init(dst, src->len, src->pr);
        ibc_prec_vec_set(dst, src);
    }
}

void ibc_flow_state_copy(ibc_flow_state *dst, const ibc_flow_state *src)
{
    ibc_flow_state_clear(dst);
    dst->step = src->step;
    dst->grad_evals = src->grad_evals;
    vec_copy(&dst->Q0, &src->Q0);
    vec_copy(&dst->corr, &src->corr);
    dst->pos = src->pos;
    if (src->n > 0 && src->perm) {
        dst->perm = malloc((size_t)src->n * sizeof(long));
        if (!dst->perm) abort();
        memcpy(dst->perm, src->perm, (size_t)src->n * sizeof(long));
        dst->n = src->n;
    }
}

/* Recorder of the adaptive trainer: full-batch loss, then the observer. */
static int net_record(void *vctx, double t, const ibc_vec *y)
{
    ibc_flow_netctx *c = vctx;
    if (!c->opt->obs) return 0;
    ibc_net_eval(c->net, y, NULL, 0, &c->loss, NULL, NULL);
    return c->opt->obs(c->opt->obs_ctx, c->net, y, t, c->st->steps, &c->loss);
}

static void net_flip(void *vctx, long pair)
{
    ibc_flow_netctx *c = vctx;
    c->net->pattern[pair] ^= 1;
}

static int check_opts(const ibc_net *net, const ibc_flow_opts *o, char *err)
{
    if (o->method != IBC_METHOD_ADAPTIVE && (!(o->lr > 0) || !isfinite(o->lr))) {
        snprintf(err, IBC_ERRLEN, "lr = %g is out of range: need a finite lr > 0", o->lr);
        return IBC_EINPUT;
    }
    if (o->steps < 0) {
        snprintf(err, IBC_ERRLEN, "steps = %ld is out of range: need steps >= 0", o->steps);
        return IBC_EINPUT;
    }
    if (o->method == IBC_METHOD_SGD && (o->batch < 1 || o->batch > net->n)) {
        snprintf(err, IBC_ERRLEN, "batch = %ld is out of range: need 1 <= batch <= n = %ld", o->batch, net->n);
        return IBC_EINPUT;
    }
    if (o->method == IBC_METHOD_ADAPTIVE && (!(o->t_end >= 0) || !isfinite(o->t_end))) {
        snprintf(err, IBC_ERRLEN, "t_end = %g is out of range: need a finite t_end >= 0", o->t_end);
        return IBC_EINPUT;
    }
    /* Record times past t_end are never reached: a caller that computes its
     * last one as a product can round above t_end and silently lose it. */
    for (long k = 0; o->method == IBC_METHOD_ADAPTIVE && o->record_t && k < o->n_record_t; k++)
        if (!(o->record_t[k] >= 0 && o->record_t[k] <= o->t_end) || (k > 0 && o->record_t[k] < o->record_t[k - 1])) {
            snprintf(err, IBC_ERRLEN, "record time %ld = %.17g is out of range: need 0 <= t <= t_end = %.17g, sorted",
                     k, o->record_t[k], o->t_end);
            return IBC_EINPUT;
        }
    if (!(o->tol >= 0) || o->tol >= 1) {
        snprintf(err, IBC_ERRLEN, "tol = %g is out of range: need 0 <= tol < 1 (0: 2^-(BITS-8))", o->tol);
        return IBC_EINPUT;
    }
    const ibc_flow_type *ty = ibc_flow_type_of(o->method);
    if (!ty->run[net->pr.mode]) {
        snprintf(err, IBC_ERRLEN, "method %s in ball arithmetic (arb mode) is not supported: need gd or sgd",
                 ibc_flow_method_name(o->method));
        return IBC_EINPUT;
    }
    if (net->pr.mode == IBC_ARB && net->pint == 0) {
        snprintf(err, IBC_ERRLEN, "p = %g in ball arithmetic (arb mode) is not supported: need an integer p", net->par.p);
        return IBC_EINPUT;
    }
    if (!ty->checkpoints && (o->resume || o->ckpt_every != 0)) {
        snprintf(err, IBC_ERRLEN, "checkpoints are for the fixed-step methods gd, sgd and rk4: "
                 "the adaptive method cannot be checkpointed or resumed");
        return IBC_EINPUT;
    }
    if (o->ckpt_every < 0 || (o->ckpt_every > 0 && !o->ckpt)) {
        snprintf(err, IBC_ERRLEN, "checkpoint every %ld steps is out of range: need every >= 1 and a checkpoint "
                 "function (0: none)", o->ckpt_every);
        return IBC_EINPUT;
    }
    const ibc_flow_state *r = o->resume;
    if (r && (r->step < 0 || r->step > o->steps || r->grad_evals < 0)) {
        snprintf(err, IBC_ERRLEN, "resume step = %ld is out of range: need 0 <= step <= steps = %ld",
                 r->step, o->steps);
        return IBC_EINPUT;
    }
    /* The balance drift needs Q(0) and the correction accumulated so far. */
    if (r && o->track_balance && (r->Q0.len != net->h || r->corr.len != net->h)) {
        snprintf(err, IBC_ERRLEN, "resume state has %ld Q0 and %ld corr entries: balance tracking needs h = %ld of each",
                 r->Q0.len, r->corr.len, net->h);
        return IBC_EINPUT;
    }
    if (r && o->method == IBC_METHOD_SGD && r->n != 0 && (r->n != net->n || !r->perm || r->pos < 0 || r->pos > net->n)) {
        snprintf(err, IBC_ERRLEN, "resume state's shuffle has n = %ld, pos = %ld: need n = %ld and 0 <= pos <= n",
                 r->n, r->pos, net->n);
        return IBC_EINPUT;
    }
    return IBC_OK;
}

int ibc_flow_run(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt, ibc_flow_stats *st, char *err)
{
    int rc = check_opts(net, opt, err);
    if (rc != IBC_OK) return rc;
    return ibc_flow_type_of(opt->method)->run[net->pr.mode](net, theta, opt, st, err);
}

/* The adaptive trainer: gradient flow of the network's field by GBS, with
 * the switching surfaces located where the field jumps, then the drift of
 * the invariants Q_j, which the flow conserves exactly. */
static int adaptive_run(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt, ibc_flow_stats *st, char *err)
{
    const flow_kernels *kr = kernels_of(net->pr);
    int rc;
    ibc_flow_netctx ctx = {.net = net, .opt = opt, .st = st};
    ibc_prec_vec_init(&ctx.loss, 1, net->pr);
    ibc_flow_field fld = {
        .F = kr->field,
        .ctx = &ctx,
        .record = net_record,
    };
    /* Event location needs a smooth extension of each piece: u^p with
     * integer p.  events = 1 (default): for p = 1, where the field jumps, and
     * for integer p >= 2 in MPFR modes, where the field's C^(p-2) kinks would
     * otherwise force steps of ~tol^(1/(p-1)) at every crossing; events = 2:
     * every integer p in every mode. */
    int locate = opt->events == 2 || (opt->events == 1 && (net->pint == 1 || net->pr.mode == IBC_MPFR));
    if (net->pint > 0 && locate) {
        fld.freeze = kr->freeze;
        fld.crossing = kr->crossing;
        fld.pair_value = kr->pair_value;
        fld.flip = net_flip;
    }
    ibc_vec Q0, Q1;
    ibc_prec_vec_init(&Q0, net->h, net->pr);
    ibc_prec_vec_init(&Q1, net->h, net->pr);
    ibc_net_balance(net, theta, &Q0, NULL, 0, NULL);
    /* Always record the start and the end. */
    double t_ends[2] = {0.0, opt->t_end};
    const double *rec = opt->record_t ? opt->record_t : t_ends;
    long nrec = opt->record_t ? opt->n_record_t : 2;
    rc = kr->gbs(&fld, theta, 0.0, opt->t_end, opt->tol, rec, nrec, st, err);
    free(net->pattern);       /* later evaluations use the signs again */
    net->pattern = NULL;
    /* Gradient flow conserves Q_j exactly: its drift is the integrator's error. */
    ibc_net_balance(net, theta, &Q1, NULL, 0, NULL);
    mpfr_t a, b;
    mpfr_inits2(net->pr.bits + 64, a, b, (mpfr_ptr)0);
    mpfr_set_zero(st->balance_drift, 1);
    mpfr_set_zero(st->balance_scale, 1);
    for (long j = 0; j < net->h; j++) {
        ibc_prec_vec_get_mpfr(a, &Q1, j);
        ibc_prec_vec_get_mpfr(b, &Q0, j);
        mpfr_sub(a, a, b, MPFR_RNDN);
        mpfr_abs(a, a, MPFR_RNDN);
        if (mpfr_cmp(a, st->balance_drift) > 0) mpfr_set(st->balance_drift, a, MPFR_RNDN);
        ibc_prec_vec_get_mpfr(b, theta, net->h * net->D + j);
        mpfr_sqr(b, b, MPFR_RNDN);   /* scale: max_j v_j^2 */
        if (mpfr_cmp(b, st->balance_scale) > 0) mpfr_set(st->balance_scale, b, MPFR_RNDN);
    }
    mpfr_clears(a, b, (mpfr_ptr)0);
    ibc_prec_vec_clear(&Q0);
    ibc_prec_vec_clear(&Q1);
    ibc_prec_vec_clear(&ctx.loss);
    return rc;
}

int ibc_flow_gbs_field(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1,
                       double tol, ibc_flow_stats *st, char *err)
{
    ibc_flow_field fld = {.F = F, .ctx = ctx};
    return kernels_of(y->pr)->gbs(&fld, y, t0, t1, tol, NULL, 0, st, err);
}

void ibc_flow_rk4_field(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1, long nsteps)
{
    kernels_of(y->pr)->rk4(F, ctx, y, t0, t1, nsteps);
}
