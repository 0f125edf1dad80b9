import Layers
import Tensors

/// What a distillation loss takes from the teacher, and how much of each, at which steps.
///
/// loss = hardWeight · L_hard + w(step) · (softWeight · τ² · KL(p_t ‖ p_s) + hiddenWeight · L_hidden
///                                          + attentionWeight · L_attention)
/// - soft labels (Hinton et al. 2015): the KL of the teacher's to the student's output distribution at
///   temperature τ, over the positions the hard loss predicts;
/// - hidden states (TinyBERT, Jiao et al. 2020 §3.1, eq. 8): MSE(h_s · Wᵀ, h_t) per mapped layer pair, W a learned
///   (C_t, C_s) projection, or none when `projectHidden` is false (equal widths: self-distillation);
/// - attention (MiniLM, Wang et al. 2020 §3.1): KL(A_t ‖ A_s) of each head's self-attention distribution, the mean
///   over (B, H, T) rows, per mapped layer pair (equal head counts);
/// - w(step) is 1 before `untilStep − decaySteps`, falls linearly to 0 at `untilStep` and stays 0 (SALT, Rawat et
///   al. 2024: a small teacher helps a large student early only); without `untilStep` it is 1 throughout.
/// Latent terms average over the pairs of `layerMap`: student layer m (1-based; 0 is the embeddings' output) learns
/// from teacher layer layerMap[m − 1], and a 0 entry skips that student layer.
public struct DistillationConfig: Equatable {
    public var temperature: Float = 2
    public var hardWeight: Float = 1
    public var softWeight: Float = 1
    public var hiddenWeight: Float = 0
    public var attentionWeight: Float = 0
    public var untilStep: Int?
    public var decaySteps = 0
    /// Teacher layer of each student layer 1…L_s (0: none); nil: the uniform map g(m) = round(m · L_t / L_s).
    public var layerMap: [Int]?
    public var projectHidden = true

    public init() {}

    /// The teacher terms' weight at update `step` (0-based).
    public func teacherWeight(step: Int) -> Float {
        guard let untilStep else { return 1 }
        if step >= untilStep { return 0 }
        let decayStart = untilStep - decaySteps
        return step < decayStart ? 1 : Float(untilStep - step) / Float(decaySteps + 1)
    }

    /// Whether any term reads the teacher at all.
    public var usesTeacher: Bool { softWeight > 0 || hiddenWeight > 0 || attentionWeight > 0 }
    public var usesLatent: Bool { hiddenWeight > 0 || attentionWeight > 0 }

    /// (student layer, teacher layer) pairs of the latent terms, 1-based.
    public func layerPairs(studentLayers: Int, teacherLayers: Int) -> [(student: Int, teacher: Int)] {
        let map = layerMap ?? (1...max(1, studentLayers)).map { m in
            max(1, Int((Double(m * teacherLayers) / Double(studentLayers)).rounded()))
        }
        return map.enumerated().compactMap { index, teacher in teacher == 0 ? nil : (index + 1, teacher) }
    }
}

/// A text model as distillation sees it: a decoder or a masked-LM encoder, run on (B, T) inputs for the logits
/// of some rows, its layer outputs and the attention scores of chosen layers.
public struct DistillableModel {
    public let module: Module
    private let decoder: GPTModel?
    private let encoder: BertForMaskedLM?
    public let layers: Int, width: Int, heads: Int, vocabularySize: Int
    /// The longest input it takes.
    public let positions: Int
    /// Layer l's attention at index l − 1 (found once: a reflection walk per step would be work on the hot path).
    private let attentions: [MultiHeadAttention]

    public init?(_ module: Module) {
        (self.module, decoder, encoder) = (module, module as? GPTModel, module as? BertForMaskedLM)
        if let decoder {
            let c = decoder.config
            (layers, width, heads, vocabularySize, positions) = (c.layers, c.dModel, c.heads, c.vocabSize, c.contextLength)
        } else if let encoder {
            let c = encoder.config
            (layers, width, heads, vocabularySize, positions) = (c.layers, c.hiddenSize, c.heads, c.vocabSize, c.maxPositions)
        } else {
            return nil
        }
        attentions = module.modules().compactMap { $0 as? MultiHeadAttention }
    }

    /// A decoder (GPT-2, Llama), else a masked-LM encoder (BERT).
    public var isDecoder: Bool { decoder != nil }

