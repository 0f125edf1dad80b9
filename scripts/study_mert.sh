#!/usr/bin/env bash
# MERT against HuBERT-style pre-training on music (Li et al. 2023's claim at our scale: the RVQ and constant-Q
# teachers give better music representations than k-means of MFCCs). Prepares $MUSIC (made by `pretrain data
# synth-music`) as fbank and constant-Q corpora, fits the RVQ teacher and the k-means of the cepstra on it, pre-trains
# recipes/mert-small.yaml and recipes/hubert-small.yaml on the same frames for $STEPS steps each, and probes both, their
# random-init encoder and the fbank and constant-Q baselines on the music tasks (instrument family, pitch, key, tempo;
# 10 labelled clips a class, $PROBE_SEEDS probe seeds). Writes $OUT/results.md.
# TINY=1 runs the whole pipeline small (a smoke test: minutes, not a result). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
MUSIC=${MUSIC:-data/music}
OUT=${OUT:-runs/study-mert}
STEPS=${STEPS:-3000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-music}
small=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=6 PROBE_SEEDS=1 TASKS=instrument
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64 --set model.conv_position_groups=4
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$MUSIC/manifest.jsonl" ] || { echo "needs the music corpus $MUSIC (pretrain data synth-music --out $MUSIC)"; exit 1; }
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
[ -f "$OUT/fbank/corpus.json" ] || { log "fbank corpus"; $PRETRAIN features prepare "$MUSIC" --out "$OUT/fbank" | tail -1 >> "$OUT/study.log"; }
[ -f "$OUT/cqt/corpus.json" ] || { log "constant-Q corpus"; $PRETRAIN features prepare "$MUSIC" --out "$OUT/cqt" --kind cqt | tail -1 >> "$OUT/study.log"; }
[ -f "$OUT/rvq.safetensors" ] || { log "RVQ teacher"; $PRETRAIN rvq "$OUT/fbank" --codebooks 4 --entries 64 --out "$OUT/rvq.safetensors" | head -1 >> "$OUT/study.log"; }
[ -f "$OUT/kmeans.safetensors" ] || { log "k-means of the cepstra"; $PRETRAIN kmeans "$OUT/fbank" --k 100 --out "$OUT/kmeans.safetensors" | tail -1 >> "$OUT/study.log"; }
pretrain() {  # name, recipe, extra arguments...
    local name=$1 recipe=$2; shift 2
    local run="$OUT/$name"
    if [ -f "$run/checkpoints/latest" ] && grep -q "step_$(printf %06d "$STEPS")" "$run/checkpoints/latest"; then return; fi
    log "pre-training $name ($STEPS steps, seed $SEED)"
    local start=$(date +%s) resume=""
    [ -d "$run/checkpoints" ] && resume="--resume"
    $PRETRAIN train "$recipe" --run-dir "$run" $resume --set data.features="$OUT/fbank" --set train.steps="$STEPS" \
        --set train.seed="$SEED" "${small[@]}" "$@" >> "$OUT/$name.log" 2>&1
    log "pre-training $name took $(( $(date +%s) - start )) s"
}
pretrain mert recipes/mert-small.yaml --set data.targets="$OUT/cqt" --set objective.mert.rvq="$OUT/rvq.safetensors"
pretrain hubert recipes/hubert-small.yaml --set objective.hubert.centroids="$OUT/kmeans.safetensors"
probe() {  # name, arguments...
    local name=$1; shift
    [ -f "$OUT/probes/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$MUSIC" --task "$TASKS" --labels-per-class 10 --seeds "$PROBE_SEEDS" \
        --out "$OUT/probes/$name.json" | tail -5 >> "$OUT/probes.log"
}
probe fbank --baseline fbank
probe cqt --baseline cqt
probe random-init "$OUT/mert" --baseline random-init
probe hubert "$OUT/hubert"
probe mert "$OUT/mert"
{ $PRETRAIN probe-table "$OUT/probes"/{fbank,cqt,random-init,hubert,mert}.json; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
