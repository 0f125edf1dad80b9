import Foundation
import Yams

/// One run of a chain of runs: its recipe, its own ordinary run directory and where its weights start (a fresh
/// model, or `initFrom`: an earlier stage's run directory or any checkpoint).
public struct TrainingStage {
    public var name: String
    public var recipe: Recipe
    public var directory: URL
    public var initFrom: URL?

    public init(name: String, recipe: Recipe, directory: URL, initFrom: URL? = nil) {
        (self.name, self.recipe, self.directory, self.initFrom) = (name, recipe, directory, initFrom)
    }

    /// Where a stage stands: finished (a complete checkpoint at its last step), interrupted (an earlier complete
    /// checkpoint: continue it with resume), or not started.
    public enum Progress: Equatable { case finished, interrupted(step: Int), notStarted }

    public var progress: Progress {
        guard let newest = CheckpointStore(runDirectory: directory).completeCheckpoints().last else { return .notStarted }
        return newest.step >= recipe.train.steps ? .finished : .interrupted(step: newest.step)
    }
}

/// Runs every unfinished stage in order — a finished one is skipped, an interrupted one resumed, a new one started
/// fresh or from its `initFrom` — and returns whether all are finished. `shouldStop` is polled after every step of
/// every run; when it stops one, the chain stops there (rerun to continue). `log` gets one line per stage.
@discardableResult
public func runStages(_ stages: [TrainingStage], console: @autoclosure () -> ConsoleProgress = ConsoleProgress(),
                      shouldStop: @escaping () -> Bool = { false },
                      log: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) throws -> Bool {
    for stage in stages {
        let progress = stage.progress
        let start: TrainingStart
        switch progress {
        case .finished:
            log("\(stage.name): finished (\(stage.directory.path))")
            continue
        case .interrupted(let step):
            log("\(stage.name): resuming at step \(step) of \(stage.recipe.train.steps)")
            start = .resume
        case .notStarted:
            log("\(stage.name): \(stage.recipe.train.steps) steps of \(stage.recipe.objective.kind.rawValue) in \(stage.directory.path)"
                + (stage.initFrom.map { " from \($0.path)" } ?? ""))
            start = stage.initFrom.map { .initFrom($0) } ?? .fresh
        }
        let trainer = try Trainer(recipe: stage.recipe, runDirectory: stage.directory, corpus: try TrainingCorpus.load(stage.recipe.data),
                                  start: start, console: console())
        trainer.shouldStop = shouldStop
        let summary = try trainer.run()
        trainer.console.finish()
        guard summary.finished else {
            log("\(stage.name): stopped at step \(summary.step); rerun the same command to continue")
            return false
        }
    }
    return true
}

/// A stages file (`pretrain stages PLAN`): a chain of recipes, each run in ROOT/<name>, e.g. ERNIE-Tiny's progressive
/// distillation or sparse pre-training followed by dense training:
///
///     stages:
///       - name: general                      # ROOT/general
///         recipe: general.yaml               # relative to the stages file
///         set: ["objective.distill.teacher=runs/teacher"]
///       - name: task
///         recipe: task.yaml
///         init_from: general                 # a stage's run (default: the previous stage), a checkpoint path, or none
///         set: ["objective.distill.teacher={stage:general}"]
///
/// `{stage:NAME}` in a `set` value or `init_from` is that stage's run directory. Recipes are read with the stage's
/// `set` overrides, then the command line's `--set` (which apply to every stage).
public struct StagesPlan {
    public let stages: [TrainingStage]

    public static func load(_ url: URL, root: URL, overrides: [String] = []) throws -> StagesPlan {
        // Read, bounded and decoded as a recipe is: a mistake is one line naming the file's line and column.
        let node = try RecipeYAML.compose(RecipeYAML.read(url), source: url.path)
        let file: StagesFile
        do { file = try YAMLDecoder().decode(StagesFile.self, from: try Yams.serialize(node: node)) } catch {
            throw RecipeError(blaming: error, file: node, overrides: [], source: url.path)
        }
        guard !file.stages.isEmpty else { throw TrainingError("\(url.path): stages is empty") }
        let folder = url.deletingLastPathComponent()
        var directories: [String: URL] = [:]
        var stages: [TrainingStage] = []
        for (index, entry) in file.stages.enumerated() {
            let place = "\(url.path): stages[\(index)]"
            guard !entry.name.isEmpty, entry.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw TrainingError("\(place).name must be letters, digits, _ or -, got \"\(entry.name)\"")
            }
            guard directories[entry.name] == nil else { throw TrainingError("\(place).name \(entry.name) is used twice") }
            func substitute(_ text: String) throws -> String {
                var result = text
                while let open = result.range(of: "{stage:") {
                    guard let close = result[open.upperBound...].firstIndex(of: "}") else { throw TrainingError("\(place): unclosed {stage: in \(text)") }
                    let name = String(result[open.upperBound..<close])
                    guard let directory = directories[name] else {
                        throw TrainingError("\(place): {stage:\(name)} names no earlier stage (earlier: \(stages.map(\.name).joined(separator: ", ")))")
                    }
                    result.replaceSubrange(open.lowerBound...close, with: directory.path)
                }
                return result
            }
            let recipeURL = URL(fileURLWithPath: entry.recipe, relativeTo: folder).standardizedFileURL
            let recipe = try Recipe.load(recipeURL, overrides: try entry.set.map(substitute) + overrides)
            let initFrom: URL?
            switch entry.initFrom {
            case nil: initFrom = stages.last?.directory
            case "none"?: initFrom = nil
            case let value?:
                let path = try substitute(value)
                initFrom = directories[path] ?? URL(fileURLWithPath: path)
            }
            let directory = root.appendingPathComponent(entry.name)
            directories[entry.name] = directory
            stages.append(TrainingStage(name: entry.name, recipe: recipe, directory: directory, initFrom: initFrom))
        }
        return StagesPlan(stages: stages)
    }
}

/// A stages file: its keys are recipe-section tables, so an unknown key is the recipes' error listing the valid ones.
struct StagesFile: RecipeSection {
    var stages: [StageEntry] = []

    static let keys: [RecipeKey<StagesFile>] = [.init("stages", \.stages)]
}

/// One entry of `stages:`; `name` and `recipe` are required.
struct StageEntry: RecipeSection {
    var name = ""
    var recipe = ""
    var initFrom: String?
    var set: [String] = []

    static let keys: [RecipeKey<StageEntry>] = [
        .init("name", \.name), .init("recipe", \.recipe), .init("init_from", \.initFrom), .init("set", \.set),
    ]

    mutating func decoded(present: Set<String>, path: String) throws {
        for key in ["name", "recipe"] where !present.contains(key) { throw RecipeError("\(path).\(key): required") }
    }
}
