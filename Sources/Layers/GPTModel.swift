import Tensors

/// Hyperparameters of a decoder-only language model. Defaults are GPT-2 small (124M).
public struct GPTConfig: Equatable {
    public enum Flavor: String { case gpt2, llama }

    public var vocabSize: Int
    public var contextLength: Int
    public var layers: Int
    public var dModel: Int
    public var heads: Int
    /// `.gpt2`: learned positions, LayerNorm, GELU MLP, biases. `.llama`: rotary positions, RMSNorm,
    /// SwiGLU, no biases.
    public var flavor: Flavor
    /// On the embeddings and on each residual branch, in training mode only.
    public var dropout: Float
    /// Epsilon of every LayerNorm (gpt2) or RMSNorm (llama).
    public var layerNormEps: Float
    /// Rotary embedding base (llama).
    public var ropeBase: Float
    /// Hidden width of the feed-forward block; nil: the flavour's default (`feedForwardWidth`).
    public var mlpHidden: Int?
    /// lm_head shares the token embedding; nil: the flavour's default (gpt2 tied, llama untied).
    public var tieEmbeddings: Bool?

    public init(vocabSize: Int = 50257, contextLength: Int = 1024, layers: Int = 12, dModel: Int = 768,
                heads: Int = 12, flavor: Flavor = .gpt2, dropout: Float = 0, layerNormEps: Float = 1e-5,
                ropeBase: Float = 10_000, mlpHidden: Int? = nil, tieEmbeddings: Bool? = nil) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.layers = layers
        self.dModel = dModel
        self.heads = heads
        self.flavor = flavor
        self.dropout = dropout
        self.layerNormEps = layerNormEps
        self.ropeBase = ropeBase
        self.mlpHidden = mlpHidden
        self.tieEmbeddings = tieEmbeddings
    }

    /// gpt2: 4·dModel. llama: 8/3·dModel (SwiGLU has three matrices; 2/3 of 4·dModel keeps the parameter
    /// count of a 4·dModel GELU MLP), rounded up to a multiple of 64 for matmul-friendly shapes. Meta rounds
    /// to 256 (11008 for dModel 4096): set `mlpHidden` to load such checkpoints.
    public var feedForwardWidth: Int {
        if let mlpHidden { return mlpHidden }
        switch flavor {
        case .gpt2: return 4 * dModel
        case .llama: return (8 * dModel + 3 * 64 - 1) / (3 * 64) * 64
        }
    }

    public var tiesEmbeddings: Bool { tieEmbeddings ?? (flavor == .gpt2) }
}

/// Decoder-only transformer language model, GPT-2 or Llama flavoured (nanoGPT `model.py` in spirit).
///
/// Checkpoint keys follow Hugging Face GPT2LMHeadModel / LlamaForCausalLM exactly (see `WeightNames`), so a
/// strict `load` of a converted checkpoint is a dictionary update.
public final class GPTModel: Module, SubModelRunnable {
    public let config: GPTConfig

    @Key public var tokenEmbedding: Embedding
    /// Learned absolute positions (gpt2 only; llama rotates q and k instead).
    @Key public var positionEmbedding: Embedding?
    @Key public var blocks: [any UnaryLayer]
    @Key public var finalNorm: any UnaryLayer
    /// Output projection; nil when tied to the token embedding.
    @Key public var lmHead: Linear?
    public let embeddingDropout: Dropout
    /// bert2BERT's two-stage pre-training runs a `SubModel` in its first stage; nil: every block.
    public var subModel: SubModel?

    /// The audited weight-name map: where each part lives in the Hugging Face checkpoint of the flavour.
    public struct WeightNames {
        public let tokenEmbedding: String
        /// nil: the flavour has no learned positions.
        public let positionEmbedding: String?
        public let blocks, finalNorm, lmHead: String

        public static func of(_ flavor: GPTConfig.Flavor) -> WeightNames {
            switch flavor {
            case .gpt2:
                return WeightNames(tokenEmbedding: "transformer.wte", positionEmbedding: "transformer.wpe",
                                   blocks: "transformer.h", finalNorm: "transformer.ln_f", lmHead: "lm_head")
            case .llama:
                return WeightNames(tokenEmbedding: "model.embed_tokens", positionEmbedding: nil,
                                   blocks: "model.layers", finalNorm: "model.norm", lmHead: "lm_head")
            }
        }
    }

