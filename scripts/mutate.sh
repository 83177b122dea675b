#!/usr/bin/env bash
# Mutation harness (issue 12): applies each plausible formula error of
# tests/mutants/*.mut to a scratch copy of the repository, rebuilds
# incrementally, and asks whether the default `ibcheck check` (layer 1) and,
# if the mutant survives it, the unit tests `ctest -L unit` (layer 2) notice.
# docs/mutation.md describes the mutant format, the options and the timing.
#
#   scripts/mutate.sh [options] [MUTANT...]      (default: tests/mutants/*.mut)
#
# Exit status: 0 the goals are met (the check alone kills >= 90% of the
# mutants that apply, check + unit tests kill all of them, none is stale),
# 1 they are not, 2 usage error or a malformed mutant, 3 the unmutated copy
# does not build or does not pass (no mutant can then be judged).
set -uo pipefail
# The whole script is one compound command: bash parses it before running, so
# editing this file during a (long) run cannot derail that run.
{

usage() {
    cat <<'EOF'
usage: scripts/mutate.sh [options] [MUTANT...]
  MUTANT             a .mut file (default: every tests/mutants/*.mut)
  --jobs N, -j N     worker processes of `ibcheck check`, build and ctest jobs (default 2)
  --claims-only      layer 1 only: no unit tests (the check + unit score is then not judged)
  --fast             per mutant, first run the claims of its `claims:` line; if they
                     do not kill it, run the whole default catalogue (same verdicts)
  -o FILE            also write the result table as Markdown to FILE
  --timeout S        a check or ctest run longer than S seconds kills the mutant (default 1800)
  --no-baseline      skip the run of the unmutated copy (use only when it is known to pass)
  --validate         only parse the mutants and check that each applies exactly once
                     (no build; exit 0 all apply, 1 some are stale, 2 malformed)
  --check "ID..."    testing the harness: layer 1 runs only these claims
  --unit REGEX       testing the harness: layer 2 runs only the unit tests matching REGEX
  --keep             keep the scratch copy (a temporary one is removed otherwise)
  -h, --help         this text
Environment: IBC_MUTATE_DIR=DIR keeps the scratch copy in DIR and reuses its build
(incremental across runs); otherwise a temporary directory under ${TMPDIR:-/tmp}.
EOF
}

die_usage() {
    echo "mutate: $*" >&2
    echo "usage: scripts/mutate.sh [--claims-only] [--fast] [--jobs N] [-o FILE] [MUTANT...] (--help)" >&2
    exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=2
claims_only=0
fast=0
out_md=""
tmo=1800
baseline=1
validate=0
only_check=""
unit_re=""
keep=0
mutants=()
while [ $# -gt 0 ]; do
    case "$1" in
        -j|--jobs) [ $# -ge 2 ] || die_usage "$1 needs a value"; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#--jobs=}; shift ;;
        --claims-only) claims_only=1; shift ;;
        --fast) fast=1; shift ;;
        -o|--output) [ $# -ge 2 ] || die_usage "$1 needs a file"; out_md=$2; shift 2 ;;
        --timeout) [ $# -ge 2 ] || die_usage "$1 needs a value"; tmo=$2; shift 2 ;;
        --no-baseline) baseline=0; shift ;;
        --validate) validate=1; shift ;;
        --check) [ $# -ge 2 ] || die_usage "$1 needs claim ids"; only_check=$2; shift 2 ;;
        --unit) [ $# -ge 2 ] || die_usage "$1 needs a regular expression"; unit_re=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; mutants+=("$@"); break ;;
        -*) die_usage "unknown option $1" ;;
        *) mutants+=("$1"); shift ;;
    esac
done
if ! [[ "$jobs" =~ ^[0-9]{1,4}$ ]] || [ "$jobs" -lt 1 ] || [ "$jobs" -gt 64 ]; then
    die_usage "--jobs = $jobs: need an integer 1 <= N <= 64"
fi
if ! [[ "$tmo" =~ ^[0-9]{1,7}$ ]] || [ "$tmo" -lt 1 ]; then
    die_usage "--timeout = $tmo: need a positive integer (seconds)"
fi
if [ ${#mutants[@]} -eq 0 ]; then
    shopt -s nullglob
    mutants=("$repo"/tests/mutants/*.mut)
    shopt -u nullglob
    [ ${#mutants[@]} -gt 0 ] || die_usage "no mutants in tests/mutants/"
fi
if [ -n "$out_md" ]; then
    out_dir=$(dirname -- "$out_md")
    [ -d "$out_dir" ] || die_usage "-o $out_md: directory $out_dir does not exist"
    case "$out_md" in /*) ;; *) out_md="$PWD/$out_md" ;; esac
fi

# ---------------------------------------------------------------------------
# Mutant files
# ---------------------------------------------------------------------------
LAYERS=" net flow model ideal robust align claim "

# parse_mutant PATH: sets m_file, m_find, m_replace, m_claims; on a malformed
# file prints why and returns 1.  Values lose leading and trailing blanks:
# `find` is matched as a substring, so indentation never matters.
parse_mutant() {
    local path=$1 line key val nfile=0 nfind=0 nrepl=0 nclaims=0 ln=0
    m_file="" m_find="" m_replace="" m_claims=""
    if [ ! -f "$path" ] || [ ! -r "$path" ]; then
        echo "$path: cannot read the mutant file"
        return 1
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        ln=$((ln + 1))
        line=${line%$'\r'}
        case "$line" in ''|'#'*) continue ;; esac
        if [[ ! "$line" =~ ^([a-z]+):(.*)$ ]]; then
            echo "$path:$ln: need 'file:', 'find:', 'replace:', 'claims:' or a '#' comment"
            return 1
        fi
        key=${BASH_REMATCH[1]}
        val=${BASH_REMATCH[2]}
        val=${val#"${val%%[![:space:]]*}"}
        val=${val%"${val##*[![:space:]]}"}
        case "$key" in
            file) m_file=$val; nfile=$((nfile + 1)) ;;
            find) m_find=$val; nfind=$((nfind + 1)) ;;
            replace) m_replace=$val; nrepl=$((nrepl + 1)) ;;
            claims) m_claims=$val; nclaims=$((nclaims + 1)) ;;
            *) echo "$path:$ln: unknown key '$key:'"; return 1 ;;
        esac
    done <"$path"
    if [ "$nfile" -ne 1 ] || [ "$nfind" -ne 1 ] || [ "$nrepl" -ne 1 ] || [ "$nclaims" -gt 1 ]; then
        echo "$path: need exactly one file:, one find: and one replace: line (and at most one claims:)"
        return 1
    fi
    if [ -z "$m_file" ] || [ -z "$m_find" ]; then
        echo "$path: file: and find: must not be empty"
        return 1
    fi
    case "/$m_file/" in
        */../*|//*) echo "$path: file: $m_file must be a path inside the repository"; return 1 ;;
    esac
    if [ "$m_find" = "$m_replace" ]; then
        echo "$path: replace: is the same text as find: (the mutant changes nothing)"
        return 1
    fi
    if [[ -n "$m_claims" && ! "$m_claims" =~ ^[A-Za-z0-9\ ,-]+$ ]]; then
        echo "$path: claims: need claim ids separated by blanks or commas"
        return 1
    fi
    m_claims=${m_claims//,/ }
    return 0
}

# count_occurrences FILE TEXT: non-overlapping occurrences of TEXT (literal).
count_occurrences() {
    MUT_FIND=$2 awk 'BEGIN { f = ENVIRON["MUT_FIND"]; n = 0; L = length(f) }
        { s = $0; while ((i = index(s, f)) > 0) { n++; s = substr(s, i + L) } }
        END { print n }' "$1"
}

# apply_mutant SRC DST: DST = SRC with its one occurrence of m_find replaced.
apply_mutant() {
    MUT_FIND=$m_find MUT_REPL=$m_replace awk 'BEGIN { f = ENVIRON["MUT_FIND"]; r = ENVIRON["MUT_REPL"] }
        { i = index($0, f)
          if (i > 0 && !done) { print substr($0, 1, i - 1) r substr($0, i + length(f)); done = 1 }
          else print }' "$1" >"$2.mutate-tmp" && mv -f "$2.mutate-tmp" "$2"
}

# By parameter expansion, not basename: lint.mutants calls these for every
# mutant, and the forks were most of its time.
mutant_name() {
    local b=${1##*/}
    echo "${b%.mut}"
}

# The name without forking, into m_name and m_layer (its prefix).
mutant_name_set() {
    m_name=${1##*/}
    m_name=${m_name%.mut}
    m_layer=${m_name%%-*}
}

mutant_layer() {
    mutant_name_set "$1"
    echo "$m_layer"
}

# Parse every mutant before anything is built: a malformed one is a usage error.
bad=0
for m in "${mutants[@]}"; do
    if ! msg=$(parse_mutant "$m"); then
        echo "mutate: $msg" >&2
        bad=1
        continue
    fi
    mutant_name_set "$m"
    layer=$m_layer
    case "$LAYERS" in
        *" $layer "*) ;;
        *) echo "mutate: $m: layer '$layer' (the name's prefix) is not one of$LAYERS" >&2; bad=1 ;;
    esac
