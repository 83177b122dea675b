/* repro: the robust phase of a cell (sigma save_model) in pieces (issue 14).
 *
 * The phase is most of a robust cell's time (at small.yaml's size 4 s of
 * brackets after 0.1 s of training), so a scheduler that hands out whole
 * cells leaves ranks idle while one cell brackets its points.  The phase is
 * therefore cut into pieces that any process computes from bytes alone:
 *   - chunks of REPRO_CHUNK test points: per point the certified radius and
 *     the structured attack (independent of every other point);
 *   - one piece per radius: the authors' batched PGD over the clean points
 *     (the batch is the serial run's, so each piece is the serial round).
 * The radius pieces read which points are clean, so they start once every
 * chunk is folded.  One process (the serial run, or MPI rank 0) folds the
 * results strictly in piece order, buffering those that arrive early: the
 * cell is bitwise the same whichever process computed which piece, and in
 * whatever order they came back.  The serial run uses the same pieces.
 *
 * Progress (DIR/cells/<cell>.ckpt.robust) is saved by the folding process
 * whenever the folded prefix grows, in the format of the serial run before
 * the pieces, so a killed run resumes at the next piece. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/report.h"
#include "prec/gemm.h"
#include "repro/phase.h"
#include "util/clock.h"
#include "util/cp.h"

/* ---- bytes: a job or a piece, in the native layout (the ranks of one MPI
 * job share their architecture, as the farm's result headers assume) ---- */

typedef repro_buf bytes;

int ibc_repro_buf_reserve(repro_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->n + extra > b->cap) {
        size_t cap = 2 * b->cap + extra + 4096;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return -1;
        }
        b->s = s;
        b->cap = cap;
    }
    return 0;
}

static void put(bytes *b, const void *p, size_t n)
{
    if (n == 0 || ibc_repro_buf_reserve(b, n) != 0)
        return;
    memcpy(b->s + b->n, p, n);
    b->n += n;
}

typedef struct {
    const char *s;
    size_t n, at;
    int bad;
} reader;

static void get(reader *r, void *p, size_t n)
{
    if (r->bad || n > r->n - r->at) {
        r->bad = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->s + r->at, n);
    r->at += n;
}

/* n elements of size sz into a fresh array (NULL and r->bad on failure). */
static void *get_array(reader *r, size_t sz, long n)
{
    if (r->bad || n < 0 || (size_t)n > (r->n - r->at) / sz) {
        r->bad = 1;
        return NULL;
    }
    void *p = malloc(sz * (size_t)(n > 0 ? n : 1));
    if (!p) {
        r->bad = 1;
        return NULL;
    }
    get(r, p, sz * (size_t)n);
    return p;
}

/* ---- the job: the phase's input ----------------------------------------- */

static const unsigned long long JOB_MAGIC = 0x32424f4a43424949ULL;   /* "IIBCJOB2": radius pieces carry lo */

typedef struct {
    long np, ne, D;
    double tmax;
    double *eps, *X;     /* ne radii; np x D test points */
    int *y;
    ibc_rnet *f;         /* the trained network, every field as computed */
} job;

static void job_clear(job *J)
{
    free(J->eps);
    free(J->X);
    free(J->y);
    ibc_robust_rnet_free(J->f);
    memset(J, 0, sizeof *J);
}

