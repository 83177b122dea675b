#!/usr/bin/env bash
# MPI runs of ibcheck (issue 14), one case per CTest test (label mpi):
#   mpi.sh IBCHECK MPIRUN CONFIG WORKDIR CASE SERIAL
# SERIAL: the serial run of CONFIG (the fixture fixture.repro-serial), read only.
# CASE:
#   reproduce  small.yaml on 3 ranks: every cell file, results.csv and every
#              summary file equal the serial run's (wall-clock fields aside);
#              then one cell removed and a rerun on 3 ranks recomputes exactly
#              that cell (the other files untouched), the results unchanged
#   check      `mpirun -n 3 ibcheck check C...` prints the `check --jobs 1`
#              table byte for byte, with the same exit status
#   kill       rank 1 killed (SIGKILL) while it computes a cell or a piece
#              of a robust phase: the job stops with a failure status, the
#              record par/running.txt names rank 1's task, which is not
#              saved, and so does rank 0's line when Open MPI let it out
#              (mpirun may SIGKILL rank 0 before its SIGTERM handler runs: a
#              loaded machine showed it in about 1 run of 10); the finished
#              cells stay saved, and a rerun names what the last run lost,
#              resumes, removes the record and ends with the serial results
#   spread     the robust cells (sigma save_model) alone on 3 ranks: their
#              robust phases go out in pieces, so the brackets of a cell are
#              computed on more than one rank (the line "brackets computed on
#              N ranks (...)"), and the cells and summaries equal the serial
#              run's byte for byte (the fold is in piece order); so do
#              the serial run's with IBC_THREADS=3 (pieces over threads)
#   input      bad input on 3 ranks: exit 2 and one line from ibcheck, before
#              any cell (more ranks than cells is allowed: extra ranks idle)
# Open MPI refuses to run as root unless told: allowed here, for this test only.
set -uo pipefail
IBCHECK=$1 MPIRUN=$2 CONFIG=$3 WORK=$4 CASE=$5 SERIAL=$6
[ -f "$SERIAL/results.csv" ] || { echo "FAIL: no serial run in $SERIAL (fixture.repro-serial)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's own allocations are not ours to check under LeakSanitizer.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPI=("$MPIRUN" --oversubscribe -n 3)
rm -rf "$WORK/$CASE"
mkdir -p "$WORK/$CASE"
cd "$WORK/$CASE" || exit 1

fail() { echo "FAIL: $*" >&2; exit 1; }

# Cell and summary files, wall-clock fields removed: "seconds*" and
# "resumed_step" lines of JSON, the seconds* columns of results.csv.
strip_json() { grep -v -E '^[[:space:]]*"(seconds[a-z_]*|resumed_step)":' "$1"; }
strip_csv() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) keep[i] = $i !~ /^seconds/ }
             { s = ""; for (i = 1; i <= NF; i++) if (keep[i]) s = s (s == "" ? "" : ",") $i; print s }' "$1"
}
same_results() {   # same_results DIR_A DIR_B
    local a=$1 b=$2 f n=0
    for f in "$a"/cells/*.json; do
        [ -f "$b/cells/${f##*/}" ] || fail "$b lacks cells/${f##*/}"
        cmp -s <(strip_json "$f") <(strip_json "$b/cells/${f##*/}") || fail "cells/${f##*/} differs between $a and $b"
        n=$((n + 1))
    done
    [ "$(ls "$b"/cells/*.json | wc -l)" = "$n" ] || fail "$b holds other cells than $a"
    cmp -s <(strip_csv "$a/results.csv") <(strip_csv "$b/results.csv") || fail "results.csv differs between $a and $b"
    cmp -s <(strip_json "$a/results.json") <(strip_json "$b/results.json") || fail "results.json differs"
    for f in distance.csv contrib.csv cos_p1.csv cos_p3.csv robust.csv robust_ci.csv; do
        cmp -s "$a/$f" "$b/$f" || fail "$f differs between $a and $b"
    done
    echo "ok: $n cells, results.csv, results.json and the panels' files equal ($a, $b)"
}

