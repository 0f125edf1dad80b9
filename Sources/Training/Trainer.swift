import AudioData
import Foundation
import Layers
import Objectives
import Optimizers
import SafeTensors
import Tensors

/// How a run begins.
public enum TrainingStart {
    /// New weights from the seed, step 0.
    case fresh
    /// The run directory's newest complete checkpoint: weights, optimiser moments, step, data position and every
    /// random stream, so that the continuation equals an uninterrupted run bit for bit.
    case resume
    /// Weights only from a checkpoint (or a run directory's newest one); new optimiser, schedule from step 0, new
    /// data order: continual pre-training on new data, with the schedule's warmup as the rewarming.
    case initFrom(URL)
    /// Like `initFrom`, with weights read elsewhere (a Hugging Face directory); `source` names them in messages.
    case initFromWeights(source: String, weights: [String: Tensor])
    /// Everything `resume` restores, from this checkpoint of another run, continued in a new run directory (with
    /// the recipe's schedule): `pretrain anneal` branches an infinite-schedule run this way without touching it.
    case branch(from: URL)

    var isResume: Bool {
        if case .resume = self { return true }
        return false
    }
}

/// How a call to `Trainer.run` ended.
public struct TrainingSummary {
    /// The step reached.
    public var step: Int
    /// True when the run reached `train.steps`; false when it stopped early (`stopAfter`, an interrupt).
    public var finished: Bool
    /// The evaluation of the last step, when there was one.
    public var evaluation: Evaluation?
    /// The checkpoint written last.
    public var checkpoint: URL?
}

/// Training stopped because updates kept failing; the last good checkpoint is kept.
public struct TrainingStopped: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The pre-training loop: micro-batches from a TokenBatcher, gradient accumulation, clipping, AdamW with the
/// recipe's schedule, periodic evaluation, metrics and atomic checkpoints.
///
/// Random streams, each seeded from `train.seed` and saved in every checkpoint: model initialisation, window
/// offsets, the objective's masks, and `Random.generator` (dropout).
public final class Trainer {
    /// What the trainer asks for a loss: a token objective (windows of token ids) or a feature objective (crops).
    public enum Objective {
        case tokens(PretrainingObjective)
        case features(FeaturePretrainingObjective)
    }

    public let recipe: Recipe
    public let runDirectory: URL
    public let corpus: TrainingCorpus
    public let model: Module
    public let objective: Objective
    public let optimizer: AdamW
    public let windows: TrainingWindows
    public let schedule: LearningRateSchedule
    public private(set) var state: TrainerState
    public let console: ConsoleProgress
    public let checkpoints: CheckpointStore
    /// Polled after every step; true stops the run with a checkpoint (the CLI sets it on Ctrl-C).
    public var shouldStop: () -> Bool = { false }

    private let metrics: MetricsLog
    /// The same rows as events for `tensorboard --logdir RUN`.
    private let tensorBoard: TensorBoardWriter
    private let validationBatches: [[IntTensor]]
    /// Audio runs: the validation crops of periodic evaluations.
    private let featureValidationBatches: [FeatureBatch]
    private let trainableParameters: [Tensor]
    /// The learning-curve shape of the run this one was initialised from (fitted once, at the first forecast).
    lazy var forecastPrior: LearningCurvePrior? = state.initializedFrom
        .flatMap { RunLearningCurve.annealingPrior(ofRunSaving: URL(fileURLWithPath: $0)) }

    /// Seeds of the random streams, derived from `train.seed` (SplitMix in RandomGenerator decorrelates them).
    enum Stream: UInt64 { case initialization = 0, data = 1, objective = 2, dropout = 3, mixture = 4 }
    static func seed(_ base: UInt64, _ stream: Stream) -> UInt64 { base &+ stream.rawValue &* 0x9E37_79B9_7F4A_7C15 }

