#!/usr/bin/env bash
# Text-to-speech judged by our own recogniser (FastSpeech 2, Ren et al. 2021, with the aligner of Badlani et al. 2022):
# synthesises $TTS (one clean espeak-ng voice reading Shakespeare lines; `pretrain data synth-speech --subsets tts`),
# trains recipes/fastspeech-small.yaml on its train lines for $STEPS steps, fine-tunes a CTC phoneme recogniser from
# the audio encoder $ENCODER (default: TERA pre-trained here on $FBANK for $ENCODER_STEPS steps) on the same voice's
# train lines (1000 updates), and judges the speaker on the test lines: PER of the recogniser on the synthesised audio
# against the real espeak-ng audio and copy synthesis (real frames → Griffin-Lim), mel-cepstral distortion, real-time
# factor. Then the token-based path: $UNITS speech units of the same corpus (`pretrain tts units`, the FastSpeech
# aligner's durations), decoder LMs (recipes/unit-lm-small.yaml, $UNIT_STEPS steps) on the tts and tts-aligned
# corpora judged the same way (the aligned model with and without phoneme-guided decoding: skipped words and inserted
# runs), and spoken LMs on the speech and interleaved speech–text corpora ($LM_SEEDS seeds each) compared on the
# word / non-word and sentence-order preference tests (`pretrain tts words`).
# Writes $OUT/results.md and $OUT/judge*/report.html (with players).
# TINY=1 runs the whole pipeline small (a smoke test: minutes, not a result). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
FBANK=${FBANK:-data/speech-fbank}
TTS=${TTS:-data/tts}
OUT=${OUT:-runs/study-tts}
STEPS=${STEPS:-3000}
ENCODER_STEPS=${ENCODER_STEPS:-7000}
FINETUNE_STEPS=${FINETUNE_STEPS:-1000}
SEED=${SEED:-1337}
UNITS=${UNITS:-512}
UNIT_STEPS=${UNIT_STEPS:-1000}
LM_SEEDS=${LM_SEEDS:-1337}
tts_sizes=() small=() encoder_small=() judge=() unit_small=() words=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=4 ENCODER_STEPS=2 FINETUNE_STEPS=3
    tts_sizes=(--tts 16,3,2)
    small=(--set model.layers=1 --set model.d_model=16 --set model.mlp_hidden=32 --set model.predictor_hidden=16
           --set model.alignment_dim=8 --set train.eval_every=2 --set train.checkpoint_every=2 --set schedule.warmup=1
           --set optim.batch_size=2 --set objective.fastspeech.binarization_start=2)
    encoder_small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
                   --set train.eval_every=2 --set train.checkpoint_every=2 --set schedule.warmup=1 --set optim.batch_size=2)
    judge=(--limit 2 --samples 1 --griffin-lim-iterations 2)
    UNITS=8 UNIT_STEPS=2
    unit_small=(--set model.layers=1 --set model.d_model=16 --set model.heads=2 --set model.context=96 --set train.eval_every=2
                --set train.checkpoint_every=2 --set schedule.warmup=1 --set optim.batch_size=2)
    words=(--lexical 4 --syntactic 2 --continuation 2)
fi
mkdir -p "$OUT"
STUDY_LOG="$OUT/study.log"
source "$(dirname "$0")/study_common.sh"
[ -f "$TTS/manifest.jsonl" ] || { log "synthesising $TTS"
    $PRETRAIN data synth-speech --subsets tts --hours 0 --seed 0 "${tts_sizes[@]}" --out "$TTS" | tail -1 >> "$OUT/study.log"; }
study_train "$OUT/fastspeech" recipes/fastspeech-small.yaml "$STEPS" --set data.tts="$TTS"
if [ -z "${ENCODER:-}" ]; then
    [ -f "$FBANK/corpus.json" ] || { echo "needs the feature corpus $FBANK (scripts/study_audio.sh prepares it) or ENCODER"; exit 1; }
    small=("${encoder_small[@]}")
    study_train "$OUT/tera" recipes/tera-small.yaml "$ENCODER_STEPS" --set data.features="$FBANK"
    ENCODER="$OUT/tera"
