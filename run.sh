#!/usr/bin/env bash
# Installs missing Debian packages, builds (preset release, build/), then runs
# the claim catalogue: build/ibcheck check "$@".  Exit status is ibcheck's:
# 0 every claim holds, 1 a claim was refuted, 2 bad input (or setup failed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. scripts/setup.sh
ibc_setup release
exec build/ibcheck check "$@"
