import Foundation
import TextClassification
import TextTasks
import Training

extension StudyDownstream {
    /// The tasks of the adaptive pre-training part (those of them the suite has).
    static let adaptiveTasks = ["shakespeare-genre", "fortunes-offensive"]

    /// Part 2 (Shi & Lipani 2023): the BERT as it is, continued on the task's inputs (TAPT: plain masked LM), and
    /// continued on the same inputs wrapped in the task's cloze with pseudo-labels in the mask's place (PCP; the labels
    /// come from the BERT prompt-fine-tuned on seed 0's K-shot sample, one PCP run per K); each fine-tuned
    /// conventionally (a [CLS] head) and prompt-based (LM-BFF's cloze) at each few-shot K.
    func adaptivePretraining(_ tasks: [TextTask], _ results: inout StudyDownstreamResults, train: StudyTrain,
                             fineTuner: inout StudyFineTuner, console: ConsoleProgress) throws {
        let bert = checkpoint("bert")
        let tokenizer = corpus("plays").appendingPathComponent("tokenizer.json")
        for task in tasks where Self.adaptiveTasks.contains(task.name) {
            let tapt = try continued("tapt-\(task.name)", label: "TAPT on \(task.name)'s inputs", from: bert,
                                     documents: try TaskAdaptiveText.documents(task, kind: .tapt), tokenizer: tokenizer, train: train,
                                     console: console)
            for shots in size.fewShots {
                var labeller = fineTuner.base(bert)
                labeller.method = .prompt
                let inputs = TaskAdaptiveText.inputs(task)
                console.message("── PCP pseudo-labels of \(task.name)'s \(inputs.count) inputs (prompt-based, K = \(shots), seed 0)")
                let predicted = try labeller.pseudoLabels(task: task, shots: shots, seed: 0, texts: inputs)
                let documents = try TaskAdaptiveText.documents(task, kind: .pcp, labels: predicted.map { task.labels[$0.label] })
                let pcp = try continued("pcp-\(task.name)-k\(shots)", label: "PCP on \(task.name)'s inputs (K = \(shots) labels)",
                                        from: bert, documents: documents, tokenizer: tokenizer, train: train, console: console)
                for (start, directory) in [("none", bert), ("TAPT", tapt), ("PCP", pcp)] {
                    for method in [FineTuningMethod.head, .prompt] {
                        let name = "adaptive-\(task.name)-\(start.lowercased())-\(method.rawValue)-k\(shots)"
                        let report = try fineTuner.report(name, checkpoint: directory, task: task, shots: shots, variant: method.rawValue) {
                            var fineTuning = $0
                            fineTuning.method = method
                            return try fineTuning.run(task: task, shots: shots, seeds: seeds)
                        }
                        results.rows.append(DownstreamRow(part: "adaptive", model: start, task: task.name,
                                                          method: method == .prompt ? "prompt-based" : "conventional", shots: shots,
                                                          report: report))
                    }
                }
            }
        }
    }

    /// The BERT continued for `continuedSteps` on `documents` (tokenized with the plays' tokenizer) in OUT/`name`.
    func continued(_ name: String, label: String, from start: URL, documents: [String], tokenizer: URL, train: StudyTrain,
                   console: ConsoleProgress) throws -> URL {
        let text = out.appendingPathComponent("texts/\(name).jsonl")
        try writeDocuments(documents, to: text)
        try StudyCorpora.prepare(corpus(name), inputs: [text], split: .fraction(0.05), tokenizer: .file(tokenizer), console: console)
        return try train(name, label, recipe(bert: true, corpus: corpus(name), steps: size.continuedSteps), .initFrom(start)).directory
    }
}
