import FileErrors
import Foundation
import Layers
import SafeTensors
import Objectives
import Tensors

/// config.json of a checkpoint: the architecture (vocabulary resolved) and the objective it was trained with.
public struct CheckpointConfig: Codable, Equatable {
    public var model: ModelSection
    public var objective: ObjectiveSection
    /// Bumped when the checkpoint layout changes.
    public var formatVersion = 1

    public init(model: ModelSection, objective: ObjectiveSection) {
        self.model = model
        self.objective = objective
    }

    enum CodingKeys: String, CodingKey { case model, objective, formatVersion = "format_version" }

    public var vocabularySize: Int { model.vocabSize ?? 0 }

    public static func read(_ url: URL) throws -> CheckpointConfig {
        do {
            return try JSONDecoder().decode(CheckpointConfig.self, from: Data(contentsOf: url))
        } catch let error as RecipeError {
            throw CheckpointError("\(url.path): \(error.message)")
        } catch let error as DecodingError {
            throw CheckpointError("\(url.path): \(describe(error))")
        } catch {
            throw CheckpointError("\(url.path): cannot read the checkpoint config: \(FileError.reason(error, path: url.path))")
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}

/// A model restored from a checkpoint directory.
public struct LoadedCheckpoint {
    public let directory: URL
    public let config: CheckpointConfig
    public let model: Module
    /// The checkpoint's tokenizer.json, when it has one.
    public let tokenizerURL: URL?
    /// The trainer state (step, tokens seen, ...).
    public let state: TrainerState?

    /// The model as a decoder, when it is one.
    public var decoder: GPTModel? { model as? GPTModel }
    public var encoder: BertForMaskedLM? { model as? BertForMaskedLM }
}

/// Loads the model of a checkpoint directory or of a run directory's newest complete checkpoint
/// (`pretrain generate`, `eval`, `export` all start here). The model is in evaluation mode.
public func loadCheckpoint(_ url: URL) throws -> LoadedCheckpoint {
    let directory = try Checkpoint.resolve(url)
    let config = try CheckpointConfig.read(directory.appendingPathComponent(Checkpoint.configFile))
    guard !config.model.flavor.synthesisesSpeech else {
        throw CheckpointError("\(directory.path): a text-to-speech model (\(config.model.flavor.rawValue)), not a text model; "
            + "use it with pretrain tts say or tts judge")
    }
    guard !config.model.flavor.isAudio else {
        throw CheckpointError("\(directory.path): an audio checkpoint (\(config.model.flavor.rawValue)), not a text model; "
            + "use it with pretrain probe, finetune or kmeans")
    }
    guard (config.model.vocabSize ?? 0) >= 2 else {
        throw CheckpointError("\(directory.path)/\(Checkpoint.configFile): model.vocab_size is missing")
    }
    var generator = RandomGenerator(seed: 0)
    let model = try config.model.family.makeBackbone(config.model, options: BackboneOptions(), generator: &generator)
    let weights = directory.appendingPathComponent(Checkpoint.modelFile)
    do {
        try model.load(try config.objective.withoutTrainingOnlyHeads(loadSafetensors(weights)))
    } catch let error as SafeTensorsError {
        throw CheckpointError(error.message)  // already names the file
    } catch {
        throw CheckpointError("\(weights.path): \(error)")
    }
    model.eval()
    let tokenizer = directory.appendingPathComponent(Checkpoint.tokenizerFile)
    let stateURL = directory.appendingPathComponent(Checkpoint.stateFile)
    return LoadedCheckpoint(directory: directory, config: config, model: model,
                            tokenizerURL: FileManager.default.fileExists(atPath: tokenizer.path) ? tokenizer : nil,
                            state: try? TrainerState.read(stateURL))
}

extension ObjectiveSection {
    /// `weights` without the parameters the objective kept only to train (distillation's projections).
    func withoutTrainingOnlyHeads(_ weights: [String: Tensor]) -> [String: Tensor] {
        let prefixes = Registry.objective(kind)?.trainingOnlyPrefixes ?? []
        guard !prefixes.isEmpty else { return weights }
        return weights.filter { name, _ in !prefixes.contains { name.hasPrefix($0) } }
    }
}

extension LoadedCheckpoint {
    /// The objective the checkpoint was trained with, around its loaded model (`pretrain eval` scores with it).
    /// `tokenizerURL`: the tokenizer an objective may need (masked LM's [MASK]) when the checkpoint has none.
    public func objective(tokenizerURL fallback: URL? = nil) throws -> TrainableObjective {
        var generator = RandomGenerator(seed: 0)
        let context = ObjectiveContext(model: config.model, tokenizerURL: tokenizerURL ?? fallback)
        return try config.objective.kind.definition.make(config.objective, backbone: model, context: context, generator: &generator)
    }
}

extension LoadedCheckpoint {
    /// The checkpoint's tokenizer.json: `override` when given, else the checkpoint's own copy, else its run
    /// directory's (RUN/checkpoints/step_N → RUN/tokenizer.json).
    public func tokenizerFile(override: String? = nil) throws -> URL {
        if let override { return URL(fileURLWithPath: override) }
        if let tokenizerURL { return tokenizerURL }
        let run = RunDirectory(ofCheckpoint: directory)
        guard FileManager.default.fileExists(atPath: run.tokenizer.path) else {
            throw TrainingError("\(directory.path) has no tokenizer.json (nor has \(run.path)); pass a tokenizer")
        }
        return run.tokenizer
    }
}
