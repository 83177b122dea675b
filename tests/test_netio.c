/* Unit test of saved networks: bit-exact round trips in double and mpfr:256
 * on awkward values, and clean rejection (IBC_EINPUT, one line naming the
 * file, no crash, theta left empty) of damaged files. */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "ibcheck/netio.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static char dir[] = "/tmp/ibc_test_netio.XXXXXX";

static void small_config(ibc_config *c)
{
    ibc_train_config_default(c);
    c->model.D = 4;
    c->model.K = 3;
    c->model.K1 = 1;
    c->model.alpha = 1.0 / 3;          /* needs 17 digits */
    c->model.seed = 18446744073709551615UL;   /* beyond 2^53 */
    c->model.random_centers = 1;
    c->h = 3;
    c->n = 7;
    c->lr = 0.1;
    c->steps = 123456789;
    c->batch = 5;
    strcpy(c->eps, "1e-1000");
    c->init = IBC_INIT_GAUSSIAN;
    c->loss = IBC_LOSS_LOGISTIC;
    c->mean = 0;
    c->method = IBC_METHOD_SGD;
    c->prec_hi = ibc_prec_mpfr(333);
}

static int same_config(const ibc_config *a, const ibc_config *b)
{
    return a->model.D == b->model.D && a->model.K == b->model.K && a->model.K1 == b->model.K1
        && memcmp(&a->model.alpha, &b->model.alpha, sizeof(double)) == 0
        && a->model.seed == b->model.seed && a->model.random_centers == b->model.random_centers
        && a->n == b->n && a->h == b->h && strcmp(a->eps, b->eps) == 0 && a->init == b->init
        && a->loss == b->loss && a->mean == b->mean && a->method == b->method
        && memcmp(&a->lr, &b->lr, sizeof(double)) == 0 && a->steps == b->steps && a->batch == b->batch
        && a->prec.mode == b->prec.mode && a->prec.bits == b->prec.bits
        && a->prec_hi.mode == b->prec_hi.mode && a->prec_hi.bits == b->prec_hi.bits;
}

static void fill_double(ibc_vec *v)
{
    const double vals[] = {1.0 / 3, -0.0, 1e-300, 4.9406564584124654e-324, DBL_MAX, -DBL_MIN, 0.1, M_PI,
                           -2.2250738585072009e-308, 1 + DBL_EPSILON, 0.0, -1e300, 3.0, 7e-10, 0.5};
    for (long i = 0; i < v->len; i++)
        ibc_prec_vec_set_d(v, i, vals[i % (long)(sizeof vals / sizeof *vals)]);
}

static void fill_mpfr(ibc_vec *v)
{
    mpfr_t x;
    mpfr_init2(x, v->pr.bits);
    for (long i = 0; i < v->len; i++) {
        switch (i % 8) {
        case 0: mpfr_set_ui(x, 1, MPFR_RNDN); mpfr_div_ui(x, x, 3, MPFR_RNDN); break;
        case 1: mpfr_set_zero(x, -1); break;
        case 2: mpfr_set_ui_2exp(x, 1, -100000, MPFR_RNDN); mpfr_nextabove(x); break;
        case 3: mpfr_set_ui_2exp(x, 3, 100000, MPFR_RNDN); mpfr_neg(x, x, MPFR_RNDN); break;
        case 4: mpfr_const_pi(x, MPFR_RNDN); mpfr_mul_2si(x, x, -(long)i * 997, MPFR_RNDN); break;
        case 5: mpfr_set_str(x, "1e-300", 10, MPFR_RNDN); break;
        case 6: mpfr_set_ui(x, 1, MPFR_RNDN); mpfr_nextbelow(x); break;
        default: mpfr_set_si(x, -(long)i, MPFR_RNDN); mpfr_sqrt_ui(x, (unsigned long)i, MPFR_RNDN); break;
        }
        ibc_prec_vec_set_mpfr(v, i, x);
    }
    mpfr_clear(x);
}

