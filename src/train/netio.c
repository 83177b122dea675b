/* netio: saved networks as JSON.  Theta is stored exactly (C99 "%a" for
 * double, MPFR "%Ra" for MPFR modes) so that a load gives back the same bits
 * and a long run can resume exactly (DESIGN non-negotiables).  Scalars of the
 * configuration are JSON numbers written with the shortest digits that read
 * back to the same double, so the file stays readable and exact. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ibcheck/netio.h"
#include "ibcheck/util.h"

/* Integers above 2^53 would not survive a trip through a JSON double. */
#define JSON_INT_MAX 9007199254740992.0

/* ---------------------------------------------------------------- save */

/* The shortest of 15..17 significant digits that reads back to x. */
static const char *shortest(char *buf, size_t len, double x)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

static int add_double(cJSON *o, const char *key, double x)
{
    if (!isfinite(x))
        return cJSON_AddNullToObject(o, key) != NULL;
    char buf[40];
    return cJSON_AddRawToObject(o, key, shortest(buf, sizeof buf, x)) != NULL;
}

static int add_long(cJSON *o, const char *key, long x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", x);
    return cJSON_AddRawToObject(o, key, buf) != NULL;
}

static int add_config(cJSON *root, const ibc_config *c)
{
    char buf[32], pb[24];
    cJSON *o = cJSON_AddObjectToObject(root, "config");
    if (!o)
        return 0;
    snprintf(buf, sizeof buf, "%lu", c->model.seed);   /* string: seeds can exceed 2^53 */
    return add_long(o, "D", c->model.D) && add_long(o, "K", c->model.K)
        && add_long(o, "K1", c->model.K1) && add_double(o, "alpha", c->model.alpha)
        && cJSON_AddBoolToObject(o, "random_centers", c->model.random_centers != 0)
        && cJSON_AddStringToObject(o, "seed", buf)
        && add_long(o, "n", c->n) && add_long(o, "h", c->h)
        && cJSON_AddStringToObject(o, "eps", c->eps)
        && cJSON_AddStringToObject(o, "init", ibc_net_init_name(c->init))
        && cJSON_AddStringToObject(o, "loss", ibc_net_loss_name(c->loss))
        && cJSON_AddBoolToObject(o, "mean", c->mean != 0)
        && cJSON_AddStringToObject(o, "method", ibc_flow_method_name(c->method))
        && add_double(o, "lr", c->lr) && add_long(o, "steps", c->steps)
        && add_long(o, "batch", c->batch)
        && cJSON_AddStringToObject(o, "precision", ibc_prec_str(c->prec, pb))
        && cJSON_AddStringToObject(o, "hi_precision", ibc_prec_str(c->prec_hi, pb));
}

/* Bits that hold any midpoint of v exactly: arithmetic rounds to v's bits,
 * and values set from the generator have IBC_GEN_BITS. */
static long exact_bits(const ibc_vec *v)
{
    return v->pr.bits + IBC_GEN_BITS;
}

/* Appends a vector (theta, a checkpoint's Q0 and corr) as exact strings; a
 * vector of balls also gets key_rad, the radii rounded up. */
