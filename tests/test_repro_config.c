/* Unit test of the repro config reader (src/repro/config.c): the shipped
 * configs against a naive line scanner of the same files, linspace against
 * numpy's algorithm and an exact MPFR value, bad documents (each must give
 * IBC_EINPUT and one line naming the key or value), --scale against integer
 * arithmetic done here, the fuzz seeds, and a deterministic random-mutation
 * loop that must never crash.  IBC_TEST_REPEAT multiplies the mutations. */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpfr.h>
#include "ibcheck/repro.h"
#include "test_util.h"

#ifndef IBC_DATA_DIR
#define IBC_DATA_DIR ""
#endif
#ifndef IBC_SEED_DIR
#define IBC_SEED_DIR ""
#endif
#define MIB (1L << 20)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 12, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* An error text is one non-empty line that fits the buffer. */
static int one_line(const char *err)
{
    size_t n = strnlen(err, IBC_ERRLEN);
    return n > 0 && n < IBC_ERRLEN && !memchr(err, '\n', n) && !memchr(err, '\r', n);
}

/* ---- shipped files against a naive scanner ---- */

/* The second method: these files are plain block YAML, one "key: value" per
 * line, so sscanf finds each value after "    key:" in the named section. */
static int scan_value(const char *text, const char *section, const char *key, char *out, size_t cap)
{
    char head[64], pat[64];
    snprintf(head, sizeof head, "\n%s:\n", section);
    snprintf(pat, sizeof pat, "\n    %s:", key);
    const char *sec = strstr(text, head);
    if (!sec && strncmp(text, head + 1, strlen(head) - 1) == 0)
        sec = text - 1;   /* the section opens the file */
    if (!sec)
        return 0;
    /* The section's body: the indented lines after its header. */
    const char *end = sec + strlen(head) - 1;
    while (end[0] == '\n' && end[1] == ' ')
        end = strchr(end + 1, '\n') ? strchr(end + 1, '\n') : end + 1 + strlen(end + 1);
    const char *k = strstr(sec + strlen(head) - 1, pat);
    if (!k || k >= end)
        return 0;
    k += strlen(pat);
    size_t n = strcspn(k, "#\n");
    while (n > 0 && k[n - 1] == ' ')
        n--;
    while (n > 0 && *k == ' ')
        k++, n--;
    if (n >= cap)
        return 0;
    memcpy(out, k, n);
    out[n] = '\0';
    return 1;
}

static int scan_long(const char *text, const char *sec, const char *key, long *x)
{
    char v[64];
    return scan_value(text, sec, key, v, sizeof v) && sscanf(v, "%ld", x) == 1;
}

static int scan_list(const char *text, const char *key, double *a, double *b, long *n)
{
    char v[64];
    return scan_value(text, "train", key, v, sizeof v) && sscanf(v, "[%lf ,%lf ,%ld]", a, b, n) == 3;
}

static void check_against_scan(const char *label, const char *text, const ibc_repro_config *c)
{
    long x;
    char v[64];
    struct { const char *sec, *key; long got; } ints[] = {
        {"train", "D", c->D}, {"train", "k", c->K}, {"train", "k1", c->K1},
        {"train", "save_model", c->save_model}, {"train", "n_train", c->n_train},
        {"train", "n_test", c->n_test}, {"train", "repeat", c->repeat},
        {"train_opt", "batch_size", c->batch_size}, {"train_opt", "max_epoch", c->max_epoch},
        {"train_net", "hidden_width", c->hidden_width},
        {"train_dist", "batch_size_dist", c->batch_size_dist},
        {"train_dist", "batch_num_dist", c->batch_num_dist},
    };
    int bad = 0, n = 0;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++, n++)
        if (!scan_long(text, ints[i].sec, ints[i].key, &x) || x != ints[i].got) {
            printf("      %s.%s: file %ld, parsed %ld\n", ints[i].sec, ints[i].key, x, ints[i].got);
            bad++;
        }
    double a, b;
    long m;
    n += 2;
    if (!scan_list(text, "sigma_list", &a, &b, &m) || a != c->sigma_start || b != c->sigma_stop || m != c->sigma_count)
        bad++;
    if (!scan_list(text, "epsilon_list", &a, &b, &m) || a != c->eps_start || b != c->eps_stop || m != c->eps_count)
        bad++;
    n += 3;
    if (!scan_value(text, "train_opt", "lr", v, sizeof v) || strtod(v, NULL) != c->lr)
        bad++;
    if (!scan_value(text, "train_net", "init_scale", v, sizeof v) || strtod(v, NULL) != c->init_scale ||
        strcmp(v, c->init_scale_str) != 0)
        bad++;
    if (!scan_value(text, "train", "run", v, sizeof v) || (strcmp(v, "True") == 0) != c->run)
        bad++;
    n += 2;
    if (!scan_value(text, "plot", "run", v, sizeof v) || (strcmp(v, "True") == 0) != c->plot_run)
        bad++;
    if (c->scale != 1)
        bad++;
    report(label, bad == 0, "%d fields equal to a line scan of the file, %d differ", n - bad, bad);
}

