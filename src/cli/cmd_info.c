/* cli: `ibcheck info FILE`, what a saved network holds, after the same
 * validation every command that reads a network file applies. */
#include <stdio.h>
#include "cli/cli.h"

/* The training loss recomputed from the regenerated data: proves the file
 * and the data model still fit together. */
static int print_loss(const ibc_config *c, double p, const ibc_vec *theta)
{
    ibc_net_params np = {.p = p, .h = c->h, .loss = c->loss, .mean = c->mean};
    ibc_data *data = ibc_model_data_alloc_lean(&c->model, c->n, 0);   /* rows rounded from their streams */
    ibc_net *net = data ? ibc_net_alloc(data, &np, theta->pr) : NULL;
    if (!net) {
        ibc_model_data_free(data);
        fprintf(stderr, "ibcheck: info: cannot rebuild the training data and network\n");
        return IBC_EINPUT;
    }
    ibc_vec loss;
    ibc_prec_vec_init(&loss, 1, theta->pr);
    ibc_net_eval(net, theta, NULL, net->n, &loss, NULL, NULL);
    mpfr_t l;
    mpfr_init2(l, 64);
    ibc_prec_vec_get_mpfr(l, &loss, 0);
    char lb[48];
    printf("training loss: %s (recomputed)\n", ibc_prec_fmt_mpfr(lb, l, 10));
    mpfr_clear(l);
    ibc_prec_vec_clear(&loss);
    ibc_net_free(net);
    ibc_model_data_free(data);
    return IBC_OK;
}

int ibc_cli_cmd_info(int argc, char **argv)
{
    cli_parser ps;
    ibc_cli_parser_init(&ps, "info", "ibcheck info FILE",
                        "Validates a network saved by 'ibcheck train' and prints its parameters\n"
                        "and its training loss, recomputed from the regenerated data.",
                        NULL, 0);
    int r = ibc_cli_parser_next(&ps, argc, argv);   /* info has no flags but --help */
    ibc_cli_parser_free(&ps);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;
    if (argc - optind != 1) {
        fprintf(stderr, "ibcheck: info: need exactly one FILE, got %d: see 'ibcheck info --help'\n", argc - optind);
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    ibc_config c;
    ibc_vec theta;
    double p;
    char err[IBC_ERRLEN], pb[24], hb[24];
    if (ibc_train_netio_load(path, &c, &p, &theta, err) != IBC_OK) {
        fprintf(stderr, "ibcheck: %s\n", err);
        return CLI_USAGE;
    }
    printf("file: %s (%s version %d)\n", path, IBC_NETFILE_FORMAT, IBC_NETFILE_VERSION);
    printf("network: p = %g, h = %ld, D = %ld, %ld parameters in %s\n", p, c.h, c.model.D, theta.len,
           ibc_prec_str(theta.pr, pb));
    printf("data: D = %ld, K = %ld, K1 = %ld, alpha = %g, n = %ld, %s centers, seed %lu\n", c.model.D, c.model.K,
           c.model.K1, c.model.alpha, c.n, c.model.random_centers ? "random" : "e_k", c.model.seed);
    printf("training: %s init eps = %s, %s %s loss, %s lr = %g, %ld steps, batch %ld, precision %s (hi %s)\n",
           ibc_net_init_name(c.init), c.eps, c.mean ? "mean" : "sum", ibc_net_loss_name(c.loss), ibc_flow_method_name(c.method),
           c.lr, c.steps, c.batch, ibc_prec_str(c.prec, pb), ibc_prec_str(c.prec_hi, hb));
    ibc_prec_blas_setup();
    int rc = print_loss(&c, p, &theta);
    ibc_prec_vec_clear(&theta);
    return rc;
}
