#!/usr/bin/env bash
# Data-parallel throughput on one machine (issue 19): for each model, 2 ranks × 1 thread under mpirun against
# 1 rank × 2 threads with the same global batch (the rank's batch doubled), alternating, BENCH_DP_ROUNDS rounds;
# prints each run's tokens/s and the 2-rank runs' exposed all-reduce ms and overlap, then the median ratio.
#
#   scripts/bench_dp.sh                      tiny and small, 3 rounds (about 4 minutes on two cores)
#   BENCH_DP_MODELS="small" BENCH_DP_ROUNDS=5 scripts/bench_dp.sh
set -u
cd "$(dirname "$0")/.."
P=$(realpath "${PRETRAIN:-.build/release/pretrain}")
MODELS=${BENCH_DP_MODELS:-tiny small}
ROUNDS=${BENCH_DP_ROUNDS:-3}
command -v mpirun > /dev/null || { echo "bench_dp: mpirun not found (make deps installs openmpi-bin)"; exit 1; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
echo "bench_dp: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u +%F)"
for model in $MODELS; do
    case $model in tiny | bert-tiny | audio-small) batch=16 ;; *) batch=8 ;; esac   # the presets' batch
    one=() two=()
    for ((round = 1; round <= ROUNDS; round++)); do
        single=$("$P" bench step --model "$model" --batch $((2 * batch)) --threads 2 --steps 5 --warmup 2 | tail -1)
        double=$(mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 "$P" bench step --model "$model" \
                 --batch "$batch" --threads 1 --steps 5 --warmup 2 | tail -1)
        one+=("$(field "$single" tokens_per_s)") two+=("$(field "$double" tokens_per_s)")
        echo "$model round $round: 1 rank × 2 threads (batch $((2 * batch))) $(field "$single" tokens_per_s) tok/s;" \
             "2 ranks × 1 thread (batch $batch each) $(field "$double" tokens_per_s) tok/s," \
             "all-reduce $(field "$double" allreduce_exposed_ms) ms exposed of $(field "$double" allreduce_ms) ms," \
             "$(field "$double" allreduce_overlapped) of the bytes sent during backward"
    done
    python3 - "$model" "${one[*]}" "${two[*]}" <<'PY'
import statistics, sys
model, one, two = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ratios = [b / a for a, b in zip(one, two)]
print(f"{model}: 2 ranks × 1 thread / 1 rank × 2 threads = {statistics.median(ratios):.3f} (median of {len(ratios)}; "
      f"{min(ratios):.3f}–{max(ratios):.3f})")
PY
done
