import Foundation

// What a trainer checks and claims of its run directory before it trains.

extension Trainer {
    /// The checkpoint `start` continues from: the newest complete one whose files match their checksums when
    /// resuming (a damaged newer one is set aside as step_NNNNNN.damaged, and the console says so), nil otherwise.
    /// Refuses a fresh start in a directory that holds checkpoints, and a resume with nothing to resume.
    static func checkpointToStartFrom(_ start: TrainingStart, in checkpoints: CheckpointStore, runDirectory: URL,
                                      console: ConsoleProgress) throws -> URL? {
        var complete = checkpoints.completeCheckpoints()
        guard start.isResume else {
            if let existing = complete.last {
                throw TrainingError("\(runDirectory.path) already holds checkpoints (newest: \(existing.url.lastPathComponent)); "
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
        throw TrainingError("\(runDirectory.path): nothing to resume, no \(damaged > 0 ? "undamaged" : "complete") checkpoint in "
            + checkpoints.directory.path)
    }
}
