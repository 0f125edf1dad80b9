import FileErrors
import AudioData
import Foundation
import Layers
import Objectives
import Tensors

/// Speech pairs: whole utterances of a text-to-speech corpus (data.tts), each its phoneme ids and its log-mel frames
/// with their energy, for FastSpeech. Utterances longer than model.context frames are left out of training. Each
/// checkpoint keeps tts.json (the phoneme inventory, the mel settings, the energy statistics).
public enum SpeechPairs: DataForm {
    public static let isText = false
    public static let dataKeys: Set<String> = ["tts"]

    public static func problems(_ data: DataSection) -> [String] {
        data.tts == nil ? ["data.tts (a corpus from pretrain data synth-speech --subsets tts) is required for model.flavor fastspeech"] : []
    }

    public static func resolve(_ model: inout ModelSection, corpus: TrainingCorpus) throws {
        guard let speech = corpus.speech else {
            throw TrainingError("model.flavor \(model.flavor.rawValue) trains on a text-to-speech corpus (data.tts)")
        }
        let (mels, vocabulary) = (speech.info.mel.melCount, speech.info.phonemes.count + 1)
        if let dimension = model.featureDim, dimension != mels {
            throw TrainingError("model.feature_dim is \(dimension) but the corpus' mel spectrogram has \(mels) bins")
        }
        if let size = model.vocabSize, size != vocabulary {
            throw TrainingError("model.vocab_size is \(size) but the corpus has \(vocabulary - 1) phonemes (plus padding)")
        }
        (model.featureDim, model.vocabSize) = (mels, vocabulary)
    }

    public static func makeTask(objective: TrainableObjective, recipe: Recipe, corpus: TrainingCorpus, seed: UInt64,
                                shard: DataShard) throws -> TrainingTask {
        guard let objective = objective as? FastSpeechTraining, let speech = corpus.speech else {
            throw objectiveMismatch(objective, expected: "speech pairs")
        }
        return try SpeechPairsTask(objective: objective, recipe: recipe, corpus: speech, seed: seed, shard: shard)
    }
}

/// Batches of whole utterances drawn uniformly (seeded; the state travels in checkpoints as a feature batcher's).
final class SpeechPairsTask: TrainingTask {
    let training: FastSpeechTraining
    var objective: TrainableObjective { training }
    var model: Module { training.model }
    let inputUnit = "frames"
    private let recipe: Recipe
    private let corpus: TTSCorpus
    private let train: [TTSCorpus.Utterance]
    private let shard: DataShard
    private var generator: RandomGenerator
    private var batches = 0

    init(objective: FastSpeechTraining, recipe: Recipe, corpus: TTSCorpus, seed: UInt64, shard: DataShard) throws {
        (training, self.recipe, self.corpus, self.shard) = (objective, recipe, corpus, shard)
        train = corpus.train.filter { $0.mel.frameCount <= recipe.model.context }
        guard !train.isEmpty else {
            throw TrainingError("data.tts: no train utterance has at most model.context = \(recipe.model.context) frames")
        }
        generator = RandomGenerator(seed: Trainer.seed(seed, .data))
    }

    func prepare(step: Int) { training.prepare(step: step) }

    func nextLoss(step: Int, generator _: inout RandomGenerator) -> (loss: Tensor, inputs: Int) {
        batches += 1
        let batchSize = recipe.optim.batchSize
        let drawn = (0..<batchSize * shard.count).map { _ in train[generator.nextInt(below: train.count)] }
        let batch = speechBatch(Array(drawn[shard.index * batchSize..<(shard.index + 1) * batchSize]))
        return (training.trainingLoss(batch), batch.frameLengths.reduce(0, +))
    }

