/* cli: flag tables, strict value parsing and the shared model/training flags.
 * Every bad value ends in one stderr line naming the flag, the value and
 * what is allowed (DESIGN non-negotiables); nothing is written before. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"

enum {
    S_D, S_K, S_K1, S_ALPHA, S_N, S_H, S_EPS, S_INIT, S_LOSS, S_SUM, S_MEAN,
    S_METHOD, S_LR, S_STEPS, S_BATCH, S_SEED, S_RANDOM_CENTERS, S_PRECISION, S_COUNT
};

const cli_flag cli_shared_flags[] = {
    [S_D] = {"D", 0, ARG_LONG, "N", "input dimension (default 30)", "an integer with K <= D"},
    [S_K] = {"K", 0, ARG_LONG, "N", "number of subclasses (default 10)", "an integer with K1 < K <= D"},
    [S_K1] = {"K1", 0, ARG_LONG, "N", "positive subclasses (default 6)", "an integer with 1 <= K1 < K"},
    [S_ALPHA] = {"alpha", 0, ARG_DOUBLE, "X", "intra-subclass spread (default 0.1)", "a finite alpha >= 0"},
    [S_N] = {"n", 0, ARG_LONG, "N", "training samples (default 500)", "an integer n >= 1"},
    [S_H] = {"h", 0, ARG_LONG, "N", "hidden width (default 100)", "an integer h >= 1"},
    [S_EPS] = {"eps", 0, ARG_STRING, "X", "initialization scale, decimal (default 1e-6; 1e-1000 works in MPFR)",
               "a decimal number eps > 0"},
    [S_INIT] = {"init", 0, ARG_STRING, "balanced|gaussian", "initialization (default balanced)", "balanced or gaussian"},
    [S_LOSS] = {"loss", 0, ARG_STRING, "exp|logistic", "loss (default exp)", "exp or logistic"},
    [S_SUM] = {"sum", 0, ARG_NONE, NULL, "train on the summed loss (the paper)", NULL},
    [S_MEAN] = {"mean", 0, ARG_NONE, NULL, "train on the mean loss (the authors' code; default)", NULL},
    [S_METHOD] = {"method", 0, ARG_STRING, "M", "trainer: gd, sgd, rk4 or adaptive (default gd)",
                  "gd, sgd, rk4 or adaptive"},
    [S_LR] = {"lr", 0, ARG_DOUBLE, "X", "step size eta of gd/sgd/rk4 (default 0.2)", "a finite lr > 0"},
    [S_STEPS] = {"steps", 0, ARG_LONG, "N", "number of steps (default 20000)", "an integer steps >= 0"},
    [S_BATCH] = {"batch", 0, ARG_LONG, "N", "SGD batch size (default 100)", "an integer with 1 <= batch <= n"},
    [S_SEED] = {"seed", 0, ARG_ULONG, "N", "seed of centers, samples, init and shuffles (default 0)",
                "a whole number 0 <= seed <= 18446744073709551615"},
    [S_RANDOM_CENTERS] = {"random-centers", 0, ARG_NONE, NULL, "seeded random orthonormal centers instead of e_k", NULL},
    [S_PRECISION] = {"precision", 0, ARG_STRING, "MODE", "double, mpfr:BITS or arb:BITS (balls; gd/sgd, integer p), 53 <= BITS <= 65536 (default double)",
                     "double, mpfr:BITS or arb:BITS with 53 <= BITS <= 65536"},
    [S_COUNT] = {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

/* The options every command takes besides --help (see cli.h). */
static const cli_flag common_flags[] = {
    {"quiet", 'q', ARG_NONE, NULL, "no progress lines on stderr", NULL},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};
#define N_COMMON 1

#define OWN_BASE 1000
#define SHARED_BASE 2000
#define COMMON_BASE 2500

static int count_flags(const cli_flag *f)
{
    int n = 0;
    while (f && f[n].name)
        n++;
    return n;
}

static void add_short(cli_parser *p, const cli_flag *f)
{
    size_t len = strlen(p->shortopts);
    if (!f->shortc || len + 3 > sizeof p->shortopts)
        return;
    p->shortopts[len++] = (char)f->shortc;
    if (f->arg != ARG_NONE)
        p->shortopts[len++] = ':';
    p->shortopts[len] = '\0';
}

