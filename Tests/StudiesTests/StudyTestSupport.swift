import Foundation
import Studies
import TestSupport
import TextData
import Training
import XCTest

/// The synthetic corpus of every trainer test, prepared with a tokenizer.json (the study compares tokenizers; training
/// refuses a corpus whose tokenizer.json does not load, so the default is a real one, of three tokens).
enum TestCorpus {
    static func writePrepared(to directory: URL, trainTokens: Int = 6000, valTokens: Int = 800, vocabularySize: Int = 64,
                              seed: UInt64 = 1, tokenizer: String? = nil) throws {
        let text = try tokenizer ?? ByteLevelBPETokenizer(vocabulary: ["a": 0, "b": 1, "ab": 2], merges: [("a", "b")]).tokenizerJSON()
        try SyntheticCorpus.writePrepared(to: directory, trainTokens: trainTokens, valTokens: valTokens,
                                          vocabularySize: vocabularySize, seed: seed, tokenizer: text)
    }
}

/// A quick study run once for a test class: a fresh temporary root (`name`-UUID) and what `run` made in it, or nil
/// after recording the failure. The class's tearDown removes the root.
func runQuickStudy<Results>(_ name: String, _ run: (URL) throws -> Results) -> (root: URL, results: Results?) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    do {
        return (root, try run(root))
    } catch {
        XCTFail("the quick study failed: \(error)")
        return (root, nil)
    }
}

/// The study at a size that trains in seconds: a 1-layer d=16 GPT, context 8, evaluated every other step so that
/// every curve has ≥ 5 points after the warmup within its first 30 % (the backtest's minimum).
let microSize = StudyCPTSize(
    name: "micro", layers: 1, dModel: 16, heads: 2, context: 8, batchSize: 4,
    upstreamSteps: 80, upstreamWarmup: 5, upstreamEvalEvery: 2, upstreamPeak: 3e-3, upstreamMin: 3e-4,
    armSteps: 60, armWarmup: 4, armEvalEvery: 2, evalBatches: 2, infiniteCooldown: 10, annealSteps: 20)
