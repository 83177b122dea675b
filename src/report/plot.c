/* report/plot: the five-panel figure of MV24 §5.1 from the summary CSV files
 * of a reproduce run, drawn by gnuplot.
 *
 * The CSVs are read and checked here, not by gnuplot: a malformed file then
 * gets one clear line naming it, and the aggregation gnuplot cannot do
 * (mean and min-max over repeats) lives in C.  The cleaned numbers go into
 * dir/figure.gp as inline data blocks, so the kept script is self-contained
 * and a user can restyle it and rerun `gnuplot figure.gp` in dir.
 *
 * gnuplot runs with dir as its working directory (fork, chdir, execv; no
 * shell), so the script names only fixed relative files and no path ever has
 * to be quoted for gnuplot or a shell, whatever characters dir contains. */
#define _GNU_SOURCE     /* pipe2, memmem */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ibcheck/report.h"

/* ------------------------------------------------------------------ CSV */

typedef struct {
    long nrows, ncols;
    double *v;          /* nrows x ncols, row-major; NaN where the file says nan */
    long *line;         /* file line of each row, for error messages */
} table;

static void table_free(table *t)
{
    free(t->v);
    free(t->line);
    t->v = NULL;
    t->line = NULL;
    t->nrows = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

/* path as shown in an error line: its end when too long, since the end names
 * the file. */
static const char *shown(const char *path, char *buf, size_t n)
{
    size_t len = strlen(path);
    if (len < n)
        return path;
    snprintf(buf, n, "...%s", path + len - (n - 4));
    return buf;
}

/* Reads dir/name, whose header must be exactly cols[0..ncols-1].  Every data
 * field must be a number (strtod syntax, so "nan" is accepted). */
static int table_read(table *t, const char *dir, const char *name, const char *const *cols, long ncols,
                      const char *cols_text, char *err)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    size_t plen = strlen(dir) + strlen(name) + 2;
    char *path = malloc(plen);
    if (!path) {
        snprintf(err, IBC_ERRLEN, "%s: out of memory", name);
        return IBC_EIO;
    }
    snprintf(path, plen, "%s/%s", dir, name);
    char sbuf[120];
    const char *sp = shown(path, sbuf, sizeof sbuf);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, IBC_ERRLEN, "%s: cannot open: %s", sp, strerror(errno));
        free(path);
        return IBC_EIO;
    }
    char *buf = NULL;
    size_t cap = 0;
    long lineno = 0, rowcap = 0;
    int st = IBC_OK, have_header = 0;
    while (getline(&buf, &cap, f) >= 0) {
        lineno++;
        char *s = buf;
        if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
            s += 3;     /* a UTF-8 byte order mark, as some spreadsheets write */
        if (blank(s))
            continue;
        long k = 0;
        if (!have_header) {
            have_header = 1;
            char *tok = s, *next;
            for (;; tok = next + 1) {
                next = strchr(tok, ',');
                if (next)
                    *next = '\0';
                char *field = trim(tok);
                if (k >= ncols || strcmp(field, cols[k]) != 0) {
                    snprintf(err, IBC_ERRLEN, "%s: line %ld: header column %ld is '%.20s', need the header %.80s",
                             path, lineno, k + 1, field, cols_text);
                    st = IBC_EIO;
                    break;
                }
                k++;
                if (!next)
                    break;
            }
            if (st == IBC_OK && k != ncols) {
                snprintf(err, IBC_ERRLEN, "%s: line %ld: header has %ld columns, need the header %.80s",
                         path, lineno, k, cols_text);
                st = IBC_EIO;
            }
            if (st != IBC_OK)
                break;
            continue;
        }
        if (t->nrows == rowcap) {
            long nc = rowcap ? 2 * rowcap : 64;
            double *v = realloc(t->v, (size_t)nc * (size_t)ncols * sizeof *v);
            if (v)
                t->v = v;
            long *ln = v ? realloc(t->line, (size_t)nc * sizeof *ln) : NULL;
            if (ln)
                t->line = ln;
            if (!v || !ln) {
                snprintf(err, IBC_ERRLEN, "%s: out of memory", sp);
                st = IBC_EIO;
                break;
            }
            rowcap = nc;
        }
        double *row = t->v + t->nrows * ncols;
        char *tok = s, *next;
        for (;; tok = next + 1) {
            next = strchr(tok, ',');
            if (next)
                *next = '\0';
            char *field = trim(tok);
            if (k >= ncols) {
                snprintf(err, IBC_ERRLEN, "%s: line %ld: more than %ld fields", sp, lineno, ncols);
                st = IBC_EIO;
                break;
            }
            char *end;
            errno = 0;
            double x = strtod(field, &end);
            if (*field == '\0' || *end != '\0') {
                snprintf(err, IBC_ERRLEN, "%s: line %ld: %s = '%.40s' is not a number (nan allowed)",
                         path, lineno, cols[k], field);
                st = IBC_EIO;
                break;
            }
            row[k++] = isinf(x) ? NAN : x;     /* overflow or "inf": no usable value */
            if (!next)
                break;
        }
        if (st != IBC_OK)
            break;
        if (k != ncols) {
            snprintf(err, IBC_ERRLEN, "%s: line %ld: %ld fields, need %ld", sp, lineno, k, ncols);
            st = IBC_EIO;
            break;
        }
        t->line[t->nrows++] = lineno;
    }
    if (st == IBC_OK && ferror(f)) {
        snprintf(err, IBC_ERRLEN, "%s: read error: %s", sp, strerror(errno));
        st = IBC_EIO;
    }
    if (st == IBC_OK && !have_header) {
        snprintf(err, IBC_ERRLEN, "%s: empty file, need the header %.80s", sp, cols_text);
        st = IBC_EIO;
    }
    free(buf);
    fclose(f);
    free(path);
    if (st != IBC_OK)
        table_free(t);
    return st;
}

