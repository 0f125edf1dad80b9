import Foundation
import TestSupport
import Training
import XCTest

/// Data mixtures: weights and phases resolved from a recipe, windows drawn by weight from the seed, subsets,
/// per-source token counts and val losses, and exact resume of a mixture run.
final class MixtureTests: XCTestCase {
    // MARK: - The plan

    func testReplayTakesItsFractionOfTheWindowsFromTheUpstreamCorpus() throws {
        let recipe = try Recipe.parse("data: {corpus: new, replay: {corpus: old, fraction: 0.25}}")
        let plan = try XCTUnwrap(MixturePlan(recipe.data))
        XCTAssertEqual(plan.sources.map(\.name), ["corpus", "upstream"])
        XCTAssertEqual(plan.sources.map(\.corpus), ["new", "old"])
        XCTAssertEqual(plan.weights(at: 0), [0.75, 0.25])
        XCTAssertEqual(plan.boundaries, [])
    }

    func testASingleCorpusOrAReplayOfZeroTrainsAsBefore() throws {
        XCTAssertNil(MixturePlan(try Recipe.parse("data: {corpus: new}").data))
        let zero = try Recipe.parse("data: {corpus: new, replay: {corpus: old, fraction: 0}}")
        XCTAssertNil(MixturePlan(zero.data), "fraction 0 draws nothing from the replay corpus")
        XCTAssertEqual(zero.data.sourceValidationCorpora.map(\.name), ["upstream"], "but its val split is still evaluated")
    }

    func testPhasesSetTheWeightsByStepAndReplayScalesThem() throws {
        let recipe = try Recipe.parse("""
            data:
              mixture: {a: {corpus: A, weight: 1}, b: {corpus: B, weight: 1}}
              replay: {corpus: OLD, fraction: 0.2, name: old}
              phases:
                - {until: 10, weights: {a: 1}}
                - {until: 20, weights: {a: 1, b: 3}}
            """)
        XCTAssertEqual(recipe.data.corpus, "A", "data.corpus defaults to the first source's")
        let plan = try XCTUnwrap(MixturePlan(recipe.data))
        XCTAssertEqual(plan.sources.map(\.name), ["a", "b", "old"])
        let tolerance = 1e-12
        for (step, expected) in [(0, [0.8, 0, 0.2]), (9, [0.8, 0, 0.2]), (10, [0.2, 0.6, 0.2]), (19, [0.2, 0.6, 0.2]),
                                 (20, [0.4, 0.4, 0.2]), (1000, [0.4, 0.4, 0.2])] {
            for (actual, wanted) in zip(plan.weights(at: step), expected) {
                XCTAssertEqual(actual, wanted, accuracy: tolerance, "step \(step)")
            }
        }
        XCTAssertEqual(plan.boundaries, [10, 20])
    }

