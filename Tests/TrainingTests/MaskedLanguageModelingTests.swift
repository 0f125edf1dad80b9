import Layers
import Objectives
import Tensors
import XCTest

/// Masked-LM corruption: rates, the 80/10/10 policy, special tokens, whole words, spans, determinism.
/// Statistical tests draw ≥ 100,000 positions; tolerances are about 5 standard deviations.
final class MaskedLanguageModelingTests: XCTestCase {
    // ids 0...3 are special ([PAD], [CLS], [SEP], [MASK]); ordinary ids 4..<100.
    let vocabulary = 100, mask = 3
    let special: Set<Int> = [0, 1, 2]

    func objective(_ masking: MaskingConfig = MaskingConfig(), wordStarts: ((Int) -> Bool)? = nil) -> MaskedLanguageModeling {
        var generator = RandomGenerator(seed: 0)
        let config = BertConfig(vocabSize: vocabulary, hiddenSize: 8, layers: 1, heads: 2, maxPositions: 64, dropout: 0)
        let model = BertForMaskedLM(config, generator: &generator)
        return MaskedLanguageModeling(model: model, config: masking, maskTokenID: mask, specialTokenIDs: special,
                                      vocabularySize: vocabulary, wordStarts: wordStarts)
    }

    func randomTokens(rows: Int, length: Int, seed: UInt64) -> IntTensor {
        var generator = RandomGenerator(seed: seed)
        return IntTensor((0..<rows * length).map { _ in 4 + generator.nextInt(below: vocabulary - 4) }, shape: [rows, length])
    }

    func testRateAndEightyTenTenPolicy() {
        let tokens = randomTokens(rows: 400, length: 500, seed: 1)
        var generator = RandomGenerator(seed: 2)
        let (inputs, targets) = objective().mask(tokens, generator: &generator)
        var selected = 0, masked = 0, replaced = 0, kept = 0
        for i in 0..<tokens.count {
            if targets.values[i] == -100 {
                XCTAssertEqual(inputs.values[i], tokens.values[i], "unselected positions are untouched")
                continue
            }
            selected += 1
            XCTAssertEqual(targets.values[i], tokens.values[i], "the target is the original token")
            if inputs.values[i] == Int32(mask) { masked += 1 }
            else if inputs.values[i] == tokens.values[i] { kept += 1 }
            else { replaced += 1 }
        }
        // Exactly round(0.15 · 500) = 75 per row.
        XCTAssertEqual(selected, 400 * 75)
        let n = Float(selected)
        XCTAssertEqual(Float(masked) / n, 0.8, accuracy: 0.012)
        // A random draw equal to the original token counts as kept: 0.1 · 1/96 moves from replaced to kept.
        XCTAssertEqual(Float(replaced) / n, 0.1 * 95 / 96, accuracy: 0.01)
        XCTAssertEqual(Float(kept) / n, 0.1 + 0.1 / 96, accuracy: 0.01)
    }

    func testFractionsAreConfigurable() {
        let tokens = randomTokens(rows: 200, length: 500, seed: 3)
        var generator = RandomGenerator(seed: 4)
        let config = MaskingConfig(rate: 0.3, maskFraction: 0.5, randomFraction: 0.5)
        let (inputs, targets) = objective(config).mask(tokens, generator: &generator)
        let selected = targets.values.filter { $0 != -100 }.count
        let masked = inputs.values.filter { $0 == Int32(mask) }.count
        XCTAssertEqual(selected, 200 * 150)
        XCTAssertEqual(Float(masked) / Float(selected), 0.5, accuracy: 0.015)
    }

    func testRandomReplacementsAreOrdinaryTokensSpreadOverTheVocabulary() {
        let tokens = randomTokens(rows: 200, length: 500, seed: 5)
        var generator = RandomGenerator(seed: 6)
        let config = MaskingConfig(rate: 0.5, maskFraction: 0, randomFraction: 1)
        let (inputs, targets) = objective(config).mask(tokens, generator: &generator)
        var seen = Set<Int32>()
        for i in 0..<tokens.count where targets.values[i] != -100 {
            XCTAssertFalse(special.contains(Int(inputs.values[i])) || inputs.values[i] == Int32(mask))
            seen.insert(inputs.values[i])
        }
        XCTAssertEqual(seen.count, 96)
    }

