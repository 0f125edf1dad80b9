import AudioData
import Foundation
import Tensors

/// The score of one representation on one task over several probe seeds.
public struct ProbeResult: Codable, Equatable {
    public var task: ProbeTask
    public var representation: String
    /// "accuracy" (ks, sid, lid; higher is better) or "per" (pr; lower is better).
    public var metric: String
    public var labelsPerClass: Int
    public var trainUtterances: [Int]
    public var testUtterances: Int
    public var scores: [Double]
    public var mean: Double
    public var std: Double
    /// Softmax layer weights learned by each seed's probe.
    public var layerWeights: [[Float]]
    /// The training step each seed's probe was scored at (best on dev); nil in results written before dev selection.
    public var selectedSteps: [Int]?

    enum CodingKeys: String, CodingKey {
        case task, representation, metric, scores, mean, std
        case labelsPerClass = "labels_per_class", trainUtterances = "train_utterances"
        case testUtterances = "test_utterances", layerWeights = "layer_weights", selectedSteps = "selected_steps"
    }
}

/// Runs a probe task on a representation: for each seed, a labelled subset of the training split (the first
/// `labelsPerClass` utterances of each class in a seeded order; for `pr`, `labelsPerClass` × 12 utterances),
/// trains the probe, picks its step on the whole dev split, scores the whole test split. Hidden states are computed
/// once per utterance.
public final class ProbeRunner {
    public let corpus: URL
    public var log: (String) -> Void = { _ in }
    /// (utterances encoded, utterances the task encodes): the forward passes of the frozen representation are most
    /// of a probe's time.
    public var progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    /// Only the corpus lines these accept (a probe on one group of speakers, `--where gender=female`).
    public var filters: [ManifestFilter] = []
    private var cache: [URL: [Tensor]] = [:]
    private var toEncode = 0

    public init(corpus: URL) { self.corpus = corpus }

    public func run(_ task: ProbeTask, representation: SpeechRepresentation, labelsPerClass: Int,
                    seeds: [UInt64]) throws -> ProbeResult {
        precondition(labelsPerClass >= 1 && !seeds.isEmpty, "labelsPerClass ≥ 1 and at least one seed")
        cache = [:]
        let splits = try task.examples(corpus: corpus, filters: filters)
        let trainPool = splits["train"]!   // `examples` throws unless train and test are there
        guard var dev = splits["dev"], !dev.isEmpty else {
            throw ProbeDataError("\(corpus.path): subset '\(task.subset)' needs dev utterances to choose the probe's step "
                + "(found \(splits.mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        }
        if let fbank = representation as? FeatureRepresentation {
            // Normalisation statistics from the task's training audio (labels are not needed for them).
            try fbank.fitNormalization(trainPool.map { try Waveform(contentsOf: $0.audio) })
        }
        let classes = Array(Set(trainPool.map(\.label))).sorted()
        var test = splits["test"]!
        if task.isUtteranceClassification {
            // A class no training utterance has cannot be predicted (a MIDI note the random draws left out of train):
            // its dev and test utterances are left out, and said so.
            let known = Set(classes)
            let (devCount, testCount) = (dev.count, test.count)
            dev.removeAll { !known.contains($0.label) }
            test.removeAll { !known.contains($0.label) }
            if dev.count < devCount || test.count < testCount {
                log("\(task.rawValue): \(devCount - dev.count) dev and \(testCount - test.count) test utterances of classes absent from "
                    + "the training split left out")
            }
            guard !dev.isEmpty, !test.isEmpty else {
                throw ProbeDataError("\(corpus.path): no dev or test utterance of subset '\(task.subset)' has a class of its training split")
            }
        }
        let trainSets = seeds.map { seed in
            task == .pr
                ? Array(labelledSubset(trainPool.map { var e = $0; e.label = ""; return e }, perClass: labelsPerClass * 12, seed: seed))
                : labelledSubset(trainPool, perClass: labelsPerClass, seed: seed)
        }
        toEncode = Set((trainSets.joined() + dev + test).map(\.audio)).count
        var scores: [Double] = [], weights: [[Float]] = [], trainCounts: [Int] = [], steps: [Int] = []
        for (seed, train) in zip(seeds, trainSets) {
            trainCounts.append(train.count)
            let outcome = try score(task, representation, train: train, dev: dev, test: test, classes: classes, seed: seed)
            scores.append(outcome.score)
            weights.append(outcome.weights)
            steps.append(outcome.step)
            log(String(format: "%@ %@ seed %llu: %@ %.4f (%d train, step %d best of %d dev, %d test)", task.rawValue,
                       representation.name, seed, task == .pr ? "PER" : "accuracy", outcome.score, train.count,
                       outcome.step, dev.count, test.count))
        }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let std = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(scores.count - 1, 1))).squareRoot()
        return ProbeResult(task: task, representation: representation.name, metric: task == .pr ? "per" : "accuracy",
                           labelsPerClass: labelsPerClass, trainUtterances: trainCounts, testUtterances: test.count,
                           scores: scores, mean: mean, std: std, layerWeights: weights, selectedSteps: steps)
    }

    private func hidden(_ example: ProbeExample, _ representation: SpeechRepresentation) throws -> [Tensor] {
        if let cached = cache[example.audio] { return cached }
        let waveform = try Waveform(contentsOf: example.audio)
        let states = try noGrad { try representation.hiddenStates(waveform) }
        if let first = states.first, first.rank == 2, first.shape[0] == 0 {
            throw ProbeDataError("\(example.audio.path): too short for one frame of the representation (\(waveform.samples.count) samples)")
        }
        guard states.count == representation.layerCount, let first = states.first, first.rank == 2, first.shape[0] > 0 else {
            throw ProbeDataError("\(example.audio.path): the representation gave \(states.count) layers, expected \(representation.layerCount) of (frames, \(representation.dimension))")
        }
        cache[example.audio] = states
        progress(cache.count, toEncode)
        return states
    }

    private func score(_ task: ProbeTask, _ representation: SpeechRepresentation, train: [ProbeExample],
                       dev: [ProbeExample], test: [ProbeExample], classes: [String],
                       seed: UInt64) throws -> (score: Double, weights: [Float], step: Int) {
        let layers = representation.layerCount
        Random.generator = RandomGenerator(seed: seed)
        if task.isUtteranceClassification {
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            func pairs(_ examples: [ProbeExample]) throws -> [(pooled: [Float], label: Int)] {
                try examples.map { example in
                    guard let label = index[example.label] else {
                        throw ProbeDataError("\(example.audio.path): class '\(example.label)' does not occur in the training split")
                    }
                    return (UtteranceProbe.pooled(try hidden(example, representation)), label)
                }
            }
            let result = UtteranceProbe.fitAndScore(train: try pairs(train), dev: try pairs(dev), test: try pairs(test),
                                                    layers: layers, classes: classes.count)
            return (result.accuracy, result.layerWeights, result.step)
        }
        let (inventory, ids) = phonemeIds(train + dev + test)
        func utterances(_ examples: [ProbeExample]) throws -> [PhonemeProbe.Utterance] {
            try examples.map { example in
                let states = try hidden(example, representation)
                return PhonemeProbe.Utterance(frames: interleavedLayers(states), frameCount: states[0].shape[0],
                                              phonemes: example.phonemes.map { ids[$0]! })
            }
        }
        let result = PhonemeProbe.fitAndScore(train: try utterances(train), dev: try utterances(dev), test: try utterances(test),
                                              layers: layers, inventory: inventory.count, seed: seed)
        return (result.per, result.layerWeights, result.step)
    }
}
