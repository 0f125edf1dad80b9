import Layers
import Objectives
import Tensors
import XCTest

/// What TERA alters and what SSAST masks, as the papers specify.
final class AudioObjectiveTests: XCTestCase {
    func teraObjective(_ configure: (inout TERAConfig) -> Void) -> TERA {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioFrameEncoder(AudioEncoderConfig(featureDimension: 10, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 2_000),
                                        generator: &generator)
        var config = TERAConfig()
        configure(&config)
        return TERA(model: TERAModel(encoder: encoder, generator: &generator), config: config)
    }

    func ones(frames: Int, bins: Int = 10) -> FeatureBatch {
        FeatureBatch(features: Tensor(repeating: 1, shape: [1, frames, bins]), lengths: [frames])
    }

    /// Time alteration alone: spans of 7 frames covering about 15 % of the frames (spans may overlap, so a little
    /// less); all of an utterance's spans zeroed, or all replaced by segments (here: ones again) or kept
    /// (AudioMaskStatisticsTests measures the 80/10/10 split over 1,000 seeds).
    func testTimeAlterationCoversAbout15PercentInSpansOfSeven() {
        let tera = teraObjective { $0.maxFrequencyMaskFraction = 0; $0.noiseProbability = 0 }
        var generator = RandomGenerator(seed: 1)
        var altered = 0
        let frames = 2_000
        for _ in 0..<5 {
            let (features, weights) = tera.alter(ones(frames: frames), generator: &generator)
            var alteredHere = 0, zeroedHere = 0
            for t in 0..<frames where weights.data[t * 10] == 1 {
                alteredHere += 1
                if features.data[t * 10] == 0 { zeroedHere += 1 }
                XCTAssertTrue((0..<10).allSatisfy { weights.data[t * 10 + $0] == 1 }, "a time-altered frame is predicted in every bin")
            }
            XCTAssertTrue(zeroedHere == 0 || zeroedHere == alteredHere, "one decision for all of an utterance's spans")
            altered += alteredHere
        }
        let coverage = Double(altered) / Double(5 * frames)
        XCTAssertTrue((0.12...0.16).contains(coverage), "coverage \(coverage)")
    }

    /// Frequency alteration alone: one contiguous band of at most 20 % of the bins, zeroed in every real frame and
    /// nowhere in padding.
    func testFrequencyAlterationIsOneContiguousBandOfAtMost20Percent() {
        let tera = teraObjective { $0.timeMaskRate = 0; $0.noiseProbability = 0 }
        var generator = RandomGenerator(seed: 2)
        var widths = Set<Int>()
        for _ in 0..<50 {
            let batch = FeatureBatch(features: Tensor(repeating: 1, shape: [1, 6, 10]), lengths: [4])
            let (features, weights) = tera.alter(batch, generator: &generator)
            let band = (0..<10).filter { features.data[$0] == 0 }
            widths.insert(band.count)
            XCTAssertLessThanOrEqual(band.count, 2)
            if let first = band.first { XCTAssertEqual(band, Array(first..<first + band.count)) }
            for t in 0..<4 { XCTAssertEqual((0..<10).filter { weights.data[t * 10 + $0] == 1 }, band) }
            XCTAssertTrue((40..<60).allSatisfy { weights.data[$0] == 0 && features.data[$0] == 1 }, "padding untouched")
        }
        XCTAssertEqual(widths, [0, 1, 2])
    }

    /// Magnitude alteration: about 15 % of utterances get noise everywhere, and then every position is predicted.
    func testMagnitudeNoiseHitsAbout15PercentOfUtterances() {
        let tera = teraObjective { $0.timeMaskRate = 0; $0.maxFrequencyMaskFraction = 0 }
        var generator = RandomGenerator(seed: 3)
        var noised = 0
        for _ in 0..<1_000 {
            let (features, weights) = tera.alter(ones(frames: 3), generator: &generator)
            let changed = features.scalars.contains { $0 != 1 }
            XCTAssertEqual(changed, weights.scalars.allSatisfy { $0 == 1 })
            if changed { noised += 1 }
        }
        XCTAssertTrue((110...190).contains(noised), "\(noised) of 1000")
    }

