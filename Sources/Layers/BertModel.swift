import Tensors

/// Hyperparameters of a BERT encoder (Devlin et al. 2019). Defaults are BERT-base (110M).
public struct BertConfig: Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    /// Learned absolute positions: the longest input.
    public var maxPositions: Int
    /// Segment (token type) embeddings: 2 for sentence A / sentence B.
    public var typeVocabSize: Int
    public var layerNormEps: Float
    /// After the embeddings and on each residual branch, in training mode only (BERT: 0.1).
    public var dropout: Float

    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, layers: Int = 12, heads: Int = 12,
                intermediateSize: Int? = nil, maxPositions: Int = 512, typeVocabSize: Int = 2,
                layerNormEps: Float = 1e-12, dropout: Float = 0.1) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize ?? 4 * hiddenSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.dropout = dropout
    }
}

/// BERT input embeddings: word + position + token type, then LayerNorm and dropout.
/// Keys as Hugging Face BertEmbeddings: word_embeddings, position_embeddings, token_type_embeddings, LayerNorm.
public final class BertEmbeddings: Module {
    @Key public var word: Embedding
    @Key public var position: Embedding
    @Key public var tokenType: Embedding
    @Key public var norm: LayerNorm
    public let dropout: Dropout

    public init(_ config: BertConfig, generator: inout RandomGenerator) {
        let c = config.hiddenSize
        _word = Key(wrappedValue: Embedding(config.vocabSize, c, generator: &generator), "word_embeddings")
        _position = Key(wrappedValue: Embedding(config.maxPositions, c, generator: &generator), "position_embeddings")
        _tokenType = Key(wrappedValue: Embedding(config.typeVocabSize, c, generator: &generator), "token_type_embeddings")
        _norm = Key(wrappedValue: LayerNorm(c, eps: config.layerNormEps), "LayerNorm")
        dropout = Dropout(config.dropout)
        super.init()
    }

    /// tokens: (B, T), tokenTypes: (B, T) or nil (all type 0, as Hugging Face) → (B, T, C).
    public func callAsFunction(_ tokens: IntTensor, tokenTypes: IntTensor? = nil) -> Tensor {
        let length = tokens.shape[1]
        var x = word(tokens) + slice(position.weight, axis: 0, range: 0..<length)      // (B, T, C) + (T, C)
        if let tokenTypes {
            precondition(tokenTypes.shape == tokens.shape, "tokenTypes \(tokenTypes.shape) differ from tokens \(tokens.shape)")
            x = x + tokenType(tokenTypes)
        } else {
            x = x + slice(tokenType.weight, axis: 0, range: 0..<1)                       // + (1, C)
        }
        return dropout(norm(x))
    }
}

/// BERT encoder (Devlin et al. 2019, §3): embeddings, then post-LN `BertLayer`s; no pooler (the masked-LM
/// model does not use one). Keys as Hugging Face BertModel: `embeddings.…`, `encoder.layer.{i}.…`.
public final class BertModel: Module, SubModelRunnable {
    public let config: BertConfig
    @Key public var embeddings: BertEmbeddings
    @Key public var layers: [BertLayer]
    /// bert2BERT's two-stage pre-training runs a `SubModel` in its first stage; nil: every layer.
    public var subModel: SubModel?
    public var blockCount: Int { layers.count }

    /// Builds the encoder with BERT's initialisation (`BertModel.initialize`), drawing from `generator`.
    public init(_ config: BertConfig, generator: inout RandomGenerator) {
        precondition(config.hiddenSize % config.heads == 0,
                     "hiddenSize \(config.hiddenSize) is not divisible by \(config.heads) heads")
        self.config = config
        _embeddings = Key(wrappedValue: BertEmbeddings(config, generator: &generator), "embeddings")
        _layers = Key(wrappedValue: (0..<config.layers).map { _ in
            BertLayer(dModel: config.hiddenSize, heads: config.heads, intermediateSize: config.intermediateSize,
                      eps: config.layerNormEps, dropout: config.dropout, generator: &generator)
        }, "encoder.layer")
        super.init()
        BertModel.initialize(self, generator: &generator)
    }