case $CASE in
reproduce)
    "${MPI[@]}" "$IBCHECK" reproduce "$CONFIG" -o par >par.out 2>par.err || fail "3 ranks: $(cat par.err)"
    grep -q "cells computed on 3 ranks" par.err || fail "no summary line of 3 ranks: $(cat par.err)"
    same_results "$SERIAL" par
    # Resume: remove one cell, rerun; only it is computed again.
    victim=$(ls par/cells/*.json | sed -n 2p)
    touch -d '2001-01-01' par/cells/*.json
    rm "$victim"
    "${MPI[@]}" "$IBCHECK" reproduce "$CONFIG" -o par >par2.out 2>par2.err || fail "rerun: $(cat par2.err)"
    grep -q "1 cells computed on 3 ranks, 5 reused" par2.err || fail "rerun did not recompute exactly 1 cell: $(cat par2.err)"
    [ "$(grep -c ' done on rank ' par2.err)" = 1 ] || fail "rerun computed more than one cell: $(cat par2.err)"
    new=$(find par/cells -name '*.json' -newermt '2002-01-01')
    [ "$new" = "$victim" ] || fail "rerun rewrote [$new], expected only $victim"
    same_results "$SERIAL" par
    echo "ok: rerun recomputed exactly ${victim##*/}"
    ;;
check)
    claims=(loss-derivative extremal-vectors ideal-radius-F)
    "$IBCHECK" check "${claims[@]}" --jobs 1 >one.md 2>one.err
    rc1=$?
    "${MPI[@]}" "$IBCHECK" check "${claims[@]}" >three.md 2>three.err
    rc3=$?
    [ "$rc1" = "$rc3" ] || fail "exit status: --jobs 1 $rc1, 3 ranks $rc3"
    [ -s one.md ] || fail "empty table: $(cat one.err)"
    cmp one.md three.md || fail "tables differ: $(diff one.md three.md | head)"
    "${MPI[@]}" "$IBCHECK" check "${claims[@]}" -o three.csv >/dev/null 2>&1 || fail "-o on 3 ranks"
    "$IBCHECK" check "${claims[@]}" --jobs 1 -o one.csv >/dev/null 2>&1
    cmp one.csv three.csv || fail "-o tables differ"
    echo "ok: check on 3 ranks prints the --jobs 1 table ($(wc -l <one.md) lines), exit $rc1; -o too"
    ;;
