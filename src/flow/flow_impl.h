/* The trainers (THEORY §3), written once for every mode; included by
 * flow_double.c and flow_mpfr.c after a scalar layer (src/prec/scalar_*.h).
 * Step sizes arrive as doubles, but every sub-step (H/n, extrapolation
 * weights) is formed in the working precision, so the adaptive method's
 * error can reach 2^-BITS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gmp.h>

/* z = y + a x, elementwise over len entries; a is a scalar of this mode. */
static void FN(lincomb)(long len, S_PTR z, S_PTR y, S_PTR a, S_PTR x, S_PTR tmp)
{
    for (long i = 0; i < len; i++) {
        S_MUL(S_AT(tmp, 0), S_AT(a, 0), S_AT(x, i));
        S_ADD(S_AT(z, i), S_AT(y, i), S_AT(tmp, 0));
    }
}

/* The training field y' = -grad L(y) (full batch). */
void FN(ibc_flow_net_field)(void *vctx, double t, const ibc_vec *y, ibc_vec *dy)
{
    ibc_flow_netctx *c = vctx;
    ibc_net_eval(c->net, y, NULL, 0, NULL, dy, NULL);
    for (long i = 0; i < dy->len; i++) S_NEG(S_AT(S_VEC(dy), i), S_AT(S_VEC(dy), i));
    if (c->st) c->st->grad_evals++;
}

/* p = 1: the field is smooth while no sign of <x_i, w_j> changes.  Returns
 * the first crossing fraction s0/(s0 - s1) over the pairs that changed sign. */
double FN(ibc_flow_net_switched)(void *vctx, const ibc_vec *y0, const ibc_vec *y1)
{
    ibc_flow_netctx *c = vctx;
    ibc_net *net = c->net;
    const long n = net->n, D = net->D, h = net->h;
    S_PTR A0 = S_VEC(&net->A);
    S_PTR A1 = S_VEC(&net->G);
    S_GEMM(0, 1, n, h, D, S_VEC(&net->X), S_VEC(y0), A0, net->pr.bits);
    S_GEMM(0, 1, n, h, D, S_VEC(&net->X), S_VEC(y1), A1, net->pr.bits);
    double first = -1;
    for (long i = 0; i < n * h; i++)
        if ((S_SGN(S_AT(A0, i)) > 0) != (S_SGN(S_AT(A1, i)) > 0)) {
            double s0 = S_GET_D(S_AT(A0, i)), s1 = S_GET_D(S_AT(A1, i));
            double f = s0 == s1 ? 1.0 : s0 / (s0 - s1);
            if (!(f > 0) || f > 1) f = 1.0;
            if (first < 0 || f < first) first = f;
        }
    return first;
}

void FN(ibc_flow_rk4)(ibc_field_fn F, void *ctx, ibc_vec *y, double t0, double t1, long nsteps)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    ibc_vec k[4], z;
    for (int i = 0; i < 4; i++) ibc_vec_init(&k[i], len, y->pr);
    ibc_vec_init(&z, len, y->pr);
    S_DECL(hs);
    S_DECL(half);
    S_DECL(w);
    S_DECL(tmp);
    S_INIT(hs);
    S_INIT(half);
    S_INIT(w);
    S_INIT(tmp);
    S_SET_D(hs, t1 - t0);
    S_DIV_SI(hs, hs, nsteps);
    S_DIV_SI(half, hs, 2);
    double dt = (t1 - t0) / (double)nsteps;
    for (long s = 0; s < nsteps; s++) {
        double t = t0 + dt * (double)s;
        F(ctx, t, y, &k[0]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(half), S_VEC(&k[0]), S_REF(tmp));
        F(ctx, t + dt / 2, &z, &k[1]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(half), S_VEC(&k[1]), S_REF(tmp));
        F(ctx, t + dt / 2, &z, &k[2]);
        FN(lincomb)(len, S_VEC(&z), S_VEC(y), S_REF(hs), S_VEC(&k[2]), S_REF(tmp));
        F(ctx, t + dt, &z, &k[3]);
        /* y += hs/6 (k1 + 2 k2 + 2 k3 + k4) */
        for (long i = 0; i < len; i++) {
            S_ADD(w, S_AT(S_VEC(&k[1]), i), S_AT(S_VEC(&k[2]), i));
            S_MUL_SI(w, w, 2);
            S_ADD(w, w, S_AT(S_VEC(&k[0]), i));
            S_ADD(w, w, S_AT(S_VEC(&k[3]), i));
            S_MUL(w, w, hs);
            S_DIV_SI(w, w, 6);
            S_ADD(S_AT(S_VEC(y), i), S_AT(S_VEC(y), i), w);
        }
    }
    for (int i = 0; i < 4; i++) ibc_vec_clear(&k[i]);
    ibc_vec_clear(&z);
    S_CLEAR(hs);
    S_CLEAR(half);
    S_CLEAR(w);
    S_CLEAR(tmp);
}

