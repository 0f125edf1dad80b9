import Foundation

extension RunReport {
    /// optim.clip of the run's recipe (nil without a recipe, or with clipping off).
    var clipThreshold: Double? {
        guard let recipe, let parsed = try? Recipe.parse(recipe), parsed.optim.clip > 0 else { return nil }
        return Double(parsed.optim.clip)
    }

    /// The run's anneal branches (RUN/anneals/*, `pretrain anneal`) with their last validation loss, by name.
    var annealBranches: [(name: String, step: Int, finalValLoss: Double?)] {
        let root = RunDirectory(runDirectory).anneals
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.sorted().compactMap { name in
            let branch = RunDirectory(root.appendingPathComponent(name))
            guard let table = try? MetricsTable(contentsOf: branch.metrics) else { return nil }
            let last = table.last("val_loss")
            return (name, last?.step ?? 0, last?.value)
        }
    }
}
