import Layers
import Tensors
import TestSupport
import XCTest

/// bert2BERT's sub-models (`SubModel`): the bottom `depth` blocks with the model's head compute what a model of `depth`
/// blocks with the same weights computes; only the top blocks `firstTrained..<depth` and the head get gradients, and
/// those equal the shallow model's own (a block's gradient does not depend on whether the blocks below it record).
final class SubModelTests: XCTestCase {
    private let tokens = IntTensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], shape: [2, 6])
    private let targets = IntTensor([1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9], shape: [2, 6])

    /// Copies every parameter of `shallow` from `deep` by name (the shallow model's names are a subset).
    private func copyShared(from deep: Module, to shallow: Module) {
        let source = Dictionary(uniqueKeysWithValues: deep.namedParameters().map { ($0.name, $0.tensor) })
        for (name, tensor) in shallow.namedParameters() { tensor.data.update(from: source[name]!.data, count: tensor.count) }
    }

    private func gradients(_ model: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().compactMap { name, tensor in tensor.grad.map { (name, $0.scalars) } })
    }

    /// `runnable` finds the block stack in a model, `loss` is its scalar loss, `blockPrefix` the key of block i and
    /// `embeddingNames` the parameters that run forward only, `tied` an embedding that is the head too; every other parameter (the trained block's, the head's)
    /// must get the shallow model's gradient.
    private func check<M: Module>(deep: M, shallow: M, runnable: (M) -> SubModelRunnable, loss: (M) -> Tensor,
                                  blockPrefix: (Int) -> String, embeddingNames: [String], tied: String? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) {
        let depth = runnable(shallow).blockCount, firstTrained = depth - 1
        copyShared(from: deep, to: shallow)
        deep.eval()
        shallow.eval()
        let expected = loss(shallow)
        expected.backward()
        let shallowGradients = gradients(shallow)

        runnable(deep).subModel = SubModel(depth: depth, firstTrained: firstTrained)
        let actual = loss(deep)
        actual.backward()
        runnable(deep).subModel = nil
        XCTAssertEqual(actual.item, expected.item, accuracy: 1e-6, "the sub-model's loss", file: file, line: line)
        let deepGradients = gradients(deep)
        for (name, _) in deep.namedParameters() {
            let block = (0..<runnable(deep).blockCount).first { name.hasPrefix(blockPrefix($0)) }
            if let block, block != firstTrained {
                XCTAssertNil(deepGradients[name], "\(name): block \(block) is not trained", file: file, line: line)
            } else if embeddingNames.contains(name) {
                XCTAssertNil(deepGradients[name], "\(name): the embeddings run forward only", file: file, line: line)
            } else if name == tied {
                // Tied to the head: the head's gradient alone (the shallow model's adds the lookup's).
                XCTAssertNotNil(deepGradients[name], "\(name): the head learns", file: file, line: line)
            } else {
                guard let gradient = deepGradients[name], let reference = shallowGradients[name] else {
                    XCTFail("\(name): no gradient", file: file, line: line)
                    continue
                }
                assertClose(gradient, reference, atol: 1e-6, rtol: 1e-5, "\(name)", file: file, line: line)
            }
        }
        XCTAssertNotEqual(noGrad { loss(deep).item }, actual.item, "the whole model runs every block again once subModel is nil",
                          file: file, line: line)
    }

    func testGPT2SubModelIsTheShallowModelAndTrainsOnlyItsTopBlockAndHead() {
        var generator = RandomGenerator(seed: 1)
        let deep = GPTModel(GPTConfig(vocabSize: 16, contextLength: 8, layers: 4, dModel: 8, heads: 2), generator: &generator)
        let shallow = GPTModel(GPTConfig(vocabSize: 16, contextLength: 8, layers: 3, dModel: 8, heads: 2), generator: &generator)
        // Tied embeddings: wte is the head too, so it gets the head's gradient (but not the lookup's).
        check(deep: deep, shallow: shallow, runnable: { $0 }, loss: { $0.loss(tokens: self.tokens, targets: self.targets) },
              blockPrefix: { "transformer.h.\($0)." }, embeddingNames: ["transformer.wpe.weight"], tied: "transformer.wte.weight")
    }

    func testLlamaSubModelIsTheShallowModelAndTrainsOnlyItsTopBlockAndHead() {
        var generator = RandomGenerator(seed: 2)
        let config = { (layers: Int) in
            GPTConfig(vocabSize: 16, contextLength: 8, layers: layers, dModel: 8, heads: 2, flavor: .llama, tieEmbeddings: false)
        }
        let deep = GPTModel(config(4), generator: &generator), shallow = GPTModel(config(2), generator: &generator)
        check(deep: deep, shallow: shallow, runnable: { $0 }, loss: { $0.loss(tokens: self.tokens, targets: self.targets) },
              blockPrefix: { "model.layers.\($0)." }, embeddingNames: ["model.embed_tokens.weight"])
    }

    func testBertSubModelIsTheShallowModelAndTrainsOnlyItsTopLayerAndHead() {
        var generator = RandomGenerator(seed: 3)
        let config = { (layers: Int) in
            BertConfig(vocabSize: 16, hiddenSize: 8, layers: layers, heads: 2, intermediateSize: 12, maxPositions: 8)
        }
        let deep = BertForMaskedLM(config(3), generator: &generator), shallow = BertForMaskedLM(config(2), generator: &generator)
        let masked = IntTensor(targets.values.enumerated().map { $0.offset % 3 == 0 ? $0.element : -100 }, shape: [2, 6])
        // The word embeddings are the tied decoder (a gradient from the head); position and type embeddings and
        // the embedding LayerNorm run forward only.
        let embeddingNames = ["bert.embeddings.position_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
                              "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias"]
        check(deep: deep, shallow: shallow, runnable: { $0.bert }, loss: { $0.loss(tokens: self.tokens, targets: masked) },
              blockPrefix: { "bert.encoder.layer.\($0)." }, embeddingNames: embeddingNames,
              tied: "bert.embeddings.word_embeddings.weight")
    }
}