    /// One forward pass. inputs: (B, T); rows: the flattened (B·T) positions whose logits are wanted (nil: all).
    /// Returns logits (N, V) of those rows, the L + 1 layer outputs (B, T, C) when `collectLayers`, and the
    /// pre-softmax attention scores (B, H, T, T) of the 1-based `attentionLayers`.
    public func run(_ inputs: IntTensor, rows: IntTensor?, collectLayers: Bool,
                    attentionLayers: Set<Int>) -> (logits: Tensor, layers: [Tensor], scores: [Int: Tensor]) {
        for layer in attentionLayers { attentions[layer - 1].recordsScores = true }
        defer {
            for layer in attentionLayers {
                attentions[layer - 1].recordsScores = false
                attentions[layer - 1].recordedScores = nil
            }
        }
        var layerOutputs: [Tensor]? = collectLayers ? [] : nil
        let count = inputs.count
        let logits: Tensor
        if let decoder {
            let hidden = decoder.hiddenStates(tokens: inputs, layerOutputs: &layerOutputs).reshaped([count, width])
            logits = linear(rows.map { embedding(hidden, indices: $0) } ?? hidden, weight: decoder.outputWeight)
        } else {
            let hidden = encoder!.bert(tokens: inputs, layerOutputs: &layerOutputs).reshaped([count, width])
            logits = encoder!.predictions(rows.map { embedding(hidden, indices: $0) } ?? hidden)
        }
        var scores: [Int: Tensor] = [:]
        for layer in attentionLayers { scores[layer] = attentions[layer - 1].recordedScores }
        return (logits, layerOutputs ?? [], scores)
    }
}

/// A teacher's top-k next-token log-probabilities read from disk instead of computed (`TeacherCache`).
public protocol CachedTeacherOutputs: AnyObject {
    var topK: Int { get }
    /// For a (T + 1)-token window: the T·K ids and log-probabilities, position-major; nil when not cached.
    func topK(_ window: [Int32]) -> (indices: [Int32], logProbabilities: [Float])?
}

/// The learned projections of the hidden-state term, one per mapped student layer: (C_t, C_s), no bias.
public final class DistillationHeads: Module {
    @Key public var hiddenProjections: [Linear]

    public init(count: Int, studentWidth: Int, teacherWidth: Int, generator: inout RandomGenerator) {
        _hiddenProjections = Key(wrappedValue: (0..<count).map { _ in
            Linear(studentWidth, teacherWidth, bias: false, generator: &generator)
        }, "hidden_projection")
        super.init()
    }
}

/// The student as the trainer and its checkpoints see it: the student's own parameters under their usual names,
/// and the distillation heads (when there are any) under `distill.`, which a checkpoint loaded for use drops.
public final class DistilledStudent: Module {
    @Key public var student: Module
    @Key public var heads: DistillationHeads?

    public static let headPrefix = "distill."

    public init(student: Module, heads: DistillationHeads?) {
        _student = Key(wrappedValue: student, "")
        _heads = Key(wrappedValue: heads, "distill")
        super.init()
    }
}

/// Knowledge distillation from a frozen teacher into a student trained on token windows (causal LM or masked LM).
///
/// The teacher runs forward only, with its parameters frozen and no tape (`noGrad`), on the same inputs as the
/// student (for masked LM the same masked inputs, the soft term over the masked positions). While every teacher
/// term's weight is 0 — w(step) = 0 after SALT's `untilStep`, or weights of 0 — and in evaluation, the loss is the
/// base objective's own, computed exactly as it computes it, so such a run is plain training bit for bit.
public final class Distillation: PretrainingObjective, StepAwareObjective {
    public let base: PretrainingObjective
    public let student: DistillableModel
    public let teacher: DistillableModel?
    /// Soft labels from a cache of the teacher's top k (causal LM, soft term only), in place of `teacher`.
    public let cache: CachedTeacherOutputs?
    public let config: DistillationConfig
    public let wrapped: DistilledStudent
    public var model: Module { wrapped }
    let pairs: [(student: Int, teacher: Int)]
    private var weight: Float = 1
    private var sums: [String: Double] = [:], batches = 0

    /// `teacher` nil: built to evaluate a checkpoint (the hard loss only). `generator` draws the projections.
    public init(base: PretrainingObjective, teacher: DistillableModel?, cache: CachedTeacherOutputs? = nil,
                config: DistillationConfig, generator: inout RandomGenerator) {
        guard let student = DistillableModel(base.model) else { preconditionFailure("distillation needs a GPTModel or BertForMaskedLM student") }
        self.base = base
        self.student = student
        self.teacher = teacher
        self.cache = cache
        self.config = config
        let teacherLayers = teacher?.layers ?? student.layers
        pairs = config.usesLatent ? config.layerPairs(studentLayers: student.layers, teacherLayers: teacherLayers) : []
        let projected = config.hiddenWeight > 0 && config.projectHidden
        let heads = projected ? DistillationHeads(count: pairs.count, studentWidth: student.width,
                                                  teacherWidth: teacher?.width ?? student.width, generator: &generator) : nil
        wrapped = DistilledStudent(student: student.module, heads: heads)
        if let teacher {
            teacher.module.eval()
            teacher.module.freeze()
        }
    }

    public var predictsNextToken: Bool { base.predictsNextToken }

    public func prepare(step: Int) { weight = config.teacherWeight(step: step) }