int ibc_repro_job_make(const ibc_repro_config *c, const ibc_rnet *f, const ibc_data *test, char **out, size_t *len)
{
    long D = c->D, ne = c->eps_count, np = test->n < REPRO_POINTS ? test->n : REPRO_POINTS;
    double tmax = 0;
    for (long e = 0; e < ne; e++)
        tmax = fmax(tmax, ibc_repro_eps(c, e));
    tmax = fmax(2.0 * tmax, 2.0);   /* beyond the largest radius of the curve */
    bytes b = {0};
    put(&b, &JOB_MAGIC, sizeof JOB_MAGIC);
    put(&b, &np, sizeof np);
    put(&b, &ne, sizeof ne);
    put(&b, &D, sizeof D);
    put(&b, &tmax, sizeof tmax);
    put(&b, &f->h, sizeof f->h);
    put(&b, &f->p, sizeof f->p);
    put(&b, &f->pint, sizeof f->pint);
    put(&b, &f->K, sizeof f->K);
    put(&b, &f->K1, sizeof f->K1);
    put(&b, f->name, sizeof f->name);
    for (long e = 0; e < ne; e++) {
        double v = ibc_repro_eps(c, e);
        put(&b, &v, sizeof v);
    }
    /* the points in double, generated row by row from their streams (a lean
     * test set holds no master values) */
    double *row = malloc(sizeof(double) * (size_t)(D > 0 ? D : 1));
    if (!row)
        b.oom = 1;
    for (long i = 0; row && i < np; i++) {
        ibc_model_data_rows_d(test, i, i + 1, row);
        for (long k = 0; k < D; k++)
            put(&b, &row[k], sizeof row[k]);
    }
    free(row);
    for (long i = 0; i < np; i++) {
        int y = test->y[i];
        put(&b, &y, sizeof y);
    }
    put(&b, f->W, sizeof(double) * (size_t)(f->h * D));
    put(&b, f->v, sizeof(double) * (size_t)f->h);
    put(&b, f->wn, sizeof(double) * (size_t)f->h);
    put(&b, f->U, sizeof(double) * (size_t)(f->h * D));
    if (f->K > 0)
        put(&b, f->mu, sizeof(double) * (size_t)(f->K * D));
    if (b.oom) {
        free(b.s);
        *out = NULL;
        *len = 0;
        return IBC_EIO;
    }
    *out = b.s;
    *len = b.n;
    return IBC_OK;
}

/* Reads a job from r into J; 0 on success (else J is cleared). */
static int job_read(job *J, reader *r)
{
    memset(J, 0, sizeof *J);
    unsigned long long magic = 0;
    get(r, &magic, sizeof magic);
    get(r, &J->np, sizeof J->np);
    get(r, &J->ne, sizeof J->ne);
    get(r, &J->D, sizeof J->D);
    get(r, &J->tmax, sizeof J->tmax);
    ibc_rnet *f = J->f = calloc(1, sizeof *f);
    if (!f || magic != JOB_MAGIC || J->np < 0 || J->ne < 0 || J->D <= 0)
        r->bad = 1;
    if (!r->bad) {
        get(r, &f->h, sizeof f->h);
        get(r, &f->p, sizeof f->p);
        get(r, &f->pint, sizeof f->pint);
        get(r, &f->K, sizeof f->K);
        get(r, &f->K1, sizeof f->K1);
        get(r, f->name, sizeof f->name);
        f->name[sizeof f->name - 1] = '\0';
        f->D = J->D;
        if (f->h <= 0 || f->K < 0 || f->h > (long)(r->n / sizeof(double)) ||
            f->K > (long)(r->n / sizeof(double)) || J->np > (long)(r->n / sizeof(double)) / J->D)
            r->bad = 1;
    }
    if (!r->bad) {
        J->eps = get_array(r, sizeof(double), J->ne);
        J->X = get_array(r, sizeof(double), J->np * J->D);
        J->y = get_array(r, sizeof(int), J->np);
        f->W = get_array(r, sizeof(double), f->h * J->D);
        f->v = get_array(r, sizeof(double), f->h);
        f->wn = get_array(r, sizeof(double), f->h);
        f->U = get_array(r, sizeof(double), f->h * J->D);
        if (f->K > 0)
            f->mu = get_array(r, sizeof(double), f->K * J->D);
    }
    if (r->bad) {
        job_clear(J);
        return -1;
    }
    return 0;
}

/* ---- progress: the resume point of the phase (format of the serial run) -- */

typedef struct {
    long np, ne, D;
    unsigned long long fp;
    long kpts, epgd;     /* points bracketed, PGD radii done */
    double *lo, *hi;
    int *clean;
    long *npgd;
} robust_progress;

