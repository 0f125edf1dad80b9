import Foundation
import Layers
import Objectives
import Tensors
import XCTest

/// The mask and alteration generators against their papers' definitions, over 1,000 seeds each (one generator per
/// seed, so the draws are independent). Frequencies are checked within 4.5 standard errors (a false failure has
/// probability below 1e-5 per check; the seeds are fixed, so a run is deterministic), uniformity by Pearson's
/// χ² against its 0.999 quantile.
final class AudioMaskStatisticsTests: XCTestCase {
    static let seeds: UInt64 = 1_000

    /// |observed − p| ≤ 4.5·√(p(1 − p)/n).
    func assertFrequency(_ count: Int, of n: Int, is p: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let observed = Double(count) / Double(n), bound = 4.5 * (p * (1 - p) / Double(n)).squareRoot()
        XCTAssertLessThanOrEqual(abs(observed - p), bound, "\(what): \(observed) against \(p)", file: file, line: line)
    }

    /// Pearson's χ² of counts against equal expected counts, below the 0.999 quantile of χ²(k − 1) (Wilson–Hilferty).
    func assertUniform(_ counts: [Int], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let total = Double(counts.reduce(0, +)), expected = total / Double(counts.count)
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        let k = Double(counts.count - 1), z = 3.09
        let quantile = k * pow(1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot(), 3)
        XCTAssertLessThan(chi2, quantile, "\(what): χ² \(chi2) over \(counts.count) cells (counts \(counts))", file: file, line: line)
    }

    // MARK: TERA (Liu et al. 2021 §3.1–3.3, s3prl's defaults)

    func tera() -> TERA {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioFrameEncoder(AudioEncoderConfig(featureDimension: 80, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 256),
                                        generator: &generator)
        return TERA(model: TERAModel(encoder: encoder, generator: &generator))
    }

    /// Time alteration: round(0.15·L/7) distinct span starts (TERA §3.1 and s3prl draw them without replacement),
    /// each span exactly 7 frames inside the utterance, starts uniform; one decision per utterance: 80 % have their
    /// spans zeroed, 10 % replaced by segments of the same utterance (distinct sources, inside it), 10 % kept. The
    /// frames covered have the expectation Σ_t 1 − C(S − a_t, n)/C(S, n) (a_t: the starts whose span covers t,
    /// S = L − 6), a little under 15 % where spans overlap.
    func testTERATimeAlterationSpansAndKinds() {
        let tera = tera()
        let (length, frames) = (250, 256)
        let batch = FeatureBatch(features: Tensor(zeros: [1, frames, 80]), lengths: [length])
        let spanCount = Int((0.15 * Double(length) / 7).rounded())
        let starts = length - 6
        var kinds = [0, 0, 0], startCounts = [Int](repeating: 0, count: 8), covered = 0
        for seed in 0..<Self.seeds {
            var generator = RandomGenerator(seed: seed)
            let alteration = tera.drawAlterations(batch, generator: &generator)[0]
            XCTAssertEqual(alteration.spans.count, spanCount)
            XCTAssertEqual(Set(alteration.spans.map(\.start)).count, spanCount, "distinct starts")
            var frame = [Bool](repeating: false, count: length)
            var utteranceKinds = Set<Int>(), sources: [Int] = []
            for span in alteration.spans {
                XCTAssertEqual(span.length, 7)
                XCTAssertTrue(span.start >= 0 && span.start + 7 <= length)
                startCounts[span.start * 8 / starts] += 1
                switch span.kind {
                case .zero: utteranceKinds.insert(0)
                case .segment(let from):
                    utteranceKinds.insert(1)
                    sources.append(from)
                    XCTAssertTrue(from >= 0 && from + 7 <= length, "a segment inside the utterance")
                case .kept: utteranceKinds.insert(2)
                }
                for t in span.start..<span.start + 7 { frame[t] = true }
            }
            XCTAssertEqual(utteranceKinds.count, 1, "one decision for all of an utterance's spans")
            XCTAssertEqual(Set(sources).count, sources.count, "distinct segment sources")
            kinds[utteranceKinds.first!] += 1
            covered += frame.filter { $0 }.count
        }
        let n = Int(Self.seeds)
        assertFrequency(kinds[0], of: n, is: 0.8, "utterances zeroed")
        assertFrequency(kinds[1], of: n, is: 0.1, "utterances replaced")
        assertFrequency(kinds[2], of: n, is: 0.1, "utterances kept")
        assertUniform(startCounts, "span starts in eighths of the utterance")
        let expectedCoverage = (0..<length).reduce(0.0) { sum, t in
            let covering = min(t, starts - 1) - max(0, t - 6) + 1
            let uncovered = (0..<spanCount).reduce(1.0) { $0 * Double(starts - covering - $1) / Double(starts - $1) }
            return sum + 1 - uncovered
        } / Double(length)
        let coverage = Double(covered) / Double(n * length)
        XCTAssertEqual(coverage, expectedCoverage, accuracy: 0.003, "covered fraction (expected \(expectedCoverage))")
        XCTAssertTrue((0.13...0.15).contains(coverage), "about 15 % of the frames, less the overlaps: \(coverage)")
    }

