import Foundation
import TextClassification
import TextTasks
import Training

extension StudyDownstream {
    /// The tasks of the self-training part (those of them the suite has).
    static let selfTrainingTasks = ["shakespeare-genre", "shakespeare-play"]

    /// Part 3 (pseudo-label self-training as a stage before fine-tuning): the GPT fine-tuned on the labelled examples
    /// alone, against fine-tuned, made to label the task's unlabelled texts (kept above the confidence threshold),
    /// trained from the checkpoint on those pseudo-labels and fine-tuned on the labelled examples again; at the
    /// smallest K and with every label.
    func selfTraining(_ tasks: [TextTask], _ results: inout StudyDownstreamResults, fineTuner: inout StudyFineTuner,
                      console: ConsoleProgress) throws {
        let gpt = checkpoint("gpt")
        var settings = SelfTrainingSettings()
        settings.threshold = size.pseudoLabelThreshold
        for task in tasks where Self.selfTrainingTasks.contains(task.name) {
            for shots in [size.fewShots.min(), nil] as [Int?] {
                let label = shots.map { "k\($0)" } ?? "all"
                let alone = try fineTuner.report("self-\(task.name)-alone-\(label)", checkpoint: gpt, task: task, shots: shots,
                                                 variant: "head") { try $0.run(task: task, shots: shots, seeds: seeds) }
                results.rows.append(DownstreamRow(part: "self-training", model: "gpt", task: task.name, method: "fine-tuning alone",
                                                  shots: shots, report: alone))
                let trained = try fineTuner.report("self-\(task.name)-pseudo-\(label)", checkpoint: gpt, task: task, shots: shots,
                                                   variant: "self-training \(settings.threshold)") {
                    try $0.runSelfTraining(task: task, shots: shots, seeds: seeds, selfTraining: settings)
                }
                results.rows.append(DownstreamRow(part: "self-training", model: "gpt", task: task.name, method: "self-training",
                                                  shots: shots, report: trained))
                for seed in trained.seeds {
                    results.pseudoLabels.append(PseudoLabelRow(task: task.name, shots: shots, seed: seed.seed,
                                                               kept: seed.selfTraining?.pseudoLabels ?? 0,
                                                               unlabelled: trained.selfTraining?.unlabelled ?? task.unlabelled.count))
                }
            }
        }
    }
}
