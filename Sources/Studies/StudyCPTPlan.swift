import Foundation
import Training

/// One run of the study: the upstream pre-training, or a continuation of it on the downstream corpus.
public struct StudyCPTArm {
    /// Directory name under the study's output and key in results.json.
    public var name: String
    /// What the table calls it.
    public var label: String
    /// The comparisons (plots, claims) it takes part in.
    public var groups: [StudyCPTGroup]
    public var recipe: Recipe
    /// The infinite arm: an anneal branch of its constant phase at this step, for this many steps.
    public var anneal: (from: Int, steps: Int)?

    public init(name: String, label: String, groups: [StudyCPTGroup], recipe: Recipe, anneal: (from: Int, steps: Int)? = nil) {
        self.name = name
        self.label = label
        self.groups = groups
        self.recipe = recipe
        self.anneal = anneal
    }

    public var isUpstream: Bool { name == StudyCPTPlan.upstreamName }
}

/// The four questions of issue 5, each a figure and a block of the table.
public enum StudyCPTGroup: String, CaseIterable, Sendable {
    case rewarm, replay, schedule, subset

    public var title: String {
        switch self {
        case .rewarm: return "No rewarm vs rewarm to three peaks"
        case .replay: return "Replay of the upstream corpus"
        case .schedule: return "Repeated cosine vs infinite schedule (equal tokens)"
        case .subset: return "Multi-epoch subset vs one pass"
        }
    }

    /// Short enough for a figure's title.
    public var shortTitle: String {
        switch self {
        case .rewarm: return "Rewarming"
        case .replay: return "Replay"
        case .schedule: return "Schedules at equal tokens"
        case .subset: return "Subset vs one pass"
        }
    }
}

/// The arms of the study for a size and two prepared corpora (tokenized with one tokenizer).
public struct StudyCPTPlan {
    public static let upstreamName = "upstream"
    /// The name of the upstream val split in downstream runs (`val_loss/upstream`) and of the downstream one in
    /// the upstream run (`val_loss/downstream`).
    public static let upstreamSet = "upstream"
    public static let downstreamSet = "downstream"

    public let size: StudyCPTSize
    public let upstreamCorpus: String
    public let downstreamCorpus: String
    /// The upstream run first; every other arm starts from its final checkpoint.
    public let arms: [StudyCPTArm]

    public init(size: StudyCPTSize, upstreamCorpus: String, downstreamCorpus: String) {
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
    public static func baseRecipe(_ size: StudyCPTSize) -> Recipe {
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

    /// The design paragraph of the results section: model, runs, schedules, how much of the downstream split an
    /// arm reads (`downstreamTrainTokens`: its train split's size) and how often it is evaluated.
    public func design(downstreamTrainTokens: Int) -> String {
        let upstreamTokens = size.upstreamSteps * size.tokensPerStep, armTokens = size.armSteps * size.tokensPerStep
        return "\(size.layers)-layer d=\(size.dModel) GPT-2 (\(size.heads) heads, context \(size.context), batches of "
            + "\(size.batchSize) windows). Upstream: \(size.upstreamSteps) steps (\(upstreamTokens / 1000)k tokens) on "
            + "`\(upstreamCorpus)`, cosine \(Self.rate(size.upstreamPeak)) → \(Self.rate(size.upstreamMin)). "
            + "Every arm: \(size.armSteps) steps (\(armTokens / 1000)k tokens) on `\(downstreamCorpus)` from the "
            + "upstream checkpoint; rewarm arms warm up over \(size.armWarmup) steps, then decay (cosine) to "
            + "\(Self.rate(size.upstreamMin)); replay arms rewarm to 1×; the infinite arm cools down over "
            + "\(size.infiniteCooldown) steps to its plateau and its anneal branch decays linearly over the last "
            + "\(size.annealSteps) steps; the one-pass arms read random windows of all \(downstreamTrainTokens / 1000)k "
            + "downstream train tokens (\(String(format: "%.2f", Double(armTokens) / Double(max(1, downstreamTrainTokens)))) "
            + "of an epoch), the subset arm cycles the first \(size.subsetTokens / 1000)k (4 epochs). Evaluated every "
            + "\(size.armEvalEvery) steps on \(size.evalBatches) batches of each val split."
    }

    /// 2e-3 style.
    public static func rate(_ value: Float) -> String {
        let exponent = Int(log10(Double(value)).rounded(.down))
        let mantissa = Double(value) / pow(10, Double(exponent))
        let text = String(format: "%.2g", mantissa)
        return "\(text)e\(exponent)"
    }

    /// 0.5 → "0p5", 2 → "2" (arm names are directory names).
    static func factorName(_ factor: Float) -> String {
        factor == factor.rounded() ? String(Int(factor)) : String(format: "%g", factor).replacingOccurrences(of: ".", with: "p")
    }
}
