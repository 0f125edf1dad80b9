import Foundation
import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// HuBERT: masked prediction of k-means labels.
    public static let hubert = ObjectiveKind(rawValue: "hubert")
}

/// `objective.kind: hubert` — HuBERT (Hsu et al. 2021): masked prediction of k-means labels of the frames' cepstra
/// or of a teacher layer, for either audio encoder.
public enum HuBERTObjective: ObjectiveDefinition {
    public typealias Settings = HuBERTSection
    public static let kind = ObjectiveKind.hubert
    public static let settingsKey: String? = "hubert"
    public static let families: [ModelFlavor] = [.audioFrames, .audioPatches]

    public static func problems(_ settings: HuBERTSection, recipe: Recipe) -> [String] {
        guard !settings.centroids.isEmpty else { return ["objective.hubert.centroids is required: a file from pretrain kmeans"] }
        var problems: [String] = []
        if (settings.teacher == nil) != (settings.layer == nil) {
            problems.append("objective.hubert.teacher and layer go together (a checkpoint and which of its layers the centroids cluster)")
        }
        if settings.teacher == nil && recipe.model.flavor == .audioPatches {
            problems.append("objective.hubert without a teacher clusters per-frame cepstra, which label audio_frames positions only")
        }
        return problems + settings.maskingProblems("objective.hubert", flavor: recipe.model.flavor)
    }

    public static func backboneOptions(_ settings: HuBERTSection, model: ModelSection) -> BackboneOptions {
        BackboneOptions(maskEmbedding: true)
    }

    public static func make(_ settings: HuBERTSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioEncoder else { throw TrainingError("objective hubert needs an audio encoder") }
        guard context.checkpointWeights != nil || !settings.centroids.isEmpty else {
            throw TrainingError("objective.hubert.centroids is required")
        }
        let tokenizer = try AudioPretraining.hubertTokenizer(settings, student: encoder, checkpointWeights: context.checkpointWeights)
        return try maskedPrediction(encoder: encoder, tokenizer: tokenizer, masking: settings.config, name: "hubert",
                                    generator: &generator)
    }
}

/// `objective.hubert:` — the masking and the k-means targets. `centroids` is required: a file from `pretrain kmeans`;
/// with `teacher` (a checkpoint) and `layer` the centroids cluster that layer's output, without them the cepstra
/// of the frames.
public struct HuBERTSection: RecipeSection, MaskingKeys {
    public var maskProb: Float?
    public var spanLength: Int?
    public var maskRatio: Float?
    public var centroids = ""
    public var teacher: String?
    public var layer: Int?

    public init() {}

    public static let keys: [RecipeKey<HuBERTSection>] = [
        .init("mask_prob", \.maskProb), .init("span_length", \.spanLength), .init("mask_ratio", \.maskRatio),
        .init("centroids", \.centroids), .init("teacher", \.teacher), .init("layer", \.layer),
    ]
}

extension ObjectiveSection {
    public var hubert: HuBERTSection? {
        get { settings(of: HuBERTObjective.self) }
        set { setSettings(newValue, of: HuBERTObjective.self) }
    }
}
