#!/usr/bin/env bash
# Multilingual pre-training over Indian languages (IndicWav2Vec, Javed et al. 2022: pre-training on many Indian
# languages beats an English-only model on their recognition). Synthesises speech in the nine Indian languages
# espeak-ng speaks (hi, bn, ta, te, mr, gu, kn, ml, pa; everyday words in each script read by each language's voice):
# $HOURS hours of multilingual pre-training audio, a language-identification subset over the nine, and a phoneme
# recognition corpus per language (espeak-ng IPA). Pre-trains TERA (recipes/tera-small.yaml) for $STEPS steps on the
# Indic audio and, as the monolingual model, on the English unlabelled subset ($FBANK), then probes both and fbank on
# LID and on PR in each language (10 labelled utterances a class, 120 for PR; $PROBE_SEEDS probe seeds). Writes
# $OUT/results.md. TINY=1 runs the whole pipeline small (a smoke test). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-indic}
LANGUAGES=${LANGUAGES:-hi,bn,ta,te,mr,gu,kn,ml,pa}
HOURS=${HOURS:-1}
PR=${PR:-200,50,50}
STEPS=${STEPS:-7000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
small=()
if [ "${TINY:-0}" = 1 ]; then
    HOURS=0.01 PR=24,6,6 STEPS=6 PROBE_SEEDS=1 LANGUAGES=hi,ta
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$FBANK/corpus.json" ] || { echo "needs the English feature corpus $FBANK (scripts/study_audio.sh prepares it)"; exit 1; }
mkdir -p "$OUT/probes"
STUDY_LOG="$OUT/study.log" PROBES="$OUT/probes"
source "$(dirname "$0")/study_common.sh"
lid_size=$([ "${TINY:-0}" = 1 ] && echo "--lid 10,3,3" || echo "")
[ -f "$OUT/indic/manifest.jsonl" ] || { log "synthesising the Indic corpus ($HOURS h)"
    $PRETRAIN data synth-speech --out "$OUT/indic" --subsets pretrain,lid --languages "$LANGUAGES" --hours "$HOURS" \
        $lid_size | tail -1 >> "$OUT/study.log"; }
for language in ${LANGUAGES//,/ }; do
    [ -f "$OUT/pr-$language/manifest.jsonl" ] && continue
    log "synthesising phoneme recognition in $language"
    $PRETRAIN data synth-speech --out "$OUT/pr-$language" --subsets pr --pr-language "$language" --pr "$PR" | tail -1 >> "$OUT/study.log"
done
[ -f "$OUT/indic-fbank/corpus.json" ] || $PRETRAIN features prepare "$OUT/indic/pretrain" --out "$OUT/indic-fbank" | tail -1 >> "$OUT/study.log"
study_train "$OUT/tera-english" recipes/tera-small.yaml "$STEPS" --set data.features="$FBANK"
study_train "$OUT/tera-indic" recipes/tera-small.yaml "$STEPS" --set data.features="$OUT/indic-fbank"
for rep in fbank tera-english tera-indic; do
    args=(--baseline fbank); [ $rep != fbank ] && args=("$OUT/$rep")
    TASKS=lid study_probe "lid-$rep" "$OUT/indic" "${args[@]}"
    for language in ${LANGUAGES//,/ }; do TASKS=pr study_probe "pr-$language-$rep" "$OUT/pr-$language" "${args[@]}"; done
done
{
    echo "### Language identification over $LANGUAGES"; echo
    $PRETRAIN probe-table "$OUT/probes"/lid-{fbank,tera-english,tera-indic}.json; echo
    for language in ${LANGUAGES//,/ }; do
        echo "### Phoneme recognition in $language"; echo
        $PRETRAIN probe-table "$OUT/probes"/pr-"$language"-{fbank,tera-english,tera-indic}.json; echo
    done
    grep -h "took" "$OUT/study.log"
} > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
