import Foundation
import TextClassification
import TextTasks
import Training

extension StudyDownstream {
    /// The tasks the flatness routes are fine-tuned on (those of them the suite has).
    static let flatnessTasks = ["shakespeare-genre", "shakespeare-play"]

    /// Part 4 (Liu et al. 2023, "Same Pre-training Loss, Better Downstream"): GPTs that reach the base GPT's final val
    /// loss by other routes — a larger model, a quarter of the batch for four times the steps (the same tokens), three
    /// times the learning rate — each taken at its evaluated checkpoint nearest that loss, and the base continued past
    /// its end at its final learning rate (the paper's "training after convergence", taken at its last step); their
    /// Hessian trace (Hutchinson) and top eigenvalue on the same val batches, and their fine-tuned scores.
    func flatness(_ tasks: [TextTask], _ results: inout StudyDownstreamResults, train: StudyTrain,
                  fineTuner: inout StudyFineTuner, console: ConsoleProgress) throws {
        guard let target = results.targetLoss else { throw TrainingError("\(checkpoint("gpt").path): the base GPT has no val loss") }
        let plays = corpus("plays")
        let every = size.evalEvery
        let larger = recipe(bert: false, corpus: plays, steps: size.pretrainSteps, layers: size.layers + 2,
                            width: size.width + size.width / 2, checkpointEvery: every)
        let quarter = max(1, size.batchSize / 4), longer = size.batchSize / quarter
        let smallBatch = recipe(bert: false, corpus: plays, steps: size.pretrainSteps * longer, batchSize: quarter,
                                checkpointEvery: every * longer)
        let highLR = recipe(bert: false, corpus: plays, steps: size.pretrainSteps, lrScale: 3, checkpointEvery: every)
        var routes: [(name: String, checkpoint: URL, step: Int, loss: Double)] = []
        let base = checkpoint("gpt")
        routes.append(("base (\(size.layers)×\(size.width), batch \(size.batchSize), lr \(size.lr))", base, size.pretrainSteps, target))
        for (name, label, recipe) in [("flat-larger", "a larger GPT", larger),
                                      ("flat-small-batch", "a quarter of the batch, the same tokens", smallBatch),
                                      ("flat-high-lr", "three times the learning rate", highLR)] {
            let run = try train(name, "flatness route: \(label)", recipe, .fresh)
            let kept = CheckpointStore(runDirectory: run.directory).completeCheckpoints()
            let candidates = run.records.filter { record in record.isEvaluation && record.valLoss != nil && kept.contains { $0.step == record.step } }
            guard let nearest = candidates.min(by: { abs($0.valLoss! - target) < abs($1.valLoss! - target) }),
                  let directory = kept.first(where: { $0.step == nearest.step })?.url else {
                throw TrainingError("\(run.directory.path): no evaluated checkpoint to match the base loss")
            }
            routes.append(("\(label) (\(recipe.model.layers)×\(recipe.model.dModel), batch \(recipe.optim.batchSize), lr \(recipe.optim.lr))",
                           directory, nearest.step, nearest.valLoss!))
        }
        // Past the end: the base continued at its final learning rate for half its steps again.
        var beyond = recipe(bert: false, corpus: plays, steps: size.pretrainSteps / 2)
        (beyond.optim.lr, beyond.schedule.kind, beyond.schedule.warmup, beyond.schedule.minLR) = (size.minLR, .constant, 0, nil)
        let continued = try train("flat-continued", "flatness route: the base continued past its end", beyond, .initFrom(base))
        if let last = continued.records.last(where: { $0.isEvaluation && $0.valLoss != nil }),
           let directory = CheckpointStore(runDirectory: continued.directory).completeCheckpoints().last?.url {
            routes.append(("the base continued past its end (+\(beyond.train.steps) steps at lr \(size.minLR))", directory,
                           size.pretrainSteps + last.step, last.valLoss!))
        }
        var options = FlatnessOptions()
        options.samples = size.flatnessSamples
        options.iterations = 10
        let chosen = tasks.filter { Self.flatnessTasks.contains($0.name) }
        for route in routes {
            console.message("── flatness of \(route.name) at step \(route.step)")
            let (located, report) = try CheckpointFlatness.measure(checkpoint: route.checkpoint, corpus: plays, batches: size.flatnessBatches,
                                                                   batchSize: size.flatnessBatchSize, options: options)
            results.flatness.append(FlatnessRow(route: route.name, checkpoint: located.path, step: route.step, valLoss: route.loss,
                                                trace: report.trace.mean, traceInterval: report.trace.halfWidth,
                                                topEigenvalue: report.topEigenvalue.eigenvalue))
            for task in chosen {
                let name = "flatness-\(located.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent)-\(route.step)-\(task.name)"
                let report = try fineTuner.report(name, checkpoint: located, task: task, shots: size.suiteShots, variant: "head") {
                    try $0.run(task: task, shots: size.suiteShots, seeds: seeds)
                }
                results.rows.append(DownstreamRow(part: "flatness", model: route.name, task: task.name, method: "fine-tuned",
                                                  shots: size.suiteShots, report: report))
            }
        }
    }
}
