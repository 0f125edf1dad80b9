#!/usr/bin/env bash
# MERT against HuBERT-style pre-training on music (Li et al. 2023's claim at our scale: the RVQ and constant-Q
# teachers give better music representations than k-means of MFCCs). Prepares $MUSIC (made by `pretrain data
# synth-music`) as fbank and constant-Q corpora, fits the RVQ teacher and the k-means of the cepstra on it, pre-trains
# recipes/mert-small.yaml and recipes/hubert-small.yaml on the same frames for $STEPS steps each, and probes both, their
# random-init encoder and the fbank and constant-Q baselines on the music tasks (instrument family, pitch, key, tempo;
# 10 labelled clips a class, $PROBE_SEEDS probe seeds). Writes $OUT/results.md. When the speech corpus $SPEECH exists,
# the two music encoders are probed on its speech tasks too ($OUT/results-speech.md, beside fbank).
# TINY=1 runs the whole pipeline small (a smoke test: minutes, not a result). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
MUSIC=${MUSIC:-data/music}
SPEECH=${SPEECH:-data/speech}
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
STUDY_LOG="$OUT/study.log" PROBES="$OUT/probes"
source "$(dirname "$0")/study_common.sh"
[ -f "$OUT/fbank/corpus.json" ] || { log "fbank corpus"; $PRETRAIN features prepare "$MUSIC" --out "$OUT/fbank" | tail -1 >> "$OUT/study.log"; }
[ -f "$OUT/cqt/corpus.json" ] || { log "constant-Q corpus"; $PRETRAIN features prepare "$MUSIC" --out "$OUT/cqt" --kind cqt | tail -1 >> "$OUT/study.log"; }
[ -f "$OUT/rvq.safetensors" ] || { log "RVQ teacher"; $PRETRAIN rvq "$OUT/fbank" --codebooks 4 --entries 64 --out "$OUT/rvq.safetensors" | head -1 >> "$OUT/study.log"; }
[ -f "$OUT/kmeans.safetensors" ] || { log "k-means of the cepstra"; $PRETRAIN kmeans "$OUT/fbank" --k 100 --out "$OUT/kmeans.safetensors" | tail -1 >> "$OUT/study.log"; }
study_train "$OUT/mert" recipes/mert-small.yaml "$STEPS" --set data.features="$OUT/fbank" --set data.targets="$OUT/cqt" \
    --set objective.mert.rvq="$OUT/rvq.safetensors"
study_train "$OUT/hubert" recipes/hubert-small.yaml "$STEPS" --set data.features="$OUT/fbank" \
    --set objective.hubert.centroids="$OUT/kmeans.safetensors"
study_probe fbank "$MUSIC" --baseline fbank
study_probe cqt "$MUSIC" --baseline cqt
study_probe random-init "$MUSIC" "$OUT/mert" --baseline random-init
study_probe hubert "$MUSIC" "$OUT/hubert"
study_probe mert "$MUSIC" "$OUT/mert"
{ $PRETRAIN probe-table "$OUT/probes"/{fbank,cqt,random-init,hubert,mert}.json; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
if [ -f "$SPEECH/manifest.jsonl" ]; then
    speech_tasks=speech; [ "${TINY:-0}" = 1 ] && speech_tasks=ks
    for name in fbank hubert mert; do
        args=(--baseline fbank); [ $name != fbank ] && args=("$OUT/$name")
        TASKS=$speech_tasks study_probe "speech-$name" "$SPEECH" "${args[@]}"
    done
    $PRETRAIN probe-table "$OUT/probes"/speech-{fbank,hubert,mert}.json > "$OUT/results-speech.md"
    log "wrote $OUT/results-speech.md"
    cat "$OUT/results-speech.md"
fi
