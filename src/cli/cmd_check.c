/* cli: `ibcheck check [CLAIM...]`, the claim catalogue as one table.
 * With --jobs N > 1 the claims run in N forked worker processes; the parent
 * assembles their rows in registry order, so the table is the --jobs 1 table. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "mpi/farm.h"
#include "util/clock.h"

enum { C_FORMAT, C_OUTPUT, C_HI, C_LIST, C_ALL, C_JOBS };
static const cli_flag check_flags[] = {
    [C_FORMAT] = CLI_OPT_FORMAT,
    [C_OUTPUT] = CLI_OPT_OUTPUT_FILE("write the table to FILE, atomically, instead of stdout (-: stdout)"),
    [C_HI] = {"hi-precision", 0, ARG_STRING, "MODE", "the mode claims compare with (default mpfr:128)",
              "double or mpfr:BITS with 53 <= BITS <= 65536"},
    [C_LIST] = {"list", 0, ARG_NONE, NULL, "list the claims and exit", NULL},
    [C_ALL] = {"all", 0, ARG_NONE, NULL, "also run the long claims", NULL},
    [C_JOBS] = CLI_OPT_JOBS("run the claims in N worker processes (default: the CPUs, at most 8)"),
    {NULL, 0, ARG_NONE, NULL, NULL, NULL},
};

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

typedef struct {
    const ibc_rows *rows;
    ibc_format fmt;
} table_ctx;

static int write_table(FILE *out, void *ctx)
{
    const table_ctx *t = ctx;
    return ibc_report_rows(out, t->rows, t->fmt);
}


/* What the summary needs of each claim: its own wall time, row count, and
 * whether it failed (its error line was printed). */
typedef struct {
    double secs;
    long nrows;
    int failed;
} claim_stat;

/* Runs claim i into rows; on a terminal, one completion line on success.
 * The error line is the caller's: with workers it comes from the parent, in
 * registry order. */
static int run_claim(const ibc_config *cfg, long i, ibc_rows *rows, int tty, char *err, double *secs)
{
    const ibc_claim_def *d = &ibc_claims[i];
    long before = rows->n;
    double t0 = ibc_util_now();
    err[0] = '\0';
    int rc = d->run(cfg, rows, err);
    *secs = ibc_util_now() - t0;
    if (rc == IBC_OK && tty) {
        long k = rows->n - before;
        /* One fprintf: lines from concurrent workers do not interleave. */
        fprintf(stderr, "ibcheck: %s: %ld %s in %.2f s\n", d->id, k, k == 1 ? "row" : "rows", ibc_util_now() - t0);
    }
    return rc;
}

static void claim_error(long i, const char *err)
{
    ibc_claim_error_print(stderr, ibc_claims[i].id, err);
}

/* The status of a claim that failed.  The flags were checked before any
 * claim ran, so a claim that fails has failed numerically (or out of
 * memory), never on the user's input: IBC_EINPUT from inside one is exit 3,
 * not the bad-input 2 (issue 16). */
static int claim_status(int rc)
{
    return rc == IBC_EINPUT ? IBC_ENUMERIC : rc;
}

#define MAX_JOBS CLI_JOBS_MAX

/* Shared by the parent and its workers (an anonymous MAP_SHARED mapping). */
typedef struct {
    long next;                 /* the next entry of the work list to hand out */
    long running[MAX_JOBS];    /* per worker: claim index + 1 while it runs, else 0 */
} job_board;

/* A worker's results file: for each claim it ran, this header and then
 * nrows raw ibc_row structs (plain char arrays and an enum). */
typedef struct {
    long claim;
    int rc;
    long nrows;
    double seconds;            /* the claim's wall time in its worker */
    char err[IBC_ERRLEN];
} job_record;

/* Runs claim i with fresh rows and appends its record to out: 1, or 0 when
 * the record cannot be written. */