    func testTERALossIsL1OnAlteredPositionsOnly() {
        let tera = teraObjective { _ in }
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4)
        let batch = FeatureBatch(features: Tensor.normal([2, 20, 10], generator: &a), lengths: [20, 11])
        let (loss, predicted) = tera.loss(batch, generator: &b)
        var replay = RandomGenerator(seed: 4)
        let (altered, weights) = tera.alter(batch, generator: &replay)
        let output = tera.teraModel(altered, lengths: batch.lengths)
        var sum = 0.0, count = 0.0
        for i in 0..<weights.count where weights.data[i] == 1 {
            sum += Double(abs(output.data[i] - batch.features.data[i]))
            count += 1
        }
        XCTAssertEqual(predicted, Int(count))
        XCTAssertEqual(Double(loss.item), sum / count, accuracy: 1e-4)
    }

    /// SSAST masks the same count in every clip (the ratio of the shortest clip's patches), only real columns,
    /// in clusters: most masked patches have a masked neighbour.
    func testSSASTMasksClusteredPatchesInRealColumns() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioPatchEncoder(AudioEncoderConfig(featureDimension: 32, hiddenSize: 8, layers: 1, heads: 2,
                                                           maxFrames: 256, patchFrequency: 4, patchTime: 4), generator: &generator)
        let ssast = SSAST(model: SSASTModel(encoder: encoder, generator: &generator))
        let rows = 8
        let masks = ssast.maskedPatches(validColumns: [64, 40], rows: rows, totalColumns: 64, generator: &generator)
        let expected = Int((Float(400) / 512 * Float(40 * rows)).rounded())
        XCTAssertEqual(masks.map(\.count), [expected, expected])
        XCTAssertEqual(Set(masks[1]).count, expected, "distinct")
        XCTAssertTrue(masks[1].allSatisfy { $0 / rows < 40 }, "only real columns")
        let set = Set(masks[0])
        let withNeighbour = masks[0].filter { n in
            [n - 1, n + 1, n - rows, n + rows].contains { set.contains($0) && abs($0 % rows - n % rows) <= 1 }
        }
        XCTAssertGreaterThan(Double(withNeighbour.count) / Double(set.count), 0.9)
    }

    /// SSAST's InfoNCE by hand: each prediction's log-softmax over its candidates' dot products, at its own target;
    /// with the batch's patches as negatives every prediction has B·M candidates instead of M, so its loss is larger.
    func testSSASTInfoNCEDrawsNegativesFromTheClipTheBatchOrBoth() {
        var generator = RandomGenerator(seed: 3)
        let encoder = AudioPatchEncoder(AudioEncoderConfig(featureDimension: 8, hiddenSize: 8, layers: 1, heads: 2,
                                                           maxFrames: 16, patchFrequency: 4, patchTime: 2), generator: &generator)
        let ssast = SSAST(model: SSASTModel(encoder: encoder, generator: &generator))
        let (clips, perClip, size) = (2, 3, 4)
        let p = (0..<clips * perClip * size).map { _ in generator.nextNormal() }
        let t = (0..<clips * perClip * size).map { _ in generator.nextNormal() }
        func dot(_ i: Int, _ j: Int) -> Double { (0..<size).reduce(0) { $0 + Double(p[i * size + $1] * t[j * size + $1]) } }
        func expected(_ candidates: (Int) -> Range<Int>) -> Double {
            let losses = (0..<clips * perClip).map { i -> Double in
                let scores = candidates(i).map { dot(i, $0) }
                return log(scores.map(exp).reduce(0, +)) - dot(i, i)
            }
            return losses.reduce(0, +) / Double(losses.count)
        }
        let predictions = Tensor(p, shape: [clips, perClip, size]), targets = Tensor(t, shape: [clips, perClip, size])
        let clip = Double(ssast.maskedPatchInfoNCE(predictions: predictions, targets: targets, negatives: .clip).item)
        let batch = Double(ssast.maskedPatchInfoNCE(predictions: predictions, targets: targets, negatives: .batch).item)
        XCTAssertEqual(clip, expected { i in (i / perClip * perClip)..<(i / perClip * perClip + perClip) }, accuracy: 1e-5)
        XCTAssertEqual(batch, expected { _ in 0..<(clips * perClip) }, accuracy: 1e-5)
        XCTAssertGreaterThan(batch, clip)
        let both = Double(ssast.maskedPatchInfoNCE(predictions: predictions, targets: targets, negatives: .clipAndBatch).item)
        XCTAssertEqual(both, clip + batch, accuracy: 1e-5)
    }
}
