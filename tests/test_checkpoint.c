/* Unit test of checkpoint and resume (issue "Reliability").  The second
 * method throughout is the uninterrupted run: a run stopped at step k, its
 * state saved to a checkpoint file, loaded and resumed, must end with the
 * same bits (theta, step and gradient counts, GD's balance drift), for GD,
 * SGD and RK4 in double and mpfr:128.  Also: parameter mismatches and damaged
 * checkpoints are refused with one line, and a numerical fault keeps the last
 * finite checkpoint, which equals the uninterrupted run stopped there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include "ibcheck/netio.h"
#include "test_util.h"

static char dir[] = "/tmp/ibc_test_ckpt.XXXXXX";

static void path_in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Bitwise equality: doubles by representation, MPFR by value and sign. */
static int same_vec(const ibc_vec *a, const ibc_vec *b)
{
    if (a->len != b->len || a->pr.mode != b->pr.mode || a->pr.bits != b->pr.bits)
        return 0;
    if (a->pr.mode == IBC_DOUBLE)
        return a->len == 0 || memcmp(a->d, b->d, (size_t)a->len * sizeof(double)) == 0;
    for (long i = 0; i < a->len; i++)
        if (!mpfr_equal_p(a->m + i, b->m + i) || mpfr_signbit(a->m + i) != mpfr_signbit(b->m + i))
            return 0;
    return 1;
}

static int same_state(const ibc_flow_state *a, const ibc_flow_state *b)
{
    return a->step == b->step && a->grad_evals == b->grad_evals && a->n == b->n && a->pos == b->pos
        && (a->n == 0 || memcmp(a->perm, b->perm, (size_t)a->n * sizeof(long)) == 0)
        && same_vec(&a->Q0, &b->Q0) && same_vec(&a->corr, &b->corr);
}

static void small_config(ibc_config *c, ibc_method m, ibc_prec pr)
{
    ibc_train_config_default(c);
    c->model.D = 6;
    c->model.K = 4;
    c->model.K1 = 2;
    c->n = 40;
    c->h = 8;
    c->method = m;
    c->lr = m == IBC_METHOD_RK4 ? 0.5 : 0.2;
    c->steps = 150;
    c->batch = 7;            /* 40 = 5*7 + 5: epochs end mid-way through the step count */
    c->prec = pr;
    c->verbose = 0;
    c->records = 0;
}

/* The thread count ibc_prec_blas_setup should have set, read independently. */
static long threads_env(void)
{
    const char *s = getenv("IBC_THREADS");
    long t = s ? atol(s) : 1;
    return t >= 1 ? t : 1;
}

/* Captures a deep copy of the state at step `at`; counts the calls. */
typedef struct {
    long at, calls;
    ibc_vec theta;
    ibc_flow_state st;
} capture;

static int capture_fn(void *ctx, const ibc_vec *theta, const ibc_flow_state *s, char *err)
{
    capture *c = ctx;
    c->calls++;
    if (s->step == c->at) {
        ibc_prec_vec_init(&c->theta, theta->len, theta->pr);
        ibc_prec_vec_set(&c->theta, theta);
        ibc_flow_state_copy(&c->st, s);
    }
    return IBC_OK;
}

static void flow_opts(ibc_flow_opts *o, const ibc_config *c)
{
    ibc_flow_opts_default(o);
    o->method = c->method;
    o->lr = c->lr;
    o->steps = c->steps;
    o->batch = c->batch;
    o->seed = c->model.seed;
    o->track_balance = c->method == IBC_METHOD_GD;
}