static int run_record(const ibc_config *cfg, long i, FILE *out, int tty)
{
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    job_record rec;
    memset(&rec, 0, sizeof rec);
    rec.claim = i;
    rec.rc = run_claim(cfg, i, &rows, tty, rec.err, &rec.seconds);
    rec.nrows = rows.n;
    int ok = fwrite(&rec, sizeof rec, 1, out) == 1 &&
             (rows.n == 0 || fwrite(rows.row, sizeof *rows.row, (size_t)rows.n, out) == (size_t)rows.n) &&
             fflush(out) == 0;
    ibc_claim_rows_clear(&rows);
    return ok;
}

/* The worker's life: take claims in list order until none is left, each with
 * fresh rows, and append its record to out.  Never returns. */
static void worker_main(const ibc_config *cfg, const long *todo, long ntodo, job_board *board, int w,
                        FILE *out, int tty)
{
    ibc_config wcfg = *cfg;
    wcfg.verbose = 0;   /* training progress lines ('\r') from several workers would interleave */
    int ok = 1;
    for (;;) {
        long k = __atomic_fetch_add(&board->next, 1, __ATOMIC_RELAXED);
        if (k >= ntodo)
            break;
        __atomic_store_n(&board->running[w], todo[k] + 1, __ATOMIC_RELAXED);
        ok = run_record(&wcfg, todo[k], out, tty);
        if (!ok)
            break;   /* exit with the claim still marked as running: the parent names it */
        __atomic_store_n(&board->running[w], 0, __ATOMIC_RELAXED);
    }
    ibc_claim_cache_clear();
    /* _exit: the parent's atexit handlers and stdio buffers are the parent's. */
    _exit(ok ? 0 : IBC_EIO);
}

/* Appends a copy of r to dst through the one row constructor, its strings
 * terminated first (r may come from a file).  0, or -1 out of memory. */
static int append_row(ibc_rows *dst, ibc_row r)
{
    r.claim[sizeof r.claim - 1] = r.what[sizeof r.what - 1] = r.params[sizeof r.params - 1] = '\0';
    r.precision[sizeof r.precision - 1] = r.measured[sizeof r.measured - 1] = '\0';
    r.bound[sizeof r.bound - 1] = r.margin[sizeof r.margin - 1] = r.source[sizeof r.source - 1] = '\0';
    return ibc_claim_rows_add(dst, r.claim, r.what, r.precision, r.measured, r.bound, r.margin, r.verdict, r.source,
                              "%s", r.params) ? 0 : -1;
}

/* The records of every worker, by claim, before they are put in order. */
typedef struct {
    long nclaims;
    ibc_rows *res;
    int *rcs;
    claim_stat *st;
    char (*errs)[IBC_ERRLEN];
    char *got;
} results;

/* Reads one worker's results file into res/rc/errs (indexed by claim);
 * got[i] marks the claims read.  0, or -1 on a short or inconsistent file. */
static int read_results(FILE *f, results *R)
{
    long nclaims = R->nclaims;
    ibc_rows *res = R->res;
    char *got = R->got;
    if (fseek(f, 0, SEEK_SET) != 0)
        return -1;
    job_record rec;
    while (fread(&rec, sizeof rec, 1, f) == 1) {
        if (rec.claim < 0 || rec.claim >= nclaims || got[rec.claim] || rec.nrows < 0)
            return -1;
        got[rec.claim] = 1;
        R->rcs[rec.claim] = rec.rc;
        R->st[rec.claim].secs = rec.seconds;
        rec.err[IBC_ERRLEN - 1] = '\0';
        memcpy(R->errs[rec.claim], rec.err, IBC_ERRLEN);
        for (long j = 0; j < rec.nrows; j++) {
            ibc_row r;
            if (fread(&r, sizeof r, 1, f) != 1 || append_row(&res[rec.claim], r) != 0)
                return -1;
        }
    }
    return ferror(f) ? -1 : 0;
}

static int results_init(results *R, long nclaims)
{
    R->nclaims = nclaims;
    R->res = calloc((size_t)nclaims, sizeof *R->res);
    R->rcs = calloc((size_t)nclaims, sizeof *R->rcs);
    R->st = calloc((size_t)nclaims, sizeof *R->st);
    R->errs = calloc((size_t)nclaims, sizeof *R->errs);
    R->got = calloc((size_t)nclaims, 1);
    return R->res && R->rcs && R->st && R->errs && R->got ? 0 : -1;
}

