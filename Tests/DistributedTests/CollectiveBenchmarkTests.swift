import Distributed
import XCTest

/// The collective benchmark's arithmetic: exact checks, the α–β fit, bandwidths, message sizes.
final class CollectiveBenchmarkTests: XCTestCase {
    /// Summing the ranks' patterns in fp32, in any order, gives the expected sum exactly up to the largest world.
    func testThePatternSumsExactlyInEitherOrder() {
        for ranks in [2, 3, 64, CollectiveBenchmark.largestExactWorld] {
            for element in [0, 1, 8190, 8191, 1 << 20, (1 << 24) - 1] {
                let values = (0..<ranks).map { CollectiveBenchmark.pattern(rank: $0, element: element) }
                let expected = CollectiveBenchmark.expectedSum(ranks: ranks, element: element)
                XCTAssertEqual(values.reduce(0, +), expected, "\(ranks) ranks, element \(element)")
                XCTAssertEqual(values.reversed().reduce(0, +), expected, "\(ranks) ranks, element \(element), reversed")
            }
        }
        // A rank left out, or a part shifted by one element, changes the sum.
        XCTAssertNotEqual(CollectiveBenchmark.expectedSum(ranks: 2, element: 5),
                          CollectiveBenchmark.pattern(rank: 0, element: 5) + CollectiveBenchmark.pattern(rank: 0, element: 5))
        XCTAssertNotEqual(CollectiveBenchmark.expectedSum(ranks: 2, element: 5), CollectiveBenchmark.expectedSum(ranks: 2, element: 6))
    }

    /// Times made by the model itself give back its α and β (to 0.1 %).
    func testTheFitRecoversAlphaAndBeta() throws {
        let alpha = 12.0, bandwidth = 3.5  // µs, GB/s
        let measurements = CollectiveBenchmark.Settings.defaultSizes.map { bytes in
            CollectiveBenchmark.Measurement(collective: .allReduce, bytes: bytes, iterations: 10,
                                            latencyMicroseconds: alpha + Double(bytes) / bandwidth / 1e3,
                                            fastestRankMicroseconds: alpha, ranks: 4)
        }
        let fit = try XCTUnwrap(CollectiveBenchmark.fit(measurements, ranks: 4))
        XCTAssertEqual(fit.alphaMicroseconds, alpha, accuracy: alpha * 1e-3)
        XCTAssertEqual(fit.bandwidth, bandwidth, accuracy: bandwidth * 1e-3)
        XCTAssertEqual(fit.busBandwidth, bandwidth * 1.5, accuracy: bandwidth * 1e-3)
        XCTAssertEqual(fit.sizes, 8)
        XCTAssertNil(CollectiveBenchmark.fit(Array(measurements.prefix(1)), ranks: 4), "one size fits no line")
    }

    /// Times whose free fit would give α < 0 get the line through the origin: α = 0, β from Σ b·t / Σ b² (weighted).
    func testANegativeAlphaBecomesTheLineThroughTheOrigin() throws {
        let measurements = [(4096, 0.5), (65536, 40.0), (1 << 20, 400.0)].map { bytes, microseconds in
            CollectiveBenchmark.Measurement(collective: .allReduce, bytes: bytes, iterations: 10, latencyMicroseconds: microseconds,
                                            fastestRankMicroseconds: microseconds, ranks: 2)
        }
        let fit = try XCTUnwrap(CollectiveBenchmark.fit(measurements, ranks: 2))
        XCTAssertEqual(fit.alphaMicroseconds, 0)
        let weighted = measurements.map { (b: Double($0.bytes), t: $0.latencyMicroseconds * 1e-6) }
        let beta = weighted.reduce(0) { $0 + $1.b / $1.t } / weighted.reduce(0) { $0 + $1.b * $1.b / ($1.t * $1.t) }
        XCTAssertEqual(fit.bandwidth, 1 / beta / 1e9, accuracy: 1e-9)
    }

    /// NCCL-tests' convention: algbw = bytes / time, busbw = algbw · 2(n−1)/n.
    func testBusBandwidthIsAlgorithmBandwidthTimesTwoNMinusOneOverN() {
        let measurement = CollectiveBenchmark.Measurement(collective: .reduceScatterAllGather, bytes: 1 << 20, iterations: 1,
                                                          latencyMicroseconds: 1000, fastestRankMicroseconds: 900, ranks: 8)
        XCTAssertEqual(measurement.algorithmBandwidth, 1.048576, accuracy: 1e-9)
        XCTAssertEqual(measurement.busBandwidth, 1.048576 * 2 * 7 / 8, accuracy: 1e-9)
        XCTAssertEqual(CollectiveBenchmark.busFactor(ranks: 2), 1)
    }

    func testSizesParseWithBinaryUnitsAndPrintBack() throws {
        XCTAssertEqual(try CollectiveBenchmark.parseSize("4096"), 4096)
        XCTAssertEqual(try CollectiveBenchmark.parseSize("4K"), 4096)
        XCTAssertEqual(try CollectiveBenchmark.parseSize("64m"), 64 << 20)
        XCTAssertEqual(try CollectiveBenchmark.parseSize(" 1GiB"), 1 << 30)
        XCTAssertEqual(try CollectiveBenchmark.parseSize("16KB"), 16 << 10)
        XCTAssertThrowsError(try CollectiveBenchmark.parseSize("lots")) { error in
            XCTAssertEqual("\(error)", "message size 'lots' is not a positive number of bytes with an optional K, M or G")
        }
        XCTAssertThrowsError(try CollectiveBenchmark.parseSize("-4K"))
        XCTAssertEqual(CollectiveBenchmark.Settings.defaultSizes.map(CollectiveBenchmark.formatSize),
                       ["4 KiB", "16 KiB", "64 KiB", "256 KiB", "1 MiB", "4 MiB", "16 MiB", "64 MiB"])
        XCTAssertEqual(CollectiveBenchmark.formatSize(100), "100 B")
    }

    func testSettingsThatCannotRunAreNamed() {
        XCTAssertNil(CollectiveBenchmark.problem(with: .init()))
        XCTAssertEqual(CollectiveBenchmark.problem(with: .init(sizes: [4096, 6])),
                       "message size 6 bytes is not a positive whole number of floats (a multiple of 4 bytes)")
        XCTAssertEqual(CollectiveBenchmark.problem(with: .init(sizes: [])), "no message sizes to measure")
        XCTAssertEqual(CollectiveBenchmark.problem(with: .init(iterations: 0)), "iterations must be at least 1, got 0")
    }

    /// 1000 calls for small messages, about 256 MiB per size for large ones, never fewer than 10.
    func testDefaultCallsShrinkWithTheMessage() {
        XCTAssertEqual(CollectiveBenchmark.Settings.defaultIterations(bytes: 4096), 1000)
        XCTAssertEqual(CollectiveBenchmark.Settings.defaultIterations(bytes: 1 << 20), 256)
        XCTAssertEqual(CollectiveBenchmark.Settings.defaultIterations(bytes: 64 << 20), 10)
    }
}
