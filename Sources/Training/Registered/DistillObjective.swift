import Foundation
import HFInterop
import Layers
import Objectives
import Tensors
import TextData

extension ObjectiveKind {
    /// Knowledge distillation from a frozen teacher into a text model (soft labels, SALT's schedule, latent terms).
    public static let distill = ObjectiveKind(rawValue: "distill")
}

/// `objective.kind: distill` — the student's own objective (causal LM for gpt2/llama, masked LM with
/// `objective.masking` for bert) plus a frozen teacher's soft labels, hidden states and attention distributions
/// (`Distillation`); its settings are `objective.distill`. The teacher is a checkpoint, a run directory or a
/// Hugging Face directory with the student's vocabulary.
public enum DistillObjective: ObjectiveDefinition {
    public typealias Settings = DistillSection
    public static let kind = ObjectiveKind.distill
    public static let settingsKey: String? = "distill"
    public static let families: [ModelFlavor] = [.gpt2, .llama, .bert]
    public static let borrowedSettingsKeys: Set<String> = ["masking"]
    public static let trainingOnlyPrefixes = [DistilledStudent.headPrefix]

    public static func problems(_ section: DistillSection, recipe: Recipe) -> [String] {
        let key = "objective.distill"
        var problems: [String] = []
        if let cache = section.cache {
            problems += cacheProblems(cache, section: section, recipe: recipe)
        } else if section.teacher.isEmpty {
            problems.append("\(key).teacher is required: a checkpoint, run directory or Hugging Face directory of the teacher (or a cache)")
        }
        if recipe.twoStage.isEnabled && (section.config.hiddenWeight > 0 || section.config.attentionWeight > 0) {
            problems.append("two_stage trains sub-models that lack the student's upper layers: \(key).hidden_weight and "
                + "attention_weight must be 0 with it (soft and hard labels work)")
        }
        if !(section.config.temperature > 0) { problems.append("\(key).temperature must be > 0, got \(section.config.temperature)") }
        for (name, value) in [("hard_weight", section.config.hardWeight), ("soft_weight", section.config.softWeight),
                              ("hidden_weight", section.config.hiddenWeight), ("attention_weight", section.config.attentionWeight)] where value < 0 {
            problems.append("\(key).\(name) must be ≥ 0, got \(value)")
        }
        if section.config.hardWeight == 0 && section.config.untilStep != nil {
            problems.append("\(key).until_step needs hard_weight > 0: after it the student would have no loss")
        }
        if let until = section.config.untilStep, until < 1 { problems.append("\(key).until_step must be ≥ 1, got \(until)") }
        if section.config.decaySteps < 0 || section.config.decaySteps > (section.config.untilStep ?? 0) {
            problems.append("\(key).decay_steps must be in 0…until_step, got \(section.config.decaySteps)")
        }
        if let map = section.config.layerMap {
            if map.count != recipe.model.layers {
                problems.append("\(key).layer_map must name a teacher layer for each of the \(recipe.model.layers) student layers, got \(map.count)")
            }
            if map.contains(where: { $0 < 0 }) { problems.append("\(key).layer_map entries must be ≥ 0 (0: no teacher layer), got \(map)") }
        }
        if section.config.hardWeight == 0 && section.config.softWeight == 0 && section.config.hiddenWeight == 0 && section.config.attentionWeight == 0 {
            problems.append("\(key): every weight is 0, nothing to learn")
        }
        return problems
    }

    /// A teacher given as a run directory becomes its newest complete checkpoint, so that a resumed student reads the
    /// teacher it started with even if the teacher's run has gone on.
    public static func resolve(_ settings: inout DistillSection) throws {
        guard !settings.teacher.isEmpty else { return }
        let url = URL(fileURLWithPath: settings.teacher)
        guard !isHuggingFaceDirectory(url) else { return }
        settings.teacher = try Checkpoint.locate(url).path
    }

