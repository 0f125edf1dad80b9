import AudioData
import Distributed
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

/// The pre-training loop: micro-batches from a `TrainingTask`, gradient accumulation, clipping, AdamW with the
/// recipe's schedule, periodic evaluation, metrics and atomic checkpoints. It knows nothing about text or audio:
/// the model family's data form builds the task that pairs batches with the objective.
///
/// Random streams, each seeded from `train.seed` and saved in every checkpoint: model initialisation, data
/// order, the objective's masks, and `Random.generator` (dropout).
public final class Trainer {
    public let recipe: Recipe
    public let runDirectory: URL
    public let corpus: TrainingCorpus
    /// The data and the objective: what gives each micro-batch's loss and every evaluation.
    public let task: TrainingTask
    public var model: Module { task.model }
    public var objective: TrainableObjective { task.objective }
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public internal(set) var state: TrainerState
    public let console: ConsoleProgress
    public let checkpoints: CheckpointStore
    /// Polled after every step; true stops the run with a checkpoint (the CLI sets it on Ctrl-C). In a data-parallel
    /// job the run stops when it is true on any rank.
    public var shouldStop: () -> Bool = { false }
    /// The ranks of a data-parallel job (DataParallel.swift): each trains on its part of every global batch, the
    /// gradients are averaged, rank 0 alone writes the run directory. A single process by default.
    public let communicator: Communicator

    /// Rank 0's metrics.jsonl (the other ranks write nothing).
    let metrics: MetricsLog?
    /// The run directory's lock, the earlier run --overwrite set aside, the recipe still to write (TrainerRunDirectory.swift);
    /// rank 0's only.
    let held: HeldRun?
    /// Averages gradients over the ranks (nil for one process, or with a sharded optimiser).
    let averager: GradientAverager?
    /// ZeRO-1 (`distributed.shard_optimizer`): `optimizer` then holds this rank's share only.
    let sharded: ShardedOptimizer?
    /// The same rows as events for `tensorboard --logdir RUN` (none for a finished run resumed: it logs nothing).
    let tensorBoard: TensorBoardWriter?
    /// The masks of `sparsity:` (SPDF), the same on every rank; nil for dense training.
    public let sparsity: WeightSparsity?
    /// The sub-model stage of `two_stage:` (bert2BERT); nil when the section is off.
    public let twoStage: TwoStagePretraining?
    private let trainableParameters: [Tensor]
    /// The learning-curve shape of the run this one was initialised from (fitted once, at the first forecast).
    lazy var forecastPrior: LearningCurvePrior? = state.initializedFrom
        .flatMap { RunLearningCurve.annealingPrior(ofRunSaving: URL(fileURLWithPath: $0)) }

    /// Seeds of the random streams, derived from `train.seed` (SplitMix in RandomGenerator decorrelates them); a data
    /// form seeds its batches from `.data` (and a mixture's source draws from `.mixture`).
    /// The random masks of `sparsity:` come from `.sparsity`.
    /// The sub-models of `two_stage:` come from `.subModel`.
    public enum Stream: UInt64 {
        case initialization = 0, data = 1, objective = 2, dropout = 3, mixture = 4, sparsity = 5, subModel = 6
    }
    public static func seed(_ base: UInt64, _ stream: Stream) -> UInt64 { base &+ stream.rawValue &* 0x9E37_79B9_7F4A_7C15 }

