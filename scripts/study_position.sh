#!/usr/bin/env bash
# Position prediction (Zhai et al. 2022: no positions in the input; the encoder names each position's index from
# its content) against masked reconstruction (TERA) on the same encoder: the same 3-layer frame encoder without
# position information (positions: none) pre-trained with each objective for $STEPS steps on data/speech-fbank (the
# two cost the same per step: one forward and backward of the encoder and a linear head), plus TERA with its learned
# positions as the reference. Probes every encoder and its random-init twin on KS, SID, LID and PR (10 labelled
# utterances a class, $PROBE_SEEDS probe seeds).
# With KEY_MASK=r (r > 0) a fourth arm trains position prediction with the paper's key masking: a share r of each
# crop's positions is left out of the attention keys (objective.position_prediction.key_mask_ratio).
# Writes $OUT/results.md. TINY=1 runs the whole pipeline small (a smoke test). Steps whose output exists are skipped.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-position}
STEPS=${STEPS:-7000}
SEED=${SEED:-1337}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-speech}
KEY_MASK=${KEY_MASK:-0}
small=()
if [ "${TINY:-0}" = 1 ]; then
    STEPS=6 PROBE_SEEDS=1 TASKS=ks
    small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$FBANK/corpus.json" ] || { echo "needs the feature corpus $FBANK (scripts/study_audio.sh prepares it)"; exit 1; }
mkdir -p "$OUT/probes"
STUDY_LOG="$OUT/study.log" PROBES="$OUT/probes"
source "$(dirname "$0")/study_common.sh"
study_train "$OUT/position-prediction" recipes/position-prediction-small.yaml "$STEPS" --set data.features="$FBANK"
study_train "$OUT/tera-no-positions" recipes/tera-small.yaml "$STEPS" --set data.features="$FBANK" --set model.positions=none
study_train "$OUT/tera" recipes/tera-small.yaml "$STEPS" --set data.features="$FBANK"
arms=(position-prediction tera-no-positions tera)
if [ "$KEY_MASK" != 0 ]; then
    study_train "$OUT/position-prediction-key-mask" recipes/position-prediction-small.yaml "$STEPS" \
        --set data.features="$FBANK" --set objective.position_prediction.key_mask_ratio="$KEY_MASK"
    arms=(position-prediction position-prediction-key-mask tera-no-positions tera)
fi
study_probe random-no-positions "$SPEECH" "$OUT/position-prediction" --baseline random-init
for name in "${arms[@]}"; do study_probe "$name" "$SPEECH" "$OUT/$name"; done
tables=()
for name in random-no-positions "${arms[@]}"; do tables+=("$OUT/probes/$name.json"); done
{ $PRETRAIN probe-table "${tables[@]}"; echo; grep -h "took" "$OUT/study.log"; } > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