static double cell(const table *t, long r, long c)
{
    return t->v[r * t->ncols + c];
}

/* Column c of every row must be finite (a key, not a measurement); when
 * pvalue, it must be 1 or 3 (the two activations of the figure). */
static int check_key(const table *t, const char *dir, const char *name, long c, const char *col, int pvalue,
                     double min, char *err)
{
    for (long r = 0; r < t->nrows; r++) {
        double x = cell(t, r, c);
        int ok = pvalue ? (x == 1 || x == 3) : (isfinite(x) && x >= min);
        if (!ok) {
            char path[4096], sbuf[160];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            snprintf(err, IBC_ERRLEN, "%s: line %ld: %s = %g is out of range: need %s", shown(path, sbuf, sizeof sbuf),
                     t->line[r], col, x, pvalue ? "1 or 3" : min > 0 ? "a finite number >= 1" : "a finite number >= 0");
            return IBC_EIO;
        }
    }
    return IBC_OK;
}

/* ------------------------------------------------------------- gnuplot */

/* The first executable regular file named gnuplot along PATH, made absolute
 * (the child changes directory before exec), or NULL. */
static char *find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";     /* execvp's default when PATH is unset */
    char cwd[4096];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    const char *p = path;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        int relative = n == 0 || p[0] != '/';
        if (!relative || have_cwd) {
            size_t len = (relative ? strlen(cwd) + 1 : 0) + n + sizeof "/gnuplot";
            char *cand = malloc(len);
            if (!cand)
                return NULL;
            if (relative)
                snprintf(cand, len, "%s/%.*s%sgnuplot", cwd, (int)n, p, n ? "/" : "");
            else
                snprintf(cand, len, "%.*s/gnuplot", (int)n, p);
            struct stat sb;
            if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        if (!colon)
            return NULL;
        p = colon + 1;
    }
}

/* The line of gnuplot's stderr that says what went wrong: its
 * '"figure.gp" line N: ...' line when there is one, else the first line
 * with text that is not a caret marker or a warning. */
static void first_error_line(const char *text, char *out, size_t outlen)
{
    const char *best = NULL, *first = NULL;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *q = s;
        while (q < s + n && (*q == ' ' || *q == '\t' || *q == '^'))
            q++;
        if (q < s + n && !memmem(s, n, "warning:", 8)) {
            if (!first)
                first = s;
            if (!best && strncmp(s, "\"figure.gp\" line", 16) == 0)
                best = s;
        }
        if (!e)
            break;
        s = e + 1;
    }
    const char *pick = best ? best : first;
    if (!pick) {
        out[0] = '\0';
        return;
    }
    size_t n = strcspn(pick, "\r\n");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, pick, n);
    out[n] = '\0';
}

/* Runs `gnuplot -e "suffix='SUFFIX'" figure.gp` in dir.  Returns IBC_OK when
 * it exited 0; otherwise IBC_EIO with gnuplot's error line in err. */