static int bits_equal(const ibc_vec *a, const ibc_vec *b)
{
    if (a->len != b->len || a->pr.mode != b->pr.mode || a->pr.bits != b->pr.bits)
        return 0;
    for (long i = 0; i < a->len; i++) {
        if (a->pr.mode == IBC_DOUBLE) {
            if (memcmp(&a->d[i], &b->d[i], sizeof(double)) != 0)
                return 0;
        } else if (!mpfr_equal_p(a->m + i, b->m + i) && !(mpfr_nan_p(a->m + i) && mpfr_nan_p(b->m + i))) {
            return 0;
        } else if (mpfr_signbit(a->m + i) != mpfr_signbit(b->m + i)
                   || mpfr_get_prec(b->m + i) != a->pr.bits) {
            return 0;
        }
    }
    return 1;
}

static void round_trip(ibc_prec pr, const char *name)
{
    ibc_config c, got;
    small_config(&c);
    c.prec = pr;
    long dim = c.h * c.model.D + c.h;
    ibc_vec theta, back;
    ibc_prec_vec_init(&theta, dim, pr);
    if (pr.mode == IBC_DOUBLE)
        fill_double(&theta);
    else
        fill_mpfr(&theta);
    ibc_flow_stats st;
    ibc_flow_stats_init(&st);
    st.steps = 42;
    st.t = 8.4;
    char path[128], err[IBC_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    double p = 1 + 1.0 / 3, q = 0;
    CHECK(ibc_train_netio_save(path, &c, p, &theta, &st, err) == IBC_OK, "%s save: %s", name, err);
    int rc = ibc_train_netio_load(path, &got, &q, &back, err);
    CHECK(rc == IBC_OK, "%s load: %s", name, err);
    if (rc == IBC_OK) {
        CHECK(bits_equal(&theta, &back), "%s: theta differs after the round trip", name);
        CHECK(same_config(&c, &got), "%s: configuration differs after the round trip", name);
        CHECK(memcmp(&p, &q, sizeof p) == 0, "%s: p = %a read back as %a", name, p, q);
        ibc_prec_vec_clear(&back);
    }
    ibc_flow_stats_clear(&st);
    ibc_prec_vec_clear(&theta);
}

/* ---- damaged files ---- */

static char good_text[1 << 16];

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
}

