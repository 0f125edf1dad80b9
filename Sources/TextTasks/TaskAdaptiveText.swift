import Foundation

/// The texts of task-adaptive continued pre-training, before tokenization: the task's inputs without their labels
/// (its unlabelled texts and its training inputs; never dev or test), either plain (TAPT, Gururangan et al. 2020) or
/// each wrapped in the task's cloze with a label word in the mask's place (prompt-based continued pre-training, PCP:
/// Shi & Lipani 2023, whose label words are pseudo-labels from a prompt-based fine-tuned model).
public enum TaskAdaptiveText {
    public enum Kind: String, CaseIterable, Sendable {
        case tapt, pcp
    }

    /// The inputs task-adaptive pre-training reads: unlabelled texts, then train inputs, each text once.
    public static func inputs(_ task: TextTask) -> [String] {
        var seen = Set<String>()
        return (task.unlabelled + task.train.map(\.text)).filter { seen.insert($0).inserted }
    }

    /// One document per input. PCP needs a label for each input (`labels`, by position, e.g. a classifier's
    /// predictions) and the task's prompt; its documents are the cloze with the label's verbaliser words at the mask.
    public static func documents(_ task: TextTask, kind: Kind, labels: [String]? = nil) throws -> [String] {
        let texts = inputs(task)
        switch kind {
        case .tapt:
            return texts
        case .pcp:
            guard let prompt = task.definition.prompt else {
                throw TaskError("\(task.directory.path)/task.yaml: prompt-based continued pre-training needs a prompt (cloze and verbalizer)")
            }
            guard let labels, labels.count == texts.count else {
                throw TaskError("prompt-based continued pre-training of \(task.name) needs one label per input "
                    + "(\(texts.count)), got \(labels?.count ?? 0)")
            }
            return try zip(texts, labels).map { text, label in
                guard let words = prompt.verbalizer[label] else {
                    throw TaskError("label '\(label)' is not one of \(task.name)'s labels (\(task.labels.joined(separator: ", ")))")
                }
                return prompt.cloze(text, mask: words)
            }
        }
    }
}
