#!/usr/bin/env bash
# Soak run of reproduce's resume (issue 16, item 5; not part of CI).
#
# Runs `ibcheck reproduce CONFIG --scale S` for about MINUTES minutes, killing
# it at KILLS random points with SIGKILL and SIGTERM in turn and restarting it
# each time on the same directory.  An uninterrupted run of the same config
# goes on beside it (one thread each, so the two fit on two cores).  At the
# end the soak run is stopped, the reference is let finish every cell the
# soak finished, cells only one side has (and running checkpoints) are set
# aside, the summaries of both are rewritten from the same saved cells, and
# every result file must be identical byte for byte, except the wall-clock
# fields: "seconds*" and "resumed_step" in JSON, "seconds*" columns in CSV.
#
#   scripts/soak.sh [--minutes 30] [--kills 10] [--scale 8]
#                   [--config data/reproduce/paper.yaml] [--ibcheck build/ibcheck]
#                   [--dir ${TMPDIR:-/tmp}/ibcheck-soak] [--seed N]
#
# Prints one line per kill (time, signal, exit status, cells saved) and a
# summary: kills, restarts that resumed (a checkpoint or saved cells found),
# cells compared, wall time, and the verdict.  Exit 0 when every file
# matches, 1 when one differs, 2 on a usage error, 3 when a run fails.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=30 KILLS=10 SCALE=8 CONFIG=$here/data/reproduce/paper.yaml IBCHECK=$here/build/ibcheck
DIR=${TMPDIR:-/tmp}/ibcheck-soak SEED=$(date +%s)
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        --kills) KILLS=$2; shift 2 ;;
        --scale) SCALE=$2; shift 2 ;;
        --config) CONFIG=$2; shift 2 ;;
        --ibcheck) IBCHECK=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "soak: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $MINUTES$KILLS in *[!0-9]*) echo "soak: --minutes and --kills take whole numbers" >&2; exit 2 ;; esac