/* Gragg's modified midpoint rule over [t, t+H] with n sub-steps, from y with
 * f0 = F(t, y) already known; result in out.  z0, z1, fz are scratch. */
static void FN(midpoint)(const ibc_flow_field *fld, const ibc_vec *y, const ibc_vec *f0, double t,
                         double H, long n, ibc_vec *out, ibc_vec *z0, ibc_vec *z1, ibc_vec *fz,
                         S_PTR tmp)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    S_DECL(hs);
    S_DECL(h2);
    S_INIT(hs);
    S_INIT(h2);
    S_SET_D(hs, H);
    S_DIV_SI(hs, hs, n);
    S_MUL_SI(h2, hs, 2);
    ibc_vec_set(z0, y);
    FN(lincomb)(len, S_VEC(z1), S_VEC(y), S_REF(hs), S_VEC(f0), tmp);   /* z1 = y + hs f0 */
    for (long m = 1; m < n; m++) {
        fld->F(fld->ctx, t + H * (double)m / (double)n, z1, fz);
        FN(lincomb)(len, S_VEC(z0), S_VEC(z0), S_REF(h2), S_VEC(fz), tmp); /* z_{m+1} = z_{m-1} + 2hs F(z_m) */
        ibc_vec_swap(z0, z1);
    }
    fld->F(fld->ctx, t + H, z1, fz);
    /* out = (z_n + z_{n-1} + hs F(z_n)) / 2 */
    FN(lincomb)(len, S_VEC(out), S_VEC(z0), S_REF(hs), S_VEC(fz), tmp);
    for (long i = 0; i < len; i++) {
        S_ADD(S_AT(S_VEC(out), i), S_AT(S_VEC(out), i), S_AT(S_VEC(z1), i));
        S_DIV_SI(S_AT(S_VEC(out), i), S_AT(S_VEC(out), i), 2);
    }
    S_CLEAR(hs);
    S_CLEAR(h2);
}

/* Workspace of one Gragg-Bulirsch-Stoer step. */
typedef struct {
    int kmax, kmin;
    long nseq[32];
    ibc_vec f0, z0, z1, fz, prev[32], cur[32];
} FN(gbs_ws);

/* One extrapolated step of length H from (t, y) with f0 = F(t, y).
 * Returns the column k where the error estimate met tol (result in
 * ws->cur[k]) and writes the scaled error to *errr; returns -1 if it never did. */
