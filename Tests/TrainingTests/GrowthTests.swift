import Foundation
import Layers
import Tensors
import TestSupport
import TextData
import Training
import XCTest

/// bert2BERT growth (`growModel`, `pretrain grow`): which growths compute the old function, within what, and what
/// the others build. Models are tiny and random, their norms and biases drawn away from 1 and 0 so that a wrong
/// copy or divisor shows in the logits.
final class GrowthTests: XCTestCase {
    /// vocabulary 32, context 8.
    private func section(_ flavor: ModelFlavor, layers: Int = 2, dModel: Int = 16, heads: Int = 4, tied: Bool? = nil) -> ModelSection {
        var section = ModelSection()
        (section.flavor, section.layers, section.dModel, section.heads, section.context) = (flavor, layers, dModel, heads, 8)
        (section.vocabSize, section.tieEmbeddings) = (32, tied)
        return section
    }

    /// A model of `section` with every parameter perturbed: weights + N(0, 0.1²), norm weights 1 + U(−0.5, 0.5),
    /// biases N(0, 0.1²).
    private func randomModel(_ section: ModelSection, seed: UInt64 = 1) throws -> Module {
        var generator = RandomGenerator(seed: seed)
        let model = try section.family.makeBackbone(section, options: BackboneOptions(), generator: &generator)
        let norms = Set(model.modules().filter { $0 is LayerNorm || $0 is RMSNorm }
            .flatMap { $0.namedParameters().map { ObjectIdentifier($0.tensor) } })
        for (_, tensor) in model.namedParameters() {
            for i in 0..<tensor.count {
                tensor.data[i] = norms.contains(ObjectIdentifier(tensor)) && tensor.rank == 1
                    ? tensor.data[i] + generator.nextFloat() - 0.5 : tensor.data[i] + 0.1 * generator.nextNormal()
            }
        }
        model.eval()
        return model
    }

    private let tokens = IntTensor((0..<16).map { Int32(($0 * 7 + 3) % 32) }, shape: [2, 8])

    /// (2, 8, 32) logits: next-token for a decoder, masked-LM for BERT.
    private func logits(_ model: Module) -> Tensor {
        if let decoder = model as? GPTModel { return decoder.forward(tokens: tokens) }
        return (model as! BertForMaskedLM).forward(tokens: tokens)
    }

    /// max |a − b| over the logits, and the largest |logit| of `a` (the scale the difference is read against).
    private func logitDifference(_ a: Module, _ b: Module) -> (difference: Float, scale: Float) {
        let (x, y) = (logits(a).scalars, logits(b).scalars)
        return (zip(x, y).map { abs($0 - $1) }.max()!, x.map(abs).max()!)
    }

    private func grow(_ model: Module, _ section: ModelSection, layers: Int? = nil, dModel: Int? = nil, heads: Int? = nil,
                      method: GrowthMethod = .fpi) throws -> (model: Module, section: ModelSection) {
        try growModel(model, section: section, options: GrowthOptions(layers: layers ?? section.layers, dModel: dModel ?? section.dModel,
                                                                      heads: heads, method: method, seed: 5))
    }

    /// fpi at 2× width (16 → 32, 4 → 8 heads, MLP 2×) computes the old logits: within 1e-5 of the logit scale.
    func testFPIDoubledWidthKeepsTheLogits() throws {
        for (flavor, tied) in [(ModelFlavor.gpt2, nil), (.llama, nil), (.llama, true), (.gpt2, false), (.bert, nil)] {
            let old = section(flavor, tied: tied)
            let source = try randomModel(old)
            let grown = try grow(source, old, dModel: 32)
            XCTAssertEqual([grown.section.dModel, grown.section.heads], [32, 8])
            let (difference, scale) = logitDifference(grown.model, source)
            print("fpi width 16→32 \(flavor.rawValue) tied \(tied.map(String.init) ?? "default"): max |Δlogit| \(difference), scale \(scale)")
            XCTAssertLessThan(difference, 1e-5 * max(1, scale), "\(flavor.rawValue) tied \(String(describing: tied))")
        }
    }