static void test_shipped(void)
{
    const char *files[] = {"paper.yaml", "small.yaml"};
    report("IBC_DATA_DIR is defined (tests/CMakeLists.txt)", IBC_DATA_DIR[0] != '\0', "%s", IBC_DATA_DIR);
    for (int f = 0; f < 2; f++) {
        char path[512], err[IBC_ERRLEN] = "", label[80];
        snprintf(path, sizeof path, "%s/reproduce/%s", IBC_DATA_DIR, files[f]);
        size_t len;
        char *text = slurp(path, &len);
        ibc_repro_config c;
        int rc = ibc_repro_config_read(&c, path, err);
        snprintf(label, sizeof label, "read data/reproduce/%s", files[f]);
        report(label, text && rc == IBC_OK, "rc %d %s", rc, err);
        if (text && rc == IBC_OK) {
            snprintf(label, sizeof label, "%s: values", files[f]);
            check_against_scan(label, text, &c);
            char e2[IBC_ERRLEN] = "";
            snprintf(label, sizeof label, "%s: ibc_repro_config_check", files[f]);
            report(label, ibc_repro_config_check(&c, e2) == IBC_OK, "%s", e2);
        }
        free(text);
    }
    /* paper.yaml must be the authors' MV24 §5.1 config (the project's issue). */
    char path[512], err[IBC_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/reproduce/paper.yaml", IBC_DATA_DIR);
    ibc_repro_config c;
    if (ibc_repro_config_read(&c, path, err) == IBC_OK) {
        int ok = c.run == 1 && c.D == 1000 && c.K == 10 && c.K1 == 6 && c.save_model == 0 &&
                 c.n_train == 20000 && c.n_test == 20000 && c.repeat == 5 && c.sigma_start == 0.01 &&
                 c.sigma_stop == 0.3 && c.sigma_count == 15 && c.eps_start == 0.0 && c.eps_stop == 1.5 &&
                 c.eps_count == 15 && c.batch_size == 100 && c.max_epoch == 401 && c.lr == 0.2 &&
                 c.hidden_width == 2000 && c.init_scale == 1.0e-7 &&
                 strcmp(c.init_scale_str, "1.0e-7") == 0 && c.batch_size_dist == 1000 &&
                 c.batch_num_dist == 10 && c.plot_run == 1;
        report("paper.yaml is the MV24 §5.1 configuration", ok, "init_scale_str \"%s\"", c.init_scale_str);
    }
}

/* ---- linspace ---- */

/* numpy.linspace (numpy/core/function_base.py) transcribed: y = arange(num);
 * step = delta/div; y = y*step (or y/div*delta when step == 0); y += start;
 * y[-1] = stop. */
static double numpy_linspace(double start, double stop, long num, long i)
{
    double delta = stop - start;
    volatile double y = (double)i;
    if (num > 1) {
        double div = (double)(num - 1), step = delta / div;
        if (step == 0) {
            y = y / div;
            y = y * delta;
        } else
            y = y * step;
    } else
        y = y * delta;
    y = y + start;
    if (num > 1 && i == num - 1)
        y = stop;
    return y;
}

static void test_linspace(void)
{
    struct { double a, b; long n; } cases[] = {
        {0.01, 0.3, 15}, {0.0, 1.5, 15}, {0.05, 0.2, 3}, {0.0, 1.2, 7}, {0.1, 0.1, 5},
        {0.0, 100.0, 1000}, {1e-300, 1e-300 + 1e-315, 7}, {3.0, 3.0, 1}, {0.25, 99.0, 1}, {0.0, 0.7, 2},
        {1.0 / 3, 2.0 / 3, 997},
        {0.0, 0.37, 40},   /* here 39 * step + start != stop: the last entry must be set */
    };
    mpfr_t e, t;
    mpfr_init2(e, 256);
    mpfr_init2(t, 256);
    long n = 0, bitwise = 0, ends = 0, nend = 0;
    double worst = 0;
    int tol_ok = 1, nan_ok = 1;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ibc_repro_config c;
        memset(&c, 0, sizeof c);
        c.sigma_start = cases[k].a;
        c.sigma_stop = cases[k].b;
        c.sigma_count = cases[k].n;
        c.eps_start = cases[k].a;
        c.eps_stop = cases[k].b;
        c.eps_count = cases[k].n;
        for (long i = 0; i < cases[k].n; i++, n++) {
            double y = ibc_repro_sigma(&c, i), z = ibc_repro_eps(&c, i);
            if (memcmp(&y, &z, sizeof y) == 0) {
                double w = numpy_linspace(cases[k].a, cases[k].b, cases[k].n, i);
                bitwise += memcmp(&y, &w, sizeof y) == 0;
            }
            /* exact: start + i (stop - start) / (count - 1), or start when count 1 */
            mpfr_set_d(e, cases[k].b, MPFR_RNDN);
            mpfr_sub_d(e, e, cases[k].a, MPFR_RNDN);
            mpfr_mul_si(e, e, i, MPFR_RNDN);
            if (cases[k].n > 1)
                mpfr_div_si(e, e, cases[k].n - 1, MPFR_RNDN);
            mpfr_add_d(e, e, cases[k].a, MPFR_RNDN);
            mpfr_sub_d(t, e, y, MPFR_RNDN);
            double dev = fabs(mpfr_get_d(t, MPFR_RNDN));
            double tol = 4 * DBL_EPSILON * (fabs(cases[k].a) + fabs(cases[k].b)) + 4 * DBL_TRUE_MIN;
            double rel = dev / (DBL_EPSILON * (fabs(cases[k].a) + fabs(cases[k].b)) + DBL_TRUE_MIN);
            if (rel > worst)
                worst = rel;
            if (!(dev <= tol))
                tol_ok = 0;
            if (i == 0 || i == cases[k].n - 1) {
                nend++;
                ends += y == (i == 0 ? cases[k].a : (cases[k].n > 1 ? cases[k].b : cases[k].a));
            }
        }
        nan_ok &= isnan(ibc_repro_sigma(&c, -1)) && isnan(ibc_repro_sigma(&c, cases[k].n)) &&
                  isnan(ibc_repro_eps(&c, cases[k].n));
    }
    mpfr_clear(e);
    mpfr_clear(t);
    report("linspace = numpy's algorithm bit for bit", bitwise == n, "%ld of %ld values", bitwise, n);
    report("linspace within 4 eps (|start|+|stop|) of exact", tol_ok, "worst %.3g eps (|start|+|stop|), tol 4", worst);
    report("linspace endpoints exact (count 1: start)", ends == nend, "%ld of %ld", ends, nend);
    report("linspace index outside [0, count) is NaN", nan_ok, "%s", nan_ok ? "yes" : "no");
}