static int run_gnuplot(const char *gp, const char *dir, const char *suffix, char *err)
{
    char assign[64];
    snprintf(assign, sizeof assign, "suffix='%s'", suffix);   /* suffix is ".tmp.<digits>" */
    char *const argv[] = {(char *)"gnuplot", (char *)"-e", assign, (char *)"figure.gp", NULL};
    int pfd[2];
    /* close-on-exec from the start: a gnuplot started by another thread
     * must not inherit this pipe, or our read would never see EOF. */
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(err, IBC_ERRLEN, "cannot create a pipe for gnuplot: %s", strerror(errno));
        return IBC_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, IBC_ERRLEN, "cannot start gnuplot: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return IBC_EIO;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        if (chdir(dir) != 0) {
            static const char msg[] = "cannot enter the output directory\n";
            ssize_t w = write(2, msg, sizeof msg - 1);
            (void)w;
            _exit(126);
        }
        execv(gp, argv);
        static const char msg[] = "cannot execute gnuplot\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    /* Drain stderr before waiting, so gnuplot never blocks on a full pipe;
     * only the start is kept (the first error is all err can hold). */
    char text[8192];
    size_t len = 0;
    for (;;) {
        char chunk[4096];
        ssize_t n = read(pfd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n;
        if (take > sizeof text - 1 - len)
            take = sizeof text - 1 - len;
        memcpy(text + len, chunk, take);
        len += take;
    }
    text[len] = '\0';
    close(pfd[0]);
    int status;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w < 0) {
        snprintf(err, IBC_ERRLEN, "cannot wait for gnuplot: %s", strerror(errno));
        return IBC_EIO;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return IBC_OK;
    char line[200], dbuf[80];
    const char *ds = shown(dir, dbuf, sizeof dbuf);
    first_error_line(text, line, sizeof line);
    if (WIFSIGNALED(status))
        snprintf(err, IBC_ERRLEN, "%s/figure.gp: gnuplot killed by signal %d%s%s", ds,
                 WTERMSIG(status), line[0] ? ": " : "", line);
    else
        snprintf(err, IBC_ERRLEN, "%s/figure.gp: gnuplot exited with status %d%s%s", ds,
                 WEXITSTATUS(status), line[0] ? ": " : "", line);
    return IBC_EIO;
}

/* ------------------------------------------------------------- figure */

typedef struct {
    long K;
    table dist, contrib, cos[2], robust;
    table robust_ci;    /* optional (robust_ci.csv): 95% Clopper-Pearson bounds */
} figure_data;

static const int pvals[2] = {1, 3};

static void put_num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("NaN", f);
}

typedef struct { double key, a, b, c; } quad;

static int quad_cmp(const void *x, const void *y)
{
    double a = ((const quad *)x)->key, b = ((const quad *)y)->key;
    return (a > b) - (a < b);
}

/* Rows of t with column 0 = p, as (key column, then up to three columns),
 * sorted by key.  Returns the count (0 also on allocation failure, which
 * only costs the series). */
static long select_sorted(const table *t, int p, long key, long ca, long cb, long cc, quad **out)
{
    quad *q = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *q);
    long n = 0;
    if (q)
        for (long r = 0; r < t->nrows; r++)
            if (cell(t, r, 0) == p)
                q[n++] = (quad){cell(t, r, key), ca >= 0 ? cell(t, r, ca) : NAN, cb >= 0 ? cell(t, r, cb) : NAN,
                                cc >= 0 ? cell(t, r, cc) : NAN};
    if (q)
        qsort(q, (size_t)n, sizeof *q, quad_cmp);
    *out = q;
    return n;
}

/* What each data block holds, so that the plot commands name only blocks
 * with something to draw (gnuplot fails on an empty plot). */
typedef struct {
    long dist[2], contrib[2], cos_rows[2], cos_nan[2], robust[2], attack[2], cert[2], band[2], ci[2];
    double eps_max, rank_max;
} figure_counts;

