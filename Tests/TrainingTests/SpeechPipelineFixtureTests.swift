import AudioData
import Foundation
import Layers
import Objectives
import Probes
import SafeTensors
import Tensors
import TestSupport
import Training
import XCTest

/// The speech pipeline end to end against PyTorch (scripts/make_audio_objective_fixtures.py, speech_pipeline):
/// one 16 kHz WAV → our fbank → per-bin normalisation → 2 stacked frames → a frame encoder's every layer, as a
/// probe reads a checkpoint (`EncoderRepresentation`), against torchaudio's Kaldi fbank (float64) and a float64
/// reimplementation of the encoder with the same weights; then the probes' softmax-weighted layer sum, time mean,
/// linear head and cross-entropy with their gradients.
///
/// Tolerance: max|swift − torch| ≤ 1e-5 · max|torch| for every tensor (fbank, normalised features, every layer's
/// states, the probes' logits, loss and gradients): float32 against float64. The encoder is also checked from the
/// reference's own normalised input, which isolates it from the fbank's rounding (log energies of 5–20 differ by
/// up to about 1e-4 in float32).
final class SpeechPipelineFixtureTests: XCTestCase {
    struct Fixture {
        let file: SafeTensorsFile
        init() throws { file = try SafeTensorsFile(contentsOf: fixtureURL("TrainingTests", "speech_pipeline.safetensors")) }
        func int(_ key: String) -> Int { Int(file.metadata[key]!)! }
        func tensor(_ key: String) throws -> Tensor { try file.tensor(key) }
        var layers: Int { int("layers") }
        func states() throws -> [Tensor] { try (0...layers).map { try tensor("states.\($0)") } }
    }

    /// The fixture's encoder (inside the TERA model its weights were saved from), loaded strictly, in evaluation mode.
    static func encoder(_ fixture: Fixture) throws -> AudioFrameEncoder {
        var generator = RandomGenerator(seed: 0)
        let config = AudioEncoderConfig(featureDimension: fixture.int("feature_dim"), hiddenSize: fixture.int("hidden_size"),
                                        layers: fixture.layers, heads: fixture.int("heads"),
                                        intermediateSize: fixture.int("intermediate_size"), maxFrames: fixture.int("max_frames"),
                                        frameStack: fixture.int("frame_stack"))
        let model = TERAModel(encoder: AudioFrameEncoder(config, generator: &generator), generator: &generator)
        try model.load(try fixture.file.tensors(prefix: "param."))
        model.eval()
        return model.encoder
    }

    func testWaveformToEncoderStatesMatchesTorch() throws {
        let fixture = try Fixture()
        let waveform = try Waveform(contentsOf: repositoryRoot.appendingPathComponent(fixture.file.metadata["wav"]!))
        var options = FbankOptions()
        options.numMelBins = fixture.int("feature_dim")
        let fbank = try FbankComputer(options: options).compute(waveform)
        XCTAssertEqual(fbank.frameCount, fixture.int("frames"))
        assertMatchesReference(Tensor(fbank.values, shape: fbank.shape), try fixture.tensor("fbank"), relative: 1e-5, "pipeline fbank")

        let normalization = FeatureNormalization(mean: try fixture.tensor("mean").scalars, std: try fixture.tensor("std").scalars,
                                                 frameCount: fbank.frameCount)
        let normalized = try normalization.normalize(fbank)
        assertMatchesReference(Tensor(normalized.values, shape: normalized.shape), try fixture.tensor("normalized"),
                               relative: 1e-5, "pipeline normalised fbank")

        // The encoder alone, from the reference's normalised input.
        let encoder = try Self.encoder(fixture)
        let expected = try fixture.states()
        let fromReference = noGrad { encoder(try! fixture.tensor("normalized").reshaped([1, fbank.frameCount, fbank.dimension]),
                                             lengths: [fbank.frameCount]) }
        for (layer, state) in fromReference.hiddenStates.enumerated() {
            assertMatchesReference(state.reshaped(expected[layer].shape), expected[layer], relative: 1e-5,
                                   "pipeline encoder layer \(layer) from the reference's input")
        }

        // The whole path a probe takes: waveform → fbank → normalisation → stacking → encoder, one (T', C) per layer.
        let loaded = LoadedAudioEncoder(encoder: encoder, normalization: normalization, featureOptions: options,
                                        config: CheckpointConfig(model: ModelSection(), objective: ObjectiveSection()),
                                        directory: fixtureURL("TrainingTests"))
        let states = try EncoderRepresentation(loaded, name: "fixture").hiddenStates(waveform)
        XCTAssertEqual(states.count, fixture.layers + 1)
        for (layer, state) in states.enumerated() {
            assertMatchesReference(state, expected[layer], relative: 1e-5, "pipeline layer \(layer) from the waveform")
        }
    }

    /// SUPERB's probes on the reference's states: softmax(w)-weighted layers, averaged over time for an utterance
    /// (UtteranceProbe.pooled), a linear head and its cross-entropy; and the frame-level head's logits.
    func testProbeLayerSumAndLinearHeadMatchTorch() throws {
        let fixture = try Fixture()
        let states = try fixture.states()
        let (layers, dimension, classes) = (states.count, fixture.int("hidden_size"), fixture.int("classes"))
        let mixture = LayerMixture(layers: layers)
        mixture.logits.data.update(from: try fixture.tensor("probe.layer_logits").scalars, count: layers)
        var generator = RandomGenerator(seed: 0)
        let head = Linear(dimension, classes, generator: &generator)
        head.weight.data.update(from: try fixture.tensor("probe.head.weight").scalars, count: head.weight.count)
        head.bias!.data.update(from: try fixture.tensor("probe.head.bias").scalars, count: classes)

        let pooled = Tensor(UtteranceProbe.pooled(states), shape: [1, dimension, layers])
        let logits = head(mixture(pooled))
        assertMatchesReference(logits.reshaped([classes]), try fixture.tensor("probe.utterance_logits"), relative: 1e-5,
                               "probe utterance logits")
        let loss = crossEntropy(logits, targets: IntTensor([Int32(fixture.int("label"))], shape: [1]))
        assertMatchesReference(loss, try fixture.tensor("probe.loss"), relative: 1e-5, "probe loss")
        loss.backward()
        assertMatchesReference(mixture.logits.grad!, try fixture.tensor("probe.grad.layer_logits"), relative: 1e-5,
                               "probe grad of the layer logits")
        assertMatchesReference(head.weight.grad!, try fixture.tensor("probe.grad.head.weight"), relative: 1e-5,
                               "probe grad of the head weight")
        assertMatchesReference(head.bias!.grad!, try fixture.tensor("probe.grad.head.bias"), relative: 1e-5,
                               "probe grad of the head bias")

        let frames = states[0].size(0)
        let interleaved = Tensor(interleavedLayers(states), shape: [frames, dimension, layers])
        let mixed = noGrad { mixture(interleaved) }
        assertMatchesReference(mixed, try fixture.tensor("probe.mixed_frames"), relative: 1e-5, "probe weighted layer sum")
        assertMatchesReference(noGrad { head(mixed) }, try fixture.tensor("probe.frame_logits"), relative: 1e-5,
                               "probe frame logits")
    }
}
