import Foundation
import TestSupport
import TextEvaluation
import TextTasks
import XCTest

/// The few-shot context: K train examples in all, drawn per test example by seed, in the harness's format.
final class FewShotPromptTests: XCTestCase {
    static let prompt = TaskPrompt(template: "{text}\nThe mood is", cloze: "{text} Mood:{mask}.",
                                   verbalizer: ["glad": " glad", "sad": " sad"])

    static func task(prompt: TaskPrompt? = FewShotPromptTests.prompt, train: Int = 40) -> TextTask {
        let definition = TaskDefinition(name: "mood", description: "", labels: ["glad", "sad"], source: "", split: "", prompt: prompt)
        let examples = (0..<train).map { TaskExample(text: "text \($0)", label: $0 % 3 == 0 ? "sad" : "glad") }
        let test = (0..<10).map { TaskExample(text: "test \($0)", label: $0 % 2 == 0 ? "sad" : "glad") }
        return TextTask(definition: definition, directory: URL(fileURLWithPath: "/tasks/mood"), train: examples,
                        dev: [examples[0]], test: test, unlabelled: [])
    }

    func testZeroShotIsTheFilledTemplate() throws {
        let prompt = try FewShotPrompt(task: Self.task(), shots: 0, seed: 7)
        XCTAssertEqual(prompt.context(for: TaskExample(text: "Hey", label: "glad"), index: 3), "Hey\nThe mood is")
    }

    /// Each demonstration is its filled template and label words, then a blank line; the test example's template last.
    func testDemonstrationsAreTemplateWordsAndABlankLine() throws {
        let prompt = try FewShotPrompt(task: Self.task(), shots: 2, seed: 1)
        let shown = prompt.demonstrations(forTestExample: 0)
        let expected = shown.map { "\($0.text)\nThe mood is \($0.label)\n\n" }.joined() + "Hey\nThe mood is"
        XCTAssertEqual(prompt.context(for: TaskExample(text: "Hey", label: "glad"), index: 0), expected)
    }

    /// K counts examples in all (not per class), distinct, from train; the same seed and index give the same draw, another
    /// seed or another index another one.
    func testTheDrawIsKDistinctTrainExamplesFixedBySeedAndIndex() throws {
        let task = Self.task()
        let prompt = try FewShotPrompt(task: task, shots: 5, seed: 3)
        let again = try FewShotPrompt(task: task, shots: 5, seed: 3)
        let other = try FewShotPrompt(task: task, shots: 5, seed: 4)
        for index in 0..<10 {
            let shown = prompt.demonstrations(forTestExample: index)
            XCTAssertEqual(shown.count, 5)
            XCTAssertEqual(Set(shown.map(\.text)).count, 5, "distinct")
            XCTAssertTrue(shown.allSatisfy { task.train.contains($0) })
            XCTAssertEqual(shown, again.demonstrations(forTestExample: index))
        }
        XCTAssertNotEqual((0..<10).map { prompt.demonstrations(forTestExample: $0) },
                          (0..<10).map { other.demonstrations(forTestExample: $0) })
        XCTAssertNotEqual(prompt.demonstrations(forTestExample: 0), prompt.demonstrations(forTestExample: 1))
        // Every train example can be drawn: K = the whole split is a permutation of it.
        let all = try FewShotPrompt(task: task, shots: 40, seed: 9).demonstrations(forTestExample: 2)
        XCTAssertEqual(Set(all.map(\.text)), Set(task.train.map(\.text)))
    }

    func testMistakesNameTheFile() throws {
        XCTAssertThrowsError(try FewShotPrompt(task: Self.task(prompt: nil), shots: 0, seed: 0)) {
            XCTAssertEqual("\($0)", "/tasks/mood/task.yaml has no 'prompt' (template and verbalizer), which multiple-choice scoring needs")
        }
        XCTAssertThrowsError(try FewShotPrompt(task: Self.task(train: 3), shots: 4, seed: 0)) {
            XCTAssertEqual("\($0)", "4 shots are more than the 3 examples of /tasks/mood/train.jsonl")
        }
        XCTAssertThrowsError(try FewShotPrompt(task: Self.task(), shots: -1, seed: 0)) {
            XCTAssertEqual("\($0)", "the number of shots must be ≥ 0, got -1")
        }
    }
}