/* Writes the data blocks of the script and fills the counts. */
static void write_blocks(FILE *f, const figure_data *d, figure_counts *n)
{
    memset(n, 0, sizeof *n);
    for (int i = 0; i < 2; i++) {
        int p = pvals[i];
        quad *q;
        /* (a) mean, min, max of dist over the repeats of each sigma.  Only
         * positive values: the axis is logarithmic. */
        long m = select_sorted(&d->dist, p, 1, 3, -1, -1, &q);
        fprintf(f, "# sigma, then mean, min and max of dist(f_%d, F^(%d)) over the repeats (distance.csv)\n", p, p);
        fprintf(f, "$dist%d << EOD\n", p);
        for (long r = 0; r < m;) {
            long s = r;
            double sum = 0, lo = INFINITY, hi = -INFINITY;
            long cnt = 0;
            for (; r < m && q[r].key == q[s].key; r++)
                if (isfinite(q[r].a) && q[r].a > 0) {
                    sum += q[r].a;
                    lo = fmin(lo, q[r].a);
                    hi = fmax(hi, q[r].a);
                    cnt++;
                }
            if (cnt) {
                put_num(f, q[s].key), fputc(' ', f), put_num(f, sum / (double)cnt), fputc(' ', f);
                put_num(f, lo), fputc(' ', f), put_num(f, hi), fputc('\n', f);
                n->dist[i]++;
            }
        }
        fputs("EOD\n\n", f);
        free(q);

        m = select_sorted(&d->contrib, p, 1, 2, -1, -1, &q);
        fprintf(f, "# rank, contribution |v_j| ||w_j|| of the p = %d network (contrib.csv)\n$contrib%d << EOD\n", p, p);
        for (long r = 0; r < m; r++) {
            put_num(f, q[r].key), fputc(' ', f);
            put_num(f, q[r].a > 0 ? q[r].a : NAN), fputc('\n', f);
            n->contrib[i] += isfinite(q[r].a) && q[r].a > 0;
            n->rank_max = fmax(n->rank_max, q[r].key);
        }
        fputs("EOD\n\n", f);
        free(q);

        const table *c = &d->cos[i];
        fprintf(f, "# cosines of the dominant neurons (rows, rank order) with mu+, mu-, mu_1..mu_%ld (cos_p%d.csv)\n",
                d->K, p);
        fprintf(f, "$cos%d << EOD\n", p);
        for (long r = 0; r < c->nrows; r++) {
            for (long k = 1; k < c->ncols; k++) {
                put_num(f, cell(c, r, k));
                n->cos_nan[i] += !isfinite(cell(c, r, k));
                fputc(k + 1 < c->ncols ? ' ' : '\n', f);
            }
        }
        fputs("EOD\n\n", f);
        n->cos_rows[i] = c->nrows;

        m = select_sorted(&d->robust, p, 1, 2, 3, 4, &q);
        fprintf(f, "# eps, robust accuracy under PGD, best attack (upper bound), certified (lower bound) (robust.csv)\n");
        fprintf(f, "$robust%d << EOD\n", p);
        for (long r = 0; r < m; r++) {
            put_num(f, q[r].key), fputc(' ', f), put_num(f, q[r].a), fputc(' ', f);
            put_num(f, q[r].b), fputc(' ', f), put_num(f, q[r].c), fputc('\n', f);
            n->robust[i] += isfinite(q[r].a);
            n->attack[i] += isfinite(q[r].b);
            n->cert[i] += isfinite(q[r].c);
            if (isfinite(q[r].a) || isfinite(q[r].b) || isfinite(q[r].c))
                n->eps_max = fmax(n->eps_max, q[r].key);
        }
        fputs("EOD\n", f);
        /* A separate block for the bracket, since filledcurves has no
         * notion of a gap. */
        fprintf(f, "# eps, certified, attack where both are known\n$band%d << EOD\n", p);
        for (long r = 0; r < m; r++)
            if (isfinite(q[r].b) && isfinite(q[r].c)) {
                put_num(f, q[r].key), fputc(' ', f), put_num(f, q[r].c), fputc(' ', f);
                put_num(f, q[r].b), fputc('\n', f);
                n->band[i]++;
            }
        fputs("EOD\n\n", f);
        free(q);

        /* The 95% Clopper-Pearson band around the bracket: from the lower
         * bound of the certified accuracy to the upper bound of the attack
         * accuracy (robust_ci.csv columns eps 3, attack_hi 10, cert_lo 12),
         * the union over the cells (repeats) that have a curve. */
        m = select_sorted(&d->robust_ci, p, 3, 12, 10, -1, &q);
        fprintf(f, "# eps, 95%% CP lower bound of certified, upper bound of attack accuracy (robust_ci.csv)\n"
                   "$ci%d << EOD\n", p);
        for (long r = 0, s2; r < m; r = s2) {
            double lo = INFINITY, hi = -INFINITY;
            for (s2 = r; s2 < m && q[s2].key == q[r].key; s2++) {
                lo = fmin(lo, q[s2].a);
                hi = fmax(hi, q[s2].b);
            }
            if (isfinite(lo) && isfinite(hi)) {
                put_num(f, q[r].key), fputc(' ', f), put_num(f, lo), fputc(' ', f), put_num(f, hi), fputc('\n', f);
                n->ci[i]++;
            }
        }
        fputs("EOD\n\n", f);
        free(q);
    }
}