static int add_vec(cJSON *root, const char *key, const ibc_vec *theta)
{
    int arb = theta->pr.mode == IBC_ARB;
    char rkey[48];
    snprintf(rkey, sizeof rkey, "%s_rad", key);
    cJSON *arr = cJSON_AddArrayToObject(root, key);
    cJSON *rad = arb ? cJSON_AddArrayToObject(root, rkey) : NULL;
    if (!arr || (arb && !rad))
        return 0;
    mpfr_t m;
    mpfr_init2(m, exact_bits(theta));
    int ok = 1;
    for (long i = 0; ok && i < theta->len; i++) {
        for (int part = 0; ok && part < 1 + arb; part++) {
            cJSON *s;
            if (theta->pr.mode == IBC_DOUBLE) {
                char buf[40];
                snprintf(buf, sizeof buf, "%a", theta->d[i]);
                s = cJSON_CreateString(buf);
            } else {
                char *str = NULL;
                if (part == 0)
                    ibc_prec_vec_get_mpfr(m, theta, i);
                else
                    ibc_prec_vec_get_rad(m, theta, i);
                if (mpfr_asprintf(&str, "%Ra", theta->pr.mode == IBC_MPFR ? theta->m + i : m) < 0) {
                    ok = 0;
                    break;
                }
                s = cJSON_CreateString(str);
                mpfr_free_str(str);
            }
            if (!s || !cJSON_AddItemToArray(part ? rad : arr, s)) {
                cJSON_Delete(s);
                ok = 0;
            }
        }
    }
    mpfr_clear(m);
    return ok;
}

static int add_stats(cJSON *root, const ibc_flow_stats *st)
{
    cJSON *o = cJSON_AddObjectToObject(root, "flow");
    return o && add_long(o, "steps", st->steps) && add_double(o, "t", st->t)
        && add_long(o, "rejected", st->rejected) && add_long(o, "events", st->events)
        && add_long(o, "grad_evals", st->grad_evals);
}

static int put_text(FILE *out, void *ctx)
{
    return fputs((const char *)ctx, out) < 0 || fputc('\n', out) == EOF;
}

/* What the netfile and the checkpoint share: the check that the loader will
 * accept it, and the header (format, version, config, p, precision, sizes). */
static cJSON *compose_head(const char *path, const char *format, long version, const ibc_config *cfg,
                           double p, const ibc_vec *theta, int *rc, char *err)
{
    /* A file the loader would reject is never written. */
    char e2[IBC_ERRLEN];
    *rc = IBC_EINPUT;
    if (ibc_train_config_check(cfg, e2) != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "%.100s: %.210s", path, e2);
        return NULL;
    }
    if (!(p >= 1) || !isfinite(p)) {
        snprintf(err, IBC_ERRLEN, "%.100s: p = %g is out of range: need a finite p >= 1", path, p);
        return NULL;
    }
    long dim = cfg->h * cfg->model.D + cfg->h;
    if (theta->len != dim) {
        snprintf(err, IBC_ERRLEN, "%.100s: theta has %ld entries: need h*D + h = %ld", path, theta->len, dim);
        return NULL;
    }
    if (!ibc_prec_vec_is_finite(theta)) {
        snprintf(err, IBC_ERRLEN, "%.100s: theta holds NaN or inf: nothing saved", path);
        *rc = IBC_ENUMERIC;
        return NULL;
    }
    char pb[24];
    cJSON *root = cJSON_CreateObject();
    int ok = root && cJSON_AddStringToObject(root, "format", format)
        && add_long(root, "version", version)
        && add_config(root, cfg) && add_double(root, "p", p)
        && cJSON_AddStringToObject(root, "precision", ibc_prec_str(theta->pr, pb))
        && add_long(root, "dim", dim) && add_long(root, "h", cfg->h) && add_long(root, "D", cfg->model.D);
    if (!ok) {
        cJSON_Delete(root);
        snprintf(err, IBC_ERRLEN, "%.100s: out of memory composing the file", path);
        *rc = IBC_EIO;
        return NULL;
    }
    *rc = IBC_OK;
    return root;
}

/* Prints root and writes it atomically; root is consumed. */
static int write_root(const char *path, cJSON *root, int ok, char *err)
{
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        snprintf(err, IBC_ERRLEN, "%.100s: out of memory composing the file", path);
        return IBC_EIO;
    }
    int rc = ibc_util_write_atomic(path, put_text, text, err);
    cJSON_free(text);
    return rc;
}

