import Foundation
import Layers
import Tensors

/// `two_stage:` — bert2BERT's two-stage pre-training (Chen et al. 2022, §3.4), meant for a model just grown by
/// `pretrain grow`: for the first `steps` steps each update trains one sub-model, drawn uniformly among the bottom
/// `block_layers`, 2·`block_layers`, …, L blocks with the model's head, and only its top `block_layers` blocks and
/// the head learn (the embeddings and the blocks below run forward only, the blocks above not at all); then the
/// whole model trains as usual. The sub-model steps are cheaper: a forward pass through part of the model and a
/// backward pass through `block_layers` blocks and the head.
public struct TwoStageSection: RecipeSection {
    /// Steps of the sub-model stage; 0: the section is off.
    public var steps = 0
    /// Blocks each sub-model adds to the one below it, and the blocks a sub-model step trains (the paper's l_b).
    public var blockLayers = 1

    public init() {}

    public var isEnabled: Bool { steps > 0 }

    public static let keys: [RecipeKey<TwoStageSection>] = [.init("steps", \.steps), .init("block_layers", \.blockLayers)]

    /// Problems of the values against the model's depth, each naming its key.
    func problems(layers: Int) -> [String] {
        var problems: [String] = []
        if steps < 0 { problems.append("two_stage.steps must be ≥ 0 (0: off), got \(steps)") }
        if blockLayers < 1 {
            problems.append("two_stage.block_layers must be ≥ 1, got \(blockLayers)")
        } else if isEnabled && layers % blockLayers != 0 {
            problems.append("two_stage.block_layers (\(blockLayers)) must divide model.layers (\(layers)): the sub-models "
                + "are the bottom \(blockLayers), \(2 * blockLayers), … blocks")
        }
        return problems
    }
}

/// The sub-model of each step of a `two_stage:` run, set on the model around its update. The draw depends on the
/// seed and the step alone, so a resumed run draws what an uninterrupted one would.
public struct TwoStagePretraining {
    public let settings: TwoStageSection
    let model: any SubModelRunnable
    let seed: UInt64

    /// Throws when `model` holds no decoder or encoder that can run a sub-model (gpt2, llama, bert).
    public init(_ settings: TwoStageSection, model: Module, runSeed: UInt64) throws {
        guard let runnable = model.modules().lazy.compactMap({ $0 as? SubModelRunnable }).first else {
            throw TrainingError("two_stage is for gpt2, llama and bert models: this model has no Transformer stack that "
                + "can run its bottom blocks alone")
        }
        self.settings = settings
        self.model = runnable
        seed = Trainer.seed(runSeed, .subModel)
    }

    /// The sub-model that update `step` (counted from 0) trains; nil in the second stage.
    public func subModel(at step: Int) -> SubModel? {
        Self.subModel(at: step, settings: settings, blocks: model.blockCount, seed: seed)
    }

    /// What `subModel(at:)` returns for a run of `blocks` blocks seeded with `runSeed` (train.seed), without the model.
    public static func subModel(at step: Int, settings: TwoStageSection, blocks: Int, runSeed: UInt64) -> SubModel? {
        subModel(at: step, settings: settings, blocks: blocks, seed: Trainer.seed(runSeed, .subModel))
    }

    static func subModel(at step: Int, settings: TwoStageSection, blocks: Int, seed: UInt64) -> SubModel? {
        guard step < settings.steps else { return nil }
        var generator = RandomGenerator(seed: seed &+ UInt64(step) &* 0xD1B5_4A32_D192_ED03)
        let depth = (1 + generator.nextInt(below: blocks / settings.blockLayers)) * settings.blockLayers
        return SubModel(depth: depth, firstTrained: depth - settings.blockLayers)
    }

    /// Runs `update` as step `step`'s sub-model; the whole model runs again afterwards (evaluation, checkpoints).
    func training<T>(step: Int, _ update: () -> T) -> T {
        model.subModel = subModel(at: step)
        defer { model.subModel = nil }
        return update()
    }

    /// Training FLOPs per token of a sub-model step as a share of a whole-model step, counted as `trainingFLOPs` counts
    /// them (2·N forward and 4·N backward per token for N parameters, plus attention's scores and values): the
    /// parameters outside the blocks (`otherParameters`: embeddings, final norm, head) forward and backward, the
    /// `depth` blocks forward and the trained ones backward.
    public static func flopsShare(_ subModel: SubModel?, blocks: Int, blockParameters: Int, otherParameters: Int,
                                  dModel: Int, context: Int) -> Double {
        guard let subModel else { return 1 }
        let attention = Double(4 * dModel * context)   // per block and token: 2·C·T forward, twice that backward
        let block = Double(blockParameters)
        let whole = 6 * Double(otherParameters) + Double(blocks) * (6 * block + 3 * attention)
        let trained = Double(subModel.depth - subModel.firstTrained)
        let part = 6 * Double(otherParameters) + Double(subModel.depth) * (2 * block + attention)
            + trained * (4 * block + 2 * attention)
        return part / whole
    }
}
