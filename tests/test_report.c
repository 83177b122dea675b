/* Unit test of claim rows, configuration checks, the table formats and
 * atomic output.  Each format is read back by an independent reader here
 * (a small RFC 4180 parser, cJSON) and compared with the rows. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "ibcheck/claim.h"
#include "ibcheck/report.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* Cells chosen to break every format that forgets to escape. */
static const char *const awkward[] = {
    "a|b", "x,y", "say \"hi\"", "line\nbreak", "_%&#${}~^\\<>", "plain", "§4 μ", "", "\r"};

static void fill_rows(ibc_rows *r)
{
    ibc_claim_rows_add(r, "balance", "v^2 - |w|^2", "double", "1.5e-12", "<= 1e-10", "+9.8e-11", IBC_HOLDS,
                       "L-balance", "p=%d, eta=%g", 3, 0.2);
    ibc_claim_rows_add(r, awkward[0], awkward[1], awkward[2], awkward[3], awkward[4], awkward[5], IBC_REFUTED,
                       awkward[6], "%s", awkward[7]);
    ibc_claim_rows_add(r, "ideal-radius-F", "r_F(mu_k)", "arb:128", "0.316", "= 1/sqrt(10)", "0", IBC_INFO,
                       "T-F, §4", "K=%d", 10);
    ibc_claim_rows_add(r, "x", "y", "z", awkward[8], "", "", IBC_FINDING, "src", NULL);
}

static char *render(const ibc_rows *r, ibc_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK(ibc_report_rows(m, r, f) == 0, "ibc_report_rows(%s) failed", ibc_report_format_name(f));
    fclose(m);
    return buf;
}

static const char *cell_of(const ibc_row *row, int c)
{
    const char *v[9] = {row->claim, row->what, row->params, row->precision, row->measured, row->bound,
                        row->margin, ibc_claim_verdict_name(row->verdict), row->source};
    return v[c];
}

/* ---- an independent RFC 4180 reader: returns the next field, sets *eol ---- */
static char *csv_field(const char **p, int *eol)
{
    const char *s = *p;
    char *out = malloc(strlen(s) + 1), *o = out;
    if (*s == '"') {
        s++;
        for (;;) {
            if (*s == '"' && s[1] == '"') { *o++ = '"'; s += 2; }
            else if (*s == '"') { s++; break; }
            else if (!*s) break;
            else *o++ = *s++;
        }
    } else {
        while (*s && *s != ',' && *s != '\n')
            *o++ = *s++;
    }
    *o = '\0';
    *eol = *s != ',';
    if (*s)
        s++;
    *p = s;
    return out;
}

static void test_csv(const ibc_rows *r)
{
    char *text = render(r, IBC_FMT_CSV);
    const char *p = text;
    int eol;
    const char *head[9] = {"claim", "quantity", "parameters", "precision", "measured", "bound", "margin",
                           "verdict", "source"};
    for (int c = 0; c < 9; c++) {
        char *f = csv_field(&p, &eol);
        CHECK(strcmp(f, head[c]) == 0, "csv header %d: %s", c, f);
        CHECK(eol == (c == 8), "csv header row length");
        free(f);
    }
    for (long i = 0; i < r->n; i++)
        for (int c = 0; c < 9; c++) {
            char *f = csv_field(&p, &eol);
            CHECK(strcmp(f, cell_of(&r->row[i], c)) == 0, "csv row %ld col %d: [%s]", i, c, f);
            CHECK(eol == (c == 8), "csv row %ld has the wrong length at col %d", i, c);
            free(f);
        }
    CHECK(*p == '\0', "csv has trailing text: %s", p);
    free(text);
}