kill)
    "${MPI[@]}" "$IBCHECK" reproduce "$CONFIG" -o par >par.out 2>par.err &
    mp=$!
    # Rank 1 gets a robust cell first (largest first), then pieces of the
    # robust phases: kill it while it runs either.
    # Since the faster brackets the whole job takes about 0.9 s here (rank
    # 1's robust cell 0.8 s): a kill 1 s after its start came after the end,
    # so poll finely and kill 0.2 s into it.
    for _ in $(seq 6000); do grep -q ' on rank 1 \.\.\.' par.err && break; sleep 0.01; done
    sleep 0.2
    victim=""
    for p in $(pgrep -P "$mp"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
    done
    [ -n "$victim" ] || fail "rank 1 not found among mpirun's children: $(cat par.err)"
    kill -KILL "$victim"
    wait "$mp"
    rc=$?
    [ "$rc" != 0 ] || fail "mpirun exited 0 after a rank was killed"
    # The record names the tasks in flight, rank 1's among them: a cell, or a
    # piece of one ("s1_r0_p3 [points 8-15] on rank 1").
    [ -f par/running.txt ] || fail "no record par/running.txt after the kill: $(cat par.err)"
    running=$(cat par/running.txt)
    lost=$(echo "$running" | sed -n 's/.* \(s[0-9]*_r[0-9]*_p[0-9]*\)\( \[[^]]*\]\)\{0,1\} on rank 1\(,.*\)\{0,1\}$/\1/p')
    [ -n "$lost" ] || fail "the record does not name rank 1's task: $running"
    [ ! -f "par/cells/$lost.json" ] || fail "the lost cell $lost was saved"
    # Rank 0's line, when it got out, names the same tasks.
    line=$(grep "the MPI job was stopped" par.err)
    if [ -n "$line" ]; then
        echo "$line" | grep -qF "while $running: " || fail "rank 0's line and the record differ: $line / $running"
        echo "$line" | grep -q "rerun the same command to resume" || fail "rank 0's line says no way on: $line"
        said="rank 0 named it too"
    else
        said="rank 0 was killed before its line"
    fi
    saved=$(ls par/cells/*.json 2>/dev/null | wc -l)
    echo "ok: killed rank 1 in cell $lost: mpirun exited $rc, the record names it, $said, $saved finished cells kept"
    "${MPI[@]}" "$IBCHECK" reproduce "$CONFIG" -o par >par2.out 2>par2.err || fail "rerun: $(cat par2.err)"
    grep -qF "the last run was stopped while $running: resuming" par2.err ||
        fail "the rerun did not name what the last run lost ($running): $(cat par2.err)"
    grep -q "reused" par2.err || fail "no summary line: $(cat par2.err)"
    grep -q " $saved reused" par2.err || fail "rerun did not reuse the $saved saved cells: $(cat par2.err)"
    [ ! -e par/running.txt ] || fail "the record outlived a finished run"
    same_results "$SERIAL" par
    ;;
spread)
    "$IBCHECK" reproduce "$CONFIG" --sigma-index 1 -o serial >serial.out 2>serial.err || fail "serial run: $(cat serial.err)"
    "${MPI[@]}" "$IBCHECK" reproduce "$CONFIG" --sigma-index 1 -o par >par.out 2>par.err
    rc=$?
    [ "$rc" = 0 ] || fail "3 ranks: exit $rc: $(cat par.err)"
    lines=$(grep -E 'brackets computed on [0-9]+ ranks? \(' par.err)
    [ "$(echo "$lines" | grep -c .)" = 2 ] || fail "need one brackets line per robust cell: $(cat par.err)"
    echo "$lines" | grep -Eq 'brackets computed on [23] ranks' || fail "every cell's brackets on one rank: $lines"
    echo "$lines"
    same_results serial par
    # The serial run spreads the same pieces over IBC_THREADS threads: same bits.
    IBC_THREADS=3 "$IBCHECK" reproduce "$CONFIG" --sigma-index 1 -o threads >/dev/null 2>threads.err ||
        fail "serial run, IBC_THREADS=3: $(cat threads.err)"
    same_results serial threads
    ;;
input)
    expect2() {   # expect2 TAG WHAT ARGS...: exit 2, one ibcheck line, nothing computed
        local tag=$1 what=$2
        shift 2
        "${MPI[@]}" "$IBCHECK" "$@" >"$tag.out" 2>"$tag.err"
        local rc=$?
        [ "$rc" = 2 ] || fail "$what: exit $rc, need 2: $(cat "$tag.err")"
        [ "$(grep -c '^ibcheck: ' "$tag.err")" = 1 ] || fail "$what: need one ibcheck line: $(cat "$tag.err")"
        grep -q ' on rank ' "$tag.err" && fail "$what: work started: $(cat "$tag.err")"
        echo "ok: $what: exit 2, $(grep '^ibcheck: ' "$tag.err")"
    }
    # Side by side: each launch mostly waits for mpirun's start-up.
    expect2 in1 "bad --p" reproduce "$CONFIG" --p 2 -o d1 &
    j1=$!
    expect2 in2 "missing config" reproduce nonexistent.yaml -o d2 &
    j2=$!
    expect2 in3 "unwritable -o" check loss-derivative -o /nonexistent/t.md &
    j3=$!
    expect2 in4 "unknown claim" check no-such-claim &
    j4=$!
    expect2 in5 "one-rank command" train --p 3 --steps 10 -o net.json &
    j5=$!
    for j in $j1 $j2 $j3 $j4 $j5; do wait "$j" || exit 1; done
    [ ! -e net.json ] && [ ! -e d1 ] && [ ! -e d2 ] || fail "a file was written on bad input"
    # More ranks than cells: the extra ranks idle.
    "$MPIRUN" --oversubscribe -n 4 "$IBCHECK" reproduce "$CONFIG" --sigma-index 0 -o d3 >/dev/null 2>many.err ||
        fail "4 ranks for 2 cells: $(cat many.err)"
    grep -q "2 cells computed on 4 ranks" many.err || fail "4 ranks for 2 cells: $(cat many.err)"
    echo "ok: 4 ranks for 2 cells"
    ;;
*)
    fail "unknown case $CASE"
    ;;
esac
