/* cli: `ibcheck compare --precisions LIST`, one trainer in several precision
 * modes, compared by the code of the claim `precision-ladder` (src/ladder/ladder.c). */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "ibcheck/ladder.h"

enum { P_PRECISIONS, P_P, P_FORMAT, P_OUTPUT };
static const cli_flag compare_flags[] = {
    [P_PRECISIONS] = {"precisions", 0, ARG_STRING, "LIST",
                      "modes to compare, comma-separated (default double,mpfr:113); the one with the most bits "
                      "is the reference",
                      "2 to 8 distinct modes, each double or mpfr:BITS with 53 <= BITS <= 65536"},
    [P_P] = {"p", 0, ARG_DOUBLE, "X", "exponent of the pReLU units (default 3, as precision-ladder)", "a finite p >= 1"},
    [P_FORMAT] = CLI_OPT_FORMAT,
    [P_OUTPUT] = CLI_OPT_OUTPUT_FILE("write the table to FILE, atomically, instead of stdout (-: stdout)"),
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

typedef struct {
    const ibc_rows *rows;
    ibc_format fmt;
} compare_out;

static int compare_write(FILE *f, void *ctx)
{
    const compare_out *o = ctx;
    return ibc_report_rows(f, o->rows, o->fmt);
}

int ibc_cli_cmd_compare(int argc, char **argv)
{
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    cfg.verbose = 1;
    double p = 3;
    ibc_prec modes[IBC_LADDER_MODES_MAX];
    long nmodes = 0;
    const char *list = "double,mpfr:113";
    char err[IBC_ERRLEN];

    cli_parser ps;
    ibc_cli_parser_init(&ps, "compare", "ibcheck compare [--precisions LIST] [options]",
                        "Trains one network (same data, same initialization, same trainer) in each\n"
                        "precision mode and compares them with the mode of most bits: digits of\n"
                        "agreement at fixed steps, the neurons whose fate rounding decided, and ulps\n"
                        "per step between modes of equal bits (double, mpfr:53).  Exit status: 0 if\n"
                        "every checked row holds, 1 if one is refuted, 2 on bad input, 3 on a\n"
                        "numerical or I/O failure.",
                        compare_flags, 1);
    int r;
    while ((r = ibc_cli_parser_next(&ps, argc, argv)) == 1) {
        if (ps.shared_i >= 0) {
            if (strcmp(cli_shared_flags[ps.shared_i].name, "precision") == 0) {
                fprintf(stderr, "ibcheck: compare: --precision %s is not read here: need --precisions LIST\n", ps.v.s);
                r = -1;
            } else if (ibc_cli_shared_apply(&cfg, ps.shared_i, &ps.v) != 0) {
                r = -1;
            }
        } else if (ps.own_i == P_PRECISIONS) {
            list = ps.v.s;
        } else if (ps.own_i == P_P) {
            p = ps.v.d;
        }
        if (r < 0)
            break;
    }
    ibc_cli_parser_free(&ps);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;
    /* -o -: standard output, as without -o. */
    const char *out_path = ps.common.output && strcmp(ps.common.output, "-") != 0 ? ps.common.output : NULL;
    ibc_format fmt = ibc_cli_common_format(&ps.common);
    if (ps.common.quiet)
        cfg.verbose = 0;
    if (optind < argc) {
        fprintf(stderr, "ibcheck: compare: unexpected argument '%s': see 'ibcheck compare --help'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (ibc_ladder_modes_parse(modes, &nmodes, list, err) != IBC_OK) {
        ibc_cli_flag_error("precisions", err);
        return CLI_USAGE;
    }
    if (!(p >= 1)) {
        fprintf(stderr, "ibcheck: --p = %g is out of range: need %s\n", p, compare_flags[P_P].need);
        return CLI_USAGE;
    }
    if (ibc_cli_config_final(&cfg) != 0 || (out_path && ibc_cli_output_check("-o", out_path) != 0))
        return CLI_USAGE;

    ibc_prec_blas_setup();
    ibc_ladder L;
    int rc = ibc_ladder_init(&L, &cfg, p, modes, nmodes, err);
    if (rc != IBC_OK) {
        ibc_ladder_clear(&L);
        fprintf(stderr, "ibcheck: compare: %s\n", err);
        return rc;
    }
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    ibc_ladder_rows(&L, "compare", "design card", NULL, &rows);
    ibc_ladder_clear(&L);
    compare_out o = {&rows, fmt};
    if (out_path && ibc_util_write_atomic(out_path, compare_write, &o, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        rc = IBC_EIO;
    } else if (!out_path && ibc_report_rows(stdout, &rows, fmt) != 0) {
        fprintf(stderr, "ibcheck: cannot write the table to standard output\n");
        rc = IBC_EIO;
    }
    int refuted = ibc_claim_rows_refuted(&rows);
    ibc_claim_rows_clear(&rows);
    if (rc != IBC_OK)
        return rc;
    return refuted ? CLI_REFUTED : CLI_OK;
}
