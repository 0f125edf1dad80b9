import Foundation
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// wav2vec 2.0's encoder against Hugging Face transformers (scripts/make_wav2vec2_fixtures.py, float32): the
/// feature encoder in both normalisations (output, input and weight gradients) and the whole Wav2Vec2Model with
/// given masked frames (every hidden state and the waveform's gradient). Seven convolutions of im2col GEMMs
/// reorder float sums, so tolerances are 1e-4 absolute + 1e-3 relative (gradients 2e-4 + 2e-3).
final class Wav2Vec2Tests: XCTestCase {
    static let fixtures = fixtureURL("LayersTests")

    func testFeatureEncoderMatchesHuggingFace() throws {
        for norm in Wav2Vec2FeatureEncoderConfig.Normalization.allCases {
            let file = try SafeTensorsFile(contentsOf: Self.fixtures.appendingPathComponent("wav2vec2_feature_encoder_\(norm.rawValue).safetensors"))
            var generator = RandomGenerator(seed: 0)
            let encoder = Wav2Vec2FeatureEncoder(Wav2Vec2FeatureEncoderConfig(channels: 8, normalization: norm), generator: &generator)
            try encoder.load(try file.tensors(prefix: "param."))
            let input = try file.tensor("input", requiresGrad: true)
            let out = encoder(input)
            XCTAssertEqual(out.size(2), encoder.config.frames(samples: input.size(1)))
            assertClose(out, try file.tensor("out"), atol: 1e-4, rtol: 1e-3, "\(norm) forward")
            Autograd.backward(out, seed: try file.tensor("grad_out"))
            assertClose(input.grad!, try file.tensor("grad.input"), atol: 2e-4, rtol: 2e-3, "\(norm) input gradient")
            for (name, parameter) in encoder.namedParameters() {
                assertClose(parameter.grad!, try file.tensor("grad.param.\(name)"), atol: 2e-4, rtol: 2e-3, "\(norm) gradient of \(name)")
            }
        }
    }

    func testModelMatchesHuggingFaceWithMaskedFrames() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixtures.appendingPathComponent("wav2vec2_model.safetensors"))
        var generator = RandomGenerator(seed: 0)
        let config = AudioEncoderConfig(hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32, convolutionKernel: 8,
                                        convolutionGroups: 4, layerNormEps: 1e-5)
        let model = Wav2Vec2Model(config, featureEncoder: Wav2Vec2FeatureEncoderConfig(channels: 8), generator: &generator)
        try model.load(try file.tensors(prefix: "param."))   // strict: every HF tensor has a key here and every key a tensor
        model.eval()
        let input = try file.tensor("input", requiresGrad: true)
        let (shape, flags) = try file.ints("mask")
        let features = model.features(input, lengths: [input.size(1), input.size(1)])
        XCTAssertEqual(features.frameLengths, [shape[1], shape[1]])
        let output = model.encode(features.projected, frameLengths: features.frameLengths, masked: flags.map { $0 == 1 })
        XCTAssertEqual(output.hiddenStates.count, 3)
        for (index, state) in output.hiddenStates.enumerated() {
            assertClose(state, try file.tensor("hidden.\(index)"), atol: 1e-4, rtol: 1e-3, "hidden state \(index)")
        }
        Autograd.backward(output.lastHiddenState, seed: try file.tensor("grad_out"))
        assertClose(input.grad!, try file.tensor("grad.input"), atol: 2e-4, rtol: 2e-3, "waveform gradient")
    }

    func testUnmaskedCallTakesWaveformsAsOneBinFeatures() {
        var generator = RandomGenerator(seed: 1)
        let model = Wav2Vec2Model(AudioEncoderConfig(hiddenSize: 16, layers: 1, heads: 2, convolutionKernel: 8, convolutionGroups: 4),
                                  featureEncoder: Wav2Vec2FeatureEncoderConfig(channels: 8), generator: &generator)
        model.eval()
        let waveform = Tensor.normal([2, 6400, 1], generator: &generator)
        let output = noGrad { model(waveform, lengths: [6400, 3200]) }
        XCTAssertEqual(model.config.featureDimension, 1)
        XCTAssertEqual(output.lastHiddenState.shape, [2, 19, 16], "6400 samples: 19 frames of 20 ms")
        XCTAssertEqual(output.attentionMask.values.reduce(0) { $0 + Int($1) }, 19 + 9, "3200 samples hold 9 frames")
    }

    func testFrameCountsFollowTheConvolutions() {
        let config = Wav2Vec2FeatureEncoderConfig()
        XCTAssertEqual(config.downsampling, 320)
        XCTAssertEqual(config.frames(samples: 16_000), 49, "one second: 49 frames (Hugging Face's output length)")
        XCTAssertEqual(config.frames(samples: 400), 1, "the 25 ms receptive field")
        XCTAssertEqual(config.frames(samples: 399), 0)
    }
}
