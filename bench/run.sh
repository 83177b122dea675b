#!/usr/bin/env bash
# The benchmark of issue 5 in one command: build/bench/bench_grad (ours) and
# the peers bench/peer_torch.py (PyTorch float64) and bench/peer_mpmath.py
# (mpmath on its gmpy2 backend, 256 bits), one report with the ratios and
# goals (bench/driver.py).
#
#   bench/run.sh [-o FILE] [--reps N] [--big-reps N] [--scale-reps N] [--startup-reps N] [--mpmath-n N] [--no-torch]
#   bench/run.sh --mpi [TRIALS]   the MPI row instead (issue 14): bench/mpi_speedup.sh,
#                                 small.yaml with 4 repeats at 1 and 2 ranks
#   bench/run.sh --bracket [--points N]   the per-point radius bracket at the
#                                 paper's size instead (issue 13): build/bench/bench_bracket
#
# Builds nothing: needs build/ (./test.sh, or cmake --preset release &&
# cmake --build build).  Installs python3-torch, python3-mpmath and
# python3-gmpy2 (mpmath's fast backend, what mpmath users install) with
# apt-get when they are missing (as root; otherwise prints the command and
# exits 2); --no-torch skips the PyTorch peer and its package.  Takes a few
# minutes; see bench/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmd="bench/run.sh${*:+ $*}"
if [ "${1:-}" = --mpi ]; then
    shift
    if [ ! -x build/ibcheck ] || ! command -v mpirun >/dev/null; then
        echo "bench: --mpi needs build/ibcheck built with MPI and mpirun (apt-get install libopenmpi-dev openmpi-bin)" >&2
        exit 2
    fi
    exec bench/mpi_speedup.sh "$PWD/build/ibcheck" "$@"
fi
if [ "${1:-}" = --bracket ]; then
    shift
    if [ ! -x build/bench/bench_bracket ]; then
        echo "bench: build/bench/bench_bracket not found: build first with ./test.sh" >&2
        exit 2
    fi
    OPENBLAS_NUM_THREADS=1 IBC_THREADS=1 exec build/bench/bench_bracket "$@"
fi

# Debian's python3 is where apt puts torch and mpmath (a pyenv or venv
# python3 earlier on PATH would not see them).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
mods="torch, mpmath, gmpy2"
pkgs="python3-torch python3-mpmath python3-gmpy2"
for a in "$@"; do
    if [ "$a" = --no-torch ]; then
        mods="mpmath, gmpy2"
        pkgs="python3-mpmath python3-gmpy2"
    fi
done
if [ -z "$PY" ]; then
    echo "bench: python3 not found. As root, run: apt-get update && apt-get install -y python3 $pkgs" >&2
    exit 2
fi
if ! "$PY" -c "import $mods" 2>/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench: $PY lacks one of $mods. As root, run:" >&2
        echo "  apt-get update && apt-get install -y $pkgs" >&2
        exit 2
    fi
    echo "bench: installing $pkgs" >&2
    apt-get update >&2
    # shellcheck disable=SC2086  # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >&2
    if ! "$PY" -c "import $mods"; then
        echo "bench: $PY still cannot import $mods after apt-get install" >&2
        exit 2
    fi
fi
if [ ! -x build/bench/bench_grad ]; then
    echo "bench: build/bench/bench_grad not found: build first with ./test.sh or" >&2
    echo "  cmake --preset release && cmake --build build" >&2
    exit 2
fi
IBC_BENCH_CMD="$cmd" exec "$PY" bench/driver.py "$@"
