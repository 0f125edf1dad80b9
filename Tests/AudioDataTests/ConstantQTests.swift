import AudioData
import Foundation
import TestSupport
import XCTest

/// The constant-Q transform against a direct NumPy evaluation of its definition (scripts/make_cqt_fixtures.py:
/// 0.5 s of two sinusoids and noise at 16 kHz, 48 bins from C2, hop 400).
final class ConstantQTests: XCTestCase {
    struct Fixture: Decodable {
        let sample_rate: Double, hop: Int, fmin: Double, bins_per_octave: Int, bins: Int, filter_scale: Double
        let samples: [Float]
        let magnitudes: [[Double]]
    }

    func fixture() throws -> Fixture {
        let url = fixtureURL("AudioDataTests").appendingPathComponent("cqt.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func transform(_ f: Fixture, sparsity: Double) throws -> ConstantQTransform {
        try ConstantQTransform(sampleRate: f.sample_rate, hop: f.hop, fmin: f.fmin, binsPerOctave: f.bins_per_octave,
                               bins: f.bins, filterScale: f.filter_scale, sparsity: sparsity)
    }

    /// With every kernel term kept, the FFT evaluation is the definition: within 1e-6 of the peak (float32 output).
    func testAllTermsGiveTheDefinition() throws {
        let f = try fixture()
        let result = try transform(f, sparsity: 0)(f.samples)
        XCTAssertEqual(result.shape, [f.magnitudes.count, f.bins])
        let peak = f.magnitudes.joined().max()!
        for (m, row) in f.magnitudes.enumerated() {
            for (k, expected) in row.enumerated() {
                XCTAssertEqual(Double(result.values[m * f.bins + k]), expected, accuracy: 1e-6 * peak, "frame \(m) bin \(k)")
            }
        }
    }

    /// The default sparse kernels (terms below 1 % of each kernel's largest dropped) stay within 1 % of the peak.
    func testSparseKernelsStayClose() throws {
        let f = try fixture()
        let result = try transform(f, sparsity: 0.01)(f.samples)
        let peak = f.magnitudes.joined().max()!
        let worst = zip(result.values, f.magnitudes.joined()).map { abs(Double($0) - $1) }.max()!
        XCTAssertLessThan(worst, 0.01 * peak)
    }

    /// A sinusoid of amplitude a at a bin's centre frequency reads about a / 2 there, and the loudest bin of each
    /// full frame is its own.
    func testASinusoidPeaksAtItsBin() throws {
        let transform = try ConstantQTransform(sampleRate: 16_000, hop: 160, fmin: 65.40639132514966, bins: 48)
        let frequency = 65.40639132514966 * pow(2, 30.0 / 12)     // bin 30
        let samples = (0..<16_000).map { Float(0.8 * sin(2 * Double.pi * frequency * Double($0) / 16_000)) }
        let result = transform(samples)
        for m in 30..<70 {
            let row = Array(result.values[m * 48 ..< (m + 1) * 48])
            XCTAssertEqual(row.firstIndex(of: row.max()!), 30, "frame \(m)")
            XCTAssertEqual(Double(row[30]), 0.4, accuracy: 0.01, "frame \(m)")
        }
    }

    func testBinsAboveNyquistAreRefusedByName() {
        XCTAssertThrowsError(try ConstantQTransform(sampleRate: 8_000, hop: 80, bins: 90)) { error in
            XCTAssertTrue("\(error)".contains("is not below the Nyquist frequency 4000.0 Hz"), "\(error)")
        }
    }
}
