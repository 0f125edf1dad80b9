import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// Position prediction: name each frame's position from content alone.
    public static let positionPrediction = ObjectiveKind(rawValue: "position_prediction")
}

/// `objective.kind: position_prediction` — position prediction (Zhai et al. 2022) for the frame encoder, which must
/// be made without positions (`model.positions: none`), and for BERT over token windows, whose position table the
/// objective zeroes and freezes.
public enum PositionPredictionObjective: ObjectiveDefinition {
    public typealias Settings = PositionPredictionSection
    public static let kind = ObjectiveKind.positionPrediction
    public static let settingsKey: String? = "position_prediction"
    public static let families: [ModelFlavor] = [.audioFrames, .bert]

    public static func problems(_ settings: PositionPredictionSection, recipe: Recipe) -> [String] {
        var problems = recipe.model.flavor == .bert || recipe.model.positions == AudioEncoderConfig.Positions.none ? []
            : ["objective position_prediction needs model.positions: none (positions in the input would give the answer away)"]
        if !(settings.keyMaskRatio >= 0 && settings.keyMaskRatio < 1) {
            problems.append("objective.position_prediction.key_mask_ratio must be in [0, 1), got \(settings.keyMaskRatio)")
        } else if settings.keyMaskRatio > 0 && recipe.model.flavor == .bert {
            problems.append("objective.position_prediction.key_mask_ratio applies to the frame encoder (audio_frames), not to bert")
        }
        return problems
    }

    public static func make(_ settings: PositionPredictionSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        if let bert = backbone as? BertForMaskedLM {
            return TextPositionPrediction(model: TextPositionPredictionModel(bert: bert.bert, generator: &generator))
        }
        guard let encoder = backbone as? AudioFrameEncoder else {
            throw TrainingError("objective position_prediction needs a frame encoder or a BERT encoder")
        }
        return PositionPrediction(model: PositionPredictionModel(encoder: encoder, generator: &generator),
                                  keyMaskRatio: settings.keyMaskRatio)
    }
}

/// `objective.position_prediction:` — the share of each crop's positions left out of the keys (0: none).
public struct PositionPredictionSection: RecipeSection {
    public var keyMaskRatio: Float = 0

    public init() {}

    public static let keys: [RecipeKey<PositionPredictionSection>] = [.init("key_mask_ratio", \.keyMaskRatio)]
}