    /// Utterances → a padded batch with the model's variances (energy, pitch) by name.
    func speechBatch(_ utterances: [TTSCorpus.Utterance]) -> SpeechSynthesisBatch {
        let rows = utterances.count
        let width = utterances.map(\.phonemeIds.count).max()!, frames = utterances.map(\.mel.frameCount).max()!
        let mels = corpus.info.mel.melCount
        var ids = [Int32](repeating: 0, count: rows * width)
        var mel = [Float](repeating: 0, count: rows * frames * mels)
        for (b, utterance) in utterances.enumerated() {
            for (p, id) in utterance.phonemeIds.enumerated() { ids[b * width + p] = id }
            for (i, value) in utterance.mel.values.enumerated() { mel[b * frames * mels + i] = value }
        }
        let variances = training.fastSpeech.config.variances.map { name in
            var values = [Float](repeating: 0, count: rows * frames)
            for (b, utterance) in utterances.enumerated() {
                for (t, value) in utterance.variance(name)!.enumerated() { values[b * frames + t] = value }
            }
            return Tensor(values, shape: [rows, frames])
        }
        return SpeechSynthesisBatch(phonemes: IntTensor(ids, shape: [rows, width]), phonemeLengths: utterances.map(\.phonemeIds.count),
                                    mel: Tensor(mel, shape: [rows, frames, mels]),
                                    frameLengths: utterances.map(\.mel.frameCount), frameVariances: variances)
    }

    var hasValidation: Bool { !corpus.val.isEmpty }
    var noValidationWarning: String { "warning: the TTS corpus has no dev utterances; evaluations are skipped" }

    /// The val loss is the total loss over the dev utterances (in order, batches of optim.batch_size; the first
    /// train.eval_batches unless `full`), weighted by frames; the mel term goes beside it as `objective/val_mel_loss`.
    func evaluate(full: Bool, into record: inout MetricsRecord) -> Evaluation {
        let size = recipe.optim.batchSize
        var groups = stride(from: 0, to: corpus.val.count, by: size).map { Array(corpus.val[$0..<min($0 + size, corpus.val.count)]) }
        if !full && recipe.train.evalBatches > 0 { groups = Array(groups.prefix(recipe.train.evalBatches)) }
        let batches = groups.map(speechBatch)
        var melSum = 0.0
        let (mean, frames) = weightedMeanLoss(training.model, batches, seed: 0x5eed) { batch, _ in
            let terms = training.losses(batch)
            let count = batch.frameLengths.reduce(0, +)
            melSum += Double(terms.mel.item) * Double(count)
            return (terms.total, count)
        }
        record.valLoss = mean
        if frames > 0 { record.objectiveMetrics["val_mel_loss"] = melSum / Double(frames) }
        return Evaluation(loss: mean, predicted: frames, bitsPerByte: nil)
    }

    func describe(_ evaluation: Evaluation, record: MetricsRecord, step: Int, full: Bool) -> String {
        String(format: "eval step %d: val loss %.4f, mel L1 %.4f", step, evaluation.loss, record.objectiveMetrics["val_mel_loss"] ?? .nan)
            + " (\(full ? "all " : "")\(ConsoleProgress.grouped(Double(evaluation.predicted))) val frames)"
    }

    func describeRun(steps: Int) -> String {
        let config = training.fastSpeech.config
        let frames = ConsoleProgress.grouped(Double(train.reduce(0) { $0 + $1.mel.frameCount }))
        return "fastspeech \(config.encoderLayers)+\(config.decoderLayers)×\(config.dModel) (\(config.heads) heads, "
            + "\(corpus.info.phonemes.count) phonemes → \(config.melCount) mel bins): "
            + "\(ConsoleProgress.grouped(Double(training.model.parameterCount))) parameters; \(steps) steps on \(train.count) "
            + "train utterances (\(frames) frames)"
            + (train.count < corpus.train.count ? "; \(corpus.train.count - train.count) longer than model.context left out" : "")
    }

    func drainMetrics(step: Int) -> (metrics: [String: Double], warnings: [String]) { (training.drainMetrics(), []) }

    func saveStreams(into state: inout TrainerState) {
        state.featureBatcher = FeatureBatcherState(random: RandomState(generator), batches: batches)
    }

    func restoreStreams(from state: TrainerState, checkpoint: URL) throws {
        guard let saved = state.featureBatcher else {
            throw TrainingError("\(checkpoint.path) was written by a run on tokens; this recipe trains on speech pairs")
        }
        generator = try saved.random.generator()
        batches = saved.batches
    }

    func writeCheckpointFiles(to directory: URL) throws {
        do { try corpus.info.write(to: directory) } catch {
            let url = directory.appendingPathComponent(TTSCorpus.Info.fileName)
            throw FileError(error, operation: "write the TTS settings", path: url.path)
        }
    }
}
