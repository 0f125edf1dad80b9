import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

/// `objective.beats_tokenizer:` — training BEATs' acoustic tokenizer by distillation from `teacher` (required: a
/// checkpoint of a patch encoder with the model's patches). The tokenizer's encoder is `model:`; its decoder has
/// the model's width and heads. Every other key is optional.
public struct BEATsTokenizerSection: Codable, Equatable {
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

    enum CodingKeys: String, CodingKey, CaseIterable {
        case teacher, codebookSize = "codebook_size", codeDim = "code_dim", decoderLayers = "decoder_layers", emaDecay = "ema_decay"
        case normalizeTargets = "normalize_targets"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        teacher = try c.decodeIfPresent(String.self, forKey: .teacher) ?? ""
        codebookSize = try c.decodeIfPresent(Int.self, forKey: .codebookSize)
        codeDim = try c.decodeIfPresent(Int.self, forKey: .codeDim)
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers)
        emaDecay = try c.decodeIfPresent(Float.self, forKey: .emaDecay)
        normalizeTargets = try c.decodeIfPresent(Bool.self, forKey: .normalizeTargets)
    }
}

/// `objective.beats:` — masked patch prediction (Chen et al. 2022 §2.3) of the labels of a trained BEATs
/// tokenizer: `tokenizer` (required) is a checkpoint of an objective.kind beats_tokenizer run.
public struct BEATsSection: Codable, Equatable {
    public var tokenizer = ""
    /// Fraction of each clip's patches masked (the paper: 0.75).
    public var maskRatio: Float?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case tokenizer, maskRatio = "mask_ratio" }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenizer = try c.decodeIfPresent(String.self, forKey: .tokenizer) ?? ""
        maskRatio = try c.decodeIfPresent(Float.self, forKey: .maskRatio)
    }

    public var config: MaskedPredictionConfig {
        var config = MaskedPredictionConfig()
        if let maskRatio { config.patchMaskRatio = maskRatio }
        return config
    }
}

extension Recipe {
    /// Problems of objective.beats_tokenizer and objective.beats: sections of another kind, missing paths,
    /// values out of range.
    func beatsProblems() -> [String] {
        var problems: [String] = []
        if objective.kind != .beatsTokenizer && objective.beatsTokenizer != nil {
            problems.append("objective.beats_tokenizer applies to objective.kind beats_tokenizer only")
        }
        if objective.kind != .beats && objective.beats != nil { problems.append("objective.beats applies to objective.kind beats only") }
        switch objective.kind {
        case .beatsTokenizer:
            guard let section = objective.beatsTokenizer, !section.teacher.isEmpty else {
                return problems + ["objective.beats_tokenizer.teacher is required: a checkpoint of a patch encoder (the SSL model to distil)"]
            }
            if let size = section.codebookSize, size < 2 { problems.append("objective.beats_tokenizer.codebook_size must be ≥ 2, got \(size)") }
            if let dimension = section.codeDim, dimension < 1 { problems.append("objective.beats_tokenizer.code_dim must be ≥ 1, got \(dimension)") }
            if let layers = section.decoderLayers, layers < 1 { problems.append("objective.beats_tokenizer.decoder_layers must be ≥ 1, got \(layers)") }
            if let decay = section.emaDecay, !(decay >= 0 && decay < 1) {
                problems.append("objective.beats_tokenizer.ema_decay must be in [0, 1), got \(decay)")
            }
        case .beats:
            guard let section = objective.beats, !section.tokenizer.isEmpty else {
                return problems + ["objective.beats.tokenizer is required: a checkpoint of an objective.kind beats_tokenizer run"]
            }
            if let problem = section.config.problem { problems.append("objective.beats: \(problem)") }
        default:
            break
        }
        return problems
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
            guard loaded is AudioPatchEncoder, t.featureDimension == s.featureDimension,
                  t.patchFrequency == s.patchFrequency, t.patchTime == s.patchTime else {
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
    let objective = try AudioPretraining.makeObjective(model: config.model, objective: config.objective,
                                                       checkpointWeights: weights, generator: &generator)
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
