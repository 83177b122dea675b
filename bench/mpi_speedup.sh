#!/usr/bin/env bash
# Speed-up of `mpirun -n 2 ibcheck reproduce` over the serial run (issue 14):
# small.yaml with 4 repeats (3 sigmas x 4 repeats x 2 p = 24 cells, the 8 of
# sigma save_model robust: their robust phases go out in pieces to both
# ranks), single-threaded ranks (IBC_THREADS=1),
# TRIALS runs of each (default 3), a fresh directory each time.  Prints every
# wall time with the CPU time of all ranks (the ranks must not do more work
# than the serial run), the medians, the speed-up, the date and the load
# average.  On a machine shared with other jobs the kernel may give this
# session's processes a fixed share of the CPUs (autogroup scheduling): then
# the CPU time shows it.
#   bench/mpi_speedup.sh [IBCHECK] [TRIALS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ibcheck=${1:-$here/build/ibcheck}
trials=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/^\( *repeat:\).*/\1 4/' "$here/data/reproduce/small.yaml" >"$work/small4.yaml"
export IBC_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
wall() {   # wall DIR CMD...: "WALL CPU" seconds of one fresh run (CPU: user + sys of every rank)
    local d=$1 t
    shift
    rm -rf "$d"
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" reproduce "$work/small4.yaml" -o "$d" >/dev/null 2>&1; } 2>&1)
    echo "$t" | awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
s1=() s2=()
for t in $(seq "$trials"); do
    read -r w1 c1 < <(wall "$work/r1" "$ibcheck")
    read -r w2 c2 < <(wall "$work/r2" mpirun -n 2 "$ibcheck")
    s1+=("$w1") s2+=("$w2")
    echo "trial $t: 1 rank $w1 s (CPU $c1 s), 2 ranks $w2 s (CPU $c2 s)"
done
m1=$(median "${s1[@]}") m2=$(median "${s2[@]}")
echo "median: 1 rank $m1 s, 2 ranks $m2 s, speed-up $(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.2f", a / b }')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); uptime:$(uptime)"