/* Stop at k, save, load, resume: the same bits as the uninterrupted run. */
static void test_flow_resume(ibc_method m, ibc_prec pr, long k)
{
    char name[96], pb[24], path[96], err[IBC_ERRLEN];
    snprintf(name, sizeof name, "%s %s resume at step %ld", ibc_flow_method_name(m), ibc_prec_str(pr, pb), k);
    ibc_config c;
    small_config(&c, m, pr);
    c.steps = 0;                       /* the data, the net and the initial theta only */
    ibc_trained t0;
    if (ibc_train_trained_init(&t0, &c, 1.0, pr, 0, 0, err) != IBC_OK) {
        report(name, 0, "setup: %s", err);
        return;
    }
    small_config(&c, m, pr);
    ibc_flow_opts o;
    flow_opts(&o, &c);
    const long dim = t0.theta.len;

    /* A: uninterrupted. */
    ibc_vec A;
    ibc_prec_vec_init(&A, dim, pr);
    ibc_prec_vec_set(&A, &t0.theta);
    ibc_flow_stats sa;
    ibc_flow_stats_init(&sa);
    int rca = ibc_flow_run(t0.net, &A, &o, &sa, err);

    /* B: with a checkpoint every step, capturing step k. */
    capture cap = {.at = k};
    ibc_flow_state_init(&cap.st);
    ibc_vec B;
    ibc_prec_vec_init(&B, dim, pr);
    ibc_prec_vec_set(&B, &t0.theta);
    ibc_flow_stats sb;
    ibc_flow_stats_init(&sb);
    ibc_flow_opts ob = o;
    ob.ckpt_every = 1;
    ob.ckpt = capture_fn;
    ob.ckpt_ctx = &cap;
    int rcb = ibc_flow_run(t0.net, &B, &ob, &sb, err);
    report(name, rca == IBC_OK && rcb == IBC_OK && same_vec(&A, &B) && cap.calls == c.steps && cap.theta.len == dim,
           "checkpoint calls %ld of %ld; theta with checkpoints == without: %d", cap.calls, c.steps, same_vec(&A, &B));

    /* Through the file and back. */
    path_in_dir(path, sizeof path, "flow.ckpt");
    ibc_config lc;
    double lp = 0;
    ibc_ckpt_meta meta = {1, 1}, lm;
    ibc_vec L;
    ibc_flow_state ls;
    int rcs = cap.theta.len == dim ? ibc_train_netio_ckpt_save(path, &c, 1.0, &meta, &cap.theta, &cap.st, err) : IBC_EINPUT;
    int rcl = rcs == IBC_OK ? ibc_train_netio_ckpt_load(path, &lc, &lp, &lm, &L, &ls, err) : rcs;
    if (rcl != IBC_OK) {
        ibc_prec_vec_init(&L, 0, pr);
        ibc_flow_state_init(&ls);
    }
    report(name, rcl == IBC_OK && same_vec(&L, &cap.theta) && same_state(&ls, &cap.st)
           && (m != IBC_METHOD_GD || ls.Q0.len == c.h) && (m != IBC_METHOD_SGD || ls.n == c.n),
           "file round trip exact: theta, step %ld, grad_evals %ld, %ld Q0/corr, perm of %ld at %ld%s%s",
           ls.step, ls.grad_evals, ls.Q0.len, ls.n, ls.pos, rcl ? ": " : "", rcl ? err : "");

    /* C: resumed from the loaded checkpoint. */
    ibc_vec C;
    ibc_prec_vec_init(&C, dim, pr);
    ibc_flow_stats sc;
    ibc_flow_stats_init(&sc);
    int rcc = IBC_EINPUT;
    if (rcl == IBC_OK) {
        ibc_prec_vec_set(&C, &L);
        ibc_flow_opts oc = o;
        oc.resume = &ls;
        rcc = ibc_flow_run(t0.net, &C, &oc, &sc, err);
    }
    int drift_same = mpfr_equal_p(sa.balance_drift, sc.balance_drift) && mpfr_equal_p(sa.balance_scale, sc.balance_scale);
    report(name, rcc == IBC_OK && same_vec(&A, &C) && sa.steps == sc.steps && sa.grad_evals == sc.grad_evals
           && sa.t == sc.t && drift_same,
           "resumed == uninterrupted: theta %d, steps %ld/%ld, grad_evals %ld/%ld, balance drift %.3e/%.3e",
           same_vec(&A, &C), sc.steps, sa.steps, sc.grad_evals, sa.grad_evals,
           mpfr_get_d(sc.balance_drift, MPFR_RNDN), mpfr_get_d(sa.balance_drift, MPFR_RNDN));

    /* The comparison can fail: a damaged saved state must show. */
    if (rcl == IBC_OK && m == IBC_METHOD_GD) {
        /* corr off by one ulp-scale term: the drift no longer matches */
        mpfr_t x;
        mpfr_init2(x, pr.bits);
        ibc_prec_vec_get_mpfr(x, &ls.corr, 0);
        mpfr_mul_2si(x, x, 1, MPFR_RNDN);
        mpfr_add_d(x, x, 1e-3, MPFR_RNDN);
        ibc_prec_vec_set_mpfr(&ls.corr, 0, x);
        mpfr_clear(x);
        ibc_prec_vec_set(&C, &L);
        ibc_flow_stats_clear(&sc);
        ibc_flow_stats_init(&sc);
        ibc_flow_opts oc = o;
        oc.resume = &ls;
        ibc_flow_run(t0.net, &C, &oc, &sc, err);
        report(name, !mpfr_equal_p(sa.balance_drift, sc.balance_drift),
               "control: a changed saved corr changes the balance drift (%.3e vs %.3e)",
               mpfr_get_d(sc.balance_drift, MPFR_RNDN), mpfr_get_d(sa.balance_drift, MPFR_RNDN));
    }
    if (rcl == IBC_OK && m == IBC_METHOD_SGD) {
        long tmp = ls.perm[0];
        ls.perm[0] = ls.perm[1];
        ls.perm[1] = tmp;
        ibc_prec_vec_set(&C, &L);
        ibc_flow_opts oc = o;
        oc.resume = &ls;
        ibc_flow_stats_clear(&sc);
        ibc_flow_stats_init(&sc);
        int rc = ibc_flow_run(t0.net, &C, &oc, &sc, err);
        report(name, rc == IBC_EINPUT && strstr(err, "replay"), "control: a saved order that disagrees with the "
               "replay is refused: %s", rc == IBC_EINPUT ? err : "accepted");
    }
    ibc_flow_state_clear(&ls);
    ibc_flow_state_clear(&cap.st);
    ibc_prec_vec_clear(&cap.theta);
    ibc_prec_vec_clear(&A);
    ibc_prec_vec_clear(&B);
    ibc_prec_vec_clear(&C);
    ibc_prec_vec_clear(&L);
    ibc_flow_stats_clear(&sa);
    ibc_flow_stats_clear(&sb);
    ibc_flow_stats_clear(&sc);
    ibc_train_trained_clear(&t0);
    unlink(path);
}

