import SpeechSynthesis
import XCTest

final class SeededRandomTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceSequence() {
        // SplitMix64 seeded with 0: the first outputs of Vigna's reference splitmix64.c.
        var random = SeededRandom(seed: 0)
        XCTAssertEqual(random.next(), 0xe220_a839_7b1d_cdaf)
        XCTAssertEqual(random.next(), 0x6e78_9e6a_a1b9_65f4)
    }

    func testNamedStreamsAreReproducibleAndDistinct() {
        var a = SeededRandom(seed: 7, name: "ks/train/yes/0000.wav")
        var b = SeededRandom(seed: 7, name: "ks/train/yes/0000.wav")
        var c = SeededRandom(seed: 7, name: "ks/train/yes/0001.wav")
        var d = SeededRandom(seed: 8, name: "ks/train/yes/0000.wav")
        let first = (0..<4).map { _ in a.next() }
        XCTAssertEqual(first, (0..<4).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<4).map { _ in c.next() })
        XCTAssertNotEqual(first, (0..<4).map { _ in d.next() })
    }

    func testDrawsStayInTheirRanges() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<10_000 {
            let u = random.unit()
            XCTAssertTrue(u >= 0 && u < 1)
            let i = random.index(7)
            XCTAssertTrue((0..<7).contains(i))
        }
    }
}
