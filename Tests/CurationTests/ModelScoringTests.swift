import Curation
import CurationScoring
import Foundation
import Layers
import Tensors
import TestSupport
import TextData
import Training
import XCTest

/// The steps that run a model: `classify` (our n-gram classifier: the most probable label, its posterior, one label's
/// posterior) and `perplexity` (a decoder of ours: exp of the mean next-token loss over the document's windows,
/// CCNet's thirds as buckets), and their mistakes.
final class ModelScoringTests: XCTestCase {
    // MARK: classify

    private func classifierFile() throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent("lang.langid")
        try LanguageIdentifierTests.trainedModel().write(to: url)
        return url
    }

    func testClassifyWritesTheLabelItsPosteriorAndOneLabelsPosterior() throws {
        let model = try classifierFile()
        let step = try makeStep("classify", "model: \(model.path)\nfield: lang\nscore_label: de")
        let texts = LanguageIdentifierTests.unseen.map(\.text)
        let (kept, dropped) = try runSteps([step], documents(texts))
        XCTAssertTrue(dropped.isEmpty)
        let identifier = LanguageIdentifierTests.trainedModel()
        for (document, expected) in zip(kept, LanguageIdentifierTests.unseen) {
            let posteriors = identifier.posteriors(document.text)
            XCTAssertEqual(document.meta["lang"], .string(expected.label), document.text)
            XCTAssertEqual(document.meta["lang_score"], .number(posteriors.max()!))
            XCTAssertEqual(document.meta["lang_de"], .number(posteriors[identifier.labels.firstIndex(of: "de")!]))
        }
    }

    func testClassifyMistakesNameTheKey() throws {
        let model = try classifierFile()
        assertThrows(["steps[0] (classify)", "needs a 'model:'"]) { _ = try makeStep("classify") }
        assertThrows(["steps[0] (classify)", "score_label", "'xx' is not a label", "de, en, es, fr, it"]) {
            _ = try makeStep("classify", "model: \(model.path)\nscore_label: xx")
        }
        assertThrows(["steps[0] (classify)", "model", "missing.langid"]) { _ = try makeStep("classify", "model: /no/missing.langid") }
    }

    /// A boolean label (the fortunes' `offensive`) trains as its JSON text.
    func testABooleanLabelTrainsAsTrueAndFalse() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("off.jsonl")
        let lines = LanguageIdentifierTests.training["en"]!.map { #"{"text": "\#($0)", "meta": {"offensive": false}}"# }
            + LanguageIdentifierTests.training["de"]!.map { #"{"text": "\#($0)", "meta": {"offensive": true}}"# }
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        let examples = try LanguageIdentifierTraining.labelledTexts(in: url, labelField: "offensive")
        XCTAssertEqual(Set(examples.map(\.label)), ["true", "false"])
    }

    // MARK: perplexity

    /// A tiny decoder trained for 40 steps on a few scenes of one play, with its BPE; shared by the perplexity tests.
    nonisolated(unsafe) private static var trained: URL?

    private func decoderRun() throws -> URL {
        if let trained = Self.trained { return trained }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("model-scoring-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let play = try String(contentsOf: repositoryRoot.appendingPathComponent("data/shakespeare/hamlet.txt"), encoding: .utf8)
        let text = root.appendingPathComponent("hamlet.txt")
        try Data(String(play.prefix(60_000)).utf8).write(to: text)
        var preparation = CorpusPreparation(inputs: [text], split: .fraction(0.1),
                                            tokenizer: .train(vocabularySize: 320, minFrequency: 2, specialTokens: ["<|endoftext|>"]))
        preparation.shardTokens = 1 << 20
        _ = try preparation.run(into: root.appendingPathComponent("corpus"))
        var recipe = Recipe()
        recipe.data.corpus = root.appendingPathComponent("corpus").path
        (recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context) = (1, 32, 2, 16)
        (recipe.optim.lr, recipe.optim.batchSize, recipe.train.steps, recipe.train.evalEvery) = (3e-3, 8, 40, 0)
        let run = root.appendingPathComponent("run")
        try Trainer(recipe: recipe, runDirectory: run, corpus: try TrainingCorpus.load(recipe.data),
                    console: ConsoleProgress(mode: .silent)).run()
        Self.trained = run
        return run
    }

    override class func tearDown() {
        if let trained { try? FileManager.default.removeItem(at: trained.deletingLastPathComponent()) }
        super.tearDown()
    }

    func testPerplexityIsTheExponentOfTheMeanLossOverTheDocumentsWindows() throws {
        let run = try decoderRun()
        let step = try XCTUnwrap(try { ModelScorers.register(); return try makeStep("perplexity", "checkpoint: \(run.path)") }() as? PerplexityScore)
        let loaded = try loadCheckpoint(run)
        let decoder = try XCTUnwrap(loaded.decoder)
        let tokenizer = try loadTokenizer(try XCTUnwrap(loaded.tokenizerURL))
        // Longer than the context (16): several windows, each predicting its own tokens.
        let text = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings"
        let ids = [tokenizer.specialTokenID("<|endoftext|>")!] + tokenizer.encode(text)
        XCTAssertGreaterThan(ids.count, 17)
        var total = 0.0
        var start = 0
        while start + 1 < ids.count {
            let window = Array(ids[start..<min(ids.count, start + 17)])
            let loss = noGrad { decoder.loss(tokens: IntTensor(Array(window.dropLast()), shape: [1, window.count - 1]),
                                             targets: IntTensor(Array(window.dropFirst()), shape: [1, window.count - 1])) }
            total += Double(loss.item) * Double(window.count - 1)
            start += 16
        }
        let expected = exp(total / Double(ids.count - 1))
        var document = documents([text])[0]
        XCTAssertEqual(try step.apply(to: &document), .keep)
        guard case .number(let perplexity) = document.meta["perplexity"] else { return XCTFail("\(document.meta)") }
        XCTAssertEqual(perplexity, expected, accuracy: 1e-6 * expected)
        // Text like the training text scores lower than letters at random.
        XCTAssertLessThan(try XCTUnwrap(step.perplexity("Horatio and Marcellus, the king, the queen, my lord")),
                          try XCTUnwrap(step.perplexity("qzx vvkp jjwq xzzk pqqv wxyq kkzj")))
    }

    func testBucketsAreTheThirdsOfTheCorpusPerplexities() throws {
        let run = try decoderRun()
        ModelScorers.register()
        let step = try makeStep("perplexity", "checkpoint: \(run.path)\nfield: ppl\nbucket_field: quality")
        XCTAssertTrue(step.needsCorpusPass)
        let texts = ["my lord, the king", "qzx vvkp jjwq", "the queen, my lord", "xzzk pqqv wxyq kkzj", "good my lord", "jjv qqz"]
        let (kept, _) = try runSteps([step], documents(texts))
        let scores = kept.map { document -> Double in
            if case .number(let value) = document.meta["ppl"] { return value }
            return .nan
        }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        let buckets = kept.map { $0.meta["quality"] }
        XCTAssertEqual(order.map { buckets[$0] }, ["head", "head", "middle", "middle", "tail", "tail"].map { MetaValue.string($0) })
    }

    func testPerplexityMistakesNameTheKey() throws {
        ModelScorers.register()
        assertThrows(["steps[0] (perplexity)", "needs a 'checkpoint:'"]) { _ = try makeStep("perplexity") }
        assertThrows(["steps[0] (perplexity)", "checkpoint", "/no/such/run"]) { _ = try makeStep("perplexity", "checkpoint: /no/such/run") }
        let run = try decoderRun()
        assertThrows(["steps[0] (perplexity)", "max_tokens", "must be ≥ 2, got 1"]) {
            _ = try makeStep("perplexity", "checkpoint: \(run.path)\nmax_tokens: 1")
        }
    }
}
