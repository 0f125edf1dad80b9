#!/usr/bin/env bash
# Gender impact in self-supervised speech models (Boito et al. 2022, "A Study of Gender Impact in Self-supervised
# Models for Speech-to-Text Systems"): pre-train the same encoder on male-only, female-only and gender-balanced
# speech of equal size, then probe each on male and on female speakers. The paper's direction: the balanced model
# is at least as good as a single-gender one on the other gender's speakers.
#
# The three pre-training corpora come from the unlabelled subset of $SPEECH (made by scripts/study_audio.sh), by the
# gender espeak-ng declares for each speaker's voice variant (voices that declare none are left out):
#   male: $PER_GENDER male utterances; female: $PER_GENDER female ones; balanced: $PER_GENDER / 2 of each.
# Each is pre-trained with recipes/tera-small.yaml for $STEPS steps (so every model sees as many frames), and every
# encoder and the fbank baseline is probed with `--where gender=…` on PR (phoneme error rate), KS and SID (accuracy),
# 10 labelled utterances a class, $PROBE_SEEDS probe seeds. Writes $OUT/results.md.
# TINY=1 runs the whole pipeline small (a smoke test: minutes, not a result). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
OUT=${OUT:-runs/study-gender}
PER_GENDER=${PER_GENDER:-670}
STEPS=${STEPS:-3000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-pr,ks,sid}
small=()
if [ "${TINY:-0}" = 1 ]; then
    PER_GENDER=20 STEPS=6 PROBE_SEEDS=1 TASKS=ks
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$SPEECH/manifest.jsonl" ] || { echo "needs the speech corpus $SPEECH (scripts/study_audio.sh synthesises it)"; exit 1; }
mkdir -p "$OUT/probes"
STUDY_LOG="$OUT/study.log" PROBES="$OUT/probes"
source "$(dirname "$0")/study_common.sh"
for corpus in male female balanced; do
    features="$OUT/features-$corpus"
    [ -f "$features/corpus.json" ] && continue
    case $corpus in
        balanced) where=(--where gender=male,female --max-per-value $(( PER_GENDER / 2 ))) ;;
        *) where=(--where gender=$corpus --max-per-value "$PER_GENDER") ;;
    esac
    log "features of the $corpus corpus"
    $PRETRAIN features prepare "$SPEECH" --out "$features" --where subset=pretrain "${where[@]}" --val-fraction 0.05 \
        | tail -1 | tee -a "$OUT/study.log"
done
for corpus in male female balanced; do
    study_train "$OUT/tera-$corpus" recipes/tera-small.yaml "$STEPS" --set data.features="$OUT/features-$corpus"
done
for gender in male female; do
    study_probe "fbank-on-$gender" "$SPEECH" --where gender="$gender" --baseline fbank
    for corpus in male female balanced; do
        study_probe "tera-$corpus-on-$gender" "$SPEECH" --where gender="$gender" "$OUT/tera-$corpus"
    done
done
{
    for gender in male female; do
        echo "### Probed on $gender speakers"
        echo
        $PRETRAIN probe-table "$OUT/probes"/{fbank,tera-male,tera-female,tera-balanced}-on-"$gender".json
        echo
    done
    grep -h "took\|kept" "$OUT/study.log"
} > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