    /// fpi with more layers (2 → 4, and 2 → 5 with 2× width) adds identity blocks to gpt2 and llama: the same logits.
    func testFPIAddedDecoderLayersKeepTheLogits() throws {
        for flavor in [ModelFlavor.gpt2, .llama] {
            let old = section(flavor)
            let source = try randomModel(old)
            for (layers, dModel) in [(4, 16), (5, 32)] {
                let grown = try grow(source, old, layers: layers, dModel: dModel)
                let (difference, scale) = logitDifference(grown.model, source)
                print("fpi depth 2→\(layers) width 16→\(dModel) \(flavor.rawValue): max |Δlogit| \(difference), scale \(scale)")
                XCTAssertLessThan(difference, 1e-5 * max(1, scale), "\(flavor.rawValue) \(layers) layers, d_model \(dModel)")
            }
        }
    }

    /// 16 → 24 (4 → 6 heads): half the units are copied twice, half once, so each norm over the residual stream
    /// sees another mean and variance: close to the old logits, not equal.
    func testFPINonIntegerWidthIsOnlyClose() throws {
        for flavor in [ModelFlavor.gpt2, .llama, .bert] {
            let old = section(flavor)
            let source = try randomModel(old)
            let grown = try grow(source, old, dModel: 24)
            XCTAssertEqual(grown.section.heads, 6)
            let (difference, scale) = logitDifference(grown.model, source)
            print("fpi width 16→24 \(flavor.rawValue): max |Δlogit| \(difference), scale \(scale)")
            XCTAssertGreaterThan(difference, 1e-4 * scale, "\(flavor.rawValue): not function-preserving")
            XCTAssertLessThan(difference, 0.5 * scale, "\(flavor.rawValue): still close")
        }
    }

    /// bert is post-LN: a layer with zeroed output projections computes LayerNorm(LayerNorm(x)), not x, so fpi
    /// refuses to add bert layers.
    func testBertLayersCannotBeAddedAsIdentities() throws {
        let old = section(.bert)
        XCTAssertThrowsError(try grow(try randomModel(old), old, layers: 3)) { error in
            XCTAssertTrue("\(error)".contains("--method fpi cannot add layers to a bert checkpoint"), "\(error)")
        }
        var generator = RandomGenerator(seed: 2)
        let layer = BertLayer(dModel: 8, heads: 2, generator: &generator)
        for projection in layer.residualProjections {
            for tensor in [projection.weight, projection.bias!] { tensor.data.update(repeating: 0, count: tensor.count) }
        }
        let x = Tensor.normal([1, 3, 8], generator: &generator)
        let y = layer(x)
        assertClose(y, layerNorm(layerNorm(x, weight: layer.attentionNorm.weight, bias: layer.attentionNorm.bias, eps: 1e-12),
                                 weight: layer.outputNorm.weight, bias: layer.outputNorm.bias, eps: 1e-12),
                    atol: 1e-5, rtol: 1e-5, "a zeroed post-LN layer is LN(LN(x))")
        XCTAssertGreaterThan(zip(y.scalars, x.scalars).map { abs($0 - $1) }.max()!, 0.1, "and not the identity")
    }

    /// Where layer l's parameters are: `prefix + "l."`.
    private let blockPrefix: [ModelFlavor: String] = [.gpt2: "transformer.h.", .llama: "model.layers.", .bert: "bert.encoder.layer."]

    /// The layer of a parameter name, nil outside the blocks.
    private func layer(of name: String, _ flavor: ModelFlavor) -> Int? {
        let prefix = blockPrefix[flavor]!
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
    }

