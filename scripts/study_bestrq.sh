#!/usr/bin/env bash
# BEST-RQ on the speech study's corpus (issue 7): pre-train recipes/bestrq-small.yaml on data/speech-fbank (made by
# scripts/study_audio.sh), probe it like TERA and SSAST, and add its row to runs/study-audio/results.md.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-audio}
STEPS=${STEPS:-$(awk '$1 == "steps:" { print $2; exit }' recipes/bestrq-small.yaml)}   # default: the recipe's
[ -f "$FBANK/corpus.json" ] || { echo "run scripts/study_audio.sh first (needs $FBANK)"; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
if [ ! -f "$OUT/bestrq/checkpoints/latest" ] || ! grep -q "step_$(printf %06d "$STEPS")" "$OUT/bestrq/checkpoints/latest"; then
    log "pre-training bestrq ($STEPS steps)"
    start=$(date +%s)
    if [ -d "$OUT/bestrq/checkpoints" ]; then resume="--resume"; else resume=""; fi
    $PRETRAIN train recipes/bestrq-small.yaml --run-dir "$OUT/bestrq" $resume --set data.features="$FBANK" \
        --set train.steps="$STEPS" >> "$OUT/bestrq.log" 2>&1
    log "pre-training bestrq took $(( $(date +%s) - start )) s"
fi
[ -f "$OUT/probes/bestrq.json" ] || { log "probing bestrq"; $PRETRAIN probe "$OUT/bestrq" --corpus "$SPEECH" --task all \
    --labels-per-class 10 --seeds 3 --out "$OUT/probes/bestrq.json" | tail -6 >> "$OUT/probes.log"; }
[ -f "$OUT/probes/random-bestrq.json" ] || { log "probing random-bestrq"; $PRETRAIN probe "$OUT/bestrq" --baseline random-init \
    --corpus "$SPEECH" --task all --labels-per-class 10 --seeds 3 --out "$OUT/probes/random-bestrq.json" | tail -6 >> "$OUT/probes.log"; }
$PRETRAIN probe-table "$OUT/probes"/{fbank,random-frames,random-bestrq,tera,bestrq}.json > "$OUT/results-bestrq.md"
log "wrote $OUT/results-bestrq.md"
cat "$OUT/results-bestrq.md"
