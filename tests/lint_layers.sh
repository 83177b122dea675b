#!/usr/bin/env bash
# The layers of docs/design.md, kept (issue 15): a module of src/ includes
# only headers of its own floor or below, and nothing under src/ or
# include/ reaches into proofs_numeric/ (the claims library sits above the
# core).  The upward references that remain are listed below as known debts,
# each by file and header; a new one fails the test, and a debt that is
# paid must be removed from the list (else the test fails too, so the list
# stays true).
# Run as: lint_layers.sh <repository root>
set -u
cd "${1:?usage: lint_layers.sh ROOT}" || exit 2

floor() {   # module name -> floor number
    case $1 in
        prec|util|config) echo 0 ;;
        model) echo 1 ;;
        net|netio) echo 2 ;;
        flow) echo 3 ;;
        align|ideal|robust) echo 4 ;;
        claim|ladder) echo 5 ;;
        report) echo 6 ;;
        repro) echo 7 ;;
        mpi|cli|ibcheck) echo 8 ;;   # ibcheck.h: the umbrella, for users
        *) echo "" ;;
    esac
}

# Known upward references: "file header" (docs/design.md, "Upward references").
debts="src/train/netio.c ibcheck/report.h
include/ibcheck/netio.h ibcheck/claim.h"

bad=0 seen=""
check_file() {   # file, its module
    local f=$1 mod=$2 own
    own=$(floor "$mod")
    [ -n "$own" ] || return 0
    while read -r inc; do
        case $inc in
            *proofs_numeric*) echo "LAYER $f includes $inc: the core never reaches into the claims library"; bad=1; continue ;;
        esac
        local m
        case $inc in
            ibcheck/*) m=${inc#ibcheck/}; m=${m%.h} ;;
            */*) m=${inc%%/*} ;;
            *) continue ;;   # a local header of the same folder
        esac
        local fl
        fl=$(floor "$m")
        [ -n "$fl" ] || continue
        if [ "$fl" -gt "$own" ]; then
            if printf '%s\n' "$debts" | grep -qxF "$f $inc"; then
                seen="$seen
$f $inc"
            else
                echo "LAYER $f (floor $own, $mod) includes $inc (floor $fl, $m)"
                bad=1
            fi
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
}

for f in src/*/*.c src/*/*.h; do
    mod=$(basename "$(dirname "$f")")
    check_file "$f" "$mod"
done
for f in include/ibcheck/*.h; do
    m=$(basename "$f" .h)
    check_file "$f" "$m"
done
# every listed debt must still exist
while read -r d; do
    [ -n "$d" ] || continue
    printf '%s\n' "$seen" | grep -qxF "$d" || { echo "LAYER debt paid, remove it from the list: $d"; bad=1; }
done <<< "$debts"
if [ "$bad" = 0 ]; then
    echo "lint_layers: ok ($(printf '%s\n' "$debts" | wc -l) known upward references left)"
    exit 0
fi
exit 1
