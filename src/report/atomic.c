/* report: atomic file output (DESIGN: no partial output).  A reader of PATH
 * sees the old file or the whole new one, never a half-written one. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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

int ibc_report_write_atomic(const char *path, ibc_write_fn fn, void *ctx, char *err)
{
    /* The temporary sits beside PATH so that rename never crosses filesystems. */
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        snprintf(err, IBC_ERRLEN, "%.200s: out of memory", path);
        return IBC_EIO;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, IBC_ERRLEN, "%.200s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return IBC_EIO;
    }
    /* mkstemp makes 0600; give the file the mode a plain fopen would. */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, IBC_ERRLEN, "%.200s: cannot open the temporary file: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return IBC_EIO;
    }
    const char *what = NULL;
    int saved = 0;
    errno = 0;
    if (fn(f, ctx) != 0 || ferror(f))
        what = "cannot write";
    else if (fflush(f) != 0)
        what = "cannot write";
    else if (fsync(fileno(f)) != 0)
        what = "cannot sync";
    saved = errno;
    if (fclose(f) != 0 && !what) {
        what = "cannot close";
        saved = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "cannot rename the temporary file onto it";
        saved = errno;
    }
    if (what) {
        if (saved)
            snprintf(err, IBC_ERRLEN, "%.200s: %s: %s", path, what, strerror(saved));
        else
            snprintf(err, IBC_ERRLEN, "%.200s: %s", path, what);
        unlink(tmp);
        free(tmp);
        return IBC_EIO;
    }
    free(tmp);
    sync_dir_of(path);
    return IBC_OK;
}