/* ---- bad documents ---- */

typedef struct {
    const char *from, *to;   /* replaced in small.yaml (from NULL: 'to' is the whole document) */
    const char *want;        /* must appear in the error line */
    int line;                /* 1: the line number of the replacement must appear too */
} bad_case;

#define UTF16_DOC "\xfe\xff\0t\0r\0a\0i\0n\0:\0 \0\x31\0\n"
#define NUL_DOC "train:\n    run: True\0\n"
static const bad_case bad_cases[] = {
    {"    D: 30\n", "    D: 1\n", "train.D = 1:", 1},
    {"    D: 30\n", "    D: 200000\n", "train.D = 200000", 1},
    {"    D: 30\n", "    D: 30.0\n", "train.D = 30.0", 1},
    {"    D: 30\n", "    D: \"30\"\n", "train.D = \"30\" (a quoted string)", 1},
    {"    D: 30\n", "    D: !!float 30\n", "train.D = !!float 30:", 1},
    {"    D: 30\n", "    D: ~\n", "train.D = ~", 1},
    {"    D: 30\n", "    D:\n", "train.D = (empty)", 0},
    {"    D: 30\n", "    d: 30\n", "unknown key train.d", 1},
    {"    k: 10\n", "    k: 31\n", "train.k = 31", 1},
    {"    k1: 6\n", "    k1: 10\n", "train.k1 = 10", 1},
    {"    k1: 6\n", "    k1: 0\n", "train.k1 = 0", 1},
    {"    k1: 6\n", "", "missing key train.k1", 0},
    {"    save_model: 1\n", "    save_model: 3\n", "train.save_model = 3", 1},
    {"    save_model: 1\n", "    save_model: -1\n", "train.save_model = -1", 1},
    {"    n_train: 500\n", "    n_train: 5\n", "train.n_train = 5", 1},
    {"    n_train: 500\n", "    n_train: 99999999999999999999999\n", "99999999999999999999999", 1},
    {"    n_test: 500\n", "    n_test: 20000000\n", "train.n_test = 20000000", 1},
    {"    n_test: 500\n", "    n_test: 0x1f4\n", "0x1f4", 1},
    {"    n_test: 500\n", "    n_test: 0500\n", "0500", 1},
    {"    repeat: 1\n", "    repeat: 0\n", "train.repeat = 0", 1},
    {"    repeat: 1\n", "    repeat: [1]\n", "train.repeat = a list", 1},
    {"[0.05, 0.2, 3]", "[0.3, 0.2, 3]", "train.sigma_list[1] = 0.2", 1},
    {"[0.05, 0.2, 3]", "[0.05, 0.2, 0]", "train.sigma_list[2] = 0", 1},
    {"[0.05, 0.2, 3]", "[0.05, 0.2, 1001]", "train.sigma_list[2] = 1001", 1},
    {"[0.05, 0.2, 3]", "[0.05, 0.2]", "train.sigma_list = a list of 2", 1},
    {"[0.05, 0.2, 3]", "[0.05, 0.2, 3, 4]", "train.sigma_list = a list of 4", 1},
    {"[0.05, 0.2, 3]", "0.05", "train.sigma_list = 0.05", 1},
    {"[0.05, 0.2, 3]", "[0.05, .nan, 3]", ".nan", 1},
    {"[0.05, 0.2, 3]", "[0.05, nan, 3]", "train.sigma_list[1] = nan", 1},
    {"[0.0, 1.2, 7]", "[0.0, .inf, 7]", ".inf", 1},
    {"[0.0, 1.2, 7]", "[0.0, 1e999, 7]", "1e999", 1},
    {"[0.0, 1.2, 7]", "[-0.5, 1.2, 7]", "train.epsilon_list[0] = -0.5", 1},
    {"[0.0, 1.2, 7]", "[0.0, 1.2, 2.5]", "train.epsilon_list[2] = 2.5", 1},
    {"[0.0, 1.2, 7]", "{a: 1}", "train.epsilon_list = a mapping", 1},
    {"    batch_size: 100\n", "    batch_size: 501\n", "train_opt.batch_size = 501", 1},
    {"    max_epoch: 200\n", "    max_epoch: 2.5\n", "train_opt.max_epoch = 2.5", 1},
    {"    max_epoch: 200\n", "    max_epoch: abc\n", "train_opt.max_epoch = abc", 1},
    {"    max_epoch: 200\n", "    max_epoch: 1_000\n", "1_000", 1},
    {"    lr: 0.2\n", "    lr: 0\n", "train_opt.lr = 0:", 1},
    {"    lr: 0.2\n", "    lr: -0.1\n", "train_opt.lr = -0.1", 1},
    {"    lr: 0.2\n", "    lr: NaN\n", "train_opt.lr = NaN", 1},
    {"    lr: 0.2\n", "    lr: '0.2'\n", "train_opt.lr", 1},
    {"    lr: 0.2\n", "    lr: 1e-400\n", "train_opt.lr = 1e-400", 1},
    {"    hidden_width: 100\n", "    hidden_width: 0\n", "train_net.hidden_width = 0", 1},
    {"    hidden_width: 100\n", "    hidden_width: 1000001\n", "train_net.hidden_width = 1000001", 1},
    {"init_scale: 1.0e-3", "init_scale: 2.0", "train_net.init_scale = 2.0", 1},
    {"init_scale: 1.0e-3", "init_scale: 0", "train_net.init_scale = 0", 1},
    {"init_scale: 1.0e-3", "init_scale: 0.0000000000000000000000000000000000000000000000000000000000000001",
     "init_scale", 1},
    {"    batch_size_dist: 200\n", "    batch_size_dist: 0\n", "train_dist.batch_size_dist = 0", 1},
    {"    batch_num_dist: 5\n", "    batch_num_dist: 10001\n", "train_dist.batch_num_dist = 10001", 1},
    {"plot:\n    run: True\n", "plot:\n    run: maybe\n", "plot.run = maybe", 0},
    {"plot:\n    run: True\n", "plot:\n    run: True\n    dpi: 300\n", "unknown key plot.dpi", 0},
    {"plot:\n    run: True\n", "plot:\n    run: True\nplot:\n    run: False\n", "duplicate key plot", 0},
    {"plot:\n    run: True\n", "plot:\n", "plot = (empty)", 0},
    {"plot:\n    run: True\n", "plot:\n    run: True\nextra: 1\n", "unknown key extra", 0},
    {"    run: True\n    D: 30\n", "    run: 1\n    D: 30\n", "train.run = 1", 1},
    {"    repeat: 1\n", "    repeat: 1\n    foo: 1\n", "unknown key train.foo", 0},
    {"    repeat: 1\n", "    repeat: 1\n    D: 31\n", "duplicate key train.D", 0},
    {"    repeat: 1\n", "    repeat: 1\n    ? [a]\n    : 1\n", "train: a key that is a list", 0},
    {"train_dist:\n    batch_size_dist: 200\n    batch_num_dist: 5\n", "", "missing key train_dist", 0},
    {"    hidden_width: 100\n", "\thidden_width: 100\n", "not valid YAML", 0},
    {"    hidden_width: 100\n", "    hidden_width: *nowhere\n", "alias", 0},
    {"    hidden_width: 100\n", "    hidden_width: [100\n", "not valid YAML", 0},
    {"    hidden_width: 100\n", "    hidden_width: 1\xff\n", "UTF-8", 0},
    {NULL, "", "empty", 0},
    {NULL, "# only a comment\n\n", "empty", 0},
    {NULL, "- 1\n- 2\n", "top level is a list of 2 items", 0},
    {NULL, "just text\n", "top level is just text", 0},
    {NULL, "{train: {}}\n", "missing key train.run", 0},
    {NULL, "train: [\n", "not valid YAML", 0},
    {NULL, UTF16_DOC, "UTF-8", 0},
    {NULL, NUL_DOC, "not valid YAML", 0},
    {NULL, "train: &a {self: *a}\n", "unknown key train.self", 0},
    {NULL, "&a [*a]\n", "top level is a list", 0},
    {NULL, "train: {run: [[[[[[[[1]]]]]]]]}\n", "nesting deeper than 8", 0},
    {NULL, "train: &a 1\n---\ntrain: *a\n", "line 2: a second YAML document", 0},
    {NULL, "train: 1\n...\n---\ntrain: 2\n", "line 3: a second YAML document", 0},
};

