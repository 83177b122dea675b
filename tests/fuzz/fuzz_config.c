/* libFuzzer harness of the YAML config reader (src/repro/config.c).
 * Every input must give IBC_OK or IBC_EINPUT with a one-line error; an
 * accepted config must pass the range check on its own, keep passing it
 * after --scale, and give linspace grids that start at start, end at stop
 * (count >= 2; numpy's linspace with count 1 is [start]) and never decrease.  Anything else aborts (libFuzzer reports a crash);
 * ASan/UBSan and the leak checker catch the rest. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "ibcheck/repro.h"
#include "fuzz_check.h"

static void check_grid(const ibc_repro_config *c, double (*at)(const ibc_repro_config *, long),
                       double start, double stop, long count, const char *what)
{
    double prev = start;
    for (long i = 0; i < count; i++) {
        double x = at(c, i);
        if (!isfinite(x) || x < prev || (i == 0 && x != start) || (i == count - 1 && count > 1 && x != stop)) {
            fprintf(stderr, "%s[%ld] = %.17g (start %.17g, stop %.17g, count %ld)\n", what, i, x, start,
                    stop, count);
            ibc_fuzz_fail("linspace grid not finite, not monotone or not from start to stop", IBC_OK, NULL);
        }
        prev = x;
    }
    if (!isnan(at(c, count)) || !isnan(at(c, -1)))
        ibc_fuzz_fail("linspace outside 0..count-1 is not NaN", IBC_OK, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ibc_repro_config c;
    char err[IBC_ERRLEN];
    ibc_fuzz_poison(err);
    int rc = ibc_repro_config_parse(&c, (const char *)data, size, "fuzz.yaml", err);
    ibc_fuzz_check_status(rc, err, "ibc_repro_config_parse");
    if (rc != IBC_OK)
        return 0;

    ibc_fuzz_poison(err);
    rc = ibc_repro_config_check(&c, err);
    if (rc != IBC_OK)
        ibc_fuzz_fail("an accepted config fails ibc_repro_config_check", rc, err);
    check_grid(&c, ibc_repro_sigma, c.sigma_start, c.sigma_stop, c.sigma_count, "sigma");
    check_grid(&c, ibc_repro_eps, c.eps_start, c.eps_stop, c.eps_count, "eps");

    /* --scale: a factor below 1 is refused and leaves c alone; a valid one
     * (chosen from the input, so the fuzzer explores several) gives OK or a
     * one-line refusal, and an OK result passes the check again. */
    ibc_repro_config before = c;
    ibc_fuzz_poison(err);
    rc = ibc_repro_config_scale(&c, 0.5, err);
    if (rc != IBC_EINPUT)
        ibc_fuzz_fail("--scale 0.5 is not refused", rc, err);
    ibc_fuzz_check_status(rc, err, "ibc_repro_config_scale(0.5)");
    if (memcmp(&before, &c, sizeof c) != 0)
        ibc_fuzz_fail("a refused --scale changed the config", rc, NULL);
    double F = 1.0 + (double)((size ? data[size - 1] : 0) % 64) * 0.75;
    ibc_fuzz_poison(err);
    rc = ibc_repro_config_scale(&c, F, err);
    ibc_fuzz_check_status(rc, err, "ibc_repro_config_scale");
    if (rc == IBC_OK) {
        ibc_fuzz_poison(err);
        if ((rc = ibc_repro_config_check(&c, err)) != IBC_OK)
            ibc_fuzz_fail("a scaled config fails ibc_repro_config_check", rc, err);
        if (c.n_train > before.n_train || c.hidden_width > before.hidden_width || c.scale != F)
            ibc_fuzz_fail("--scale grew n_train or hidden_width, or did not record F", rc, NULL);
    }
    return 0;
}
