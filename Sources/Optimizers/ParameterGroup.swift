import Layers
import Tensors

/// Parameters that share optimiser settings (e.g. no weight decay for biases, norms and gains).
public struct ParameterGroup {
    public var parameters: [(name: String, tensor: Tensor)]
    public var weightDecay: Float
    /// Multiplies the optimiser's learning rate for this group.
    public var learningRateScale: Float

    public init(parameters: [(name: String, tensor: Tensor)], weightDecay: Float, learningRateScale: Float = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// The GPT-2/nanoGPT rule: matrices and embeddings (rank ≥ 2) decay; biases and norm gains (rank < 2) do not.
    /// Frozen parameters are left out.
    public static func decayByRank(_ model: Module, weightDecay: Float) -> [ParameterGroup] {
        let trainable = model.namedParameters().filter { $0.tensor.requiresGrad }
        return [
            ParameterGroup(parameters: trainable.filter { $0.tensor.rank >= 2 }, weightDecay: weightDecay),
            ParameterGroup(parameters: trainable.filter { $0.tensor.rank < 2 }, weightDecay: 0),
        ]
    }
}

/// An optimiser updates parameters from their gradients; its state can be saved by name for checkpoints.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    var groups: [ParameterGroup] { get }
    /// Number of updates taken so far.
    var stepCount: Int { get }
    /// One update from the gradients multiplied by `gradientScale` (clipping's coefficient, folded into the update
    /// instead of a pass that rescales every gradient first; the gradients themselves are left as they are).
    func step(gradientScale: Float)
    /// Optimiser state as named tensors (for checkpoints) and back.
    func stateTensors() -> [String: Tensor]
    func loadState(_ state: [String: Tensor], stepCount: Int) throws
}

extension Optimizer {
    /// One update from the gradients as they are.
    public func step() { step(gradientScale: 1) }

    public var parameters: [Tensor] { groups.flatMap { $0.parameters.map { $0.tensor } } }
    public func zeroGrad() { for parameter in parameters { parameter.zeroGrad() } }
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
