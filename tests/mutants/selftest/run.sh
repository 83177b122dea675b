#!/usr/bin/env bash
# Self test of scripts/mutate.sh on the three mutants next to this file:
# net-selftest-killed (loss-derivative refutes it), net-selftest-comment (a
# comment change: survives the check and the unit tests) and
# net-selftest-stale (its find: text is nowhere: stale, never killed).  Layer 1
# is restricted to the claim loss-derivative and layer 2 to one unit test
# (--check, --unit), so after the first build of the scratch copy this takes
# well under a minute.  Also: usage errors and malformed mutants exit 2,
# --validate, --fast, and the scratch tree is pristine afterwards.
#
#   tests/mutants/selftest/run.sh [MUTATE_SH] [WORKDIR]
# The scratch copy is $IBC_MUTATE_DIR, or WORKDIR/scratch.
# shellcheck disable=SC2016,SC2034  # the conditions (using rc) are eval'ed by expect
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
mutate=${1:-$repo/scripts/mutate.sh}
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/ibc-mutate-selftest.XXXXXX")}
mkdir -p "$work"
export IBC_MUTATE_DIR=${IBC_MUTATE_DIR:-$work/scratch}
fail=0
expect() {   # expect WHAT CONDITION
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
K=$here/net-selftest-killed.mut
C=$here/net-selftest-comment.mut
S=$here/net-selftest-stale.mut

# Usage errors and malformed mutants: exit 2 before anything is built.
"$mutate" --jobs 0 >"$work/u1.log" 2>&1
rc=$?
expect "--jobs 0 is a usage error (exit 2)" '[ $rc -eq 2 ]'
"$mutate" --no-such-option >"$work/u2.log" 2>&1
rc=$?
expect "an unknown option is a usage error (exit 2)" '[ $rc -eq 2 ]'
printf 'file: src/net/net_impl.h\nfind: S_SET_SI(\n' >"$work/net-bad.mut"
"$mutate" --validate "$work/net-bad.mut" >"$work/u3.log" 2>&1
rc=$?
expect "a mutant without replace: is malformed (exit 2)" '[ $rc -eq 2 ] && grep -q "exactly one" "$work/u3.log"'
printf 'file: src/net/net_impl.h\nfind: a\nreplace: b\n' >"$work/nolayer-x.mut"
"$mutate" --validate "$work/nolayer-x.mut" >"$work/u4.log" 2>&1
rc=$?
expect "a mutant whose name has no known layer is refused (exit 2)" '[ $rc -eq 2 ]'
printf 'file: ../outside.c\nfind: a\nreplace: b\n' >"$work/net-outside.mut"
"$mutate" --validate "$work/net-outside.mut" >"$work/u5.log" 2>&1
rc=$?
expect "a file: outside the repository is refused (exit 2)" '[ $rc -eq 2 ]'

# --validate: no build; stale is exit 1.
"$mutate" --validate "$K" "$C" "$S" >"$work/validate.log" 2>&1
rc=$?
expect "--validate: exit 1 with a stale mutant" '[ $rc -eq 1 ]'
expect "--validate: the stale one is named, the others ok" \
    'grep -q "^stale  net-selftest-stale" "$work/validate.log" && grep -q "^ok     net-selftest-killed" "$work/validate.log" && grep -q "^ok     net-selftest-comment" "$work/validate.log"'

# The three mutants, restricted layers.
"$mutate" --jobs 2 --check loss-derivative --unit '^unit\.test_model$' -o "$work/table.md" "$K" "$C" "$S" \
    >"$work/run.log" 2>&1
rc=$?
cat "$work/run.log"
expect "run: exit 1 (a survivor and a stale mutant)" '[ $rc -eq 1 ]'
expect "killed by the check, unit layer not run, with the refuted row" \
    'grep -Eq "^\| net-selftest-killed \| net \| killed \| not run \| loss-derivative: " "$work/table.md"'
expect "the comment change survives both layers" \
    'grep -Eq "^\| net-selftest-comment \| net \| survived \| survived \| " "$work/table.md"'
expect "the mutant that does not apply is stale" \
    'grep -Eq "^\| net-selftest-stale \| net \| stale \| not run \| find: occurs 0 times" "$work/table.md"'
expect "scores: check 1/2, check + unit 1/2, one stale" \
    'grep -q "check alone kills: 1/2 (50.0%)" "$work/table.md" && grep -q "check + unit tests kill: 1/2 (50.0%)" "$work/table.md" && grep -q "stale: 1 (net-selftest-stale)" "$work/table.md"'
expect "the run says it was restricted" 'grep -q "^restricted run" "$work/table.md"'
expect "the scratch tree is pristine afterwards" \
    'cmp -s "$repo/src/net/net_impl.h" "$IBC_MUTATE_DIR/tree/src/net/net_impl.h"'

# --fast: the claims: line kills it without the (restricted) full check.
"$mutate" --jobs 2 --fast --claims-only --no-baseline --check ideal-radius-F "$K" >"$work/fast.log" 2>&1
rc=$?
cat "$work/fast.log"
expect "--fast: killed by its claims: line, exit 0 (1/1, nothing stale)" \
    '[ $rc -eq 0 ] && grep -q "\[fast: loss-derivative\]" "$work/fast.log"'

[ "$fail" -eq 0 ] && echo "mutation self test: all passed" || echo "mutation self test: FAILED"
exit "$fail"
