import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// TERA: reconstruction of altered frames.
    public static let tera = ObjectiveKind(rawValue: "tera")
}

/// `objective.kind: tera` — TERA (Liu et al. 2021): L1 reconstruction of frames altered in time, frequency and
/// magnitude, for the frame encoder.
public enum TERAObjective: ObjectiveDefinition {
    public typealias Settings = TERASection
    public static let kind = ObjectiveKind.tera
    public static let settingsKey: String? = "tera"
    public static let families: [ModelFlavor] = [.audioFrames]

    public static func problems(_ settings: TERASection, recipe: Recipe) -> [String] {
        settings.config.problem.map { ["objective.tera: \($0)"] } ?? []
    }

    public static func make(_ settings: TERASection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let encoder = backbone as? AudioFrameEncoder else { throw TrainingError("objective tera needs a frame encoder") }
        return TERA(model: TERAModel(encoder: encoder, generator: &generator), config: settings.config)
    }
}

/// `objective.tera:` — TERA's alterations (see TERAConfig); every key optional, nil: the paper's settings.
public struct TERASection: RecipeSection {
    public var timeMaskRate: Float?
    public var spanLength: Int?
    public var zeroFraction: Float?
    public var randomFraction: Float?
    public var maxFrequencyMaskFraction: Float?
    public var noiseProbability: Float?
    public var noiseStd: Float?

    public init() {}

    public static let keys: [RecipeKey<TERASection>] = [
        .init("time_mask_rate", \.timeMaskRate), .init("span_length", \.spanLength), .init("zero_fraction", \.zeroFraction),
        .init("random_fraction", \.randomFraction), .init("max_frequency_mask_fraction", \.maxFrequencyMaskFraction),
        .init("noise_probability", \.noiseProbability), .init("noise_std", \.noiseStd),
    ]

    public var config: TERAConfig {
        var config = TERAConfig()
        if let timeMaskRate { config.timeMaskRate = timeMaskRate }
        if let spanLength { config.spanLength = spanLength }
        if let zeroFraction { config.zeroFraction = zeroFraction }
        if let randomFraction { config.randomFraction = randomFraction }
        if let maxFrequencyMaskFraction { config.maxFrequencyMaskFraction = maxFrequencyMaskFraction }
        if let noiseProbability { config.noiseProbability = noiseProbability }
        if let noiseStd { config.noiseStd = noiseStd }
        return config
    }
}

extension ObjectiveSection {
    public var tera: TERASection? {
        get { settings(of: TERAObjective.self) }
        set { setSettings(newValue, of: TERAObjective.self) }
    }
}
