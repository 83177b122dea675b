/* mpi: ranks, shared decisions and the task farm (see farm.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "ibcheck/ibcheck.h"
#include "mpi/farm.h"

/* The size an MPI launcher announced in the environment: Open MPI's mpirun,
 * or a PMI (MPICH/Hydra, srun --mpi=pmi2).  0 when none did.  *rank gets the
 * announced rank (0 when unknown).  srun's own SLURM_* variables are not
 * read: `srun -n 4` of a script that picks --sigma-index from SLURM_PROCID
 * is a legitimate serial use. */
static long launcher_size(long *rank)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL};
    static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", NULL};
    long n = 0;
    *rank = 0;
    for (int k = 0; sizes[k]; k++) {
        const char *s = getenv(sizes[k]);
        long v = s ? strtol(s, NULL, 10) : 0;
        if (v > n)
            n = v;
    }
    for (int k = 0; ranks[k]; k++) {
        const char *s = getenv(ranks[k]);
        if (s) {
            *rank = strtol(s, NULL, 10);
            break;
        }
    }
    if (n == 0 && getenv("PMIX_RANK"))
        n = 1;   /* PMIx announces no size: let MPI say */
    return n;
}

#ifndef IBC_HAVE_MPI

int ibc_mpi_start(int *argc, char ***argv, char *err)
{
    long rank, n = launcher_size(&rank);
    if (n > 1) {
        /* Each copy would run the whole command into the same files. */
        snprintf(err, IBC_ERRLEN,
                 "launched as rank %ld of %ld (mpirun/srun), but this ibcheck was built without MPI (IBC_MPI=OFF): "
                 "run it without mpirun, or rebuild with libopenmpi-dev installed", rank, n);
        return rank == 0 ? IBC_EINPUT : -IBC_EINPUT;   /* negative: fail without the line */
    }
    return IBC_OK;
}
void ibc_mpi_end(void) {}
int ibc_mpi_rank(void) { return 0; }
int ibc_mpi_size(void) { return 1; }
void ibc_mpi_unmute(void) {}
int ibc_mpi_share(int status, void *buf, size_t len) { return status; }
int ibc_mpi_farm(const long *tasks, long n, const ibc_mpi_farm_ops *ops, char *err)
{
    snprintf(err, IBC_ERRLEN, "%s: this ibcheck was built without MPI", ops->what);
    return IBC_EINPUT;
}
int ibc_mpi_queue_add(long task, const void *payload, size_t len) { return IBC_EINPUT; }

#else
#include <mpi.h>
#include <pthread.h>

static int started, rank_, size_ = 1, saved_err = -1;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits for req without spinning: Open MPI's blocking calls poll at full
 * speed, which on a machine with one rank per core takes a core from the
 * ranks that compute.  The first checks are fast, then 1 ms to 20 ms apart. */
static int wait_sleepy(MPI_Request *req, MPI_Status *st)
{
    for (long k = 0;; k++) {
        int done = 0;
        int rc = MPI_Test(req, &done, st ? st : MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done)
            return rc;
        if (k > 100)
            sleep_ms(k < 1000 ? 1 : 20);
    }
}

