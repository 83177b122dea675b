# shellcheck shell=bash
# Shared setup for run.sh and test.sh: install missing Debian packages, then
# configure and build the given CMake preset.  Sourced, not executed; the
# caller has already cd'ed to the repository root.
#
#   ibc_setup [PRESET]     PRESET defaults to release (build dir build/)
#
# Exit status 2 (from the caller's shell) when packages are missing and
# cannot be installed: the exact apt-get line is printed instead.

IBC_DEB_PACKAGES="build-essential cmake pkg-config libmpfr-dev libgmp-dev libflint-dev
  libflint-arb-dev libopenblas-dev libyaml-dev libcjson-dev gnuplot-nox
  libopenmpi-dev openmpi-bin ninja-build"

ibc_pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

ibc_missing_packages() {
    local p missing=""
    for p in $IBC_DEB_PACKAGES; do
        ibc_pkg_installed "$p" && continue
        # A compiler, make and libc headers do the job of build-essential.
        if [ "$p" = build-essential ] && ibc_pkg_installed gcc && ibc_pkg_installed make \
            && ibc_pkg_installed libc6-dev; then
            continue
        fi
        missing="$missing $p"
    done
    echo "${missing# }"
}

ibc_install_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "setup: dpkg-query not found: this script needs Debian 12 (or a derivative)." >&2
        echo "setup: install by hand: $IBC_DEB_PACKAGES" | tr -s ' \n' ' ' >&2
        echo >&2
        exit 2
    fi
    local missing
    missing=$(ibc_missing_packages)
    [ -z "$missing" ] && return 0
    echo "setup: missing Debian packages: $missing" >&2
    local -a pkgs sudo=()
    read -r -a pkgs <<<"$missing"
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "setup: need root or password-less sudo to install them. As root, run:" >&2
            echo "  apt-get update && apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
            exit 2
        fi
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
    missing=$(ibc_missing_packages)
    if [ -n "$missing" ]; then
        echo "setup: still missing after apt-get install: $missing" >&2
        exit 2
    fi
}

ibc_jobs() {
    nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2
}

# The presets build with Ninja (a fresh build took 26 s instead of 31 s with
# Make on 2 cores).  CMake refuses to reconfigure a build directory made by
# another generator: forget that configuration (the cache), keep the rest.
ibc_generator_reset() {
    local dir=$1 gen
    [ -f "$dir/CMakeCache.txt" ] || return 0
    gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")
    [ "$gen" = Ninja ] && return 0
    echo "setup: $dir was configured with '$gen'; reconfiguring it with Ninja" >&2
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
}

ibc_setup() {
    local preset=${1:-release} dir
    ibc_install_packages
    case $preset in
    release) dir=build ;;
    *) dir=build-$preset ;;
    esac
    ibc_generator_reset "$dir"
    cmake --preset "$preset"
    cmake --build --preset "$preset" -j "$(ibc_jobs)"
}
