import Foundation
import TestSupport
import TextData
import XCTest

final class TokenShardTests: XCTestCase {
    private func header(_ url: URL) throws -> [Int32] {
        let data = try Data(contentsOf: url)
        return data.prefix(12).withUnsafeBytes { raw in (0..<3).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) } }
    }

    func testSmallVocabularyWritesUInt16ShardThatReadsBack() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("train_000000.bin")
        let tokens: [Int32] = [0, 1, 65_534, 300, 7]
        try TokenShard.write(tokens, vocabularySize: 65_535, to: url)
        XCTAssertEqual(try header(url), [20240520, 1, 5])
        XCTAssertEqual(try Data(contentsOf: url).count, 1024 + 2 * 5)
        XCTAssertEqual(try TokenShard.read(url), tokens)
        XCTAssertEqual(try TokenShard.tokenCount(url), 5)
    }

    func testVocabularyAbove65535WritesUInt32Shard() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("train_000000.bin")
        let tokens: [Int32] = [70_000, 0, 65_536]
        try TokenShard.write(tokens, vocabularySize: 100_000, to: url)
        XCTAssertEqual(try header(url), [20240801, 7, 3])
        XCTAssertEqual(try Data(contentsOf: url).count, 1024 + 4 * 3)
        XCTAssertEqual(try TokenShard.read(url), tokens)
    }

    func testTokenOutsideTheVocabularyIsRefused() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("x.bin")
        XCTAssertThrowsError(try TokenShard.write([3, 512], vocabularySize: 512, to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    private func corrupt(_ edit: (inout Data) -> Void) throws -> URL {
        let url = try makeTemporaryDirectory().appendingPathComponent("train_000000.bin")
        try TokenShard.write([1, 2, 3, 4], vocabularySize: 100, to: url)
        var data = try Data(contentsOf: url)
        edit(&data)
        try data.write(to: url)
        return url
    }

    private func assertReadFails(_ url: URL, saying phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TokenShard.read(url), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(phrase), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(url.path), file: file, line: line)
        }
    }

    func testBadMagicIsReported() throws {
        assertReadFails(try corrupt { $0[0] = 0x42 }, saying: "bad magic")
    }

    func testTruncatedHeaderIsReported() throws {
        assertReadFails(try corrupt { $0 = $0.prefix(100) }, saying: "truncated header")
    }

    func testTruncatedTokensAreReported() throws {
        assertReadFails(try corrupt { $0 = $0.prefix(1024 + 5) }, saying: "truncated")
    }

    func testExtraBytesAreACountMismatch() throws {
        assertReadFails(try corrupt { $0.append(contentsOf: [0, 0]) }, saying: "count mismatch")
    }

    func testVersionMustMatchMagic() throws {
        assertReadFails(try corrupt { $0[4] = 7 }, saying: "unsupported version 7")
    }
}
