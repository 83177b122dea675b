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

floor() {   # module name -> its floor number in FL ("" if not a module); no
            # subshell: a fork per include made this test take 6 s
    case $1 in
        prec|util|config) FL=0 ;;
        model) FL=1 ;;
        net) FL=2 ;;
        flow) FL=3 ;;
        align|ideal|robust|train|netio) FL=4 ;;   # train: config, recipe, cache, netio
        claim|ladder) FL=5 ;;
        report) FL=6 ;;
        repro) FL=7 ;;
        mpi|cli|ibcheck) FL=8 ;;   # ibcheck.h: the umbrella, for users
        *) FL="" ;;
    esac
}

# Known upward references: "file header" (docs/design.md, "Upward references").
debts=""

bad=0 seen=""
check_file() {   # file, its module
    local f=$1 mod=$2 own
    floor "$mod"
    own=$FL
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
        floor "$m"
        fl=$FL
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
    mod=${f%/*}   # parameter expansion, not basename/dirname: no forks
    check_file "$f" "${mod##*/}"
done
for f in include/ibcheck/*.h; do
    m=${f##*/}
    check_file "$f" "${m%.h}"
done
# every listed debt must still exist
while read -r d; do
    [ -n "$d" ] || continue
    printf '%s\n' "$seen" | grep -qxF "$d" || { echo "LAYER debt paid, remove it from the list: $d"; bad=1; }
done <<< "$debts"
if [ "$bad" = 0 ]; then
    echo "lint_layers: ok ($(printf '%s\n' "$debts" | grep -c .) known upward references left)"
    exit 0
fi
exit 1
