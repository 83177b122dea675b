#!/usr/bin/env bash
# The benchmark of issue 5 in one command: build/bench/bench_grad (ours) and
# the peers bench/peer_torch.py (PyTorch float64) and bench/peer_mpmath.py
# (mpmath, 256 bits), one report with the ratios and goals (bench/driver.py).
#
#   bench/run.sh [-o FILE] [--reps N] [--big-reps N] [--scale-reps N] [--startup-reps N] [--mpmath-n N]
#   bench/run.sh --mpi [TRIALS]   the MPI row instead (issue 14): bench/mpi_speedup.sh,
#                                 small.yaml with 4 repeats at 1 and 2 ranks
#
# Builds nothing: needs build/ (./test.sh, or cmake --preset release &&
# cmake --build build).  Installs python3-torch and python3-mpmath with
# apt-get when they are missing (as root; otherwise prints the command and
# exits 2).  Takes a few minutes; see bench/README.md.
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

# Debian's python3 is where apt puts torch and mpmath (a pyenv or venv
# python3 earlier on PATH would not see them).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
    echo "bench: python3 not found. As root, run: apt-get update && apt-get install -y python3 python3-torch python3-mpmath" >&2
    exit 2
fi
if ! "$PY" -c 'import torch, mpmath' 2>/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench: $PY lacks torch or mpmath. As root, run:" >&2
        echo "  apt-get update && apt-get install -y python3-torch python3-mpmath" >&2
        exit 2
    fi
    echo "bench: installing python3-torch python3-mpmath" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-mpmath >&2
    if ! "$PY" -c 'import torch, mpmath'; then
        echo "bench: $PY still cannot import torch and mpmath after apt-get install" >&2
        exit 2
    fi
fi
if [ ! -x build/bench/bench_grad ]; then
    echo "bench: build/bench/bench_grad not found: build first with ./test.sh or" >&2
    echo "  cmake --preset release && cmake --build build" >&2
    exit 2
fi
IBC_BENCH_CMD="$cmd" exec "$PY" bench/driver.py "$@"