/* Replaces the first 'from' in base by 'to'; *line gets its line number. */
static char *substitute(const char *base, const char *from, const char *to, size_t *len, long *line)
{
    const char *at = strstr(base, from);
    if (!at)
        return NULL;
    size_t pre = (size_t)(at - base), nf = strlen(from), nt = strlen(to), nb = strlen(base);
    char *out = malloc(nb - nf + nt + 1);
    memcpy(out, base, pre);
    memcpy(out + pre, to, nt);
    memcpy(out + pre + nt, at + nf, nb - pre - nf + 1);
    *len = nb - nf + nt;
    *line = 1;
    for (size_t i = 0; i < pre; i++)
        *line += base[i] == '\n';
    return out;
}

/* A config filled with a pattern, to see that a failed parse leaves it alone. */
static void poison(ibc_repro_config *c)
{
    memset(c, 0x5a, sizeof *c);
}

static int untouched(const ibc_repro_config *c)
{
    ibc_repro_config p;
    poison(&p);
    return memcmp(&p, c, sizeof p) == 0;
}

static void test_bad(const char *small)
{
    int n = (int)(sizeof bad_cases / sizeof bad_cases[0]), good = 0;
    for (int i = 0; i < n; i++) {
        const bad_case *b = &bad_cases[i];
        size_t len;
        long line = 0;
        char *doc;
        if (b->from)
            doc = substitute(small, b->from, b->to, &len, &line);
        else {
            /* whole documents may hold NUL bytes: their length is the literal's */
            len = strlen(b->to);
            /* The two documents with NUL bytes: their literals' lengths. */
            if (b->to[0] == '\xfe')
                len = sizeof UTF16_DOC - 1;
            else if (strcmp(b->to, NUL_DOC) == 0)
                len = sizeof NUL_DOC - 1;
            doc = malloc(len + 1);
            memcpy(doc, b->to, len);
        }
        char err[IBC_ERRLEN], want_line[32] = "";
        memset(err, 0, sizeof err);
        ibc_repro_config c;
        poison(&c);
        int rc = doc ? ibc_repro_config_parse(&c, doc, len, "bad.yaml", err) : -1;
        if (b->line)
            snprintf(want_line, sizeof want_line, "line %ld:", line);
        int ok = doc && rc == IBC_EINPUT && one_line(err) && strstr(err, b->want) &&
                 strncmp(err, "bad.yaml: ", 10) == 0 && (!b->line || strstr(err, want_line)) && untouched(&c);
        if (!ok)
            printf("FAIL bad document %d (want \"%s\" %s): rc %d: %s\n", i, b->want, want_line, rc, err);
        else if (i % 8 == 0)
            printf("      e.g. %s\n", err);
        good += ok;
        free(doc);
    }
    report("bad documents: IBC_EINPUT, one line naming key/value", good == n, "%d of %d", good, n);
}

