#!/usr/bin/env bash
# Killed ranks in a data-parallel job (issue 19): `mpirun -np 2 pretrain train` on a tiny corpus and model; in each
# trial one rank (chosen at random) is killed with SIGKILL at a random moment after the first checkpoint. Counts the
# trials where the job ended within 60 s with a non-zero status and a message naming the killed rank, and where the
# newest checkpoint was still intact (one process resumes from it).
#
#   scripts/distributed_faults.sh            DIST_TRIALS=10 trials (about a minute on two cores)
#   DIST_TRIALS=N DIST_SEED=S PRETRAIN=path  more trials, other random choices, another binary
#   DIST_SIGNAL=STOP                         stop the rank instead (alive, so only the trainer's watchdog can end
#                                            the job: distributed.timeout_seconds is set to DIST_TIMEOUT, default 5)
set -u
cd "$(dirname "$0")/.."
P=$(realpath "${PRETRAIN:-.build/release/pretrain}")
TRIALS=${DIST_TRIALS:-10}
SEED=${DIST_SEED:-$(date +%s)}
RANDOM=$SEED
command -v mpirun > /dev/null || { echo "distributed_faults: mpirun not found (make deps installs openmpi-bin)"; exit 1; }
[ -x "$P" ] || { echo "distributed_faults: $P not found (make build)"; exit 1; }
SIGNAL=${DIST_SIGNAL:-KILL}
TIMEOUT=${DIST_TIMEOUT:-5}
WORK=$(mktemp -d /tmp/pretrain-dist-faults.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "distributed_faults: seed $SEED, $TRIALS trials, work directory $WORK"
mkdir -p "$WORK/text"
cp data/shakespeare/{hamlet,macbeth,tempest}.txt "$WORK/text/"
"$P" tokenize --train-vocab 300 --val-files tempest --out "$WORK/corpus" "$WORK/text" > "$WORK/tokenize.log" 2>&1 \
    || { cat "$WORK/tokenize.log"; exit 1; }
cat > "$WORK/recipe.yaml" <<EOR
model: {flavor: gpt2, layers: 2, d_model: 64, heads: 2, context: 64}
objective: {kind: causal_lm}
data: {corpus: $WORK/corpus}
optim: {lr: 1.0e-3, batch_size: 8}
train: {steps: 1000000, eval_every: 50, eval_batches: 2, log_every: 10, checkpoint_every: 20, seed: 3, threads: 1}
EOR
ended=0 named=0 intact=0 worst=0
for ((trial = 1; trial <= TRIALS; trial++)); do
    run=$WORK/run-$trial log=$WORK/run-$trial.log
    mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 "$P" train "$WORK/recipe.yaml" --run-dir "$run" \
        --set distributed.timeout_seconds=$TIMEOUT > "$log" 2>&1 & launcher=$!
    until [ -f "$run/checkpoints/step_000020/COMPLETE" ] || ! kill -0 $launcher 2> /dev/null; do sleep 0.05; done
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    victim_rank=$((RANDOM % 2)) victim=""
    for child in $(pgrep -P $launcher); do
        tr '\0' '\n' < /proc/$child/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$victim_rank" && victim=$child
    done
    [ -n "$victim" ] || { echo "trial $trial: rank $victim_rank not found"; kill $launcher; wait $launcher; continue; }
    killed=$(date +%s%N)
    kill -s "$SIGNAL" "$victim"
    while kill -0 $launcher 2> /dev/null && (( $(date +%s%N) - killed < 60000000000 )); do sleep 0.05; done
    if kill -0 $launcher 2> /dev/null; then kill -9 $launcher; fi
    wait $launcher; status=$?
    kill -9 "$victim" 2> /dev/null   # a stopped rank that mpirun could not end
    ms=$((($(date +%s%N) - killed) / 1000000))
    ((ms > worst)) && worst=$ms
    ((ms < 60000 && status != 0)) && ended=$((ended + 1))
    if [ "$SIGNAL" = KILL ]; then
        grep -q "rank $victim_rank" "$log" && named=$((named + 1))
    else   # the other rank's watchdog speaks
        grep -q "rank $((1 - victim_rank)): no training step finished" "$log" && named=$((named + 1))
    fi
    latest=$(cat "$run/checkpoints/latest")
    step=$((10#${latest#step_}))
    if "$P" train --resume "$run" --stop-after $((step + 1)) > "$WORK/resume-$trial.log" 2>&1; then intact=$((intact + 1)); fi
    echo "trial $trial: SIG$SIGNAL to rank $victim_rank, the job ended after $ms ms with status $status; resumed from $latest"
done
what=$([ "$SIGNAL" = KILL ] && echo "named the killed rank" || echo "had the other rank's watchdog message")
echo "SIG$SIGNAL to a rank: $ended/$TRIALS jobs ended within 60 s (slowest $worst ms), $named/$TRIALS $what, $intact/$TRIALS newest checkpoints resumed"