done
[ "$bad" -eq 0 ] || exit 2

if [ "$validate" -eq 1 ]; then
    nstale=0
    for m in "${mutants[@]}"; do
        parse_mutant "$m" >/dev/null
        mutant_name_set "$m"
        if [ ! -f "$repo/$m_file" ]; then
            echo "stale  $m_name: $m_file does not exist"
            nstale=$((nstale + 1))
            continue
        fi
        c=$(count_occurrences "$repo/$m_file" "$m_find")
        if [ "$c" -ne 1 ]; then
            echo "stale  $m_name: find: occurs $c times in $m_file (need exactly 1)"
            nstale=$((nstale + 1))
        else
            echo "ok     $m_name"
        fi
    done
    echo "${#mutants[@]} mutants, $nstale stale"
    [ "$nstale" -eq 0 ] && exit 0 || exit 1
fi

# ---------------------------------------------------------------------------
# Scratch copy: pristine/ (the sources as they are now), tree/ (where mutants
# are applied; tree/build is the incremental build).
# ---------------------------------------------------------------------------
command -v git >/dev/null 2>&1 || { echo "mutate: needs git (the scratch copy holds git's list of files)" >&2; exit 2; }
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || { echo "mutate: $repo is not a git checkout" >&2; exit 2; }

own_scratch=0
if [ -n "${IBC_MUTATE_DIR:-}" ]; then
    S=$IBC_MUTATE_DIR
    mkdir -p -- "$S" || { echo "mutate: cannot create IBC_MUTATE_DIR = $S" >&2; exit 2; }
    S=$(cd "$S" && pwd)
    case "$S/" in "$repo"/*)
        case "$S/" in "$repo"/build*) ;; *) echo "mutate: IBC_MUTATE_DIR must not be inside the sources (a build*/ folder is fine)" >&2; exit 2 ;; esac ;;
    esac
