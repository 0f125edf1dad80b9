#!/usr/bin/env bash
# BEATs iterations on the speech study's corpus (issue 7): `pretrain beats --iterations 2` with recipes/beats-small.yaml
# on data/speech-fbank (iter1/ssl: random-projection labels; iter2/tokenizer: distilled from iter1/ssl; iter2/ssl: its
# labels), then the probes of both SSL models (KS, SID, LID at 10 labels/class, PR; 3 seeds) beside the study's
# baselines, in $OUT/results-beats.md with the probe average (mean of KS, SID, LID accuracy and 1 − PER).
# Resumable: a rerun skips finished stages and probes. Needs scripts/study_audio.sh's corpus and baselines.
# Cost on 2 quiet cores: the recipe's 2,000 SSL and 800 tokenizer steps take about 7, 4 and 7 min (414, 220 and
# 400 s on 2026-11-29); then the probes of both SSL models.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-audio}
ROOT=${ROOT:-$OUT/beats}
ITERATIONS=${ITERATIONS:-2}
[ -f "$FBANK/corpus.json" ] || { echo "run scripts/study_audio.sh first (needs $FBANK)"; exit 1; }
mkdir -p "$OUT/probes"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }

log "BEATs: $ITERATIONS iterations in $ROOT"
start=$(date +%s)
$PRETRAIN beats --iterations "$ITERATIONS" recipes/beats-small.yaml --out "$ROOT" --set data.features="$FBANK" >> "$OUT/beats.log" 2>&1
log "BEATs stages took $(( $(date +%s) - start )) s this invocation"
grep -h "objective/codebook" "$ROOT"/iter*/tokenizer/metrics.jsonl 2>/dev/null | tail -1 | sed 's/^/last tokenizer evaluation: /' >> "$OUT/study.log" || true

rows=()
for ((i = 1; i <= ITERATIONS; i++)); do
    name="beats-iter$i"
    [ -f "$OUT/probes/$name.json" ] || { log "probing $name"; $PRETRAIN probe "$ROOT/iter$i/ssl" --corpus "$SPEECH" --task all \
        --labels-per-class 10 --seeds 3 --out "$OUT/probes/$name.json" | tail -6 >> "$OUT/probes.log"; }
    rows+=("$OUT/probes/$name.json")
done
baselines=()
for name in fbank random-patches ssast bestrq; do [ -f "$OUT/probes/$name.json" ] && baselines+=("$OUT/probes/$name.json"); done
$PRETRAIN probe-table "${baselines[@]}" "${rows[@]}" > "$OUT/results-beats.md"
python3 - "${baselines[@]}" "${rows[@]}" >> "$OUT/results-beats.md" <<'PY'
import json, sys
from pathlib import Path
print("\n| representation | probe average ↑ (KS, SID, LID accuracy, 1 − PER) |\n|---|---|")
for path in sys.argv[1:]:
    results = {r["task"]: r for r in json.load(open(path))}
    scores = [results[t]["mean"] for t in ("ks", "sid", "lid") if t in results]
    if "pr" in results:
        scores.append(1 - results["pr"]["mean"])
    print(f"| {Path(path).stem} | {sum(scores) / len(scores):.3f} |")
PY
log "wrote $OUT/results-beats.md"
cat "$OUT/results-beats.md"
