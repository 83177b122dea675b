/* Unit test of the reproduce figure (ibc_report_plot_repro): synthetic summary CSVs
 * of the driver's shapes go in, and the outputs are read back independently:
 * the PNG signature and IHDR size, the SVG root element, the mean/min/max
 * data block of panel (a) against a mean computed here, atomicity (no
 * temporaries, an old figure kept on failure), and every error path (missing
 * or malformed CSV, gnuplot absent, gnuplot failing, a directory name with a
 * space and both quote characters). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ibcheck/repro.h"
#include "test_util.h"

#define NK 10
#define NSIG 3
#define NREP 2
#define H 50
#define NDOM 20
#define NEPS 7

static const double sigmas[NSIG] = {0.0, 0.15, 0.3};

/* dist of cell (p, sigma index, repeat): the paper's orders of magnitude. */
static double dist_of(int p, int s, int r)
{
    return p == 1 ? (0.03 + 0.2 * sigmas[s]) * (1 + 0.1 * r) : 1e-5 * (1 + 0.5 * sigmas[s]) * (1 + 0.2 * r);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static double ci_lo(int p, int e) { return 0.1 + 0.01 * e + 0.001 * p; }
static double ci_hi(int p, int e) { return 0.7 + 0.01 * e + 0.001 * p; }

static void write_csvs(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/distance.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs("p,sigma,repeat,dist,c\n", f);
    for (int p = 1; p <= 3; p += 2)
        for (int s = 0; s < NSIG; s++)
            for (int r = 0; r < NREP; r++)
                fprintf(f, "%d,%.17g,%d,%.17g,%s\n", p, sigmas[s], r, dist_of(p, s, r), r ? "nan" : "0.5");
    fclose(f);

    snprintf(path, sizeof path, "%s/contrib.csv", dir);
    f = fopen(path, "w");
    fputs("p,rank,contribution\n", f);
    for (int p = 1; p <= 3; p += 2)
        for (int j = 1; j <= H; j++)
            fprintf(f, "%d,%d,%.17g\n", p, j, j <= NK ? 1.0 / (1 + 0.05 * j) : pow(p == 1 ? 0.5 : 0.1, j - NK));
    fclose(f);

    for (int p = 1; p <= 3; p += 2) {
        snprintf(path, sizeof path, "%s/cos_p%d.csv", dir, p);
        f = fopen(path, "w");
        fputs("neuron,mu+,mu-", f);
        for (int k = 1; k <= NK; k++)
            fprintf(f, ",mu_%d", k);
        fputc('\n', f);
        /* Neuron j points at center j mod NK (p = 3) or at a class mean (p = 1). */
        for (int j = 0; j < NDOM; j++) {
            int k = j % NK;
            int pos = k < 6;
            fprintf(f, "%d,%.6f,%.6f", 3 * j + 1, p == 1 ? (pos ? 0.97 : -0.4) : (pos ? 0.4 : -0.3),
                    p == 1 ? (pos ? -0.4 : 0.97) : (pos ? -0.3 : 0.4));
            for (int l = 0; l < NK; l++) {
                double c = p == 3 ? (l == k ? 0.99 : -0.01) : ((l < 6) == pos ? 0.4 : -0.4);
                if (j == 5 && l == 2)
                    fputs(",nan", f);
                else
                    fprintf(f, ",%.6f", c);
            }
            fputc('\n', f);
        }
        fclose(f);
    }

    snprintf(path, sizeof path, "%s/robust.csv", dir);
    f = fopen(path, "w");
    fputs("p,eps,pgd,attack,cert\n", f);
    for (int p = 1; p <= 3; p += 2)
        for (int e = 0; e < NEPS; e++) {
            double eps = 0.2 * e;
            double pgd = p == 1 ? fmax(0, 1 - eps / 0.4) : (eps < 0.7 ? 1 - 0.2 * eps : 0.1);
            double atk = p == 1 ? fmax(0, 1 - eps / 0.35) : (eps < 0.7 ? 0.95 - 0.2 * eps : 0);
            double cert = p == 1 ? fmax(0, 1 - eps / 0.3) : fmax(0, 0.9 - eps);
            fprintf(f, "%d,%.17g,%.17g,", p, eps, pgd);
            if (e == 3)
                fputs("nan,", f);
            else
                fprintf(f, "%.17g,", atk);
            if (e >= 5)
                fputs("nan\n", f);
            else
                fprintf(f, "%.17g\n", cert);
        }
    fclose(f);

    /* Two repeats per p with different CP bounds: the figure's band is the
     * union, min cert_lo and max attack_hi at each eps (ci_lo/ci_hi here). */
    snprintf(path, sizeof path, "%s/robust_ci.csv", dir);
    f = fopen(path, "w");
    fputs("p,sigma_index,repeat,eps,points,pgd,pgd_lo,pgd_hi,attack,attack_lo,attack_hi,cert,cert_lo,cert_hi\n", f);
    for (int p = 1; p <= 3; p += 2)
        for (int r = 0; r < 2; r++)
            for (int e = 0; e < NEPS; e++)
                fprintf(f, "%d,0,%d,%.17g,200,0.5,0.4,0.6,0.5,0.4,%.17g,0.3,%.17g,0.4\n", p, r, 0.2 * e,
                        ci_hi(p, e) - 0.01 * r, ci_lo(p, e) + 0.01 * r);
    fclose(f);
}

static int exists(const char *dir, const char *name)
{
    char path[1024];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}

/* The number of entries whose name contains ".tmp.". */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = '\0';
    fclose(f);
    if (len)
        *len = got;
    return b;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Checks a successful figure in dir: PNG signature and IHDR size, SVG root,
 * no temporaries, and the panel (a) block against the mean computed here. */
static void check_figure(const char *label, const char *dir)
{
    char name[128];
    size_t len = 0;
    unsigned char *png = (unsigned char *)slurp(dir, "figure.png", &len);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int sig_ok = png && len > 24 && memcmp(png, sig, 8) == 0;
    snprintf(name, sizeof name, "%s: figure.png is a PNG", label);
    report(name, sig_ok, "%zu bytes", len);
    if (sig_ok) {
        /* IHDR width and height, big-endian at offsets 16 and 20. */
        unsigned long w = (unsigned long)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
        unsigned long h = (unsigned long)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
        snprintf(name, sizeof name, "%s: PNG size 1800 x 1000", label);
        report(name, w == 1800 && h == 1000, "%lu x %lu", w, h);
    }
    free(png);
    char *svg = slurp(dir, "figure.svg", &len);
    snprintf(name, sizeof name, "%s: figure.svg has an <svg element", label);
    report(name, svg && strstr(svg, "<svg") != NULL, "%zu bytes", svg ? len : 0);
    free(svg);
    snprintf(name, sizeof name, "%s: no temporaries left", label);
    int nt = count_tmp(dir);
    report(name, nt == 0, "%d *.tmp.* entries", nt);

    /* Panel (a) of p = 1 and p = 3: sigma, mean, min, max per sigma. */
    char *gp = slurp(dir, "figure.gp", NULL);
    for (int p = 1; p <= 3; p += 2) {
        char head[32];
        snprintf(head, sizeof head, "$dist%d << EOD\n", p);
        const char *s = gp ? strstr(gp, head) : NULL;
        double worst = s ? 0 : INFINITY;
        int rows = 0;
        if (s) {
            s += strlen(head);
            for (int i = 0; i < NSIG; i++) {
                double sg, mean, lo, hi;
                int used;
                if (sscanf(s, "%lf %lf %lf %lf\n%n", &sg, &mean, &lo, &hi, &used) != 4) {
                    worst = INFINITY;
                    break;
                }
                s += used;
                rows++;
                double sum = 0, emin = INFINITY, emax = -INFINITY;
                for (int r = 0; r < NREP; r++) {
                    double x = dist_of(p, i, r);
                    sum += x;
                    emin = fmin(emin, x);
                    emax = fmax(emax, x);
                }
                double e = fabs(sg - sigmas[i]) + fabs(mean - sum / NREP) / (sum / NREP) +
                           fabs(lo - emin) / emin + fabs(hi - emax) / emax;
                worst = fmax(worst, e);
            }
            if (strncmp(s, "EOD", 3) != 0)
                worst = INFINITY;
        }
        snprintf(name, sizeof name, "%s: (a) block p=%d = mean/min/max here", label, p);
        report(name, worst <= 1e-14, "%d rows, worst rel. error %.2e (tol 1e-14)", rows, worst);
    }
    /* The bracket block holds exactly the eps where attack and cert are both
     * known: e != 3 and e < 5 in write_csvs, so 4 rows per p. */
    const char *b = gp ? strstr(gp, "$band3 << EOD\n") : NULL;
    int nb = -1;
    if (b) {
        nb = 0;
        for (b = strchr(b, '\n') + 1; strncmp(b, "EOD", 3) != 0; b = strchr(b, '\n') + 1)
            nb++;
    }
    snprintf(name, sizeof name, "%s: band block = rows with attack and cert", label);
    report(name, nb == 4, "%d rows (4 expected from the CSV)", nb);
    /* The 95% CP band: one row per eps, the union over the two repeats. */
    const char *c = gp ? strstr(gp, "$ci3 << EOD\n") : NULL;
    int nc = 0, cbad = c ? 0 : 1;
    for (c = c ? strchr(c, '\n') + 1 : NULL; c && strncmp(c, "EOD", 3) != 0; c = strchr(c, '\n') + 1, nc++) {
        double eps, lo, hi;
        if (sscanf(c, "%lf %lf %lf", &eps, &lo, &hi) != 3 || lo != ci_lo(3, nc) || hi != ci_hi(3, nc) ||
            fabs(eps - 0.2 * nc) > 1e-15)
            cbad++;
    }
    snprintf(name, sizeof name, "%s: CP band block = min cert_lo, max attack_hi per eps", label);
    report(name, !cbad && nc == NEPS, "%d rows (%d expected), %d wrong", nc, NEPS, cbad);
    /* Up to 8 sigmas: one labelled alpha tic at each, never autoscaled tics
     * that run together. */
    snprintf(name, sizeof name, "%s: (a) has one alpha tic per sigma", label);
    const char *xt = gp ? strstr(gp, "set xtics (\"0\" 0, \"0.15\" 0.1") : NULL;
    const char *xe = xt ? strchr(xt, '\n') : NULL;
    report(name, xt && xe && strstr(xt, ", \"0.3\" 0.") && strstr(xt, ", \"0.3\" 0.") < xe && xe[-1] == ')', "%.60s",
           xt ? xt : "no explicit xtics");
    free(gp);
}

static char *make_dir(const char *base, const char *sub)
{
    char *d = malloc(1024);
    snprintf(d, 1024, "%s/%s", base, sub);
    if (mkdir(d, 0755) != 0) {
        perror(d);
        exit(2);
    }
    return d;
}

int main(void)
{
    char base[] = "/tmp/ibc_test_plot_XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 2;
    }
    char err[IBC_ERRLEN];
    const char *oldpath = getenv("PATH");
    char *saved_path = oldpath ? strdup(oldpath) : NULL;

    /* 1. A plain directory. */
    char path[1024];
    char *plain = make_dir(base, "plain");
    write_csvs(plain);
    err[0] = '\0';
    int st = ibc_report_plot_repro(plain, NK, err);
    report("plain dir: status", st == IBC_OK, "status %d %s", st, err);
    if (st == IBC_OK)
        check_figure("plain", plain);
    /* A second run replaces the figure (rename over an existing file). */
    st = ibc_report_plot_repro(plain, NK, err);
    report("plain dir, rerun over an existing figure", st == IBC_OK && count_tmp(plain) == 0, "status %d", st);

    /* The kept script is runnable by hand (no suffix): it redraws both
     * figures in place.  plain's path has no quote, so a shell line is safe. */
    if (st == IBC_OK) {
        snprintf(path, sizeof path, "%s/figure.png", plain);
        unlink(path);
        snprintf(path, sizeof path, "%s/figure.svg", plain);
        unlink(path);
        snprintf(path, sizeof path, "cd '%s' && gnuplot figure.gp 2>/dev/null", plain);
        int rc = system(path);
        report("figure.gp rerun by hand redraws figure.png/svg",
               rc == 0 && exists(plain, "figure.png") && exists(plain, "figure.svg") && count_tmp(plain) == 0,
               "system() = %d", rc);
    }

    /* 2. A name with a space, a single and a double quote, a dollar and a
     * backslash: none may reach gnuplot or a shell as syntax. */
    char *odd = make_dir(base, "my run 'q\" $x \\n");
    write_csvs(odd);
    st = ibc_report_plot_repro(odd, NK, err);
    report("odd dir name: status", st == IBC_OK, "status %d %s", st, st ? err : "");
    if (st == IBC_OK)
        check_figure("odd name", odd);

    /* 2a. A relative directory (gnuplot starts in the caller's directory
     * and changes into it) and a very long name (err keeps the file name). */
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd) || chdir(base) != 0) {
        perror("chdir");
        return 2;
    }
    char *rel = make_dir(".", "rel");
    write_csvs(rel);
    st = ibc_report_plot_repro("rel", NK, err);
    report("relative dir: status and figure", st == IBC_OK && exists(rel, "figure.png") && exists(rel, "figure.svg"),
           "status %d %s", st, st ? err : "");
    if (chdir(cwd) != 0) {
        perror("chdir");
        return 2;
    }
    char longname[240];
    memset(longname, 'L', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char *longdir = make_dir(base, longname);
    write_csvs(longdir);
    snprintf(path, sizeof path, "%s/robust.csv", longdir);
    unlink(path);
    st = ibc_report_plot_repro(longdir, NK, err);
    report("long dir name, missing robust.csv: err names it",
           st == IBC_EIO && strstr(err, "robust.csv: cannot open") && strlen(err) < IBC_ERRLEN - 1, "%s", err);

    /* 2b. Header-only files and a robust table with no attack or
     * certificate: the empty panels say so instead of failing gnuplot. */
    char *sparse = make_dir(base, "sparse");
    write_csvs(sparse);
    write_file(sparse, "robust.csv", "p,eps,pgd,attack,cert\n1,0,1,nan,nan\n1,0.5,0,nan,nan\n");
    write_file(sparse, "contrib.csv", "p,rank,contribution\n");
    write_file(sparse, "robust_ci.csv",
               "p,sigma_index,repeat,eps,points,pgd,pgd_lo,pgd_hi,attack,attack_lo,attack_hi,cert,cert_lo,cert_hi\n");
    {
        char hdr[256] = "neuron,mu+,mu-";
        for (int k = 1; k <= NK; k++)
            snprintf(hdr + strlen(hdr), sizeof hdr - strlen(hdr), ",mu_%d", k);
        strcat(hdr, "\n");
        write_file(sparse, "cos_p3.csv", hdr);
    }
    st = ibc_report_plot_repro(sparse, NK, err);
    char *gps = slurp(sparse, "figure.gp", NULL);
    report("header-only CSVs: figure drawn, panels marked",
           st == IBC_OK && exists(sparse, "figure.png") && gps && strstr(gps, "no data in contrib.csv") &&
               strstr(gps, "no data in cos_p3.csv") && !strstr(gps, "keyentry"),
           "status %d %s", st, st ? err : "");
    free(gps);

    /* 3. A missing CSV: EIO naming it, nothing written. */
    char *miss = make_dir(base, "missing");
    write_csvs(miss);
    snprintf(path, sizeof path, "%s/contrib.csv", miss);
    unlink(path);
    st = ibc_report_plot_repro(miss, NK, err);
    report("missing contrib.csv: IBC_EIO naming it", st == IBC_EIO && strstr(err, "contrib.csv") != NULL,
           "status %d: %s", st, err);
    report("missing contrib.csv: nothing written",
           !exists(miss, "figure.png") && !exists(miss, "figure.svg") && !exists(miss, "figure.gp") &&
               count_tmp(miss) == 0, "%s", "figure.* absent");

    /* 4. Malformed CSVs: a non-number, a bad p, a header for another NK. */
    char *bad = make_dir(base, "bad");
    write_csvs(bad);
    write_file(bad, "robust.csv", "p,eps,pgd,attack,cert\n1,0,1,1,1\n1,0.2,zero,nan,nan\n");
    st = ibc_report_plot_repro(bad, NK, err);
    report("non-number in robust.csv: IBC_EIO, file and line",
           st == IBC_EIO && strstr(err, "robust.csv") && strstr(err, "line 3") && strstr(err, "zero"), "%s", err);
    write_file(bad, "robust.csv", "p,eps,pgd,attack,cert\n2,0,1,1,1\n");
    st = ibc_report_plot_repro(bad, NK, err);
    report("p = 2 in robust.csv: IBC_EIO", st == IBC_EIO && strstr(err, "robust.csv") && strstr(err, "p = 2"),
           "%s", err);
    write_file(bad, "robust.csv", "p,eps,pgd,attack,cert\n1,0,1,1,1,7\n");
    st = ibc_report_plot_repro(bad, NK, err);
    report("extra field in robust.csv: IBC_EIO", st == IBC_EIO && strstr(err, "line 2"), "%s", err);
    write_file(bad, "robust.csv", "p,eps,pgd,attack\n");
    st = ibc_report_plot_repro(bad, NK, err);
    report("short header in robust.csv: IBC_EIO", st == IBC_EIO && strstr(err, "header"), "%s", err);
    write_csvs(bad);
    st = ibc_report_plot_repro(bad, NK - 1, err);
    report("cos header for K=10 read with K=9: IBC_EIO", st == IBC_EIO && strstr(err, "cos_p1.csv"), "%s", err);
    report("malformed CSVs: nothing written", !exists(bad, "figure.png") && !exists(bad, "figure.gp"), "%s", "");
    st = ibc_report_plot_repro(bad, 1, err);
    report("K = 1: IBC_EINPUT", st == IBC_EINPUT, "%s", err);

    /* 5. No gnuplot on PATH: IBC_ENOTOOL, the install hint, nothing written. */
    char *empty = make_dir(base, "emptybin");
    char *nogp = make_dir(base, "nognuplot");
    write_csvs(nogp);
    setenv("PATH", empty, 1);
    st = ibc_report_plot_repro(nogp, NK, err);
    report("PATH without gnuplot: IBC_ENOTOOL", st == IBC_ENOTOOL && strstr(err, "gnuplot not found") &&
           strstr(err, "gnuplot-nox"), "status %d: %s", st, err);
    report("PATH without gnuplot: nothing written",
           !exists(nogp, "figure.png") && !exists(nogp, "figure.svg") && !exists(nogp, "figure.gp") &&
               count_tmp(nogp) == 0, "%s", "");

    /* 6. A gnuplot that writes temporaries and then fails: IBC_EIO with its
     * error line, temporaries removed, the old figure untouched. */
    char *fakebin = make_dir(base, "fakebin");
    write_file(fakebin, "gnuplot",
               "#!/bin/sh\n"
               "s=${2#suffix=\\'}; s=${s%\\'}\n"
               "printf half > figure.png$s; printf half > figure.svg$s\n"
               "echo '\"figure.gp\" line 3: warning: Skipping data file with no valid points' >&2\n"
               "echo '         plot $x' >&2\n"
               "echo '              ^' >&2\n"
               "echo '\"figure.gp\" line 7: fake failure' >&2\n"
               "exit 1\n");
    snprintf(path, sizeof path, "%s/gnuplot", fakebin);
    chmod(path, 0755);
    char *fail = make_dir(base, "fail");
    write_csvs(fail);
    write_file(fail, "figure.png", "old");
    setenv("PATH", fakebin, 1);
    st = ibc_report_plot_repro(fail, NK, err);
    report("failing gnuplot: IBC_EIO with its error line",
           st == IBC_EIO && strstr(err, "line 7: fake failure") && !strchr(err, '\n'), "%s", err);
    char *old = slurp(fail, "figure.png", NULL);
    report("failing gnuplot: temporaries removed, old figure kept",
           count_tmp(fail) == 0 && old && !strcmp(old, "old") && !exists(fail, "figure.svg"), "%d temporaries",
           count_tmp(fail));
    free(old);
    /* A gnuplot that exits 0 and draws nothing. */
    write_file(fakebin, "gnuplot", "#!/bin/sh\nexit 0\n");
    st = ibc_report_plot_repro(fail, NK, err);
    report("gnuplot exiting 0 without output: IBC_EIO", st == IBC_EIO && count_tmp(fail) == 0, "%s", err);

    if (saved_path)
        setenv("PATH", saved_path, 1);
    else
        unsetenv("PATH");
    free(saved_path);

    if (getenv("IBC_TEST_PLOT_KEEP"))
        printf("kept %s\n", base);
    else
        remove_tree(base);
    free(plain);
    free(odd);
    free(sparse);
    free(rel);
    free(longdir);
    free(miss);
    free(bad);
    free(empty);
    free(nogp);
    free(fakebin);
    free(fail);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