int ibc_mpi_start(int *argc, char ***argv, char *err)
{
    long lrank, n = launcher_size(&lrank);
    if (n == 0)
        return IBC_OK;   /* not launched: the serial command, no MPI at all */
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(err, IBC_ERRLEN, "MPI_Init failed (launched as rank %ld of %ld)", lrank, n);
        return lrank == 0 ? IBC_EIO : -IBC_EIO;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    /* Errors come back as codes: rank 0 then names what it lost. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rank_ > 0) {
        fflush(NULL);
        int nul = open("/dev/null", O_WRONLY);
        saved_err = dup(2);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
            close(nul);
        }
    }
    if (provided < MPI_THREAD_FUNNELED && size_ > 1) {
        snprintf(err, IBC_ERRLEN, "this MPI provides no threads beside MPI (MPI_THREAD_FUNNELED): need it on rank 0");
        return rank_ == 0 ? IBC_EIO : -IBC_EIO;
    }
    return IBC_OK;
}

void ibc_mpi_unmute(void)
{
    if (saved_err >= 0) {
        dup2(saved_err, 2);
        close(saved_err);
        saved_err = -1;
    }
}

void ibc_mpi_end(void)
{
    if (!started)
        return;
    started = 0;
    fflush(NULL);
    MPI_Request req;
    if (MPI_Ibarrier(MPI_COMM_WORLD, &req) == MPI_SUCCESS)
        wait_sleepy(&req, NULL);
    MPI_Finalize();
}

int ibc_mpi_rank(void) { return rank_; }
int ibc_mpi_size(void) { return size_; }

int ibc_mpi_share(int status, void *buf, size_t len)
{
    if (size_ == 1)
        return status;
    MPI_Request req;
    int st = status;
    if (MPI_Ibcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS || wait_sleepy(&req, NULL) != MPI_SUCCESS)
        return IBC_EIO;
    if (st == IBC_OK && len > 0 &&
        (MPI_Ibcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
         wait_sleepy(&req, NULL) != MPI_SUCCESS))
        return IBC_EIO;
    return st;
}

/* ---- the farm ------------------------------------------------------------ */

enum { TAG_TASK = 1401, TAG_RESULT = 1402 };

/* A task message's header; the payload follows it.  task -1: stop. */
typedef struct {
    long task;
    long len;
} task_head;

/* A result's header; the computed bytes follow it in the same message. */
typedef struct {
    long task;
    int rc;
    char err[IBC_ERRLEN];
} result_head;

/* A task waiting to go out, with the payload it owns. */
typedef struct {
    long task;
    char *payload;
    size_t len;
} farm_task;

/* What rank 0 shares between its scheduler (main thread) and its compute thread. */
typedef struct {
    const long *tasks;
    long n, next;           /* next: the next entry of tasks to hand out */
    farm_task *extra;       /* tasks added by ibc_mpi_queue_add: first out */
    long xhead, xn, xcap;
    int stop;               /* no more tasks are handed out (a task failed) */
    int over;               /* every task finished: the compute thread leaves */
    const ibc_mpi_farm_ops *ops;
    long *running;          /* per rank: the task it computes, or -1 */
    int local_done;         /* the compute thread has left */
    int box_full;           /* a local result waits for the scheduler */
    result_head box;
    char *box_buf;
    size_t box_len;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} farm;

/* The farm running on rank 0, for ibc_mpi_queue_add. */
static farm *cur_farm;

/* The next task to hand out, into *t (which then owns the payload); 0 when
 * none is there now.  Under F->mu. */
static int farm_take(farm *F, farm_task *t)
{
    if (F->stop)
        return 0;
    if (F->xhead < F->xn) {
        *t = F->extra[F->xhead++];
        if (F->xhead == F->xn)
            F->xhead = F->xn = 0;
        return 1;
    }
    if (F->next < F->n) {
        t->task = F->tasks[F->next++];
        t->payload = NULL;
        t->len = 0;
        return 1;
    }
    return 0;
}

int ibc_mpi_queue_add(long task, const void *payload, size_t len)
{
    farm *F = cur_farm;
    if (!F)
        return IBC_EINPUT;
    char *copy = malloc(len > 0 ? len : 1);
    if (!copy)
        return IBC_EIO;
    if (len)
        memcpy(copy, payload, len);
    pthread_mutex_lock(&F->mu);
    if (F->stop) {
        pthread_mutex_unlock(&F->mu);
        free(copy);
        return IBC_OK;
    }
    if (F->xn == F->xcap) {
        long cap = 2 * F->xcap + 16;
        farm_task *x = realloc(F->extra, sizeof *x * (size_t)cap);
        if (!x) {
            pthread_mutex_unlock(&F->mu);
            free(copy);
            return IBC_EIO;
        }
        F->extra = x;
        F->xcap = cap;
    }
    F->extra[F->xn++] = (farm_task){task, copy, len};
    pthread_cond_broadcast(&F->cv);   /* the compute thread may wait for it */
    pthread_mutex_unlock(&F->mu);
    return IBC_OK;
}

/* The line for a lost job, kept ready: a signal handler can only write(2).
 * Two buffers, and an index flipped once the new one is complete. */
static char lost_msg[2][2048];
static volatile sig_atomic_t lost_cur = -1;

/* The line and the record must name the same tasks, yet a signal can come
 * while lost_update writes them, on the main thread or on any other (an MPI
 * or BLAS thread that does not block it).  A Dekker handshake on two
 * sequentially consistent flags makes the pair atomic for the handler:
 * the handler raises `dying`, then waits while `updating` is up; an update
 * raises `updating`, then gives up if `dying` is up.  One of the two sees
 * the other's flag, so the handler never writes a line the record lacks.
 * A handler that interrupts the update on its own thread cannot wait for
 * it: it leaves `pending`, and the update writes the line when done. */
static atomic_int lost_dying, lost_updating, lost_pending;
static pid_t lost_main_tid;   /* the thread that runs lost_update */

/* The record's text: the tasks in flight, one line. */
static int record_write(FILE *out, void *ctx)
{
    return fprintf(out, "%s\n", (const char *)ctx) < 0;
}

static void lost_write_exit(void)
{
    int k = lost_cur;
    if (k >= 0) {
        ssize_t w = write(2, lost_msg[k], strlen(lost_msg[k]));
        (void)w;
    }
    _exit(IBC_ENUMERIC);   /* 3: a failure, not bad input */
}

/* Under F->mu, on the main thread, whenever F->running changes: the line,
 * and the record. */
static void lost_update(farm *F)
{
    atomic_store(&lost_updating, 1);
    if (atomic_load(&lost_dying)) {
        /* A handler on another thread is writing the current line: keep the
         * record that matches it. */
        atomic_store(&lost_updating, 0);
        return;
    }
    char names[1800];
    size_t nn = 0;
    int any = 0;
    for (int r = 0; r < size_ && nn < sizeof names - 200; r++) {
        if (F->running[r] < 0)
            continue;
        char nm[128];
        F->ops->name(F->running[r], nm, sizeof nm, F->ops->ctx);
        nn += (size_t)snprintf(names + nn, sizeof names - nn, "%s%s on rank %d", any ? ", " : "running ", nm, r);
        any = 1;
    }
    if (!any)
        snprintf(names, sizeof names, "no task was running");
    int k = lost_cur == 0 ? 1 : 0;
    snprintf(lost_msg[k], sizeof lost_msg[k],
             "ibcheck: %s: the MPI job was stopped (a rank died or was killed) while %s: %s\n", F->ops->what, names,
             F->ops->after);
    if (F->ops->record) {
        /* Best effort: the cells are the state that matters, the record only
         * says what a killed run was doing. */
        char e[IBC_ERRLEN];
        (void)ibc_util_write_atomic(F->ops->record, record_write, names, e);
    }
    lost_cur = k;
    atomic_store(&lost_updating, 0);
    if (atomic_load(&lost_pending))
        lost_write_exit();   /* the signal came in the middle of this update */
}

/* Rank 0, before a farm: what the last run with the same record was doing
 * when it was stopped, in one line (a farm that returns removes its record). */
static void record_report(const ibc_mpi_farm_ops *ops)
{
    if (!ops->record)
        return;
    ibc_util_stale_clean(ops->record);   /* a temporary of a record write that was killed */
    FILE *in = fopen(ops->record, "r");
    if (!in)
        return;
    char line[1800] = "";
    if (fgets(line, sizeof line, in))
        line[strcspn(line, "\n")] = '\0';
    fclose(in);
    fprintf(stderr, "ibcheck: %s: the last run was stopped while %s: resuming\n", ops->what,
            line[0] ? line : "(no record)");
}

static void lost_handler(int sig)
{
    (void)sig;
    atomic_store(&lost_dying, 1);
    if (atomic_load(&lost_updating)) {
        if ((pid_t)syscall(SYS_gettid) == lost_main_tid) {
            atomic_store(&lost_pending, 1);   /* lost_update finishes, then writes */
            return;
        }
        /* Another thread: the update takes milliseconds (one small file);
         * wait up to 5 s for it, then write what there is. */
        struct timespec ms = {0, 1000000};
        for (int i = 0; i < 5000 && atomic_load(&lost_updating); i++)
            nanosleep(&ms, NULL);
    }
    lost_write_exit();
}

/* Rank 0's own worker: takes tasks like any rank, waits while there are
 * none (a finished task may add some), and leaves each result in the box
 * for the scheduler (which alone talks MPI and writes files). */
static void *local_main(void *arg)
{
    farm *F = arg;
    pthread_mutex_lock(&F->mu);
    for (;;) {
        farm_task t;
        int got = 0;
        while (!F->over && !(got = farm_take(F, &t)))
            pthread_cond_wait(&F->cv, &F->mu);
        if (!got)
            break;
        F->running[0] = t.task;
        pthread_mutex_unlock(&F->mu);
        if (F->ops->started)
            F->ops->started(t.task, 0, F->ops->ctx);
        result_head h;
        memset(&h, 0, sizeof h);
        h.task = t.task;
        char *buf = NULL;
        size_t len = 0;
        h.rc = F->ops->compute(t.task, t.payload, t.len, &buf, &len, h.err, F->ops->ctx);
        free(t.payload);
        pthread_mutex_lock(&F->mu);
        while (F->box_full)
            pthread_cond_wait(&F->cv, &F->mu);
        F->box = h;
        F->box_buf = buf;
        F->box_len = len;
        F->box_full = 1;
        while (F->box_full)   /* the scheduler takes it (its finish may add tasks), then we pick the next */
            pthread_cond_wait(&F->cv, &F->mu);
    }
    F->local_done = 1;
    pthread_mutex_unlock(&F->mu);
    return NULL;
}

/* Sends rank r task t (its header and payload; task -1 stops the rank). */
static int send_task(int r, const farm_task *t)
{
    task_head h = {t->task, (long)t->len};
    if (t->len > (size_t)0x7fff0000 - sizeof h)
        return MPI_ERR_COUNT;
    char *msg = malloc(sizeof h + t->len);
    if (!msg)
        return MPI_ERR_NO_MEM;
    memcpy(msg, &h, sizeof h);
    if (t->len)
        memcpy(msg + sizeof h, t->payload, t->len);
    int rc = MPI_Send(msg, (int)(sizeof h + t->len), MPI_BYTE, r, TAG_TASK, MPI_COMM_WORLD);
    free(msg);
    return rc;
}

/* Hands every idle rank > 0 a task while there are some.  The sends happen
 * outside the lock: a large payload must not hold up the compute thread. */
static int dispatch(farm *F)
{
    int rc = MPI_SUCCESS;
    for (int r = 1; r < size_ && rc == MPI_SUCCESS; r++) {
        farm_task t;
        pthread_mutex_lock(&F->mu);
        int got = F->running[r] < 0 && farm_take(F, &t);
        if (got) {
            F->running[r] = t.task;
            lost_update(F);
        }
        pthread_mutex_unlock(&F->mu);
        if (!got)
            continue;
        rc = send_task(r, &t);
        free(t.payload);
        if (rc == MPI_SUCCESS && F->ops->started)
            F->ops->started(t.task, r, F->ops->ctx);
    }
    return rc;
}

/* The status finish kept: the first failure stops the handing out. */
static void keep_status(farm *F, int *keep, int rc)
{
    pthread_mutex_lock(&F->mu);
    if (rc != IBC_OK && *keep == IBC_OK) {
        *keep = rc;
        F->stop = 1;
    }
    pthread_mutex_unlock(&F->mu);
}

static int farm_rank0(farm *F, char *err)
{
    int keep = IBC_OK, mpi_rc = MPI_SUCCESS;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, (size_t)64 << 20);   /* the cell code keeps paths and small arrays on the stack */
    struct sigaction sa, old_term, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = lost_handler;
    sigemptyset(&sa.sa_mask);
    lost_main_tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&lost_dying, 0);
    atomic_store(&lost_pending, 0);
    mpi_rc = dispatch(F);
    pthread_mutex_lock(&F->mu);
    lost_update(F);
    pthread_mutex_unlock(&F->mu);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    int have_thread = pthread_create(&th, &at, local_main, F) == 0;
    if (!have_thread) {
        pthread_mutex_lock(&F->mu);
        F->local_done = 1;   /* the other ranks take every task */
        pthread_mutex_unlock(&F->mu);
    }
    char *buf = NULL;
    size_t cap = 0;
    long seen0 = -1;   /* rank 0's task the lost line names */
    for (long idle = 0; mpi_rc == MPI_SUCCESS;) {
        /* Over when no rank computes, no result waits and no task is left
         * (a running task may still add some: wait for it). */
        pthread_mutex_lock(&F->mu);
        if (F->running[0] != seen0) {
            /* The compute thread took a task: the line is written here, as
             * ops->name may read what finish changes on this thread. */
            seen0 = F->running[0];
            lost_update(F);
        }
        int busy = F->box_full || F->running[0] >= 0;
        for (int r = 1; r < size_; r++)
            busy |= F->running[r] >= 0;
        int more = !F->stop && (F->xhead < F->xn || F->next < F->n);
        if (!busy && !more) {
            F->over = 1;
            pthread_cond_broadcast(&F->cv);
            pthread_mutex_unlock(&F->mu);
            break;
        }
        int got = 0;
        if (F->box_full) {
            result_head h = F->box;
            char *b = F->box_buf;
            size_t len = F->box_len;
            pthread_mutex_unlock(&F->mu);
            int rc = F->ops->finish(h.task, 0, h.rc, b, len, h.err, F->ops->ctx);
            free(b);
            keep_status(F, &keep, rc);
            pthread_mutex_lock(&F->mu);
            /* Free the box only now: the compute thread then sees the tasks
             * that finish added. */
            F->box_full = 0;
            F->running[0] = -1;
            lost_update(F);
            pthread_cond_broadcast(&F->cv);
            got = 1;
        }
        pthread_mutex_unlock(&F->mu);
        int flag = 0;
        MPI_Status st;
        mpi_rc = MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
        if (mpi_rc == MPI_SUCCESS && flag) {
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            if ((size_t)count > cap) {
                char *nb = realloc(buf, (size_t)count);
                if (!nb) {
                    snprintf(err, IBC_ERRLEN, "%s: out of memory for a result of %d bytes from rank %d", F->ops->what,
                             count, st.MPI_SOURCE);
                    mpi_rc = MPI_ERR_NO_MEM;
                    break;
                }
                buf = nb;
                cap = (size_t)count;
            }
            mpi_rc = MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (mpi_rc != MPI_SUCCESS)
                break;
            if ((size_t)count < sizeof(result_head)) {
                snprintf(err, IBC_ERRLEN, "%s: a short result (%d bytes) from rank %d", F->ops->what, count,
                         st.MPI_SOURCE);
                mpi_rc = MPI_ERR_TRUNCATE;
                break;
            }
            result_head h;
            memcpy(&h, buf, sizeof h);
            h.err[IBC_ERRLEN - 1] = '\0';
            int r = st.MPI_SOURCE;
            int rc = F->ops->finish(h.task, r, h.rc, buf + sizeof h, (size_t)count - sizeof h, h.err, F->ops->ctx);
            keep_status(F, &keep, rc);
            pthread_mutex_lock(&F->mu);
            F->running[r] = -1;
            lost_update(F);
            pthread_mutex_unlock(&F->mu);
            got = 1;
        }
        if (mpi_rc == MPI_SUCCESS)
            mpi_rc = dispatch(F);
        /* Nothing arrived: sleep a little, up to 20 ms (a task takes a while). */
        idle = got ? 0 : idle + 1;
        if (idle > 10)
            sleep_ms(idle < 100 ? 1 : 20);
    }
    free(buf);
    if (mpi_rc != MPI_SUCCESS) {
        /* A broken MPI: name what was running, then take the job down
         * (waiting for a dead rank would never end). */
        if (!err[0]) {
            char es[MPI_MAX_ERROR_STRING];
            int el = 0;
            MPI_Error_string(mpi_rc, es, &el);
            snprintf(err, IBC_ERRLEN, "%s: MPI failed: %s", F->ops->what, es);
        }
        fprintf(stderr, "ibcheck: %s\n", err);
        int k = lost_cur;
        if (k >= 0)
            fputs(lost_msg[k], stderr);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, IBC_ENUMERIC);
        _exit(IBC_ENUMERIC);
    }
    /* Every rank idles: stop them. */
    farm_task stop = {-1, NULL, 0};
    for (int r = 1; r < size_ && mpi_rc == MPI_SUCCESS; r++)
        mpi_rc = send_task(r, &stop);
    if (have_thread)
        pthread_join(th, NULL);
    pthread_attr_destroy(&at);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    lost_cur = -1;
    if (F->ops->record)
        remove(F->ops->record);   /* every task ended here: nothing was lost */
    return keep;
}

