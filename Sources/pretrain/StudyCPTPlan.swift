import Foundation
import Optimizers
import Training

/// How big the continual pre-training study is: the model, the upstream run and every downstream arm.
/// Learning rates of the arms are multiples of the upstream's, so one size is one consistent design.
struct StudyCPTSize {
    var name: String
    var layers: Int
    var dModel: Int
    var heads: Int
    var context: Int
    var batchSize: Int
    /// Upstream pre-training: a cosine from `upstreamPeak` to `upstreamMin`.
    var upstreamSteps: Int
    var upstreamWarmup: Int
    var upstreamEvalEvery: Int
    var upstreamPeak: Float
    var upstreamMin: Float
    /// Every downstream arm takes this many steps (equal tokens), evaluated every `armEvalEvery` steps on
    /// `evalBatches` micro-batches of each validation set (the final evaluation reads the whole sets). Evaluations
    /// are dense enough for the stability gap and for the backtest, which fits ≥ 5 points after the warmup within
    /// the first 30 % of a curve.
    var armSteps: Int
    var armWarmup: Int
    var armEvalEvery: Int
    var evalBatches: Int
    /// Rewarming peaks as multiples of `upstreamPeak` (Gupta et al. 2023 rewarm to 0.5×, 1× and 2×).
    var rewarmFactors: [Float] = [0.5, 1, 2]
    /// The infinite schedule's plateau (`constant_lr`) as a multiple of its peak, and its cooldown.
    var infinitePlateauFactor: Float = 0.25
    var infiniteCooldown: Int
    /// The infinite arm's anneal branch covers the last `annealSteps` of the arm (equal tokens with the others).
    var annealSteps: Int

    /// 4-layer d=128 GPT, context 128: about 25 minutes on two quiet cores.
    static let standard = StudyCPTSize(
        name: "default", layers: 4, dModel: 128, heads: 4, context: 128, batchSize: 16,
        upstreamSteps: 1200, upstreamWarmup: 50, upstreamEvalEvery: 50, upstreamPeak: 2e-3, upstreamMin: 2e-4,
        armSteps: 400, armWarmup: 20, armEvalEvery: 16, evalBatches: 8, infiniteCooldown: 80, annealSteps: 100)

    /// 2-layer d=64 GPT, context 64: a few minutes, for CI (StudyCPTTests asserts the claims on it).
    static let quick = StudyCPTSize(
        name: "quick", layers: 2, dModel: 64, heads: 2, context: 64, batchSize: 16,
        upstreamSteps: 400, upstreamWarmup: 20, upstreamEvalEvery: 16, upstreamPeak: 3e-3, upstreamMin: 3e-4,
        armSteps: 150, armWarmup: 8, armEvalEvery: 6, evalBatches: 8, infiniteCooldown: 30, annealSteps: 50)

    var tokensPerStep: Int { batchSize * context }
    /// The multi-epoch subset: a quarter of the tokens an arm reads, so the arm makes four passes over it.
    var subsetTokens: Int { armSteps * tokensPerStep / 4 }
    var annealFrom: Int { armSteps - annealSteps }
}

/// One run of the study: the upstream pre-training, or a continuation of it on the downstream corpus.
struct StudyCPTArm {
    /// Directory name under the study's output and key in results.json.
    var name: String
    /// What the table calls it.
    var label: String
    /// The comparisons (plots, claims) it takes part in.
    var groups: [StudyCPTGroup]
    var recipe: Recipe
    /// The infinite arm: an anneal branch of its constant phase at this step, for this many steps.
    var anneal: (from: Int, steps: Int)?

    var isUpstream: Bool { name == StudyCPTPlan.upstreamName }
}

/// The four questions of issue 5, each a figure and a block of the table.
enum StudyCPTGroup: String, CaseIterable {
    case rewarm, replay, schedule, subset

    var title: String {
        switch self {
        case .rewarm: return "No rewarm vs rewarm to three peaks"
        case .replay: return "Replay of the upstream corpus"
        case .schedule: return "Repeated cosine vs infinite schedule (equal tokens)"
        case .subset: return "Multi-epoch subset vs one pass"
        }
    }

    /// Short enough for a figure's title.
    var shortTitle: String {
        switch self {
        case .rewarm: return "Rewarming"
        case .replay: return "Replay"
        case .schedule: return "Schedules at equal tokens"
        case .subset: return "Subset vs one pass"
        }
    }
}

/// The arms of the study for a size and two prepared corpora (tokenized with one tokenizer).
struct StudyCPTPlan {
    static let upstreamName = "upstream"
    /// The name of the upstream val split in downstream runs (`val_loss/upstream`) and of the downstream one in
    /// the upstream run (`val_loss/downstream`).
    static let upstreamSet = "upstream"
    static let downstreamSet = "downstream"

    let size: StudyCPTSize
    let upstreamCorpus: String
    let downstreamCorpus: String
    let arms: [StudyCPTArm]

