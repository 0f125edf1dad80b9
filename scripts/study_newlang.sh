#!/usr/bin/env bash
# Continued pre-training for a new language (issue 7 item 6; the Ainu / Vietnamese / Indic papers), on Finnish by
# default, a language the English corpus data/speech never speaks (its pre-training mix is English plus
# de, fr, es, it, nl, pt, pl):
#   1. the English encoder: $ENGLISH (a recipe run on data/speech-fbank; made from $RECIPE if missing);
#   2. a Finnish corpus: unlabelled pre-training phrases and a phoneme recognition subset with espeak-ng's Finnish IPA
#      (pretrain data synth-speech --pretrain-language fi --pr-language fi), fbank features of its pre-training
#      subset with their own statistics;
#   3. continued pre-training: the same recipe, --init-from the English checkpoint, on the Finnish features;
#   4. CTC fine-tuning with $MINUTES labelled minutes of Finnish, three arms × $SEEDS seeds: the English encoder
#      directly (no continued pre-training), the continued encoder, and the same encoder with random weights
#      (from scratch); PER on the Finnish test split; the markdown table goes to $OUT/results.md.
# Normalisation statistics: every audio checkpoint carries those of the features it was last trained on, and
# fine-tuning normalises with the checkpoint's. Continued pre-training reads Finnish features normalised with
# Finnish statistics (features prepare always measures its own corpus), so the continued encoder carries and is
# fine-tuned with Finnish statistics; the English encoder (no continued pre-training) keeps English statistics, as
# a user fine-tuning it directly would; from scratch uses the English checkpoint's (any would do for random weights).
# The default English encoder is TERA (it probes best on PR) made 6 layers deep (ENGLISH_SET): with the recipe's 3
# layers from scratch fine-tunes as well as any pre-trained start, with 6 continued pre-training is best on every
# seed (docs/RESULTS.md). ENGLISH_SET="" and ENGLISH_STEPS=7000 give recipes/tera-small.yaml as it is.
# Cost on 2 quiet cores (session 6): the English stage (if missing) 4000 steps in 20.5 min; synthesising 1 h of
# Finnish under a minute; continued pre-training (2000 steps) 10 min; each fine-tuning (1000 updates of 8
# utterances) about 3.7 min, 9 of them 34 min: about 65 min in all. Every step is skipped when its output exists;
# delete it to redo.
# TINY=1 runs the whole pipeline small (2 min; ENGLISH_TINY=an existing English run skips the English stage).
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
LANGUAGE=${LANGUAGE:-fi}
RECIPE=${RECIPE:-recipes/tera-small.yaml}
ENGLISH=${ENGLISH:-runs/study-newlang/english-tera-6layers}
ENGLISH_SET=${ENGLISH_SET---set model.layers=6}    # --set overrides of RECIPE for the English stage ("" keeps none)
ENGLISH_FBANK=${ENGLISH_FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-newlang}
SPEECH=${SPEECH:-data/speech-$LANGUAGE}
FBANK=${FBANK:-data/speech-$LANGUAGE-fbank}
HOURS=${HOURS:-1}                 # unlabelled speech in the new language
PR=${PR:-600,100,100}             # phoneme recognition utterances (train pool, dev, test)
ENGLISH_STEPS=${ENGLISH_STEPS:-4000}
CPT_STEPS=${CPT_STEPS:-2000}
MINUTES=${MINUTES:-10}
FT_STEPS=${FT_STEPS:-1000}
FREEZE=${FREEZE:-100}             # fine-tuning updates with the encoder frozen at the start
SEEDS=${SEEDS:-3}
# Fine-tuning learning rate of the encoder, per arm (a pre-trained encoder may want a smaller one than random
# weights; choose each on the dev PERs in result.json, not the test PER); the CTC head's rate is HEAD_LR in every arm.
# 4e-4: every arm's best on dev of 5e-5 … 4e-4 with the 3-layer encoder (docs/RESULTS.md).
LR_ENGLISH=${LR_ENGLISH:-4e-4}
LR_CONTINUED=${LR_CONTINUED:-4e-4}
LR_SCRATCH=${LR_SCRATCH:-4e-4}
HEAD_LR=${HEAD_LR:-2e-3}
if [ "${TINY:-0}" = 1 ]; then   # a smoke test of the whole pipeline: minutes, not a result
    OUT=runs/study-newlang-tiny SPEECH=data/speech-$LANGUAGE-tiny FBANK=data/speech-$LANGUAGE-tiny-fbank
    HOURS=0.02 PR=40,4,10 ENGLISH_STEPS=${ENGLISH_STEPS_TINY:-20} CPT_STEPS=10 MINUTES=1 FT_STEPS=20 FREEZE=5 SEEDS=2
    ENGLISH=${ENGLISH_TINY:-$OUT/english}
fi
mkdir -p "$OUT/finetune"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/study.log"; }
finished() { [ -f "$1/checkpoints/latest" ] && grep -q "step_$(printf %06d "$2")" "$1/checkpoints/latest"; }

