/* cli: the `ibcheck` command.  Internal to src/cli.
 * Each command describes its flags in one table (cli_flag) from which the
 * getopt_long table, the value parsing and the --help text all come, and the
 * model/training flags that check and train share live in one table here. */
#ifndef IBC_CLI_H
#define IBC_CLI_H
#include <getopt.h>
#include "ibcheck/ibcheck.h"

/* Exit codes (DESIGN, README): 0 ok, 1 refuted, 2 bad input or usage, 3 a
 * numerical or I/O failure (main maps the library's IBC_EIO to 3). */
enum { CLI_OK = 0, CLI_REFUTED = 1, CLI_USAGE = 2, CLI_FAILED = 3 };

typedef enum { ARG_NONE, ARG_LONG, ARG_ULONG, ARG_DOUBLE, ARG_STRING } cli_arg;

typedef struct {
    const char *name;      /* long flag without "--" */
    int shortc;            /* short letter or 0 */
    cli_arg arg;
    const char *metavar;
    const char *help;
    const char *need;      /* allowed values, for messages ("a finite alpha >= 0") */
} cli_flag;

/* A parsed flag value. */
typedef struct {
    long l;
    unsigned long u;
    double d;
    const char *s;
} cli_value;

/* The common options (issue 16): each defined once here and parsed in one
 * place, ibc_cli_parser_next, into cli_parser.common.  -q/--quiet and --help
 * every command takes; a command lists in its own table those of -o,
 * --format and --jobs that apply to it (CLI_OPT_*), with its own help text. */
#define CLI_OPT_OUTPUT_FILE(help) {"output", 'o', ARG_STRING, "FILE", help, "a file path or - for standard output"}
#define CLI_OPT_FORMAT {"format", 0, ARG_STRING, "md|csv|tex|json", \
                        "table format (default md, or taken from -o FILE's extension)", "md, csv, tex or json"}
#define CLI_JOBS_MAX 64
#define CLI_OPT_JOBS(help) {"jobs", 'j', ARG_LONG, "N", help, "an integer 1 <= N <= 64"}

typedef struct {
    int quiet;              /* -q: no progress lines on stderr */
    const char *output;     /* -o as given ("-": standard output), or NULL */
    ibc_format format;      /* --format, valid when format_given */
    int format_given;
    long jobs;              /* --jobs, 1..CLI_JOBS_MAX, or 0 when not given */
} cli_common;

/* Flags shared by check and train: model, training and precision. */
extern const cli_flag cli_shared_flags[];

/* Iterates over argv with a command's own flags (terminated by a NULL name),
 * the shared flags when use_shared, and --help, which prints the help. */
typedef struct {
    const char *cmd;
    const char *usage, *about;   /* for --help */
    const cli_flag *own;
    int use_shared;
    struct option *longopts;
    char shortopts[64];
    int own_i, shared_i;         /* the flag last returned: an index, or -1 */
    cli_value v;                 /* its value */
    cli_common common;           /* the common options seen so far */
} cli_parser;

void ibc_cli_parser_init(cli_parser *p, const char *cmd, const char *usage, const char *about,
                         const cli_flag *own, int use_shared);
void ibc_cli_parser_free(cli_parser *p);
/* 1: a flag was read (own_i or shared_i, and v); 0: done; CLI_HELP_SHOWN:
 * --help was printed on stdout; -1: one line was printed on stderr.  The
 * common options are validated and stored in p->common here (-q is not
 * returned; -o, --format and --jobs are, as own flags). */
int ibc_cli_parser_next(cli_parser *p, int argc, char **argv);
#define CLI_HELP_SHOWN 2

/* The table format: --format if given, else from -o FILE's extension
 * ("-o t.csv" means CSV), else md. */
ibc_format ibc_cli_common_format(const cli_common *c);

/* Applies shared flag i with value v to cfg; -1 after printing one line. */
int ibc_cli_shared_apply(ibc_config *cfg, int i, const cli_value *v);
/* Validates cfg (ibc_train_config_check); prints one line and returns -1 if bad. */
int ibc_cli_config_final(const ibc_config *cfg);
/* Prints "ibcheck: --FLAG ..." for a one-line message err of a library parser. */
void ibc_cli_flag_error(const char *flag, const char *err);
/* Checks that -o PATH can be written later, before any work: -1 + one line
 * if not.  "-" (standard output) passes; a directory, or a symlink to one, is
 * refused; an existing FIFO or device must be writable itself, a regular file
 * (or none) needs its directory writable (the temporary and the rename).
 * A path that passes has its stale temporaries removed (ibc_cli_stale_clean). */
int ibc_cli_output_check(const char *flag, const char *path);
/* Removes the temporaries of path that killed runs left (ibc_util_stale_clean)
 * and says so in one line on stderr.  ibc_cli_output_check does it for every path
 * it passes. */
void ibc_cli_stale_clean(const char *path);
/* 1 if stderr is a terminal (progress and timing go there only then). */
int ibc_cli_stderr_tty(void);

int ibc_cli_cmd_check(int argc, char **argv);
int ibc_cli_cmd_train(int argc, char **argv);
int ibc_cli_cmd_info(int argc, char **argv);
int ibc_cli_cmd_radius(int argc, char **argv);
int ibc_cli_cmd_attack(int argc, char **argv);
int ibc_cli_cmd_reproduce(int argc, char **argv);
int ibc_cli_cmd_compare(int argc, char **argv);

#endif
