import Distributed
import Foundation
import Layers
import SafeTensors
import Tensors

/// Static unstructured weight sparsity for pre-training: SPDF, sparse pre-training and dense fine-tuning (Thangarasa
/// et al. 2023, §3). At the start of a run a fixed fraction of each sparse weight matrix is masked and set to 0; every
/// update zeroes the masked entries' gradients before clipping (so the global norm counts live weights only) and
/// before AdamW, whose moments of those entries then stay 0, so the weights stay exactly 0.0 (decoupled decay of 0 is
/// 0, and the step m/(√v + ε) is 0/ε). The masks go into every checkpoint (sparsity.safetensors), so `--resume`
/// continues with the same ones; `--init-from` such a checkpoint without `sparsity:` trains every weight from there.
///
/// Our matrix products stay dense: the sparsity changes what is learned, not what is computed (`trainingFLOPs` says
/// what a sparse kernel would save).
public final class WeightSparsity {
    public let settings: SparsitySection
    /// The sparse weights (`sparseParameters`), in the model's order.
    public let parameters: [(name: String, tensor: Tensor)]
    /// Per parameter, one bit per entry, set when the entry is live (trained): entry i is bit i % 32 of word i / 32,
    /// as sparsity.safetensors stores it.
    public private(set) var live: [[UInt32]]
    /// The seed of the random masks: `sparsity.seed`, else one derived from `train.seed`.
    let seed: UInt64

    /// The sparsity `settings` ask of `model`, every entry live until the masks are drawn or loaded. Throws when the
    /// model has no weight the rule makes sparse.
    public init(_ settings: SparsitySection, model: Module, runSeed: UInt64) throws {
        self.settings = settings
        parameters = Self.sparseParameters(of: model)
        guard !parameters.isEmpty else {
            throw TrainingError("sparsity.fraction is \(settings.fraction), but the model has no trainable linear weight "
                + "inside a Transformer block to make sparse")
        }
        live = parameters.map { Self.allLive(count: $0.tensor.count) }
        seed = settings.seed ?? Trainer.seed(runSeed, .sparsity)
    }

    /// The rule, in one place: the 2-D `weight` of every `Linear` inside a Transformer block (a `ResidualBlock`:
    /// GPT-2, Llama and BERT layers, the audio encoders' layers) that is trained — the attention projections (q, k,
    /// v, or GPT-2's fused c_attn, and the output) and the MLP's or SwiGLU's projections. Dense: token and position
    /// embeddings, norms, biases, the output embedding or LM head and every other head outside the blocks, and frozen
    /// parameters (a teacher).
    public static func sparseParameters(of model: Module) -> [(name: String, tensor: Tensor)] {
        let blocks = model.modules().compactMap { $0 as? any ResidualBlock }
        let weights = Set(blocks.flatMap { $0.modules() }.compactMap { ($0 as? Linear)?.weight }.map(ObjectIdentifier.init))
        return model.namedParameters().filter {
            weights.contains(ObjectIdentifier($0.tensor)) && $0.tensor.rank == 2 && $0.tensor.requiresGrad
        }
    }

    /// Entries of a matrix of `count` that the fraction masks (rounded to the nearest entry).
    public func maskedCount(of count: Int) -> Int { Int((Double(count) * Double(settings.fraction)).rounded()) }

    /// Draws every mask from the weights as they are now (freshly initialised, or loaded by `--init-from`): random,
    /// the first `maskedCount` entries of a permutation from a stream per parameter name (the model's own generator
    /// is not touched, so the dense initialisation is unchanged); magnitude, the entries of smallest |w|, the lower
    /// flat index first among equals. The weights are not changed (`applyToWeights`).
    public func drawMasks() {
        for (index, (name, tensor)) in parameters.enumerated() {
            let count = tensor.count
            let masked: ArraySlice<Int>
            switch settings.mask {
            case .random:
                var generator = RandomGenerator(seed: MixtureBatcher.sourceSeed(seed, name: name))
                var order = Array(0..<count)
                for i in 0..<maskedCount(of: count) { order.swapAt(i, i + generator.nextInt(below: count - i)) }
                masked = order.prefix(maskedCount(of: count))
            case .magnitude:
                let w = tensor.data
                masked = (0..<count).sorted { (abs(w[$0]), $0) < (abs(w[$1]), $1) }.prefix(maskedCount(of: count))
            }
            var words = Self.allLive(count: count)
            for i in masked { words[i >> 5] &= ~(1 << UInt32(i & 31)) }
            live[index] = words
        }
    }

