import Layers
import Optimizers
import Tensors

/// An utterance classifier on frozen features: layer mixture, mean over time, linear head, cross-entropy.
/// Mean pooling commutes with the (linear) layer mixture, so each utterance is pooled once per layer up front.
/// As SUPERB, the step is chosen on the dev split: a fixed budget under-fits some representations (fbank at 300
/// steps) and over-fits others, so every `evaluateEvery` steps the dev accuracy is measured and the test score of
/// the best dev step (the earliest on ties) is reported.
public struct UtteranceProbe {
    struct Settings {
        var maxSteps = 3000
        var evaluateEvery = 50
        var learningRate: Float = 5e-3
        var weightDecay: Float = 1e-2
    }

    typealias Example = (pooled: [Float], label: Int)

    /// Time average of every layer, interleaved as (C, L).
    public static func pooled(_ hidden: [Tensor]) -> [Float] {
        let frames = hidden[0].shape[0], width = hidden[0].shape[1] * hidden.count
        let frameValues = interleavedLayers(hidden)
        var average = [Float](repeating: 0, count: width)
        for t in 0..<frames { for i in 0..<width { average[i] += frameValues[t * width + i] } }
        let scale = 1 / Float(max(frames, 1))
        return average.map { $0 * scale }
    }

    /// Trains on (pooled, class) pairs and returns the test accuracy, the learned layer weights and the step, all at
    /// the step of best dev accuracy.
    static func fitAndScore(train: [Example], dev: [Example], test: [Example], layers: Int, classes: Int,
                            settings: Settings = Settings()) -> (accuracy: Double, layerWeights: [Float], step: Int) {
        let dimension = train[0].pooled.count / layers
        let (mixture, head, optimizer) = probeParameters(layers: layers, dimension: dimension, classes: classes,
                                                         learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        let inputs = Tensor(train.flatMap(\.pooled), shape: [train.count, dimension, layers])
        let targets = IntTensor(train.map { Int32($0.label) }, shape: [train.count])
        let devInputs = Tensor(dev.flatMap(\.pooled), shape: [dev.count, dimension, layers])
        let testInputs = Tensor(test.flatMap(\.pooled), shape: [test.count, dimension, layers])
        func accuracy(_ inputs: Tensor, _ examples: [Example]) -> Double {
            let logits = noGrad { head(mixture(inputs)) }
            var correct = 0
            for (row, example) in examples.enumerated() {
                let scores = logits.data + row * classes
                if (0..<classes).max(by: { scores[$0] < scores[$1] })! == example.label { correct += 1 }
            }
            return Double(correct) / Double(examples.count)
        }
        var best = (dev: -1.0, test: 0.0, weights: mixture.weights, step: 0)
        for step in 1...settings.maxSteps {
            let loss = crossEntropy(head(mixture(inputs)), targets: targets)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            if step % settings.evaluateEvery == 0 || step == settings.maxSteps {
                let devAccuracy = accuracy(devInputs, dev)
                if devAccuracy > best.dev { best = (devAccuracy, accuracy(testInputs, test), mixture.weights, step) }
            }
        }
        return (best.test, best.weights, best.step)
    }
}
