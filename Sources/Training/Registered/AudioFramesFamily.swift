import Layers
import Tensors

extension ModelFlavor {
    /// Audio encoder over (stacked) feature frames, TERA/HuBERT style.
    public static let audioFrames = ModelFlavor(rawValue: "audio_frames")
}

/// `model.flavor: audio_frames` — a Transformer over (stacked) fbank frames (AudioFrameEncoder) on feature crops.
public enum AudioFramesFamily: ModelFamily {
    public static let flavor = ModelFlavor.audioFrames
    public static let dataForm: any DataForm.Type = FeatureCrops.self
    public static let keys: Set<String> = ["feature_dim", "frame_stack", "positions", "conv_position_kernel", "conv_position_groups",
                                              "block", "conformer_kernel", "target_dim"]

    public static func problems(_ model: ModelSection) -> [String] {
        var problems = model.audioProblems() + model.blockProblems()
        let config = model.audioEncoderConfig(featureDimension: model.featureDim ?? 1)
        if config.frameStack < 1 || model.context % config.frameStack != 0 {
            problems.append("model.frame_stack (\(config.frameStack)) must be ≥ 1 and divide model.context (\(model.context))")
        }
        if config.positions == .convolutional { problems += model.convolutionalPositionProblems() }
        return problems
    }

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        AudioFrameEncoder(try model.resolvedAudioEncoderConfig(), maskEmbedding: options.maskEmbedding, generator: &generator)
    }
}

extension ModelSection {
    /// The audio encoder this section describes, for features of `featureDimension` bins.
    public func audioEncoderConfig(featureDimension: Int) -> AudioEncoderConfig {
        AudioEncoderConfig(featureDimension: featureDimension, hiddenSize: dModel, layers: layers, heads: heads,
                           intermediateSize: mlpHidden, maxFrames: context, frameStack: frameStack ?? 1,
                           patchFrequency: patchFrequency ?? 16, patchTime: patchTime ?? 16,
                           positions: positions ?? .learned,
                           convolutionKernel: convPositionKernel ?? 32, convolutionGroups: convPositionGroups ?? 16,
                           layerNormEps: normEps ?? 1e-12, dropout: dropout, block: block ?? .bert,
                           conformerKernel: conformerKernel ?? 15)
    }

    /// The audio encoder configuration once the feature dimension is resolved from the corpus.
    func resolvedAudioEncoderConfig() throws -> AudioEncoderConfig {
        guard let featureDim else { throw TrainingError("model.feature_dim is unresolved (it comes from data.features' corpus.json)") }
        return audioEncoderConfig(featureDimension: featureDim)
    }

    /// Problems every audio family shares.
    func audioProblems() -> [String] {
        var problems: [String] = []
        if let featureDim, featureDim < 1 { problems.append("model.feature_dim must be ≥ 1, got \(featureDim)") }
        return problems
    }

    /// Problems of the Transformer body's layers: a Conformer's kernel is odd and its rotary heads even.
    func blockProblems() -> [String] {
        guard block == .conformer else {
            return conformerKernel == nil ? [] : ["model.conformer_kernel applies to block: conformer only"]
        }
        var problems: [String] = []
        if let kernel = conformerKernel, kernel < 1 || kernel % 2 == 0 {
            problems.append("model.conformer_kernel must be odd and ≥ 1 (\"same\" padding), got \(kernel)")
        }
        if heads >= 1, dModel % heads == 0, (dModel / heads) % 2 != 0 {
            problems.append("block: conformer rotates each head's dimensions in pairs: d_model / heads (\(dModel / heads)) must be even")
        }
        return problems
    }

    /// Problems of the convolutional position embedding's kernel and groups.
    func convolutionalPositionProblems() -> [String] {
        let config = audioEncoderConfig(featureDimension: 1)
        guard config.convolutionKernel < 1 || config.convolutionGroups < 1 || dModel % config.convolutionGroups != 0 else { return [] }
        return ["model.conv_position_kernel must be ≥ 1 and model.conv_position_groups must divide model.d_model (\(dModel))"]
    }
}
