import Layers
import Tensors
import XCTest

/// The frame (TERA/HuBERT) and patch (SSAST/BEATs) audio encoders: layouts, padding masks and gradients.
/// They are built from ops each checked against torch (linear, conv1d, attention, layer norm, GELU), so their
/// own checks are finite differences on tiny shapes (central differences, float32: error below 2e-2).
final class AudioEncoderTests: XCTestCase {
    func tinyConfig(positions: AudioEncoderConfig.Positions = .learned, frameStack: Int = 2,
                    block: AudioEncoderConfig.Block = .bert) -> AudioEncoderConfig {
        AudioEncoderConfig(featureDimension: 4, hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, maxFrames: 8,
                           frameStack: frameStack, patchFrequency: 2, patchTime: 2, positions: positions,
                           convolutionKernel: 4, convolutionGroups: 2, layerNormEps: 1e-5, block: block, conformerKernel: 3)
    }

    /// Every (positions, block) pair a frame encoder can be made with.
    var frameEncoderKinds: [(AudioEncoderConfig.Positions, AudioEncoderConfig.Block)] {
        AudioEncoderConfig.Positions.allCases.flatMap { positions in AudioEncoderConfig.Block.allCases.map { (positions, $0) } }
    }

    func features(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.normal(shape, generator: &generator)
    }

