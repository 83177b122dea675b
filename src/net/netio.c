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
#include "ibcheck/report.h"

/* Integers above 2^53 would not survive a trip through a JSON double. */
#define JSON_INT_MAX 9007199254740992.0

/* ---------------------------------------------------------------- save */

static int add_double(cJSON *o, const char *key, double x)
{
    if (!isfinite(x))
        return cJSON_AddNullToObject(o, key) != NULL;
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return cJSON_AddRawToObject(o, key, buf) != NULL;
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
        && cJSON_AddStringToObject(o, "init", ibc_init_name(c->init))
        && cJSON_AddStringToObject(o, "loss", ibc_loss_name(c->loss))
        && cJSON_AddBoolToObject(o, "mean", c->mean != 0)
        && cJSON_AddStringToObject(o, "method", ibc_method_name(c->method))
        && add_double(o, "lr", c->lr) && add_long(o, "steps", c->steps)
        && add_long(o, "batch", c->batch)
        && cJSON_AddStringToObject(o, "precision", ibc_prec_str(c->prec, pb))
        && cJSON_AddStringToObject(o, "hi_precision", ibc_prec_str(c->prec_hi, pb));
}

/* Appends theta as exact strings. */
static int add_theta(cJSON *root, const ibc_vec *theta)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "theta");
    if (!arr)
        return 0;
    for (long i = 0; i < theta->len; i++) {
        cJSON *s;
        if (theta->pr.mode == IBC_DOUBLE) {
            char buf[40];
            snprintf(buf, sizeof buf, "%a", theta->d[i]);
            s = cJSON_CreateString(buf);
        } else {
            char *str = NULL;
            if (mpfr_asprintf(&str, "%Ra", theta->m + i) < 0)
                return 0;
            s = cJSON_CreateString(str);
            mpfr_free_str(str);
        }
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return 0;
        }
    }
    return 1;
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

int ibc_netio_save(const char *path, const ibc_config *cfg, double p,
                   const ibc_vec *theta, const ibc_flow_stats *st, char *err)
{
    /* A file the loader would reject is never written. */
    char e2[IBC_ERRLEN];
    if (ibc_config_check(cfg, e2) != IBC_OK) {
        snprintf(err, IBC_ERRLEN, "%.100s: %.210s", path, e2);
        return IBC_EINPUT;
    }
    if (!(p >= 1) || !isfinite(p)) {
        snprintf(err, IBC_ERRLEN, "%.100s: p = %g is out of range: need a finite p >= 1", path, p);
        return IBC_EINPUT;
    }
    long dim = cfg->h * cfg->model.D + cfg->h;
    if (theta->len != dim) {
        snprintf(err, IBC_ERRLEN, "%.100s: theta has %ld entries: need h*D + h = %ld", path, theta->len, dim);
        return IBC_EINPUT;
    }
    if (!ibc_vec_is_finite(theta)) {
        snprintf(err, IBC_ERRLEN, "%.100s: theta holds NaN or inf: nothing saved", path);
        return IBC_ENUMERIC;
    }
    char pb[24];
    cJSON *root = cJSON_CreateObject();
    int ok = root && cJSON_AddStringToObject(root, "format", IBC_NETFILE_FORMAT)
        && add_long(root, "version", IBC_NETFILE_VERSION)
        && add_config(root, cfg) && add_double(root, "p", p)
        && cJSON_AddStringToObject(root, "precision", ibc_prec_str(theta->pr, pb))
        && add_long(root, "dim", dim) && add_long(root, "h", cfg->h) && add_long(root, "D", cfg->model.D)
        && (!st || add_stats(root, st)) && add_theta(root, theta);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        snprintf(err, IBC_ERRLEN, "%.100s: out of memory composing the file", path);
        return IBC_EIO;
    }
    int rc = ibc_report_write_atomic(path, put_text, text, err);
    cJSON_free(text);
    return rc;
}

/* ---------------------------------------------------------------- load */

