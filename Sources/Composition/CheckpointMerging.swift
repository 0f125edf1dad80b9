import FileErrors
import Foundation
import Layers
import Tensors
import Training

/// How `pretrain merge` combines checkpoints (`WeightMerging`).
public enum MergeMethod: String, CaseIterable, Sendable {
    /// Σ w_i θ_i, the weights normalised to sum to 1 (uniform by default).
    case linear
    /// base + Σ λ_i (θ_i − base).
    case taskArithmetic = "task-arithmetic"
    /// base + λ · TIES(θ_i − base) (trim to `density`, elect signs, disjoint mean).
    case ties
    /// target + λ (θ_instruct − base): a residual moved onto another checkpoint of the same parent.
    case residual
}

/// One merge: the models, and the base and target the method needs.
public struct CheckpointMerge {
    public var method: MergeMethod
    /// linear: the models averaged; task-arithmetic and ties: the fine-tuned models; residual: the one whose
    /// difference from the base is moved (the instruct model).
    public var models: [URL]
    /// The parent the differences are taken from (task-arithmetic, ties, residual).
    public var base: URL?
    /// residual: the checkpoint the difference is added to.
    public var target: URL?
    /// linear: one weight per model (normalised); task-arithmetic: one λ per model (or one for all).
    public var weights: [Double]?
    /// ties and residual: the scale of the merged difference.
    public var scale = 1.0
    /// ties: the fraction of each difference's largest magnitudes kept, per tensor.
    public var density = 0.2

    public init(method: MergeMethod, models: [URL]) { (self.method, self.models) = (method, models) }

    /// Checks the arguments a method needs, before anything loads.
    public func validate() throws {
        let name = method.rawValue
        guard !models.isEmpty else { throw CompositionError("merge \(name): no model to merge") }
        switch method {
        case .linear:
            guard base == nil, target == nil else { throw CompositionError("merge linear takes neither --base nor --target") }
            guard models.count >= 2 else { throw CompositionError("merge linear needs at least two models, got \(models.count)") }
            if let weights {
                guard weights.count == models.count else {
                    throw CompositionError("merge linear: \(weights.count) weights for \(models.count) models")
                }
                guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.reduce(0, +) > 0 else {
                    throw CompositionError("merge linear: weights must be ≥ 0 with a positive sum, got \(weights)")
                }
            }
        case .taskArithmetic, .ties:
            guard base != nil else { throw CompositionError("merge \(name) needs --base (the parent of the models)") }
            guard target == nil else { throw CompositionError("merge \(name) takes no --target (that is residual)") }
            if method == .taskArithmetic, let weights, weights.count != 1 && weights.count != models.count {
                throw CompositionError("merge task-arithmetic: \(weights.count) scales for \(models.count) models (give one, or one each)")
            }
            if method == .ties {
                guard weights == nil else { throw CompositionError("merge ties takes --scale, not per-model weights") }
                guard density > 0 && density <= 1 else { throw CompositionError("merge ties: --density must be in (0, 1], got \(density)") }
            }
        case .residual:
            guard base != nil, target != nil, models.count == 1 else {
                throw CompositionError("merge residual needs --target, --base and one model (target + scale·(model − base))")
            }
            guard weights == nil else { throw CompositionError("merge residual takes --scale, not per-model weights") }
        }
        guard (weights ?? []).allSatisfy(\.isFinite), scale.isFinite else { throw CompositionError("merge \(name): a weight is not finite") }
    }

    /// Every input in the order the output takes its config from: the target (residual), else the first model; then
    /// the models, then the base.
    var inputs: [URL] { [target].compactMap { $0 } + models + [base].compactMap { $0 } }