int ibc_train_netio_save(const char *path, const ibc_config *cfg, double p,
                         const ibc_vec *theta, const ibc_flow_stats *st, char *err)
{
    int rc;
    cJSON *root = compose_head(path, IBC_NETFILE_FORMAT, IBC_NETFILE_VERSION, cfg, p, theta, &rc, err);
    if (!root)
        return rc;
    return write_root(path, root, (!st || add_stats(root, st)) && add_vec(root, "theta", theta), err);
}

/* The flow state of a checkpoint.  The SGD order is saved although the
 * resume replays it from the seed: the replay is then checked against it. */
static int add_state(cJSON *root, const ibc_flow_state *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, "state");
    if (!o || !add_long(o, "step", s->step) || !add_long(o, "grad_evals", s->grad_evals))
        return 0;
    if (s->Q0.len > 0 && !(add_vec(o, "Q0", &s->Q0) && add_vec(o, "corr", &s->corr)))
        return 0;
    if (s->n > 0 && s->perm) {
        if (!add_long(o, "pos", s->pos))
            return 0;
        cJSON *arr = cJSON_AddArrayToObject(o, "perm");
        if (!arr)
            return 0;
        for (long i = 0; i < s->n; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%ld", s->perm[i]);
            cJSON *it = cJSON_CreateRaw(buf);
            if (!it || !cJSON_AddItemToArray(arr, it)) {
                cJSON_Delete(it);
                return 0;
            }
        }
    }
    return 1;
}

int ibc_train_netio_ckpt_save(const char *path, const ibc_config *cfg, double p, const ibc_ckpt_meta *meta,
                              const ibc_vec *theta, const ibc_flow_state *s, char *err)
{
    if (meta->every < 1 || meta->blas_threads < 0) {
        snprintf(err, IBC_ERRLEN, "%.100s: checkpoint every %ld steps, %ld BLAS threads is out of range: "
                 "need every >= 1 and threads >= 0", path, meta->every, meta->blas_threads);
        return IBC_EINPUT;
    }
    if (s->step < 0 || s->step > cfg->steps || (s->Q0.len > 0 && s->corr.len != s->Q0.len)
        || (s->Q0.len > 0 && s->Q0.len != cfg->h)) {
        snprintf(err, IBC_ERRLEN, "%.100s: the flow state (step %ld, %ld Q0, %ld corr) is inconsistent: "
                 "need 0 <= step <= steps = %ld and h = %ld of Q0 and corr", path, s->step, s->Q0.len,
                 s->corr.len, cfg->steps, cfg->h);
        return IBC_EINPUT;
    }
    if ((s->Q0.len > 0 && !ibc_prec_vec_is_finite(&s->Q0)) || (s->corr.len > 0 && !ibc_prec_vec_is_finite(&s->corr))) {
        snprintf(err, IBC_ERRLEN, "%.100s: the balance terms hold NaN or inf: nothing saved", path);
        return IBC_ENUMERIC;
    }
    int rc;
    cJSON *root = compose_head(path, IBC_CKPTFILE_FORMAT, IBC_CKPTFILE_VERSION, cfg, p, theta, &rc, err);
    if (!root)
        return rc;
    return write_root(path, root, add_long(root, "checkpoint_every", meta->every)
                      && add_long(root, "blas_threads", meta->blas_threads) && add_state(root, s)
                      && add_vec(root, "theta", theta), err);
}

/* A resume must run exactly the saved run: every parameter that training
 * reads is compared (hi_precision, verbosity and records are not read). */