    func testSpecialTokensAreNeverSelected() {
        var values = randomTokens(rows: 50, length: 40, seed: 7).values
        for i in stride(from: 0, to: values.count, by: 3) { values[i] = Int32(i % 9 == 0 ? 1 : 2) }
        let tokens = IntTensor(values, shape: [50, 40])
        var generator = RandomGenerator(seed: 8)
        let (_, targets) = objective(MaskingConfig(rate: 0.9)).mask(tokens, generator: &generator)
        for i in stride(from: 0, to: values.count, by: 3) { XCTAssertEqual(targets.values[i], -100) }
        XCTAssertGreaterThan(targets.values.filter { $0 != -100 }.count, 50 * 20)
    }

    func testEverySequenceGetsAtLeastOnePrediction() {
        // 4 ordinary tokens at rate 0.05 round to 0; one is still selected. A row of only special tokens gets none.
        let tokens = IntTensor([1, 10, 11, 12, 13, 2,
                                1, 0, 0, 0, 0, 2], shape: [2, 6])
        for seed in 0..<20 {
            var generator = RandomGenerator(seed: UInt64(seed))
            let (_, targets) = objective(MaskingConfig(rate: 0.05)).mask(tokens, generator: &generator)
            XCTAssertEqual(targets.values[0..<6].filter { $0 != -100 }.count, 1)
            XCTAssertEqual(targets.values[6..<12].filter { $0 != -100 }.count, 0)
        }
    }

    func testSameGeneratorStateGivesTheSameMasks() {
        let tokens = randomTokens(rows: 8, length: 64, seed: 9)
        for config in [MaskingConfig(), MaskingConfig(wholeWord: true), MaskingConfig(spanLength: 3)] {
            let objective = objective(config, wordStarts: { $0 % 3 != 0 })
            var a = RandomGenerator(seed: 10), b = RandomGenerator(seed: 10), c = RandomGenerator(seed: 11)
            let first = objective.mask(tokens, generator: &a)
            let second = objective.mask(tokens, generator: &b)
            let other = objective.mask(tokens, generator: &c)
            XCTAssertEqual(first.inputs.values, second.inputs.values)
            XCTAssertEqual(first.targets.values, second.targets.values)
            XCTAssertEqual(a.stateWords, b.stateWords, "the generator advances identically")
            XCTAssertNotEqual(first.targets.values, other.targets.values)
        }
    }

    /// Whole-word masking: ids divisible by 3 are continuation pieces (like `##ing`). A piece is predicted
    /// exactly when the rest of its word is.
    func testWholeWordMaskingSelectsEveryPieceOfAWord() {
        let isStart: (Int) -> Bool = { $0 % 3 != 0 }
        let tokens = randomTokens(rows: 100, length: 128, seed: 12)
        var generator = RandomGenerator(seed: 13)
        let (_, targets) = objective(MaskingConfig(wholeWord: true), wordStarts: isStart).mask(tokens, generator: &generator)
        var selected = 0
        for row in 0..<100 {
            var wordSelected: Bool?
            for t in 0..<128 {
                let i = row * 128 + t, token = Int(tokens.values[i]), isSelected = targets.values[i] != -100
                if isSelected { selected += 1 }
                if isStart(token) || t == 0 { wordSelected = isSelected } else { XCTAssertEqual(isSelected, wordSelected) }
            }
        }
        // Words are skipped when they would overshoot round(0.15 · 128) = 19, so rows hold 19 or slightly fewer.
        XCTAssertEqual(Float(selected) / Float(100 * 128), 0.15, accuracy: 0.01)
    }

