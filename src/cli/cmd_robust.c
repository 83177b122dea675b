/* cli: `ibcheck radius` and `ibcheck attack`, robustness at one point of a
 * saved network (or of an ideal classifier).  Both print numbers that are
 * certified: the radius as a bracket [certified lower, verified attack], an
 * attack's perturbation only with its flip re-verified in ball arithmetic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli/cli.h"
#include "ibcheck/robust.h"

/* Flags both commands share: which classifier, which point, attack budget. */
enum { R_IDEAL, R_P, R_X, R_Y, R_TEST, R_CENTER, R_TMAX, R_STEPS, R_STEP, R_RESTARTS, R_SEED, R_OUTPUT,
       R_METHOD, R_NORM, R_EPS, R_NFLAGS };
static const cli_flag robust_flags[] = {
    [R_IDEAL] = {"ideal", 0, ARG_STRING, "F|Fp", "use an ideal classifier instead of a network file "
                 "(model from --D --K --K1)", "F or Fp"},
    [R_P] = {"p", 0, ARG_DOUBLE, "X", "exponent of F^(p) with --ideal Fp (default 3)", "a finite p >= 1"},
    [R_X] = {"x", 0, ARG_STRING, "X1,..,XD", "the point: D comma-separated numbers", "D finite numbers"},
    [R_Y] = {"y", 0, ARG_LONG, "+1|-1", "its label (required with --x)", "+1 or -1"},
    [R_TEST] = {"test", 0, ARG_LONG, "I", "the point: test sample I of the model (its label)",
                "0 <= I < 10000000"},
    [R_CENTER] = {"center", 0, ARG_LONG, "K", "the point: center mu_K (its class label)", "0 <= K < model K"},
    [R_TMAX] = {"tmax", 0, ARG_DOUBLE, "R", "largest radius searched (default 2)", "0 < tmax <= 1e6"},
    [R_STEPS] = {"steps", 0, ARG_LONG, "N", "PGD steps (default 2000, as the authors)", "1 <= steps <= 10000000"},
    [R_STEP] = {"step", 0, ARG_DOUBLE, "S", "PGD step (default 0.1)", "0 < step <= 100"},
    [R_RESTARTS] = {"restarts", 0, ARG_LONG, "N", "PGD random restarts (default 2)", "0 <= restarts <= 10000"},
    [R_SEED] = {"seed", 0, ARG_ULONG, "S", "PGD restart seed (default 0)", "an unsigned integer"},
    [R_OUTPUT] = CLI_OPT_OUTPUT_FILE("also write the result as JSON, atomically (-: JSON alone on stdout, text on stderr)"),
    [R_METHOD] = {"method", 0, ARG_STRING, "NAME", "attack: pgd, structured, minnorm or minnorm-pgd (default minnorm)",
                  "pgd, structured, minnorm or minnorm-pgd"},
    [R_NORM] = {"norm", 0, ARG_STRING, "l2|linf", "attack --method pgd: the ball (default l2)", "l2 or linf"},
    [R_EPS] = {"eps", 0, ARG_DOUBLE, "E", "attack --method pgd: the radius (required there)", "0 < eps <= 1e6"},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

typedef struct {
    const char *file, *ideal, *xs, *out, *method, *norm;
    double p, tmax, eps;
    long y, test, center;
    ibc_pgd_opts pgd;
    int model_flags;      /* a shared (model) flag was given */
    ibc_config cfg;
} robust_args;

static int bad(const char *flag, const char *what, const char *need)
{
    fprintf(stderr, "ibcheck: --%s = %s is out of range: need %s\n", flag, what, need);
    return CLI_USAGE;
}

static int bad_d(int i, double x)
{
    char b[48];
    snprintf(b, sizeof b, "%g", x);
    return bad(robust_flags[i].name, b, robust_flags[i].need);
}

static int bad_l(int i, long x)
{
    char b[48];
    snprintf(b, sizeof b, "%ld", x);
    return bad(robust_flags[i].name, b, robust_flags[i].need);
}

static int parse_args(robust_args *a, const char *cmd, const char *usage, const char *about, int argc,
                      char **argv)
{
    memset(a, 0, sizeof *a);
    ibc_train_config_default(&a->cfg);
    ibc_robust_pgd_opts_default(&a->pgd);
    a->pgd.restarts = 2;
    a->p = 3;
    a->tmax = 2;
    a->test = a->center = -1;
    a->method = "minnorm";
    a->norm = "l2";
    a->eps = NAN;
    cli_parser ps;
    ibc_cli_parser_init(&ps, cmd, usage, about, robust_flags, 1);
    int r, rc = 0;
    while ((r = ibc_cli_parser_next(&ps, argc, argv)) == 1) {
        if (ps.shared_i >= 0) {
            a->model_flags = 1;
            if (ibc_cli_shared_apply(&a->cfg, ps.shared_i, &ps.v) != 0)
                r = -1;
        }
        const cli_value *v = &ps.v;
        switch (ps.own_i) {
        case R_IDEAL: a->ideal = v->s; break;
        case R_P: a->p = v->d; rc = a->p >= 1 && isfinite(a->p) ? 0 : bad_d(R_P, v->d); break;
        case R_X: a->xs = v->s; break;
        case R_Y: a->y = v->l; rc = v->l == 1 || v->l == -1 ? 0 : bad_l(R_Y, v->l); break;
        case R_TEST: a->test = v->l; rc = v->l >= 0 && v->l < 10000000 ? 0 : bad_l(R_TEST, v->l); break;
        case R_CENTER: a->center = v->l; rc = v->l >= 0 ? 0 : bad_l(R_CENTER, v->l); break;
        case R_TMAX: a->tmax = v->d; rc = v->d > 0 && v->d <= 1e6 ? 0 : bad_d(R_TMAX, v->d); break;
        case R_STEPS: a->pgd.steps = v->l; rc = v->l >= 1 && v->l <= 10000000 ? 0 : bad_l(R_STEPS, v->l); break;
        case R_STEP: a->pgd.step = v->d; rc = v->d > 0 && v->d <= 100 ? 0 : bad_d(R_STEP, v->d); break;
        case R_RESTARTS: a->pgd.restarts = v->l; rc = v->l >= 0 && v->l <= 10000 ? 0 : bad_l(R_RESTARTS, v->l); break;
        case R_SEED: a->pgd.seed = v->u; break;
        case R_OUTPUT: a->out = v->s; break;
        case R_METHOD: a->method = v->s; break;
        case R_NORM: a->norm = v->s; break;
        case R_EPS: a->eps = v->d; rc = v->d > 0 && v->d <= 1e6 ? 0 : bad_d(R_EPS, v->d); break;
        default: break;
        }
        if (rc)
            r = -1;
        if (r < 0)
            break;
    }
    ibc_cli_parser_free(&ps);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? -CLI_HELP_SHOWN : CLI_USAGE;
    int nfiles = argc - optind;
    if (nfiles > 1) {
        fprintf(stderr, "ibcheck: %s: unexpected argument '%s': need at most one network FILE\n", cmd,
                argv[optind + 1]);
        return CLI_USAGE;
    }
    a->file = nfiles == 1 ? argv[optind] : NULL;
    if (!a->file == !a->ideal) {
        fprintf(stderr, "ibcheck: %s: need exactly one of a network FILE or --ideal F|Fp\n", cmd);
        return CLI_USAGE;
    }
    if (a->ideal && strcmp(a->ideal, "F") != 0 && strcmp(a->ideal, "Fp") != 0)
        return bad("ideal", a->ideal, robust_flags[R_IDEAL].need);
    if (a->file && a->model_flags) {
        fprintf(stderr, "ibcheck: %s: model flags (--D, --K, ...) given with a network FILE: the file fixes the "
                        "model; need either the file alone or --ideal with model flags\n", cmd);
        return CLI_USAGE;
    }
    int npts = (a->xs != NULL) + (a->test >= 0) + (a->center >= 0);
    if (npts != 1) {
        fprintf(stderr, "ibcheck: %s: need exactly one point: --x (with --y), --test I or --center K\n", cmd);
        return CLI_USAGE;
    }
    if (a->xs && a->y == 0) {
        fprintf(stderr, "ibcheck: %s: --x needs its label --y +1 or -1\n", cmd);
        return CLI_USAGE;
    }
    if (!a->xs && a->y != 0) {
        fprintf(stderr, "ibcheck: %s: --y goes with --x only (--test and --center carry their label)\n", cmd);
        return CLI_USAGE;
    }
    if (a->out && ibc_cli_output_check("-o", a->out) != 0)
        return CLI_USAGE;
    if (a->ideal && ibc_cli_config_final(&a->cfg) != 0)
        return CLI_USAGE;
    return 0;
}

/* The classifier, its model and the point. */
typedef struct {
    ibc_rnet *f;
    ibc_model_params model;
    double *x;
    int y;
    char point[64];
} target;

static void target_clear(target *t)
{
    ibc_robust_rnet_free(t->f);
    free(t->x);
}

/* --x: exactly D finite numbers. */
static int parse_point(double *x, long D, const char *s)
{
    const char *c = s;
    long i = 0;
    while (*c) {
        char *end;
        double v = strtod(c, &end);
        if (end == c || !isfinite(v) || (*end && *end != ',')) {
            fprintf(stderr, "ibcheck: --x: entry %ld ('%.20s') is not a finite number: need D = %ld finite "
                            "numbers separated by commas\n", i + 1, c, D);
            return CLI_USAGE;
        }
        if (i < D)
            x[i] = v;
        i++;
        c = *end ? end + 1 : end;
    }
    if (i != D) {
        fprintf(stderr, "ibcheck: --x has %ld values: need D = %ld finite numbers separated by commas\n", i, D);
        return CLI_USAGE;
    }
    return 0;
}

static int target_init(target *t, const robust_args *a)
{
    char err[IBC_ERRLEN];
    memset(t, 0, sizeof *t);
    ibc_data *data = NULL;
    if (a->file) {
        ibc_config c;
        ibc_vec theta;
        double p;
        if (ibc_train_netio_load(a->file, &c, &p, &theta, err) != IBC_OK) {
            fprintf(stderr, "ibcheck: %s\n", err);
            return CLI_USAGE;
        }
        ibc_net_params np = {.p = p, .h = c.h, .loss = c.loss, .mean = c.mean};
        data = ibc_model_data_alloc_lean(&c.model, c.n, 0);   /* the net rounds rows from their streams */
        ibc_net *net = data ? ibc_net_alloc(data, &np, theta.pr) : NULL;
        t->f = net ? ibc_robust_rnet_from_net(net, &theta, data) : NULL;
        ibc_net_free(net);
        ibc_prec_vec_clear(&theta);
        t->model = c.model;
    } else {
        t->model = a->cfg.model;
        t->f = ibc_robust_rnet_ideal(strcmp(a->ideal, "F") == 0 ? IBC_IDEAL_F : IBC_IDEAL_FP, t->model.D, t->model.K,
                                     t->model.K1, a->p);
        if (t->model.random_centers)
            fprintf(stderr, "ibcheck: note: --ideal uses the centers e_k\n");
    }
    ibc_model_data_free(data);
    long D = t->model.D, K = t->model.K;
    t->x = calloc((size_t)D, sizeof(double));
    if (!t->f || !t->x) {
        fprintf(stderr, "ibcheck: cannot build the classifier (D = %ld)\n", D);
        return CLI_USAGE;
    }
    if (a->xs) {
        if (parse_point(t->x, D, a->xs) != 0)
            return CLI_USAGE;
        t->y = (int)a->y;
        snprintf(t->point, sizeof t->point, "given x, y = %+d", t->y);
    } else if (a->center >= 0) {
        if (a->center >= K)
            return bad_l(R_CENTER, a->center);
        memcpy(t->x, t->f->mu + a->center * D, (size_t)D * sizeof(double));
        t->y = a->center < t->model.K1 ? 1 : -1;
        snprintf(t->point, sizeof t->point, "center mu_%ld, y = %+d", a->center, t->y);
    } else {
        /* lean: only the asked row is generated, from its own stream */
        ibc_data *test = ibc_model_data_alloc_lean(&t->model, a->test + 1, 1);
        if (!test) {
            fprintf(stderr, "ibcheck: --test %ld: cannot draw the test set\n", a->test);
            return CLI_USAGE;
        }
        ibc_model_data_rows_d(test, a->test, a->test + 1, t->x);
        t->y = test->y[a->test];
        snprintf(t->point, sizeof t->point, "test sample %ld (subclass %d), y = %+d", a->test, test->z[a->test],
                 t->y);
        ibc_model_data_free(test);
    }
    return 0;
}

typedef struct {
    cJSON *root;
} json_ctx;

static int write_json(FILE *out, void *ctx)
{
    char *s = cJSON_Print(((json_ctx *)ctx)->root);
    if (!s)
        return 1;
    int rc = fputs(s, out) < 0 || fputc('\n', out) == EOF;
    free(s);
    return rc;
}

/* Writes the result object (takes ownership) to -o atomically. */
static int save_json(const char *path, cJSON *root)
{
    char err[IBC_ERRLEN];
    json_ctx c = {root};
    int rc = ibc_util_write_atomic(path, write_json, &c, err);
    cJSON_Delete(root);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return IBC_EIO;
    }
    return 0;
}