static void results_clear(results *R)
{
    for (long i = 0; R->res && i < R->nclaims; i++)
        ibc_claim_rows_clear(&R->res[i]);
    free(R->res);
    free(R->rcs);
    free(R->st);
    free(R->errs);
    free(R->got);
}

/* Appends the chosen claims' rows to rows in registry order, and prints
 * each failing claim's line in that order.  Returns the first failing
 * claim's status, IBC_OK, or -1 (one line) when a record is missing or bad
 * (bad: it was already found so). */
static int results_assemble(const results *R, int bad, const char *chosen, ibc_rows *rows, claim_stat *secs)
{
    int status = IBC_OK;
    for (long i = 0; !bad && i < R->nclaims; i++) {
        if (!chosen[i])
            continue;
        if (!R->got[i]) {
            bad = 1;
            break;
        }
        for (long j = 0; !bad && j < R->res[i].n; j++)
            bad = append_row(rows, R->res[i].row[j]) != 0;
        secs[i].secs = R->st[i].secs;
        secs[i].nrows = R->res[i].n;
        if (R->rcs[i] != IBC_OK) {
            secs[i].failed = 1;
            claim_error(i, R->errs[i]);
            if (status == IBC_OK)
                status = claim_status(R->rcs[i]);
        }
    }
    if (bad) {
        fprintf(stderr, "ibcheck: check: cannot read the workers' results back\n");
        status = -1;
    }
    return status;
}

/* ---- several MPI ranks: the claims as tasks of ibc_mpi_farm ------------- */

typedef struct {
    const ibc_config *cfg;
    int tty;
    results R;
    int bad;
} claim_farm;

/* Any rank: one claim's record, as run_record writes it for a worker. */
static int claim_compute(long i, const char *payload, size_t plen, char **out, size_t *len, char *err, void *ctx)
{
    const claim_farm *f = ctx;
    FILE *m = open_memstream(out, len);
    int ok = m && run_record(f->cfg, i, m, f->tty);
    if (m && fclose(m) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, IBC_ERRLEN, "check: %s: cannot record the claim's rows (out of memory)", ibc_claims[i].id);
        return IBC_EIO;
    }
    return IBC_OK;
}

/* Rank 0: a claim's record, read back as a worker's results file. */
static int claim_finish(long i, int rank, int rc, const char *buf, size_t len, const char *err, void *ctx)
{
    claim_farm *f = ctx;
    if (rc != IBC_OK) {
        fprintf(stderr, "ibcheck: check: rank %d: %s\n", rank, err);
        f->bad = 1;
        return rc;
    }
    FILE *m = len ? fmemopen((void *)buf, len, "r") : NULL;
    if (!m || read_results(m, &f->R) != 0)
        f->bad = 1;
    if (m)
        fclose(m);
    return f->bad ? IBC_EIO : IBC_OK;
}

static void claim_name(long i, char *buf, size_t n, void *ctx)
{
    snprintf(buf, n, "claim %s", ibc_claims[i].id);
}

/* run_claims over MPI ranks: every rank calls it; rank 0 gets the rows and
 * the status as with --jobs (others: IBC_OK, no rows). */
static int run_claims_mpi(const ibc_config *cfg, const long *todo, long ntodo, long nclaims, const char *chosen,
                          int tty, ibc_rows *rows, claim_stat *secs)
{
    ibc_config wcfg = *cfg;
    wcfg.verbose = 0;   /* training progress lines ('\r') from several ranks would interleave */
    claim_farm f = {&wcfg, tty, {0}, 0};
    if (ibc_mpi_rank() == 0 && results_init(&f.R, nclaims) != 0)
        f.bad = 1;   /* the claims still run: the farm must reach every rank */
    f.R.nclaims = nclaims;
    char err[IBC_ERRLEN];
    ibc_mpi_farm_ops ops = {.what = "check",
                            .after = "no table was written: rerun the command",
                            .compute = claim_compute,
                            .finish = claim_finish,
                            .name = claim_name,
                            .ctx = &f};
    int rc = ibc_mpi_farm(todo, ntodo, &ops, err);
    if (ibc_mpi_rank() > 0)
        return IBC_OK;
    if (rc != IBC_OK && err[0])
        fprintf(stderr, "ibcheck: %s\n", err);
    int status = rc != IBC_OK ? -1 : results_assemble(&f.R, f.bad, chosen, rows, secs);
    results_clear(&f.R);
    return status;
}

