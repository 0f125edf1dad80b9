import Tensors

/// Shape of a FastSpeech 2 acoustic model (Ren et al. 2021): phonemes → log-mel frames, non-autoregressively.
public struct FastSpeechConfig: Equatable, Sendable {
    /// Phoneme ids, 0 the padding id.
    public var phonemeCount: Int
    public var melCount: Int
    public var dModel: Int
    public var heads: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    /// The feed-forward blocks' convolution: C → `convolutionHidden` with `convolutionKernel`, then back with 1.
    public var convolutionHidden: Int
    public var convolutionKernel: Int
    /// The duration and variance predictors' width and kernel.
    public var predictorHidden: Int
    public var predictorKernel: Int
    /// The aligner's shared dimension for phoneme keys and frame queries.
    public var alignmentDimension: Int
    /// τ of the aligner's scores −τ·‖q − k‖² (Badlani et al. use 0.0005).
    public var alignmentTemperature: Float
    /// Per-frame quantities besides duration that the variance adaptor predicts per phoneme and adds back, in order
    /// (FastSpeech 2's pitch and energy); each is a frame-level target the data supplies.
    public var variances: [String]
    public var dropout: Float

    public init(phonemeCount: Int, melCount: Int = 80, dModel: Int = 192, heads: Int = 2, encoderLayers: Int = 4,
                decoderLayers: Int = 4, convolutionHidden: Int = 768, convolutionKernel: Int = 9,
                predictorHidden: Int = 192, predictorKernel: Int = 3, alignmentDimension: Int = 80,
                alignmentTemperature: Float = 0.0005, variances: [String] = ["pitch", "energy"], dropout: Float = 0.1) {
        self.phonemeCount = phonemeCount
        self.melCount = melCount
        self.dModel = dModel
        self.heads = heads
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.convolutionHidden = convolutionHidden
        self.convolutionKernel = convolutionKernel
        self.predictorHidden = predictorHidden
        self.predictorKernel = predictorKernel
        self.alignmentDimension = alignmentDimension
        self.alignmentTemperature = alignmentTemperature
        self.variances = variances
        self.dropout = dropout
    }
}

/// FastSpeech 2 (Ren et al. 2021, Fig. 1a) with the aligner of Badlani et al. 2022 instead of an external one:
///     e = Embedding(phonemes)                                    (B, P, C)
///     h = encoder(e)                                              N feed-forward Transformer blocks
///     log(d̂ + 1) = durationPredictor(h)                          (B, P)
///     for each variance v: v̂ = predictor_v(h);  h += conv₃(v)    v: the phoneme-level target (teacher forcing)
///     x = LengthRegulator(h, d)                                   (B, T, C), phoneme p repeated d[p] times
///     mel = Linear(decoder(x))                                    (B, T, M)
/// d is the aligner's monotonic path in training (`Objectives`' FastSpeech objective) and the rounded prediction in
/// synthesis. Keys: embedding.weight, encoder.layers.N, duration_predictor, variance_predictors.NAME,
/// variance_embeddings.NAME, decoder.layers.N, mel_linear, aligner.
public final class FastSpeechModel: Module {
    public let config: FastSpeechConfig
    @Key public var embedding: Embedding
    @Key public var encoder: [FeedForwardTransformerBlock]
    @Key public var durationPredictor: VariancePredictor
    @Key public var variancePredictors: [VariancePredictor]
    @Key public var varianceEmbeddings: [SameConvolution1D]
    @Key public var decoder: [FeedForwardTransformerBlock]
    @Key public var melProjection: Linear
    @Key public var aligner: AlignmentEncoder

    public init(_ config: FastSpeechConfig, generator: inout RandomGenerator) {
        self.config = config
        let c = config
        func block() -> FeedForwardTransformerBlock {
            FeedForwardTransformerBlock(dModel: c.dModel, heads: c.heads, convolutionHidden: c.convolutionHidden,
                                        kernel: c.convolutionKernel, dropout: c.dropout, generator: &generator)
        }
        func predictor() -> VariancePredictor {
            VariancePredictor(dModel: c.dModel, hidden: c.predictorHidden, kernel: c.predictorKernel,
                              dropout: c.dropout, generator: &generator)
        }
        _embedding = Key(wrappedValue: Embedding(c.phonemeCount, c.dModel, generator: &generator), "embedding")
        _encoder = Key(wrappedValue: (0..<c.encoderLayers).map { _ in block() }, "encoder.layers")
        _durationPredictor = Key(wrappedValue: predictor(), "duration_predictor")
        _variancePredictors = Key(wrappedValue: c.variances.map { _ in predictor() }, "variance_predictors")
        _varianceEmbeddings = Key(wrappedValue: c.variances.map { _ in
            SameConvolution1D(1, c.dModel, kernel: 3, generator: &generator)
        }, "variance_embeddings")
        _decoder = Key(wrappedValue: (0..<c.decoderLayers).map { _ in block() }, "decoder.layers")
        _melProjection = Key(wrappedValue: Linear(c.dModel, c.melCount, generator: &generator), "mel_linear")
        _aligner = Key(wrappedValue: AlignmentEncoder(dModel: c.dModel, melCount: c.melCount,
                                                      dimension: c.alignmentDimension,
                                                      temperature: c.alignmentTemperature, generator: &generator), "aligner")
        super.init()
    }