static unsigned long long fnv1a(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int progress_write(FILE *out, void *ctx)
{
    const robust_progress *g = ctx;
    fprintf(out, "ibcheck-robust-progress 1\n%ld %ld %ld %016llx\n%ld %ld\n", g->np, g->ne, g->D, g->fp, g->kpts,
            g->epgd);
    for (long i = 0; i < g->np; i++)
        fprintf(out, "%d %a %a\n", g->clean[i], g->lo[i], g->hi[i]);
    for (long e = 0; e < g->ne; e++)
        fprintf(out, "%ld%c", g->npgd[e], e + 1 < g->ne ? ' ' : '\n');
    return ferror(out) ? -1 : 0;
}

/* Saves g (a failure only costs the resume: the cell goes on). */
static void progress_save(const char *path, robust_progress *g)
{
    char err[IBC_ERRLEN];
    if (path && ibc_util_write_atomic(path, progress_write, g, err) != IBC_OK)
        fprintf(stderr, "ibcheck: reproduce: %s (the robust phase goes on without a resume point)\n", err);
}

/* Loads path into g when it is this cell's progress; otherwise g is left at
 * its start (nothing done). */
static void progress_load(const char *path, robust_progress *g)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    long np, ne, D, k, e;
    unsigned long long fp;
    int ok = fscanf(f, "ibcheck-robust-progress 1 %ld %ld %ld %llx %ld %ld", &np, &ne, &D, &fp, &k, &e) == 6 &&
             np == g->np && ne == g->ne && D == g->D && fp == g->fp && k >= 0 && k <= np && e >= 0 && e <= ne &&
             (e == 0 || k == np);
    double *lo = malloc(sizeof(double) * (size_t)(ok ? np + 1 : 1)), *hi = malloc(sizeof(double) * (size_t)(ok ? np + 1 : 1));
    int *cl = malloc(sizeof(int) * (size_t)(ok ? np + 1 : 1));
    long *cnt = malloc(sizeof(long) * (size_t)(ok ? ne + 1 : 1));
    ok = ok && lo && hi && cl && cnt;
    for (long i = 0; ok && i < np; i++)
        ok = fscanf(f, "%d %la %la", &cl[i], &lo[i], &hi[i]) == 3;
    for (long q = 0; ok && q < ne; q++)
        ok = fscanf(f, "%ld", &cnt[q]) == 1;
    fclose(f);
    if (ok) {
        memcpy(g->lo, lo, sizeof(double) * (size_t)np);
        memcpy(g->hi, hi, sizeof(double) * (size_t)np);
        memcpy(g->clean, cl, sizeof(int) * (size_t)np);
        memcpy(g->npgd, cnt, sizeof(long) * (size_t)ne);
        g->kpts = k;
        g->epgd = e;
    }
    free(lo), free(hi), free(cl), free(cnt);
}

/* ---- the fold ----------------------------------------------------------- */

struct ibc_repro_robust {
    char *jobb;          /* the job's bytes, the head of every piece's input */
    size_t jlen;
    job J;
    robust_progress g;   /* lo, hi, clean, npgd and how far they are folded */
    char *progress;      /* the resume file, or NULL */
    long kpts0, epgd0;   /* done when the phase started (a resumed phase) */
    long nchunk, npiece; /* chunks of the points not done, then one piece per radius not done */
    long handed, folded; /* pieces handed out, pieces folded (a prefix) */
    long nc;             /* clean points, once every chunk is folded */
    char **res;          /* per piece: its result, waiting for the earlier ones */
    size_t *reslen;
    double t0, t_chunks, t_bracket, t_pgd;
};

/* A piece's input: this head, the job, and for a radius the clean points. */
typedef struct {
    long kind;           /* 0: points [a, b); 1: the radius of index a */
    long a, b;
} piece_head;