static cJSON *json_head(const target *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "classifier", t->f->name);
    cJSON_AddStringToObject(o, "point", t->point);
    cJSON_AddNumberToObject(o, "y", t->y);
    return o;
}

static void json_delta(cJSON *o, const double *delta, long D)
{
    /* Exact: %a hex floats, as every saved number of ibcheck. */
    cJSON *arr = cJSON_AddArrayToObject(o, "delta");
    for (long d = 0; d < D; d++) {
        char b[40];
        snprintf(b, sizeof b, "%a", delta[d]);
        cJSON_AddItemToArray(arr, cJSON_CreateString(b));
    }
}

static const char *fmt_r(char *b, double r)
{
    if (isinf(r))
        snprintf(b, 32, "none within tmax");
    else
        snprintf(b, 32, "%.6f", r);
    return b;
}

int ibc_cli_cmd_radius(int argc, char **argv)
{
    robust_args a;
    int rc = parse_args(&a, "radius", "ibcheck radius (FILE | --ideal F|Fp) (--x X --y Y | --test I | --center K) [options]",
                        "Brackets the l2 robustness radius of a saved network (or of F, F^(p)) at one\n"
                        "point: certified lower bound (Arb) <= radius <= smallest verified attack.\n"
                        "The plain-PGD estimate is shown beside it: for p > 1 it can exceed the truth.",
                        argc, argv);
    if (rc)
        return rc == -CLI_HELP_SHOWN ? CLI_OK : rc;
    target t;
    if ((rc = target_init(&t, &a)) != 0) {
        target_clear(&t);
        return rc;
    }
    ibc_prec_blas_setup();
    /* -o -: the JSON alone on stdout, so that it can be piped; the text goes to stderr. */
    FILE *txt = a.out && strcmp(a.out, "-") == 0 ? stderr : stdout;
    char err[IBC_ERRLEN], b1[32], b2[32], b3[32], b4[32];
    ibc_bracket br;
    ibc_robust_bracket_init(&br, t.model.D);
    rc = ibc_robust_bracket_compute(&br, t.f, t.x, t.y, a.tmax, &a.pgd, err);
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: radius: %s\n", err);
    } else {
        fprintf(txt, "classifier: %s\npoint: %s\n", t.f->name, t.point);
        if (br.misclassified) {
            fprintf(txt, "radius: 0 (the point is misclassified: y f(x) <= 0, or not certifiably > 0)\n");
        } else {
            fprintf(txt, "certified lower bound: %.6f (IBP alone: %.6f)\n", br.lo, br.lo_ibp);
            fprintf(txt, "attack upper bound:    %s (flip verified in ball arithmetic)\n", fmt_r(b1, br.hi));
            fprintf(txt, "structured attack:     %s\n", fmt_r(b2, br.hi_struct));
            fprintf(txt, "plain PGD estimate:    %s%s\n", fmt_r(b3, br.hi_pgd),
                    br.hi_pgd > br.hi * (1 + 1e-3) ? "  (above the bracket: gradient masking)" : "");
            fprintf(txt, "bracket: [%.6f, %s], width %s\n", br.lo, fmt_r(b4, br.hi),
                    isinf(br.hi) ? "unbounded" : (snprintf(b1, sizeof b1, "%.6f", br.hi - br.lo), b1));
        }
        if (a.out) {
            cJSON *o = json_head(&t);
            cJSON_AddBoolToObject(o, "misclassified", br.misclassified);
            cJSON_AddNumberToObject(o, "lower", br.lo);
            cJSON_AddNumberToObject(o, "lower_ibp", br.lo_ibp);
            if (isfinite(br.hi)) {
                cJSON_AddNumberToObject(o, "upper", br.hi);
                json_delta(o, br.delta, t.model.D);
            }
            if (isfinite(br.hi_struct))
                cJSON_AddNumberToObject(o, "structured", br.hi_struct);
            if (isfinite(br.hi_pgd))
                cJSON_AddNumberToObject(o, "pgd", br.hi_pgd);
            rc = save_json(a.out, o);
        }
    }
    ibc_robust_bracket_clear(&br);
    target_clear(&t);
    return rc;
}

