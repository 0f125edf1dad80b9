import Foundation

/// The files a run writes into its directory: recipe.yaml, metrics.jsonl, checkpoints/, report.html and the
/// TensorBoard event files. Starting afresh in a used directory deletes exactly these, so that whatever else a
/// user or a study keeps there survives.
public enum RunOutputs {
    /// Deletes the run's own files from `run` (a missing directory is no error).
    public static func remove(from run: URL) throws {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: run.path) else { return }
        for name in names where ["checkpoints", "metrics.jsonl", "recipe.yaml", "report.html"].contains(name)
            || name.hasPrefix("events.out.tfevents.") {
            try manager.removeItem(at: run.appendingPathComponent(name))
        }
    }
}
