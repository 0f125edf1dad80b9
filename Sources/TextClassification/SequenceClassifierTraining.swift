import Layers
import Optimizers
import Tensors
import TextTasks

/// One text as the classifier reads it: its token ids (special tokens added, truncated) and its class index.
public struct EncodedExample: Equatable, Sendable {
    public var ids: [Int32]
    public var label: Int

    public init(ids: [Int32], label: Int) {
        precondition(!ids.isEmpty, "an encoded text has at least one token")
        self.ids = ids
        self.label = label
    }
}

/// How a classifier is fine-tuned.
public struct SequenceClassifierSettings: Equatable, Sendable {
    /// Updates (when `epochs` is nil).
    public var steps = 200
    /// Passes over the training examples; when set, steps = epochs × ⌈train / batchSize⌉.
    public var epochs: Int?
    public var batchSize = 8
    /// Peak learning rate; nil: 5e-5 for full fine-tuning, 1e-3 for a linear probe.
    public var learningRate: Float?
    /// Linear warmup over this fraction of the updates, then linear decay to 0 (transformers' linear schedule).
    public var warmupFraction: Float = 0.1
    /// AdamW's decoupled decay of matrices (not of biases and norm gains).
    public var weightDecay: Float = 0.01
    public var maxGradientNorm: Float = 1
    /// Updates between dev evaluations (nil: a twentieth of the updates); the last update is always evaluated.
    public var evaluateEvery: Int?
    /// Train the head alone on the frozen backbone's pooled states (computed once, under `noGrad`).
    public var linearProbe = false
    /// Texts per forward pass when evaluating (and when a probe computes its features).
    public var evaluationBatchSize = 32

    public init() {}

    /// What is wrong with the settings, naming the command-line flag; nil when they can run.
    public var problem: String? {
        if steps < 1 { return "--steps must be ≥ 1, got \(steps)" }
        if let epochs, epochs < 1 { return "--epochs must be ≥ 1, got \(epochs)" }
        if batchSize < 1 { return "--batch-size must be ≥ 1, got \(batchSize)" }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { return "--lr must be a positive number, got \(learningRate)" }
        if !(0..<1).contains(warmupFraction) { return "the warmup fraction must be in [0, 1), got \(warmupFraction)" }
        if let evaluateEvery, evaluateEvery < 1 { return "--eval-every must be ≥ 1, got \(evaluateEvery)" }
        return nil
    }

    public var peakLearningRate: Float { learningRate ?? (linearProbe ? 1e-3 : 5e-5) }

    public func totalSteps(trainExamples: Int) -> Int {
        guard let epochs else { return steps }
        return epochs * ((trainExamples + batchSize - 1) / batchSize)
    }
}

/// The dev accuracy measured at one update.
public struct DevPoint: Codable, Equatable, Sendable {
    public var step: Int
    public var accuracy: Double
    /// Mean training loss over the updates since the previous evaluation.
    public var trainLoss: Double

    enum CodingKeys: String, CodingKey { case step, accuracy, trainLoss = "train_loss" }
}

/// Dev and test scores of a classifier before its first update (`fit(evaluateBeforeTraining:)`): for a prompt-based
/// classifier of a pre-trained model, its zero-shot prediction.
public struct StepZeroScores: Codable, Equatable, Sendable {
    public var dev: ClassificationScore
    public var test: ClassificationScore
}

/// A fine-tuning's result at its best dev step.
public struct SequenceClassifierOutcome: Equatable, Sendable {
    /// The update whose weights the classifier holds now: best dev accuracy, the earliest on ties (0: the classifier as
    /// it started, when it was evaluated before training).
    public var bestStep: Int
    public var steps: Int
    public var dev: ClassificationScore
    public var test: ClassificationScore
    public var devCurve: [DevPoint]
    public var testPredictions: [Int]
    /// The scores before the first update, when they were measured.
    public var stepZero: StepZeroScores?
}

