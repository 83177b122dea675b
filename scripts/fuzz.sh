#!/usr/bin/env bash
# Fuzzes ibcheck's parsers with libFuzzer (clang from Debian: apt-get install
# clang) for a bounded time each, and fails on any crash, leak, timeout or
# out-of-memory.
#
#   scripts/fuzz.sh [SECONDS]     SECONDS per harness, default 60
#
# Builds build-fuzz/ from tests/fuzz/CMakeLists.txt (library + harnesses with
# libFuzzer coverage, ASan and UBSan), then runs each harness on a fresh copy
# of its seed corpus (tests/ is never written).  A failing input is kept as
# build-fuzz/artifacts/HARNESS/crash-* (or leak-, timeout-, oom-) next to the
# full log build-fuzz/logs/HARNESS.log; reproduce it with
#   build-fuzz/HARNESS build-fuzz/artifacts/HARNESS/crash-...
# Environment: CC (default clang), IBC_FUZZ_JOBS (build jobs, default nproc).
# Exit status: 0 no finding, 1 a finding, 2 bad usage or build failure.
set -euo pipefail

secs=${1:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ] || [ "$secs" -gt 86400 ]; then
    echo "fuzz.sh: SECONDS = '$secs' is out of range: need a whole number 1..86400" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build-fuzz
cc=${CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz.sh: $cc not found: install it with: apt-get install clang" >&2
    exit 2
fi
t0=$(date +%s)

echo "== build ($cc, libFuzzer + ASan + UBSan) in build-fuzz/"
mkdir -p "$build"
if ! CC=$cc cmake -S tests/fuzz -B "$build" >"$build/configure.log" 2>&1; then
    tail -40 "$build/configure.log" >&2
    echo "fuzz.sh: configure failed (full log: $build/configure.log)" >&2
    exit 2
fi
if ! cmake --build "$build" -j"${IBC_FUZZ_JOBS:-$(nproc)}" --target fuzz_config fuzz_netio >"$build/build.log" 2>&1; then
    tail -40 "$build/build.log" >&2
    echo "fuzz.sh: build failed (full log: $build/build.log)" >&2
    exit 2
fi
t1=$(date +%s)
echo "   built in $((t1 - t0)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/ibc_fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" "$build/logs"

# name  seed directory  max input length
harnesses=(
    "fuzz_config config 65536"
    "fuzz_netio net 16384"
)
status=0
for h in "${harnesses[@]}"; do
    read -r name seeds maxlen <<<"$h"
    corpus=$work/corpus-$name
    art=$build/artifacts/$name
    log=$build/logs/$name.log
    cp -R "tests/fuzz/seeds/$seeds" "$corpus"
    rm -rf "$art"
    mkdir -p "$art"
    echo "== $name: $secs s on $(find "$corpus" -type f | wc -l) seeds (tests/fuzz/seeds/$seeds)"
    set +e
    # The harnesses write their temporaries under TMPDIR; it goes with $work.
    TMPDIR=$work/tmp "$build/$name" "$corpus" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
        -dict="tests/fuzz/$seeds.dict" -artifact_prefix="$art/" -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^(#[0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 /; s/ lim: .*//')
    echo "   execs ${execs:-?}, ${speed:-?} exec/s, peak RSS ${rss:-?} MB; last: ${last:-?}"
    found=$(find "$art" -type f | sort)
    if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
        echo "   no crash"
    else
        status=1
        echo "   FOUND (exit status $rc):"
        grep -E '^(==[0-9]+==)? ?(ERROR|SUMMARY)|fuzz contract broken|runtime error' "$log" | head -5 | sed 's/^/   /'
        printf '%s\n' "$found" | sed 's/^/   input: /'
        echo "   full log: $log"
        echo "   reproduce: $build/$name <input>"
    fi
done

echo "== done in $(($(date +%s) - t0)) s: $([ $status -eq 0 ] && echo "no crash" || echo "FINDINGS above")"
exit $status
