import Foundation
import TestSupport
import TextData
import XCTest

/// Reading shards against a vocabulary: an id the model has no embedding row for is refused at load.
final class ShardVocabularyTests: XCTestCase {
    func testAnIdOutsideTheVocabularyIsAnErrorNamingTheShardTheIdAndTheVocabulary() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("val_000000.bin")
        try TokenShard.write([1, 2, 600, 3], vocabularySize: 1000, to: url)
        XCTAssertEqual(try TokenShard.read(url, vocabularySize: 601), [1, 2, 600, 3])
        XCTAssertThrowsError(try TokenShard.read(url, vocabularySize: 512)) {
            XCTAssertEqual("\($0)", "\(url.path): token id 600 at position 2 is outside the vocabulary of 512 tokens")
        }
    }

    func testAPreparedCorpusReadsItsShardsAgainstCorpusJSONsVocabularyByDefault() throws {
        let directory = try makeTemporaryDirectory().appendingPathComponent("corpus")
        try SyntheticCorpus.writePrepared(to: directory, trainTokens: 100, valTokens: 50, vocabularySize: 64)
        let corpus = try PreparedCorpus(directory: directory)
        XCTAssertEqual(try corpus.readShards(.val).first?.count, 50)
        var tokens = try TokenShard.read(corpus.valShards[0])
        tokens[7] = 64
        try SyntheticCorpus.writeShard(tokens, to: corpus.valShards[0])
        XCTAssertThrowsError(try corpus.readShards(.val)) {
            XCTAssertTrue("\($0)".hasPrefix(corpus.valShards[0].path + ": token id 64 at position 7"), "\($0)")
            XCTAssertTrue("\($0)".contains("vocabulary of 64 tokens"), "\($0)")
        }
        XCTAssertNoThrow(try corpus.readShards(.val, vocabularySize: 65))
        XCTAssertEqual(try corpus.readShards(.train).first?.count, 100)
    }
}
