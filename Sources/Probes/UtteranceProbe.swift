import Layers
import Optimizers
import Tensors

/// An utterance classifier on frozen features: layer mixture, mean over time, linear head, cross-entropy.
/// Mean pooling commutes with the (linear) layer mixture, so each utterance is pooled once per layer up front.
struct UtteranceProbe {
    struct Settings {
        var steps = 300
        var learningRate: Float = 5e-3
        var weightDecay: Float = 1e-2
    }

    /// Time average of every layer, interleaved as (C, L).
    static func pooled(_ hidden: [Tensor]) -> [Float] {
        let frames = hidden[0].shape[0], width = hidden[0].shape[1] * hidden.count
        let frameValues = interleavedLayers(hidden)
        var average = [Float](repeating: 0, count: width)
        for t in 0..<frames { for i in 0..<width { average[i] += frameValues[t * width + i] } }
        let scale = 1 / Float(max(frames, 1))
        return average.map { $0 * scale }
    }

    /// Trains on (pooled, class) pairs and returns the test accuracy and the learned layer weights.
    static func fitAndScore(train: [(pooled: [Float], label: Int)], test: [(pooled: [Float], label: Int)],
                            layers: Int, classes: Int, settings: Settings = Settings()) -> (accuracy: Double, layerWeights: [Float]) {
        let dimension = train[0].pooled.count / layers
        let (mixture, head, optimizer) = probeParameters(layers: layers, dimension: dimension, classes: classes,
                                                         learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        let inputs = Tensor(train.flatMap(\.pooled), shape: [train.count, dimension, layers])
        let targets = IntTensor(train.map { Int32($0.label) }, shape: [train.count])
        for _ in 0..<settings.steps {
            let loss = crossEntropy(head(mixture(inputs)), targets: targets)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        let logits = noGrad { head(mixture(Tensor(test.flatMap(\.pooled), shape: [test.count, dimension, layers]))) }
        var correct = 0
        for (row, example) in test.enumerated() {
            let scores = logits.data + row * classes
            if (0..<classes).max(by: { scores[$0] < scores[$1] })! == example.label { correct += 1 }
        }
        return (Double(correct) / Double(test.count), mixture.weights)
    }
}
