import Layers
import Objectives
import Optimizers
import Tensors

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

    /// 6·N·tokens for the products with parameters, 12·L·C·T·tokens for attention scores and values (the
    /// issue's formula, for every architecture, so the ratio to PyTorch is a ratio of times).
    func flopsPerStep(parameters: Int) -> Double {
        let tokens = Double(batch * seq)
        return 6 * Double(parameters) * tokens + 12 * Double(layers * dModel * seq) * tokens
    }
}

/// One training step of the benchmark model on fixed random tokens: loss, backward, clipping, AdamW.
final class BenchWorkload {
    let step: () -> Void
    let parameterCount: Int

    init(_ shape: BenchShape) {
        var generator = RandomGenerator(seed: 0)
        let count = shape.batch * shape.seq
        func randomTokens() -> IntTensor {
            IntTensor((0..<count).map { _ in Int32(generator.nextInt(below: shape.vocab)) }, shape: [shape.batch, shape.seq])
        }
        let model: Module
        let loss: () -> Tensor
        switch shape.architecture {
        case .gpt2:
            let config = GPTConfig(vocabSize: shape.vocab, contextLength: shape.seq, layers: shape.layers,
                                   dModel: shape.dModel, heads: shape.heads, flavor: .gpt2)
            let gpt = GPTModel(config, generator: &generator)
            let tokens = randomTokens(), targets = randomTokens()
            model = gpt
            loss = { gpt.loss(tokens: tokens, targets: targets) }
        case .bert:
            let config = BertConfig(vocabSize: shape.vocab, hiddenSize: shape.dModel, layers: shape.layers,
                                    heads: shape.heads, maxPositions: shape.seq, dropout: 0)
            let bert = BertForMaskedLM(config, generator: &generator)
            let tokens = randomTokens()
            // Every 7th position is predicted (≈ 15 %, the masked-LM rate); bench/torch_reference.py does the same.
            let targets = IntTensor(tokens.values.indices.map { $0 % 7 == 0 ? tokens.values[$0] : -100 },
                                    shape: tokens.shape)
            model = bert
            loss = { bert.loss(tokens: tokens, targets: targets) }
        case .audio:
            let frames = shape.seq * shape.frameStack
            let config = AudioEncoderConfig(featureDimension: shape.featureBins, hiddenSize: shape.dModel, layers: shape.layers,
                                            heads: shape.heads, maxFrames: frames, frameStack: shape.frameStack, dropout: 0)
            let tera = TERAModel(encoder: AudioFrameEncoder(config, generator: &generator), generator: &generator)
            let features = Tensor.normal([shape.batch, frames, shape.featureBins], std: 1, generator: &generator)
            let lengths = [Int](repeating: frames, count: shape.batch)
            model = tera
            loss = { l1Loss(tera(features, lengths: lengths), features) }
        }
        let optimizer = AdamW(groups: ParameterGroup.decayByRank(model, weightDecay: 0.1), learningRate: 3e-4,
                              beta1: 0.9, beta2: 0.95, epsilon: 1e-8)
        let parameters = optimizer.parameters
        parameterCount = parameters.reduce(0) { $0 + $1.count }
        step = {
            let value = loss()
            optimizer.zeroGrad()
            value.backward()
            clipGradNorm(parameters, maxNorm: 1)
            optimizer.step()
        }
    }
}
