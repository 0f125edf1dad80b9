import ArgumentParser
import Distributed
import Layers
import Objectives
import Optimizers
import Tensors
import Training

/// A benchmark model's shape; the presets are the configs of the performance issue (bench/compare.py uses the
/// same names and bench/torch_reference.py the same shapes).
struct BenchShape {
    /// audio: TERA's frame encoder and reconstruction head (BERT layers over stacked fbank frames), L1 loss.
    enum Architecture: String { case gpt2, bert, audio }
    var architecture: Architecture
    /// seq: token positions; for audio the encoder's positions (seq · frameStack feature frames).
    var layers, dModel, heads, seq, batch, vocab: Int
    /// Audio only: fbank bins per frame and frames per position.
    var featureBins = 80, frameStack = 2

    static let presets: [String: BenchShape] = [
        "tiny": BenchShape(architecture: .gpt2, layers: 4, dModel: 256, heads: 4, seq: 128, batch: 16, vocab: 4096),
        "small": BenchShape(architecture: .gpt2, layers: 6, dModel: 512, heads: 8, seq: 256, batch: 8, vocab: 8192),
        "bert-tiny": BenchShape(architecture: .bert, layers: 4, dModel: 256, heads: 4, seq: 128, batch: 16, vocab: 4096),
        "bert-small": BenchShape(architecture: .bert, layers: 6, dModel: 512, heads: 8, seq: 256, batch: 8, vocab: 8192),
        // recipes/tera-small.yaml's encoder one size up: 256 positions = 5.12 s of 80-bin frames stacked by 2.
        "audio-small": BenchShape(architecture: .audio, layers: 4, dModel: 256, heads: 4, seq: 256, batch: 16, vocab: 0),
    ]

    /// The model section a recipe would give for this shape (no dropout; the families' defaults otherwise).
    var modelSection: ModelSection {
        var section = ModelSection()
        section.layers = layers
        section.dModel = dModel
        section.heads = heads
        switch architecture {
        case .gpt2, .bert:
            section.flavor = architecture == .gpt2 ? .gpt2 : .bert
            section.context = seq
            section.vocabSize = vocab
        case .audio:
            section.flavor = .audioFrames
            section.context = seq * frameStack
            section.featureDim = featureBins
            section.frameStack = frameStack
        }
        return section
    }

    /// 6·N·tokens for the products with parameters, 12·L·C·T·tokens for attention scores and values (the
    /// issue's formula, for every architecture, so the ratio to PyTorch is a ratio of times).
    func flopsPerStep(parameters: Int) -> Double {
        let tokens = Double(batch * seq)
        return 6 * Double(parameters) * tokens + 12 * Double(layers * dModel * seq) * tokens
    }

    /// Refuses, from its sizes alone and before anything is built, a shape whose training step with `batch` sequences
    /// would not fit this machine's memory, as `train` refuses a recipe; the message names the options `names`.
    func checkMemory(batch: Int, names: (batch: String, context: String)) throws {
        var recipe = Recipe()
        recipe.model = modelSection
        recipe.optim.batchSize = batch
        do { try MicroBatchMemory.check(recipe, names: names) } catch { throw ValidationError("\(error)") }
    }

    /// One forward pass over the batch's whole windows, by the same formula: a third of a step's, 2·N·tokens +
    /// 4·L·C·T·tokens (no backward's two products per forward one).
    func flopsPerForward(parameters: Int) -> Double { flopsPerStep(parameters: parameters) / 3 }
}

/// One training step of the benchmark model on fixed random tokens: loss, backward, clipping, AdamW. Under mpirun
/// each rank runs the step on its batch and the gradients are averaged as in training (bucketed all-reduce
/// overlapped with backward), so the step time includes what communication the overlap did not hide.
final class BenchWorkload {
    /// A freshly initialised backbone of the section's family.
    static func backbone(_ section: ModelSection, generator: inout RandomGenerator) throws -> Module {
        try section.family.makeBackbone(section, options: BackboneOptions(), generator: &generator)
    }

    let step: () -> Void
    let parameterCount: Int
    /// The gradient averaging of a data-parallel step (nil for one process).
    let averager: GradientAverager?

    init(_ shape: BenchShape) {
        var generator = RandomGenerator(seed: 0)
        let count = shape.batch * shape.seq
        func randomTokens() -> IntTensor {
            IntTensor((0..<count).map { _ in Int32(generator.nextInt(below: shape.vocab)) }, shape: [shape.batch, shape.seq])
        }
        // The models come from the registries, as a recipe's would; the losses are the reference script's.
        let model: Module
        let loss: () -> Tensor
        switch shape.architecture {
        case .gpt2:
            let gpt = try! Self.backbone(shape.modelSection, generator: &generator) as! GPTModel
            let tokens = randomTokens(), targets = randomTokens()
            model = gpt
            loss = { gpt.loss(tokens: tokens, targets: targets) }
        case .bert:
            let bert = try! Self.backbone(shape.modelSection, generator: &generator) as! BertForMaskedLM
            let tokens = randomTokens()
            // Every 7th position is predicted (≈ 15 %, the masked-LM rate); bench/torch_reference.py does the same.
            let targets = IntTensor(tokens.values.indices.map { $0 % 7 == 0 ? tokens.values[$0] : -100 },
                                    shape: tokens.shape)
            model = bert
            loss = { bert.loss(tokens: tokens, targets: targets) }
        case .audio:
            let section = shape.modelSection
            var objective = ObjectiveSection()
            objective.kind = .tera
            let tera = (try! makeModelAndObjective(model: section, objective: objective, context: ObjectiveContext(model: section),
                                                  generator: &generator) as! TERA).teraModel
            let frames = shape.seq * shape.frameStack
            let features = Tensor.normal([shape.batch, frames, shape.featureBins], std: 1, generator: &generator)
            let lengths = [Int](repeating: frames, count: shape.batch)
            model = tera
            loss = { l1Loss(tera(features, lengths: lengths), features) }
        }
        let optimizer = AdamW(groups: ParameterGroup.decayByRank(model, weightDecay: 0.1), learningRate: 3e-4,
                              beta1: 0.9, beta2: 0.95, epsilon: 1e-8)
        let parameters = optimizer.parameters
        parameterCount = parameters.reduce(0) { $0 + $1.count }
        let communicator = World.current
        let averager = communicator.size > 1 ? GradientAverager(parameters: parameters, communicator: communicator) : nil
        self.averager = averager
        step = {
            averager?.watch()
            OpProfiler.mark()
            let value = loss()
            OpProfiler.charge("zero grad") { optimizer.zeroGrad() }
            if let averager {
                do { try averager.backwardAndAverage(value, seed: nil) } catch {
                    communicator.abort("pretrain bench: rank \(communicator.rank): \(error)")
                }
            } else {
                value.backward()
            }
            // Clipping as the trainer does it: the norm here, its coefficient applied inside the update.
            let norm = OpProfiler.charge("clip") { gradientNorm(parameters) }
            OpProfiler.charge("optimizer") { optimizer.step(gradientScale: clippingCoefficient(norm: norm, maxNorm: 1)) }
        }
    }
}