#define HELP_VAL 3000

void ibc_cli_parser_init(cli_parser *p, const char *cmd, const char *usage, const char *about,
                         const cli_flag *own, int use_shared)
{
    int no = count_flags(own), ns = use_shared ? S_COUNT : 0;
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->usage = usage;
    p->about = about;
    p->own = own;
    p->use_shared = use_shared;
    p->longopts = calloc((size_t)(no + ns + N_COMMON + 2), sizeof *p->longopts);
    if (!p->longopts)
        abort();   /* a few hundred bytes: nothing sensible is left to do */
    /* Leading ':' makes getopt report a missing value as ':' and stay quiet,
     * so that every complaint is our own single line. */
    strcpy(p->shortopts, ":");
    for (int i = 0; i < no + ns; i++) {
        const cli_flag *f = i < no ? &own[i] : &cli_shared_flags[i - no];
        p->longopts[i] = (struct option){f->name, f->arg == ARG_NONE ? no_argument : required_argument,
                                         NULL, i < no ? OWN_BASE + i : SHARED_BASE + (i - no)};
        add_short(p, f);
    }
    for (int i = 0; i < N_COMMON; i++) {
        p->longopts[no + ns + i] = (struct option){common_flags[i].name, no_argument, NULL, COMMON_BASE + i};
        add_short(p, &common_flags[i]);
    }
    p->longopts[no + ns + N_COMMON] = (struct option){"help", no_argument, NULL, HELP_VAL};
    opterr = 0;
    optind = 1;
}

void ibc_cli_parser_free(cli_parser *p)
{
    free(p->longopts);
    p->longopts = NULL;
}

static int bad_value(const cli_flag *f, const char *arg, const char *why)
{
    fprintf(stderr, "ibcheck: --%s = %s %s: need %s\n", f->name, arg[0] ? arg : "''", why, f->need);
    return -1;
}

/* Strict: the whole string, no leading blanks, no NaN or inf, no overflow. */
static int parse_value(const cli_flag *f, const char *arg, cli_value *v)
{
    char *end;
    memset(v, 0, sizeof *v);
    v->s = arg;
    if (f->arg == ARG_NONE || f->arg == ARG_STRING)
        return 0;
    if (!arg[0] || isspace((unsigned char)arg[0]))
        return bad_value(f, arg, "is not a number");
    errno = 0;
    switch (f->arg) {
    case ARG_LONG:
    case ARG_ULONG:
        /* strtoul would take "-1" as ULONG_MAX: an unsigned value starts with a digit. */
        if (f->arg == ARG_ULONG && !isdigit((unsigned char)arg[0]))
            return bad_value(f, arg, "is not a whole number");
        if (f->arg == ARG_LONG)
            v->l = strtol(arg, &end, 10);
        else
            v->u = strtoul(arg, &end, 10);
        if (*end)
            return bad_value(f, arg, "is not a whole number");
        if (errno == ERANGE)
            return bad_value(f, arg, "is out of range");
        break;
    default:
        v->d = strtod(arg, &end);
        if (*end)
            return bad_value(f, arg, "is not a number");
        if (!isfinite(v->d))
            return bad_value(f, arg, "is not a finite number");
        break;
    }
    return 0;
}

static void print_help(const cli_parser *p);

/* Validates and records a common option of the command's own table (-o,
 * --format, --jobs); 0, or -1 after one line. */
static int common_own(cli_parser *p, const cli_flag *f)
{
    char err[IBC_ERRLEN];
    if (strcmp(f->name, "output") == 0) {
        p->common.output = p->v.s;
    } else if (strcmp(f->name, "format") == 0) {
        if (ibc_report_format_parse(&p->common.format, p->v.s, err) != IBC_OK) {
            ibc_cli_flag_error("format", err);
            return -1;
        }
        p->common.format_given = 1;
    } else if (strcmp(f->name, "jobs") == 0) {
        if (p->v.l < 1 || p->v.l > CLI_JOBS_MAX) {
            fprintf(stderr, "ibcheck: --jobs = %s is out of range: need %s\n", p->v.s, f->need);
            return -1;
        }
        p->common.jobs = p->v.l;
    }
    return 0;
}