    /// tokens: (B, T) with T ≤ maxPositions; attentionMask: (B, T) in the Hugging Face convention, 1 = attend,
    /// 0 = padding; tokenTypes: (B, T) or nil → hidden states (B, T, C).
    public func callAsFunction(tokens: IntTensor, attentionMask: IntTensor? = nil, tokenTypes: IntTensor? = nil) -> Tensor {
        precondition(tokens.shape.count == 2, "tokens must be (B, T), got \(tokens.shape)")
        precondition(tokens.shape[1] <= config.maxPositions,
                     "sequence of \(tokens.shape[1]) tokens exceeds the \(config.maxPositions) positions")
        if let attentionMask {
            precondition(attentionMask.shape == tokens.shape, "attentionMask \(attentionMask.shape) differs from tokens \(tokens.shape)")
        }
        var unused: [Tensor]? = nil
        return callAsFunction(tokens: tokens, attentionMask: attentionMask, tokenTypes: tokenTypes, layerOutputs: &unused)
    }

    /// As above; when `layerOutputs` is non-nil it receives the embeddings' output and each layer's: L + 1 tensors
    /// (B, T, C), the last being the result (latent distillation's layers).
    public func callAsFunction(tokens: IntTensor, attentionMask: IntTensor? = nil, tokenTypes: IntTensor? = nil,
                               layerOutputs: inout [Tensor]?) -> Tensor {
        SubModel.run(subModel, blocks: layers.count, layerOutputs: &layerOutputs,
                     embed: { embeddings(tokens, tokenTypes: tokenTypes) },
                     block: { index, x in layers[index](x, attentionMask: attentionMask) })
    }

    /// BERT's initialisation (Hugging Face `BertPreTrainedModel._init_weights`): Linear and Embedding weights
    /// N(0, 0.02²), biases 0, LayerNorm weight 1 / bias 0. Walks the modules in declaration order.
    /// (Hugging Face also zeroes the [PAD] row of the word embeddings; nothing here knows which id that is.)
    public static func initialize(_ model: Module, std: Float = 0.02, generator: inout RandomGenerator) {
        for module in model.modules() {
            switch module {
            case let layer as Linear:
                Initializer.normal(layer.weight, std: std, generator: &generator)
                if let bias = layer.bias { Initializer.zeros(bias) }
            case let layer as Embedding:
                Initializer.normal(layer.weight, std: std, generator: &generator)
            case let layer as LayerNorm:
                Initializer.ones(layer.weight)
                if let bias = layer.bias { Initializer.zeros(bias) }
            default:
                break
            }
        }
    }
}

/// BERT with its masked-language-model head, as Hugging Face BertForMaskedLM:
///     logits = LayerNorm(gelu(dense(h))) · Eᵀ + b
/// where E is the word embedding (the decoder is tied to it, so `cls.predictions.decoder.weight` is not a
/// parameter of its own) and b is `cls.predictions.bias`. Keys: `bert.…`, `cls.predictions.transform.dense`,
/// `cls.predictions.transform.LayerNorm`, `cls.predictions.bias`.
public final class BertForMaskedLM: Module {
    public var config: BertConfig { bert.config }
    @Key public var bert: BertModel
    @Key public var transform: Linear
    @Key public var transformNorm: LayerNorm
    @Key public var outputBias: Tensor

    public init(_ config: BertConfig, generator: inout RandomGenerator) {
        _bert = Key(wrappedValue: BertModel(config, generator: &generator), "bert")
        _transform = Key(wrappedValue: Linear(config.hiddenSize, config.hiddenSize, generator: &generator),
                         "cls.predictions.transform.dense")
        _transformNorm = Key(wrappedValue: LayerNorm(config.hiddenSize, eps: config.layerNormEps),
                             "cls.predictions.transform.LayerNorm")
        _outputBias = Key(wrappedValue: Tensor(zeros: [config.vocabSize], requiresGrad: true), "cls.predictions.bias")
        super.init()
        initializeHead(generator: &generator)
    }