/* A valid config's size edge: exactly 1 MiB parses, one byte more is refused,
 * by parse and by read; a missing file and deep nesting are errors, not crashes. */
static void test_limits(const char *small)
{
    size_t ns = strlen(small);
    char *big = malloc(MIB + 2);
    memcpy(big, small, ns);
    memset(big + ns, '#', MIB + 1 - ns);   /* one long comment line */
    big[ns] = '\n';
    ibc_repro_config c;
    char err[IBC_ERRLEN] = "";
    int rc1 = ibc_repro_config_parse(&c, big, MIB, "big", err);
    report("exactly 1 MiB (padded small.yaml) parses", rc1 == IBC_OK, "rc %d %s", rc1, rc1 ? err : "");
    int rc2 = ibc_repro_config_parse(&c, big, MIB + 1, "big", err);
    report("1 MiB + 1 byte refused by parse", rc2 == IBC_EINPUT && one_line(err) && strstr(err, "1 MiB"), "%s", err);

    char path[] = "/tmp/ibc_test_repro_XXXXXX";
    int fd = mkstemp(path);
    int rc3 = -1, rc4 = -1;
    char err3[IBC_ERRLEN] = "", err4[IBC_ERRLEN] = "";
    if (fd >= 0) {
        FILE *f = fdopen(fd, "wb");
        fwrite(big, 1, MIB + 1, f);
        fclose(f);
        rc3 = ibc_repro_config_read(&c, path, err3);
        f = fopen(path, "wb");
        fwrite(big, 1, MIB, f);
        fclose(f);
        rc4 = ibc_repro_config_read(&c, path, err4);
        unlink(path);
    }
    report("1 MiB + 1 byte file refused by read", rc3 == IBC_EINPUT && one_line(err3) && strstr(err3, "1 MiB") &&
           strstr(err3, path), "%s", err3);
    report("1 MiB file read", rc4 == IBC_OK, "rc %d %s", rc4, err4);
    free(big);

    int rc5 = ibc_repro_config_read(&c, "/nonexistent/dir/x.yaml", err);
    report("missing file: IBC_EINPUT naming it", rc5 == IBC_EINPUT && one_line(err) && strstr(err, "/nonexistent/dir/x.yaml"),
           "%s", err);
    int rc5b = ibc_repro_config_parse(&c, NULL, 0, NULL, err);
    report("NULL text, NULL name: an error, labelled <config>", rc5b == IBC_EINPUT && one_line(err) &&
           strstr(err, "<config>"), "%s", err);

    /* 1 MiB pathological inputs, each quadratic in libyaml without the
     * prescan (40000 nested '[' took 3 s): each must be refused, quickly. */
    struct { const char *unit, *prefix, *want; } patho[] = {
        {"[", "", "nesting deeper"}, {"{a: ", "", "nesting deeper"}, {"- ", "", "nesting deeper"},
        {"? ", "", "nesting deeper"}, {"&a 1, ", "a: [", "anchors"}, {"*a, ", "a: &a [1, ", "anchors"},
        {"1, ", "a: [", "more than 4096 YAML nodes"}, {"--- 1\n", "", "second YAML document"},
        {"x: 1\n", "", "more than 4096 YAML nodes"},
    };
    char *p = malloc(MIB);
    for (size_t k = 0; k < sizeof patho / sizeof patho[0]; k++) {
        size_t np = strlen(patho[k].prefix), nu = strlen(patho[k].unit), o = np;
        memcpy(p, patho[k].prefix, np);
        while (o + nu <= (size_t)MIB) {
            memcpy(p + o, patho[k].unit, nu);
            o += nu;
        }
        clock_t t0 = clock();
        int rc = ibc_repro_config_parse(&c, p, o, "patho", err);
        double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
        char label[80];
        snprintf(label, sizeof label, "1 MiB of \"%.8s\"...: refused", patho[k].unit[0] == '-' ? "- " : patho[k].unit);
        for (char *q = label; *q; q++)
            if (*q == '\n')
                *q = ' ';
        report(label, rc == IBC_EINPUT && one_line(err) && strstr(err, patho[k].want), "%.3f s: %s", dt, err);
    }
    free(p);

    /* A long file name keeps its tail, and the line stays within IBC_ERRLEN. */
    char name[600];
    memset(name, 'x', sizeof name);
    memcpy(name + sizeof name - 10, "\nend.yaml", 10);
    int rc8 = ibc_repro_config_parse(&c, "x: 1\n", 5, name, err);
    report("600-char name with a newline: one line, tail kept", rc8 == IBC_EINPUT && one_line(err) &&
           strstr(err, "\\x0aend.yaml: line 1: unknown key x"), "%s", err);
}