typedef struct {
    const char *path;
    char *err;
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
    ibc_config_default(c);
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
    if ((rc = relay(L, ibc_init_parse(&c->init, init, e), e))
        || (rc = relay(L, ibc_loss_parse(&c->loss, loss, e), e))
        || (rc = relay(L, ibc_method_parse(&c->method, method, e), e))
        || (rc = relay(L, ibc_prec_parse(&c->prec, prec, e), e))
        || (rc = relay(L, ibc_prec_parse(&c->prec_hi, prec_hi, e), e)))
        return rc;
    return relay(L, ibc_config_check(c, e), e);
}

/* One theta entry, which must read back exactly in mode of theta. */
static int read_value(const loader *L, ibc_vec *theta, long i, const cJSON *it, mpfr_ptr tmp)
{
    char pb[24];
    const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
    if (!s || !s[0] || isspace((unsigned char)s[0]))
        return fail(L, "theta[%ld] is not a number string", i);
    char what[48];
    snprintf(what, sizeof what, "theta[%ld]", i);
    if (plain_text(L, what, s))
        return IBC_EINPUT;
    char *end;
    if (theta->pr.mode == IBC_DOUBLE) {
        double x = strtod(s, &end);
        if (*end || !isfinite(x))
            return fail(L, "theta[%ld] = '%.60s' is not a finite double", i, s);
        theta->d[i] = x;
        return IBC_OK;
    }
    int inexact = mpfr_strtofr(tmp, s, &end, 0, MPFR_RNDN);
    if (*end || !mpfr_number_p(tmp))
        return fail(L, "theta[%ld] = '%.60s' is not a finite number", i, s);
    if (inexact)
        return fail(L, "theta[%ld] = '%.60s' is not exact at %s (need the saved hex form)",
                    i, s, ibc_prec_str(theta->pr, pb));
    ibc_vec_set_mpfr(theta, i, tmp);
    return IBC_OK;
}

static int read_theta(const loader *L, const cJSON *root, long dim, ibc_vec *theta)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "theta");
    if (!cJSON_IsArray(arr))
        return fail(L, "key 'theta' is missing or not an array");
    long len = cJSON_GetArraySize(arr);
    if (len != dim)
        return fail(L, "theta has %ld entries: need dim = %ld", len, dim);
    mpfr_t tmp;
    mpfr_init2(tmp, theta->pr.bits);
    long i = 0;
    int rc = IBC_OK;
    for (const cJSON *it = arr->child; it && rc == IBC_OK; it = it->next, i++)
        rc = read_value(L, theta, i, it, tmp);
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
        return fail(L, "not an %s file: the top level is not a JSON object", IBC_NETFILE_FORMAT);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    format = cJSON_IsString(fmt) ? fmt->valuestring : NULL;
    if (format && plain_text(L, "key 'format'", format))
        return IBC_EINPUT;
    if (!format || strcmp(format, IBC_NETFILE_FORMAT) != 0)
        return fail(L, "not an %s file: key 'format' is %s%.40s%s", IBC_NETFILE_FORMAT,
                    format ? "'" : "", format ? format : "missing or not a string", format ? "'" : "");
    int rc = get_long(L, root, "", "version", &version);
    if (rc)
        return rc;
    if (version != IBC_NETFILE_VERSION)
        return fail(L, "version = %ld is not supported: need version %d", version, IBC_NETFILE_VERSION);
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
    ibc_vec_init(theta, dim, pr);
    return read_theta(L, root, dim, theta);
}

int ibc_netio_load(const char *path, ibc_config *cfg, double *p, ibc_vec *theta, char *err)
{
    loader L = {path, err};
    memset(theta, 0, sizeof *theta);
    size_t size;
    char *text = slurp(&L, &size);
    if (!text)
        return IBC_EINPUT;
    if (strlen(text) != size) {
        free(text);
        return fail(&L, "not a JSON file: it holds a NUL byte");
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        long at = end ? (long)(end - text) : -1;
        free(text);
        return fail(&L, "not valid JSON (truncated or malformed) near byte %ld", at);
    }
    free(text);
    /* Fill locals first: the caller's cfg and p change only on success. */
    ibc_config c;
    double pv = 0;
    int rc = load_root(&L, root, &c, &pv, theta);
    cJSON_Delete(root);
    if (rc != IBC_OK) {
        ibc_vec_clear(theta);
        memset(theta, 0, sizeof *theta);
        return rc;
    }
    *cfg = c;
    *p = pv;
    return IBC_OK;
}
