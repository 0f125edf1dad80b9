import Layers
import Tensors

/// Which tokens masked-LM pre-training hides and what it puts in their place.
public struct MaskingConfig: Equatable, Codable {
    /// Fraction of the non-special tokens of each sequence to predict (BERT: 0.15); at least one per sequence.
    public var rate: Float
    /// Of the predicted tokens: the fraction replaced by [MASK] (BERT: 0.8) …
    public var maskFraction: Float
    /// … and the fraction replaced by a random token (BERT: 0.1); the rest keep their token.
    public var randomFraction: Float
    /// Predict whole words: a word's continuation pieces (WordPiece `##…`, BPE pieces without a leading `Ġ`)
    /// are selected together with its first piece (Google BERT's whole-word masking).
    public var wholeWord: Bool
    /// When set, select contiguous spans (SpanBERT, Joshi et al. 2020, §3.1): span lengths, counted in words
    /// when `wholeWord` else in tokens, are geometric with p = 1/spanLength restricted to at most `maxSpanLength`
    /// (`MaskedLanguageModeling.spanLength`). SpanBERT: spanLength 5 (p = 0.2), maxSpanLength 10: a mean of 3.8.
    public var spanLength: Int?
    public var maxSpanLength: Int

    public init(rate: Float = 0.15, maskFraction: Float = 0.8, randomFraction: Float = 0.1, wholeWord: Bool = false,
                spanLength: Int? = nil, maxSpanLength: Int = 10) {
        self.rate = rate
        self.maskFraction = maskFraction
        self.randomFraction = randomFraction
        self.wholeWord = wholeWord
        self.spanLength = spanLength
        self.maxSpanLength = maxSpanLength
    }

    enum CodingKeys: String, CodingKey {
        case rate, maskFraction = "mask_fraction", randomFraction = "random_fraction", wholeWord = "whole_word"
        case spanLength = "span_length", maxSpanLength = "max_span_length"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MaskingConfig()
        self.init(rate: try c.decodeIfPresent(Float.self, forKey: .rate) ?? defaults.rate,
                  maskFraction: try c.decodeIfPresent(Float.self, forKey: .maskFraction) ?? defaults.maskFraction,
                  randomFraction: try c.decodeIfPresent(Float.self, forKey: .randomFraction) ?? defaults.randomFraction,
                  wholeWord: try c.decodeIfPresent(Bool.self, forKey: .wholeWord) ?? defaults.wholeWord,
                  spanLength: try c.decodeIfPresent(Int.self, forKey: .spanLength),
                  maxSpanLength: try c.decodeIfPresent(Int.self, forKey: .maxSpanLength) ?? defaults.maxSpanLength)
    }

    /// A message naming the first invalid field, or nil.
    public var problem: String? {
        if !(rate > 0 && rate <= 1) { return "masking rate must be in (0, 1], got \(rate)" }
        if !(maskFraction >= 0 && randomFraction >= 0 && maskFraction + randomFraction <= 1) {
            return "mask_fraction \(maskFraction) and random_fraction \(randomFraction) must be ≥ 0 and sum to at most 1"
        }
        if let spanLength, spanLength < 1 { return "span_length must be at least 1, got \(spanLength)" }
        if maxSpanLength < 1 { return "max_span_length must be at least 1, got \(maxSpanLength)" }
        return nil
    }
}

/// Masked language modelling (BERT, Devlin et al. 2019, §3.1): hide some tokens, predict them from both sides.
///
/// tokens: (B, T+1) windows from the corpus; the first T columns are the input (the last is dropped so that a
/// window fits the model's positions like a causal window does). In each row `config.rate` of the non-special
/// positions are selected (at least one); each selected position (each span, with `spanLength`) becomes
/// [MASK] with probability maskFraction, a random non-special token with probability randomFraction, and stays
/// itself otherwise. Targets hold the original token at selected positions and -100 (ignored) elsewhere.
/// The loss is the mean cross-entropy over the selected positions. Every draw comes from the generator passed
/// to `loss`/`mask`, row by row, so a seed fixes the masks.
public final class MaskedLanguageModeling: PretrainingObjective {
    public let encoder: BertForMaskedLM
    public var model: Module { encoder }
    public let config: MaskingConfig
    public let maskTokenID: Int
    /// Never selected, never drawn as a random replacement ([CLS], [SEP], [PAD], end-of-text, …).
    public let specialTokenIDs: Set<Int>
    public let vocabularySize: Int
    /// True for ids that begin a word; nil: every token is a word. Used by whole-word masking only.
    public let wordStarts: ((Int) -> Bool)?

    public init(model: BertForMaskedLM, config: MaskingConfig, maskTokenID: Int, specialTokenIDs: Set<Int>,
                vocabularySize: Int, wordStarts: ((Int) -> Bool)? = nil) {
        if let problem = config.problem { preconditionFailure(problem) }
        precondition(maskTokenID >= 0 && maskTokenID < vocabularySize,
                     "mask token \(maskTokenID) is outside the vocabulary of \(vocabularySize)")
        precondition(vocabularySize > specialTokenIDs.union([maskTokenID]).count,
                     "the vocabulary has no ordinary token to draw random replacements from")
        encoder = model
        self.config = config
        self.maskTokenID = maskTokenID
        self.specialTokenIDs = specialTokenIDs.union([maskTokenID])
        self.vocabularySize = vocabularySize
        self.wordStarts = wordStarts
    }