/* Receives the next task message from rank 0 into *msg (grown as needed)
 * without spinning (see wait_sleepy). */
static int recv_task(char **msg, size_t *cap, int *count)
{
    MPI_Status st;
    for (long k = 0;; k++) {
        int flag = 0;
        int rc = MPI_Iprobe(0, TAG_TASK, MPI_COMM_WORLD, &flag, &st);
        if (rc != MPI_SUCCESS)
            return rc;
        if (flag)
            break;
        if (k > 100)
            sleep_ms(k < 1000 ? 1 : 20);
    }
    MPI_Get_count(&st, MPI_BYTE, count);
    if ((size_t)*count > *cap) {
        char *nb = realloc(*msg, (size_t)*count);
        if (!nb)
            return MPI_ERR_NO_MEM;
        *msg = nb;
        *cap = (size_t)*count;
    }
    return MPI_Recv(*msg, *count, MPI_BYTE, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

static int farm_worker(const ibc_mpi_farm_ops *ops, char *err)
{
    char *in = NULL;
    size_t incap = 0;
    for (;;) {
        int count = 0;
        MPI_Request req;
        if (recv_task(&in, &incap, &count) != MPI_SUCCESS || (size_t)count < sizeof(task_head)) {
            free(in);
            return IBC_EIO;
        }
        task_head th;
        memcpy(&th, in, sizeof th);
        if (th.task < 0) {
            free(in);
            return IBC_OK;
        }
        result_head h;
        memset(&h, 0, sizeof h);
        h.task = th.task;
        char *out = NULL;
        size_t len = 0;
        h.rc = ops->compute(th.task, th.len > 0 ? in + sizeof th : NULL, (size_t)count - sizeof th, &out, &len, h.err,
                            ops->ctx);
        if (len > (size_t)0x7fff0000 - sizeof h) {
            free(out);
            out = NULL;
            len = 0;
            h.rc = IBC_EIO;
            snprintf(h.err, IBC_ERRLEN, "%s: a result of more than 2 GB cannot be sent", ops->what);
        }
        char *msg = malloc(sizeof h + len);
        if (!msg) {
            free(out);
            out = NULL;
            len = 0;
            h.rc = IBC_EIO;
            snprintf(h.err, IBC_ERRLEN, "%s: out of memory sending a result", ops->what);
            msg = (char *)&h;
        } else {
            memcpy(msg, &h, sizeof h);
            if (len)
                memcpy(msg + sizeof h, out, len);
        }
        free(out);
        if (MPI_Isend(msg, (int)(sizeof h + len), MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD, &req) != MPI_SUCCESS ||
            wait_sleepy(&req, NULL) != MPI_SUCCESS) {
            if (msg != (char *)&h)
                free(msg);
            free(in);
            return IBC_EIO;
        }
        if (msg != (char *)&h)
            free(msg);
    }
}

int ibc_mpi_farm(const long *tasks, long n, const ibc_mpi_farm_ops *ops, char *err)
{
    err[0] = '\0';
    if (rank_ > 0) {
        ibc_mpi_unmute();
        return farm_worker(ops, err);
    }
    farm F;
    memset(&F, 0, sizeof F);
    F.tasks = tasks;
    F.n = n;
    F.ops = ops;
    record_report(ops);
    F.running = malloc(sizeof(long) * (size_t)size_);
    if (!F.running) {
        snprintf(err, IBC_ERRLEN, "%s: out of memory", ops->what);
        return IBC_EIO;
    }
    for (int r = 0; r < size_; r++)
        F.running[r] = -1;
    pthread_mutex_init(&F.mu, NULL);
    pthread_cond_init(&F.cv, NULL);
    cur_farm = &F;
    int rc = farm_rank0(&F, err);
    cur_farm = NULL;
    for (long k = F.xhead; k < F.xn; k++)   /* tasks left after a failure */
        free(F.extra[k].payload);
    free(F.extra);
    pthread_mutex_destroy(&F.mu);
    pthread_cond_destroy(&F.cv);
    free(F.running);
    return rc;
}

#endif