/* The library entry point `train` uses: file written at multiples of every,
 * resume ends as the plain run, and every training parameter is compared. */
static void test_trained_ckpt(ibc_method m)
{
    char name[64], path[96], err[IBC_ERRLEN];
    snprintf(name, sizeof name, "trained %s checkpoint", ibc_flow_method_name(m));
    path_in_dir(path, sizeof path, "run.ckpt");
    ibc_config c;
    small_config(&c, m, ibc_prec_double());
    c.steps = 250;
    ibc_trained a, b, r;
    int rca = ibc_train_trained_init(&a, &c, 1.0, c.prec, 0, 0, err);
    ibc_ckpt_opts ck = {.path = path, .every = 100, .resume = 0};
    int rcb = ibc_train_trained_init_ckpt(&b, &c, 1.0, &ck, NULL, err);
    ibc_config lc;
    double lp;
    ibc_ckpt_meta lm = {0, 0};
    ibc_vec L;
    ibc_flow_state ls;
    int rcl = ibc_train_netio_ckpt_load(path, &lc, &lp, &lm, &L, &ls, err);
    report(name, rca == IBC_OK && rcb == IBC_OK && same_vec(&a.theta, &b.theta) && rcl == IBC_OK
           && ls.step == 200 && lm.every == 100 && lm.blas_threads == threads_env(),
           "plain == checkpointed run; checkpoint at step %ld (need 200), every %ld, BLAS threads %ld (need %ld)",
           ls.step, lm.every, lm.blas_threads, threads_env());
    long resumed = -1;
    ck.resume = 1;
    ck.every = 0;                     /* keep the checkpoint's period */
    int rcr = ibc_train_trained_init_ckpt(&r, &c, 1.0, &ck, &resumed, err);
    report(name, rcr == IBC_OK && resumed == 200 && same_vec(&a.theta, &r.theta)
           && r.stats.steps == a.stats.steps && r.stats.grad_evals == a.stats.grad_evals,
           "resumed at step %ld: theta, steps %ld, grad_evals %ld as the plain run", resumed, r.stats.steps,
           r.stats.grad_evals);
    if (rcr == IBC_OK)
        ibc_train_trained_clear(&r);
    /* Another BLAS thread count changes a double run's bits: refused. */
    openblas_set_num_threads((int)threads_env() + 1);
    rcr = ibc_train_trained_init_ckpt(&r, &c, 1.0, &ck, NULL, err);
    report(name, rcr == IBC_EINPUT && strstr(err, "BLAS threads"), "resume at %ld BLAS threads refused: %s",
           threads_env() + 1, rcr == IBC_EINPUT ? err : "accepted");
    if (rcr == IBC_OK)
        ibc_train_trained_clear(&r);
    ibc_prec_blas_setup();
    /* A resume that differs in one parameter is refused, naming it. */
    struct { const char *key; ibc_config c; double p; } bad[4];
    for (int i = 0; i < 4; i++) {
        bad[i].c = c;
        bad[i].p = 1.0;
    }
    bad[0].key = "lr";
    bad[0].c.lr = 0.1;
    bad[1].key = "steps";
    bad[1].c.steps = 300;
    bad[2].key = "precision";
    bad[2].c.prec = ibc_prec_mpfr(64);
    bad[3].key = "p";
    bad[3].p = 2.0;
    for (int i = 0; i < 4; i++) {
        int rc = ibc_train_trained_init_ckpt(&r, &bad[i].c, bad[i].p, &ck, NULL, err);
        char want[40];
        snprintf(want, sizeof want, "%s = ", bad[i].key);
        report(name, rc == IBC_EINPUT && strstr(err, want) && !strchr(err, '\n'), "different %s refused: %s",
               bad[i].key, rc == IBC_EINPUT ? err : "accepted");
        if (rc == IBC_OK)
            ibc_train_trained_clear(&r);
    }
    if (rcl == IBC_OK) {
        ibc_prec_vec_clear(&L);
        ibc_flow_state_clear(&ls);
    }
    if (rca == IBC_OK)
        ibc_train_trained_clear(&a);
    if (rcb == IBC_OK)
        ibc_train_trained_clear(&b);
    unlink(path);
}