ibc_repro_robust *ibc_repro_robust_alloc(const char *jobb, size_t jlen, const char *progress, char *err)
{
    ibc_repro_robust *R = calloc(1, sizeof *R);
    reader r = {jobb, jlen, 0, 0};
    if (!R || job_read(&R->J, &r) != 0 || r.at != jlen) {
        snprintf(err, IBC_ERRLEN, "reproduce: %s", R ? "the robust phase's input is not a job of this version" : "out of memory");
        if (R)
            job_clear(&R->J);
        free(R);
        return NULL;
    }
    long np = R->J.np, ne = R->J.ne, D = R->J.D;
    R->jobb = malloc(jlen);
    R->progress = progress ? strdup(progress) : NULL;
    robust_progress *g = &R->g;
    *g = (robust_progress){np, ne, D, 0xcbf29ce484222325ULL, 0, 0, NULL, NULL, NULL, NULL};
    g->lo = calloc((size_t)np + 1, sizeof(double));
    g->hi = calloc((size_t)np + 1, sizeof(double));
    g->clean = calloc((size_t)np + 1, sizeof(int));
    g->npgd = calloc((size_t)ne + 1, sizeof(long));
    long maxpiece = (np + REPRO_CHUNK - 1) / REPRO_CHUNK + ne + 1;
    R->res = calloc((size_t)maxpiece, sizeof(char *));
    R->reslen = calloc((size_t)maxpiece, sizeof(size_t));
    if (!R->jobb || (progress && !R->progress) || !g->lo || !g->hi || !g->clean || !g->npgd || !R->res || !R->reslen) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for the robust phase");
        ibc_repro_robust_free(R);
        return NULL;
    }
    memcpy(R->jobb, jobb, jlen);
    R->jlen = jlen;
    /* the fingerprint of this phase: the network's exact weights and the points */
    const ibc_rnet *f = R->J.f;
    g->fp = fnv1a(g->fp, f->W, sizeof(double) * (size_t)(f->h * f->D));
    g->fp = fnv1a(g->fp, f->v, sizeof(double) * (size_t)f->h);
    g->fp = fnv1a(g->fp, R->J.X, sizeof(double) * (size_t)(np * D));
    g->fp = fnv1a(g->fp, R->J.y, sizeof(int) * (size_t)np);
    progress_load(R->progress, g);
    R->kpts0 = g->kpts;
    R->epgd0 = g->epgd;
    R->nchunk = (np - g->kpts + REPRO_CHUNK - 1) / REPRO_CHUNK;
    R->npiece = R->nchunk + ne - g->epgd;
    R->t0 = R->t_chunks = ibc_util_now();
    if (R->nchunk == 0)
        for (long i = 0; i < np; i++)
            R->nc += g->clean[i] != 0;
    return R;
}

void ibc_repro_robust_free(ibc_repro_robust *R)
{
    if (!R)
        return;
    for (long k = 0; R->res && k < R->npiece; k++)
        free(R->res[k]);
    free(R->res);
    free(R->reslen);
    free(R->g.lo);
    free(R->g.hi);
    free(R->g.clean);
    free(R->g.npgd);
    free(R->progress);
    free(R->jobb);
    job_clear(&R->J);
    free(R);
}

long ibc_repro_robust_npieces(const ibc_repro_config *c)
{
    return (REPRO_POINTS + REPRO_CHUNK - 1) / REPRO_CHUNK + c->eps_count;
}

/* Piece k's head. */
static piece_head piece_of(const ibc_repro_robust *R, long k)
{
    piece_head h;
    if (k < R->nchunk) {
        h.kind = 0;
        h.a = R->kpts0 + k * REPRO_CHUNK;
        h.b = h.a + REPRO_CHUNK < R->J.np ? h.a + REPRO_CHUNK : R->J.np;
    } else {
        h.kind = 1;
        h.a = h.b = R->epgd0 + (k - R->nchunk);
    }
    return h;
}

void ibc_repro_robust_piece_name(const ibc_repro_robust *R, long k, char *buf, size_t n)
{
    piece_head h = piece_of(R, k);
    if (h.kind == 0)
        snprintf(buf, n, "points %ld-%ld", h.a, h.b - 1);
    else
        snprintf(buf, n, "PGD at radius %g", R->J.eps[h.a]);
}