/* ---- scale and check ---- */

/* The largest m with m F <= n (the floor of n / F), found by stepping, and at least 1. */
static long floor_div(long n, double F)
{
    long m = (long)((long double)n / F);
    while (m > 0 && (long double)m * F > n)
        m--;
    while ((long double)(m + 1) * F <= n)
        m++;
    return m < 1 ? 1 : m;
}

static void test_scale(void)
{
    char path[512], err[IBC_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/reproduce/paper.yaml", IBC_DATA_DIR);
    ibc_repro_config p0;
    if (ibc_repro_config_read(&p0, path, err) != IBC_OK) {
        report("scale: read paper.yaml", 0, "%s", err);
        return;
    }
    double Fs[] = {1, 2, 3.7, 10, 1000, 1e9};
    int good = 0, n = (int)(sizeof Fs / sizeof Fs[0]);
    for (int i = 0; i < n; i++) {
        ibc_repro_config c = p0;
        double F = Fs[i];
        int rc = ibc_repro_config_scale(&c, F, err);
        long ntr = floor_div(p0.n_train, F);
        if (ntr < p0.K)
            ntr = p0.K;
        int ok = rc == IBC_OK && c.n_train == ntr && c.n_test == floor_div(p0.n_test, F) &&
                 c.hidden_width == floor_div(p0.hidden_width, F) && c.max_epoch == floor_div(p0.max_epoch, F) &&
                 c.batch_size == (p0.batch_size < ntr ? p0.batch_size : ntr) &&
                 c.batch_size_dist == (p0.batch_size_dist < ntr ? p0.batch_size_dist : ntr) &&
                 c.scale == F && c.D == p0.D && c.K == p0.K && c.lr == p0.lr && c.repeat == p0.repeat &&
                 c.sigma_count == p0.sigma_count && ibc_repro_config_check(&c, err) == IBC_OK;
        printf("      F = %g: n_train %ld n_test %ld width %ld epochs %ld batch %ld dist %ld\n", F, c.n_train,
               c.n_test, c.hidden_width, c.max_epoch, c.batch_size, c.batch_size_dist);
        good += ok;
    }
    report("scale F: floor division, n_train >= k, batches clipped", good == n, "%d of %d factors", good, n);

    ibc_repro_config a = p0, b = p0;
    int rc = ibc_repro_config_scale(&a, 2, err) | ibc_repro_config_scale(&a, 5, err) | ibc_repro_config_scale(&b, 10, err);
    a.scale = b.scale = 0;   /* compared separately */
    report("scale 2 then 5 = scale 10 (fields)", rc == IBC_OK && memcmp(&a, &b, sizeof a) == 0, "rc %d", rc);
    a = p0;
    ibc_repro_config_scale(&a, 2, err);
    ibc_repro_config_scale(&a, 5, err);
    report("scale 2 then 5 records 10", a.scale == 10, "%g", a.scale);

    double badF[] = {0.5, 0, -3, NAN, INFINITY, 1 - 1e-12};
    int nb = (int)(sizeof badF / sizeof badF[0]), refused = 0;
    for (int i = 0; i < nb; i++) {
        ibc_repro_config c = p0;
        char e[IBC_ERRLEN] = "";
        int r = ibc_repro_config_scale(&c, badF[i], e);
        refused += r == IBC_EINPUT && one_line(e) && strstr(e, "scale") && memcmp(&c, &p0, sizeof c) == 0;
    }
    report("scale F < 1, NaN, inf refused, config unchanged", refused == nb, "%d of %d", refused, nb);

    /* ibc_repro_config_check on structs broken by hand. */
    struct { const char *want; int which; } br[] = {
        {"train.k1 = 10", 0}, {"train_opt.lr = nan", 1}, {"init_scale_str", 2}, {"train.run = 2", 3},
        {"scale = 0.5", 4}, {"train.save_model = 15", 5}, {"train_opt.batch_size = 20001", 6},
        {"train.sigma_list[1] = 0.001", 7}, {"train.n_train = 9", 8},
    };
    int nbr = (int)(sizeof br / sizeof br[0]), caught = 0;
    for (int i = 0; i < nbr; i++) {
        ibc_repro_config c = p0;
        switch (br[i].which) {
        case 0: c.K1 = c.K; break;
        case 1: c.lr = NAN; break;
        case 2: strcpy(c.init_scale_str, "2e-7"); break;
        case 3: c.run = 2; break;
        case 4: c.scale = 0.5; break;
        case 5: c.save_model = c.sigma_count; break;
        case 6: c.batch_size = c.n_train + 1; break;
        case 7: c.sigma_stop = 0.001; break;
        case 8: c.n_train = c.K - 1; break;
        }
        char e[IBC_ERRLEN] = "";
        int r = ibc_repro_config_check(&c, e);
        int ok = r == IBC_EINPUT && one_line(e) && strstr(e, br[i].want);
        if (!ok)
            printf("FAIL check case %d: want \"%s\": %s\n", i, br[i].want, e);
        caught += ok;
    }
    report("ibc_repro_config_check catches hand-broken fields", caught == nbr, "%d of %d", caught, nbr);
}

/* ---- fuzz seeds ---- */

static void test_seeds(void)
{
    DIR *d = IBC_SEED_DIR[0] ? opendir(IBC_SEED_DIR "/config") : NULL;
    report("fuzz seed directory found", d != NULL, "%s/config", IBC_SEED_DIR);
    if (!d)
        return;
    int nvalid = 0, nbad = 0, good = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int valid = strncmp(e->d_name, "valid_", 6) == 0, bad = strncmp(e->d_name, "bad_", 4) == 0;
        if (!valid && !bad)
            continue;
        char path[1024], err[IBC_ERRLEN] = "";
        snprintf(path, sizeof path, "%s/config/%s", IBC_SEED_DIR, e->d_name);
        ibc_repro_config c;
        int rc = ibc_repro_config_read(&c, path, err);
        int ok = valid ? rc == IBC_OK && ibc_repro_config_check(&c, err) == IBC_OK
                       : rc == IBC_EINPUT && one_line(err);
        if (!ok)
            printf("FAIL seed %s: rc %d %s\n", e->d_name, rc, err);
        n++;
        nvalid += valid;
        nbad += bad;
        good += ok;
    }
    closedir(d);
    report("fuzz seeds: valid_* parse, bad_* refused", good == n && nvalid >= 2 && nbad >= 4,
           "%d of %d (%d valid, %d bad)", good, n, nvalid, nbad);
}

