import SpeechSynthesis
import XCTest

final class WAVFileTests: XCTestCase {
    func testRoundTripsSixteenBitMono() throws {
        let url = Repository.temporaryDirectory("wav-roundtrip.wav")
        defer { try? FileManager.default.removeItem(at: url) }
        let samples: [Int16] = [0, 1, -1, .max, .min, 1234]
        try WAVFile.write(samples, to: url)
        let read = try WAVFile.read(url)
        XCTAssertEqual(read.samples, samples)
        XCTAssertEqual(read.sampleRate, 16_000)
        XCTAssertEqual(WAVFile.sampleCount(url), samples.count)
        XCTAssertEqual(try Data(contentsOf: url).count, 44 + 2 * samples.count)
    }

    func testATruncatedFileIsNotComplete() throws {
        let url = Repository.temporaryDirectory("wav-truncated.wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try WAVFile.write([Int16](repeating: 5, count: 100), to: url)
        try Data(contentsOf: url).prefix(100).write(to: url)
        XCTAssertNil(WAVFile.sampleCount(url))
        XCTAssertThrowsError(try WAVFile.read(url)) { error in
            XCTAssertTrue("\(error)".contains("truncated") && "\(error)".contains(url.lastPathComponent), "\(error)")
        }
    }
}
