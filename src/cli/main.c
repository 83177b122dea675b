/* cli: `ibcheck <command> [options]` (DESIGN: Interfaces people expect). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <gmp.h>
#include <mpfr.h>
#include <cjson/cJSON.h>
#include "cli/cli.h"
#include "mpi/farm.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *about;
} command;

static const command commands[] = {
    {"check", ibc_cli_cmd_check, "run the claim catalogue and print the table of checked constants"},
    {"train", ibc_cli_cmd_train, "train one network and save it (JSON, exact values)"},
    {"radius", ibc_cli_cmd_radius, "bracket the l2 robustness radius of a saved network at one point"},
    {"attack", ibc_cli_cmd_attack, "attack a saved network at one point; the flip is verified"},
    {"compare", ibc_cli_cmd_compare, "train one network in several precision modes and compare them"},
    {"reproduce", ibc_cli_cmd_reproduce, "run the authors' experiment (MV24 §5.1) from their YAML config, with figures"},
    {"info", ibc_cli_cmd_info, "validate a saved network and print what it holds"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fputs("Usage: ibcheck <command> [options]\n\n"
          "Numerical checks of Min & Vidal, \"Can Implicit Bias Imply Adversarial Robustness?\"\n"
          "(ICML 2024): trains two-layer pReLU networks by gradient flow in double or MPFR\n"
          "precision and checks the paper's bounds.\n\nCommands:\n", out);
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->about);
    fputs("\n  ibcheck <command> --help   options of one command\n"
          "  ibcheck --version          version and library versions\n\n"
          "Exit status: 0 ok, 1 a claim was refuted, 2 bad input or usage, 3 a numerical\n"
          "or I/O failure (a write that failed, a worker that died).\n", out);
}

static int unknown_command(const char *what, const char *name)
{
    fprintf(stderr, "ibcheck: %s '%s': need one of", what, name);
    for (const command *c = commands; c->name; c++)
        fprintf(stderr, "%s %s", c == commands ? "" : ",", c->name);
    fputs(" (see 'ibcheck --help')\n", stderr);
    return CLI_USAGE;
}

/* The exit status of a command's return value: the library's IBC_EIO (4)
 * is an I/O failure, which exits 3 as a numerical failure does (README). */
static int exit_status(int rc)
{
    return rc == IBC_EIO ? IBC_ENUMERIC : rc;
}

/* Output to stdout is buffered: a full disk or a closed pipe shows only at
 * the last flush or at close, which exit() would do silently.  Checked here,
 * once for every command.  Returns the status to exit with. */
static int finish_stdout(int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    /* A failure already reported (exit 3) keeps its one line. */
    if (!bad || rc == IBC_ENUMERIC)
        return rc;
    fprintf(stderr, "ibcheck: cannot write to standard output: %s\n", e ? strerror(e) : "write error");
    /* Bad input keeps its status: the usage error came first. */
    return rc == CLI_USAGE ? rc : IBC_ENUMERIC;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        fputs("ibcheck: no command given: need one of check, train, radius, attack, compare, reproduce, info (see 'ibcheck --help')\n", stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ibcheck %s (MPFR %s, GMP %s, cJSON %s)\n", IBC_VERSION, mpfr_get_version(), gmp_version,
               cJSON_Version());
        return CLI_OK;
    }
    if (cmd[0] == '-')
        return unknown_command("unknown option", cmd);
    /* Several MPI ranks share check's claims or reproduce's cells; any
     * other command would run once per rank into the same files. */
    if (ibc_mpi_size() > 1 && strcmp(cmd, "check") != 0 && strcmp(cmd, "reproduce") != 0) {
        if (ibc_mpi_rank() == 0)
            fprintf(stderr, "ibcheck: %s runs on one MPI rank, got %d: only check and reproduce use several "
                    "(mpirun -n 1, or no mpirun)\n", cmd, ibc_mpi_size());
        return CLI_USAGE;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(cmd, c->name) == 0)
            return exit_status(c->run(argc - 1, argv + 1));
    return unknown_command("unknown command", cmd);
}

int main(int argc, char **argv)
{
    /* A reader that went away is a failed write (EPIPE, exit 3, one line),
     * not a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    char err[IBC_ERRLEN];
    int rc = ibc_mpi_start(&argc, &argv, err);
    if (rc != IBC_OK) {
        if (rc > 0)   /* rank 0 says it; the others fail quietly */
            fprintf(stderr, "ibcheck: %s\n", err);
        ibc_mpi_end();
        return rc > 0 ? exit_status(rc) : exit_status(-rc);
    }
    rc = finish_stdout(run(argc, argv));
    ibc_mpi_end();
    return rc;
}