    /// Sets every masked weight to 0.
    public func applyToWeights() {
        for (index, (_, tensor)) in parameters.enumerated() { Self.zeroMasked(tensor.data, count: tensor.count, live: live[index]) }
    }

    /// Sets every masked entry of the sparse weights' gradients to 0 (parameters without a gradient are skipped).
    public func maskGradients() {
        for (index, (_, tensor)) in parameters.enumerated() {
            guard let grad = tensor.grad else { continue }
            Self.zeroMasked(grad.data, count: grad.count, live: live[index])
        }
    }

    /// Whether entry `entry` of parameter `index` is live.
    public func isLive(_ index: Int, _ entry: Int) -> Bool { live[index][entry >> 5] & (1 << UInt32(entry & 31)) != 0 }

    /// The masked entries of every sparse weight together.
    public var maskedWeights: Int { parameters.indices.reduce(0) { $0 + maskedCount(of: parameters[$1].tensor.count) } }

    /// values[i] = 0 for every i whose bit in `live` is clear.
    static func zeroMasked(_ values: UnsafeMutablePointer<Float>, count: Int, live: [UInt32]) {
        live.withUnsafeBufferPointer { words in
            parallelFor(words.count, grain: 1 << 12) { range in
                for w in range where words[w] != .max {
                    for bit in 0..<min(32, count - 32 * w) where words[w] & (1 << UInt32(bit)) == 0 { values[32 * w + bit] = 0 }
                }
            }
        }
    }

    static func allLive(count: Int) -> [UInt32] {
        var words = [UInt32](repeating: .max, count: (count + 31) / 32)
        if count % 32 != 0 { words[words.count - 1] = (1 << UInt32(count % 32)) - 1 }
        return words
    }

    // MARK: - Checkpoints

    /// Writes sparsity.safetensors into a checkpoint being written (through `CheckpointWriter.extraFiles`, so it is
    /// as atomic as the rest): per sparse weight, its live bits as I32 words; the settings in the metadata.
    func write(into directory: URL) throws {
        var writer = SafeTensorsWriter(metadata: ["fraction": "\(settings.fraction)", "mask": settings.mask.rawValue,
                                                  "layout": "live entry i = bit i % 32 of word i / 32"])
        for (index, (name, _)) in parameters.enumerated() {
            try writer.add(name, shape: [live[index].count], ints: live[index].map { Int(Int32(bitPattern: $0)) }, as: .i32)
        }
        try writer.write(to: directory.appendingPathComponent(Checkpoint.sparsityFile))
    }