# 1. The English encoder.
if ! [ -f "$ENGLISH/checkpoints/latest" ]; then
    [ -f "$ENGLISH_FBANK/corpus.json" ] || { echo "$ENGLISH_FBANK missing: run scripts/study_audio.sh first"; exit 1; }
    log "pre-training the English encoder $ENGLISH ($RECIPE $ENGLISH_SET, $ENGLISH_STEPS steps)"
    start=$(date +%s)
    # shellcheck disable=SC2086  # ENGLISH_SET is a list of arguments
    $PRETRAIN train "$RECIPE" --run-dir "$ENGLISH" --set data.features="$ENGLISH_FBANK" $ENGLISH_SET \
        --set train.steps="$ENGLISH_STEPS" >> "$OUT/english.log" 2>&1
    log "English pre-training took $(( $(date +%s) - start )) s"
fi

# 2. The new language's corpus and features.
[ -f "$SPEECH/manifest.jsonl" ] || { log "synthesising $SPEECH ($LANGUAGE, $HOURS h unlabelled, pr $PR)"
    $PRETRAIN data synth-speech --out "$SPEECH" --subsets pretrain,pr --pretrain-language "$LANGUAGE" \
        --pr-language "$LANGUAGE" --hours "$HOURS" --pr "$PR" --seed 0 | tail -3 | tee -a "$OUT/study.log"; }
[ -f "$FBANK/corpus.json" ] || { log "fbank features of $SPEECH/pretrain (their own statistics)"
    $PRETRAIN features prepare "$SPEECH/pretrain" --out "$FBANK" | tail -1 | tee -a "$OUT/study.log"; }

# 3. Continued pre-training from the English encoder (its recipe, new data, a fresh schedule with its own warmup).
if ! finished "$OUT/continued" "$CPT_STEPS"; then
    log "continued pre-training on $LANGUAGE ($CPT_STEPS steps from $ENGLISH)"
    start=$(date +%s)
    if [ -d "$OUT/continued/checkpoints" ]; then from="--resume"; else from="--init-from $ENGLISH"; fi
    $PRETRAIN train "$ENGLISH/recipe.yaml" --run-dir "$OUT/continued" $from --set data.features="$FBANK" \
        --set train.steps="$CPT_STEPS" --set schedule.warmup=$(( CPT_STEPS / 10 + 1 )) >> "$OUT/continued.log" 2>&1
    log "continued pre-training took $(( $(date +%s) - start )) s"
fi

# 4. Fine-tuning, three arms × seeds.
finetune() {  # arm, checkpoint, seed, encoder learning rate, extra arguments...
    local arm=$1 checkpoint=$2 seed=$3 lr=$4; shift 4
    local dir="$OUT/finetune/$arm-seed$seed"
    [ -f "$dir/result.json" ] && return
    log "fine-tuning $arm, seed $seed"
    $PRETRAIN finetune "$checkpoint" --corpus "$SPEECH" --task pr --labelled-minutes "$MINUTES" --steps "$FT_STEPS" \
        --freeze-encoder-steps "$FREEZE" --lr "$lr" --head-lr-scale "$(awk -v h="$HEAD_LR" -v l="$lr" 'BEGIN { print h / l }')" \
        --seed "$seed" --out "$dir" "$@" > "$dir.log" 2>&1 || { tail -5 "$dir.log"; exit 1; }
    tail -1 "$dir.log" | tee -a "$OUT/study.log"
}
for seed in $(seq 0 $(( SEEDS - 1 ))); do
    finetune english "$ENGLISH" "$seed" "$LR_ENGLISH"
    finetune continued "$OUT/continued" "$seed" "$LR_CONTINUED"
    finetune scratch "$ENGLISH" "$seed" "$LR_SCRATCH" --random-init
done

# The table: PER mean ± sample standard deviation (and min–max) over the seeds.
{
    echo "| encoder ($LANGUAGE, $MINUTES labelled min) | PER ↓ mean ± std | min – max | seeds |"
    echo "|---|---|---|---|"
    for arm in english continued scratch; do
        case $arm in
            english) name="English pre-training, no continued pre-training";;
            continued) name="English + continued pre-training on $LANGUAGE ($CPT_STEPS steps)";;
            scratch) name="from scratch (random init)";;
        esac
        jq -s --arg name "$name" '[.[].per] as $p | ($p | add / length) as $m
            | (if ($p | length) > 1 then ([$p[] | (. - $m) * (. - $m)] | add / (($p | length) - 1) | sqrt) else 0 end) as $s
            | "| \($name) | \($m * 1000 | round / 1000) ± \($s * 1000 | round / 1000) | \($p | min * 1000 | round / 1000) – \($p | max * 1000 | round / 1000) | \($p | length) |"' \
            -r "$OUT"/finetune/$arm-seed*/result.json
    done
    echo
    echo "Fine-tuning: $FT_STEPS updates (encoder frozen for the first $FREEZE), $MINUTES labelled minutes chosen per seed;"
    echo "encoder learning rates: English $LR_ENGLISH, continued $LR_CONTINUED, scratch $LR_SCRATCH; head $HEAD_LR;"
    echo "English encoder: $ENGLISH; continued pre-training: $CPT_STEPS steps on $HOURS h of $LANGUAGE ($FBANK)."
} > "$OUT/results.md"
log "wrote $OUT/results.md"
cat "$OUT/results.md"
