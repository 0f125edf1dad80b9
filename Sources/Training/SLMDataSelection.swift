import FileErrors
import Foundation
import Layers
import Tensors
import TextData

/// SALT's data selection (Rawat et al. 2024, SALT_DS): a small language model scores the training windows, and
/// the "challenging yet learnable" ones go into a corpus of their own, which a recipe up-weights in the first
/// stage of training (`data.mixture` + `data.phases`).
///
/// The train split is cut into consecutive windows of `context + 1` tokens; each window's score is the small
/// model's mean next-token loss on it. Our reading of "challenging yet learnable": rank by score, set aside the
/// hardest `skipHardest` share (the windows no model predicts: lists, names, noise) and keep the next `fraction`
/// of all windows. The selected windows are written in corpus order as one train shard; the val split, the
/// tokenizer and bytes per token are the source corpus', so validation losses stay comparable.
public struct SLMDataSelection {
    public var context: Int
    public var fraction: Double
    public var skipHardest: Double
    public var batchSize = 16

    public init(context: Int, fraction: Double, skipHardest: Double = 0.1) {
        (self.context, self.fraction, self.skipHardest) = (context, fraction, skipHardest)
    }

    /// The first invalid value, named as the command line spells it, or nil.
    public var problem: String? {
        if context < 1 { return "--context must be ≥ 1, got \(context)" }
        if !(fraction > 0 && fraction <= 1) { return "--fraction must be in (0, 1], got \(fraction)" }
        if !(skipHardest >= 0 && skipHardest < 1) || fraction + skipHardest > 1 {
            return "--skip-hardest must be in [0, 1) with fraction + skip-hardest ≤ 1, got \(skipHardest) (fraction \(fraction))"
        }
        return nil
    }

    /// What a selection chose.
    public struct Summary: Codable, Equatable {
        public var windows: Int
        public var selected: Int
        public var meanScore: Double
        public var meanSelectedScore: Double
        /// The scores that bound the kept band, hardest first.
        public var highestKept: Double
        public var lowestKept: Double

        enum CodingKeys: String, CodingKey {
            case windows, selected, meanScore = "mean_score", meanSelectedScore = "mean_selected_score"
            case highestKept = "highest_kept", lowestKept = "lowest_kept"
        }
    }

    /// The (context + 1)-token windows of `shards`, disjoint, in corpus order.
    func windows(_ shards: [[Int32]]) -> [ArraySlice<Int32>] { tokenWindows(shards, length: context + 1, stride: context + 1) }

    /// Each window's mean next-token loss under `model`.
    public func scores(_ model: GPTModel, shards: [[Int32]]) -> [Double] { scores(model, windows: windows(shards)) }

    func scores(_ model: GPTModel, windows: [ArraySlice<Int32>]) -> [Double] {
        var scores: [Double] = []
        scores.reserveCapacity(windows.count)
        forEachWindowBatch(windows, model: model, batchSize: batchSize) { tokens, logProbabilities in
            let (rows, length, vocabulary) = (logProbabilities.size(0), logProbabilities.size(1), logProbabilities.size(2))
            let values = logProbabilities.data
            for row in 0..<rows {
                var total = 0.0
                for position in 0..<length {
                    total -= Double(values[(row * length + position) * vocabulary + Int(tokens.values[row * (length + 1) + position + 1])])
                }
                scores.append(total / Double(length))
            }
        }
        return scores
    }

    /// The indices of the windows to keep, in corpus order.
    public func choose(_ scores: [Double]) -> [Int] {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }   // hardest first
        let skip = Int((Double(scores.count) * skipHardest).rounded(.down))
        let keep = max(1, Int((Double(scores.count) * fraction).rounded()))
        return Array(order.dropFirst(skip).prefix(keep)).sorted()
    }

    /// Scores the train split of the prepared corpus `source` with `model` and writes the chosen windows as the
    /// prepared corpus `destination` (train_000000.bin, the source's val shards, tokenizer.json, corpus.json and
    /// selection.json with the summary).
    public func run(model: GPTModel, source: URL, destination: URL) throws -> Summary {
        if let problem { throw TrainingError(problem) }
        var data = DataSection()
        data.corpus = source.path
        let corpus = try TrainingCorpus.load(data)
        guard corpus.vocabularySize == model.config.vocabSize else {
            throw TrainingError("\(source.path) has a vocabulary of \(corpus.vocabularySize), the model \(model.config.vocabSize): score with a model of the corpus' tokenizer")
        }
        guard model.config.contextLength >= context else {
            throw TrainingError("--context \(context) exceeds the model's \(model.config.contextLength) positions")
        }
        let windows = windows(corpus.trainShards)
        let scores = scores(model, windows: windows)
        guard !scores.isEmpty else { throw TrainingError("\(source.path): no train window of \(context + 1) tokens to score") }
        let chosen = choose(scores)
        let tokens = chosen.flatMap { windows[$0] }

        let prepared = try PreparedCorpus(directory: source)
        var manifest = prepared.manifest
        try FileError.createDirectory(destination)
        try TokenShard.write(tokens, vocabularySize: corpus.vocabularySize, to: destination.appendingPathComponent("train_000000.bin"))
        // The tokenizer when the corpus has one (corpus.json names it; a synthetic corpus may not carry the file).
        let tokenizer = FileManager.default.fileExists(atPath: prepared.tokenizerURL.path) ? [prepared.tokenizerURL] : []
        for file in prepared.valShards + tokenizer {
            let target = destination.appendingPathComponent(file.lastPathComponent)
            try? FileManager.default.removeItem(at: target)
            try FileError.wrap("copy", path: target.path) { try FileManager.default.copyItem(at: file, to: target) }
        }
        let bytesPerToken = Double(manifest.trainBytes) / Double(max(1, manifest.trainTokens))
        manifest.trainBytes = Int((bytesPerToken * Double(tokens.count)).rounded())
        manifest.trainTokens = tokens.count
        manifest.trainDocuments = chosen.count
        try FileError.wrap("write", path: destination.path + "/corpus.json") {
            try Data(manifest.jsonText().utf8).write(to: destination.appendingPathComponent("corpus.json"), options: .atomic)
        }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let selectedScores = chosen.map { scores[$0] }
        let summary = Summary(windows: scores.count, selected: chosen.count, meanScore: mean,
                              meanSelectedScore: selectedScores.reduce(0, +) / Double(chosen.count),
                              highestKept: selectedScores.max()!, lowestKept: selectedScores.min()!)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileError.wrap("write", path: destination.path + "/selection.json") {
            try encoder.encode(summary).write(to: destination.appendingPathComponent("selection.json"), options: .atomic)
        }
        return summary
    }
}
