import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// SSAST: masked patch modelling.
    public static let ssast = ObjectiveKind(rawValue: "ssast")
}

/// `objective.kind: ssast` — SSAST (Gong et al. 2022): masked patches classified against negatives (InfoNCE) and
/// reconstructed, for the patch encoder.
public enum SSASTObjective: ObjectiveDefinition {
    public typealias Settings = SSASTSection
    public static let kind = ObjectiveKind.ssast
    public static let settingsKey: String? = "ssast"
    public static let families: [ModelFlavor] = [.audioPatches]

    public static func problems(_ settings: SSASTSection, recipe: Recipe) -> [String] {
        settings.config.problem.map { ["objective.ssast: \($0)"] } ?? []
    }

    public static func make(_ settings: SSASTSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioPatchEncoder else { throw TrainingError("objective ssast needs a patch encoder") }
        return SSAST(model: SSASTModel(encoder: encoder, generator: &generator), config: settings.config)
    }
}

/// `objective.ssast:` — SSAST's masking and loss weights (see SSASTConfig); every key optional.
public struct SSASTSection: RecipeSection {
    public var maskRatio: Float?
    public var clusterFactor: Int?
    public var generativeWeight: Float?
    public var negatives: SSASTConfig.Negatives?

    public init() {}

    public static let keys: [RecipeKey<SSASTSection>] = [
        .init("mask_ratio", \.maskRatio), .init("cluster_factor", \.clusterFactor),
        .init("generative_weight", \.generativeWeight), .init("negatives", choice: \.negatives),
    ]

    public var config: SSASTConfig {
        var config = SSASTConfig()
        if let maskRatio { config.maskRatio = maskRatio }
        if let clusterFactor { config.clusterFactor = clusterFactor }
        if let generativeWeight { config.generativeWeight = generativeWeight }
        if let negatives { config.negatives = negatives }
        return config
    }
}

extension ObjectiveSection {
    public var ssast: SSASTSection? {
        get { settings(of: SSASTObjective.self) }
        set { setSettings(newValue, of: SSASTObjective.self) }
    }
}
