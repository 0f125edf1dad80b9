#!/usr/bin/env bash
# w2v-BERT against wav2vec 2.0 and HuBERT over the same fbank frames at equal pre-training time (Chung et al. 2021's
# claim: the masked-prediction module on top of the contrastive one gives better representations than contrastive
# learning alone). Pre-trains recipes/w2v-bert-small.yaml (Conformer layers), recipes/wav2vec2-frames-small.yaml and
# recipes/hubert-small.yaml on data/speech-fbank for about the same wall-clock time each: the step counts below give
# each about 570 s on two quiet Zen 5 cores (measured throughputs: w2v-BERT 28,800, wav2vec 2.0 40,500, HuBERT 44,900
# frames/s); the log records each run's real time. Then probes every encoder, the fbank baseline and the two random-init
# architectures on KS, SID, LID (10 labelled utterances a class) and PR with 3 probe seeds, and writes
# $OUT/seed-$SEED/results.md. SEED picks the pre-training seed (the recipes' 1337 by default).
# TINY=1 runs the whole pipeline small (a smoke test: minutes, not a result). Every step is skipped when its output
# exists; delete it to redo.
set -euo pipefail
PRETRAIN=${PRETRAIN:-.build/release/pretrain}
SPEECH=${SPEECH:-data/speech}
FBANK=${FBANK:-data/speech-fbank}
OUT=${OUT:-runs/study-w2v-bert}
SEED=${SEED:-1337}
W2V_BERT_STEPS=${W2V_BERT_STEPS:-4000}
WAV2VEC2_STEPS=${WAV2VEC2_STEPS:-5600}
HUBERT_STEPS=${HUBERT_STEPS:-6200}
LABELS=${LABELS:-10}
PROBE_SEEDS=${PROBE_SEEDS:-3}
TASKS=${TASKS:-all}
small=()
if [ "${TINY:-0}" = 1 ]; then
    W2V_BERT_STEPS=6 WAV2VEC2_STEPS=8 HUBERT_STEPS=9 PROBE_SEEDS=1 TASKS=ks
    small=(--set model.layers=2 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64
           --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
fi
[ -f "$FBANK/corpus.json" ] || { echo "needs the feature corpus $FBANK (scripts/study_audio.sh prepares it)"; exit 1; }
[ -d "$SPEECH/ks" ] || { echo "needs the labelled speech corpus $SPEECH (scripts/study_audio.sh synthesises it)"; exit 1; }
dir="$OUT/seed-$SEED"
mkdir -p "$dir/probes"
STUDY_LOG="$dir/study.log" PROBES="$dir/probes"
source "$(dirname "$0")/study_common.sh"
centroids="$OUT/kmeans-mfcc100.safetensors"
[ -f "$centroids" ] || { log "k-means of the cepstra (100 clusters)"; $PRETRAIN kmeans "$FBANK" --k 100 --out "$centroids" | tail -1 >> "$dir/study.log"; }

study_train "$dir/w2v-bert" recipes/w2v-bert-small.yaml "$W2V_BERT_STEPS" --set data.features="$FBANK"
study_train "$dir/wav2vec2-frames" recipes/wav2vec2-frames-small.yaml "$WAV2VEC2_STEPS" --set data.features="$FBANK"
study_train "$dir/hubert" recipes/hubert-small.yaml "$HUBERT_STEPS" --set data.features="$FBANK" \
    --set objective.hubert.centroids="$centroids"

study_probe fbank "$SPEECH" --baseline fbank
study_probe random-conformer "$SPEECH" "$dir/w2v-bert" --baseline random-init
study_probe random-bert "$SPEECH" "$dir/wav2vec2-frames" --baseline random-init
for name in w2v-bert wav2vec2-frames hubert; do study_probe "$name" "$SPEECH" "$dir/$name"; done
$PRETRAIN probe-table "$dir/probes"/{fbank,random-conformer,random-bert,wav2vec2-frames,hubert,w2v-bert}.json > "$dir/results.md"
grep -h "took" "$dir/study.log" >> "$dir/results.md"
log "wrote $dir/results.md"
cat "$dir/results.md"
