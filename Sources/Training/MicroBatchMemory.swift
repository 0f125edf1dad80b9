import Foundation
import Layers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one training micro-batch will allocate, estimated before the first step so that a recipe too large for the
/// machine is refused with the size it would need, instead of swapping or being killed minutes into the run.
///
/// Measured (peak resident memory of `pretrain train`, release build) on gpt2 at d_model 64–128, 2–4 layers,
/// contexts 2k–8k, on audio_frames and on audio_waveform. Attention is fused (FlashAttention-style): the (T, T)
/// scores are never stored, so nothing grows as T². What grows is what the tape keeps for the backward pass:
/// about 9·d_model + 4·mlp_hidden floats per position per layer, 26·d_model per position outside the layers
/// (embeddings, norms, the head and their gradients), and for audio the input frames. wav2vec 2.0's convolutional
/// feature encoder keeps about 4·conv_dim floats per input sample. Parameters count four times: weights,
/// gradients and AdamW's two moments.
public enum MicroBatchMemory {
    /// Bytes a training step of `recipe` (model section resolved) with `parameters` weights needs, roughly.
    public static func estimatedBytes(_ recipe: Recipe, parameters: Double) -> Double {
        let model = recipe.model
        let (batch, context, d) = (Double(recipe.optim.batchSize), Double(model.context), Double(model.dModel))
        let features = Double(model.featureDim ?? 80)
        var positions = batch * context, inputs = 0.0
        switch model.flavor.rawValue {
        case "audio_waveform":
            let encoder = model.featureEncoderConfig
            positions = batch * context / Double(encoder.downsampling)
            inputs = 4 * Double(encoder.channels) * batch * context
        case "audio_patches":
            let patchTime = Double(model.patchTime ?? 16), patchFrequency = Double(model.patchFrequency ?? 16)
            positions = batch * (context / patchTime).rounded(.up) * (features / patchFrequency).rounded(.up)
            inputs = 4 * features * batch * context
        case "audio_frames":
            positions = batch * context / Double(model.frameStack ?? 1)
            inputs = 4 * features * batch * context
        default: break
        }
        return estimatedBytes(positions: positions, layers: model.layers, dModel: model.dModel,
                              mlpHidden: model.mlpHidden ?? 4 * model.dModel, inputs: inputs, parameters: parameters)
    }

    /// Bytes of a step over `positions` positions (all micro-batch rows together) through `layers` blocks of width
    /// `dModel`, with `inputs` floats of input kept and `parameters` weights, roughly (the model above).
    public static func estimatedBytes(positions: Double, layers: Int, dModel: Int, mlpHidden: Int, inputs: Double = 0,
                                      parameters: Double) -> Double {
        let (d, mlp) = (Double(dModel), Double(mlpHidden))
        let perPosition = (9 * d + 4 * mlp) * Double(layers) + 26 * d
        return 4 * (positions * perPosition + inputs + 4 * parameters)
    }

    /// A lower bound of a Transformer's parameters from its sizes alone (attention and MLP weights, the token
    /// embedding), for a check before the model is built: building one too large for the machine would itself fail.
    public static func parametersAtLeast(layers: Int, dModel: Int, mlpHidden: Int, vocabulary: Int) -> Double {
        let (d, mlp) = (Double(dModel), Double(mlpHidden))
        return Double(layers) * (4 * d * d + 2 * d * mlp) + Double(vocabulary) * d
    }

    /// Memory this process may still take: the smaller of /proc/meminfo's MemAvailable and what the cgroup's
    /// memory.max leaves; nil where neither is known.
    public static func availableBytes() -> Double? {
        var available: Double?
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
            available = kilobytes * 1024
        } else {
            let pages = sysconf(Int32(_SC_AVPHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
            if pages > 0 && size > 0 { available = Double(pages) * Double(size) }
        }
        func number(_ path: String) -> Double? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let limit = number("/sys/fs/cgroup/memory.max"), let used = number("/sys/fs/cgroup/memory.current") {
            available = min(available ?? .infinity, max(0, limit - used))
        }
        return available
    }

    /// Throws "one micro-batch would need ~N GB (…), this machine has M GB available; lower …" when one micro-batch
    /// would need more than `available` bytes (default: what this machine has now). Without `parameters` (before the
    /// model is built) their lower bound from the model's sizes is counted. `names` are the settings the message
    /// names for the batch size and the context (a recipe's keys, or a command's options).
    public static func check(_ recipe: Recipe, parameters: Int? = nil, available: Double? = availableBytes(),
                             names: (batch: String, context: String) = ("optim.batch_size", "model.context")) throws {
        let model = recipe.model
        let counted = parameters.map(Double.init) ?? parametersAtLeast(layers: model.layers, dModel: model.dModel,
                                                                       mlpHidden: model.mlpHidden ?? 4 * model.dModel,
                                                                       vocabulary: model.vocabSize ?? 0)
        let needed = estimatedBytes(recipe, parameters: counted)
        guard let available, needed > available else { return }
        throw TrainingError("one micro-batch would need ~\(gigabytes(needed)) GB (\(names.batch) \(recipe.optim.batchSize) × "
            + "\(names.context) \(model.context), \(model.layers) layers × d_model \(model.dModel)), this machine has "
            + "\(gigabytes(available)) GB available; lower \(names.batch), \(names.context) or the model's size")
    }

    /// Bytes in GB for the messages: one decimal below 10 GB, whole ones above.
    static func gigabytes(_ bytes: Double) -> String { String(format: bytes < 1e10 ? "%.1f" : "%.0f", bytes / 1e9) }
}
