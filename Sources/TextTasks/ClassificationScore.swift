import Foundation

/// Accuracy and macro-averaged F1 of predicted class indices against the true ones.
public struct ClassificationScore: Sendable, Equatable, Codable {
    public var accuracy: Double
    public var macroF1: Double
    public var count: Int

    public init(predicted: [Int], truth: [Int], classes: Int) {
        precondition(predicted.count == truth.count, "one prediction per example")
        count = truth.count
        accuracy = truth.isEmpty ? 0 : Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
        var f1s: [Double] = []
        for label in 0..<classes {
            let truePositives = Double(zip(predicted, truth).filter { $0 == label && $1 == label }.count)
            let predictedCount = Double(predicted.filter { $0 == label }.count)
            let actualCount = Double(truth.filter { $0 == label }.count)
            guard actualCount > 0 || predictedCount > 0 else { continue }
            f1s.append(truePositives == 0 ? 0 : 2 * truePositives / (predictedCount + actualCount))
        }
        macroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
    }
}
