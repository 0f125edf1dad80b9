import Layers
import Optimizers
import Tensors

/// Phoneme recognition on frozen features: layer mixture, linear head over the phonemes and a blank, CTC
/// (SUPERB's PR task), greedy decoding, phoneme error rate. The step is chosen on the dev split as in
/// `UtteranceProbe`: a linear CTC head on 120 utterances over-fits an encoder's states well before fbank's frames
/// stop improving (3000 steps: fbank's PER falls from 0.89 to 0.81 while an encoder's rises).
struct PhonemeProbe {
    struct Settings {
        var maxSteps = 3000
        var evaluateEvery = 250
        var batchSize = 8
        var learningRate: Float = 2e-2
        var weightDecay: Float = 1e-2
    }

    /// One utterance: frames interleaved as (T', C, L) and its phoneme ids (1-based; 0 is the blank).
    struct Utterance {
        var frames: [Float]
        var frameCount: Int
        var phonemes: [Int32]
    }

    /// Trains on `train` and returns the phoneme error rate on `test`, the learned layer weights and the step, all at
    /// the step of lowest dev PER.
    static func fitAndScore(train: [Utterance], dev: [Utterance], test: [Utterance], layers: Int, inventory: Int,
                            seed: UInt64, settings: Settings = Settings()) -> (per: Double, layerWeights: [Float], step: Int) {
        let dimension = train[0].frames.count / (train[0].frameCount * layers)
        let classes = inventory + 1
        let (mixture, head, optimizer) = probeParameters(layers: layers, dimension: dimension, classes: classes,
                                                         learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        func errorRate(_ utterances: [Utterance]) -> Double {
            var errors = 0, reference = 0
            for utterance in utterances {
                let scores = noGrad { logits([utterance], mixture: mixture, head: head, layers: layers, dimension: dimension) }
                let decoded = greedyDecode(scores.data, frames: utterance.frameCount, classes: classes)
                errors += editDistance(decoded, utterance.phonemes)
                reference += utterance.phonemes.count
            }
            return Double(errors) / Double(max(reference, 1))
        }
        var random = SplitMix(seed: seed)
        var best = (dev: Double.infinity, test: 1.0, weights: mixture.weights, step: 0)
        for step in 1...settings.maxSteps {
            let batch = (0..<min(settings.batchSize, train.count)).map { _ in train[Int(random.next() % UInt64(train.count))] }
            let loss = ctcLoss(logits: logits(batch, mixture: mixture, head: head, layers: layers, dimension: dimension),
                               logitLengths: batch.map(\.frameCount), targets: batch.map(\.phonemes))
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            if step % settings.evaluateEvery == 0 || step == settings.maxSteps {
                let devRate = errorRate(dev)
                if devRate < best.dev { best = (devRate, errorRate(test), mixture.weights, step) }
            }
        }
        return (best.test, best.weights, best.step)
    }

    /// (B, T_max, classes) scores of a zero-padded batch.
    private static func logits(_ batch: [Utterance], mixture: LayerMixture, head: Linear, layers: Int, dimension: Int) -> Tensor {
        let longest = batch.map(\.frameCount).max()!
        let width = dimension * layers
        var packed = [Float](repeating: 0, count: batch.count * longest * width)
        for (b, utterance) in batch.enumerated() {
            packed.replaceSubrange((b * longest * width)..<(b * longest * width + utterance.frames.count), with: utterance.frames)
        }
        let mixed = mixture(Tensor(packed, shape: [batch.count * longest, dimension, layers]))
        return head(mixed).reshaped([batch.count, longest, head.weight.shape[0]])
    }
}

/// The phonemes of `examples` in sorted order and their CTC class ids (1-based; 0 is the blank).
func phonemeIds(_ examples: [ProbeExample]) -> (inventory: [String], ids: [String: Int32]) {
    let inventory = Array(Set(examples.flatMap(\.phonemes))).sorted()
    return (inventory, Dictionary(uniqueKeysWithValues: inventory.enumerated().map { ($1, Int32($0 + 1)) }))
}

/// Best path: the most likely class of each frame, repeats merged, blanks (0) removed.
func greedyDecode(_ scores: UnsafePointer<Float>, frames: Int, classes: Int) -> [Int32] {
    var result: [Int32] = []
    var previous = -1
    for t in 0..<frames {
        let row = scores + t * classes
        let best = (0..<classes).max { row[$0] < row[$1] }!
        if best != previous && best != 0 { result.append(Int32(best)) }
        previous = best
    }
    return result
}

/// Levenshtein distance (substitutions, insertions, deletions cost 1).
func editDistance(_ a: [Int32], _ b: [Int32]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
