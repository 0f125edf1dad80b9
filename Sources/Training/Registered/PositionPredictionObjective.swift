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
    public typealias Settings = NoSettings
    public static let kind = ObjectiveKind.positionPrediction
    public static let families: [ModelFlavor] = [.audioFrames, .bert]

    public static func problems(_ settings: NoSettings, recipe: Recipe) -> [String] {
        recipe.model.flavor == .bert || recipe.model.positions == AudioEncoderConfig.Positions.none ? []
            : ["objective position_prediction needs model.positions: none (positions in the input would give the answer away)"]
    }

    public static func make(_ settings: NoSettings, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        if let bert = backbone as? BertForMaskedLM {
            return TextPositionPrediction(model: TextPositionPredictionModel(bert: bert.bert, generator: &generator))
        }
        guard let encoder = backbone as? AudioFrameEncoder else {
            throw TrainingError("objective position_prediction needs a frame encoder or a BERT encoder")
        }
        return PositionPrediction(model: PositionPredictionModel(encoder: encoder, generator: &generator))
    }
}
