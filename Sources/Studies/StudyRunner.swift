import Foundation
import Training

/// Runs a study's arms one after another, each in OUT/<arm name>/ (a normal run directory: `pretrain report`,
/// `pretrain predict` and TensorBoard read it), and its anneal branch in OUT/infinite/anneals/.
struct StudyRunner {
    /// A finished run: where it is, its metrics rows and how long it took (wall time).
    struct FinishedRun {
        var directory: URL
        var records: [MetricsRecord]
        var seconds: Double
        /// The machine's load average when the run started and ended (other work slows a run down).
        var loadBefore: String
        var loadAfter: String
    }

    /// What OUT/<run>/study_run.json keeps of a finished run, so that a reused run keeps its time and load.
    struct RunRecord: Codable {
        var seconds: Double
        var loadBefore: String
        var loadAfter: String
        /// The weights the run read besides its recipe (a distillation teacher, an --init-from checkpoint), as
        /// "checkpoint@crc32c of model.safetensors": a run whose inputs were retrained since is not reused. Records
        /// written before this field are trusted.
        var inputs: [String]?
    }

    let out: URL
    /// Keep a run that already finished with the same recipe instead of training it again.
    let reuse: Bool
    /// Progress lines and the trainers' live lines.
    let console: ConsoleProgress
    /// Asked after every step; true stops the run with a checkpoint (Ctrl-C), and the study with an error.
    let shouldStop: () -> Bool
    static let recordFile = "study_run.json"
    /// Every run of the study in order (reused ones as they ran then), and how many were reused.
    private(set) var runs: [FinishedRun] = []
    private(set) var reusedRuns = 0

    mutating func run(_ arm: StudyCPTArm, start: TrainingStart, index: Int, of count: Int) throws -> FinishedRun {
        try run(arm.name, label: arm.label, recipe: arm.recipe, start: start, index: index, of: count)
    }

    /// Trains `recipe` in OUT/`name` (or reuses the finished run there), from `start`.
    mutating func run(_ name: String, label: String, recipe: Recipe, start: TrainingStart, index: Int, of count: Int) throws -> FinishedRun {
        let directory = out.appendingPathComponent(name)
        console.message("── run \(index)/\(count): \(label) → \(directory.path)")
        let inputs = Self.inputs(recipe: recipe, start: start)
        if reuse, let finished = Self.finished(directory, recipe: recipe, inputs: inputs) {
            console.message("   reused (finished with the same recipe)")
            reusedRuns += 1
            runs.append(finished)
            return finished
        }
        try Self.clear(directory)
        let trainer = try Trainer(recipe: recipe, runDirectory: directory,
                                  corpus: try TrainingCorpus.load(recipe.data), start: start, console: console)
        return try train(trainer, directory: directory, inputs: inputs)
    }

    /// The anneal branch of an infinite-schedule run (`pretrain anneal RUN --from-step S --steps N`).
    mutating func anneal(_ runDirectory: URL, from step: Int, steps: Int) throws -> FinishedRun {
        let directory = RunDirectory(runDirectory).anneal(fromStep: step, steps: steps).url
        console.message("── anneal branch of \(runDirectory.lastPathComponent) from step \(step) for \(steps) steps → \(directory.path)")
        if reuse, let recipe = try? Recipe.load(RunDirectory(directory).recipe),
           let finished = Self.finished(directory, recipe: recipe) {
            console.message("   reused")
            reusedRuns += 1
            runs.append(finished)
            return finished
        }
        try Self.clear(directory)
        let branch = try AnnealBranch(runDirectory: runDirectory, fromStep: step, steps: steps)
        return try train(try branch.trainer(corpus: try TrainingCorpus.load(branch.recipe.data), console: console),
                         directory: directory)
    }

    private mutating func train(_ trainer: Trainer, directory: URL, inputs: [String]? = nil) throws -> FinishedRun {
        trainer.shouldStop = shouldStop
        let started = Date()
        let loadBefore = StudyMachine.loadAverage()
        let summary = try trainer.run()
        console.finish()
        guard summary.finished else {
            throw TrainingError("interrupted in \(directory.path); rerun with --reuse to keep the runs that finished")
        }
        let record = RunRecord(seconds: Date().timeIntervalSince(started), loadBefore: loadBefore,
                               loadAfter: StudyMachine.loadAverage(), inputs: inputs)
        try JSONEncoder().encode(record).write(to: directory.appendingPathComponent(Self.recordFile))
        let finished = FinishedRun(directory: directory, records: try readMetrics(RunDirectory(directory).metrics),
                                   seconds: record.seconds, loadBefore: record.loadBefore, loadAfter: record.loadAfter)
        runs.append(finished)
        return finished
    }

    /// The run in `directory` when it reached its last step with `recipe` (the vocabulary size aside, which the
    /// trainer fills in) and kept its final checkpoint.
    static func finished(_ directory: URL, recipe: Recipe, inputs: [String] = []) -> FinishedRun? {
        guard var stored = try? Recipe.load(RunDirectory(directory).recipe) else { return nil }
        stored.model.vocabSize = recipe.model.vocabSize
        var recipe = recipe
        try? recipe.objective.resolveReferences()   // as the trainer stored it
        guard stored == recipe,
              let records = try? readMetrics(RunDirectory(directory).metrics),
              let last = records.last, last.step == recipe.train.steps, last.isEvaluation,
              CheckpointStore(runDirectory: directory).completeCheckpoints().last?.step == recipe.train.steps,
              let data = try? Data(contentsOf: directory.appendingPathComponent(recordFile)),
              let run = try? JSONDecoder().decode(RunRecord.self, from: data), run.inputs.map({ $0 == inputs }) ?? true else { return nil }
        return FinishedRun(directory: directory, records: records, seconds: run.seconds, loadBefore: run.loadBefore,
                           loadAfter: run.loadAfter)
    }

    /// The weights a run reads besides its recipe: the distillation teacher's and the --init-from checkpoint's, each
    /// named with the CRC-32C of its model.safetensors.
    static func inputs(recipe: Recipe, start: TrainingStart) -> [String] {
        var sources: [URL] = []
        if let teacher = recipe.objective.distill?.teacher, !teacher.isEmpty { sources.append(URL(fileURLWithPath: teacher)) }
        if case .initFrom(let source) = start { sources.append(source) }
        return sources.map { source in
            guard let checkpoint = try? Checkpoint.locate(source),
                  let crc = try? CRC32C.checksum(ofFileAt: checkpoint.appendingPathComponent(Checkpoint.modelFile)).crc else {
                return source.path + "@missing"
            }
            return checkpoint.path + "@" + String(crc, radix: 16)
        }
    }

    /// Deletes what an earlier study wrote in a run directory (and nothing else).
    static func clear(_ directory: URL) throws {
        try RunDirectory(directory).clear()
        for url in [RunDirectory(directory).anneals, directory.appendingPathComponent(recordFile)] {
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        }
    }
}