/* ---- random mutations ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutations(const char *small)
{
    static const char *const tokens[] = {":", "[", "]", "{", "}", "-", "&a ", "*a", "\t", "\n", "#", "'", "\"",
                                         "---\n", "? ", "!!int ", "\xff", "\xc3", "\\", ".nan", "1e9", "0", "~", ","};
    size_t ns = strlen(small);
    long rounds = 2000 * test_repeat(), ok = 0, einput = 0, other = 0, multi = 0, consistent = 0;
    char *buf = malloc(2 * ns + 64);
    for (long r = 0; r < rounds; r++) {
        memcpy(buf, small, ns);
        size_t len = ns;
        int edits = 1 + (int)(rnd() % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = rnd() % len;
            switch (rnd() % 6) {
            case 0: buf[at] = (char)(rnd() & 0xff); break;                    /* byte */
            case 1: buf[at] ^= (char)(1u << (rnd() % 8)); break;              /* bit */
            case 2: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;   /* delete */
            case 3: len = at; break;                                          /* truncate */
            case 4: {                                                         /* token */
                const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
                size_t nt = strlen(t);
                if (len + nt <= 2 * ns + 32) {
                    memmove(buf + at + nt, buf + at, len - at);
                    memcpy(buf + at, t, nt);
                    len += nt;
                }
                break;
            }
            default: {                                                        /* duplicate a span */
                size_t span = 1 + rnd() % 40;
                if (at + span > len)
                    span = len - at;
                if (len + span <= 2 * ns + 32) {
                    memmove(buf + at + span, buf + at, len - at);
                    len += span;
                }
                break;
            }
            }
        }
        /* Exactly len bytes in a fresh block, so that valgrind sees any overread. */
        char *doc = malloc(len ? len : 1);
        memcpy(doc, buf, len);
        ibc_repro_config c;
        char err[IBC_ERRLEN];
        memset(err, 0, sizeof err);
        int rc = ibc_repro_config_parse(&c, doc, len, "mutant.yaml", err);
        free(doc);
        if (rc == IBC_OK) {
            ok++;
            char e2[IBC_ERRLEN] = "";
            consistent += ibc_repro_config_check(&c, e2) == IBC_OK && isfinite(ibc_repro_sigma(&c, c.sigma_count - 1)) &&
                          isfinite(ibc_repro_eps(&c, c.eps_count - 1));
        } else if (rc == IBC_EINPUT && one_line(err) && strncmp(err, "mutant.yaml: ", 13) == 0)
            einput++;
        else {
            other++;
            if (other <= 5)
                printf("FAIL mutant %ld: rc %d err \"%s\"\n", r, rc, err);
        }
        multi += edits > 1;
    }
    free(buf);
    report("mutations: IBC_OK or IBC_EINPUT + one line", other == 0, "%ld mutants: %ld ok, %ld refused, %ld other",
           rounds, ok, einput, other);
    report("mutations: every accepted mutant passes check", consistent == ok && ok > 0 && einput > 0,
           "%ld of %ld (both outcomes seen: %s)", consistent, ok, ok > 0 && einput > 0 ? "yes" : "no");
}

int main(void)
{
    test_shipped();
    test_linspace();
    char path[512];
    snprintf(path, sizeof path, "%s/reproduce/small.yaml", IBC_DATA_DIR);
    size_t len;
    char *small = slurp(path, &len);
    report("small.yaml readable", small != NULL, "%s", path);
    if (small) {
        test_bad(small);
        test_limits(small);
        test_mutations(small);
        free(small);
    }
    test_scale();
    test_seeds();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
