import Foundation

/// The bag-of-words baseline: multinomial logistic regression over which words a text contains (each text's binary
/// word vector scaled to unit length), fitted by full-batch Nesterov gradient descent with an L2 penalty. Words are
/// runs of letters and digits, lowercased; a Han, kana or Hangul character is a word by itself.
public struct BagOfWordsClassifier: Sendable {
    public let vocabulary: [String: Int]
    public let classes: Int
    /// (classes, vocabulary + 1): the last column is the bias.
    public private(set) var weights: [Double]

    public struct Options: Sendable {
        public var l2: Double = 1e-3
        public var iterations = 300
        public var learningRate = 2.0
        public var momentum = 0.9
        public init() {}
    }

    /// Fits on (text, class index) pairs.
    public init(texts: [String], labels: [Int], classes: Int, options: Options = Options()) {
        precondition(texts.count == labels.count && classes >= 2)
        var vocabulary: [String: Int] = [:]
        for text in texts { for word in Self.words(text) where vocabulary[word] == nil { vocabulary[word] = vocabulary.count } }
        self.vocabulary = vocabulary
        self.classes = classes
        let width = vocabulary.count + 1
        let features = texts.map { Self.features($0, vocabulary: vocabulary) }
        var weights = [Double](repeating: 0, count: classes * width)
        var velocity = weights
        var gradient = weights
        let scale = 1 / Double(max(texts.count, 1))
        for _ in 0..<options.iterations {
            // Nesterov: the gradient at the look-ahead point w + μv.
            let lookahead = zip(weights, velocity).map { $0 + options.momentum * $1 }
            for index in gradient.indices { gradient[index] = options.l2 * lookahead[index] }
            for (feature, label) in zip(features, labels) {
                let probabilities = Self.probabilities(feature, weights: lookahead, classes: classes, width: width)
                for c in 0..<classes {
                    let error = (probabilities[c] - (c == label ? 1 : 0)) * scale
                    for (column, value) in feature { gradient[c * width + column] += error * value }
                }
            }
            for index in weights.indices {
                velocity[index] = options.momentum * velocity[index] - options.learningRate * gradient[index]
                weights[index] += velocity[index]
            }
        }
        self.weights = weights
    }

    public func predict(_ text: String) -> Int {
        let probabilities = Self.probabilities(Self.features(text, vocabulary: vocabulary), weights: weights, classes: classes,
                                               width: vocabulary.count + 1)
        return probabilities.indices.max { (probabilities[$0], -$0) < (probabilities[$1], -$1) }!
    }

    /// Sparse features: (column, value) for each known word, scaled to unit length, and the bias column.
    static func features(_ text: String, vocabulary: [String: Int]) -> [(Int, Double)] {
        let columns = Set(words(text).compactMap { vocabulary[$0] }).sorted()
        let value = columns.isEmpty ? 0 : 1 / Double(columns.count).squareRoot()
        return columns.map { ($0, value) } + [(vocabulary.count, 1)]
    }

    static func probabilities(_ feature: [(Int, Double)], weights: [Double], classes: Int, width: Int) -> [Double] {
        var logits = [Double](repeating: 0, count: classes)
        for c in 0..<classes { for (column, value) in feature { logits[c] += weights[c * width + column] * value } }
        let top = logits.max()!
        let exps = logits.map { Foundation.exp($0 - top) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in text.lowercased().unicodeScalars {
            if isIdeograph(scalar) {
                if !current.isEmpty { words.append(current); current = "" }
                words.append(String(scalar))
            } else if CharacterSet.alphanumerics.contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func isIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF: return true
        default: return false
        }
    }
}
