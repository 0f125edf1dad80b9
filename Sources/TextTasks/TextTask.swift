import Curation
import FileErrors
import Foundation

/// A labelled text classification task as `pretrain tasks prepare` writes it: task.yaml, train/dev/test.jsonl (one
/// `{"text", "label", "group"}` object a line) and unlabelled.jsonl (the task's other texts, `{"text"}`), with CARD.md.
public struct TextTask: Sendable {
    public let name: String
    public let directory: URL
    public let definition: TaskDefinition
    /// The labels in class-index order.
    public var labels: [String] { definition.labels }
    public let train: [TaskExample]
    public let dev: [TaskExample]
    public let test: [TaskExample]
    /// Texts of the task's kind without their labels (for self-training and task-adaptive pre-training).
    public let unlabelled: [String]

    public init(definition: TaskDefinition, directory: URL, train: [TaskExample], dev: [TaskExample], test: [TaskExample],
                unlabelled: [String]) {
        (self.definition, self.directory, self.train, self.dev, self.test, self.unlabelled) =
            (definition, directory, train, dev, test, unlabelled)
        name = definition.name
    }

    public static let splitNames = ["train", "dev", "test"]

    /// Reads a task directory. A missing file, a line that is not a labelled example or a label outside task.yaml's
    /// list is an error naming the file and line.
    public static func load(_ directory: URL) throws -> TextTask {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaskError("\(directory.path): no such task directory")
        }
        let definition = try TaskDefinition.read(directory.appendingPathComponent("task.yaml"))
        let labels = Set(definition.labels)
        var splits: [[TaskExample]] = []
        for split in splitNames {
            let url = directory.appendingPathComponent("\(split).jsonl")
            let examples = try readLines(url, required: true).map { line, fields -> TaskExample in
                guard let text = fields["text"] as? String, let label = fields["label"].map({ "\($0)" }) else {
                    throw TaskError("\(url.path) line \(line): expected an object with a string \"text\" and a \"label\"")
                }
                guard labels.contains(label) else {
                    throw TaskError("\(url.path) line \(line): label '\(label)' is not one of task.yaml's labels "
                        + "(\(definition.labels.joined(separator: ", ")))")
                }
                return TaskExample(text: text, label: label, group: fields["group"] as? String ?? "")
            }
            guard !examples.isEmpty else { throw TaskError("\(url.path): the \(split) split holds no examples") }
            splits.append(examples)
        }
        let unlabelledURL = directory.appendingPathComponent("unlabelled.jsonl")
        let unlabelled = try readLines(unlabelledURL, required: false).map { line, fields -> String in
            guard let text = fields["text"] as? String else {
                throw TaskError("\(unlabelledURL.path) line \(line): expected an object with a string \"text\"")
            }
            return text
        }
        return TextTask(definition: definition, directory: directory, train: splits[0], dev: splits[1], test: splits[2],
                        unlabelled: unlabelled)
    }

    /// The class index of a label, nil for a label the task does not have.
    public func labelIndex(_ label: String) -> Int? { labels.firstIndex(of: label) }

    /// K examples of each class from train and from dev (LM-BFF's few-shot convention: a development set as small as
    /// the training set), drawn by `seed`; a class with fewer than K keeps all of its examples. `k` nil: both whole.
    public func fewShot(k: Int?, seed: UInt64) -> TaskSplits {
        guard let k else { return TaskSplits(train: train, dev: dev) }
        return TaskSplits(train: Self.sample(train, perClass: k, seed: seed, labels: labels),
                          dev: Self.sample(dev, perClass: k, seed: seed ^ 0xD1B5_4A32_D192_ED03, labels: labels))
    }

    /// At most `perClass` examples of each label, a seeded choice, in a seeded order (classes interleaved).
    public static func sample(_ examples: [TaskExample], perClass: Int, seed: UInt64, labels: [String]) -> [TaskExample] {
        var chosen: [TaskExample] = []
        for label in labels {
            let ofLabel = examples.filter { $0.label == label }
            chosen += seededOrder(ofLabel, seed: seed ^ XXH64.hash(label)).prefix(perClass)
        }
        return seededOrder(chosen, seed: seed)
    }

    /// `items` ordered by a seeded hash of their position: a shuffle that depends only on the seed and the count.
    public static func seededOrder<T>(_ items: [T], seed: UInt64) -> [T] {
        var random = SplitMix64(state: seed)
        let keys = items.indices.map { _ in random.next() }
        return items.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }.map { items[$0] }
    }

    /// The JSON object of every non-blank line with its line number; a missing optional file is no lines.
    static func readLines(_ url: URL, required: Bool) throws -> [(Int, [String: Any])] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            if required { throw TaskError("\(url.path): no such file") }
            return []
        }
        guard let data = try? Data(contentsOf: url) else { throw TaskError("\(url.path): cannot be read") }
        var result: [(Int, [String: Any])] = []
        for (number, bytes) in JSONLines.lines(data) {
            guard let object = try? JSONSerialization.jsonObject(with: bytes), let fields = object as? [String: Any] else {
                throw TaskError("\(url.path) line \(number): not a JSON object")
            }
            result.append((number, fields))
        }
        return result
    }
}