    func testFrameStackingPutsConsecutiveFramesSideBySideAndPadsTheEnd() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioFrameEncoder(tinyConfig(frameStack: 2), generator: &generator)
        let x = Tensor((0..<12).map(Float.init), shape: [1, 3, 4])          // frames 0, 1, 2 of 4 bins
        let stacked = encoder.stackFrames(x)
        XCTAssertEqual(stacked.shape, [1, 2, 8])
        XCTAssertEqual(stacked.scalars, (0..<12).map(Float.init) + [0, 0, 0, 0])
        XCTAssertEqual(encoder.stackedLengths([3, 4, 1]), [2, 2, 1])
    }

    func testEveryLayerIsReturnedWithTheMask() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioFrameEncoder(tinyConfig(), generator: &generator)
        let output = encoder(features([2, 8, 4]), lengths: [8, 3])
        XCTAssertEqual(output.hiddenStates.count, 3, "embedding output + 2 layers")
        XCTAssertTrue(output.hiddenStates.allSatisfy { $0.shape == [2, 4, 8] })
        XCTAssertEqual(output.attentionMask.values, [1, 1, 1, 1, 1, 1, 0, 0])
    }

    /// Real frames see nothing of the padding: changing padded frames leaves every real position's states as
    /// they were (every kind of positions, BERT and Conformer layers: the Conformer's depthwise convolution reads
    /// its neighbours, so padded frames must be zeroed before it).
    func testPaddingDoesNotReachRealFrames() {
        for (positions, block) in frameEncoderKinds {
            var generator = RandomGenerator(seed: 0)
            let encoder = AudioFrameEncoder(tinyConfig(positions: positions, block: block), generator: &generator)
            let x = features([1, 8, 4])
            let noisy = x.copy()
            for i in 16..<32 { noisy.data[i] = 100 }                           // frames 4…7: padding
            let a = encoder(x, lengths: [4]).lastHiddenState, b = encoder(noisy, lengths: [4]).lastHiddenState
            XCTAssertEqual(Array(a.scalars[0..<16]), Array(b.scalars[0..<16]), "\(positions), \(block)")
        }
    }

    func testFrameEncoderGradientsMatchFiniteDifferences() {
        for (positions, block) in frameEncoderKinds {
            var generator = RandomGenerator(seed: 0)
            let encoder = AudioFrameEncoder(tinyConfig(positions: positions, block: block), generator: &generator)
            let x = features([2, 6, 4])
            let layer = (encoder.layers[0] as? BertLayer)?.intermediate.weight ?? (encoder.layers[0] as! ConformerLayer).depthwiseWeight
            let checked = [x, encoder.inputProjection.weight, layer]
                + [encoder.positionConvolution?.weight, encoder.positionTable].compactMap { $0 }   // none: neither
            let error = maxGradientError(inputs: checked) { inputs in
                encoder(inputs[0], lengths: [6, 3]).lastHiddenState
            }
            XCTAssertLessThan(error, 2e-2, "\(positions), \(block)")
        }
    }

    /// A Conformer encoder's checkpoint keys: Hugging Face Wav2Vec2Bert's layer names under layers.N, with the
    /// depthwise taps as (C, K) and no position table when positions are none (the attention rotates q and k).
    func testConformerEncoderKeys() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioFrameEncoder(tinyConfig(positions: .none, block: .conformer), generator: &generator)
        let shapes = Dictionary(uniqueKeysWithValues: encoder.namedParameters().map { ($0.name, $0.tensor.shape) })
        XCTAssertEqual(shapes["layers.1.conv_module.depthwise_conv.weight"], [8, 3])
        XCTAssertEqual(shapes["layers.0.conv_module.pointwise_conv1.weight"], [16, 8])
        XCTAssertEqual(shapes["layers.0.self_attn.self.query.weight"], [8, 8])
        XCTAssertEqual(shapes["layers.0.ffn2.intermediate_dense.weight"], [16, 8])
        XCTAssertNotNil(shapes["layers.0.final_layer_norm.weight"])
        XCTAssertNil(shapes["layers.0.conv_module.pointwise_conv1.bias"])
        XCTAssertFalse(shapes.keys.contains { $0.hasPrefix("position") })
        XCTAssertEqual(shapes.count, 4 + 2 * 31, "input projection and LayerNorm (4), 31 tensors a layer")
    }

    func testPatchesAreTimeMajorWithFrequencyRowsInsideEachColumn() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioPatchEncoder(tinyConfig(), generator: &generator)
        // x[t, f] = 10·t + f, 5 frames (the last is dropped: 2 columns of 2 frames), 4 bins (2 rows of 2).
        let x = Tensor((0..<5).flatMap { t in (0..<4).map { Float(10 * t + $0) } }, shape: [1, 5, 4])
        let patches = encoder.patches(x)
        XCTAssertEqual(patches.shape, [1, 4, 4])
        // patch (column 0, row 1): bins 2, 3 of frames 0, 1, as [bin 2: t0, t1, bin 3: t0, t1].
        XCTAssertEqual(Array(patches.scalars[4..<8]), [2, 12, 3, 13])
        // patch (column 1, row 0): bins 0, 1 of frames 2, 3.
        XCTAssertEqual(Array(patches.scalars[8..<12]), [20, 30, 21, 31])
        XCTAssertEqual(encoder.patchColumns([5, 3, 1], columns: 2), [2, 2, 1])
    }

    func testPatchEncoderMasksPaddedColumnsAndReplacesMaskedPatches() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioPatchEncoder(tinyConfig(), generator: &generator)
        let x = features([1, 8, 4])
        let output = encoder(x, lengths: [3])
        XCTAssertEqual(output.attentionMask.values, [1, 1, 1, 1, 0, 0, 0, 0], "2 rows × 2 real columns")
        let noisy = x.copy()
        for i in 16..<32 { noisy.data[i] = 100 }
        XCTAssertEqual(Array(encoder(noisy, lengths: [3]).lastHiddenState.scalars[0..<32]),
                       Array(output.lastHiddenState.scalars[0..<32]))
        // A masked patch's input is the mask embedding whatever the patch held.
        var flags = [Bool](repeating: false, count: 8)
        flags[1] = true
        let patches = encoder.patches(x), changed = patches.copy()
        for i in 4..<8 { changed.data[i] = -50 }
        XCTAssertEqual(encoder.encode(patches: patches, lengths: [8], masked: flags).lastHiddenState.scalars,
                       encoder.encode(patches: changed, lengths: [8], masked: flags).lastHiddenState.scalars)
    }

    func testPatchEncoderGradientsMatchFiniteDifferences() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioPatchEncoder(tinyConfig(), generator: &generator)
        // Values of order 1 (the initial 0.02-scale mask and position vectors put LayerNorm's input near zero,
        // where a finite step of 1e-2 is far from linear).
        var values = RandomGenerator(seed: 3)
        for tensor in [encoder.maskEmbedding, encoder.positionTable] { Initializer.normal(tensor, std: 1, generator: &values) }
        let patches = encoder.patches(features([2, 8, 4]))
        var flags = [Bool](repeating: false, count: 16)
        flags[2] = true; flags[9] = true
        for (index, input) in [patches, encoder.patchEmbedding.weight, encoder.maskEmbedding, encoder.positionTable].enumerated() {
            let error = maxGradientError(inputs: [input]) { _ in
                encoder.encode(patches: patches, lengths: [8, 5], masked: flags).lastHiddenState
            }
            XCTAssertLessThan(error, 2e-2, "input \(index)")
        }
    }
}