static void test_json(const ibc_rows *r)
{
    char *text = render(r, IBC_FMT_JSON);
    cJSON *arr = cJSON_Parse(text);
    const char *keys[9] = {"claim", "quantity", "parameters", "precision", "measured", "bound", "margin",
                           "verdict", "source"};
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == r->n, "json is not an array of %ld rows", r->n);
    for (long i = 0; arr && i < r->n; i++) {
        cJSON *o = cJSON_GetArrayItem(arr, (int)i);
        for (int c = 0; c < 9; c++) {
            cJSON *s = cJSON_GetObjectItemCaseSensitive(o, keys[c]);
            CHECK(cJSON_IsString(s) && strcmp(s->valuestring, cell_of(&r->row[i], c)) == 0,
                  "json row %ld key %s", i, keys[c]);
        }
    }
    cJSON_Delete(arr);
    free(text);
}

static void test_md(const ibc_rows *r)
{
    char *text = render(r, IBC_FMT_MD);
    CHECK(strncmp(text, "| claim | quantity | parameters | precision | measured | bound | margin | verdict | source |\n",
                  92) == 0, "md header: %.100s", text);
    CHECK(strstr(text, "| a\\|b | x,y |") != NULL, "md pipe escape");
    CHECK(strstr(text, "line break") != NULL, "md newline folded");
    CHECK(strstr(text, "\n4 rows: 1 hold, 1 refuted, 1 info, 1 findings\n") != NULL, "md summary: %s", text);
    /* every table line has exactly 10 unescaped pipes */
    for (const char *line = text; *line && *line == '|'; line = strchr(line, '\n') + 1) {
        int pipes = 0;
        for (const char *c = line; *c != '\n'; c++)
            pipes += *c == '|' && (c == line || c[-1] != '\\');
        CHECK(pipes == 10, "md line has %d cell separators: %.60s", pipes, line);
    }
    free(text);
}

static void test_tex(const ibc_rows *r)
{
    char *text = render(r, IBC_FMT_TEX);
    CHECK(strstr(text, "\\begin{tabular}{lllllllll}\n\\toprule\n") == text, "tex head");
    CHECK(strstr(text, "\\midrule\n") && strstr(text, "\\bottomrule\n\\end{tabular}\n"), "tex rules");
    CHECK(strstr(text, "\\_\\%\\&\\#\\$\\{\\}\\textasciitilde{}\\textasciicircum{}\\textbackslash{}"
                       "\\textless{}\\textgreater{}") != NULL, "tex escapes: %s", text);
    CHECK(strstr(text, "a\\textbar{}b & x,y") != NULL, "tex bar");
    CHECK(strstr(text, "ideal-radius-F & r\\_F(mu\\_k)") != NULL, "tex underscore");
    free(text);
}

static void test_format_parse(void)
{
    const char *names[4] = {"md", "csv", "tex", "json"};
    char err[IBC_ERRLEN];
    ibc_format f;
    for (int i = 0; i < 4; i++) {
        CHECK(ibc_report_format_parse(&f, names[i], err) == IBC_OK && (int)f == i, "parse %s", names[i]);
        CHECK(strcmp(ibc_report_format_name(f), names[i]) == 0, "name %s", names[i]);
    }
    CHECK(ibc_report_format_parse(&f, "xml", err) == IBC_EINPUT, "xml accepted");
    CHECK(strstr(err, "xml") && strstr(err, "md, csv, tex, json") && !strchr(err, '\n'), "xml message: %s", err);
}