else
    S=$(mktemp -d "${TMPDIR:-/tmp}/ibc-mutate.XXXXXX") || { echo "mutate: cannot create a scratch directory" >&2; exit 3; }
    own_scratch=1
fi
P=$S/pristine
T=$S/tree
B=$T/build
LOGS=$S/logs
mkdir -p "$T" "$LOGS"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$S/.lock"
    flock -n 9 || { echo "mutate: another mutate.sh is using $S" >&2; exit 2; }
fi

touched=""   # the file of the mutant now applied (relative), restored on exit
restore() {
    if [ -n "$touched" ]; then
        # A fresh mtime (cp without -p) makes the next build recompile it.
        cp -f -- "$P/$touched" "$T/$touched"
        touched=""
    fi
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    restore
    if [ "$own_scratch" -eq 1 ] && [ "$keep" -eq 0 ]; then
        rm -rf -- "$S"
    elif [ -n "${S:-}" ]; then
        echo "mutate: scratch copy and per-mutant logs kept in $S" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "mutate: scratch copy in $S" >&2
list=$S/files.list
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) \
    | tr '\0' '\n' | while IFS= read -r f; do [ -f "$repo/$f" ] && printf '%s\n' "$f"; done | sort -u >"$list"
rm -rf -- "$P"
mkdir -p "$P"
(cd "$repo" && tr '\n' '\0' <"$list" | tar --null -T - -cf -) | (cd "$P" && tar -xf -) \
    || { echo "mutate: cannot copy the sources" >&2; exit 3; }
