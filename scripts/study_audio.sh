#!/usr/bin/env bash
# The speech pre-training study of issue 6 (`make study-audio`): synthesise the default espeak-ng corpus, prepare
# fbank features of its unlabelled subset, pre-train TERA and SSAST encoders (recipes/tera-small.yaml,
# recipes/ssast-small.yaml), then probe each frozen encoder and both baselines (normalised fbank; the same encoders
# with random weights) on keyword spotting, speaker and language identification (10 labelled utterances per class)
# and phoneme recognition, 3 probe seeds each. Every step is skipped when its output exists; delete it to redo.
# Results: runs/study-audio/probes/*.json and runs/study-audio/results.md (the table of docs/RESULTS.md).
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-audio}
STEPS=${STEPS:-}           # default: each recipe's train.steps (sized to 20 minutes on 2 quiet cores)
SEEDS=${SEEDS:-3}
LABELS=${LABELS:-10}
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }

[ -f "$SPEECH/manifest.jsonl" ] || { log "synthesising $SPEECH"; $PRETRAIN data synth-speech --out "$SPEECH" --hours 2 --seed 0; }
[ -f "$FBANK/corpus.json" ] || { log "fbank features of $SPEECH/pretrain"; $PRETRAIN features prepare "$SPEECH/pretrain" --out "$FBANK"; }
for objective in tera ssast; do
    run="$OUT/$objective" recipe="recipes/$objective-small.yaml"
    steps=${STEPS:-$(awk '$1 == "steps:" { print $2; exit }' "$recipe")}
    if [ ! -f "$run/checkpoints/latest" ] || ! grep -q "step_$(printf %06d "$steps")" "$run/checkpoints/latest"; then
        log "pre-training $objective ($steps steps)"
        start=$(date +%s)
        if [ -d "$run/checkpoints" ]; then resume="--resume"; else resume=""; fi
        $PRETRAIN train "$recipe" --run-dir "$run" $resume \
            --set data.features="$FBANK" --set train.steps="$steps" >> "$OUT/$objective.log" 2>&1
        log "pre-training $objective took $(( $(date +%s) - start )) s"
    fi
done
probe() {  # name, arguments...
    local name=$1; shift
    [ -f "$OUT/probes/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$SPEECH" --task all --labels-per-class "$LABELS" --seeds "$SEEDS" \
        --out "$OUT/probes/$name.json" | tail -6 >> "$OUT/probes.log"
}
probe fbank --baseline fbank
probe random-frames "$OUT/tera" --baseline random-init
probe random-patches "$OUT/ssast" --baseline random-init
probe tera "$OUT/tera"
probe ssast "$OUT/ssast"
$PRETRAIN probe-table "$OUT/probes"/{fbank,random-frames,random-patches,tera,ssast}.json > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
