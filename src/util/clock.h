/* util: the one monotonic clock of the library and the CLI (wall seconds
 * from an arbitrary origin; differences only). */
#ifndef IBC_UTIL_CLOCK_H
#define IBC_UTIL_CLOCK_H
#include <time.h>

static inline double ibc_util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