int ibc_train_netio_same_training(const ibc_config *a, double pa, const ibc_config *b, double pb, char *err)
{
    char x[64], y[64];
    const char *key = NULL;
#define DIFF_L(k, u, v) if (!key && (u) != (v)) { key = k; snprintf(x, sizeof x, "%ld", (long)(u)); snprintf(y, sizeof y, "%ld", (long)(v)); }
#define DIFF_G(k, u, v) if (!key && (u) != (v)) { key = k; shortest(x, sizeof x, (u)); shortest(y, sizeof y, (v)); }
#define DIFF_S(k, u, v) if (!key && strcmp((u), (v)) != 0) { key = k; snprintf(x, sizeof x, "%.40s", (u)); snprintf(y, sizeof y, "%.40s", (v)); }
    DIFF_L("D", a->model.D, b->model.D)
    DIFF_L("K", a->model.K, b->model.K)
    DIFF_L("K1", a->model.K1, b->model.K1)
    DIFF_G("alpha", a->model.alpha, b->model.alpha)
    DIFF_S("random-centers", a->model.random_centers ? "on" : "off", b->model.random_centers ? "on" : "off")
    if (!key && a->model.seed != b->model.seed) {
        key = "seed";
        snprintf(x, sizeof x, "%lu", a->model.seed);
        snprintf(y, sizeof y, "%lu", b->model.seed);
    }
    DIFF_L("n", a->n, b->n)
    DIFF_L("h", a->h, b->h)
    DIFF_S("eps", a->eps, b->eps)
    DIFF_S("init", ibc_net_init_name(a->init), ibc_net_init_name(b->init))
    DIFF_S("loss", ibc_net_loss_name(a->loss), ibc_net_loss_name(b->loss))
    DIFF_S("mean", a->mean ? "mean" : "sum", b->mean ? "mean" : "sum")
    DIFF_S("method", ibc_flow_method_name(a->method), ibc_flow_method_name(b->method))
    DIFF_G("lr", a->lr, b->lr)
    DIFF_L("steps", a->steps, b->steps)
    DIFF_L("batch", a->batch, b->batch)
    char pa_s[24], pb_s[24];
    DIFF_S("precision", ibc_prec_str(a->prec, pa_s), ibc_prec_str(b->prec, pb_s))
    DIFF_G("p", pa, pb)
#undef DIFF_L
#undef DIFF_G
#undef DIFF_S
    if (!key)
        return IBC_OK;
    snprintf(err, IBC_ERRLEN, "%s = %s differs from the checkpoint's %s = %s: a resume needs the same training parameters",
             key, x, key, y);
    return IBC_EINPUT;
}

/* ---------------------------------------------------------------- load */

typedef struct {
    const char *path;
    char *err;
    const char *format;     /* the expected 'format' and 'version' */
    long version;
} loader;

static int fail(const loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const loader *L, const char *fmt, ...)
{
    char msg[IBC_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, IBC_ERRLEN, "%.100s: %.210s", L->path, msg);
    return IBC_EINPUT;
}

static int get_long(const loader *L, const cJSON *o, const char *where, const char *key, long *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return fail(L, "key '%s%s' is missing", where, key);
    double v = it->valuedouble;
    if (!cJSON_IsNumber(it) || v != floor(v) || fabs(v) > JSON_INT_MAX)
        return fail(L, "key '%s%s' is not an integer", where, key);
    *out = (long)v;
    return IBC_OK;
}

static int get_double(const loader *L, const cJSON *o, const char *where, const char *key, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return fail(L, "key '%s%s' is missing", where, key);
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return fail(L, "key '%s%s' is not a finite number", where, key);
    *out = it->valuedouble;
    return IBC_OK;
}

/* A string from the file goes into one-line error messages and other
 * parsers: refuse control characters (a JSON "\n" escape is legal JSON). */
static int plain_text(const loader *L, const char *what, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return fail(L, "%s holds the control character 0x%02x: need printable text", what, *c);
    return IBC_OK;
}

static int get_string(const loader *L, const cJSON *o, const char *where, const char *key, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return fail(L, "key '%s%s' is missing", where, key);
    if (!cJSON_IsString(it) || !it->valuestring)
        return fail(L, "key '%s%s' is not a string", where, key);
    char what[96];
    snprintf(what, sizeof what, "key '%.40s%.40s'", where, key);
    if (plain_text(L, what, it->valuestring))
        return IBC_EINPUT;
    *out = it->valuestring;
    return IBC_OK;
}

