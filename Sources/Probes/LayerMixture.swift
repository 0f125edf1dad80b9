import Layers
import Optimizers
import Tensors

/// SUPERB's learnable weighted sum of a frozen model's layers: softmax(w)·[h_0 … h_{L−1}], w initialised equal.
public final class LayerMixture {
    public let logits: Tensor   // (L)

    public init(layers: Int) {
        logits = Tensor(zeros: [layers], requiresGrad: true)
    }

    /// hidden: (N, C, L), each value's layers side by side → (N, C).
    public func callAsFunction(_ hidden: Tensor) -> Tensor {
        let (rows, dimension, layers) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        let weights = softmax(logits.reshaped([1, layers])).reshaped([layers, 1])
        return matmul(hidden, weights).reshaped([rows, dimension])
    }

    public var weights: [Float] { noGrad { softmax(logits).scalars } }
}

/// Frames of every layer interleaved as (T', C, L), the layout `LayerMixture` multiplies.
/// hidden: L tensors of shape (T', C).
public func interleavedLayers(_ hidden: [Tensor]) -> [Float] {
    let layers = hidden.count, frames = hidden[0].shape[0], dimension = hidden[0].shape[1]
    var result = [Float](repeating: 0, count: frames * dimension * layers)
    for (l, layer) in hidden.enumerated() {
        precondition(layer.shape == [frames, dimension], "layer \(l) has shape \(layer.shape), layer 0 \(hidden[0].shape)")
        let source = layer.data
        for i in 0..<(frames * dimension) { result[i * layers + l] = source[i] }
    }
    return result
}

/// What every probe learns: the layer mixture and a zero-initialised linear head over `classes`, with AdamW on both.
func probeParameters(layers: Int, dimension: Int, classes: Int, learningRate: Float,
                     weightDecay: Float) -> (LayerMixture, Linear, AdamW) {
    let mixture = LayerMixture(layers: layers)
    let head = Linear(dimension, classes, generator: &Random.generator)
    noGrad {
        head.weight.data.update(repeating: 0, count: head.weight.count)
        if let bias = head.bias { bias.data.update(repeating: 0, count: bias.count) }
    }
    let parameters = [(name: "layer_weights", tensor: mixture.logits)] + head.namedParameters()
    let optimizer = AdamW(groups: [ParameterGroup(parameters: parameters, weightDecay: weightDecay)],
                          learningRate: learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    return (mixture, head, optimizer)
}
