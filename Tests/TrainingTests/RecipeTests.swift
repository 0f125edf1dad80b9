import Foundation
import Optimizers
import TestSupport
import Training
import XCTest

/// Recipes: defaults for what is left out, errors that name the key and its path, `--set` overrides, and the
/// resolved recipe round trip.
final class RecipeTests: XCTestCase {
    func testAnEmptyRecipeIsAllDefaults() throws {
        XCTAssertEqual(try Recipe.parse(""), Recipe())
        XCTAssertEqual(try Recipe.parse("optim: {}"), Recipe())
    }

    func testKeysAreReadFromTheirSections() throws {
        let recipe = try Recipe.parse("""
            model: {flavor: llama, layers: 6, d_model: 256, heads: 8, context: 128, vocab_size: 8192, dropout: 0.1}
            optim: {lr: 3e-4, betas: [0.9, 0.99], weight_decay: 0.05, clip: 0.5, batch_size: 8, grad_accum: 4}
            schedule: {kind: wsd, warmup: 100, min_lr: 3.0e-5, decay: 200}
            train: {steps: 2000, eval_every: 250, seed: 42, threads: 2}
            data: {corpus: data/wiki, val: {shakespeare: data/shakespeare}, sampling: sequential}
            """)
        XCTAssertEqual(recipe.model.flavor, .llama)
        XCTAssertEqual(recipe.model.dModel, 256)
        XCTAssertEqual(recipe.model.vocabSize, 8192)
        XCTAssertEqual(recipe.optim.lr, 3e-4)
        XCTAssertEqual(recipe.optim.betas, [0.9, 0.99])
        XCTAssertEqual(recipe.optim.gradAccum, 4)
        XCTAssertEqual(recipe.data.val, ["shakespeare": "data/shakespeare"])
        XCTAssertEqual(recipe.data.sampling, .sequential)
        XCTAssertEqual(recipe.train.threads, 2)
        XCTAssertEqual(try recipe.learningRateSchedule(),
                       .wsd(maxLR: 3e-4, minLR: 3e-5, warmup: 100, stable: 1700, decay: 200))
    }

    func testAnUnknownKeyIsAnErrorNamingItsPath() {
        assertRecipeError("optim:\n  lr: 1e-3\n  weight_decy: 0.1\n", contains: "unknown key 'optim.weight_decy'")
        assertRecipeError("modle:\n  layers: 2\n", contains: "unknown key 'modle'")
        assertRecipeError("objective: {masking: {rat: 0.2}}", contains: "unknown key 'objective.masking.rat'")
    }

    func testAWrongTypeNamesTheKey() {
        assertRecipeError("optim: {lr: fast}", contains: "optim.lr: expected a number")
        assertRecipeError("train: {steps: 1.5}", contains: "train.steps: expected an integer")
        assertRecipeError("model: {flavor: gpt5}", contains: "model.flavor")
        assertRecipeError("objective: {ssast: {negatives: speaker}}", contains: "objective.ssast.negatives")
        assertRecipeError("objective: {wav2vec2: {cross_sample_negatives: many}}", contains: "objective.wav2vec2.cross_sample_negatives")
    }

    func testInvalidYAMLIsReportedWithTheSource() {
        XCTAssertThrowsError(try Recipe.parse("model: [1, 2", source: "r.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("r.yaml: not valid YAML"), "\($0)")
        }
    }

    /// A parse error in a recipe with Windows line ends is still one line (the fuzzer's input 65755 of seed 1205:
    /// Yams quoted the line with its "\r\n", which a split on "\n" did not cut).
    func testAParseErrorInACRLFRecipeIsOneLine() {
        XCTAssertThrowsError(try Recipe.parse("model:\r\n  layers: 2\r\n  bad: \u{0C}x\r\n", source: "r.yaml")) {
            let message = "\($0)"
            XCTAssertTrue(message.hasPrefix("r.yaml: not valid YAML"), message)
            XCTAssertFalse(message.contains { $0.isNewline }, message)
        }
    }

    func testValuesThatCannotRunAreRejected() {
        assertRecipeError("model: {d_model: 100, heads: 3}", contains: "model.d_model (100) must be a positive multiple of model.heads (3)")
        assertRecipeError("model: {flavor: bert}", contains: "objective.kind causal_lm does not fit model.flavor bert")
        assertRecipeError("precision: fp16", contains: "precision must be one of fp32, bf16, bf16-emulated, got 'fp16'")
        assertRecipeError("optim: {betas: [0.9]}", contains: "optim.betas must be two numbers")
    }

    func testScheduleKeysOfAnotherKindAreErrors() {
        assertRecipeError("schedule: {kind: cosine, stable: 100}", contains: "schedule.stable does not apply to schedule kind 'cosine'")
    }

    func testOverridesSetAnyScalarByDottedPath() throws {
        let recipe = try Recipe.parse("optim: {lr: 1e-3}\n", overrides: [
            "optim.lr=3e-4", "train.steps=200", "model.flavor=llama", "schedule.kind=infinite",
            "schedule.anneal_start=150", "schedule.anneal_steps=50", "data.val.wiki=data/wiki",
        ])
        XCTAssertEqual(recipe.optim.lr, 3e-4)
        XCTAssertEqual(recipe.train.steps, 200)
        XCTAssertEqual(recipe.model.flavor, .llama)
        XCTAssertEqual(recipe.data.val["wiki"], "data/wiki")
        guard case let .infinite(_, _, _, _, _, annealStart, annealSteps, _) = try recipe.learningRateSchedule() else {
            return XCTFail("expected the infinite schedule")
        }
        XCTAssertEqual(annealStart, 150)
        XCTAssertEqual(annealSteps, 50)
    }

    func testOverridesAreCheckedLikeTheFile() {
        XCTAssertThrowsError(try Recipe.parse("", overrides: ["optim.learning_rate=1"])) {
            XCTAssertTrue("\($0)".contains("unknown key 'optim.learning_rate'"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("", overrides: ["optim.lr"])) {
            XCTAssertTrue("\($0)".contains("expected path=value"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("optim: {lr: 1}", overrides: ["optim=3"])) {
            XCTAssertTrue("\($0)".contains("is a section or list"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.parse("optim: {lr: 1}", overrides: ["optim.lr.x=3"])) {
            XCTAssertTrue("\($0)".contains("not a section"), "\($0)")
        }
    }

    func testTheResolvedRecipeRoundTrips() throws {
        var recipe = Recipe()
        recipe.model.vocabSize = 4096
        recipe.schedule.kind = .infinite
        recipe.schedule.constantLR = 2e-4
        recipe.schedule.annealShape = .cosine
        recipe.data.val = ["a": "x", "b": "y"]
        XCTAssertEqual(try Recipe.parse(try recipe.yaml()), recipe)
    }

    func testTheDefaultRecipeFileParses() throws {
        let url = repositoryRoot.appendingPathComponent("recipes/shakespeare-gpt.yaml")
        let recipe = try Recipe.load(url)
        XCTAssertEqual(recipe.model.flavor, .gpt2)
        XCTAssertEqual(recipe.objective.kind, .causalLM)
    }

    private func assertRecipeError(_ yaml: String, contains expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Recipe.parse(yaml), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
    }
}