/* Starts a plot command; each later element is preceded by ", \". */
static void plot_item(FILE *f, int *first, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void plot_item(FILE *f, int *first, const char *fmt, ...)
{
    fputs(*first ? "  plot " : ", \\\n       ", f);
    *first = 0;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

/* Ends a panel: its plot command, or an empty frame saying what is missing. */
static void plot_end(FILE *f, int first, const char *missing)
{
    if (first)
        fprintf(f, "  unset logscale\n  unset key\n  unset tics\n  unset label\n  unset arrow\n  unset xlabel\n"
                   "  unset ylabel\n  set border 0\n"
                   "  set label 99 \"no data in %s\" noenhanced at graph 0.5, graph 0.5 center\n"
                   "  plot [0:1] [0:1] NaN notitle\n", missing);
    else
        fputc('\n', f);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Panel (a)'s alpha axis.  Autoscaled tics around a single sigma (or a few)
 * come out as ten nearly equal labels that run together: with up to 8
 * distinct sigmas, one labelled tic at each ("%.3g"), and with one sigma a
 * range of +-50% around it; with more, automatic tics in "%.3g". */
static void sigma_tics(FILE *f, const table *dist)
{
    double *v = malloc(sizeof(double) * (size_t)(dist->nrows > 0 ? dist->nrows : 1));
    long m = 0;
    for (long r = 0; v && r < dist->nrows; r++)
        if (isfinite(cell(dist, r, 1)))
            v[m++] = cell(dist, r, 1);
    if (v)
        qsort(v, (size_t)m, sizeof *v, cmp_double);
    long u = 0;
    for (long r = 0; r < m; r++)
        if (u == 0 || v[r] != v[u - 1])
            v[u++] = v[r];
    fputs("  set format x \"%.3g\"\n", f);
    if (u >= 1 && u <= 8) {
        fputs("  set xtics (", f);
        for (long k = 0; k < u; k++)
            fprintf(f, "%s\"%.3g\" %.17g", k ? ", " : "", v[k], v[k]);
        fputs(")\n", f);
        if (u == 1)
            fprintf(f, "  set xrange [%.17g:%.17g]\n", v[0] != 0 ? 0.5 * v[0] : -1.0, v[0] != 0 ? 1.5 * v[0] : 1.0);
    }
    free(v);
}

static const char *const pname[2] = {"ReLU, p = 1", "pReLU, p = 3"};

static void write_panels(FILE *f, const figure_data *d, const figure_counts *n)
{
    int first;
    /* Top row: the three curve panels; bottom row: the two heatmaps. */
    fputs("  # ---- (a) distance to the ideal classifier against alpha ----\n"
          "  reset\n  set origin 0, 0.5\n  set size 0.3, 0.5\n"
          "  set title \"(a) distance to the ideal classifier\" font \",16\"\n"
          "  set xlabel \"α  (sigma of the config)\"\n"
          "  set ylabel \"dist(f_p, F^{(p)})  (log)\"\n"
          "  set logscale y\n  set format y \"10^{%L}\"\n  set grid\n"
          "  set key below box opaque samplen 2\n  set bmargin 6.5\n"
          "  set offsets graph 0.05, graph 0.05, 0, 0\n"
          "  set style fill transparent solid 0.2 noborder\n", f);
    sigma_tics(f, &d->dist);
    first = 1;
    for (int i = 0; i < 2; i++)
        if (n->dist[i]) {
            plot_item(f, &first, "$dist%d using 1:3:4 with filledcurves lc rgb C%d notitle", pvals[i], pvals[i]);
            plot_item(f, &first, "$dist%d using 1:2 with linespoints lc rgb C%d lw 2 pt 7 title \"%s (mean, min-max band)\"",
                      pvals[i], pvals[i], pname[i]);
        }
    plot_end(f, first, "distance.csv");

    /* Past about a hundred neurons the markers merge into a band and the
     * few dominant ranks crowd the left edge: lines on a log rank axis. */
    int many = n->rank_max > 100;
    fprintf(f, "\n  # ---- (b) sorted neuron contributions ----\n"
               "  reset\n  set origin 0.3, 0.5\n  set size 0.3, 0.5\n"
               "  set title \"(b) sorted neuron contributions\" font \",16\"\n"
               "  set xlabel \"rank j%s\"\n"
               "  set ylabel \"|v_j| ||w_j||  (log)\"\n"
               "  set logscale y\n  set format y \"10^{%%L}\"\n  set grid\n%s"
               "  set key top right box opaque samplen 2\n",
            many ? "  (log)" : "", many ? "  set logscale x\n  set autoscale xfix\n" : "");
    first = 1;
    for (int i = 0; i < 2; i++)
        if (n->contrib[i])
            plot_item(f, &first, "$contrib%d using 1:2 with %s lc rgb C%d lw 2 title \"%s\"", pvals[i],
                      many ? "lines" : "linespoints pt 7 ps 0.6", pvals[i], pname[i]);
    plot_end(f, first, "contrib.csv");

    double xmax = fmax(n->eps_max, 0.8);
    xmax = fmax(xmax, 1.05 / sqrt((double)d->K));
    /* (e) is wider and keeps its legend outside the frame: where the
     * curves fall depends on the run, so no inside corner is safe. */
    fprintf(f, "\n  # ---- (e) robust accuracy against the l2 radius ----\n"
               "  reset\n  set origin 0.6, 0.5\n  set size 0.4, 0.5\n"
               "  set title \"(e) ℓ_2 robust accuracy\" font \",16\"\n"
               "  set xlabel \"radius ε\"\n  set ylabel \"robust accuracy\"\n"
               "  set xrange [0:%.17g]\n  set yrange [0:1.05]\n  set grid\n"
               "  set key outside right top Left reverse samplen 2.5 spacing 1.2 font \",12\"\n"
               "  set style fill transparent solid 0.15 noborder\n"
               "  set arrow 1 from first 1/sqrt(K), graph 0 to first 1/sqrt(K), graph 1 nohead dt 2 lw 1.5 lc rgb \"gray40\" front\n"
               "  set label 1 \"1/√K\" at first 1/sqrt(K), graph 1 center offset 0, 0.6 textcolor rgb \"gray30\" front\n"
               "  set arrow 2 from first sqrt(2)/2, graph 0 to first sqrt(2)/2, graph 1 nohead dt 2 lw 1.5 lc rgb \"gray40\" front\n"
               "  set label 2 \"√2/2\" at first sqrt(2)/2, graph 1 center offset 0, 0.6 textcolor rgb \"gray30\" front\n",
            xmax);
    /* One legend entry per activation (its PGD curve) and one per line
     * style, rather than every combination. */
    first = 1;
    int any_attack = 0, any_cert = 0, any_band = 0, any_ci = 0;
    for (int i = 0; i < 2; i++) {
        int p = pvals[i];
        /* the CP band only around a curve that is drawn */
        if (n->ci[i] && (n->robust[i] || n->attack[i] || n->cert[i]))
            plot_item(f, &first, "$ci%d using 1:2:3 with filledcurves lc rgb C%d fs transparent solid 0.07 notitle", p,
                      p);
        if (n->band[i])
            plot_item(f, &first, "$band%d using 1:2:3 with filledcurves lc rgb C%d notitle", p, p);
        if (n->robust[i])
            plot_item(f, &first, "$robust%d using 1:2 with linespoints lc rgb C%d lw 2 pt 7 title \"%s: PGD\"", p, p,
                      pname[i]);
        if (n->attack[i])
            plot_item(f, &first, "$robust%d using 1:3 with linespoints lc rgb C%d lw 1.5 dt 2 pt 6 ps 0.8 notitle", p,
                      p);
        if (n->cert[i])
            plot_item(f, &first, "$robust%d using 1:4 with linespoints lc rgb C%d lw 1.5 dt 3 pt 4 ps 0.8 notitle", p,
                      p);
        any_attack |= n->attack[i] > 0;
        any_cert |= n->cert[i] > 0;
        any_band |= n->band[i] > 0;
        any_ci |= n->ci[i] > 0 && (n->robust[i] || n->attack[i] || n->cert[i]);
    }
    if (any_attack)
        plot_item(f, &first, "keyentry with linespoints lc rgb \"gray30\" lw 1.5 dt 2 pt 6 ps 0.8 "
                             "title \"best attack (upper)\"");
    if (any_cert)
        plot_item(f, &first, "keyentry with linespoints lc rgb \"gray30\" lw 1.5 dt 3 pt 4 ps 0.8 "
                             "title \"certified (lower)\"");
    if (any_band)
        plot_item(f, &first, "keyentry with filledcurves lc rgb \"gray50\" title \"bracket\"");
    if (any_ci)
        plot_item(f, &first, "keyentry with filledcurves lc rgb \"gray50\" fs transparent solid 0.07 "
                             "title \"95%% CP band\"");
    plot_end(f, first, "robust.csv");

    /* The heatmaps: boxes rather than `with image`, which needs a grid of at
     * least 2 x 2 and draws nothing for a single dominant neuron. */
    long m = d->K + 2;
    long step = d->K <= 20 ? 1 : (d->K + 19) / 20;
    for (int i = 0; i < 2; i++) {
        int p = pvals[i];
        long rows = n->cos_rows[i];
        fprintf(f, "\n  # ---- (%c) cosines of the dominant neurons, p = %d ----\n"
                   "  reset\n  set origin %g, 0\n  set size 0.5, 0.5\n"
                   "  set title \"(%c) cos(w_j, μ) of the dominant neurons, %s\" font \",16\"\n"
                   "  set xlabel \"μ_+, μ_{−} (sums of the class centers), then the centers μ_k\"\n  set ylabel \"neuron (rank)\"\n"
                   "  set palette defined (-1 \"#2166ac\", -0.5 \"#92c5de\", 0 \"#f7f7f7\", 0.5 \"#f4a582\", 1 \"#b2182b\")\n"
                   "  set cbrange [-1:1]\n  set cbtics 0.5\n"
                   "  set xrange [-0.5:%ld.5]\n  set yrange [%ld.5:0.5]\n"
                   "  set tics nomirror\n  set border 3\n",
                i ? 'd' : 'c', p, i * 0.5, i ? 'd' : 'c', pname[i], m - 1, rows > 0 ? rows : 1);
        fputs("  set xtics (\"μ_+\" 0, \"μ_{−}\" 1", f);
        for (long k = 1; k <= d->K; k += step)
            fprintf(f, ", \"%ld\" %ld", k, k + 1);
        fprintf(f, ")%s\n", d->K > 20 ? " font \",10\"" : "");
        fprintf(f, "  set ytics %s\n", rows <= 25 ? "1" : "autofreq");
        first = 1;
        /* Half-widths a little over 0.5: abutting boxes leave antialiasing
         * seams. */
        if (rows)
            plot_item(f, &first, "$cos%d matrix using 1:($2+1):(0.51):(0.51):3 with boxxyerror fs solid 1 noborder "
                                 "lc palette notitle", p);
        /* Cells without a value (nan in the CSV) in gray: gnuplot would
         * paint them as the palette's middle, which reads as cos = 0. */
        if (n->cos_nan[i])
            plot_item(f, &first, "$cos%d matrix using 1:($3 == $3 ? NaN : $2+1):(0.5):(0.5) with boxxyerror "
                                 "fs solid 1 noborder lc rgb \"gray60\" notitle", p);
        char missing[32];
        snprintf(missing, sizeof missing, "cos_p%d.csv", p);
        plot_end(f, first, missing);
    }
}

static int write_script(FILE *f, void *ctx)
{
    const figure_data *d = ctx;
    fputs("# The five-panel figure of MV24 §5.1, written by ibcheck (ibc_report_plot_repro) from\n"
          "# the CSV files beside it, whose numbers are copied into the data blocks below.\n"
          "# Restyle freely, then run `gnuplot figure.gp` in this directory: it writes\n"
          "# figure.png and figure.svg (ibcheck passes -e \"suffix='...'\" to write\n"
          "# temporaries that it renames into place).\n"
          "set encoding utf8\n"
          "if (!exists(\"suffix\")) suffix = \"\"\n", f);
    fprintf(f, "K = %ld\nC1 = \"#1f77b4\"\nC3 = \"#d62728\"\n\n", d->K);
    figure_counts n;
    write_blocks(f, d, &n);
    fputs("do for [fmt in \"png svg\"] {\n"
          "  if (fmt eq \"png\") {\n"
          "    set terminal pngcairo size 1800,1000 enhanced font \"Sans,13\"\n"
          "    set output \"figure.png\".suffix\n"
          "  } else {\n"
          "    set terminal svg size 1800,1000 enhanced font \"Sans,13\" background \"white\"\n"
          "    set output \"figure.svg\".suffix\n"
          "  }\n"
          "  set multiplot\n", f);
    write_panels(f, d, &n);
    fputs("  unset multiplot\n  set output\n}\n", f);
    return ferror(f) ? -1 : 0;
}

static void figure_free(figure_data *d)
{
    table_free(&d->dist);
    table_free(&d->contrib);
    table_free(&d->cos[0]);
    table_free(&d->cos[1]);
    table_free(&d->robust);
    table_free(&d->robust_ci);
}

static int figure_read(figure_data *d, const char *dir, char *err)
{
    static const char *const dist_cols[] = {"p", "sigma", "repeat", "dist", "c"};
    static const char *const contrib_cols[] = {"p", "rank", "contribution"};
    static const char *const robust_cols[] = {"p", "eps", "pgd", "attack", "cert"};
    int st = table_read(&d->dist, dir, "distance.csv", dist_cols, 5, "p,sigma,repeat,dist,c", err);
    if (st == IBC_OK)
        st = table_read(&d->contrib, dir, "contrib.csv", contrib_cols, 3, "p,rank,contribution", err);
    if (st == IBC_OK)
        st = table_read(&d->robust, dir, "robust.csv", robust_cols, 5, "p,eps,pgd,attack,cert", err);
    /* robust_ci.csv is optional: result directories written before it
     * existed still plot, without the band. */
    static const char *const ci_cols[] = {"p", "sigma_index", "repeat", "eps", "points", "pgd", "pgd_lo",
                                          "pgd_hi", "attack", "attack_lo", "attack_hi", "cert", "cert_lo", "cert_hi"};
    char cipath[4200];
    snprintf(cipath, sizeof cipath, "%s/robust_ci.csv", dir);
    if (st == IBC_OK && access(cipath, F_OK) == 0)
        st = table_read(&d->robust_ci, dir, "robust_ci.csv", ci_cols, 14,
                        "p,sigma_index,repeat,eps,points,pgd,pgd_lo,pgd_hi,attack,attack_lo,attack_hi,cert,cert_lo,cert_hi",
                        err);
    if (st == IBC_OK && d->robust_ci.nrows > 0)
        st = check_key(&d->robust_ci, dir, "robust_ci.csv", 0, "p", 1, 0, err);
    if (st == IBC_OK)
        st = check_key(&d->dist, dir, "distance.csv", 0, "p", 1, 0, err);
    if (st == IBC_OK)
        st = check_key(&d->dist, dir, "distance.csv", 1, "sigma", 0, 0, err);
    if (st == IBC_OK)
        st = check_key(&d->contrib, dir, "contrib.csv", 0, "p", 1, 0, err);
    if (st == IBC_OK)
        st = check_key(&d->contrib, dir, "contrib.csv", 1, "rank", 0, 1, err);
    if (st == IBC_OK)
        st = check_key(&d->robust, dir, "robust.csv", 0, "p", 1, 0, err);
    if (st == IBC_OK)
        st = check_key(&d->robust, dir, "robust.csv", 1, "eps", 0, 0, err);
    if (st != IBC_OK)
        return st;

    long nc = d->K + 3;
    char **cols = calloc((size_t)nc, sizeof *cols);
    char *text = malloc(64);
    if (!cols || !text) {
        free(cols);
        free(text);
        snprintf(err, IBC_ERRLEN, "out of memory");
        return IBC_EIO;
    }
    snprintf(text, 64, "neuron,mu+,mu-,mu_1,...,mu_%ld", d->K);
    cols[0] = "neuron";
    cols[1] = "mu+";
    cols[2] = "mu-";
    for (long k = 1; k <= d->K && st == IBC_OK; k++) {
        cols[k + 2] = malloc(24);
        if (!cols[k + 2]) {
            snprintf(err, IBC_ERRLEN, "out of memory");
            st = IBC_EIO;
        } else
            snprintf(cols[k + 2], 24, "mu_%ld", k);
    }
    for (int i = 0; i < 2 && st == IBC_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "cos_p%d.csv", pvals[i]);
        st = table_read(&d->cos[i], dir, name, (const char *const *)cols, nc, text, err);
    }
    for (long k = 3; k < nc; k++)
        free(cols[k]);
    free(cols);
    free(text);
    return st;
}

static int nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

int ibc_report_plot_repro(const char *dir, long K, char *err)
{
    if (!dir || !*dir) {
        snprintf(err, IBC_ERRLEN, "plot directory is empty: need the directory of a reproduce run");
        return IBC_EINPUT;
    }
    if (K < 2 || K > 100000) {
        snprintf(err, IBC_ERRLEN, "K = %ld is out of range: need 2 <= K <= 100000", K);
        return IBC_EINPUT;
    }
    char dbuf[160];
    const char *ds = shown(dir, dbuf, sizeof dbuf);
    char *gp = find_gnuplot();
    if (!gp) {
        snprintf(err, IBC_ERRLEN,
                 "gnuplot not found: install gnuplot-nox to draw figure.png/svg (the numbers are in %s/*.csv)", ds);
        return IBC_ENOTOOL;
    }
    figure_data d;
    memset(&d, 0, sizeof d);
    d.K = K;
    int st = figure_read(&d, dir, err);

    size_t dl = strlen(dir);
    size_t cap = dl + 64;
    char *script = malloc(cap), *png = malloc(cap), *svg = malloc(cap), *png_tmp = malloc(cap),
         *svg_tmp = malloc(cap);
    if (st == IBC_OK && (!script || !png || !svg || !png_tmp || !svg_tmp)) {
        snprintf(err, IBC_ERRLEN, "out of memory");
        st = IBC_EIO;
    }
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
    int ran = 0;
    if (st == IBC_OK) {
        snprintf(script, cap, "%s/figure.gp", dir);
        snprintf(png, cap, "%s/figure.png", dir);
        snprintf(svg, cap, "%s/figure.svg", dir);
        snprintf(png_tmp, cap, "%s/figure.png%s", dir, suffix);
        snprintf(svg_tmp, cap, "%s/figure.svg%s", dir, suffix);
        st = ibc_util_write_atomic(script, write_script, &d, err);
    }
    if (st == IBC_OK) {
        ran = 1;
        st = run_gnuplot(gp, dir, suffix, err);
    }
    if (st == IBC_OK && !(nonempty(png_tmp) && nonempty(svg_tmp))) {
        snprintf(err, IBC_ERRLEN, "%s/figure.gp: gnuplot exited 0 but left no figure (or an empty one)", ds);
        st = IBC_EIO;
    }
    if (st == IBC_OK && rename(png_tmp, png) != 0) {
        snprintf(err, IBC_ERRLEN, "%s/figure.png: cannot rename the temporary figure onto it: %s", ds, strerror(errno));
        st = IBC_EIO;
    }
    if (st == IBC_OK && rename(svg_tmp, svg) != 0) {
        snprintf(err, IBC_ERRLEN, "%s/figure.svg: cannot rename the temporary figure onto it: %s", ds, strerror(errno));
        st = IBC_EIO;
    }
    if (ran && st != IBC_OK) {
        unlink(png_tmp);
        unlink(svg_tmp);
    }
    free(script);
    free(png);
    free(svg);
    free(png_tmp);
    free(svg_tmp);
    free(gp);
    figure_free(&d);
    return st;
}
