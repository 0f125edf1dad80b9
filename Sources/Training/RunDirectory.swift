import Foundation

/// The layout of a run directory, and the only place its names are spelled:
///
///     RUN/recipe.yaml                    the resolved recipe the trainer ran
///     RUN/metrics.jsonl                  one row per logged step
///     RUN/events.out.tfevents.<s>.<host> TensorBoard events (one file per process)
///     RUN/checkpoints/step_NNNNNN/       complete checkpoints (`Checkpoint` names the files inside)
///     RUN/checkpoints/latest             the newest complete checkpoint's name
///     RUN/report.html                    `pretrain report`
///     RUN/anneals/from_S_steps_N/        anneal branches, each a run directory of its own
///     RUN/probes/<name>.json             `pretrain probe` results
///     RUN/finetune/<name>/               `pretrain finetune` outputs (`FineTuningDirectory`)
///     RUN/.lock                          the pid of the process training the run, flock'ed (`RunLock`)
///     RUN/.overwritten-<time>/           an earlier run `--overwrite` replaces, until the new run's first checkpoint
///
/// Tools that read or write a run take these names from here, so that a renamed file cannot leave a reader behind.
public struct RunDirectory: Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// The run directory a checkpoint directory belongs to (RUN/checkpoints/step_N → RUN). For a checkpoint
    /// elsewhere this is still its grandparent; `holds(_:)` tells the two apart.
    public init(ofCheckpoint checkpoint: URL) {
        url = checkpoint.deletingLastPathComponent().deletingLastPathComponent()
    }

    /// runs/<recipe file name without extension>: where `pretrain train` and `pretrain beats` write by default.
    public init(defaultForRecipe recipe: URL) {
        url = URL(fileURLWithPath: Name.runs).appendingPathComponent(recipe.deletingPathExtension().lastPathComponent)
    }

    /// runs/probes: where probes of a representation that belongs to no run (the fbank baseline) keep results.
    public static var probesWithoutRun: RunDirectory { RunDirectory(URL(fileURLWithPath: "\(Name.runs)/\(Name.probes)")) }

    enum Name {
        static let runs = "runs"
        static let recipe = "recipe.yaml"
        static let metrics = "metrics.jsonl"
        static let report = "report.html"
        static let checkpoints = "checkpoints"
        static let latest = "latest"
        static let anneals = "anneals"
        static let probes = "probes"
        static let finetune = "finetune"
        static let tokenizer = "tokenizer.json"
        static let eventsPrefix = "events.out.tfevents."
        static let lock = ".lock"
        static let overwrittenPrefix = ".overwritten-"
    }

    public var path: String { url.path }
    public var recipe: URL { url.appendingPathComponent(Name.recipe) }
    public var metrics: URL { url.appendingPathComponent(Name.metrics) }
    public var report: URL { url.appendingPathComponent(Name.report) }
    public var checkpoints: CheckpointStore { CheckpointStore(directory: url.appendingPathComponent(Name.checkpoints)) }
    /// A tokenizer.json kept beside the checkpoints (runs whose checkpoints hold none).
    public var tokenizer: URL { url.appendingPathComponent(Name.tokenizer) }

    /// RUN/anneals: every anneal branch of the run.
    public var anneals: URL { url.appendingPathComponent(Name.anneals) }

    /// RUN/anneals/from_S_steps_N: the branch annealing `steps` steps from the checkpoint at `fromStep`.
    public func anneal(fromStep: Int, steps: Int) -> RunDirectory {
        RunDirectory(url.appendingPathComponent("\(Name.anneals)/from_\(fromStep)_steps_\(steps)"))
    }

    /// RUN/probes/NAME.json.
    public func probeResults(named name: String) -> URL {
        url.appendingPathComponent("\(Name.probes)/\(name).json")
    }

    /// RUN/finetune/NAME.
    public func fineTuning(named name: String) -> FineTuningDirectory {
        FineTuningDirectory(url.appendingPathComponent("\(Name.finetune)/\(name)"))
    }

    /// Whether `checkpoint` lies in this run's checkpoints/ directory.
    public func holds(_ checkpoint: URL) -> Bool {
        checkpoint.deletingLastPathComponent().standardizedFileURL.path == checkpoints.directory.standardizedFileURL.path
    }

    /// The same directory, however spelled (a trailing slash, `..`).
    public static func == (a: RunDirectory, b: RunDirectory) -> Bool {
        a.url.standardizedFileURL.path == b.url.standardizedFileURL.path
    }

    /// The recipe a run stored; throws naming the directory when it holds none (it is not a run directory).
    public func storedRecipe() throws -> URL {
        guard FileManager.default.fileExists(atPath: recipe.path) else {
            throw TrainingError("\(url.path): not a run directory (no \(Name.recipe))")
        }
        return recipe
    }

    /// `events.out.tfevents.<unix seconds>.<host>`, TensorBoard's naming (it reads every file whose name contains
    /// "tfevents").
    public static func eventsFileName(startSeconds: Int, host: String) -> String {
        "\(Name.eventsPrefix)\(startSeconds).\(host)"
    }

    /// Whether `name` is one of a run's TensorBoard event files.
    public static func isEventsFile(_ name: String) -> Bool { name.hasPrefix(Name.eventsPrefix) }

    /// The names of what a run writes (recipe, metrics, events, checkpoints, report) present in the directory.
    private func writtenNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        let written: Set = [Name.checkpoints, Name.metrics, Name.recipe, Name.report]
        return names.filter { written.contains($0) || Self.isEventsFile($0) }.sorted()
    }

    /// Deletes what a run writes (recipe, metrics, events, checkpoints, report) and nothing else.
    public func clear() throws {
        for name in writtenNames() { try FileManager.default.removeItem(at: url.appendingPathComponent(name)) }
    }

    /// Moves what a run writes (the files `clear` deletes) into a new RUN/.overwritten-<unix seconds>/ and returns
    /// it; nil when there was nothing. `--overwrite` does this, and deletes it once the new run has a checkpoint.
    public func setAsidePreviousRun() throws -> URL? {
        let names = writtenNames()
        guard !names.isEmpty else { return nil }
        let base = "\(Name.overwrittenPrefix)\(Int(Date().timeIntervalSince1970))"
        var aside = url.appendingPathComponent(base)
        var attempt = 1
        while FileManager.default.fileExists(atPath: aside.path) {
            aside = url.appendingPathComponent("\(base)-\(attempt)")
            attempt += 1
        }
        try createDirectory(aside)
        for name in names { try renameItem(url.appendingPathComponent(name), to: aside.appendingPathComponent(name)) }
        try fsyncPath(aside)
        try fsyncPath(url)
        return aside
    }

    /// Whether `other` is this directory or lies inside it (symbolic links resolved).
    public func contains(_ other: URL) -> Bool {
        let base = url.resolvingSymlinksInPath().standardizedFileURL.path
        let path = other.resolvingSymlinksInPath().standardizedFileURL.path
        return path == base || path.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// The stage directories of a BEATs loop under `root`: iter1/ssl, iter2/tokenizer, iter2/ssl, …, each a run
    /// directory. The relative path is also the stage's name.
    public enum BEATsStageKind: String { case tokenizer, ssl }

    public static func beatsStagePath(iteration: Int, _ kind: BEATsStageKind) -> String {
        "iter\(iteration)/\(kind.rawValue)"
    }
}

/// What `pretrain finetune` writes into its output directory.
public struct FineTuningDirectory: Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// PER, loss curve and settings.
    public var result: URL { url.appendingPathComponent("result.json") }
    /// The fine-tuned encoder as an audio checkpoint (a complete checkpoint directory).
    public var checkpoint: URL { url.appendingPathComponent("checkpoint") }
    /// The CTC head (classes: blank, then the inventory).
    public var ctcHead: URL { url.appendingPathComponent("ctc_head.safetensors") }
}
