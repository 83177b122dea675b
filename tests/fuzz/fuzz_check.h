/* Shared checks of the fuzz harnesses: the error contract of every reader
 * (IBC_EINPUT + one non-empty line that fits IBC_ERRLEN).  A broken contract
 * aborts, so that libFuzzer records the input as a crash. */
#ifndef IBC_FUZZ_CHECK_H
#define IBC_FUZZ_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ibcheck/prec.h"

/* err is filled with a non-NUL byte before each call, so that a reader that
 * leaves err unterminated is seen, not hidden by the text of a previous run. */
static inline void ibc_fuzz_poison(char *err)
{
    memset(err, 'Z', IBC_ERRLEN);
}

static inline void ibc_fuzz_fail(const char *what, int rc, const char *err)
{
    fprintf(stderr, "fuzz contract broken: %s (status %d)\n", what, rc);
    if (err && memchr(err, '\0', IBC_ERRLEN))
        fprintf(stderr, "  err: %s\n", err);
    abort();
}

/* The status of a reader: IBC_OK, or IBC_EINPUT with err one line of
 * 1 to IBC_ERRLEN - 1 characters.  what names the call in the report. */
static inline void ibc_fuzz_check_status(int rc, const char *err, const char *what)
{
    char msg[160];
    if (rc == IBC_OK)
        return;
    if (rc != IBC_EINPUT) {
        snprintf(msg, sizeof msg, "%s returned neither IBC_OK nor IBC_EINPUT", what);
        ibc_fuzz_fail(msg, rc, err);
    }
    const char *nul = memchr(err, '\0', IBC_ERRLEN);
    if (!nul) {
        snprintf(msg, sizeof msg, "%s: err is not terminated within IBC_ERRLEN = %d", what, IBC_ERRLEN);
        ibc_fuzz_fail(msg, rc, NULL);
    }
    if (nul == err) {
        snprintf(msg, sizeof msg, "%s: err is empty on IBC_EINPUT", what);
        ibc_fuzz_fail(msg, rc, err);
    }
    if (memchr(err, '\n', (size_t)(nul - err)) || memchr(err, '\r', (size_t)(nul - err))) {
        snprintf(msg, sizeof msg, "%s: err holds a line break: need one line", what);
        ibc_fuzz_fail(msg, rc, err);
    }
}

#endif
