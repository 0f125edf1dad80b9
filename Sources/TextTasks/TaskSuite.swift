import FileErrors
import Foundation

/// `pretrain tasks prepare`: every task of the suite written as a task directory with its data card.
public enum TaskSuite {
    public struct Prepared: Sendable {
        public var name: String
        /// Examples per split and label, unlabelled texts; nil with `skipped` set when the task could not be made.
        public var counts: TaskCard.Counts?
        public var skipped: String?
    }

    /// Writes each task (or those in `only`) under `out`, one directory each, replacing a previous one whole. A task
    /// that reads data/sources is skipped, with the reason, when no sources directory exists.
    public static func prepare(inputs: TaskInputs, out: URL, only: [String]? = nil) throws -> [Prepared] {
        let known = TaskBuilder.suite.map(\.definition.name)
        if let unknown = only?.first(where: { !known.contains($0) }) {
            throw TaskError("unknown task '\(unknown)' (tasks: \(known.joined(separator: ", ")))")
        }
        try FileError.createDirectory(out)
        var prepared: [Prepared] = []
        for builder in TaskBuilder.suite where only?.contains(builder.definition.name) ?? true {
            let name = builder.definition.name
            if builder.needsSources, !(inputs.sources.map { FileManager.default.fileExists(atPath: $0.path) } ?? false) {
                prepared.append(Prepared(name: name, counts: nil,
                                         skipped: "needs \(inputs.sources?.path ?? "data/sources"), which `make sources` prepares"))
                continue
            }
            let split = builder.splitting.split(try builder.examples(inputs), labels: builder.definition.labels)
            for (splitName, examples) in [("train", split.train), ("dev", split.dev), ("test", split.test)] where examples.isEmpty {
                throw TaskError("task \(name): its \(splitName) split came out empty (too few texts in \(builder.definition.source))")
            }
            let counts = TaskCard.Counts(labels: builder.definition.labels, split: split)
            try write(builder.definition, split, counts: counts, to: out.appendingPathComponent(name))
            prepared.append(Prepared(name: name, counts: counts, skipped: nil))
        }
        return prepared
    }

    /// The task directory, written beside its final place and renamed into it.
    static func write(_ definition: TaskDefinition, _ split: TaskSplitting.Result, counts: TaskCard.Counts, to directory: URL) throws {
        let staging = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: staging)
        try FileError.createDirectory(staging)
        func lines(_ objects: [[String: String]]) throws -> Data {
            var data = Data()
            for object in objects {
                data += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                data.append(0x0A)
            }
            return data
        }
        func examples(_ examples: [TaskExample]) throws -> Data {
            try lines(examples.map { ["text": $0.text, "label": $0.label, "group": $0.group] })
        }
        let files: [(String, Data)] = [
            ("task.yaml", Data(definition.yaml.utf8)), ("train.jsonl", try examples(split.train)),
            ("dev.jsonl", try examples(split.dev)), ("test.jsonl", try examples(split.test)),
            ("unlabelled.jsonl", try lines(split.unlabelled.map { ["text": $0] })),
            ("CARD.md", Data(TaskCard.markdown(definition, counts: counts, split: split).utf8)),
        ]
        for (name, data) in files {
            let url = staging.appendingPathComponent(name)
            try FileError.wrap("write", path: url.path) { try data.write(to: url) }
        }
        try? FileManager.default.removeItem(at: directory)
        try FileError.wrap("move the prepared task into place", path: directory.path) {
            try FileManager.default.moveItem(at: staging, to: directory)
        }
    }
}

/// A task's data card: what it is, where the texts came from, how it was split, and its sizes and label balance.
public enum TaskCard {
    public struct Counts: Sendable, Equatable {
        public var labels: [String]
        /// Examples per label in train, dev and test.
        public var train: [Int], dev: [Int], test: [Int]
        public var unlabelled: Int

        init(labels: [String], split: TaskSplitting.Result) {
            func count(_ examples: [TaskExample]) -> [Int] { labels.map { label in examples.filter { $0.label == label }.count } }
            (self.labels, train, dev, test, unlabelled) = (labels, count(split.train), count(split.dev), count(split.test),
                                                           split.unlabelled.count)
        }
    }

    static func markdown(_ definition: TaskDefinition, counts: Counts, split: TaskSplitting.Result) -> String {
        var lines = ["# \(definition.name)", "", definition.description, "",
                     "- **Source:** \(definition.source)", "- **Split:** \(definition.split) (whole groups go to one split; "
                        + "test first, then dev, then train; each split cut to a per-class cap; train's surplus is the unlabelled text)",
                     "- **Duplicates left out:** \(split.duplicates) repeated texts, \(split.conflicts) texts seen with two labels",
                     "- **Unlabelled texts:** \(counts.unlabelled)", "",
                     "| label | train | dev | test |", "|---|---|---|---|"]
        for (index, label) in counts.labels.enumerated() {
            lines.append("| \(label) | \(counts.train[index]) | \(counts.dev[index]) | \(counts.test[index]) |")
        }
        lines.append("| **all** | \(counts.train.reduce(0, +)) | \(counts.dev.reduce(0, +)) | \(counts.test.reduce(0, +)) |")
        let mean = { (values: [String]) in values.isEmpty ? 0 : values.map(\.count).reduce(0, +) / values.count }
        lines += ["", "Mean length: \(mean(split.train.map(\.text))) characters (train).", ""]
        return lines.joined(separator: "\n")
    }
}