int ibc_repro_robust_next(ibc_repro_robust *R, long *piece, char **in, size_t *inlen)
{
    *in = NULL;
    *inlen = 0;
    long k = R->handed;
    if (k >= R->npiece || (k >= R->nchunk && R->folded < R->nchunk))
        return 0;   /* all handed out, or the radii wait for the clean points */
    piece_head h = piece_of(R, k);
    bytes b = {0};
    put(&b, &h, sizeof h);
    put(&b, R->jobb, R->jlen);
    if (h.kind == 1) {
        put(&b, R->g.clean, sizeof(int) * (size_t)R->J.np);
        put(&b, R->g.lo, sizeof(double) * (size_t)R->J.np);
    }
    if (b.oom) {
        free(b.s);
        return -1;
    }
    *piece = k;
    *in = b.s;
    *inlen = b.n;
    R->handed = k + 1;
    return 1;
}

/* The brackets of points [a, b): per point (clean, lo, hi) as three doubles. */
static int piece_chunk(const job *J, long a, long b, double *out, char *err)
{
    const ibc_rnet *f = J->f;
    long D = J->D;
    double *tmp = malloc(sizeof(double) * (size_t)D);
    /* the network's part of the certificate once per chunk, not per point */
    ibc_cert_net *cn = ibc_robust_certify_prepare(f);
    if (!tmp || !cn) {
        free(tmp);
        ibc_robust_certify_free(cn);
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for the brackets");
        return IBC_EIO;
    }
    int rc = IBC_OK;
    for (long i = a; i < b; i++) {
        ibc_cert_result cr;
        rc = ibc_robust_certify_radius_net(&cr, cn, J->X + i * D, J->y[i], J->tmax, err);
        if (rc != IBC_OK)
            break;
        int clean = !cr.misclassified;   /* certified y f(x) > 0 */
        double *o = out + 3 * (i - a);
        o[0] = clean;
        o[1] = cr.misclassified ? 0 : cr.lo;
        o[2] = !clean ? 0 : (f->K > 0 ? ibc_robust_attack_structured(tmp, f, J->X + i * D, J->y[i], J->tmax) : INFINITY);
    }
    free(tmp);
    ibc_robust_certify_free(cn);
    return rc;
}

/* A clean point whose certified lower bound exceeds eps cannot be flipped
 * within eps: PGD's iterates stay in the ball up to a few ulps (its
 * projection rescales in double), and every flip it reports is verified, so
 * the point holds.  It is left out of the batch with the same answer (-1);
 * the margin 1e-9 covers the projection's rounding.  For f_3 that is every
 * radius below sqrt2/2, 2000 steps each for nothing. */
static int pgd_needed(double lo, double eps)
{
    return !(lo > eps * (1 + 1e-9));
}

/* The authors' l2 PGD at radius eps[e] over the clean points, as one batch:
 * per clean point the norm of its verified flip, or -1 when it held. */
static int piece_radius(const job *J, long e, const int *clean, const double *lo, long nc, double *out, char *err)
{
    long D = J->D, np = J->np;
    double *Xc = malloc(sizeof(double) * (size_t)(nc * D + 1)), *dl = malloc(sizeof(double) * (size_t)(nc * D + 1));
    int *yc = malloc(sizeof(int) * (size_t)(nc + 1)), *fl = malloc(sizeof(int) * (size_t)(nc + 1));
    int rc = Xc && dl && yc && fl ? IBC_OK : IBC_EIO;
    if (rc != IBC_OK)
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for the PGD rounds");
    long nb = 0;   /* the batch: clean points that PGD could still flip */
    for (long i = 0; rc == IBC_OK && i < np; i++)
        if (clean[i] && pgd_needed(lo[i], J->eps[e])) {
            memcpy(Xc + nb * D, J->X + i * D, sizeof(double) * (size_t)D);
            yc[nb++] = J->y[i];
        }
    if (rc == IBC_OK && nb > 0) {
        ibc_pgd_opts po;
        ibc_robust_pgd_opts_default(&po);
        po.steps = REPRO_PGD_STEPS;
        po.step = REPRO_PGD_STEP;
        rc = ibc_robust_attack_pgd_batch(fl, dl, J->f, Xc, yc, nb, J->eps[e], &po, err);
    }
    for (long i = 0, q = 0, b = 0; rc == IBC_OK && i < np; i++)
        if (clean[i]) {
            int run = pgd_needed(lo[i], J->eps[e]);
            out[q++] = run && fl[b] ? ibc_robust_rnet_norm_up(dl + b * D, D) : -1.0;
            b += run;
        }
    free(Xc), free(dl), free(yc), free(fl);
    return rc;
}

