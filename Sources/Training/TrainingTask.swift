import Foundation
import Layers
import Objectives
import Tensors

/// What the trainer loop drives: one form of data (token windows, feature crops, waveform crops) feeding one
/// objective. The loop (steps, accumulation, clipping, schedule, evaluation cadence, checkpoints, metrics, resume)
/// knows nothing else about text or audio; everything that depends on the data lives behind this protocol.
public protocol TrainingTask: AnyObject {
    /// The objective the batches feed.
    var objective: TrainableObjective { get }
    /// The model being trained (backbone and the objective's heads).
    var model: Module { get }
    /// What the throughput counts ("tok", "frames", "samples").
    var inputUnit: String { get }
    /// Called before the micro-batches of update `step` (0-based).
    func prepare(step: Int)
    /// The next micro-batch's loss and how many inputs it held (tokens, frames or samples).
    func nextLoss(step: Int, generator: inout RandomGenerator) -> (loss: Tensor, inputs: Int)
    /// Whether there is anything to evaluate on; without it the trainer warns once and skips evaluations.
    var hasValidation: Bool { get }
    /// The warning printed when `hasValidation` is false.
    var noValidationWarning: String { get }
    /// Evaluates the validation set(s) into `record` (`full`: every window, not only `train.eval_batches`).
    func evaluate(full: Bool, into record: inout MetricsRecord) -> Evaluation
    /// The console line of an evaluation (`record` holds what it wrote: the named sets' losses, the objective's values).
    func describe(_ evaluation: Evaluation, record: MetricsRecord, step: Int, full: Bool) -> String
    /// The console's first line up to the thread count: the model, its parameters and the data
    /// ("gpt2 4×192 (4 heads, context 256, vocab 4096): 2.4M parameters; 300 steps of 4,096 tokens on 1.2M train tokens").
    func describeRun(steps: Int) -> String
    /// Inputs drawn from each named source so far (mixtures); empty otherwise.
    var inputsBySource: [String: Int] { get }
    /// Steps at which the data changes (curriculum phases): the trainer evaluates there.
    var phaseBoundaries: [Int] { get }
    /// The objective's own running values for the metrics row just logged at `step`, and warnings an objective that
    /// can tell the run is failing gives for them.
    func drainMetrics(step: Int) -> (metrics: [String: Double], warnings: [String])
    /// Writes the data streams' positions into the state a checkpoint saves.
    func saveStreams(into state: inout TrainerState)
    /// Continues the data streams from a checkpoint's state (written by a task of the same data form).
    func restoreStreams(from state: TrainerState, checkpoint: URL) throws
    /// Files a checkpoint of this data holds besides weights and state (a tokenizer, feature statistics).
    func writeCheckpointFiles(to directory: URL) throws
}

extension TrainingTask {
    public var inputsBySource: [String: Int] { [:] }
    public var phaseBoundaries: [Int] { [] }
}

/// The form of data a model family trains on: how the corpus is checked and resolved into the model section, and
/// how a task pairs its batches with an objective.
public protocol DataForm {
    /// Token data (text models) rather than audio.
    static var isText: Bool { get }
    /// The `data.` keys it reads; another form's key set in a recipe is an error.
    static var dataKeys: Set<String> { get }
    /// Problems of the data section for this form (a required key missing).
    static func problems(_ data: DataSection) -> [String]
    /// Checks that `corpus` holds this form of data and fills what it decides into the model section (the
    /// vocabulary, the feature dimension).
    static func resolve(_ model: inout ModelSection, corpus: TrainingCorpus) throws
    /// The task feeding `objective` (which must read this form's batches) from `corpus`; its batches are `shard`'s
    /// rows of each global batch and its evaluations are split over the shard's ranks.
    static func makeTask(objective: TrainableObjective, recipe: Recipe, corpus: TrainingCorpus, seed: UInt64,
                         shard: DataShard) throws -> TrainingTask
}

extension DataForm {
    public static func problems(_ data: DataSection) -> [String] { [] }
}

extension DataSection {
    /// Keys set (away from their defaults) that the recipe's data form does not read.
    func strayKeys(for form: any DataForm.Type, flavor: ModelFlavor) -> [String] {
        keysSet().filter { !form.dataKeys.contains($0) }.map { "data.\($0) does not apply to model.flavor \(flavor.rawValue)" }
    }
}

/// The objective a data form received does not read its batches.
func objectiveMismatch(_ objective: TrainableObjective, expected: String) -> TrainingError {
    TrainingError("the objective (\(type(of: objective))) does not read \(expected), which this model family trains on")
}