# tree/ = pristine/: copy only what differs, so an earlier build stays incremental.
while IFS= read -r f; do
    if ! cmp -s -- "$P/$f" "$T/$f"; then
        mkdir -p -- "$(dirname -- "$T/$f")"
        cp -f -- "$P/$f" "$T/$f"
    fi
done <"$list"
(cd "$T" && find . -path ./build -prune -o -type f -print | sed 's|^\./||' | sort) >"$S/tree.list"
comm -23 "$S/tree.list" "$list" | while IFS= read -r f; do rm -f -- "$T/$f"; done

now() { date +%s; }
t_start=$(now)
echo "mutate: configuring and building the unmutated copy (log: $LOGS/build-pristine.log)" >&2
if ! { (cd "$T" && . scripts/setup.sh && ibc_generator_reset build && cmake --preset release) && cmake --build "$B" -j "$jobs"; } >"$LOGS/build-pristine.log" 2>&1; then
    tail -20 "$LOGS/build-pristine.log" >&2
    echo "mutate: the unmutated copy does not build: no mutant can be judged" >&2
    exit 3
fi
IBCHECK=$B/ibcheck

# The claims of a `claims:` line must be default (not long) claims, or a kill
# by them would not be a kill by the default check.
default_claims=" $("$IBCHECK" check --list | awk '!/\[long\]$/ { printf "%s ", $1 }')"
for m in "${mutants[@]}"; do
    parse_mutant "$m" >/dev/null
    for c in $m_claims; do
        case "$default_claims" in
            *" $c "*) ;;
            *) echo "mutate: $m: claims: '$c' is not a claim of the default catalogue" >&2; exit 2 ;;
        esac
    done
done
# shellcheck disable=SC2206
check_ids=($only_check)
for c in "${check_ids[@]}"; do
    case "$default_claims" in *" $c "*) ;; *) die_usage "--check: '$c' is not a claim of the default catalogue" ;; esac
done

# run_check LOG IDS...: layer 1.  Sets ck_rc and ck_why (the first refuted
# row, or the error line).
run_check() {
    local log=$1
    shift
    timeout -k 10 "$tmo" "$IBCHECK" check "$@" --jobs "$jobs" -q >"$log.table" 2>"$log.err"
    ck_rc=$?
    ck_why=""
    [ "$ck_rc" -eq 0 ] && return 0
    if [ "$ck_rc" -eq 124 ] || [ "$ck_rc" -eq 137 ]; then
        ck_why="timeout after ${tmo} s"
        return 0
    fi
    # Markdown rows: cells split at " | " once the escaped pipes are set aside.
    ck_why=$(awk '/^\| / { l = $0; gsub(/\\\|/, "\001", l); sub(/^\| /, "", l); sub(/ \|$/, "", l)
            n = split(l, c, / \| /)
            if (n >= 9 && c[8] == "REFUTED") {
                for (i = 1; i <= n; i++) gsub("\001", "|", c[i])
                printf "%s: %s (measured %s, bound %s)", c[1], c[2], c[5], c[6]; exit } }' "$log.table")
    if [ -z "$ck_why" ]; then
        ck_why=$(grep -m1 '^ibcheck: ' "$log.err" | sed 's/^ibcheck: //')
        if [ "$ck_rc" -gt 128 ]; then
            local sig=$((ck_rc - 128))
            ck_why="crashed (signal $sig)${ck_why:+: $ck_why}"
        fi
        [ -n "$ck_why" ] || ck_why="exit status $ck_rc"
    fi
    return 0
}

