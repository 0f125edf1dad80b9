import Foundation
import Training
import XCTest

/// What a recipe error says: the source to blame (the `--set` that wrote the key, else the file with its line and
/// column), the key's path, what was expected and what was found, the key that was probably meant, and nothing of
/// the YAML library's wording. Values the recipe cannot mean (an empty `--set`, a non-finite number, a key written
/// twice) are errors, not silent defaults.
final class RecipeMessagesTests: XCTestCase {
    private let optimKeys = "(valid keys of optim: lr, betas, eps, weight_decay, clip, batch_size, grad_accum)"

    func testAnUnknownKeyInTheFileNamesItsLineAndTheKeyMeant() {
        assertError("optim:\n  lr: 1e-3\n  learning_rate: 3e-4\n",
                    is: "r.yaml:3:3: unknown key 'optim.learning_rate': did you mean optim.lr? \(optimKeys)")
        assertError("optim: {batchSize: 8}", is: "r.yaml:1:9: unknown key 'optim.batchSize': did you mean optim.batch_size? \(optimKeys)")
        assertError("optim: {zzz: 1}", is: "r.yaml:1:9: unknown key 'optim.zzz' \(optimKeys)")
    }

    func testAnUnknownKeyFromSetBlamesTheSet() {
        assertError("optim: {lr: 1e-3}", overrides: ["optim.learning_rate=3e-4"],
                    is: "--set optim.learning_rate=3e-4: unknown key 'optim.learning_rate': did you mean optim.lr? \(optimKeys)")
        assertError("", overrides: ["optimm.lr=3e-4"], startsWith: "--set optimm.lr=3e-4: unknown key 'optimm': did you mean optim?")
    }

    func testAValueOfTheWrongTypeSaysWhatItGot() {
        assertError("optim: {lr: 1e-3}", overrides: ["optim.lr=abc"], is: "--set optim.lr=abc: optim.lr: expected a number, got 'abc'")
        assertError("optim:\n  lr: fast\n", is: "r.yaml:2:3: optim.lr: expected a number, got 'fast'")
        assertError("train: {steps: [1]}", is: "r.yaml:1:9: train.steps: expected a single value, got a list")
        assertError("optim: 3", is: "r.yaml:1:1: optim: expected a section (key: value lines), got '3'")
    }

    func testAnEmptySetValueIsAnError() {
        assertError("", overrides: ["optim.lr="], startsWith: "--set optim.lr=: no value after '='")
    }

    func testNonFiniteNumbersAreErrors() {
        assertError("optim: {lr: inf}", is: "r.yaml:1:9: optim.lr must be a finite number, got inf")
        assertError("optim: {eps: .nan}", is: "r.yaml:1:9: optim.eps must be a finite number, got nan")
        assertError("optim: {lr: 1e39}", is: "r.yaml:1:9: optim.lr must be a finite number, got inf")
        assertError("", overrides: ["optim.lr=-inf"], is: "--set optim.lr=-inf: optim.lr must be a finite number, got -inf")
        assertError("optim: {betas: [0.9, .inf]}", is: "r.yaml:1:9: optim.betas must be a finite number, got inf")
        assertError("schedule: {min_lr: .inf}", is: "r.yaml:1:12: schedule.min_lr must be a finite number, got inf")
        assertError("objective: {kind: wav2vec2, wav2vec2: {temperature_decay: .nan}}",
                    startsWith: "r.yaml:1:40: objective.wav2vec2.temperature_decay must be a finite number, got nan")
    }

    func testAKeyWrittenTwiceIsAnError() {
        assertError("optim:\n  lr: 1e-3\n  eps: 1e-8\n  lr: 2e-3\n", startsWith: "r.yaml:4:3: key 'optim.lr' appears twice")
        assertError("train: {steps: 5}\noptim: {}\ntrain: {seed: 1}\n", startsWith: "r.yaml:3:1: key 'train' appears twice")
    }

    func testAMisspeltChoiceSuggestsTheValueMeant() {
        assertError("schedule: {kind: cosin}", startsWith: "r.yaml:1:12: schedule.kind must be one of constant, cosine")
        assertError("schedule: {kind: cosin}", contains: "got 'cosin' (did you mean cosine?)")
        assertError("model: {flavor: gtp2}", contains: "got 'gtp2' (did you mean gpt2?)")
    }

    func testNearestNameFindsTheNameMeantOrNone() {
        let optim = ["lr", "betas", "eps", "weight_decay", "clip", "batch_size", "grad_accum"]
        XCTAssertEqual(nearestName(to: "learning_rate", among: optim), "lr", "initials")
        XCTAssertEqual(nearestName(to: "weight_decy", among: optim), "weight_decay")
        XCTAssertEqual(nearestName(to: "gradAccum", among: optim), "grad_accum")
        XCTAssertEqual(nearestName(to: "trian", among: ["train", "eval", "tokenize"]), "train", "a swap is one edit")
        XCTAssertNil(nearestName(to: "momentum", among: optim))
    }

    private func assertError(_ yaml: String, overrides: [String] = [], is expected: String? = nil, startsWith prefix: String? = nil,
                             contains part: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Recipe.parse(yaml, overrides: overrides, source: "r.yaml"), file: file, line: line) {
            let message = "\($0)"
            if let expected { XCTAssertEqual(message, expected, file: file, line: line) }
            if let prefix { XCTAssertTrue(message.hasPrefix(prefix), message, file: file, line: line) }
            if let part { XCTAssertTrue(message.contains(part), message, file: file, line: line) }
            XCTAssertFalse(message.contains("The given data was not valid YAML"), message, file: file, line: line)
        }
    }
}
