#!/usr/bin/env bash
# Installs a built tree into a scratch prefix, checks the installed files, and
# builds tests/install/consumer.c against it twice: with find_package(ibcheck)
# and with `pkg-config --static ibcheck`.  Runs the consumer both times.
#
#   tests/install/check_install.sh [BUILD_DIR [PREFIX]]
#   defaults: BUILD_DIR=build (relative to the repository root), PREFIX=a fresh temp dir
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/ibc-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=${2:-$work/prefix}

fail() { echo "check_install: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log" >&2; fail "cmake --install"; }

# libdir as the build configured it (lib, or lib/x86_64-linux-gnu with a /usr prefix).
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
libdir=${libdir:-lib}
for f in bin/ibcheck "$libdir/libibcheck.a" include/ibcheck/ibcheck.h include/ibcheck/prec.h \
         include/ibcheck/config.h "$libdir/cmake/ibcheck/ibcheckConfig.cmake" \
         "$libdir/cmake/ibcheck/ibcheckConfigVersion.cmake" "$libdir/cmake/ibcheck/ibcheckTargets.cmake" \
         "$libdir/pkgconfig/ibcheck.pc"; do
    [ -e "$prefix/$f" ] || fail "not installed: $prefix/$f"
done
# Every public header of the source tree is installed.
for h in "$root"/include/ibcheck/*.h; do
    [ -e "$prefix/include/ibcheck/$(basename "$h")" ] || fail "header not installed: $(basename "$h")"
done
"$prefix/bin/ibcheck" --version >/dev/null || fail "installed bin/ibcheck --version"

# 1. CMake package.
cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cfg.log" 2>&1 \
    || { cat "$work/cfg.log" >&2; fail "configure with find_package(ibcheck)"; }
cmake --build "$work/cmake-build" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; fail "build against ibcheck::ibcheck"; }
out=$("$work/cmake-build/consumer" mpfr:256) || fail "consumer (find_package) did not run"
[[ $out == *"mpfr:256 (256 bits)"* ]] || fail "consumer (find_package) printed: $out"
echo "check_install: find_package: $out"

# 2. pkg-config, static.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=$(pkg-config --cflags --libs --static ibcheck) || fail "pkg-config --static ibcheck"
# shellcheck disable=SC2086  # flags are words on purpose
cc -std=c11 -o "$work/consumer-pc" "$here/consumer.c" $flags 2>"$work/pc.log" \
    || { cat "$work/pc.log" >&2; echo "flags: $flags" >&2; fail "cc consumer.c \$(pkg-config --cflags --libs --static ibcheck)"; }
out=$("$work/consumer-pc" double) || fail "consumer (pkg-config) did not run"
[[ $out == *"double (53 bits)"* ]] || fail "consumer (pkg-config) printed: $out"
echo "check_install: pkg-config: $out"
echo "check_install: OK ($prefix)"
