#!/usr/bin/env bash
# -o never destroys what is at the path (issue 16, item 1): a FIFO with a
# reader gets the table and stays a FIFO; a symlink to a file keeps the link
# and replaces its target; a symlink to a directory is refused (exit 2, one
# line); /dev/null stays a device; a full device, an injected ENOSPC/EIO
# (IBC_WRITE_FAULT, src/util/atomic.c) and a closed pipe exit 3 with one
# line and leave an earlier file intact; a failed write to stdout exits 3.
# Run as: output_targets.sh <path to ibcheck> <scratch dir>
set -u
IBCHECK=${1:?usage: output_targets.sh IBCHECK WORKDIR}
WORKDIR=${2:?usage: output_targets.sh IBCHECK WORKDIR}
IBCHECK=$(cd "$(dirname "$IBCHECK")" && pwd)/$(basename "$IBCHECK")
rm -rf "$WORKDIR"
mkdir -p "$WORKDIR" || exit 2
cd "$WORKDIR" || exit 2
failures=0
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
ok() { echo "ok   $*"; }
CHECK=(check loss-derivative -q)
SMALL=(--D 6 --K 4 --K1 2 --n 40 --h 8 --steps 10 -q)

# expect <label> <code> <stderr regex> <command...>: exit code and exactly one stderr line.
expect() {
    local label=$1 code=$2 regex=$3
    shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" != "$code" ] || [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || ! printf '%s' "$err" | grep -Eq "$regex"; then
        fail "$label: exit $rc (need $code), stderr: $err"
    else
        ok "$label: exit $rc: $err"
    fi
}

"$IBCHECK" train "${SMALL[@]}" -o net.json || fail "setup: train failed"
"$IBCHECK" "${CHECK[@]}" -o ref.md || fail "setup: check -o ref.md failed"

# A FIFO with a reader: the reader gets the whole table; the FIFO stays.
mkfifo fifo
cat fifo > from_fifo.md &
reader=$!
timeout 60 "$IBCHECK" "${CHECK[@]}" -o fifo
rc=$?
wait "$reader"
if [ $rc = 0 ] && [ -p fifo ] && cmp -s ref.md from_fifo.md; then
    ok "FIFO with a reader: the reader got the table, the FIFO is still a FIFO"
else
    fail "FIFO: exit $rc, still a FIFO: $([ -p fifo ] && echo yes || echo no), table received: $(wc -c <from_fifo.md) bytes"
fi

# A symlink to a file: the link stays, its target holds the new file.
echo old >target.md
ln -s target.md link.md
"$IBCHECK" "${CHECK[@]}" -o link.md
rc=$?
if [ $rc = 0 ] && [ -L link.md ] && cmp -s ref.md target.md; then
    ok "symlink to a file: the link kept, the target written"
else
    fail "symlink to a file: exit $rc, link kept: $([ -L link.md ] && echo yes || echo no)"
fi
# The same through the network writer (train), with a dangling link: the
# file is created where the link points.
ln -s net2.json dangling.json
"$IBCHECK" train "${SMALL[@]}" -o dangling.json
if [ -L dangling.json ] && cmp -s net.json net2.json; then
    ok "train -o dangling symlink: the link kept, its target created"
else
    fail "train -o dangling symlink: link kept: $([ -L dangling.json ] && echo yes || echo no)"
fi

# A symlink to a directory: refused before any work.
mkdir dir
ln -s dir dirlink
expect "symlink to a directory" 2 "dirlink is a symbolic link to a directory" "$IBCHECK" "${CHECK[@]}" -o dirlink
expect "a directory" 2 "dir is a directory" "$IBCHECK" train "${SMALL[@]}" -o dir

# /dev/null: written, and still a character device.
"$IBCHECK" "${CHECK[@]}" -o /dev/null
rc=$?
if [ $rc = 0 ] && [ -c /dev/null ]; then
    ok "/dev/null: exit 0, still a character device"
else
    fail "/dev/null: exit $rc, character device: $([ -c /dev/null ] && echo yes || echo no)"
fi

# A full device: exit 3, one line naming ENOSPC, the device kept.
if [ -c /dev/full ]; then
    expect "-o /dev/full" 3 "/dev/full: cannot write: No space left on device" "$IBCHECK" "${CHECK[@]}" -o /dev/full
    [ -c /dev/full ] || fail "/dev/full is no longer a character device"
    expect "stdout is /dev/full" 3 "cannot write to standard output: No space left on device" \
        sh -c '"$0" info net.json >/dev/full' "$IBCHECK"
    expect "-o - to /dev/full" 3 "No space left on device" sh -c '"$0" train "$@" -o - >/dev/full' "$IBCHECK" "${SMALL[@]}"
else
    echo "skip /dev/full: not a character device here"
fi

# A full file system or an I/O error on a regular file (injected): exit 3,
# one line, the earlier file intact, no temporary left behind.
for e in ENOSPC EIO; do
    cp ref.md keep.md
    echo "earlier" >keep.md
    IBC_WRITE_FAULT=$e expect "$e on a regular file" 3 "keep.md: cannot write: " "$IBCHECK" "${CHECK[@]}" -o keep.md
    [ "$(cat keep.md)" = earlier ] || fail "$e: the earlier keep.md was changed"
    ls keep.md.tmp.* >/dev/null 2>&1 && fail "$e: a temporary was left: $(ls keep.md.tmp.*)"
    IBC_WRITE_FAULT=$e expect "$e on train -o" 3 "cannot write: " "$IBCHECK" train "${SMALL[@]}" -o net.json
    cmp -s net.json net2.json || fail "$e: the earlier net.json was changed"
done

# A reader that went away (EPIPE): exit 3 and one line, not a silent SIGPIPE.
{ sleep 0.5; "$IBCHECK" info net.json 2>epipe.err; echo $? >epipe.rc; } | true
if [ "$(cat epipe.rc)" = 3 ] && [ "$(wc -l <epipe.err)" = 1 ] && grep -q "Broken pipe" epipe.err; then
    ok "closed pipe: exit 3: $(cat epipe.err)"
else
    fail "closed pipe: exit $(cat epipe.rc), stderr: $(cat epipe.err)"
fi

if [ $failures -ne 0 ]; then
    echo "output_targets: $failures failures"
    exit 1
fi
echo "output_targets: all passed"