    init(size: StudyCPTSize, upstreamCorpus: String, downstreamCorpus: String) {
        self.size = size
        self.upstreamCorpus = upstreamCorpus
        self.downstreamCorpus = downstreamCorpus
        var arms = [Self.upstreamArm(size, upstream: upstreamCorpus, downstream: downstreamCorpus)]

        func arm(_ name: String, _ label: String, _ groups: [StudyCPTGroup], replay: Double = 0,
                 configure: (inout Recipe) -> Void) -> StudyCPTArm {
            var recipe = Self.baseRecipe(size)
            recipe.data.corpus = downstreamCorpus
            recipe.data.replay = ReplaySection(corpus: upstreamCorpus, fraction: replay, name: Self.upstreamSet)
            recipe.train.steps = size.armSteps
            recipe.train.evalEvery = size.armEvalEvery
            // Rewarm to a peak over `armWarmup` steps, then re-decay (cosine) to the upstream's floor.
            recipe.schedule.kind = .cosine
            recipe.schedule.warmup = size.armWarmup
            recipe.schedule.minLR = size.upstreamMin
            recipe.optim.lr = size.upstreamPeak
            configure(&recipe)
            return StudyCPTArm(name: name, label: label, groups: groups, recipe: recipe)
        }
        let base = "rewarm_1x"
        // No rewarm: continue at the learning rate the upstream run ended with.
        arms.append(arm("no_rewarm", "no rewarm (constant \(Self.rate(size.upstreamMin)))", [.rewarm]) {
            $0.schedule = ScheduleSection()
            $0.schedule.kind = .constant
            $0.optim.lr = size.upstreamMin
        })
        for factor in size.rewarmFactors {
            let name = factor == 1 ? base : "rewarm_\(Self.factorName(factor))x"
            let peak = size.upstreamPeak * factor
            let groups: [StudyCPTGroup] = factor == 1 ? [.rewarm, .replay, .subset] : [.rewarm]
            arms.append(arm(name, "rewarm to \(Self.rate(peak)), cosine" + (factor == 1 ? ", replay 0 %, one pass" : ""),
                            groups) { $0.optim.lr = peak })
        }
        for fraction in [0.05, 0.25] {
            arms.append(arm("replay_\(Int((fraction * 100).rounded()))", "replay \(Int((fraction * 100).rounded())) %",
                            [.replay], replay: fraction) { _ in })
        }
        arms.append(arm("repeated_cosine", "repeated cosine (2 cycles of \(size.armSteps / 2))", [.schedule]) {
            $0.schedule.kind = .repeatedCosine
            $0.schedule.cycle = size.armSteps / 2
        })
        var infinite = arm("infinite", "infinite (plateau \(Self.rate(size.upstreamPeak * size.infinitePlateauFactor)))",
                           [.schedule]) {
            $0.schedule = ScheduleSection()
            $0.schedule.kind = .infinite
            $0.schedule.warmup = size.armWarmup
            $0.schedule.cooldown = size.infiniteCooldown
            $0.schedule.constantLR = size.upstreamPeak * size.infinitePlateauFactor
            $0.schedule.minLR = size.upstreamMin
            $0.train.checkpointEvery = size.annealFrom
            $0.train.keepLast = 2
        }
        infinite.anneal = (size.annealFrom, size.annealSteps)
        arms.append(infinite)
        arms.append(arm("subset", "multi-epoch subset (\(size.subsetTokens / 1000)k tokens, 4 epochs)", [.subset]) {
            $0.data.mixture = [Self.downstreamSet: MixtureSourceSection(corpus: downstreamCorpus, subsetTokens: size.subsetTokens)]
        })
        self.arms = arms
    }

    /// Model, batch and evaluation shared by every run.
    static func baseRecipe(_ size: StudyCPTSize) -> Recipe {
        var recipe = Recipe()
        recipe.model.flavor = .gpt2
        recipe.model.layers = size.layers
        recipe.model.dModel = size.dModel
        recipe.model.heads = size.heads
        recipe.model.context = size.context
        recipe.optim.batchSize = size.batchSize
        recipe.train.evalBatches = size.evalBatches
        recipe.train.logEvery = 10
        recipe.train.checkpointEvery = 0
        recipe.train.keepLast = 1
        return recipe
    }

    static func upstreamArm(_ size: StudyCPTSize, upstream: String, downstream: String) -> StudyCPTArm {
        var recipe = baseRecipe(size)
        recipe.data.corpus = upstream
        recipe.data.val = [downstreamSet: downstream]
        recipe.optim.lr = size.upstreamPeak
        recipe.schedule.kind = .cosine
        recipe.schedule.warmup = size.upstreamWarmup
        recipe.schedule.minLR = size.upstreamMin
        recipe.train.steps = size.upstreamSteps
        recipe.train.evalEvery = size.upstreamEvalEvery
        return StudyCPTArm(name: upstreamName, label: "upstream pre-training (cosine to \(rate(size.upstreamMin)))",
                           groups: [], recipe: recipe)
    }

    /// 2e-3 style.
    static func rate(_ value: Float) -> String {
        let exponent = Int(log10(Double(value)).rounded(.down))
        let mantissa = Double(value) / pow(10, Double(exponent))
        let text = String(format: "%.2g", mantissa)
        return "\(text)e\(exponent)"
    }

    static func factorName(_ factor: Float) -> String {
        factor == factor.rounded() ? String(Int(factor)) : String(format: "%g", factor).replacingOccurrences(of: ".", with: "p")
    }
}
