/* Unit test of mode arb:BITS (ball arithmetic through the one trainer):
 *  - the arb:128 loss and gradient balls contain the mpfr:1024 values (an
 *    independent run at far higher precision), for p = 2, 3 and after
 *    training (units near their kinks), and are tight (radius ~2^-100);
 *  - a GD run in arb:256 contains the mpfr:1024 run at every entry;
 *  - p = 1: a run whose balls reach a kink stops with IBC_ENUMERIC and names
 *    the step; non-integer p and the adaptive method are refused;
 *  - a saved arb network reloads with its radii (balls never shrink);
 *  - parsing: arb:BITS accepted, out-of-range BITS refused with the range. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ibcheck/ibcheck.h"
#include "prec/ibc_arb.h"
#include "test_util.h"

/* Entries of hi (a point vector) outside the balls of b; the largest radius
 * (log2) into *lrad. */
static long count_outside(const ibc_vec *b, const ibc_vec *hi, double *lrad)
{
    long out = 0;
    arb_t x;
    arb_init(x);
    mpfr_t m;
    mpfr_init2(m, hi->pr.bits);
    *lrad = -INFINITY;
    for (long i = 0; i < b->len; i++) {
        ibc_prec_vec_get_mpfr(m, hi, i);
        arf_set_mpfr(arb_midref(x), m);
        mag_zero(arb_radref(x));
        arb_srcptr bi = (arb_srcptr)b->a + i;
        if (!arb_contains(bi, x))
            out++;
        double r = mag_get_d_log2_approx(arb_radref(bi));
        if (r > *lrad)
            *lrad = r;
    }
    mpfr_clear(m);
    arb_clear(x);
    return out;
}