static int FN(gbs_step)(const ibc_flow_field *fld, FN(gbs_ws) *ws, const ibc_vec *y, double t,
                        double H, S_PTR tolS, double *errr)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    S_DECL(c);
    S_DECL(tmp);
    S_DECL(ymax);
    S_DECL(d);
    S_INIT(c);
    S_INIT(tmp);
    S_INIT(ymax);
    S_INIT(d);
    S_SET_ZERO(ymax);
    for (long i = 0; i < len; i++) {
        S_ABS(d, S_AT(S_VEC(y), i));
        if (S_CMP(d, ymax) > 0) S_SET(ymax, d);
    }
    int done = -1;
    for (int k = 0; k < ws->kmax && done < 0; k++) {
        FN(midpoint)(fld, y, &ws->f0, t, H, ws->nseq[k], &ws->cur[0], &ws->z0, &ws->z1, &ws->fz, S_REF(tmp));
        for (int j = 1; j <= k; j++) {
            /* Aitken-Neville in h^2: T_kj = T_k,j-1 + (T_k,j-1 - T_k-1,j-1) / ((n_k/n_{k-j})^2 - 1) */
            long a = ws->nseq[k], b = ws->nseq[k - j];
            S_SET_SI(c, b * b);
            S_DIV_SI(c, c, a * a - b * b);
            S_PTR cj = S_VEC(&ws->cur[j]);
            S_PTR cj1 = S_VEC(&ws->cur[j - 1]);
            S_PTR pj1 = S_VEC(&ws->prev[j - 1]);
            for (long i = 0; i < len; i++) {
                S_SUB(d, S_AT(cj1, i), S_AT(pj1, i));
                S_MUL(d, d, c);
                S_ADD(S_AT(cj, i), S_AT(cj1, i), d);
            }
        }
        /* Accept only in the last columns: a high order takes long steps,
         * which is where extrapolation pays (a low column converging with a
         * short step wastes the method's order). */
        if (k >= ws->kmin) {
            /* Scaled error relative to the largest component: scale-invariant,
             * as the network is homogeneous, and meaningful for tiny eps. */
            double worst = 0;
            for (long i = 0; i < len; i++) {
                S_SUB(d, S_AT(S_VEC(&ws->cur[k]), i), S_AT(S_VEC(&ws->cur[k - 1]), i));
                S_ABS(d, d);
                S_ABS(tmp, S_AT(S_VEC(y), i));
                S_ADD(tmp, tmp, ymax);
                S_MUL(tmp, tmp, S_AT(tolS, 0));
                S_DIV(d, d, tmp);
                double r = S_GET_D(d);
                if (!(r <= worst)) worst = r;      /* also catches NaN */
            }
            *errr = worst;
            if (worst <= 1.0) done = k;
        }
        for (int j = 0; j <= k && done < 0; j++) ibc_vec_swap(&ws->prev[j], &ws->cur[j]);
    }
    S_CLEAR(c);
    S_CLEAR(tmp);
    S_CLEAR(ymax);
    S_CLEAR(d);
    return done;
}

