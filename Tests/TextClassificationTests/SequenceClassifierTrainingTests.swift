import Foundation
import HFInterop
import Layers
import Tensors
import TestSupport
import TextClassification
import XCTest

/// The fine-tuning loop on token ids given directly: a toy task a classifier must learn completely, the weights of
/// the best dev step kept, a linear probe that leaves the backbone alone, and runs repeated bit for bit.
final class SequenceClassifierTrainingTests: XCTestCase {
    static let bertConfig = BertConfig(vocabSize: 32, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32,
                                       maxPositions: 16, dropout: 0.1)
    static let gptConfig = GPTConfig(vocabSize: 32, contextLength: 16, layers: 1, dModel: 16, heads: 2, dropout: 0.1)

    /// A trivially separable toy task of texts of 4–9 tokens: a start token 1, then 3–8 tokens drawn from 10..<20 for
    /// class 0 and from 20..<30 for class 1, so that every token tells the class. `flipped` swaps the classes (a dev
    /// split that disagrees with train).
    static func examples(_ count: Int, seed: UInt64, flipped: Bool = false) -> [EncodedExample] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { index in
            let label = index % 2
            let ids = (0..<(3 + generator.nextInt(below: 6))).map { _ in Int32(10 + 10 * label + generator.nextInt(below: 10)) }
            return EncodedExample(ids: [1] + ids, label: flipped ? 1 - label : label)
        }
    }

    static func bertClassifier(pooling: SequencePooling = .cls, seed: UInt64 = 5) -> BertForSequenceClassification {
        var generator = RandomGenerator(seed: seed)
        return BertForSequenceClassification(bert: BertModel(bertConfig, generator: &generator), labels: 2, pooling: pooling,
                                             generator: &generator)
    }

    static func gptClassifier(seed: UInt64 = 5) -> GPTForSequenceClassification {
        var generator = RandomGenerator(seed: seed)
        return GPTForSequenceClassification(decoder: GPTModel(gptConfig, generator: &generator), labels: 2, padToken: 0,
                                            generator: &generator)
    }

    static func settings(steps: Int = 80, learningRate: Float = 3e-3) -> SequenceClassifierSettings {
        var settings = SequenceClassifierSettings()
        (settings.steps, settings.learningRate, settings.evaluateEvery) = (steps, learningRate, 10)
        return settings
    }

    func fit(_ classifier: SequenceClassifier, settings: SequenceClassifierSettings = settings(), seed: UInt64 = 0,
             dev: [EncodedExample] = examples(16, seed: 2),
             onEvaluation: (DevPoint, Bool) -> Void = { _, _ in }) throws -> SequenceClassifierOutcome {
        try SequenceClassifierTraining.fit(classifier, train: Self.examples(32, seed: 1), dev: dev, test: Self.examples(16, seed: 3),
                                       padToken: 0, settings: settings, seed: seed, onEvaluation: onEvaluation)
    }

    func testBertLearnsASeparableTaskCompletely() throws {
        let outcome = try fit(Self.bertClassifier())
        XCTAssertEqual(outcome.dev.accuracy, 1, "\(outcome.devCurve)")
        XCTAssertEqual(outcome.test.accuracy, 1)
        XCTAssertEqual(outcome.test.macroF1, 1)
    }

    func testBertWithMeanPoolingLearnsASeparableTaskCompletely() throws {
        let outcome = try fit(Self.bertClassifier(pooling: .mean))
        XCTAssertEqual(outcome.dev.accuracy, 1, "\(outcome.devCurve)")
        XCTAssertEqual(outcome.test.accuracy, 1)
    }

    /// The decoder reads its last real token, which attends to the marker wherever it stands.
    func testADecoderLearnsASeparableTaskCompletely() throws {
        let outcome = try fit(Self.gptClassifier())
        XCTAssertEqual(outcome.dev.accuracy, 1, "\(outcome.devCurve)")
        XCTAssertEqual(outcome.test.accuracy, 1)
    }

    /// A dev split labelled against train: dev accuracy falls as the classifier learns, so the best dev step is an
    /// early one, and the classifier ends with exactly the weights it had there.
    func testTheBestDevStepsWeightsAreRestored() throws {
        let classifier = Self.bertClassifier()
        var snapshots: [Int: [Float]] = [:]
        let outcome = try fit(classifier, dev: Self.examples(16, seed: 2, flipped: true)) { point, _ in
            snapshots[point.step] = classifier.parameters.flatMap(\.scalars)
        }
        XCTAssertEqual(outcome.devCurve.map(\.step), Array(stride(from: 10, through: 80, by: 10)))
        XCTAssertLessThan(outcome.bestStep, outcome.steps, "\(outcome.devCurve)")
        let best = outcome.devCurve.max { ($0.accuracy, -$0.step) < ($1.accuracy, -$1.step) }!
        XCTAssertEqual(outcome.bestStep, best.step)
        XCTAssertEqual(outcome.dev.accuracy, best.accuracy)
        XCTAssertEqual(classifier.parameters.flatMap(\.scalars), snapshots[outcome.bestStep])
        XCTAssertNotEqual(classifier.parameters.flatMap(\.scalars), snapshots[outcome.steps])
    }

    func testALinearProbeLeavesTheBackboneBitwiseUnchanged() throws {
        for classifier in [Self.bertClassifier() as SequenceClassifier, Self.gptClassifier()] {
            let backboneBefore = classifier.backbone.parameters.map(\.scalars)
            let headBefore = classifier.headParameterNames.map { classifier.stateDict()[$0]!.scalars }
            var settings = Self.settings(learningRate: 1e-2)
            settings.linearProbe = true
            let outcome = try fit(classifier, settings: settings)
            XCTAssertEqual(classifier.backbone.parameters.map(\.scalars), backboneBefore)
            XCTAssertNotEqual(classifier.headParameterNames.map { classifier.stateDict()[$0]!.scalars }, headBefore)
            XCTAssertGreaterThan(outcome.devCurve.count, 0)
        }
    }

    /// Dropout is on (0.1), so the seed's dropout stream matters as much as its batch order.
    func testTheSameSeedGivesTheSameResultBitForBit() throws {
        let (first, second, other) = (Self.bertClassifier(), Self.bertClassifier(), Self.bertClassifier())
        let settings = Self.settings(steps: 20)
        let a = try fit(first, settings: settings, seed: 7), b = try fit(second, settings: settings, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertEqual(first.parameters.flatMap(\.scalars), second.parameters.flatMap(\.scalars))
        _ = try fit(other, settings: settings, seed: 8)
        XCTAssertNotEqual(first.parameters.flatMap(\.scalars), other.parameters.flatMap(\.scalars))
    }

    /// A fine-tuned classifier exported and imported again gives the same logits, bit for bit.
    func testAFineTunedClassifierRoundTripsThroughHuggingFace() throws {
        let batch = PaddedTokens(Self.examples(6, seed: 9).map(\.ids), padToken: 0)
        for classifier in [Self.bertClassifier() as SequenceClassifier, Self.gptClassifier()] {
            _ = try fit(classifier, settings: Self.settings(steps: 10))
            let directory = try makeTemporaryDirectory().appendingPathComponent("classifier")
            if let bert = classifier as? BertForSequenceClassification {
                try exportHuggingFace(bert, labels: ["two", "three"], to: directory)
            } else {
                try exportHuggingFace(classifier as! GPTForSequenceClassification, labels: ["two", "three"], to: directory)
            }
            let imported = try importHuggingFaceClassifier(directory: directory)
            XCTAssertEqual(imported.labels, ["two", "three"])
            classifier.eval()
            XCTAssertEqual(noGrad { imported.model.logits(batch) }.scalars, noGrad { classifier.logits(batch) }.scalars)
        }
    }

    func testEpochsCountTheUpdatesOfWholePasses() throws {
        var settings = SequenceClassifierSettings()
        XCTAssertEqual(settings.totalSteps(trainExamples: 20), 200)
        (settings.epochs, settings.batchSize) = (3, 8)
        XCTAssertEqual(settings.totalSteps(trainExamples: 20), 9)
        settings.batchSize = 0
        XCTAssertEqual(settings.problem, "--batch-size must be ≥ 1, got 0")
    }

    func testScoresAtTheBestStepAreMacroAveraged() throws {
        let outcome = try fit(Self.bertClassifier(), settings: Self.settings(steps: 10))
        XCTAssertEqual(outcome.test.count, 16)
        XCTAssertEqual(outcome.testPredictions.count, 16)
        XCTAssertLessThanOrEqual(outcome.test.macroF1, 1)
    }

    /// An interrupt (`shouldStop`) ends the fit before the next update with an error naming how far it got.
    func testShouldStopEndsTheFitBeforeTheNextUpdate() throws {
        var asked = 0
        XCTAssertThrowsError(try SequenceClassifierTraining.fit(
            Self.bertClassifier(), train: Self.examples(32, seed: 1), dev: Self.examples(16, seed: 2),
            test: Self.examples(16, seed: 3), padToken: 0, settings: Self.settings(steps: 10), seed: 0,
            shouldStop: { asked += 1; return asked > 3 })) { error in
            XCTAssertEqual("\(error)", "fine-tuning interrupted after update 3 of 10")
        }
        XCTAssertEqual(asked, 4)
    }
}