    public func drainMetrics() -> [String: Double] {
        defer { (sums, batches) = ([:], 0) }
        guard batches > 0 else { return [:] }
        return sums.mapValues { $0 / Double(batches) }
    }

    public func loss(_ tokens: IntTensor, generator: inout RandomGenerator) -> (loss: Tensor, predicted: Int) {
        guard teacher != nil || cache != nil, wrapped.isTraining, weight > 0, config.usesTeacher else {
            if wrapped.isTraining { record(["teacher_weight": 0]) }
            return base.loss(tokens, generator: &generator)
        }
        // The inputs and targets the base objective would use, with the same draws.
        let inputs: IntTensor, targets: IntTensor
        if let masked = base as? MaskedLanguageModeling {
            (inputs, targets) = masked.mask(tokens.columns(0..<(tokens.shape[1] - 1)), generator: &generator)
        } else {
            let width = tokens.shape[1]
            (inputs, targets) = (tokens.columns(0..<(width - 1)), tokens.columns(1..<width))
        }
        // The rows the hard loss predicts (masked LM: the masked positions; a causal LM: all, without a gather).
        var rowIndices = targets.values.indices.filter { targets.values[$0] != -100 }.map { Int32($0) }
        if rowIndices.isEmpty { rowIndices = [0] }
        let rows = rowIndices.count == targets.count ? nil : IntTensor(rowIndices, shape: [rowIndices.count])
        let rowTargets = IntTensor(rowIndices.map { targets.values[Int($0)] }, shape: [rowIndices.count])
        let attentionLayers = config.attentionWeight > 0 ? Set(pairs.map(\.student)) : []
        let teacherAttention = config.attentionWeight > 0 ? Set(pairs.map(\.teacher)) : []
        let collect = config.hiddenWeight > 0

        let own = student.run(inputs, rows: rows, collectLayers: collect, attentionLayers: attentionLayers)
        // A cached teacher gives soft labels only (the recipe's checks): no live pass then.
        let reference = teacher.map { teacher in
            noGrad { teacher.run(inputs, rows: rows, collectLayers: collect, attentionLayers: teacherAttention) }
        }

        let hard = crossEntropy(own.logits, targets: rowTargets)
        var total = config.hardWeight == 1 ? hard : hard * config.hardWeight
        var values: [String: Double] = ["teacher_weight": Double(weight), "hard_loss": Double(hard.item)]
        if config.softWeight > 0 {
            let soft = cache.map { cachedSoftLoss(own.logits, windows: tokens, $0) }
                ?? distillationLoss(student: own.logits, teacher: reference!.logits, temperature: config.temperature)
            total = total + soft * (weight * config.softWeight)
            values["soft_loss"] = Double(soft.item)
        }
        if config.hiddenWeight > 0 {
            var terms: [Tensor] = []
            for (index, pair) in pairs.enumerated() {
                var hidden = own.layers[pair.student]
                if let projection = wrapped.heads?.hiddenProjections[index] { hidden = projection(hidden) }
                terms.append(mseLoss(hidden, reference!.layers[pair.teacher]))
            }
            let latent = mean(terms)
            total = total + latent * (weight * config.hiddenWeight)
            values["hidden_loss"] = Double(latent.item)
        }
        if config.attentionWeight > 0 {
            let terms = pairs.map { distillationLoss(student: own.scores[$0.student]!, teacher: reference!.scores[$0.teacher]!, temperature: 1) }
            let attention = mean(terms)
            total = total + attention * (weight * config.attentionWeight)
            values["attention_loss"] = Double(attention.item)
        }
        record(values)
        return (total, targets.values.reduce(0) { $0 + ($1 == -100 ? 0 : 1) })
    }

    /// The soft term against the cached top k of each window: logits (B·T, V) of windows (B, T+1).
    private func cachedSoftLoss(_ logits: Tensor, windows: IntTensor, _ cache: CachedTeacherOutputs) -> Tensor {
        let (rows, width) = (windows.shape[0], windows.shape[1])
        var indices: [Int32] = [], values: [Float] = []
        for row in 0..<rows {
            guard let cached = cache.topK(Array(windows.values[(row * width)..<((row + 1) * width)])) else {
                preconditionFailure("a window is missing from the teacher cache: the recipe's checks tie the cache to sequential windows of its corpus")
            }
            indices += cached.indices
            values += cached.logProbabilities
        }
        let positions = rows * (width - 1)
        return topKDistillationLoss(student: logits, indices: IntTensor(indices, shape: [positions, cache.topK]),
                                    logProbabilities: Tensor(values, shape: [positions, cache.topK]), temperature: config.temperature)
    }

    private func mean(_ terms: [Tensor]) -> Tensor {
        let sum = terms.dropFirst().reduce(terms[0]) { $0 + $1 }
        return terms.count == 1 ? sum : sum * (1 / Float(terms.count))
    }

    private func record(_ values: [String: Double]) {
        for (name, value) in values { sums[name, default: 0] += value }
        batches += 1
    }
}
