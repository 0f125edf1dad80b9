import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

extension ObjectiveKind {
    /// BEATs: masked patch prediction of a trained tokenizer's labels.
    public static let beats = ObjectiveKind(rawValue: "beats")
}

/// `objective.kind: beats` — BEATs' masked patch prediction (Chen et al. 2022 §2.3) of the labels of a trained
/// tokenizer (`objective.beats.tokenizer`, a beats_tokenizer checkpoint).
public enum BEATsObjective: ObjectiveDefinition {
    public typealias Settings = BEATsSection
    public static let kind = ObjectiveKind.beats
    public static let settingsKey: String? = "beats"
    public static let families: [ModelFlavor] = [.audioPatches]

    public static func problems(_ section: BEATsSection, recipe: Recipe) -> [String] {
        guard !section.tokenizer.isEmpty else {
            return ["objective.beats.tokenizer is required: a checkpoint of an objective.kind beats_tokenizer run"]
        }
        return section.config.problem.map { ["objective.beats: \($0)"] } ?? []
    }

    public static func make(_ settings: BEATsSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioPatchEncoder else { throw TrainingError("objective beats needs a patch encoder") }
        guard context.checkpointWeights != nil || !settings.tokenizer.isEmpty else { throw TrainingError("objective.beats.tokenizer is required") }
        let tokenizer = try AudioPretraining.beatsTokenizer(settings, student: encoder, checkpointWeights: context.checkpointWeights)
        return try maskedPrediction(encoder: encoder, tokenizer: tokenizer, masking: settings.config, name: "beats", generator: &generator)
    }
}

/// `objective.beats:` — masked patch prediction (Chen et al. 2022 §2.3) of the labels of a trained BEATs
/// tokenizer: `tokenizer` (required) is a checkpoint of an objective.kind beats_tokenizer run.
public struct BEATsSection: RecipeSection {
    public var tokenizer = ""
    /// Fraction of each clip's patches masked (the paper: 0.75).
    public var maskRatio: Float?

    public init() {}

    public static let keys: [RecipeKey<BEATsSection>] = [.init("tokenizer", \.tokenizer), .init("mask_ratio", \.maskRatio)]

    public var config: MaskedPredictionConfig {
        var config = MaskedPredictionConfig()
        if let maskRatio { config.patchMaskRatio = maskRatio }
        return config
    }
}

extension ObjectiveSection {
    public var beats: BEATsSection? {
        get { settings(of: BEATsObjective.self) }
        set { setSettings(newValue, of: BEATsObjective.self) }
    }
}

extension AudioPretraining {
    /// The tokenizer of `objective.beats` for `student`: loaded from the tokenizer checkpoint it names, or, with
    /// `checkpointWeights` (a masked-prediction checkpoint), shaped after the `tokenizer.` tensors stored there.
    static func beatsTokenizer(_ section: BEATsSection, student: AudioEncoder, checkpointWeights: URL?) throws -> BEATsTokenizer {
        let tokenizer: BEATsTokenizer
        let source: String
        if let checkpointWeights {
            tokenizer = try tokenizerShaped(after: checkpointWeights, student: student.config)
            source = checkpointWeights.path
        } else {
            tokenizer = try loadBEATsTokenizer(URL(fileURLWithPath: section.tokenizer))
            source = section.tokenizer
        }
        guard tokenizer.fits(student: student) else {
            let t = tokenizer.encoder.config
            throw TrainingError("\(source): the tokenizer cuts \(t.patchFrequency)×\(t.patchTime) patches of \(t.featureDimension) bins "
                + "over \(t.maxFrames) frames; the model needs audio_patches of its patch size and feature_dim and at most that context")
        }
        return tokenizer
    }

    /// A tokenizer with the shapes of the `tokenizer.` tensors of a weights file (its heads do not change the
    /// shapes: one is used, so labels need the real tokenizer; probes need only the student's encoder).
    static func tokenizerShaped(after weights: URL, student: AudioEncoderConfig) throws -> BEATsTokenizer {
        let file = try SafeTensorsFile(contentsOf: weights)
        func shape(_ name: String) throws -> [Int] {
            guard file.names.contains("tokenizer." + name) else { throw CheckpointError("\(weights.path): no tensor tokenizer.\(name)") }
            return try file.info("tokenizer." + name).shape
        }
        let embedding = try shape("encoder.patch_embedding.weight"), positions = try shape("encoder.position_embeddings")
        let codebook = try shape("quantize.embedding.weight"), intermediate = try shape("encoder.layers.0.intermediate.dense.weight")
        let layers = Set(file.names.compactMap { name -> Int? in
            guard name.hasPrefix("tokenizer.encoder.layers.") else { return nil }
            return Int(name.dropFirst("tokenizer.encoder.layers.".count).prefix { $0 != "." })
        }).count
        let rows = student.featureDimension / student.patchFrequency
        guard embedding.count == 2, embedding[1] == student.patchFrequency * student.patchTime, codebook.count == 2,
              positions.count == 2, positions[0] % rows == 0 else {
            throw CheckpointError("\(weights.path): tokenizer tensors of other patches than the model's "
                + "(patch_embedding \(embedding), position_embeddings \(positions))")
        }
        var config = student
        (config.hiddenSize, config.layers, config.heads, config.intermediateSize) = (embedding[0], layers, 1, intermediate[0])
        config.maxFrames = positions[0] / rows * student.patchTime
        var generator = RandomGenerator(seed: 0)
        return BEATsTokenizer(encoder: AudioPatchEncoder(config, generator: &generator), codebookSize: codebook[0],
                              codeDimension: codebook[1], generator: &generator)
    }
}

/// The trained tokenizer of a BEATs tokenizer checkpoint (a checkpoint directory or a run directory's newest),
/// frozen and in evaluation mode. Throws naming the checkpoint when it is of another kind.
public func loadBEATsTokenizer(_ url: URL) throws -> BEATsTokenizer {
    let directory = try Checkpoint.resolve(url)
    let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
    guard config.objective.kind == .beatsTokenizer, config.model.flavor == .audioPatches else {
        throw CheckpointError("\(directory.path): a checkpoint of objective.kind \(config.objective.kind.rawValue), "
            + "not a BEATs tokenizer (objective.kind beats_tokenizer)")
    }
    var generator = RandomGenerator(seed: 0)
    let weights = directory.appendingPathComponent(Checkpoint.modelFile)
    let objective = try makeModelAndObjective(model: config.model, objective: config.objective,
                                              context: ObjectiveContext(model: config.model, checkpointWeights: weights),
                                              generator: &generator)
    do {
        try objective.model.load(contentsOf: weights)
    } catch {
        throw CheckpointError("\(weights.path): \(error)")
    }
    let tokenizer = (objective as! BEATsTokenizerTraining).tokenizerModel.tokenizer
    tokenizer.eval()
    tokenizer.freeze()
    return tokenizer
}
