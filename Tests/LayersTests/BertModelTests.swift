import Layers
import Tensors
import XCTest

/// BertModel and BertForMaskedLM: the audited Hugging Face names (both directions), the tied decoder, padding,
/// and the masked-position loss against the full logits.
final class BertModelTests: XCTestCase {
    // vocab 40, hidden 16, 2 layers, 4 heads, intermediate 24, 12 positions.
    let config = BertConfig(vocabSize: 40, hiddenSize: 16, layers: 2, heads: 4, intermediateSize: 24, maxPositions: 12,
                            dropout: 0)

    /// The keys of a transformers BertForMaskedLM with this config (`save_pretrained`, transformers 5.x), which
    /// has no pooler and stores no decoder weight of its own (tied to the word embeddings).
    func huggingFaceKeys(layers: Int) -> [(String, [Int])] {
        var keys: [(String, [Int])] = [
            ("bert.embeddings.word_embeddings.weight", [40, 16]),
            ("bert.embeddings.position_embeddings.weight", [12, 16]),
            ("bert.embeddings.token_type_embeddings.weight", [2, 16]),
            ("bert.embeddings.LayerNorm.weight", [16]),
            ("bert.embeddings.LayerNorm.bias", [16]),
        ]
        for i in 0..<layers {
            let p = "bert.encoder.layer.\(i)."
            keys += [
                (p + "attention.self.query.weight", [16, 16]), (p + "attention.self.query.bias", [16]),
                (p + "attention.self.key.weight", [16, 16]), (p + "attention.self.key.bias", [16]),
                (p + "attention.self.value.weight", [16, 16]), (p + "attention.self.value.bias", [16]),
                (p + "attention.output.dense.weight", [16, 16]), (p + "attention.output.dense.bias", [16]),
                (p + "attention.output.LayerNorm.weight", [16]), (p + "attention.output.LayerNorm.bias", [16]),
                (p + "intermediate.dense.weight", [24, 16]), (p + "intermediate.dense.bias", [24]),
                (p + "output.dense.weight", [16, 24]), (p + "output.dense.bias", [16]),
                (p + "output.LayerNorm.weight", [16]), (p + "output.LayerNorm.bias", [16]),
            ]
        }
        keys += [
            ("cls.predictions.transform.dense.weight", [16, 16]), ("cls.predictions.transform.dense.bias", [16]),
            ("cls.predictions.transform.LayerNorm.weight", [16]), ("cls.predictions.transform.LayerNorm.bias", [16]),
            ("cls.predictions.bias", [40]),
        ]
        return keys
    }

    func testMaskedLMNamesAreHuggingFaceKeysBothWays() {
        var generator = RandomGenerator(seed: 0)
        let model = BertForMaskedLM(config, generator: &generator)
        let actual = model.namedParameters().map { ($0.name, $0.tensor.shape) }
        let expected = huggingFaceKeys(layers: 2)
        let actualNames = actual.map { $0.0 }, expectedNames = expected.map { $0.0 }
        XCTAssertEqual(actualNames.count, Set(actualNames).count, "duplicate names")
        XCTAssertEqual(Set(expectedNames).subtracting(actualNames).sorted(), [], "missing from the model")
        XCTAssertEqual(Set(actualNames).subtracting(expectedNames).sorted(), [], "not in the checkpoint")
        let shapes = Dictionary(uniqueKeysWithValues: expected)
        for (name, shape) in actual { XCTAssertEqual(shape, shapes[name], name) }
    }

    func testEncoderNamesAreBertModelKeysWithoutPrefix() {
        var generator = RandomGenerator(seed: 0)
        let names = BertModel(config, generator: &generator).namedParameters().map { $0.name }
        let expected = huggingFaceKeys(layers: 2).map { $0.0 }.filter { $0.hasPrefix("bert.") }.map { String($0.dropFirst(5)) }
        XCTAssertEqual(Set(names), Set(expected))
        XCTAssertEqual(names.count, expected.count)
    }

    func testDecoderIsTiedToWordEmbeddings() {
        var generator = RandomGenerator(seed: 1)
        let model = BertForMaskedLM(config, generator: &generator)
        model.eval()
        let tokens = IntTensor([3, 7, 1, 9], shape: [1, 4])
        let before = noGrad { model.forward(tokens: tokens) }.scalars
        // Changing the embedding row of token 5 changes logit 5 at every position (and the input of nobody).
        model.bert.embeddings.word.weight.data[5 * 16] += 1
        let after = noGrad { model.forward(tokens: tokens) }.scalars
        for position in 0..<4 {
            XCTAssertNotEqual(before[position * 40 + 5], after[position * 40 + 5])
            XCTAssertEqual(before[position * 40 + 6], after[position * 40 + 6])
        }
    }