# run_unit LOG: layer 2.  Sets ut_rc and ut_why (the failed tests).
run_unit() {
    local log=$1
    local -a sel=(-L unit)
    [ -n "$unit_re" ] && sel+=(-R "$unit_re")
    timeout -k 10 "$tmo" ctest --test-dir "$B" "${sel[@]}" -j "$jobs" --output-on-failure >"$log" 2>&1
    ut_rc=$?
    ut_why=""
    if [ "$ut_rc" -eq 124 ] || [ "$ut_rc" -eq 137 ]; then
        ut_why="timeout after ${tmo} s"
    elif [ "$ut_rc" -ne 0 ]; then
        ut_why=$(awk '/The following tests FAILED:/ { on = 1; next }
                      on && /^[[:space:]]+[0-9]+ - / { sub(/^[[:space:]]+[0-9]+ - /, ""); sub(/ \(.*$/, ""); printf "%s%s", sep, $0; sep = ", " }' "$log")
        [ -n "$ut_why" ] || ut_why="ctest exit status $ut_rc"
    fi
}

if [ "$baseline" -eq 1 ]; then
    echo "mutate: baseline: the unmutated copy must pass the check$([ "$claims_only" -eq 0 ] && echo ' and the unit tests')" >&2
    run_check "$LOGS/baseline-check" "${check_ids[@]}"
    if [ "$ck_rc" -ne 0 ]; then
        echo "mutate: the unmutated copy fails the check ($ck_why): no mutant can be judged" >&2
        exit 3
    fi
    if [ "$claims_only" -eq 0 ]; then
        run_unit "$LOGS/baseline-unit.log"
        if [ "$ut_rc" -ne 0 ]; then
            echo "mutate: the unmutated copy fails unit tests ($ut_why): no mutant can be judged" >&2
            exit 3
        fi
    fi
fi
t_base=$(now)

# ---------------------------------------------------------------------------
# The mutants
# ---------------------------------------------------------------------------
names=() layers=() r_check=() r_unit=() r_why=() r_secs=()
nm=${#mutants[@]}
i=0
for m in "${mutants[@]}"; do
    i=$((i + 1))
    t0=$(now)
    parse_mutant "$m" >/dev/null
    name=$(mutant_name "$m")
    log=$LOGS/$name
    names+=("$name")
    layers+=("$(mutant_layer "$m")")
    check="" unit="not run" why=""
    if [ ! -f "$P/$m_file" ]; then
        check="stale" why="$m_file does not exist"
    else
        c=$(count_occurrences "$P/$m_file" "$m_find")
        [ "$c" -ne 1 ] && check="stale" why="find: occurs $c times in $m_file"
    fi
    if [ -z "$check" ]; then
        touched=$m_file
        apply_mutant "$P/$m_file" "$T/$m_file"
        if ! cmake --build "$B" --target ibcheck_cli -j "$jobs" >"$log.build.log" 2>&1; then
            check="killed (build)"
            why=$(grep -m1 -E 'error:' "$log.build.log" | sed 's/^.*error: //')
        else
            killed=0
            if [ "$fast" -eq 1 ] && [ -n "$m_claims" ]; then
                # shellcheck disable=SC2086
                run_check "$log.fast" $m_claims
                if [ "$ck_rc" -ne 0 ]; then
                    killed=1
                    why="$ck_why [fast: $m_claims]"
                fi
            fi
            if [ "$killed" -eq 0 ]; then
                run_check "$log.check" "${check_ids[@]}"
                [ "$ck_rc" -ne 0 ] && killed=1 && why=$ck_why
            fi
            if [ "$killed" -eq 1 ]; then
                check="killed"
                case "$why" in "timeout after"*) check="killed (timeout)" ;; esac
            else
                check="survived"
                if [ "$claims_only" -eq 0 ]; then
                    if ! cmake --build "$B" -j "$jobs" >>"$log.build.log" 2>&1; then
                        unit="killed (build)"
                        why=$(grep -m1 -E 'error:' "$log.build.log" | sed 's/^.*error: //')
                    else
                        run_unit "$log.unit.log"
                        if [ "$ut_rc" -ne 0 ]; then
                            unit="killed"
                            why="unit: $ut_why"
                        else
                            unit="survived"
                        fi
                    fi
                fi
            fi
        fi
        restore
    fi
    r_check+=("$check")
    r_unit+=("$unit")
    r_why+=("$why")
    r_secs+=($(($(now) - t0)))
    printf 'mutate: [%d/%d] %-34s check: %-16s unit: %-14s %s (%d s)\n' "$i" "$nm" "$name" "$check" "$unit" \
        "$why" "${r_secs[-1]}" >&2
done
t_end=$(now)

# ---------------------------------------------------------------------------
# Scores and table
# ---------------------------------------------------------------------------
n_stale=0 n_live=0 k_check=0 k_any=0 k_build=0 k_timeout=0
stale_list="" surv_check="" surv_all=""
for ((j = 0; j < nm; j++)); do
    case "${r_check[j]}" in
        stale) n_stale=$((n_stale + 1)); stale_list+=" ${names[j]}"; continue ;;
    esac
    n_live=$((n_live + 1))
    case "${r_check[j]}" in
        killed*) k_check=$((k_check + 1)); k_any=$((k_any + 1)) ;;
        *) surv_check+=" ${names[j]}"
           case "${r_unit[j]}" in killed*) k_any=$((k_any + 1)) ;; *) surv_all+=" ${names[j]}" ;; esac ;;
    esac
    case "${r_check[j]}${r_unit[j]}" in *"(build)"*) k_build=$((k_build + 1)) ;; esac
    case "${r_check[j]}${r_unit[j]}" in *"(timeout)"*) k_timeout=$((k_timeout + 1)) ;; esac