    /// Frequency alteration: one contiguous band, its width uniform on 0 … ⌊0.2·80⌋ = 16, its lowest bin uniform over
    /// the positions where it fits; magnitude alteration: noise on 15 % of the utterances, over every real frame.
    func testTERABandWidthsAreUniformAndNoiseHits15Percent() {
        let tera = tera()
        let batch = FeatureBatch(features: Tensor(zeros: [1, 20, 80]), lengths: [20])
        var widths = [Int](repeating: 0, count: 17), lowest = [Int](repeating: 0, count: 4), noised = 0, fullWidth = 0
        for seed in 0..<Self.seeds {
            var generator = RandomGenerator(seed: seed)
            let alteration = tera.drawAlterations(batch, generator: &generator)[0]
            let band = alteration.band
            XCTAssertTrue(band.lowerBound >= 0 && band.upperBound <= 80)
            widths[band.count] += 1
            // The lowest bin is uniform over 0 … 80 − width: in quarters of that range.
            let positions = 80 - band.count + 1
            lowest[band.lowerBound * 4 / positions] += 1
            if band.count == 16 { fullWidth += 1 }
            if let noise = alteration.noise {
                noised += 1
                XCTAssertEqual(noise.count, 20 * 80, "noise over every value of the utterance")
            }
        }
        assertUniform(widths, "band widths 0…16")
        assertUniform(lowest, "the band's lowest bin in quarters of where it fits")
        assertFrequency(noised, of: Int(Self.seeds), is: 0.15, "noised utterances")
        XCTAssertGreaterThan(fullWidth, 0, "the widest band, ⌊0.2·F⌋, is drawn")
    }

    // MARK: HuBERT / BEST-RQ span masking (Hsu et al. 2021 §IV-B; fairseq's compute_mask_indices)

    func maskedPrediction(patches: Bool) -> MaskedPrediction {
        var generator = RandomGenerator(seed: 0)
        let config = AudioEncoderConfig(featureDimension: 8, hiddenSize: 8, layers: 1, heads: 2, maxFrames: 256,
                                        patchFrequency: 4, patchTime: 2)
        let encoder: AudioEncoder = patches ? AudioPatchEncoder(config, generator: &generator)
            : AudioFrameEncoder(config, maskEmbedding: true, generator: &generator)
        let quantizer = RandomProjectionQuantizer(inputDimension: encoder.positionInputSize, codeDimension: 4, codebookSize: 8, seed: 0)
        return MaskedPrediction(model: MaskedPredictionModel(encoder: encoder, tokenizer: quantizer, generator: &generator))
    }

    /// ⌊0.8·L/10 + U(0, 1)⌋ distinct starts among the S = L − 9 that fit, each masking 10 positions (spans may
    /// overlap): every run of masked positions is at least 10 long, padding is never masked, and the masked count
    /// has the expectation of that rule — Σ_t P(t masked), P = 1 − C(S − a_t, n)/C(S, n) for n starts drawn without
    /// replacement (a_t: the starts covering t), averaged over n ∈ {⌊m⌋, ⌈m⌉} with m = 0.8·L/10.
    func testFrameSpanMaskingFollowsHuBERTsRule() {
        let masking = maskedPrediction(patches: false)
        let (length, frames) = (205, 240)
        let batch = FeatureBatch(features: Tensor(zeros: [1, frames, 8]), lengths: [length])
        let starts = length - 9, mean = 0.8 * Double(length) / 10
        func unmaskedProbability(_ covering: Int, _ n: Int) -> Double {
            (0..<n).reduce(1.0) { $0 * Double(starts - covering - $1) / Double(starts - $1) }
        }
        let low = Int(mean), fraction = mean - Double(low)
        let expected = (0..<length).reduce(0.0) { sum, t in
            let covering = min(t, starts - 1) - max(0, t - 9) + 1
            return sum + (1 - fraction) * (1 - unmaskedProbability(covering, low)) + fraction * (1 - unmaskedProbability(covering, low + 1))
        }
        var counts: [Double] = []
        for seed in 0..<Self.seeds {
            var generator = RandomGenerator(seed: seed)
            let (flags, perRow) = masking.maskedPositions(batch, generator: &generator)
            XCTAssertEqual(perRow, frames)
            XCTAssertFalse(flags[length...].contains(true), "padding is never masked")
            var run = 0
            for flag in flags[0..<length] + [false] {
                if flag { run += 1 } else { XCTAssertTrue(run == 0 || run >= 10, "a run of \(run)"); run = 0 }
            }
            counts.append(Double(flags.filter { $0 }.count))
        }
        let average = counts.reduce(0, +) / Double(counts.count)
        let sd = (counts.reduce(0) { $0 + pow($1 - average, 2) } / Double(counts.count - 1)).squareRoot()
        let standardError = sd / Double(counts.count).squareRoot()
        XCTAssertLessThanOrEqual(abs(average - expected), 4.5 * standardError,
                                 "masked positions: \(average) ± \(standardError), expected \(expected)")
        // Starts drawn with replacement would mask fewer: this is what tells the two rules apart.
        let withReplacement = (0..<length).reduce(0.0) { sum, t in
            let covering = Double(min(t, starts - 1) - max(0, t - 9) + 1)
            return sum + (1 - fraction) * (1 - pow(1 - covering / Double(starts), Double(low)))
                + fraction * (1 - pow(1 - covering / Double(starts), Double(low + 1)))
        }
        print("frame masking: \(average) ± \(standardError) masked of \(length); rule \(expected), with replacement \(withReplacement)")
    }