int ibc_repro_robust_piece(const char *in, size_t inlen, char **out, size_t *outlen, char *err)
{
    *out = NULL;
    *outlen = 0;
    reader r = {in, inlen, 0, 0};
    piece_head h;
    get(&r, &h, sizeof h);
    job J;
    if (r.bad || job_read(&J, &r) != 0) {
        snprintf(err, IBC_ERRLEN, "reproduce: a robust piece's input is not one of this version");
        return IBC_EIO;
    }
    int rc = IBC_OK;
    long n = 0, nc = 0;
    int *clean = NULL;
    double *lo = NULL;
    if (h.kind == 0 && h.a >= 0 && h.a < h.b && h.b <= J.np) {
        n = 3 * (h.b - h.a);
    } else if (h.kind == 1 && h.a >= 0 && h.a < J.ne && (clean = get_array(&r, sizeof(int), J.np)) &&
               (lo = get_array(&r, sizeof(double), J.np)) && !r.bad) {
        for (long i = 0; i < J.np; i++)
            nc += clean[i] != 0;
        n = J.eps[h.a] > 0 ? nc : 0;   /* radius 0: every clean point holds, nothing to run */
    } else {
        snprintf(err, IBC_ERRLEN, "reproduce: a robust piece's input is not one of this version");
        rc = IBC_EIO;
    }
    double *o = rc == IBC_OK ? malloc(sizeof(double) * (size_t)(n + 1)) : NULL;
    if (rc == IBC_OK && !o) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory for a robust piece");
        rc = IBC_EIO;
    }
    if (rc == IBC_OK && h.kind == 0)
        rc = piece_chunk(&J, h.a, h.b, o, err);
    else if (rc == IBC_OK && n > 0)
        rc = piece_radius(&J, h.a, clean, lo, nc, o, err);
    free(clean);
    free(lo);
    job_clear(&J);
    if (rc != IBC_OK) {
        free(o);
        return rc;
    }
    *out = (char *)o;
    *outlen = sizeof(double) * (size_t)n;
    return IBC_OK;
}

/* Folds piece k (its result arrived and every earlier piece is folded). */
static void fold_one(ibc_repro_robust *R, long k, const double *v)
{
    robust_progress *g = &R->g;
    piece_head h = piece_of(R, k);
    if (h.kind == 0) {
        for (long i = h.a; i < h.b; i++) {
            const double *o = v + 3 * (i - h.a);
            g->clean[i] = o[0] != 0;
            g->lo[i] = o[1];
            g->hi[i] = o[2];
        }
        g->kpts = h.b;
        if (k + 1 == R->nchunk) {
            for (long i = 0; i < g->np; i++)
                R->nc += g->clean[i] != 0;
            R->t_bracket = ibc_util_now() - R->t_chunks;
        }
    } else if (!(R->J.eps[h.a] > 0)) {
        g->npgd[h.a] = R->nc;
        g->epgd = h.a + 1;
    } else {
        long q = 0;
        for (long i = 0; i < g->np; i++) {
            if (!g->clean[i])
                continue;
            if (v[q] >= 0)
                g->hi[i] = fmin(g->hi[i], v[q]);
            else
                g->npgd[h.a]++;
            q++;
        }
        g->epgd = h.a + 1;
    }
}