/* Runs the chosen claims in the parent (jobs == 1), or in jobs forked
 * workers, and appends their rows to rows in registry order.  Returns the
 * first failing claim's status (its line printed), or IBC_OK; -1 when a
 * worker died or its results cannot be read (one line printed, rows then
 * incomplete). */
static int run_claims(const ibc_config *cfg, const char *chosen, long nclaims, int jobs, int tty, ibc_rows *rows,
                      claim_stat *secs)
{
    char err[IBC_ERRLEN];
    int status = IBC_OK;
    long ntodo = 0;
    long *todo = malloc((size_t)nclaims * sizeof *todo);
    FILE *out[MAX_JOBS] = {NULL};
    job_board *board = MAP_FAILED;
    if (todo)
        for (long i = 0; i < nclaims; i++)
            if (chosen[i])
                todo[ntodo++] = i;
    if (ibc_mpi_size() > 1) {
        /* Several ranks replace --jobs; without the work list no rank can run. */
        if (!todo)
            abort();
        status = run_claims_mpi(cfg, todo, ntodo, nclaims, chosen, tty, rows, secs);
        goto done;
    }
    /* Without the work list, the board or a results file, the claims run
     * here: the same table, only slower. */
    if (todo && jobs > 1) {
        board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        for (int w = 0; board != MAP_FAILED && w < jobs; w++)
            if (!(out[w] = tmpfile()))
                jobs = w;
    }
    if (!todo || board == MAP_FAILED || jobs <= 1) {
        for (long i = 0; i < nclaims; i++) {
            if (!chosen[i])
                continue;
            long before = rows->n;
            int rc = run_claim(cfg, i, rows, tty, err, &secs[i].secs);
            secs[i].nrows = rows->n - before;
            if (rc != IBC_OK) {
                secs[i].failed = 1;
                claim_error(i, err);
                if (status == IBC_OK)
                    status = claim_status(rc);
            }
        }
        goto done;
    }

    memset(board, 0, sizeof *board);
    pid_t pid[MAX_JOBS];
    int started = 0;
    fflush(NULL);   /* else each child would hold, and could flush, a copy of pending output */
    for (; started < jobs; started++) {
        pid[started] = fork();
        if (pid[started] < 0)
            break;   /* the workers already started take every claim */
        if (pid[started] == 0)
            worker_main(cfg, todo, ntodo, board, started, out[started], tty);
    }
    if (started == 0) {
        fprintf(stderr, "ibcheck: check: cannot start a worker process: try --jobs 1\n");
        status = -1;
        goto done;
    }
    /* Reap the workers as they end.  The first one that fails is reported and
     * the others are stopped: the catalogue cannot be whole any more. */
    int died = 0;
    for (int left = started; left > 0;) {
        int ws;
        pid_t p = waitpid(-1, &ws, 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break;   /* ECHILD: none left */
        }
        int w = 0;
        while (w < started && pid[w] != p)
            w++;
        if (w == started)
            continue;   /* not a worker */
        pid[w] = 0;
        left--;
        if ((WIFEXITED(ws) && WEXITSTATUS(ws) == 0) || died)
            continue;
        long c = __atomic_load_n(&board->running[w], __ATOMIC_RELAXED) - 1;
        char how[32];
        if (WIFSIGNALED(ws))
            snprintf(how, sizeof how, "signal %d", WTERMSIG(ws));
        else
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(ws));
        fprintf(stderr, "ibcheck: check: worker %d died (%s) %s%s\n", w + 1, how,
                c >= 0 ? "while running " : "between claims", c >= 0 ? ibc_claims[c].id : "");
        died = 1;
        for (int o = 0; o < started; o++)
            if (pid[o] > 0)
                kill(pid[o], SIGKILL);
    }
    if (died) {
        status = -1;
        goto done;
    }

    /* Every worker finished: read the results back and assemble them in registry order. */
    results R;
    int bad = results_init(&R, nclaims) != 0;
    for (int w = 0; !bad && w < started; w++)
        bad = read_results(out[w], &R) != 0;
    status = results_assemble(&R, bad, chosen, rows, secs);
    results_clear(&R);