    /// Span masking selects contiguous runs: with mean length 5 (p = 0.2) restricted to 10, runs are much longer
    /// than the ≈ 1.2 that scattered single tokens give at 15 %, and the rate holds exactly.
    func testSpanMaskingSelectsContiguousSpans() {
        let tokens = randomTokens(rows: 200, length: 256, seed: 14)
        var generator = RandomGenerator(seed: 15)
        let (inputs, targets) = objective(MaskingConfig(spanLength: 5)).mask(tokens, generator: &generator)
        var runs: [Int] = [], current = 0, selected = 0
        for row in 0..<200 {
            for t in 0..<256 {
                let isSelected = targets.values[row * 256 + t] != -100
                if isSelected { current += 1; selected += 1 } else if current > 0 { runs.append(current); current = 0 }
            }
            if current > 0 { runs.append(current); current = 0 }
        }
        XCTAssertEqual(selected, 200 * 38)                        // round(0.15 · 256)
        let meanRun = Float(runs.reduce(0, +)) / Float(runs.count)
        XCTAssertGreaterThan(meanRun, 3)
    }

    /// Lengths are geometric with p = 1/mean restricted to ≤ max: mean 5, max 10 gives E[ℓ] = 3.797 (SpanBERT's
    /// 3.8); 100,000 draws, standard error ≈ 0.008.
    func testSpanLengthsFollowTheRestrictedGeometric() {
        var generator = RandomGenerator(seed: 16)
        var counts = [Int](repeating: 0, count: 12)
        for _ in 0..<100_000 { counts[MaskedLanguageModeling.spanLength(meanLength: 5, maxLength: 10, generator: &generator)] += 1 }
        let mean = Double((1...10).reduce(0) { $0 + $1 * counts[$1] }) / 100_000
        XCTAssertEqual(mean, 3.797, accuracy: 0.04)
        XCTAssertEqual(counts[0] + counts[11], 0)
        XCTAssertEqual(Double(counts[1]) / 100_000, 0.2 / (1 - pow(0.8, 10)), accuracy: 0.007)
    }

    func testSpansDecideTheReplacementPerSpan() {
        let tokens = randomTokens(rows: 50, length: 200, seed: 17)
        var generator = RandomGenerator(seed: 18)
        // rate 0.05 with long spans: spans rarely touch, so each maximal run is one span with one decision.
        let config = MaskingConfig(rate: 0.05, maskFraction: 0.5, randomFraction: 0, spanLength: 4)
        let (inputs, targets) = objective(config).mask(tokens, generator: &generator)
        var uniform = 0, mixed = 0
        for row in 0..<50 {
            var run: [Bool] = []
            for t in 0...200 {
                let i = row * 200 + t
                if t < 200 && targets.values[i] != -100 { run.append(inputs.values[i] == Int32(mask)); continue }
                if run.count > 1 { if Set(run).count == 1 { uniform += 1 } else { mixed += 1 } }
                run = []
            }
        }
        XCTAssertGreaterThan(uniform, 10 * max(1, mixed))
    }

    func testLossPredictsTheSelectedPositionsOfTheFirstTColumns() {
        let objective = objective()
        let tokens = randomTokens(rows: 2, length: 21, seed: 19)
        var a = RandomGenerator(seed: 20), b = RandomGenerator(seed: 20)
        let (loss, predicted) = objective.loss(tokens, generator: &a)
        let (inputs, targets) = objective.mask(IntTensor(tokens.values.enumerated().filter { $0.offset % 21 != 20 }.map { $0.element },
                                                         shape: [2, 20]), generator: &b)
        XCTAssertEqual(predicted, 2 * 3)                          // round(0.15 · 20) per row
        XCTAssertEqual(loss.item, objective.encoder.loss(tokens: inputs, targets: targets).item, accuracy: 1e-6)
        XCTAssertEqual(loss.item, log(100), accuracy: 0.1)       // a fresh model is near uniform
    }

    func testConfigDecodesSnakeCaseWithDefaults() throws {
        let json = #"{"rate": 0.2, "whole_word": true, "span_length": 3}"#.data(using: .utf8)!
        let config = try JSONDecoder().decode(MaskingConfig.self, from: json)
        XCTAssertEqual(config, MaskingConfig(rate: 0.2, wholeWord: true, spanLength: 3))
        XCTAssertNil(config.problem)
        XCTAssertNotNil(MaskingConfig(maskFraction: 0.8, randomFraction: 0.3).problem)
    }
}