/// Fine-tunes a `SequenceClassifier` on encoded examples (Devlin et al. 2019, §4.1; Gao et al. 2021, LM-BFF, for the
/// few-shot protocol): cross-entropy, AdamW with linear warmup and decay, global-norm clipping, shuffled batches
/// padded to their longest text. Every `evaluateEvery` updates the dev accuracy is measured; the weights of the best
/// dev step are kept (as the speech probes choose their step) and restored at the end, and the test split is scored
/// with them. A linear probe freezes the backbone (it stays frozen) and trains only the head on pooled states computed
/// once.
/// Everything random — the batch order, dropout — follows `seed` (the head is drawn by whoever builds the classifier),
/// so a seed gives the same result. `onEvaluation` sees each dev evaluation while the classifier holds that step's
/// weights. With `evaluateBeforeTraining` (a classifier that is already one before training: a prompt-based one, or
/// one fine-tuned before) dev and test are scored before the first update too, and step 0 is a candidate for the best
/// dev step; `onEvaluation` sees it as step 0 (train loss 0: none yet), which the dev curve leaves out.
/// `shouldStop` is asked before every update (an interrupt); when it answers true the fit throws `FineTuningStopped`.
public enum SequenceClassifierTraining {
    public static func fit(_ classifier: SequenceClassifier, train: [EncodedExample], dev: [EncodedExample],
                           test: [EncodedExample], padToken: Int32, settings: SequenceClassifierSettings,
                           seed: UInt64, evaluateBeforeTraining: Bool = false, shouldStop: () -> Bool = { false },
                           onEvaluation: (DevPoint, _ isBest: Bool) -> Void = { _, _ in }) throws
        -> SequenceClassifierOutcome {
        precondition(settings.problem == nil, settings.problem ?? "")
        precondition(!train.isEmpty && !dev.isEmpty && !test.isEmpty, "train, dev and test examples")
        let labels = classifier.labelCount
        precondition((train + dev + test).allSatisfy { (0..<labels).contains($0.label) }, "labels in 0..<\(labels)")
        Random.generator = RandomGenerator(seed: seed &+ 0x5EED)                 // dropout
        var order = BatchOrder(count: train.count, seed: seed)
        let steps = settings.totalSteps(trainExamples: train.count)
        let evaluateEvery = settings.evaluateEvery ?? max(1, steps / 20)
        let warmup = Int((Float(steps) * settings.warmupFraction).rounded())
        let schedule = LearningRateSchedule.wsd(maxLR: settings.peakLearningRate, minLR: 0, warmup: warmup, stable: 0,
                                                decay: steps - warmup)

        if settings.linearProbe { classifier.backbone.freeze() }
        let optimizer = AdamW(groups: ParameterGroup.decayByRank(classifier, weightDecay: settings.weightDecay),
                              learningRate: settings.peakLearningRate)
        let trained = optimizer.parameters
        // A probe's backbone is fixed: its pooled states are computed once, in evaluation mode.
        var features: (train: Tensor, dev: Tensor, test: Tensor)?
        if settings.linearProbe {
            classifier.eval()
            let pool = { (examples: [EncodedExample]) in
                pooledStates(classifier, examples, padToken: padToken, batchSize: settings.evaluationBatchSize)
            }
            features = (pool(train), pool(dev), pool(test))
        }
        func predictions(_ examples: [EncodedExample], _ pooled: Tensor?) -> [Int] {
            classifier.eval()
            defer { classifier.train() }
            if let pooled { return argmax(noGrad { classifier.head(pooled) }) }
            return batches(examples.count, settings.evaluationBatchSize).flatMap { range in
                argmax(noGrad { classifier.logits(padded(examples[range], padToken)) })
            }
        }

        var best: (step: Int, accuracy: Double, weights: [Tensor]) = (0, -1, [])
        var stepZero: StepZeroScores?
        if evaluateBeforeTraining {
            let truth = (dev: dev.map(\.label), test: test.map(\.label))
            stepZero = StepZeroScores(
                dev: ClassificationScore(predicted: predictions(dev, features?.dev), truth: truth.dev, classes: labels),
                test: ClassificationScore(predicted: predictions(test, features?.test), truth: truth.test, classes: labels))
            best = (0, stepZero!.dev.accuracy, trained.map { $0.copy() })
            onEvaluation(DevPoint(step: 0, accuracy: stepZero!.dev.accuracy, trainLoss: 0), true)
        }
        classifier.train()
        var curve: [DevPoint] = [], lossSum = 0.0, lossCount = 0
        for step in 1...steps {
            if shouldStop() { throw FineTuningStopped(step: step - 1, steps: steps) }
            optimizer.learningRate = schedule.learningRate(at: step - 1)
            let rows = order.next(settings.batchSize)
            let targets = IntTensor(rows.map { Int32(train[$0].label) }, shape: [rows.count])
            let logits = features.map { classifier.head(gatherRows($0.train, rows)) }
                ?? classifier.logits(padded(rows.map { train[$0] }, padToken))
            let loss = crossEntropy(logits, targets: targets)
            lossSum += Double(loss.item)
            lossCount += 1
            optimizer.zeroGrad()
            loss.backward()
            // A non-finite gradient (an overflow) skips the update rather than writing NaN into every weight.
            if clipGradNorm(trained, maxNorm: settings.maxGradientNorm).isFinite { optimizer.step() }
            guard step % evaluateEvery == 0 || step == steps else { continue }
            let accuracy = ClassificationScore(predicted: predictions(dev, features?.dev), truth: dev.map(\.label), classes: labels).accuracy
            curve.append(DevPoint(step: step, accuracy: accuracy, trainLoss: lossSum / Double(lossCount)))
            (lossSum, lossCount) = (0, 0)
            let improved = accuracy > best.accuracy
            if improved { best = (step, accuracy, trained.map { $0.copy() }) }
            onEvaluation(curve.last!, improved)
        }
        for (parameter, saved) in zip(trained, best.weights) { parameter.data.update(from: saved.data, count: parameter.count) }
        let devPredictions = predictions(dev, features?.dev), testPredictions = predictions(test, features?.test)
        classifier.eval()
        return SequenceClassifierOutcome(
            bestStep: best.step, steps: steps,
            dev: ClassificationScore(predicted: devPredictions, truth: dev.map(\.label), classes: labels),
            test: ClassificationScore(predicted: testPredictions, truth: test.map(\.label), classes: labels),
            devCurve: curve, testPredictions: testPredictions, stepZero: stepZero)
    }

