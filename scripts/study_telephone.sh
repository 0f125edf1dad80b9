#!/usr/bin/env bash
# Continued pre-training into the telephone domain (HYKIST, Vieting et al. 2023: adapting a wideband model to 8 kHz
# telephone speech by continued self-supervised pre-training on in-domain audio). $SPEECH (made by
# scripts/study_audio.sh) goes through a telephone channel (8 kHz, 300–3400 Hz, $CODEC codec, back at 16 kHz:
# `pretrain data telephone`); a TERA encoder pre-trained on the wideband unlabelled subset for $STEPS steps is compared,
# on the telephone versions of the probe tasks, with the same encoder continued for $CPT_STEPS steps on the telephone
# version of that subset, and with the fbank baseline. 10 labelled utterances a class, $PROBE_SEEDS probe seeds.
# Writes $OUT/results.md. TINY=1 runs the whole pipeline small (a smoke test). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
OUT=${OUT:-runs/study-telephone}
CODEC=${CODEC:-gsm}
STEPS=${STEPS:-7000}
CPT_STEPS=${CPT_STEPS:-2000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-speech}
small=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=6 CPT_STEPS=4 PROBE_SEEDS=1 TASKS=ks
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=2 --set train.checkpoint_every=2 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$SPEECH/manifest.jsonl" ] || { echo "needs the speech corpus $SPEECH (scripts/study_audio.sh synthesises it)"; exit 1; }
mkdir -p "$OUT/probes"
STUDY_LOG="$OUT/study.log" PROBES="$OUT/probes"
source "$(dirname "$0")/study_common.sh"
phone="$OUT/speech-$CODEC"
log "the corpus through the $CODEC telephone channel"
$PRETRAIN data telephone "$SPEECH" --out "$phone" --codec "$CODEC" | tail -1 >> "$OUT/study.log"
for corpus in wideband telephone; do
    features="$OUT/features-$corpus"
    [ -f "$features/corpus.json" ] && continue
    source="$SPEECH"; [ $corpus = telephone ] && source="$phone"
    log "features of the $corpus unlabelled subset"
    $PRETRAIN features prepare "$source" --where subset=pretrain --out "$features" | tail -1 >> "$OUT/study.log"
done
study_train "$OUT/tera-wideband" recipes/tera-small.yaml "$STEPS" --set data.features="$OUT/features-wideband"
study_train "$OUT/tera-continued" recipes/tera-small.yaml "$CPT_STEPS" --set data.features="$OUT/features-telephone" \
    --init-from "$OUT/tera-wideband"
study_probe fbank "$phone" --baseline fbank
study_probe tera-wideband "$phone" "$OUT/tera-wideband"
study_probe tera-continued "$phone" "$OUT/tera-continued"
{ $PRETRAIN probe-table "$OUT/probes"/{fbank,tera-wideband,tera-continued}.json; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
