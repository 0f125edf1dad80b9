import Foundation
import Objectives
import Tensors
import TextData

/// `pretrain flatness`: a text checkpoint's flatness on the first `batches` evaluation batches of a prepared corpus'
/// val split (`evaluationBatches`: windows at 0, T, 2T, … of each shard in order, so the same every run).
public enum CheckpointFlatness {
    /// The checkpoint directory it read and the report. Errors a user can cause name the file: a missing
    /// checkpoint, a corpus tokenized with a larger vocabulary than the model's, a val split shorter than a window,
    /// an objective that does not score token windows.
    public static func measure(checkpoint: URL, corpus: URL, batches: Int, batchSize: Int, options: FlatnessOptions,
                               progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> (checkpoint: URL, report: FlatnessReport) {
        precondition(batches >= 1 && batchSize >= 1, "batches and batch size must be at least 1")
        let loaded = try loadCheckpoint(checkpoint)
        let prepared = try PreparedCorpus(directory: corpus)
        let vocabulary = loaded.config.vocabularySize
        guard prepared.vocabularySize <= vocabulary else {
            throw TrainingError("\(corpus.path) has a vocabulary of \(prepared.vocabularySize) tokens, the model "
                + "\(vocabulary): it was tokenized with another tokenizer")
        }
        let context = loaded.config.model.context
        let windows = evaluationBatches(shards: try prepared.readShards(.val, vocabularySize: vocabulary), context: context,
                                        batchSize: batchSize, limit: batches)
        guard !windows.isEmpty else {
            throw TrainingError("\(corpus.path): the val split (\(prepared.valTokens) tokens) is shorter than one window "
                + "of \(context + 1) tokens")
        }
        let tokenizer = FileManager.default.fileExists(atPath: prepared.tokenizerURL.path) ? prepared.tokenizerURL : nil
        guard let objective = try loaded.objective(tokenizerURL: tokenizer) as? PretrainingObjective else {
            throw TrainingError("\(loaded.directory.path): objective \(loaded.config.objective.kind.rawValue) does not score token windows")
        }
        return (loaded.directory, measureFlatness(objective, batches: windows, options: options, progress: progress))
    }
}