int ibc_repro_robust_fold(ibc_repro_robust *R, long k, const char *out, size_t outlen, char *err)
{
    size_t want = 0;
    if (k >= 0 && k < R->handed) {
        piece_head h = piece_of(R, k);
        want = sizeof(double) * (size_t)(h.kind == 0 ? 3 * (h.b - h.a) : (R->J.eps[h.a] > 0 ? R->nc : 0));
    }
    if (k < 0 || k >= R->handed || k < R->folded || R->res[k] || outlen != want) {
        snprintf(err, IBC_ERRLEN, "reproduce: robust piece %ld: a result that was not asked for (%zu bytes, want %zu)", k,
                 outlen, want);
        return IBC_EIO;
    }
    R->res[k] = malloc(outlen + 1);
    if (!R->res[k]) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory folding the robust phase");
        return IBC_EIO;
    }
    memcpy(R->res[k], out, outlen);
    R->reslen[k] = outlen;
    long before = R->folded;
    /* In piece order only: a result that came early waits for the earlier ones. */
    while (R->folded < R->npiece && R->res[R->folded]) {
        long j = R->folded;
        fold_one(R, j, (const double *)R->res[j]);
        free(R->res[j]);
        R->res[j] = NULL;
        R->folded = j + 1;
        if (j + 1 == R->npiece)
            R->t_pgd = ibc_util_now() - R->t_chunks - R->t_bracket;
    }
    if (R->folded > before)
        progress_save(R->progress, &R->g);
    return IBC_OK;
}

long ibc_repro_robust_nchunks(const ibc_repro_robust *R)
{
    return R->nchunk;
}

int ibc_repro_robust_done(const ibc_repro_robust *R)
{
    return R->folded == R->npiece;
}

/* A batch of pieces computed side by side (the serial run's threads). */
typedef struct {
    char **in, **out;
    size_t *inlen, *outlen;
    int *rc;
    char (*err)[IBC_ERRLEN];
} piece_batch;

static void batch_run(void *ctx, long lo, long hi)
{
    piece_batch *b = ctx;
    for (long j = lo; j < hi; j++)
        b->rc[j] = ibc_repro_robust_piece(b->in[j], b->inlen[j], &b->out[j], &b->outlen[j], b->err[j]);
}

/* Batches of as many ready pieces as IBC_THREADS asks (one at a time by
 * default, so the progress is saved after every piece), computed over the
 * threads of ibc_prec_par_range and folded in order: the bits of one thread. */
int ibc_repro_robust_serial(ibc_repro_robust *R, char *err)
{
    enum { BMAX = 16 };
    char *in[BMAX], *out[BMAX], errs[BMAX][IBC_ERRLEN];
    size_t inlen[BMAX], outlen[BMAX];
    long k[BMAX];
    int rcs[BMAX], rc = IBC_OK;
    int bn = ibc_prec_gemm_threads() < BMAX ? ibc_prec_gemm_threads() : BMAX;
    piece_batch pb = {in, out, inlen, outlen, rcs, errs};
    while (rc == IBC_OK) {
        long n = 0;
        int more = 1;
        while (n < bn && (more = ibc_repro_robust_next(R, &k[n], &in[n], &inlen[n])) == 1)
            out[n++] = NULL;
        if (more < 0) {
            snprintf(err, IBC_ERRLEN, "reproduce: out of memory for a robust piece");
            rc = IBC_EIO;
        } else if (n == 0) {
            break;
        } else {
            ibc_prec_par_range(n, 1e9, batch_run, &pb);   /* a piece is worth a thread */
        }
        for (long j = 0; j < n; j++) {
            if (rc == IBC_OK && rcs[j] != IBC_OK) {
                rc = rcs[j];
                snprintf(err, IBC_ERRLEN, "%s", errs[j]);
            }
            if (rc == IBC_OK)
                rc = ibc_repro_robust_fold(R, k[j], out[j], outlen[j], err);
            free(in[j]);
            free(out[j]);
        }
    }
    return rc;
}