    /// Prepares a run in `runDirectory` (created if needed). `makeObjective` wraps the model in the objective;
    /// nil: the recipe's (`TrainingObjectives.make`).
    public init(recipe: Recipe, runDirectory: URL, corpus: TrainingCorpus, start: TrainingStart = .fresh,
                console: ConsoleProgress = ConsoleProgress(),
                makeObjective: ((Module) throws -> PretrainingObjective)? = nil) throws {
        var recipe = recipe
        let vocabulary = recipe.model.vocabSize ?? corpus.vocabularySize
        if recipe.model.flavor == .audioWaveform {
            guard corpus.waveforms != nil else {
                throw TrainingError("model.flavor audio_waveform trains on waveforms (data.waveforms); this corpus holds "
                    + (corpus.features == nil ? "tokens" : "features"))
            }
            recipe.model.featureDim = 1
        } else if recipe.model.flavor.isAudio {
            guard let features = corpus.features else {
                throw TrainingError("model.flavor \(recipe.model.flavor.rawValue) trains on a feature corpus (data.features); "
                    + "this corpus holds tokens")
            }
            if let dimension = recipe.model.featureDim, dimension != features.dimension {
                throw TrainingError("model.feature_dim is \(dimension) but the feature corpus has \(features.dimension) bins per "
                    + "frame (\(features.directory.appendingPathComponent(FeatureCorpusInfo.fileName).path))")
            }
            recipe.model.featureDim = features.dimension
        } else {
            let largest = corpus.largestTokenID()
            guard largest < vocabulary else {
                throw TrainingError("the corpus holds token id \(largest), outside model.vocab_size \(vocabulary)")
            }
            recipe.model.vocabSize = vocabulary
        }
        try recipe.validate()
        self.recipe = recipe
        self.runDirectory = runDirectory
        self.corpus = corpus
        self.console = console
        checkpoints = CheckpointStore(runDirectory: runDirectory)
        if let threads = recipe.train.threads { Runtime.configure(threads: threads) }

        try createDirectory(runDirectory)
        let resumeFrom = checkpoints.completeCheckpoints().last
        if !start.isResume, let existing = resumeFrom {
            throw TrainingError("\(runDirectory.path) already holds checkpoints (newest: \(existing.url.lastPathComponent)); "
                + "continue it with --resume, start it afresh with --overwrite, or choose another --run-dir")
        }
        if start.isResume && resumeFrom == nil {
            throw TrainingError("\(runDirectory.path): nothing to resume, no complete checkpoint in \(checkpoints.directory.path)")
        }
        checkpoints.removeAbandonedPartials()

        let seed = recipe.train.seed
        var initialization = RandomGenerator(seed: Self.seed(seed, .initialization))
        if recipe.model.flavor.isAudio {
            let audio = try AudioPretraining.makeObjective(model: recipe.model, objective: recipe.objective,
                                                           generator: &initialization)
            model = audio.model
            objective = .features(audio)
        } else {
            model = recipe.model.makeModel(vocabularySize: vocabulary, generator: &initialization)
            objective = .tokens(try makeObjective?(model) ?? TrainingObjectives.make(recipe: recipe, model: model, corpus: corpus))
        }
        optimizer = AdamW(groups: ParameterGroup.decayByRank(model, weightDecay: recipe.optim.weightDecay),
                          learningRate: recipe.optim.lr, beta1: recipe.optim.betas[0], beta2: recipe.optim.betas[1],
                          epsilon: recipe.optim.eps)
        trainableParameters = optimizer.parameters
        windows = try Self.makeWindows(recipe: recipe, corpus: corpus, seed: seed)
        schedule = try recipe.learningRateSchedule()
        state = TrainerState(schedule: schedule, batcher: windows.singleState, mixture: windows.mixtureState,
                             objectiveRandom: RandomState(RandomGenerator(seed: Self.seed(seed, .objective))),
                             dropoutRandom: RandomState(RandomGenerator(seed: Self.seed(seed, .dropout))))
        state.featureBatcher = windows.featureState

        switch start {
        case .fresh:
            break
        case .resume, .branch:
            let checkpoint: URL
            if case .branch(let source) = start { checkpoint = try Checkpoint.resolve(source) } else { checkpoint = resumeFrom!.url }
            try Self.loadWeights(model, from: checkpoint, expected: CheckpointConfig(model: recipe.model, objective: recipe.objective))
            var restored = try TrainerState.read(checkpoint.appendingPathComponent(Checkpoint.stateFile))
            let moments = try loadSafetensors(checkpoint.appendingPathComponent(Checkpoint.optimizerFile))
            try optimizer.loadState(moments, stepCount: restored.optimizerSteps)
            try windows.restore(batcher: restored.batcher, mixture: restored.mixture, features: restored.featureBatcher,
                                checkpoint: checkpoint)
            restored.schedule = schedule
            if case .branch = start { restored.branchedFrom = checkpoint.path }
            state = restored
        case .initFrom(let source):
            let checkpoint = try Checkpoint.resolve(source)
            try Self.loadWeights(model, from: checkpoint, expected: CheckpointConfig(model: recipe.model, objective: recipe.objective))
            state.initializedFrom = checkpoint.path
        case let .initFromWeights(source, weights):
            do {
                try model.load(weights)
            } catch {
                throw TrainingError("the weights of \(source) do not fit the recipe's model: \(error)")
            }
            state.initializedFrom = source
        }
        metrics = try MetricsLog(url: runDirectory.appendingPathComponent("metrics.jsonl"), keepingThrough: state.step)
        tensorBoard = try TensorBoardWriter(directory: runDirectory, restartStep: start.isResume ? state.step + 1 : nil)
        try writeFileAtomically(Data(try recipe.yaml().utf8), to: runDirectory.appendingPathComponent("recipe.yaml"))

        let evalBatches = recipe.train.evalBatches
        validationBatches = ([corpus.validation] + corpus.namedValidation).map {
            evaluationBatches(shards: $0.shards, context: recipe.model.context, batchSize: recipe.optim.batchSize,
                              limit: evalBatches == 0 ? nil : evalBatches)
        }
        featureValidationBatches = corpus.audioUtterances.map {
            featureEvaluationBatches($0.val, dimension: $0.dimension, crop: recipe.model.context,
                                     batchSize: recipe.optim.batchSize, limit: evalBatches == 0 ? nil : evalBatches)
        } ?? []
    }

