/* report: file output that never destroys what is at the path (DESIGN: no
 * partial output).  A regular file is replaced atomically: a reader sees the
 * old file or the whole new one.  A symlink is followed, so that its target
 * is replaced and the link kept.  Anything else that exists (a FIFO, a
 * character device, a socket) is written in place: renaming a file over it
 * would replace the device node or starve the FIFO's reader. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ibcheck/report.h"

/* Best effort: makes the rename itself durable; failure only weakens that. */
static void sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Test hook (tests/output_targets.cmake): IBC_WRITE_FAULT=ENOSPC or EIO makes
 * every write here fail with that error after the writer ran, so that the
 * "earlier file intact" promise is tested without filling a file system. */
static int injected_fault(void)
{
    const char *s = getenv("IBC_WRITE_FAULT");
    if (!s)
        return 0;
    if (strcmp(s, "ENOSPC") == 0)
        return ENOSPC;
    if (strcmp(s, "EIO") == 0)
        return EIO;
    return 0;
}

/* Runs fn on f and flushes it.  Returns 0, or an errno value (EIO when the
 * writer failed without one).  Does not close f. */
static int write_through(FILE *f, ibc_util_write_fn fn, void *ctx)
{
    errno = 0;
    int bad = fn(f, ctx) != 0 || ferror(f);
    int e = errno;
    if (!bad && fflush(f) != 0) {
        bad = 1;
        e = errno;
    }
    if (!bad && (e = injected_fault()) != 0)
        bad = 1;
    return bad ? (e ? e : EIO) : 0;
}

static int fail(char *err, const char *path, const char *what, int e)
{
    if (e)
        snprintf(err, IBC_ERRLEN, "%.200s: %s: %s", path, what, strerror(e));
    else
        snprintf(err, IBC_ERRLEN, "%.200s: %s", path, what);
    return IBC_EIO;
}

/* The file a chain of symlinks at path ends at, which need not exist yet
 * (a dangling link names the file to create).  NULL + errno on a loop or
 * out of memory.  The caller frees the result. */
static char *resolve_links(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur;
        if (hops == 40) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        char target[PATH_MAX];
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0) {
            free(cur);
            return NULL;
        }
        target[n] = '\0';
        char *next;
        if (target[0] == '/') {
            next = strdup(target);
        } else {
            /* A relative target is relative to the link's directory. */
            char *copy = strdup(cur);
            const char *dir = copy ? dirname(copy) : NULL;
            next = dir ? malloc(strlen(dir) + strlen(target) + 2) : NULL;
            if (next)
                sprintf(next, "%s/%s", dir, target);
            free(copy);
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

/* A FIFO, device or socket: written in place, no temporary, no rename. */
static int write_in_place(const char *path, ibc_util_write_fn fn, void *ctx, char *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY);
    if (fd < 0)
        return fail(err, path, "cannot open", errno);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        return fail(err, path, "cannot open", e);
    }
    int e = write_through(f, fn, ctx);
    if (fclose(f) != 0 && !e)
        e = errno;
    return e ? fail(err, path, "cannot write", e) : IBC_OK;
}

/* A regular file (or none yet): a temporary beside it, then rename.  The
 * temporary's name embeds the pid, so that a later run can tell a live
 * writer's temporary from one a killed run left (ibc_util_stale_clean). */
static int write_replace(const char *path, ibc_util_write_fn fn, void *ctx, char *err)
{
    /* Beside path, so that rename never crosses file systems. */
    size_t len = strlen(path);
    char *tmp = malloc(len + 64);
    if (!tmp)
        return fail(err, path, "out of memory", 0);
    snprintf(tmp, len + 64, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail(err, path, "cannot create a temporary file beside it", e);
    }
    /* mkstemp makes 0600; give the file the mode a plain fopen would. */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return fail(err, path, "cannot open the temporary file", e);
    }
    const char *what = "cannot write";
    int e = write_through(f, fn, ctx);
    if (!e && fsync(fileno(f)) != 0) {
        what = "cannot sync";
        e = errno;
    }
    if (fclose(f) != 0 && !e) {
        what = "cannot close";
        e = errno;
    }
    if (!e && rename(tmp, path) != 0) {
        what = "cannot rename the temporary file onto it";
        e = errno;
    }
    if (e) {
        unlink(tmp);
        free(tmp);
        return fail(err, path, what, e);
    }
    free(tmp);
    sync_dir_of(path);
    return IBC_OK;
}

int ibc_util_write_atomic(const char *path, ibc_util_write_fn fn, void *ctx, char *err)
{
    if (strcmp(path, "-") == 0) {
        int e = write_through(stdout, fn, ctx);
        return e ? fail(err, "standard output", "cannot write", e) : IBC_OK;
    }
    char *real = resolve_links(path);
    if (!real)
        return fail(err, path, "cannot resolve the symbolic link", errno);
    struct stat st;
    int rc;
    if (stat(real, &st) == 0 && S_ISDIR(st.st_mode))
        rc = fail(err, path, "is a directory", 0);
    else if (stat(real, &st) == 0 && !S_ISREG(st.st_mode))
        rc = write_in_place(real, fn, ctx, err);
    else
        rc = write_replace(real, fn, ctx, err);
    /* Name the path the user gave, not the resolved one, in any message. */
    if (rc != IBC_OK && strcmp(real, path) != 0 && strncmp(err, real, strlen(real)) == 0) {
        char msg[IBC_ERRLEN];
        snprintf(msg, sizeof msg, "%.200s (-> %.80s)%s", path, real, err + strlen(real));
        memcpy(err, msg, IBC_ERRLEN);
    }
    free(real);
    return rc;
}
/* "<base>.tmp.<pid>" followed by the end or '.': a temporary of ours. */
static long temp_pid(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
        return -1;
    const char *s = name + n + 5;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    long pid = strtol(s, &end, 10);
    return (*end == '\0' || *end == '.') && pid > 0 ? pid : -1;
}

/* "<base>.tmp.<pid>" (base NULL: any non-empty base) followed by the end or
 * '.': a temporary of ours; returns the pid, or -1. */
static long temp_pid_any(const char *name, const char *base)
{
    if (base)
        return temp_pid(name, base);
    const char *t = strstr(name, ".tmp.");
    while (t && t != name) {
        size_t n = (size_t)(t - name);
        char *b = strndup(name, n);
        long pid = b ? temp_pid(name, b) : -1;
        free(b);
        if (pid > 0)
            return pid;
        t = strstr(t + 1, ".tmp.");
    }
    return -1;
}

/* Removes dir's temporaries of base (NULL: of any file) whose writer is dead. */
static long stale_scan(const char *dir, const char *base)
{
    long removed = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid = temp_pid_any(e->d_name, base);
        /* A live pid may be a writer this very moment (or an unrelated
         * process that reused the number): only a dead one's file goes. */
        if (pid < 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *full = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (full) {
            sprintf(full, "%s/%s", dir, e->d_name);
            removed += unlink(full) == 0;
            free(full);
        }
    }
    if (d)
        closedir(d);
    return removed;
}

long ibc_util_stale_clean(const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    char *real = resolve_links(path);
    char *c1 = real ? strdup(real) : NULL, *c2 = real ? strdup(real) : NULL;
    long removed = 0;
    if (c1 && c2)
        removed = stale_scan(dirname(c1), basename(c2));
    free(c1);
    free(c2);
    free(real);
    return removed;
}

long ibc_util_stale_clean_dir(const char *dir)
{
    return stale_scan(dir, NULL);
}
