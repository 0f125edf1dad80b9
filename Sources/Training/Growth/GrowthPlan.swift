import Layers

/// How `pretrain grow` makes a checkpoint bigger (Chen et al. 2022, "bert2BERT: Towards Reusable Pretrained
/// Language Models").
public enum GrowthMethod: String, CaseIterable, Sendable {
    /// Function-preserving initialisation (§3.1): new units copy old ones, outgoing weights are divided by the copy
    /// count. More layers: for pre-LN decoders, identity blocks (copies with zeroed output projections).
    case fpi
    /// Advanced knowledge initialisation (§3.2): as fpi, but a layer's added units copy the layer above.
    /// More layers: stacked copies (§3.3).
    case aki
    /// Width as fpi, depth by stacking copies of the layers from the bottom (StackBERT; bert2BERT §3.3).
    case stack

    /// `--method NAME`; an unknown name is an error listing the methods.
    public init(named name: String) throws {
        guard let method = GrowthMethod(rawValue: name) else {
            throw GrowthError("--method must be one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        self = method
    }
}

/// The sizes to grow to and how: `pretrain grow`'s flags.
public struct GrowthOptions: Sendable {
    public var layers: Int
    public var dModel: Int
    /// nil: d_model / the checkpoint's head dimension (growth keeps the head dimension).
    public var heads: Int?
    /// nil: the flavour's default for the new d_model when the checkpoint used its default, else the checkpoint's
    /// width scaled by d_model' / d_model.
    public var mlpHidden: Int?
    public var method: GrowthMethod
    /// Seeds the choice of which old units the added units copy.
    public var seed: UInt64

    public init(layers: Int, dModel: Int, heads: Int? = nil, mlpHidden: Int? = nil, method: GrowthMethod = .fpi,
                seed: UInt64 = 0) {
        self.layers = layers
        self.dModel = dModel
        self.heads = heads
        self.mlpHidden = mlpHidden
        self.method = method
        self.seed = seed
    }
}

/// A growth the checkpoint or the flags rule out: one line naming the flag.
public struct GrowthError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ModelSection {
    /// The feed-forward width this section builds (gpt2 and bert 4·d_model, llama ≈ 8/3·d_model, unless set).
    var feedForwardWidth: Int {
        flavor == .llama ? gptConfig(flavor: .llama).feedForwardWidth : (mlpHidden ?? 4 * dModel)
    }

    /// This section grown as `options` say: every other key (vocabulary, positions, norms, ties) kept.
    public func grown(_ options: GrowthOptions) throws -> ModelSection {
        guard [.gpt2, .llama, .bert].contains(flavor) else {
            throw GrowthError("model.flavor \(flavor.rawValue) cannot be grown: only gpt2, llama and bert checkpoints")
        }
        guard options.layers >= layers else {
            throw GrowthError("--layers \(options.layers) is fewer than the checkpoint's \(layers): growth only adds layers")
        }
        guard options.dModel >= dModel else {
            throw GrowthError("--d-model \(options.dModel) is smaller than the checkpoint's \(dModel): growth only widens")
        }
        let headDimension = dModel / heads
        let newHeads = options.heads ?? options.dModel / headDimension
        guard newHeads >= 1 else { throw GrowthError("--heads must be at least 1, got \(newHeads)") }
        guard options.dModel % newHeads == 0 else {
            throw GrowthError("--heads \(newHeads) does not divide --d-model \(options.dModel)")
        }
        guard options.dModel / newHeads == headDimension else {
            throw GrowthError("--heads \(newHeads) with --d-model \(options.dModel) gives a head dimension of "
                + "\(options.dModel / newHeads), the checkpoint's is \(headDimension): growth keeps the head dimension"
                + (options.dModel % headDimension == 0 ? " (--heads \(options.dModel / headDimension))" : ""))
        }
        if options.method == .fpi && flavor == .bert && options.layers > layers {
            throw GrowthError("--method fpi cannot add layers to a bert checkpoint: its layers are post-LN, so a layer "
                + "with zeroed output projections computes LayerNorm(LayerNorm(x)), not x; add them with --method stack or aki")
        }
        var grown = self
        (grown.layers, grown.dModel, grown.heads) = (options.layers, options.dModel, newHeads)
        if let width = options.mlpHidden {
            grown.mlpHidden = width
        } else if let width = mlpHidden {
            guard width * options.dModel % dModel == 0 else {
                throw GrowthError("the checkpoint's mlp_hidden \(width) does not scale to --d-model \(options.dModel): set --mlp-hidden")
            }
            grown.mlpHidden = width * options.dModel / dModel
        }
        guard grown.feedForwardWidth >= feedForwardWidth else {
            throw GrowthError("--mlp-hidden \(grown.feedForwardWidth) is smaller than the checkpoint's \(feedForwardWidth): growth only widens")
        }
        return grown
    }
}