    /// Merges and writes an ordinary checkpoint at `out` (model.safetensors, config.json, tokenizer.json of the first
    /// input; no optimiser or trainer state: it starts runs, evaluations and exports). `out` may exist only as an
    /// empty directory or a checkpoint, and must not be one of the inputs.
    @discardableResult
    public func write(to out: URL) throws -> URL {
        try validate()
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: out.path), !existing.isEmpty,
           !existing.contains(Checkpoint.modelFile) {
            throw CompositionError("--out \(out.path) is a directory of other files, not a checkpoint: choose a new or empty directory")
        }
        let loaded = try MergeInputs(inputs)
        let destination = out.standardizedFileURL.resolvingSymlinksInPath().path
        if let same = loaded.directories.first(where: { $0.standardizedFileURL.resolvingSymlinksInPath().path == destination }) {
            throw CompositionError("--out \(out.path) is an input of the merge (\(same.path)): write it elsewhere")
        }
        let weights = merged(loaded)
        var writer = CheckpointWriter(weights: weights, weightsMetadata: [
            "merge_method": method.rawValue, "merged_from": loaded.directories.map(\.path).joined(separator: ","),
        ])
        writer.config = loaded.configs[0]
        writer.copiedFiles = loaded.tokenizer.map { [$0] } ?? []
        try writer.write(checkpointAt: out, marker: "merged by \(method.rawValue) from \(loaded.directories.map(\.path).joined(separator: ", "))")
        return out
    }

    /// The merged state dict of checked inputs (ordered as `inputs`).
    func merged(_ loaded: MergeInputs) -> [String: Tensor] {
        let states = loaded.states
        switch method {
        case .linear:
            let raw = weights ?? Array(repeating: 1, count: models.count)
            let total = raw.reduce(0, +)
            return WeightMerging.linear(states, weights: raw.map { $0 / total })
        case .taskArithmetic:
            let scales = weights.map { $0.count == 1 ? Array(repeating: $0[0], count: models.count) : $0 }
                ?? Array(repeating: 1, count: models.count)
            return WeightMerging.taskArithmetic(target: states.last!, base: states.last!, models: Array(states.dropLast()), scales: scales)
        case .ties:
            return WeightMerging.ties(base: states.last!, models: Array(states.dropLast()), density: density, scale: scale)
        case .residual:
            return WeightMerging.taskArithmetic(target: states[0], base: states[2], models: [states[1]], scales: [scale])
        }
    }
}

/// Checkpoints loaded for a merge and checked to be one architecture: equal model sections (the first differing
/// field named), the same tensor names and shapes (the first mismatch named), the same tokenizer when they have one.
struct MergeInputs {
    let directories: [URL]
    let configs: [CheckpointConfig]
    let states: [[String: Tensor]]
    let tokenizer: URL?

    init(_ urls: [URL]) throws {
        var directories: [URL] = [], configs: [CheckpointConfig] = [], states: [[String: Tensor]] = []
        for url in urls {
            let directory = try Checkpoint.resolve(url)
            let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
            let state = try loadSafetensors(directory.appendingPathComponent(Checkpoint.modelFile))
            if let first = configs.first {
                try Self.check(config.model, against: first.model, directory, directories[0])
                try Self.check(state, against: states[0], directory, directories[0])
            }
            directories.append(directory)
            configs.append(config)
            states.append(state)
        }
        var tokenizer: (url: URL, bytes: Data)?
        for directory in directories {
            let url = directory.appendingPathComponent(Checkpoint.tokenizerFile)
            guard let bytes = try? Data(contentsOf: url) else { continue }
            if let tokenizer, tokenizer.bytes != bytes {
                throw CompositionError("\(url.path) differs from \(tokenizer.url.path): merged models must share one tokenizer")
            }
            tokenizer = tokenizer ?? (url, bytes)
        }
        (self.directories, self.configs, self.states) = (directories, configs, states)
        self.tokenizer = directories.first.map { $0.appendingPathComponent(Checkpoint.tokenizerFile) }
            .flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil } ?? tokenizer?.url
    }

    static func check(_ model: ModelSection, against first: ModelSection, _ directory: URL, _ firstDirectory: URL) throws {
        guard model != first else { return }
        let fields = zip(Mirror(reflecting: model).children, Mirror(reflecting: first).children)
        let field = fields.first { "\($0.0.value)" != "\($0.1.value)" }
        let detail = field.map { "model.\($0.0.label ?? "?") is \(Self.show($0.0.value)) there, \(Self.show($0.1.value)) in \(firstDirectory.path)" }
            ?? "the model sections differ"
        throw CompositionError("\(directory.path): not the architecture of \(firstDirectory.path): \(detail)")
    }

    static func check(_ state: [String: Tensor], against first: [String: Tensor], _ directory: URL, _ firstDirectory: URL) throws {
        if let missing = first.keys.sorted().first(where: { state[$0] == nil }) {
            throw CompositionError("\(directory.path) has no tensor \(missing), which \(firstDirectory.path) has")
        }
        if let extra = state.keys.sorted().first(where: { first[$0] == nil }) {
            throw CompositionError("\(directory.path) has a tensor \(extra), which \(firstDirectory.path) lacks")
        }
        if let name = first.keys.sorted().first(where: { state[$0]!.shape != first[$0]!.shape }) {
            throw CompositionError("\(directory.path): \(name) has shape \(state[name]!.shape), \(first[name]!.shape) in \(firstDirectory.path)")
        }
    }

    private static func show(_ value: Any) -> String {
        let text = "\(value)"
        return text.hasPrefix("Optional(") ? String(text.dropFirst(9).dropLast()) : text == "nil" ? "unset" : text
    }
}
