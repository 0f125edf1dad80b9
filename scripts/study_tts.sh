#!/usr/bin/env bash
# Text-to-speech judged by our own recogniser (FastSpeech 2, Ren et al. 2021, with the aligner of Badlani et al. 2022):
# synthesises $TTS (one clean espeak-ng voice reading Shakespeare lines; `pretrain data synth-speech --subsets tts`),
# trains recipes/fastspeech-small.yaml on its train lines for $STEPS steps, fine-tunes a CTC phoneme recogniser from
# the audio encoder $ENCODER (default: TERA pre-trained here on $FBANK for $ENCODER_STEPS steps) on the same voice's
# train lines (1000 updates), and judges the speaker on the test lines: PER of the recogniser on the synthesised audio
# against the real espeak-ng audio and copy synthesis (real frames → Griffin-Lim), mel-cepstral distortion, real-time
# factor. Writes $OUT/results.md and $OUT/judge/report.html (with players).
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
tts_sizes=() small=() encoder_small=() judge=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=4 ENCODER_STEPS=2 FINETUNE_STEPS=3
    tts_sizes=(--tts 16,3,2)
    small=(--set model.layers=1 --set model.d_model=16 --set model.mlp_hidden=32 --set model.predictor_hidden=16
           --set model.alignment_dim=8 --set train.eval_every=2 --set train.checkpoint_every=2 --set schedule.warmup=1
           --set optim.batch_size=2 --set objective.fastspeech.binarization_start=2)
    encoder_small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
                   --set train.eval_every=2 --set train.checkpoint_every=2 --set schedule.warmup=1 --set optim.batch_size=2)
    judge=(--limit 2 --samples 1 --griffin-lim-iterations 2)
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
{ tail -1 "$OUT/judge.log"; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
