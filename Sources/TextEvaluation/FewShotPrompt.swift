import Curation
import Foundation
import TextTasks

/// lm-evaluation-harness's few-shot context for a multiple-choice task (`ContextSampler.get_context`): K labelled
/// examples drawn at random from the train split, each the task's template filled with its text followed by its
/// label's words, each followed by "\n\n"; then the test example's filled template. K counts examples in all, not
/// per class (the harness's `num_fewshot`), so a draw need not show every label.
///
/// As in the harness, every test example gets its own draw. Ours is seeded by (seed, the example's index in the test
/// split), so an example's context is the same whatever else is scored with it (`--limit`) and in whatever order.
/// The verbaliser's words carry their leading space (" Hamlet"), so they play the harness's `target_delimiter` + choice.
public struct FewShotPrompt: Sendable {
    public static let delimiter = "\n\n"
    public let prompt: TaskPrompt
    /// Where demonstrations come from: the task's train split.
    public let pool: [TaskExample]
    public let shots: Int
    public let seed: UInt64

    /// Throws when the task has no prompt, or when K is negative or more than the train split holds.
    public init(task: TextTask, shots: Int, seed: UInt64) throws {
        let yaml = task.directory.appendingPathComponent("task.yaml").path
        guard let prompt = task.definition.prompt else {
            throw EvaluationError("\(yaml) has no 'prompt' (template and verbalizer), which multiple-choice scoring needs")
        }
        guard shots >= 0 else { throw EvaluationError("the number of shots must be ≥ 0, got \(shots)") }
        guard shots <= task.train.count else {
            throw EvaluationError("\(shots) shots are more than the \(task.train.count) examples of "
                + "\(task.directory.appendingPathComponent("train.jsonl").path)")
        }
        (self.prompt, pool, self.shots, self.seed) = (prompt, task.train, shots, seed)
    }

    /// The words that stand for `label` (the continuation scored for it).
    public func words(_ label: String) -> String { prompt.verbalizer[label] ?? label }

    /// The demonstrations for the test example at `index`: K distinct train examples in the order drawn.
    public func demonstrations(forTestExample index: Int) -> [TaskExample] {
        guard shots > 0 else { return [] }
        var random = SplitMix64(state: seed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
        _ = random.next()
        // A partial Fisher–Yates shuffle over the pool's indices, touching only the K positions it draws.
        var moved: [Int: Int] = [:]
        var chosen: [TaskExample] = []
        for i in 0..<shots {
            let j = i + Int(random.next() % UInt64(pool.count - i))
            let drawn = moved[j] ?? j
            moved[j] = moved[i] ?? i
            chosen.append(pool[drawn])
        }
        return chosen
    }

    /// The context for the test example `example` at `index` of the test split.
    public func context(for example: TaskExample, index: Int) -> String {
        let shown = demonstrations(forTestExample: index).map { prompt.prompt($0.text) + words($0.label) + Self.delimiter }
        return shown.joined() + prompt.prompt(example.text)
    }
}
