import Layers
import Tensors

/// Next-token prediction (GPT): every position predicts the token after it.
/// tokens: (B, T+1) → inputs tokens[:, :-1], targets tokens[:, 1:]; loss = mean cross-entropy over B·T positions.
public final class CausalLanguageModeling: PretrainingObjective {
    public let decoder: GPTModel
    public var model: Module { decoder }

    public init(model: GPTModel) { decoder = model }
    public var predictsNextToken: Bool { true }

    public func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        precondition(tokens.shape.count == 2 && tokens.shape[1] >= 2, "causal LM needs (B, T+1) windows, got \(tokens.shape)")
        let width = tokens.shape[1]
        let inputs = tokens.columns(0..<(width - 1)), targets = tokens.columns(1..<width)
        return (decoder.loss(tokens: inputs, targets: targets), targets.count)
    }
}
