#!/usr/bin/env bash
# Kill test of `ibcheck train --checkpoint-every` / `--resume` (issue
# "Reliability"): a run SIGKILLed at a random moment and resumed must save
# the file the uninterrupted run saves, bit for bit (the saved network holds
# no wall-clock field, so the whole files are compared).
# Run as: ckpt_kill.sh <path to ibcheck> <scratch dir>
# The kill delays come from CKPT_KILL_SEED (default: the clock); the seed is
# printed so that a failure can be replayed.
set -u
IBCHECK=${1:?usage: ckpt_kill.sh IBCHECK WORKDIR}
WORKDIR=${2:?usage: ckpt_kill.sh IBCHECK WORKDIR}
IBCHECK=$(cd "$(dirname "$IBCHECK")" && pwd)/$(basename "$IBCHECK")
SEED=${CKPT_KILL_SEED:-$(date +%s)}
TRIALS=${CKPT_KILL_TRIALS:-3}
RANDOM=$SEED
echo "ckpt_kill: seed $SEED (replay with CKPT_KILL_SEED=$SEED), $TRIALS kills per mode"
rm -rf "$WORKDIR"
mkdir -p "$WORKDIR" || exit 2
cd "$WORKDIR" || exit 2
failures=0
SMALL=(--D 6 --K 4 --K1 2 --n 40 --h 8 -q)

fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# The step of the checkpoint file $1 (its state.step), or 0 while there is none.
ckpt_step() {
    local s
    s=$(sed -n 's/^[[:space:]]*"step":[[:space:]]*\([0-9]*\),*$/\1/p' "$1" 2>/dev/null | tail -n 1)
    echo "${s:-0}"
}

# mode <label> <steps> <train args...>
mode() {
    local label=$1 steps=$2
    shift 2
    local args=("${SMALL[@]}" --steps "$steps" "$@")
    rm -f A.json B.json B.json.ckpt B.json.ckpt.tmp.* B.json.tmp.*
    if ! "$IBCHECK" train "${args[@]}" -o A.json; then
        fail "$label: the uninterrupted run failed"
        return
    fi
    # Trial 0: a checkpointed run left to finish, then resumed: checkpoints
    # must not perturb the run, and a resume with nothing left to do must
    # still save the same file.
    "$IBCHECK" train "${args[@]}" -o B.json --checkpoint-every 50 || fail "$label: checkpointed run failed"
    cmp -s A.json B.json || fail "$label: the checkpointed run differs from the plain one"
    rm -f B.json
    "$IBCHECK" train "${args[@]}" -o B.json --resume || fail "$label: resume of a finished run failed"
    if cmp -s A.json B.json; then
        echo "ok   $label: finished run resumed at step $(ckpt_step B.json.ckpt): identical"
    else
        fail "$label: resume of a finished run differs"
    fi
    # Kills at random moments: a random target step in [50, 1.1 steps] (run
    # speed varies too much on a shared machine to aim by time), then, once
    # the checkpoint has reached it, a random 0-4 ms more: the kill lands
    # mid-step, mid-write or, for targets past the end, after the run ended.
    local k
    for ((k = 1; k <= TRIALS; k++)); do
        rm -f B.json B.json.ckpt B.json.ckpt.tmp.* B.json.tmp.*
        local target=$((50 + (RANDOM * 32768 + RANDOM) % (steps * 11 / 10 - 49)))
        local extra_ms=$((RANDOM % 5))
        "$IBCHECK" train "${args[@]}" -o B.json --checkpoint-every 50 &
        local pid=$!
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$(ckpt_step B.json.ckpt)" -lt "$target" ] && [ $waited -lt 20000 ]; do
            sleep 0.001
            waited=$((waited + 1))
        done
        sleep "0.00$extra_ms"
        local finished=no
        kill -0 "$pid" 2>/dev/null || finished=yes
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if [ ! -f B.json.ckpt ]; then
            fail "$label kill $k: no checkpoint appeared"
            continue
        fi
        local at
        at=$(ckpt_step B.json.ckpt)
        local tmps
        tmps=$(ls B.json.ckpt.tmp.* 2>/dev/null | wc -l)
        rm -f B.json
        if ! "$IBCHECK" train "${args[@]}" -o B.json --resume; then
            fail "$label kill $k: resume failed (target step $target, checkpoint step $at)"
            continue
        fi
        # The resumed run removes what the killed one left (issue 16).
        if ls B.json.ckpt.tmp.* >/dev/null 2>&1; then
            fail "$label kill $k: the resumed run left stale temporaries: $(ls B.json.ckpt.tmp.*)"
        fi
        if cmp -s A.json B.json; then
            echo "ok   $label kill $k: target step $target + ${extra_ms} ms: killed with the checkpoint at step $at," \
                 "run ended before the kill: $finished, stale temporaries: $tmps (removed): identical"
        else
            fail "$label kill $k: resumed file differs (target step $target, checkpoint step $at)"
        fi
    done
}