int FN(ibc_flow_gbs)(const ibc_flow_field *fld, ibc_vec *y, double t0, double t1, double tol,
                     const double *rec_t, long n_rec, int events, ibc_flow_stats *st, char *err)
{
    S_BITS_DECL(y->pr.bits);
    const long len = y->len;
    FN(gbs_ws) ws;
    /* Order 2k grows with the precision asked for: 53 bits need ~order 12. */
    ws.kmax = y->pr.mode == IBC_DOUBLE ? 8 : (int)(y->pr.bits / 20 + 6);
    if (ws.kmax > 30) ws.kmax = 30;
    ws.kmin = ws.kmax - 3;
    for (int k = 0; k < ws.kmax; k++) {
        ws.nseq[k] = 2 * (k + 1);
        ibc_vec_init(&ws.prev[k], len, y->pr);
        ibc_vec_init(&ws.cur[k], len, y->pr);
    }
    ibc_vec_init(&ws.f0, len, y->pr);
    ibc_vec_init(&ws.z0, len, y->pr);
    ibc_vec_init(&ws.z1, len, y->pr);
    ibc_vec_init(&ws.fz, len, y->pr);
    ibc_vec ytrial;
    ibc_vec_init(&ytrial, len, y->pr);
    S_DECL(tolS);
    S_INIT(tolS);
    if (tol > 0) {
        S_SET_D(tolS, tol);
    } else {
        S_SET_SI(tolS, 1);
        S_MUL_2SI(tolS, tolS, -(long)y->pr.bits + 8);
    }
    int rc = IBC_OK;
    double t = t0;
    double H = (t1 - t0) / 64;
    const double hfloor = (fabs(t1) + fabs(t0) + 1.0) * ldexp(1.0, -50);
    long ri = 0;
    while (rec_t && ri < n_rec && rec_t[ri] < t0) ri++;
    if (rec_t && ri < n_rec && rec_t[ri] == t0 && fld->record) {
        if (fld->record(fld->ctx, t0, y)) goto out;
        ri++;
    }
    while (t < t1) {
        double target = t1;
        if (rec_t && ri < n_rec && rec_t[ri] < target) target = rec_t[ri];
        double Hs = H < target - t ? H : target - t;
        fld->F(fld->ctx, t, y, &ws.f0);
        double e = 0;
        int k = FN(gbs_step)(fld, &ws, y, t, Hs, S_REF(tolS), &e);
        if (k < 0) {
            st->rejected++;
            /* shrink by what the last column's error asks for */
            double fr = e > 0 ? 0.9 * pow(e, -1.0 / (2.0 * ws.kmax - 1.0)) : 0.25;
            H = Hs * (fr < 0.25 ? 0.25 : fr > 0.9 ? 0.9 : fr);
            if (H < hfloor) {
                snprintf(err, IBC_ERRLEN, "adaptive step size collapsed to %.3g at step %ld, t = %.17g (error estimate %.3g)",
                         H, st->steps, t, e);
                rc = IBC_ENUMERIC;
                goto out;
            }
            continue;
        }
        ibc_vec_set(&ytrial, &ws.cur[k]);
        if (!ibc_vec_is_finite(&ytrial)) {
            snprintf(err, IBC_ERRLEN, "NaN or inf in theta at step %ld, t = %.17g", st->steps, t);
            rc = IBC_ENUMERIC;
            goto out;
        }
        int landed = Hs == target - t;
        double frac = events && fld->switched ? fld->switched(fld->ctx, y, &ytrial) : -1;
        /* A crossing at the very start of the step is the surface just
         * located (or a sliding surface, where the flow chatters across it):
         * step across it instead of shrinking the step forever. */
        if (frac > 1e-3 && frac < 1) {
            /* Shorten the step to end just past the first switching surface
             * (secant estimate), so no step straddles a kink of the field. */
            double Hev = Hs * frac * (1 + 1e-6) + hfloor;
            if (Hev < Hs) {
                double e2;
                int k2 = FN(gbs_step)(fld, &ws, y, t, Hev, S_REF(tolS), &e2);
                if (k2 >= 0) {
                    ibc_vec_set(&ytrial, &ws.cur[k2]);
                    Hs = Hev;
                    landed = 0;
                    st->events++;
                }
            }
        }
        ibc_vec_set(y, &ytrial);
        t = landed ? target : t + Hs;
        st->steps++;
        if (st->h_min == 0 || Hs < st->h_min) st->h_min = Hs;
        st->t = t;
        if (landed && rec_t && ri < n_rec && target == rec_t[ri]) {
            ri++;
            if (fld->record && fld->record(fld->ctx, t, y)) goto out;
        }
        double fac = e > 0 ? 0.9 * pow(e, -1.0 / (2.0 * k + 1.0)) : 4.0;
        if (fac > 4) fac = 4;
        if (fac < 0.2) fac = 0.2;
        /* Aim the next step at the middle of the accepting columns. */
        if (k == ws.kmax - 1 && fac > 0.8) fac = 0.8;
        /* A step clipped to a record time or an event says little about
         * the step the smooth pieces allow: keep H rather than shrink it. */
        int clipped = Hs < H;
        H = clipped ? (fac < 1 ? H * fac : H) : Hs * fac;
    }
out:
    for (int k = 0; k < ws.kmax; k++) {
        ibc_vec_clear(&ws.prev[k]);
        ibc_vec_clear(&ws.cur[k]);
    }
    ibc_vec_clear(&ws.f0);
    ibc_vec_clear(&ws.z0);
    ibc_vec_clear(&ws.z1);
    ibc_vec_clear(&ws.fz);
    ibc_vec_clear(&ytrial);
    S_CLEAR(tolS);
    return rc;
}

/* GD, SGD and fixed-step RK4 on the network, with observers, the exact GD
 * balance correction, and a stop at the first non-finite value. */
