import Foundation
import Layers

/// What `growCheckpoint` wrote.
public struct GrownCheckpoint {
    /// The checkpoint grown (a run directory resolved to its newest complete checkpoint).
    public let source: URL
    public let directory: URL
    public let sourceSection: ModelSection
    public let section: ModelSection
    public let sourceParameters: Int
    public let parameters: Int
}

/// Grows the model of a checkpoint (or a run directory's newest complete checkpoint) and writes the result as an
/// ordinary checkpoint directory at `out`: model.safetensors, config.json (the grown model section, the same
/// objective) and the source's tokenizer.json, crash-safely, so that `loadCheckpoint` and `pretrain train
/// --init-from` read it. It has no optimiser state or trainer state: it starts runs, it does not resume one.
/// `out` may exist only as an empty directory or a checkpoint (which is replaced): a mistyped --out must not take a
/// directory of other files with it.
public func growCheckpoint(_ url: URL, options: GrowthOptions, to out: URL) throws -> GrownCheckpoint {
    if let existing = try? FileManager.default.contentsOfDirectory(atPath: out.path), !existing.isEmpty,
       !existing.contains(Checkpoint.modelFile) {
        throw GrowthError("--out \(out.path) is a directory of other files, not a checkpoint: choose a new or empty directory")
    }
    let loaded = try loadCheckpoint(url)
    let source = loaded.directory.standardizedFileURL.resolvingSymlinksInPath().path
    let destination = out.standardizedFileURL.resolvingSymlinksInPath().path
    guard source != destination && !source.hasPrefix(destination + "/") else {
        throw GrowthError("--out \(out.path) holds the checkpoint being grown (\(loaded.directory.path)): write it elsewhere")
    }
    try checkGrownModelFits(options, source: loaded.config.model)
    let (model, section) = try growModel(loaded.model, section: loaded.config.model, options: options)
    var writer = CheckpointWriter(weights: model.stateDict(),
                                  weightsMetadata: ["grown_from": loaded.directory.path, "growth_method": options.method.rawValue])
    writer.config = CheckpointConfig(model: section, objective: loaded.config.objective)
    writer.copiedFiles = loaded.tokenizerURL.map { [$0] } ?? []
    try writer.write(checkpointAt: out, marker: "grown from \(loaded.directory.path) by \(options.method.rawValue)")
    return GrownCheckpoint(source: loaded.directory, directory: out, sourceSection: loaded.config.model, section: section,
                           sourceParameters: loaded.model.parameterCount, parameters: model.parameterCount)
}

/// Refuses a grown model too large for the machine from its sizes, before it is built: the grown weights and the
/// copy written from them (twice the weights' bytes, measured: 8.1 GB peak for 1.0 G parameters) must fit in what
/// the machine has available; otherwise the kernel would kill the process part way.
func checkGrownModelFits(_ options: GrowthOptions, source: ModelSection, available: Double? = MicroBatchMemory.availableBytes()) throws {
    let mlpHidden = options.mlpHidden ?? (source.mlpHidden ?? 4 * source.dModel) * options.dModel / max(source.dModel, 1)
    let parameters = MicroBatchMemory.parametersAtLeast(layers: options.layers, dModel: options.dModel, mlpHidden: mlpHidden,
                                                        vocabulary: source.vocabSize ?? 0)
    let needed = 2 * 4 * parameters
    guard let available, needed > available else { return }
    throw GrowthError(String(format: "the grown model (%d layers × d_model %d, at least %.2g parameters)",
                             options.layers, options.dModel, parameters)
        + " would need ~\(MicroBatchMemory.gigabytes(needed)) GB, this machine has \(MicroBatchMemory.gigabytes(available)) GB "
        + "available; grow to fewer layers or a smaller d_model")
}