done:
    for (int w = 0; w < MAX_JOBS; w++)
        if (out[w])
            fclose(out[w]);
    if (board != MAP_FAILED)
        munmap(board, sizeof *board);
    free(todo);
    return status;
}

/* The last screen of a run: one line per claim (rows by verdict, its own
 * time), then the totals, on stderr so that the table on stdout (or in -o)
 * stays byte-identical across --jobs and MPI ranks.  -q leaves it out. */
static void claim_summary(FILE *f, const ibc_rows *rows, const char *chosen, long nclaims, const claim_stat *secs,
                          double wall, int jobs)
{
    fprintf(f, "\n%-28s %5s %6s %6s %8s %8s %9s\n", "claim", "rows", "holds", "info", "finding", "REFUTED", "time");
    long j = 0, tot[5] = {0, 0, 0, 0, 0};
    for (long i = 0; i < nclaims; i++) {
        if (!chosen[i])
            continue;
        /* rows are in registry order, secs[i].nrows of them per claim */
        long c[4] = {0, 0, 0, 0}, n = secs[i].nrows;
        const char *id = ibc_claims[i].id;
        for (long k = 0; k < n && j < rows->n; k++, j++)
            if ((unsigned)rows->row[j].verdict < 4)
                c[rows->row[j].verdict]++;
        fprintf(f, "%-28s %5ld %6ld %6ld %8ld %8ld %7.1f s%s\n", id, n, c[IBC_HOLDS], c[IBC_INFO], c[IBC_FINDING],
                c[IBC_REFUTED], secs[i].secs,
                secs[i].failed ? "  <- FAILED (its line above)" : c[IBC_REFUTED] ? "  <- refuted" : "");
        tot[0] += n;
        for (int v = 0; v < 4; v++)
            tot[v + 1] += c[v];
    }
    fprintf(f, "%-28s %5ld %6ld %6ld %8ld %8ld %7.1f s wall, %d job%s\n", "all", tot[0], tot[1 + IBC_HOLDS],
            tot[1 + IBC_INFO], tot[1 + IBC_FINDING], tot[1 + IBC_REFUTED], wall, jobs, jobs == 1 ? "" : "s");
}

