import AudioData
import Foundation
import SafeTensors
import TestSupport
import XCTest

final class FeatureStatisticsTests: XCTestCase {
    private func features(_ rows: [[Float]]) -> FeatureMatrix {
        FeatureMatrix(frameCount: rows.count, dimension: rows[0].count, values: rows.flatMap { $0 })
    }

    func testStreamingStatisticsEqualTheWholeCorpusMeanAndPopulationStd() throws {
        var generator = SystemRandomNumberGenerator()
        let utterances = (0..<5).map { u in
            features((0..<(3 + u * 7)).map { _ in [Float.random(in: -1...1, using: &generator) * 3 + 10, Float(u)] })
        }
        var accumulator = FeatureStatisticsAccumulator(dimension: 2)
        for utterance in utterances { try accumulator.add(utterance) }
        let all = utterances.flatMap { u in (0..<u.frameCount).map { u[$0, 0] } }
        let mean = all.reduce(0, +) / Float(all.count)
        let std = (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(all.count)).squareRoot()
        let statistics = try accumulator.normalization()
        XCTAssertEqual(statistics.frameCount, all.count)
        XCTAssertEqual(statistics.mean[0], mean, accuracy: 1e-4)
        XCTAssertEqual(statistics.std[0], std, accuracy: 1e-4)
        let ids = utterances.flatMap { u in (0..<u.frameCount).map { u[$0, 1] } }
        XCTAssertEqual(statistics.mean[1], ids.reduce(0, +) / Float(ids.count), accuracy: 1e-5)
    }

    func testMergingPartsEqualsAddingEverything() throws {
        let a = features([[1, 2], [3, 4], [5, 9]]), b = features([[7, 0], [-1, 1]])
        var whole = FeatureStatisticsAccumulator(dimension: 2)
        try whole.add(a)
        try whole.add(b)
        var left = FeatureStatisticsAccumulator(dimension: 2), right = FeatureStatisticsAccumulator(dimension: 2)
        try left.add(a)
        try right.add(b)
        try left.merge(right)
        let (x, y) = (try whole.normalization(), try left.normalization())
        XCTAssertEqual(x.frameCount, y.frameCount)
        for c in 0..<2 {
            XCTAssertEqual(x.mean[c], y.mean[c], accuracy: 1e-6)
            XCTAssertEqual(x.std[c], y.std[c], accuracy: 1e-6)
        }
    }

    func testNormalizedTrainingFeaturesHaveZeroMeanAndUnitStd() throws {
        let data = features([[1, 5], [3, 5], [8, 5]])
        var accumulator = FeatureStatisticsAccumulator(dimension: 2)
        try accumulator.add(data)
        let normalized = try accumulator.normalization().normalize(data)
        let column0 = (0..<3).map { normalized[$0, 0] }
        XCTAssertEqual(column0.reduce(0, +) / 3, 0, accuracy: 1e-6)
        XCTAssertEqual((column0.map { $0 * $0 }.reduce(0, +) / 3).squareRoot(), 1, accuracy: 1e-5)
        // A constant column is centred, not blown up.
        XCTAssertEqual((0..<3).map { normalized[$0, 1] }, [0, 0, 0])
    }

    func testStatisticsRoundTripThroughSafetensors() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("stats.safetensors")
        let statistics = FeatureNormalization(mean: [1, -2, 3.5], std: [0.5, 2, 1], frameCount: 1234)
        try statistics.write(to: url, metadata: ["features": "fbank"])
        XCTAssertEqual(try FeatureNormalization(contentsOf: url), statistics)
    }

    func testStatisticsFileWithoutTheKeysIsAnErrorNamingTheKey() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("stats.safetensors")
        var writer = SafeTensorsWriter()
        try writer.add("feature_mean", shape: [2], floats: [0, 0])
        try writer.write(to: url)
        XCTAssertThrowsError(try FeatureNormalization(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains("feature_std"), "\(error)")
        }
    }

    func testMismatchedDimensionIsAnError() {
        var accumulator = FeatureStatisticsAccumulator(dimension: 3)
        XCTAssertThrowsError(try accumulator.add(features([[1, 2]])))
        XCTAssertThrowsError(try FeatureStatisticsAccumulator(dimension: 3).normalization())
    }
}
