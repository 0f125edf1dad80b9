import Foundation
import Layers
import Optimizers
import Tensors

// How a trainer starts from a checkpoint and writes one.

extension Trainer {
    /// Applies `start` to the freshly built model, optimiser, data streams and state (before the trainer exists);
    /// returns the optimiser moments a resume loaded (a sharded optimiser hands every rank its share of them).
    /// A sparse run's masks are drawn from the weights a fresh or initialised run starts with, and read from the
    /// checkpoint a resume or a branch continues.
    static func restore(_ start: TrainingStart, newestCheckpoint: URL?, recipe: Recipe, task: TrainingTask, optimizer: AdamW,
                        sparsity: WeightSparsity?, schedule: LearningRateSchedule, state: inout TrainerState) throws -> [String: Tensor]? {
        let model = task.model
        let expected = CheckpointConfig(model: recipe.model, objective: recipe.objective)
        var loadedMoments: [String: Tensor]?
        switch start {
        case .fresh:
            sparsity?.drawMasks()
        case .resume, .branch:
            let checkpoint: URL
            if case .branch(let source) = start { checkpoint = try Checkpoint.resolve(source) } else { checkpoint = newestCheckpoint! }
            try loadWeights(model, from: checkpoint, expected: expected)
            var restored = try TrainerState.read(checkpoint.appendingPathComponent(Checkpoint.stateFile))
            let moments = try loadSafetensors(checkpoint.appendingPathComponent(Checkpoint.optimizerFile))
            try optimizer.loadState(moments, stepCount: restored.optimizerSteps)
            try sparsity?.load(from: checkpoint)
            loadedMoments = moments
            try task.restoreStreams(from: restored, checkpoint: checkpoint)
            restored.schedule = schedule
            if case .branch = start { restored.branchedFrom = checkpoint.path }
            state = restored
        case .initFrom(let source):
            let checkpoint = try Checkpoint.resolve(source)
            try loadWeights(model, from: checkpoint, expected: expected, initializing: true)
            sparsity?.drawMasks()
            state.initializedFrom = checkpoint.path
        case let .initFromWeights(source, weights):
            do {
                try model.load(weights)
            } catch {
                throw TrainingError("the weights of \(source) do not fit the recipe's model\(positionTableHint(weights, model)): \(error)")
            }
            sparsity?.drawMasks()
            state.initializedFrom = source
        }
        return loadedMoments
    }

    /// " (they hold 512 positions, the model 128: set model.max_positions: 512)" when the weights' position table
    /// (GPT-2's wpe, BERT's position_embeddings) has another length than the model's, else "".
    static func positionTableHint(_ weights: [String: Tensor], _ model: Module) -> String {
        let own = model.stateDict()
        for (name, tensor) in weights where name.hasSuffix("wpe.weight") || name.hasSuffix("position_embeddings.weight") {
            guard let mine = own[name], mine.rank == 2, tensor.rank == 2, mine.size(0) != tensor.size(0) else { continue }
            return " (they hold \(tensor.size(0)) positions, the model \(mine.size(0)): set model.max_positions: \(tensor.size(0)))"
        }
        return ""
    }

    /// Loads model.safetensors of `checkpoint` strictly; on a mismatch the error names the configuration
    /// differences and the tensors. `initializing` (`--init-from`): the heads the checkpoint's objective kept only
    /// to train are dropped, and the new objective's own such heads keep their fresh values.
    static func loadWeights(_ model: Module, from checkpoint: URL, expected: CheckpointConfig, initializing: Bool = false) throws {
        let weights = checkpoint.appendingPathComponent(Checkpoint.modelFile)
        do {
            var tensors = try loadSafetensors(weights)
            if initializing {
                if let saved = try? CheckpointConfig.read(checkpoint.appendingPathComponent(Checkpoint.configFile)) {
                    tensors = saved.objective.withoutTrainingOnlyHeads(tensors)
                }
                let fresh = Registry.objective(expected.objective.kind)?.trainingOnlyPrefixes ?? []
                for (name, parameter) in model.namedParameters() where fresh.contains(where: { name.hasPrefix($0) }) {
                    tensors[name] = parameter.copy()
                }
            }
            try model.load(tensors)
        } catch {
            var message = "\(weights.path) does not fit the recipe's model"
            if let saved = try? CheckpointConfig.read(checkpoint.appendingPathComponent(Checkpoint.configFile)) {
                let differences = differingKeys(saved.model, expected.model)
                if !differences.isEmpty { message += " (checkpoint vs recipe: \(differences.joined(separator: ", ")))" }
            }
            throw TrainingError("\(message): \(error)")
        }
    }

    /// "layers 4 ≠ 2"-style differences between two model sections (dropout excluded: it holds no weights).
    static func differingKeys(_ a: ModelSection, _ b: ModelSection) -> [String] {
        func fields(_ section: ModelSection) -> [String: String] {
            guard let data = try? JSONEncoder().encode(section),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return object.mapValues { "\($0)" }
        }
        let (left, right) = (fields(a), fields(b))
        return Set(left.keys).union(right.keys).subtracting(["dropout"]).sorted().compactMap { key in
            left[key] == right[key] ? nil : "\(key) \(left[key] ?? "default") ≠ \(right[key] ?? "default")"
        }
    }

    /// Writes a complete checkpoint of the current step: weights, optimiser moments, the state with every stream's
    /// position, config.json and the task's files. In a data-parallel job every rank calls it; rank 0 writes.
    func saveCheckpoint(objectiveRandom: RandomGenerator) throws -> URL? {
        task.saveStreams(into: &state)
        state.objectiveRandom = RandomState(objectiveRandom)
        state.dropoutRandom = RandomState(Random.generator)
        state.optimizerSteps = optimizer.stepCount
        if communicator.size > 1 {
            // Every rank's own streams go into rank 0's checkpoint; the rest of the state is the same on every rank.
            let own = RankStreams(objectiveRandom: state.objectiveRandom, dropoutRandom: state.dropoutRandom)
            let all = try communicator.allGather(bytes: [UInt8](try JSONEncoder().encode(own)))
            state.rankStreams = try all.map { try JSONDecoder().decode(RankStreams.self, from: Data($0)) }
        }
        let moments = try sharded?.gatherState() ?? optimizer.stateTensors()
        guard let held else { return nil }
        state.machine = Machine.summary
        let snapshot = state
        var writer = CheckpointWriter(weights: model.stateDict(), weightsMetadata: ["step": "\(snapshot.step)"])
        writer.optimizerState = (moments,
                                 ["step": "\(snapshot.step)", "optimizer_steps": "\(snapshot.optimizerSteps)"])
        writer.state = snapshot
        writer.config = CheckpointConfig(model: recipe.model, objective: recipe.objective)
        writer.extraFiles = { [task, sparsity] directory in
            try task.writeCheckpointFiles(to: directory)
            try sparsity?.write(into: directory)
        }
        try held.writePendingRecipe()
        let url = try writer.write(to: checkpoints, step: state.step, keepLast: recipe.train.keepLast)
        held.checkpointWritten()
        tensorBoard?.flush()
        console.message("checkpoint \(url.path)")
        return url
    }
}