    // MARK: BEATs patch masking (Chen et al. 2022 §2.3)

    /// round(0.75 · valid) distinct patches of each clip, never padding, each valid patch masked with probability 0.75.
    func testPatchMaskingIsUniformWithoutReplacement() {
        let masking = maskedPrediction(patches: true)
        // 40 frames → 20 columns × 2 rows; the second clip's 23 frames → 12 columns (the last half padding).
        let batch = FeatureBatch(features: Tensor(zeros: [2, 40, 8]), lengths: [40, 23])
        var hits = [Int](repeating: 0, count: 80)
        for seed in 0..<Self.seeds {
            var generator = RandomGenerator(seed: seed)
            let (flags, perRow) = masking.maskedPositions(batch, generator: &generator)
            XCTAssertEqual(perRow, 40)
            XCTAssertEqual(flags[0..<40].filter { $0 }.count, 30)
            XCTAssertEqual(flags[40..<64].filter { $0 }.count, 18)
            XCTAssertFalse(flags[64...].contains(true), "padding columns are never masked")
            for (i, flag) in flags.enumerated() where flag { hits[i] += 1 }
        }
        for i in Array(0..<40) + Array(40..<64) {
            assertFrequency(hits[i], of: Int(Self.seeds), is: 0.75, "patch \(i)")
        }
    }

    // MARK: SSAST clustered masking (Gong et al. 2022 §2.2; its gen_maskid_patch with cluster 3)

    /// The same count in every clip, round(ratio · the shortest clip's patches), distinct, in valid columns only;
    /// squares of side 3 + U{0, 1, 2} at uniform positions: the first square of a clip (whole when it fits) has each
    /// side with probability 1/3, and its corner is uniform.
    func testSSASTClustersAreSquaresOfThreeToFive() {
        var generator = RandomGenerator(seed: 0)
        let encoder = AudioPatchEncoder(AudioEncoderConfig(featureDimension: 32, hiddenSize: 8, layers: 1, heads: 2,
                                                           maxFrames: 256, patchFrequency: 4, patchTime: 4), generator: &generator)
        var config = SSASTConfig()
        config.maskRatio = 0.5
        let ssast = SSAST(model: SSASTModel(encoder: encoder, generator: &generator), config: config)
        let (rows, valid) = (8, [64, 40])
        let budget = Int((0.5 * Double(40 * rows)).rounded())
        var sides = [3: 0, 4: 0, 5: 0], cornerRows = [Int](repeating: 0, count: rows), cornerColumns = [Int](repeating: 0, count: 5)
        for seed in 0..<Self.seeds {
            var random = RandomGenerator(seed: seed)
            let masks = ssast.maskedPatches(validColumns: valid, rows: rows, totalColumns: 64, generator: &random)
            for (clip, mask) in masks.enumerated() {
                XCTAssertEqual(mask.count, budget)
                XCTAssertEqual(Set(mask).count, budget, "distinct")
                XCTAssertTrue(mask.allSatisfy { $0 >= 0 && $0 / rows < valid[clip] }, "only valid columns")
                let (column, row) = (mask[0] / rows, mask[0] % rows)
                cornerRows[row] += 1
                if clip == 0 { cornerColumns[column * 5 / valid[clip]] += 1 }
                guard row + 5 <= rows, column + 5 <= valid[clip] else { continue }
                let side = mask.prefix { $0 / rows == column }.count
                XCTAssertNotNil(sides[side], "a first square of side \(side)")
                sides[side, default: 0] += 1
                let square = Set((column..<column + side).flatMap { c in (row..<row + side).map { c * rows + $0 } })
                XCTAssertEqual(Set(mask.prefix(side * side)), square, "the first \(side * side) masked patches are one square")
            }
        }
        assertUniform([sides[3]!, sides[4]!, sides[5]!], "first square sides 3, 4, 5")
        assertUniform(cornerRows, "the first square's row")
        assertUniform(cornerColumns, "the first square's column, in fifths")
    }
}