static void test_adaptive_refused(void)
{
    char path[96], err[IBC_ERRLEN];
    path_in_dir(path, sizeof path, "adaptive.ckpt");
    ibc_config c;
    small_config(&c, IBC_METHOD_ADAPTIVE, ibc_prec_double());
    ibc_ckpt_opts ck = {.path = path, .every = 10, .resume = 0};
    ibc_trained t;
    int rc = ibc_train_trained_init_ckpt(&t, &c, 1.0, &ck, NULL, err);
    report("adaptive with checkpoints refused", rc == IBC_EINPUT && strstr(err, "adaptive") && access(path, F_OK) != 0,
           "%s", rc == IBC_EINPUT ? err : "accepted");
    if (rc == IBC_OK)
        ibc_train_trained_clear(&t);
}

/* A GD step size so large that double overflows within a few steps: the
 * run stops with IBC_ENUMERIC naming the step, and the checkpoint left is
 * the last finite state, equal to the plain run stopped one step earlier. */
static void test_fault_keeps_checkpoint(void)
{
    const char *name = "numerical fault keeps the checkpoint";
    char path[96], err[IBC_ERRLEN], e2[IBC_ERRLEN];
    path_in_dir(path, sizeof path, "fault.ckpt");
    ibc_config c;
    small_config(&c, IBC_METHOD_GD, ibc_prec_double());
    c.lr = 2e4;
    c.steps = 1000;
    ibc_ckpt_opts ck = {.path = path, .every = 1, .resume = 0};
    ibc_trained t;
    int rc = ibc_train_trained_init_ckpt(&t, &c, 1.0, &ck, NULL, err);
    long fault = -1;
    const char *at = strstr(err, "at step ");
    if (rc == IBC_ENUMERIC && at)
        fault = strtol(at + 8, NULL, 10);
    report(name, rc == IBC_ENUMERIC && fault >= 2 && strstr(err, "kept") && !strchr(err, '\n'),
           "status %d (need %d); %s", rc, IBC_ENUMERIC, rc == IBC_OK ? "finished" : err);
    if (rc == IBC_OK)
        ibc_train_trained_clear(&t);
    ibc_config lc;
    double lp;
    ibc_ckpt_meta lm;
    ibc_vec L;
    ibc_flow_state ls;
    int rcl = ibc_train_netio_ckpt_load(path, &lc, &lp, &lm, &L, &ls, e2);
    report(name, rcl == IBC_OK && ls.step == fault - 1 && ibc_prec_vec_is_finite(&L) && ibc_prec_vec_is_finite(&ls.corr),
           "checkpoint loads: step %ld (need fault step - 1 = %ld), theta and corr finite%s%s", ls.step, fault - 1,
           rcl ? ": " : "", rcl ? e2 : "");
    if (rcl == IBC_OK && fault >= 2) {
        /* Second method: the plain flow (no observer, as `train` off a
         * terminal) of fault-1 steps ends at the checkpoint; of fault steps,
         * it faults.  The loss there may already be inf: the fault is where
         * theta stops being finite, as in the uninterrupted run. */
        ibc_config c0 = c;
        c0.steps = 0;
        ibc_trained t0;
        int rc0 = ibc_train_trained_init(&t0, &c0, 1.0, c0.prec, 0, 0, e2);
        ibc_flow_opts o;
        flow_opts(&o, &c);
        ibc_vec th;
        ibc_prec_vec_init(&th, L.len, L.pr);
        ibc_flow_stats st;
        ibc_flow_stats_init(&st);
        int rcp = IBC_EINPUT;
        if (rc0 == IBC_OK) {
            ibc_prec_vec_set(&th, &t0.theta);
            o.steps = fault - 1;
            rcp = ibc_flow_run(t0.net, &th, &o, &st, e2);
        }
        report(name, rcp == IBC_OK && same_vec(&th, &L), "checkpoint == plain flow of %ld steps", fault - 1);
        if (rc0 == IBC_OK) {
            ibc_prec_vec_set(&th, &t0.theta);
            o.steps = fault;
            rcp = ibc_flow_run(t0.net, &th, &o, &st, e2);
            report(name, rcp == IBC_ENUMERIC, "plain flow of %ld steps faults too (status %d)", fault, rcp);
            ibc_train_trained_clear(&t0);
        }
        ibc_flow_stats_clear(&st);
        ibc_prec_vec_clear(&th);
        ibc_prec_vec_clear(&L);
        ibc_flow_state_clear(&ls);
    }
    unlink(path);
}

