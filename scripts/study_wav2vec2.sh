#!/usr/bin/env bash
# wav2vec 2.0 on the speech study's corpus (issue 7): pre-train recipes/wav2vec2-small.yaml on the raw waveforms of
# data/speech/pretrain (no feature preparation), probe the frozen encoder and its random-init twin on KS, SID, LID
# (10 labelled utterances per class) and PR with 3 probe seeds, as scripts/study_masked_prediction.sh does, and add its rows
# to runs/study-audio/results-wav2vec2.md beside the baselines of scripts/study_audio.sh. The codebook perplexity
# (objective/code_perplexity, and objective/codebook_usage = perplexity / G·V) of the last logged steps is printed.
# FORM=frames trains recipes/wav2vec2-frames-small.yaml instead (the objective over the fbank frames of $FEATURES,
# from scripts/study_audio.sh) into $OUT/wav2vec2-frames.
# Every step is skipped when its output exists; delete it to redo.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
OUT=${OUT:-runs/study-audio}
STEPS=${STEPS:-4000}
SEEDS=${SEEDS:-3}
LABELS=${LABELS:-10}
FORM=${FORM:-waveform}
FEATURES=${FEATURES:-data/speech-fbank}
case "$FORM" in
    waveform) name=wav2vec2; recipe=recipes/wav2vec2-small.yaml; data=(--set data.waveforms="$SPEECH/pretrain")
        [ -d "$SPEECH/pretrain" ] || { echo "needs $SPEECH/pretrain (scripts/study_audio.sh synthesises the corpus)"; exit 1; } ;;
    frames) name=wav2vec2-frames; recipe=recipes/wav2vec2-frames-small.yaml; data=(--set data.features="$FEATURES")
        [ -f "$FEATURES/corpus.json" ] || { echo "needs the feature corpus $FEATURES (scripts/study_audio.sh prepares it)"; exit 1; } ;;
    *) echo "FORM must be waveform or frames, got '$FORM'"; exit 1 ;;
esac
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
run="$OUT/$name"
if [ ! -f "$run/checkpoints/latest" ] || ! grep -q "step_$(printf %06d "$STEPS")" "$run/checkpoints/latest"; then
    log "pre-training $name ($STEPS steps)"
    start=$(date +%s)
    if [ -d "$run/checkpoints" ]; then resume="--resume"; else resume=""; fi
    $PRETRAIN train "$recipe" --run-dir "$run" $resume "${data[@]}" --set train.steps="$STEPS" >> "$OUT/$name.log" 2>&1
    log "pre-training $name took $(( $(date +%s) - start )) s"
fi
python3 - "$run/metrics.jsonl" "$name" <<'PY' | tee -a "$OUT/study.log"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if '"objective/codebook_usage"' in line][-10:]
mean = lambda key: sum(r[key] for r in rows) / len(rows)
print(f"{sys.argv[2]} codebook over the last {len(rows)} logged steps (to step {rows[-1]['step']}): perplexity "
      f"{mean('objective/code_perplexity'):.1f} = {100 * mean('objective/codebook_usage'):.1f} % of G·V; "
      f"contrastive loss {mean('objective/contrastive_loss'):.3f}")
PY
probe() {  # name, arguments...
    local name=$1; shift
    [ -f "$OUT/probes/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$SPEECH" --task all --labels-per-class "$LABELS" --seeds "$SEEDS" \
        --out "$OUT/probes/$name.json" | tail -6 >> "$OUT/probes.log"
}
probe fbank --baseline fbank
probe "random-$name" "$run" --baseline random-init
probe "$name" "$run"
tables=("$OUT/probes"/{fbank,"random-$name","$name"}.json)
for other in random-frames tera bestrq; do [ -f "$OUT/probes/$other.json" ] && tables+=("$OUT/probes/$other.json"); done
$PRETRAIN probe-table "${tables[@]}" > "$OUT/results-$name.md"
log "wrote $OUT/results-$name.md"
cat "$OUT/results-$name.md"
