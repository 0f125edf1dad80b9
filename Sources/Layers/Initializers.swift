import Tensors

/// In-place weight initialisers. Each draws from the generator it is given, in element order, so a seed
/// fixes the result whatever the thread count.
public enum Initializer {
    public static func normal(_ tensor: Tensor, mean: Float = 0, std: Float, generator: inout RandomGenerator) {
        let p = tensor.data
        for i in 0..<tensor.count { p[i] = mean + std * generator.nextNormal() }
    }

    public static func uniform(_ tensor: Tensor, low: Float, high: Float, generator: inout RandomGenerator) {
        let p = tensor.data
        for i in 0..<tensor.count { p[i] = low + (high - low) * generator.nextFloat() }
    }

    /// Xavier/Glorot uniform (Glorot & Bengio 2010, eq. 16): U(±gain·√(6 / (fanIn + fanOut))).
    /// For a weight (out, in, k...) fanIn = in·k, fanOut = out·k, as torch.nn.init.
    public static func xavierUniform(_ tensor: Tensor, gain: Float = 1, generator: inout RandomGenerator) {
        precondition(tensor.rank >= 2, "Xavier initialisation needs a weight of rank ≥ 2, got \(tensor.shape)")
        let receptive = tensor.shape.dropFirst(2).reduce(1, *)
        let fanIn = tensor.size(1) * receptive, fanOut = tensor.size(0) * receptive
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        uniform(tensor, low: -bound, high: bound, generator: &generator)
    }

    public static func zeros(_ tensor: Tensor) { tensor.data.update(repeating: 0, count: tensor.count) }
    public static func ones(_ tensor: Tensor) { tensor.data.update(repeating: 1, count: tensor.count) }

    /// GPT-2 initialisation (Radford et al. 2019, §2.3; nanoGPT `_init_weights`): every Linear and Embedding
    /// weight N(0, std), biases 0, norms weight 1 / bias 0; the projections that write into the residual
    /// stream (`ResidualBlock.residualProjections`) N(0, std/√(2·layers)) so the residual's variance does
    /// not grow with depth. Walks the modules in declaration order.
    public static func gpt2(_ model: Module, layers: Int, std: Float = 0.02, generator: inout RandomGenerator) {
        let residual = Set(model.modules().compactMap { $0 as? ResidualBlock }
            .flatMap { $0.residualProjections }.map { ObjectIdentifier($0) })
        let residualStd = std / (2 * Float(layers)).squareRoot()
        for module in model.modules() {
            switch module {
            case let layer as Linear:
                normal(layer.weight, std: residual.contains(ObjectIdentifier(layer)) ? residualStd : std,
                       generator: &generator)
                if let bias = layer.bias { zeros(bias) }
            case let layer as Embedding:
                normal(layer.weight, std: std, generator: &generator)
            case let layer as LayerNorm:
                ones(layer.weight)
                if let bias = layer.bias { zeros(bias) }
            case let layer as RMSNorm:
                ones(layer.weight)
            default:
                break
            }
        }
    }
}

/// A block whose branches add into the residual stream through these output projections
/// (attention output and MLP output); scaled initialisers find them here.
public protocol ResidualBlock: Module {
    var residualProjections: [Linear] { get }
}
