import AudioData
import XCTest

final class FbankOptionsTests: XCTestCase {
    func testFrameCountsFollowKaldi() {
        var options = FbankOptions()  // 400-sample windows, 160-sample shift at 16 kHz
        XCTAssertEqual(options.frameCount(sampleCount: 16_000), 98)
        XCTAssertEqual(options.frameCount(sampleCount: 399), 0)
        XCTAssertEqual(options.paddedWindowSize, 512)
        options.snipEdges = false
        XCTAssertEqual(options.frameCount(sampleCount: 16_000), 100)
        XCTAssertEqual(options.frameCount(sampleCount: 399), 2)
    }

    func testShortSignalGivesNoFramesWithSnipEdges() throws {
        let features = try FbankComputer().compute([Float](repeating: 0.1, count: 300))
        XCTAssertEqual(features.shape, [0, 23])
    }

    func testSilenceIsFlooredAtLogEpsilon() throws {
        let features = try FbankComputer().compute([Float](repeating: 0, count: 1_600))
        XCTAssertTrue(features.values.allSatisfy { $0 == log(Float.ulpOfOne) })
    }

    func testInvalidOptionsAreErrorsNamingTheOption() {
        var oddWindow = FbankOptions()
        oddWindow.roundToPowerOfTwo = false
        oddWindow.frameLength = 25.0625  // 401 samples
        XCTAssertThrowsError(try FbankComputer(options: oddWindow)) { XCTAssertTrue("\($0)".contains("odd window"), "\($0)") }
        var band = FbankOptions()
        band.highFrequency = 9_000
        XCTAssertThrowsError(try FbankComputer(options: band)) { XCTAssertTrue("\($0)".contains("high-freq"), "\($0)") }
        var bins = FbankOptions()
        bins.numMelBins = 3
        XCTAssertThrowsError(try FbankComputer(options: bins)) { XCTAssertTrue("\($0)".contains("num-mel-bins"), "\($0)") }
        var mfcc = MFCCOptions()
        mfcc.numCeps = 24
        XCTAssertThrowsError(try MFCCComputer(options: mfcc)) { XCTAssertTrue("\($0)".contains("num-ceps"), "\($0)") }
    }

    func testWaveformAtAnotherRateIsAnError() throws {
        let waveform = Waveform(samples: [Float](repeating: 0, count: 8_000), sampleRate: 8_000)
        XCTAssertThrowsError(try FbankComputer().compute(waveform)) { XCTAssertTrue("\($0)".contains("8000 Hz"), "\($0)") }
    }

    func testBatchEqualsOneByOne() throws {
        let computer = try FbankComputer()
        let batch: [[Float]] = (0..<5).map { u in (0..<(4_000 + 1_000 * u)).map { sin(Float($0) * 0.01 * Float(u + 1)) * 0.3 } }
        let together = computer.compute(batch: batch)
        XCTAssertEqual(together, batch.map { computer.compute($0) })
    }

    func testDitherIsSeededAndChangesTheOutput() throws {
        var options = FbankOptions()
        options.dither = 1
        let signal = (0..<4_000).map { sin(Float($0) * 0.05) * 0.1 }
        let a = try FbankComputer(options: options).compute(signal)
        XCTAssertEqual(a, try FbankComputer(options: options).compute(signal))
        XCTAssertNotEqual(a, try FbankComputer().compute(signal))
    }
}