int ibc_cli_parser_next(cli_parser *p, int argc, char **argv)
{
    int *own = &p->own_i, *shared = &p->shared_i;
    *own = *shared = -1;
    int c;
    /* -q is recorded, not returned: no command has anything else to do with it. */
    while ((c = getopt_long(argc, argv, p->shortopts, p->longopts, NULL)) == 'q' || c == COMMON_BASE)
        p->common.quiet = 1;
    if (c == -1)
        return 0;
    if (c == HELP_VAL) {
        print_help(p);
        return CLI_HELP_SHOWN;
    }
    const char *given = argv[optind - 1];
    if (c == '?') {
        if (optopt)
            fprintf(stderr, "ibcheck: %s: unknown option '-%c': see 'ibcheck %s --help'\n", p->cmd, optopt, p->cmd);
        else
            fprintf(stderr, "ibcheck: %s: unknown option '%s': see 'ibcheck %s --help'\n", p->cmd, given, p->cmd);
        return -1;
    }
    if (c == ':') {
        fprintf(stderr, "ibcheck: %s: option '%s' needs a value: see 'ibcheck %s --help'\n", p->cmd, given, p->cmd);
        return -1;
    }
    const cli_flag *f = NULL;
    if (c >= SHARED_BASE) {
        *shared = c - SHARED_BASE;
        f = &cli_shared_flags[*shared];
    } else if (c >= OWN_BASE) {
        *own = c - OWN_BASE;
        f = &p->own[*own];
    } else {
        for (int i = 0; p->own && p->own[i].name; i++)
            if (p->own[i].shortc == c)
                *own = i;
        for (int i = 0; p->use_shared && i < S_COUNT; i++)
            if (cli_shared_flags[i].shortc == c)
                *shared = i;
        f = *own >= 0 ? &p->own[*own] : *shared >= 0 ? &cli_shared_flags[*shared] : NULL;
        if (!f) {
            fprintf(stderr, "ibcheck: %s: unknown option '-%c'\n", p->cmd, c);
            return -1;
        }
    }
    if (parse_value(f, optarg ? optarg : "", &p->v) != 0)
        return -1;
    return *own >= 0 && common_own(p, f) != 0 ? -1 : 1;
}

ibc_format ibc_cli_common_format(const cli_common *c)
{
    ibc_format f;
    char err[IBC_ERRLEN];
    if (c->format_given)
        return c->format;
    const char *dot = c->output ? strrchr(c->output, '.') : NULL;
    if (dot && ibc_report_format_parse(&f, dot + 1, err) == IBC_OK)
        return f;
    return IBC_FMT_MD;
}

void ibc_cli_flag_error(const char *flag, const char *err)
{
    size_t n = strlen(flag);
    /* "precision 'quad' is ..." reads as "--precision 'quad' is ...". */
    if (strncmp(err, flag, n) == 0 && (err[n] == ' ' || err[n] == '='))
        fprintf(stderr, "ibcheck: --%s\n", err);
    else
        fprintf(stderr, "ibcheck: --%s: %s\n", flag, err);
}

int ibc_cli_shared_apply(ibc_config *cfg, int i, const cli_value *v)
{
    char err[IBC_ERRLEN];
    int rc = IBC_OK;
    switch (i) {
    case S_D: cfg->model.D = v->l; break;
    case S_K: cfg->model.K = v->l; break;
    case S_K1: cfg->model.K1 = v->l; break;
    case S_ALPHA: cfg->model.alpha = v->d; break;
    case S_N: cfg->n = v->l; break;
    case S_H: cfg->h = v->l; break;
    case S_EPS:
        if (strlen(v->s) >= sizeof cfg->eps) {
            fprintf(stderr, "ibcheck: --eps = %.40s... is too long: need at most %zu characters\n",
                    v->s, sizeof cfg->eps - 1);
            return -1;
        }
        strcpy(cfg->eps, v->s);
        break;
    case S_INIT: rc = ibc_net_init_parse(&cfg->init, v->s, err); break;
    case S_LOSS: rc = ibc_net_loss_parse(&cfg->loss, v->s, err); break;
    case S_SUM: cfg->mean = 0; break;
    case S_MEAN: cfg->mean = 1; break;
    case S_METHOD: rc = ibc_flow_method_parse(&cfg->method, v->s, err); break;
    case S_LR: cfg->lr = v->d; break;
    case S_STEPS: cfg->steps = v->l; break;
    case S_BATCH: cfg->batch = v->l; break;
    case S_SEED: cfg->model.seed = v->u; break;
    case S_RANDOM_CENTERS: cfg->model.random_centers = 1; break;
    case S_PRECISION: rc = ibc_prec_parse(&cfg->prec, v->s, err); break;
    default: return -1;
    }
    if (rc != IBC_OK) {
        ibc_cli_flag_error(cli_shared_flags[i].name, err);
        return -1;
    }
    return 0;
}

