#!/usr/bin/env bash
# The fault suite of issue 18: replays what goes wrong on a real machine against the built `pretrain` on a tiny
# corpus (three plays of data/shakespeare, a 300-token BPE) and a 1-layer GPT trained 60 steps with a checkpoint
# every 3, and compares each run that was interrupted and resumed with an uninterrupted one (final weights and
# optimiser state byte for byte, metrics.jsonl row for row without the throughput column). Scenarios:
#   kill -9      at random moments, half of them the moment a checkpoint directory is being written; resumed
#   disk full    the run directory on a small tmpfs that is filled mid-run; resumed after space is freed
#   concurrent   two `train --resume` of one run at once
#   read-only    `train --resume` of a run directory on a read-only mount
#   corrupt      bytes flipped in the data of the newest checkpoint's model.safetensors, then `--resume`
# Each prints one line of counts. It reports what happens, it does not fail on it (exit 0 unless setup fails).
#
#   scripts/faults.sh                     FAULT_TRIALS=5 trials per scenario (about two minutes on two cores)
#   FAULT_TRIALS=40 scripts/faults.sh     the long run; FAULT_SEED=S repeats the random choices (kill times vary
#                                         with the machine's speed); FAULT_KEEP=1 keeps the work directory;
#                                         FAULT_D_MODEL=256 a wider model whose checkpoint writes take longer
#   PRETRAIN=path/to/pretrain             another binary (default .build/release/pretrain)
# Mounts (tmpfs, read-only bind) need root; without it those scenarios are skipped with a message.
# Kills and the disk filling happen at random moments within the reference run's duration (RUN_MS below).
set -u
cd "$(dirname "$0")/.."
P=$(realpath "${PRETRAIN:-.build/release/pretrain}")
TRIALS=${FAULT_TRIALS:-5}
SEED=${FAULT_SEED:-$(date +%s)}
RANDOM=$SEED
WORK=$(mktemp -d /tmp/pretrain-faults.XXXXXX)
MOUNTS=()
cleanup() {
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[i]}" 2>/dev/null; done
    if [ "${FAULT_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
[ -x "$P" ] || { echo "faults: $P not found (make build)"; exit 1; }
echo "faults: seed $SEED, $TRIALS trials per scenario, work directory $WORK"

# --- Setup: corpus, recipe, the uninterrupted reference run -------------------------------------------------------
mkdir -p "$WORK/text"
cp data/shakespeare/{hamlet,macbeth,tempest}.txt "$WORK/text/"
# 300 tokens: --train-vocab takes at least 257 (256 bytes + end of text).
"$P" tokenize --train-vocab 300 --val-files tempest --out "$WORK/corpus" "$WORK/text" > "$WORK/tokenize.log" 2>&1 \
    || { cat "$WORK/tokenize.log"; exit 1; }
STEPS=60
# FAULT_D_MODEL=256 makes each checkpoint about 7 MB of weights and 14 MB of optimiser state, so that a kill aimed at
# a checkpoint write lands inside it more often (at 32 a write takes well under a millisecond).
D_MODEL=${FAULT_D_MODEL:-32}
cat > "$WORK/recipe.yaml" <<EOF
model: {flavor: gpt2, layers: 1, d_model: $D_MODEL, heads: 2, context: 32}
objective: {kind: causal_lm}
data: {corpus: $WORK/corpus}
optim: {lr: 3.0e-3, batch_size: 4}
schedule: {kind: cosine, warmup: 5}
train: {steps: $STEPS, eval_every: 20, eval_batches: 4, log_every: 1, checkpoint_every: 3, keep_last: 3, seed: 7, threads: 1}
EOF
FINAL=checkpoints/step_$(printf '%06d' $STEPS)
train() { "$P" train "$@" >> "$LOG" 2>&1; }
LOG=$WORK/reference.log
started=$(date +%s%N)
train "$WORK/recipe.yaml" --run-dir "$WORK/reference" || { cat "$LOG"; exit 1; }
# Kill and fill moments are drawn within the reference run's duration (ms), whatever the machine's speed.
RUN_MS=$((($(date +%s%N) - started) / 1000000))
echo "faults: the uninterrupted run takes $RUN_MS ms"
# A run stopped after step 21 (a checkpoint step), copied by the scenarios that start from a run in progress.
LOG=$WORK/base.log
train "$WORK/recipe.yaml" --run-dir "$WORK/base" --stop-after 21 || { cat "$LOG"; exit 1; }

metrics() { sed 's/"tokens_per_s":[^,}]*,\{0,1\}//' "$1/metrics.jsonl"; }
# Same final weights, optimiser state and metrics as the uninterrupted run.
identical() {
    local run=$1 file
    for file in model.safetensors optimizer.safetensors; do
        cmp -s "$WORK/reference/$FINAL/$file" "$run/$FINAL/$file" || return 1
    done
    cmp -s <(metrics "$WORK/reference") <(metrics "$run")
}
finished() { [ -f "$1/$FINAL/COMPLETE" ]; }
# Continues a run as a user would: --resume when it has a checkpoint, else start it again.
continue_run() {
    local run=$1
    if [ -e "$run/checkpoints/latest" ]; then train --resume "$run"; else train "$WORK/recipe.yaml" --run-dir "$run" --overwrite; fi
}
# continue_run in place of the calling (sub)shell.
exec_run() {
    local run=$1
    if [ -e "$run/checkpoints/latest" ]; then exec "$P" train --resume "$run" >> "$LOG" 2>&1; fi
    exec "$P" train "$WORK/recipe.yaml" --run-dir "$run" --overwrite >> "$LOG" 2>&1
}
finish() {
    local run=$1 attempt
    for attempt in 1 2 3 4; do finished "$run" && return 0; continue_run "$run"; done
    finished "$run"
}
random_sleep() { local ms=$((RANDOM % ($1 + 1))); sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; }
partial_exists() { compgen -G "$1/checkpoints/.partial-*" > /dev/null; }

# --- kill -9 --------------------------------------------------------------------------------------------------------
resumed=0 same=0 kills=0 during_write=0
for ((trial = 1; trial <= TRIALS; trial++)); do
    run=$WORK/kill-$trial LOG=$WORK/kill-$trial.log
    for ((k = 0; k < 1 + RANDOM % 3; k++)); do
        finished "$run" && break
        # exec: $pid is pretrain itself. (Killing a subshell that runs it raced with its fork: a kill that came
        # before pretrain started left it running, orphaned and holding the run's lock, and the resumes that
        # followed were refused as concurrent.)
        (exec_run "$run") 2> /dev/null & pid=$!
        if ((RANDOM % 2)); then
            # The moment a checkpoint directory is being written (builtins only: the poll takes microseconds).
            while kill -0 $pid 2> /dev/null && ! partial_exists "$run"; do :; done
        else
            random_sleep $RUN_MS
        fi
        kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
        kills=$((kills + 1))
        partial_exists "$run" && during_write=$((during_write + 1))
    done
    finish "$run" && resumed=$((resumed + 1)) && identical "$run" && same=$((same + 1))
done
echo "kill -9: $resumed/$TRIALS resumed, $same/$TRIALS weights and curves identical ($kills kills, $during_write during a checkpoint write)"

# --- disk full ------------------------------------------------------------------------------------------------------
mkdir -p "$WORK/full"
# Room for the three kept checkpoints and one being written, and little more.
if mount -t tmpfs -o size=$((D_MODEL <= 64 ? 16 : 160))m tmpfs "$WORK/full" 2> /dev/null; then
    MOUNTS+=("$WORK/full")
    clean=0 early=0 resumed=0 same=0
    for ((trial = 1; trial <= TRIALS; trial++)); do
        run=$WORK/full/run LOG=$WORK/full-$trial.log
        rm -rf "$run" "$WORK/full/filler"
        train "$WORK/recipe.yaml" --run-dir "$run" & pid=$!
        while kill -0 $pid 2> /dev/null && [ ! -e "$run/checkpoints/latest" ]; do :; done
        random_sleep $((RUN_MS / 4))
        dd if=/dev/zero of="$WORK/full/filler" bs=64k > /dev/null 2>&1
        wait $pid; status=$?
        # A clean stop: an error exit (not a signal) with a message that names the full disk.
        if ((status > 0 && status < 128)) && grep -qi "space" "$LOG"; then clean=$((clean + 1)); fi
        ((status == 0)) && early=$((early + 1))
        rm -f "$WORK/full/filler"
        finish "$run" && resumed=$((resumed + 1)) && identical "$run" && same=$((same + 1))
    done
    echo "disk full: $clean/$TRIALS stopped with an error naming the full disk ($early finished before it filled), $resumed/$TRIALS resumed after space was freed, $same/$TRIALS identical"
else
    echo "disk full: skipped (cannot mount a tmpfs here; needs root)"
fi

# --- two concurrent --resume of one run -------------------------------------------------------------------------------
refused=0 collided=0 both=0 lost=0
for ((trial = 1; trial <= TRIALS; trial++)); do
    run=$WORK/concurrent-$trial
    cp -a "$WORK/base" "$run"
    LOG=$WORK/concurrent-$trial-a.log train --resume "$run" & a=$!
    LOG=$WORK/concurrent-$trial-b.log train --resume "$run" & b=$!
    wait $a; sa=$?; wait $b; sb=$?
    # Refused: the second one stopped at the start, saying the run is in use. Collided: one failed mid-run.
    for side in a b; do
        status=$([ $side = a ] && echo $sa || echo $sb)
        ((status == 0)) && continue
        if grep -qi "lock\|in use\|another process\|already running" "$WORK/concurrent-$trial-$side.log"; then
            refused=$((refused + 1))
        else
            collided=$((collided + 1))
        fi
    done
    ((sa == 0 && sb == 0)) && both=$((both + 1))
    # Lost data: the run does not end as the uninterrupted one (weights, optimiser state or metrics rows).
    { finished "$run" && identical "$run"; } || lost=$((lost + 1))
done
echo "concurrent resume: $refused/$TRIALS refused (run in use), $collided/$TRIALS collided (one failed mid-run), $both/$TRIALS both finished, $lost/$TRIALS lost data (the run does not end as the uninterrupted one)"

# --- read-only run directory ----------------------------------------------------------------------------------------
run=$WORK/readonly
cp -a "$WORK/base" "$run"
if mount --bind "$run" "$run" 2> /dev/null && mount -o remount,bind,ro "$run" 2> /dev/null; then
    MOUNTS+=("$run")
    before=$(cd "$run" && find . -type f -exec sha256sum {} + | sort)
    clean=0 unchanged=0 line=""
    for ((trial = 1; trial <= TRIALS; trial++)); do
        LOG=$WORK/readonly-$trial.log
        : > "$LOG"
        train --resume "$run"; status=$?
        if ((status > 0 && status < 128)) && grep -qi "read-only\|permission\|cannot" "$LOG"; then clean=$((clean + 1)); fi
        [ "$(cd "$run" && find . -type f -exec sha256sum {} + | sort)" = "$before" ] && unchanged=$((unchanged + 1))
        line=$(grep -i "error" "$LOG" | head -1)
    done
    echo "read-only run directory: $clean/$TRIALS stopped with an error naming the problem, $unchanged/$TRIALS left it unchanged (${line:-no error line})"
else
    echo "read-only run directory: skipped (cannot make a read-only bind mount here; needs root)"
fi

# --- corrupt bytes in model.safetensors ---------------------------------------------------------------------------------
refused=0 fell_back=0 silent=0
for ((trial = 1; trial <= TRIALS; trial++)); do
    run=$WORK/corrupt-$trial LOG=$WORK/corrupt-$trial.log
    cp -a "$WORK/base" "$run"
    model=$run/checkpoints/$(cat "$run/checkpoints/latest")/model.safetensors
    header=$(od -An -tu8 -N8 "$model" | tr -d ' ')
    start=$((8 + header)) size=$(stat -c %s "$model")
    offset=$((start + (RANDOM * 32768 + RANDOM) % (size - start)))
    byte=$(od -An -tu1 -j "$offset" -N1 "$model" | tr -d ' ')
    printf "$(printf '\\%03o' $(((byte ^ (1 << (RANDOM % 8))) & 255)))" | dd of="$model" bs=1 seek="$offset" conv=notrunc 2> /dev/null
    train --resume "$run"; status=$?
    if ((status != 0)); then
        refused=$((refused + 1))
    elif identical "$run"; then
        fell_back=$((fell_back + 1))   # resumed from an older, intact checkpoint: the same end as the reference
    else
        silent=$((silent + 1))
    fi
done
echo "corrupt model.safetensors: $refused/$TRIALS refused to resume, $fell_back/$TRIALS fell back to an intact checkpoint, $silent/$TRIALS trained on silently"
