import Foundation

/// Where a checkpoint came from and how its run did, for the card of an export: the run's resolved recipe, its
/// training data and the last evaluation in its metrics, as far as the run directory still has them.
public struct CheckpointProvenance {
    public var recipeYAML: String?
    public var data: String?
    /// ("steps", "800"), ("tokens seen", "3,276,800"), ("val loss", "4.7306"), …, in that order.
    public var metrics: [(String, String)]
}

extension LoadedCheckpoint {
    public var provenance: CheckpointProvenance {
        let run = RunDirectory(ofCheckpoint: directory)
        let recipeText = run.holds(directory) ? try? String(contentsOf: run.recipe, encoding: .utf8) : nil
        let recipe = recipeText.flatMap { try? Recipe.parse($0) }
        var data: String?
        if let recipe {
            let sources = recipe.data.mixture.keys.sorted()
            data = sources.isEmpty ? "The prepared corpus `\(recipe.data.corpus)`."
                : "A mixture of " + sources.map { "`\(recipe.data.mixture[$0]!.corpus)`" }.joined(separator: ", ") + "."
        }
        var metrics: [(String, String)] = []
        if let state {
            metrics.append(("steps", "\(state.step)"))
            metrics.append(("tokens seen", ConsoleProgress.grouped(Double(state.tokensSeen))))
        }
        if run.holds(directory), let rows = try? readMetrics(run.metrics),
           let last = rows.last(where: { $0.valLoss != nil && $0.step <= (state?.step ?? .max) }) {
            metrics.append(("val loss at step \(last.step)", String(format: "%.4f", last.valLoss!)))
            if let perplexity = last.valPerplexity { metrics.append(("val perplexity", String(format: "%.2f", perplexity))) }
            if let bpb = last.valBitsPerByte { metrics.append(("val bits per byte", String(format: "%.4f", bpb))) }
        }
        return CheckpointProvenance(recipeYAML: recipeText, data: data, metrics: metrics)
    }
}