    func testMixtureMistakesAreNamedByTheirKey() {
        let cases: [(String, String)] = [
            ("data: {mixture: {a: {weight: 1}}}", "data.mixture.a.corpus: required"),
            ("data: {mixture: {a: {corpus: A, wieght: 1}}}", "unknown key 'data.mixture.a.wieght'"),
            ("data: {mixture: {a: {corpus: A, weight: -1}}}", "data.mixture.a.weight must be a finite number ≥ 0"),
            ("data: {mixture: {a: {corpus: A, subset_tokens: 0}}}", "data.mixture.a.subset_tokens must be ≥ 1"),
            ("data: {replay: {corpus: OLD, fraction: 1}}", "data.replay.fraction must be in [0, 1)"),
            ("data: {replay: {fraction: 0.1}}", "data.replay.corpus: required"),
            ("data: {phases: [{weights: {a: 1}}]}", "data.phases needs data.mixture"),
            ("data: {mixture: {a: {corpus: A}}, phases: [{until: 5, weights: {b: 1}}]}",
             "data.phases[0].weights.b: no such source in data.mixture (sources: a)"),
            ("data: {mixture: {a: {corpus: A}}, phases: [{weights: {a: 1}}, {weights: {a: 1}}]}",
             "data.phases[0].until is required"),
            ("data: {mixture: {a: {corpus: A}}, phases: [{until: 5, weights: {a: 1}}, {until: 5, weights: {a: 1}}]}",
             "data.phases[1].until must be > 5"),
            ("data: {mixture: {val: {corpus: A}}}", "not 'val'"),
            ("data: {mixture: {a: {corpus: A}}, val: {a: B}}", "also a data.val set"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml): \(error)")
            }
        }
    }

    func testTheExampleRecipeParsesAndMixturesRoundTripThroughRecipeYAML() throws {
        let url = repositoryRoot.appendingPathComponent("recipes/cpt-example.yaml")
        let example = try Recipe.load(url, overrides: ["data.replay.fraction=0.05"])
        XCTAssertEqual(example.data.replay?.fraction, 0.05, "a replay sweep is one --set")
        XCTAssertEqual(example.schedule.kind, .infinite)

        var recipe = Recipe()
        recipe.data.mixture = ["a": MixtureSourceSection(corpus: "A", weight: 2, subsetTokens: 100), "b": MixtureSourceSection(corpus: "B")]
        recipe.data.replay = ReplaySection(corpus: "OLD", fraction: 0.1)
        recipe.data.phases = [PhaseSection(until: 5, weights: ["a": 1]), PhaseSection(weights: ["b": 1])]
        XCTAssertEqual(try Recipe.parse(try recipe.yaml()), recipe)
    }

    // MARK: - The batcher

    /// Source a holds tokens 1…20, source b tokens 40…59, so each window's first token tells its source.
    private func twoSourcePlan(weightA: Double) throws -> (MixturePlan, [[[Int32]]]) {
        let recipe = try Recipe.parse("data: {mixture: {a: {corpus: A, weight: \(weightA)}, b: {corpus: B, weight: \(1 - weightA)}}}")
        let a = (0..<400).map { Int32(1 + $0 % 20) }, b = (0..<400).map { Int32(40 + $0 % 20) }
        return (try XCTUnwrap(MixturePlan(recipe.data)), [[a], [b]])
    }

    func testWindowsAreDrawnByWeightDeterministicallyFromTheSeed() throws {
        let (plan, shards) = try twoSourcePlan(weightA: 0.75)
        func batches(seed: UInt64) throws -> [[Int32]] {
            let mixture = try MixtureBatcher(plan: plan, shards: shards, context: 8, batchSize: 10, sampling: .random, seed: seed)
            return (0..<40).map { mixture.next(step: $0).values }
        }
        let first = try batches(seed: 3)
        XCTAssertEqual(first, try batches(seed: 3), "same seed, same batches")
        XCTAssertNotEqual(first, try batches(seed: 4))
        let windows = first.flatMap { batch in stride(from: 0, to: batch.count, by: 9).map { batch[$0] } }
        let fromA = windows.filter { $0 < 40 }.count
        // 400 draws at p = 0.75: mean 300, standard deviation 8.7; the seed is fixed, the bound is ±4.6 sd.
        XCTAssertEqual(Double(fromA), 300, accuracy: 40)
        for batch in first {
            for row in stride(from: 0, to: batch.count, by: 9) {
                let window = batch[row..<(row + 9)]
                XCTAssertTrue(window.allSatisfy { $0 < 40 } || window.allSatisfy { $0 >= 40 }, "a window never mixes sources")
            }
        }
    }

    func testTokenCountsAndStateResumeTheSameBatches() throws {
        let (plan, shards) = try twoSourcePlan(weightA: 0.5)
        let mixture = try MixtureBatcher(plan: plan, shards: shards, context: 8, batchSize: 4, sampling: .sequential, seed: 9)
        for step in 0..<5 { _ = mixture.next(step: step) }
        let saved = mixture.state
        XCTAssertEqual(saved.tokens.values.reduce(0, +), 5 * 4 * 8, "T tokens per window")
        XCTAssertEqual(mixture.tokensBySource, saved.tokens)
        let expected = (5..<10).map { mixture.next(step: $0).values }
        let restored = try MixtureBatcher(plan: plan, shards: shards, context: 8, batchSize: 4, sampling: .sequential, seed: 1)
        try restored.restore(saved)
        XCTAssertEqual((5..<10).map { restored.next(step: $0).values }, expected)
        XCTAssertEqual(restored.tokensBySource, mixture.tokensBySource)
    }

    // MARK: - Loading prepared corpora

    func testLoadingReadsSourcesSubsetsAndValSplitsByName() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writePrepared(to: root.appendingPathComponent("new"), seed: 1)
        try TestCorpus.writePrepared(to: root.appendingPathComponent("old"), seed: 5)
        let recipe = try Recipe.parse("""
            data:
              corpus: \(root.path)/new
              sampling: sequential
              mixture:
                new: {corpus: \(root.path)/new, weight: 3}
                old: {corpus: \(root.path)/old, weight: 1, subset_tokens: 100}
            """)
        let corpus = try TrainingCorpus.load(recipe.data)
        XCTAssertEqual(corpus.sources.map(\.name), ["new", "old"])
        XCTAssertEqual(corpus.sources.map(\.tokenCount), [6000, 100])
        XCTAssertEqual(corpus.sources[1].shards.flatMap { $0 }, Array(TestCorpus.markovTokens(count: 100, vocabularySize: 64, seed: 5)),
                       "the subset is the first tokens")
        XCTAssertEqual(corpus.trainShards.count, 0)
        XCTAssertEqual(corpus.namedValidation.map(\.name), ["old"])
        XCTAssertEqual(corpus.validationAliases, ["new": "val"], "data.corpus' val split is evaluated once")

        // A subset of 100 tokens at context 8 holds 12 windows: sequential sampling cycles over it in epochs.
        let plan = try XCTUnwrap(MixturePlan(recipe.data))
        let mixture = try MixtureBatcher(plan: plan, shards: corpus.sources.map(\.shards), context: 8, batchSize: 8,
                                         sampling: .sequential, seed: 1)
        for step in 0..<20 { _ = mixture.next(step: step) }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(mixture.state.sources["old"]).epoch, 2)

        try TestCorpus.writePrepared(to: root.appendingPathComponent("other-vocab"), vocabularySize: 32, seed: 7)
        let mismatched = try Recipe.parse("data: {corpus: \(root.path)/new, replay: {corpus: \(root.path)/other-vocab, fraction: 0.1}}")
        XCTAssertThrowsError(try TrainingCorpus.load(mismatched.data)) {
            XCTAssertTrue("\($0)".contains("data source 'upstream'") && "\($0)".contains("another tokenizer"), "\($0)")
        }
        let tooBig = try Recipe.parse("data: {corpus: \(root.path)/new, replay: {corpus: \(root.path)/old, fraction: 0.1, subset_tokens: 9000}}")
        XCTAssertThrowsError(try TrainingCorpus.load(tooBig.data)) {
            XCTAssertTrue("\($0)".contains("subset_tokens 9000 is more than its 6000 train tokens"), "\($0)")
        }
    }

    // MARK: - Training

    /// Two in-memory sources (different Markov chains) with val splits named by source.
    static func mixtureCorpus() -> TrainingCorpus {
        var corpus = TestCorpus.make()
        let other = TestCorpus.markovTokens(count: 3000, vocabularySize: 64, seed: 11)
        corpus.sources = [.init(name: "a", shards: corpus.trainShards), .init(name: "b", shards: [other])]
        corpus.trainShards = []
        corpus.namedValidation = [.init(name: "b", shards: [TestCorpus.markovTokens(count: 400, vocabularySize: 64, seed: 12)],
                                        bytesPerToken: 4)]
        corpus.validationAliases = ["a": "val"]
        return corpus
    }

    static func mixtureRecipe(steps: Int) -> Recipe {
        var recipe = tinyRecipe(steps: steps)
        recipe.data.mixture = ["a": MixtureSourceSection(corpus: "A", weight: 1), "b": MixtureSourceSection(corpus: "B", weight: 1)]
        recipe.data.phases = [PhaseSection(until: 7, weights: ["a": 1]), PhaseSection(weights: ["a": 1, "b": 1])]
        return recipe
    }

    func testAMixtureRunLogsSourcesAndResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        let recipe = Self.mixtureRecipe(steps: 20)
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"),
                                   corpus: Self.mixtureCorpus(), console: ConsoleProgress(mode: .silent))
        try straight.run()
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: Self.mixtureCorpus(),
                    console: ConsoleProgress(mode: .silent)).run(stopAfter: 10)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: Self.mixtureCorpus(), start: .resume,
                                  console: ConsoleProgress(mode: .silent))
        try resumed.run()

        let expected = try readMetrics(root.appendingPathComponent("straight/metrics.jsonl"))
        let actual = try readMetrics(interrupted.appendingPathComponent("metrics.jsonl"))
        assertSameCurves(actual, expected)
        XCTAssertEqual(actual.map(\.sourceTokens), expected.map(\.sourceTokens))
        XCTAssertEqual(actual.map(\.namedValidationLosses), expected.map(\.namedValidationLosses))

        let tokensPerStep = 2 * 4 * 8
        let atBoundary = try XCTUnwrap(expected.first { $0.step == 7 })
        XCTAssertEqual(atBoundary.sourceTokens, ["a": 7 * tokensPerStep, "b": 0], "phase 1 draws from a only")
        XCTAssertNotNil(atBoundary.valLoss, "a phase boundary is evaluated")
        XCTAssertEqual(Set(atBoundary.namedValidationLosses.keys), ["a", "b"])
        XCTAssertEqual(atBoundary.namedValidationLosses["a"], atBoundary.valLoss, "a's val split is data.corpus'")
        let last = try XCTUnwrap(expected.last)
        XCTAssertEqual(last.sourceTokens.values.reduce(0, +), 20 * tokensPerStep)
        XCTAssertGreaterThan(try XCTUnwrap(last.sourceTokens["b"]), 0)

        // TensorBoard gets the same per-source values.
        let straightDirectory = root.appendingPathComponent("straight")
        let eventsName = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: straightDirectory.path)
            .first { $0.hasPrefix("events.out.tfevents.") })
        let events = try TFRecord.records(in: Array(try Data(contentsOf: straightDirectory.appendingPathComponent(eventsName))))
            .map { try TensorBoardEvent(decoding: $0) }
        let tags = Set(events.flatMap { event -> [String] in
            if case .scalars(let scalars) = event.payload { return scalars.map(\.tag) }
            return []
        })
        XCTAssertTrue(tags.isSuperset(of: ["train/tokens_seen/a", "train/tokens_seen/b", "val/loss/a", "val/loss/b"]), "\(tags.sorted())")

        var single = tinyRecipe(steps: 20)
        single.train.steps = 20
        XCTAssertThrowsError(try Trainer(recipe: single, runDirectory: interrupted, corpus: TestCorpus.make(), start: .resume,
                                         console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("written by a run with a data mixture"), "\($0)")
        }
    }
}
