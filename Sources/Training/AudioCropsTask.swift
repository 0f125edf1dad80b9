import AudioData
import Foundation
import Layers
import Objectives
import Tensors

/// Feature crops: (B, model.context, F) crops of a normalised feature corpus (data.features), for the frame and
/// patch encoders. Each checkpoint keeps the corpus' statistics and feature options.
public enum FeatureCrops: DataForm {
    public static let isText = false
    public static let dataKeys: Set<String> = ["features", "balance_by", "targets"]

    public static func problems(_ data: DataSection) -> [String] {
        data.features == nil ? ["data.features (a feature corpus from pretrain features prepare) is required for audio encoders over features"] : []
    }

    public static func resolve(_ model: inout ModelSection, corpus: TrainingCorpus) throws {
        guard let features = corpus.features else {
            throw TrainingError("model.flavor \(model.flavor.rawValue) trains on a feature corpus (data.features); "
                + "this corpus holds \(corpus.waveforms == nil ? "tokens" : "waveforms")")
        }
        if let dimension = model.featureDim, dimension != features.info.dimension {
            throw TrainingError("model.feature_dim is \(dimension) but the feature corpus has \(features.info.dimension) bins per "
                + "frame (\(features.directory.appendingPathComponent(FeatureCorpusInfo.fileName).path))")
        }
        model.featureDim = features.info.dimension
        if let dimension = model.targetDim, dimension != features.targetDimension {
            throw TrainingError("model.target_dim is \(dimension) but data.targets has \(features.targetDimension) values per frame")
        }
        if features.targetDimension > 0 { model.targetDim = features.targetDimension }
    }

    public static func makeTask(objective: TrainableObjective, recipe: Recipe, corpus: TrainingCorpus,
                                seed: UInt64, shard: DataShard) throws -> TrainingTask {
        guard let objective = objective as? FeaturePretrainingObjective, let features = corpus.features else {
            throw objectiveMismatch(objective, expected: "feature crops")
        }
        if features.targetDimension > 0, !objective.readsTargets {
            throw TrainingError("data.targets: objective \(recipe.objective.kind.rawValue) reads no per-frame targets (mert does)")
        }
        try MicroBatchMemory.check(recipe, parameters: objective.model.parameterCount)
        let model = recipe.model
        let groups = try recipe.data.balanceBy.map { try FeatureBatcher.groups(features, field: $0) }
        let balance = groups.map { groups in
            " (balanced by \(recipe.data.balanceBy ?? ""): " + groups.map { "\($0.value) \($0.utterances.count)" }.joined(separator: ", ") + ")"
        } ?? ""
        return try AudioCropsTask(objective: objective, recipe: recipe, train: features.train, val: features.val,
                                  dimension: features.dimension, unit: "frames", seed: seed, shard: shard, groups: groups,
                                  describe: { steps, parameters in
            let frames = ConsoleProgress.grouped(Double(features.info.train.frames))
            return "\(model.flavor.rawValue) \(model.layers)×\(model.dModel) (\(model.heads) heads, crops of \(model.context) "
                + "frames × \(features.dimension) bins), objective \(recipe.objective.kind.rawValue): \(parameters) parameters; "
                + "\(steps) steps on \(features.train.count) train utterances (\(frames) frames)\(balance)"
        }, writeFiles: { try AudioPretraining.writeFeatureFiles(features, to: $0) })
    }
}

/// Waveform crops: crops of model.context samples of 16 kHz utterances (data.waveforms), each normalised on its own,
/// as one-value frames, for wav2vec 2.0's waveform model. Each checkpoint keeps waveform.json.
public enum WaveformCrops: DataForm {
    public static let isText = false
    public static let dataKeys: Set<String> = ["waveforms"]

    public static func problems(_ data: DataSection) -> [String] {
        data.waveforms == nil ? ["data.waveforms (a directory of speech) is required for model.flavor audio_waveform"] : []
    }

    public static func resolve(_ model: inout ModelSection, corpus: TrainingCorpus) throws {
        guard corpus.waveforms != nil else {
            throw TrainingError("model.flavor \(model.flavor.rawValue) trains on waveforms (data.waveforms); this corpus holds "
                + (corpus.features == nil ? "tokens" : "features"))
        }
        model.featureDim = 1
    }

    public static func makeTask(objective: TrainableObjective, recipe: Recipe, corpus: TrainingCorpus,
                                seed: UInt64, shard: DataShard) throws -> TrainingTask {
        guard let objective = objective as? FeaturePretrainingObjective, let waveforms = corpus.waveforms else {
            throw objectiveMismatch(objective, expected: "waveform crops")
        }
        try MicroBatchMemory.check(recipe, parameters: objective.model.parameterCount)
        let model = recipe.model
        return try AudioCropsTask(objective: objective, recipe: recipe, train: waveforms.train, val: waveforms.val,
                                  dimension: 1, unit: "samples", seed: seed, shard: shard, describe: { steps, parameters in
            let minutes = Int(Double(waveforms.trainSamples) / Double(WaveformCorpus.sampleRate) / 60)
            return "\(model.flavor.rawValue) \(model.layers)×\(model.dModel) (\(model.heads) heads, crops of \(model.context) "
                + "samples), objective \(recipe.objective.kind.rawValue): \(parameters) parameters; \(steps) steps on "
                + "\(waveforms.train.count) train utterances (\(minutes) min)"
        }, writeFiles: { try AudioPretraining.writeWaveformFile(to: $0) })
    }
}

