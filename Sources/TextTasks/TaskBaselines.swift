import Foundation

/// The trivial baselines every task reports beside the models: the majority class of the training examples, and
/// bag-of-words logistic regression with its L2 penalty chosen on dev. Both see exactly the examples a fine-tuned
/// model sees at the same K and seed.
public enum TaskBaselines {
    public struct Result: Sendable, Codable, Equatable {
        public var task: String
        public var shots: Int?
        public var seed: UInt64
        public var majority: ClassificationScore
        public var bagOfWords: ClassificationScore
        /// The penalty dev accuracy chose.
        public var l2: Double
    }

    public static let penalties = [1e-4, 1e-3, 1e-2]

    public static func evaluate(_ task: TextTask, shots: Int?, seed: UInt64) -> Result {
        let splits = task.fewShot(k: shots, seed: seed)
        let index = { (examples: [TaskExample]) in examples.map { task.labelIndex($0.label)! } }
        let (trainLabels, devLabels, testLabels) = (index(splits.train), index(splits.dev), index(task.test))
        let classes = task.labels.count
        var counts = [Int](repeating: 0, count: classes)
        for label in trainLabels { counts[label] += 1 }
        let majority = counts.indices.max { (counts[$0], -$0) < (counts[$1], -$1) }!
        let majorityScore = ClassificationScore(predicted: testLabels.map { _ in majority }, truth: testLabels, classes: classes)
        var best: (dev: Double, l2: Double, model: BagOfWordsClassifier)?
        for l2 in penalties {
            var options = BagOfWordsClassifier.Options()
            options.l2 = l2
            let model = BagOfWordsClassifier(texts: splits.train.map(\.text), labels: trainLabels, classes: classes, options: options)
            let dev = ClassificationScore(predicted: splits.dev.map { model.predict($0.text) }, truth: devLabels, classes: classes).accuracy
            if best == nil || dev > best!.dev { best = (dev, l2, model) }
        }
        let model = best!.model
        let bagOfWords = ClassificationScore(predicted: task.test.map { model.predict($0.text) }, truth: testLabels, classes: classes)
        return Result(task: task.name, shots: shots, seed: seed, majority: majorityScore, bagOfWords: bagOfWords, l2: best!.l2)
    }
}