static int get_bool(const loader *L, const cJSON *o, const char *where, const char *key, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return fail(L, "key '%s%s' is missing", where, key);
    if (!cJSON_IsBool(it))
        return fail(L, "key '%s%s' is not true or false", where, key);
    *out = cJSON_IsTrue(it);
    return IBC_OK;
}

/* Passes on the one-line message of another module's parser, with the file name. */
static int relay(const loader *L, int rc, const char *msg)
{
    return rc == IBC_OK ? IBC_OK : fail(L, "%s", msg);
}

static int read_config(const loader *L, const cJSON *root, ibc_config *c)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(o))
        return fail(L, "key 'config' is missing or not an object");
    const char *w = "config.", *seed = "", *eps = "", *init = "", *loss = "", *method = "", *prec = "", *prec_hi = "";
    ibc_train_config_default(c);
    int rc = get_long(L, o, w, "D", &c->model.D);
    if (!rc) rc = get_long(L, o, w, "K", &c->model.K);
    if (!rc) rc = get_long(L, o, w, "K1", &c->model.K1);
    if (!rc) rc = get_double(L, o, w, "alpha", &c->model.alpha);
    if (!rc) rc = get_bool(L, o, w, "random_centers", &c->model.random_centers);
    if (!rc) rc = get_string(L, o, w, "seed", &seed);
    if (!rc) rc = get_long(L, o, w, "n", &c->n);
    if (!rc) rc = get_long(L, o, w, "h", &c->h);
    if (!rc) rc = get_string(L, o, w, "eps", &eps);
    if (!rc) rc = get_string(L, o, w, "init", &init);
    if (!rc) rc = get_string(L, o, w, "loss", &loss);
    if (!rc) rc = get_bool(L, o, w, "mean", &c->mean);
    if (!rc) rc = get_string(L, o, w, "method", &method);
    if (!rc) rc = get_double(L, o, w, "lr", &c->lr);
    if (!rc) rc = get_long(L, o, w, "steps", &c->steps);
    if (!rc) rc = get_long(L, o, w, "batch", &c->batch);
    if (!rc) rc = get_string(L, o, w, "precision", &prec);
    if (!rc) rc = get_string(L, o, w, "hi_precision", &prec_hi);
    if (rc)
        return rc;
    char *end;
    errno = 0;
    c->model.seed = strtoul(seed, &end, 10);
    if (!isdigit((unsigned char)seed[0]) || *end || errno)
        return fail(L, "config.seed = '%.40s' is not a whole number in 0..%lu", seed, (unsigned long)-1);
    if (strlen(eps) >= sizeof c->eps)
        return fail(L, "config.eps = '%.40s...' is too long: need at most %zu characters", eps, sizeof c->eps - 1);
    strcpy(c->eps, eps);
    char e[IBC_ERRLEN];
    if ((rc = relay(L, ibc_net_init_parse(&c->init, init, e), e))
        || (rc = relay(L, ibc_net_loss_parse(&c->loss, loss, e), e))
        || (rc = relay(L, ibc_flow_method_parse(&c->method, method, e), e))
        || (rc = relay(L, ibc_prec_parse(&c->prec, prec, e), e))
        || (rc = relay(L, ibc_prec_parse(&c->prec_hi, prec_hi, e), e)))
        return rc;
    return relay(L, ibc_train_config_check(c, e), e);
}

/* One entry of vector `key` (theta, Q0, corr), which must read back exactly
 * in the vector's mode. */