int ibc_cli_config_final(const ibc_config *cfg)
{
    char err[IBC_ERRLEN];
    if (ibc_train_config_check(cfg, err) == IBC_OK)
        return 0;
    /* ibc_train_config_check names fields as the flags are named. */
    fprintf(stderr, "ibcheck: --%s\n", err);
    return -1;
}

static void print_flags(FILE *out, const cli_flag *f)
{
    for (; f && f->name; f++) {
        char left[64];
        const char *sp = f->metavar ? " " : "", *mv = f->metavar ? f->metavar : "";
        if (f->shortc)
            snprintf(left, sizeof left, "-%c, --%s%s%s", f->shortc, f->name, sp, mv);
        else
            snprintf(left, sizeof left, "    --%s%s%s", f->name, sp, mv);
        fprintf(out, "  %-30s %s\n", left, f->help);
    }
}

static void print_help(const cli_parser *p)
{
    printf("Usage: %s\n\n%s\n\nOptions:\n", p->usage, p->about);
    print_flags(stdout, p->own);
    print_flags(stdout, common_flags);
    printf("  %-30s %s\n", "    --help", "show this help");
    if (p->use_shared) {
        fputs("\nModel and training (docs/theory.md §1-3):\n", stdout);
        print_flags(stdout, cli_shared_flags);
    }
}

int ibc_cli_output_check(const char *flag, const char *path)
{
    struct stat st, lst;
    const char *alt = strcmp(flag, "-o") == 0 ? " or - for standard output" : "";
    if (!path[0]) {
        fprintf(stderr, "ibcheck: %s = '' is empty: need a file path%s\n", flag, alt);
        return -1;
    }
    if (strcmp(path, "-") == 0) {
        if (alt[0])
            return 0;
        fprintf(stderr, "ibcheck: %s = - is not a file: need a file path\n", flag);
        return -1;
    }
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        int link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
        fprintf(stderr, "ibcheck: %s = %s is %s: need a file path%s\n", flag, path,
                link ? "a symbolic link to a directory" : "a directory", alt);
        return -1;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        /* Written in place (ibc_util_write_atomic): the node itself must be writable. */
        if (access(path, W_OK) == 0)
            return 0;
        fprintf(stderr, "ibcheck: %s = %s cannot be written: %s\n", flag, path, strerror(errno));
        return -1;
    }
    /* The temporary goes beside the file the symlinks end at. */
    char *real = exists ? realpath(path, NULL) : NULL;
    char *copy = strdup(real ? real : path);
    free(real);
    if (!copy)
        return -1;
    const char *dir = dirname(copy);
    int ok = access(dir, W_OK | X_OK) == 0;
    int e = errno;
    if (!ok)
        fprintf(stderr, "ibcheck: %s = %s cannot be written: directory %s: %s\n", flag, path, dir, strerror(e));
    free(copy);
    if (ok)
        ibc_cli_stale_clean(path);
    return ok ? 0 : -1;
}

void ibc_cli_stale_clean(const char *path)
{
    /* A run SIGKILLed mid-write leaves PATH.tmp.<pid>.XXXXXX behind; only this
     * path's, and only a dead pid's, are removed (a live one may be writing). */
    long n = ibc_util_stale_clean(path);
    if (n > 0)
        fprintf(stderr, "ibcheck: removed %ld stale temporar%s of %s left by a killed run\n", n, n == 1 ? "y" : "ies",
                path);
}

int ibc_cli_stderr_tty(void)
{
    return isatty(2);
}