    /// A TokenBatcher over the corpus, or a MixtureBatcher over its sources when the recipe has a mixture.
    static func makeWindows(recipe: Recipe, corpus: TrainingCorpus, seed: UInt64) throws -> TrainingWindows {
        let (context, batchSize, sampling) = (recipe.model.context, recipe.optim.batchSize, recipe.data.sampling)
        if let audio = corpus.audioUtterances {
            return .features(try FeatureBatcher(utterances: audio.train, dimension: audio.dimension, crop: context,
                                                batchSize: batchSize, seed: Self.seed(seed, .data)))
        }
        guard let plan = MixturePlan(recipe.data) else {
            guard corpus.sources.isEmpty else {
                throw TrainingError("the corpus has mixture sources but the recipe has no data.mixture or data.replay")
            }
            return .single(try TokenBatcher(shards: corpus.trainShards, context: context, batchSize: batchSize,
                                            sampling: sampling, seed: Self.seed(seed, .data)))
        }
        guard corpus.sources.map(\.name) == plan.sources.map(\.name) else {
            throw TrainingError("the corpus' sources (\(corpus.sources.map(\.name).joined(separator: ", "))) are not "
                + "the recipe's (\(plan.sources.map(\.name).joined(separator: ", "))); load it with TrainingCorpus.load(recipe.data)")
        }
        return .mixture(try MixtureBatcher(plan: plan, shards: corpus.sources.map(\.shards), context: context,
                                           batchSize: batchSize, sampling: sampling, seed: Self.seed(seed, .mixture)))
    }

    /// Loads model.safetensors of `checkpoint` strictly; on a mismatch the error names the configuration
    /// differences and the tensors.
    static func loadWeights(_ model: Module, from checkpoint: URL, expected: CheckpointConfig) throws {
        let weights = checkpoint.appendingPathComponent(Checkpoint.modelFile)
        do {
            try model.load(contentsOf: weights)
        } catch {
            var message = "\(weights.path) does not fit the recipe's model"
            if let saved = try? CheckpointConfig.read(checkpoint.appendingPathComponent(Checkpoint.configFile)) {
                let differences = differingKeys(saved.model, expected.model)
                if !differences.isEmpty { message += " (checkpoint vs recipe: \(differences.joined(separator: ", ")))" }
            }
            throw TrainingError("\(message): \(error)")
        }
    }

    /// "layers 4 ≠ 2"-style differences between two model sections (dropout excluded: it holds no weights).
    static func differingKeys(_ a: ModelSection, _ b: ModelSection) -> [String] {
        func fields(_ section: ModelSection) -> [String: String] {
            guard let data = try? JSONEncoder().encode(section),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return object.mapValues { "\($0)" }
        }
        let (left, right) = (fields(a), fields(b))
        return Set(left.keys).union(right.keys).subtracting(["dropout"]).sorted().compactMap { key in
            left[key] == right[key] ? nil : "\(key) \(left[key] ?? "default") ≠ \(right[key] ?? "default")"
        }
    }