static int read_value(const loader *L, const char *key, ibc_vec *theta, long i, const cJSON *it, mpfr_ptr tmp)
{
    char pb[24];
    const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
    if (!s || !s[0] || isspace((unsigned char)s[0]))
        return fail(L, "%s[%ld] is not a number string", key, i);
    char what[48];
    snprintf(what, sizeof what, "%.20s[%ld]", key, i);
    if (plain_text(L, what, s))
        return IBC_EINPUT;
    char *end;
    if (theta->pr.mode == IBC_DOUBLE) {
        double x = strtod(s, &end);
        if (*end || !isfinite(x))
            return fail(L, "%s[%ld] = '%.60s' is not a finite double", key, i, s);
        theta->d[i] = x;
        return IBC_OK;
    }
    int inexact = mpfr_strtofr(tmp, s, &end, 0, MPFR_RNDN);
    if (*end || !mpfr_number_p(tmp))
        return fail(L, "%s[%ld] = '%.60s' is not a finite number", key, i, s);
    if (inexact)
        return fail(L, "%s[%ld] = '%.60s' is not exact at %s (need the saved hex form)",
                    key, i, s, ibc_prec_str(theta->pr, pb));
    ibc_prec_vec_set_mpfr(theta, i, tmp);
    return IBC_OK;
}

/* Reads array o.key of dim exact values into v (initialised, length dim);
 * where names o for messages ("" or "state."). */
static int read_vec(const loader *L, const cJSON *o, const char *where, const char *key, long dim, ibc_vec *v)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", where, key);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(arr))
        return fail(L, "key '%s' is missing or not an array", name);
    long len = cJSON_GetArraySize(arr);
    if (len != dim)
        return fail(L, "%s has %ld entries: need %s = %ld", name, len, where[0] ? "h" : "dim", dim);
    mpfr_t tmp;
    mpfr_init2(tmp, v->pr.mode == IBC_ARB ? exact_bits(v) : v->pr.bits);
    long i = 0;
    int rc = IBC_OK;
    for (const cJSON *it = arr->child; it && rc == IBC_OK; it = it->next, i++)
        rc = read_value(L, name, v, i, it, tmp);
    if (rc == IBC_OK && v->pr.mode == IBC_ARB) {
        /* The radii: parsed into a scratch vector of the same mode, then
         * moved in rounded up, so a ball never shrinks on reload. */
        char rkey[48];
        snprintf(rkey, sizeof rkey, "%s_rad", key);
        snprintf(name, sizeof name, "%s%s", where, rkey);
        arr = cJSON_GetObjectItemCaseSensitive(o, rkey);
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != dim)
            rc = fail(L, "key '%s' is missing or not an array of %ld radii (arb mode)", name, dim);
        ibc_vec r;
        ibc_prec_vec_init(&r, dim, v->pr);
        i = 0;
        for (const cJSON *it = rc ? NULL : arr->child; it && rc == IBC_OK; it = it->next, i++) {
            rc = read_value(L, name, &r, i, it, tmp);
            if (rc == IBC_OK && mpfr_sgn(tmp) < 0)
                rc = fail(L, "%s[%ld] is negative: need a radius >= 0", name, i);
            if (rc == IBC_OK)
                ibc_prec_vec_set_rad(v, i, tmp);
        }
        ibc_prec_vec_clear(&r);
    }
    mpfr_clear(tmp);
    return rc;
}

/* The whole file as one NUL-terminated string. */
static char *slurp(const loader *L, size_t *size)
{
    FILE *f = fopen(L->path, "rb");
    if (!f) {
        fail(L, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f))
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fail(L, "cannot read the file");
        return NULL;
    }
    buf[n] = '\0';
    *size = n;
    return buf;
}