static void test_rows(void)
{
    ibc_rows r;
    ibc_claim_rows_init(&r);
    char longs[400];
    memset(longs, 'x', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    for (int i = 0; i < 100; i++)   /* forces several reallocations */
        CHECK(ibc_claim_rows_add(&r, longs, longs, longs, longs, longs, longs, IBC_HOLDS, longs, "%s-%d", longs, i),
              "add failed");
    CHECK(r.n == 100, "n = %ld", r.n);
    CHECK(strlen(r.row[0].params) == sizeof r.row[0].params - 1, "params not truncated to fit");
    CHECK(strlen(r.row[99].claim) == sizeof r.row[99].claim - 1, "claim not truncated to fit");
    CHECK(ibc_claim_rows_refuted(&r) == IBC_HOLDS, "refuted with all holds");
    ibc_claim_rows_add(&r, "c", "w", "p", "m", "b", "g", IBC_REFUTED, "s", NULL);
    CHECK(ibc_claim_rows_refuted(&r) == IBC_REFUTED, "refuted missed");
    /* a cut never splits a UTF-8 character */
    char mus[200] = "";
    for (int i = 0; i < 60; i++)
        strcat(mus, "μ");
    ibc_row *row = ibc_claim_rows_add(&r, mus, mus, "", "", "", "", IBC_INFO, "", "%s", mus);
    CHECK(strlen(row->claim) % 2 == 0 && strlen(row->claim) >= sizeof row->claim - 2, "claim cut mid-character");
    CHECK(strlen(row->params) % 2 == 0, "params cut mid-character");
    ibc_claim_rows_clear(&r);
    CHECK(r.n == 0 && r.row == NULL, "clear");
    CHECK(strcmp(ibc_claim_verdict_name(IBC_HOLDS), "holds") == 0 && strcmp(ibc_claim_verdict_name(IBC_REFUTED), "REFUTED") == 0
          && strcmp(ibc_claim_verdict_name(IBC_INFO), "info") == 0 && strcmp(ibc_claim_verdict_name(IBC_FINDING), "finding") == 0,
          "verdict names");
}

static void expect_bad(const ibc_config *c, const char *want)
{
    char err[IBC_ERRLEN] = "";
    CHECK(ibc_train_config_check(c, err) == IBC_EINPUT, "accepted; expected '%s'", want);
    CHECK(strstr(err, want) != NULL && !strchr(err, '\n'), "message '%s' lacks '%s'", err, want);
}

static void test_config(void)
{
    ibc_config c, d;
    char err[IBC_ERRLEN];
    ibc_train_config_default(&d);
    CHECK(d.model.D == 30 && d.model.K == 10 && d.model.K1 == 6 && d.model.alpha == 0.1 && d.n == 500
          && d.h == 100 && strcmp(d.eps, "1e-6") == 0 && d.init == IBC_INIT_BALANCED && d.loss == IBC_LOSS_EXP
          && d.mean == 1 && d.method == IBC_METHOD_GD && d.lr == 0.2 && d.steps == 20000 && d.batch == 100
          && d.model.seed == 0 && d.model.random_centers == 0 && d.prec.mode == IBC_DOUBLE
          && d.prec_hi.mode == IBC_MPFR && d.prec_hi.bits == 128, "defaults");
    CHECK(ibc_train_config_check(&d, err) == IBC_OK, "defaults rejected: %s", err);
    c = d; c.model.K1 = 10; expect_bad(&c, "K1 = 10 is out of range: need 1 <= K1 < K = 10");
    c = d; c.model.K1 = 0; expect_bad(&c, "K1 = 0");
    c = d; c.model.K = 31; expect_bad(&c, "K = 31 is out of range");
    c = d; c.model.alpha = -1; expect_bad(&c, "alpha = -1");
    c = d; c.model.alpha = NAN; expect_bad(&c, "alpha = nan");
    c = d; c.n = 0; expect_bad(&c, "n = 0");
    c = d; c.h = 0; expect_bad(&c, "h = 0");
    c = d; strcpy(c.eps, "0"); expect_bad(&c, "eps = 0");
    c = d; strcpy(c.eps, "-1"); expect_bad(&c, "eps = -1");
    c = d; strcpy(c.eps, "1e-6x"); expect_bad(&c, "eps = 1e-6x");
    c = d; strcpy(c.eps, ""); expect_bad(&c, "eps = ");
    c = d; strcpy(c.eps, "nan"); expect_bad(&c, "eps = nan");
    c = d; strcpy(c.eps, "1e-1000");
    CHECK(ibc_train_config_check(&c, err) == IBC_OK, "eps 1e-1000 rejected: %s", err);
    c = d; c.lr = INFINITY; expect_bad(&c, "lr = inf");
    c = d; c.lr = 0; expect_bad(&c, "lr = 0");
    c = d; c.steps = -1; expect_bad(&c, "steps = -1");
    c = d; c.batch = 0; expect_bad(&c, "batch = 0");
    c = d; c.method = IBC_METHOD_SGD; c.batch = 501; expect_bad(&c, "batch = 501 is out of range: need 1 <= batch <= n = 500");
    c = d; c.prec = ibc_prec_mpfr(10); expect_bad(&c, "precision = mpfr:10");
    c = d; c.prec_hi = ibc_prec_mpfr(100000); expect_bad(&c, "hi-precision = mpfr:100000");
}

static void test_fmt(void)
{
    char buf[48];
    mpfr_t x;
    mpfr_init2(x, 256);
    mpfr_set_ui_2exp(x, 1, -100000, MPFR_RNDN);
    ibc_prec_fmt_mpfr(buf, x, 5);
    CHECK(strstr(buf, "e-30103") != NULL, "2^-100000 printed as %s", buf);
    mpfr_const_pi(x, MPFR_RNDN);
    mpfr_neg(x, x, MPFR_RNDN);
    mpfr_mul_2si(x, x, -2000000000L, MPFR_RNDN);
    ibc_prec_fmt_mpfr(buf, x, 100);       /* clamped: must fit 48 bytes */
    CHECK(strlen(buf) < 48, "overlong %s", buf);
    mpfr_clear(x);
    CHECK(strcmp(ibc_prec_fmt_d(buf, 1.0 / 3, 4), "0.3333") == 0, "fmt_d: %s", buf);
}

/* ---- atomic output ---- */
static int write_hello(FILE *out, void *ctx) { return fputs((const char *)ctx, out) < 0; }
static int write_fail(FILE *out, void *ctx) { fputs("partial", out); return 1; }

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_atomic(void)
{
    char dir[] = "/tmp/ibc_test_report.XXXXXX", path[128], err[IBC_ERRLEN];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/out.txt", dir);
    CHECK(ibc_util_write_atomic(path, write_fail, NULL, err) == IBC_EIO, "failing writer succeeded");
    CHECK(access(path, F_OK) != 0 && count_entries(dir) == 0, "failing writer left a file");
    CHECK(strstr(err, path) && !strchr(err, '\n'), "message: %s", err);
    CHECK(ibc_util_write_atomic(path, write_hello, "hello\n", err) == IBC_OK, "write: %s", err);
    FILE *f = fopen(path, "r");
    char got[16] = "";
    CHECK(f && fgets(got, sizeof got, f) && strcmp(got, "hello\n") == 0, "content %s", got);
    if (f)
        fclose(f);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0044) != 0, "mode %o is the temp's 0600", st.st_mode & 0777);
    /* a failed rewrite keeps the old file whole */
    CHECK(ibc_util_write_atomic(path, write_fail, NULL, err) == IBC_EIO, "failing rewrite");
    f = fopen(path, "r");
    CHECK(f && fgets(got, sizeof got, f) && strcmp(got, "hello\n") == 0, "old content lost: %s", got);
    if (f)
        fclose(f);
    CHECK(count_entries(dir) == 1, "temporary left behind");
    snprintf(path, sizeof path, "%s/missing/out.txt", dir);
    CHECK(ibc_util_write_atomic(path, write_hello, "x", err) == IBC_EIO, "missing dir accepted");
    snprintf(path, sizeof path, "%s/out.txt", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    ibc_rows r;
    ibc_claim_rows_init(&r);
    fill_rows(&r);
    test_md(&r);
    test_csv(&r);
    test_tex(&r);
    test_json(&r);
    ibc_claim_rows_clear(&r);
    test_format_parse();
    test_rows();
    test_config();
    test_fmt();
    test_atomic();
    mpfr_free_cache();
    if (failures) {
        fprintf(stderr, "test_report: %d checks failed\n", failures);
        return 1;
    }
    printf("test_report: all checks passed\n");
    return 0;
}
