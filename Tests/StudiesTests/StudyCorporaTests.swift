import Foundation
import Studies
import TestSupport
import TextData
import Training
import XCTest

/// A study prepares a corpus once per content of its inputs: the same inputs are kept, changed text is prepared again.
final class StudyCorporaTests: XCTestCase {
    func testACorpusIsPreparedAgainOnlyWhenItsInputsChange() throws {
        let root = try makeTemporaryDirectory()
        let text = root.appendingPathComponent("a.txt")
        let first = "To be, or not to be, that is the question. To be, or not to be.", second = "Now is the winter of our discontent."
        try first.write(to: text, atomically: true, encoding: .utf8)
        let corpus = root.appendingPathComponent("corpus")
        func prepare() throws -> Int {
            try StudyCorpora.prepare(corpus, inputs: [text], split: .fraction(0),
                                     tokenizer: .train(vocabularySize: 270, minFrequency: 2, specialTokens: ["<|endoftext|>"]),
                                     console: ConsoleProgress(mode: .silent))
            return try PreparedCorpus(directory: corpus).manifest.trainBytes
        }
        XCTAssertEqual(try prepare(), first.utf8.count)
        let manifest = corpus.appendingPathComponent(PreparedCorpus.manifestName)
        let written = try FileManager.default.attributesOfItem(atPath: manifest.path)[.modificationDate] as? Date
        Thread.sleep(forTimeInterval: 0.01)
        XCTAssertEqual(try prepare(), first.utf8.count)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: manifest.path)[.modificationDate] as? Date, written,
                       "the same inputs: the corpus is kept")
        try second.write(to: text, atomically: true, encoding: .utf8)
        XCTAssertEqual(try prepare(), second.utf8.count, "changed inputs: the corpus is prepared again")
    }
}