static int load_root(const loader *L, const cJSON *root, ibc_config *cfg, double *p, ibc_vec *theta)
{
    const char *format, *prec_s = "";
    long version = 0, dim = 0, h = 0, D = 0;
    if (!cJSON_IsObject(root))
        return fail(L, "not an %s file: the top level is not a JSON object", L->format);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    format = cJSON_IsString(fmt) ? fmt->valuestring : NULL;
    if (format && plain_text(L, "key 'format'", format))
        return IBC_EINPUT;
    if (!format || strcmp(format, L->format) != 0)
        return fail(L, "not an %s file: key 'format' is %s%.40s%s", L->format,
                    format ? "'" : "", format ? format : "missing or not a string", format ? "'" : "");
    int rc = get_long(L, root, "", "version", &version);
    if (rc)
        return rc;
    if (version != L->version)
        return fail(L, "version = %ld is not supported: need version %ld", version, L->version);
    if ((rc = read_config(L, root, cfg)) || (rc = get_double(L, root, "", "p", p))
        || (rc = get_string(L, root, "", "precision", &prec_s)) || (rc = get_long(L, root, "", "dim", &dim))
        || (rc = get_long(L, root, "", "h", &h)) || (rc = get_long(L, root, "", "D", &D)))
        return rc;
    if (!(*p >= 1))
        return fail(L, "p = %g is out of range: need p >= 1", *p);
    ibc_prec pr;
    char e[IBC_ERRLEN];
    if ((rc = relay(L, ibc_prec_parse(&pr, prec_s, e), e)))
        return rc;
    if (h != cfg->h || D != cfg->model.D)
        return fail(L, "h = %ld, D = %ld disagree with config.h = %ld, config.D = %ld", h, D, cfg->h, cfg->model.D);
    if (dim != h * D + h)
        return fail(L, "dim = %ld is inconsistent: need h*D + h = %ld", dim, h * D + h);
    const cJSON *flow = cJSON_GetObjectItemCaseSensitive(root, "flow");
    if (flow) {
        long steps = 0;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(flow, "t");
        if (!cJSON_IsObject(flow))
            return fail(L, "key 'flow' is not an object");
        if ((rc = get_long(L, flow, "flow.", "steps", &steps)))
            return rc;
        if (!cJSON_IsNumber(t) && !cJSON_IsNull(t))
            return fail(L, "key 'flow.t' is missing or not a number");
    }
    /* The array's length first: a header claiming a huge dim must not make
     * us allocate it (a 660-byte file asked for 10^9 entries). */
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "theta");
    if (!cJSON_IsArray(arr))
        return fail(L, "key 'theta' is missing or not an array");
    if ((long)cJSON_GetArraySize(arr) != dim)
        return fail(L, "theta has %ld entries: need dim = %ld", (long)cJSON_GetArraySize(arr), dim);
    ibc_prec_vec_init(theta, dim, pr);
    return read_vec(L, root, "", "theta", dim, theta);
}

/* The file parsed as JSON, or NULL after fail(). */
static cJSON *parse_file(const loader *L)
{
    size_t size;
    char *text = slurp(L, &size);
    if (!text)
        return NULL;
    if (strlen(text) != size) {
        free(text);
        fail(L, "not a JSON file: it holds a NUL byte");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        long at = end ? (long)(end - text) : -1;
        fail(L, "not valid JSON (truncated or malformed) near byte %ld", at);
    }
    free(text);
    return root;
}

int ibc_train_netio_load(const char *path, ibc_config *cfg, double *p, ibc_vec *theta, char *err)
{
    loader L = {path, err, IBC_NETFILE_FORMAT, IBC_NETFILE_VERSION};
    memset(theta, 0, sizeof *theta);
    cJSON *root = parse_file(&L);
    if (!root)
        return IBC_EINPUT;
    /* Fill locals first: the caller's cfg and p change only on success. */
    ibc_config c;
    double pv = 0;
    int rc = load_root(&L, root, &c, &pv, theta);
    cJSON_Delete(root);
    if (rc != IBC_OK) {
        ibc_prec_vec_clear(theta);
        memset(theta, 0, sizeof *theta);
        return rc;
    }
    *cfg = c;
    *p = pv;
    return IBC_OK;
}

/* The flow state of a checkpoint of run c in mode pr, validated so that a
 * resume can trust it: step within the run, the SGD order a permutation. */