    /// aki fills a layer's added output units from the layer above: the old units' rows, the top layer and
    /// everything outside the blocks are as fpi builds them; the added rows of the lower layers differ, and so do the
    /// logits.
    func testAKIDiffersFromFPIOnlyInTheAddedUnitsOfLowerLayers() throws {
        for flavor in [ModelFlavor.gpt2, .llama, .bert] {
            let old = section(flavor, layers: 3)
            let source = try randomModel(old)
            let fpiGrown = try grow(source, old, dModel: 32)
            let akiGrown = try grow(source, old, dModel: 32, method: .aki)
            let (fpi, aki) = (fpiGrown.model.stateDict(), akiGrown.model.stateDict())
            XCTAssertEqual(Set(aki.keys), Set(fpi.keys))
            for (name, tensor) in aki {
                let reference = fpi[name]!
                XCTAssertEqual(tensor.shape, reference.shape, name)
                guard let l = layer(of: name, flavor), l < 2 else {
                    XCTAssertEqual(tensor.scalars, reference.scalars, "\(name): as fpi")
                    continue
                }
                XCTAssertNotEqual(tensor.scalars, reference.scalars, "\(name): added units from the layer above")
                // Every output axis doubled; the old units are the first half of it (of each of q | k | v in c_attn).
                let segments = name.contains("c_attn") ? 3 : 1
                let rowLength = tensor.count / tensor.size(0), segmentRows = tensor.size(0) / segments
                for segment in 0..<segments {
                    let old = (segment * segmentRows * rowLength)..<((segment * segmentRows + segmentRows / 2) * rowLength)
                    XCTAssertEqual(Array(tensor.scalars[old]), Array(reference.scalars[old]), "\(name): old units as fpi")
                }
            }
            let (difference, scale) = logitDifference(akiGrown.model, fpiGrown.model)
            print("aki vs fpi width 16→32 \(flavor.rawValue): max |Δlogit| \(difference), scale \(scale)")
            XCTAssertGreaterThan(difference, 1e-3 * scale)
            try assertLoads(akiGrown)
        }
    }

    /// stack deepens by stacking: added layer l copies layer l mod L of the widened model; the function changes.
    func testStackCopiesTheLayersFromTheBottom() throws {
        for flavor in [ModelFlavor.gpt2, .llama, .bert] {
            let old = section(flavor)
            let source = try randomModel(old)
            let stacked = try grow(source, old, layers: 5, dModel: 32, method: .stack)
            XCTAssertEqual(stacked.section.layers, 5)
            try assertLoads(stacked)
            let weights = stacked.model.stateDict()
            let prefix = blockPrefix[flavor]!
            for (name, tensor) in weights {
                guard let l = layer(of: name, flavor), l >= 2 else { continue }
                let copied = prefix + "\(l % 2)" + name.dropFirst(prefix.count + "\(l)".count)
                XCTAssertEqual(tensor.scalars, weights[copied]!.scalars, "\(name) copies \(copied)")
            }
            let (difference, _) = logitDifference(stacked.model, source)
            XCTAssertGreaterThan(difference, 1e-3, "\(flavor.rawValue): stacking changes the function")
        }
    }

    /// The grown weights load strictly into a fresh model of the grown section (what --init-from does).
    private func assertLoads(_ grown: (model: Module, section: ModelSection), file: StaticString = #filePath, line: UInt = #line) throws {
        var generator = RandomGenerator(seed: 9)
        let fresh = try grown.section.family.makeBackbone(grown.section, options: BackboneOptions(), generator: &generator)
        XCTAssertNoThrow(try fresh.load(grown.model.stateDict()), file: file, line: line)
    }

