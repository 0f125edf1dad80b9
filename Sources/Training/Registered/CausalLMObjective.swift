import Layers
import Objectives
import Tensors

extension ObjectiveKind {
    /// Next-token prediction (GPT).
    public static let causalLM = ObjectiveKind(rawValue: "causal_lm")
}

/// `objective.kind: causal_lm` — next-token prediction over token windows, for the decoders.
public enum CausalLMObjective: ObjectiveDefinition {
    public typealias Settings = NoSettings
    public static let kind = ObjectiveKind.causalLM
    public static let families: [ModelFlavor] = [.gpt2, .llama]

    public static func make(_ settings: NoSettings, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        guard let decoder = backbone as? GPTModel else { throw TrainingError("objective causal_lm needs a decoder (GPTModel)") }
        return CausalLanguageModeling(model: decoder)
    }
}
