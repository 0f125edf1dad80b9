import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors

extension ObjectiveKind {
    /// MERT: masked prediction of RVQ codes and reconstruction of constant-Q frames, with in-batch mixtures.
    public static let mert = ObjectiveKind(rawValue: "mert")
}

/// `objective.kind: mert` — MERT (Li et al. 2023) over fbank frames (audio_frames): the acoustic teacher is an RVQ
/// of the stacked frames (`objective.mert.rvq`, from `pretrain rvq`), the musical teacher the constant-Q frames of
/// `data.targets` (`pretrain features prepare --kind cqt`), and crops are mixed with segments of other crops.
public enum MERTObjective: ObjectiveDefinition {
    public typealias Settings = MERTSection
    public static let kind = ObjectiveKind.mert
    public static let settingsKey: String? = "mert"
    public static let families: [ModelFlavor] = [.audioFrames]

    public static func problems(_ settings: MERTSection, recipe: Recipe) -> [String] {
        var problems = settings.config.problem.map { ["objective.mert: \($0)"] } ?? []
        if settings.rvq.isEmpty { problems.append("objective.mert.rvq is required: a file from pretrain rvq") }
        if settings.config.cqtWeight > 0, recipe.data.targets == nil {
            problems.append("objective.mert.cqt_weight > 0 reconstructs constant-Q frames: data.targets must name them "
                + "(pretrain features prepare IN --kind cqt), or set cqt_weight: 0")
        }
        return problems
    }

    public static func backboneOptions(_ settings: MERTSection, model: ModelSection) -> BackboneOptions {
        BackboneOptions(maskEmbedding: true)
    }

    public static func make(_ settings: MERTSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        let config = settings.config
        if let problem = config.problem { throw TrainingError("objective.mert: \(problem)") }
        guard let encoder = backbone as? AudioFrameEncoder else { throw TrainingError("objective mert needs a frame encoder") }
        let teacher: RVQTeacher.File
        if let weights = context.checkpointWeights {
            // Rebuilding a checkpoint: only the shapes; the strict load fills the values.
            let file = try SafeTensorsFile(contentsOf: weights)
            let shape = try file.info("rvq.codebooks").shape, bins = try file.info("normalization.mean").shape
            guard shape.count == 3 else { throw TrainingError("\(weights.path): rvq.codebooks must be (N, K, D), got \(shape)") }
            teacher = RVQTeacher.File(quantizer: ResidualVectorQuantizer(codebooks: Tensor(zeros: shape)), mean: Tensor(zeros: bins),
                                      std: Tensor(zeros: bins), frameStack: encoder.config.frameStack, metadata: [:])
        } else {
            teacher = try RVQTeacher.read(URL(fileURLWithPath: settings.rvq))
        }
        let (f, k) = (encoder.config.featureDimension, encoder.config.frameStack)
        guard teacher.frameStack == k, teacher.mean.count == f else {
            throw TrainingError("objective.mert.rvq (\(settings.rvq)) quantises \(teacher.frameStack) stacked frames of \(teacher.mean.count) "
                + "bins; the model stacks \(k) frames of \(f) (model.frame_stack, the feature corpus)")
        }
        let model = MERTModel(encoder: encoder, rvq: teacher.quantizer, cqtBins: config.cqtWeight > 0 ? (context.model.targetDim ?? 0) : 0,
                              mean: teacher.mean, std: teacher.std, generator: &generator)
        if config.cqtWeight > 0, model.cqtBins == 0 {
            throw TrainingError("objective.mert.cqt_weight > 0 but the batches carry no constant-Q frames (data.targets)")
        }
        return MERT(model: model, config: config)
    }
}

/// `objective.mert:` — `rvq` (required: a file from pretrain rvq), the loss weights, the mixture and the masking.
public struct MERTSection: RecipeSection {
    public var rvq = ""
    public var acousticWeight: Float?
    public var cqtWeight: Float?
    public var mixProbability: Float?
    public var mixAttenuation: Float?
    public var maskProb: Float?
    public var spanLength: Int?

    public init() {}

    public static let keys: [RecipeKey<MERTSection>] = [
        .init("rvq", \.rvq), .init("acoustic_weight", \.acousticWeight), .init("cqt_weight", \.cqtWeight),
        .init("mix_probability", \.mixProbability), .init("mix_attenuation", \.mixAttenuation),
        .init("mask_prob", \.maskProb), .init("span_length", \.spanLength),
    ]

    public var config: MERTConfig {
        var config = MERTConfig()
        if let acousticWeight { config.acousticWeight = acousticWeight }
        if let cqtWeight { config.cqtWeight = cqtWeight }
        if let mixProbability { config.mixProbability = mixProbability }
        if let mixAttenuation { config.mixAttenuation = mixAttenuation }
        if let maskProb { config.maskProbability = maskProb }
        if let spanLength { config.spanLength = spanLength }
        return config
    }
}

extension ObjectiveSection {
    public var mert: MERTSection? {
        get { settings(of: MERTObjective.self) }
        set { setSettings(newValue, of: MERTObjective.self) }
    }
}