    /// Each growth a user can ask for wrongly is one line naming its flag.
    func testImpossibleGrowthsAreOneLineErrors() throws {
        let old = section(.gpt2, layers: 2, dModel: 16, heads: 4)
        let source = try randomModel(old)
        let cases: [(GrowthOptions, String)] = [
            (GrowthOptions(layers: 1, dModel: 16), "--layers 1 is fewer than the checkpoint's 2"),
            (GrowthOptions(layers: 2, dModel: 8), "--d-model 8 is smaller than the checkpoint's 16"),
            (GrowthOptions(layers: 2, dModel: 32, heads: 4), "--heads 4 with --d-model 32 gives a head dimension of 8, the checkpoint's is 4"),
            (GrowthOptions(layers: 2, dModel: 32, heads: 5), "--heads 5 does not divide --d-model 32"),
            (GrowthOptions(layers: 2, dModel: 32, heads: 0), "--heads must be at least 1, got 0"),
            (GrowthOptions(layers: 2, dModel: 32, mlpHidden: 32), "--mlp-hidden 32 is smaller than the checkpoint's 64"),
        ]
        for (options, expected) in cases {
            XCTAssertThrowsError(try growModel(source, section: old, options: options)) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
        XCTAssertThrowsError(try section(.audioFrames).grown(GrowthOptions(layers: 2, dModel: 32))) {
            XCTAssertEqual("\($0)", "model.flavor audio_frames cannot be grown: only gpt2, llama and bert checkpoints")
        }
        XCTAssertThrowsError(try GrowthMethod(named: "wider")) { XCTAssertEqual("\($0)", "--method must be one of fpi, aki, stack, got 'wider'") }
    }

    /// `pretrain grow` on a trained run: a checkpoint directory that loadCheckpoint reads (the same logits at 2×
    /// width and 2× depth) and that `pretrain train --init-from` trains; its user errors are one line.
    func testGrowCommandWritesACheckpointThatTrains() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 1, optim: "{lr: 3e-3, batch_size: 4}",
                                       train: "{steps: 3, eval_every: 3, eval_batches: 1, log_every: 1, checkpoint_every: 3}")
        // Training copies the corpus' tokenizer.json byte for byte into each checkpoint (after checking that it loads).
        let tokenizer = Data(try ByteLevelBPETokenizer(vocabulary: ["a": 0, "b": 1], merges: []).tokenizerJSON().utf8)
        try tokenizer.write(to: root.appendingPathComponent("corpus/tokenizer.json"))
        var result = try runPretrain(["train", "tiny.yaml", "--run-dir", "small"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        result = try runPretrain(["grow", "small", "--layers", "2", "--d-model", "32", "--method", "fpi", "--out", "grown"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("into \(root.appendingPathComponent("grown").path) (2 layers, d_model 32, 4 heads"), result.output)

        let small = try loadCheckpoint(root.appendingPathComponent("small"))
        let grown = try loadCheckpoint(root.appendingPathComponent("grown"))
        XCTAssertEqual(grown.config.objective, small.config.objective)
        XCTAssertEqual([grown.config.model.layers, grown.config.model.dModel, grown.config.model.heads], [2, 32, 4])
        XCTAssertEqual(try Data(contentsOf: try XCTUnwrap(grown.tokenizerURL)), tokenizer, "the checkpoint's tokenizer.json copied")
        let (difference, scale) = logitDifference(try XCTUnwrap(grown.decoder), try XCTUnwrap(small.decoder))
        print("pretrain grow fpi 1→2 layers, 16→32 wide on a trained gpt2: max |Δlogit| \(difference), scale \(scale)")
        XCTAssertLessThan(difference, 1e-5 * max(1, scale))

        result = try runPretrain(["train", "tiny.yaml", "--run-dir", "large", "--init-from", "grown", "--set", "model.layers=2",
                                  "--set", "model.d_model=32", "--set", "model.heads=4", "--set", "train.steps=2"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        let rows = try readMetrics(root.appendingPathComponent("large/metrics.jsonl"))
        XCTAssertEqual(rows.first?.step, 0)
        XCTAssertEqual(rows.last?.step, 2)

        for (arguments, expected) in [
            (["grow", "small", "--layers", "1", "--d-model", "16", "--heads", "4", "--method", "fpi", "--out", "bad"],
             "--heads 4 with --d-model 16 gives a head dimension of 4, the checkpoint's is 8"),
            (["grow", "small", "--layers", "1", "--d-model", "8", "--method", "fpi", "--out", "bad"], "--d-model 8 is smaller"),
            (["grow", "small", "--layers", "2", "--d-model", "32", "--method", "wide", "--out", "bad"], "--method must be one of"),
            (["grow", "nowhere", "--layers", "2", "--d-model", "32", "--method", "fpi", "--out", "bad"], "nowhere: no such checkpoint"),
            (["grow", "small", "--layers", "2", "--d-model", "32", "--method", "fpi", "--out", "small/checkpoints/step_000003"],
             "holds the checkpoint being grown"),
            (["grow", "small", "--layers", "2", "--d-model", "32", "--method", "fpi", "--out", "corpus"],
             "--out \(root.appendingPathComponent("corpus").path) is a directory of other files"),
            // Refused from its sizes before it is built (building it would have the process killed part way).
            (["grow", "small", "--layers", "100000000", "--d-model", "16", "--method", "stack", "--out", "bad"],
             "the grown model (100000000 layers × d_model 16, at least 3.1e+11 parameters) would need ~"),
        ] {
            let result = try runPretrain(arguments, in: root)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(expected), "\(arguments): \(result.output)")
            XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, result.output)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("bad").path))
        XCTAssertNoThrow(try loadCheckpoint(root.appendingPathComponent("small")), "a refused --out leaves the source alone")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("corpus/corpus.json").path))
    }
}
