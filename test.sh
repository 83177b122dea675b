#!/usr/bin/env bash
# Same setup as run.sh, then every CTest label except `long`, `bench` and `mutation`.
# Extra arguments go to ctest (e.g. ./test.sh -L unit, ./test.sh -R balance).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. scripts/setup.sh
ibc_setup release
exec ctest --test-dir build --output-on-failure -j2 -LE 'long|bench|mutation' "$@"