/// Crops of audio utterances (feature frames, or samples as one-value frames) feeding a feature objective.
final class AudioCropsTask: TrainingTask {
    let featureObjective: FeaturePretrainingObjective
    var objective: TrainableObjective { featureObjective }
    let recipe: Recipe
    let inputUnit: String
    private let batcher: FeatureBatcher
    /// The ranks that split each evaluation (one process: all of it).
    private let shard: DataShard
    private let val: [FeatureCorpus.Utterance]
    private let dimension: Int
    /// The validation crops of periodic evaluations.
    private let validationBatches: [FeatureBatch]
    /// The start line's description, given the steps and the parameter count.
    private let describeStart: (Int, String) -> String
    private let writeFiles: (URL) throws -> Void

    init(objective: FeaturePretrainingObjective, recipe: Recipe, train: [FeatureCorpus.Utterance],
         val: [FeatureCorpus.Utterance], dimension: Int, unit: String, seed: UInt64, shard: DataShard,
         groups: [FeatureBatcher.FeatureGroup]? = nil, describe: @escaping (Int, String) -> String, writeFiles: @escaping (URL) throws -> Void) throws {
        (featureObjective, self.recipe, self.val, self.dimension, inputUnit) = (objective, recipe, val, dimension, unit)
        self.shard = shard
        (describeStart, self.writeFiles) = (describe, writeFiles)
        batcher = try FeatureBatcher(utterances: train, dimension: dimension, crop: recipe.model.context,
                                     batchSize: recipe.optim.batchSize, seed: Trainer.seed(seed, .data), shard: shard,
                                     groups: groups)
        let limit = recipe.train.evalBatches
        validationBatches = featureEvaluationBatches(val, dimension: dimension, crop: recipe.model.context,
                                                     batchSize: recipe.optim.batchSize, limit: limit == 0 ? nil : limit)
    }

    var model: Module { featureObjective.model }

    func prepare(step: Int) { (featureObjective as? StepAwareObjective)?.prepare(step: step) }

    func nextLoss(step: Int, generator: inout RandomGenerator) -> (loss: Tensor, inputs: Int) {
        let batch = batcher.next()
        return (featureObjective.loss(batch, generator: &generator).loss, batch.frameCount)
    }

    var hasValidation: Bool { !val.isEmpty }
    var noValidationWarning: String { "warning: the feature corpus has no val utterances; evaluations are skipped" }

    func evaluate(full: Bool, into record: inout MetricsRecord) -> Evaluation {
        let batches = full && recipe.train.evalBatches > 0
            ? featureEvaluationBatches(val, dimension: dimension, crop: recipe.model.context, batchSize: recipe.optim.batchSize)
            : validationBatches
        guard !batches.isEmpty else { return Evaluation(loss: .nan, predicted: 0, bitsPerByte: nil) }
        let evaluation = Evaluation.of(featureObjective, batches: batches, shard: shard)
        record.valLoss = evaluation.loss
        if let reporting = featureObjective as? EvaluationMetricsReporting {   // beside any running values of the same row
            record.objectiveMetrics.merge(reporting.evaluationMetrics(batches)) { _, evaluated in evaluated }
        }
        return evaluation
    }

    func describe(_ evaluation: Evaluation, record: MetricsRecord, step: Int, full: Bool) -> String {
        String(format: "eval step %d: val loss %.4f", step, evaluation.loss)
            + " (\(full ? "all " : "")\(ConsoleProgress.grouped(Double(evaluation.predicted))) val predictions)"
    }

    func describeRun(steps: Int) -> String {
        describeStart(steps, ConsoleProgress.grouped(Double(featureObjective.model.parameterCount)))
    }

    func drainMetrics(step: Int) -> (metrics: [String: Double], warnings: [String]) {
        let metrics = (featureObjective as? StepAwareObjective)?.drainMetrics() ?? [:]
        let warnings = (featureObjective as? TrainingHealthReporting)?.healthWarnings(step: step, metrics: metrics) ?? []
        return (metrics, warnings)
    }

    func saveStreams(into state: inout TrainerState) { state.featureBatcher = batcher.state }

    func restoreStreams(from state: TrainerState, checkpoint: URL) throws {
        guard let features = state.featureBatcher else {
            throw TrainingError("\(checkpoint.path) was written by a run on tokens; this recipe trains on \(inputUnit == "samples" ? "waveforms" : "features")")
        }
        try batcher.restore(features)
    }

    func writeCheckpointFiles(to directory: URL) throws { try writeFiles(directory) }
}