    // MARK: - The loop

    /// Trains until `train.steps` (or until step `stopAfter`, or `shouldStop`), evaluating, logging and
    /// checkpointing on the way. Throws `TrainingStopped` after `train.max_consecutive_skips` non-finite updates
    /// in a row (no checkpoint is written then; the previous ones are kept).
    @discardableResult
    public func run(stopAfter: Int? = nil) throws -> TrainingSummary {
        let total = recipe.train.steps
        Random.generator = try state.dropoutRandom.generator()
        var objectiveRandom = try state.objectiveRandom.generator()
        model.train()
        let processStart = Date()
        let firstStep = state.step
        let elapsedBefore = state.elapsedSeconds
        var lastLog = (time: processStart, tokens: state.tokensSeen)
        var summary = TrainingSummary(step: state.step, finished: state.step >= total)
        // Products run in the recipe's precision for this run only; a bf16 request on a CPU without bf16
        // instructions falls back to fp32 and says so.
        let precision = Matmul.setPrecision(MatmulPrecision(rawValue: recipe.precision) ?? .fp32)
        defer { Matmul.setPrecision(.fp32) }
        if precision.precision != .fp32 || recipe.precision != "fp32" { console.message(precision.message) }
        if state.step == 0 {
            console.message(describeStart())
            if !hasValidation {
                console.message(corpus.features == nil
                    ? "warning: the validation split holds no window of \(recipe.model.context + 1) tokens; evaluations are skipped"
                    : "warning: the feature corpus has no val utterances; evaluations are skipped")
            }
        } else if state.step < total {
            console.message("resuming \(runDirectory.path) at step \(state.step) of \(total)")
        }
        if state.step == 0 && state.initializedFrom != nil && hasValidation {
            // The loss of the weights as they arrive: the reference for the stability gap and for forgetting.
            var record = MetricsRecord(step: 0, tokensSeen: 0, skippedUpdates: 0, sourceTokens: windows.tokensBySource)
            console.message(describe(evaluateValidation(full: false, into: &record), step: 0, full: false))
            try metrics.append(record)
            tensorBoard.add(record)
        }
        let phaseBoundaries = Set(windows.phaseBoundaries)

        while state.step < total {
            let lr = schedule.learningRate(at: state.step)
            let (loss, gradNorm) = update(learningRate: lr, generator: &objectiveRandom)
            state.step += 1
            let step = state.step
            let now = Date()
            state.elapsedSeconds = elapsedBefore + now.timeIntervalSince(processStart)

            let atEnd = step == total
            let stopping = state.consecutiveSkips >= recipe.train.maxConsecutiveSkips
            let evaluating = atEnd || (recipe.train.evalEvery > 0 && step % recipe.train.evalEvery == 0)
                || phaseBoundaries.contains(step)
            let logging = evaluating || stopping || step % recipe.train.logEvery == 0
            let stepsThisProcess = Double(step - firstStep)
            let secondsPerStep = now.timeIntervalSince(processStart) / stepsThisProcess
            let eta = secondsPerStep * Double(total - step)
            if logging {
                let seconds = now.timeIntervalSince(lastLog.time)
                var record = MetricsRecord(
                    step: step,
                    loss: state.intervalMicroBatches > 0 ? state.intervalLossSum / Double(state.intervalMicroBatches) : nil,
                    lr: Double(lr), gradNorm: Double(gradNorm),
                    tokensPerSecond: seconds > 0 ? Double(state.tokensSeen - lastLog.tokens) / seconds : nil,
                    tokensSeen: state.tokensSeen, skippedUpdates: state.skippedUpdates, sourceTokens: windows.tokensBySource)
                state.intervalLossSum = 0
                state.intervalMicroBatches = 0
                if case .features(let features) = objective {
                    if let aware = features as? StepAwareObjective { record.objectiveMetrics = aware.drainMetrics() }
                    if let health = features as? TrainingHealthReporting {
                        for warning in health.healthWarnings(step: step, metrics: record.objectiveMetrics) {
                            console.message(warning)
                        }
                    }
                }
                lastLog = (now, state.tokensSeen)
                console.update(statusLine(step: step, loss: record.loss ?? Double(loss), lr: lr,
                                          tokensPerSecond: record.tokensPerSecond, eta: eta), logged: true)
                if evaluating {
                    let evaluation = evaluateValidation(full: atEnd, into: &record)
                    let forecast = atEnd ? "" : forecastFinalLoss(into: &record)
                    summary.evaluation = evaluation
                    console.message(describe(evaluation, step: step, full: atEnd) + forecast)
                    lastLog.time = Date()   // throughput counts training time only
                }
                try metrics.append(record)
                tensorBoard.add(record)
            } else {
                console.update(statusLine(step: step, loss: Double(loss), lr: lr,
                                          tokensPerSecond: Double(state.tokensSeen - lastLog.tokens) / max(1e-9, now.timeIntervalSince(lastLog.time)),
                                          eta: eta), logged: false)
            }
            if stopping {
                console.finish()
                let kept = checkpoints.completeCheckpoints().last.map { "the last good checkpoint is \($0.url.path)" }
                    ?? "no checkpoint was written before"
                throw TrainingStopped(message: "training stopped at step \(step): the last \(state.consecutiveSkips) "
                    + "updates had a non-finite loss or gradient norm (\(state.skippedUpdates) skipped in all); \(kept). "
                    + "Lower optim.lr or raise schedule.warmup, then --resume.")
            }
            let interrupted = step == stopAfter || shouldStop()
            let periodic = recipe.train.checkpointEvery > 0 && step % recipe.train.checkpointEvery == 0
            if atEnd || interrupted || (periodic && state.consecutiveSkips == 0) {
                summary.checkpoint = try saveCheckpoint(objectiveRandom: objectiveRandom)
            }
            summary.step = step
            if interrupted && !atEnd {
                console.message("stopped at step \(step); continue with --resume \(runDirectory.path)")
                return summary
            }
        }
        summary.finished = true
        console.finish()
        return summary
    }