[ "$MINUTES" -ge 1 ] && [ "$KILLS" -ge 1 ] || { echo "soak: --minutes and --kills must be >= 1" >&2; exit 2; }
[ -x "$IBCHECK" ] || { echo "soak: no ibcheck at $IBCHECK (build first, or --ibcheck PATH)" >&2; exit 2; }
[ -f "$CONFIG" ] || { echo "soak: no config at $CONFIG" >&2; exit 2; }
CONFIG=$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")
RANDOM=$SEED
echo "soak: seed $SEED (replay with --seed $SEED), $KILLS kills in $MINUTES min, $CONFIG --scale $SCALE"
rm -rf "$DIR" && mkdir -p "$DIR" || exit 2
cd "$DIR" || exit 2
export IBC_THREADS=1 OPENBLAS_NUM_THREADS=1
ARGS=("$CONFIG" --scale "$SCALE" -q)
now() { date +%s.%N; }
calc() { awk "BEGIN { x = $1; if (x < 0) x = 0; printf \"%.3f\", x }"; }
cells() { ls "$1"/cells/*.json 2> /dev/null | wc -l; }

"$IBCHECK" reproduce "${ARGS[@]}" -o ref > ref.log 2>&1 &
ref=$!
t0=$(now)
budget=$((MINUTES * 60))
# KILLS distinct random kill times in (0, budget), sorted
times=$(for _ in $(seq "$KILLS"); do echo $(( (RANDOM * 32768 + RANDOM) % (budget - 1) + 1 )); done | sort -n)
resumes=0 k=0 restarts=0
start_soak() {
    [ -n "$(ls soak/cells/ 2> /dev/null)" ] && resumes=$((resumes + 1))
    "$IBCHECK" reproduce "${ARGS[@]}" -o soak >> soak.log 2>&1 &
    pid=$!
}
start_soak
for t in $times; do
    sleep "$(calc "$t0 + $t - $(now)")"
    k=$((k + 1))
    sig=KILL
    [ $((k % 2)) -eq 0 ] && sig=TERM
    if kill -0 "$pid" 2> /dev/null; then
        kill -"$sig" "$pid"
        wait "$pid"
        st=$?
    else
        wait "$pid"
        st="finished ($?)"
    fi
    printf 'kill %2d at %5.0f s: SIG%s, exit %s, %d cells saved\n' "$k" "$(calc "$(now) - $t0")" "$sig" "$st" "$(cells soak)"
    restarts=$((restarts + 1))
    start_soak
done
sleep "$(calc "$t0 + $budget - $(now)")"
kill -TERM "$pid" 2> /dev/null
wait "$pid" 2> /dev/null
soak_wall=$(calc "$(now) - $t0")
grep -v "^ibcheck: removed" soak.log | grep -q "ibcheck:" && { echo "soak: the soak run reported an error:"; cat soak.log; }

# the reference must hold every cell the soak finished
for s in soak/cells/*.json; do
    [ -e "$s" ] || break
    while [ ! -f "ref/cells/$(basename "$s")" ] && kill -0 "$ref" 2> /dev/null; do sleep 2; done
done
kill -TERM "$ref" 2> /dev/null
wait "$ref" 2> /dev/null
n=$(cells soak)
[ "$n" -gt 0 ] || { echo "soak: the soak run finished no cell in $MINUTES min: nothing to compare"; exit 3; }

# the same saved cells on both sides, then summaries rewritten from them
mkdir -p aside/ref aside/soak
for side in ref soak; do
    other=soak
    [ $side = soak ] && other=ref
    for f in "$side"/cells/*; do
        [ -e "$f" ] || continue
        case $f in *.json) [ -f "$other/cells/$(basename "$f")" ] && continue ;; esac
        mv "$f" aside/$side/
    done
done
one=$(basename "$(ls soak/cells/*.json | head -1)" .json)      # s<I>_r<R>_p<P>
I=${one#s}; I=${I%%_*}; R=${one#*_r}; R=${R%%_*}; P=${one##*_p}
for side in ref soak; do
    rm -f "$side"/results.* "$side"/*.csv "$side"/figure.*
    "$IBCHECK" reproduce "${ARGS[@]}" --sigma-index "$I" --repeat-index "$R" --p "$P" -o "$side" > "summary-$side.log" 2>&1 \
        || { echo "soak: rewriting the $side summaries failed:"; cat "summary-$side.log"; exit 3; }
done

# wall-clock fields differ by design: JSON lines "seconds*"/"resumed_step",
# and CSV columns whose header starts with "seconds"
strip() {
    case $1 in
        *.json) grep -v -e '"seconds' -e '"resumed_step"' "$1" ;;
        *.csv) awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) drop[i] = ($i ~ /^seconds/) }
                        { s = ""; for (i = 1; i <= NF; i++) if (!drop[i]) s = s $i ","; print s }' "$1" ;;
        *) cat "$1" ;;
    esac
}
diffs=0 compared=0
for f in $(cd ref && find . -type f | sort); do
    compared=$((compared + 1))
    if [ ! -f "soak/$f" ]; then
        echo "DIFF $f: missing in the soak run"; diffs=$((diffs + 1))
    elif ! cmp -s <(strip "ref/$f") <(strip "soak/$f"); then
        echo "DIFF $f"; diffs=$((diffs + 1))
    fi
done
# A cell still running on both sides: its robust progress (per-point
# brackets, cells/<cell>.ckpt.robust) must agree on every point both reached.
partial=0
for a in aside/soak/*.ckpt.robust; do
    [ -e "$a" ] || break
    b=aside/ref/$(basename "$a")
    [ -f "$b" ] || continue
    [ "$(sed -n 2p "$a")" = "$(sed -n 2p "$b")" ] || { echo "DIFF $(basename "$a"): another network or test set"; diffs=$((diffs + 1)); continue; }
    ka=$(sed -n 3p "$a" | cut -d' ' -f1) kb=$(sed -n 3p "$b" | cut -d' ' -f1)
    k=$((ka < kb ? ka : kb))
    if [ "$k" -gt 0 ] && ! cmp -s <(sed -n "4,$((3 + k))p" "$a") <(sed -n "4,$((3 + k))p" "$b"); then
        echo "DIFF $(basename "$a"): the first $k bracket points differ"; diffs=$((diffs + 1))
    fi
    partial=$((partial + k))
    echo "soak: running cell $(basename "$a" .ckpt.robust): soak at point $ka, reference at $kb; the first $k agree"
done
echo "soak: $KILLS kills ($(( (KILLS + 1) / 2 )) SIGKILL, $((KILLS / 2)) SIGTERM), $resumes restarts found saved state," \
     "$n cells compared ($compared files) and $partial bracket points of running cells, soak wall $(printf %.0f "$soak_wall") s, date $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $diffs -eq 0 ]; then
    echo "soak: PASS: every result file is identical to the uninterrupted run's"
    exit 0
fi
echo "soak: FAIL: $diffs of $compared files differ"
exit 1