    /// Prepares a run in `runDirectory` (created if needed): the model family's data form checks the corpus and
    /// resolves the model section from it, the registries build the model and objective, the data form the task.
    /// `overwrite`: start afresh where an earlier run is; its files are set aside only once all of that succeeded
    /// (RUN/.overwritten-<time>/), and deleted when this run's first checkpoint is complete.
    public init(recipe: Recipe, runDirectory: URL, corpus: TrainingCorpus, start: TrainingStart = .fresh,
                overwrite: Bool = false, console: ConsoleProgress = ConsoleProgress(),
                communicator: Communicator = World.current) throws {
        var recipe = recipe
        let dataForm = try recipe.model.family.dataForm
        try dataForm.resolve(&recipe.model, corpus: corpus)
        if case .resume = start {} else { try recipe.objective.resolveReferences() }
        try recipe.validate()
        // What recipe.yaml will hold must read back (a recipe built in code can set a key its YAML form refuses, such as
        // schedule.min_lr for a constant schedule): a run that could not be resumed or reported is refused first.
        _ = try Recipe.parse(try recipe.yaml(), source: "the recipe of \(runDirectory.path)")
        // A model too large to build on this machine is refused from its sizes, before anything is allocated.
        try MicroBatchMemory.check(recipe)
        self.recipe = recipe
        self.runDirectory = runDirectory
        self.corpus = corpus
        self.console = console
        self.communicator = communicator
        let isRoot = communicator.rank == 0
        checkpoints = CheckpointStore(runDirectory: runDirectory)
        if let threads = recipe.train.threads {
            Runtime.configure(threads: threads)
        } else if communicator.localSize > 1 && ProcessInfo.processInfo.environment["PRETRAIN_THREADS"] == nil {
            // Ranks on one machine share its cores.
            Runtime.configure(threads: max(1, Runtime.threads / communicator.localSize))
        }

        // Rank 0 alone touches the run directory; the others receive what it restored.
        held = isRoot ? try HeldRun(RunDirectory(runDirectory), start: start, overwrite: overwrite) : nil
        let resumeFrom = try held?.checkpointToStartFrom(start, overwrite: overwrite, console: console)
        if isRoot { checkpoints.removeAbandonedPartials() }

        let seed = recipe.train.seed
        var initialization = RandomGenerator(seed: Self.seed(seed, .initialization))
        let objective = try makeModelAndObjective(model: recipe.model, objective: recipe.objective,
                                                  context: ObjectiveContext(model: recipe.model, tokenizerURL: corpus.tokenizerURL, training: true),
                                                  generator: &initialization)
        task = try dataForm.makeTask(objective: objective, recipe: recipe, corpus: corpus, seed: seed,
                                     shard: DataShard(communicator))
        let sparsity = recipe.sparsity.isEnabled ? try WeightSparsity(recipe.sparsity, model: task.model, runSeed: seed) : nil
        twoStage = recipe.twoStage.isEnabled ? try TwoStagePretraining(recipe.twoStage, model: task.model, runSeed: seed) : nil
        let groups = ParameterGroup.decayByRank(task.model, weightDecay: recipe.optim.weightDecay)
        if communicator.size > 1 && recipe.distributed.shardOptimizer {
            let sharded = ShardedOptimizer(groups: groups, communicator: communicator, learningRate: recipe.optim.lr,
                                           betas: recipe.optim.betas, epsilon: recipe.optim.eps)
            (self.sharded, optimizer, averager) = (sharded, sharded.optimizer, nil)
        } else {
            sharded = nil
            optimizer = AdamW(groups: groups, learningRate: recipe.optim.lr, beta1: recipe.optim.betas[0],
                              beta2: recipe.optim.betas[1], epsilon: recipe.optim.eps)
            averager = communicator.size > 1
                ? GradientAverager(parameters: optimizer.parameters, communicator: communicator,
                                   bucketBytes: recipe.distributed.bucketMB << 20)
                : nil
        }
        trainableParameters = groups.flatMap { $0.parameters.map(\.tensor) }
        schedule = try recipe.learningRateSchedule()
        let rank = communicator.rank
        var state = TrainerState(schedule: schedule, batcher: nil,
                                 objectiveRandom: RandomState(RandomGenerator(seed: Self.rankSeed(seed, .objective, rank: rank))),
                                 dropoutRandom: RandomState(RandomGenerator(seed: Self.rankSeed(seed, .dropout, rank: rank))))
        task.saveStreams(into: &state)
        var moments: [String: Tensor]?
        if isRoot {
            moments = try Self.restore(start, newestCheckpoint: resumeFrom, recipe: recipe, task: task, optimizer: optimizer,
                                       sparsity: sparsity, schedule: schedule, state: &state)
        }
        if communicator.size > 1 {
            let own = (state.objectiveRandom, state.dropoutRandom)
            // A rank that hangs before the loop would leave the others in these broadcasts.
            let watchdog = Self.watchdog(communicator, recipe, "the ranks did not finish starting within", ending: "")
            defer { watchdog?.stop() }
            try StartSynchronization.run(communicator: communicator, model: task.model,
                                         optimizer: sharded == nil ? optimizer : nil, state: &state)
            try sharded?.scatterState(moments, stepCount: state.optimizerSteps)
            try sparsity?.broadcast(communicator)
            if !isRoot && state.step > 0 { try task.restoreStreams(from: state, checkpoint: runDirectory) }
            Self.adoptRankStreams(&state, own: own, rank: rank, size: communicator.size, seed: seed)
        }
        sparsity?.applyToWeights()
        self.sparsity = sparsity
        self.state = state
        let finished = try held?.begin(start, step: state.step, recipe: recipe, overwrite: overwrite, console: console) ?? false
        metrics = try held.map { try MetricsLog(url: $0.run.metrics, keepingThrough: state.step) }
        tensorBoard = finished || !isRoot ? nil
            : try TensorBoardWriter(directory: runDirectory, restartStep: start.isResume ? state.step + 1 : nil)
        // A resumed run's recipe is written with its first checkpoint: a resume that fails keeps the stored one.
        if !start.isResume { try held?.writePendingRecipe() }
    }