    /// Reads the masks of `checkpoint` (a resume or a branch continues with them). Throws, naming the key, when the
    /// checkpoint was trained dense or with other sparsity settings than the recipe's.
    func load(from checkpoint: URL) throws {
        let url = checkpoint.appendingPathComponent(Checkpoint.sparsityFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError("\(checkpoint.path) was trained dense (it holds no \(Checkpoint.sparsityFile)); continuing it "
                + "with sparsity.fraction \(settings.fraction) would change the run: set sparsity.fraction: 0, or start a "
                + "sparse run from its weights with --init-from")
        }
        let file = try SafeTensorsFile(contentsOf: url)
        let saved = (file.metadata["fraction"] ?? "?", file.metadata["mask"] ?? "?")
        guard saved == ("\(settings.fraction)", settings.mask.rawValue) else {
            throw TrainingError("\(url.path) holds masks of sparsity.fraction \(saved.0), sparsity.mask \(saved.1); the recipe "
                + "says \(settings.fraction), \(settings.mask.rawValue): continue with the checkpoint's sparsity, or start "
                + "from its weights with --init-from")
        }
        for (index, (name, tensor)) in parameters.enumerated() {
            let (shape, words) = try file.ints(name)
            guard shape == [(tensor.count + 31) / 32] else {
                throw TrainingError("\(url.path): mask '\(name)' has \(shape) words, the weight \(tensor.shape) needs "
                    + "\((tensor.count + 31) / 32)")
            }
            live[index] = words.map { UInt32(truncatingIfNeeded: $0) }
        }
    }

    /// Rank 0's masks to every rank of a data-parallel job.
    func broadcast(_ communicator: Communicator) throws {
        guard communicator.size > 1 else { return }
        var bytes = communicator.rank == 0 ? live.flatMap { $0.withUnsafeBytes { Array($0) } } : []
        try communicator.broadcast(bytes: &bytes, root: 0)
        var offset = 0
        for index in live.indices {
            let count = live[index].count
            live[index] = bytes[offset ..< offset + 4 * count].withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
            offset += 4 * count
        }
    }

    // MARK: - FLOPs

    /// Training FLOPs of a run, dense and as a sparse kernel would need them.
    public struct TrainingFLOPs: Equatable {
        public var dense: Double
        public var sparseEquivalent: Double
    }

    /// The training FLOPs of `tokens` tokens of a model of `parameters` trainable parameters, as `pretrain bench` counts
    /// them: 6·N per token for the products with parameters (2 forward, 4 backward) and 12·L·C·T per token for
    /// attention's scores and values. The sparse equivalent leaves out the masked share of the sparse weights'
    /// products — forward, input gradient and weight gradient: 6·fraction·S per token for S sparse weights. Our
    /// kernels stay dense, so the run itself takes the dense count.
    public static func trainingFLOPs(model: ModelSection, parameters: Int, sparseWeights: Int, fraction: Float,
                                     tokens: Int) -> TrainingFLOPs {
        let perToken = 6 * Double(parameters) + 12 * Double(model.layers * model.dModel * model.context)
        let saved = 6 * Double(fraction) * Double(sparseWeights)
        return TrainingFLOPs(dense: perToken * Double(tokens), sparseEquivalent: (perToken - saved) * Double(tokens))
    }

    /// The metrics row's sparsity entries for a run of `tokens` tokens: `sparsity/fraction`, `sparsity/masked_weights`,
    /// `flops/dense`, `flops/sparse_equivalent`.
    func metrics(model: Module, section: ModelSection, tokens: Int) -> [String: Double] {
        let flops = Self.trainingFLOPs(model: section, parameters: model.trainableParameters.reduce(0) { $0 + $1.count },
                                       sparseWeights: parameters.reduce(0) { $0 + $1.tensor.count },
                                       fraction: settings.fraction, tokens: tokens)
        return ["sparsity/fraction": Double(settings.fraction), "sparsity/masked_weights": Double(maskedWeights),
                "flops/dense": flops.dense, "flops/sparse_equivalent": flops.sparseEquivalent]
    }

    /// The console line of a sparse run's start.
    func describe(_ metrics: [String: Double]) -> String {
        let total = parameters.reduce(0) { $0 + $1.tensor.count }
        return "sparsity: \(Int(100 * settings.fraction)) % of each of the blocks' \(parameters.count) linear weights masked "
            + "(\(settings.mask.rawValue); \(maskedWeights) of \(total) entries held at 0); training FLOPs "
            + String(format: "%.3g dense, %.3g with a sparse kernel (ours stay dense)",
                     metrics["flops/dense"] ?? 0, metrics["flops/sparse_equivalent"] ?? 0)
    }
}