    func testFreshModelPredictsNearlyUniformly() {
        var generator = RandomGenerator(seed: 2)
        let model = BertForMaskedLM(config, generator: &generator)
        let tokens = IntTensor((0..<24).map { $0 % 40 }, shape: [2, 12])
        let targets = IntTensor((0..<24).map { ($0 * 7) % 40 }, shape: [2, 12])
        XCTAssertEqual(noGrad { model.loss(tokens: tokens, targets: targets) }.item, log(40), accuracy: 0.05)
    }

    /// Padding: with attention mask 0 on the last positions, the real positions' outputs do not depend on what
    /// the padded positions hold.
    func testPaddedPositionsDoNotAffectRealOnes() {
        var generator = RandomGenerator(seed: 3)
        let model = BertModel(config, generator: &generator)
        model.eval()
        let mask = IntTensor([1, 1, 1, 0, 0], shape: [1, 5])
        let a = noGrad { model(tokens: IntTensor([4, 5, 6, 7, 8], shape: [1, 5]), attentionMask: mask) }.scalars
        let b = noGrad { model(tokens: IntTensor([4, 5, 6, 30, 2], shape: [1, 5]), attentionMask: mask) }.scalars
        for i in 0..<(3 * 16) { XCTAssertEqual(a[i], b[i], accuracy: 1e-6) }
        XCTAssertNotEqual(Array(a[48...]), Array(b[48...]))
    }

    func testTokenTypesDefaultToTypeZero() {
        var generator = RandomGenerator(seed: 4)
        let model = BertModel(config, generator: &generator)
        model.eval()
        let tokens = IntTensor([4, 5, 6], shape: [1, 3])
        let implicit = noGrad { model(tokens: tokens) }.scalars
        let explicit = noGrad { model(tokens: tokens, tokenTypes: IntTensor([0, 0, 0], shape: [1, 3])) }.scalars
        let second = noGrad { model(tokens: tokens, tokenTypes: IntTensor([0, 1, 1], shape: [1, 3])) }.scalars
        XCTAssertEqual(implicit, explicit)
        XCTAssertNotEqual(implicit, second)
    }

    /// The loss computes the head only at predicted rows; it equals cross-entropy over the full logits, and
    /// so do the gradients (tolerance 1e-6 absolute: the same float operations in another order).
    func testMaskedPositionLossEqualsFullLogitsLoss() {
        var generator = RandomGenerator(seed: 5)
        let model = BertForMaskedLM(config, generator: &generator)
        model.eval()
        let tokens = IntTensor((0..<20).map { ($0 * 3) % 40 }, shape: [2, 10])
        var targets = [Int32](repeating: -100, count: 20)
        for (i, t) in [(1, 7), (4, 2), (13, 39), (18, 0)] { targets[i] = Int32(t) }
        let target = IntTensor(targets, shape: [2, 10])

        let selective = model.loss(tokens: tokens, targets: target)
        selective.backward()
        let selectiveGrads = model.parameters.map { $0.grad!.scalars }
        model.zeroGrad()
        let full = crossEntropy(model.forward(tokens: tokens), targets: target)
        full.backward()
        XCTAssertEqual(selective.item, full.item, accuracy: 1e-6)
        for ((name, parameter), grad) in zip(model.namedParameters(), selectiveGrads) {
            let reference = parameter.grad!.scalars
            let worst = zip(grad, reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-6, name)
        }
    }

    func testLossWithNothingToPredictIsZeroAndBackwardIsANoOp() {
        var generator = RandomGenerator(seed: 6)
        let model = BertForMaskedLM(config, generator: &generator)
        let tokens = IntTensor([1, 2, 3], shape: [1, 3])
        let loss = model.loss(tokens: tokens, targets: IntTensor([-100, -100, -100], shape: [1, 3]))
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        for parameter in model.parameters { XCTAssertTrue((parameter.grad?.scalars ?? []).allSatisfy { $0 == 0 }) }
    }

    func testInitialisationFollowsBert() {
        let big = BertConfig(vocabSize: 500, hiddenSize: 64, layers: 1, heads: 4, maxPositions: 64)
        var generator = RandomGenerator(seed: 7)
        let model = BertForMaskedLM(big, generator: &generator)
        let parameters = model.stateDict()
        func std(_ t: Tensor) -> Float {
            let v = t.scalars, m = v.reduce(0, +) / Float(v.count)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(v.count)).squareRoot()
        }
        XCTAssertEqual(std(parameters["bert.embeddings.word_embeddings.weight"]!), 0.02, accuracy: 0.001)
        XCTAssertEqual(std(parameters["bert.encoder.layer.0.output.dense.weight"]!), 0.02, accuracy: 0.001)
        XCTAssertEqual(std(parameters["cls.predictions.transform.dense.weight"]!), 0.02, accuracy: 0.002)
        XCTAssertTrue(parameters["cls.predictions.bias"]!.scalars.allSatisfy { $0 == 0 })
        XCTAssertTrue(parameters["bert.encoder.layer.0.attention.self.query.bias"]!.scalars.allSatisfy { $0 == 0 })
        XCTAssertTrue(parameters["bert.embeddings.LayerNorm.weight"]!.scalars.allSatisfy { $0 == 1 })
    }
}
