/// Accuracy and macro-F1 of predicted class indices against gold ones.
public struct ClassificationScores: Codable, Equatable, Sendable {
    public var accuracy: Double
    /// The unweighted mean of each class's F1, over the classes that occur among the gold labels or the
    /// predictions (scikit-learn's `f1_score(average="macro")`); a class never predicted and never gold is not
    /// counted, one predicted but never gold (or the reverse) counts 0.
    public var macroF1: Double
    public var examples: Int

    enum CodingKeys: String, CodingKey { case accuracy, examples, macroF1 = "macro_f1" }

    public init(predictions: [Int], gold: [Int]) {
        precondition(predictions.count == gold.count && !gold.isEmpty, "one prediction per gold label, at least one")
        examples = gold.count
        accuracy = Double(zip(predictions, gold).filter { $0 == $1 }.count) / Double(gold.count)
        let classes = Set(predictions).union(gold).sorted()
        let f1s = classes.map { label -> Double in
            let truePositives = zip(predictions, gold).filter { $0 == label && $1 == label }.count
            let predicted = predictions.filter { $0 == label }.count, actual = gold.filter { $0 == label }.count
            return predicted + actual == 0 ? 0 : 2 * Double(truePositives) / Double(predicted + actual)
        }
        macroF1 = f1s.reduce(0, +) / Double(f1s.count)
    }
}

/// Mean and sample standard deviation (n − 1; 0 for one value).
public func meanAndDeviation(_ values: [Double]) -> (mean: Double, sd: Double) {
    precondition(!values.isEmpty, "at least one value")
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
    return (mean, variance.squareRoot())
}
