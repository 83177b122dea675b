/* cli: `ibcheck check [CLAIM...]`, the claim catalogue as one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"

enum { C_FORMAT, C_OUTPUT, C_HI, C_LIST, C_ALL };
static const cli_flag check_flags[] = {
    [C_FORMAT] = {"format", 0, ARG_STRING, "md|csv|tex|json",
                  "table format (default md, or taken from -o FILE's extension)", "md, csv, tex or json"},
    [C_OUTPUT] = {"output", 'o', ARG_STRING, "FILE", "write the table to FILE, atomically, instead of stdout",
                  "a file path"},
    [C_HI] = {"hi-precision", 0, ARG_STRING, "MODE", "the mode claims compare with (default mpfr:128)",
              "double or mpfr:BITS with 53 <= BITS <= 65536"},
    [C_LIST] = {"list", 0, ARG_NONE, NULL, "list the claims and exit", NULL},
    [C_ALL] = {"all", 0, ARG_NONE, NULL, "also run the long claims", NULL},
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void list_claims(void)
{
    for (const ibc_claim_def *d = ibc_claims; d->id; d++) {
        /* printf pads bytes, not characters: widen by the UTF-8 continuation bytes ("§"). */
        int extra = 0;
        for (const char *c = d->source; *c; c++)
            extra += ((unsigned char)*c & 0xC0) == 0x80;
        printf("%-20s %-*s %s%s\n", d->id, 14 + extra, d->source, d->title, d->is_long ? " [long]" : "");
    }
}

static int unknown_claim(const char *name)
{
    fprintf(stderr, "ibcheck: check: unknown claim '%s': need one of", name);
    for (const ibc_claim_def *d = ibc_claims; d->id; d++)
        fprintf(stderr, "%s %s", d == ibc_claims ? "" : ",", d->id);
    fputc('\n', stderr);
    return CLI_USAGE;
}

/* With no --format, "-o table.csv" means CSV. */
static ibc_format format_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    ibc_format f;
    char err[IBC_ERRLEN];
    if (dot && ibc_format_parse(&f, dot + 1, err) == IBC_OK)
        return f;
    return IBC_FMT_MD;
}

typedef struct {
    const ibc_rows *rows;
    ibc_format fmt;
} table_ctx;

static int write_table(FILE *out, void *ctx)
{
    const table_ctx *t = ctx;
    return ibc_report_rows(out, t->rows, t->fmt);
}

int cli_cmd_check(int argc, char **argv)
{
    ibc_config cfg;
    ibc_config_default(&cfg);
    cfg.verbose = 1;
    ibc_format fmt = IBC_FMT_MD;
    int fmt_given = 0, list = 0, all = 0;
    const char *out_path = NULL;
    char err[IBC_ERRLEN];

    cli_parser p;
    cli_parser_init(&p, "check", "ibcheck check [CLAIM...] [options]",
                    "Runs the named claims of THEORY §8 (default: every claim not marked long)\n"
                    "and prints one table of checked constants.  Exit status: 0 if every row\n"
                    "holds (or is info/finding), 1 if a row is refuted, 2 on bad input.",
                    check_flags, 1);
    int r;
    while ((r = cli_parser_next(&p, argc, argv)) == 1) {
        const char *val = p.v.s;
        if (p.shared_i >= 0) {
            if (cli_shared_apply(&cfg, p.shared_i, &p.v) != 0)
                r = -1;
        } else if (p.own_i == C_FORMAT) {
            if (ibc_format_parse(&fmt, val, err) != IBC_OK) {
                cli_flag_error("format", err);
                r = -1;
            }
            fmt_given = 1;
        } else if (p.own_i == C_HI) {
            if (ibc_prec_parse(&cfg.prec_hi, val, err) != IBC_OK) {
                cli_flag_error("hi-precision", err);
                r = -1;
            }
        } else if (p.own_i == C_OUTPUT) {
            out_path = val;
        } else if (p.own_i == C_LIST) {
            list = 1;
        } else if (p.own_i == C_ALL) {
            all = 1;
        }
        if (r < 0)
            break;
    }
    cli_parser_free(&p);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;

    /* Claims named on the command line, each once, in registry order. */
    long nclaims = 0;
    while (ibc_claims[nclaims].id)
        nclaims++;
    char *chosen = calloc((size_t)nclaims + 1, 1);
    if (!chosen)
        return CLI_USAGE;
    int named = 0;
    for (int i = optind; i < argc; i++) {
        const ibc_claim_def *d = ibc_claim_find(argv[i]);
        if (!d) {
            free(chosen);
            return unknown_claim(argv[i]);
        }
        chosen[d - ibc_claims] = 1;
        named = 1;
    }
    for (long i = 0; !named && i < nclaims; i++)
        chosen[i] = all || !ibc_claims[i].is_long;

    if (list) {
        free(chosen);
        list_claims();
        return CLI_OK;
    }
    if (cli_config_final(&cfg) != 0 || (out_path && cli_output_check("-o", out_path) != 0)) {
        free(chosen);
        return CLI_USAGE;
    }
    if (out_path && !fmt_given)
        fmt = format_from_path(out_path);

    ibc_prec_blas_setup();
    int tty = cli_stderr_tty() && cfg.verbose;
    int status = IBC_OK;
    ibc_rows rows;
    ibc_rows_init(&rows);
    for (long i = 0; i < nclaims; i++) {
        if (!chosen[i])
            continue;
        const ibc_claim_def *d = &ibc_claims[i];
        long before = rows.n;
        double t0 = now_seconds();
        err[0] = '\0';
        int rc = d->run(&cfg, &rows, err);
        if (rc != IBC_OK) {
            fprintf(stderr, "ibcheck: %s: %s\n", d->id, err[0] ? err : "failed");
            if (status == IBC_OK)
                status = rc;
        } else if (tty) {
            long k = rows.n - before;
            fprintf(stderr, "ibcheck: %s: %ld %s in %.2f s\n", d->id, k, k == 1 ? "row" : "rows", now_seconds() - t0);
        }
    }
    free(chosen);
    ibc_claim_cache_clear();

    /* A file must hold a whole catalogue: after a claim error, none is written. */
    if (out_path && status == IBC_OK) {
        table_ctx t = {&rows, fmt};
        if (ibc_report_write_atomic(out_path, write_table, &t, err) != IBC_OK) {
            fprintf(stderr, "ibcheck: %s\n", err);
            status = IBC_EIO;
        }
    } else if (!out_path && ibc_report_rows(stdout, &rows, fmt) != 0) {
        fprintf(stderr, "ibcheck: cannot write the table to standard output\n");
        if (status == IBC_OK)
            status = IBC_EIO;
    }
    int refuted = ibc_rows_refuted(&rows);
    ibc_rows_clear(&rows);
    if (status != IBC_OK)
        return status;
    return refuted ? CLI_REFUTED : CLI_OK;
}
