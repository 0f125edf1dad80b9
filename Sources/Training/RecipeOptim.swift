import Foundation
import Optimizers

/// `optim:` — AdamW and the batch.
public struct OptimSection: RecipeSection {
    /// Peak learning rate (the schedule's maximum).
    public var lr: Float = 1e-3
    public var betas: [Float] = [0.9, 0.95]
    public var eps: Float = 1e-8
    /// Decoupled weight decay of matrices and embeddings (rank ≥ 2); biases and norm gains never decay.
    public var weightDecay: Float = 0.1
    /// Maximum global gradient norm; 0 turns clipping off.
    public var clip: Float = 1
    /// Windows per micro-batch (B).
    public var batchSize = 16
    /// Micro-batches per update: an update sees batch_size · grad_accum windows.
    public var gradAccum = 1

    public init() {}

    public static let keys: [RecipeKey<OptimSection>] = [
        .init("lr", \.lr), .init("betas", \.betas), .init("eps", \.eps), .init("weight_decay", \.weightDecay),
        .init("clip", \.clip), .init("batch_size", \.batchSize), .init("grad_accum", \.gradAccum),
    ]
}

/// `schedule:` — the learning rate against the step; the peak is `optim.lr`. Which keys apply depends on `kind`:
/// constant (warmup), cosine (warmup, min_lr, total), wsd (warmup, min_lr, stable, decay), infinite (warmup,
/// min_lr, constant_lr, cooldown, anneal_start, anneal_steps, anneal_shape), repeated_cosine (warmup, min_lr,
/// cycle). With `--init-from`, `warmup` and `optim.lr` are the rewarming: up to that peak over that many steps.
public struct ScheduleSection: RecipeSection {
    public enum Kind: String, CaseIterable { case constant, cosine, wsd, infinite, repeatedCosine = "repeated_cosine" }

    public var kind = Kind.cosine
    public var warmup = 0
    public var minLR: Float?
    /// cosine: the step at which the decay reaches min_lr; nil: train.steps.
    public var total: Int?
    /// wsd: steps at the peak after the warmup; nil: whatever train.steps leaves after warmup and decay.
    public var stable: Int?
    /// wsd: steps of the final linear decay; nil: 20 % of train.steps.
    public var decay: Int?
    /// infinite: the plateau after the cooldown; nil: optim.lr / 4.
    public var constantLR: Float?
    /// infinite: steps of the cosine from optim.lr down to constant_lr.
    public var cooldown: Int?
    /// infinite: the step at which the anneal to min_lr begins; nil: no anneal (yet).
    public var annealStart: Int?
    public var annealSteps: Int?
    public var annealShape: LearningRateSchedule.AnnealShape?
    /// repeated_cosine: steps per cycle (each cycle rewarms over `warmup` steps, then decays to min_lr).
    public var cycle: Int?

    public init() {}

    public static let keys: [RecipeKey<ScheduleSection>] = [
        .init("kind", choice: \.kind), .init("warmup", \.warmup), .init("min_lr", \.minLR), .init("total", \.total),
        .init("stable", \.stable), .init("decay", \.decay), .init("constant_lr", \.constantLR), .init("cooldown", \.cooldown),
        .init("anneal_start", \.annealStart), .init("anneal_steps", \.annealSteps), .init("anneal_shape", choice: \.annealShape),
        .init("cycle", \.cycle),
    ]

    /// The keys each kind reads (besides kind and warmup); any other key that is set is an error.
    static let keysOfKind: [Kind: Set<String>] = [
        .constant: [],
        .cosine: ["min_lr", "total"],
        .wsd: ["min_lr", "stable", "decay"],
        .infinite: ["min_lr", "constant_lr", "cooldown", "anneal_start", "anneal_steps", "anneal_shape"],
        .repeatedCosine: ["min_lr", "cycle"],
    ]

    public mutating func decoded(present: Set<String>, path: String) throws {
        let reads = Self.keysOfKind[kind]!
        let setKeys = Set(keysSet())
        for key in Self.keys.map(\.name) where present.contains(key) && setKeys.contains(key) && !reads.union(["kind", "warmup"]).contains(key) {
            throw RecipeError("schedule.\(key) does not apply to schedule kind '\(kind.rawValue)' "
                + "(it reads: \((["kind", "warmup"] + reads.sorted()).joined(separator: ", ")))")
        }
    }

