import Foundation
import Layers
import Objectives
import Tensors
import TestSupport
import XCTest

/// w2v-BERT over frames with Conformer layers against the PyTorch reference of scripts/make_w2v_bert_fixtures.py
/// (float64 stored as float32), with the mask, the Gumbel noise and the distractors given: every layer's states,
/// the chosen codes, the loss and the gradient of every parameter within 1e-5 of each tensor's largest magnitude.
final class W2vBERTFixtureTests: XCTestCase {
    func testW2vBERTWithConformerLayersMatchesTorch() throws {
        let fixture = try AudioObjectiveFixtureTests.Fixture("w2v_bert_objective.safetensors")
        let relative = AudioObjectiveFixtureTests.relative
        let encoderConfig = AudioEncoderConfig(featureDimension: fixture.int("feature_dim"), hiddenSize: fixture.int("hidden_size"),
                                               layers: fixture.int("layers"), heads: fixture.int("heads"),
                                               intermediateSize: fixture.int("intermediate_size"), maxFrames: fixture.int("frames"),
                                               frameStack: fixture.int("frame_stack"), positions: .none, block: .conformer,
                                               conformerKernel: fixture.int("kernel"))
        var config = Wav2Vec2Config()
        config.codebookGroups = fixture.int("groups")
        config.codebookEntries = fixture.int("entries")
        config.codevectorDimension = fixture.int("codevector_dim")
        config.projectionDimension = fixture.int("proj_dim")
        config.negatives = fixture.int("distractors")
        let float = { (key: String) in Float(fixture.file.metadata[key]!)! }
        (config.maxTemperature, config.minTemperature) = (float("temperature"), float("temperature"))
        config.contrastiveTemperature = float("kappa")
        config.diversityWeight = float("diversity_weight")
        config.maskedPredictionWeight = float("mlm_weight")
        var generator = RandomGenerator(seed: 0)
        let model = Wav2Vec2FramesForPreTraining(
            encoder: AudioFrameEncoder(encoderConfig, maskEmbedding: true, generator: &generator), config: config,
            contrastiveLayers: fixture.int("contrastive_layers"), generator: &generator)
        try model.load(try fixture.tensors(prefix: "param."))
        let objective = Wav2Vec2(model: model, config: config)
        objective.prepare(step: 0)

        let batch = FeatureBatch(features: try fixture.tensor("features"), lengths: fixture.ints("lengths"))
        let masked = try fixture.values("masked").map { $0 == 1 }
        let latents = model.latentFrames(batch)
        let states = noGrad { model.contextualize(latents, masked: masked) }
        for (layer, state) in states.enumerated() {
            assertMatchesReference(state, try fixture.tensor("states.\(layer)"), relative: relative, "state \(layer)")
        }
        let noise = try fixture.tensor("noise")
        let stored = try fixture.file.ints("negatives")
        let negatives = IntTensor(stored.values.map { Int32($0) }, shape: stored.shape)
        let (loss, predicted) = objective.loss(latents, masked: masked, gumbelNoise: { rows in
            XCTAssertEqual(rows, noise.size(0))
            return noise
        }, negatives: { _, total in
            XCTAssertEqual(total, negatives.shape[0])
            return negatives
        })
        XCTAssertEqual(predicted, masked.filter { $0 }.count)
        assertMatchesReference(loss, try fixture.tensor("w2v_bert.loss"), relative: relative, "loss")
        let metrics = objective.drainMetrics()
        XCTAssertEqual(metrics["contrastive_loss"]!, Double(try fixture.tensor("contrastive").item), accuracy: 1e-5)
        XCTAssertEqual(metrics["mlm_loss"]!, Double(try fixture.tensor("prediction").item), accuracy: 1e-5)
        loss.backward()
        assertGradientsMatchReference(model.namedParameters(), expected: try fixture.tensors(prefix: "w2v_bert.grad."),
                                      relative: relative, "w2v-BERT")
    }
}