int ibc_cli_cmd_check(int argc, char **argv)
{
    ibc_config cfg;
    ibc_train_config_default(&cfg);
    cfg.verbose = 1;
    int list = 0, all = 0;
    char err[IBC_ERRLEN];

    cli_parser p;
    ibc_cli_parser_init(&p, "check", "ibcheck check [CLAIM...] [options]",
                        "Runs the named claims of docs/theory.md §8 (default: every claim not marked long)\n"
                        "and prints one table of checked constants.  Exit status: 0 if every row\n"
                        "holds (or is info/finding), 1 if a row is refuted, 2 on bad input, 3 on a\n"
                        "numerical or I/O failure.",
                        check_flags, 1);
    int r;
    while ((r = ibc_cli_parser_next(&p, argc, argv)) == 1) {
        const char *val = p.v.s;
        if (p.shared_i >= 0) {
            if (ibc_cli_shared_apply(&cfg, p.shared_i, &p.v) != 0)
                r = -1;
        } else if (p.own_i == C_HI) {
            if (ibc_prec_parse(&cfg.prec_hi, val, err) != IBC_OK) {
                ibc_cli_flag_error("hi-precision", err);
                r = -1;
            }
        } else if (p.own_i == C_LIST) {
            list = 1;
        } else if (p.own_i == C_ALL) {
            all = 1;
        }
        if (r < 0)
            break;
    }
    ibc_cli_parser_free(&p);
    if (r != 0)
        return r == CLI_HELP_SHOWN ? CLI_OK : CLI_USAGE;
    /* -o -: standard output, as without -o. */
    const char *out_path = p.common.output && strcmp(p.common.output, "-") != 0 ? p.common.output : NULL;
    ibc_format fmt = ibc_cli_common_format(&p.common);
    long jobs = p.common.jobs;   /* 0: the default, set once the claims are known */
    if (p.common.quiet)
        cfg.verbose = 0;

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
    if (ibc_cli_config_final(&cfg) != 0) {
        free(chosen);
        return CLI_USAGE;
    }
    /* A claim's own limits (docs/theory.md §8), before any claim runs: a
     * named claim outside them is bad input; the catalogue leaves it out and
     * says so in one line, so that the other claims still run.  Every rank
     * decides the same from the same argv. */
    char cerr[IBC_ERRLEN];
    for (long i = 0; i < nclaims; i++) {
        if (!chosen[i] || ibc_claim_config_check(ibc_claims[i].id, &cfg, cerr) == IBC_OK)
            continue;
        if (named) {
            fprintf(stderr, "ibcheck: check: %s\n", cerr);
            free(chosen);
            return CLI_USAGE;
        }
        fprintf(stderr, "ibcheck: check: left out %s\n", cerr);
        chosen[i] = 0;
    }
    /* -o is rank 0's file: only it checks (and cleans) the path, and tells
     * the other ranks whether to go on. */
    int ok = ibc_mpi_rank() > 0 || !out_path || ibc_cli_output_check("-o", out_path) == 0;
    if (ibc_mpi_share(ok ? CLI_OK : CLI_USAGE, NULL, 0) != CLI_OK) {
        free(chosen);
        return CLI_USAGE;
    }

    /* The default uses every CPU, up to 8; never more workers than claims. */
    long nchosen = 0;
    for (long i = 0; i < nclaims; i++)
        nchosen += chosen[i];
    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus < 1 ? 1 : cpus > 8 ? 8 : cpus;
    }
    if (jobs > nchosen)
        jobs = nchosen > 0 ? nchosen : 1;

    /* Before any fork: it only fixes thread counts, no thread is left running. */
    ibc_prec_blas_setup();
    int tty = ibc_cli_stderr_tty() && cfg.verbose;
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    claim_stat *secs = calloc((size_t)nclaims, sizeof *secs);
    if (!secs)
        abort();
    double t_start = ibc_util_now();
    int status = run_claims(&cfg, chosen, nclaims, (int)jobs, tty, &rows, secs);
    double t_wall = ibc_util_now() - t_start;
    ibc_claim_cache_clear();
    if (ibc_mpi_rank() > 0 || status < 0) {
        ibc_claim_rows_clear(&rows);
        free(chosen);
        free(secs);
        /* rank 0 prints the table and the status; a worker that died: no
         * table at all, and a status that is neither a verdict nor bad input */
        return ibc_mpi_rank() > 0 ? CLI_OK : IBC_ENUMERIC;
    }

    /* A file must hold a whole catalogue: after a claim error, none is written. */
    if (out_path && status == IBC_OK) {
        table_ctx t = {&rows, fmt};
        if (ibc_util_write_atomic(out_path, write_table, &t, err) != IBC_OK) {
            fprintf(stderr, "ibcheck: %s\n", err);
            status = IBC_EIO;
        }
    } else if (!out_path && ibc_report_rows(stdout, &rows, fmt) != 0) {
        fprintf(stderr, "ibcheck: cannot write the table to standard output\n");
        if (status == IBC_OK)
            status = IBC_EIO;
    }
    /* The summary also after a claim failed: it shows at a glance which one
     * (its line above says why) and what the others found. */
    if (!p.common.quiet)
        claim_summary(stderr, &rows, chosen, nclaims, secs, t_wall, (int)jobs);
    free(chosen);
    free(secs);
    int refuted = ibc_claim_rows_refuted(&rows);
    ibc_claim_rows_clear(&rows);
    if (status != IBC_OK)
        return status;
    return refuted ? CLI_REFUTED : CLI_OK;
}
