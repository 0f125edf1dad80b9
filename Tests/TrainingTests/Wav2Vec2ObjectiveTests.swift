import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// wav2vec 2.0's quantiser and losses against PyTorch (scripts/make_wav2vec2_fixtures.py, float32), with the
/// Gumbel noise and the distractors given so that both sides compute the same thing: tolerances 1e-5 absolute +
/// 1e-4 relative for values, 1e-4 + 1e-3 for gradients (softmax over a temperature of 0.1 amplifies rounding).
final class Wav2Vec2ObjectiveTests: XCTestCase {
    static let fixture = fixtureURL("TrainingTests", "wav2vec2_objective.safetensors")

    func testQuantizerWithGivenNoiseMatchesTorch() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixture)
        let (groups, entries) = (Int(file.metadata["groups"]!)!, Int(file.metadata["entries"]!)!)
        var generator = RandomGenerator(seed: 0)
        let x = try file.tensor("q.x", requiresGrad: true)
        let quantizer = GumbelVectorQuantizer(inputDimension: x.size(1), groups: groups, entries: entries,
                                              codevectorDimension: 8, generator: &generator)
        try quantizer.load(["codevectors": try file.tensor("q.codevectors"), "weight_proj.weight": try file.tensor("q.weight"),
                            "weight_proj.bias": try file.tensor("q.bias")])
        let result = quantizer(x, temperature: Float(file.metadata["temperature"]!)!, gumbelNoise: try file.tensor("q.noise"))
        assertClose(result.quantized, try file.tensor("q.quantized"), atol: 1e-5, rtol: 1e-4, "quantized")
        XCTAssertEqual(result.codes.map(Int.init), try file.ints("q.codes").values, "the hard choices")
        XCTAssertEqual(result.probabilityPerplexity.item, try file.tensor("q.perplexity").item, accuracy: 1e-4)
        let diversity = codebookDiversityLoss(result.probabilityPerplexity, groups: groups, entries: entries)
        XCTAssertEqual(diversity.item, try file.tensor("q.diversity").item, accuracy: 1e-5)
        // The same scalar as the fixture: Σ quantized · probe + 0.3 · perplexity.
        let objective = sum(result.quantized * (try file.tensor("q.probe"))) + result.probabilityPerplexity * 0.3
        objective.backward()
        assertClose(x.grad!, try file.tensor("q.grad.x"), atol: 1e-4, rtol: 1e-3, "gradient of x")
        assertClose(quantizer.logits.weight.grad!, try file.tensor("q.grad.weight"), atol: 1e-4, rtol: 1e-3, "gradient of weight_proj")
        assertClose(quantizer.logits.bias!.grad!, try file.tensor("q.grad.bias"), atol: 1e-4, rtol: 1e-3, "gradient of the bias")
        assertClose(quantizer.codevectors.grad!, try file.tensor("q.grad.codevectors"), atol: 1e-4, rtol: 1e-3, "gradient of codevectors")
    }

    func testContrastiveLossWithGivenDistractorsMatchesTorch() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixture)
        let context = try file.tensor("c.context", requiresGrad: true)
        let targets = try file.tensor("c.targets", requiresGrad: true)
        let (shape, negatives) = try file.ints("c.negatives")
        let codes = try file.ints("c.codes").values.map { Int32($0) }
        XCTAssertGreaterThan(Int(file.metadata["removed"]!)!, 0, "the fixture has distractors with the target's codes")
        let loss = wav2vec2ContrastiveLoss(context: context, targets: targets, negatives: IntTensor(negatives, shape: shape),
                                           codes: codes, groups: 2, temperature: Float(file.metadata["kappa"]!)!)
        XCTAssertEqual(loss.item, try file.tensor("c.loss").item, accuracy: 1e-4)
        loss.backward()
        assertClose(context.grad!, try file.tensor("c.grad.context"), atol: 1e-4, rtol: 1e-3, "gradient of the context")
        assertClose(targets.grad!, try file.tensor("c.grad.targets"), atol: 1e-4, rtol: 1e-3, "gradient of the targets")
    }

    func testDenseAndGatheredSimilaritiesGiveTheSameLossAndGradients() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixture)
        let (shape, negatives) = try file.ints("c.negatives")
        let codes = try file.ints("c.codes").values.map { Int32($0) }
        var results: [(loss: Float, context: [Float], targets: [Float])] = []
        for limit in [Int.max, 0] {
            let context = try file.tensor("c.context", requiresGrad: true)
            let targets = try file.tensor("c.targets", requiresGrad: true)
            let loss = wav2vec2ContrastiveLoss(context: context, targets: targets, negatives: IntTensor(negatives, shape: shape),
                                               codes: codes, groups: 2, temperature: Float(file.metadata["kappa"]!)!, denseLimit: limit)
            loss.backward()
            results.append((loss.item, context.grad!.scalars, targets.grad!.scalars))
        }
        XCTAssertEqual(results[0].loss, results[1].loss, accuracy: 1e-5)
        for (a, b) in zip(results[0].context + results[0].targets, results[1].context + results[1].targets) {
            XCTAssertEqual(a, b, accuracy: 1e-5)
        }
    }

    func testTemperatureAnnealsToItsFloor() {
        XCTAssertEqual(GumbelVectorQuantizer.temperature(step: 0, max: 2, min: 0.5, decay: 0.999995), 2)
        XCTAssertEqual(GumbelVectorQuantizer.temperature(step: 100_000, max: 2, min: 0.5, decay: 0.999995),
                       Float(2 * pow(0.999995, 100_000.0)), accuracy: 1e-6)
        XCTAssertEqual(GumbelVectorQuantizer.temperature(step: 10_000_000, max: 2, min: 0.5, decay: 0.999995), 0.5)
    }

    func testSpanMaskMasksWholeSpansInsideEachRow() {
        var generator = RandomGenerator(seed: 5)
        let flags = spanMask(frameLengths: [100, 40, 3], width: 100, probability: 0.65, spanLength: 10, generator: &generator)
        let rows = (0..<3).map { Array(flags[($0 * 100)..<($0 * 100 + 100)]) }
        XCTAssertFalse(rows[1][40...].contains(true), "padding is never masked")
        XCTAssertEqual(rows[2].filter { $0 }.count, 3, "a row shorter than a span is masked whole")
        let fraction = Double(rows[0].filter { $0 }.count) / 100
        XCTAssertTrue(fraction > 0.3 && fraction < 0.8, "0.65 × 10-frame spans with overlap mask about half: \(fraction)")
        var runs: [Int] = []
        var run = 0
        for flag in rows[0] + [false] { if flag { run += 1 } else if run > 0 { runs.append(run); run = 0 } }
        XCTAssertTrue(runs.allSatisfy { $0 >= 10 }, "masked runs are unions of whole 10-frame spans: \(runs)")
    }

    /// Each masked frame's first K distractors come from its own row, the cross-sample ones from the whole batch;
    /// none is the frame itself. Rows: frames 0–4 and 5–11.
    func testDistractorsComeFromTheRowThenFromTheBatch() {
        var generator = RandomGenerator(seed: 9)
        let (count, cross) = (3, 40)
        let negatives = Wav2Vec2.sampleNegatives(rowStarts: [0, 5], total: 12, count: count, crossSample: cross,
                                                 generator: &generator)
        XCTAssertEqual(negatives.shape, [12, count + cross])
        var crossRows = Set<Bool>()
        for frame in 0..<12 {
            let drawn = Array(negatives.values[(frame * (count + cross))..<((frame + 1) * (count + cross))]).map(Int.init)
            let row = frame < 5 ? 0..<5 : 5..<12
            XCTAssertTrue(drawn.allSatisfy { $0 != frame && (0..<12).contains($0) }, "frame \(frame): \(drawn)")
            XCTAssertTrue(drawn[..<count].allSatisfy { row.contains($0) }, "frame \(frame): \(drawn)")
            for other in drawn[count...] { crossRows.insert(row.contains(other)) }
        }
        XCTAssertEqual(crossRows, [true, false], "cross-sample distractors come from both rows")
        let rowOnly = Wav2Vec2.sampleNegatives(rowStarts: [0, 5], total: 12, count: count, generator: &generator)
        XCTAssertEqual(rowOnly.shape, [12, count])
    }

    /// recipes/wav2vec2-small.yaml's sizes: G 2 × V 32, 100 distractors (chance ln 101 = 4.615).
    static var smallRecipe: Wav2Vec2Config {
        var config = Wav2Vec2Config()
        config.codebookEntries = 32
        config.diversityWeight = 0.01
        return config
    }

    func testHealthWarnsOfACollapsedCodebookAndAContrastiveLossStuckAtChance() {
        let config = Self.smallRecipe
        let healthy = ["codebook_usage": 0.21, "contrastive_loss": 4.05, "masked_frames": 95.0]
        XCTAssertTrue(Wav2Vec2Health.diagnose(step: 4000, metrics: healthy, config: config).isEmpty)

        let collapsed = Wav2Vec2Health.diagnose(step: 120, metrics: ["codebook_usage": 2.0 / 64, "masked_frames": 95], config: config)
        XCTAssertEqual(collapsed.map(\.0), [.codebookCollapse])
        XCTAssertTrue(collapsed[0].1.contains("3.1 % of the G·V = 64 entries"), collapsed[0].1)
        XCTAssertTrue(collapsed[0].1.contains("raise objective.wav2vec2.diversity_weight (now 0.01)"), collapsed[0].1)
        // 2 masked frames can use at most 2 codes of 32 a group: 4 of 64 in use is all they can show.
        XCTAssertTrue(Wav2Vec2Health.diagnose(step: 120, metrics: ["codebook_usage": 4.0 / 64, "masked_frames": 2], config: config).isEmpty)

        let atChance = ["codebook_usage": 0.4, "contrastive_loss": 4.612, "masked_frames": 95.0]
        XCTAssertTrue(Wav2Vec2Health.diagnose(step: 400, metrics: atChance, config: config).isEmpty,
                      "healthy runs leave chance by update ~400: too early to tell")
        let stuck = Wav2Vec2Health.diagnose(step: 1000, metrics: atChance, config: config)
        XCTAssertEqual(stuck.map(\.0), [.contrastiveAtChance])
        XCTAssertTrue(stuck[0].1.contains("ln 101 = 4.615"), stuck[0].1)
        XCTAssertTrue(stuck[0].1.contains("lower objective.wav2vec2.diversity_weight (now 0.01) or feature_penalty_weight (now 10)"),
                      stuck[0].1)
    }

    func testEachHealthWarningIsGivenOnce() {
        var generator = RandomGenerator(seed: 0)
        let config = Self.smallRecipe
        let encoder = Wav2Vec2Model(AudioEncoderConfig(featureDimension: 1, hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16,
                                                       convolutionKernel: 4, convolutionGroups: 2),
                                    featureEncoder: Wav2Vec2FeatureEncoderConfig(channels: 4), generator: &generator)
        let objective = Wav2Vec2(model: Wav2Vec2ForPreTraining(encoder: encoder, config: config, generator: &generator), config: config)
        let collapsed = ["codebook_usage": 0.02, "contrastive_loss": 4.614, "masked_frames": 95.0]
        XCTAssertEqual(objective.healthWarnings(step: 500, metrics: collapsed).count, 1, "the collapse")
        XCTAssertEqual(objective.healthWarnings(step: 510, metrics: collapsed).count, 0, "already said")
        XCTAssertEqual(objective.healthWarnings(step: 1000, metrics: collapsed).count, 1, "now also stuck at chance")
        XCTAssertEqual(objective.healthWarnings(step: 1010, metrics: collapsed).count, 0)
    }
}