/* Damaged checkpoints: edited JSON must be refused with one line. */
static int edit_and_load(const char *src, const char *dst, void (*edit)(cJSON *), char *err)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    if (!root)
        return -1;
    edit(root);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    f = fopen(dst, "wb");
    if (!f || !text) {
        if (f)
            fclose(f);
        cJSON_free(text);
        return -1;
    }
    fputs(text, f);
    fclose(f);
    cJSON_free(text);
    ibc_config c;
    double p;
    ibc_ckpt_meta m;
    ibc_vec th;
    ibc_flow_state s;
    int rc = ibc_train_netio_ckpt_load(dst, &c, &p, &m, &th, &s, err);
    if (rc == IBC_OK) {
        ibc_prec_vec_clear(&th);
        ibc_flow_state_clear(&s);
    }
    return rc;
}

static cJSON *state_of(cJSON *r) { return cJSON_GetObjectItemCaseSensitive(r, "state"); }
static void e_step(cJSON *r) { cJSON_ReplaceItemInObject(state_of(r), "step", cJSON_CreateNumber(1e6)); }
static void e_perm_dup(cJSON *r)
{
    cJSON *perm = cJSON_GetObjectItemCaseSensitive(state_of(r), "perm");
    cJSON_ReplaceItemInArray(perm, 1, cJSON_CreateNumber(cJSON_GetArrayItem(perm, 0)->valuedouble));
}
static void e_corr_short(cJSON *r) { cJSON_DeleteItemFromArray(cJSON_GetObjectItemCaseSensitive(state_of(r), "corr"), 0); }
static void e_corr_inexact(cJSON *r)
{
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(state_of(r), "corr"), 0, cJSON_CreateString("0.1"));
}
static void e_netfile(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateString("ibcheck-net")); }
static void e_every(cJSON *r) { cJSON_ReplaceItemInObject(r, "checkpoint_every", cJSON_CreateNumber(0)); }
static void e_threads(cJSON *r) { cJSON_DeleteItemFromObject(r, "blas_threads"); }