    /// A data-parallel job's watchdog (nil for one process): no progress for distributed.timeout_seconds ends the job
    /// with "pretrain: rank R: <event> N s (distributed.timeout_seconds T): another rank is …; ending the job<ending>".
    static func watchdog(_ communicator: Communicator, _ recipe: Recipe, _ event: String, ending: String) -> ProgressWatchdog? {
        guard communicator.size > 1 else { return nil }
        let (rank, timeout) = (communicator.rank, recipe.distributed.timeoutSeconds)
        return ProgressWatchdog(timeout: timeout) { waited in
            "pretrain: rank \(rank): \(event) " + String(format: "%.0f s (distributed.timeout_seconds %.0f)", waited, timeout)
                + ": another rank is stopped, hung or unreachable; ending the job" + ending
        }
    }

    /// This rank's objective and dropout streams after rank 0's state arrived: the ones saved for this rank when the
    /// checkpoint was written by as many ranks, else rank 0's own (rank 0) or fresh ones offset by rank and step.
    static func adoptRankStreams(_ state: inout TrainerState, own: (RandomState, RandomState), rank: Int, size: Int, seed: UInt64) {
        if let saved = state.rankStreams, saved.count == size {
            (state.objectiveRandom, state.dropoutRandom) = (saved[rank].objectiveRandom, saved[rank].dropoutRandom)
        } else if rank > 0 {
            (state.objectiveRandom, state.dropoutRandom) = state.step == 0 ? own
                : (RandomState(RandomGenerator(seed: rankSeed(seed, .objective, rank: rank, step: state.step))),
                   RandomState(RandomGenerator(seed: rankSeed(seed, .dropout, rank: rank, step: state.step))))
        }
    }

    // MARK: - The loop

