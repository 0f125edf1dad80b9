import AudioData
import Layers
import Objectives
import Tensors
import XCTest

/// The discrete targets of masked label prediction: BEST-RQ's random-projection quantiser, mini-batch k-means,
/// the cepstra HuBERT's first iteration clusters, and where HuBERT and BEATs mask.
final class DiscreteTargetTests: XCTestCase {
    func testQuantiserIsDrawnFromItsSeedAloneWithXavierProjectionAndUnitCodes() {
        let a = RandomProjectionQuantizer(inputDimension: 40, codeDimension: 8, codebookSize: 32, seed: 3)
        let b = RandomProjectionQuantizer(inputDimension: 40, codeDimension: 8, codebookSize: 32, seed: 3)
        let c = RandomProjectionQuantizer(inputDimension: 40, codeDimension: 8, codebookSize: 32, seed: 4)
        XCTAssertEqual(a.projection.scalars, b.projection.scalars)
        XCTAssertEqual(a.codebook.scalars, b.codebook.scalars)
        XCTAssertNotEqual(a.codebook.scalars, c.codebook.scalars)
        let bound = (6 / Float(40 + 8)).squareRoot()
        XCTAssertTrue(a.projection.scalars.allSatisfy { abs($0) <= bound }, "Xavier uniform within ±√(6/(fan_in+fan_out))")
        XCTAssertGreaterThan(a.projection.scalars.map(abs).max()!, 0.9 * bound)
        for row in 0..<32 {
            let norm = (0..<8).reduce(Float(0)) { $0 + a.codebook.scalars[row * 8 + $1] * a.codebook.scalars[row * 8 + $1] }
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "codebook row \(row) has unit norm")
        }
        XCTAssertEqual(a.namedParameters().map(\.name), ["projection", "codebook"])
        XCTAssertTrue(a.parameters.allSatisfy { !$0.requiresGrad }, "frozen")
    }

    /// The label is the code of highest cosine with the projected vector (checked by brute force on 200 vectors).
    func testQuantiserPicksTheCodeOfHighestCosine() {
        let quantizer = RandomProjectionQuantizer(inputDimension: 12, codeDimension: 4, codebookSize: 16, seed: 9)
        var generator = RandomGenerator(seed: 1)
        let vectors = Tensor.normal([200, 12], generator: &generator)
        let codes = quantizer.codes(vectors)
        let (p, c) = (quantizer.projection.scalars, quantizer.codebook.scalars)
        for i in 0..<200 {
            let projected = (0..<4).map { j in (0..<12).reduce(Float(0)) { $0 + vectors.scalars[i * 12 + $1] * p[$1 * 4 + j] } }
            let cosines = (0..<16).map { k in (0..<4).reduce(Float(0)) { $0 + projected[$1] * c[k * 4 + $1] } }
            XCTAssertEqual(Int(codes[i]), cosines.indices.max { cosines[$0] < cosines[$1] }!, "vector \(i)")
        }
        XCTAssertGreaterThan(Set(codes).count, 8, "random vectors spread over the codebook")
    }

    /// Five planted centres in 4-D, 400 points each with noise σ 0.1: k-means++ finds every centre within 0.05,
    /// identically for the same seed.
    func testMiniBatchKMeansRecoversPlantedClusters() {
        var generator = RandomGenerator(seed: 2)
        let centres = Tensor.normal([5, 4], std: 3, generator: &generator).scalars
        var values: [Float] = []
        for i in 0..<2_000 { for j in 0..<4 { values.append(centres[(i % 5) * 4 + j] + 0.1 * generator.nextNormal()) } }
        let points = Tensor(values, shape: [2_000, 4])
        var config = KMeansConfig(k: 5)
        config.batchSize = 256
        config.iterations = 50
        config.seed = 7
        let fitted = MiniBatchKMeans.fit(points, config: config)
        for centre in 0..<5 {
            let distances = (0..<5).map { k in
                (0..<4).reduce(Float(0)) { $0 + pow(fitted.scalars[k * 4 + $1] - centres[centre * 4 + $1], 2) }.squareRoot()
            }
            XCTAssertLessThan(distances.min()!, 0.05, "planted centre \(centre) recovered")
        }
        XCTAssertEqual(MiniBatchKMeans.inertia(points, centroids: fitted), 4 * 0.01, accuracy: 0.005, "noise variance per point")
        XCTAssertEqual(MiniBatchKMeans.fit(points, config: config).scalars, fitted.scalars, "deterministic by seed")
        config.initialization = .random
        XCTAssertEqual(MiniBatchKMeans.fit(points, config: config).scalars, MiniBatchKMeans.fit(points, config: config).scalars)
        XCTAssertEqual(KMeansConfig(k: 5).problem(points: 3), "3 points cannot make 5 clusters")
    }

    /// Cepstra of a log-mel frame are Kaldi's MFCCs: the filterbank through `cepstralMatrix` equals MFCCComputer.
    func testCepstraOfTheFilterbankAreKaldiMFCCs() throws {
        let samples = (0..<4_000).map { 3_000 * sin(Float($0) / 7) + 500 * sin(Float($0) / 2.3) }
        let mfcc = try MFCCComputer().compute(samples)
        let fbank = try FbankComputer(options: MFCCOptions().fbank).compute(samples)
        let batch = FeatureBatch(features: Tensor(fbank.values, shape: [1, fbank.frameCount, fbank.dimension]),
                                 lengths: [fbank.frameCount])
        let (cepstra, valid) = ClusteredFeatures.cepstra(count: 13).vectors(batch)
        XCTAssertEqual(valid, [mfcc.frameCount])
        for (index, (ours, kaldi)) in zip(cepstra.scalars, mfcc.values).enumerated() {
            XCTAssertEqual(ours, kaldi, accuracy: 1e-3 * max(1, abs(kaldi)), "coefficient \(index)")
        }
    }

    func testLabelPerplexityCountsUsedCodes() {
        XCTAssertEqual(labelPerplexity([0, 1, 2, 3], codebookSize: 8), 4, accuracy: 1e-9, "uniform over 4 codes")
        XCTAssertEqual(labelPerplexity([5, 5, 5], codebookSize: 8), 1, accuracy: 1e-9, "one code")
    }

    func objective(patches: Bool, config: MaskedPredictionConfig = MaskedPredictionConfig()) -> MaskedPrediction {
        var generator = RandomGenerator(seed: 0)
        let encoderConfig = AudioEncoderConfig(featureDimension: 8, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 4_000,
                                               frameStack: 2, patchFrequency: 4, patchTime: 2)
        let encoder: AudioEncoder = patches ? AudioPatchEncoder(encoderConfig, generator: &generator)
            : AudioFrameEncoder(encoderConfig, maskEmbedding: true, generator: &generator)
        let inputs = patches ? 8 : 16
        let quantizer = RandomProjectionQuantizer(inputDimension: inputs, codeDimension: 4, codebookSize: 16, seed: 0)
        return MaskedPrediction(model: MaskedPredictionModel(encoder: encoder, tokenizer: quantizer, generator: &generator),
                                config: config)
    }

    /// HuBERT's mask_prob 0.8 × span 10 masks about 1 − (1 − 0.08)^10 ≈ 57 % of the positions (overlapping spans),
    /// in runs of at least 10, never in padding.
    func testFrameMaskingIsSpansOfTenCoveringAboutHalf() {
        let masking = objective(patches: false)
        var generator = RandomGenerator(seed: 3)
        let batch = FeatureBatch(features: Tensor(zeros: [2, 4_000, 8]), lengths: [4_000, 3_000])
        let (flags, perRow) = masking.maskedPositions(batch, generator: &generator)
        XCTAssertEqual(perRow, 2_000)
        let first = flags[0..<2_000].filter { $0 }.count
        XCTAssertTrue((0.52...0.62).contains(Double(first) / 2_000), "masked \(first) of 2000")
        XCTAssertFalse(flags[(2_000 + 1_500)...].contains(true), "padding (beyond 1500 stacked positions) is never masked")
        var run = 0
        for flag in flags[0..<2_000] + [false] {
            if flag { run += 1 } else { XCTAssertTrue(run == 0 || run >= 10, "a run of \(run)"); run = 0 }
        }
    }

    func testPatchMaskingMasksThreeQuartersOfTheValidPatches() {
        let masking = objective(patches: true)
        var generator = RandomGenerator(seed: 3)
        // 40 frames → 20 columns × 2 rows; the second clip's 24 frames → 12 columns.
        let batch = FeatureBatch(features: Tensor(zeros: [2, 40, 8]), lengths: [40, 24])
        let (flags, perRow) = masking.maskedPositions(batch, generator: &generator)
        XCTAssertEqual(perRow, 40)
        XCTAssertEqual(flags[0..<40].filter { $0 }.count, 30)
        XCTAssertEqual(flags[40..<64].filter { $0 }.count, 18)
        XCTAssertFalse(flags[64...].contains(true))
    }

    /// The loss is a cross-entropy over the masked positions only: about log K at initialisation, with gradients
    /// for the encoder and head and none for the frozen quantiser.
    func testLossIsCrossEntropyAtMaskedPositions() {
        for patches in [false, true] {
            let masking = objective(patches: patches)
            var generator = RandomGenerator(seed: 5)
            let batch = FeatureBatch(features: Tensor.normal([2, 40, 8], generator: &generator), lengths: [40, 30])
            let (loss, predicted) = masking.loss(batch, generator: &generator)
            XCTAssertGreaterThan(predicted, 0)
            XCTAssertEqual(loss.item, log(16), accuracy: 1.0, "near log K at initialisation")
            loss.backward()
            XCTAssertNotNil(masking.predictionModel.head.weight.grad)
            XCTAssertNil(masking.predictionModel.tokenizer.parameters[0].grad, "the quantiser is frozen")
            XCTAssertGreaterThan(masking.labelPerplexity(batch), 2, "targets use several codes")
        }
    }
}
