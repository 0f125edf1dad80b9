import SpeechSynthesis
import XCTest

/// `--scale` shrinks every subset, not only the unlabelled hours.
final class ScaledOptionsTests: XCTestCase {
    func testScaleShrinksEverySubsetAndKeepsEverySplit() throws {
        let scaled = try SynthesisOptions().scaled(by: 0.05)
        XCTAssertEqual(scaled.hours, 0.1, accuracy: 1e-12)
        XCTAssertEqual(scaled.keywordsPerClass, SplitSizes(train: 5, dev: 2, test: 2))
        XCTAssertEqual(scaled.sidPerSpeaker, SplitSizes(train: 1, dev: 1, test: 1), "a split keeps at least one utterance")
        XCTAssertEqual(scaled.prUtterances, SplitSizes(train: 30, dev: 5, test: 5))
        XCTAssertEqual(scaled.sidSpeakers, SynthesisOptions().sidSpeakers, "the classes stay")
        XCTAssertEqual(try SynthesisOptions().scaled(by: 1), SynthesisOptions())
        XCTAssertThrowsError(try SynthesisOptions().scaled(by: 0))
        XCTAssertThrowsError(try SynthesisOptions().scaled(by: .nan))
    }
}
