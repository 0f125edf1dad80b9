import Foundation
import Objectives
import Training

/// The recipes of the knowledge-transfer study's arms (`StudyTransfer`), built from its size and corpora.
struct StudyTransferPlan {
    let size: StudyTransferSize
    let study: StudyTransfer

    /// Runs in order: the teacher, two per seed (KD), four (SALT), two + two + four (BERT), two per seed (target),
    /// three (growth), two per SPDF arm.
    var runCount: Int { 1 + 2 * size.seeds + 4 + 8 + 2 * size.seeds + GrowthMethod.allCases.count + 1 + 2 * (size.seeds + 2) }

    /// A GPT-2 of `shape` on the study's GPT corpus for `steps` steps: cosine from `lr` to `minLR`.
    func gpt(_ shape: (layers: Int, width: Int, heads: Int), steps: Int, seed: Int, corpus: String = "gpt") -> Recipe {
        var recipe = Recipe()
        recipe.model.flavor = .gpt2
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads) = shape
        recipe.model.context = size.context
        recipe.data.corpus = study.corpus(corpus).path
        recipe.optim.lr = size.lr
        recipe.optim.batchSize = size.batchSize
        recipe.optim.weightDecay = 0.1
        recipe.optim.betas = [0.9, 0.95]
        recipe.schedule.kind = .cosine
        recipe.schedule.warmup = size.warmup
        recipe.schedule.minLR = size.minLR
        recipe.train.steps = steps
        recipe.train.evalEvery = size.evalEvery
        recipe.train.evalBatches = size.evalBatches
        recipe.train.logEvery = max(1, size.evalEvery / 5)
        recipe.train.checkpointEvery = steps
        recipe.train.keepLast = 1
        recipe.train.seed = UInt64(seed)
        return recipe
    }

    /// `recipe` evaluated on the whole val split every other evaluation step: growth compares every evaluation of a
    /// grown run with the from-scratch run's last (a periodic evaluation otherwise reads only `evalBatches`).
    func evaluatedOnTheWholeSplit(_ recipe: Recipe) -> Recipe {
        var recipe = recipe
        (recipe.train.evalEvery, recipe.train.evalBatches) = (2 * size.evalEvery, 0)
        return recipe
    }

    /// A BERT (masked LM, the default 15 % masking) on one of the BERT corpora, at a quarter of the GPT peak: post-LN
    /// BERTs train at lower rates (BERT: 1e-4; small BERTs up to 1e-3, Turc et al. 2019), and at the GPT's 2e-3 the
    /// 4-layer teacher ended worse than the 2-layer student (an earlier run of this study).
    func bert(_ layers: Int, _ width: Int, _ heads: Int, corpus: String, steps: Int) -> Recipe {
        var recipe = gpt((layers, width, heads), steps: steps, seed: 1, corpus: corpus)
        recipe.model.flavor = .bert
        (recipe.optim.lr, recipe.schedule.minLR) = (size.lr / 4, size.minLR / 4)
        recipe.objective.kind = .maskedLM
        return recipe
    }

    /// `recipe` distilled from the study's run `teacher`: ½ hard + ½ soft labels at τ = 2 unless `configure` says
    /// otherwise (a masked-LM recipe keeps its masking).
    func distilled(_ recipe: Recipe, teacher: String, _ configure: (inout DistillationConfig) -> Void) -> Recipe {
        var recipe = recipe
        var section = DistillSection()
        section.teacher = study.out.appendingPathComponent(teacher).path
        (section.config.temperature, section.config.hardWeight, section.config.softWeight) = (2, 0.5, 0.5)
        configure(&section.config)
        let masking = recipe.objective.masking
        recipe.objective = ObjectiveSection()
        recipe.objective.kind = .distill
        recipe.objective.distill = section
        if recipe.model.flavor == .bert { recipe.objective.masking = masking }
        return recipe
    }

    /// ERNIE-Tiny's progressive distillation (Su et al. 2021 §3): general distillation (latent only, general data,
    /// the pretrained teacher) → general-enhanced (the teacher further pre-trained on the task domain) →
    /// task-adaptive (latent only, domain data) → task-specific (latent + soft + hard labels, domain data); a quarter
    /// of the student's steps each, each from the last.
    func ernieStages() -> [(name: String, label: String, recipe: Recipe)] {
        let steps = max(1, size.bertStudentSteps / 4)
        func stage(_ corpus: String, teacher: String, labels: Bool) -> Recipe {
            let student = bert(size.small.layers, size.small.width, size.small.heads, corpus: corpus, steps: steps)
            return distilled(student, teacher: teacher) {
                ($0.hiddenWeight, $0.attentionWeight) = (1, 1)
                if !labels { ($0.hardWeight, $0.softWeight) = (0, 0) }
            }
        }
        return [
            ("ernie-1-general", "general distillation", stage("bert", teacher: "bert-teacher", labels: false)),
            ("ernie-2-general-enhanced", "general-enhanced distillation", stage("bert", teacher: "bert-teacher-folio", labels: false)),
            ("ernie-3-task-adaptive", "task-adaptive distillation", stage("bert-folio", teacher: "bert-teacher-folio", labels: false)),
            ("ernie-4-task-specific", "task-specific distillation", stage("bert-folio", teacher: "bert-teacher-folio", labels: true)),
        ]
    }

    /// Further pre-training of the small model on the target play: a quarter of the peak, `targetSteps` steps.
    func target(seed: Int) -> Recipe {
        var recipe = gpt(size.small, steps: size.targetSteps, seed: seed, corpus: "target")
        (recipe.optim.lr, recipe.schedule.minLR) = (size.lr / 4, size.minLR / 4)
        return recipe
    }

    /// The small model with `fraction` of its block weights masked (random masks), for `sparseSteps`.
    func sparse(fraction: Float, seed: Int) -> Recipe {
        var recipe = gpt(size.small, steps: size.sparseSteps, seed: seed)
        recipe.sparsity.fraction = fraction
        return recipe
    }

    /// The dense continuation of a sparse run: the rest of `smallSteps`, rewarmed to half the peak.
    func dense(seed: Int) -> Recipe {
        var recipe = gpt(size.small, steps: size.smallSteps - size.sparseSteps, seed: seed)
        recipe.optim.lr = size.lr / 2
        return recipe
    }

    /// SALT's selection from the GPT corpus by the small model: the next half below the hardest 10 % of windows.
    func selectHardWindows(teacher: URL, into destination: URL) throws -> SLMDataSelection.Summary {
        guard let small = try loadCheckpoint(teacher).decoder else { throw TrainingError("\(teacher.path): not a decoder") }
        return try SLMDataSelection(context: size.context, fraction: 0.5, skipHardest: 0.1)
            .run(model: small, source: study.corpus("gpt"), destination: destination)
    }

    /// `recipe` drawing its windows from the selected corpus before step `until`, from the whole corpus after.
    func withSelectedWindows(_ recipe: Recipe, until: Int) -> Recipe {
        var recipe = recipe
        recipe.data.mixture = ["selected": MixtureSourceSection(corpus: study.corpus("salt-selected").path),
                               "full": MixtureSourceSection(corpus: study.corpus("gpt").path)]
        recipe.data.phases = [PhaseSection(until: until, weights: ["selected": 1]), PhaseSection(weights: ["full": 1])]
        return recipe
    }

    /// Each first-stage step's training FLOPs of a `two_stage:` recipe as a share of a whole step of the model that
    /// `model` (a run of the same shape) holds.
    func stepCosts(_ recipe: Recipe, model: URL) throws -> [Double] {
        let loaded = try loadCheckpoint(model)
        let blocks = recipe.model.layers
        let blockParameters = loaded.model.namedParameters().filter { $0.name.hasPrefix("transformer.h.0.") }.reduce(0) { $0 + $1.tensor.count }
        let other = loaded.model.parameterCount - blocks * blockParameters
        return (0..<recipe.twoStage.steps).map { step in
            TwoStagePretraining.flopsShare(
                TwoStagePretraining.subModel(at: step, settings: recipe.twoStage, blocks: blocks, runSeed: recipe.train.seed),
                blocks: blocks, blockParameters: blockParameters, otherParameters: other, dModel: recipe.model.dModel,
                context: recipe.model.context)
        }
    }

    /// The small model's checkpoint grown to the large shape by `method` (bert2BERT) in `directory`.
    func grow(_ source: URL, method: GrowthMethod, into directory: URL) throws -> URL {
        let options = GrowthOptions(layers: size.large.layers, dModel: size.large.width, heads: size.large.heads, method: method, seed: 1)
        return try growCheckpoint(source, options: options, to: directory).directory
    }
}