int ibc_cli_cmd_attack(int argc, char **argv)
{
    robust_args a;
    int rc = parse_args(&a, "attack", "ibcheck attack (FILE | --ideal F|Fp) (--x X --y Y | --test I | --center K) [options]",
                        "Attacks a saved network (or F, F^(p)) at one point and prints the perturbation's\n"
                        "norm with its flip re-verified in ball arithmetic.  Methods: pgd (at --eps, l2 or\n"
                        "linf), structured (rays toward midpoints of opposite centers), minnorm (bisection\n"
                        "on the radius around the best of them), minnorm-pgd (PGD alone).",
                        argc, argv);
    if (rc)
        return rc == -CLI_HELP_SHOWN ? CLI_OK : rc;
    static const char *methods[] = {"pgd", "structured", "minnorm", "minnorm-pgd", NULL};
    int m = -1;
    for (int i = 0; methods[i]; i++)
        if (strcmp(a.method, methods[i]) == 0)
            m = i;
    if (m < 0)
        return bad("method", a.method, robust_flags[R_METHOD].need);
    if (strcmp(a.norm, "l2") == 0)
        a.pgd.norm = IBC_NORM_L2;
    else if (strcmp(a.norm, "linf") == 0)
        a.pgd.norm = IBC_NORM_LINF;
    else
        return bad("norm", a.norm, robust_flags[R_NORM].need);
    if (m == 0 && isnan(a.eps)) {
        fprintf(stderr, "ibcheck: attack: --method pgd needs --eps: the radius of the ball (0 < eps <= 1e6)\n");
        return CLI_USAGE;
    }
    if (m != 0 && (!isnan(a.eps) || a.pgd.norm != IBC_NORM_L2)) {
        fprintf(stderr, "ibcheck: attack: --eps and --norm go with --method pgd only (the others search l2 radii)\n");
        return CLI_USAGE;
    }
    target t;
    if ((rc = target_init(&t, &a)) != 0) {
        target_clear(&t);
        return rc;
    }
    ibc_prec_blas_setup();
    FILE *txt = a.out && strcmp(a.out, "-") == 0 ? stderr : stdout;   /* as in radius */
    long D = t.model.D;
    double *delta = calloc((size_t)D, sizeof(double));
    double r = INFINITY;
    int found = 0;
    if (!delta) {
        target_clear(&t);
        return CLI_USAGE;
    }
    if (ibc_robust_rnet_flipped(t.f, t.x, NULL, t.y, 64) != 0) {
        fprintf(txt, "classifier: %s\npoint: %s\nthe point is already misclassified (y f(x) <= 0 or undecided): "
                "radius 0, nothing to attack\n", t.f->name, t.point);
        r = 0;
        found = 1;
    } else {
        if (m == 0)
            found = ibc_robust_attack_pgd(delta, t.f, t.x, t.y, a.eps, &a.pgd);
        else if (m == 1)
            r = ibc_robust_attack_structured(delta, t.f, t.x, t.y, a.tmax);
        else if (m == 2)
            r = ibc_robust_attack_minnorm(delta, t.f, t.x, t.y, a.tmax, &a.pgd);
        else
            r = ibc_robust_attack_minnorm_pgd(delta, t.f, t.x, t.y, a.tmax, &a.pgd);
        if (m != 0)
            found = isfinite(r);
        else if (found)
            r = ibc_robust_rnet_norm_up(delta, D);
        arb_t mg;
        arb_init(mg);
        ibc_robust_rnet_margin_arb(mg, t.f, t.x, delta, t.y, 128);
        fprintf(txt, "classifier: %s\npoint: %s\nmethod: %s%s\n", t.f->name, t.point, a.method,
                m == 0 ? (a.pgd.norm == IBC_NORM_L2 ? " (l2)" : " (linf)") : "");
        if (found) {
            double linf = 0;
            for (long d = 0; d < D; d++)
                linf = fmax(linf, fabs(delta[d]));
            char *ms = arb_get_str(mg, 8, 0);
            fprintf(txt, "flip found and verified: y f(x + delta) = %s <= 0 (Arb, 128 bits)\n", ms);
            flint_free(ms);
            fprintf(txt, "||delta||_2 <= %.9g, ||delta||_inf = %.9g\n", r, linf);
        } else {
            char *ms = arb_get_str(mg, 8, 0);
            fprintf(txt, "no verified flip found (best y f(x + delta) = %s)\n", ms);
            flint_free(ms);
        }
        arb_clear(mg);
    }
    if (a.out) {
        cJSON *o = json_head(&t);
        cJSON_AddStringToObject(o, "method", a.method);
        cJSON_AddBoolToObject(o, "flipped", found);
        if (found && r > 0) {
            cJSON_AddNumberToObject(o, "norm_up", r);
            json_delta(o, delta, D);
        }
        rc = save_json(a.out, o);
    }
    free(delta);
    target_clear(&t);
    return rc;
}
