import Foundation
import Layers
import Tensors

/// What goes into one checkpoint directory, written by one implementation for every producer (the trainer's
/// checkpoints, `pretrain finetune`'s fine-tuned encoder), so that `loadCheckpoint`, `loadAudioEncoder` and
/// `--resume` read a checkpoint whoever wrote it. The files are `Checkpoint`'s: model.safetensors (F32, with its
/// metadata), optimizer.safetensors and trainer_state.json when resuming must be possible, config.json, and what
/// the producer adds (tokenizer, feature statistics, files copied from a source checkpoint).
public struct CheckpointWriter {
    /// model.safetensors: the tensors by name (a model's `stateDict()`).
    public var weights: [String: Tensor]
    public var weightsMetadata: [String: String]
    /// optimizer.safetensors: the optimiser's moments by name and the file's metadata; nil for a checkpoint that is
    /// read, never resumed.
    public var optimizerState: (tensors: [String: Tensor], metadata: [String: String])?
    /// trainer_state.json.
    public var state: TrainerState?
    /// config.json.
    public var config: CheckpointConfig?
    /// Files copied in under their own names (a source checkpoint's config, statistics or tokenizer, byte for byte).
    public var copiedFiles: [URL] = []
    /// Writes the producer's further files into the checkpoint directory.
    public var extraFiles: (URL) throws -> Void = { _ in }

    public init(weights: [String: Tensor], weightsMetadata: [String: String] = [:]) {
        self.weights = weights
        self.weightsMetadata = weightsMetadata
    }

    /// Writes every file into `directory`, which exists and is empty.
    public func write(into directory: URL) throws {
        try saveSafetensors(weights, metadata: weightsMetadata, to: directory.appendingPathComponent(Checkpoint.modelFile))
        if let optimizerState {
            try saveSafetensors(optimizerState.tensors, metadata: optimizerState.metadata,
                                to: directory.appendingPathComponent(Checkpoint.optimizerFile))
        }
        try state?.write(to: directory.appendingPathComponent(Checkpoint.stateFile))
        try config?.write(to: directory.appendingPathComponent(Checkpoint.configFile))
        for file in copiedFiles {
            try FileManager.default.copyItem(at: file, to: directory.appendingPathComponent(file.lastPathComponent))
        }
        try extraFiles(directory)
    }

    /// A run's checkpoint of `step` in `store` (crash-safe, `latest` updated, all but the newest `keepLast` removed).
    @discardableResult
    public func write(to store: CheckpointStore, step: Int, keepLast: Int) throws -> URL {
        try store.write(step: step, keepLast: keepLast, contents: write(into:))
    }

    /// A checkpoint directory of its own at `directory`, outside any run's store, replacing one already there;
    /// as crash-safe as a run's, and complete (its marker holds `marker`) once written.
    public func write(checkpointAt directory: URL, marker: String = "") throws {
        try createDirectory(directory.deletingLastPathComponent())
        try Checkpoint.writeDirectory(directory, marker: marker, contents: write(into:))
    }
}
