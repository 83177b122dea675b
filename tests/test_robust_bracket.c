/* Brackets whose certified lower end exceeds the verified attack: a bug in one
 * of the two ends, so a numerical failure (IBC_ENUMERIC, exit 3), never bad
 * input; and in the claims a REFUTED row, not an error (issue 12). */
#include <math.h>
#include <string.h>
#include "ibcheck/ibcheck.h"
#include "ibcheck/robust.h"
#include "claim/claims.h"
#include "test_util.h"

int main(void)
{
    char err[IBC_ERRLEN] = "";
    ibc_bracket b;
    ibc_robust_bracket_init(&b, 3);
    b.lo = 0.5;
    b.hi = 0.4;
    int rc = ibc_robust_bracket_check(&b, "crafted", err);
    report("lo > hi: IBC_ENUMERIC (exit 3)", rc == IBC_ENUMERIC, "status %d: %s", rc, err);
    report("the message names the classifier", strstr(err, "crafted") != NULL, "%s", err);
    b.hi = 0.5;
    rc = ibc_robust_bracket_check(&b, "crafted", err);
    report("lo == hi: IBC_OK", rc == IBC_OK, "status %d", rc);

    /* The claims' rows on a set with one inverted point and one ray failure. */
    ibc_claim_bracket_set s;
    memset(&s, 0, sizeof s);
    ibc_bracket br[2];
    ibc_robust_bracket_init(&br[0], 3);
    ibc_robust_bracket_init(&br[1], 3);
    br[0].lo = 0.3, br[0].hi = 0.31;
    br[1].lo = 0.5, br[1].hi = 0.4;
    s.p = 3;
    s.npts = 2;
    s.br = br;
    s.inverted = 1;
    s.worst_gap = 0.1;
    s.ray_points = 2;
    ibc_rows rows;
    ibc_claim_rows_init(&rows);
    ibc_claim_bracket_rows(&rows, "test", &s, "double", "crafted");
    report("inverted point: first row refuted", rows.n == 2 && rows.row[0].verdict == IBC_REFUTED, "%s",
           rows.n ? ibc_claim_verdict_name(rows.row[0].verdict) : "no rows");
    report("clean rays: second row holds", rows.n == 2 && rows.row[1].verdict == IBC_HOLDS, "%s",
           rows.n > 1 ? ibc_claim_verdict_name(rows.row[1].verdict) : "no rows");
    ibc_claim_rows_clear(&rows);
    s.inverted = 0;
    s.ray_noflip_bad = 1;
    ibc_claim_rows_init(&rows);
    ibc_claim_bracket_rows(&rows, "test", &s, "double", "crafted");
    report("no inversion: first row holds", rows.n == 2 && rows.row[0].verdict == IBC_HOLDS, "%s",
           rows.n ? ibc_claim_verdict_name(rows.row[0].verdict) : "no rows");
    report("a flip inside (1 - 1e-6) t*: second row refuted", rows.n == 2 && rows.row[1].verdict == IBC_REFUTED,
           "%s", rows.n > 1 ? ibc_claim_verdict_name(rows.row[1].verdict) : "no rows");
    ibc_claim_rows_clear(&rows);
    ibc_robust_bracket_clear(&br[0]);
    ibc_robust_bracket_clear(&br[1]);
    ibc_robust_bracket_clear(&b);
    return failures ? 1 : 0;
}