    public convenience init(_ config: BertConfig) { self.init(config, generator: &Random.generator) }

    /// Redraws the masked-LM head (transform dense N(0, 0.02²), its LayerNorm 1/0, output bias 0), as for a
    /// head added to an encoder-only checkpoint. The word embeddings (the tied decoder) are left alone.
    public func initializeHead(generator: inout RandomGenerator) {
        Initializer.normal(transform.weight, std: 0.02, generator: &generator)
        if let bias = transform.bias { Initializer.zeros(bias) }
        Initializer.ones(transformNorm.weight)
        if let bias = transformNorm.bias { Initializer.zeros(bias) }
        Initializer.zeros(outputBias)
    }

    /// Names of the head's parameters (those `initializeHead` draws).
    public static let headParameterNames = [
        "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias",
    ]

    /// hidden: (..., C) → vocabulary logits (..., V).
    public func predictions(_ hidden: Tensor) -> Tensor {
        let h = transformNorm(gelu(transform(hidden), approximate: .none))
        return linear(h, weight: bert.embeddings.word.weight, bias: outputBias)
    }

    /// hidden: (N, C) → the logits of the vocabulary ids `tokens` alone, (N, tokens.count): the columns of
    /// `predictions(hidden)` for those ids, without the V-wide projection. The tied decoder's rows and the output bias
    /// are gathered by `embedding`, so their gradients reach the word embeddings and `cls.predictions.bias`.
    public func predictions(_ hidden: Tensor, restrictedTo tokens: IntTensor) -> Tensor {
        let h = transformNorm(gelu(transform(hidden), approximate: .none))
        let rows = embedding(bert.embeddings.word.weight, indices: tokens)                          // (L, C)
        let bias = embedding(outputBias.reshaped([config.vocabSize, 1]), indices: tokens).reshaped([tokens.count])
        return linear(h, weight: rows, bias: bias)
    }

    /// tokens: (B, T) → logits (B, T, V). attentionMask and tokenTypes as `BertModel`.
    public func forward(tokens: IntTensor, attentionMask: IntTensor? = nil, tokenTypes: IntTensor? = nil) -> Tensor {
        predictions(bert(tokens: tokens, attentionMask: attentionMask, tokenTypes: tokenTypes))
    }

    /// Mean cross-entropy over the positions whose target is not -100; tokens, targets: (B, T) → scalar.
    /// Only those rows (about 15 % of them in pre-training) go through the head and the V-wide output
    /// projection, which gives the same loss and gradients as `forward` over every position.
    public func loss(tokens: IntTensor, targets: IntTensor, attentionMask: IntTensor? = nil,
                     tokenTypes: IntTensor? = nil) -> Tensor {
        precondition(tokens.shape == targets.shape, "tokens \(tokens.shape) and targets \(targets.shape) differ in shape")
        let hidden = bert(tokens: tokens, attentionMask: attentionMask, tokenTypes: tokenTypes)
        var rows = targets.values.indices.filter { targets.values[$0] != -100 }
        var rowTargets = rows.map { targets.values[$0] }
        // Nothing to predict: one ignored row keeps the graph (the loss is 0 and backward adds nothing).
        if rows.isEmpty { (rows, rowTargets) = ([0], [-100]) }
        let flat = hidden.reshaped([targets.count, config.hiddenSize])
        let selected = embedding(flat, indices: IntTensor(rows, shape: [rows.count]))       // (N, C) row gather
        let h = transformNorm(gelu(transform(selected), approximate: .none))
        return linearCrossEntropy(h, weight: bert.embeddings.word.weight, bias: outputBias,
                                  targets: IntTensor(rowTargets, shape: [rows.count]))
    }
}
