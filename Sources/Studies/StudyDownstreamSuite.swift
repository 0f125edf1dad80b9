import Foundation
import TextClassification
import TextEvaluation
import TextTasks
import Training

extension StudyDownstream {
    /// The four models of the suite table, named as the table names them.
    static let suiteModels = ["gpt", "gpt+domain", "bert", "bert+domain"]

    /// Part 1: the GPT and the BERT on the plays, each continued on the tasks' texts; every task fine-tuned at the
    /// suite's K on each (seeds), beside the baselines and the decoders' zero-shot scores.
    func suite(_ tasks: [TextTask], _ results: inout StudyDownstreamResults, train: StudyTrain,
               fineTuner: inout StudyFineTuner, console: ConsoleProgress) throws {
        let gpt = try train("gpt", "GPT on the plays", recipe(bert: false, corpus: corpus("plays"), steps: size.pretrainSteps), .fresh)
        let bert = try train("bert", "BERT on the plays", recipe(bert: true, corpus: corpus("plays"), steps: size.pretrainSteps), .fresh)
        results.targetLoss = gpt.records.last(where: \.isEvaluation)?.valLoss
        _ = try train("gpt-domain", "GPT continued on the tasks' texts",
                      recipe(bert: false, corpus: corpus("domain"), steps: size.continuedSteps), .initFrom(gpt.directory))
        _ = try train("bert-domain", "BERT continued on the tasks' texts",
                      recipe(bert: true, corpus: corpus("domain"), steps: size.continuedSteps), .initFrom(bert.directory))
        let shots = size.suiteShots
        results.zeroShotLimit = size.zeroShotLimit
        for task in tasks {
            let baselines = seeds.map { TaskBaselines.evaluate(task, shots: shots, seed: $0) }
            results.baselines.append(BaselineRow(task: task.name, shots: shots, majority: baselines.map(\.majority.accuracy),
                                                 bagOfWords: baselines.map(\.bagOfWords.accuracy)))
            for model in Self.suiteModels {
                let report = try fineTuner.report("suite-\(model)-\(task.name)", checkpoint: checkpoint(model), task: task,
                                                  shots: shots, variant: "head") { try $0.run(task: task, shots: shots, seeds: seeds) }
                results.rows.append(DownstreamRow(part: "suite", model: model, task: task.name, method: "fine-tuned", shots: shots,
                                                  report: report))
            }
            for model in ["gpt", "gpt+domain"] {
                console.message("── zero-shot \(model) on \(task.name)")
                let scorer = try MultipleChoiceEvaluation.scorer(checkpoint: checkpoint(model))
                let scores = try MultipleChoiceEvaluation.evaluate(task, scorer: scorer, shots: 0, seeds: 1, limit: size.zeroShotLimit)
                results.zeroShot.append(ZeroShotRow(model: model, task: task.name, acc: scores.seeds[0].acc,
                                                    accNorm: scores.seeds[0].accNorm, majority: scores.majority))
            }
        }
    }
}
