import Foundation

/// Learning rate as a function of the update step (0-based: the first update uses `learningRate(at: 0)`).
///
/// Every schedule starts with a linear warmup, lr·(step + 1)/warmup (as llm.c, so the first update is not
/// wasted at lr 0). Rewarming for continual pre-training (Gupta et al., 2023) is not a schedule of its own: it is
/// a fresh schedule, with its own warmup up to its own peak, started from an `--init-from` model (any checkpoint).
public enum LearningRateSchedule: Equatable, Codable {
    /// Warmup, then `lr` for ever.
    case constant(lr: Float, warmup: Int)
    /// Warmup to `maxLR`, then half a cosine down to `minLR` at step `total`; `minLR` afterwards.
    case cosine(maxLR: Float, minLR: Float, warmup: Int, total: Int)
    /// Warmup–stable–decay (Hu et al., 2024, MiniCPM): warmup, `stable` steps at `maxLR`, then a linear decay to
    /// `minLR` over `decay` steps; `minLR` afterwards.
    case wsd(maxLR: Float, minLR: Float, warmup: Int, stable: Int, decay: Int)
    /// The infinite schedule (Ibrahim et al., 2024; Singh et al., 2025, "Beyond cosine decay"): warmup to `maxLR`,
    /// a cosine cooldown to `constantLR` over `cooldown` steps, `constantLR` for as long as training goes on, and,
    /// when `annealStart` is set, an anneal from `constantLR` to `minLR` over `annealSteps` steps starting there
    /// (`minLR` afterwards). The anneal can start at any step, so a checkpoint taken in the constant phase can be
    /// resumed with an anneal added (`--resume RUN --set schedule.anneal_start=N`).
    case infinite(maxLR: Float, constantLR: Float, minLR: Float, warmup: Int, cooldown: Int, annealStart: Int?,
                  annealSteps: Int, annealShape: AnnealShape = .linear)
    /// Repeated cosine (the cyclic baseline of Singh et al., 2025, and of continual pre-training with a new cosine
    /// per dataset, Ibrahim et al., 2024): cycles of `cycle` steps, each a warmup to `maxLR` followed by half a
    /// cosine to `minLR` at the cycle's end; the next cycle rewarms.
    case repeatedCosine(maxLR: Float, minLR: Float, warmup: Int, cycle: Int)

    /// How the infinite schedule's anneal goes from `constantLR` to `minLR`.
    public enum AnnealShape: String, Codable, CaseIterable {
        case linear, cosine
    }

    public func learningRate(at step: Int) -> Float {
        switch self {
        case let .constant(lr, warmup):
            return Self.warmup(lr, step: step, steps: warmup) ?? lr
        case let .cosine(maxLR, minLR, warmup, total):
            if let rising = Self.warmup(maxLR, step: step, steps: warmup) { return rising }
            return Self.cosineDecay(from: maxLR, to: minLR, progress: Self.progress(step - warmup, over: total - warmup))
        case let .wsd(maxLR, minLR, warmup, stable, decay):
            if let rising = Self.warmup(maxLR, step: step, steps: warmup) { return rising }
            let decayStep = step - warmup - stable
            guard decayStep >= 0 else { return maxLR }
            return Self.linearDecay(from: maxLR, to: minLR, progress: Self.progress(decayStep, over: decay))
        case let .repeatedCosine(maxLR, minLR, warmup, cycle):
            let cycleStep = step % max(1, cycle)
            return Self.cosine(maxLR: maxLR, minLR: minLR, warmup: warmup, total: cycle).learningRate(at: cycleStep)
        case let .infinite(maxLR, constantLR, minLR, warmup, cooldown, annealStart, annealSteps, annealShape):
            if let annealStart, step >= annealStart {
                let progress = Self.progress(step - annealStart, over: annealSteps)
                // The anneal leaves from wherever the schedule was when it started (normally the constant phase).
                let start = Self.infinite(maxLR: maxLR, constantLR: constantLR, minLR: minLR, warmup: warmup,
                                          cooldown: cooldown, annealStart: nil, annealSteps: 0)
                    .learningRate(at: annealStart)
                switch annealShape {
                case .linear: return Self.linearDecay(from: start, to: minLR, progress: progress)
                case .cosine: return Self.cosineDecay(from: start, to: minLR, progress: progress)
                }
            }
            if let rising = Self.warmup(maxLR, step: step, steps: warmup) { return rising }
            let cooldownStep = step - warmup
            guard cooldownStep < cooldown else { return constantLR }
            return Self.cosineDecay(from: maxLR, to: constantLR, progress: Self.progress(cooldownStep, over: cooldown))
        }
    }

    /// lr·(step + 1)/steps during the warmup, nil after it.
    private static func warmup(_ lr: Float, step: Int, steps: Int) -> Float? {
        guard step < steps else { return nil }
        return Float(Double(lr) * Double(step + 1) / Double(steps))
    }

    /// step/steps clamped to [0, 1]; a phase of zero steps is already over.
    private static func progress(_ step: Int, over steps: Int) -> Double {
        guard steps > 0 else { return 1 }
        return min(1, max(0, Double(step) / Double(steps)))
    }

    private static func cosineDecay(from high: Float, to low: Float, progress: Double) -> Float {
        Float(Double(low) + 0.5 * (1 + cos(Double.pi * progress)) * (Double(high) - Double(low)))
    }

    private static func linearDecay(from high: Float, to low: Float, progress: Double) -> Float {
        Float(Double(high) + progress * (Double(low) - Double(high)))
    }
}
