#!/usr/bin/env bash
# Position prediction (Zhai et al. 2022: no positions in the input; the encoder names each position's index from
# its content) against masked reconstruction (TERA) on the same encoder: the same 3-layer frame encoder without
# position information (positions: none) pre-trained with each objective for $STEPS steps on data/speech-fbank (the
# two cost the same per step: one forward and backward of the encoder and a linear head), plus TERA with its learned
# positions as the reference. Probes every encoder and its random-init twin on KS, SID, LID and PR (10 labelled
# utterances a class, $PROBE_SEEDS probe seeds).
# Writes $OUT/results.md. TINY=1 runs the whole pipeline small (a smoke test). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-position}
STEPS=${STEPS:-7000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-speech}
small=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=6 PROBE_SEEDS=1 TASKS=ks
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$FBANK/corpus.json" ] || { echo "needs the feature corpus $FBANK (scripts/study_audio.sh prepares it)"; exit 1; }
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
train() {  # name, recipe, extra arguments...
    local name=$1 recipe=$2; shift 2
    local run="$OUT/$name"
    if [ -f "$run/checkpoints/latest" ] && grep -q "step_$(printf %06d "$STEPS")" "$run/checkpoints/latest"; then return; fi
    log "pre-training $name ($STEPS steps)"
    local start=$(date +%s) resume=""
    [ -d "$run/checkpoints" ] && resume="--resume"
    $PRETRAIN train "$recipe" --run-dir "$run" $resume --set data.features="$FBANK" --set train.steps="$STEPS" \
        --set train.seed="$SEED" "${small[@]}" "$@" >> "$OUT/$name.log" 2>&1
    log "pre-training $name took $(( $(date +%s) - start )) s"
}
train position-prediction recipes/position-prediction-small.yaml
train tera-no-positions recipes/tera-small.yaml --set model.positions=none
train tera recipes/tera-small.yaml
probe() {  # name, arguments...
    local name=$1; shift
    [ -f "$OUT/probes/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$SPEECH" --task "$TASKS" --labels-per-class 10 --seeds "$PROBE_SEEDS" \
        --out "$OUT/probes/$name.json" | tail -5 >> "$OUT/probes.log"
}
probe random-no-positions "$OUT/position-prediction" --baseline random-init
for name in position-prediction tera-no-positions tera; do probe "$name" "$OUT/$name"; done
{ $PRETRAIN probe-table "$OUT/probes"/{random-no-positions,position-prediction,tera-no-positions,tera}.json; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
