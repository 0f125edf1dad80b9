import Foundation
import Layers
import Objectives
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// BEATs' acoustic tokenizer against PyTorch (scripts/make_beats_fixtures.py, a float64 reference): the unit code
/// vectors, codes and quantised vectors, the distillation loss and its gradients w.r.t. the patches and every
/// trained weight, and one EMA step of the codebook. Tolerances: forward atol 1e-5 rtol 1e-4; gradients atol 1e-5,
/// rtol 1e-3 (float32 through two BERT layers, a tanh and three normalisations, against float64).
final class BEATsTokenizerTests: XCTestCase {
    struct Fixture {
        let file: SafeTensorsFile
        init() throws {
            file = try SafeTensorsFile(contentsOf: fixtureURL("TrainingTests", "beats_tokenizer.safetensors"))
        }
        func int(_ key: String) -> Int { Int(file.metadata[key]!)! }
        func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
            try file.tensor(key, requiresGrad: requiresGrad)
        }
        func tensors(prefix: String) throws -> [String: Tensor] { try file.tensors(prefix: prefix) }
    }

    /// The fixture's model with its parameters loaded strictly (every name must match).
    static func model(_ fixture: Fixture) throws -> BEATsTokenizerTraining {
        var generator = RandomGenerator(seed: 1)
        let config = AudioEncoderConfig(featureDimension: fixture.int("feature_dim"), hiddenSize: fixture.int("hidden_size"),
                                        layers: fixture.int("layers"), heads: fixture.int("heads"),
                                        intermediateSize: fixture.int("intermediate_size"), maxFrames: fixture.int("frames"),
                                        patchFrequency: fixture.int("patch_frequency"), patchTime: fixture.int("patch_time"))
        let tokenizer = BEATsTokenizer(encoder: AudioPatchEncoder(config, generator: &generator),
                                       codebookSize: fixture.int("codebook_size"), codeDimension: fixture.int("code_dim"),
                                       emaDecay: Float(fixture.file.metadata["ema_decay"]!)!, generator: &generator)
        let decoder = BEATsFeatureDecoder(codeDimension: fixture.int("code_dim"), hiddenSize: fixture.int("decoder_hidden"),
                                          heads: fixture.int("decoder_heads"), layers: fixture.int("decoder_layers"),
                                          intermediateSize: fixture.int("decoder_intermediate"),
                                          positions: tokenizer.encoder.positionTable.size(0),
                                          targetDimension: fixture.int("target_dim"), eps: 1e-12, generator: &generator)
        let model = BEATsTokenizerModel(tokenizer: tokenizer, decoder: decoder)
        try model.load(try fixture.tensors(prefix: "param."))
        return BEATsTokenizerTraining(model: model, teacher: nil)
    }

    func lengths(_ fixture: Fixture) -> [Int] { fixture.file.metadata["lengths"]!.split(separator: ",").map { Int($0)! } }

    func testDistillationLossAndGradientsMatchTorch() throws {
        let fixture = try Fixture()
        let objective = try Self.model(fixture)
        objective.model.eval()     // no EMA step here; no dropout either way
        var generator = RandomGenerator(seed: 0)
        let patches = try fixture.tensor("in.patches", requiresGrad: true)
        let terms = objective.distillation(patches: patches, lengths: lengths(fixture), targets: try fixture.tensor("const.targets"), generator: &generator)
        XCTAssertEqual(terms.codes, try fixture.file.ints("idx.codes").values.map { Int32($0) })
        XCTAssertEqual(terms.valid, 14, "8 + 6 patches hold audio")
        let vectors = terms.vectors.reshaped([terms.vectors.size(0) * terms.vectors.size(1), terms.vectors.size(2)])
        assertClose(vectors, try fixture.tensor("out.vectors"), atol: 1e-5, rtol: 1e-4, "code vectors z")
        let quantised = embedding(objective.tokenizerModel.tokenizer.codebook,
                                  indices: IntTensor(terms.codes, shape: [terms.codes.count]))
        assertClose(quantised, try fixture.tensor("out.quantized"), atol: 1e-6, rtol: 0, "quantised vectors q")
        XCTAssertEqual(terms.loss.item, try fixture.tensor("out.loss").item, accuracy: 1e-5)
        XCTAssertEqual(terms.cosine, try fixture.tensor("out.cosine").item, accuracy: 1e-5)
        XCTAssertEqual(terms.commitment, try fixture.tensor("out.commitment").item, accuracy: 1e-5)

        terms.loss.backward()
        assertClose(patches.grad ?? Tensor(zeros: patches.shape), try fixture.tensor("grad.patches"), atol: 1e-5, rtol: 1e-3,
                    "grad of the patches")
        let expected = try fixture.tensors(prefix: "grad.param.")
        let trained = objective.model.namedParameters().filter { $0.tensor.requiresGrad }
        XCTAssertEqual(Set(trained.map(\.name)), Set(expected.keys), "every weight but the codebook and mask embedding is trained")
        for (name, parameter) in trained {
            assertClose(parameter.grad ?? Tensor(zeros: parameter.shape), expected[name]!, atol: 1e-5, rtol: 1e-3, "grad of \(name)")
        }
        XCTAssertEqual(objective.tokenizerModel.tokenizer.codebook.scalars, try fixture.tensor("param.tokenizer.quantize.embedding.weight").scalars,
                       "evaluation leaves the codebook alone")
    }

    /// In training mode the loss moves the codes that valid patches chose one EMA step; the others stay.
    func testTrainingModeMovesTheCodebookOneEMAStep() throws {
        let fixture = try Fixture()
        let objective = try Self.model(fixture)
        objective.model.train()
        let before = objective.tokenizerModel.tokenizer.codebook.scalars
        var generator = RandomGenerator(seed: 0)
        _ = objective.distillation(patches: try fixture.tensor("in.patches"), lengths: lengths(fixture),
                                   targets: try fixture.tensor("const.targets"), generator: &generator)
        let after = objective.tokenizerModel.tokenizer.codebook
        assertClose(after, try fixture.tensor("ema.codebook"), atol: 1e-6, rtol: 1e-5, "codebook after one EMA step")
        assertClose(objective.tokenizerModel.tokenizer.clusterSize, try fixture.tensor("ema.cluster_size"), atol: 1e-5, rtol: 1e-6,
                    "cluster sizes after one EMA step")
        let d = after.size(1)
        let moved = (0..<after.size(0)).filter { k in (0..<d).contains { after.scalars[k * d + $0] != before[k * d + $0] } }
        XCTAssertEqual(moved.count, fixture.int("used_codes"), "only chosen codes move")
    }

    /// A codebook never initialised is set from the first training batch by spherical k-means: unit codes at the
    /// data, more of them used than the random ones (4 of 6 here), and marked (a checkpointed flag) so it happens once.
    func testFirstTrainingBatchInitialisesTheCodebookByKMeans() throws {
        let fixture = try Fixture()
        let objective = try Self.model(fixture)
        let tokenizer = objective.tokenizerModel.tokenizer
        tokenizer.initialized.data[0] = 0
        objective.model.train()
        var generator = RandomGenerator(seed: 3)
        let terms = objective.distillation(patches: try fixture.tensor("in.patches"), lengths: lengths(fixture),
                                           targets: try fixture.tensor("const.targets"), generator: &generator)
        XCTAssertTrue(tokenizer.isCodebookInitialized)
        XCTAssertGreaterThan(Set(terms.codes).count, fixture.int("used_codes"), "codes chosen after the initialisation")
        let (k, d) = (tokenizer.codebookSize, tokenizer.codeDimension)
        for row in 0..<k {
            let norm = (0..<d).reduce(Float(0)) { $0 + pow(tokenizer.codebook.scalars[row * d + $1], 2) }
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "code \(row) is a unit vector")
        }
    }

    /// A code whose cluster size falls below the threshold is restarted at one of the batch's vectors.
    func testCodesOutOfUseRestartAtVectorsOfTheBatch() throws {
        let fixture = try Fixture()
        let objective = try Self.model(fixture)
        let tokenizer = objective.tokenizerModel.tokenizer
        objective.model.train()
        let unused = (0..<tokenizer.codebookSize).filter { !(try! fixture.file.ints("idx.codes")).values.contains(Int($0)) }
        XCTAssertEqual(unused.count, tokenizer.codebookSize - fixture.int("used_codes"))
        for k in 0..<tokenizer.codebookSize { tokenizer.clusterSize.data[k] = unused.contains(k) ? 1.05 : 10 }
        var generator = RandomGenerator(seed: 5)
        let terms = objective.distillation(patches: try fixture.tensor("in.patches"), lengths: lengths(fixture),
                                           targets: try fixture.tensor("const.targets"), generator: &generator)
        let d = tokenizer.codeDimension
        let z = terms.vectors.scalars, codes = tokenizer.codebook.scalars
        for k in unused {
            XCTAssertLessThan(tokenizer.clusterSize.scalars[k], 1, "0.9 · 1.05 + 0.1 · 0")
            let atAVector = (0..<14).contains { index in   // valid: all 8 patches of row 0, the first 6 of row 1
                (0..<d).allSatisfy { codes[k * d + $0] == z[index * d + $0] }
            }
            XCTAssertTrue(atAVector, "code \(k) restarted at a valid patch's vector")
        }
    }

    /// data2vec-style targets: each clip's channels standardised over its valid patches, padding zero.
    func testInstanceNormalisedTargetsMatchTorch() throws {
        let fixture = try Fixture()
        let lengths = lengths(fixture)
        let columns = lengths.map { min(4, ($0 + 1) / 2) }     // ⌈length / patch_time⌉ of 4 columns, 2 rows each
        let mask = IntTensor((0..<2).flatMap { b in (0..<8).map { Int32($0 < 2 * columns[b] ? 1 : 0) } }, shape: [2, 8])
        let normalized = BEATsTokenizerTraining.instanceNormalized(try fixture.tensor("const.targets"), attentionMask: mask)
        assertClose(normalized, try fixture.tensor("out.normalized_targets"), atol: 1e-5, rtol: 1e-4, "normalised targets")
    }

    /// Labels for masked prediction are the codes of the whole (unmasked) crop, for a student of the same patches.
    func testLabelsAreTheCodesOfTheCrop() throws {
        let fixture = try Fixture()
        let objective = try Self.model(fixture)
        objective.model.eval()
        let tokenizer = objective.tokenizerModel.tokenizer
        var generator = RandomGenerator(seed: 2)
        let features = Tensor.normal([2, fixture.int("frames"), fixture.int("feature_dim")], generator: &generator)
        let batch = FeatureBatch(features: features, lengths: lengths(fixture))
        let labels = tokenizer.labels(batch, for: tokenizer.encoder)
        let terms = objective.distillation(patches: tokenizer.encoder.patches(features), lengths: batch.lengths,
                                           targets: Tensor(zeros: [2, 8, fixture.int("target_dim")]), generator: &generator)
        XCTAssertEqual(labels, terms.codes)
        XCTAssertTrue(labels.allSatisfy { $0 >= 0 && Int($0) < tokenizer.codebookSize })
    }
}