static void check_grad(const ibc_data *d, double p, long steps_before)
{
    char err[IBC_ERRLEN], name[96];
    ibc_net_params q = {.p = p, .h = 8, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_prec pa = ibc_prec_arb(128), pm = ibc_prec_mpfr(1024);
    ibc_net *na = ibc_net_alloc(d, &q, pa), *nm = ibc_net_alloc(d, &q, pm);
    long dim = ibc_net_dim(na);
    ibc_vec ta, tm, ga, gm, la, lm;
    ibc_prec_vec_init(&ta, dim, pa);
    ibc_prec_vec_init(&tm, dim, pm);
    ibc_prec_vec_init(&ga, dim, pa);
    ibc_prec_vec_init(&gm, dim, pm);
    ibc_prec_vec_init(&la, 1, pa);
    ibc_prec_vec_init(&lm, 1, pm);
    ibc_net_init_theta(nm, &tm, IBC_INIT_GAUSSIAN, "0.5", 3, err);
    if (steps_before > 0) {   /* move units close to their kinks */
        ibc_flow_opts o;
        ibc_flow_opts_default(&o);
        o.lr = 0.5;
        o.steps = steps_before;
        ibc_flow_stats st;
        ibc_flow_stats_init(&st);
        ibc_flow_run(nm, &tm, &o, &st, err);
        ibc_flow_stats_clear(&st);
    }
    ibc_prec_vec_set(&ta, &tm);   /* exact: the same point */
    ibc_net_eval(na, &ta, NULL, 0, &la, &ga, NULL);
    ibc_net_eval(nm, &tm, NULL, 0, &lm, &gm, NULL);
    double lr, lr2;
    long out = count_outside(&ga, &gm, &lr) + count_outside(&la, &lm, &lr2);
    snprintf(name, sizeof name, "arb:128 grad/loss contain mpfr:1024 (p=%g, %ld steps)", p, steps_before);
    report(name, out == 0, "%ld of %ld outside (need 0)", out, dim + 1);
    snprintf(name, sizeof name, "arb:128 grad balls tight (p=%g, %ld steps)", p, steps_before);
    report(name, lr <= -90, "max radius 2^%.1f (need <= 2^-90), %ld kink units", lr, na->kinks);
    ibc_vec *v[] = {&ta, &tm, &ga, &gm, &la, &lm};
    for (int i = 0; i < 6; i++)
        ibc_prec_vec_clear(v[i]);
    ibc_net_free(na);
    ibc_net_free(nm);
}

static int train(const ibc_data *d, double p, ibc_prec pr, ibc_method m, long steps, ibc_vec *th,
                 ibc_flow_stats *st, char *err)
{
    ibc_net_params q = {.p = p, .h = 8, .loss = IBC_LOSS_EXP, .mean = 1};
    ibc_net *net = ibc_net_alloc(d, &q, pr);
    ibc_prec_vec_init(th, ibc_net_dim(net), pr);
    ibc_net_init_theta(net, th, IBC_INIT_BALANCED, "1e-3", 0, err);
    ibc_flow_opts o;
    ibc_flow_opts_default(&o);
    o.method = m;
    o.lr = 0.2;
    o.steps = steps;
    o.t_end = 1;
    ibc_flow_stats_init(st);
    int rc = ibc_flow_run(net, th, &o, st, err);
    ibc_net_free(net);
    return rc;
}

int main(void)
{
    char err[IBC_ERRLEN];
    ibc_data *d = make_data(12, 4, 2, 0.1, 40, 1);
    check_grad(d, 2, 0);
    check_grad(d, 3, 0);
    check_grad(d, 3, 200);

    /* A whole GD run. */
    ibc_vec ta, tm;
    ibc_flow_stats sa, sm;
    int ra = train(d, 3, ibc_prec_arb(1024), IBC_METHOD_GD, 300, &ta, &sa, err);
    int rm = train(d, 3, ibc_prec_mpfr(4096), IBC_METHOD_GD, 300, &tm, &sm, err);
    double lr;
    long out = count_outside(&ta, &tm, &lr);
    report("GD 300 steps: arb:1024 contains mpfr:4096", ra == IBC_OK && rm == IBC_OK && out == 0,
           "rc %d/%d, %ld of %ld outside, max radius 2^%.1f", ra, rm, out, ta.len, lr);

    /* Save and reload keeps the balls. */
    char path[] = "/tmp/ibc_test_arb_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    cfg.prec = ibc_prec_arb(1024);
    cfg.model.D = 12;
    cfg.model.K = 4;
    cfg.model.K1 = 2;
    cfg.h = 8;
    cfg.n = 40;
    int rs = ibc_train_netio_save(path, &cfg, 3, &ta, &sa, err);
    ibc_config c2;
    double p2;
    ibc_vec tl;
    int rl = rs == IBC_OK ? ibc_train_netio_load(path, &c2, &p2, &tl, err) : rs;
    long bad = 0;
    if (rl == IBC_OK) {
        for (long i = 0; i < ta.len; i++) {
            arb_srcptr a = (arb_srcptr)ta.a + i, b = (arb_srcptr)tl.a + i;
            bad += !arb_contains(b, a);
        }
        ibc_prec_vec_clear(&tl);
    }
    report("arb network saves and reloads with its radii", rs == IBC_OK && rl == IBC_OK && bad == 0,
           "save %d load %d, %ld balls shrank", rs, rl, bad);
    unlink(path);
    ibc_prec_vec_clear(&ta);
    ibc_prec_vec_clear(&tm);
    ibc_flow_stats_clear(&sa);
    ibc_flow_stats_clear(&sm);

    /* p = 1 at few bits: the balls reach a kink and the run says where. */
    ibc_vec t1;
    ibc_flow_stats s1;
    int r1 = train(d, 1, ibc_prec_arb(53), IBC_METHOD_GD, 3000, &t1, &s1, err);
    report("p = 1: certification stops at the first kink straddle",
           r1 == IBC_ENUMERIC && s1.kink_step >= 0 && strstr(err, "straddle") != NULL,
           "rc %d, kink step %ld: %s", r1, s1.kink_step, r1 ? err : "");
    ibc_prec_vec_clear(&t1);
    ibc_flow_stats_clear(&s1);
    int rp = train(d, 2.5, ibc_prec_arb(128), IBC_METHOD_GD, 1, &t1, &s1, err);
    report("non-integer p refused in arb mode", rp == IBC_EINPUT, "rc %d: %s", rp, err);
    ibc_prec_vec_clear(&t1);
    ibc_flow_stats_clear(&s1);
    int rad = train(d, 3, ibc_prec_arb(128), IBC_METHOD_ADAPTIVE, 1, &t1, &s1, err);
    report("adaptive method refused in arb mode", rad == IBC_EINPUT, "rc %d: %s", rad, err);
    ibc_prec_vec_clear(&t1);
    ibc_flow_stats_clear(&s1);

    ibc_prec pr;
    int ok1 = ibc_prec_parse(&pr, "arb:256", err) == IBC_OK && pr.mode == IBC_ARB && pr.bits == 256;
    int ok2 = ibc_prec_parse(&pr, "arb:52", err) == IBC_EINPUT && strstr(err, "53 <= BITS <= 65536");
    report("parse arb:BITS", ok1 && ok2, "arb:256 %s, arb:52 refused: %s", ok1 ? "ok" : "bad", err);
    ibc_model_data_free(d);
    return failures ? 1 : 0;
}