    /// Builds the model and initialises it as GPT-2 does (`Initializer.gpt2`), drawing from `generator`.
    /// (The layers' own PyTorch-default draws are overwritten, as in nanoGPT; a seed still fixes the result.)
    public init(_ config: GPTConfig, generator: inout RandomGenerator) {
        precondition(config.dModel % config.heads == 0, "dModel \(config.dModel) is not divisible by \(config.heads) heads")
        self.config = config
        let names = WeightNames.of(config.flavor)
        let (c, eps) = (config.dModel, config.layerNormEps)
        _tokenEmbedding = Key(wrappedValue: Embedding(config.vocabSize, c, generator: &generator), names.tokenEmbedding)
        var blocks: [any UnaryLayer] = []
        switch config.flavor {
        case .gpt2:
            _positionEmbedding = Key(wrappedValue: Embedding(config.contextLength, c, generator: &generator),
                                     names.positionEmbedding!)
            for _ in 0..<config.layers {
                blocks.append(GPT2Block(dModel: c, heads: config.heads, mlpHidden: config.feedForwardWidth, eps: eps,
                                        dropout: config.dropout, generator: &generator))
            }
            _finalNorm = Key(wrappedValue: LayerNorm(c, eps: eps), names.finalNorm)
        case .llama:
            _positionEmbedding = Key(wrappedValue: nil, "")
            for _ in 0..<config.layers {
                blocks.append(LlamaBlock(dModel: c, heads: config.heads, mlpHidden: config.feedForwardWidth, eps: eps,
                                         ropeBase: config.ropeBase, dropout: config.dropout, generator: &generator))
            }
            _finalNorm = Key(wrappedValue: RMSNorm(c, eps: eps), names.finalNorm)
        }
        _blocks = Key(wrappedValue: blocks, names.blocks)
        _lmHead = Key(wrappedValue: config.tiesEmbeddings ? nil : Linear(c, config.vocabSize, bias: false, generator: &generator),
                      names.lmHead)
        embeddingDropout = Dropout(config.dropout)
        super.init()
        Initializer.gpt2(self, layers: config.layers, generator: &generator)
    }

    public convenience init(_ config: GPTConfig) { self.init(config, generator: &Random.generator) }

    /// tokens: (B, T) with T ≤ contextLength → logits: (B, T, vocabSize).
    public func forward(tokens: IntTensor) -> Tensor {
        linear(hiddenStates(tokens: tokens), weight: outputWeight)
    }

    public var blockCount: Int { blocks.count }

    /// The output projection: the token embedding when tied, else lm_head. (vocabSize, C).
    public var outputWeight: Tensor { lmHead?.weight ?? tokenEmbedding.weight }

    /// tokens: (B, T) → the final norm's output (B, T, C), the input of the output projection.
    public func hiddenStates(tokens: IntTensor) -> Tensor {
        var unused: [Tensor]? = nil
        return hiddenStates(tokens: tokens, layerOutputs: &unused)
    }

    /// tokens: (B, T) → the final norm's output (B, T, C); when `layerOutputs` is non-nil it receives the residual
    /// stream after the embeddings and after each block: L + 1 tensors (B, T, C) (latent distillation's layers).
    public func hiddenStates(tokens: IntTensor, layerOutputs: inout [Tensor]?) -> Tensor {
        precondition(tokens.shape.count == 2, "tokens must be (B, T), got \(tokens.shape)")
        let length = tokens.shape[1]
        precondition(length <= config.contextLength, "sequence of \(length) tokens exceeds the context of \(config.contextLength)")
        let x = SubModel.run(subModel, blocks: blocks.count, layerOutputs: &layerOutputs, embed: {
            var x = tokenEmbedding(tokens)                                              // (B, T, C)
            if let positionEmbedding {
                x = x + slice(positionEmbedding.weight, axis: 0, range: 0..<length)      // + (T, C)
            }
            return embeddingDropout(x)
        }, block: { index, x in blocks[index](x) })
        return finalNorm(x)
    }

    /// Mean next-token cross-entropy: tokens, targets: (B, T) → scalar. Targets equal to -100 are ignored.
    public func loss(tokens: IntTensor, targets: IntTensor) -> Tensor {
        precondition(tokens.shape == targets.shape, "tokens \(tokens.shape) and targets \(targets.shape) differ in shape")
        // The (B·T, V) logits are made and consumed chunk by chunk (linearCrossEntropy), never whole.
        return linearCrossEntropy(hiddenStates(tokens: tokens), weight: outputWeight, targets: targets)
    }
}
