import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import XCTest

/// MERT against the PyTorch reference of scripts/make_mert_fixtures.py (float64 stored as float32), with the
/// mixtures and the mask given: the RVQ codes exactly, the mixed input, the loss, both terms and every gradient
/// within 1e-5 of each tensor's largest magnitude.
final class MERTFixtureTests: XCTestCase {
    func testMERTMatchesTorch() throws {
        let fixture = try AudioObjectiveFixtureTests.Fixture("mert_objective.safetensors")
        let relative = AudioObjectiveFixtureTests.relative
        let config = AudioEncoderConfig(featureDimension: fixture.int("feature_dim"), hiddenSize: fixture.int("hidden_size"),
                                        layers: fixture.int("layers"), heads: fixture.int("heads"),
                                        intermediateSize: fixture.int("intermediate_size"), maxFrames: fixture.int("frames"),
                                        frameStack: fixture.int("frame_stack"), positions: .convolutional,
                                        convolutionKernel: fixture.int("kernel"), convolutionGroups: fixture.int("groups"))
        let params = try fixture.tensors(prefix: "param.")
        var generator = RandomGenerator(seed: 0)
        let model = MERTModel(encoder: AudioFrameEncoder(config, maskEmbedding: true, generator: &generator),
                              rvq: ResidualVectorQuantizer(codebooks: params["rvq.codebooks"]!), cqtBins: fixture.int("cqt_bins"),
                              mean: params["normalization.mean"]!, std: params["normalization.std"]!, generator: &generator)
        try model.load(params)
        var mertConfig = MERTConfig()
        mertConfig.acousticWeight = Float(fixture.file.metadata["acoustic_weight"]!)!
        mertConfig.cqtWeight = Float(fixture.file.metadata["cqt_weight"]!)!
        let objective = MERT(model: model, config: mertConfig)

        let batch = FeatureBatch(features: try fixture.tensor("features"), lengths: fixture.ints("lengths"))
        let rows = try fixture.values("mixtures"), gains = try fixture.tensor("gains").scalars
        let mixtures = gains.indices.map { i in
            InBatchMixture(row: rows[5 * i], source: rows[5 * i + 1], start: rows[5 * i + 2], sourceStart: rows[5 * i + 3],
                           length: rows[5 * i + 4], gain: gains[i])
        }
        let f = fixture.int("feature_dim")
        let clean = slice(batch.features, axis: 2, range: 0..<f)
        assertMatchesReference(objective.mix(clean, mixtures), try fixture.tensor("mixed"), relative: relative, "mixed input")
        let stacked = model.encoder.stackFrames(clean)
        let codes = model.rvq.encode(stacked.reshaped([stacked.size(0) * stacked.size(1), stacked.size(2)])).codes
        XCTAssertEqual(codes.map(Int.init), try fixture.values("codes"))

        let masked = try fixture.values("masked").map { $0 == 1 }
        let (loss, predicted) = objective.loss(batch, mixtures: mixtures, masked: masked)
        XCTAssertEqual(predicted, fixture.int("predicted"))
        assertMatchesReference(loss, try fixture.tensor("mert.loss"), relative: relative, "loss")
        let metrics = objective.drainMetrics()
        XCTAssertEqual(metrics["acoustic_loss"]!, Double(try fixture.tensor("acoustic").item), accuracy: 1e-5)
        XCTAssertEqual(metrics["cqt_loss"]!, Double(try fixture.tensor("cqt").item), accuracy: 1e-5)
        loss.backward()
        assertGradientsMatchReference(model.namedParameters().filter { $0.tensor.requiresGrad },
                                      expected: try fixture.tensors(prefix: "mert.grad."), relative: relative, "MERT")
        XCTAssertTrue([model.rvq.codebooks, model.mean, model.std].allSatisfy { !$0.requiresGrad && $0.grad == nil }, "teachers are frozen")
    }
}
