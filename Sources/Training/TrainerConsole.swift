import Foundation
import Tensors

// What the trainer prints: the first lines of a run and the live status line.

extension Trainer {
    /// The first lines of a run: what it trains (or where it resumes), a warning when there is nothing to evaluate,
    /// and, for a run initialised from another, the loss of the weights as they arrive: the reference for the
    /// stability gap and for forgetting.
    func announceStart() throws {
        if state.step == 0 {
            let workers = communicator.size > 1
                ? "\(communicator.size) ranks × \(Runtime.threads) thread\(Runtime.threads == 1 ? "" : "s") (\(communicator.engine))"
                : "\(Runtime.threads) threads"
            console.message(task.describeRun(steps: recipe.train.steps) + "; \(workers); run directory \(runDirectory.path)")
            if !task.hasValidation { console.message(task.noValidationWarning) }
            recipe.warnings.forEach(console.message)
            if let sparsity {
                console.message(sparsity.describe(sparsity.metrics(model: model, section: recipe.model, tokens: plannedTokens)))
            }
            if let source = state.initializedFrom {
                console.message("initialised from \(source) (weights only: a new optimiser, the schedule from step 0)")
            }
        } else if state.step < recipe.train.steps {
            console.message("resuming \(runDirectory.path) at step \(state.step) of \(recipe.train.steps)")
        } else {
            console.message("\(runDirectory.path) finished at \(state.step)/\(recipe.train.steps); "
                + "extend it with --resume \(runDirectory.path) --set train.steps=N")
        }
        guard state.step == 0 && state.initializedFrom != nil && task.hasValidation else { return }
        var record = MetricsRecord(step: 0, tokensSeen: 0, skippedUpdates: 0, sourceTokens: task.inputsBySource)
        let evaluation = task.evaluate(full: false, into: &record)
        console.message(task.describe(evaluation, record: record, step: 0, full: false))
        try metrics?.append(record)
        tensorBoard?.add(record)
    }

    /// The console's status line of a step.
    func statusLine(step: Int, loss: Double, lr: Float, tokensPerSecond: Double?, eta: Double) -> String {
        let width = String(recipe.train.steps).count
        let stepText = String(repeating: " ", count: max(0, width - String(step).count)) + "\(step)"
        var parts = ["step \(stepText)/\(recipe.train.steps)", String(format: "loss %.4f", loss), String(format: "lr %.2e", lr)]
        if let tokensPerSecond { parts.append("\(ConsoleProgress.grouped(tokensPerSecond)) \(task.inputUnit)/s") }
        parts.append("ETA \(ConsoleProgress.duration(eta))")
        if let averager {
            parts.append(String(format: "all-reduce %.1f ms (%.0f %% overlapped)", 1000 * averager.lastExposedSeconds,
                                100 * averager.lastOverlappedFraction))
            if averager.repairedBuckets > 0 { parts.append("\(averager.repairedBuckets) buckets re-sent") }
        }
        if let sharded { parts.append(String(format: "reduce-scatter + all-gather %.1f ms", 1000 * sharded.lastSeconds)) }
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