    /// Class logits (N, labels) of `examples` in evaluation mode, `batchSize` texts per forward pass.
    public static func logits(_ classifier: SequenceClassifier, _ examples: [EncodedExample], padToken: Int32,
                              batchSize: Int = 32) -> [[Float]] {
        classifier.eval()
        return batches(examples.count, batchSize).flatMap { range -> [[Float]] in
            let logits = noGrad { classifier.logits(padded(examples[range], padToken)) }
            let values = logits.scalars, width = classifier.labelCount
            return (0..<range.count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
        }
    }

    /// The backbone's pooled states (N, C) of `examples`, in evaluation mode.
    static func pooledStates(_ classifier: SequenceClassifier, _ examples: [EncodedExample], padToken: Int32,
                             batchSize: Int) -> Tensor {
        let parts = batches(examples.count, batchSize).map { range in
            noGrad { classifier.pooledStates(padded(examples[range], padToken)) }
        }
        return parts.count == 1 ? parts[0] : concat(parts, axis: 0)
    }

    static func padded<C: Collection>(_ examples: C, _ padToken: Int32) -> PaddedTokens where C.Element == EncodedExample {
        PaddedTokens(examples.map(\.ids), padToken: padToken)
    }

    static func batches(_ count: Int, _ size: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    /// Rows of a (N, C) tensor as (rows.count, C), without recording (the probe's features need no gradient).
    static func gatherRows(_ matrix: Tensor, _ rows: [Int]) -> Tensor {
        let width = matrix.size(1)
        let out = Tensor(uninitialized: [rows.count, width])
        for (index, row) in rows.enumerated() { (out.data + index * width).update(from: matrix.data + row * width, count: width) }
        return out
    }

    /// (N, labels) → each row's largest class (the first on ties).
    static func argmax(_ logits: Tensor) -> [Int] {
        let (n, width) = (logits.size(0), logits.size(1))
        return (0..<n).map { row in
            let values = logits.data + row * width
            return (0..<width).reduce(0) { values[$1] > values[$0] ? $1 : $0 }
        }
    }
}

/// The training examples' order: a seeded permutation per epoch, drawn afresh when one is used up.
struct BatchOrder {
    private var generator: RandomGenerator
    private var permutation: [Int] = []
    private var cursor = 0
    let count: Int

    init(count: Int, seed: UInt64) {
        self.count = count
        generator = RandomGenerator(seed: seed)
    }

    /// The next `size` example indices (a batch may span two epochs).
    mutating func next(_ size: Int) -> [Int] {
        (0..<size).map { _ in
            if cursor == permutation.count {
                permutation = Array(0..<count)
                for index in stride(from: count - 1, to: 0, by: -1) {
                    permutation.swapAt(index, generator.nextInt(below: index + 1))
                }
                cursor = 0
            }
            defer { cursor += 1 }
            return permutation[cursor]
        }
    }
}