    /// The schedule for a run of `steps` updates peaking at `peakLR`.
    public func resolved(peakLR: Float, steps: Int) throws -> LearningRateSchedule {
        guard warmup >= 0 else { throw RecipeError("schedule.warmup must be ≥ 0, got \(warmup)") }
        let floor = minLR ?? 0
        switch kind {
        case .constant:
            return .constant(lr: peakLR, warmup: warmup)
        case .cosine:
            return .cosine(maxLR: peakLR, minLR: floor, warmup: warmup, total: total ?? steps)
        case .wsd:
            let decaySteps = decay ?? steps / 5
            let stableSteps = stable ?? max(0, steps - warmup - decaySteps)
            return .wsd(maxLR: peakLR, minLR: floor, warmup: warmup, stable: stableSteps, decay: decaySteps)
        case .infinite:
            return .infinite(maxLR: peakLR, constantLR: constantLR ?? peakLR / 4, minLR: floor, warmup: warmup,
                             cooldown: cooldown ?? 0, annealStart: annealStart, annealSteps: annealSteps ?? 0,
                             annealShape: annealShape ?? .linear)
        case .repeatedCosine:
            guard let cycle else { throw RecipeError("schedule.cycle (steps per cosine cycle) is required for repeated_cosine") }
            guard cycle > warmup else {
                throw RecipeError("schedule.cycle (\(cycle)) must be longer than schedule.warmup (\(warmup))")
            }
            return .repeatedCosine(maxLR: peakLR, minLR: floor, warmup: warmup, cycle: cycle)
        }
    }
}

/// `train:` — how long, how often to log, evaluate and checkpoint.
public struct TrainSection: RecipeSection {
    /// Updates to take (the run ends at this step).
    public var steps = 1000
    /// Evaluate every this many steps (and at the end); 0: only at the end.
    public var evalEvery = 100
    /// Micro-batches of validation windows per periodic evaluation; 0: the whole validation set. The final
    /// evaluation always reads the whole set.
    public var evalBatches = 20
    /// A metrics row (and console line) every this many steps.
    public var logEvery = 10
    /// Checkpoint every this many steps (and at the end); 0: only at the end.
    public var checkpointEvery = 500
    /// Complete checkpoints kept; older ones are deleted.
    public var keepLast = 3
    public var seed: UInt64 = 1337
    /// Compute threads; nil: every core this process may use.
    public var threads: Int?
    /// Training stops after this many consecutive updates skipped for a non-finite loss or gradient.
    public var maxConsecutiveSkips = 10

    public init() {}

    public static let keys: [RecipeKey<TrainSection>] = [
        .init("steps", \.steps), .init("eval_every", \.evalEvery), .init("eval_batches", \.evalBatches),
        .init("log_every", \.logEvery), .init("checkpoint_every", \.checkpointEvery), .init("keep_last", \.keepLast),
        .init("seed", \.seed), .init("threads", \.threads), .init("max_consecutive_skips", \.maxConsecutiveSkips),
    ]
}


/// `distributed:` — how the ranks of `mpirun -np N pretrain train` share the work (docs/DISTRIBUTED.md).
public struct DistributedSection: RecipeSection {
    /// ZeRO stage 1: each rank keeps the AdamW moments of its share of the parameters and updates only those;
    /// gradients are reduce-scattered and parameters all-gathered (the all-reduce's traffic, 1/N of the optimiser
    /// memory). Checkpoints are the same either way.
    public var shardOptimizer = false
    /// Gradient buckets of about this many MB are all-reduced together (as PyTorch DDP's bucket_cap_mb).
    public var bucketMB = 25
    /// A rank that finishes no step (nor evaluation, nor checkpoint) for this many seconds ends the job with a
    /// message: a stopped or unreachable rank would otherwise leave the others waiting in a collective.
    public var timeoutSeconds = 1800.0

    public init() {}

    public static let keys: [RecipeKey<DistributedSection>] = [
        .init("shard_optimizer", \.shardOptimizer), .init("bucket_mb", \.bucketMB), .init("timeout_seconds", \.timeoutSeconds),
    ]
}