    /// Trains until `train.steps` (or until step `stopAfter`, or `shouldStop`), evaluating, logging and
    /// checkpointing on the way. Throws `TrainingStopped` after `train.max_consecutive_skips` non-finite updates
    /// in a row (no checkpoint is written then; the previous ones are kept).
    @discardableResult
    public func run(stopAfter: Int? = nil) throws -> TrainingSummary {
        try held?.acquire()
        defer { held?.release() }
        // A data-parallel job whose ranks stop making progress ends instead of hanging (distributed.timeout_seconds).
        let watchdog = Self.watchdog(communicator, recipe, "no training step finished for",
                                     ending: " (the newest complete checkpoint is kept)")
        defer { watchdog?.stop() }
        let total = recipe.train.steps
        Random.generator = try state.dropoutRandom.generator()
        var objectiveRandom = try state.objectiveRandom.generator()
        model.train()
        let processStart = Date()
        let firstStep = state.step
        let elapsedBefore = state.elapsedSeconds
        var lastLog = (time: processStart, tokens: state.tokensSeen)
        var summary = TrainingSummary(step: state.step, finished: state.step >= total)
        // A sparse run's fraction and FLOPs go into its first metrics row.
        var sparsityMetrics = firstStep == 0 ? sparsity?.metrics(model: model, section: recipe.model, tokens: plannedTokens) : nil
        // Products run in the recipe's precision for this run only; a bf16 request on a CPU without bf16
        // instructions falls back to fp32 and says so.
        let precision = Matmul.setPrecision(recipe.precision)
        defer { Matmul.setPrecision(.fp32) }
        if precision.precision != .fp32 || recipe.precision != .fp32 { console.message(precision.message) }
        try announceStart()
        let phaseBoundaries = Set(task.phaseBoundaries)

        while state.step < total {
            let lr = schedule.learningRate(at: state.step)
            let (loss, gradNorm) = twoStage.map { stage in
                stage.training(step: state.step) { update(learningRate: lr, generator: &objectiveRandom) }
            } ?? update(learningRate: lr, generator: &objectiveRandom)
            watchdog?.beat()
            state.step += 1
            let step = state.step
            let now = Date()
            state.elapsedSeconds = elapsedBefore + now.timeIntervalSince(processStart)

            let atEnd = step == total
            let stopping = state.consecutiveSkips >= recipe.train.maxConsecutiveSkips
            let evaluating = atEnd || (recipe.train.evalEvery > 0 && step % recipe.train.evalEvery == 0)
                || phaseBoundaries.contains(step)
            let logging = evaluating || stopping || step % recipe.train.logEvery == 0
            let eta = now.timeIntervalSince(processStart) / Double(step - firstStep) * Double(total - step)
            if logging {
                let seconds = now.timeIntervalSince(lastLog.time)
                var record = MetricsRecord(
                    step: step,
                    loss: state.intervalMicroBatches > 0 ? state.intervalLossSum / Double(state.intervalMicroBatches) : nil,
                    lr: Double(lr), gradNorm: Double(gradNorm),
                    tokensPerSecond: seconds > 0 ? Double(state.tokensSeen - lastLog.tokens) / seconds : nil,
                    tokensSeen: state.tokensSeen, skippedUpdates: state.skippedUpdates, sourceTokens: task.inputsBySource)
                state.intervalLossSum = 0
                state.intervalMicroBatches = 0
                let (objectiveMetrics, warnings) = task.drainMetrics(step: step)
                record.objectiveMetrics = objectiveMetrics
                if let first = sparsityMetrics {
                    record.sparsityMetrics = first
                    sparsityMetrics = nil
                }
                warnings.forEach(console.message)
                lastLog = (now, state.tokensSeen)
                console.update(statusLine(step: step, loss: record.loss ?? Double(loss), lr: lr,
                                          tokensPerSecond: record.tokensPerSecond, eta: eta), logged: true)
                if evaluating {
                    let evaluation = task.evaluate(full: atEnd, into: &record)
                    watchdog?.beat()
                    let forecast = atEnd ? "" : forecastFinalLoss(into: &record)
                    summary.evaluation = evaluation
                    console.message(task.describe(evaluation, record: record, step: step, full: atEnd) + forecast)
                    lastLog.time = Date()   // throughput counts training time only
                }
                try metrics?.append(record)
                tensorBoard?.add(record)
            } else {
                console.update(statusLine(step: step, loss: Double(loss), lr: lr,
                                          tokensPerSecond: Double(state.tokensSeen - lastLog.tokens) / max(1e-9, now.timeIntervalSince(lastLog.time)),
                                          eta: eta), logged: false)
            }
            if evaluating { try StartSynchronization.checkAgreement(communicator: communicator, model: model, step: step) }
            if stopping {
                console.finish()
                let kept = checkpoints.completeCheckpoints().last.map { "the last good checkpoint is \($0.url.path)" }
                    ?? "no checkpoint was written before"
                throw TrainingStopped(message: "training stopped at step \(step): the last \(state.consecutiveSkips) "
                    + "updates had a non-finite loss or gradient norm (\(state.skippedUpdates) skipped in all); \(kept). "
                    + (checkpoints.completeCheckpoints().isEmpty ? "Start again with a lower optim.lr or a longer schedule.warmup."
                       : "Lower optim.lr or raise schedule.warmup, then --resume."))
            }
            let interrupted = step == stopAfter || anyRankStops()
            let periodic = recipe.train.checkpointEvery > 0 && step % recipe.train.checkpointEvery == 0
            if atEnd || interrupted || (periodic && state.consecutiveSkips == 0) {
                summary.checkpoint = try saveCheckpoint(objectiveRandom: objectiveRandom)
                watchdog?.beat()
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
        trainableParameters.forEach { $0.zeroGrad() }   // every rank's, not only a sharded optimiser's share
        task.prepare(step: state.step)
        let scale = Tensor(scalar: 1 / Float(accumulation))
        var lossSum = 0.0
        var finite = true
        var inputsSeen = 0
        for microBatch in 0..<accumulation {
            // The last micro-batch's backward sends each gradient bucket as soon as it is complete (the averager
            // watches which op reads each parameter first); the earlier ones only accumulate.
            let overlapping = averager != nil && microBatch == accumulation - 1
            if overlapping { averager!.watch() }
            let (loss, inputs) = task.nextLoss(step: state.step, generator: &generator)
            let value = loss.item
            lossSum += Double(value)
            inputsSeen += inputs
            do {
                guard value.isFinite else {
                    finite = false
                    Autograd.discardTape()
                    if overlapping { try averager!.average() }   // every rank takes part in the same collectives
                    continue
                }
                if overlapping { try averager!.backwardAndAverage(loss, seed: scale) } else { Autograd.backward(loss, seed: scale) }
            } catch {
                communicator.abort("pretrain: rank \(communicator.rank): \(error)")
            }
        }
        if communicator.size > 1 {
            // The gradients are the mean over the ranks now (sharded: reduce-scattered below); the loss becomes the
            // mean of their losses (non-finite on one rank makes every rank skip), the inputs the job's.
            let sums = DataShard(communicator).sum([lossSum, Double(inputsSeen)])
            lossSum = sums[0] / Double(communicator.size)
            inputsSeen = Int(sums[1])
            finite = lossSum.isFinite
        }
        state.tokensSeen += inputsSeen
        // Masked weights learn nothing: their gradients are 0 before clipping (the norm counts live weights only) and
        // before AdamW (their moments stay 0). Averaged gradients here, or with ZeRO-1 each rank's own before the
        // reduce-scatter, whose sum of zeros is exactly zero.
        sparsity?.maskGradients()
        let gradNorm: Float
        var gradientScale: Float = 1   // clipping's coefficient, applied inside the update (sharded: applied already)
        if let sharded {
            do { gradNorm = try sharded.reduceScatterAndClip(maxNorm: recipe.optim.clip) } catch {
                communicator.abort("pretrain: rank \(communicator.rank): \(error)")
            }
        } else {
            gradNorm = gradientNorm(trainableParameters)
            if recipe.optim.clip > 0 { gradientScale = clippingCoefficient(norm: gradNorm, maxNorm: recipe.optim.clip) }
        }
        let meanLoss = Float(lossSum / Double(accumulation))
        if finite && gradNorm.isFinite {
            optimizer.step(gradientScale: gradientScale)
            do { try sharded?.allGatherParameters() } catch { communicator.abort("pretrain: rank \(communicator.rank): \(error)") }
            state.optimizerSteps = optimizer.stepCount
            state.consecutiveSkips = 0
            state.intervalLossSum += lossSum
            state.intervalMicroBatches += accumulation
        } else {
            state.skippedUpdates += 1
            state.consecutiveSkips += 1
        }
        trainableParameters.forEach { $0.zeroGrad() }   // every rank's, not only a sharded optimiser's share
        return (meanLoss, gradNorm)
    }
}

extension Trainer {
    /// The inputs (tokens, frames) the whole run trains on: train.steps × batch_size × grad_accum × context × ranks.
    var plannedTokens: Int {
        recipe.train.steps * recipe.optim.batchSize * recipe.optim.gradAccum * recipe.model.context * communicator.size
    }

    /// `shouldStop` on this rank, or on any rank of a data-parallel job (all ranks must stop at the same step).
    func anyRankStops() -> Bool {
        let here = shouldStop()
        guard communicator.size > 1 else { return here }
        return DataShard(communicator).sum([here ? 1 : 0])[0] > 0
    }
}