static void expect_reject(const char *label, const char *text, size_t len, const char *want)
{
    char path[128], err[IBC_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_text(path, text, len);
    ibc_config c;
    ibc_train_config_default(&c);
    ibc_vec theta = {{IBC_DOUBLE, 53}, 99, (double *)1, NULL, NULL};   /* garbage: load must overwrite */
    double p = 7;
    int rc = ibc_train_netio_load(path, &c, &p, &theta, err);
    CHECK(rc == IBC_EINPUT, "%s: accepted (rc %d)", label, rc);
    CHECK(strncmp(err, path, strlen(path)) == 0 && !strchr(err, '\n'), "%s: message '%s'", label, err);
    CHECK(!want || strstr(err, want), "%s: message '%s' lacks '%s'", label, err, want);
    CHECK(theta.len == 0 && theta.d == NULL && theta.m == NULL, "%s: theta not left empty", label);
    CHECK(p == 7 && c.n == 500, "%s: outputs changed on failure", label);
    if (rc == IBC_OK)
        ibc_prec_vec_clear(&theta);
    unlink(path);
}

/* The good file with one edit made through cJSON. */
typedef void (*edit_fn)(cJSON *root);
static void expect_reject_edit(const char *label, edit_fn edit, const char *want)
{
    cJSON *root = cJSON_Parse(good_text);
    edit(root);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    expect_reject(label, s, strlen(s), want);
    cJSON_free(s);
}

static void set_num(cJSON *o, const char *k, double v) { cJSON_ReplaceItemInObject(o, k, cJSON_CreateNumber(v)); }
static void set_str(cJSON *o, const char *k, const char *v) { cJSON_ReplaceItemInObject(o, k, cJSON_CreateString(v)); }
static cJSON *cfg_of(cJSON *r) { return cJSON_GetObjectItem(r, "config"); }
static cJSON *theta_of(cJSON *r) { return cJSON_GetObjectItem(r, "theta"); }

static void e_version(cJSON *r) { set_num(r, "version", 2); }
static void e_version_str(cJSON *r) { set_str(r, "version", "1"); }
static void e_format(cJSON *r) { set_str(r, "format", "other-net"); }
static void e_no_format(cJSON *r) { cJSON_DeleteItemFromObject(r, "format"); }
static void e_short_theta(cJSON *r) { cJSON_DeleteItemFromArray(theta_of(r), 0); }
static void e_long_theta(cJSON *r) { cJSON_AddItemToArray(theta_of(r), cJSON_CreateString("0x1p+0")); }
static void e_h(cJSON *r) { set_num(r, "h", 4); }
static void e_dim(cJSON *r) { set_num(r, "dim", 16); }
static void e_both_h(cJSON *r) { set_num(r, "h", 4); set_num(cfg_of(r), "h", 4); set_num(r, "dim", 20); }
static void e_K1(cJSON *r) { set_num(cfg_of(r), "K1", 3); }
static void e_frac(cJSON *r) { set_num(cfg_of(r), "D", 4.5); }
static void e_missing(cJSON *r) { cJSON_DeleteItemFromObject(cfg_of(r), "lr"); }
static void e_lr_str(cJSON *r) { set_str(cfg_of(r), "lr", "0.1"); }
static void e_eps(cJSON *r) { set_str(cfg_of(r), "eps", "-1e-6"); }
static void e_init(cJSON *r) { set_str(cfg_of(r), "init", "uniform"); }
static void e_prec(cJSON *r) { set_str(r, "precision", "mpfr:10"); }
static void e_seed(cJSON *r) { set_str(cfg_of(r), "seed", "-3"); }
static void e_p(cJSON *r) { set_num(r, "p", 0.5); }
static void e_nan(cJSON *r) { cJSON_ReplaceItemInArray(theta_of(r), 2, cJSON_CreateString("nan")); }
static void e_junk(cJSON *r) { cJSON_ReplaceItemInArray(theta_of(r), 2, cJSON_CreateString("0x1p+0junk")); }
static void e_num(cJSON *r) { cJSON_ReplaceItemInArray(theta_of(r), 2, cJSON_CreateNumber(1)); }
static void e_array(cJSON *r) { cJSON_ReplaceItemInObject(r, "config", cJSON_CreateArray()); }

static void test_rejection(void)
{
    ibc_config c;
    small_config(&c);
    long dim = c.h * c.model.D + c.h;
    ibc_vec theta;
    ibc_prec_vec_init(&theta, dim, ibc_prec_double());
    fill_double(&theta);
    char path[128], err[IBC_ERRLEN];
    snprintf(path, sizeof path, "%s/good.json", dir);
    CHECK(ibc_train_netio_save(path, &c, 3, &theta, NULL, err) == IBC_OK, "save: %s", err);
    FILE *f = fopen(path, "rb");
    size_t n = fread(good_text, 1, sizeof good_text - 1, f);
    fclose(f);
    good_text[n] = '\0';
    unlink(path);

    for (size_t cut = 0; cut < n; cut += n / 37 + 1)
        expect_reject("truncated", good_text, cut, cut ? "not valid JSON" : NULL);
    expect_reject("garbage", "{\"format\": \"ibcheck-net\",,}", 26, "not valid JSON");
    expect_reject("trailing text", "{} x", 4, "not valid JSON");
    expect_reject("NUL byte", "{}\0{}", 5, "NUL");
    expect_reject("top-level array", "[1, 2]", 6, "not a JSON object");
    expect_reject_edit("wrong version", e_version, "version = 2 is not supported: need version 1");
    expect_reject_edit("version as string", e_version_str, "version");
    expect_reject_edit("wrong format", e_format, "other-net");
    expect_reject_edit("no format", e_no_format, "format");
    expect_reject_edit("short theta", e_short_theta, "theta has 14 entries");
    expect_reject_edit("long theta", e_long_theta, "theta has 16 entries");
    expect_reject_edit("h mismatch", e_h, "disagree");
    expect_reject_edit("dim mismatch", e_dim, "dim = 16");
    expect_reject_edit("h, dim consistent but theta short", e_both_h, "theta has 15 entries: need dim = 20");
    expect_reject_edit("K1 out of range", e_K1, "K1 = 3 is out of range");
    expect_reject_edit("fractional D", e_frac, "config.D");
    expect_reject_edit("missing lr", e_missing, "config.lr' is missing");
    expect_reject_edit("lr as string", e_lr_str, "config.lr");
    expect_reject_edit("negative eps", e_eps, "eps = -1e-6");
    expect_reject_edit("unknown init", e_init, "uniform");
    expect_reject_edit("bad precision", e_prec, "mpfr:10");
    expect_reject_edit("negative seed", e_seed, "seed");
    expect_reject_edit("p < 1", e_p, "p = 0.5");
    expect_reject_edit("nan in theta", e_nan, "theta[2]");
    expect_reject_edit("junk in theta", e_junk, "theta[2]");
    expect_reject_edit("number in theta", e_num, "theta[2]");
    expect_reject_edit("config not an object", e_array, "config");

    /* missing file */
    ibc_config got;
    ibc_vec back;
    double p;
    snprintf(path, sizeof path, "%s/none.json", dir);
    CHECK(ibc_train_netio_load(path, &got, &p, &back, err) == IBC_EINPUT && strstr(err, "cannot open"), "missing: %s", err);

    /* an MPFR value with more bits than the saved mode is not exact: refused */
    ibc_vec m;
    ibc_prec_vec_init(&m, dim, ibc_prec_mpfr(64));
    fill_mpfr(&m);
    snprintf(path, sizeof path, "%s/m.json", dir);
    CHECK(ibc_train_netio_save(path, &c, 3, &m, NULL, err) == IBC_OK, "save m: %s", err);
    ibc_prec_vec_clear(&m);
    f = fopen(path, "rb");
    n = fread(good_text, 1, sizeof good_text - 1, f);
    fclose(f);
    good_text[n] = '\0';
    char *at = strstr(good_text, "\"0x");
    CHECK(at != NULL, "no hex value in the mpfr file");
    if (at) {
        char *tail = strdup(strchr(at + 1, '"'));
        strcpy(at, "\"0x1.000000000000000000001p+0");   /* 85 bits */
        strcat(good_text, tail);
        free(tail);
        expect_reject("inexact mpfr", good_text, strlen(good_text), "not exact at mpfr:64");
    }
    unlink(path);

    /* save refuses what load would refuse, and writes nothing */
    snprintf(path, sizeof path, "%s/refused.json", dir);
    c.model.K1 = 5;
    CHECK(ibc_train_netio_save(path, &c, 3, &theta, NULL, err) == IBC_EINPUT && access(path, F_OK) != 0,
          "bad config saved");
    small_config(&c);
    CHECK(ibc_train_netio_save(path, &c, 0.5, &theta, NULL, err) == IBC_EINPUT && access(path, F_OK) != 0, "bad p saved");
    c.h = 2;
    CHECK(ibc_train_netio_save(path, &c, 3, &theta, NULL, err) == IBC_EINPUT && access(path, F_OK) != 0, "bad dim saved");
    small_config(&c);
    ibc_prec_vec_set_d(&theta, 0, NAN);
    CHECK(ibc_train_netio_save(path, &c, 3, &theta, NULL, err) != IBC_OK && access(path, F_OK) != 0, "NaN saved");
    snprintf(path, sizeof path, "%s/no/such/dir.json", dir);
    fill_double(&theta);
    CHECK(ibc_train_netio_save(path, &c, 3, &theta, NULL, err) == IBC_EIO, "missing dir: %s", err);
    ibc_prec_vec_clear(&theta);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    round_trip(ibc_prec_double(), "double");
    round_trip(ibc_prec_mpfr(256), "mpfr256");
    round_trip(ibc_prec_mpfr(53), "mpfr53");
    test_rejection();
    /* nothing but the two round-trip files: no temporaries left behind */
    DIR *d = opendir(dir);
    int left = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK(strstr(e->d_name, ".tmp.") == NULL, "temporary %s left behind", e->d_name);
        unlink(path);
        left++;
    }
    if (d)
        closedir(d);
    CHECK(left == 3, "%d files in the test directory, expected the 3 round-trip files", left);
    rmdir(dir);
    mpfr_free_cache();
    if (failures) {
        fprintf(stderr, "test_netio: %d checks failed\n", failures);
        return 1;
    }
    printf("test_netio: all checks passed\n");
    return 0;
}
