import AudioData
import Foundation
import Tensors
import TestSupport
import Training
import XCTest

/// `data.balance_by` for feature corpora: crops drawn equally per value of a manifest field (a speaker's gender).
final class AudioBalanceTests: XCTestCase {
    /// AudioTrainingTests' eight tone files, six in train: one "female", four "male", one without the field; two in val.
    static func featureCorpus(_ root: URL, manifest: Bool = true) throws -> URL {
        try AudioTrainingTests.featureCorpus(root, name: manifest ? "features" : "features-plain", manifestFields: manifest ? { index in
            ", \"speaker\": \"s\(index)\"" + (index == 0 ? ", \"gender\": \"female\"" : index == 5 ? "" : ", \"gender\": \"male\"")
        } : nil)
    }

    static func recipe(features: URL, balanceBy: String?) throws -> Recipe {
        try Recipe.parse("""
            model: {flavor: audio_frames, layers: 1, d_model: 16, heads: 2, context: 24, frame_stack: 2}
            objective: {kind: tera}
            data: {features: \(features.path)\(balanceBy.map { ", balance_by: \($0)" } ?? "")}
            optim: {lr: 3.0e-3, batch_size: 3}
            schedule: {kind: cosine, warmup: 2}
            train: {steps: 6, eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3, keep_last: 2, seed: 11}
            """)
    }

    /// Each value gets about a third of the crops (the one "female" utterance as many as the four "male" ones), where
    /// uniform draws give it a sixth.
    func testCropsAreDrawnEquallyPerValue() throws {
        let corpus = try FeatureCorpus.load(try Self.featureCorpus(try makeTemporaryDirectory()))
        let groups = try FeatureBatcher.groups(corpus, field: "gender")
        XCTAssertEqual(groups.map(\.value), ["_missing", "female", "male"])
        XCTAssertEqual(groups.map(\.utterances.count), [1, 1, 4])
        let batcher = try FeatureBatcher(utterances: corpus.train, dimension: 16, crop: 8, batchSize: 1, seed: 3, groups: groups)
        // A crop's first frame tells its utterance apart: the utterances are tones of distinct pitches.
        var counts: [String: Int] = [:]
        for _ in 0..<3_000 {
            let batch = batcher.next()
            let frames = (0..<corpus.train.count).filter { index in
                let utterance = corpus.train[index]
                return (0...(utterance.frames - 8)).contains { start in
                    Array(utterance.values[(start * 16)..<(start * 16 + 16)]) == Array(batch.features.scalars[0..<16])
                }
            }
            let key = corpus.train[try XCTUnwrap(frames.first)].key
            counts[corpus.metadata[key]?["gender"] ?? "_missing", default: 0] += 1
        }
        for value in ["female", "male", "_missing"] {
            XCTAssertEqual(Double(counts[value] ?? 0) / 3_000, 1.0 / 3.0, accuracy: 0.04, "\(value): \(counts)")
        }
    }

    /// A balanced TERA run resumes bit for bit, and its crops differ from an unbalanced run's.
    func testBalancedRunResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        let recipe = try Self.recipe(features: features, balanceBy: "gender")
        let corpus = try TrainingCorpus.load(recipe.data)
        let straightDirectory = root.appendingPathComponent("straight")
        let straight = try Trainer(recipe: recipe, runDirectory: straightDirectory, corpus: corpus, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try straight.run().finished)
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: ConsoleProgress(mode: .silent)).run(stopAfter: 3)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume, console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try resumed.run().finished)
        for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "final \(name) differs")
        }
        let plainRecipe = try Self.recipe(features: features, balanceBy: nil)
        let plain = try Trainer(recipe: plainRecipe, runDirectory: root.appendingPathComponent("plain"),
                                corpus: try TrainingCorpus.load(plainRecipe.data), console: ConsoleProgress(mode: .silent))
        XCTAssertTrue(try plain.run().finished)
        XCTAssertNotEqual(try readMetrics(straightDirectory.appendingPathComponent("metrics.jsonl")).map(\.loss),
                          try readMetrics(root.appendingPathComponent("plain/metrics.jsonl")).map(\.loss))
    }

    func testAFieldNoUtteranceHasOrACorpusWithoutAManifestIsAnError() throws {
        let root = try makeTemporaryDirectory()
        let features = try Self.featureCorpus(root)
        let corpus = try FeatureCorpus.load(features)
        XCTAssertThrowsError(try FeatureBatcher.groups(corpus, field: "accent")) {
            XCTAssertEqual("\($0)", "data.balance_by: no train utterance of \(features.path) has the field 'accent' (fields: gender, speaker)")
        }
        let plain = try Self.featureCorpus(root, manifest: false)
        XCTAssertThrowsError(try FeatureBatcher.groups(try FeatureCorpus.load(plain), field: "gender")) {
            XCTAssertTrue("\($0)".contains("has no utterances.jsonl"), "\($0)")
        }
        let recipe = try Self.recipe(features: plain, balanceBy: "gender")
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("r"),
                                         corpus: try TrainingCorpus.load(recipe.data), console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("utterances.jsonl"), "\($0)")
        }
    }
}