    public func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        precondition(tokens.shape.count == 2 && tokens.shape[1] >= 2, "masked LM needs (B, T+1) windows, got \(tokens.shape)")
        let (inputs, targets) = mask(tokens.columns(0..<(tokens.shape[1] - 1)), generator: &generator)
        let predicted = targets.values.reduce(0) { $0 + ($1 == -100 ? 0 : 1) }
        return (encoder.loss(tokens: inputs, targets: targets), predicted)
    }

    /// tokens: (B, T) → the corrupted inputs (B, T) and targets (B, T) (-100 where nothing is predicted).
    public func mask(_ tokens: IntTensor, generator: inout RandomGenerator) -> (inputs: IntTensor, targets: IntTensor) {
        precondition(tokens.shape.count == 2, "tokens must be (B, T), got \(tokens.shape)")
        let width = tokens.shape[1]
        var inputs = tokens.values
        var targets = [Int32](repeating: -100, count: tokens.count)
        for row in 0..<tokens.shape[0] {
            let offset = row * width
            let sequence = tokens.values[offset..<offset + width].map { Int($0) }
            for group in selectedGroups(sequence, generator: &generator) {
                let u = generator.nextFloat()
                for position in group {
                    let original = sequence[position]
                    targets[offset + position] = Int32(original)
                    if u < config.maskFraction {
                        inputs[offset + position] = Int32(maskTokenID)
                    } else if u < config.maskFraction + config.randomFraction {
                        inputs[offset + position] = Int32(randomOrdinaryToken(generator: &generator))
                    }
                }
            }
        }
        return (IntTensor(inputs, shape: tokens.shape), IntTensor(targets, shape: tokens.shape))
    }

    /// The positions to predict in one sequence, as groups that share one 80/10/10 decision: single positions,
    /// or whole spans with `spanLength` (SpanBERT replaces a span as a unit). Whole-word masking without spans
    /// decides per token, as Google BERT does.
    func selectedGroups(_ sequence: [Int], generator: inout RandomGenerator) -> [[Int]] {
        let units = selectionUnits(sequence)
        let candidates = units.reduce(0) { $0 + $1.count }
        guard candidates > 0 else { return [] }
        let budget = max(1, Int((config.rate * Float(candidates)).rounded()))
        if let spanLength = config.spanLength {
            return maskedSpans(units, budget: budget, meanLength: spanLength, generator: &generator)
        }
        // Units in random order (Fisher–Yates), taken while they fit the budget; a unit that would overshoot is
        // skipped, except that the first always goes in (at least one prediction per sequence).
        var order = Array(units.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, generator.nextInt(below: i + 1)) }
        var selected: [Int] = []
        for unit in order where selected.isEmpty || selected.count + units[unit].count <= budget {
            selected += units[unit]
            if selected.count >= budget { break }
        }
        return selected.sorted().map { [$0] }
    }

    /// Non-special positions grouped into the units selection works on: words (a word-start token and the
    /// continuation tokens after it) with `wholeWord`, else single tokens. A special token ends a word; a
    /// continuation token after a special token (or at the start) begins one.
    func selectionUnits(_ sequence: [Int]) -> [[Int]] {
        var units: [[Int]] = []
        var previousWasCandidate = false
        for (position, token) in sequence.enumerated() {
            guard !specialTokenIDs.contains(token) else { previousWasCandidate = false; continue }
            let continues = config.wholeWord && previousWasCandidate && !(wordStarts?(token) ?? true)
            if continues { units[units.count - 1].append(position) } else { units.append([position]) }
            previousWasCandidate = true
        }
        return units
    }

    /// SpanBERT span selection: until the budget is met, draw a length ℓ (`spanLength`, in units) and a start
    /// unit uniformly, and select the ℓ units from there that are not yet selected, stopping at a special token,
    /// the end of the sequence or the budget. A span whose first unit alone overshoots the budget is redrawn,
    /// unless nothing is selected yet.
    func maskedSpans(_ units: [[Int]], budget: Int, meanLength: Int, generator: inout RandomGenerator) -> [[Int]] {
        var taken = [Bool](repeating: false, count: units.count)
        var spans: [[Int]] = []
        var selected = 0, attempts = 0
        while selected < budget && attempts < 100 * units.count {
            attempts += 1
            let length = MaskedLanguageModeling.spanLength(meanLength: meanLength, maxLength: config.maxSpanLength,
                                                           generator: &generator)
            let start = generator.nextInt(below: units.count)
            var span: [Int] = []
            var unit = start
            while unit < units.count && unit < start + length && !taken[unit] {
                // Units of one span are adjacent in the sequence (no special token between them).
                if unit > start && units[unit].first! != units[unit - 1].last! + 1 { break }
                guard selected + span.count + units[unit].count <= budget || (selected == 0 && span.isEmpty) else { break }
                span += units[unit]
                taken[unit] = true
                unit += 1
            }
            if !span.isEmpty {
                spans.append(span)
                selected += span.count
            }
        }
        return spans
    }

    /// ℓ ~ Geometric(p = 1/meanLength) on 1, 2, …, restricted to ℓ ≤ maxLength and renormalised (redrawn when
    /// longer), as SpanBERT's code does: meanLength 5, maxLength 10 give E[ℓ] ≈ 3.8.
    public static func spanLength(meanLength: Int, maxLength: Int, generator: inout RandomGenerator) -> Int {
        let p = 1 / Double(meanLength)
        while true {
            var length = 1
            while length <= maxLength && Double(generator.nextFloat()) >= p { length += 1 }
            if length <= maxLength { return length }
        }
    }

    func randomOrdinaryToken(generator: inout RandomGenerator) -> Int {
        while true {
            let token = generator.nextInt(below: vocabularySize)
            if !specialTokenIDs.contains(token) { return token }
        }
    }
}