# expect <label> <exit code> <stderr regex> <train args...>: one stderr line.
# A double run's bits depend on the OpenBLAS thread count: a resume at
# another count is refused.
expect() {
    local label=$1 code=$2 regex=$3
    shift 3
    local err rc
    # XENV: one NAME=VALUE for this run only
    err=$(env ${XENV:-IBC_CKPT_KILL=1} "$IBCHECK" train "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" != "$code" ] || [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || ! printf '%s' "$err" | grep -Eq "$regex"; then
        fail "$label: exit $rc (need $code), stderr: $err"
    else
        echo "ok   $label: exit $rc: $err"
    fi
}

# Refusals: one line, exit 2, before any work.
rm -f R.json R.json.ckpt
"$IBCHECK" train "${SMALL[@]}" --steps 200 -o R.json --checkpoint-every 100 || fail "refusals: setup run failed"
expect "resume with another lr" 2 "lr = 0.1 differs from the checkpoint's lr = 0.2" "${SMALL[@]}" --steps 200 --lr 0.1 -o R.json --resume
expect "resume with another method" 2 "method = rk4 differs" "${SMALL[@]}" --steps 200 --method rk4 -o R.json --resume
expect "resume with another seed" 2 "seed = 3 differs" "${SMALL[@]}" --steps 200 --seed 3 -o R.json --resume R.json.ckpt
# Another IBC_THREADS is accepted: the products thread over fixed blocks
# (src/prec/gemm.c), so the result cannot change (tests/determinism.sh).
IBC_THREADS=$((${IBC_THREADS:-1} + 1)) "$IBCHECK" train "${SMALL[@]}" --steps 200 -o T.json --checkpoint-every 100 \
    --resume R.json.ckpt || fail "resume at another thread count failed"
cmp -s R.json T.json && echo "ok   resume at another thread count: bitwise the same file" \
    || fail "resume at another thread count: T.json differs from R.json"
expect "resume without a checkpoint" 2 "cannot open" "${SMALL[@]}" --steps 200 -o S.json --resume
expect "adaptive with checkpoints" 2 "adaptive" "${SMALL[@]}" --method adaptive -o S.json --checkpoint-every 10
expect "checkpoint-every 0" 2 "checkpoint-every = 0 is out of range" "${SMALL[@]}" -o S.json --checkpoint-every 0
expect "--checkpoint alone" 2 "needs --checkpoint-every" "${SMALL[@]}" -o S.json --checkpoint c.ckpt
expect "a netfile as checkpoint" 2 "not an ibcheck-checkpoint file" "${SMALL[@]}" --steps 200 -o S.json --resume R.json
[ -e S.json ] && fail "a refused run wrote S.json"

# A numerical fault (GD overflowing in double): exit 3 naming the step, no
# output file, and the last checkpoint kept, finite: a resume from it loads
# (a non-finite or damaged file would exit 2) and meets the same fault.
rm -f F.json F.json.ckpt
expect "numerical fault" 3 "NaN or inf in theta at step [0-9]+, t = .*checkpoint F.json.ckpt \(step [0-9]+\) kept" \
    "${SMALL[@]}" --lr 2e4 --steps 1000 -o F.json --checkpoint-every 1
[ -e F.json ] && fail "the faulted run wrote F.json"
[ -e F.json.ckpt ] || fail "the faulted run left no checkpoint"
expect "resume at the fault" 3 "NaN or inf in theta at step [0-9]+" "${SMALL[@]}" --lr 2e4 --steps 1000 -o F.json --resume

# Stale temporaries (issue 16): a run removes the PATH.tmp.<pid>.* files of
# its outputs whose pid is dead, and says so in one line per path; a live
# process's temporary, and another path's, are kept.
rm -f S.json S.json.ckpt S.json.ckpt.tmp.* S.json.tmp.* other.json.tmp.*
sh -c 'exit 0' &
dead=$!
wait "$dead"
sleep 60 &
live=$!
touch "S.json.ckpt.tmp.$dead.AbC123" "S.json.tmp.$dead.XyZ789" "S.json.ckpt.tmp.$live.QqQ111" \
    "other.json.tmp.$dead.AbC123"
err=$("$IBCHECK" train "${SMALL[@]}" --steps 200 -o S.json --checkpoint-every 100 2>&1 >/dev/null)
rc=$?
kill "$live"
wait "$live" 2>/dev/null
if [ $rc = 0 ] && [ ! -e "S.json.ckpt.tmp.$dead.AbC123" ] && [ ! -e "S.json.tmp.$dead.XyZ789" ] \
    && [ -e "S.json.ckpt.tmp.$live.QqQ111" ] && [ -e "other.json.tmp.$dead.AbC123" ] \
    && [ "$(printf '%s\n' "$err" | grep -c 'removed 1 stale temporary of S.json left')" = 1 ] \
    && [ "$(printf '%s\n' "$err" | grep -c 'removed 1 stale temporary of S.json.ckpt left')" = 1 ] \
    && [ "$(printf '%s\n' "$err" | wc -l)" = 2 ]; then
    echo "ok   stale temporaries: the dead run's removed, the live one's and another path's kept: $err"
else
    fail "stale temporaries: exit $rc, left: $(ls S.json*.tmp.* other.json.tmp.* 2>/dev/null | tr '\n' ' '), stderr: $err"
fi
rm -f S.json S.json.ckpt S.json*.tmp.* other.json.tmp.*

mode "double gd" 3000 --method gd
mode "double sgd" 3000 --method sgd --batch 10
mode "double rk4" 1000 --method rk4 --lr 0.5
mode "mpfr:128 gd" 1000 --method gd --precision mpfr:128
mode "mpfr:128 sgd" 1000 --method sgd --batch 10 --precision mpfr:128

if [ $failures -ne 0 ]; then
    echo "ckpt_kill: $failures failures (seed $SEED)"
    exit 1
fi
echo "ckpt_kill: all identical"
