/* mpi: the CLI's MPI ranks (issue 14).  Internal to the CLI: the library
 * never links MPI.  Built with IBC_HAVE_MPI (CMake IBC_MPI) this runs
 * `mpirun -n N ibcheck reproduce|check` as one task farm; without it these
 * are one-rank stubs, and a launch by mpirun/srun on several ranks is refused.
 *
 * MPI is initialised only when a launcher started the process (its
 * environment says so): a plain `ibcheck` never touches MPI, so it starts as
 * fast as before and a sanitizer sees none of MPI's allocations.
 *
 * Every rank parses the same argv, so flag errors happen on every rank at
 * once and every rank returns before any message is exchanged.  Anything that
 * depends on rank 0's files (the config, -o, the results directory) is
 * decided on rank 0 and shared with ibc_mpi_share before the farm starts. */
#ifndef IBC_MPI_FARM_H
#define IBC_MPI_FARM_H
#include <stddef.h>

/* Starts MPI when a launcher asked for several ranks.  Ranks other than 0
 * get their standard output and error sent to /dev/null (one copy of every
 * message: rank 0's) until ibc_mpi_unmute.  IBC_OK, or IBC_EINPUT with one
 * line in err (a build without MPI launched on several ranks; a launcher that
 * started several tasks which MPI sees as one each). */
int ibc_mpi_start(int *argc, char ***argv, char *err);
/* MPI_Finalize (after a barrier that does not spin), if started. */
void ibc_mpi_end(void);
int ibc_mpi_rank(void);   /* 0 without MPI */
int ibc_mpi_size(void);   /* 1 without MPI */
/* Standard error back on a rank > 0 (for crash reports during the farm). */
void ibc_mpi_unmute(void);

/* Rank 0's status, and len bytes of buf from rank 0, to every rank;
 * returns rank 0's status on every rank.  Every rank must call it. */
int ibc_mpi_share(int status, void *buf, size_t len);

/* A task farm: rank 0 hands tasks out in the given order, one at a time, to
 * every rank including itself (a compute thread beside its scheduler), and
 * gets each result back as bytes.  Only rank 0's main thread calls MPI.
 * A finished task may add tasks with a payload (ibc_mpi_queue_add): they go
 * out before the rest, to whichever rank is idle first, and a rank with
 * nothing to do waits for them until every task is finished. */
typedef struct {
    const char *what;    /* the command, for messages: "reproduce" */
    const char *after;   /* what a user can do after a lost rank, for the line */
    /* Rank 0: a file that names the tasks in flight while the farm runs, or
     * NULL.  The launcher may kill rank 0 before its line is out (Open MPI
     * sends SIGKILL soon after SIGTERM), so the record is what a rerun reads
     * to say what the last run lost; a farm that returns removes it. */
    const char *record;
    /* Any rank: computes task, given its payload (NULL, 0 for the tasks
     * passed to ibc_mpi_farm), into *out (malloc'd, *len bytes).  Returns
     * IBC_OK or an error status with one line in err (*out may be NULL). */
    int (*compute)(long task, const char *payload, size_t plen, char **out, size_t *len, char *err, void *ctx);
    /* Rank 0, either thread: task started on rank (progress lines only). */
    void (*started)(long task, int rank, void *ctx);
    /* Rank 0, main thread: the result of task from rank: the status and err
     * that compute returned, and its bytes.  Returns the status to keep:
     * after the first that is not IBC_OK no new task is handed out, and the
     * ones running are finished (their results are still passed here). */
    int (*finish)(long task, int rank, int rc, const char *buf, size_t len, const char *err, void *ctx);
    /* The task's name, for the line when a rank is lost. */
    void (*name)(long task, char *buf, size_t n, void *ctx);
    void *ctx;
} ibc_mpi_farm_ops;

/* Every rank calls it with the same tasks.  Rank 0 returns the first status
 * that finish kept (IBC_OK when all finished), or IBC_EIO with err when MPI
 * failed.  Other ranks return IBC_OK once rank 0 stops them.  When the job is
 * killed (a rank died and the launcher stops the others with SIGTERM), rank
 * 0 prints one line naming the tasks in flight and exits 3, if the launcher
 * gives it the time; ops->record names them in any case, and the next farm
 * with the same record prints them in a line before it starts. */
int ibc_mpi_farm(const long *tasks, long n, const ibc_mpi_farm_ops *ops, char *err);

/* Rank 0, inside ops->finish: one more task, with len bytes of payload
 * (copied), handed out before the tasks not yet started.  IBC_OK (the task
 * is dropped when the farm already stops on an error), IBC_EIO out of
 * memory, IBC_EINPUT outside a farm (and without MPI). */
int ibc_mpi_queue_add(long task, const void *payload, size_t len);

#endif
