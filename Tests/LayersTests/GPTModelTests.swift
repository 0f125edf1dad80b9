import Layers
import Tensors
import XCTest

/// GPTModel behaviour beyond the fixtures: shapes, tying, initialisation, train/eval, gradients by finite
/// differences.
final class GPTModelTests: XCTestCase {
    let tiny = GPTConfig(vocabSize: 11, contextLength: 8, layers: 2, dModel: 8, heads: 2)

    func batch(_ config: GPTConfig, seed: UInt64) -> (tokens: IntTensor, targets: IntTensor) {
        var generator = RandomGenerator(seed: seed)
        let values = (0..<2 * 7).map { _ in generator.nextInt(below: config.vocabSize) }
        let targets = (0..<2 * 7).map { _ in generator.nextInt(below: config.vocabSize) }
        return (IntTensor(values, shape: [2, 7]), IntTensor(targets, shape: [2, 7]))
    }

    func testForwardGivesLogitsPerPosition() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            var config = tiny
            config.flavor = flavor
            var generator = RandomGenerator(seed: 1)
            let model = GPTModel(config, generator: &generator)
            let logits = noGrad { model.forward(tokens: batch(config, seed: 2).tokens) }
            XCTAssertEqual(logits.shape, [2, 7, 11], "\(flavor)")
        }
    }

    func testFreshModelPredictsNearlyUniformly() {
        // With GPT-2 initialisation the logits are ≈ 0, so the loss is ≈ log V.
        var generator = RandomGenerator(seed: 1)
        let model = GPTModel(tiny, generator: &generator)
        let (tokens, targets) = batch(tiny, seed: 2)
        let loss = noGrad { model.loss(tokens: tokens, targets: targets) }.item
        XCTAssertEqual(loss, log(11), accuracy: 0.05)
    }

    func testTiedHeadReusesTheTokenEmbedding() {
        var generator = RandomGenerator(seed: 1)
        let model = GPTModel(tiny, generator: &generator)
        XCTAssertNil(model.lmHead)
        let (tokens, targets) = batch(tiny, seed: 2)
        model.loss(tokens: tokens, targets: targets).backward()
        // Rows of tokens that never appear in the input still get a gradient, through the output projection.
        let unseen = Set(0..<11).subtracting(tokens.values.map { Int($0) })
        let grad = model.tokenEmbedding.weight.grad!
        for row in unseen { XCTAssertTrue((0..<8).contains { grad.data[row * 8 + $0] != 0 }, "row \(row)") }
    }

    func testGPT2InitialisationScalesResidualProjections() {
        let config = GPTConfig(vocabSize: 64, contextLength: 16, layers: 8, dModel: 64, heads: 4)
        var generator = RandomGenerator(seed: 5)
        let model = GPTModel(config, generator: &generator)
        func std(_ t: Tensor) -> Float {
            let values = t.scalars, mean = values.reduce(0, +) / Float(values.count)
            return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)).squareRoot()
        }
        let parameters = model.stateDict()
        XCTAssertEqual(std(parameters["transformer.h.0.mlp.c_fc.weight"]!), 0.02, accuracy: 0.001)
        XCTAssertEqual(std(parameters["transformer.wte.weight"]!), 0.02, accuracy: 0.001)
        XCTAssertEqual(std(parameters["transformer.h.3.attn.c_proj.weight"]!), 0.02 / 4, accuracy: 0.0005)
        XCTAssertEqual(std(parameters["transformer.h.3.mlp.c_proj.weight"]!), 0.02 / 4, accuracy: 0.0005)
        XCTAssertEqual(parameters["transformer.h.0.attn.c_attn.bias"]!.scalars, [Float](repeating: 0, count: 192))
        XCTAssertEqual(parameters["transformer.ln_f.weight"]!.scalars, [Float](repeating: 1, count: 64))
    }

    func testSameSeedBuildsTheSameModel() {
        var first = RandomGenerator(seed: 9), second = RandomGenerator(seed: 9)
        let a = GPTModel(tiny, generator: &first), b = GPTModel(tiny, generator: &second)
        for ((name, x), (_, y)) in zip(a.namedParameters(), b.namedParameters()) { XCTAssertEqual(x.scalars, y.scalars, name) }
    }

    func testDropoutActsOnlyInTraining() {
        var config = tiny
        config.dropout = 0.5
        var generator = RandomGenerator(seed: 1)
        let model = GPTModel(config, generator: &generator)
        let tokens = batch(config, seed: 2).tokens
        model.eval()
        let first = noGrad { model.forward(tokens: tokens) }.scalars
        XCTAssertEqual(noGrad { model.forward(tokens: tokens) }.scalars, first)
        model.train()
        XCTAssertNotEqual(noGrad { model.forward(tokens: tokens) }.scalars, first)
    }

    /// Central differences of the loss against the tape's gradient, on 4 sampled elements of every parameter
    /// tensor. Parameters are redrawn from N(0, 0.3²) so that every path carries signal (GPT-2's 0.02 makes the
    /// network nearly linear). Error |analytic − numeric| / max(1, |numeric|) < 2e-3 (step 1e-2, float32).
    func checkFiniteDifferences(_ config: GPTConfig, file: StaticString = #filePath, line: UInt = #line) {
        var generator = RandomGenerator(seed: 11)
        let model = GPTModel(config, generator: &generator)
        for parameter in model.parameters { Initializer.normal(parameter, std: 0.3, generator: &generator) }
        let (tokens, targets) = batch(config, seed: 12)
        model.loss(tokens: tokens, targets: targets).backward()
        func loss() -> Double { Double(noGrad { model.loss(tokens: tokens, targets: targets) }.item) }
        let step: Float = 1e-2
        var worst: Float = 0, worstName = ""
        for (name, parameter) in model.namedParameters() {
            let analytic = parameter.grad!.scalars
            for _ in 0..<4 {
                let i = generator.nextInt(below: parameter.count)
                let saved = parameter.data[i]
                parameter.data[i] = saved + step
                let plus = loss()
                parameter.data[i] = saved - step
                let minus = loss()
                parameter.data[i] = saved
                let numeric = Float((plus - minus) / (2 * Double(step)))
                let error = abs(analytic[i] - numeric) / max(1, abs(numeric))
                if error > worst { (worst, worstName) = (error, "\(name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)") }
            }
        }
        XCTAssertLessThan(worst, 2e-3, worstName, file: file, line: line)
    }

    func testGPT2GradientsMatchFiniteDifferences() { checkFiniteDifferences(tiny) }

    func testLlamaGradientsMatchFiniteDifferences() {
        var config = tiny
        config.flavor = .llama
        checkFiniteDifferences(config)
    }
}
