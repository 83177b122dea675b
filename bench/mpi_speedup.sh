#!/usr/bin/env bash
# Speed-up of `mpirun -n 2 ibcheck reproduce` over the serial run (issue 14):
# small.yaml with 4 repeats (16 cells), single-threaded ranks (IBC_THREADS=1),
# TRIALS runs of each (default 3), a fresh directory each time.  Prints every
# wall time, the medians, the speed-up, the date and the load average.
#   bench/mpi_speedup.sh [IBCHECK] [TRIALS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ibcheck=${1:-$here/build/ibcheck}
trials=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/^\( *repeat:\).*/\1 4/' "$here/data/reproduce/small.yaml" >"$work/small4.yaml"
export IBC_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
wall() {   # wall DIR CMD...: seconds of one fresh run
    local d=$1 t0 t1
    shift
    rm -rf "$d"
    t0=$(date +%s.%N)
    "$@" reproduce "$work/small4.yaml" -o "$d" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
s1=() s2=()
for t in $(seq "$trials"); do
    s1+=("$(wall "$work/r1" "$ibcheck")")
    s2+=("$(wall "$work/r2" mpirun -n 2 "$ibcheck")")
    echo "trial $t: 1 rank ${s1[-1]} s, 2 ranks ${s2[-1]} s"
done
m1=$(median "${s1[@]}") m2=$(median "${s2[@]}")
echo "median: 1 rank $m1 s, 2 ranks $m2 s, speed-up $(echo "scale=2; $m1 / $m2" | bc)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