static int read_state(const loader *L, const cJSON *root, const ibc_config *c, ibc_prec pr, ibc_flow_state *s)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (!cJSON_IsObject(o))
        return fail(L, "key 'state' is missing or not an object");
    int rc = get_long(L, o, "state.", "step", &s->step);
    if (!rc) rc = get_long(L, o, "state.", "grad_evals", &s->grad_evals);
    if (rc)
        return rc;
    if (s->step < 0 || s->step > c->steps)
        return fail(L, "state.step = %ld is out of range: need 0 <= step <= config.steps = %ld", s->step, c->steps);
    if (s->grad_evals < 0)
        return fail(L, "state.grad_evals = %ld is out of range: need grad_evals >= 0", s->grad_evals);
    if (cJSON_GetObjectItemCaseSensitive(o, "Q0") || cJSON_GetObjectItemCaseSensitive(o, "corr")) {
        ibc_prec_vec_init(&s->Q0, c->h, pr);
        ibc_prec_vec_init(&s->corr, c->h, pr);
        if ((rc = read_vec(L, o, "state.", "Q0", c->h, &s->Q0)) || (rc = read_vec(L, o, "state.", "corr", c->h, &s->corr)))
            return rc;
    }
    const cJSON *perm = cJSON_GetObjectItemCaseSensitive(o, "perm");
    if (!perm)
        return IBC_OK;
    if (!cJSON_IsArray(perm) || cJSON_GetArraySize(perm) != c->n)
        return fail(L, "state.perm is not an array of n = %ld entries", c->n);
    if ((rc = get_long(L, o, "state.", "pos", &s->pos)))
        return rc;
    if (s->pos < 0 || s->pos > c->n)
        return fail(L, "state.pos = %ld is out of range: need 0 <= pos <= n = %ld", s->pos, c->n);
    s->perm = malloc((size_t)c->n * sizeof(long));
    unsigned char *seen = calloc((size_t)c->n, 1);
    if (!s->perm || !seen) {
        free(seen);
        return fail(L, "out of memory reading state.perm");
    }
    s->n = c->n;
    long i = 0;
    for (const cJSON *it = perm->child; it; it = it->next, i++) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || v != floor(v) || v < 0 || v >= (double)c->n || seen[(long)v]) {
            free(seen);
            return fail(L, "state.perm is not a permutation of 0..n-1 = %ld (entry %ld)", c->n - 1, i);
        }
        seen[(long)v] = 1;
        s->perm[i] = (long)v;
    }
    free(seen);
    return IBC_OK;
}

int ibc_train_netio_ckpt_load(const char *path, ibc_config *cfg, double *p, ibc_ckpt_meta *meta,
                              ibc_vec *theta, ibc_flow_state *s, char *err)
{
    loader L = {path, err, IBC_CKPTFILE_FORMAT, IBC_CKPTFILE_VERSION};
    memset(theta, 0, sizeof *theta);
    ibc_flow_state_init(s);
    cJSON *root = parse_file(&L);
    if (!root)
        return IBC_EINPUT;
    ibc_config c;
    double pv = 0;
    ibc_ckpt_meta m = {0, 0};
    int rc = load_root(&L, root, &c, &pv, theta);
    if (!rc) rc = get_long(&L, root, "", "checkpoint_every", &m.every);
    if (!rc && m.every < 1) rc = fail(&L, "checkpoint_every = %ld is out of range: need every >= 1", m.every);
    if (!rc) rc = get_long(&L, root, "", "blas_threads", &m.blas_threads);
    if (!rc && m.blas_threads < 0)
        rc = fail(&L, "blas_threads = %ld is out of range: need threads >= 0", m.blas_threads);
    if (!rc) rc = read_state(&L, root, &c, theta->pr, s);
    cJSON_Delete(root);
    if (rc != IBC_OK) {
        ibc_prec_vec_clear(theta);
        memset(theta, 0, sizeof *theta);
        ibc_flow_state_clear(s);
        return rc;
    }
    *cfg = c;
    *p = pv;
    *meta = m;
    return IBC_OK;
}