int ibc_repro_robust_finish_json(ibc_repro_robust *R, cJSON *o, char *err)
{
    const robust_progress *g = &R->g;
    long np = g->np, ne = g->ne;
    double *lo = g->lo, *hi = g->hi, *eps = R->J.eps;
    if (!ibc_repro_robust_done(R)) {
        snprintf(err, IBC_ERRLEN, "reproduce: the robust phase is not finished (%ld of %ld pieces)", R->folded,
                 R->npiece);
        return IBC_EIO;
    }
    for (long i = 0; i < np; i++)
        if (lo[i] > hi[i]) {
            /* Both ends are certified: lo > hi is a bug in one of them. */
            snprintf(err, IBC_ERRLEN, "reproduce: test point %ld: certified lower bound %.17g exceeds the verified attack %.17g",
                     i, lo[i], hi[i]);
            return IBC_ENUMERIC;
        }
    /* Stage 1 ended with its times: they move behind the robust fields. */
    cJSON *st = cJSON_DetachItemFromObject(o, "seconds_train"), *sec = cJSON_DetachItemFromObject(o, "seconds");
    double seconds = cJSON_IsNumber(sec) ? sec->valuedouble : 0;
    cJSON_Delete(sec);
    static const char *const names[3] = {"robust_pgd", "robust_attack", "robust_cert"};
    cJSON_AddItemToObject(o, "eps", cJSON_CreateDoubleArray(eps, (int)ne));
    double *v = malloc(sizeof(double) * (size_t)(3 * ne + 1));
    if (!v) {
        cJSON_Delete(st);
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory");
        return IBC_EIO;
    }
    for (int w = 0; w < 3; w++) {
        for (long e = 0; e < ne; e++) {
            long k = 0;
            if (w == 0)
                k = g->npgd[e];
            else
                for (long i = 0; i < np; i++)
                    k += g->clean[i] && (w == 1 ? hi[i] > eps[e] : lo[i] >= eps[e]);
            v[e] = (double)k / (double)np;
            v[ne + e] = ibc_util_cp_lower(k, np);
            v[2 * ne + e] = ibc_util_cp_upper(k, np);
        }
        char key[40];
        cJSON_AddItemToObject(o, names[w], cJSON_CreateDoubleArray(v, (int)ne));
        snprintf(key, sizeof key, "%s_cp_lo", names[w]);
        cJSON_AddItemToObject(o, key, cJSON_CreateDoubleArray(v + ne, (int)ne));
        snprintf(key, sizeof key, "%s_cp_hi", names[w]);
        cJSON_AddItemToObject(o, key, cJSON_CreateDoubleArray(v + 2 * ne, (int)ne));
    }
    free(v);
    cJSON_AddNumberToObject(o, "robust_points", (double)np);
    cJSON_AddNumberToObject(o, "bracket_points", (double)np);
    for (long i = 0; i < np; i++)
        if (isinf(hi[i]))
            hi[i] = -1;   /* JSON has no infinity: -1 = no flip found within tmax */
    cJSON_AddItemToObject(o, "radius_lo", cJSON_CreateDoubleArray(lo, (int)np));
    cJSON_AddItemToObject(o, "radius_hi", cJSON_CreateDoubleArray(hi, (int)np));
    cJSON_AddNumberToObject(o, "radius_tmax", R->J.tmax);
    cJSON_AddNumberToObject(o, "seconds_brackets", R->t_bracket);
    cJSON_AddNumberToObject(o, "seconds_pgd", R->t_pgd);
    if (st)
        cJSON_AddItemToObject(o, "seconds_train", st);
    cJSON_AddNumberToObject(o, "seconds", seconds + (ibc_util_now() - R->t0));
    return IBC_OK;
}

int ibc_repro_robust_finish(ibc_repro_robust *R, const char *text, char **final, char *err)
{
    *final = NULL;
    cJSON *o = cJSON_Parse(text);
    if (!o) {
        snprintf(err, IBC_ERRLEN, "reproduce: a robust cell's first part is not JSON");
        return IBC_EIO;
    }
    int rc = ibc_repro_robust_finish_json(R, o, err);
    if (rc == IBC_OK && !(*final = ibc_repro_json_text(o))) {
        snprintf(err, IBC_ERRLEN, "reproduce: out of memory formatting a cell");
        rc = IBC_EIO;
    }
    cJSON_Delete(o);
    return rc;
}
