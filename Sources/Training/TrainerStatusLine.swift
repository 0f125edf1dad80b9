import Foundation

extension Trainer {
    /// The console's status line of a step.
    func statusLine(step: Int, loss: Double, lr: Float, tokensPerSecond: Double?, eta: Double) -> String {
        let width = String(recipe.train.steps).count
        let stepText = String(repeating: " ", count: max(0, width - String(step).count)) + "\(step)"
        var parts = ["step \(stepText)/\(recipe.train.steps)", String(format: "loss %.4f", loss), String(format: "lr %.2e", lr)]
        if let tokensPerSecond { parts.append("\(ConsoleProgress.grouped(tokensPerSecond)) \(task.inputUnit)/s") }
        parts.append("ETA \(ConsoleProgress.duration(eta))")
        if state.skippedUpdates > 0 { parts.append("skipped \(state.skippedUpdates)") }
        let sourceTokens = task.inputsBySource
        let drawn = sourceTokens.values.reduce(0, +)
        if drawn > 0 {
            parts.append(sourceTokens.sorted { $0.key < $1.key }
                .map { "\($0.key) \(Int((100 * Double($0.value) / Double(drawn)).rounded()))%" }.joined(separator: " "))
        }
        return parts.joined(separator: " │ ")
    }
}
