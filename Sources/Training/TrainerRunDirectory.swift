import Foundation

// What a trainer checks and claims of its run directory, and what it writes there besides metrics and checkpoints.

/// A trainer's hold on its run directory. The lock keeps other writers out from the trainer's init until its `run`
/// returns (not for the object's whole life: a trainer kept for its model must not block the run's next resume in
/// the same process); `run` takes it again when called once more. An earlier run that `overwrite` replaces is set
/// aside, never deleted, until the new run's first checkpoint is complete; a resumed run's recipe.yaml waits for
/// its first checkpoint too, so that a resume that fails (a bad `--set`, updates that keep failing) leaves the
/// stored recipe as it was.
final class HeldRun {
    let run: RunDirectory
    private var lock: RunLock?
    /// RUN/.overwritten-<time>: the earlier run, until this one's first checkpoint.
    private var previousRun: URL?
    /// The resolved recipe, until it is written.
    private var pendingRecipe: Recipe?

    /// Locks `run`, creating the directory when missing. Refuses `overwrite` of a run that `start` reads from.
    init(_ run: RunDirectory, start: TrainingStart, overwrite: Bool) throws {
        if overwrite {
            if start.isResume { throw TrainingError("--overwrite starts afresh; it cannot be combined with --resume") }
            if let source = start.sourceCheckpoint, run.contains(source) {
                throw TrainingError("\(source.path) lies inside \(run.path), which --overwrite replaces: copy that checkpoint "
                    + "out of the run directory first, or train into another --run-dir")
            }
        }
        self.run = run
        lock = try run.lock()
    }

    func acquire() throws {
        if lock == nil { lock = try run.lock() }
    }

    func release() {
        lock?.release()
        lock = nil
    }

    /// The checkpoint `start` continues from: the newest complete one whose files match their checksums when
    /// resuming (a damaged newer one is set aside as step_NNNNNN.damaged, and the console says so), nil otherwise.
    /// Refuses a fresh start in a directory that holds checkpoints (unless overwriting), and a resume with nothing
    /// to resume.
    func checkpointToStartFrom(_ start: TrainingStart, overwrite: Bool, console: ConsoleProgress) throws -> URL? {
        let checkpoints = run.checkpoints
        var complete = checkpoints.completeCheckpoints()
        guard start.isResume else {
            if !overwrite, let existing = complete.last {
                throw TrainingError("\(run.path) already holds checkpoints (newest: \(existing.url.lastPathComponent)); "
                    + "continue it with --resume, start it afresh with --overwrite, or choose another --run-dir")
            }
            return nil
        }
        var damaged = 0
        while let newest = complete.popLast() {
            do {
                try Checkpoint.verify(newest.url)
                return newest.url
            } catch {
                let aside = try checkpoints.setAsideDamaged(newest.url)
                damaged += 1
                let fallback = complete.last.map { "resuming from \($0.url.lastPathComponent) instead" } ?? "no other checkpoint"
                console.message("\(error); kept as \(aside.lastPathComponent), \(fallback)")
            }
        }
        throw TrainingError("\(run.path): nothing to resume, no \(damaged > 0 ? "undamaged" : "complete") checkpoint in "
            + checkpoints.directory.path)
    }

    /// Called once everything that can fail at the start (recipe, corpus, model, the weights read) has succeeded:
    /// sets the earlier run aside when overwriting and keeps `recipe` to write. Returns whether a resumed run has
    /// finished already (it then trains, logs and writes nothing); a resume past `train.steps` is an error.
    func begin(_ start: TrainingStart, step: Int, recipe: Recipe, overwrite: Bool, console: ConsoleProgress) throws -> Bool {
        if start.isResume && step > recipe.train.steps {
            throw TrainingError("\(run.path) is at step \(step), past train.steps \(recipe.train.steps): a run cannot go back; "
                + "extend it with --set train.steps=N (N > \(step))")
        }
        if overwrite, let aside = try run.setAsidePreviousRun() {
            previousRun = aside
            console.message("the earlier run in \(run.path) is kept in \(aside.lastPathComponent) until this run's first checkpoint")
        }
        let finished = start.isResume && step == recipe.train.steps
        pendingRecipe = finished ? nil : recipe
        return finished
    }

    /// Writes recipe.yaml, once.
    func writePendingRecipe() throws {
        guard let recipe = pendingRecipe else { return }
        try writeFileAtomically(Data(try recipe.yaml().utf8), to: run.recipe)
        pendingRecipe = nil
    }

    /// The new run has a complete checkpoint: the earlier run it replaces is no longer needed.
    func checkpointWritten() {
        guard let previousRun else { return }
        try? FileManager.default.removeItem(at: previousRun)
        self.previousRun = nil
    }
}

extension TrainingStart {
    /// The checkpoint (or run directory) a start reads weights from.
    var sourceCheckpoint: URL? {
        switch self {
        case .initFrom(let url), .branch(from: let url): return url
        case .fresh, .resume, .initFromWeights: return nil
        }
    }
}