    /// One update: `grad_accum` micro-batches, each loss scaled by 1/grad_accum and backpropagated (gradients
    /// accumulate), then clipping and AdamW. A non-finite loss or gradient norm skips the update (the data is
    /// consumed, the weights and moments are untouched) and is counted. Returns the mean micro-batch loss and
    /// the gradient norm before clipping.
    private func update(learningRate: Float, generator: inout RandomGenerator) -> (loss: Float, gradNorm: Float) {
        let accumulation = recipe.optim.gradAccum
        optimizer.learningRate = learningRate
        optimizer.zeroGrad()
        if case .features(let features) = objective { (features as? StepAwareObjective)?.prepare(step: state.step) }
        let scale = Tensor(scalar: 1 / Float(accumulation))
        var lossSum = 0.0
        var finite = true
        for _ in 0..<accumulation {
            let (loss, inputs) = microBatchLoss(generator: &generator)
            let value = loss.item
            lossSum += Double(value)
            state.tokensSeen += inputs
            guard value.isFinite else {
                finite = false
                Autograd.discardTape()
                continue
            }
            Autograd.backward(loss, seed: scale)
        }
        let gradNorm = recipe.optim.clip > 0 ? clipGradNorm(trainableParameters, maxNorm: recipe.optim.clip)
                                              : gradientNorm(trainableParameters)
        let meanLoss = Float(lossSum / Double(accumulation))
        if finite && gradNorm.isFinite {
            optimizer.step()
            state.optimizerSteps = optimizer.stepCount
            state.consecutiveSkips = 0
            state.intervalLossSum += lossSum
            state.intervalMicroBatches += accumulation
        } else {
            state.skippedUpdates += 1
            state.consecutiveSkips += 1
        }
        optimizer.zeroGrad()
        return (meanLoss, gradNorm)
    }

    /// The next micro-batch's loss and how many inputs it held (tokens, or audio frames).
    private func microBatchLoss(generator: inout RandomGenerator) -> (loss: Tensor, inputs: Int) {
        switch objective {
        case .tokens(let tokens):
            let batch = windows.next(step: state.step)
            return (tokens.loss(batch, generator: &generator).loss, batch.shape[0] * (batch.shape[1] - 1))
        case .features(let features):
            let batch = windows.nextFeatures()
            return (features.loss(batch, generator: &generator).loss, batch.frameCount)
        }
    }

    // MARK: - Evaluation

    private var hasValidation: Bool {
        corpus.audioUtterances.map { !$0.val.isEmpty } ?? !validationBatches[0].isEmpty
    }

