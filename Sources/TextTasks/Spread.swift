import Foundation

/// The mean and the sample standard deviation (n − 1; 0 for one value) of a score over seeds; an empty list is 0 ± 0.
public struct Spread: Codable, Equatable, Sendable {
    public var mean: Double
    public var sd: Double

    public init(_ values: [Double]) {
        let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        let squares = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        self.mean = mean
        sd = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
    }
}
