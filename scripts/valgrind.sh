#!/usr/bin/env bash
# valgrind memcheck over the unit-test programs of a build (default build/):
# every test must exit 0 with no memory error and no definite or indirect
# leak (MPFR, GMP and Arb objects are always cleared).  Prints one summary
# line per program; exit status 1 if any program fails.
#   scripts/valgrind.sh [BUILD_DIR] [REGEX]
set -uo pipefail
build="${1:-build}"
filter="${2:-.}"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found: apt-get install valgrind" >&2; exit 2; }
fail=0
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [[ "$name" =~ $filter ]] || continue
    log=$(mktemp)
    start=$(date +%s)
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
             --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
             "$t" >/dev/null 2>"$log"
    rc=$?
    errs=$(grep -Eo "ERROR SUMMARY: [0-9]+ errors" "$log" | tail -1)
    leak=$(grep -Eo "definitely lost: [0-9,]+ bytes" "$log" | tail -1)
    printf '%-28s rc=%-3s %s; %s (%ss)\n' "$name" "$rc" "${errs:-?}" "${leak:-definitely lost: 0 bytes}" "$(( $(date +%s) - start ))"
    if [ "$rc" != 0 ]; then
        fail=1
        grep -E "^==[0-9]+== (Invalid|Conditional|Use of|.*definitely|.*indirectly)" "$log" | head -5
    fi
    rm -f "$log"
done
exit $fail
