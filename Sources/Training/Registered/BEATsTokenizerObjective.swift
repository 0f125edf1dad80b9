import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

extension ObjectiveKind {
    /// BEATs' acoustic tokenizer, trained by distillation from a teacher checkpoint.
    public static let beatsTokenizer = ObjectiveKind(rawValue: "beats_tokenizer")
}

/// `objective.kind: beats_tokenizer` — BEATs' acoustic tokenizer (Chen et al. 2022 §2.2): a patch encoder and an
/// L2-normalised EMA codebook, trained so that a decoder of its codes predicts a frozen teacher's features.
public enum BEATsTokenizerObjective: ObjectiveDefinition {
    public typealias Settings = BEATsTokenizerSection
    public static let kind = ObjectiveKind.beatsTokenizer
    public static let settingsKey: String? = "beats_tokenizer"
    public static let families: [ModelFlavor] = [.audioPatches]

    public static func problems(_ section: BEATsTokenizerSection, recipe: Recipe) -> [String] {
        guard !section.teacher.isEmpty else {
            return ["objective.beats_tokenizer.teacher is required: a checkpoint of a patch encoder (the SSL model to distil)"]
        }
        var problems: [String] = []
        if let size = section.codebookSize, size < 2 { problems.append("objective.beats_tokenizer.codebook_size must be ≥ 2, got \(size)") }
        if let dimension = section.codeDim, dimension < 1 { problems.append("objective.beats_tokenizer.code_dim must be ≥ 1, got \(dimension)") }
        if let layers = section.decoderLayers, layers < 1 { problems.append("objective.beats_tokenizer.decoder_layers must be ≥ 1, got \(layers)") }
        if let decay = section.emaDecay, !(decay >= 0 && decay < 1) {
            problems.append("objective.beats_tokenizer.ema_decay must be in [0, 1), got \(decay)")
        }
        return problems
    }

    public static func make(_ settings: BEATsTokenizerSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioPatchEncoder else { throw TrainingError("objective beats_tokenizer needs a patch encoder") }
        guard context.checkpointWeights != nil || !settings.teacher.isEmpty else {
            throw TrainingError("objective.beats_tokenizer.teacher is required")
        }
        return try AudioPretraining.beatsTokenizerObjective(settings, encoder: encoder, checkpointWeights: context.checkpointWeights,
                                                            generator: &generator)
    }
}

/// `objective.beats_tokenizer:` — training BEATs' acoustic tokenizer by distillation from `teacher` (required: a
/// checkpoint of a patch encoder with the model's patches). The tokenizer's encoder is `model:`; its decoder has
/// the model's width and heads. Every other key is optional.
public struct BEATsTokenizerSection: RecipeSection {
    public var teacher = ""
    /// Codes and their dimension (the paper: 1024 × 256).
    public var codebookSize: Int?
    public var codeDim: Int?
    /// BERT layers of the decoder (the paper's estimator: 3).
    public var decoderLayers: Int?
    /// Weight of the old code in each EMA step (0.99).
    public var emaDecay: Float?
    /// Instance-normalise the teacher's features per clip and channel before the cosine (data2vec's targets);
    /// nil: false, the paper's raw last layer.
    public var normalizeTargets: Bool?

    public init() {}

    public static let defaultCodebookSize = 256, defaultCodeDim = 64, defaultDecoderLayers = 2
    public static let defaultEMADecay: Float = 0.99

    public static let keys: [RecipeKey<BEATsTokenizerSection>] = [
        .init("teacher", \.teacher), .init("codebook_size", \.codebookSize), .init("code_dim", \.codeDim),
        .init("decoder_layers", \.decoderLayers), .init("ema_decay", \.emaDecay), .init("normalize_targets", \.normalizeTargets),
    ]
}

extension ObjectiveSection {
    public var beatsTokenizer: BEATsTokenizerSection? {
        get { settings(of: BEATsTokenizerObjective.self) }
        set { setSettings(newValue, of: BEATsTokenizerObjective.self) }
    }
}

extension AudioPretraining {
    /// The tokenizer-training objective of `objective.beats_tokenizer` around `encoder` (the tokenizer's own). With
    /// `checkpointWeights` the decoder's output width comes from them and the teacher is not loaded.
    static func beatsTokenizerObjective(_ section: BEATsTokenizerSection, encoder: AudioPatchEncoder,
                                        checkpointWeights: URL?, generator: inout RandomGenerator) throws -> BEATsTokenizerTraining {
        let teacher: AudioEncoder?
        let targetDimension: Int
        if let checkpointWeights {
            let shape = try SafeTensorsFile(contentsOf: checkpointWeights).info("decoder.output.weight").shape
            guard shape.count == 2 else { throw CheckpointError("\(checkpointWeights.path): decoder.output.weight must be (D, C), got \(shape)") }
            (teacher, targetDimension) = (nil, shape[0])
        } else {
            let loaded = try loadAudioEncoder(URL(fileURLWithPath: section.teacher)).encoder
            let (t, s) = (loaded.config, encoder.config)
            guard loaded.hasSamePositions(as: encoder) else {
                throw TrainingError("objective.beats_tokenizer.teacher \(section.teacher): not a patch encoder with the model's "
                    + "feature_dim and patch size (\(s.featureDimension) bins, \(s.patchFrequency)×\(s.patchTime) patches); "
                    + "its features would not line up with the tokenizer's patches")
            }
            guard t.maxFrames >= s.maxFrames else {
                throw TrainingError("objective.beats_tokenizer.teacher \(section.teacher) covers \(t.maxFrames) frames, fewer than model.context \(s.maxFrames)")
            }
            (teacher, targetDimension) = (loaded, t.hiddenSize)
        }
        let tokenizer = BEATsTokenizer(encoder: encoder,
                                       codebookSize: section.codebookSize ?? BEATsTokenizerSection.defaultCodebookSize,
                                       codeDimension: section.codeDim ?? BEATsTokenizerSection.defaultCodeDim,
                                       emaDecay: section.emaDecay ?? BEATsTokenizerSection.defaultEMADecay, generator: &generator)
        let c = encoder.config
        let decoder = BEATsFeatureDecoder(codeDimension: tokenizer.codeDimension, hiddenSize: c.hiddenSize, heads: c.heads,
                                          layers: section.decoderLayers ?? BEATsTokenizerSection.defaultDecoderLayers,
                                          intermediateSize: c.intermediateSize, positions: encoder.positionTable.size(0),
                                          targetDimension: targetDimension, eps: c.layerNormEps, generator: &generator)
        return BEATsTokenizerTraining(model: BEATsTokenizerModel(tokenizer: tokenizer, decoder: decoder), teacher: teacher,
                                      normalizeTargets: section.normalizeTargets ?? false)
    }
}
