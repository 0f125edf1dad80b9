# Shared by the study scripts (sourced): logging, resumable pre-training runs and probes.
# The caller sets PRETRAIN, STUDY_LOG (the study's log file), SEED, and may set `small` (extra --set arguments of a
# TINY run), TASKS, PROBE_SEEDS and LABELS (probes) and PROBES (where probe results go).

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$STUDY_LOG"; }

# study_train RUN RECIPE STEPS [ARGUMENTS…]: pre-trains RECIPE into the run directory RUN for STEPS steps with the
# study's seed (and a TINY run's sizes), appending its output to RUN.log; resumes a run that stopped early (from its
# newest checkpoint; afresh when it stopped before one) and does nothing when RUN already holds the checkpoint of
# step STEPS. The log records how long it took.
study_train() {
    local run=$1 recipe=$2 steps=$3; shift 3
    if [ -f "$run/checkpoints/latest" ] && grep -q "step_$(printf %06d "$steps")" "$run/checkpoints/latest"; then return; fi
    log "pre-training $(basename "$run") ($steps steps, seed $SEED)"
    local start=$(date +%s) into=(--run-dir "$run")
    if [ -f "$run/checkpoints/latest" ]; then into=(--resume "$run")      # stopped early: continue exactly
    elif [ -e "$run" ]; then into=(--run-dir "$run" --overwrite); fi      # stopped before its first checkpoint
    $PRETRAIN train "$recipe" "${into[@]}" --set train.steps="$steps" --set train.seed="$SEED" \
        "${small[@]}" "$@" >> "$run.log" 2>&1
    log "pre-training $(basename "$run") took $(( $(date +%s) - start )) s"
}

# study_probe NAME CORPUS [ARGUMENTS…]: probes (a checkpoint or --baseline …) on CORPUS's $TASKS with $LABELS labelled
# utterances a class and $PROBE_SEEDS seeds into $PROBES/NAME.json, unless that file exists.
study_probe() {
    local name=$1 corpus=$2; shift 2
    [ -f "$PROBES/$name.json" ] && return
    log "probing $name"
    $PRETRAIN probe "$@" --corpus "$corpus" --task "${TASKS:-all}" --labels-per-class "${LABELS:-10}" \
        --seeds "${PROBE_SEEDS:-3}" --out "$PROBES/$name.json" | tail -6 >> "$(dirname "$STUDY_LOG")/probes.log"
}
