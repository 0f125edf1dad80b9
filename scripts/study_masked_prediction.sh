#!/usr/bin/env bash
# Masked label prediction on the speech study's corpus (issue 7): OBJECTIVE=bestrq (default; random-projection
# labels) or OBJECTIVE=hubert (k-means labels of the frames' cepstra, fitted first by `pretrain kmeans`).
# Pre-trains recipes/$OBJECTIVE-small.yaml on data/speech-fbank (made by scripts/study_audio.sh), probes it and its
# random-init encoder like TERA and SSAST, and writes runs/study-audio/results-$OBJECTIVE.md.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
OBJECTIVE=${OBJECTIVE:-bestrq}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-audio}
RECIPE=recipes/$OBJECTIVE-small.yaml
STEPS=${STEPS:-$(awk '$1 == "steps:" { print $2; exit }' "$RECIPE")}   # default: the recipe's
case $OBJECTIVE in bestrq|hubert) ;; *) echo "OBJECTIVE must be bestrq or hubert, got '$OBJECTIVE'"; exit 1;; esac
[ -f "$FBANK/corpus.json" ] || { echo "run scripts/study_audio.sh first (needs $FBANK)"; exit 1; }
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
extra=()
if [ "$OBJECTIVE" = hubert ]; then
    centroids="$OUT/kmeans-mfcc100.safetensors"
    [ -f "$centroids" ] || { log "k-means of the cepstra (100 clusters)"
        $PRETRAIN kmeans "$FBANK" --k 100 --out "$centroids" | tail -2 | tee -a "$OUT/study.log"; }
    extra=(--set objective.hubert.centroids="$centroids")
fi
run="$OUT/$OBJECTIVE"
if [ ! -f "$run/checkpoints/latest" ] || ! grep -q "step_$(printf %06d "$STEPS")" "$run/checkpoints/latest"; then
    log "pre-training $OBJECTIVE ($STEPS steps)"
    start=$(date +%s)
    if [ -d "$run/checkpoints" ]; then resume="--resume"; else resume=""; fi
    $PRETRAIN train "$RECIPE" --run-dir "$run" $resume --set data.features="$FBANK" \
        --set train.steps="$STEPS" "${extra[@]}" >> "$OUT/$OBJECTIVE.log" 2>&1
    log "pre-training $OBJECTIVE took $(( $(date +%s) - start )) s"
fi
probe() {  # name, arguments...
    local name=$1; shift
    [ -f "$OUT/probes/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$SPEECH" --task all --labels-per-class 10 --seeds 3 --out "$OUT/probes/$name.json" \
        | tail -6 >> "$OUT/probes.log"
}
probe "$OBJECTIVE" "$run"
probe "random-$OBJECTIVE" "$run" --baseline random-init
$PRETRAIN probe-table "$OUT/probes"/{fbank,random-frames,"random-$OBJECTIVE",tera,"$OBJECTIVE"}.json > "$OUT/results-$OBJECTIVE.md"
log "wrote $OUT/results-$OBJECTIVE.md"
cat "$OUT/results-$OBJECTIVE.md"