fi
# The recogniser learns the voice from its train lines: the tts subset read as phoneme recognition.
relabelled="$OUT/tts-as-pr"
if [ ! -f "$relabelled/manifest.jsonl" ]; then
    mkdir -p "$relabelled"
    ln -sfn "$(cd "$TTS" && pwd)/tts" "$relabelled/tts"
    sed 's/"subset":"tts"/"subset":"pr"/' "$TTS/manifest.jsonl" > "$relabelled/manifest.jsonl"
fi
if [ ! -f "$OUT/recogniser/result.json" ]; then
    log "fine-tuning the recogniser from $ENCODER ($FINETUNE_STEPS updates)"
    start=$(date +%s)
    $PRETRAIN finetune "$ENCODER" --corpus "$relabelled" --steps "$FINETUNE_STEPS" --freeze-encoder-steps $((FINETUNE_STEPS / 10)) \
        --lr 4e-4 --head-lr-scale 5 --seed 0 --out "$OUT/recogniser" > "$OUT/recogniser.log" 2>&1
    log "fine-tuning the recogniser took $(( $(date +%s) - start )) s"
fi
log "judging"
$PRETRAIN tts judge "$OUT/fastspeech" --recognizer "$OUT/recogniser" --corpus "$TTS" --out "$OUT/judge" "${judge[@]}" \
    > "$OUT/judge.log" 2>&1

# The token-based path: units, unit LMs, their judgements, and the spoken LMs' preference tests.
[ -f "$OUT/units/summary.json" ] || { log "speech units"
    $PRETRAIN tts units --corpus "$TTS" --aligner "$OUT/fastspeech" --units "$UNITS" --seed 0 --out "$OUT/units" > "$OUT/units.log" 2>&1; }
small=("${unit_small[@]}")
for layout in tts tts-aligned; do
    study_train "$OUT/lm-$layout" recipes/unit-lm-small.yaml "$UNIT_STEPS" --set data.corpus="$OUT/units/$layout"
done
unit_judge() {   # NAME CHECKPOINT [OPTIONS…]
    local name=$1 checkpoint=$2; shift 2
    [ -f "$OUT/$name/judge.json" ] && return
    log "judging $name"
    $PRETRAIN tts judge "$checkpoint" --recognizer "$OUT/recogniser" --corpus "$TTS" --out "$OUT/$name" "${judge[@]}" \
        --unit-decoder "$OUT/units/unit_decoder.safetensors" "$@" > "$OUT/$name.log" 2>&1
}
unit_judge judge-unit-lm "$OUT/lm-tts"
unit_judge judge-unit-lm-guided "$OUT/lm-tts-aligned"
unit_judge judge-unit-lm-aligned-unguided "$OUT/lm-tts-aligned" --unguided
spoken=()
if [ "${TINY:-0}" != 1 ]; then small=(--set model.context=256); fi
for seed in $LM_SEEDS; do
    for layout in speech interleaved; do
        SEED=$seed study_train "$OUT/lm-$layout-seed$seed" recipes/unit-lm-small.yaml "$UNIT_STEPS" --set data.corpus="$OUT/units/$layout"
        spoken+=("$OUT/lm-$layout-seed$seed")
    done
done
[ -f "$OUT/words/preference.json" ] || { log "preference tests"
    $PRETRAIN tts words "${spoken[@]}" --corpus "$TTS" --out "$OUT/words" "${words[@]}" > "$OUT/words.log" 2>&1; }
{
    $PRETRAIN tts table "$OUT"/{judge,judge-unit-lm,judge-unit-lm-guided,judge-unit-lm-aligned-unguided} --preference "$OUT/words/preference.json"
    grep -h "took" "$OUT/study.log"
} > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