    /// phonemes: (B, P) ids → (B, P, C).
    public func embed(_ phonemes: IntTensor) -> Tensor { embedding(phonemes) }

    /// What the encoder and the variance adaptor make of the phonemes before the length regulator.
    public struct PhonemeStates {
        /// (B, P, C): the encoder's output plus every variance's embedding.
        public var hidden: Tensor
        /// (B, P): the predicted log(d + 1).
        public var logDurations: Tensor
        /// (B, P) per variance, in `config.variances` order.
        public var variances: [Tensor]
    }

    /// embedded: (B, P, C) → the encoder and variance adaptor's outputs. `varianceTargets` (one (B, P) tensor per
    /// variance) are embedded when given (training); otherwise the predictions are (synthesis).
    public func encode(embedded: Tensor, phonemes: SequencePadding, varianceTargets: [Tensor]? = nil) -> PhonemeStates {
        var h = embedded * phonemes.mask
        for block in encoder { h = block(h, padding: phonemes) }
        let logDurations = durationPredictor(h, padding: phonemes)
        var predictions: [Tensor] = []
        var added = h
        for (index, predictor) in variancePredictors.enumerated() {
            let predicted = predictor(h, padding: phonemes)
            predictions.append(predicted)
            let value = varianceTargets?[index] ?? predicted
            let column = value.reshaped([value.size(0), value.size(1), 1])
            added = added + varianceEmbeddings[index](column) * phonemes.mask
        }
        return PhonemeStates(hidden: added, logDurations: logDurations, variances: predictions)
    }

    /// hidden: (B, P, C) with `durations[b][p]` frames per phoneme → mel (B, T, M), T the longest utterance's frames.
    public func decode(hidden: Tensor, durations: [[Int]]) -> Tensor {
        let (frames, expanded) = lengthRegulate(hidden, durations: durations)
        var x = expanded
        for block in decoder { x = block(x, padding: frames) }
        return melProjection(x) * frames.mask
    }
}

/// FastSpeech's length regulator (Ren et al. 2019 §3.2): each phoneme's state repeated for its frames.
/// hidden: (B, P, C), durations[b] (P values, summing to T_b ≥ 1) → the frames' padding and (B, max T_b, C), zero
/// after T_b. A gather of rows: the gradient of every copy flows back to its phoneme.
public func lengthRegulate(_ hidden: Tensor, durations: [[Int]]) -> (frames: SequencePadding, expanded: Tensor) {
    let (batch, phonemes, channels) = (hidden.size(0), hidden.size(1), hidden.size(2))
    precondition(durations.count == batch && durations.allSatisfy { $0.count == phonemes && $0.allSatisfy { $0 >= 0 } },
                 "length regulator: durations must be \(batch) lists of \(phonemes) non-negative counts")
    let lengths = durations.map { $0.reduce(0, +) }
    let width = lengths.max() ?? 0
    precondition(lengths.allSatisfy { $0 >= 1 }, "length regulator: an utterance has no frames")
    // Padded frames read the utterance's first phoneme and are zeroed by the mask.
    var rows = [Int32](repeating: 0, count: batch * width)
    for b in 0..<batch {
        var t = 0
        for (p, count) in durations[b].enumerated() {
            for _ in 0..<count { rows[b * width + t] = Int32(b * phonemes + p); t += 1 }
        }
        for padded in t..<width { rows[b * width + padded] = Int32(b * phonemes) }
    }
    let frames = SequencePadding(lengths: lengths, width: width)
    let gathered = embedding(hidden.reshaped([batch * phonemes, channels]), indices: IntTensor(rows, shape: [batch, width]))
    return (frames, gathered * frames.mask)
}