    /// A cache holds soft labels of sequential windows of one corpus at one context, for a decoder.
    static func cacheProblems(_ cache: String, section: DistillSection, recipe: Recipe) -> [String] {
        let key = "objective.distill.cache"
        var problems: [String] = []
        if recipe.model.flavor == .bert { problems.append("\(key) holds next-token soft labels; a masked-LM student needs a live teacher") }
        if section.config.hiddenWeight > 0 || section.config.attentionWeight > 0 {
            problems.append("\(key) holds soft labels only: hidden_weight and attention_weight need a live teacher")
        }
        if recipe.data.sampling != .sequential || !recipe.data.mixture.isEmpty || recipe.data.replay != nil || !recipe.data.phases.isEmpty {
            problems.append("\(key) needs data.sampling: sequential over data.corpus alone (the cache holds those windows)")
        }
        guard let header = try? TeacherCache.header(URL(fileURLWithPath: cache)) else {
            return problems + ["\(key) \(cache): no cache.json; write the cache with pretrain distill cache"]
        }
        if header.context != recipe.model.context {
            problems.append("\(key) \(cache) holds windows of context \(header.context), model.context is \(recipe.model.context)")
        }
        if let tokens = (try? PreparedCorpus(directory: URL(fileURLWithPath: recipe.data.corpus)))?.trainTokens,
           tokens != header.corpusTrainTokens {
            problems.append("\(key) \(cache) was written for a corpus of \(header.corpusTrainTokens) train tokens (\(header.corpus)); "
                + "data.corpus \(recipe.data.corpus) has \(tokens)")
        }
        return problems
    }

    public static func make(_ settings: DistillSection, backbone: Module, context: ObjectiveContext,
                            generator: inout RandomGenerator) throws -> TrainableObjective {
        var baseObjective = ObjectiveSection()
        if backbone is BertForMaskedLM {
            baseObjective.kind = .maskedLM
            baseObjective.masking = context.objective?.masking ?? MaskingSection()
        }
        guard let base = try baseObjective.kind.definition.make(baseObjective, backbone: backbone, context: context,
                                                                generator: &generator) as? PretrainingObjective else {
            throw TrainingError("objective distill needs a text model (gpt2, llama or bert)")
        }
        var teacher: DistillableModel?, cache: TeacherCache?
        if context.training, let directory = settings.cache {
            let opened = try TeacherCache(URL(fileURLWithPath: directory))
            if let vocabulary = context.model.vocabSize, opened.header.vocabSize != vocabulary {
                throw TrainingError("objective.distill.cache \(directory) has a vocabulary of \(opened.header.vocabSize), the student \(vocabulary)")
            }
            cache = opened
        } else if context.training {
            teacher = try loadTeacher(settings, student: backbone, context: context)
        }
        // The projections are drawn after the student, so its initialisation is the plain run's.
        return Distillation(base: base, teacher: teacher, cache: cache, config: settings.config, generator: &generator)
    }