    /// Evaluates every validation set: the main one into val_loss/val_ppl/val_bpb, named ones into
    /// val_loss/<name>. `full`: every window of the sets, not just `train.eval_batches` batches.
    private func evaluateValidation(full: Bool, into record: inout MetricsRecord) -> Evaluation {
        let tokenObjective: PretrainingObjective
        switch objective {
        case .tokens(let tokens):
            tokenObjective = tokens
        case .features(let features):
            let all = corpus.audioUtterances.map {
                featureEvaluationBatches($0.val, dimension: $0.dimension, crop: recipe.model.context, batchSize: recipe.optim.batchSize)
            } ?? []
            let batches = full && recipe.train.evalBatches > 0 ? all : featureValidationBatches
            guard !batches.isEmpty else { return Evaluation(loss: .nan, predicted: 0, bitsPerByte: nil) }
            let evaluation = Evaluation.of(features, batches: batches)
            record.valLoss = evaluation.loss
            if let reporting = features as? EvaluationMetricsReporting {   // beside any running values of the same row
                record.objectiveMetrics.merge(reporting.evaluationMetrics(batches)) { _, evaluated in evaluated }
            }
            return evaluation
        }
        let sets = [corpus.validation] + corpus.namedValidation
        var main: Evaluation?
        for (index, set) in sets.enumerated() {
            let batches = full && recipe.train.evalBatches > 0
                ? evaluationBatches(shards: set.shards, context: recipe.model.context, batchSize: recipe.optim.batchSize)
                : validationBatches[index]
            guard !batches.isEmpty else { continue }
            let evaluation = evaluate(tokenObjective, batches: batches, bytesPerToken: set.bytesPerToken)
            if index == 0 {
                main = evaluation
                record.valLoss = evaluation.loss
                record.valPerplexity = evaluation.perplexity
                record.valBitsPerByte = evaluation.bitsPerByte
            } else {
                record.namedValidationLosses[set.name] = evaluation.loss
            }
        }
        for (alias, name) in corpus.validationAliases {
            record.namedValidationLosses[alias] = name == "val" ? record.valLoss : record.namedValidationLosses[name]
        }
        return main ?? Evaluation(loss: .nan, predicted: 0, bitsPerByte: nil)
    }

    // MARK: - Checkpoints

    private func saveCheckpoint(objectiveRandom: RandomGenerator) throws -> URL {
        state.batcher = windows.singleState
        state.mixture = windows.mixtureState
        state.featureBatcher = windows.featureState
        state.objectiveRandom = RandomState(objectiveRandom)
        state.dropoutRandom = RandomState(Random.generator)
        state.optimizerSteps = optimizer.stepCount
        let snapshot = state
        let config = CheckpointConfig(model: recipe.model, objective: recipe.objective)
        let url = try checkpoints.write(step: state.step, keepLast: recipe.train.keepLast) { directory in
            try model.save(to: directory.appendingPathComponent(Checkpoint.modelFile), metadata: ["step": "\(snapshot.step)"])
            var writer = SafeTensorsWriter(metadata: ["step": "\(snapshot.step)", "optimizer_steps": "\(snapshot.optimizerSteps)"])
            for (name, tensor) in optimizer.stateTensors().sorted(by: { $0.key < $1.key }) {
                try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
            }
            try writer.write(to: directory.appendingPathComponent(Checkpoint.optimizerFile))
            try snapshot.write(to: directory.appendingPathComponent(Checkpoint.stateFile))
            try config.write(to: directory.appendingPathComponent(Checkpoint.configFile))
            if let tokenizer = corpus.tokenizerURL {
                try FileManager.default.copyItem(at: tokenizer, to: directory.appendingPathComponent(Checkpoint.tokenizerFile))
            }
            if let features = corpus.features { try AudioPretraining.writeFeatureFiles(features, to: directory) }
            if corpus.waveforms != nil { try AudioPretraining.writeWaveformFile(to: directory) }
        }
        tensorBoard.flush()
        console.message("checkpoint \(url.path)")
        return url
    }

    // MARK: - Console

