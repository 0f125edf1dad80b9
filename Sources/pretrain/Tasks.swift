import ArgumentParser
import Foundation
import TextTasks

/// `pretrain tasks prepare|baselines`: the text classification suite and its trivial baselines.
struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "The labelled text tasks (docs/EVALUATION.md): prepare them, score their baselines.",
        subcommands: [Prepare.self, Baselines.self])

    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the task suite: task.yaml, train/dev/test.jsonl, unlabelled.jsonl and CARD.md per task.",
            discussion: "Tasks that read data/sources are skipped, with the reason, when it is missing (`make sources`).")
        @Option(help: "The bundled plays.") var shakespeare = "data/shakespeare"
        @Option(help: "The prepared sources (make sources).") var sources = "data/sources"
        @Option(help: "Output directory, one task directory each.") var out = "data/tasks"
        @Option(help: "Only these tasks (comma-separated).") var only: String?

        func run() throws {
            let inputs = TaskInputs(shakespeare: URL(fileURLWithPath: shakespeare), sources: URL(fileURLWithPath: sources))
            let prepared = try TaskSuite.prepare(inputs: inputs, out: URL(fileURLWithPath: out),
                                                 only: only.map { $0.split(separator: ",").map(String.init) })
            for task in prepared {
                if let counts = task.counts {
                    let sizes = [counts.train, counts.dev, counts.test].map { String($0.reduce(0, +)) }.joined(separator: "/")
                    print("\(task.name): \(counts.labels.count) labels, train/dev/test \(sizes), \(counts.unlabelled) unlabelled")
                } else {
                    print("\(task.name): skipped (\(task.skipped ?? ""))")
                }
            }
            print("wrote \(out)")
        }
    }

    struct Baselines: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Majority class and bag-of-words logistic regression on tasks' test splits, at K examples per class.")
        @Argument(help: "Task directories.") var tasks: [String]
        @Option(help: "Examples per class (omit: the whole train split).") var shots: Int?
        @Option(help: "Seeds (few-shot samples).") var seeds = 3
        @Flag(help: "Print one JSON array instead of a table.") var json = false

        func validate() throws {
            if let shots, shots < 1 { throw ValidationError("--shots must be ≥ 1, got \(shots)") }
            guard seeds >= 1 else { throw ValidationError("--seeds must be ≥ 1, got \(seeds)") }
        }

        func run() throws {
            var results: [TaskBaselines.Result] = []
            for path in tasks {
                let task = try TextTask.load(URL(fileURLWithPath: path))
                for seed in 0..<(shots == nil ? 1 : seeds) { results.append(TaskBaselines.evaluate(task, shots: shots, seed: UInt64(seed))) }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
                return
            }
            func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            print(pad("task", 24) + pad("K", 6) + pad("seed", 6) + "majority  bag-of-words (acc / macro-F1)")
            for result in results {
                print(pad(result.task, 24) + pad(result.shots.map(String.init) ?? "all", 6) + pad(String(result.seed), 6)
                      + String(format: "%7.3f   %.3f / %.3f", result.majority.accuracy, result.bagOfWords.accuracy,
                               result.bagOfWords.macroF1))
            }
        }
    }
}
