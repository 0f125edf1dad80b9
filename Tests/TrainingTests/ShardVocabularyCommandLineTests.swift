import Foundation
import TestSupport
import TextData
import Training
import XCTest

/// A shard holding an id outside the vocabulary is refused where shards are loaded (eval, train), naming the shard,
/// instead of trapping in the embedding lookup.
final class ShardVocabularyCommandLineTests: XCTestCase {
    /// Sets val token 5 of `corpus` to `id` (a uint16 in place, the header unchanged).
    private func patchValToken(_ corpus: URL, to id: UInt16) throws -> URL {
        let shard = corpus.appendingPathComponent("val_000000.bin")
        var data = try Data(contentsOf: shard)
        withUnsafeBytes(of: id.littleEndian) { data.replaceSubrange(1024 + 10 ..< 1024 + 12, with: $0) }
        try data.write(to: shard)
        return shard
    }

    func testEvalOfAShardWithAnIdOutsideTheModelsVocabularyIsAnErrorNamingTheShard() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeTinyRecipe(in: root, layers: 1, optim: "{batch_size: 2}",
                                      train: "{steps: 2, eval_every: 2, eval_batches: 1, checkpoint_every: 2}")
        let train = try runPretrain(["train", "tiny.yaml", "--run-dir", "run"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        let shard = try patchValToken(root.appendingPathComponent("corpus"), to: 600)
        let eval = try runPretrain(["eval", "run", "--data", "corpus", "--batches", "2"], in: root)
        XCTAssertEqual(eval.status, 1, "an error, not a trap: \(eval.output)")
        XCTAssertTrue(eval.output.contains("\(shard.lastPathComponent): token id 600 at position 5 is outside the vocabulary of 64 tokens"),
                      eval.output)
    }

    func testLoadingATrainingCorpusChecksEveryShardAgainstItsVocabulary() throws {
        let corpus = try makeTemporaryDirectory().appendingPathComponent("corpus")
        try TestCorpus.writePrepared(to: corpus)
        let shard = try patchValToken(corpus, to: 64)
        var data = DataSection()
        data.corpus = corpus.path
        XCTAssertThrowsError(try TrainingCorpus.load(data)) {
            XCTAssertTrue("\($0)".contains("\(shard.path): token id 64 at position 5 is outside the vocabulary of 64 tokens"), "\($0)")
        }
    }
}