static void test_damaged(void)
{
    char path[96], bad[96], err[IBC_ERRLEN];
    path_in_dir(path, sizeof path, "good.ckpt");
    path_in_dir(bad, sizeof bad, "bad.ckpt");
    /* SGD in mpfr:128 with a GD-style state, so every field is present */
    ibc_config c;
    small_config(&c, IBC_METHOD_SGD, ibc_prec_mpfr(128));
    c.steps = 20;
    ibc_trained t;
    int rc = ibc_train_trained_init(&t, &c, 1.0, c.prec, 0, 0, err);
    if (rc != IBC_OK) {
        report("damaged checkpoints", 0, "setup: %s", err);
        return;
    }
    ibc_flow_state s;
    ibc_flow_state_init(&s);
    s.step = 10;
    s.grad_evals = 10;
    ibc_prec_vec_init(&s.Q0, c.h, c.prec);
    ibc_prec_vec_init(&s.corr, c.h, c.prec);
    ibc_prec_vec_set_d(&s.corr, 0, 1.0 / 3);
    s.n = c.n;
    s.pos = 7;
    s.perm = malloc((size_t)c.n * sizeof(long));
    for (long i = 0; i < c.n; i++) s.perm[i] = c.n - 1 - i;
    ibc_ckpt_meta meta = {5, 0};
    rc = ibc_train_netio_ckpt_save(path, &c, 1.0, &meta, &t.theta, &s, err);
    report("damaged checkpoints", rc == IBC_OK, "the good file saves%s%s", rc ? ": " : "", rc ? err : "");
    struct { const char *what, *want; void (*edit)(cJSON *); } cases[] = {
        {"step beyond steps", "state.step", e_step},
        {"perm not a permutation", "permutation", e_perm_dup},
        {"corr short", "state.corr has", e_corr_short},
        {"corr inexact", "not exact", e_corr_inexact},
        {"a netfile given", "not an ibcheck-checkpoint file", e_netfile},
        {"every 0", "checkpoint_every", e_every},
        {"no blas_threads", "blas_threads", e_threads},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = 0;
        int r = edit_and_load(path, bad, cases[i].edit, err);
        char nm[80];
        snprintf(nm, sizeof nm, "damaged: %s", cases[i].what);
        report(nm, r == IBC_EINPUT && strstr(err, cases[i].want) && !strchr(err, '\n'), "%s",
               r == IBC_EINPUT ? err : "accepted");
    }
    ibc_flow_state_clear(&s);
    ibc_train_trained_clear(&t);
    unlink(path);
    unlink(bad);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    ibc_prec_blas_setup();   /* as `train` does: the thread count a checkpoint records */
    const ibc_method methods[] = {IBC_METHOD_GD, IBC_METHOD_SGD, IBC_METHOD_RK4};
    const ibc_prec precs[] = {ibc_prec_double(), ibc_prec_mpfr(128)};
    for (int pi = 0; pi < 2; pi++)
        for (int mi = 0; mi < 3; mi++) {
            test_flow_resume(methods[mi], precs[pi], 73);
            test_flow_resume(methods[mi], precs[pi], 150);   /* at the end: nothing left to do */
        }
    test_trained_ckpt(IBC_METHOD_GD);
    test_trained_ckpt(IBC_METHOD_SGD);
    test_trained_ckpt(IBC_METHOD_RK4);
    test_adaptive_refused();
    test_fault_keeps_checkpoint();
    test_damaged();
    rmdir(dir);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