int FN(ibc_flow_descent)(ibc_net *net, ibc_vec *theta, const ibc_flow_opts *opt,
                         ibc_flow_stats *st, char *err)
{
    S_BITS_DECL(net->pr.bits);
    const long dim = theta->len, n = net->n;
    ibc_vec grad, next, loss, Q0, Q1, corr;
    ibc_vec_init(&grad, dim, net->pr);
    ibc_vec_init(&next, dim, net->pr);
    ibc_vec_init(&loss, 1, net->pr);
    ibc_vec_init(&Q0, net->h, net->pr);
    ibc_vec_init(&Q1, net->h, net->pr);
    ibc_vec_init(&corr, net->h, net->pr);
    S_DECL(meta);
    S_DECL(tmp);
    S_INIT(meta);
    S_INIT(tmp);
    S_SET_D(meta, -opt->lr);
    long *perm = NULL;
    gmp_randstate_t rs;
    int have_rs = 0;
    if (opt->method == IBC_METHOD_SGD) {
        perm = malloc((size_t)n * sizeof(long));
        if (!perm) abort();
        for (long i = 0; i < n; i++) perm[i] = i;
        ibc_model_randinit(rs, opt->seed, 64);
        have_rs = 1;
    }
    ibc_flow_netctx fctx = {.net = net, .opt = opt, .st = st};
    if (opt->track_balance) ibc_net_balance(net, theta, &Q0, NULL, 0, NULL);
    int rc = IBC_OK;
    long pos = n;   /* SGD: position in the current shuffled epoch */
    for (long s = 0; s <= opt->steps; s++) {
        const long *rows = NULL;
        long nb = n;
        if (opt->method == IBC_METHOD_SGD && s < opt->steps) {
            if (pos + opt->batch > n) {       /* new epoch: seeded Fisher-Yates shuffle */
                for (long i = n - 1; i > 0; i--) {
                    long j = (long)gmp_urandomm_ui(rs, (unsigned long)(i + 1));
                    long t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                pos = 0;
            }
            rows = perm + pos;
            nb = opt->batch;
            pos += nb;
        }
        int rec = s == 0 || s == opt->steps || (opt->record_every > 0 && s % opt->record_every == 0);
        double t = opt->lr * (double)s;
        if (rec && opt->obs) {
            ibc_net_eval(net, theta, NULL, 0, &loss, NULL, NULL);
            if (!ibc_vec_is_finite(&loss)) {
                snprintf(err, IBC_ERRLEN, "NaN or inf in the loss at step %ld, t = %.17g", s, t);
                rc = IBC_ENUMERIC;
                break;
            }
            if (opt->obs(opt->obs_ctx, net, theta, t, s, &loss)) break;
        }
        if (s == opt->steps) break;
        if (opt->method == IBC_METHOD_RK4) {
            ibc_vec_set(&next, theta);
            FN(ibc_flow_rk4)(FN(ibc_flow_net_field), &fctx, &next, t, t + opt->lr, 1);
        } else {
            ibc_net_eval(net, theta, rows, nb, &loss, &grad, NULL);
            st->grad_evals++;
            if (opt->track_balance) ibc_net_balance(net, theta, NULL, &grad, opt->lr, &corr);
            FN(lincomb)(dim, S_VEC(&next), S_VEC(theta), S_REF(meta), S_VEC(&grad), S_REF(tmp));
        }
        if (!ibc_vec_is_finite(&next)) {
            snprintf(err, IBC_ERRLEN, "NaN or inf in theta at step %ld, t = %.17g; theta kept at the last finite step", s + 1, t + opt->lr);
            rc = IBC_ENUMERIC;
            break;
        }
        ibc_vec_swap(theta, &next);
        st->steps = s + 1;
        st->t = opt->lr * (double)(s + 1);
    }
    if (opt->track_balance) {
        /* drift = max_j |Q_j(T) - Q_j(0) - corr_j|, formed exactly in MPFR */
        ibc_net_balance(net, theta, &Q1, NULL, 0, NULL);
        mpfr_t a, b, c;
        long bits = net->pr.bits + 64;
        mpfr_inits2(bits, a, b, c, (mpfr_ptr)0);
        mpfr_set_zero(st->balance_drift, 1);
        mpfr_set_zero(st->balance_scale, 1);
        for (long j = 0; j < net->h; j++) {
            ibc_vec_get_mpfr(a, &Q1, j);
            ibc_vec_get_mpfr(c, &corr, j);
            ibc_vec_get_mpfr(b, theta, net->h * net->D + j);
            mpfr_sqr(b, b, MPFR_RNDN);   /* scale: max_j v_j^2 (= ||w_j||^2 when balanced) */
            if (mpfr_cmp(b, st->balance_scale) > 0) mpfr_set(st->balance_scale, b, MPFR_RNDN);
            ibc_vec_get_mpfr(b, &Q0, j);
            mpfr_sub(a, a, b, MPFR_RNDN);
            mpfr_sub(a, a, c, MPFR_RNDN);
            mpfr_abs(a, a, MPFR_RNDN);
            if (mpfr_cmp(a, st->balance_drift) > 0) mpfr_set(st->balance_drift, a, MPFR_RNDN);
        }
        mpfr_clears(a, b, c, (mpfr_ptr)0);
    }
    if (have_rs) gmp_randclear(rs);
    free(perm);
    ibc_vec_clear(&grad);
    ibc_vec_clear(&next);
    ibc_vec_clear(&loss);
    ibc_vec_clear(&Q0);
    ibc_vec_clear(&Q1);
    ibc_vec_clear(&corr);
    S_CLEAR(meta);
    S_CLEAR(tmp);
    return rc;
}