    private func describeStart() -> String {
        let m = recipe.model
        if let waveforms = corpus.waveforms {
            let seconds = Double(waveforms.trainSamples) / Double(WaveformCorpus.sampleRate)
            return "\(m.flavor.rawValue) \(m.layers)×\(m.dModel) (\(m.heads) heads, crops of \(m.context) samples), objective "
                + "\(recipe.objective.kind.rawValue): \(ConsoleProgress.grouped(Double(model.parameterCount))) parameters; "
                + "\(recipe.train.steps) steps on \(waveforms.train.count) train utterances (\(Int(seconds / 60)) min); "
                + "\(Runtime.threads) threads; run directory \(runDirectory.path)"
        }
        if let features = corpus.features {
            let shape = "\(m.flavor.rawValue) \(m.layers)×\(m.dModel) (\(m.heads) heads, crops of \(m.context) frames × \(features.dimension) bins)"
            let parameters: String = ConsoleProgress.grouped(Double(model.parameterCount))
            let frames: String = ConsoleProgress.grouped(Double(features.info.train.frames))
            let data = "\(recipe.train.steps) steps on \(features.train.count) train utterances (\(frames) frames)"
            return "\(shape), objective \(recipe.objective.kind.rawValue): \(parameters) parameters; \(data); "
                + "\(Runtime.threads) threads; run directory \(runDirectory.path)"
        }
        let tokensPerStep = recipe.optim.batchSize * recipe.optim.gradAccum * m.context
        return "\(m.flavor.rawValue) \(m.layers)×\(m.dModel) (\(m.heads) heads, context \(m.context), vocab \(m.vocabSize ?? 0)): "
            + "\(ConsoleProgress.grouped(Double(model.parameterCount))) parameters; \(recipe.train.steps) steps of "
            + "\(ConsoleProgress.grouped(Double(tokensPerStep))) tokens on \(ConsoleProgress.grouped(Double(corpus.trainTokenCount))) "
            + "train tokens\(describeMixture()); \(Runtime.threads) threads; run directory \(runDirectory.path)"
    }

    /// " (mixture: a 75 % (12.3k tokens), b 25 % (4,096 tokens); phases change at steps 100, 200)".
    private func describeMixture() -> String {
        guard case .mixture(let mixture) = windows else { return "" }
        let weights = mixture.plan.weights(at: 0)
        let parts = zip(mixture.plan.sources, corpus.sources).enumerated().map { index, pair in
            "\(pair.0.name) \(Int((100 * weights[index]).rounded())) % (\(ConsoleProgress.grouped(Double(pair.1.tokenCount))) tokens)"
        }
        let boundaries = mixture.plan.boundaries
        return " (mixture: " + parts.joined(separator: ", ")
            + (boundaries.isEmpty ? "" : "; phases change at steps \(boundaries.map(String.init).joined(separator: ", "))") + ")"
    }

    private func statusLine(step: Int, loss: Double, lr: Float, tokensPerSecond: Double?, eta: Double) -> String {
        let width = String(recipe.train.steps).count
        let stepText = String(repeating: " ", count: max(0, width - String(step).count)) + "\(step)"
        var parts = ["step \(stepText)/\(recipe.train.steps)", String(format: "loss %.4f", loss), String(format: "lr %.2e", lr)]
        if let tokensPerSecond { parts.append("\(ConsoleProgress.grouped(tokensPerSecond)) \(corpus.waveforms != nil ? "samples" : corpus.features == nil ? "tok" : "frames")/s") }
        parts.append("ETA \(ConsoleProgress.duration(eta))")
        if state.skippedUpdates > 0 { parts.append("skipped \(state.skippedUpdates)") }
        let sourceTokens = windows.tokensBySource
        let drawn = sourceTokens.values.reduce(0, +)
        if drawn > 0 {
            parts.append(sourceTokens.sorted { $0.key < $1.key }
                .map { "\($0.key) \(Int((100 * Double($0.value) / Double(drawn)).rounded()))%" }.joined(separator: " "))
        }
        return parts.joined(separator: " │ ")
    }

    private func describe(_ evaluation: Evaluation, step: Int, full: Bool) -> String {
        if corpus.audioUtterances != nil {
            return String(format: "eval step %d: val loss %.4f", step, evaluation.loss)
                + " (\(full ? "all " : "")\(ConsoleProgress.grouped(Double(evaluation.predicted))) val predictions)"
        }
        var text = String(format: "eval step %d: val loss %.4f │ ppl %.2f", step, evaluation.loss, evaluation.perplexity)
        if let bpb = evaluation.bitsPerByte { text += String(format: " │ %.4f bits/byte", bpb) }
        text += full ? " (all \(ConsoleProgress.grouped(Double(evaluation.predicted))) val tokens)"
                     : " (\(ConsoleProgress.grouped(Double(evaluation.predicted))) val tokens)"
        return text
    }
}