    /// The teacher of `settings`, checked against the student: same kind of model (decoder or masked-LM encoder),
    /// same vocabulary (and tokenizer.json, when both have one), enough positions, and the layers and heads the latent
    /// terms need.
    static func loadTeacher(_ settings: DistillSection, student: Module, context: ObjectiveContext) throws -> DistillableModel {
        let url = URL(fileURLWithPath: settings.teacher)
        let name = "objective.distill.teacher \(settings.teacher)"
        // An encoder-only BertModel directory has no masked-LM head: it can teach hidden states and attention only.
        let (module, tokenizer) = try loadTextModel(url, freshMaskedLMHead: settings.config.softWeight == 0)
        guard let teacher = DistillableModel(module), let own = DistillableModel(student) else {
            throw TrainingError("\(name): not a text model")
        }
        guard teacher.isDecoder == own.isDecoder else {
            throw TrainingError("\(name): a \(teacher.isDecoder ? "decoder" : "masked-LM encoder") cannot teach a "
                + "\(own.isDecoder ? "decoder" : "masked-LM encoder")")
        }
        guard teacher.vocabularySize == own.vocabularySize else {
            throw TrainingError("\(name) has a vocabulary of \(teacher.vocabularySize), the student \(own.vocabularySize): "
                + "distillation needs the same tokenizer")
        }
        if let tokenizer, let corpus = context.tokenizerURL,
           let a = try? Data(contentsOf: tokenizer), let b = try? Data(contentsOf: corpus), a != b {
            throw TrainingError("\(name): its tokenizer.json differs from the corpus' \(corpus.path); distillation needs the same tokenizer")
        }
        guard teacher.positions >= context.model.context else {
            throw TrainingError("\(name) takes \(teacher.positions) positions, fewer than model.context \(context.model.context)")
        }
        let config = settings.config
        if config.usesLatent {
            for pair in config.layerPairs(studentLayers: own.layers, teacherLayers: teacher.layers) where pair.teacher > teacher.layers {
                throw TrainingError("objective.distill.layer_map names teacher layer \(pair.teacher); \(settings.teacher) has \(teacher.layers)")
            }
            if config.hiddenWeight > 0 && !config.projectHidden && teacher.width != own.width {
                throw TrainingError("objective.distill.project_hidden: false needs equal widths; the teacher has \(teacher.width), the student \(own.width)")
            }
            if config.attentionWeight > 0 && teacher.heads != own.heads {
                throw TrainingError("objective.distill.attention_weight needs equal head counts; the teacher has \(teacher.heads), the student \(own.heads)")
            }
        }
        return teacher
    }
}

/// A text model from a checkpoint or run directory of ours, or from a Hugging Face directory (config.json with a
/// `model_type`): the model, in evaluation mode, and its tokenizer.json when it has one. `freshMaskedLMHead` accepts
/// an encoder-only BERT directory (its masked-LM head then is a fresh one).
public func loadTextModel(_ url: URL, freshMaskedLMHead: Bool = false) throws -> (model: Module, tokenizer: URL?) {
    if isHuggingFaceDirectory(url) {
        let imported = try importHuggingFace(directory: url, options: HuggingFaceImportOptions(freshMaskedLMHead: freshMaskedLMHead))
        imported.model.eval()
        return (imported.model, imported.tokenizer)
    }
    let loaded = try loadCheckpoint(url)
    return (loaded.model, loaded.tokenizerURL)
}

/// Whether `url` holds a Hugging Face model: a config.json with a `model_type` (ours has `model` and `objective`).
public func isHuggingFaceDirectory(_ url: URL) -> Bool {
    guard let data = try? Data(contentsOf: url.appendingPathComponent("config.json")),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
    return object["model_type"] != nil
}

/// `objective.distill:` — the teacher (or a cache of its soft labels) and the terms' weights and schedule
/// (`DistillationConfig`, which documents each).
public struct DistillSection: RecipeSection {
    /// A checkpoint, run directory or Hugging Face directory (required unless `cache` is set).
    public var teacher = ""
    /// A teacher cache (`pretrain distill cache`) to read soft labels from instead of running `teacher`.
    public var cache: String?
    public var config = DistillationConfig()

    public init() {}

    public static let keys: [RecipeKey<DistillSection>] = [
        .init("teacher", \.teacher), .init("cache", \.cache), .init("temperature", \.config.temperature),
        .init("hard_weight", \.config.hardWeight), .init("soft_weight", \.config.softWeight),
        .init("hidden_weight", \.config.hiddenWeight), .init("attention_weight", \.config.attentionWeight),
        .init("until_step", \.config.untilStep), .init("decay_steps", \.config.decaySteps), .init("layer_map", \.config.layerMap),
        .init("project_hidden", \.config.projectHidden),
    ]
}

extension ObjectiveSection {
    public var distill: DistillSection? {
        get { settings(of: DistillObjective.self) }
        set { setSettings(newValue, of: DistillObjective.self) }
    }
}
