#!/usr/bin/env bash
# Function names follow their folder (docs/design.md, section 1), as in
# FLINT: a function with external linkage defined in src/<m>/*.c is named
# ibc_<m>_..., and so is a static inline function of a header under src/<m>/
# (and a non-static definition in such a header, e.g. FN(ibc_net_eval) in
# net_impl.h, by the name inside FN).  The claims library proofs_numeric/
# names its functions ibc_claim_...  Types, macros, data and static (file-
# local) functions keep their names; main is exempt.  One line per offender.
# Run as: lint_prefixes.sh <repository root>
set -u
cd "${1:?usage: lint_prefixes.sh ROOT}" || exit 2

# The C reader: comments, strings and preprocessor lines dropped, braces
# counted; a top-level text that ends in '{' and has NAME( before any '=' is
# a function definition.  Prints "file<TAB>name<TAB>static|inline|extern".
read -r -d '' READER <<'AWK'
function flush(kind,   b, name, pre, m) {
    b = buf; buf = ""
    if (kind != "{") return
    sub(/^[ \t]+/, "", b)
    if (b ~ /^(typedef|struct|union|enum)\b/ && b !~ /\)[ \t]*$/) return
    for (;;) {   # NAME( before any '='
        if (!match(b, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) return
        pre = substr(b, 1, RSTART - 1)
        if (pre ~ /=/) return
        name = substr(b, RSTART, RLENGTH); sub(/[ \t]*\($/, "", name)
        if (name == "FN") {   # FN(name)(...): the name inside
            m = substr(b, RSTART + RLENGTH)
            if (!match(m, /^[ \t]*[A-Za-z_][A-Za-z0-9_]*/)) return
            name = substr(m, RSTART, RLENGTH); gsub(/[ \t]/, "", name)
            break
        }
        if (name ~ /^(__attribute__|__extension__)$/ || (name ~ /^[A-Z0-9_]+$/ && pre !~ /[A-Za-z0-9_*]/)) {
            # a macro invocation or attribute before the declaration: skip it
            m = substr(b, RSTART + RLENGTH); d = 1
            while (d > 0 && length(m)) { c = substr(m, 1, 1); m = substr(m, 2); if (c == "(") d++; else if (c == ")") d-- }
            b = m; continue
        }
        break
    }
    st = (pre ~ /(^|[^A-Za-z0-9_])static([^A-Za-z0-9_]|$)/)
    il = (pre ~ /(^|[^A-Za-z0-9_])inline([^A-Za-z0-9_]|$)/)
    printf "%s\t%s\t%s\n", FILENAME, name, st ? (il ? "inline" : "static") : "extern"
}
FNR == 1 { depth = 0; buf = ""; incom = 0; cont = 0 }
{
    line = $0
    if (cont) { cont = (line ~ /\\$/); next }
    if (!incom && line ~ /^[ \t]*#/) { cont = (line ~ /\\$/); next }
    out = ""; n = length(line); i = 1
    while (i <= n) {
        c = substr(line, i, 1); c2 = substr(line, i, 2)
        if (incom) { if (c2 == "*/") { incom = 0; i += 2 } else i++; continue }
        if (c2 == "/*") { incom = 1; i += 2; out = out " "; continue }
        if (c2 == "//") break
        if (c == "\"" || c == "'") {
            q = c; i++
            while (i <= n && substr(line, i, 1) != q) { if (substr(line, i, 1) == "\\") i++; i++ }
            i++; out = out q q; continue
        }
        if (depth == 0) {
            if (c == ";") { flush(";"); i++; continue }
            if (c == "{") {
                if (buf ~ /extern[ \t]*""[ \t]*$/) { buf = ""; i++; continue }   # extern "C" {
                flush("{"); depth = 1; i++; continue
            }
            if (c == "}") { buf = ""; i++; continue }   # the close of extern "C"
            buf = buf c
        } else if (c == "{") depth++
        else if (c == "}") { depth--; if (depth == 0) buf = "" }
        i++
    }
    if (depth == 0) buf = buf " "
}
AWK

bad=0 n=0
check() {   # module, files...
    local m=$1 f name kind; shift
    while IFS=$'\t' read -r f name kind; do
        case $f:$kind in
            *.c:extern|*.h:extern|*.h:inline) ;;
            *) continue ;;
        esac
        [ "$name" = main ] && continue
        n=$((n + 1))
        case $name in
            "ibc_${m}_"*) ;;
            *) echo "PREFIX $f: $name should be named ibc_${m}_..."; bad=1 ;;
        esac
    done < <(awk "$READER" "$@")
}
for d in src/*/; do
    m=$(basename "$d")
    set -- "$d"*.c "$d"*.h
    files=()
    for f in "$@"; do [ -f "$f" ] && files+=("$f"); done
    [ ${#files[@]} -gt 0 ] && check "$m" "${files[@]}"
done
files=()
for f in proofs_numeric/*.c proofs_numeric/*.h; do [ -f "$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] && check claim "${files[@]}"

if [ "$bad" = 0 ]; then
    echo "lint_prefixes: ok ($n functions named after their folder)"
    exit 0
fi
exit 1