done
pct() { [ "$2" -gt 0 ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }' || echo "n/a"; }

restricted=""
[ -n "$only_check" ] && restricted+=" layer 1 restricted to: $only_check;"
[ -n "$unit_re" ] && restricted+=" layer 2 restricted to: $unit_re;"

table() {   # $1 = md or txt
    local fmt=$1
    if [ "$fmt" = md ]; then
        echo "| mutant | layer | check | unit | first refuted row / reason | s |"
        echo "|---|---|---|---|---|---|"
    else
        printf '%-36s %-6s %-16s %-14s %s\n' mutant layer check unit "first refuted row / reason"
    fi
    for ((j = 0; j < nm; j++)); do
        if [ "$fmt" = md ]; then
            printf '| %s | %s | %s | %s | %s | %s |\n' "${names[j]}" "${layers[j]}" "${r_check[j]}" "${r_unit[j]}" \
                "${r_why[j]//|/\\|}" "${r_secs[j]}"
        else
            printf '%-36s %-6s %-16s %-14s %s\n' "${names[j]}" "${layers[j]}" "${r_check[j]}" "${r_unit[j]}" "${r_why[j]}"
        fi
    done
    echo
    echo "mutants: $nm, stale: $n_stale${stale_list:+ (${stale_list# })}, judged: $n_live"
    echo "ibcheck check alone kills: $k_check/$n_live ($(pct "$k_check" "$n_live")), goal >= 90%"
    if [ "$claims_only" -eq 1 ]; then
        echo "check + unit tests: not run (--claims-only)"
    else
        echo "check + unit tests kill: $k_any/$n_live ($(pct "$k_any" "$n_live")), goal 100%"
    fi
    echo "of the kills: $k_build by a build failure, $k_timeout by a timeout"
    [ -n "$surv_check" ] && echo "survive the check:${surv_check}"
    [ "$claims_only" -eq 0 ] && [ -n "$surv_all" ] && echo "survive check and unit tests:${surv_all}"
    echo "time: $((t_base - t_start)) s build and baseline, $((t_end - t_base)) s for $nm mutants (--jobs $jobs$([ "$fast" -eq 1 ] && echo ', --fast'))"
    [ -n "$restricted" ] && echo "restricted run (testing the harness, not the issue's scores):${restricted%;}"
    return 0
}

echo
table txt
if [ -n "$out_md" ]; then
    table md >"$out_md.tmp" && mv -f "$out_md.tmp" "$out_md"
fi

ok=1
[ "$n_stale" -eq 0 ] || ok=0
[ $((k_check * 10)) -ge $((n_live * 9)) ] || ok=0
[ "$claims_only" -eq 1 ] || [ "$k_any" -eq "$n_live" ] || ok=0
[ "$n_live" -gt 0 ] || ok=0
[ "$ok" -eq 1 ] && exit 0 || exit 1
exit 2   # not reached
}
